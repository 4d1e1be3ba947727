"""The figure of an unconditional GANsformer run on sprites (lesson 01c): its curves, its samples, what its latents own.

    gansformer_nb_train --preset sprites --minutes 20 --out-dir runs/sprites     # the run (report.json at its end)
    python bench/sprites_figure.py --run runs/sprites --out docs/sprites_baseline.png [--report]

Reads the run's metrics.jsonl and its newest checkpoint. Draws, left to right: loss_D and loss_G (the dotted line is
2 ln 2, a critic at chance), D(real) − D(fake) (the critic's margin: near 0 it does not push), and the share of valid
scenes with the count TV at each evaluation; below, 12 EMA samples from a fixed z, each one's hard-argmax latent in
the first and the last attending layer, and 12 real sprites for comparison. `--report` also prints lesson 01c's
binding report of the checkpoint (256 samples, seed 0: the numbers the run printed at its end).
"""
import argparse, json, math
from pathlib import Path
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
import torch
from gansformer_nb.checkpoints import latest_checkpoint
from gansformer_nb.gansformer import GANsformer, GANsformerConfig, binding_report
from gansformer_nb.gansformer_run import load_gansformer, report_lines
from gansformer_nb.sprites import Sprites, attention_segmentation


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--run', default='runs/sprites', help='the run folder (metrics.jsonl, checkpoints/)')
    ap.add_argument('--out', default='docs/sprites_baseline.png')
    ap.add_argument('--report', action='store_true', help='also print the binding report of the newest checkpoint')
    a = ap.parse_args(argv)
    run = Path(a.run)
    if not (run / 'metrics.jsonl').is_file(): raise SystemExit(f'{run} has no metrics.jsonl: give the folder of a run.')
    records = [json.loads(l) for l in (run / 'metrics.jsonl').read_text().splitlines() if l.strip()]
    losses, evals = [r for r in records if 'loss_D' in r], [r for r in records if 'valid' in r]
    state = load_gansformer(latest_checkpoint(run))
    G = GANsformer(GANsformerConfig(**state['config'])); G.load_state_dict(state['G_ema']); G.eval()
    with torch.no_grad():
        samples = G(G.sample_z(12, generator=torch.Generator().manual_seed(1))).clamp(-1, 1)
        maps = G.attention_maps()
    first, last = list(maps)[0], list(maps)[-1]
    S = G.config.img_size
    real = Sprites(S, seed=99).batch(0, 12)[0]
    fig = plt.figure(figsize=(13, 7.2))
    top = fig.subplots(1, 3, gridspec_kw=dict(bottom=0.6, top=0.9, wspace=0.3))
    steps = [r['step'] for r in losses]
    top[0].plot(steps, [r['loss_D'] for r in losses], label='loss_D'); top[0].plot(steps, [r['loss_G'] for r in losses], label='loss_G')
    top[0].axhline(2 * math.log(2), ls=':', c='grey', lw=1); top[0].legend(); top[0].set_xlabel('step')
    top[1].plot(steps, [r['D_gap'] for r in losses]); top[1].axhline(0, ls=':', c='grey', lw=1)
    top[1].set_title('D(real) − D(fake)'); top[1].set_xlabel('step')
    top[2].plot([r['step'] for r in evals], [r['valid'] for r in evals], 'o-', label='valid share')
    top[2].plot([r['step'] for r in evals], [r['count_tv'] for r in evals], 's-', label='count TV')
    top[2].set_ylim(-0.05, 1.05); top[2].legend(); top[2].set_xlabel('step'); top[2].set_title('64 EMA samples')
    rows = [('samples', samples.permute(0, 2, 3, 1) * 0.5 + 0.5, {}),
            (f'argmax latent, {first}', attention_segmentation(maps[first], S), dict(cmap='tab10', vmin=0, vmax=9)),
            (f'argmax latent, {last}', attention_segmentation(maps[last], S), dict(cmap='tab10', vmin=0, vmax=9)),
            ('real sprites', real.permute(0, 2, 3, 1) * 0.5 + 0.5, {})]
    grid = fig.subplots(4, 12, gridspec_kw=dict(bottom=0.02, top=0.52, hspace=0.25))
    for r, (title, images, kw) in enumerate(rows):
        for k in range(12):
            grid[r, k].imshow(images[k], **kw); grid[r, k].axis('off')
        grid[r, 0].set_title(title, loc='left', fontsize=9)
    fig.suptitle(f'{run.name}: step {state["step"]:,}', fontsize=10, y=0.99)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(a.out, dpi=80)
    print(f'wrote {a.out}')
    if a.report: print(report_lines(binding_report(G, samples=256, seed=state['seed'])))


if __name__ == '__main__':
    main()

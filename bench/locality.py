"""Compositional control, measured (not a test): redraw one local z_i of a trained generator, the rest of z fixed, and
measure where in the hole the fill changes, against latent i's attention argmax region; then the same for the global z.

    python bench/locality.py --checkpoint runs/convergence/checkpoints/step_006000.pt --out runs/locality

Uses the 32 shared validation faces x the first 4 thick test masks (as the convergence benchmark). Prints the locality
ratio (1.0 = no locality; see nbs/07_inspect.ipynb) and writes <out>/locality.json and <out>/locality.png (the figure of 07).
"""
import argparse, json
from pathlib import Path
import torch
from gansformer_nb.checkpoints import load_generator
from gansformer_nb.inspect_attention import latent_locality, locality_summary, plot_locality
from convergence import shared_evaluation_set


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--checkpoint', required=True, help='a training checkpoint (its G_ema is measured)')
    ap.add_argument('--out', default='runs/locality', help='output folder (default runs/locality)')
    ap.add_argument('--block', default=None, help='attention block whose argmax defines the regions (default: the last)')
    ap.add_argument('--seed', type=int, default=0, help='seed of z and of the redraws (default 0)')
    a = ap.parse_args(argv)
    G, _ = load_generator(a.checkpoint)
    size = G.config.img_size
    images, masks = shared_evaluation_set(size)
    r = latent_locality(G, images, masks, block=a.block, seed=a.seed)
    print(f'{a.checkpoint}: {len(images)} pairs = 32 validation faces x 4 thick masks at {size}x{size}, '
          f'mean hole {1 - masks.mean():.0%}')
    print(locality_summary(r))
    ok = r['area'] > 0
    per_latent = [dict(latent=i, pairs=int(ok[:, i].sum()), mean_area=r['area'][:, i].mean().item(),
                       pooled=(r['share'][ok[:, i], i].sum() / r['area'][ok[:, i], i].sum()).item() if ok[:, i].any() else None)
                  for i in range(r['area'].shape[1])]
    print('\n| latent | pairs owning part of the hole | mean share of the hole | pooled ratio |\n|---|---|---|---|')
    for p in per_latent:
        print(f"| {p['latent']} | {p['pairs']} | {p['mean_area']:.1%} | {p['pooled']:.2f} |" if p['pooled'] is not None
              else f"| {p['latent']} | 0 | 0% | – |")
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    summary = dict(checkpoint=a.checkpoint, block=r['block'], pooled=r['pooled'], median=r['ratio'][ok].median().item(),
                   pairs=int(ok.sum()), change_local=r['change_local'].mean().item(), change_global=r['change_global'].mean().item(),
                   spread_local=r['spread_local'].mean().item(), spread_global=r['spread_global'].mean().item(),
                   per_latent=per_latent)
    (out / 'locality.json').write_text(json.dumps(summary, indent=1))
    import matplotlib; matplotlib.use('Agg')
    holes = 1 - masks.flatten(1).mean(1)                                        # [pairs]
    picks = []
    for i in holes.argsort(descending=True).tolist():                         # the largest holes, four different faces
        if all(i // 4 != j // 4 for j in picks): picks.append(i)
        if len(picks) == 4: break
    fig = plot_locality(r, images, masks, faces=picks)
    fig.savefig(out / 'locality.png', dpi=110)
    print(f'\nwrote {out / "locality.json"} and {out / "locality.png"}')
    return summary


if __name__ == '__main__':
    main()

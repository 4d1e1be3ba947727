"""Ablation benchmark (not a test): what does attention buy at a fixed CPU budget?

    python bench/ablation.py --minutes 10 --out runs/ablation

Trains `tiny` at 64x64 on the 178 shared training faces three times, each for the same wall-clock budget:
  * no attention: two plain 3x3 convolutions in place of each GANsformer block (within 10% of the parameters),
  * simplex: image -> latent attention only (latents never read the image),
  * duplex: latents read the image, then the image attends to them (the default).
The duplex/simplex setting applies to G and D alike, as in the paper; "no attention" changes the generator only
(its discriminator is the duplex one). Each G_ema is scored on the 32 shared validation faces x the first 4 thick
masks with PSNR/SSIM (whole and hole) and LPIPS, next to OpenCV Telea, and again on large holes: the same faces x
the first 8 thick masks that hide at least 40% of the image, where global context should matter most. Prints two
markdown tables; writes <out>/ablation.json, <out>/ablation.csv, <out>/ablation_large.csv and <out>/ablation.png.
"""
import argparse, json, sys
from pathlib import Path
import torch
from gansformer_nb.evaluate import (BASELINES, evaluate_methods, generator_fill, load_lpips, markdown_table,
                                    comparison_figure)
from gansformer_nb.eval_cli import write_csv
from convergence import train, shared_evaluation_set, large_hole_evaluation_set, parse_value

VARIANTS = {'no attention': dict(attention=False), 'simplex': dict(duplex=False), 'duplex': dict(duplex=True)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--minutes', type=float, default=10.0, help='training budget per variant (default 10)')
    ap.add_argument('--out', default='runs/ablation', help='output folder (default runs/ablation)')
    ap.add_argument('--threads', type=int, default=None, help='torch threads (default: all cores)')
    ap.add_argument('--variants', nargs='*', default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument('--set', nargs='*', default=[], metavar='FIELD=VALUE', help='TrainConfig overrides for every variant')
    a = ap.parse_args(argv)
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    common = {k: parse_value(v) for k, v in (kv.split('=', 1) for kv in a.set)}
    methods, runs = {'OpenCV Telea': BASELINES['telea'][1]}, {}
    for name in a.variants:
        print(f'\n=== {name}: {a.minutes:g} minutes ===', flush=True)
        trainer, seconds = train(a.minutes, out / name.replace(' ', '_'), {**common, **VARIANTS[name]}, a.threads)
        runs[name] = dict(steps=trainer.state.step, images=trainer.state.images_seen, minutes=seconds / 60,
                          g_parameters=sum(p.numel() for p in trainer.G.parameters()))
        methods[f'{name} (G_ema)'] = lambda ims, ms, G=trainer.G_ema: generator_fill(G, ims, ms, seed=0)
    lpips_model = load_lpips()
    tables = {}
    for key, (images, masks), what in [('standard', shared_evaluation_set(64), 'the first 4 thick masks'),
                                       ('large', large_hole_evaluation_set(64), 'the first 8 thick masks hiding >= 40%')]:
        rows, outs = evaluate_methods(methods, images, masks, lpips_model)
        if key == 'standard': outputs, std_images, std_masks = outs, images, masks
        for r in rows:
            run = runs.get(r['method'].replace(' (G_ema)', ''))
            if run: r.update(run)
        telea = rows[0]
        hole = 1 - masks.mean().item()
        notes = [f'{len(images)} pairs = 32 shared validation faces x {what} (mean hole {hole:.0%}), 64x64; '
                 f'{torch.get_num_threads()} CPU threads, {a.minutes:g} minutes of training per variant'] + \
                [f'{n}: {r["steps"]} steps ({r["images"]} images), G {r["g_parameters"]:,} parameters, '
                 f'PSNR whole {next(x for x in rows if x["method"].startswith(n))["psnr_whole"] - telea["psnr_whole"]:+.2f} dB vs Telea'
                 for n, r in runs.items()]
        print(f'\n{key} holes\n' + markdown_table(rows, notes))
        write_csv(rows, out / ('ablation.csv' if key == 'standard' else 'ablation_large.csv'))
        tables[key] = dict(rows=rows, mean_hole=hole, pairs=len(images))
    images, masks = std_images, std_masks
    (out / 'ablation.json').write_text(json.dumps(dict(rows=tables['standard']['rows'], large=tables['large'], runs=runs,
                                                       minutes=a.minutes, overrides=common), indent=1))
    import matplotlib; matplotlib.use('Agg')
    comparison_figure(outputs, images, masks, count=6, path=out / 'ablation.png')
    print(f'\nwrote ablation.json, ablation.csv, ablation_large.csv and ablation.png to {out}')
    return tables


if __name__ == '__main__':
    main()

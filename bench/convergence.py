"""Convergence benchmark (not a test): train `tiny` at 64x64 for a CPU-time budget on the shared CelebA-HQ faces,
then score G_ema against OpenCV's Telea inpainting on the 32 validation faces x the first 4 thick test masks.

    python bench/convergence.py --minutes 10 --out runs/convergence

Prints a markdown table and writes <out>/convergence.json and <out>/convergence_grid.png.
Options after --set override TrainConfig fields, e.g. --set learning_rate=0.001 l1_weight=50.
"""
import argparse, json, os, sys, time, warnings
from pathlib import Path
import torch
from torchvision.utils import save_image
from gansformer_nb.data import shared_path
from gansformer_nb.evaluate import evaluation_set, opencv_inpaint, generator_fill, score
from gansformer_nb.training import TrainConfig, Trainer


def parse_value(v):
    for cast in (int, float):
        try: return cast(v)
        except ValueError: pass
    return {'true': True, 'false': False, 'none': None}.get(v.lower(), v)


def train(minutes, out, overrides=(), threads=None):
    "Train `tiny` on the shared faces for `minutes` of wall-clock time: (trainer, seconds)."
    shared = shared_root()
    if threads: torch.set_num_threads(threads)
    settings = dict(data='folder', data_root=str(shared / 'data/celebahq256'), val_masks=str(shared / 'data/masks256/thick'),
                    out_dir=str(out), num_epochs=10_000, max_minutes=minutes, num_workers=1, eval_interval=100_000,
                    sample_interval=100_000, save_interval=100_000)
    settings.update(dict(overrides))
    trainer = Trainer(TrainConfig.preset('tiny', **settings))
    t0 = time.perf_counter(); trainer.fit()
    return trainer, time.perf_counter() - t0


def shared_root():
    shared = shared_path('data')
    if shared is None: sys.exit('this benchmark needs ../shared/data (or $GANSFORMER_NB_SHARED): not found.')
    return shared.parent


def shared_evaluation_set(size):
    "The 32 shared validation faces x the first 4 thick test masks, at `size`."
    shared = shared_root()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')                                   # 256² masks resized: expected
        return evaluation_set(shared / 'data/celebahq256/val', shared / 'data/masks256/thick', size, masks_per_image=4)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--minutes', type=float, default=10.0, help='training wall-clock budget (default 10)')
    ap.add_argument('--out', default='runs/convergence', help='output folder (default runs/convergence)')
    ap.add_argument('--threads', type=int, default=None, help='torch threads (default: all cores)')
    ap.add_argument('--set', nargs='*', default=[], metavar='FIELD=VALUE', help='TrainConfig overrides')
    a = ap.parse_args(argv)
    overrides = {k: parse_value(v) for k, v in (kv.split('=', 1) for kv in a.set)}
    trainer, train_s = train(a.minutes, a.out, overrides, a.threads)
    config = trainer.config
    images, masks = shared_evaluation_set(config.img_size)
    ours = generator_fill(trainer.G_ema, images, masks, seed=0)
    baseline = opencv_inpaint(images, masks, 'telea')
    rows = {name: score(out, images, masks) for name, out in [('GANsformer tiny (G_ema)', ours), ('OpenCV Telea', baseline)]}
    gain = rows['GANsformer tiny (G_ema)']['psnr_whole'] - rows['OpenCV Telea']['psnr_whole']
    print(f'\ntrained {trainer.step} steps ({trainer.images_seen} images, {trainer.epoch} epochs) in {train_s / 60:.1f} min '
          f'on {torch.get_num_threads()} CPU threads')
    print(f'evaluation: {len(images)} = 32 validation faces x 4 thick masks at {config.img_size}x{config.img_size}\n')
    print('| method | PSNR whole (dB) | PSNR hole (dB) | SSIM whole | SSIM hole |\n|---|---|---|---|---|')
    for name, r in rows.items():
        print(f"| {name} | {r['psnr_whole']:.2f} | {r['psnr_hole']:.2f} | {r['ssim_whole']:.4f} | {r['ssim_hole']:.4f} |")
    print(f'\nwhole-image PSNR gain over Telea: {gain:+.2f} dB (required: >= +2.00)')
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    pick = torch.arange(8) * 4 + torch.arange(8) % 4                      # 8 faces, masks 0-3 in turn
    grid = torch.cat([images[pick] * masks[pick] + (1 - masks[pick]), baseline[pick], ours[pick], images[pick]])
    save_image(grid.add(1).div(2).clamp(0, 1), out / 'convergence_grid.png', nrow=8, padding=2)
    json.dump(dict(rows=rows, gain_db=gain, steps=trainer.step, images=trainer.images_seen, minutes=train_s / 60,
                   threads=torch.get_num_threads(), config=trainer.config.to_dict()), open(out / 'convergence.json', 'w'), indent=1)
    print(f'wrote {out / "convergence.json"} and {out / "convergence_grid.png"} (rows: masked | Telea | ours | original)')
    return rows, gain


if __name__ == '__main__':
    main()

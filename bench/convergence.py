"""Convergence benchmark (not a test): train `tiny` at 64x64 for a CPU-time budget on the shared CelebA-HQ faces,
then score G_ema against OpenCV's Telea inpainting on the 32 validation faces x the first 4 thick test masks.

    python bench/convergence.py --minutes 10 --out runs/convergence

Prints a markdown table and writes <out>/convergence.json and <out>/convergence_grid.png.
Options after --set override TrainConfig fields, e.g. --set learning_rate=0.001 l1_weight=50.
"""
import argparse, json, os, sys, time
from pathlib import Path
import numpy as np
import cv2
import torch
from torchvision.utils import save_image
from gansformer_nb.data import shared_path, load_image, MaskFolder
from gansformer_nb.training import TrainConfig, Trainer, psnr


def parse_value(v):
    for cast in (int, float):
        try: return cast(v)
        except ValueError: pass
    return {'true': True, 'false': False, 'none': None}.get(v.lower(), v)


def evaluation_set(shared, size, n_masks=4):
    "32 val faces x the first n_masks thick masks: images [N, 3, s, s] in [-1, 1], masks [N, 1, s, s] (1 = known)."
    faces = sorted((shared / 'data/celebahq256/val').glob('*.jpg'))
    masks = MaskFolder(shared / 'data/masks256/thick', size)
    imgs = torch.stack([load_image(f, size) for f in faces])
    ms = torch.stack([torch.from_numpy(masks[j]) for j in range(n_masks)])[:, None]
    return imgs.repeat_interleave(n_masks, 0), ms.repeat(len(faces), 1, 1, 1)


def telea(images, masks, radius=3):
    "OpenCV Telea inpainting of [-1, 1] images where mask == 0."
    out = []
    for img, m in zip(images, masks):
        u8 = ((img.permute(1, 2, 0).numpy() + 1) * 127.5).round().clip(0, 255).astype(np.uint8)
        hole = (m[0].numpy() < 0.5).astype(np.uint8) * 255
        filled = cv2.inpaint(u8, hole, radius, cv2.INPAINT_TELEA)
        out.append(torch.from_numpy(filled).permute(2, 0, 1).float() / 127.5 - 1)
    return torch.stack(out) * (1 - masks) + images * masks


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--minutes', type=float, default=10.0, help='training wall-clock budget (default 10)')
    ap.add_argument('--out', default='runs/convergence', help='output folder (default runs/convergence)')
    ap.add_argument('--threads', type=int, default=None, help='torch threads (default: all cores)')
    ap.add_argument('--set', nargs='*', default=[], metavar='FIELD=VALUE', help='TrainConfig overrides')
    a = ap.parse_args(argv)
    shared = shared_path('data')
    if shared is None: sys.exit('bench/convergence.py needs ../shared/data (or GANSFORMER_NB_SHARED): not found.')
    shared = shared.parent
    if a.threads: torch.set_num_threads(a.threads)
    overrides = dict(kv.split('=', 1) for kv in a.set)
    settings = dict(data='folder', data_root=str(shared / 'data/celebahq256'), val_masks=str(shared / 'data/masks256/thick'),
                    out_dir=a.out, num_epochs=10_000, max_minutes=a.minutes, num_workers=1, eval_interval=100_000,
                    sample_interval=100_000, save_interval=100_000)
    settings.update({k: parse_value(v) for k, v in overrides.items()})
    config = TrainConfig.preset('tiny', **settings)
    trainer = Trainer(config)
    t0 = time.perf_counter(); trainer.fit(); train_s = time.perf_counter() - t0

    images, masks = evaluation_set(shared, config.img_size)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        ours = torch.cat([trainer.G_ema(images[i:i + 32], masks[i:i + 32],
                                        torch.randn(len(images[i:i + 32]), trainer.G.config.z_dim, generator=g))
                          for i in range(0, len(images), 32)])
    baseline = telea(images, masks)
    rows = {}
    for name, out in [('GANsformer tiny (G_ema)', ours), ('OpenCV Telea', baseline)]:
        rows[name] = dict(psnr_whole=psnr(out, images).mean().item(), psnr_hole=psnr(out, images, 1 - masks).mean().item())
    gain = rows['GANsformer tiny (G_ema)']['psnr_whole'] - rows['OpenCV Telea']['psnr_whole']
    print(f'\ntrained {trainer.step} steps ({trainer.images_seen} images, {trainer.epoch} epochs) in {train_s / 60:.1f} min '
          f'on {torch.get_num_threads()} CPU threads')
    print(f'evaluation: {len(images)} = 32 validation faces x 4 thick masks at {config.img_size}x{config.img_size}\n')
    print('| method | PSNR whole (dB) | PSNR hole (dB) |\n|---|---|---|')
    for name, r in rows.items(): print(f"| {name} | {r['psnr_whole']:.2f} | {r['psnr_hole']:.2f} |")
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

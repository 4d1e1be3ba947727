"""Convergence benchmark (not a test): train `tiny` at 64x64 for a CPU-time budget on the shared CelebA-HQ faces,
then score G_ema against OpenCV's Telea inpainting on the 32 validation faces x the first 4 thick test masks.

    python bench/convergence.py --minutes 10 --out runs/convergence --curve 250

Prints a markdown table and writes <out>/convergence.json and <out>/convergence_grid.png. With --curve N, a checkpoint
is kept every N steps and each is scored afterwards: the gain over Telea along the run, printed, saved in the json
and plotted to <out>/convergence_curve.png (--compare OLD.json adds another run's curve to the plot).
Options after --set override TrainConfig fields, e.g. --set learning_rate=0.001 l1_weight=50.

With --release PATH, the final G_ema and D are also written as a release (fp16, no optimiser state: what
checkpoints/tiny_celeba64.pt is). --release-from CKPT makes the release of an earlier run's checkpoint without
training, with that run's convergence.json scores in its note:

    python bench/convergence.py --release-from runs/convergence/checkpoints/step_00004710.pt --release checkpoints/tiny_celeba64.pt
"""
import argparse, json, os, sys, time, warnings
from pathlib import Path
import torch
from torchvision.utils import save_image
from gansformer_nb.data import MaskFolder, shared_path
from gansformer_nb.evaluate import evaluation_set, opencv_inpaint, generator_fill, score
from gansformer_nb.basics import to_unit
from gansformer_nb.checkpoints import generator_from_state, load_checkpoint, latest_checkpoint, save_release
from gansformer_nb.training import TrainConfig
from gansformer_nb.trainer import Trainer


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


def large_hole_evaluation_set(size, min_hole=0.4, count=8):
    "The 32 shared validation faces x the first `count` thick test masks that hide at least `min_hole` of the image."
    shared = shared_root()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')                                   # 256² masks resized: expected
        folder = MaskFolder(shared / 'data/masks256/thick', size)
        images, _ = evaluation_set(shared / 'data/celebahq256/val', None, size, masks_per_image=1)
    large = [torch.from_numpy(m) for m in (folder[j] for j in range(len(folder))) if 1 - m.mean() >= min_hole][:count]
    if len(large) < count: sys.exit(f'only {len(large)} thick masks hide >= {min_hole:.0%} at {size}x{size}; asked for {count}.')
    masks = torch.stack(large)[:, None]                                   # [count, 1, s, s]
    return images.repeat_interleave(count, 0), masks.repeat(len(images), 1, 1, 1)


def score_curve(folder, images, masks, telea_db, since):
    "Whole-image PSNR of G_ema at every checkpoint written to `folder` after time `since`, and its gain over Telea."
    curve = []
    for path in sorted(p for p in Path(folder).glob('step_*.pt') if p.stat().st_mtime >= since):
        G, state = generator_from_state(load_checkpoint(path), source=path)   # read once: weights and the run's state
        with torch.no_grad(): r = score(generator_fill(G, images, masks, seed=0), images, masks)
        run = state['state']
        curve.append(dict(step=run['step'], images=run['images_seen'], psnr_whole=r['psnr_whole'],
                          gain_db=r['psnr_whole'] - telea_db, adversarial_from=run.get('adversarial_from')))
    return curve


def plot_curve(curve, compare, path, compare_name=None):
    "Gain over Telea against images seen; a dashed line where D joined (after the warm-up)."
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    ax.plot([r['images'] for r in curve], [r['gain_db'] for r in curve], 'o-', label='this run (G_ema)')
    if compare:
        ax.plot([r['images'] for r in compare], [r['gain_db'] for r in compare], 's--', c='grey',
                label=f'compared: {Path(compare_name).parent.name}')
    joined = curve[-1].get('adversarial_from')
    if joined: ax.axvline(joined * curve[-1]['images'] / max(curve[-1]['step'], 1), ls=':', c='k', lw=1, label='D joins')
    ax.axhline(2.0, c='tab:red', lw=0.8, label='+2 dB bar'); ax.axhline(0, c='k', lw=0.5)
    ax.set_xlabel('training images seen'); ax.set_ylabel('whole-image PSNR gain over Telea (dB)')
    ax.legend(fontsize=8); ax.grid(alpha=0.3); fig.tight_layout(); fig.savefig(path, dpi=110); plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--minutes', type=float, default=10.0, help='training wall-clock budget (default 10)')
    ap.add_argument('--out', default='runs/convergence', help='output folder (default runs/convergence)')
    ap.add_argument('--threads', type=int, default=None, help='torch threads (default: all cores)')
    ap.add_argument('--set', nargs='*', default=[], metavar='FIELD=VALUE', help='TrainConfig overrides')
    ap.add_argument('--curve', type=int, default=0, metavar='STEPS', help='also score G_ema every STEPS steps (default: off)')
    ap.add_argument('--compare', default=None, metavar='JSON', help="another run's convergence.json to draw beside the curve")
    ap.add_argument('--release', default=None, metavar='PATH', help='also write the final G_ema and D as an fp16 release')
    ap.add_argument('--release-from', default=None, metavar='CKPT', help="only write the release of an earlier run's checkpoint")
    a = ap.parse_args(argv)
    if a.release_from:
        if not a.release: ap.error('--release-from needs --release PATH (where to write the release)')
        return write_release(Path(a.release_from), Path(a.release))
    if a.curve < 0: ap.error(f'--curve must be a positive number of steps (or 0 for none), got {a.curve}')
    compare = None
    if a.compare:
        try: compare = json.load(open(a.compare))['curve']
        except (OSError, ValueError, KeyError) as e: ap.error(f'--compare {a.compare}: not a convergence.json with a curve ({e})')
    overrides = {k: parse_value(v) for k, v in (kv.split('=', 1) for kv in a.set)}
    if a.curve: overrides.update(save_interval=a.curve, keep_checkpoints=1_000_000)
    started = time.time()                                                 # checkpoints older than this are not this run's
    trainer, train_s = train(a.minutes, a.out, overrides, a.threads)
    config = trainer.config
    images, masks = shared_evaluation_set(config.img_size)
    ours = generator_fill(trainer.G_ema, images, masks, seed=0)
    baseline = opencv_inpaint(images, masks, 'telea')
    rows = {name: score(out, images, masks) for name, out in [('GANsformer tiny (G_ema)', ours), ('OpenCV Telea', baseline)]}
    gain = rows['GANsformer tiny (G_ema)']['psnr_whole'] - rows['OpenCV Telea']['psnr_whole']
    run = trainer.state
    print(f'\ntrained {run.step} steps ({run.images_seen} images, {run.epoch} epochs) in {train_s / 60:.1f} min '
          f'on {torch.get_num_threads()} CPU threads')
    print(f'evaluation: {len(images)} = 32 validation faces x 4 thick masks at {config.img_size}x{config.img_size}\n')
    print('| method | PSNR whole (dB) | PSNR hole (dB) | SSIM whole | SSIM hole |\n|---|---|---|---|---|')
    for name, r in rows.items():
        print(f"| {name} | {r['psnr_whole']:.2f} | {r['psnr_hole']:.2f} | {r['ssim_whole']:.4f} | {r['ssim_hole']:.4f} |")
    print(f'\nwhole-image PSNR gain over Telea: {gain:+.2f} dB (required: >= +2.00)')
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    curve = score_curve(out / 'checkpoints', images, masks, rows['OpenCV Telea']['psnr_whole'], started) if a.curve else None
    if curve:
        print('\n| step | images | PSNR whole (dB) | gain over Telea |\n|---|---|---|---|')
        for r in curve: print(f"| {r['step']:,} | {r['images']:,} | {r['psnr_whole']:.2f} | {r['gain_db']:+.2f} |")
        plot_curve(curve, compare, out / 'convergence_curve.png', a.compare)
    pick = torch.arange(8) * 4 + torch.arange(8) % 4                      # 8 faces, masks 0-3 in turn
    grid = torch.cat([images[pick] * masks[pick] + (1 - masks[pick]), baseline[pick], ours[pick], images[pick]])
    save_image(to_unit(grid), out / 'convergence_grid.png', nrow=8, padding=2)
    json.dump(dict(rows=rows, gain_db=gain, curve=curve, steps=run.step, images=run.images_seen, minutes=train_s / 60,
                   threads=torch.get_num_threads(), config=trainer.config.to_dict()), open(out / 'convergence.json', 'w'), indent=1)
    print(f'wrote {out / "convergence.json"} and {out / "convergence_grid.png"} (rows: masked | Telea | ours | original)'
          + (f' and {out / "convergence_curve.png"}' if curve else ''))
    if a.release: write_release(latest_checkpoint(out), Path(a.release))
    return rows, gain


def write_release(checkpoint, path):
    "The fp16 release of `checkpoint`, its note naming the run, the command and the run's scores (from convergence.json)."
    if checkpoint is None or not checkpoint.is_file(): sys.exit(f'convergence.py: error: no checkpoint at {checkpoint}')
    run = load_checkpoint(checkpoint)['state']
    result = checkpoint.parent.parent / 'convergence.json'
    note = (f"bench/convergence.py: `tiny` trained on the 178 shared CelebA-HQ faces at 64x64, step {run['step']:,} "
            f"({run['images_seen']:,} images), file {checkpoint.parent.parent.name}/{checkpoint.name}")
    if result.is_file():
        r = json.load(open(result))
        if r.get('steps') == run['step']:
            ours = r['rows']['GANsformer tiny (G_ema)']
            note += (f"; {r['minutes']:.1f} min on {r['threads']} CPU threads; on 32 validation faces x 4 thick test masks: "
                     f"PSNR {ours['psnr_whole']:.2f} dB whole ({r['gain_db']:+.2f} dB over Telea), {ours['psnr_hole']:.2f} dB "
                     f"hole, SSIM {ours['ssim_whole']:.4f}")
    path.parent.mkdir(parents=True, exist_ok=True)
    size = save_release(checkpoint, path, note)
    print(f'wrote the release {path} ({size / 1e6:.2f} MB): {note}')
    return path


if __name__ == '__main__':
    main()

"""Compositional latents, measured (not a test): train a recipe for a CPU budget (or take a checkpoint), then measure
whether its latents own regions.

    python bench/compositional.py --data faces --minutes 10 --out runs/comp/faces_base
    python bench/compositional.py --data scenes --minutes 20 --out runs/comp/scenes_base --set mode_seeking=1
    python bench/compositional.py --checkpoint checkpoints/tiny_celeba64.pt --out runs/comp/bundled

faces: `tiny` on the 178 shared CelebA-HQ faces at 64², measured on the 32 validation faces x the first 4 thick test
masks (as bench/convergence.py). scenes: the `scenes` preset on lesson 09's SyntheticScenes at 32², measured on 64
validation scenes (a seed no training scene has) with the thick masks. Every model is measured the same way:

* quality: whole-image and hole PSNR (and the gain over OpenCV Telea on the same pairs);
* locality: redraw each local z_i, the rest fixed; the share of the hole's change inside latent i's argmax region
  over that region's share of the hole (lesson 07; 1.0: no locality), pooled over all (image, latent) pairs;
* z-diversity: the fill's per-pixel std over 8 z draws in the hole, and LPIPS between two fills (lesson 07);
* attention entropy per block, normalised by log K (1: uniform);
* scenes only: FG-ARI of the latent segmentation at the finest block against the objects (lesson 09), on the
  inpainting pairs and on the same scenes with no hole.
Options after --set override TrainConfig fields, after --g GeneratorConfig fields, after --d DiscriminatorConfig fields. Prints one markdown row and writes <out>/compositional.json (with
--release PATH, also the fp16 release of the final model).
"""
import argparse, json, sys, time, warnings
from pathlib import Path
import torch
from gansformer_nb.checkpoints import load_generator, latest_checkpoint, save_release
from gansformer_nb.evaluate import opencv_inpaint, generator_fill, score, load_lpips
from gansformer_nb.inspect_attention import attention_maps, latent_locality, latent_segmentation, z_diversity, entropy_by_block
from gansformer_nb.scenes import SyntheticScenes, fg_ari
from gansformer_nb.training import TrainConfig
from gansformer_nb.trainer import Trainer
from convergence import parse_value, shared_root, shared_evaluation_set


def recipe(data, minutes, out, overrides):
    "The TrainConfig of a timed run on `data` ('faces' on the shared faces, or 'scenes')."
    base = dict(out_dir=str(out), num_epochs=10_000, max_minutes=minutes, eval_interval=100_000, sample_interval=100_000,
                save_interval=100_000)
    if data == 'faces':
        shared = shared_root()
        return TrainConfig.preset('tiny', **base, data='folder', data_root=str(shared / 'data/celebahq256'),
                                  val_masks=str(shared / 'data/masks256/thick'), num_workers=1, **overrides)
    return TrainConfig.preset('scenes', **base, num_workers=0, **overrides)


def evaluation_pairs(data, size):
    "(images, masks, objects or None): the pairs every model of `data` is measured on."
    if data == 'faces':
        images, masks = shared_evaluation_set(size)
        return images, masks, None
    scenes = SyntheticScenes(64, size, seed=987_654, train=False)
    items = [scenes[i] for i in range(len(scenes))]
    return tuple(torch.stack([it[k] for it in items]) for k in ('image', 'mask', 'objects'))


@torch.no_grad()
def measure(G, data, lpips_model=None):
    "Every number of the module docstring for generator `G` (in eval mode)."
    images, masks, objects = evaluation_pairs(data, G.config.img_size)
    ours, telea = generator_fill(G, images, masks, seed=0), opencv_inpaint(images, masks, 'telea')
    q, t = score(ours, images, masks), score(telea, images, masks)
    loc = latent_locality(G, images, masks, seed=0)
    ok = loc['area'] > 0
    z = G.sample_z(len(images), generator=torch.Generator().manual_seed(0))
    maps = attention_maps(G, images, masks, z)
    row = dict(psnr_whole=q['psnr_whole'], psnr_hole=q['psnr_hole'], gain_db=q['psnr_whole'] - t['psnr_whole'],
               locality_pooled=loc['pooled'], locality_median=loc['ratio'][ok].median().item(),
               change_local=loc['change_local'].mean().item(), change_global=loc['change_global'].mean().item(),
               **z_diversity(G, images, masks, lpips_model=lpips_model), entropy=entropy_by_block(maps), pairs=len(images))
    if objects is not None:
        seg, _ = latent_segmentation(G, images, masks, z)
        full, _ = latent_segmentation(G, images, torch.ones_like(masks), z)
        row.update(fg_ari=fg_ari(seg, objects).nanmean().item(), fg_ari_no_hole=fg_ari(full, objects).nanmean().item())
        row['fg_ari_by_block'] = {}                                                   # every block, for the record
        for name in maps:
            blocks, _ = latent_segmentation(G, images, masks, z, block=name)
            row['fg_ari_by_block'][name] = fg_ari(blocks, objects).nanmean().item()
        gen = z_diversity(G, images, torch.zeros_like(masks))                     # drawing whole scenes from z alone
        row.update(std_generated=gen['std_hole'])
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', choices=['faces', 'scenes'], default='faces')
    ap.add_argument('--minutes', type=float, default=10.0, help='training wall-clock budget (default 10)')
    ap.add_argument('--checkpoint', default=None, help='measure this checkpoint instead of training (its data kind decides)')
    ap.add_argument('--out', default='runs/compositional', help='output folder')
    ap.add_argument('--set', nargs='*', default=[], metavar='FIELD=VALUE', help='TrainConfig overrides')
    ap.add_argument('--g', nargs='*', default=[], metavar='FIELD=VALUE', help='GeneratorConfig overrides (generator_options)')
    ap.add_argument('--d', nargs='*', default=[], metavar='FIELD=VALUE', help='DiscriminatorConfig overrides (discriminator_options)')
    ap.add_argument('--release', default=None, metavar='PATH', help='also write the final model as an fp16 release')
    ap.add_argument('--note', default='', help='a note stored in the release')
    a = ap.parse_args(argv)
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    overrides = {k: parse_value(v) for k, v in (kv.split('=', 1) for kv in a.set)}
    if a.g: overrides['generator_options'] = {k: parse_value(v) for k, v in (kv.split('=', 1) for kv in a.g)}
    if a.d: overrides['discriminator_options'] = {k: parse_value(v) for k, v in (kv.split('=', 1) for kv in a.d)}
    if a.checkpoint:
        G, state = load_generator(a.checkpoint)
        data = 'scenes' if state['config'].get('data') == 'scenes' else 'faces'
        run = dict(checkpoint=a.checkpoint, steps=state['state'].get('step'))
    else:
        data = a.data
        trainer = Trainer(recipe(data, a.minutes, out, overrides))
        t0 = time.perf_counter(); trainer.fit(); seconds = time.perf_counter() - t0
        G = trainer.G_ema.eval()
        run = dict(steps=trainer.state.step, images=trainer.state.images_seen, minutes=seconds / 60,
                   threads=torch.get_num_threads(), set=overrides, config=trainer.config.to_dict())
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        try: lpips_model = load_lpips()
        except (FileNotFoundError, ValueError): lpips_model = None
        row = measure(G, data, lpips_model)
    result = dict(data=data, **run, **row)
    (out / 'compositional.json').write_text(json.dumps(result, indent=1))
    ent = ', '.join(f'{k.split(".")[-1]}: {v:.2f}' for k, v in row['entropy'].items())
    ari = f" | FG-ARI {row['fg_ari']:.2f} (no hole {row['fg_ari_no_hole']:.2f})" if 'fg_ari' in row else ''
    print(f"\n{data} {json.dumps(overrides) if overrides else 'baseline'} ({run.get('steps')} steps): gain {row['gain_db']:+.2f} dB | "
          f"locality {row['locality_pooled']:.2f} (median {row['locality_median']:.2f}) | z-diversity std {row['std_hole']:.4f}"
          + (f", LPIPS {row['lpips_pair']:.4f}" if 'lpips_pair' in row else '') + f" | entropy {ent}{ari}")
    if a.release and not a.checkpoint:
        size = save_release(latest_checkpoint(out), a.release, a.note or f'bench/compositional.py --data {data} {" ".join(a.set)}')
        print(f'wrote {a.release} ({size / 1e6:.2f} MB)')
    return result


if __name__ == '__main__':
    main()

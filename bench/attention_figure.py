"""Segmentation figure of a trained model's latents (the README's picture).

    python bench/attention_figure.py --checkpoint runs/convergence/checkpoints/step_XXXXXXXX.pt --out docs/segmentation_tiny.png

For 6 validation faces (with LaMa thick test masks): the masked input, G_ema's completion, and the argmax over latents
of each attention block, in the fixed latent colours of gansformer_nb.inspect_attention.
"""
import argparse, sys, warnings
from pathlib import Path
import numpy as np
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
import torch
from gansformer_nb.checkpoints import load_generator
from gansformer_nb.data import shared_path, ImageFolderInpainting, MaskFolder
from gansformer_nb.basics import to_rgb
from gansformer_nb.duplex import keeping_attention
from gansformer_nb.inspect_attention import attention_maps, segmentation_overlay


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--checkpoint', required=True)
    ap.add_argument('--out', default='docs/segmentation_tiny.png')
    ap.add_argument('--count', type=int, default=6)
    a = ap.parse_args(argv)
    faces, masks = shared_path('data/celebahq256/val'), shared_path('data/masks256/thick')
    if faces is None: sys.exit('needs ../shared/data (or GANSFORMER_NB_SHARED): not found.')
    G, state = load_generator(a.checkpoint)
    size = G.config.img_size
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        data = ImageFolderInpainting(faces, size, masks=MaskFolder(masks, size), train=False)
        items = [data[i] for i in range(a.count)]
    z = G.sample_z(1, generator=torch.Generator().manual_seed(0))[0]                  # [K+1, z_dim]
    blocks = list(attention_maps(G, items[0]['image'], items[0]['mask'], z))
    cols = 2 + len(blocks)
    fig, axes = plt.subplots(a.count, cols, figsize=(1.9 * cols, 1.9 * a.count), squeeze=False)
    for r, it in enumerate(items):
        maps, fill = attention_maps(G, it['image'], it['mask'], z, return_output=True)   # one forward: maps and fill
        m = it['mask'][0].numpy()[..., None]
        panels = [to_rgb(it['image']) * m + (1 - m), to_rgb(fill)] + [segmentation_overlay(fill, maps[b], alpha=0.6) for b in blocks]
        for c, (ax, p) in enumerate(zip(axes[r], panels)):
            ax.imshow(p); ax.axis('off')
            if r == 0: ax.set_title(['masked input', 'completion'][c] if c < 2 else f'latents: {blocks[c - 2]}', fontsize=8)
    fig.suptitle(f'trained {state["config"]["model"]} G_ema ({Path(a.checkpoint).name}): argmax over latents per block', fontsize=9)
    fig.tight_layout()
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(a.out, dpi=80); plt.close(fig)
    print(f'wrote {a.out}')


if __name__ == '__main__':
    main()

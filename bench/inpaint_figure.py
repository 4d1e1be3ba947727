"""The README's picture: the bundled 64² model filling a real 256² face through `gansformer_nb_inpaint`.

    python bench/inpaint_figure.py --image ../shared/data/celebahq256/val/ALAE_00017.jpg \
        --mask ../shared/data/masks256/thick/000000.png --out docs/inpaint_256.png

Runs the installed command exactly as the README shows it, then draws masked input | fill | original side by side
at full size (256²), so the seam blending of an upsampled fill can be judged by eye.
"""
import argparse, subprocess, sys, tempfile
from pathlib import Path
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--checkpoint', default=str(ROOT / 'checkpoints/tiny_celeba64.pt'))
    ap.add_argument('--image', required=True); ap.add_argument('--mask', required=True)
    ap.add_argument('--out', default=str(ROOT / 'docs/inpaint_256.png'))
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        filled = Path(tmp) / 'filled.png'
        run = subprocess.run(['gansformer_nb_inpaint', '--checkpoint', a.checkpoint, '--image', a.image, '--mask', a.mask,
                              '--out', str(filled)], capture_output=True, text=True)
        print(run.stdout.strip(), run.stderr.strip(), sep='\n')
        if run.returncode: sys.exit(run.returncode)
        original = np.asarray(Image.open(a.image).convert('RGB'))
        keep = np.asarray(Image.open(a.mask).convert('L').resize(original.shape[1::-1], Image.NEAREST)) > 127
        masked = np.where(keep[..., None], original, 255).astype(np.uint8)
        fill = np.asarray(Image.open(filled).convert('RGB'))
    gap = np.full((original.shape[0], 8, 3), 255, np.uint8)
    Image.fromarray(np.concatenate([masked, gap, fill, gap, original], 1)).save(a.out, optimize=True)
    print(f'wrote {a.out}: masked input | fill | original')


if __name__ == '__main__':
    main()

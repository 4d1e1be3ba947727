"""CentroidAttention against the official GANsformer TransformerLayer, weight for weight (not a test; needs the official code).

    git clone https://github.com/dorarad/gansformer ../gansformer      # once, beside this repository (or any folder)
    python bench/official_layer.py [--official ../gansformer] [--out runs/official_layer]

The official code is imported at run time from that folder (its pytorch_version/), never copied into this project.
Its training/misc.py imports plotting and download packages (seaborn, termcolor, gdown) that the layer never uses;
where one is not installed, an empty stand-in module is put in its place, and the script says so.

For each variant (centroids on/off, kmeans_iters 1 and 3, each norm and integration, latent positions, gates, 1 and 2
heads) both layers are built, the official one's random weights are loaded into ours with
`gansformer_nb.centroid_attention.load_official`, and both run in eval mode (dropout off: its random masks cannot
match) on the same random fp32 inputs: features [4, C=64, 16, 16], K = 8 latents of width 32, a grid position code
and learned latent positions as the official generator makes them. The official latent gate reads the latents with
a layer as wide as the image features (it runs only when the two widths are equal), so the gate variants use
latents of width 64. Printed: the largest |difference| of the output
and of the attention per variant, against the target 1e-5. integration='both' is listed but not compared: the
official PyTorch layer splits the control with torch.split(control, 2) (chunks of two channels), which raises for
any width above 2; the official TensorFlow layer and ours split it in halves.
"""
import argparse, importlib, json, os, sys, types
from pathlib import Path

TARGET = 1e-5
STAND_INS = {'seaborn': {}, 'termcolor': {'colored': lambda text, *a, **k: text}, 'gdown': {}}


def import_official(root):
    "The official `training.networks` module from `root` (a clone of dorarad/gansformer), with stand-ins for unused packages."
    code = Path(root) / 'pytorch_version'
    if not (code / 'training' / 'networks.py').is_file():
        raise SystemExit(f'official_layer: no official code at {root} (expected {code}/training/networks.py). Clone it: '
                         f'git clone https://github.com/dorarad/gansformer {root}   or pass --official PATH.')
    for name, attrs in STAND_INS.items():
        try: importlib.import_module(name)
        except ImportError:
            sys.modules[name] = types.SimpleNamespace(**attrs)
            print(f'(stand-in for {name}: not installed; the official layer does not use it)')
    sys.path.insert(0, str(code))
    return importlib.import_module('training.networks')


def compare(N, torch, CentroidAttention, load_official, variant, C=64, K=8, size=16, B=4):
    "Max |official - ours| of the output and of the attention for one variant."
    torch.manual_seed(0)
    Dy = variant.get('latent_dim', 32)
    heads = variant.get('num_heads', 1)
    official = N.TransformerLayer(dim=C, pos_dim=Dy, from_len=size * size, to_len=K, from_dim=C, to_dim=Dy,
                                  from_gate=variant.get('pixel_gate', False), to_gate=variant.get('latent_gate', False),
                                  num_heads=heads, attention_dropout=0.12, integration=variant['integration'],
                                  norm=None if variant['norm'] == 'none' else variant['norm'],
                                  kmeans=variant['centroids'], kmeans_iters=variant.get('kmeans_iters', 1)).eval()
    with torch.no_grad():                                   # the official init leaves some biases at 0: make every one count
        for name, p in official.named_parameters():
            if name.endswith('bias'): p.normal_(0, 0.1)
    ours = CentroidAttention(C, Dy, K, num_heads=heads, pos_dim=Dy, centroids=variant['centroids'],
                             kmeans_iters=variant.get('kmeans_iters', 1), norm=variant['norm'],
                             integration=variant['integration'], latent_positions=variant.get('latent_positions', False),
                             latent_gate=variant.get('latent_gate', False), pixel_gate=variant.get('pixel_gate', False)).eval()
    load_official(ours, official.state_dict())
    x = torch.randn(B, C, size, size) + 0.5                                  # conv features, not normalised
    latents = torch.randn(B, K, Dy)
    grid = N.get_positional_encoding(size, Dy)[0].reshape(size * size, Dy)   # the official grid code
    latent_pos = torch.rand(K, Dy) if variant.get('latent_positions') else None   # as the official get_embeddings
    with torch.no_grad():
        out_off, att_off, _ = official(x.flatten(2).transpose(1, 2), latents, grid, latent_pos, hw_shape=(size, size))
        out_ours = ours(x, latents, latent_pos)
    out_off = out_off.transpose(1, 2).reshape(B, C, size, size)
    att_off = att_off.reshape(B, heads, K, size * size).transpose(-2, -1)      # [B, h, N, K] as ours
    return (out_off - out_ours).abs().max().item(), (att_off - ours.attention).abs().max().item(), out_off.abs().max().item()


def variants():
    for centroids in (True, False):
        for norm in ('none', 'instance', 'layer'):
            for integration in ('add', 'mul', 'both'):
                yield dict(centroids=centroids, norm=norm, integration=integration)
    default = dict(centroids=True, norm='layer', integration='mul')                 # --ganformer-default's layer
    yield dict(default, kmeans_iters=3)
    yield dict(default, num_heads=2)
    yield dict(default, kmeans_iters=3, num_heads=2)
    yield dict(default, centroids=False, latent_positions=True)
    gates = dict(latent_positions=True, latent_gate=True, pixel_gate=True, latent_dim=64)   # official gates need latent_dim = dim
    yield dict(default, **gates)
    yield dict(default, centroids=False, num_heads=2, **gates)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--official', default=os.environ.get('GANSFORMER_OFFICIAL', '../gansformer'),
                        help='a clone of github.com/dorarad/gansformer (default: $GANSFORMER_OFFICIAL or ../gansformer)')
    parser.add_argument('--out', default='runs/official_layer', help='folder for official_layer.json')
    args = parser.parse_args(argv)
    N = import_official(args.official)
    import torch
    from gansformer_nb.centroid_attention import CentroidAttention, load_official
    rows, worst = [], 0.0
    print('| centroids | kmeans_iters | norm | integration | heads | latent pos | gates | max |Δ output| | max |Δ attention| | max |output| |')
    print('|---|---|---|---|---|---|---|---|---|---|')
    for v in variants():
        label = [str(v['centroids']), str(v.get('kmeans_iters', 1)), v['norm'], v['integration'], str(v.get('num_heads', 1)),
                 'yes' if v.get('latent_positions') else 'no', 'both' if v.get('latent_gate') else 'no']
        if v['integration'] == 'both':
            try: compare(N, torch, CentroidAttention, load_official, v); note = 'ran (unexpected)'
            except Exception as e: note = f'official raises {type(e).__name__}'
            print('| ' + ' | '.join(label) + f' | {note} | | |'); rows.append(dict(v, official=note)); continue
        d_out, d_att, scale = compare(N, torch, CentroidAttention, load_official, v)
        worst = max(worst, d_out, d_att)
        print('| ' + ' | '.join(label) + f' | {d_out:.1e} | {d_att:.1e} | {scale:.1f} |')
        rows.append(dict(v, max_output_diff=d_out, max_attention_diff=d_att, max_output=scale))
    print(f'\nlargest difference over the compared variants: {worst:.1e} (target ≤ {TARGET:.0e}: '
          f'{"met" if worst <= TARGET else "NOT met"})')
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / 'official_layer.json').write_text(json.dumps(dict(rows=rows, worst=worst, target=TARGET), indent=1))
    return 0 if worst <= TARGET else 1


if __name__ == '__main__':
    sys.exit(main())

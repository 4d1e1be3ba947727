"""Bipartite attention against flash self-attention (not a test): one layer, forward + backward, on the CPU.

    python bench/attention.py --out runs/attention

Every case runs in a fresh Python process: B = 4 images, C = 256 channels, K = 16 latents of width 32, 1 head (the
official GANsformer's --ganformer-default widths), feature maps 16² to 128². Time: the median of --repeats steps after
two warm-up steps. Peak memory: the CPU allocator's peak during one step above what was live before it
(torch.profiler with profile_memory=True). The step is the layer's forward and its backward from a fixed output
gradient (no loss is computed, so only the layer is measured). Layers: our SimplexAttention and DuplexAttention on their training path
(keep_attention=False), and a self-attention layer of the same width (qkv and output projections around
F.scaled_dot_product_attention, PyTorch's fused flash kernel). At 128² self-attention is not run (minutes per step):
its time there is extrapolated from 64² as N² (×16) and its memory as N (×4), and marked so.

The official layer cannot be run here; its measurements on a 2-core machine (16²: 12.6 ms / 13.3 MiB, 32²: 37.3 / 50.6,
64²: 199.4 / 199.9, 128²: 1226.6 / 797.1), as ratios to flash self-attention measured in the same run as them, are
the reference: 0.73x, 0.35x, 0.153x of its time at 16², 32², 64², and 1.23x of its memory at 64².
Prints a markdown table and writes <out>/attention.json. --keep-freed-memory runs every case with glibc's allocator
told to keep freed blocks for reuse instead of unmapping them (each step's large tensors are then not page-faulted
anew); run it both ways to see how much of the growth from 64² to 128² is the allocator's.

On a GPU (`--device cuda`, what bench/gpu_check.sh runs) the same cases run at larger sizes, e.g. `--sizes 128 256 512
--flash-max 512`; peak memory is then the CUDA allocator's, and a case that runs out of memory, or whose first step
exceeds --case-seconds, is reported as such (larger sizes of that layer are then not tried). The time and memory of
every case are measured by gansformer_nb.basics (seconds_per_call, allocator_peak), as in the lessons.
"""
import argparse, json, os, subprocess, sys
from pathlib import Path

OFFICIAL_TIME_RATIO = {16: 0.73, 32: 0.35, 64: 0.153}      # official layer / flash self-attention, time
OFFICIAL_MEMORY_RATIO = {64: 1.23}
TARGETS = dict(simplex_time_64=0.10, simplex_memory_64=0.86, duplex_time_64=0.153, growth=4.5)


def build(kind, channels, latent_num, latent_dim, size, device):
    import torch, torch.nn as nn, torch.nn.functional as F
    from gansformer_nb.bipartite import SimplexAttention
    from gansformer_nb.duplex import DuplexAttention
    from gansformer_nb.fast_path import FlashSelfAttention
    if kind == 'elementwise':                                   # the memory-bound floor: one multiply, forward and backward
        w = torch.randn(4, channels, size, size, device=device)
        return lambda x: x * w, nn.Identity()
    if kind in ('simplex', 'duplex'):
        cls = SimplexAttention if kind == 'simplex' else DuplexAttention
        layer = cls(channels, latent_dim, num_heads=1, keep_attention=False).to(device)
        latents = torch.randn(4, latent_num, latent_dim, device=device)
        return lambda x: layer(x, latents)[0], layer
    layer = FlashSelfAttention(channels).to(device)
    return lambda x: layer(x)[0], layer


def worker(kind, size, repeats, channels, latent_num, latent_dim, device, case_seconds):
    import torch
    from gansformer_nb.basics import seconds_per_call, allocator_peak
    torch.manual_seed(0)
    try:
        fn, layer = build(kind, channels, latent_num, latent_dim, size, device)
        x = torch.randn(4, channels, size, size, requires_grad=True, device=device)
        grad = torch.randn_like(x)                               # d loss / d output, made once: only the layer is timed
        def step():
            layer.zero_grad(set_to_none=True); x.grad = None
            fn(x).backward(grad)
        once = seconds_per_call(step, repeats=1, warmup=0, device=device)
        if case_seconds and once > case_seconds:
            return print(json.dumps(dict(status=f'over time ({once:.0f} s > {case_seconds:g} s)')))
        ms = 1e3 * seconds_per_call(step, repeats=repeats, warmup=1, device=device)      # median, after 2 warm-up steps in all
        mib = allocator_peak(step, device=device) / 2**20
    except torch.OutOfMemoryError:
        return print(json.dumps(dict(status='out of memory')))
    print(json.dumps(dict(status='ok', ms=ms, mib=mib, threads=torch.get_num_threads())))


# glibc returns every freed block above its mmap threshold to the system, so each step's 16-64 MiB tensors are mapped
# and page-faulted anew; these settings keep freed memory for reuse (what jemalloc or tcmalloc do by default)
KEEP_FREED_MEMORY = {'MALLOC_MMAP_THRESHOLD_': str(2**32), 'MALLOC_TRIM_THRESHOLD_': str(2**32)}


def run_case(kind, size, a):
    cmd = [sys.executable, __file__, '--worker', kind, str(size), '--repeats', str(a.repeats), '--channels', str(a.channels),
           '--latents', str(a.latents), '--latent-dim', str(a.latent_dim), '--device', a.device]
    if a.case_seconds: cmd += ['--case-seconds', str(a.case_seconds)]
    env = {**os.environ, **(KEEP_FREED_MEMORY if a.keep_freed_memory else {})}
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode: sys.exit(f'{kind} at {size}²: the worker failed:\n{r.stderr[-2000:]}')
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default='runs/attention', help='output folder (default runs/attention)')
    ap.add_argument('--sizes', type=int, nargs='*', default=[16, 32, 64, 128], help='feature-map sides (default 16 32 64 128)')
    ap.add_argument('--repeats', type=int, default=5, help='timed steps per case; the median is reported (default 5)')
    ap.add_argument('--flash-max', type=int, default=64, help='largest side run with self-attention (default 64)')
    ap.add_argument('--channels', type=int, default=256); ap.add_argument('--latents', type=int, default=16)
    ap.add_argument('--latent-dim', type=int, default=32)
    ap.add_argument('--keep-freed-memory', action='store_true',
                    help="run every case with glibc's allocator keeping freed memory (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_)")
    ap.add_argument('--device', default='cpu', help='cpu or cuda (default cpu)')
    ap.add_argument('--case-seconds', type=float, default=None, help='a case whose first step takes longer is "over time"')
    ap.add_argument('--worker', nargs=2, metavar=('KIND', 'SIZE'), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        return worker(a.worker[0], int(a.worker[1]), a.repeats, a.channels, a.latents, a.latent_dim, a.device, a.case_seconds)
    rows, failed = {}, {}
    for size in a.sizes:
        for kind in ('flash', 'simplex', 'duplex'):
            if kind == 'flash' and size > a.flash_max: continue
            r = run_case(kind, size, a) if kind not in failed else dict(status=f'{failed[kind]} at a smaller size')
            if r['status'] != 'ok':
                failed.setdefault(kind, r['status'].split(' (')[0])
                print(f'{kind:8s} {size:4d}²  {r["status"]}', flush=True); continue
            rows[(kind, size)] = r
            print(f'{kind:8s} {size:4d}²  {r["ms"]:9.1f} ms  {r["mib"]:8.1f} MiB', flush=True)
    if failed:                                                   # a GPU sweep past what fits: the rows, and what failed
        out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
        (out / 'attention.json').write_text(json.dumps(dict(rows={f'{k} {s}': v for (k, s), v in rows.items()}, failed=failed,
                                                            device=a.device), indent=1))
        return print(f'not every case ran ({failed}); wrote {out / "attention.json"} with the rows that did')
    last = max(s for s in a.sizes if s <= a.flash_max)
    def flash(size):
        if ('flash', size) in rows: return rows[('flash', size)], False
        f = 4 ** (size.bit_length() - last.bit_length())                          # N grows f×
        r = rows[('flash', last)]
        return dict(ms=r['ms'] * f * f, mib=r['mib'] * f), True
    print(f'\nB = 4, C = {a.channels}, K = {a.latents} latents of width {a.latent_dim}, 1 head, forward + backward, '
          f'{rows[("simplex", a.sizes[0])]["threads"]} CPU threads; median of {a.repeats}; peak = allocator peak above the live memory\n')
    print('| feature map | flash self-attn ms / MiB | simplex ms / MiB | duplex ms / MiB | simplex ÷ flash time / memory | '
          'duplex ÷ flash time / memory | official ÷ flash time (reference) |\n|---|---|---|---|---|---|---|')
    table = []
    for size in a.sizes:
        f, extrapolated = flash(size); s, d = rows[('simplex', size)], rows[('duplex', size)]
        star = '*' if extrapolated else ''
        row = dict(size=size, flash=f, flash_extrapolated=extrapolated, simplex=s, duplex=d,
                   simplex_time=s['ms'] / f['ms'], simplex_memory=s['mib'] / f['mib'],
                   duplex_time=d['ms'] / f['ms'], duplex_memory=d['mib'] / f['mib'])
        table.append(row)
        ref = f'{OFFICIAL_TIME_RATIO[size]:.3f}×' if size in OFFICIAL_TIME_RATIO else '–'
        print(f"| {size}² | {f['ms']:.1f}{star} / {f['mib']:.1f}{star} | {s['ms']:.1f} / {s['mib']:.1f} | {d['ms']:.1f} / {d['mib']:.1f} | "
              f"{row['simplex_time']:.3f}× / {row['simplex_memory']:.2f}× | {row['duplex_time']:.3f}× / {row['duplex_memory']:.2f}× | {ref} |")
    print('\n\\* extrapolated from 64²: time × N², memory × N')
    growth = {}
    if 64 in a.sizes and 128 in a.sizes:
        for kind in ('simplex', 'duplex'):
            growth[kind] = dict(time=rows[(kind, 128)]['ms'] / rows[(kind, 64)]['ms'], memory=rows[(kind, 128)]['mib'] / rows[(kind, 64)]['mib'])
            print(f"{kind}: 64² → 128² (4× pixels): time ×{growth[kind]['time']:.2f}, memory ×{growth[kind]['memory']:.2f} (target ≤ {TARGETS['growth']})")
        e64, e128 = run_case('elementwise', 64, a), run_case('elementwise', 128, a)
        growth['elementwise'] = dict(time=e128['ms'] / e64['ms'], ms_64=e64['ms'], ms_128=e128['ms'])
        print(f"reference, one elementwise multiply of a [4, {a.channels}, H, W] tensor, forward + backward: {e64['ms']:.1f} ms at 64², "
              f"{e128['ms']:.1f} ms at 128²: time ×{growth['elementwise']['time']:.2f} (the memory system's own growth)")
    at64 = next((r for r in table if r['size'] == 64), None)
    if at64:
        checks = [('simplex time at 64²', at64['simplex_time'], TARGETS['simplex_time_64'], OFFICIAL_TIME_RATIO[64]),
                  ('simplex memory at 64²', at64['simplex_memory'], TARGETS['simplex_memory_64'], OFFICIAL_MEMORY_RATIO[64]),
                  ('duplex time at 64²', at64['duplex_time'], TARGETS['duplex_time_64'], OFFICIAL_TIME_RATIO[64])]
        for name, value, target, official in checks:
            print(f"{name}: {value:.3f}× flash (target ≤ {target}×; the official layer {official}×): "
                  f"{'met' if value <= target else 'NOT met'}")
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    (out / 'attention.json').write_text(json.dumps(dict(rows=table, growth=growth, targets=TARGETS, channels=a.channels,
                                                        latents=a.latents, latent_dim=a.latent_dim, repeats=a.repeats,
                                                        keep_freed_memory=a.keep_freed_memory), indent=1))
    print(f'\nwrote {out / "attention.json"}')


if __name__ == '__main__':
    main()

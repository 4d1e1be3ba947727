"""Speed benchmark (not a test): training throughput, FLOPs and model FLOP utilisation.

    python bench/speed.py --out runs/speed

(The attention layer alone, against flash self-attention, is bench/attention.py.)

1. Training step: images/s of `tiny` (64², batch 4; the adversarial step and the reconstruction warm-up step) and
   `celeba256` (256², batch 2 on CPU) on this machine; FLOPs per step counted with torch.utils.flop_counter's
   formulas (the lazy R1 step weighted 1/d_reg_interval); achieved
   FLOP/s as a fraction of a 2048x2048 fp32 matmul's FLOP/s measured in the same run (model FLOP utilisation, MFU).
2. Where the time goes: torch.profiler over `tiny` steps, by operator; and `tiny`'s G part by part (each block's
   forward + backward timed alone on its own inputs, with its FLOPs and FLOP/s), next to the whole G as one graph.
3. On CUDA: fp32 vs bf16 autocast, + channels_last, + torch.compile (R1 in the step), for `tiny` and `celeba256`:
   images/s, peak memory and MFU against a bf16 matmul measured in the same run (the GPU's practical dense peak).
4. The unconditional GANsformer (lesson 01c): `GANsformerTrainer.train_step` of `sprites` (32², batch 16) and, on
   CUDA, `sprites128` (128², batch 32): images/s, FLOPs per step (the lazy R1 step weighted 1/r1_interval), MFU.
   `--only gansformer` runs this part alone (bench/gpu_check.sh does, on the GPU).
5. `--compare-with DIR`: the `tiny` training rows and G parts of the package in DIR (a checkout of an earlier commit, e.g.
   `git worktree add /tmp/before be6d1e0`) and of this one, alternately, each round in two fresh processes, `--rounds`
   times; prints the medians and the ratio of achieved FLOP/s (both packages run this script's code, so the FLOPs are
   counted and the steps timed the same way). This machine's speed drifts between runs, so one run of each is not a
   comparison; alternating rounds are.

`--only cuda` runs part 3 alone (`bench/gpu_check.sh` uses it; with `--device cpu` it rehearses the same code paths
at small sizes: bf16 autocast is CUDA-only in the trainer, and compilation uses `--compile-backend`).

A training step is timed by the phases it runs (`Trainer.train_step(batch, phases=...)`: D, G, EMA; with the lazy R1
phase Dreg; or the warm-up's G and EMA), whatever the step counter says. Times are medians from
`gansformer_nb.basics.seconds_per_call`, the helper the lessons use. Every number is measured in this one run; ratios
compare rows of the same run (in 4., rows of alternating runs). Prints markdown, writes <out>/speed.json.
"""
import argparse, importlib.util, json, os, platform, statistics, subprocess, sys, tempfile, time, warnings
from pathlib import Path
import torch
import torch.nn as nn
from torch.utils.flop_counter import flop_registry
from torch.utils._python_dispatch import TorchDispatchMode
from gansformer_nb.generator import Generator, GeneratorConfig
from gansformer_nb.training import TrainConfig
try: from gansformer_nb.trainer import Trainer
except ImportError: from gansformer_nb.training import Trainer       # --compare-with a checkout from before lesson 06a
try: from gansformer_nb.basics import seconds_per_call
except ImportError:                      # --compare-with an earlier checkout, from before basics: this checkout's helper
    _file = Path(__file__).resolve().parents[1] / 'gansformer_nb' / 'basics.py'
    _spec = importlib.util.spec_from_file_location('basics_of_this_checkout', _file)
    _basics = importlib.util.module_from_spec(_spec); _spec.loader.exec_module(_basics)
    seconds_per_call = _basics.seconds_per_call


def machine():
    "One line naming the hardware and software the numbers were measured on."
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
    except (OSError, StopIteration): pass
    gpu = f', GPU {torch.cuda.get_device_name()}' if torch.cuda.is_available() else ', no GPU'
    return f'{cpu}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads{gpu}; PyTorch {torch.__version__}'


class FlopCount(TorchDispatchMode):
    """FLOPs of every operator PyTorch's flop counter knows (matmuls, convolutions, attention), with no module hooks,
    so that it also counts R1's double backward (FlopCounterMode's module tracker does not support autograd.grad)."""
    def __init__(self):
        super().__init__(); self.flops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        count = flop_registry.get(func._overloadpacket)
        if count is not None: self.flops += count(*args, **kwargs, out_val=out)
        return out


def matmul_flops(device, n=2048, dtype=torch.float32, repeats=10):
    "FLOP/s of an n×n @ n×n matmul: the machine's practical dense peak for `dtype`."
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    t = seconds_per_call(lambda: [a @ b for _ in range(repeats)], repeats=3, device=device, stat='best')
    return 2 * n ** 3 * repeats / t


def make_trainer(preset, batch_size, img_size, device, out_dir, **overrides):
    "A trainer on synthetic faces; its steps are adversarial unless `reconstruction_warmup` is passed."
    overrides = {'reconstruction_warmup': 0.0, **overrides}
    c = TrainConfig.preset(preset, data='synthetic', synthetic_count=max(4 * batch_size, 16), img_size=img_size,
                           batch_size=batch_size, num_workers=0, device=str(device), out_dir=out_dir, val_count=4,
                           sample_count=2, **overrides)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        trainer = Trainer(c, quiet=True)
    batches = [b for _, b in zip(range(4), trainer.train_loader)]
    return trainer, batches


PHASES = {'plain': ['D', 'G', 'EMA'], 'r1': ['D', 'Dreg', 'G', 'EMA'], 'warm-up': ['G', 'EMA']}

def step_fn(trainer, batch, kind):
    "One training step of `kind` (a key of PHASES): the phases it runs, asked for by name."
    if hasattr(trainer, 'state'): return lambda: trainer.train_step(batch, phases=PHASES[kind])
    def fn():                            # a package from before the phases (--compare-with): the step counter decides R1
        trainer.step = 0 if kind == 'r1' else 1
        trainer.train_step(batch)
    return fn


def train_row(preset, batch_size, img_size, device, peak, timed_steps, phase='adversarial', **overrides):
    "Images/s, FLOPs per step and MFU: adversarial steps (R1 steps weighted 1/d_reg_interval) or warm-up steps (G on L1)."
    if phase == 'warm-up': overrides['reconstruction_warmup'] = 0.5           # (a package from before the phases)
    with tempfile.TemporaryDirectory() as out:
        trainer, batches = make_trainer(preset, batch_size, img_size, device, out, **overrides)
        k = trainer.config.d_reg_interval
        plain_kind = 'warm-up' if phase == 'warm-up' else 'plain'
        plain, reg = step_fn(trainer, batches[0], plain_kind), step_fn(trainer, batches[0], 'r1' if phase != 'warm-up' else plain_kind)
        if not hasattr(trainer, 'state'): assert trainer.in_warmup() == (phase == 'warm-up')
        flops = {}
        for name, fn in (('plain', plain), ('r1', reg)):
            fn()                                                                 # warm-up (and compile, if asked)
            with FlopCount() as counter: fn()
            flops[name] = counter.flops
        steps = iter(range(10 ** 9))
        t_plain = seconds_per_call(lambda: step_fn(trainer, batches[next(steps) % len(batches)], plain_kind)(),
                                   repeats=timed_steps, warmup=0, device=device)
        t_reg = seconds_per_call(reg, repeats=1, warmup=0, device=device)
    t_step = ((k - 1) * t_plain + t_reg) / k
    f_step = ((k - 1) * flops['plain'] + flops['r1']) / k
    return dict(preset=preset, phase=phase, img_size=img_size, batch_size=batch_size, images_per_s=batch_size / t_step,
                step_s=t_step, gflops_per_step=f_step / 1e9, gflops_per_image=f_step / batch_size / 1e9,
                achieved_gflops=f_step / t_step / 1e9, mfu=f_step / t_step / peak,
                r1_step_extra=t_reg / t_plain - 1, **{k_: v for k_, v in overrides.items()})


def gansformer_rows(device, peak, quick=False):
    "Images/s, FLOPs per step and MFU of `GANsformerTrainer.train_step` for `sprites` (and `sprites128` on CUDA)."
    from gansformer_nb.gansformer import GANsformerConfig, GANsformerTrainer
    from gansformer_nb.sprites import Sprites
    presets = ['sprites'] + (['sprites128'] if device.type == 'cuda' and not quick else [])
    rows = []
    for preset in presets:
        config = GANsformerConfig.preset(preset)
        trainer = GANsformerTrainer(config, device)
        real = Sprites(config.img_size).batch(0, config.batch_size)[0].to(device)
        def step(r1):
            trainer.step = 0 if r1 else 1                                        # the step counter decides the lazy R1
            trainer.train_step(real)
        flops = {}
        for r1 in (False, True):
            step(r1)                                                             # warm-up
            with FlopCount() as counter: step(r1)
            flops[r1] = counter.flops
        t_plain = seconds_per_call(lambda: step(False), repeats=3 if quick else 10, warmup=1, device=device)
        t_reg = seconds_per_call(lambda: step(True), repeats=1 if quick else 3, warmup=0, device=device)
        k = config.r1_interval
        t_step, f_step = ((k - 1) * t_plain + t_reg) / k, ((k - 1) * flops[False] + flops[True]) / k
        rows.append(dict(preset=preset, img_size=config.img_size, batch_size=config.batch_size, step_s=t_step,
                         images_per_s=config.batch_size / t_step, gflops_per_step=f_step / 1e9,
                         achieved_gflops=f_step / t_step / 1e9, mfu=f_step / t_step / peak, r1_step_extra=t_reg / t_plain - 1))
    return rows


def gansformer_table(rows):
    return table(rows, [('preset', lambda r: f'{r["preset"]} {r["img_size"]}², batch {r["batch_size"]}'),
                        ('ms/step', lambda r: f'{1000 * r["step_s"]:.0f}'), ('images/s', lambda r: f'{r["images_per_s"]:.1f}'),
                        ('GFLOP/step', lambda r: f'{r["gflops_per_step"]:.2f}'), ('achieved GFLOP/s', lambda r: f'{r["achieved_gflops"]:.1f}'),
                        ('MFU', lambda r: f'{r["mfu"]:.1%}'), ('R1 step extra time', lambda r: f'+{r["r1_step_extra"]:.0%}')])


def gansformer_part(a, device, result, out):
    "`--only gansformer`: the unconditional GANsformer's step alone, against this device's matmul peak (bf16 on CUDA)."
    cuda = device.type == 'cuda'
    peak = matmul_flops(device, n=8192 if cuda else 2048, dtype=torch.bfloat16 if cuda else torch.float32)
    print(f'{"bf16" if cuda else "fp32"} matmul: {peak / 1e9:,.0f} GFLOP/s (the MFU reference; the step runs in fp32)\n', flush=True)
    result['gansformer'] = gansformer_rows(device, peak, a.quick)
    print(gansformer_table(result['gansformer']))
    (out / 'speed_gansformer.json').write_text(json.dumps(result, indent=1))
    print(f'\nwrote {out / "speed_gansformer.json"}')
    return result


def profile_rows(device, steps=4, top=10):
    "Share of the self time of each operator over `tiny` training steps."
    with tempfile.TemporaryDirectory() as out:
        trainer, batches = make_trainer('tiny', 4, 64, device, out)
        step_fn(trainer, batches[0], 'plain')()
        os.environ.setdefault('KINETO_LOG_LEVEL', '99')
        acts = [torch.profiler.ProfilerActivity.CPU] + ([torch.profiler.ProfilerActivity.CUDA] if device.type == 'cuda' else [])
        with torch.profiler.profile(activities=acts) as prof:
            for i in range(steps): step_fn(trainer, batches[i % len(batches)], 'plain')()
    attr = 'self_device_time_total' if device.type == 'cuda' else 'self_cpu_time_total'
    events = [(e.key, getattr(e, attr)) for e in prof.key_averages()]
    total = sum(t for _, t in events)
    events.sort(key=lambda kv: -kv[1])
    return [dict(op=k, share=t / total, ms_per_step=t / 1e3 / steps) for k, t in events[:top]]


SUM_OF_PARTS, WHOLE_G = 'sum of the parts', 'whole G'             # module_rows' two summary rows


def part_name(r):
    "A part's name as code, or a summary row's as words."
    return r['part'] if r['part'] in (SUM_OF_PARTS, WHOLE_G) else f'`{r["part"]}`'


def module_rows(device, repeats=15):
    """Forward + backward time, FLOPs and FLOP/s of each part of `tiny`'s G (64², batch 4), each timed alone on the
    inputs it gets inside G (gradients to the same inputs as in G) and back-propagated from a fixed output gradient;
    then the whole G the same way."""
    with tempfile.TemporaryDirectory() as out:
        trainer, batches = make_trainer('tiny', 4, 64, device, out)
    G = trainer.G
    real, mask = trainer.to_device(batches[0])
    parts = {}
    for name, child in G.named_children():                       # lists and dicts of blocks: one row per block
        items = child.items() if isinstance(child, nn.ModuleDict) else enumerate(child) if isinstance(child, nn.ModuleList) else None
        parts.update({f'{name}.{k}': m for k, m in items} if items is not None else {name: child})
    # each part's inputs as G gives them: a copy that needs a gradient exactly where G's own input did
    leaf = lambda a: a.detach().clone().requires_grad_(a.requires_grad) if isinstance(a, torch.Tensor) else a
    inputs = {}
    hooks = [m.register_forward_pre_hook(lambda m, args, kwargs, n=n: inputs.setdefault(
                 n, ([leaf(a) for a in args], {k: leaf(v) for k, v in kwargs.items()})), with_kwargs=True)
             for n, m in parts.items()]
    G(real, mask, composite=False)
    for h in hooks: h.remove()
    def timed_with_flops(fn):
        "Median seconds of `fn()` and the FLOPs of one call."
        with FlopCount() as counter: fn()
        return seconds_per_call(fn, repeats=repeats, warmup=2, device=device), counter.flops
    def backward_step(module, *args, **kwargs):
        "module(...) forward, then backward from fixed gradients of its outputs (no loss), parameter gradients reset."
        grads = {}
        def step():
            module.zero_grad(set_to_none=True)
            out = module(*args, **kwargs)
            outs = [o for o in (out if isinstance(out, tuple) else (out,)) if isinstance(o, torch.Tensor) and o.requires_grad]
            if not grads: grads.update({i: torch.randn_like(o) for i, o in enumerate(outs)})   # drawn once
            torch.autograd.backward(outs, [grads[i] for i in range(len(outs))])
        return step
    rows = []
    for name, m in parts.items():
        if name not in inputs: continue                          # not called at this size
        args, kwargs = inputs[name]
        t, flops = timed_with_flops(backward_step(m, *args, **kwargs))
        rows.append(dict(part=name, kind=type(m).__name__, ms=t * 1e3, gflops=flops / 1e9, gflops_per_s=flops / t / 1e9))
    total = sum(r['ms'] for r in rows)
    for r in rows: r['share'] = r['ms'] / total
    parts_flops = sum(r['gflops'] for r in rows)
    rows.append(dict(part=SUM_OF_PARTS, kind='timed alone', ms=total, gflops=parts_flops,
                     gflops_per_s=parts_flops / total * 1e3, share=1.0))
    t, flops = timed_with_flops(backward_step(G, real, mask, composite=False))   # the same G as one graph
    rows.append(dict(part=WHOLE_G, kind='one forward + backward', ms=t * 1e3, gflops=flops / 1e9,
                     gflops_per_s=flops / t / 1e9, share=t * 1e3 / total))
    return rows


def optimizer_rows(device):
    "Adam step on G's parameters (tiny): the for-each implementation against the fused kernel."
    G = Generator(GeneratorConfig.preset('tiny')).to(device)
    for p in G.parameters(): p.grad = torch.randn_like(p)
    rows = []
    for name, kw in (('foreach', dict(foreach=True)), ('fused', dict(fused=True))):
        opt = torch.optim.Adam(G.parameters(), lr=1e-4, betas=(0.0, 0.99), **kw)
        rows.append(dict(adam=name, ms=seconds_per_call(lambda: [opt.step() for _ in range(10)], repeats=3, device=device, stat='best') * 100,
                         g_parameters=sum(p.numel() for p in G.parameters())))
    return rows


def cuda_rows(device, peak, compile_backend='inductor', quick=False):
    """The training step in each precision / memory format / compilation, for `tiny` and `celeba256`: images/s, peak
    memory (CUDA allocator) and MFU against `peak` (a bf16 matmul on CUDA). On the CPU (a rehearsal) at small sizes."""
    variants = [('fp32', dict(amp=False, channels_last=False)),
                ('bf16 autocast', dict(amp=True, channels_last=False)),
                ('bf16 + channels_last', dict(amp=True, channels_last=True)),
                ('bf16 + channels_last + compile', dict(amp=True, channels_last=True, compile=True, compile_backend=compile_backend))]
    cpu = device.type == 'cpu'
    setups = ((('tiny', 4, 32), ('celeba256', 1, 64)) if cpu or quick else (('tiny', 32, 64), ('celeba256', 16, 256)))
    rows = []
    for preset, bs, size in setups:
        for name, kw in variants:
            if device.type == 'cuda': torch.cuda.reset_peak_memory_stats(device)
            try:
                r = train_row(preset, bs, size, device, peak, timed_steps=3 if cpu else 10, **kw)
                r['peak_mib'] = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == 'cuda' else None
                r['status'] = 'ok' + (' (CPU: autocast is CUDA-only, so this is fp32)' if cpu and kw['amp'] else '')
            except Exception as e:                                   # report and go on: one variant must not hide the rest
                r = dict(preset=preset, img_size=size, batch_size=bs, images_per_s=None, mfu=None, peak_mib=None,
                         status=f'failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}')
            r['variant'] = name; rows.append(r)
            print(f'  {device.type} {preset} {name}: ' + (f'{r["images_per_s"]:.1f} images/s' if r['images_per_s'] else r['status']), flush=True)
            if device.type == 'cuda': torch.cuda.empty_cache()
    return rows


def cuda_table(rows):
    base = {r['preset']: r['images_per_s'] for r in rows if r['variant'] == 'fp32' and r['images_per_s']}
    num = lambda v, fmt: '—' if v is None else fmt.format(v)
    return table(rows, [('preset', lambda r: f'{r["preset"]} {r["img_size"]}², batch {r["batch_size"]}'),
                        ('variant', lambda r: r['variant']), ('images/s', lambda r: num(r['images_per_s'], '{:.1f}')),
                        ('vs fp32', lambda r: num(r['images_per_s'] and base.get(r['preset']) and r['images_per_s'] / base[r['preset']], '{:.2f}×')),
                        ('peak MiB', lambda r: num(r.get('peak_mib'), '{:.0f}')), ('MFU', lambda r: num(r['mfu'], '{:.0%}')),
                        ('status', lambda r: r['status'])])


def table(rows, cols):
    lines = ['| ' + ' | '.join(h for h, _ in cols) + ' |', '|' + '---|' * len(cols)]
    lines += ['| ' + ' | '.join(f(r) for _, f in cols) + ' |' for r in rows]
    return '\n'.join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default='runs/speed', help='output folder (default runs/speed)')
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: all cores)')
    ap.add_argument('--quick', action='store_true', help='small sizes only (a check that the script runs)')
    ap.add_argument('--only', choices=['all', 'cuda', 'tiny', 'tiny-rows', 'gansformer'], default='all',
                    help='run one part: the CUDA training rows, the fp32 peak with the tiny training rows, profile and '
                         'G parts, the peak, tiny rows and G parts alone, or the unconditional GANsformer\'s step (default: all)')
    ap.add_argument('--compare-with', metavar='DIR', default=None,
                    help='a checkout of an earlier commit: its tiny rows against this one\'s, alternately (see 4. above)')
    ap.add_argument('--rounds', type=int, default=5, help='rounds of --compare-with (default 5)')
    ap.add_argument('--compile-backend', default='inductor', help='torch.compile backend of the compile rows (default inductor)')
    a = ap.parse_args(argv)
    if a.threads: torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    torch.backends.cuda.matmul.allow_tf32 = False                     # the fp32 peak is plain fp32
    result = dict(machine=machine())
    print(f'machine: {result["machine"]}\n', flush=True)
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    if a.compare_with: return compare(a, result, out)
    if a.only == 'gansformer': return gansformer_part(a, device, result, out)
    if a.only not in ('all', 'tiny', 'tiny-rows'): return part(a, device, result, out)

    peak = matmul_flops(device)
    result['matmul_fp32_gflops'] = peak / 1e9
    print(f'fp32 matmul 2048²: {peak / 1e9:.1f} GFLOP/s (the reference for MFU)\n', flush=True)

    print('\n', flush=True)
    configs = [('tiny', 4, 64, 8, 'adversarial')] if a.quick else [
        ('tiny', 4, 64, 12, 'adversarial'), ('tiny', 4, 64, 12, 'warm-up'),
        ('celeba256', 2 if device.type == 'cpu' else 16, 256, 2 if device.type == 'cpu' else 10, 'adversarial')][:2 if a.only in ('tiny', 'tiny-rows') else 3]
    result['training'] = [train_row(p, bs, s, device, peak, n, phase) for p, bs, s, n, phase in configs]
    if a.only == 'tiny-rows':
        import gansformer_nb
        result['package'] = str(Path(gansformer_nb.__file__).parent)
        result['modules'] = module_rows(device)
        (out / 'speed_tiny_rows.json').write_text(json.dumps(result, indent=1))
        return result
    print('### Training step (adversarial: D step + G step + EMA, lazy R1 weighted 1/16; warm-up: G step on L1 + EMA)\n')
    print(table(result['training'], [
        ('preset', lambda r: f'{r["preset"]} {r["img_size"]}², batch {r["batch_size"]}'), ('step', lambda r: r['phase']),
        ('images/s', lambda r: f'{r["images_per_s"]:.2f}'), ('GFLOP/step', lambda r: f'{r["gflops_per_step"]:.1f}'),
        ('GFLOP/image', lambda r: f'{r["gflops_per_image"]:.2f}'), ('achieved GFLOP/s', lambda r: f'{r["achieved_gflops"]:.1f}'),
        ('MFU', lambda r: f'{r["mfu"]:.0%}'), ('R1 step extra time', lambda r: '—' if r['phase'] == 'warm-up' else f'+{r["r1_step_extra"]:.0%}')]))

    result['gansformer'] = gansformer_rows(device, peak, a.quick)
    print('\n### The unconditional GANsformer (lesson 01c): D + G + EMA, lazy R1 weighted 1/16\n')
    print(gansformer_table(result['gansformer']))

    result['profile'] = profile_rows(device)
    print('\n### Where a `tiny` step spends its time (torch.profiler, self time)\n')
    print(table(result['profile'], [('operator', lambda r: f'`{r["op"]}`'), ('share', lambda r: f'{r["share"]:.1%}'),
                                    ('ms per step', lambda r: f'{r["ms_per_step"]:.1f}')]))

    result['modules'] = module_rows(device)
    print(f'\n### Where `tiny`\'s G spends a forward + backward (each part timed alone on its own inputs; fp32 peak '
          f'{peak / 1e9:.0f} GFLOP/s)\n')
    print(table(result['modules'], [('part', lambda r: f'{part_name(r)} ({r["kind"]})'), ('ms', lambda r: f'{r["ms"]:.2f}'),
                                    ('share of the sum', lambda r: f'{r["share"]:.0%}'), ('GFLOP', lambda r: f'{r["gflops"]:.3f}'),
                                    ('GFLOP/s', lambda r: f'{r["gflops_per_s"]:.0f}')]))

    result['optimizer'] = optimizer_rows(device)
    print(f'\n### Adam step on tiny G ({result["optimizer"][0]["g_parameters"] / 1e6:.2f} M parameters)\n')
    print(table(result['optimizer'], [('implementation', lambda r: r['adam']), ('ms per step', lambda r: f'{r["ms"]:.2f}')]))

    if device.type == 'cuda':
        part(argparse.Namespace(**{**vars(a), 'only': 'cuda'}), device, result, out)
    else:
        result['cuda'] = 'skipped: no CUDA device on this machine'
        print(f'\n### CUDA\n\n{result["cuda"]}')
    (out / 'speed.json').write_text(json.dumps(result, indent=1))
    print(f'\nwrote {out / "speed.json"}')
    return result


def compare(a, result, out):
    "`--compare-with DIR`: the tiny rows of DIR's package and of this one, alternately, in fresh processes."
    before, now = Path(a.compare_with).resolve(), Path(__file__).resolve().parents[1]
    if a.rounds < 1: raise SystemExit(f'--rounds {a.rounds}: give at least 1 (5 or more to see past the drift between runs).')
    if a.only != 'all' or a.quick:
        raise SystemExit('--compare-with runs the tiny training rows and parts only: drop --only and --quick.')
    if not (before / 'gansformer_nb' / '__init__.py').is_file():
        raise SystemExit(f'--compare-with {a.compare_with}: no gansformer_nb package there; give a checkout of the '
                         f'repository, e.g. `git worktree add /tmp/before be6d1e0`.')
    def label(root):
        try: return subprocess.run(['git', '-C', str(root), 'rev-parse', '--short', 'HEAD'], capture_output=True,
                                   text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError): return str(root)
    def changed(root):
        try: return bool(subprocess.run(['git', '-C', str(root), 'status', '--porcelain', '--', 'gansformer_nb'],
                                        capture_output=True, text=True, check=True).stdout.strip())
        except (OSError, subprocess.CalledProcessError): return False
    runs = {'before': [], 'now': []}
    for r in range(a.rounds):
        for name, root in ((('before', before), ('now', now)) if r % 2 == 0 else (('now', now), ('before', before))):
            with tempfile.TemporaryDirectory() as tmp:
                env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(root), os.environ.get('PYTHONPATH', '')]).rstrip(os.pathsep)}
                cmd = [sys.executable, __file__, '--only', 'tiny-rows', '--out', tmp, '--device', a.device]
                if a.threads: cmd += ['--threads', str(a.threads)]
                done = subprocess.run(cmd, env=env, capture_output=True, text=True)
                if done.returncode: raise SystemExit(f'the {name} run ({root}) failed:\n{done.stderr[-3000:]}')
                run = json.loads((Path(tmp) / 'speed_tiny_rows.json').read_text())
            if Path(run['package']).resolve() != (root / 'gansformer_nb').resolve():
                raise SystemExit(f'the {name} run imported {run["package"]}, not {root}/gansformer_nb')
            runs[name].append(run)
            rows = {t['phase']: t for t in run['training']}
            whole_g = next(m['ms'] for m in run['modules'] if m['part'] == WHOLE_G)
            print(f'round {r + 1}, {name}: ' + ', '.join(f'{ph} {t["images_per_s"]:.1f} images/s, MFU {t["mfu"]:.0%}'
                                                          for ph, t in rows.items()) + f'; G forward + backward {whole_g:.1f} ms', flush=True)
    med = statistics.median
    names = {'before': label(before) + (' + uncommitted changes' if changed(before) else ''),
             'now': label(now) + (' + uncommitted changes' if changed(now) else '')}
    table_rows = []
    for phase in ('adversarial', 'warm-up'):
        for name, root in (('before', before), ('now', now)):
            ts = [t for run in runs[name] for t in run['training'] if t['phase'] == phase]
            table_rows.append(dict(generator=f'{name} ({names[name]})', phase=phase, images_per_s=med([t['images_per_s'] for t in ts]),
                                   gflops=ts[0]['gflops_per_step'], achieved=med([t['achieved_gflops'] for t in ts]),
                                   mfu=med([t['mfu'] for t in ts]), mfu_lo=min(t['mfu'] for t in ts), mfu_hi=max(t['mfu'] for t in ts)))
        b, n = table_rows[-2], table_rows[-1]
        n['ratio'] = n['achieved'] / b['achieved']
    part_rows = {}                                               # part -> {package: [(ms, GFLOP), ...]}
    for name in ('now', 'before'):                               # this package's order; the summary rows last
        for run in runs[name]:
            for r in run['modules']: part_rows.setdefault(r['part'], {}).setdefault(name, []).append((r['ms'], r['gflops']))
    def cell(ms_gf):
        if not ms_gf: return '–'
        ms = med([m for m, _ in ms_gf]); return f'{ms:.1f} ms, {ms_gf[0][1]:.3f} GFLOP, {ms_gf[0][1] / ms * 1e3:.0f} GFLOP/s'
    order = [p for p in part_rows if p not in (SUM_OF_PARTS, WHOLE_G)] + [SUM_OF_PARTS, WHOLE_G]
    parts_table = [dict(part=p, now=cell(part_rows[p].get('now')), before=cell(part_rows[p].get('before'))) for p in order]
    result['compare'] = dict(before=str(before), rounds=a.rounds, rows=table_rows, parts=parts_table,
                             peaks={k: [run['matmul_fp32_gflops'] for run in v] for k, v in runs.items()})
    print(f'\n### `tiny` training step, {a.rounds} alternating rounds (medians; MFU range over rounds)\n')
    print(table(table_rows, [('generator', lambda r: r['generator']), ('step', lambda r: r['phase']),
                             ('images/s', lambda r: f'{r["images_per_s"]:.1f}'), ('GFLOP per step', lambda r: f'{r["gflops"]:.2f}'),
                             ('achieved GFLOP/s', lambda r: f'{r["achieved"]:.1f}'),
                             ('MFU (range)', lambda r: f'{r["mfu"]:.0%} ({r["mfu_lo"]:.0%}–{r["mfu_hi"]:.0%})'),
                             ('achieved FLOP/s, now ÷ before', lambda r: f'{r["ratio"]:.2f}×' if 'ratio' in r else '')]))
    print(f'\n### `tiny`\'s G part by part, forward + backward of each part alone (medians of the same rounds)\n')
    print(table(parts_table, [('part', part_name),
                              (f'now ({names["now"]})', lambda r: r['now']), (f'before ({names["before"]})', lambda r: r['before'])]))
    (out / 'speed_compare.json').write_text(json.dumps(result, indent=1))
    print(f'\nwrote {out / "speed_compare.json"}')
    return result


def part(a, device, result, out):
    "`--only cuda`: the CUDA rows (on the CPU, their rehearsal), their own table and json."
    cuda = device.type == 'cuda'
    dtype = torch.bfloat16 if cuda else torch.float32
    peak = matmul_flops(device, n=8192 if cuda else 2048, dtype=dtype)
    result['matmul_peak_gflops'], result['matmul_peak_dtype'] = peak / 1e9, str(dtype).split('.')[-1]
    print(f'{result["matmul_peak_dtype"]} matmul: {peak / 1e9:,.0f} GFLOP/s (the MFU reference)\n', flush=True)
    result['cuda'] = cuda_rows(device, peak, a.compile_backend, a.quick)
    print(f'\n### {"CUDA" if cuda else "CPU rehearsal of the CUDA rows"}: precision, memory format, compilation (R1 in the step)\n')
    print(cuda_table(result['cuda']))
    (out / f'speed_{a.only}.json').write_text(json.dumps(result, indent=1))
    print(f'\nwrote {out / f"speed_{a.only}.json"}')
    return result


if __name__ == '__main__':
    main()

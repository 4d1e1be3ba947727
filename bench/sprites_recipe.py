"""The recipe search of lesson 01c's GANsformer on sprites: one run per change, each 20 CPU-minutes, in one table.

    python bench/sprites_recipe.py run --name baseline-s1 --seed 1                          # the preset as it is
    python bench/sprites_recipe.py run --name keys --set attention.centroids=false          # one change
    python bench/sprites_recipe.py run --name attention-off --attention-off                 # plain StyleGAN2 synthesis
    python bench/sprites_recipe.py table runs/recipe                                        # every run, one row each
    python bench/sprites_recipe.py curve runs/recipe/baseline-s1 --out docs/sprites_curve.png  # measures vs images seen
    python bench/sprites_recipe.py release runs/recipe/NAME --out checkpoints/sprites32.pt --figure docs/sprites_binding.png
    python bench/sprites_recipe.py targets checkpoints/sprites32.pt                         # a model against the targets

`run` trains `GANsformerConfig.preset('sprites')` with the `--set FIELD=VALUE` changes (JSON values; `attention.X`
sets one CentroidAttention option) for `--minutes` of wall clock on the CPU, then writes `report.json` beside the
checkpoints: lesson 01c's `binding_report` of G_ema (256 samples), the critic's mean margin over the last 500 steps,
and the steps and images seen. Give the machine to the run alone: its budget is wall time. Every 500-step checkpoint
is kept, so `curve` can measure them afterwards (the run itself spends nothing on it).

`--attention-off` is the ablation: the same synthesis with no attention layer and the global latent on (StyleGAN2's
modulated convolutions), its z as wide as the GANsformer's K·d. Redrawing "one part of z" then means one of K equal
slices of that z, the same share of z as one z_i of the GANsformer (`binding_report` does this when no layer attends).
"""
import argparse, json, shlex
from pathlib import Path
from gansformer_nb.gansformer import GANsformerConfig, binding_report, binding_summary
from gansformer_nb.gansformer_run import GANsformerRun, report_lines

TARGETS = dict(valid=0.8, count_tv=0.15, fg_ari=0.5, over_grid=0.15, locality=3.0, exactly_one=0.5)   # issue 36's
TARGET_ROW = (f"| target (20 min) | | | | ≥ {TARGETS['valid']:.0%} | ≤ {TARGETS['count_tv']} | ≥ max({TARGETS['fg_ari']}, grid + "
              f"{TARGETS['over_grid']}) | ≥ {TARGETS['locality']:g} | ≥ {TARGETS['exactly_one']:.0%} / — | — |")


def parse_sets(pairs):
    "['a=1', 'attention.centroids=false'] -> {'a': 1, 'attention': {'centroids': False}} (values as JSON, else text)."
    out = {}
    for pair in pairs:
        if '=' not in pair: raise SystemExit(f'--set {pair!r}: write FIELD=VALUE, e.g. --set latent_num=5')
        key, text = pair.split('=', 1)
        try: value = json.loads(text)
        except json.JSONDecodeError: value = text
        if key.startswith('attention.'): out.setdefault('attention', {})[key.split('.', 1)[1]] = value
        else: out[key] = value
    return out


def format_sets(sets):
    "{'attention': {'centroids': False}, 'latent_num': 5} -> 'attention.centroids=false latent_num=5' (as --set takes them)."
    flat = [(f'{k}.{kk}', vv) for k, v in sets.items() if isinstance(v, dict) for kk, vv in v.items()]
    flat += [(k, v) for k, v in sets.items() if not isinstance(v, dict)]
    return ' '.join(shlex.quote(f'{k}={json.dumps(v)}') for k, v in flat)


def recipe_config(sets, attention_off=False):
    "The sprites preset with `sets` applied (attention options merged into the preset's)."
    base = GANsformerConfig.preset('sprites')
    sets = dict(sets)
    if 'attention' in sets: sets['attention'] = {**base.attention, **sets['attention']}
    if attention_off:   # no layer attends (start past the image), the global latent modulates, z as wide as K·d
        sets = {**dict(style=True, latent_dim=base.latent_num * base.latent_dim, attention_start=2 * base.img_size,
                       attention_end=2 * base.img_size), **sets}
    return GANsformerConfig.preset('sprites', **sets)


def run(a):
    out = Path(a.out or f'runs/recipe/{a.name}')
    sets = parse_sets(a.set)
    config = recipe_config(sets, a.attention_off)
    r = GANsformerRun(config, out, a.seed, 'cpu', 'sprites', sample_interval=250, eval_interval=250, save_interval=500,
                      keep=a.keep)
    print(f'{a.name}: {sum(p.numel() for p in r.trainer.G.parameters()):,} G parameters; changes {sets}'
          + (' with attention off' if a.attention_off else ''), flush=True)
    r.fit(minutes=a.minutes, max_steps=a.max_steps)
    measure(out, a.name, sets, a.attention_off, a.minutes)


def measure(out, name, sets=None, attention_off=False, minutes=None):
    "Write `out/report.json` for the run in folder `out` (its newest checkpoint's G_ema, its metrics.jsonl) and print it."
    from gansformer_nb.checkpoints import latest_checkpoint
    from gansformer_nb.gansformer_run import load_gansformer, gansformer_generator_from_state
    path = latest_checkpoint(out)
    if path is None: raise SystemExit(f'{out} has no checkpoint: give the folder of a run.')
    state = load_gansformer(path)                                              # read once: its counters and its G_ema
    G = gansformer_generator_from_state(state)
    report = binding_report(G, samples=256, seed=state['seed'])
    records = [json.loads(l) for l in (Path(out) / 'metrics.jsonl').read_text().splitlines() if l.strip()]
    step = state['step']
    gaps = [x['D_gap'] for x in records if 'D_gap' in x and step - 500 < x['step'] <= step]
    report.update(name=name, sets=sets or {}, attention_off=attention_off, seed=state['seed'], minutes=minutes, step=step,
                  images=step * G.config.batch_size, D_gap=sum(gaps) / max(len(gaps), 1),
                  G_parameters=sum(p.numel() for p in G.parameters()))
    (Path(out) / 'report.json').write_text(json.dumps(report, indent=1))
    print(report_lines(report), flush=True)


def table(a):
    reports = sorted(Path(a.folder).glob('*/report.json'), key=lambda p: p.stat().st_mtime)
    if not reports: raise SystemExit(f'no */report.json under {a.folder}: run `bench/sprites_recipe.py run` first.')
    print('| run | change | seed | steps | valid | count TV | FG-ARI (grid) at | locality at | redraw: exactly one / none | D gap |')
    print('|---|---|---|---|---|---|---|---|---|---|')
    print(TARGET_ROW)
    for p in reports:
        r = json.loads(p.read_text()); s = binding_summary(r)
        change = format_sets(r.get('sets', {})) + (' attention off' if r.get('attention_off') else '')
        ari = f"{s['fg_ari']:.3f} ({s['grid']:.3f}) {s['ari_layer']}" if s['fg_ari'] is not None else '—'
        one = f"{s['exactly_one']:.0%} / {s['unchanged']:.0%}" if s['exactly_one'] is not None else '—'
        loc = f"{s['locality']:.2f} {s['locality_layer']}" if s['locality'] is not None else '—'
        print(f"| {r.get('name', p.parent.name)} | {change or 'none'} | {r.get('seed', '?')} | {r['step']:,} | {s['valid']:.0%} | "
              f"{s['count_tv']:.3f} | {ari} | {loc} | {one} | {r.get('D_gap', float('nan')):.2f} |")


def curve(a):
    "binding_summary of every kept checkpoint's G_ema against images seen: the numbers, and a figure."
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from gansformer_nb.gansformer_run import load_gansformer, gansformer_generator_from_state
    paths = sorted(Path(a.run, 'checkpoints').glob('step_*.pt'))
    if not paths: raise SystemExit(f'{a.run}/checkpoints has no step_*.pt: give the folder of a `run`.')
    rows = []
    for p in paths:
        state = load_gansformer(p)
        s = binding_summary(binding_report(gansformer_generator_from_state(state), samples=a.samples, seed=state['seed']))
        rows.append(dict(images=state['step'] * state['config']['batch_size'], step=state['step'], **s))
        ari = f"{s['fg_ari']:.3f} (grid {s['grid']:.3f}, {s['ari_layer']})" if s['fg_ari'] is not None else '— (no sample with ≥ 2 objects)'
        one = f"{s['exactly_one']:.0%}" if s['exactly_one'] is not None else '— (no valid sample)'
        loc = f"{s['locality']:.2f} ({s['locality_layer']})" if s['locality'] is not None else '— (no attending layer)'
        print(f"step {state['step']:>6,}: valid {s['valid']:.0%}, count TV {s['count_tv']:.3f}, FG-ARI {ari}, "
              f"locality {loc}, exactly one {one}", flush=True)
    Path(a.run, 'curve.json').write_text(json.dumps(rows, indent=1))
    x = [r['images'] / 1000 for r in rows]
    val = lambda key: [float('nan') if r[key] is None else r[key] for r in rows]   # not measured: a gap in the line
    fig, ax = plt.subplots(1, 3, figsize=(12, 3.2))
    ax[0].plot(x, [r['valid'] for r in rows], 'o-', label='valid share'); ax[0].plot(x, [r['count_tv'] for r in rows], 's-', label='count TV')
    ax[0].axhline(0.8, ls=':', c='C0'); ax[0].axhline(0.15, ls=':', c='C1'); ax[0].set_title('sample quality')
    ax[1].plot(x, val('fg_ari'), 'o', label='FG-ARI, best layer'); ax[1].plot(x, val('grid'), 'k_', ms=12, label='fixed grid, same samples')
    ax[1].plot(x, val('exactly_one'), 's', label='redraw: exactly one object'); ax[1].set_ylim(-0.05, 1.05)
    ax[1].set_title('binding (no point: nothing to score)')
    ax[2].plot(x, val('locality'), 'o-'); ax[2].axhline(3, ls=':', c='grey'); ax[2].set_title('locality, best layer (target 3)')
    for k in ax: k.set_xlabel('thousand images seen'); k.legend(fontsize=7) if k.get_legend_handles_labels()[0] else None
    fig.tight_layout(); fig.savefig(a.out, dpi=80)
    print(f'wrote {a.out} and {Path(a.run, "curve.json")}')


def release(a):
    "The bundled model: the newest checkpoint's G_ema with its measured report and how it was made; and its figure."
    import matplotlib; matplotlib.use('Agg')
    from gansformer_nb.checkpoints import latest_checkpoint
    from gansformer_nb.gansformer_run import load_gansformer, gansformer_generator_from_state, save_gansformer_release
    from gansformer_nb.inspect_attention import plot_scene_binding
    path = latest_checkpoint(a.run)
    if path is None: raise SystemExit(f'{a.run} has no checkpoint: give the folder of a `run`.')
    made_at = Path(a.run) / 'report.json'
    if not made_at.is_file(): raise SystemExit(f'{made_at} not found: run `bench/sprites_recipe.py measure {a.run} --name NAME` first.')
    made, state = json.loads(made_at.read_text()), load_gansformer(path)
    G = gansformer_generator_from_state(state)
    step, images = state['step'], state['step'] * state['config']['batch_size']
    if made['step'] == step: report = made                               # `measure` scored this very checkpoint
    else:
        print(f"{made_at} is of step {made['step']:,}, the newest checkpoint of step {step:,}: measuring it again")
        report = binding_report(G, samples=256, seed=made['seed'])
    sets = ' '.join(f'--set {shlex.quote(x)}' for x in shlex.split(format_sets(made['sets'])))
    off = ' --attention-off' if made.get('attention_off') else ''
    note = (f"bench/sprites_recipe.py run --name {made['name']} --seed {made['seed']} {sets}{off} ({made.get('minutes')} CPU-minutes): "
            f"step {step:,}, {images:,} images; then bench/sprites_recipe.py release {a.run}")
    size = save_gansformer_release(state, a.out, note=note, report=report)          # the dict read above
    print(f'wrote {a.out} ({size / 1e6:.2f} MB): {note}')
    print(report_lines(report))
    if a.figure and report['layers']:                                    # attention off: no latents to draw
        s = binding_summary(report)
        fig = plot_scene_binding(G, layer=s['ari_layer'])
        fig.savefig(a.figure, dpi=90); print(f'wrote {a.figure}')


def targets(a):
    "Measure a checkpoint or release and print each target of issue 36 beside its value."
    from gansformer_nb.gansformer_run import load_gansformer, gansformer_generator_from_state
    if not Path(a.checkpoint).is_file(): raise SystemExit(f'{a.checkpoint} not found: give a checkpoint or release, e.g. checkpoints/sprites32.pt')
    state = load_gansformer(a.checkpoint)
    s = binding_summary(binding_report(gansformer_generator_from_state(state), samples=256, seed=state['seed']))
    T = TARGETS
    bar = max(T['fg_ari'], s['grid'] + T['over_grid']) if s['grid'] is not None else T['fg_ari']
    rows = [('samples that parse as valid scenes', f"{s['valid']:.0%}", f"≥ {T['valid']:.0%}", s['valid'] >= T['valid']),
            ('object-count TV against the data', f"{s['count_tv']:.3f}", f"≤ {T['count_tv']}", s['count_tv'] <= T['count_tv'])]
    if s['fg_ari'] is not None:
        rows += [(f"FG-ARI at {s['ari_layer']} (fixed grid {s['grid']:.3f})", f"{s['fg_ari']:.3f}", f'≥ {bar:.2f}', s['fg_ari'] >= bar),
                 (f"locality at {s['locality_layer']}", f"{s['locality']:.2f}", f"≥ {T['locality']:g}", s['locality'] >= T['locality'])]
    if s['exactly_one'] is not None:
        rows += [('redrawing one z_i changes exactly one object', f"{s['exactly_one']:.0%}", f"≥ {T['exactly_one']:.0%}",
                  s['exactly_one'] >= T['exactly_one'])]
    print(f"{a.checkpoint}: step {state['step']:,}, {state['step'] * state['config']['batch_size']:,} images, seed {state['seed']}")
    print('| measure | value | target | met |\n|---|---|---|---|')
    for name, value, target, met in rows: print(f"| {name} | {value} | {target} | {'yes' if met else 'no'} |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='command', required=True)
    r = sub.add_parser('run', help='train one recipe and write its report.json')
    r.add_argument('--name', required=True); r.add_argument('--seed', type=int, default=0)
    r.add_argument('--set', action='append', default=[], metavar='FIELD=VALUE')
    r.add_argument('--attention-off', action='store_true')
    r.add_argument('--minutes', type=float, default=20.0); r.add_argument('--max-steps', type=int, default=None)
    r.add_argument('--out', default=None, help='the run folder [runs/recipe/NAME]')
    r.add_argument('--keep', type=int, default=100, help='checkpoints kept (every 500 steps) for `curve` [100]')
    t = sub.add_parser('table', help='one markdown row per run under a folder')
    t.add_argument('folder', nargs='?', default='runs/recipe')
    m = sub.add_parser('measure', help='(re)write report.json of a finished run folder, e.g. one from gansformer_nb_train')
    m.add_argument('run'); m.add_argument('--name', required=True); m.add_argument('--minutes', type=float, default=None)
    m.add_argument('--set', action='append', default=[], metavar='FIELD=VALUE', help='the changes it was trained with, for the table')
    m.add_argument('--attention-off', action='store_true', help='it was trained with attention off')
    rl = sub.add_parser('release', help='write the bundled model from a run (G_ema, its report, how it was made)')
    rl.add_argument('run'); rl.add_argument('--out', default='checkpoints/sprites32.pt')
    rl.add_argument('--figure', default=None, help='also write the samples / argmax / redraw figure here')
    tg = sub.add_parser('targets', help='measure a checkpoint or release and print it against the targets')
    tg.add_argument('checkpoint', nargs='?', default='checkpoints/sprites32.pt')
    c = sub.add_parser('curve', help='the binding measures of every kept checkpoint against images seen')
    c.add_argument('run'); c.add_argument('--out', default='docs/sprites_curve.png')
    c.add_argument('--samples', type=int, default=256)
    a = ap.parse_args(argv)
    if a.command == 'measure': measure(a.run, a.name, parse_sets(a.set), a.attention_off, a.minutes)
    else: dict(run=run, table=table, curve=curve, release=release, targets=targets)[a.command](a)


if __name__ == '__main__':
    main()

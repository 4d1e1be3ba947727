"""Run notebooks top to bottom and store them with their outputs (figures, tables, printed numbers).

    python tools/run_notebooks.py                 # every notebook in nbs/
    python tools/run_notebooks.py 02_generator    # some of them
    python tools/run_notebooks.py --check         # CI: every stored notebook is up to date and every lesson has a figure

Cells run as `nbdev_test` runs them (the same flags are skipped: `tst_flags` in settings.ini), in `nbs/`, with the
library of this checkout and fixed seeds (each notebook seeds itself). Each notebook records in its metadata
(`gansformer_nb.executed`) a hash of its code cells, of the library's sources and of the bundled checkpoints, so
`--check` can tell a stored output that no longer matches its code. Then `nbdev_clean` strips execution counts.
"""
import argparse, hashlib, os, re, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / 'nbs'
KEY = 'gansformer_nb'
LESSON = re.compile(r'^0\d[a-z]?_')                        # lessons 00-09 must show at least one figure


def skip_flags():
    "The flags `nbdev_test` skips by default (settings.ini's tst_flags)."
    for line in (ROOT / 'settings.ini').read_text().splitlines():
        if line.split('=')[0].strip() == 'tst_flags': return set(line.split('=', 1)[1].split())
    return set()


def directives(source):
    "The `#| word` directives at the top of a cell: {'export', 'slow', ...}."
    words = set()
    for line in source.splitlines():
        if not line.startswith('#|'): break
        words.update(w.rstrip(':') for w in line[2:].split()[:1])
    return words


def library_hash():
    "SHA-256 over the library's sources and the bundled checkpoints: what every output depends on besides its notebook."
    h = hashlib.sha256()
    for f in sorted((ROOT / 'gansformer_nb').glob('*.py')) + sorted((ROOT / 'checkpoints').glob('*.pt')):
        if f.name == '_modidx.py': continue
        h.update(f.name.encode()); h.update(f.read_bytes())
    return h.hexdigest()


def notebook_hash(nb, library):
    "SHA-256 over a notebook's code cells (in order) and the library hash."
    h = hashlib.sha256(library.encode())
    for cell in nb['cells']:
        if cell['cell_type'] == 'code': h.update(b'\0' + ''.join(cell['source']).encode())
    return h.hexdigest()


def has_figure(nb):
    return any('image/png' in o.get('data', {}) for c in nb['cells'] if c['cell_type'] == 'code' for o in c.get('outputs', []))


def compact_png(b64):
    "A figure's PNG (base64) as a 256-colour palette PNG when that is smaller: figures are flat colours and lines."
    import base64, io
    from PIL import Image
    raw = base64.b64decode(b64)
    image = Image.open(io.BytesIO(raw))
    buf = io.BytesIO()
    image.convert('RGB').quantize(256, method=Image.Quantize.MEDIANCUT).save(buf, 'png', optimize=True)
    return base64.b64encode(buf.getvalue()).decode() if buf.tell() < len(raw) else b64


def run(path, flags, library):
    "Execute `path` in place, as nbdev_test would, keeping the outputs. Returns seconds taken."
    from execnb.nbio import read_nb, write_nb
    from execnb.shell import CaptureShell
    nb = read_nb(path)
    def skip(cell):
        if cell.cell_type != 'code': return True
        if 'nbdev_export' + '(' in cell.source: return True
        return bool(flags & directives(cell.source))
    for cell in nb.cells:
        if cell.cell_type == 'code' and skip(cell): cell.outputs, cell.execution_count = [], None
    os.environ['IN_TEST'] = '1'
    start, cwd = time.time(), os.getcwd()
    shell = CaptureShell(path)
    try:
        os.chdir(path.parent)
        shell.run_all(nb, exc_stop=True, preproc=skip)
    except Exception:
        sys.stderr.write(shell.prettytb(fname=path) + '\n')
        raise SystemExit(f'{path.name} failed: fix it (nbdev_test --path {path}) and run this again; the stored notebook is unchanged.')
    finally:
        os.chdir(cwd)
    for cell in nb.cells:
        for output in cell.get('outputs', []):
            if 'image/png' in output.get('data', {}): output['data']['image/png'] = compact_png(output['data']['image/png'])
    nb.metadata[KEY] = dict(executed=notebook_hash(nb, library))
    write_nb(nb, path)
    return time.time() - start


def check(paths, library):
    "Problems of the stored notebooks: outputs older than their code, lessons without a figure."
    import json
    problems = []
    for p in paths:
        nb = json.loads(p.read_text())
        stored = nb.get('metadata', {}).get(KEY, {}).get('executed')
        if stored is None: problems.append(f'{p.name}: stored without outputs (never run by tools/run_notebooks.py)')
        elif stored != notebook_hash(nb, library): problems.append(f'{p.name}: outputs older than its code or the library')
        if LESSON.match(p.name) and not has_figure(nb): problems.append(f'{p.name}: a lesson without a figure in its outputs')
    return problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('names', nargs='*', help='notebook names (default: all of nbs/)')
    ap.add_argument('--check', action='store_true', help='only check the stored notebooks; exit 1 on a problem')
    a = ap.parse_args(argv)
    paths = sorted(NBS.glob('*.ipynb'))
    if a.names:
        wanted = {n.removesuffix('.ipynb') for n in a.names}
        unknown = wanted - {p.stem for p in paths}
        if unknown: ap.error(f'no notebook {", ".join(sorted(unknown))} in {NBS}')
        paths = [p for p in paths if p.stem in wanted]
    library = library_hash()
    if a.check:
        problems = check(paths, library)
        for line in problems: print(line)
        print(f'executed notebooks: {len(paths) - len({l.split(":")[0] for l in problems})} up to date, '
              f'{len({l.split(":")[0] for l in problems})} to re-run (python tools/run_notebooks.py NAME)')
        return 1 if problems else 0
    flags, total = skip_flags(), 0.0
    for p in paths:
        seconds = run(p, flags, library); total += seconds
        print(f'{p.name}: {seconds:.0f} s, {p.stat().st_size / 1e3:.0f} kB', flush=True)
    import subprocess
    subprocess.run(['nbdev_clean'], cwd=ROOT, check=True)
    print(f'{len(paths)} notebooks run in {total / 60:.1f} min; nbs/ holds {sum(p.stat().st_size for p in NBS.glob("*.ipynb")) / 1e6:.1f} MB')
    return 0


if __name__ == '__main__':
    sys.exit(main())

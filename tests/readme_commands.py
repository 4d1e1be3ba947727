"""Run every command of the README's bash blocks as a user would, from the repository root, each for a few steps.

    python tests/readme_commands.py            # CI runs it after the main command's smoke run

A command is run as written, with only these changes: training commands get `--max-steps 2 --workers 0` (their
`--minutes` stay: the step limit comes first; the unconditional GANsformer's get `--max-steps 2 --report-samples 16`,
and `bench/sprites_recipe.py run` gets `--max-steps 2`; its `targets` runs as written), outputs go to a temporary folder instead of the repository, and the
evaluation scores 8 images without FID (whose weights are downloaded, and CI has no network). A command that needs
what a fresh clone does not have (a GPU, `dataset/celeba_hq_256`, a run of 5,000 steps) must fail with one clear
line naming it, exit status 2; the install commands and `jupyter lab` are run by CI's other steps. Each command's
outcome is printed; the exit status is 1 if any command did not do what it should.
"""
import re, shlex, shutil, subprocess, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = (ROOT.parent / 'shared').is_dir()


def readme_commands():
    "The commands of the README's ```bash blocks, continuation lines joined and comments dropped."
    text = (ROOT / 'README.md').read_text()
    commands = []
    for block in re.findall(r'```bash\n(.*?)```', text, re.S):
        for line in block.replace('\\\n', ' ').splitlines():
            line = line.split('  #')[0].strip()
            if line: commands.append(line)
    return commands


def plan(command, tmp):
    "(argv to run or None, what it must do: 'ok' or ('error', words), why skipped or changed)."
    argv = shlex.split(command)
    tool = argv[0]
    if tool in ('pip', 'jupyter'): return None, None, 'run by CI\'s install and browser steps'
    if tool == 'torchrun': return None, None, 'needs 4 GPUs (appendix 92 runs torchrun with 2 CPU processes)'
    if tool == 'gansformer_nb_train':
        if '--preset' in argv and argv[argv.index('--preset') + 1].startswith('sprites'):   # the unconditional GANsformer
            return argv + ['--max-steps', '2', '--report-samples', '16', '--out-dir', str(tmp / 'run')], 'ok', 'two steps'
        if '--resume' in argv:
            return argv, ('error', ['checkpoint not found']), 'a fresh clone has no 5,000-step run to resume'
        if 'dataset/celeba_hq_256' in argv:
            if (ROOT / 'dataset/celeba_hq_256').is_dir(): return None, None, 'this checkout has dataset/: a GPU run, not for CI'
            return argv + ['--max-steps', '2', '--out-dir', str(tmp / 'run')], ('error', ['does not exist', '--data-root']), \
                'a fresh clone has no dataset/'
        if '../shared/data/celebahq256' in argv and not SHARED: return None, None, 'no ../shared beside the repository'
        return argv + ['--max-steps', '2', '--workers', '0', '--out-dir', str(tmp / 'run')], 'ok', 'two steps'
    if tool in ('gansformer_nb_inpaint', 'gansformer_nb_eval'):
        if not SHARED: return None, None, 'no ../shared beside the repository'
        flag = '--out'
        argv[argv.index(flag) + 1] = str(tmp / ('filled.png' if tool == 'gansformer_nb_inpaint' else 'eval'))
        if tool == 'gansformer_nb_eval': argv += ['--max-images', '8', '--no-fid']
        return argv, 'ok', 'output in a temporary folder' + (', 8 images, no FID' if tool == 'gansformer_nb_eval' else '')
    if tool == 'python' and argv[1:2] == ['bench/sprites_recipe.py']:
        if argv[2] == 'targets': return [sys.executable] + argv[1:], 'ok', 'measures the bundled model'
        if argv[2] == 'run': return [sys.executable] + argv[1:] + ['--max-steps', '2', '--out', str(tmp / 'run')], 'ok', 'two steps'
    raise SystemExit(f'tests/readme_commands.py does not know how to run {command!r}: teach plan() about it.')


def main():
    failures = 0
    for command in readme_commands():
        tmp = Path(tempfile.mkdtemp())
        try:
            argv, expect, note = plan(command, tmp)
            short = command if len(command) < 90 else command[:87] + '...'
            if argv is None:
                print(f'skipped  {short}  ({note})'); continue
            r = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600)
            err_lines = [l for l in r.stderr.strip().splitlines() if l.startswith(argv[0] + ':')]
            if expect == 'ok': good = r.returncode == 0
            else: good = r.returncode == 2 and len(err_lines) == 1 and all(w in err_lines[0] for w in expect[1])
            print(f'{"ok" if good else "FAILED":8s} {short}  ({note}; exit {r.returncode})')
            if not good:
                failures += 1
                print('    ' + '\n    '.join((r.stdout + r.stderr).strip().splitlines()[-8:]))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f'README commands: {failures} failed')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())

"""Browser check of the attention inspector: JupyterLab + headless Chromium (Debian's) driven by Playwright.

    python tests/browser/check_inspector.py --out .ci/artifacts/browser [--no-kernelspec]

Starts JupyterLab on 127.0.0.1 with a random token and Jupyter state of its own (config, data, runtime, settings and
workspace folders in a temporary directory: nothing in $HOME is read or written), waits until the server lists the
Python kernel, opens a copy of nbs/07_inspect.ipynb (its inspector is on the bundled sprites GANsformer), runs all cells, and checks that the *kernel* ran every code cell
(each shows an execution count). A "Select Kernel" dialog is answered with the Python kernel whenever it appears, at
any point of the check; `--no-kernelspec` opens a copy without kernelspec metadata, which always gets that dialog.
Then: no output holds a traceback; the inspector's sliders and dropdowns rendered; moving the latent slider with the
keyboard and choosing another block each change the attention image within a few seconds (the time is printed).
Screenshots are written to --out. Exits non-zero with the reason when a check fails.
"""
import argparse, json, os, secrets, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--disable-sync', '--no-first-run', '--disable-quic']


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


NOTEBOOK = 'nbs/07_inspect.ipynb'


def jupyter_state(root):
    "Environment variables that give JupyterLab its own config, data, runtime, settings and workspace folders."
    state = {name: root / 'jupyter' / sub for name, sub in (
        ('JUPYTER_CONFIG_DIR', 'config'), ('JUPYTER_DATA_DIR', 'data'), ('JUPYTER_RUNTIME_DIR', 'runtime'),
        ('JUPYTERLAB_SETTINGS_DIR', 'settings'), ('JUPYTERLAB_WORKSPACES_DIR', 'workspaces'), ('IPYTHONDIR', 'ipython'))}
    for folder in state.values(): folder.mkdir(parents=True, exist_ok=True)
    # every cell attached to the page, so that every execution count can be read; no news or update toasts
    settings = state['JUPYTERLAB_SETTINGS_DIR'] / '@jupyterlab'
    (settings / 'notebook-extension').mkdir(parents=True, exist_ok=True)
    (settings / 'notebook-extension/tracker.jupyterlab-settings').write_text(json.dumps({'windowingMode': 'none'}))
    (settings / 'apputils-extension').mkdir(parents=True, exist_ok=True)
    (settings / 'apputils-extension/notification.jupyterlab-settings').write_text(
        json.dumps({'fetchNews': 'false', 'checkForUpdates': False}))
    return {k: str(v) for k, v in state.items()}


def code_cell_count(path):
    return sum(c['cell_type'] == 'code' for c in json.loads(Path(path).read_text())['cells'])


def start_lab(port, token, log, root, strip_kernelspec=False):
    "JupyterLab serving a copy of the notebook in `root` (autosave never touches the repository)."
    (root / 'nbs').mkdir(parents=True, exist_ok=True)
    nb = json.loads((ROOT / NOTEBOOK).read_text())
    if strip_kernelspec: nb['metadata'].pop('kernelspec', None)
    (root / NOTEBOOK).write_text(json.dumps(nb))
    env = {**os.environ, **jupyter_state(root)}
    shared = next((p for p in [os.environ.get('GANSFORMER_NB_SHARED'), ROOT.parent / 'shared'] if p and Path(p).is_dir()), None)
    if shared: env['GANSFORMER_NB_SHARED'] = str(Path(shared).resolve())
    cmd = [sys.executable, '-m', 'jupyterlab', '--no-browser', '--ip=127.0.0.1', f'--port={port}',
           f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={root}', '--ServerApp.disable_check_xsrf=True',
           '--LabApp.news_url=', '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate',
           '--LabApp.expose_app_in_browser=True']                # window.jupyterapp: the kernel and cells, read directly
    if os.geteuid() == 0: cmd.append('--allow-root')
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    deadline = time.time() + 90
    while time.time() < deadline:                         # ready = the server answers and lists the Python kernel
        try:
            with urllib.request.urlopen(f'http://127.0.0.1:{port}/api/kernelspecs?token={token}', timeout=2) as r:
                specs = json.load(r)
            if 'python3' in specs.get('kernelspecs', {}): return proc
        except Exception:
            if proc.poll() is not None: raise SystemExit(f'JupyterLab exited early (see {log.name})')
        time.sleep(0.5)
    raise SystemExit('JupyterLab did not list the python3 kernel within 90 s')


def fail(msg):
    print(f'browser check FAILED: {msg}'); sys.exit(1)


DIALOGS_ANSWERED = []


def answer_kernel_dialog(page):
    "If a 'Select Kernel' dialog is open, choose the Python kernel and accept. Returns True when one was answered."
    dialog = page.locator('.jp-Dialog:has(.jp-Dialog-header:has-text("Kernel"))')
    if not dialog.count(): return False
    select = dialog.locator('select')
    if select.count():
        options = select.first.locator('option')
        values = [options.nth(i).get_attribute('value') or '' for i in range(options.count())]
        python = [v for v in values if '"python3"' in v]
        if not python: return False                        # the kernel list is not in the page yet: answer later
        select.first.select_option(python[0])
    dialog.locator('button.jp-mod-accept').first.click(timeout=5000)
    DIALOGS_ANSWERED.append(time.time())
    print('answered a "Select Kernel" dialog with the Python kernel')
    return True


def wait_until(page, js, timeout, what):
    "Poll the page for `js` to be true, answering kernel dialogs meanwhile; fail with `what` after `timeout` s."
    t0 = time.time()
    while time.time() - t0 < timeout:
        answer_kernel_dialog(page)
        if page.evaluate(js): return time.time() - t0
        time.sleep(0.25)
    fail(f'{what} (waited {timeout} s)')


def attention_src(page):
    "The src of the inspector's third pane (the attention overlay)."
    return page.evaluate("""() => { const labels = [...document.querySelectorAll('.widget-html-content b')]
        .filter(b => b.textContent === 'attention');
        if (!labels.length) return null;
        const img = labels[labels.length - 1].closest('.widget-vbox').querySelector('img');
        return img ? img.src : null; }""")


def settle(page, quiet=1.0, timeout=10):
    "The attention image once it has stayed the same for `quiet` seconds; fails if it never settles."
    t0, src = time.time(), attention_src(page)
    while time.time() - t0 < timeout:
        if wait_change(page, src, timeout=quiet) is None: return src
        src = attention_src(page)
    fail(f'the attention image kept changing for {timeout} s without any input')


def wait_change(page, before, timeout=10):
    t0 = time.time()
    while time.time() - t0 < timeout:
        answer_kernel_dialog(page)
        now = attention_src(page)
        if now and now != before: return time.time() - t0
        time.sleep(0.05)
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default=str(ROOT / '.ci/artifacts/browser'))
    ap.add_argument('--chromium', default='/usr/bin/chromium')
    ap.add_argument('--no-kernelspec', action='store_true', help='open a copy of the notebook without kernelspec metadata')
    a = ap.parse_args()
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    if not Path(a.chromium).exists(): fail(f'{a.chromium} not found: apt-get install -y chromium')
    from playwright.sync_api import sync_playwright
    port, token = free_port(), secrets.token_hex(16)
    log = open(out / 'jupyterlab.log', 'w')
    root = Path(tempfile.mkdtemp(prefix='inspector_check_'))
    lab = start_lab(port, token, log, root, a.no_kernelspec)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=a.chromium, args=FLAGS, headless=True)
            page = browser.new_page(viewport={'width': 1500, 'height': 1100})
            try: check(page, port, token, out, code_cell_count(root / NOTEBOOK))
            except BaseException:
                page.screenshot(path=str(out / 'failure.png')); raise
            browser.close()
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        try: lab.wait(timeout=20)
        except subprocess.TimeoutExpired: os.killpg(lab.pid, signal.SIGKILL)
        log.close()
        shutil.rmtree(root, ignore_errors=True)
    print(f'browser check passed ({"copy without kernelspec, " if a.no_kernelspec else ""}'
          f'{len(DIALOGS_ANSWERED)} kernel dialog(s) answered); screenshots in {out}')


PANEL = "jupyterapp.shell.currentWidget"
SESSION_READY = f"""() => {{ const p = window.jupyterapp && {PANEL}; const k = p && p.sessionContext && p.sessionContext.session
    && p.sessionContext.session.kernel; return !!k && k.name === 'python3' && k.connectionStatus === 'connected'
    && k.status === 'idle'; }}"""
EXECUTION_COUNTS = f"""() => {{ const cells = {PANEL}.content.model.cells; const n = [];
    for (let i = 0; i < cells.length; i++) if (cells.get(i).type === 'code') n.push(cells.get(i).executionCount);
    return n; }}"""


def check(page, port, token, out, n_code):
    "Open the notebook, run it, and check the inspector's rendering and interactivity."
    page.goto(f'http://127.0.0.1:{port}/lab/tree/{NOTEBOOK}?token={token}', timeout=60_000)
    # a Python kernel connected and idle (any "Select Kernel" dialog answered meanwhile) before anything runs
    wait_until(page, SESSION_READY, 120, 'the notebook got no idle Python kernel')
    page.screenshot(path=str(out / 'kernel_ready.png'))
    t0 = time.time()
    page.evaluate("() => jupyterapp.commands.execute('notebook:run-all-cells')")
    # the kernel ran every cell: each code cell has the execution count the kernel gave it, and the kernel is idle
    wait_until(page, f"() => {{ const n = ({EXECUTION_COUNTS})(); return n.length === {n_code} && n.every(x => x) }}",
               240, 'not every code cell got an execution count from the kernel')
    wait_until(page, SESSION_READY, 60, 'the kernel did not become idle after running the cells')
    counts = page.evaluate(EXECUTION_COUNTS)
    if counts != list(range(counts[0], counts[0] + n_code)):
        fail(f'execution counts {counts} are not one run of all {n_code} code cells in order')
    print(f'all {n_code} code cells ran in the kernel (execution counts {counts[0]}–{counts[-1]}) in {time.time() - t0:.1f} s')
    errors = page.evaluate("""() => [...document.querySelectorAll('.jp-OutputArea-output')]
        .map(e => e.innerText).filter(t => t.includes('Traceback') || /^\\w+Error: /m.test(t) && t.includes('---'))""")
    if errors: fail('a cell output holds a traceback:\n' + errors[0][:2000])
    sliders = page.locator('.widget-slider').count()
    dropdowns = page.locator('.widget-dropdown select').count()
    print(f'rendered controls: {sliders} sliders, {dropdowns} dropdowns')
    if sliders < 4 or dropdowns < 3: fail('the inspector controls did not render')   # latent, opacity, x, y; block, head, resample
    widget = page.locator('.widget-vbox:has(.widget-html-content b:text-is("attention"))').last
    widget.scroll_into_view_if_needed()
    page.screenshot(path=str(out / 'inspector_before.png'), full_page=False)
    before = settle(page)                                        # the picture must be at rest before we act
    if not before: fail('the attention pane has no image')
    slider = page.locator('.widget-slider:has(.widget-label:text-is("latent"))').last
    readout = lambda: slider.locator('.widget-readout').inner_text()
    value_before = readout()
    slider.locator('.noUi-handle').focus()
    t_action = time.time()
    page.keyboard.press('ArrowRight'); page.keyboard.press('ArrowRight')
    changed = wait_change(page, before)
    dt_latent = None if changed is None else time.time() - t_action          # from the key press to the new picture
    if dt_latent is None: fail('moving the latent slider did not change the attention image within 10 s')
    if readout() == value_before: fail('the latent slider did not move')
    print(f'latent slider moved from {value_before} to {readout()}')
    page.screenshot(path=str(out / 'inspector_latent.png'))
    before = settle(page)
    select = page.locator('.widget-dropdown:has(.widget-label:text-is("block")) select').last
    options = select.locator('option').all_inner_texts()
    current = select.input_value()
    t_action = time.time()
    select.select_option([o for o in options if o != current][0])
    changed = wait_change(page, before)
    dt_block = None if changed is None else time.time() - t_action
    if dt_block is None: fail('choosing another block did not change the attention image within 10 s')
    page.screenshot(path=str(out / 'inspector_after.png'))
    page.locator('.widget-hbox:has(.widget-label:text-is("z seed")):has(b:text-is("attention"))').last.screenshot(
        path=str(out / 'inspector_widget.png'))                                      # the whole inspector, for the README
    print(f'redraw in the browser: latent slider {dt_latent:.2f} s, block dropdown {dt_block:.2f} s')


if __name__ == '__main__':
    main()

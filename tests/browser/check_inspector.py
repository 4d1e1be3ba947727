"""Browser check of the attention inspector: JupyterLab + headless Chromium (Debian's) driven by Playwright.

    python tests/browser/check_inspector.py --out .ci/artifacts/browser

Starts JupyterLab on 127.0.0.1 with a random token, opens nbs/08_inspect.ipynb, runs all cells, waits for the kernel,
then checks: no output holds a traceback; the inspector's sliders and dropdowns rendered; moving the latent slider with
the keyboard and choosing another block each change the attention image within a few seconds (the time is printed).
Screenshots before and after are written to --out. Exits non-zero with the reason when a check fails.
"""
import argparse, os, secrets, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--disable-sync', '--no-first-run', '--disable-quic']


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def start_lab(port, token, log, root):
    "JupyterLab serving a copy of the notebook in `root` (autosave never touches the repository)."
    (root / 'nbs').mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / 'nbs/08_inspect.ipynb', root / 'nbs/08_inspect.ipynb')
    env = dict(os.environ)
    shared = next((p for p in [os.environ.get('GANSFORMER_NB_SHARED'), ROOT.parent / 'shared'] if p and Path(p).is_dir()), None)
    if shared: env['GANSFORMER_NB_SHARED'] = str(Path(shared).resolve())
    cmd = [sys.executable, '-m', 'jupyterlab', '--no-browser', '--ip=127.0.0.1', f'--port={port}',
           f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={root}', '--ServerApp.disable_check_xsrf=True',
           '--LabApp.news_url=', '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate']
    if os.geteuid() == 0: cmd.append('--allow-root')
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f'http://127.0.0.1:{port}/api/status?token={token}', timeout=2); return proc
        except Exception:
            if proc.poll() is not None: raise SystemExit(f'JupyterLab exited early (see {log.name})')
            time.sleep(0.5)
    raise SystemExit('JupyterLab did not start within 90 s')


def fail(msg):
    print(f'browser check FAILED: {msg}'); sys.exit(1)


def attention_src(page):
    "The src of the inspector's third pane (the attention overlay)."
    return page.evaluate("""() => { const labels = [...document.querySelectorAll('.widget-html-content b')]
        .filter(b => b.textContent === 'attention');
        if (!labels.length) return null;
        const img = labels[labels.length - 1].closest('.widget-vbox').querySelector('img');
        return img ? img.src : null; }""")


def run_all(page):
    "Run > Run All Cells from the menu bar; the command palette if the menu is not found."
    try:
        page.get_by_role('menuitem', name='Run', exact=True).first.click(timeout=10_000)
        page.get_by_role('menuitem', name='Run All Cells').first.click(timeout=10_000)
    except Exception:
        page.keyboard.press('Control+Shift+C')
        page.keyboard.type('Run All Cells'); page.keyboard.press('Enter')


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
        now = attention_src(page)
        if now and now != before: return time.time() - t0
        time.sleep(0.05)
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default=str(ROOT / '.ci/artifacts/browser'))
    ap.add_argument('--chromium', default='/usr/bin/chromium')
    a = ap.parse_args()
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    if not Path(a.chromium).exists(): fail(f'{a.chromium} not found: apt-get install -y chromium')
    from playwright.sync_api import sync_playwright
    port, token = free_port(), secrets.token_hex(16)
    log = open(out / 'jupyterlab.log', 'w')
    lab = start_lab(port, token, log, Path(tempfile.mkdtemp(prefix='inspector_check_')))
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=a.chromium, args=FLAGS, headless=True)
            page = browser.new_page(viewport={'width': 1500, 'height': 1100})
            try: check(page, port, token, out)
            except BaseException:
                page.screenshot(path=str(out / 'failure.png')); raise
            browser.close()
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        try: lab.wait(timeout=20)
        except subprocess.TimeoutExpired: os.killpg(lab.pid, signal.SIGKILL)
        log.close()
    print(f'browser check passed; screenshots in {out}')


def check(page, port, token, out):
    "Open the notebook, run it, and check the inspector's rendering and interactivity."
    page.goto(f'http://127.0.0.1:{port}/lab/tree/nbs/08_inspect.ipynb?token={token}', timeout=60_000)
    page.wait_for_selector('.jp-Notebook', timeout=60_000)
    page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=60_000)
    try: page.get_by_role('button', name='No', exact=True).click(timeout=3000)    # the "Jupyter news?" toast
    except Exception: pass
    t0 = time.time()
    run_all(page)
    time.sleep(2)
    page.wait_for_function("""() => { const p = [...document.querySelectorAll('.jp-InputArea-prompt')];
        return p.length && !p.some(e => e.textContent.includes('*')); }""", timeout=240_000)
    page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=60_000)
    print(f'all cells ran in {time.time() - t0:.1f} s')
    errors = page.evaluate("""() => [...document.querySelectorAll('.jp-OutputArea-output')]
        .map(e => e.innerText).filter(t => t.includes('Traceback') || /^\\w+Error: /m.test(t) && t.includes('---'))""")
    if errors: fail('a cell output holds a traceback:\n' + errors[0][:2000])
    sliders = page.locator('.widget-slider').count()
    dropdowns = page.locator('.widget-dropdown select').count()
    print(f'rendered controls: {sliders} sliders, {dropdowns} dropdowns')
    if sliders < 5 or dropdowns < 3: fail('the inspector controls did not render')
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
    page.locator('.widget-hbox:has(.widget-label:text-is("sample")):has(b:text-is("masked input"))').last.screenshot(
        path=str(out / 'inspector_widget.png'))                                      # the whole inspector, for the README
    print(f'redraw in the browser: latent slider {dt_latent:.2f} s, block dropdown {dt_block:.2f} s')


if __name__ == '__main__':
    main()

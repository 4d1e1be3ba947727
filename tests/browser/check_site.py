"""Browser check of the built course site: headless Chromium (Debian's) driven by Playwright, over file:// (no server).

    python tools/build_site.py --out _site && python tests/browser/check_site.py --site _site

Opens every page listed in <site>/pages.json and checks, once the page has loaded: every image decoded (a natural
width > 0); every lesson (00-09) shows at least one figure; every page whose notebook has equations shows them as
rendered MathML (each <math> element laid out with a width > 0), with no raw `$$` or `\\frac` left in the text
outside code; the navigation bar links to every page. Exits non-zero with the page and the reason on the first
failure; prints one line per page otherwise.
"""
import argparse, json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--disable-sync', '--no-first-run']
LESSON = re.compile(r'^0\d_')


def fail(msg):
    print(f'site check FAILED: {msg}'); sys.exit(1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--site', default=str(ROOT / '_site'))
    ap.add_argument('--chromium', default='/usr/bin/chromium')
    a = ap.parse_args(argv)
    site = Path(a.site).resolve()
    if not (site / 'pages.json').exists(): fail(f'{site}/pages.json not found: run python tools/build_site.py --out {site}')
    if not Path(a.chromium).exists(): fail(f'{a.chromium} not found: apt-get install -y chromium')
    pages = json.loads((site / 'pages.json').read_text())
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=a.chromium, args=FLAGS, headless=True)
        page = browser.new_page(viewport={'width': 1200, 'height': 900})
        for name in pages:
            page.goto((site / name).as_uri(), wait_until='load')
            page.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=30_000)
            r = page.evaluate("""() => {
                const imgs = [...document.images];
                const maths = [...document.querySelectorAll('math')];
                const prose = [...document.querySelectorAll('.jp-MarkdownOutput')].map(e => {
                    const c = e.cloneNode(true); c.querySelectorAll('code, pre, math').forEach(x => x.remove());
                    return c.innerText; }).join('\\n');
                return {images: imgs.length, broken: imgs.filter(i => !(i.naturalWidth > 0)).length,
                        maths: maths.length, unrendered: maths.filter(m => !(m.getBoundingClientRect().width > 0)).length,
                        raw: (prose.match(/\\$\\$|\\\\frac|\\\\mathrm/g) || []).length,
                        links: [...document.querySelectorAll('nav.course a')].map(x => x.getAttribute('href'))};
            }""")
            stem = name.removesuffix('.html')
            source = (ROOT / 'nbs' / f'{stem}.ipynb')
            has_math = source.exists() and any(c['cell_type'] == 'markdown' and '$' in ''.join(c['source']).replace('`$', '')
                                               for c in json.loads(source.read_text())['cells'])
            if r['broken']: fail(f'{name}: {r["broken"]} of {r["images"]} images did not load')
            if LESSON.match(stem) and r['images'] == 0: fail(f'{name}: a lesson without a figure')
            if has_math and r['maths'] == 0: fail(f'{name}: the notebook has equations but the page shows none')
            if r['unrendered']: fail(f'{name}: {r["unrendered"]} of {r["maths"]} equations not laid out (MathML not rendered)')
            if r['raw']: fail(f'{name}: {r["raw"]} pieces of raw LaTeX left in the text')
            if not set(pages) <= set(r['links']): fail(f'{name}: the navigation misses {sorted(set(pages) - set(r["links"]))}')
            print(f'{name:28s} {r["images"]:3d} figures, {r["maths"]:4d} equations: ok')
        browser.close()
    print(f'site check passed: {len(pages)} pages')
    return 0


if __name__ == '__main__':
    sys.exit(main())

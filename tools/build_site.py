"""Build the course as a static site from the stored (executed) notebooks: one HTML page per notebook, offline.

    python tools/build_site.py                  # writes _site/ (index.html first, then lessons and appendices)
    python tools/build_site.py --out DIR

Each page is nbconvert's HTML export of a notebook with its outputs (figures are embedded PNGs). Equations are turned
into MathML by `latex2mathml` before export, so they render in any current browser without MathJax or a network;
`$` inside code stays as it is. Every page gets the same navigation bar (the course map, previous and next). A formula
that cannot be converted stops the build with its page and source, rather than shipping a page with raw LaTeX.
Check the result in a browser with `python tests/browser/check_site.py`.
"""
import argparse, html, json, re, shutil, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / 'nbs'
CODE = re.compile(r'(```.*?```|`[^`\n]*`)', re.S)                   # fenced blocks and inline code: left alone
MATH = re.compile(r'\$\$(.+?)\$\$|(?<![\\$\w])\$(?!\s)([^$\n]+?)(?<!\s)\$(?![\w$])', re.S)
STYLE = """<style>
nav.course { position: sticky; top: 0; z-index: 10; background: #f6f8fa; border-bottom: 1px solid #d0d7de;
             padding: 6px 16px; font: 14px sans-serif; display: flex; gap: 14px; flex-wrap: wrap; }
nav.course a { color: #0969da; text-decoration: none; } nav.course a.here { font-weight: bold; color: #1f2328; }
math[display="block"] { margin: 0.6em 0; }
</style>"""


def page_name(path): return 'index.html' if path.stem == 'index' else path.stem + '.html'


def order(paths):
    "index first, then the lessons and appendices in their numbered order."
    return sorted(paths, key=lambda p: (p.stem != 'index', p.stem))


def to_mathml(markdown, where):
    "Markdown with every $…$ and $$…$$ outside code replaced by MathML."
    from latex2mathml.converter import convert
    def one(m):
        block, tex = m.group(1) is not None, (m.group(1) if m.group(1) is not None else m.group(2))
        try: return convert(tex.strip(), display='block' if block else 'inline')
        except Exception as e: raise SystemExit(f'{where}: cannot convert the formula {tex.strip()!r} to MathML ({e}); '
                                                f'rewrite it in the notebook with commands latex2mathml knows.')
    parts = CODE.split(markdown)
    return ''.join(p if i % 2 else MATH.sub(one, p) for i, p in enumerate(parts))


def title(nb, path):
    for cell in nb['cells']:
        if cell['cell_type'] == 'markdown':
            for line in ''.join(cell['source']).splitlines():
                if line.startswith('# '): return line[2:].strip()
    return path.stem


def build(out):
    import nbformat
    from nbconvert import HTMLExporter
    paths = order(NBS.glob('*.ipynb'))
    if not paths: raise SystemExit(f'no notebooks in {NBS}')
    notebooks = {p: nbformat.read(p, as_version=4) for p in paths}
    titles = {p: title(nb, p) for p, nb in notebooks.items()}
    if out.exists(): shutil.rmtree(out)
    out.mkdir(parents=True)
    exporter = HTMLExporter(template_name='lab')
    for i, p in enumerate(paths):
        nb = notebooks[p]
        for cell in nb.cells:
            if cell.cell_type == 'markdown':
                source = re.sub(r'\]\((\w+)\.ipynb\)', lambda m: f']({page_name(Path(m.group(1)))})', cell.source)
                cell.source = to_mathml(source, p.name)                   # links to notebooks become links to pages
        body, _ = exporter.from_notebook_node(nb)
        body = re.sub(r'<script[^>]*mathjax[^>]*>.*?</script>', '', body, flags=re.S | re.I)   # no network, no MathJax
        body = re.sub(r'<script type="text/x-mathjax-config">.*?</script>', '', body, flags=re.S)
        links = ' '.join(f'<a href="{page_name(q)}" class="{"here" if q == p else ""}" title="{html.escape(titles[q])}">'
                         f'{"course" if q.stem == "index" else q.stem.split("_")[0]}</a>' for q in paths)
        prev = f'<a href="{page_name(paths[i - 1])}">← {html.escape(titles[paths[i - 1]])}</a>' if i else ''
        nxt = f'<a href="{page_name(paths[i + 1])}">{html.escape(titles[paths[i + 1]])} →</a>' if i + 1 < len(paths) else ''
        nav = f'<nav class="course">{links}<span style="flex:1"></span>{prev}{nxt}</nav>'
        body = body.replace('</head>', STYLE + '</head>', 1)
        body = re.sub(r'(<body[^>]*>)', lambda m: m.group(1) + nav, body, count=1)
        (out / page_name(p)).write_text(body)
    (out / 'pages.json').write_text(json.dumps([page_name(p) for p in paths]))
    size = sum(f.stat().st_size for f in out.iterdir())
    print(f'wrote {len(paths)} pages to {out} ({size / 1e6:.1f} MB); open {out / "index.html"}')


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default=str(ROOT / '_site'), help='output folder (default _site/; replaced)')
    build(Path(ap.parse_args(argv).out))
    return 0


if __name__ == '__main__':
    sys.exit(main())

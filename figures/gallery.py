"""One HTML page with every figure and every paper reproduction's expected-vs-obtained table
(and the reproduction's own figure).

``python -m figures.gallery [--figures out/figures] [--repro out/paper_repro] [--out out/gallery]``
writes ``<out>/index.html``. Images are linked by relative paths (the page stays valid as long
as ``out/`` moves as a whole). What is missing is listed with the command that produces it: a
figure script with no PNG (``python -m figures NAME``), a reproduction with no results
(``python -m paper_repro NAME --quick``).

When the page has loaded, a small script sets ``data-images`` on ``<body>`` to ``ok`` (every
image loaded with a non-zero width) or ``broken`` (and ``data-broken`` to the failed names);
the gallery test reads it from headless Chromium.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["build", "main"]

_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.5em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ccc; }
.grid { display: flex; flex-wrap: wrap; gap: 1.2em; }
figure { margin: 0; padding: .6em; border: 1px solid #ddd; border-radius: 6px; max-width: 46%; }
figure img { max-width: 100%; height: auto; display: block; }
figcaption { font-size: .9em; margin-top: .4em; }
table { border-collapse: collapse; margin: .6em 0 1.2em; font-size: .9em; }
th, td { border: 1px solid #ccc; padding: .25em .5em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.pass { color: #07641c; font-weight: bold; } td.FAIL { color: #b00020; font-weight: bold; }
code { background: #f5f5f5; padding: 0 .2em; }
.missing { color: #8a4b00; }
"""

_SCRIPT = """
function htrmtCheckImages() {
  var imgs = Array.prototype.slice.call(document.images);
  if (!imgs.every(function (i) { return i.complete; })) { return false; }
  var broken = imgs.filter(function (i) { return !(i.naturalWidth > 0); })
                   .map(function (i) { return i.getAttribute('src'); });
  document.body.setAttribute('data-images', broken.length ? 'broken' : 'ok');
  document.body.setAttribute('data-num-images', String(imgs.length));
  document.body.setAttribute('data-broken', broken.join(' '));
  return true;
}
window.addEventListener('load', function () {
  if (!htrmtCheckImages()) {
    var t = setInterval(function () { if (htrmtCheckImages()) { clearInterval(t); } }, 50);
  }
});
"""


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    if isinstance(v, list):
        return ", ".join(_fmt(x) for x in v)
    return "–" if v is None else str(v)


def _criterion(r: dict) -> str:
    k, e, t = r.get("kind"), r.get("expected"), r.get("tol") or 0.0
    if e is None:
        return "–"
    if k == "approx":
        return f"{_fmt(e)} ± {_fmt(t)}"
    if k == "min":
        return f"≥ {_fmt(e - t)}"
    if k == "max":
        return f"≤ {_fmt(e + t)}"
    return "one of: " + _fmt(e)


def _figure_names() -> list[str]:
    try:
        from figures import available

        return available()
    except Exception:  # the gallery still lists what exists
        return []


def _repro_names() -> list[str]:
    try:
        from paper_repro import available

        return available()
    except Exception:
        return []


def _figures_section(fig_dir: Path, out: Path, shown: Path) -> tuple[str, list[Path]]:
    pngs = sorted(fig_dir.glob("*.png")) if fig_dir.is_dir() else []
    parts = ["<h2>Figures</h2>"]
    if pngs:
        parts.append('<div class="grid">')
        for png in pngs:
            rel = Path(os.path.relpath(png, out)).as_posix()
            pdf = png.with_suffix(".pdf")
            link = (
                f' · <a href="{_e(Path(os.path.relpath(pdf, out)).as_posix())}">PDF</a>'
                if pdf.exists()
                else ""
            )
            parts.append(
                f'<figure><a href="{_e(rel)}"><img src="{_e(rel)}" alt="{_e(png.stem)}" '
                f'loading="eager"></a><figcaption><code>{_e(png.name)}</code>{link}'
                "</figcaption></figure>"
            )
        parts.append("</div>")
    else:
        parts.append(f'<p class="missing">No figure in <code>{_e(shown)}</code>.</p>')
    stems = {p.stem for p in pngs}
    missing = [n for n in _figure_names() if n not in stems and f"fig_{n}" not in stems]
    if missing:
        parts.append(
            '<h3 class="missing">Missing figures</h3><table><tr><th>figure</th>'
            "<th>command that produces it</th></tr>"
        )
        for n in missing:
            cmd = f"python -m figures {n} --out {shown}"
            parts.append(f"<tr><td>{_e(n)}</td><td><code>{_e(cmd)}</code></td></tr>")
        parts.append("</table>")
    return "\n".join(parts), pngs


def _repro_section(repro_dir: Path, out: Path) -> str:
    parts = ["<h2>Paper reproductions</h2>"]
    found = set()
    papers = sorted(
        set(_repro_names())
        | ({p.name for p in repro_dir.iterdir() if p.is_dir()} if repro_dir.is_dir() else set())
    )
    for paper in papers:
        runs = sorted((repro_dir / paper).glob("*/results.json")) if repro_dir.is_dir() else []
        if not runs:
            continue
        found.add(paper)
        for res_path in runs:
            try:
                res = json.loads(res_path.read_text())
            except (OSError, json.JSONDecodeError):
                continue
            title = res.get("title", paper)
            parts.append(
                f"<h3>{_e(title)} <small>({_e(res_path.parent.name)}: {res.get('num_pass', 0)} "
                f"pass, {res.get('num_fail', 0)} fail, {res.get('num_not_run', 0)} not run)"
                "</small></h3>"
            )
            parts.append(
                "<table><tr><th>check</th><th>what</th><th>expected</th><th>obtained</th>"
                "<th>status</th></tr>"
            )
            for r in res.get("checks", []):
                st = str(r.get("status"))
                parts.append(
                    f"<tr><td><code>{_e(r.get('name'))}</code></td><td>{_e(r.get('what'))}</td>"
                    f"<td>{_e(_criterion(r))}</td><td>{_e(_fmt(r.get('obtained')))}</td>"
                    f'<td class="{_e(st)}">{_e(st)}</td></tr>'
                )
            parts.append("</table>")
            pngs = sorted(res_path.parent.glob("*.png"))
            if pngs:
                parts.append('<div class="grid">')
                for png in pngs:
                    rel = Path(os.path.relpath(png.resolve(), out)).as_posix()
                    parts.append(
                        f'<figure><a href="{_e(rel)}"><img src="{_e(rel)}" alt="{_e(png.stem)}" '
                        f'loading="eager"></a><figcaption><code>{_e(paper)}/'
                        f"{_e(res_path.parent.name)}/{_e(png.name)}</code></figcaption></figure>"
                    )
                parts.append("</div>")
            md = res_path.with_name("results.md")
            if md.exists():
                rel = Path(os.path.relpath(md.resolve(), out)).as_posix()
                parts.append(f'<p><a href="{_e(rel)}">results.md</a></p>')
    missing = [n for n in _repro_names() if n not in found]
    if missing:
        parts.append(
            '<h3 class="missing">Reproductions not run yet</h3><table><tr><th>paper</th>'
            "<th>command that produces it</th></tr>"
        )
        for n in missing:
            parts.append(
                f"<tr><td>{_e(n)}</td><td><code>python -m paper_repro {_e(n)} --quick</code>"
                "</td></tr>"
            )
        parts.append("</table>")
    return "\n".join(parts)


def build(
    figures_dir: str | os.PathLike = "out/figures",
    repro_dir: str | os.PathLike = "out/paper_repro",
    out: str | os.PathLike = "out/gallery",
) -> Path:
    """Write ``<out>/index.html``: every PNG of ``figures_dir`` and every ``results.json``
    under ``repro_dir``, plus what is missing and the command that produces it.

    Returns:
        The path of the page.
    """
    from sims.outputs import write_text

    fig_dir, rep_dir, out = Path(figures_dir), Path(repro_dir), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fig_html, pngs = _figures_section(fig_dir.resolve(), out.resolve(), fig_dir)
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>htrmt: figures and paper reproductions</title>"
        f"<style>{_CSS}</style><script>{_SCRIPT}</script></head>\n"
        '<body data-images="pending">\n<h1>htrmt: figures and paper reproductions</h1>\n'
        f"<p>{len(pngs)} figure(s) from <code>{_e(fig_dir)}</code>; reproductions from "
        f"<code>{_e(rep_dir)}</code>. Regenerate: <code>python -m figures --quick</code>, "
        "<code>python -m paper_repro --quick</code>, then <code>python -m figures.gallery</code>."
        "</p>\n" + fig_html + "\n" + _repro_section(rep_dir, out.resolve()) + "\n</body></html>\n"
    )
    path = out / "index.html"
    write_text(path, page)
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m figures.gallery", description=__doc__.splitlines()[0]
    )
    from sims.outputs import out_root

    root = out_root()
    p.add_argument("--figures", default=str(root / "figures"), help="folder of the figure PNGs")
    p.add_argument("--repro", default=str(root / "paper_repro"), help="paper_repro output root")
    p.add_argument("--out", default=str(root / "gallery"), help="output folder of index.html")
    args = p.parse_args(argv)
    path = build(args.figures, args.repro, args.out)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Display blocks of the report notebooks: Markdown, HTML tables (escaped), figures."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sipas.errors import ReportError


def _is_number(v: Any) -> bool:
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return True
    return isinstance(v, str) and bool(re.fullmatch(r"[−\-+]?[\d.,\u2009 ]+%?( – [−\-+]?[\d.,]+%?)?", v.strip()))


def html_table(df: pd.DataFrame, *, caption: str | None = None, css_class: str = "sipas-table") -> str:
    """A plain HTML table (escaped), numbers right-aligned, for display in the report notebook."""
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    rows = []
    for row in df.itertuples(index=False):
        cells = []
        for v in row:
            txt = "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)
            cls = ' class="num"' if _is_number(v) else ""
            cells.append(f"<td{cls}>{html.escape(txt)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table class="{css_class}">{cap}<thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


Block = tuple[str, Any]


#: Characters that Markdown (or MathJax) would act on inside running text.
_MD_ACTIVE = re.compile(r"([\\`*_\[\]{}|$#~])")


def md_escape(text: str) -> str:
    """``text`` safe inside a Markdown block: HTML special characters as entities (``<script>`` shows as
    typed and never runs), Markdown and math characters backslash-escaped (CommonMark escapes), line
    breaks as spaces."""
    t = html.escape(str(text), quote=False).replace("\r", " ").replace("\n", " ")
    return _MD_ACTIVE.sub(r"\\\1", t)


def show(blocks: list[Block]) -> None:
    """Display a section's blocks in a notebook: ``("md", text)``, ``("html", html)``,
    ``("img", png path)`` or ``("img", (png path, alt text))``."""
    from IPython.display import HTML, Markdown, display

    for kind, value in blocks:
        if kind == "md":
            display(Markdown(value))
        elif kind == "html":
            display(HTML(value))
        elif kind == "img":
            display(HTML(img_html(*(value if isinstance(value, tuple) else (value, "")))))
        else:
            raise ReportError(f"unknown block kind {kind!r}")


def img_html(path: str | Path, alt: str = "") -> str:
    """An ``<img>`` with the PNG embedded (base64) and its alternative text (the figure's title)."""
    import base64

    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return (f'<img class="sipas-figure" src="data:image/png;base64,{data}" alt="{html.escape(alt, quote=True)}"'
            f' data-figure="{html.escape(Path(path).stem, quote=True)}">')


def _table(df: pd.DataFrame | None, caption: str) -> Block:
    wide = df is not None and df.shape[1] > 10
    return ("html", html_table(df, caption=caption, css_class="sipas-table sipas-wide" if wide else "sipas-table"))

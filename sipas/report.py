"""The yearly report: context from processed files, Vietnamese text from data, rendering.

The report notebook (``notebooks/05_report.ipynb``) is a list of calls to this module,
one per section (:data:`SECTIONS`): each ``section_*`` function returns display blocks
(Markdown, HTML tables, figures) that :func:`show` displays.  Every sentence comes from
``resources/report_text.yml`` (vi and en) with numbers formatted here (:func:`fmt_pct`:
decimal comma in Vietnamese); labels of criteria and items come from the instrument file.

:func:`render` runs the notebook chain with papermill, converts the report notebook to
HTML with nbconvert (no code cells or prompts; print style ``resources/report.css``),
then prints the HTML to ``report.pdf`` with headless Chromium when it is installed.
:func:`export_tables_xlsx` writes every table to one workbook with deterministic bytes.
"""

from __future__ import annotations

import datetime as _dt
import html
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sipas import __version__
from sipas import io as sio
from sipas.config import SurveyConfig, find_survey, project_root
from sipas.errors import ConfigError, ReportError
from sipas.instrument import load_instrument
from sipas.sampling import vi_sort_key

NOTEBOOKS = ("01_cleaning", "02_reliability", "03_weighting", "04_indices", "05_report")

#: Respondent-group variables in report order (see :mod:`sipas.stages.indices`).
GROUP_VARS = ("sex", "age_group", "ethnicity", "area")

#: Executables tried, in order, for printing the HTML to PDF.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def texts() -> dict[str, Any]:
    """The report's texts (``resources/report_text.yml``)."""
    return yaml.safe_load((resources.files("sipas") / "resources" / "report_text.yml").read_text(encoding="utf-8"))


def label_set(section: str, *, lang: str = "vi") -> dict[str, Any]:
    """Labels ``labels.<section>`` of ``resources/report_text.yml`` in ``lang``.

    The same tree with every ``{vi: ..., en: ...}`` text replaced by its ``lang``
    version (Vietnamese where there is none); used by the stage notebooks' tables and
    charts (``sipas.stages.reliability``, ``sipas.weight_charts``).

    Raises
    ------
    ReportError
        When ``labels.<section>`` does not exist.
    """
    node = texts().get("labels", {}).get(section)
    if not isinstance(node, dict):
        raise ReportError(f"report_text.yml has no labels.{section}")

    def in_lang(n: Any) -> Any:
        if isinstance(n, dict) and "vi" in n:
            return n.get(lang, n["vi"])
        return {k: in_lang(v) for k, v in n.items()} if isinstance(n, dict) else n

    return in_lang(node)


def notebook_text(key: str, *, lang: str = "vi", **fields: Any) -> str:
    """Text ``notebooks.<key>`` of ``resources/report_text.yml`` in ``lang``, placeholders filled.

    The stage notebooks (``notebooks/01``–``04``) take every sentence they show from here, e.g.
    ``notebook_text("cleaning.no_recheck", lang=cfg.language)`` (``cfg.language`` is the survey's
    report language).  A text without a version in ``lang`` falls back to Vietnamese, as
    :meth:`ReportContext.tr` does.

    Parameters
    ----------
    key : str
        Dotted key under ``notebooks:``, ``"<notebook>.<text>"``.
    lang : str
        ``"vi"`` or ``"en"``.
    **fields
        Values of the text's ``{placeholders}``, already formatted.

    Raises
    ------
    ReportError
        When the key does not name a text.
    """
    node: Any = texts().get("notebooks", {})
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ReportError(f"report_text.yml has no text notebooks.{key}")
        node = node[part]
    if not (isinstance(node, dict) and "vi" in node):
        raise ReportError(f"report_text.yml has no text notebooks.{key}")
    return node.get(lang, node["vi"]).format(**fields)


def fmt_num(x: float, *, digits: int = 1, lang: str = "vi") -> str:
    """A number with ``digits`` decimals; decimal comma and dot thousands in Vietnamese.

    Negative numbers take the minus sign U+2212, so that a range such as
    ``−3,2 – 3,9`` cannot be read as a dash between two numbers.
    """
    if x is None or pd.isna(x):
        return "—"
    s = f"{x:,.{digits}f}"
    if lang == "vi":
        s = s.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")
    if s.startswith("-"):
        s = "\u2212" + s[1:] if s.strip("-0,.") else s[1:]  # "-0,0" is shown as "0,0"
    return s


def fmt_pct(p: float, *, digits: int = 1, lang: str = "vi") -> str:
    """A proportion as a percentage, e.g. 0.8254 -> "82,5%"."""
    return "—" if p is None or pd.isna(p) else fmt_num(100 * p, digits=digits, lang=lang) + "%"


@dataclass
class ReportContext:
    """Everything the report shows, read from ``data/processed/<survey-id>``."""

    cfg: SurveyConfig
    lang: str
    t: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    instrument: Any
    processed: Path
    reports: Path
    figures: dict[str, Path] = field(default_factory=dict)
    root: Path | None = None

    @property
    def unit(self) -> str:
        """The report unit (``district``, or ``commune`` in a two-tier survey): ``cfg.design.report_unit``."""
        return self.cfg.design.report_unit

    def tr(self, key: str, **kw: Any) -> str:
        """Text ``key`` in the report language with placeholders filled.

        ``by_unit.<report unit>.<key>`` of the texts is used in place of ``key`` when it exists
        (e.g. "Xã, phường" rather than "Huyện, thành phố" when the report unit is the commune).
        """
        node = self._unit_node(key)
        if node is None:
            node = self.t
            for part in key.split("."):
                node = node[part]
        return node.get(self.lang, node["vi"]).format(**kw)

    def _unit_node(self, key: str) -> dict[str, str] | None:
        node: Any = self.t.get("by_unit", {}).get(self.unit)
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node if isinstance(node, dict) and "vi" in node else None

    def has(self, key: str) -> bool:
        """Whether text ``key`` exists."""
        node = self.t
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return isinstance(node, dict) and "vi" in node

    def pct(self, p: float, digits: int = 1) -> str:
        return fmt_pct(p, digits=digits, lang=self.lang)

    def num(self, x: float, digits: int = 1) -> str:
        return fmt_num(x, digits=digits, lang=self.lang)

    def ci(self, lo: float, hi: float, *, scale: float = 100, digits: int = 1) -> str:
        """``lo – hi`` (en dash), e.g. a 95% CI in percent."""
        return f"{fmt_num(scale * lo, digits=digits, lang=self.lang)} – {fmt_num(scale * hi, digits=digits, lang=self.lang)}"

    @property
    def province(self) -> str:
        return self.cfg.province.get(self.lang, self.cfg.province["vi"])


def load_context(survey_id: str, *, root: str | Path | None = None) -> ReportContext:
    """Read a survey's processed tables for the report."""
    root = Path(root) if root else project_root()
    cfg = find_survey(survey_id, root=root)
    proc = cfg.processed_dir(root)
    tables = {}
    for f in sorted(proc.glob("*.csv")):
        # cell values compared as text (a blank cell must not turn the codes into floats "4.0")
        text_cols = {"first": str, "second": str} if f.stem == "double_entry_discrepancies" else None
        tables[f.stem] = sio.read_csv(f, dtype=text_cols, keep_default_na=text_cols is None)
    inst = load_instrument(cfg.instrument_id, cfg.instrument_version)
    return ReportContext(cfg=cfg, lang=cfg.language, t=texts(), tables=tables, instrument=inst, processed=proc,
                         reports=cfg.reports_dir(root), root=root)


# --------------------------------------------------------------------------- display blocks

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


# --------------------------------------------------------------------------- labels and lookups

def _labels(ctx: ReportContext) -> dict[str, str]:
    lab = {}
    key = f"label_{ctx.lang}"
    for _, r in ctx.instrument.criteria.iterrows():
        lab[r["criterion"]] = f'{r["criterion"]} {r[key]}'
    for _, r in ctx.instrument.aspects.iterrows():
        lab[r["aspect"]] = r[key]
    for _, r in ctx.instrument.items.iterrows():
        lab[r["item"]] = r[f"text_{ctx.lang}"]
    return lab


def _idx(ctx: ReportContext, *, published: bool = True) -> pd.DataFrame:
    return ctx.tables["indices_published" if published else "indices"]


def _na(ctx: ReportContext, what: str) -> Block:
    return ("md", f"*{ctx.tr('not_available', what=ctx.tr(what))}*")


def _col(ctx: ReportContext, name: str) -> str:
    return ctx.tr(f"col.{name}") if ctx.has(f"col.{name}") else name


def group_label(ctx: ReportContext, var: str, level: Any) -> str:
    """Label of a respondent group level, e.g. ("sex", "2") -> "Nữ"."""
    key = f"group_levels.{var}.{level}"
    return ctx.tr(key) if ctx.has(key) else str(level)


def overall(ctx: ReportContext) -> pd.Series:
    """The province's overall index row."""
    t = _idx(ctx)
    return t[(t["domain_type"] == "province") & (t["level"] == "overall")].iloc[0]


def benchmark(ctx: ReportContext) -> dict[str, Any] | None:
    """The published index to compare against, from ``report.benchmark`` in survey.yml.

    ``{"label": {"vi": ..., "en": ...}, "value": 0.8266}`` gives
    ``{"label": <text in the report language>, "value": 0.8266}``; None when absent.

    Raises
    ------
    ConfigError
        When the value is not a proportion in (0, 1] or the label is missing.
    """
    b = (ctx.cfg.extra.get("report") or {}).get("benchmark")
    if b is None:
        return None
    if not isinstance(b, dict) or "value" not in b or "label" not in b:
        raise ConfigError("must be a mapping with 'label' (vi, en) and 'value'", file=ctx.cfg.path,
                          key="report.benchmark")
    v = b["value"]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 1:
        raise ConfigError(f"value must be a proportion in (0, 1], e.g. 0.8266, got {v!r}", file=ctx.cfg.path,
                          key="report.benchmark.value")
    lab = b["label"]
    if isinstance(lab, dict):
        lab = lab.get(ctx.lang, lab.get("vi"))
    if not isinstance(lab, str) or not lab:
        raise ConfigError("label must be a text or a mapping with 'vi' and 'en'", file=ctx.cfg.path,
                          key="report.benchmark.label")
    return {"label": lab, "value": float(v)}


def benchmark_difference(ctx: ReportContext) -> dict[str, float] | None:
    """Overall index minus the benchmark, with the CI shifted by the (fixed) benchmark."""
    b = benchmark(ctx)
    if b is None:
        return None
    o = overall(ctx)
    lo, hi = o["ci_low"] - b["value"], o["ci_high"] - b["value"]
    return {"value": b["value"], "diff": o["estimate"] - b["value"], "lo": lo, "hi": hi,
            "significant": bool(lo > 0 or hi < 0)}


# --------------------------------------------------------------------------- tables

def summary_md(ctx: ReportContext) -> str:
    """Section 1: the summary for the council."""
    o = overall(ctx)
    rank = ctx.tables["ranking"]
    rr = _response_rates(ctx)
    n_ret = int(rr["returned"].sum()) if rr is not None else len(ctx.tables["forms_clean"])
    n_dist = int(rr["distributed"].sum()) if rr is not None else n_ret
    parts = [f"## {ctx.tr('s_summary')}", ctx.tr(
        "summary_text", province=ctx.province,
        year=ctx.cfg.year, overall=ctx.pct(o["estimate"]), lo=ctx.pct(o["ci_low"]), hi=ctx.pct(o["ci_high"]),
        n_valid=len(ctx.tables["forms_clean"]), n_returned=n_ret, rr=ctx.pct(n_ret / n_dist),
        top=rank.iloc[0]["domain"], top_val=ctx.pct(rank.iloc[0]["estimate"]),
        bottom=rank.iloc[-1]["domain"], bottom_val=ctx.pct(rank.iloc[-1]["estimate"]))]
    bd = benchmark_difference(ctx)
    if bd is not None:
        b = benchmark(ctx)
        parts.append(ctx.tr("summary_benchmark", label=b["label"], value=ctx.pct(b["value"], 2),
                            direction=ctx.tr("direction_higher" if bd["diff"] >= 0 else "direction_lower"),
                            diff=ctx.num(100 * abs(bd["diff"])), lo=ctx.num(100 * bd["lo"]),
                            hi=ctx.num(100 * bd["hi"]), sig=ctx.tr("sig_yes" if bd["significant"] else "sig_no")))
    yoy = ctx.tables.get("year_over_year")
    if yoy is not None:
        r = yoy[(yoy["domain_type"] == "province") & (yoy["level"] == "overall")].iloc[0]
        parts.append(ctx.tr("summary_change", prev_year=ctx.cfg.year - 1, change=ctx.num(100 * r["change"]),
                            lo=ctx.num(100 * r["ci_low_change"]), hi=ctx.num(100 * r["ci_high_change"]),
                            sig=ctx.tr("sig_yes" if r["significant"] else "sig_no")))
    t = _idx(ctx)
    sat = set(ctx.instrument.criteria.loc[ctx.instrument.criteria["aspect"] == o["id"], "criterion"].astype(str))
    c = t[(t["domain_type"] == "province") & (t["level"] == "criterion") & t["id"].astype(str).isin(sat)]
    if len(c):
        c = c.sort_values("estimate", kind="stable")
        lab = _labels(ctx)
        parts.append(ctx.tr("summary_criteria", best=lab.get(str(c.iloc[-1]["id"]), c.iloc[-1]["id"]),
                            best_val=ctx.pct(c.iloc[-1]["estimate"]),
                            worst=lab.get(str(c.iloc[0]["id"]), c.iloc[0]["id"]), worst_val=ctx.pct(c.iloc[0]["estimate"])))
    if "synthetic" in str(ctx.cfg.extra.get("description", {})).lower() or "mô phỏng" in ctx.cfg.province["vi"]:
        parts.append(f"> {ctx.tr('synthetic_note')}")
    return "\n\n".join(parts)


def key_figures_table(ctx: ReportContext) -> pd.DataFrame:
    """Table 1.1: the key figures of the summary."""
    o = overall(ctx)
    rows = [(ctx.tr("key.overall"), f"{ctx.pct(o['estimate'])} ({ctx.ci(o['ci_low'], o['ci_high'])})")]
    b = benchmark(ctx)
    if b is not None:
        rows.append((ctx.tr("key.benchmark"), f"{b['label']}: {ctx.pct(b['value'], 2)}"))
    yoy = ctx.tables.get("year_over_year")
    if yoy is not None:
        r = yoy[(yoy["domain_type"] == "province") & (yoy["level"] == "overall")].iloc[0]
        rows.append((ctx.tr("key.change"), f"{ctx.num(100 * r['change'])} "
                                           f"({ctx.ci(r['ci_low_change'], r['ci_high_change'])})"))
    rows.append((ctx.tr("key.n_valid"), str(len(ctx.tables["forms_clean"]))))
    rr = _response_rates(ctx)
    if rr is not None:
        rows.append((ctx.tr("key.return_rate"), ctx.pct(rr["returned"].sum() / rr["distributed"].sum())))
    rows.append((ctx.tr("key.units"), str(len(ctx.tables["ranking"]))))
    return pd.DataFrame(rows, columns=[ctx.tr("col.label"), ctx.tr("col.value")])


def _response_rates(ctx: ReportContext) -> pd.DataFrame | None:
    """``response_rates.csv`` without its total row (the row whose unit columns read ``Total``)."""
    rr = ctx.tables.get("response_rates")
    if rr is None:
        return None
    return rr[rr[ctx.cfg.design.unit_keys[0]] != "Total"]


def response_table(ctx: ReportContext) -> pd.DataFrame:
    """Table 2.1: distribution, return and valid forms by report unit (district or commune)."""
    rr = _response_rates(ctx)
    u = ctx.unit
    g = rr.groupby(u, sort=False)[["distributed", "returned", "valid"]].sum().reset_index()
    tot = g[["distributed", "returned", "valid"]].sum()
    g = pd.concat([g, pd.DataFrame([{u: ctx.tr("legend_province"), **tot.to_dict()}])], ignore_index=True)
    g["return_rate"] = g["returned"] / g["distributed"]
    g["valid_rate"] = g["valid"] / g["returned"]
    return pd.DataFrame({
        ctx.tr("col.district"): g[u],
        ctx.tr("col.distributed"): g["distributed"], ctx.tr("col.returned"): g["returned"],
        ctx.tr("col.valid"): g["valid"],
        ctx.tr("col.return_rate"): [ctx.num(100 * x) for x in g["return_rate"]],
        ctx.tr("col.valid_rate"): [ctx.num(100 * x) for x in g["valid_rate"]],
    })


def design_md(ctx: ReportContext) -> str:
    """Section 2 text: the sample."""
    w = ctx.tables["weights"]
    rr = _response_rates(ctx)
    strata = ctx.cfg.design.strata
    return "\n\n".join([f"## {ctx.tr('s_design')}", ctx.tr(
        "design_text", n_districts=w["district"].nunique() if "district" in w else 0,
        n_strata=w[strata].nunique() if strata in w else 0, n_communes=w["commune"].nunique(),
        n_villages=w[["commune", "village"]].drop_duplicates().shape[0],
        n_sampled=int(rr["distributed"].sum()) if rr is not None else len(w))])


def recheck_table(ctx: ReportContext) -> pd.DataFrame | None:
    """Table 2.2: agreement of original and recheck answers per item (``recheck_agreement.csv``)."""
    r = ctx.tables.get("recheck_agreement")
    if r is None:
        return None
    lab = _labels(ctx)
    return pd.DataFrame({
        ctx.tr("col.item"): [f"{i} — {lab[i]}" if i in lab else str(i) for i in r["item"]],
        ctx.tr("col.n"): r["n"],
        ctx.tr("col.agreement"): [ctx.num(100 * v) for v in r["agreement"]],
        ctx.tr("col.kappa"): [ctx.num(v, 2) for v in r["kappa"]],
    })


def recheck_failed_table(ctx: ReportContext) -> pd.DataFrame | None:
    """Table 2.3: rechecked forms that failed (``recheck_failed_forms.csv``; form numbers only)."""
    r = ctx.tables.get("recheck_failed_forms")
    if r is None:
        return None
    return pd.DataFrame({
        ctx.tr("col.form_id"): r["form_id"].astype(str),
        ctx.tr("col.items_disagreeing"): r["items_disagreeing"],
        ctx.tr("col.share_disagreeing"): [ctx.num(100 * v) for v in r["share_disagreeing"]],
    })


def double_entry_table(ctx: ReportContext, *, max_rows: int = 20) -> pd.DataFrame | None:
    """Table 2.4: cells differing between two entries; values of columns that are not
    questionnaire items or profile answers (possibly personal data) are masked."""
    d = ctx.tables.get("double_entry_discrepancies")
    if d is None:
        return None
    known = set(ctx.instrument.items["item"]) | {v["id"] for v in ctx.instrument.raw.get("profile", [])}
    mask = ~d["column"].isin(known)
    first = d["first"].astype("string").fillna("").where(~mask, "•••")
    second = d["second"].astype("string").fillna("").where(~mask, "•••")
    out = pd.DataFrame({ctx.tr("col.form_id"): d["form_id"].astype(str), ctx.tr("col.column"): d["column"],
                        ctx.tr("col.first"): first, ctx.tr("col.second"): second})
    return out.head(max_rows)


def cleaning_md(ctx: ReportContext) -> str:
    """Section 3 text."""
    n_valid = len(ctx.tables["forms_clean"])
    n_inv = len(ctx.tables.get("forms_invalid", pd.DataFrame()))
    return "\n\n".join([f"## {ctx.tr('s_cleaning')}",
                        ctx.tr("cleaning_text", n_in=n_valid + n_inv, n_valid=n_valid, n_invalid=n_inv)])


def cleaning_table(ctx: ReportContext) -> pd.DataFrame:
    """Table 3.1: forms and cells affected per cleaning rule, rules named in the report language."""
    s = ctx.tables["cleaning_summary"]
    out = pd.DataFrame({ctx.tr("col.rule"): [ctx.tr(f"rules.{r}") if ctx.has(f"rules.{r}") else str(r)
                                             for r in s["rule"]]})
    if "action" in s.columns:
        out[ctx.tr("col.action")] = [ctx.tr(f"actions.{a}") if ctx.has(f"actions.{a}") else str(a)
                                     for a in s["action"]]
    for c in ("forms_affected", "cells_changed"):
        if c in s.columns:
            out[ctx.tr(f"col.{c}")] = s[c].to_numpy()
    out[ctx.tr("col.code")] = s["rule"].to_numpy()
    return out


def reliability_table(ctx: ReportContext) -> pd.DataFrame:
    """Table 4.1: alpha with Feldt CI per criterion."""
    r = ctx.tables["reliability_criteria"]
    lab = _labels(ctx)
    return pd.DataFrame({
        ctx.tr("col.criterion"): [lab.get(str(c), str(c)) for c in r["criterion"]],
        ctx.tr("col.k"): r["k"], ctx.tr("col.n"): r["n"],
        ctx.tr("col.alpha"): [ctx.num(a, 3) for a in r["alpha"]],
        ctx.tr("col.ci"): [ctx.ci(a, b, scale=1, digits=3) for a, b in zip(r["ci_low"], r["ci_high"])],
        ctx.tr("col.weak_items"): r["weak_items"].astype("string").fillna("") if "weak_items" in r else "",
    })


def reliability_items_table(ctx: ReportContext) -> pd.DataFrame | None:
    """Table 4.2: flagged items (``reliability_items.csv`` rows with a flag)."""
    r = ctx.tables.get("reliability_items")
    if r is None or "flag" not in r.columns:
        return None
    r = r[r["flag"].notna() & (r["flag"].astype(str) != "")]
    lab = _labels(ctx)
    return pd.DataFrame({
        ctx.tr("col.criterion"): r["criterion"].astype(str).to_numpy(),
        ctx.tr("col.item"): [f"{i} — {lab.get(i, i)}" for i in r["item"]],
        ctx.tr("col.item_total_r"): [ctx.num(v, 3) for v in r["item_total_r"]],
        ctx.tr("col.alpha_if_deleted"): [ctx.num(v, 3) for v in r["alpha_if_deleted"]],
        ctx.tr("col.flag"): r["flag"].astype(str).to_numpy(),
    })


def cfa_table(ctx: ReportContext) -> pd.DataFrame | None:
    """Table 4.3: CFA fit indices against thresholds (``cfa_fit.csv``: [model,] index, value, threshold, ok).

    One row per model and fit index; indices without a threshold other than chi², df and
    its p-value are left out.
    """
    c = ctx.tables.get("cfa_fit")
    if c is None:
        return None
    keep = c["threshold"].notna() | c["index"].astype(str).isin(["chi2", "df", "p_value"])
    c = c[keep]
    out = pd.DataFrame()
    if "model" in c.columns:
        out[ctx.tr("col.model")] = c["model"].astype(str).to_numpy()
    out[ctx.tr("col.fit_index")] = c["index"].astype(str).to_numpy()
    out[ctx.tr("col.value")] = [ctx.num(float(v), 0 if i == "df" else 3) for i, v in zip(c["index"], c["value"])]
    out[ctx.tr("col.threshold")] = c["threshold"].fillna("").astype(str).to_numpy()
    out[ctx.tr("col.ok")] = ["" if pd.isna(v) else ctx.tr("col.answer_yes" if str(v) == "True" or v is True
                                                          else "col.answer_no") for v in c["ok"]]
    return out


def weighting_md(ctx: ReportContext) -> str:
    s = ctx.tables["weight_summary"]
    fin = s[s["weights"] == "final"].iloc[0]
    return "\n\n".join([f"## {ctx.tr('s_weighting')}",
                        ctx.tr("weighting_text", deff=ctx.num(fin["kish_deff"], 2), neff=ctx.num(fin["n_eff"], 0))])


def weight_table(ctx: ReportContext) -> pd.DataFrame:
    s = ctx.tables["weight_summary"].copy()
    s["weights"] = [ctx.tr(f"weights_kind.{k}") if ctx.has(f"weights_kind.{k}") else str(k) for k in s["weights"]]
    num_cols = [c for c in s.columns if c != "weights"]
    out = s[["weights"] + num_cols].rename(columns={"weights": ctx.tr("col.weights")})
    for c in num_cols:
        out[c] = [ctx.num(v, 2) for v in out[c]]
    return out.rename(columns={c: _col(ctx, f"w_{c}") if ctx.has(f"col.w_{c}") else c for c in num_cols})


def margins_table(ctx: ReportContext) -> pd.DataFrame | None:
    """Table 5.2: margins before/after weighting (``weight_margins.csv``, columns shown as written)."""
    m = ctx.tables.get("weight_margins")
    if m is None:
        return None
    out = pd.DataFrame()
    for c in m.columns:
        v = m[c]
        if pd.api.types.is_float_dtype(v):
            share = v.dropna().between(0, 1).all()
            out[_col(ctx, c)] = [ctx.num(100 * x) if share else ctx.num(x, 1) for x in v]
        else:
            out[_col(ctx, c)] = v.astype(str)
    return out


def _fmt_index_rows(ctx: ReportContext, t: pd.DataFrame, label_col: str, labels: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({
        label_col: labels.to_numpy(),
        ctx.tr("col.estimate"): [ctx.num(100 * v) for v in t["estimate"]],
        ctx.tr("col.ci"): [ctx.ci(a, b) for a, b in zip(t["ci_low"], t["ci_high"])],
        ctx.tr("col.se"): [ctx.num(100 * v, 2) for v in t["se"]],
        ctx.tr("col.n"): t["n"].to_numpy(),
    })


def aspect_table(ctx: ReportContext) -> pd.DataFrame:
    """Table 6.1: overall, aspects and criteria for the province."""
    t = _idx(ctx)
    t = t[(t["domain_type"] == "province") & t["level"].isin(["overall", "aspect", "criterion"])]
    lab = _labels(ctx)
    order = {"overall": 0, "aspect": 1, "criterion": 2}
    t = t.assign(_o=t["level"].map(order)).sort_values(["_o", "id"], kind="stable")
    names = pd.Series([("SIPAS — " if lv == "overall" else "") + lab.get(str(i), str(i))
                       for lv, i in zip(t["level"], t["id"])])
    return _fmt_index_rows(ctx, t, ctx.tr("col.label"), names)


def item_table(ctx: ReportContext) -> pd.DataFrame:
    """Table 6.2: item indices for the province."""
    t = _idx(ctx)
    t = t[(t["domain_type"] == "province") & (t["level"] == "item")]
    lab = _labels(ctx)
    return _fmt_index_rows(ctx, t, ctx.tr("col.item"), pd.Series([f"{i} — {lab.get(i, i)}" for i in t["id"]]))


def district_table(ctx: ReportContext) -> pd.DataFrame:
    """Table 6.3: overall index per report unit, district or commune (small cells suppressed)."""
    t = _idx(ctx)
    t = t[(t["domain_type"] == ctx.unit) & (t["level"] == "overall")].sort_values("estimate", ascending=False)
    return _fmt_index_rows(ctx, t, ctx.tr("col.district"), t["domain"])


#: Above this many report units, table 6.5 has units as rows and criterion ids as columns (fits A4).
WIDE_UNITS = 10


def district_criteria_table(ctx: ReportContext) -> pd.DataFrame:
    """Table 6.5: criterion × report unit indices in % (published: small cells shown as —).

    With more than :data:`WIDE_UNITS` units (e.g. communes of a two-tier survey) the table is
    transposed: one row per unit, one column per criterion id (labels are in table 6.1).
    """
    t = _idx(ctx)
    lab = _labels(ctx)
    parts = []
    for dtype in ("province", ctx.unit):
        parts.append(t[(t["domain_type"] == dtype) & t["level"].isin(["criterion", "overall"])])
    t = pd.concat(parts)
    t = t.assign(_o=(t["level"] == "overall").astype(int))
    mat = t.pivot(index=["_o", "id"], columns="domain", values="estimate").sort_index()
    cols = [ctx.cfg.province["vi"]] + sorted([c for c in mat.columns if c != ctx.cfg.province["vi"]],
                                             key=vi_sort_key)
    mat = mat.reindex(columns=[c for c in cols if c in mat.columns])
    if mat.shape[1] > WIDE_UNITS + 1:
        rows = pd.DataFrame({ctx.tr("col.district"): [ctx.tr("legend_province") if c == ctx.cfg.province["vi"]
                                                      else str(c) for c in mat.columns]})
        for (o, i), vals in mat.iterrows():
            rows["SIPAS" if o else str(i)] = [ctx.num(100 * v) for v in vals]
        return rows
    out = pd.DataFrame({ctx.tr("col.criterion"): [("SIPAS — " if o else "") + lab.get(str(i), str(i))
                                                  for o, i in mat.index]})
    for c in mat.columns:
        name = ctx.tr("legend_province") if c == ctx.cfg.province["vi"] else str(c)
        out[name] = [ctx.num(100 * v) for v in mat[c]]
    return out


def group_table(ctx: ReportContext) -> pd.DataFrame | None:
    """Table 6.4: overall and aspect indices by respondent group (small cells suppressed)."""
    g = ctx.tables.get("indices_groups_published")
    if g is None or not len(g):
        return None
    lab = _labels(ctx)
    o = g[g["level"] == "overall"]
    aspects = [a for a in ctx.instrument.aspects["aspect"] if a in set(g.loc[g["level"] == "aspect", "id"])
               and a != o["id"].iloc[0]]
    rows = []
    for var in [v for v in GROUP_VARS if v in set(o["domain_type"])] + sorted(set(o["domain_type"]) - set(GROUP_VARS)):
        for _, r in o[o["domain_type"] == var].iterrows():
            row = {ctx.tr("col.group_var"): ctx.tr(f"groups.{var}") if ctx.has(f"groups.{var}") else var,
                   ctx.tr("col.group_level"): group_label(ctx, var, r["domain"]),
                   ctx.tr("col.n"): int(r["n"]),
                   "SIPAS (%)": ctx.num(100 * r["estimate"]),
                   ctx.tr("col.ci"): "—" if pd.isna(r["estimate"]) else ctx.ci(r["ci_low"], r["ci_high"])}
            for a in aspects:
                m = g[(g["domain_type"] == var) & (g["domain"] == r["domain"]) & (g["level"] == "aspect")
                      & (g["id"] == a)]
                row[f"{lab.get(a, a)} (%)"] = ctx.num(100 * m["estimate"].iloc[0]) if len(m) else "—"
            rows.append(row)
    return pd.DataFrame(rows)


def ranking_table(ctx: ReportContext) -> pd.DataFrame:
    """Table 7.1: rank, 95% rank interval and groups not distinguishable."""
    r = ctx.tables["ranking"]
    out = pd.DataFrame({
        ctx.tr("col.rank"): r["rank"], ctx.tr("col.district"): r["domain"],
        ctx.tr("col.estimate"): [ctx.num(100 * v) for v in r["estimate"]],
        ctx.tr("col.ci"): [ctx.ci(a, b) for a, b in zip(r["ci_low"], r["ci_high"])],
    })
    if {"rank_low", "rank_high"} <= set(r.columns):
        out[ctx.tr("col.rank_ci")] = [f"{int(a)} – {int(b)}" for a, b in zip(r["rank_low"], r["rank_high"])]
    out[ctx.tr("col.group")] = r["group"]
    return out


def yoy_table(ctx: ReportContext) -> pd.DataFrame | None:
    y = ctx.tables.get("year_over_year")
    if y is None:
        return None
    y = y[y["level"].isin(["overall"])].copy()
    return pd.DataFrame({
        ctx.tr("col.unit"): [ctx.tr("legend_province") if d == "province" else u
                             for d, u in zip(y["domain_type"], y["domain"])],
        ctx.tr("col.previous"): [ctx.num(100 * v) for v in y["estimate_prev"]],
        ctx.tr("col.estimate"): [ctx.num(100 * v) for v in y["estimate"]],
        ctx.tr("col.change"): [ctx.num(100 * v) for v in y["change"]],
        ctx.tr("col.ci"): [ctx.ci(a, b) for a, b in zip(y["ci_low_change"], y["ci_high_change"])],
        ctx.tr("col.significant"): [ctx.tr("col.answer_yes" if s else "col.answer_no") for s in y["significant"]],
    })


def needs_table(ctx: ReportContext) -> pd.DataFrame:
    n = ctx.tables["needs"].sort_values("estimate", ascending=False, kind="stable")
    lab = _labels(ctx)
    return pd.DataFrame({
        ctx.tr("col.label"): [lab.get(i, i) for i in n["id"]],
        ctx.tr("col.share"): [ctx.num(100 * v) for v in n["estimate"]],
        ctx.tr("col.ci"): [ctx.ci(a, b) for a, b in zip(n["ci_low"], n["ci_high"])],
        ctx.tr("col.n"): n["n"],
    })


def recommendations_table(ctx: ReportContext, *, k: int = 3) -> pd.DataFrame:
    """Table 10.1: the ``k`` lowest satisfaction criteria, with empty columns for the Department."""
    t = _idx(ctx)
    o = overall(ctx)
    sat = set(ctx.instrument.criteria.loc[ctx.instrument.criteria["aspect"] == o["id"], "criterion"].astype(str))
    c = t[(t["domain_type"] == "province") & (t["level"] == "criterion") & t["id"].astype(str).isin(sat)]
    c = c.sort_values("estimate", kind="stable").head(k)
    lab = _labels(ctx)
    rows = [{ctx.tr("recommend_cols.issue"): lab.get(str(i), str(i)),
             ctx.tr("recommend_cols.value"): ctx.num(100 * e)} for i, e in zip(c["id"], c["estimate"])]
    rows.append({ctx.tr("recommend_cols.issue"): "", ctx.tr("recommend_cols.value"): ""})
    out = pd.DataFrame(rows)
    for key in ("measure", "lead", "partners", "deadline"):
        out[ctx.tr(f"recommend_cols.{key}")] = ""
    return out


def provenance(ctx: ReportContext) -> tuple[str, pd.DataFrame]:
    """Provenance text (version, commit, seed, time) and the checksum table of inputs and processed tables.

    The time is ``SOURCE_DATE_EPOCH`` when set (reproducible builds), otherwise now.
    """
    root = (ctx.root or ctx.processed.parent.parent.parent).resolve()
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).resolve().parent,
                                capture_output=True, text=True, check=False).stdout.strip() or "?"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "sipas"],
                               cwd=Path(__file__).resolve().parent, capture_output=True, text=True,
                               check=False).stdout.strip()
        if dirty and commit != "?":
            commit += "+"
    except OSError:
        commit = "?"
    files = [ctx.cfg.path, *ctx.cfg.responses, *ctx.cfg.frames.values()]
    samp = (ctx.cfg.extra.get("sampling") or {}).get("sample_file")
    if samp:
        files.append(ctx.cfg.raw_path(samp))
    files += sorted(ctx.processed.glob("*.csv"))
    rows = []
    for f in files:
        try:
            rel = str(Path(f).resolve().relative_to(root))
        except ValueError:
            rel = Path(f).name
        rows.append({ctx.tr("col.file"): rel, ctx.tr("col.sha256"): sio.sha256_file(f)})
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (_dt.datetime.fromtimestamp(int(epoch), tz=_dt.timezone.utc) if epoch and epoch.isdigit()
            else _dt.datetime.now().astimezone())
    text = ctx.tr("provenance_text", version=__version__, commit=commit, survey_id=ctx.cfg.survey_id,
                  seed=ctx.cfg.seed, time=when.strftime("%Y-%m-%d %H:%M %Z").strip())
    return text, pd.DataFrame(rows)


def config_text(ctx: ReportContext) -> str:
    """The survey configuration file as written (it holds paths, never personal data)."""
    return Path(ctx.cfg.path).read_text(encoding="utf-8")


# --------------------------------------------------------------------------- figures

def make_figures(ctx: ReportContext) -> dict[str, Path]:
    """Draw every chart of the report; PNG and SVG under ``reports/<id>/figures``."""
    import matplotlib.pyplot as plt

    from sipas import charts

    figdir = ctx.reports / "figures"
    t = _idx(ctx, published=False)
    lab = _labels(ctx)
    out = {}
    o = overall(ctx)
    b = benchmark(ctx)
    pub = _idx(ctx)
    d = pub[(pub["domain_type"] == ctx.unit) & (pub["level"] == "overall") & pub["estimate"].notna()]
    d = d.rename(columns={"domain": "unit"})  # suppressed units (too few respondents) are not drawn
    fig = charts.index_by_unit(
        d, unit="unit", title=ctx.tr("fig_districts"), xlabel=ctx.tr("axis_index"),
        reference=o["estimate"], reference_label=f"{ctx.tr('legend_province')}: {ctx.pct(o['estimate'])}",
        benchmark=b["value"] if b else None,
        benchmark_label=ctx.tr("legend_benchmark", label=b["label"], value=ctx.pct(b["value"], 2)) if b else None)
    out["districts"] = charts.save(fig, figdir / f"index_by_{ctx.unit}")[0]
    plt.close(fig)

    c = t[(t["domain_type"] == "province") & (t["level"] == "criterion")].copy()
    c["label"] = [lab.get(str(i), str(i)) for i in c["id"]]
    fig = charts.criteria_profile(c, title=ctx.tr("fig_criteria"), xlabel=ctx.tr("axis_index"))
    out["criteria"] = charts.save(fig, figdir / "criteria_profile")[0]
    plt.close(fig)

    h = _idx(ctx)
    h = h[(h["domain_type"] == ctx.unit) & (h["level"] == "criterion")]
    mat = h.pivot(index="id", columns="domain", values="estimate")
    mat = mat[sorted(mat.columns, key=vi_sort_key)]
    if mat.shape[1] > WIDE_UNITS:  # many units (communes): units as rows, criterion ids as columns
        mat = mat.T
    else:
        mat.index = [lab.get(str(i), str(i)) for i in mat.index]
    fig = charts.heatmap(mat, title=ctx.tr("fig_heatmap"), cbar_label=ctx.tr("axis_index"))
    out["heatmap"] = charts.save(fig, figdir / f"criteria_by_{ctx.unit}")[0]
    plt.close(fig)

    y = ctx.tables.get("year_over_year")
    if y is not None:
        yy = y[(y["level"] == "overall")].rename(columns={"domain": "unit", "ci_low_change": "ci_low",
                                                          "ci_high_change": "ci_high"})
        yy["unit"] = [ctx.tr("legend_province") if dt == "province" else u for dt, u in zip(yy["domain_type"], yy["unit"])]
        fig = charts.change_since_last_year(yy, title=ctx.tr("fig_change"), xlabel=ctx.tr("axis_change"))
        out["change"] = charts.save(fig, figdir / "change_since_last_year")[0]
        plt.close(fig)

    p = ctx.tables.get("profile")
    if p is not None and len(p):
        prof = ctx.instrument.raw.get("profile", [])
        vlab = {v["id"]: v["text"].get(ctx.lang, v["text"]["vi"]) for v in prof}
        llab = {(v["id"], int(k)): lab.get(ctx.lang, lab["vi"]) for v in prof for k, lab in (v.get("codes") or {}).items()}
        pp = p.assign(variable_label=[vlab.get(v, v) for v in p["variable"]],
                      level_label=[llab.get((v, int(lv)), str(lv)) for v, lv in zip(p["variable"], p["level"])])
        fig = charts.response_profile(pp, title=ctx.tr("fig_profile"))
        out["profile"] = charts.save(fig, figdir / "respondent_profile")[0]
        plt.close(fig)

    g = ctx.tables.get("indices_groups_published")
    if g is not None and len(g):
        go = g[g["level"] == "overall"]
        order = [v for v in GROUP_VARS if v in set(go["domain_type"])]
        go = pd.concat([go[go["domain_type"] == v] for v in order], ignore_index=True)
        go = go.assign(variable_label=[ctx.tr(f"groups.{v}") for v in go["domain_type"]],
                       level_label=[group_label(ctx, v, lv) for v, lv in zip(go["domain_type"], go["domain"])])
        fig = charts.group_breakdown(go, title=ctx.tr("fig_groups"), xlabel=ctx.tr("axis_index"),
                                     reference=o["estimate"], reference_label=ctx.tr("legend_province"))
        out["groups"] = charts.save(fig, figdir / "index_by_group")[0]
        plt.close(fig)
    ctx.figures = out
    return out


# --------------------------------------------------------------------------- sections

def title_md(ctx: ReportContext) -> str:
    return "# " + ctx.tr("title", year=ctx.cfg.year) + "\n\n**" + ctx.province + "**"


def _fig(ctx: ReportContext, name: str) -> list[Block]:
    p = ctx.figures.get(name)
    return [("img", (p, ctx.tr(f"fig_{name}")))] if p is not None else []


def section_summary(ctx: ReportContext) -> list[Block]:
    """1. Summary for the council: the overall index, benchmark, change, key figures."""
    return [("md", title_md(ctx) + "\n\n" + summary_md(ctx)), _table(key_figures_table(ctx), ctx.tr("summary_table"))]


def section_design(ctx: ReportContext) -> list[Block]:
    """2. Survey design and fieldwork: sample, response rates, recheck and double entry."""
    out: list[Block] = [("md", design_md(ctx))]
    if "response_rates" in ctx.tables:
        out.append(_table(response_table(ctx), ctx.tr("response_table")))
    else:
        out.append(_na(ctx, "na_response"))
    out += _fig(ctx, "profile")
    out.append(("md", f"### {ctx.tr('s_recheck')}\n\n{ctx.tr('recheck_text')}"))
    rc = recheck_table(ctx)
    if rc is None:
        out.append(_na(ctx, "na_recheck"))
    else:
        out.append(_table(rc, ctx.tr("recheck_table")))
        f = ctx.tables.get("recheck_failed_forms")
        if f is not None:
            out.append(("md", ctx.tr("recheck_failed", n_failed=len(f),
                                      max_share=ctx.pct(f["share_disagreeing"].max()) if len(f) else "—")))
            if len(f):
                out.append(_table(recheck_failed_table(ctx), ctx.tr("recheck_failed_table")))
    s = ctx.tables.get("double_entry_summary")
    if s is None or not len(s):
        out.append(_na(ctx, "na_double_entry"))
    else:
        r = s.iloc[0]
        share = r["cells_differing"] / r["cells_compared"] if r["cells_compared"] else float("nan")
        out.append(("md", ctx.tr("double_entry", forms=int(r["forms_compared"]), cells=int(r["cells_compared"]),
                                 diff=int(r["cells_differing"]), share=ctx.pct(share, 2))))
        d = double_entry_table(ctx)
        if d is not None and len(d):
            out.append(_table(d, ctx.tr("double_entry_table")))
    return out


def section_cleaning(ctx: ReportContext) -> list[Block]:
    """3. Data cleaning summary, rules named in the report language."""
    return [("md", cleaning_md(ctx)), _table(cleaning_table(ctx), ctx.tr("cleaning_table"))]


def section_reliability(ctx: ReportContext) -> list[Block]:
    """4. Reliability: alpha per criterion, flagged items, CFA fit when computed."""
    out: list[Block] = [("md", f"## {ctx.tr('s_reliability')}\n\n{ctx.tr('reliability_text')}")]
    if "reliability_criteria" not in ctx.tables:
        return out + [_na(ctx, "na_reliability")]
    out.append(_table(reliability_table(ctx), ctx.tr("reliability_table")))
    ri = reliability_items_table(ctx)
    if ri is not None and len(ri):
        out.append(_table(ri, ctx.tr("reliability_items_table")))
    elif ri is not None:
        out.append(("md", ctx.tr("reliability_items_none")))
    c = cfa_table(ctx)
    out.append(("md", ctx.tr("cfa_text")))
    out.append(_na(ctx, "na_cfa") if c is None else _table(c, ctx.tr("cfa_table")))
    return out


def section_weighting(ctx: ReportContext) -> list[Block]:
    """5. Weighting: summary of the weights, margins before/after when computed."""
    out: list[Block] = [("md", weighting_md(ctx)), _table(weight_table(ctx), ctx.tr("weight_table"))]
    m = margins_table(ctx)
    out.append(_na(ctx, "na_margins") if m is None else _table(m, ctx.tr("margins_table")))
    return out


def section_results(ctx: ReportContext) -> list[Block]:
    """6. Results by aspect, criterion, district, respondent group and item."""
    out: list[Block] = [("md", f"## {ctx.tr('s_results')}\n\n{ctx.tr('results_text')}"),
                        _table(aspect_table(ctx), ctx.tr("aspect_table"))]
    out += _fig(ctx, "criteria")
    out += _fig(ctx, "districts")
    out.append(_table(district_table(ctx), ctx.tr("district_table")))
    out += _fig(ctx, "heatmap")
    out.append(_table(district_criteria_table(ctx), ctx.tr("district_criteria_table")))
    g = group_table(ctx)
    if g is not None:
        out.append(("md", ctx.tr("group_text")))
        out.append(_table(g, ctx.tr("group_table")))
        out += _fig(ctx, "groups")
    out.append(("md", ctx.tr("suppressed_note", min_n=ctx.cfg.min_cell_size)))
    out.append(_table(item_table(ctx), ctx.tr("item_table")))
    return out


def section_ranking(ctx: ReportContext) -> list[Block]:
    """7. Ranking of units with rank intervals and groups not distinguishable."""
    return [("md", f"## {ctx.tr('s_ranking')}\n\n{ctx.tr('ranking_text')} {ctx.tr('ranking_ci_text')}"),
            _table(ranking_table(ctx), ctx.tr("ranking_table"))]


def section_yoy(ctx: ReportContext) -> list[Block]:
    """8. Change since last year."""
    out: list[Block] = [("md", f"## {ctx.tr('s_yoy')}")]
    y = yoy_table(ctx)
    if y is None:
        return out + [("md", ctx.tr("yoy_none"))]
    return out + _fig(ctx, "change") + [_table(y, ctx.tr("yoy_table"))]


def section_needs(ctx: ReportContext) -> list[Block]:
    """9. Needs and expectations."""
    return [("md", f"## {ctx.tr('s_needs')}"), _table(needs_table(ctx), ctx.tr("needs_table"))]


def section_recommendations(ctx: ReportContext) -> list[Block]:
    """10. Recommendations, laid out for the Department of Home Affairs to fill."""
    return [("md", f"## {ctx.tr('s_recommend')}\n\n{ctx.tr('recommend_text')}"),
            ("html", html_table(recommendations_table(ctx), caption=ctx.tr("recommend_table"),
                                css_class="sipas-table sipas-form"))]


def methodology_md(ctx: ReportContext) -> str:
    """Appendix A: formulas and sources."""
    o = overall(ctx)
    kw = {"overall": _labels(ctx).get(o["id"], o["id"]), "min_n": ctx.cfg.min_cell_size,
          "instrument": ctx.instrument.path.name}
    items = [f"- {ctx.tr(f'method_list.{k}', **kw)}" for k in ctx.t["method_list"]]
    return "\n\n".join([f"## {ctx.tr('s_method')}",
                        ctx.tr("method_text", instrument=ctx.instrument.path.name),
                        f"### {ctx.tr('method_formulas')}", "\n".join(items)])


def section_methodology(ctx: ReportContext) -> list[Block]:
    return [("md", methodology_md(ctx))]


def section_provenance(ctx: ReportContext) -> list[Block]:
    """Appendix B: code version, checksums, configuration, seed, time."""
    text, files = provenance(ctx)
    return [("md", f"## {ctx.tr('s_provenance')}\n\n{text}"),
            _table(files, ctx.tr("provenance_table")),
            ("html", f'<p class="sipas-caption">{html.escape(ctx.tr("provenance_config"))}</p>'
                     f'<pre class="sipas-config">{html.escape(config_text(ctx))}</pre>')]


#: The report's sections in order (one notebook cell each).
SECTIONS = ("summary", "design", "cleaning", "reliability", "weighting", "results", "ranking", "yoy", "needs",
            "recommendations", "methodology", "provenance")


_TABLE_CAPTION = re.compile(r"<caption>(Bảng|Table) \d+\.\d+\.")


def section(ctx: ReportContext, name: str) -> list[Block]:
    """The blocks of section ``name`` (one of :data:`SECTIONS`).

    Tables are numbered ``<section>.1``, ``.2``, ... in the order they are shown, so
    that a table left out (nothing to show) leaves no gap; the XLSX export numbers
    its sheets the same way (:func:`report_tables`).
    """
    if name not in SECTIONS:
        raise ReportError(f"unknown report section {name!r}; expected one of {', '.join(SECTIONS)}")
    blocks = globals()[f"section_{name}"](ctx)
    number = SECTIONS.index(name) + 1
    count = 0

    def renumber(m: re.Match[str]) -> str:
        return f"<caption>{m.group(1)} {number}.{count}."

    out: list[Block] = []
    for kind, value in blocks:
        if kind == "html" and _TABLE_CAPTION.search(value):
            count += 1
            value = _TABLE_CAPTION.sub(renumber, value, count=1)
        out.append((kind, value))
    return out


# --------------------------------------------------------------------------- XLSX

def report_tables(ctx: ReportContext) -> dict[str, pd.DataFrame]:
    """Every table of the report, keyed by its number (sheet name of the XLSX export)."""
    sheets: dict[str, pd.DataFrame | None] = {
        "1.1": key_figures_table(ctx),
        "2.1": response_table(ctx) if "response_rates" in ctx.tables else None,
        "2.2": recheck_table(ctx), "2.3": recheck_failed_table(ctx), "2.4": double_entry_table(ctx),
        "3.1": cleaning_table(ctx),
        "4.1": reliability_table(ctx) if "reliability_criteria" in ctx.tables else None,
        "4.2": reliability_items_table(ctx), "4.3": cfa_table(ctx),
        "5.1": weight_table(ctx), "5.2": margins_table(ctx),
        "6.1": aspect_table(ctx), "6.2": district_table(ctx), "6.3": district_criteria_table(ctx),
        "6.4": group_table(ctx), "6.5": item_table(ctx), "7.1": ranking_table(ctx), "8.1": yoy_table(ctx),
        "9.1": needs_table(ctx), "10.1": recommendations_table(ctx),
    }
    # numbered as shown: tables with nothing to show are left out and the rest renumbered
    out: dict[str, pd.DataFrame] = {}
    counts: dict[str, int] = {}
    for key, table in sheets.items():
        if table is None or not len(table):
            continue
        sec = key.split(".")[0]
        counts[sec] = counts.get(sec, 0) + 1
        out[f"{sec}.{counts[sec]}"] = table
    return out


def export_tables_xlsx(ctx: ReportContext, path: str | Path | None = None) -> Path:
    """The report's tables as one XLSX workbook for the Department (one sheet per table).

    Bytes are deterministic: :func:`sipas.io.xlsx_bytes` fixes the workbook properties
    (created, modified, creator) and the zip entry times.
    """
    import io

    from openpyxl.utils import get_column_letter

    path = Path(path) if path else ctx.reports / "tables.xlsx"
    with pd.ExcelWriter(io.BytesIO(), engine="openpyxl") as xw:
        for name, df in report_tables(ctx).items():
            df.to_excel(xw, sheet_name=name, index=False)
            ws = xw.sheets[name]
            for j, col in enumerate(df.columns, start=1):
                width = max([len(str(col))] + [len(str(v)) for v in df[col].head(200)])
                ws.column_dimensions[get_column_letter(j)].width = min(max(6, width + 2), 60)
            ws.freeze_panes = "A2"
        book = xw.book
    return sio.atomic_write_bytes(path, sio.xlsx_bytes(book))


# --------------------------------------------------------------------------- rendering

def _kernel_name() -> str:
    return "sipas"


def run_notebooks(survey_id: str, *, root: str | Path | None = None, notebooks: tuple[str, ...] = NOTEBOOKS,
                  progress: bool = True) -> list[Path]:
    """Execute the notebook chain with papermill into ``reports/<id>/notebooks``."""
    import papermill as pm

    root = Path(root) if root else project_root()
    src = Path(__file__).resolve().parent.parent / "notebooks"
    if not src.is_dir():
        src = root / "notebooks"
    outdir = root / "reports" / survey_id / "notebooks"
    outdir.mkdir(parents=True, exist_ok=True)
    done = []
    for i, nb in enumerate(notebooks, 1):
        if progress:
            print(f"[{i}/{len(notebooks)}] {nb} ...", flush=True)
        out = outdir / f"{nb}.ipynb"
        pm.execute_notebook(str(src / f"{nb}.ipynb"), str(out), parameters={"survey_id": survey_id,
                                                                             "root": str(root)},
                            kernel_name=_kernel_name(), progress_bar=False, cwd=str(root))
        done.append(out)
    return done


def report_css() -> str:
    """The report's screen and print style (``resources/report.css``: A4, tables and figures kept whole)."""
    return (resources.files("sipas") / "resources" / "report.css").read_text(encoding="utf-8")


def to_html(notebook: str | Path, out: str | Path, *, title: str | None = None, lang: str = "vi") -> Path:
    """Convert an executed notebook to HTML with no code cells and no prompts.

    Adds the report style (:func:`report_css`), the document language and title, and
    removes scripts that load from the network (require.js, MathJax, mermaid: the report
    has no widgets, typeset formulas or diagrams), so the file reads and prints offline.
    """
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4)
    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title or Path(notebook).stem}})
    body = re.sub(r'<script[^>]*src="https?://[^"]*"[^>]*>\s*</script>\s*', "", body)
    body = re.sub(r"<script\b[^>]*>(?:(?!</script>).)*?(?:MathJax|https?://)(?:(?!</script>).)*</script>\s*", "",
                  body, flags=re.S)
    body = re.sub(r"<html(\s[^>]*)?>", f'<html lang="{lang}">', body, count=1)
    body = body.replace("</head>", f'<style type="text/css">\n{report_css()}\n</style>\n</head>', 1)
    body = body.replace("<body", '<body data-sipas-report="1"', 1)
    return sio.atomic_write_text(out, body)


def find_chromium() -> str | None:
    """Path of a headless-capable Chromium (``SIPAS_CHROMIUM`` or :data:`CHROMIUM_NAMES` on PATH)."""
    env = os.environ.get("SIPAS_CHROMIUM")
    if env:
        return env if Path(env).is_file() else shutil.which(env)
    for name in CHROMIUM_NAMES:
        p = shutil.which(name)
        if p:
            return p
    return None


def chromium_args(chromium: str, user_data_dir: str | Path) -> list[str]:
    """Command line of headless Chromium without network, GPU, first-run or sync activity."""
    return [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", f"--user-data-dir={user_data_dir}"]


def to_pdf(html_path: str | Path, pdf_path: str | Path, *, chromium: str | None = None,
           timeout: float = 300) -> Path:
    """Print the HTML report to PDF with headless Chromium (A4 from the print CSS, no header/footer).

    Raises
    ------
    ReportError
        When Chromium is not found, fails, times out or writes no PDF.
    """
    chromium = chromium or find_chromium()
    if not chromium:
        raise ReportError("headless Chromium not found (install chromium or set SIPAS_CHROMIUM)")
    html_path = Path(html_path).resolve()
    pdf_path = Path(pdf_path)
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sipas-chromium-") as tmp:
        tmp_pdf = Path(tmp) / "report.pdf"
        cmd = chromium_args(chromium, Path(tmp) / "profile") + [
            f"--print-to-pdf={tmp_pdf}", "--no-pdf-header-footer", html_path.as_uri()]
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ReportError(f"Chromium did not print {html_path} within {timeout:.0f} s") from exc
        if res.returncode != 0 or not tmp_pdf.is_file() or tmp_pdf.stat().st_size == 0:
            tail = (res.stderr or "").strip().splitlines()[-3:]
            raise ReportError(f"Chromium failed to print {html_path} (exit {res.returncode}): {' | '.join(tail)}")
        return sio.atomic_write_bytes(pdf_path, tmp_pdf.read_bytes())


def render(survey_id: str, *, root: str | Path | None = None, progress: bool = True,
           pdf: bool = True) -> Path:
    """Run the whole chain for ``survey_id``: ``reports/<id>/report.html`` and, with Chromium, ``report.pdf``.

    When Chromium is not installed the PDF is skipped with one printed line; the HTML is
    still written.
    """
    root = Path(root) if root else project_root()
    cfg = find_survey(survey_id, root=root)
    t = texts()
    title = t["title"].get(cfg.language, t["title"]["vi"]).format(year=cfg.year)
    nbs = run_notebooks(survey_id, root=root, progress=progress)
    out = to_html(nbs[-1], root / "reports" / survey_id / "report.html", title=title, lang=cfg.language)
    if progress:
        print(f"report: {out}", flush=True)
    if pdf:
        chromium = find_chromium()
        if chromium is None:
            print("report: PDF skipped — headless Chromium not found (install chromium or set SIPAS_CHROMIUM)",
                  flush=True)
        else:
            p = to_pdf(out, out.with_suffix(".pdf"), chromium=chromium)
            if progress:
                print(f"report: {p}", flush=True)
    return out

"""The yearly report: context from processed files, Vietnamese text from data, rendering.

The report notebook (``notebooks/05_report.ipynb``) is a list of calls to this module;
every sentence it shows comes from ``resources/report_text.yml`` (vi and en) with
numbers formatted here (:func:`fmt_pct`: decimal comma in Vietnamese).
:func:`render` runs the notebook chain with papermill and converts the report
notebook to HTML with nbconvert, without code cells or prompts.
"""

from __future__ import annotations

import datetime as _dt
import html
import subprocess
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from sipas import __version__
from sipas import io as sio
from sipas.config import SurveyConfig, find_survey, project_root
from sipas.instrument import load_instrument

NOTEBOOKS = ("01_cleaning", "02_reliability", "03_weighting", "04_indices", "05_report")


def texts() -> dict[str, Any]:
    """The report's texts (``resources/report_text.yml``)."""
    return yaml.safe_load((resources.files("sipas") / "resources" / "report_text.yml").read_text(encoding="utf-8"))


def fmt_num(x: float, *, digits: int = 1, lang: str = "vi") -> str:
    """A number with ``digits`` decimals; decimal comma and dot thousands in Vietnamese."""
    if x is None or pd.isna(x):
        return "—"
    s = f"{x:,.{digits}f}"
    if lang == "vi":
        s = s.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")
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

    def tr(self, key: str, **kw: Any) -> str:
        """Text ``key`` in the report language with placeholders filled."""
        node = self.t
        for part in key.split("."):
            node = node[part]
        return node.get(self.lang, node["vi"]).format(**kw)

    def pct(self, p: float, digits: int = 1) -> str:
        return fmt_pct(p, digits=digits, lang=self.lang)

    def num(self, x: float, digits: int = 1) -> str:
        return fmt_num(x, digits=digits, lang=self.lang)


def load_context(survey_id: str, *, root: str | Path | None = None) -> ReportContext:
    """Read a survey's processed tables for the report."""
    root = Path(root) if root else project_root()
    cfg = find_survey(survey_id, root=root)
    proc = cfg.processed_dir(root)
    tables = {}
    for f in sorted(proc.glob("*.csv")):
        tables[f.stem] = sio.read_csv(f)
    inst = load_instrument(cfg.instrument_id, cfg.instrument_version)
    return ReportContext(cfg=cfg, lang=cfg.language, t=texts(), tables=tables, instrument=inst, processed=proc,
                         reports=cfg.reports_dir(root))


def html_table(df: pd.DataFrame, *, caption: str | None = None) -> str:
    """A plain HTML table (escaped), for display in the report notebook."""
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in df.itertuples(index=False))
    return f'<table class="sipas-table">{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


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


def overall(ctx: ReportContext) -> pd.Series:
    """The province's overall index row."""
    t = _idx(ctx)
    return t[(t["domain_type"] == "province") & (t["level"] == "overall")].iloc[0]


def summary_md(ctx: ReportContext) -> str:
    """Section 1: the summary for the council."""
    o = overall(ctx)
    rank = ctx.tables["ranking"]
    rr = ctx.tables.get("response_rates")
    if rr is not None:
        rr = rr[rr["district"] != "Total"]
    n_ret = int(rr["returned"].sum()) if rr is not None else len(ctx.tables["forms_clean"])
    n_dist = int(rr["distributed"].sum()) if rr is not None else n_ret
    parts = [f"## {ctx.tr('s_summary')}", ctx.tr(
        "summary_text", province=ctx.cfg.province[ctx.lang] if ctx.lang in ctx.cfg.province else ctx.cfg.province["vi"],
        year=ctx.cfg.year, overall=ctx.pct(o["estimate"]), lo=ctx.pct(o["ci_low"]), hi=ctx.pct(o["ci_high"]),
        n_valid=len(ctx.tables["forms_clean"]), n_returned=n_ret, rr=ctx.pct(n_ret / n_dist),
        top=rank.iloc[0]["domain"], top_val=ctx.pct(rank.iloc[0]["estimate"]),
        bottom=rank.iloc[-1]["domain"], bottom_val=ctx.pct(rank.iloc[-1]["estimate"]))]
    yoy = ctx.tables.get("year_over_year")
    if yoy is not None:
        r = yoy[(yoy["domain_type"] == "province") & (yoy["level"] == "overall")].iloc[0]
        parts.append(ctx.tr("summary_change", prev_year=ctx.cfg.year - 1, change=ctx.num(100 * r["change"]),
                            lo=ctx.num(100 * r["ci_low_change"]), hi=ctx.num(100 * r["ci_high_change"]),
                            sig=ctx.tr("sig_yes" if r["significant"] else "sig_no")))
    if "synthetic" in str(ctx.cfg.extra.get("description", {})).lower() or "mô phỏng" in ctx.cfg.province["vi"]:
        parts.append(f"> {ctx.tr('synthetic_note')}")
    return "\n\n".join(parts)


def response_table(ctx: ReportContext) -> pd.DataFrame:
    """Table 2.1: distribution, return and valid forms by district."""
    rr = ctx.tables["response_rates"]
    rr = rr[rr["district"] != "Total"]
    g = rr.groupby("district", sort=False)[["distributed", "returned", "valid"]].sum().reset_index()
    tot = g[["distributed", "returned", "valid"]].sum()
    g = pd.concat([g, pd.DataFrame([{"district": ctx.tr("legend_province"), **tot.to_dict()}])], ignore_index=True)
    g["return_rate"] = g["returned"] / g["distributed"]
    g["valid_rate"] = g["valid"] / g["returned"]
    return pd.DataFrame({
        ctx.tr("col.district"): g["district"],
        ctx.tr("col.distributed"): g["distributed"], ctx.tr("col.returned"): g["returned"],
        ctx.tr("col.valid"): g["valid"],
        ctx.tr("col.return_rate"): [ctx.num(100 * x) for x in g["return_rate"]],
        ctx.tr("col.valid_rate"): [ctx.num(100 * x) for x in g["valid_rate"]],
    })


def design_md(ctx: ReportContext) -> str:
    """Section 2 text: the sample."""
    w = ctx.tables["weights"]
    rr = ctx.tables.get("response_rates")
    return "\n\n".join([f"## {ctx.tr('s_design')}", ctx.tr(
        "design_text", n_districts=w["district"].nunique(), n_communes=w["commune"].nunique(),
        n_villages=w[["commune", "village"]].drop_duplicates().shape[0],
        n_sampled=int(rr.loc[rr["district"] != "Total", "distributed"].sum()) if rr is not None else len(w))])


def cleaning_md(ctx: ReportContext) -> str:
    """Section 3 text."""
    n_valid = len(ctx.tables["forms_clean"])
    n_inv = len(ctx.tables.get("forms_invalid", pd.DataFrame()))
    return "\n\n".join([f"## {ctx.tr('s_cleaning')}",
                        ctx.tr("cleaning_text", n_in=n_valid + n_inv, n_valid=n_valid, n_invalid=n_inv)])


def cleaning_table(ctx: ReportContext) -> pd.DataFrame:
    """Table 3.1: forms and cells affected per cleaning rule."""
    s = ctx.tables["cleaning_summary"]
    cols = {"rule": ctx.tr("col.rule"), "forms_affected": ctx.tr("col.forms_affected"),
            "cells_changed": ctx.tr("col.cells_changed")}
    keep = [c for c in cols if c in s.columns]
    extra = [c for c in s.columns if c.startswith("description") or c == f"label_{ctx.lang}"]
    t = s[keep + extra].rename(columns=cols)
    return t


def reliability_table(ctx: ReportContext) -> pd.DataFrame:
    """Table 4.1: alpha with Feldt CI per criterion."""
    r = ctx.tables["reliability_criteria"]
    lab = _labels(ctx)
    return pd.DataFrame({
        ctx.tr("col.criterion"): [lab.get(str(c), str(c)) for c in r["criterion"]],
        ctx.tr("col.k"): r["k"], ctx.tr("col.n"): r["n"],
        ctx.tr("col.alpha"): [ctx.num(a, 3) for a in r["alpha"]],
        ctx.tr("col.ci"): [f"{ctx.num(a, 3)} – {ctx.num(b, 3)}" for a, b in zip(r["ci_low"], r["ci_high"])],
        ctx.tr("col.weak_items"): r["weak_items"].fillna("") if "weak_items" in r else "",
    })


def weighting_md(ctx: ReportContext) -> str:
    s = ctx.tables["weight_summary"]
    fin = s[s["weights"] == "final"].iloc[0]
    return "\n\n".join([f"## {ctx.tr('s_weighting')}",
                        ctx.tr("weighting_text", deff=ctx.num(fin["kish_deff"], 2), neff=ctx.num(fin["n_eff"], 0))])


def weight_table(ctx: ReportContext) -> pd.DataFrame:
    s = ctx.tables["weight_summary"].copy()
    s["weights"] = [ctx.tr(f"weights_kind.{k}") for k in s["weights"]]
    num_cols = [c for c in s.columns if c != "weights"]
    out = s[["weights"] + num_cols].rename(columns={"weights": ctx.tr("col.weights")})
    for c in num_cols:
        out[c] = [ctx.num(v, 2) for v in out[c]]
    return out


def _fmt_index_rows(ctx: ReportContext, t: pd.DataFrame, label_col: str, labels: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({
        label_col: labels.to_numpy(),
        ctx.tr("col.estimate"): [ctx.num(100 * v) for v in t["estimate"]],
        ctx.tr("col.ci"): [f"{ctx.num(100 * a)} – {ctx.num(100 * b)}" for a, b in zip(t["ci_low"], t["ci_high"])],
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
    """Table 6.3: overall index per district (small cells suppressed)."""
    t = _idx(ctx)
    t = t[(t["domain_type"] == "district") & (t["level"] == "overall")].sort_values("estimate", ascending=False)
    return _fmt_index_rows(ctx, t, ctx.tr("col.district"), t["domain"])


def ranking_table(ctx: ReportContext) -> pd.DataFrame:
    r = ctx.tables["ranking"]
    return pd.DataFrame({
        ctx.tr("col.rank"): r["rank"], ctx.tr("col.district"): r["domain"],
        ctx.tr("col.estimate"): [ctx.num(100 * v) for v in r["estimate"]],
        ctx.tr("col.ci"): [f"{ctx.num(100 * a)} – {ctx.num(100 * b)}" for a, b in zip(r["ci_low"], r["ci_high"])],
        ctx.tr("col.group"): r["group"],
    })


def yoy_table(ctx: ReportContext) -> pd.DataFrame | None:
    y = ctx.tables.get("year_over_year")
    if y is None:
        return None
    y = y[y["level"].isin(["overall"])].copy()
    return pd.DataFrame({
        ctx.tr("col.unit"): y["domain"],
        ctx.tr("col.previous"): [ctx.num(100 * v) for v in y["estimate_prev"]],
        ctx.tr("col.estimate"): [ctx.num(100 * v) for v in y["estimate"]],
        ctx.tr("col.change"): [ctx.num(100 * v) for v in y["change"]],
        ctx.tr("col.ci"): [f"{ctx.num(100 * a)} – {ctx.num(100 * b)}"
                           for a, b in zip(y["ci_low_change"], y["ci_high_change"])],
        ctx.tr("col.significant"): [ctx.tr("col.answer_yes" if s else "col.answer_no") for s in y["significant"]],
    })


def needs_table(ctx: ReportContext) -> pd.DataFrame:
    n = ctx.tables["needs"].sort_values("estimate", ascending=False)
    lab = _labels(ctx)
    return pd.DataFrame({
        ctx.tr("col.label"): [lab.get(i, i) for i in n["id"]],
        ctx.tr("col.share"): [ctx.num(100 * v) for v in n["estimate"]],
        ctx.tr("col.ci"): [f"{ctx.num(100 * a)} – {ctx.num(100 * b)}" for a, b in zip(n["ci_low"], n["ci_high"])],
        ctx.tr("col.n"): n["n"],
    })


def make_figures(ctx: ReportContext) -> dict[str, Path]:
    """Draw every chart of the report; PNG and SVG under ``reports/<id>/figures``."""
    import matplotlib.pyplot as plt

    from sipas import charts

    figdir = ctx.reports / "figures"
    t = _idx(ctx, published=False)
    lab = _labels(ctx)
    out = {}
    o = overall(ctx)
    d = t[(t["domain_type"] == "district") & (t["level"] == "overall")].rename(columns={"domain": "unit"})
    fig = charts.index_by_unit(d, unit="unit", title=ctx.tr("fig_districts"), xlabel=ctx.tr("axis_index"),
                               reference=o["estimate"], reference_label=ctx.tr("legend_province"))
    out["districts"] = charts.save(fig, figdir / "index_by_district")[0]
    plt.close(fig)

    c = t[(t["domain_type"] == "province") & (t["level"] == "criterion")].copy()
    c["label"] = [lab.get(str(i), str(i)) for i in c["id"]]
    fig = charts.criteria_profile(c, title=ctx.tr("fig_criteria"), xlabel=ctx.tr("axis_index"))
    out["criteria"] = charts.save(fig, figdir / "criteria_profile")[0]
    plt.close(fig)

    h = t[(t["domain_type"] == "district") & (t["level"] == "criterion")]
    mat = h.pivot(index="id", columns="domain", values="estimate")
    mat.index = [lab.get(str(i), str(i)) for i in mat.index]
    fig = charts.heatmap(mat, title=ctx.tr("fig_heatmap"), cbar_label=ctx.tr("axis_index"))
    out["heatmap"] = charts.save(fig, figdir / "criteria_by_district")[0]
    plt.close(fig)

    y = ctx.tables.get("year_over_year")
    if y is not None:
        yy = y[(y["level"] == "overall")].rename(columns={"domain": "unit", "ci_low_change": "ci_low",
                                                          "ci_high_change": "ci_high"})
        fig = charts.change_since_last_year(yy, title=ctx.tr("fig_change"), xlabel=ctx.tr("axis_change"))
        out["change"] = charts.save(fig, figdir / "change_since_last_year")[0]
        plt.close(fig)

    p = ctx.tables.get("profile")
    if p is not None and len(p):
        prof = ctx.instrument.raw.get("profile", [])
        vlab = {v["id"]: v["text"].get(ctx.lang, v["text"]["vi"]) for v in prof}
        llab = {(v["id"], int(k)): l.get(ctx.lang, l["vi"]) for v in prof for k, l in (v.get("codes") or {}).items()}
        pp = p.assign(variable_label=[vlab.get(v, v) for v in p["variable"]],
                      level_label=[llab.get((v, int(l)), str(l)) for v, l in zip(p["variable"], p["level"])])
        fig = charts.response_profile(pp, title=ctx.tr("fig_profile"))
        out["profile"] = charts.save(fig, figdir / "respondent_profile")[0]
        plt.close(fig)
    ctx.figures = out
    return out


def provenance(ctx: ReportContext) -> tuple[str, pd.DataFrame]:
    """Provenance text (version, commit, seed, time) and the input checksum table."""
    root = ctx.processed.parent.parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                                text=True, check=False).stdout.strip() or "?"
    except OSError:
        commit = "?"
    files = [ctx.cfg.path, *ctx.cfg.responses, *ctx.cfg.frames.values()]
    samp = (ctx.cfg.extra.get("sampling") or {}).get("sample_file")
    if samp:
        files.append(ctx.cfg.raw_path(samp))
    rows = []
    for f in files:
        try:
            rel = str(Path(f).resolve().relative_to(root.resolve()))
        except ValueError:
            rel = Path(f).name
        rows.append({ctx.tr("col.file"): rel, ctx.tr("col.sha256"): sio.sha256_file(f)})
    text = ctx.tr("provenance_text", version=__version__, commit=commit, survey_id=ctx.cfg.survey_id,
                  seed=ctx.cfg.seed, time=_dt.datetime.now().strftime("%Y-%m-%d %H:%M"))
    return text, pd.DataFrame(rows)


def export_tables_xlsx(ctx: ReportContext, path: str | Path | None = None) -> Path:
    """The report's tables as one XLSX workbook for the Department (one sheet per table)."""
    import io

    path = Path(path) if path else ctx.reports / "tables.xlsx"
    sheets = {"2.1": response_table(ctx), "3.1": cleaning_table(ctx), "4.1": reliability_table(ctx),
              "5.1": weight_table(ctx), "6.1": aspect_table(ctx), "6.2": item_table(ctx),
              "6.3": district_table(ctx), "7.1": ranking_table(ctx), "9.1": needs_table(ctx)}
    y = yoy_table(ctx)
    if y is not None:
        sheets["8.1"] = y
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        for name, df in sheets.items():
            df.to_excel(xw, sheet_name=name, index=False)
    return sio.atomic_write_bytes(path, buf.getvalue())


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


def to_html(notebook: str | Path, out: str | Path) -> Path:
    """Convert an executed notebook to HTML with no code cells and no prompts."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4)
    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(nb)
    return sio.atomic_write_text(out, body)


def render(survey_id: str, *, root: str | Path | None = None, progress: bool = True) -> Path:
    """Run the whole chain for ``survey_id`` and write ``reports/<id>/report.html``."""
    root = Path(root) if root else project_root()
    nbs = run_notebooks(survey_id, root=root, progress=progress)
    out = to_html(nbs[-1], root / "reports" / survey_id / "report.html")
    if progress:
        print(f"report: {out}", flush=True)
    return out

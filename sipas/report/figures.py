"""The report's figures, drawn once per render into ``reports/<id>/figures``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sipas.report.blocks import Block
from sipas.report.context import (
    GROUP_VARS,
    ReportContext,
    _idx,
    _labels,
    _published,
    benchmark,
    group_label,
    overall,
)
from sipas.report.tables import WIDE_UNITS
from sipas.text.collation import vi_sort_key


def make_figures(ctx: ReportContext) -> dict[str, Path]:
    """Draw every chart of the report; PNG and SVG under ``reports/<id>/figures``."""
    import matplotlib.pyplot as plt

    from sipas.report import charts

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

    c = t[(t["domain_type"] == ctx.total) & (t["level"] == "criterion")].copy()
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

    y = _published(ctx, "year_over_year")
    if y is not None:
        yy = y[(y["level"] == "overall") & y["change"].notna()].rename(columns={"domain": "unit", "ci_low_change": "ci_low",
                                                          "ci_high_change": "ci_high"})
        yy["unit"] = [ctx.tr("legend_province") if dt == ctx.total else u for dt, u in zip(yy["domain_type"], yy["unit"])]
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


def _fig(ctx: ReportContext, name: str) -> list[Block]:
    p = ctx.figures.get(name)
    return [("img", (p, ctx.tr(f"fig_{name}")))] if p is not None else []

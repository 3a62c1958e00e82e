"""The national report's own section: provinces ranked with their uncertainty, the tile-grid map, the change
through the 2025 merger, published values beside sipas's estimates."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import pandas as pd

from sipas.errors import StageInputMissing
from sipas.indices.rank_uncertainty import N_DRAWS
from sipas.report.blocks import Block, _table
from sipas.report.context import ReportContext, _published

@lru_cache(maxsize=1)
def tile_layout() -> pd.DataFrame:
    """Tile-grid positions (``province, row, col``) of the 34 provinces (``resources/province_tiles_2025.csv``)."""
    with resources.files("sipas").joinpath("resources/province_tiles_2025.csv").open("rb") as f:
        return pd.read_csv(f, keep_default_na=False)


def province_ranking(ctx: ReportContext) -> pd.DataFrame:
    """``<unit>_ranking.csv`` of the indices stage (:func:`sipas.indices.rank_uncertainty.unit_ranking_tables`):
    the report only shows it, never simulates.

    Raises
    ------
    StageInputMissing
        When the indices stage has not written it (rerun ``sipas indices``).
    """
    r = ctx.tables.get(f"{ctx.unit}_ranking")
    if r is None:
        raise StageInputMissing(f"{ctx.processed / f'{ctx.unit}_ranking.csv'} is missing; rerun the indices stage")
    return r


def ranking_display(ctx: ReportContext, r: pd.DataFrame) -> pd.DataFrame:
    """The ranking as the report shows it (texts from ``report_text.yml`` ``national.col``)."""
    c = lambda k: ctx.tr(f"national.col.{k}")  # noqa: E731
    out = pd.DataFrame({
        c("rank"): r["rank"].astype(int).astype(str),
        c("province"): r["domain"],
        c("index"): [ctx.num(100 * v) for v in r["estimate"]],
        c("ci"): [ctx.ci(lo, hi) for lo, hi in zip(r["ci_low"], r["ci_high"])],
        c("rank_interval"): [f"{int(a)}–{int(b)}" for a, b in zip(r["rank_low"], r["rank_high"])],
        ctx.tr("national.col.p_top_k", k=int(r["top_k"].iat[0])): [ctx.pct(p, 0) for p in r["p_top_k"]],
    })
    if "p_improved" in r.columns:
        out[c("rank_prev")] = [("—" if pd.isna(v) else str(int(v))) for v in r["rank_prev"]]
        out[c("p_improved")] = ["—" if pd.isna(p) else ctx.pct(p, 0) for p in r["p_improved"]]
    out[c("published")] = ["—" if pd.isna(v) else ctx.num(100 * v) for v in r["published"]]
    return out


def merger_yoy_display(ctx: ReportContext) -> pd.DataFrame | None:
    """Change since last year per province, last year's provinces named where they merged."""
    from sipas.indices.merger import merger_table

    y = _published(ctx, "year_over_year")
    if y is None or not len(y):
        return None
    y = y[(y["level"] == "overall")]
    # the whole country first, then the provinces by change
    y = pd.concat([y[y["domain_type"] == ctx.total],
                   y[y["domain_type"] == ctx.unit].sort_values("change", ascending=False, kind="stable")])
    members = merger_table().groupby("province")["province_old"].apply(lambda s: ", ".join(s))
    c = lambda k: ctx.tr(f"national.col.{k}")  # noqa: E731
    return pd.DataFrame({
        c("province"): [ctx.tr("legend_province") if t == ctx.total else d
                        for t, d in zip(y["domain_type"], y["domain"])],
        c("merged_from"): y["domain"].map(members).fillna("—"),
        c("prev"): [ctx.num(100 * v) for v in y["estimate_prev"]],
        c("index"): [ctx.num(100 * v) for v in y["estimate"]],
        c("change"): [ctx.num(100 * v) for v in y["change"]],
        c("ci_change"): [ctx.ci(lo, hi) for lo, hi in zip(y["ci_low_change"], y["ci_high_change"])],
    })


def national_figures(ctx: ReportContext, r: pd.DataFrame) -> dict[str, Path]:
    """The rank-interval chart and the tile-grid map, saved under ``reports/<id>/figures``."""
    from sipas.report import charts

    figdir = ctx.reports / "figures"
    out = {}
    with charts.style():
        fig = charts.rank_intervals_chart(r, title=ctx.tr("national.fig_ranks", k=int(r["top_k"].iat[0])),
                                          xlabel=ctx.tr("national.axis_rank"), top_k=int(r["top_k"].iat[0]))
        out["ranks"] = charts.save(fig, figdir / "rank_intervals")[0]
        fig = charts.tile_map(r, tile_layout(), title=ctx.tr("national.fig_map"),
                              cbar_label=ctx.tr("axis_index"))
        out["map"] = charts.save(fig, figdir / "province_map")[0]
    return out


def other_indices_blocks(ctx: ReportContext) -> list[Block]:
    """Other indices beside the survey's (``other_indices.csv``, ``other_indices_correlation.csv`` of the indices
    stage; :mod:`sipas.indices.other_indices`): a text, the rank correlations with their CIs, and the units'
    values side by side.  Empty when the survey names no file of other indices (any kind's report may call it).
    """
    corr = ctx.tables.get("other_indices_correlation")
    vals = ctx.tables.get("other_indices")
    if corr is None or vals is None or not len(corr):
        return []
    c = lambda k: ctx.tr(f"other_indices.col.{k}")  # noqa: E731
    level = float(corr["level"].iat[0]) if "level" in corr.columns else 0.95
    ct = pd.DataFrame({
        c("indicator"): corr["indicator"].astype(str),
        c("year"): corr["year"].astype(int).astype(str),
        c("source"): corr["source"].astype(str),
        c("n"): corr["n"].astype(int).astype(str),
        c("r"): ["—" if pd.isna(r) else ctx.num(r, 2) for r in corr["r"]],
        c("ci"): ["—" if pd.isna(a) else f"{ctx.num(a, 2)} – {ctx.num(b, 2)}"
                  for a, b in zip(corr["ci_low"], corr["ci_high"])],
        c("unmatched"): [("—" if not int(k) else f"{int(k)}: {u}") for k, u in
                         zip(corr["n_unmatched"], corr["unmatched"].fillna(""))],
    })
    m = vals[vals["domain"].fillna("").astype(str) != ""]
    wide = m.assign(col=m["indicator"].astype(str) + " (" + m["year"].astype(int).astype(str) + ")").pivot_table(
        index="domain", columns="col", values="value", aggfunc="first", sort=True)
    est = m.drop_duplicates("domain").set_index("domain")["survey_estimate"].astype(float)
    wide = wide.reindex(est.sort_values(ascending=False, kind="stable").index)
    side = pd.DataFrame({ctx.tr("col.district"): wide.index.astype(str),
                         c("survey"): [ctx.num(100 * v) for v in est.reindex(wide.index)]})
    for col in wide.columns:
        side[col] = ["—" if pd.isna(v) else ctx.num(v, 2) for v in wide[col]]
    return [("md", f"### {ctx.tr('other_indices.s_title')}\n\n"
             + ctx.md("other_indices.text", level=ctx.num(100 * level, 0))),
            _table(ct, ctx.tr("other_indices.table_corr")),
            _table(side, ctx.tr("other_indices.table_values"))]


def _img(path: Path, caption: str) -> Block:
    return ("img", (path, caption))


def section_national(ctx: ReportContext) -> list[Block]:
    """The provinces: ranking with uncertainty, map, change through the merger, published values."""
    r = province_ranking(ctx)
    k = int(r["top_k"].iat[0]) if len(r) else 0
    figs = national_figures(ctx, r)
    sure_top = int((r["p_top_k"] >= 0.95).sum())
    unsure = int(((r["p_top_k"] > 0.05) & (r["p_top_k"] < 0.95)).sum())
    out: list[Block] = [("md", f"## {ctx.tr('national.s_title')}\n\n"
                         + ctx.md("national.text", n=len(r), k=k, sure=sure_top, unsure=unsure,
                                  draws=f"{N_DRAWS:,}".replace(",", "."))),
                        _table(ranking_display(ctx, r), ctx.tr("national.table_ranking", k=k)),
                        _img(figs["ranks"], ctx.tr("national.fig_ranks", k=k)),
                        _img(figs["map"], ctx.tr("national.fig_map"))]
    y = merger_yoy_display(ctx)
    out.append(("md", f"### {ctx.tr('national.s_merger')}\n\n{ctx.tr('national.merger_text')}"))
    out.append(("md", ctx.tr("yoy_none")) if y is None else _table(y, ctx.tr("national.table_merger")))
    return out + other_indices_blocks(ctx)

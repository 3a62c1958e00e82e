"""The national report's own section: provinces ranked with their uncertainty, the tile-grid map, the change
through the 2025 merger, published values beside sipas's estimates."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from sipas.report.blocks import Block, _table
from sipas.report.context import ReportContext, _published

#: Simulation size and seed offset of the rank probabilities (deterministic per survey seed).
N_DRAWS = 20000


@lru_cache(maxsize=1)
def tile_layout() -> pd.DataFrame:
    """Tile-grid positions (``province, row, col``) of the 34 provinces (``resources/province_tiles_2025.csv``)."""
    with resources.files("sipas").joinpath("resources/province_tiles_2025.csv").open("rb") as f:
        return pd.read_csv(f, keep_default_na=False)


def top_k(ctx: ReportContext, n_units: int) -> int:
    """``report.top_k`` of survey.yml (default 20), at most the number of units."""
    k = (ctx.cfg.extra.get("report") or {}).get("top_k", 20)
    return int(min(max(int(k), 1), n_units))


def province_ranking(ctx: ReportContext) -> pd.DataFrame:
    """Provinces' overall index with CI, rank, rank interval, P(top k) and P(improved) (simulated).

    Last year's SE per province is recovered from the change's SE, ``se_prev = sqrt(se_change^2 - se^2)``
    (the change of independent years, :func:`sipas.indices.rankings.year_over_year`), last year's draws are
    normal (df not kept in the change table).
    """
    from sipas.indices.rank_uncertainty import rank_uncertainty_table

    idx = _published(ctx, "indices")
    unit = ctx.unit
    t = idx[(idx["domain_type"] == unit) & (idx["level"] == "overall") & (idx["domain"] != ctx.cfg.province["vi"])
            & idx["estimate"].notna()].copy()
    prev = None
    y = ctx.tables.get("year_over_year")
    if y is not None and len(y):
        y = y[(y["level"] == "overall") & y["domain"].isin(t["domain"])]
        se_now = y["domain"].map(dict(zip(t["domain"], t["se"]))).astype(float)
        prev = pd.DataFrame({"domain": y["domain"], "estimate": y["estimate_prev"].astype(float),
                             "se": np.sqrt(np.maximum(y["se_change"].astype(float) ** 2 - se_now ** 2, 0.0))})
    k = top_k(ctx, len(t))
    r = rank_uncertainty_table(t[["domain", "estimate", "se", "ci_low", "ci_high", "df", "n"]], top_k=k,
                               previous=prev, n_draws=N_DRAWS, seed=ctx.cfg.seed)
    from sipas.indices.published import published_values

    pub = published_values(verified_only=True)
    pub = pub[(pub["scope"] == "province") & (pub["indicator"] == "overall") & (pub["year"] == ctx.cfg.year)]
    r["published"] = r["domain"].map(dict(zip(pub["province"], pub["value"])))
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
        c("p_top_k").format(k=int(r["top_k"].iat[0])): [ctx.pct(p, 0) for p in r["p_top_k"]],
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
    y = y[(y["level"] == "overall")].sort_values("change", ascending=False, kind="stable")
    members = merger_table().groupby("province")["province_old"].apply(lambda s: ", ".join(s))
    c = lambda k: ctx.tr(f"national.col.{k}")  # noqa: E731
    return pd.DataFrame({
        c("province"): y["domain"],
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
    return out

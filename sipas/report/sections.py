"""The report's sections in order; each returns display blocks (Markdown, HTML tables, figures)."""

from __future__ import annotations

import html
import re

from sipas.errors import ReportError
from sipas.report.blocks import Block, _table, html_table, md_escape
from sipas.report.context import ReportContext, _na, _published
from sipas.report.figures import _fig
from sipas.report.national import other_indices_blocks, section_national  # noqa: F401 (found by section())
from sipas.report.tables import (
    aspect_table,
    cfa_table,
    cleaning_md,
    cleaning_table,
    config_text,
    distribution_table,
    design_md,
    district_criteria_table,
    district_table,
    double_entry_table,
    group_table,
    item_table,
    key_figures_table,
    margins_table,
    methodology_md,
    needs_table,
    precision_md,
    provenance,
    published_table,
    ranking_table,
    recheck_failed_table,
    recheck_table,
    recommendations_table,
    reliability_items_table,
    reliability_table,
    response_table,
    reward_table,
    rule_md,
    sensitivity_table,
    summary_md,
    weight_table,
    weighting_md,
    yoy_table,
)


def title_md(ctx: ReportContext) -> str:
    return "# " + ctx.tr("title", year=ctx.cfg.year) + "\n\n**" + md_escape(ctx.province) + "**"


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
                        _table(aspect_table(ctx), ctx.tr("aspect_table")), ("md", rule_md(ctx))]
    out += _fig(ctx, "criteria")
    out += _fig(ctx, "districts")
    out.append(_table(district_table(ctx), ctx.tr("district_table")))
    caution = precision_md(ctx)
    if caution:
        out.append(("md", caution))
    out += _fig(ctx, "heatmap")
    out.append(_table(district_criteria_table(ctx), ctx.tr("district_criteria_table")))
    g = group_table(ctx)
    if g is not None:
        out.append(("md", ctx.tr("group_text")))
        out.append(_table(g, ctx.tr("group_table")))
        out += _fig(ctx, "groups")
    out.append(("md", ctx.tr("suppressed_note", min_n=ctx.cfg.min_cell_size)))
    out.append(_table(item_table(ctx), ctx.tr("item_table")))
    d = distribution_table(ctx)
    if d is not None:
        out.append(("md", f"### {ctx.tr('s_perception')}\n\n{ctx.tr('perception_text')}"))
        out.append(_table(d, ctx.tr("distribution_table")))
    return out


def section_ranking(ctx: ReportContext) -> list[Block]:
    """7. Ranking of units with rank intervals and groups not distinguishable."""
    out: list[Block] = [("md", f"## {ctx.tr('s_ranking')}\n\n{ctx.tr('ranking_text')} {ctx.tr('ranking_ci_text')}"),
                        _table(ranking_table(ctx), ctx.tr("ranking_table"))]
    caution = precision_md(ctx)
    return out + ([("md", caution)] if caution else []) + other_indices_blocks(ctx)


def section_reward(ctx: ReportContext) -> list[Block]:
    """Units significantly above or below the area's index (``unit_comparison.csv``), for reward or discipline."""
    t = reward_table(ctx)
    out: list[Block] = [("md", f"## {ctx.tr('s_reward')}\n\n{ctx.tr('reward_text')}")]
    if t is None:
        return out + [_na(ctx, "na_reward")]
    return out + [_table(t, ctx.tr("reward_table"))]


def section_yoy(ctx: ReportContext) -> list[Block]:
    """8. Change since last year."""
    out: list[Block] = [("md", f"## {ctx.tr('s_yoy')}")]
    y = yoy_table(ctx)
    if y is None:
        return out + [("md", ctx.tr("yoy_none"))]
    raw = _published(ctx, "year_over_year")
    if "same_rule" in raw.columns and not raw["same_rule"].astype(str).eq("True").all():
        out.append(("md", f"> ⚠ {ctx.tr('yoy_rule_differs')}"))
    return out + _fig(ctx, "change") + [_table(y, ctx.tr("yoy_table"))]


def section_needs(ctx: ReportContext) -> list[Block]:
    """9. Needs and expectations."""
    return [("md", f"## {ctx.tr('s_needs')}"), _table(needs_table(ctx), ctx.tr("needs_table"))]


def section_recommendations(ctx: ReportContext) -> list[Block]:
    """10. Recommendations, laid out for the Department of Home Affairs to fill."""
    return [("md", f"## {ctx.tr('s_recommend')}\n\n{ctx.tr('recommend_text')}"),
            ("html", html_table(recommendations_table(ctx), caption=ctx.tr("recommend_table"),
                                css_class="sipas-table sipas-form"))]


def section_methodology(ctx: ReportContext) -> list[Block]:
    """Appendix A: formulas, the index rule and its sensitivity table, published values with sources."""
    out: list[Block] = [("md", methodology_md(ctx))]
    s = sensitivity_table(ctx)
    if s is not None:
        out.append(("md", f"### {ctx.tr('s_sensitivity')}\n\n{ctx.tr('sensitivity_text')}"))
        out.append(_table(s, ctx.tr("sensitivity_table")))
    p = published_table(ctx)
    if p is not None:
        out.append(("md", f"### {ctx.tr('s_published')}\n\n{ctx.tr('published_text')}"))
        out.append(_table(p, ctx.tr("published_table")))
    return out


def section_provenance(ctx: ReportContext) -> list[Block]:
    """Appendix B: code version, checksums, configuration, seed, time."""
    text, files = provenance(ctx)
    return [("md", f"## {ctx.tr('s_provenance')}\n\n{text}"),
            _table(files, ctx.tr("provenance_table")),
            ("html", f'<p class="sipas-caption">{html.escape(ctx.tr("provenance_config"))}</p>'
                     f'<pre class="sipas-config">{html.escape(config_text(ctx))}</pre>')]


#: The report's sections in order (one notebook cell each).
SECTIONS = ("summary", "design", "cleaning", "reliability", "weighting", "results", "national", "ranking", "reward",
            "yoy",
            "needs", "recommendations", "methodology", "provenance")


_TABLE_CAPTION = re.compile(r"<caption>(Bảng|Table) \d+\.\d+\.")


def section(ctx: ReportContext, name: str) -> list[Block]:
    """The blocks of section ``name`` (one of :data:`SECTIONS`).

    A section the survey's kind does not render (:attr:`sipas.kinds.SurveyKind.report_sections`) gives no
    blocks; sections are numbered in the kind's order.  Tables are numbered ``<section>.1``, ``.2``, ... in the order they are shown, so
    that a table left out (nothing to show) leaves no gap; the XLSX export numbers
    its sheets the same way (:func:`report_tables`).
    """
    if name not in SECTIONS:
        raise ReportError(f"unknown report section {name!r}; expected one of {', '.join(SECTIONS)}")
    kind = ctx.cfg.kind
    if not kind.has_section(name):
        return []
    blocks = globals()[f"section_{name}"](ctx)
    number = kind.report_sections.index(name) + 1
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

"""The display sections of a service-user plan (``notebooks/06_planning.ipynb`` for ``kind: service_user``).

The kind names these functions in :attr:`sipas.kinds.PlanningSpec.sections`; the notebook shows them by position
through :func:`sipas.planning.report.section`.  Each takes the :class:`~sipas.planning.service_plan.ServicePlanResult`
and returns display blocks; every heading, caption and label comes from ``resources/report_text.yml``
(``notebooks.planning.su_*`` and ``labels.planning``, vi and en), numbers are formatted for the language, tables
are escaped HTML.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from sipas.planning.report import _labels, _name, _num, _t, _table, _variable, components_frame
from sipas.planning.service_plan import AREA, ServicePlanResult
from sipas.report.blocks import Block, html_table, md_escape


def _unit(lab: dict[str, Any], u: Any) -> str:
    return _name(lab, "units", u) if str(u) == AREA else str(u)


def _flag(lab: dict[str, Any], v: Any) -> str:
    return lab["flag_yes"] if bool(v) else lab["flag_no"]


def intro(plan: ServicePlanResult, cfg: Any = None, *, lang: str) -> list[Block]:
    """The page's title and what was computed (units, forms, target, ranking goal, replicates), and in exit mode
    what the plan assumes of forms handed out at the desk."""
    s, n = plan.settings, plan.notes
    prov = n["province"]
    province = prov.get(lang, prov.get("vi", "")) if isinstance(prov, dict) else str(prov)
    max_se = plan.summary.set_index("key")["value"]["ranking_max_se"]
    gap = "" if s.gap is None else _t("su_gap", lang, gap=_num(s.gap, 1, lang), se=_num(max_se, 2, lang))
    out: list[Block] = [
        ("md", "# " + md_escape(_t("title", lang, survey_id=n["survey_id"]))),
        ("md", _t("su_intro", lang, year=n["year"], province=md_escape(province),
                  units=_num(len(plan.units["unit"].unique()), 0, lang), forms=_num(n["forms"], 0, lang),
                  target=_num(s.half_width, 1, lang), gap=gap, reps=s.reps))]
    if n.get("exit_mode"):
        out.append(("md", _t("su_exit_mode", lang)))
    if n.get("units_without_forms"):
        out.append(("md", _t("su_no_forms", lang, units=md_escape(", ".join(n["units_without_forms"])))))
    return out


def components_section(plan: ServicePlanResult, *, lang: str, cfg: Any = None) -> list[Block]:
    """Section 1: the one-way ANOVA of the forms' scores, units as groups (points²), shares and the ICC."""
    lab = _labels(lang)
    df = components_frame(plan.components, lang=lang, names="su_components")
    return [("md", "## " + _t("su_s_components", lang)), ("md", _t("su_components_text", lang)),
            _table(df, _t("su_components_table", lang), lab)]


def units_section(plan: ServicePlanResult, *, lang: str, cfg: Any = None) -> list[Block]:
    """Section 2: this year per unit: transactions, forms, mean, within-unit SD, Kish effect; SD per criterion."""
    lab = _labels(lang)
    u = plan.units
    ov = u[u["variable"] == "overall"]
    df = pd.DataFrame({
        "unit": ov["unit"].astype(str), "level": [_name(lab, "levels", v) for v in ov["level"]],
        "transactions": [_num(v, 0, lang) for v in ov["transactions"]],
        "forms_this_year": [_num(v, 0, lang) for v in ov["forms"]],
        "mean": [_num(v * 100, 1, lang) for v in ov["mean"]],
        "sd": [_num(v * 100, 1, lang) for v in ov["sd"]],
        "deff_w": [_num(v, 3, lang) for v in ov["deff_w"]],
    })
    wide = u.pivot(index="unit", columns="variable", values="sd").reindex(ov["unit"])
    sd = pd.DataFrame({lab["columns"]["unit"]: wide.index.astype(str)})
    for v in dict.fromkeys(u["variable"]):
        sd[_variable(lab, v)] = [_num(x * 100, 1, lang) for x in wide[v]]
    text = _t("su_units_text", lang, measured=_num(plan.notes["kish_deff_measured"], 3, lang),
              n=_num(plan.notes["forms"], 0, lang))
    return [("md", "## " + _t("su_s_units", lang)), ("md", text), _table(df, _t("su_units_table", lang), lab),
            ("html", html_table(sd, caption=_t("su_sd_table", lang), css_class="sipas-table"))]


def sizes_section(plan: ServicePlanResult, *, lang: str, cfg: Any = None) -> list[Block]:
    """Section 3: forms each unit needs for the target (nCont), every allocation's forms, expected half-width and
    cost per unit, and the totals per allocation (forms, cost, units that miss the target)."""
    lab = _labels(lang)
    s = plan.sizes
    target_rows = s[s["design"] == s["design"].iloc[0]]
    t1 = pd.DataFrame({
        "unit": target_rows["unit"].astype(str), "transactions": [_num(v, 0, lang) for v in target_rows["transactions"]],
        "sd": [_num(v * 100, 1, lang) for v in target_rows["sd"]],
        "deff_w": [_num(v, 3, lang) for v in target_rows["deff_w"]],
        "n_cont": [_num(v, 2, lang) for v in target_rows["n_cont"]],
        "forms_target": [_num(v, 0, lang) for v in target_rows["forms_target"]],
    })
    t2 = pd.DataFrame({
        "allocation": [_name(lab, "designs", v) for v in s["design"]], "unit": s["unit"].astype(str),
        "forms": [_num(v, 0, lang) for v in s["forms"]], "se": [_num(v, 2, lang) for v in s["se"]],
        "half_width": [_num(v, 2, lang) for v in s["half_width"]],
        "meets_target": [_flag(lab, v) for v in s["meets_target"]],
        "published": [_flag(lab, v) for v in s["published"]], "cost": [_num(v, 0, lang) for v in s["cost"]],
    })
    a = plan.allocations
    t3 = pd.DataFrame({
        "allocation": [_name(lab, "designs", v) for v in a["design"]], "forms": [_num(v, 0, lang) for v in a["forms"]],
        "cost": [_num(v, 0, lang) for v in a["cost"]], "units_missing": [str(int(v)) for v in a["units_missing"]],
        "missing": [str(v) if isinstance(v, str) and v else "—" for v in a["missing"]],
        "units_unpublished": [str(int(v)) for v in a["units_unpublished"]],
        "max_half_width": [_num(v, 2, lang) for v in a["max_half_width"]],
        "area_half_width": [_num(v, 2, lang) for v in a["area_half_width"]],
    })
    key = plan.summary.set_index("key")["value"]
    max_se = key["ranking_max_se"]
    gap = "" if math.isnan(max_se) else _t("su_gap_sizes", lang, se=_num(max_se, 2, lang))
    text = _t("su_sizes_text", lang, target=_num(key["target_half_width"], 1, lang),
              min_cell=_num(key["min_cell_size"], 0, lang), gap=gap,
              default=_t("su_costs_default", lang) if plan.costs.default else "")
    return [("md", "## " + _t("su_s_sizes", lang)), ("md", text), _table(t1, _t("su_target_table", lang), lab),
            _table(t2, _t("su_sizes_table", lang), lab), _table(t3, _t("su_totals_table", lang), lab)]


def simulation_section(plan: ServicePlanResult, *, lang: str, cfg: Any = None) -> list[Block]:
    """Section 4: per allocation and unit (and the whole area) the simulated bias, empirical and mean estimated
    SE, coverage of the 95% intervals, mean half-width, Kish effect, forms and cost; a summary per allocation."""
    lab = _labels(lang)
    t = plan.simulation
    t1 = pd.DataFrame({
        "allocation": [_name(lab, "designs", v) for v in t["design"]], "unit": [_unit(lab, v) for v in t["unit"]],
        "forms": [_num(v, 0, lang) for v in t["forms"]],
        "bias": [_num(v * 100, 2, lang) for v in t["bias"]],
        "se_empirical": [_num(v * 100, 2, lang) for v in t["se_empirical"]],
        "se_mean": [_num(v * 100, 2, lang) for v in t["se_mean"]],
        "coverage": [_num(v * 100, 1, lang) for v in t["coverage"]],
        "half_width": [_num(v * 100, 2, lang) for v in t["half_width"]],
        "kish_deff": [_num(v, 3, lang) for v in t["kish_deff"]],
    })
    units = t[t["unit"] != AREA]
    area = t[t["unit"] == AREA].set_index("design")
    g = units.groupby("design", sort=False)
    cov, hw = g["coverage"].mean(), g["half_width"].mean()
    t2 = pd.DataFrame({
        "allocation": [_name(lab, "designs", k) for k in cov.index],
        "forms": [_num(area.loc[k, "forms"], 0, lang) for k in cov.index],
        "cost": [_num(area.loc[k, "cost"], 0, lang) for k in cov.index],
        "coverage_units": [_num(v * 100, 1, lang) for v in cov],
        "half_width_units": [_num(v * 100, 2, lang) for v in hw],
        "coverage_area": [_num(area.loc[k, "coverage"] * 100, 1, lang) for k in cov.index],
        "area_half_width": [_num(area.loc[k, "half_width"] * 100, 2, lang) for k in cov.index],
    })
    reps = int(plan.settings.reps)
    h = int(units["unit"].nunique())
    mc = 100 * math.sqrt(0.95 * 0.05 / reps)
    text = _t("su_simulation_text", lang, reps=reps, mc=_num(mc, 1, lang),
              mc_pooled=_num(mc / math.sqrt(max(h, 1)), 1, lang))
    return [("md", "## " + _t("su_s_simulation", lang)), ("md", text),
            _table(t1, _t("su_simulation_table", lang), lab), _table(t2, _t("su_simulation_totals", lang), lab)]


def annex_section(plan: ServicePlanResult, *, lang: str, cfg: Any = None) -> list[Block]:
    """Section 5: the chosen allocation as the allocation appendix (the table written to the annex files)."""
    lab = _labels(lang)
    design = _name(lab, "designs", plan.settings.design)
    return [("md", "## " + _t("su_s_annex", lang, design=md_escape(design), year=plan.notes["plan_year"])),
            ("md", _t("su_annex_text", lang)), ("html", html_table(plan.annex.astype(str), css_class="sipas-table"))]

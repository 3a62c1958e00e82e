"""The plan's outputs: ``plan_*.csv`` and the allocation annex (:func:`run_plan`), the display blocks of
``notebooks/06_planning.ipynb`` and ``reports/<id>/plan.html`` (:func:`render_plan`).

What is checked, computed, written and shown is asked from the survey's kind
(:attr:`sipas.kinds.SurveyKind.planning`): its frames and processed inputs (:func:`check_inputs`), its planner
(:func:`sipas.planning.plan.compute_plan`), its annex, and its display sections (:func:`section`, which the
notebook calls by position).  The household plan's sections are below; the service-user plan's are in
:mod:`sipas.planning.service_report`.

Every heading, caption and column label comes from ``resources/report_text.yml`` (``notebooks.planning``
and ``labels.planning``, vi and en); the tables are escaped HTML (:func:`sipas.report.blocks.html_table`)
with numbers formatted for the survey's language.  The notebook is executed and converted exactly as the
yearly report (:func:`sipas.report.rendering.run_notebooks`, :func:`sipas.report.rendering.to_html`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sipas import io as sio
from sipas.errors import ConfigError
from sipas.planning.design_effects import clustering_deff
from sipas.planning.plan import (HOUSEHOLD_PLANNING, PlanResult, PlanSettings, check_settings, compute_plan,
                                 planning_spec, write_plan)
from sipas.report.blocks import Block, html_table, md_escape
from sipas.text.labels import fmt_num, label_set, notebook_text

#: The notebook ``sipas plan`` renders to ``reports/<id>/plan.html``.
NOTEBOOK = "06_planning"
#: Processed files of the finished year the household plan reads (the kind declares them).
PLAN_INPUTS = HOUSEHOLD_PLANNING.inputs


def check_inputs(cfg, *, root: Path, settings: PlanSettings) -> None:
    """Fail early, with one typed error, on what :func:`compute_plan` would refuse: the settings
    (:func:`sipas.planning.plan.check_settings`), the frames and the processed files the kind's plan reads.

    Raises
    ------
    ConfigError
        The kind has no plan, a setting is wrong (target, gap, power, replicates, design), or a frame the plan
        needs is not configured.
    StageInputMissing
        A processed file of the finished year is missing, or stale: a file the cleaning or weighting stage read
        (the raw forms, a frame, ``forms_clean.csv``) changed after that stage ran
        (:func:`sipas.stages._common.check_fresh`, the check the pipeline makes before each stage).
    """
    from sipas.errors import StageInputMissing
    from sipas.stages._common import check_fresh

    spec = planning_spec(cfg)
    check_settings(settings, spec)
    missing = [n for n in spec.frames if n not in cfg.frames]
    if missing:
        raise ConfigError(f"`sipas plan` needs the {', '.join(missing)} frame(s)", file=cfg.path, key="frames")
    for name in spec.inputs:
        p = cfg.processed_dir(root) / f"{name}.csv"
        if not p.is_file():
            raise StageInputMissing(f"{p} is missing: run `sipas report --survey {cfg.survey_id}` "
                                    "(or the stages clean, reliability, weight, indices) first")
    check_fresh(cfg, upstream=("cleaning", "weighting"), root=root)


def run_plan(cfg, *, root: Path, settings: PlanSettings) -> PlanResult:
    """Compute the plan and write its files in one transaction.

    Writes ``data/processed/<id>/plan_*.csv`` and the kind's annex, ``reports/<id>/<annex>.{xlsx,csv}``
    (:attr:`sipas.kinds.PlanningSpec.annex`: ``plan_phu_luc_04`` for households, ``plan_phu_luc_phan_bo_phieu``
    for service users), all or none.

    Returns
    -------
    PlanResult or ServicePlanResult
        With ``notes["written"]``: the paths written, as strings.
    """
    res = compute_plan(cfg, root=Path(root), settings=settings)
    out = cfg.reports_dir(Path(root))
    with sio.transaction():
        written = write_plan(res, cfg, root=Path(root))
        written += list(res.write_annex(out))
    res.notes["written"] = [str(p) for p in written]
    return res


def render_plan(survey_id: str, *, root: Path, settings: PlanSettings, progress: bool = True) -> Path:
    """Execute ``notebooks/06_planning.ipynb`` (which runs :func:`run_plan`) and write ``reports/<id>/plan.html``.

    The notebook runs in one ``sipas`` kernel with the parameters ``survey_id``, ``root``, ``target``,
    ``gap``, ``reps``, ``design`` and ``seed``; the HTML has no code cells and the report's CSS, and is
    written atomically.

    Raises
    ------
    ReportError
        When a cell of the notebook fails.
    """
    from sipas.config import find_survey
    from sipas.report.rendering import run_notebooks, to_html

    root = Path(root)
    cfg = find_survey(survey_id, root=root, needs=("frames",))
    params = {"target": settings.half_width, "gap": settings.gap, "reps": settings.reps,
              "design": settings.design, "seed": settings.seed}
    nbs = run_notebooks(survey_id, root=root, notebooks=(NOTEBOOK,), progress=progress, parameters=params)
    title = notebook_text("planning.title", lang=cfg.language, survey_id=survey_id)
    return to_html(nbs[-1], cfg.reports_dir(root) / "plan.html", title=title, lang=cfg.language)


# ----------------------------------------------------------------------------------- display blocks


def section(plan, cfg, index: int, *, lang: str) -> list[Block]:
    """Display blocks of the kind's section ``index`` (0: the introduction; :attr:`sipas.kinds.PlanningSpec.sections`),
    empty past the kind's last section, so the notebook's cells need not know the kind."""
    f = planning_spec(cfg).section(index)
    return [] if f is None else f(plan, cfg=cfg, lang=lang)


def _labels(lang: str) -> dict[str, Any]:
    return label_set("planning", lang=lang)


def _name(lab: dict[str, Any], group: str, key: Any) -> str:
    return str(lab[group].get(str(key), key))


def _variable(lab: dict[str, Any], v: str) -> str:
    """``overall`` / ``content:<code>`` / ``criterion:<code>`` as a reader's label."""
    kind, _, code = str(v).partition(":")
    text = lab["variables"].get(kind)
    return str(text).format(code=code) if text else str(v)


def _num(x: Any, digits: int, lang: str) -> str:
    return fmt_num(float(x), digits=digits, lang=lang) if x is not None and not pd.isna(x) else "—"


def _columns(df: pd.DataFrame, lab: dict[str, Any]) -> pd.DataFrame:
    return df.rename(columns={c: lab["columns"].get(c, c) for c in df.columns})


def _table(df: pd.DataFrame, caption: str, lab: dict[str, Any]) -> Block:
    wide = df.shape[1] > 10
    return ("html", html_table(_columns(df, lab), caption=caption,
                               css_class="sipas-table sipas-wide" if wide else "sipas-table"))


def _t(key: str, lang: str, **fields: Any) -> str:
    return notebook_text(f"planning.{key}", lang=lang, **fields)


def _unit_words(plan: PlanResult, lang: str) -> dict[str, str]:
    """The report unit's words for the texts (``labels.planning.unit_words.<report unit>``: ``unit`` — "huyện,
    thành phố" / "district" —, ``unit_short``, ``units``)."""
    words = _labels(lang)["unit_words"]
    return dict(words.get(str(plan.notes.get("report_unit")), words["district"]))


def _response_text(plan: PlanResult, lang: str) -> str:
    """Where the response rate of the simulation comes from (:func:`sipas.planning.plan.response_source`)."""
    rate = plan.summary.set_index("key")["value"]["response_rate"]
    src = str(plan.notes.get("response_source", "sample_list"))
    return _t(f"response_{src}", lang, rate=_num(rate * 100, 1, lang), file=md_escape(str(plan.notes.get(
        "response_file", ""))))


def intro(plan: PlanResult, cfg, *, lang: str) -> list[Block]:
    """The page's title and what was computed (target, ranking gap, replicates), and where the response rate comes
    from."""
    s = plan.settings
    gap = "" if s.gap is None else _t("gap", lang, gap=_num(s.gap, 1, lang))
    province = cfg.province.get(lang, cfg.province.get("vi", "")) if isinstance(cfg.province, dict) else cfg.province
    return [("md", "# " + md_escape(_t("title", lang, survey_id=cfg.survey_id))),
            ("md", _t("intro", lang, year=cfg.year, province=md_escape(province), target=_num(s.half_width, 1, lang),
                      gap=gap, reps=s.reps, **_unit_words(plan, lang))),
            ("md", _response_text(plan, lang))]


def _iccs(plan: PlanResult) -> tuple[float, float]:
    ov = plan.components[plan.components["variable"] == "overall"].set_index("component")["icc"]
    levels = list(plan.components["component"].drop_duplicates())
    return float(ov[levels[1]]), float(ov[levels[2]])


def components_frame(c: pd.DataFrame, *, lang: str, names: str = "components") -> pd.DataFrame:
    """The display of a ``plan_components`` table: index node, component (labels ``labels.planning.<names>``),
    variance in points², share (%), ICC, whether a negative estimate was set to 0, and the number of groups."""
    lab = _labels(lang)
    return pd.DataFrame({
        "variable": [_variable(lab, v) for v in c["variable"]],
        "component": [_name(lab, names, v) for v in c["component"]],
        "sigma2": [_num(v * 1e4, 1, lang) for v in c["sigma2"]],
        "share": [_num(v * 100, 1, lang) for v in c["share"]],
        "icc": [_num(v, 3, lang) for v in c["icc"]],
        "truncated": [lab["flag_yes"] if bool(v) else lab["flag_no"] for v in c["truncated"]],
        "groups": [str(int(v)) for v in c["groups"]],
    })


def components_section(plan: PlanResult, *, lang: str, cfg: Any = None) -> list[Block]:
    """Section 1: variance components (points²), their shares and the ICCs, per index node."""
    lab = _labels(lang)
    df = components_frame(plan.components, lang=lang)
    return [("md", "## " + _t("s_components", lang)), ("md", _t("components_text", lang, **_unit_words(plan, lang))),
            _table(df, _t("components_table", lang), lab)]


def design_effects(plan: PlanResult) -> pd.DataFrame:
    """Per design and report unit: Kish's weighting effect, the clustering effect of the planned sizes
    (:func:`~sipas.planning.design_effects.clustering_deff` with the overall index's ICCs) and their product."""
    rc, rv = _iccs(plan)
    s = plan.sizes
    dc = [clustering_deff(households_per_village=q, villages_per_commune=b, rho_commune=rc, rho_village=rv)
          if not (pd.isna(q) or pd.isna(b)) else np.nan
          for q, b in zip(s["households_per_village"], s["villages_per_commune"])]
    out = s[["design", "unit", "deff_w"]].copy()
    out["deff_c"] = dc
    out["deff"] = out["deff_w"] * out["deff_c"]
    return out


def design_effects_section(plan: PlanResult, *, lang: str, cfg: Any = None) -> list[Block]:
    """Section 2: design effects per design and unit, and Kish's effect measured vs simulated."""
    lab = _labels(lang)
    d = design_effects(plan)
    df = pd.DataFrame({"design": [_name(lab, "designs", v) for v in d["design"]], "unit": d["unit"].astype(str),
                       **{k: [_num(v, 2, lang) for v in d[k]] for k in ("deff_w", "deff_c", "deff")}})
    measured = float(plan.notes["kish_deff_measured"])
    measured_design = float(plan.notes["kish_deff_design_measured"])
    sim = plan.simulation[plan.simulation["unit"] == plan.notes.get("total_unit", "province")].set_index("design")
    current = str(plan.notes.get("current_design", "seed_rule"))
    sr = sim.loc[current]
    diff = measured - float(sr["kish_deff"])
    cmp_ = pd.DataFrame({
        "source": [lab["measured"]] + [lab["simulated"].format(design=_name(lab, "designs", k)) for k in sim.index],
        "kish_deff_final": [_num(measured, 3, lang)] + [_num(v, 3, lang) for v in sim["kish_deff"]],
        "kish_deff_sd": ["—"] + [_num(v, 3, lang) for v in sim["kish_deff_sd"]],
        "kish_deff_mc_se": ["—"] + [_num(v, 3, lang) for v in sim["kish_deff_mc_se"]],
        "kish_deff_design": [_num(measured_design, 3, lang)] + [_num(v, 3, lang) for v in sim["kish_deff_design"]],
    })
    text = _t("deff_text", lang, measured=_num(measured, 3, lang), n=_num(plan.notes["forms"], 0, lang),
              simulated=_num(sr["kish_deff"], 3, lang), sd=_num(sr["kish_deff_sd"], 3, lang),
              mc_se=_num(sr["kish_deff_mc_se"], 3, lang), diff=_num(diff, 3, lang),
              z=_num(diff / float(sr["kish_deff_sd"]), 2, lang), current=lab["current_design"][current],
              **_unit_words(plan, lang))
    return [("md", "## " + _t("s_deff", lang)), ("md", text),
            _table(df, _t("deff_table", lang, **_unit_words(plan, lang)), lab),
            _table(cmp_, _t("deff_compare_table", lang), lab)]


def sizes_section(plan: PlanResult, *, lang: str, cfg: Any = None) -> list[Block]:
    """Section 3: communes, villages, households, half-width and cost per design and unit; totals per design."""
    lab = _labels(lang)
    s = plan.sizes
    df = pd.DataFrame({
        "design": [_name(lab, "designs", v) for v in s["design"]], "unit": s["unit"].astype(str),
        "communes": [_num(v, 0, lang) for v in s["communes"]],
        "villages_per_commune": [_num(v, 0, lang) for v in s["villages_per_commune"]],
        "households_per_village": [_num(v, 0, lang) for v in s["households_per_village"]],
        "households": [_num(v, 0, lang) for v in s["households"]],
        "half_width": [_num(v, 2, lang) for v in s["half_width"]],
        "cost": [_num(v, 0, lang) for v in s["cost"]],
        "reachable": [lab["flag_yes"] if bool(v) else lab["flag_no"] for v in s["reachable"]],
    })
    tot = s.groupby("design", sort=False)[["communes", "households", "cost"]].sum(min_count=1)
    ok = s.groupby("design", sort=False)["reachable"].all()
    tdf = pd.DataFrame({"design": [_name(lab, "designs", k) for k in tot.index],
                        "communes": [_num(v, 0, lang) for v in tot["communes"]],
                        "households": [_num(v, 0, lang) if ok[k] else "—" for k, v in tot["households"].items()],
                        "cost": [_num(v, 0, lang) if ok[k] else "—" for k, v in tot["cost"].items()]})
    target = plan.summary.set_index("key")["value"]["target_half_width"]
    rule = "seed_rule" if "seed_rule" in set(s["design"]) else "none"
    words = _unit_words(plan, lang)
    return [("md", "## " + _t("s_sizes", lang)),
            ("md", _t("sizes_text", lang, target=_num(target, 1, lang), rule=lab["rule_note"][rule], **words)),
            _table(df, _t("sizes_table", lang, **words), lab), _table(tdf, _t("totals_table", lang), lab)]


def _sim_frame(t: pd.DataFrame, lab: dict[str, Any], lang: str, *, forms: bool = False) -> pd.DataFrame:
    out = {"design": [_name(lab, "designs", v) for v in t["design"]],
           "unit": [_name(lab, "units", v) for v in t["unit"]],
           "bias": [_num(v * 100, 2, lang) for v in t["bias"]],
           "se_empirical": [_num(v * 100, 2, lang) for v in t["se_empirical"]],
           "se_mean": [_num(v * 100, 2, lang) for v in t["se_mean"]],
           "coverage": [_num(v * 100, 1, lang) for v in t["coverage"]],
           "half_width": [_num(v * 100, 2, lang) for v in t["half_width"]]}
    if forms:
        out["forms"] = [_num(v, 0, lang) for v in t["forms"]]
    out["cost"] = [_num(v, 0, lang) for v in t["cost"]]
    out["reps"] = [str(int(v)) for v in t["reps"]]
    return pd.DataFrame(out)


def simulation_section(plan: PlanResult, *, lang: str, cfg: Any = None) -> list[Block]:
    """Section 4: bias, SE, coverage, half-width and cost per design and report unit (households), and the
    service-user allocations."""
    lab = _labels(lang)
    return [("md", "## " + _t("s_simulation", lang)), ("md", _t("simulation_text", lang, reps=plan.settings.reps)),
            _table(_sim_frame(plan.simulation, lab, lang), _t("simulation_table", lang), lab),
            _table(_sim_frame(plan.service_user, lab, lang, forms=True), _t("service_user_table", lang), lab)]


def annex_section(plan: PlanResult, *, lang: str, cfg: Any = None) -> list[Block]:
    """Section 5: Phụ lục 04 of the chosen design (the table written to ``plan_phu_luc_04``)."""
    lab = _labels(lang)
    design = _name(lab, "designs", plan.settings.design)
    return [("md", "## " + _t("s_annex", lang, design=md_escape(design))), ("md", _t("annex_text", lang)),
            ("html", html_table(plan.annex.astype(str), css_class="sipas-table"))]

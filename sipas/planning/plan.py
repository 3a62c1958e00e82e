"""``sipas plan``: variance components, sample sizes and the design comparison of a finished survey-year.

:func:`compute_plan` asks the survey's kind how it is planned (:attr:`sipas.kinds.SurveyKind.planning`, a
:class:`sipas.kinds.PlanningSpec`) and calls its planner: :func:`compute_household_plan` below for household
(and national) surveys, :func:`sipas.planning.service_plan.compute_service_plan` for service-user surveys.

The household plan reads ``data/raw/<id>`` (survey.yml, frames) and the processed files of the finished year
(``forms_clean``, ``weights``, ``weight_summary``, ``poststrata_totals``, ``response_rates``); writes
``data/processed/<id>/plan_*.csv`` (its own outputs) and, through :mod:`sipas.planning.report`,
``reports/<id>/plan.html`` and the allocation annex (Phụ lục 04).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sipas import io as sio
from sipas.errors import ConfigError, StageInputMissing
from sipas.kinds import HOUSEHOLD_PLANNING, PlanningSpec
from sipas.planning.cost import CostModel
from sipas.planning.sample_size import StageComponents, plan_sizes, se_for_ranking
from sipas.planning.simulation import (PopulationModel, simulate_household, simulate_service_user,
                                       synthetic_population)
from sipas.planning.variance_components import components_table, household_scores
from sipas.text.normalize import nfc

#: Files the household plan writes in ``data/processed/<id>/`` (declared by the kind).
PLAN_FILES = HOUSEHOLD_PLANNING.files
#: Designs of the household plan's annex (declared by the kind).
DESIGNS = HOUSEHOLD_PLANNING.designs


@dataclass(frozen=True)
class PlanSettings:
    """Targets and simulation size: ``half_width`` (index points on 0-100 per report unit), optional ranking
    ``gap`` (two-sample test at 5% with ``power``), ``desk_half_width`` (service-user desks), ``reps``, ``seed``,
    the ``design`` of the annex (None: the kind's default, :attr:`sipas.kinds.PlanningSpec.default_design`)."""

    half_width: float = 3.0
    gap: float | None = None
    power: float = 0.8
    desk_half_width: float = 5.0
    reps: int = 20
    seed: int = 0
    design: str | None = None


def planning_spec(cfg) -> PlanningSpec:
    """The survey kind's :class:`~sipas.kinds.PlanningSpec`.

    Raises
    ------
    ConfigError
        The kind declares no plan.
    """
    spec = cfg.kind.planning
    if spec is None:
        raise ConfigError(f"`sipas plan` is not available for {cfg.kind.name} surveys", file=cfg.path, key="kind")
    return spec


def check_settings(settings: PlanSettings, spec: PlanningSpec) -> PlanSettings:
    """``settings`` with the kind's default design filled in, after checking every value.

    Raises
    ------
    ConfigError
        Naming the option: a target that is not a number in (0, 100) index points, a ranking gap that is not
        positive, a power outside (0, 1), fewer than 2 replicates, a design (allocation) the kind does not have.
    """
    t = settings.half_width
    if not (isinstance(t, (int, float)) and math.isfinite(t) and 0 < t < 100):
        raise ConfigError(f"--target must be a half-width in index points between 0 and 100 (got {t!r})",
                          key="--target")
    g = settings.gap
    if g is not None and not (isinstance(g, (int, float)) and math.isfinite(g) and 0 < g < 100):
        raise ConfigError(f"--gap must be a positive number of index points below 100 (got {g!r})", key="--gap")
    if not 0 < settings.power < 1:
        raise ConfigError(f"--power must lie strictly between 0 and 1 (got {settings.power!r})", key="--power")
    if settings.reps < 2:
        raise ConfigError(f"--reps must be at least 2 (got {settings.reps})", key="--reps")
    design = spec.default_design if settings.design is None else settings.design
    if design not in spec.designs:
        raise ConfigError(f"unknown design {design!r}; use one of {', '.join(spec.designs)}", key="--design")
    return dataclasses.replace(settings, design=design)


def compute_plan(cfg, *, root: Path, settings: PlanSettings):
    """The plan of a finished survey-year, as its kind plans it (:attr:`sipas.kinds.SurveyKind.planning`).

    Returns
    -------
    PlanResult or sipas.planning.service_plan.ServicePlanResult
        The kind's planner's result, with the settings it used (the design filled in).

    Raises
    ------
    ConfigError
        The kind has no plan, or a setting is wrong (:func:`check_settings`).
    """
    spec = planning_spec(cfg)
    return spec.plan(cfg, root=Path(root), settings=check_settings(settings, spec))


@dataclass
class PlanResult:
    """The household plan's tables (tidy DataFrames, unrounded)."""

    components: pd.DataFrame
    sizes: pd.DataFrame
    simulation: pd.DataFrame
    simulation_reps: pd.DataFrame
    service_user: pd.DataFrame
    summary: pd.DataFrame
    annex: pd.DataFrame
    settings: PlanSettings
    costs: CostModel
    notes: dict = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The ``plan_*.csv`` tables by file stem (:data:`PLAN_FILES`)."""
        return {"plan_components": self.components, "plan_sizes": self.sizes,
                "plan_simulation": self.simulation, "plan_simulation_reps": self.simulation_reps,
                "plan_service_user": self.service_user, "plan_summary": self.summary}

    def write_annex(self, out_dir: Path) -> list[Path]:
        """Phụ lục 04 of the chosen design as ``plan_phu_luc_04.xlsx`` and ``.csv`` in ``out_dir`` (values, never
        formulas; :func:`sipas.sampling.write_annex`), in the survey's language (``notes["language"]``)."""
        from sipas.sampling import write_annex

        stem = self.notes.get("annex", HOUSEHOLD_PLANNING.annex)
        return list(write_annex(self.annex, number="04", xlsx_path=Path(out_dir) / f"{stem}.xlsx",
                                csv_path=Path(out_dir) / f"{stem}.csv", lang=self.notes.get("language", "vi")))


def summary_lines(cfg, *, root: Path) -> list[str]:
    """The command line's summary of a written household plan: communes, households and cost per design."""
    sizes = sio.read_csv(cfg.processed_dir(root) / "plan_sizes.csv")
    sz = sizes.groupby("design", sort=False)[["communes", "households", "cost"]].sum(min_count=1)
    lines = []
    for design, row in sz.iterrows():
        if row.isna().any():  # a unit cannot reach the target with the communes the design fixes
            lines.append(f"  {design}: {row['communes']:.0f} communes, target not reached in every unit")
        else:
            lines.append(f"  {design}: {row['communes']:.0f} communes, {row['households']:.0f} households, "
                         f"cost {row['cost']:.0f}")
    lines.append(f"  wrote {cfg.processed_dir(root)}/plan_*.csv, {cfg.reports_dir(root)}/"
                 f"{HOUSEHOLD_PLANNING.annex}.xlsx|csv")
    return lines


def _processed(cfg, root: Path, name: str) -> pd.DataFrame:
    p = cfg.processed_dir(root) / f"{name}.csv"
    if not p.is_file():
        raise StageInputMissing(f"{p} is missing: run `sipas report --survey {cfg.survey_id}` "
                                "(or the stages clean, reliability, weight, indices) first")
    return sio.read_csv(p)


def _frames(cfg) -> tuple[pd.DataFrame, pd.DataFrame]:
    from sipas.sampling.frames import read_frame

    need = planning_spec(cfg).frames
    missing = [n for n in need if n not in cfg.frames]
    if missing:
        raise ConfigError(f"`sipas plan` needs the {', '.join(missing)} frame(s)", file=cfg.path, key="frames")
    return tuple(read_frame(cfg.frames[n], kind=n, structure=cfg.structure, unit_keys=cfg.design.unit_keys)
                 for n in need)  # type: ignore[return-value]


def design_columns(cfg) -> tuple[str, str]:
    """The cluster plan's stratum (= report unit) and PSU columns, from the survey's design (``cfg.design``).

    Raises
    ------
    ConfigError
        The report unit is not the stratum: the cluster plan sizes each stratum for its own estimate.
    """
    d = cfg.design
    if d.report_unit != d.strata:
        raise ConfigError(f"`sipas plan` plans each report unit as a stratum; design.report_unit "
                          f"{d.report_unit!r} is not design.strata {d.strata!r}", file=cfg.path, key="design")
    return d.strata, d.psu


def _current_design(cfg, spec: PlanningSpec) -> str:
    """The design of this year's sample among the kind's designs: its seed rule when it has one and the year
    was drawn by it (survey.yml without ``sampling.communes``), else ``sampling.communes.design``
    (``pps_systematic`` is ``pps``, ``srs`` is ``stratified_srs``)."""
    block = (cfg.extra.get("sampling") or {}).get("communes")
    if "seed_rule" in spec.designs and not block:
        return "seed_rule"
    name = {"pps_systematic": "pps", "srs": "stratified_srs"}.get(str((block or {}).get("design", "")))
    if name is None or name not in spec.designs:
        raise ConfigError(f"`sipas plan` cannot tell this year's design: sampling.communes.design "
                          f"{(block or {}).get('design')!r} is none of pps_systematic, srs", file=cfg.path,
                          key="sampling.communes.design")
    return name


def compute_household_plan(cfg, *, root: Path, settings: PlanSettings) -> PlanResult:
    """Everything the household (and national) plan report shows, from the finished year's files (see the module
    docstring).

    The planner of :data:`sipas.kinds.HOUSEHOLD_PLANNING` and :data:`sipas.kinds.NATIONAL_PLANNING`; call it
    through :func:`compute_plan`, which checks the settings and fills in the default design.  The strata (= report
    units) and PSUs are the design's (:func:`design_columns`: districts and communes, or provinces and communes);
    the seed rule is planned only where the kind declares it (``"seed_rule"`` in its designs)."""
    from sipas.forms.instrument import load_instrument
    from sipas.forms.instrument.rules import resolve_rule
    from sipas.indices.scoring import positive_indicators

    spec = planning_spec(cfg)
    settings = check_settings(settings, spec)
    st, psu = design_columns(cfg)
    current = _current_design(cfg, spec)
    total = cfg.kind.total_domain
    levels = [st, psu, "village"]
    inst = load_instrument(cfg.instrument_id, cfg.instrument_version)
    rule = resolve_rule(inst.raw, cfg.extra.get("index_rule"), file=cfg.path)
    forms = _processed(cfg, root, "forms_clean")
    weights = _processed(cfg, root, "weights")
    wsum = _processed(cfg, root, "weight_summary")
    scores = household_scores(positive_indicators(forms, instrument=inst), rule=rule)
    comp = components_table(scores, forms, levels=levels)
    costs = CostModel.from_config(cfg.extra.get("planning"))
    communes, villages = _frames(cfg)
    ov = comp[comp["variable"] == "overall"].set_index("component")["sigma2"].clip(lower=0.0)
    sc = StageComponents(*(float(ov[c]) * 1e4 for c in (levels[1], levels[2], "within")))  # points^2

    # weighting effects per stratum: this year's measured ones for its own design (the seed rule's); PPS
    # self-weighting; SRS from the frame
    w = weights.merge(forms[["form_id"]], on="form_id")
    meas = w.groupby(st)["w_final"].apply(lambda x: float(len(x) * np.sum(x ** 2) / np.sum(x) ** 2))
    vil = villages.assign(**{st: villages[st].map(nfc), psu: villages[psu].map(nfc)})
    vc = vil.groupby([st, psu])["village"].transform("size")
    srs_w = vil.assign(w=vc * vil["households"], p=1.0 / vc)
    srs_deff = srs_w.groupby(st).apply(
        lambda g: float(np.sum(g["p"] * g["w"] ** 2) * np.sum(g["p"]) / np.sum(g["p"] * g["w"]) ** 2),
        include_groups=False)
    com = communes.assign(**{st: communes[st].map(nfc)})
    units = com.groupby(st).size().rename("communes").reset_index().rename(columns={st: "unit"})
    also_last = tuple((cfg.extra.get("sampling") or {}).get("also_last_districts") or ())
    target = settings.half_width
    # ranking goal: each unit's SE at most gap / ((z_{1-a/2} + z_{power}) sqrt 2), in points like the target
    max_se = None if settings.gap is None else se_for_ranking(settings.gap, power=settings.power)
    size_args = {"seed_rule": None, "pps": {"deff_w": {}}, "stratified_srs": {"deff_w": srs_deff.to_dict()}}
    if "seed_rule" in spec.designs:
        from sipas.sampling import select_communes

        seed_m = select_communes(communes, also_last=also_last).groupby(st).size().to_dict()
        size_args["seed_rule"] = {"deff_w": meas.to_dict(), "fixed_communes": seed_m, "villages_per_commune": 3}
    sizes = pd.concat([plan_sizes(sc, target=target, units=units, costs=costs, design=d, max_se=max_se,
                                  **size_args[d]) for d in spec.designs], ignore_index=True)

    # simulation on a synthetic population calibrated to the components and the centre / HQ-village effects
    sel = forms.merge(weights[["form_id", "w_final"]], on="form_id")
    sel = sel.assign(y=scores["overall"].to_numpy())
    is_c = com["is_admin_centre"].astype(int) == 1
    cen = set(zip(com.loc[is_c, st], communes.loc[is_c, psu].map(nfc)))
    is_h = vil["has_commune_hq"].astype(int) == 1
    hqv = set(zip(vil.loc[is_h, st], vil.loc[is_h, psu], vil.loc[is_h, "village"].map(nfc)))
    sel["centre"] = [(nfc(d), nfc(c)) in cen for d, c in zip(sel[st], sel[psu])]
    sel["hq"] = [(nfc(d), nfc(c), nfc(v)) in hqv for d, c, v in zip(sel[st], sel[psu], sel["village"])]
    by_d = sel.groupby([st, "centre"])["y"].mean().unstack()
    centre_eff = float((by_d[True] - by_d[False]).mean()) if {True, False} <= set(by_d.columns) else 0.0
    by_c = sel[~sel["centre"]].groupby([st, psu, "hq"])["y"].mean().unstack()
    hq_eff = float((by_c[True] - by_c[False]).mean()) if {True, False} <= set(by_c.columns) else 0.0
    allv = comp[comp["variable"] == "overall"].set_index("component")["sigma2"].clip(lower=0.0)
    model = PopulationModel(mean=float(comp.loc[comp["variable"] == "overall", "mean"].iloc[0]),
                            stratum=float(allv[levels[0]]), commune=float(allv[levels[1]]),
                            village=float(allv[levels[2]]), household=float(allv["within"]),
                            centre_effect=centre_eff, hq_effect=hq_eff)
    pop = synthetic_population(communes, villages, model=model, seed=cfg.seed + settings.seed, strata=st, psu=psu)
    sample_list = _sample_list(cfg, columns=(st, psu))
    seed_sample = sample_list if current == "seed_rule" else None
    com_n = com.assign(**{psu: communes[psu].map(nfc)})
    response = response_source(cfg, root=root, weights=weights, sample_list=sample_list,
                               seed_rule=current == "seed_rule")
    rr, rr_commune = response_by_commune(weights, response.sample_list, communes=com_n, fallback=response.rates,
                                         strata=st, psu=psu)
    # the finished year's communes per stratum: what pps and stratified SRS draw when there is no seed rule
    m_now = None
    if "seed_rule" not in spec.designs:
        drawn = sample_list if sample_list is not None else weights.assign(
            **{st: weights[st].map(nfc), psu: weights[psu].map(nfc)})
        m_now = {d: int(m) for d, m in drawn.groupby(st)[psu].nunique().items()}
        n_cfg = ((cfg.extra.get("sampling") or {}).get("communes") or {}).get("n")
        fill = int(n_cfg) if isinstance(n_cfg, int) else max(m_now.values())   # a stratum the list lacks
        m_now = {d: m_now.get(d, fill) for d in units["unit"]}
    totals = _processed(cfg, root, "poststrata_totals")
    for c in (st, psu):
        if c in totals.columns:
            totals[c] = totals[c].map(nfc)
    reps_df, summ = simulate_household(pop, communes, villages, reps=settings.reps, seed=cfg.seed + settings.seed + 1,
                                       strata=st, psu=psu, total=total, communes_per_stratum=m_now,
                                       also_last=also_last, households_per_village=int(
                                           (cfg.extra.get("sampling") or {}).get("households_per_village", 30)),
                                       response_rate=rr, response_by_commune=rr_commune, totals=totals,
                                       costs=costs, seed_sample=seed_sample, designs=spec.designs)
    desks = com_n.rename(columns={"households": "users"})[[st, psu, "users"]]
    su = simulate_service_user(desks, model=model, reps=max(2, settings.reps // 10), seed=cfg.seed + settings.seed + 2,
                               costs=costs)
    from sipas.planning.simulation import summarise

    su_sum = summarise(su.drop(columns="forms")).merge(
        su.groupby(["design"], sort=False)["forms"].first().reset_index(), on="design")
    measured = float(wsum.loc[wsum["weights"] == "final", "kish_deff"].iloc[0])
    measured_design = float(wsum.loc[wsum["weights"] == "design", "kish_deff"].iloc[0])
    sr = summ[(summ["design"] == current) & (summ["unit"] == total)].iloc[0]
    annex = allocation_annex(sizes, design=settings.design, villages=villages, communes=communes, seed=cfg.seed,
                             lang=cfg.language, strata=st, psu=psu, also_last=also_last)
    summary = pd.DataFrame([
        {"key": "kish_deff_measured", "value": measured},
        {"key": "kish_deff_design_measured", "value": measured_design},
        {"key": f"kish_deff_{current}_simulated", "value": float(sr["kish_deff"])},
        {"key": f"kish_deff_{current}_sd", "value": float(sr["kish_deff_sd"])},
        {"key": f"kish_deff_{current}_mc_se", "value": float(sr["kish_deff_mc_se"])},
        {"key": f"kish_deff_design_{current}_simulated", "value": float(sr["kish_deff_design"])},
        {"key": "centre_effect", "value": centre_eff}, {"key": "hq_effect", "value": hq_eff},
        {"key": "response_rate", "value": rr}, {"key": "target_half_width", "value": target},
        {"key": "ranking_max_se", "value": float("nan") if max_se is None else max_se},
        {"key": "reps", "value": float(settings.reps)}, {"key": "costs_default", "value": float(costs.default)},
    ])
    return PlanResult(comp, sizes, summ, reps_df, su_sum, summary, annex, settings, costs,
                      {"kish_deff_measured": measured, "kish_deff_design_measured": measured_design,
                       "forms": float(wsum.loc[wsum["weights"] == "final", "n"].iloc[0]), "language": cfg.language,
                       "annex": spec.annex, "current_design": current, "total_unit": total, "report_unit": st,
                       "response_source": response.source, "response_file": response.file})


def _sample_list(cfg, *, columns: tuple[str, str]) -> pd.DataFrame | None:
    """The official households of the finished year's sample list (``sampling.sample_file``, raw input; reserves
    left out): ``columns`` (stratum, PSU), ``village`` and ``pi``; None when survey.yml names no list or the file
    is absent."""
    samp = (cfg.extra.get("sampling") or {}).get("sample_file")
    if not samp:
        return None
    p = cfg.raw_path(samp, key="sampling.sample_file")
    if not p.is_file():
        return None
    s = sio.read_csv(p)
    if "role" in s.columns:
        s = s[~s["role"].astype(str).str.startswith("reserve")]
    out = s[[*columns, "village", "pi"]].copy()
    for c in (*columns, "village"):
        out[c] = out[c].map(nfc)
    return out


def _seed_sample(cfg) -> pd.DataFrame | None:
    """The official households of the finished year's sample list (raw input), when it was drawn by the seed rule
    (the kind plans a seed rule and survey.yml has no ``sampling.communes``)."""
    spec = planning_spec(cfg)
    if _current_design(cfg, spec) != "seed_rule":
        return None
    return _sample_list(cfg, columns=design_columns(cfg))


@dataclass(frozen=True)
class ResponseSource:
    """Where the plan takes the finished year's response rate from (:func:`response_source`).

    Attributes
    ----------
    source : str
        ``"sample_list"`` (forms in ``weights.csv`` over official households of the sample list),
        ``"response_rates"`` (valid over distributed forms of ``response_rates.csv``) or ``"none"`` (neither
        exists: a rate of 1, every sampled household answers, stated in plan.html).
    sample_list : DataFrame or None
        The sample list used (``source == "sample_list"``).
    rates : DataFrame
        ``response_rates.csv`` when used, else an empty table.
    file : str
        The file read (empty for ``"none"``).
    """

    source: str
    sample_list: pd.DataFrame | None
    rates: pd.DataFrame
    file: str


def response_source(cfg, *, root: Path, weights: pd.DataFrame, sample_list: pd.DataFrame | None,
                    seed_rule: bool) -> ResponseSource:
    """The finished year's record of response the plan uses.

    In this order: the seed rule's sample list (``seed_rule``: the weighting stage's own denominators); the
    cleaning stage's ``response_rates.csv`` (written only when the year has a distribution and return log);
    any other sample list (``sampling.sample_file``: forms per official household, e.g. a national survey, whose
    provinces keep no return log); else a rate of 1, stated as such (never invented).
    """
    p = cfg.processed_dir(root) / "response_rates.csv"
    empty = pd.DataFrame(columns=["valid", "distributed"])
    list_file = str((cfg.extra.get("sampling") or {}).get("sample_file") or "")
    if seed_rule and sample_list is not None:
        return ResponseSource("sample_list", sample_list, empty, list_file)
    if p.is_file():
        return ResponseSource("response_rates", None, sio.read_csv(p), str(p))
    if sample_list is not None:
        return ResponseSource("sample_list", sample_list, empty, list_file)
    return ResponseSource("none", None, empty, "")


def response_by_commune(weights: pd.DataFrame, seed_sample: pd.DataFrame | None, *, communes: pd.DataFrame,
                        fallback: pd.DataFrame, strata: str, psu: str) -> tuple[float, dict[tuple[str, str], float]]:
    """The finished year's response rate, overall and for every commune of the frame, as the weighting stage
    saw it.

    With the official sample list (``seed_sample``): a commune's rate is its weighted forms (rows of
    ``weights.csv``, a substitute standing in for the household it replaced) over its official households;
    without it, valid over distributed forms of ``response_rates.csv`` (``fallback``); with neither (an empty
    ``fallback``), 1 everywhere.  A commune that was not sampled gets its stratum's rate (forms over households
    of the stratum's sampled communes), else the whole area's.

    Parameters
    ----------
    strata, psu : str
        The design's stratum and PSU columns (``cfg.design``), in ``weights``, ``communes`` and the list.

    Returns
    -------
    (float, dict)
        The whole area's rate and ``{(stratum, psu): rate}`` for every commune of ``communes``, each at most 1.
    """
    if seed_sample is not None:
        num = weights.assign(**{strata: weights[strata].map(nfc), psu: weights[psu].map(nfc)}).groupby(
            [strata, psu]).size()
        den = seed_sample.groupby([strata, psu]).size()
    else:
        f = fallback[fallback[psu].notna()] if psu in fallback.columns else fallback.iloc[0:0]
        f = f.assign(**{strata: f[strata].map(nfc) if strata in f.columns else pd.Series(dtype=object),
                        psu: f[psu].map(nfc) if psu in f.columns else pd.Series(dtype=object)})
        num = f.groupby([strata, psu])["valid"].sum()
        den = f.groupby([strata, psu])["distributed"].sum()
    num = num.reindex(den.index, fill_value=0).astype(float)
    overall = min(float(num.sum()) / float(den.sum()), 1.0) if float(den.sum()) > 0 else 1.0
    by_d = (num.groupby(level=0).sum() / den.groupby(level=0).sum()).clip(upper=1.0)
    by_c = (num / den).clip(upper=1.0)
    rates: dict[tuple[str, str], float] = {}
    for d, c in zip(communes[strata].map(nfc), communes[psu].map(nfc)):
        rates[(d, c)] = float(by_c.get((d, c), by_d.get(d, overall)))
    return overall, rates


def allocation_annex(sizes: pd.DataFrame, *, design: str, villages: pd.DataFrame, communes: pd.DataFrame,
                     seed: int, strata: str, psu: str, lang: str = "vi",
                     also_last: tuple[str, ...] = ()) -> pd.DataFrame:
    """Phụ lục 04 of the chosen design: the communes of each stratum drawn by that design (the seed rule's
    own communes for ``seed_rule``) with their villages and forms, via :func:`sipas.sampling.annex_04` (headers
    in ``lang``, the survey's language).  The stratum is the annex's first unit column (districts; provinces in a
    national survey, whose annex lists every province's communes).  ``also_last``: the districts where the seed
    rule also takes the last commune of a list (``sampling.also_last_districts``), as the seed rule's sizes and
    simulation use them."""
    from sipas.sampling import annex_04, select_communes, stratified_select

    s = sizes[sizes["design"] == design].set_index("unit")
    com = communes.assign(**{strata: communes[strata].map(nfc), psu: communes[psu].map(nfc)})
    if design == "seed_rule":
        chosen = select_communes(communes, also_last=also_last)
        chosen = chosen[chosen[strata].isin(s.index)]
    else:
        n = {u: int(min(s.loc[u, "communes"], (com[strata] == u).sum())) for u in s.index}
        chosen = stratified_select(com, strata=strata, n=n, method="pps_systematic" if design == "pps" else "srs",
                                   size="households", order_by=psu, seed=seed)
    b = s["villages_per_commune"].reindex(chosen[strata]).to_numpy()
    q = s["households_per_village"].reindex(chosen[strata]).to_numpy()
    al = pd.DataFrame({strata: chosen[strata].to_numpy(), "commune": chosen[psu].to_numpy(),
                       "villages": np.nan_to_num(b).astype(int),
                       "forms": np.nan_to_num(b * q).astype(int)})
    return annex_04(al, lang=lang, stratum=strata)


def write_plan(result, cfg, *, root: Path) -> list[Path]:
    """Write the plan's tables (``result.tables()``) to ``data/processed/<id>/plan_*.csv`` (atomic, inside the
    caller's transaction)."""
    out = cfg.processed_dir(root)
    return [sio.write_csv(t, out / f"{name}.csv") for name, t in result.tables().items()]

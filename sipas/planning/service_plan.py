"""``sipas plan`` for a service-user survey: forms per one-stop unit for next year, from a finished year.

The planner of :data:`sipas.kinds.SERVICE_USER_PLANNING` (called through :func:`sipas.planning.compute_plan`).
It reads the finished year's ``forms_clean``, ``weights``, ``weight_summary``, ``weight_cells`` and
``poststrata_totals`` (stages 1 and 3) and the unit frame (``frames.units``, for the units' order and level),
never the indices stage's outputs, and computes:

* **Per unit** (``plan_units``), for the overall index and each criterion: ``N_h`` (transactions returned in the
  survey window, ``weight_cells.csv``), the forms ``n_h`` with a score, the weighted mean, the within-unit SD
  ``S_h`` (unweighted, ``ddof = 1``) of the forms' scores (the share of positive answers among a form's valid
  answers, :func:`~sipas.planning.household_scores`, the household plan's planning variable), and Kish's
  weighting effect ``deff_w,h = n_h sum w^2 / (sum w)^2`` of the unit's final weights (``weights.csv``
  ``w_final``: ``N_h / n_h`` post-stratified to procedure fields; PracTools ``deffK``).
* **Components** (``plan_components``): the one-way ANOVA of the scores with units as groups
  (:func:`~sipas.planning.nested_components` with one level): between-unit and within-unit variance and the
  between-unit ICC ``s2_unit / (s2_unit + s2_within)`` (negative components read as 0).
* **Sizes** (``plan_sizes``, ``plan_allocations``): a unit's forms for the half-width target ``e`` are the
  smallest ``n`` with ``t_{n-1} sqrt(deff_w,h (1 - n/N_h) S_h^2 / n) <= e`` -- PracTools
  ``nCont(V0 = (e / t_{n-1})^2, S2 = deff_w,h S_h^2, N = N_h)`` rounded up at its own degrees of freedom
  (:func:`~sipas.planning.sample_size.forms_needed`; ``t`` as the household plan and the indices stage) --
  and at least ``min(min_cell_size, N_h)`` so that the unit is published.  With a ranking goal (``--gap``) also
  ``SE <= gap / ((z_{0.975} + z_{power}) sqrt 2)`` (:func:`~sipas.planning.se_for_ranking`).  Allocations of
  next year's forms: ``target`` (each unit its own ``n_h``), ``fixed`` (the largest ``n_h`` in every unit, its
  ``N_h`` where fewer: the worst unit reaches the target, so all do), ``proportional`` (to ``N_h``) and
  ``neyman`` (to ``N_h S_h sqrt(deff_w,h)``, the SD per form of the unit's weighted estimator; at least 2 and at
  most ``N_h`` forms, :func:`sipas.sampling.allocate_forms`) of the same total as ``target``.  For each: every
  unit's expected half-width, whether it meets the target, whether it is published (``min_cell_size``), the
  whole area's SE ``sqrt(sum W_h^2 V_h)`` (``W_h = N_h / N``), forms and cost (``planning.costs``:
  :meth:`~sipas.planning.cost.CostModel.forms`, the commune cost per unit and the form cost per form).
* **Simulation** (``plan_simulation``, ``plan_simulation_reps``): every allocation drawn ``reps`` times from a
  bootstrap population of the units' transactions and estimated as the pipeline estimates
  (:func:`~sipas.planning.simulation.simulate_unit_allocations`): bias, empirical SE, coverage of the 95%
  intervals, mean half-width per unit and for the whole area, Kish effect, cost.  Seeded with the survey's seed
  plus ``--seed`` (population) and plus 1 (samples): the same inputs give the same tables.

In exit mode (seed 002) this year's forms were handed out at the desk, not drawn: the plan (and its
simulation, which draws an SRS of each unit's transactions) assumes next year's forms are like a random sample of
the unit's transactions, as the report says of this year's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from sipas import io as sio
from sipas.errors import InputError, StageInputMissing
from sipas.estimation.weighting import kish_deff
from sipas.kinds import SERVICE_USER_PLANNING
from sipas.planning.cost import CostModel
from sipas.planning.sample_size import forms_needed, se_for_ranking, unit_half_width, unit_variance
from sipas.planning.simulation import bootstrap_population, simulate_unit_allocations
from sipas.planning.variance_components import components_table, household_scores
from sipas.text.normalize import nfc

#: The allocations compared (also the ``--design`` choices of the annex), declared by the kind.
ALLOCATIONS = SERVICE_USER_PLANNING.designs
#: Name of the whole area in the tables (the units' rows hold the units' names).
AREA = "area"


@dataclass
class ServicePlanResult:
    """The service-user plan's tables (tidy DataFrames, unrounded; see the module docstring).

    Attributes
    ----------
    components : DataFrame
        ``variable``, ``component`` (``unit``, ``within``), ``sigma2``, ``share``, ``truncated``, ``groups``,
        ``mean``, ``icc`` (the between-unit ICC on the ``unit`` row).
    units : DataFrame
        Per unit and variable: ``unit_id``, ``unit``, ``level``, ``variable``, ``transactions`` (``N_h``),
        ``forms`` (valid forms this year), ``n`` (forms with a score), ``mean`` (weighted), ``sd`` (``S_h``,
        0-1 scale), ``deff_w``.
    sizes : DataFrame
        Per allocation (``design``) and unit: ``transactions``, ``sd``, ``deff_w``, ``n_cont`` (the unit's
        PracTools ``nCont`` at the target), ``forms_target`` (the smallest whole number meeting the target),
        ``forms``, ``se`` and ``half_width`` (points, expected), ``meets_target``, ``published`` (at least
        ``min_cell_size`` forms or a census), ``cost``.
    allocations : DataFrame
        Per allocation: ``forms``, ``cost``, ``units_missing`` (count) and ``missing`` (names, ``; ``),
        ``units_unpublished``, ``max_half_width``, ``area_se``, ``area_half_width`` (points, expected).
    simulation, simulation_reps : DataFrame
        :func:`~sipas.planning.simulation.simulate_unit_allocations`' summary and replicates (0-1 scale).
    summary : DataFrame
        ``key``, ``value``: target, ranking SE bound, between-unit ICC, Kish effect measured, replicates, ...
    annex : DataFrame
        Seed 002's allocation appendix of the chosen allocation (:func:`sipas.sampling.service_allocation_annex`).
    """

    components: pd.DataFrame
    units: pd.DataFrame
    sizes: pd.DataFrame
    allocations: pd.DataFrame
    simulation: pd.DataFrame
    simulation_reps: pd.DataFrame
    summary: pd.DataFrame
    annex: pd.DataFrame
    settings: object
    costs: CostModel
    notes: dict = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The ``plan_*.csv`` tables by file stem (:attr:`sipas.kinds.PlanningSpec.files`)."""
        return {"plan_components": self.components, "plan_units": self.units, "plan_sizes": self.sizes,
                "plan_allocations": self.allocations, "plan_simulation": self.simulation,
                "plan_simulation_reps": self.simulation_reps, "plan_summary": self.summary}

    def write_annex(self, out_dir: Path) -> list[Path]:
        """The chosen allocation in seed 002's layout, ``plan_phu_luc_phan_bo_phieu.xlsx`` and ``.csv`` in
        ``out_dir`` (values, never formulas), through the writer ``sipas sample`` uses
        (:func:`sipas.sampling.write_service_allocation_annex`), titled with next year, in the survey's language
        (``notes["language"]``)."""
        from sipas.sampling import write_service_allocation_annex

        stem = SERVICE_USER_PLANNING.annex
        return list(write_service_allocation_annex(self.annex, xlsx_path=Path(out_dir) / f"{stem}.xlsx",
                                                   csv_path=Path(out_dir) / f"{stem}.csv",
                                                   year=int(self.notes["plan_year"]),
                                                   lang=self.notes.get("language", "vi")))


def _processed(cfg, root: Path, name: str) -> pd.DataFrame:
    p = cfg.processed_dir(root) / f"{name}.csv"
    if not p.is_file():
        raise StageInputMissing(f"{p} is missing: run `sipas report --survey {cfg.survey_id}` "
                                "(or the stages clean, reliability, weight, indices) first")
    return sio.read_csv(p)


def unit_statistics(scores: pd.DataFrame, *, weights: pd.DataFrame, cells: pd.DataFrame,
                    frame: pd.DataFrame) -> pd.DataFrame:
    """Per unit (in the unit frame's order) and variable: ``N_h``, forms, weighted mean, ``S_h`` and Kish's
    weighting effect of the unit's final weights (module docstring).

    Parameters
    ----------
    scores : DataFrame
        One column per variable, rows aligned with ``weights`` (``unit``, ``w_final``).
    cells : DataFrame
        ``weight_cells.csv``: ``unit``, ``transactions``, ``forms``.
    frame : DataFrame
        The unit frame: ``unit_id``, ``unit``, ``level``.

    Raises
    ------
    InputError
        A unit with forms that the unit frame does not list.
    """
    order = {nfc(u): i for i, u in enumerate(frame["unit"])}
    ids = dict(zip(frame["unit"].map(nfc), frame["unit_id"]))
    levels = dict(zip(frame["unit"].map(nfc), frame["level"]))
    units = sorted(cells["unit"], key=lambda u: (order.get(nfc(u), len(order)), u))
    unknown = [u for u in units if nfc(u) not in order]
    if unknown:
        raise InputError(f"unit {unknown[0]!r} of weight_cells.csv is not in the unit frame", column="unit")
    N = dict(zip(cells["unit"], cells["transactions"].astype(float)))
    n_forms = dict(zip(cells["unit"], cells["forms"].astype(int)))
    rows = []
    at = weights.groupby("unit", sort=False).indices    # positions of each unit's forms (one pass)
    w_all = weights["w_final"].to_numpy(dtype=float)
    y_all = {v: scores[v].to_numpy(dtype=float) for v in scores.columns}
    for u in units:
        m = at.get(u, np.array([], dtype=np.int64))
        w = w_all[m]
        deff = kish_deff(w)
        for v in scores.columns:
            y = y_all[v][m]
            ok = ~np.isnan(y)
            n = int(ok.sum())
            rows.append({"unit_id": ids[nfc(u)], "unit": u, "level": levels[nfc(u)], "variable": v,
                         "transactions": N[u], "forms": n_forms[u], "n": n,
                         "mean": float(np.sum(w[ok] * y[ok]) / np.sum(w[ok])) if n else np.nan,
                         "sd": float(np.std(y[ok], ddof=1)) if n > 1 else np.nan, "deff_w": deff})
    return pd.DataFrame(rows)


def allocate(per_unit: pd.DataFrame, *, method: str, total: int) -> pd.Series:
    """Forms per unit of one allocation (``per_unit``: ``unit``, ``transactions``, ``sd``, ``deff_w``,
    ``forms_target``; module docstring), indexed like ``per_unit``."""
    from sipas.sampling import allocate_forms

    N = per_unit["transactions"].astype(int)
    if method == "target":
        return per_unit["forms_target"].astype(int)
    if method == "fixed":
        return np.minimum(int(per_unit["forms_target"].max()), N).astype(int)
    frame = per_unit.assign(transactions=N, sd_eff=per_unit["sd"] * np.sqrt(per_unit["deff_w"]))
    if method == "proportional":
        out = allocate_forms(frame, method="proportional", total=total, size="transactions", unit="unit")
    else:
        out = allocate_forms(frame, method="neyman", total=total, size="transactions", unit="unit", sd="sd_eff",
                             minimum=2)
    return pd.Series(out["forms"].to_numpy(dtype=int), index=per_unit.index)


def allocation_sizes(per_unit: pd.DataFrame, *, target: float, costs: CostModel, min_cell_size: int,
                     max_se: float | None = None, level: float = 0.95,
                     allocations: tuple[str, ...] = ALLOCATIONS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The forms of every unit under each allocation, their expected precision and cost (module docstring).

    Parameters
    ----------
    per_unit : DataFrame
        One row per unit: ``unit``, ``transactions`` (``N_h``), ``sd`` (``S_h`` of the planning variable, 0-1
        scale), ``deff_w``.
    target : float
        Half-width of a unit's 95% interval, index points (0-100).
    max_se : float, optional
        A ranking goal's bound on a unit's SE, index points.

    Returns
    -------
    (DataFrame, DataFrame)
        ``plan_sizes`` (allocation x unit) and ``plan_allocations`` (per allocation) of :class:`ServicePlanResult`.
    """
    pu = per_unit.reset_index(drop=True).copy()
    s2 = (100.0 * pu["sd"].fillna(0.0)) ** 2
    need = [forms_needed(s2=float(v), N=float(N), target=target, deff_w=float(d), level=level, max_se=max_se)
            for v, N, d in zip(s2, pu["transactions"], pu["deff_w"])]
    pu["n_cont"] = [x.n_cont for x in need]
    pu["forms_needed"] = [x.forms for x in need]
    floor_ = np.minimum(int(min_cell_size), pu["transactions"].astype(int))
    pu["forms_target"] = np.maximum(pu["forms_needed"], floor_).astype(int)
    total = int(pu["forms_target"].sum())
    N = pu["transactions"].to_numpy(dtype=float)
    W = N / N.sum()
    q = 1 - (1 - level) / 2
    rows, totals = [], []
    for a in allocations:
        n = allocate(pu, method=a, total=total).to_numpy(dtype=int)
        se = np.array([np.sqrt(unit_variance(n=int(k), N=float(Nh), s2=float(v), deff_w=float(d)))
                       for k, Nh, v, d in zip(n, N, s2, pu["deff_w"])])
        hw = np.array([unit_half_width(n=int(k), N=float(Nh), s2=float(v), deff_w=float(d), level=level)
                       for k, Nh, v, d in zip(n, N, s2, pu["deff_w"])])
        meets = (hw <= target * (1 + 1e-12)) & (True if max_se is None else se <= max_se * (1 + 1e-12))
        published = (n >= np.minimum(int(min_cell_size), N))
        cost = costs.commune + costs.form * n
        for i, u in enumerate(pu["unit"]):
            rows.append({"design": a, "unit": u, "transactions": N[i], "sd": float(pu["sd"].iloc[i]),
                         "deff_w": float(pu["deff_w"].iloc[i]), "n_cont": float(pu["n_cont"].iloc[i]),
                         "forms_target": int(pu["forms_target"].iloc[i]), "forms": int(n[i]), "se": float(se[i]),
                         "half_width": float(hw[i]), "meets_target": bool(meets[i]),
                         "published": bool(published[i]), "cost": float(cost[i])})
        area_se = float(np.sqrt(np.sum(W ** 2 * se ** 2)))
        miss = [u for u, ok in zip(pu["unit"], meets) if not ok]
        totals.append({"design": a, "forms": int(n.sum()), "cost": costs.forms(desks=len(pu), forms=float(n.sum())),
                       "units_missing": len(miss), "missing": "; ".join(miss),
                       "units_unpublished": int((~published).sum()), "max_half_width": float(hw.max()),
                       "area_se": area_se,
                       "area_half_width": float(stats.t.ppf(q, int(n.sum()) - len(pu))) * area_se})
    return pd.DataFrame(rows), pd.DataFrame(totals)


def compute_service_plan(cfg, *, root: Path, settings) -> ServicePlanResult:
    """Everything the service-user plan report shows, from the finished year's files (module docstring).

    Call it through :func:`sipas.planning.compute_plan`, which checks ``settings`` and fills in the default
    allocation of the annex (``target``).

    Raises
    ------
    StageInputMissing
        A processed file of the finished year is missing.
    ConfigError, InputError
        The unit frame is not configured or is wrong.
    """
    from sipas.forms.instrument import load_instrument
    from sipas.forms.instrument.rules import resolve_rule
    from sipas.indices.scoring import positive_indicators
    from sipas.sampling import service_allocation_annex

    root = Path(root)
    inst = load_instrument(cfg.instrument_id, cfg.instrument_version)
    rule = resolve_rule(inst.raw, cfg.extra.get("index_rule"), file=cfg.path)
    forms = _processed(cfg, root, "forms_clean")
    weights = _processed(cfg, root, "weights")
    wsum = _processed(cfg, root, "weight_summary")
    cells = _processed(cfg, root, "weight_cells")
    totals = _processed(cfg, root, "poststrata_totals")
    frame = cfg.kind.frame("units").read(cfg.frames["units"], structure=cfg.structure)
    costs = CostModel.from_config(cfg.extra.get("planning"))

    forms = forms.assign(unit=forms["unit"].astype(str).str.strip())
    scores = household_scores(positive_indicators(forms, instrument=inst), rule=rule)
    scores.index = forms["form_id"].to_numpy()
    w = weights.set_index("form_id", drop=False)
    common = [f for f in w.index if f in scores.index]
    w = w.loc[common].reset_index(drop=True)
    sc = scores.loc[common].reset_index(drop=True)

    comp = components_table(sc, w, levels=["unit"])
    pos = comp["sigma2"].clip(lower=0.0)
    tot = pos.groupby(comp["variable"]).transform("sum")
    comp["icc"] = np.where(comp["component"] == "unit", pos / tot.where(tot > 0), np.nan)

    units = unit_statistics(sc, weights=w, cells=cells, frame=frame)
    overall = units[units["variable"] == "overall"].reset_index(drop=True)
    s = settings
    max_se = None if s.gap is None else se_for_ranking(s.gap, power=s.power)
    sizes, allocs = allocation_sizes(overall, target=s.half_width, costs=costs, min_cell_size=cfg.min_cell_size,
                                     max_se=max_se)

    pop_forms = w.assign(y=sc["overall"].to_numpy())
    pop = bootstrap_population(pop_forms, totals=totals, seed=cfg.seed + s.seed)
    plan_alloc = {a: dict(zip(g["unit"], g["forms"].clip(lower=2))) for a, g in sizes.groupby("design", sort=False)}
    reps_df, summ = simulate_unit_allocations(pop, allocations=plan_alloc, reps=s.reps, seed=cfg.seed + s.seed + 1,
                                              costs=costs)

    chosen = sizes[sizes["design"] == s.design].merge(overall[["unit", "unit_id"]], on="unit")
    annex = service_allocation_annex(chosen.assign(note=""), unit="unit", note="note", lang=cfg.language)
    ov = comp[(comp["variable"] == "overall") & (comp["component"] == "unit")].iloc[0]
    final = wsum[wsum["weights"] == "final"].iloc[0]
    summary = pd.DataFrame([
        {"key": "target_half_width", "value": float(s.half_width)},
        {"key": "ranking_max_se", "value": float("nan") if max_se is None else max_se},
        {"key": "icc_unit", "value": float(ov["icc"])},
        {"key": "kish_deff_measured", "value": float(final["kish_deff"])},
        {"key": "forms_this_year", "value": float(final["n"])},
        {"key": "units", "value": float(len(overall))},
        {"key": "min_cell_size", "value": float(cfg.min_cell_size)},
        {"key": "reps", "value": float(s.reps)},
        {"key": "costs_default", "value": float(costs.default)},
    ])
    missing_units = [u for u in frame["unit"] if nfc(u) not in set(overall["unit"].map(nfc))]
    return ServicePlanResult(comp, units, sizes, allocs, summ, reps_df, summary, annex, s, costs,
                             {"plan_year": int(cfg.year) + 1, "forms": float(final["n"]),
                              "kish_deff_measured": float(final["kish_deff"]),
                              "units_without_forms": missing_units, "survey_id": cfg.survey_id,
                              "year": int(cfg.year), "province": cfg.province, "language": cfg.language,
                              "exit_mode": (cfg.extra.get("sampling") or {}).get("mode", "exit") == "exit"})


def summary_lines(cfg, *, root: Path) -> list[str]:
    """The command line's summary of a written service-user plan: forms, cost and units missing the target per
    allocation, and the simulated coverage of the units' intervals."""
    out = cfg.processed_dir(root)
    allocs = sio.read_csv(out / "plan_allocations.csv")
    sim = sio.read_csv(out / "plan_simulation.csv")
    cov = sim[sim["unit"] != AREA].groupby("design", sort=False)["coverage"].mean()
    lines = []
    for _, r in allocs.iterrows():
        missing = "every unit meets the target" if int(r["units_missing"]) == 0 else \
            f"{int(r['units_missing'])} unit(s) miss the target"
        lines.append(f"  {r['design']}: {int(r['forms'])} forms, cost {r['cost']:.0f}, {missing}; simulated "
                     f"coverage of the units' 95% CIs {100 * float(cov.get(r['design'], np.nan)):.1f}%")
    lines.append(f"  wrote {out}/plan_*.csv, {cfg.reports_dir(root)}/{SERVICE_USER_PLANNING.annex}.xlsx|csv")
    return lines

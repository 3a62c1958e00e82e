"""``sipas plan``: variance components, sample sizes and the design comparison of a finished survey-year.

Reads ``data/raw/<id>`` (survey.yml, frames) and the processed files of the finished year
(``forms_clean``, ``weights``, ``weight_summary``); writes ``data/processed/<id>/plan_*.csv`` (its own
outputs) and, through :mod:`sipas.planning.report`, ``reports/<id>/plan.html`` and the allocation annex.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sipas import io as sio
from sipas.errors import ConfigError, StageInputMissing
from sipas.planning.cost import CostModel
from sipas.planning.sample_size import StageComponents, half_width_for_ranking, plan_sizes
from sipas.planning.simulation import (PopulationModel, simulate_household, simulate_service_user,
                                       synthetic_population)
from sipas.planning.variance_components import components_table, household_scores
from sipas.text.normalize import nfc

#: Files ``sipas plan`` writes in ``data/processed/<id>/``.
PLAN_FILES = ("plan_components", "plan_sizes", "plan_simulation", "plan_simulation_reps", "plan_service_user",
              "plan_summary")
DESIGNS = ("seed_rule", "pps", "stratified_srs")


@dataclass(frozen=True)
class PlanSettings:
    """Targets and simulation size: ``half_width`` (index points on 0-100 per report unit), optional ranking
    ``gap``, ``desk_half_width`` (service-user desks), ``reps``, ``seed``, the ``design`` of the annex."""

    half_width: float = 3.0
    gap: float | None = None
    desk_half_width: float = 5.0
    reps: int = 20
    seed: int = 0
    design: str = "pps"


@dataclass
class PlanResult:
    """The plan's tables (tidy DataFrames, unrounded)."""

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


def _processed(cfg, root: Path, name: str) -> pd.DataFrame:
    p = cfg.processed_dir(root) / f"{name}.csv"
    if not p.is_file():
        raise StageInputMissing(f"{p} is missing: run `sipas report --survey {cfg.survey_id}` "
                                "(or the stages clean, reliability, weight, indices) first")
    return sio.read_csv(p)


def _frames(cfg) -> tuple[pd.DataFrame, pd.DataFrame]:
    from sipas.sampling.frames import read_frame

    need = ("communes", "villages")
    missing = [n for n in need if n not in cfg.frames]
    if missing:
        raise ConfigError(f"`sipas plan` needs the {', '.join(missing)} frame(s)", file=cfg.path, key="frames")
    return tuple(read_frame(cfg.frames[n], kind=n, structure=cfg.structure) for n in need)  # type: ignore[return-value]


def compute_plan(cfg, *, root: Path, settings: PlanSettings) -> PlanResult:
    """Everything the plan report shows, from the finished year's files (see the module docstring)."""
    from sipas.forms.instrument import load_instrument
    from sipas.forms.instrument.rules import resolve_rule
    from sipas.indices.scoring import positive_indicators

    if settings.design not in DESIGNS:
        raise ConfigError(f"unknown design {settings.design!r}; use one of {', '.join(DESIGNS)}", key="--design")
    levels = [cfg.design.strata, cfg.design.psu, "village"]
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

    # weighting effects per district: the seed rule's measured ones; PPS self-weighting; SRS from the frame
    w = weights.merge(forms[["form_id"]], on="form_id")
    meas = w.groupby("district")["w_final"].apply(lambda x: float(len(x) * np.sum(x ** 2) / np.sum(x) ** 2))
    vil = villages.assign(district=villages["district"].map(nfc), commune=villages["commune"].map(nfc))
    vc = vil.groupby(["district", "commune"])["village"].transform("size")
    srs_w = vil.assign(w=vc * vil["households"], p=1.0 / vc)
    srs_deff = srs_w.groupby("district").apply(
        lambda g: float(np.sum(g["p"] * g["w"] ** 2) * np.sum(g["p"]) / np.sum(g["p"] * g["w"]) ** 2),
        include_groups=False)
    com = communes.assign(district=communes["district"].map(nfc))
    units = com.groupby("district").size().rename("communes").reset_index().rename(columns={"district": "unit"})
    also_last = tuple((cfg.extra.get("sampling") or {}).get("also_last_districts") or ())
    from sipas.sampling import select_communes

    seed_m = select_communes(communes, also_last=also_last).groupby("district").size().to_dict()
    target = settings.half_width if settings.gap is None else min(settings.half_width,
                                                                  half_width_for_ranking(settings.gap))
    sizes = pd.concat([
        plan_sizes(sc, target=target, units=units, costs=costs, deff_w=meas.to_dict(), fixed_communes=seed_m,
                   villages_per_commune=3, design="seed_rule"),
        plan_sizes(sc, target=target, units=units, costs=costs, deff_w={}, design="pps"),
        plan_sizes(sc, target=target, units=units, costs=costs, deff_w=srs_deff.to_dict(), design="stratified_srs"),
    ], ignore_index=True)

    # simulation on a synthetic population calibrated to the components and the seed rule's fixed effects
    sel = forms.merge(weights[["form_id", "w_final"]], on="form_id")
    sel = sel.assign(y=scores["overall"].to_numpy())
    cen = set(zip(com.loc[com["is_admin_centre"].astype(int) == 1, "district"],
                  communes.loc[com["is_admin_centre"].astype(int) == 1, "commune"].map(nfc)))
    hqv = set(zip(vil.loc[vil["has_commune_hq"].astype(int) == 1, "district"],
                  vil.loc[vil["has_commune_hq"].astype(int) == 1, "commune"],
                  vil.loc[vil["has_commune_hq"].astype(int) == 1, "village"].map(nfc)))
    sel["centre"] = [(nfc(d), nfc(c)) in cen for d, c in zip(sel["district"], sel["commune"])]
    sel["hq"] = [(nfc(d), nfc(c), nfc(v)) in hqv for d, c, v in zip(sel["district"], sel["commune"], sel["village"])]
    by_d = sel.groupby(["district", "centre"])["y"].mean().unstack()
    centre_eff = float((by_d[True] - by_d[False]).mean()) if {True, False} <= set(by_d.columns) else 0.0
    by_c = sel[~sel["centre"]].groupby(["district", "commune", "hq"])["y"].mean().unstack()
    hq_eff = float((by_c[True] - by_c[False]).mean()) if {True, False} <= set(by_c.columns) else 0.0
    allv = comp[comp["variable"] == "overall"].set_index("component")["sigma2"].clip(lower=0.0)
    model = PopulationModel(mean=float(comp.loc[comp["variable"] == "overall", "mean"].iloc[0]),
                            district=float(allv[levels[0]]), commune=float(allv[levels[1]]),
                            village=float(allv[levels[2]]), household=float(allv["within"]),
                            centre_effect=centre_eff, hq_effect=hq_eff)
    pop = synthetic_population(communes, villages, model=model, seed=cfg.seed + settings.seed)
    rr = _response_rate(cfg, root)
    reps_df, summ = simulate_household(pop, communes, villages, reps=settings.reps, seed=cfg.seed + settings.seed + 1,
                                       also_last=also_last, households_per_village=int(
                                           (cfg.extra.get("sampling") or {}).get("households_per_village", 30)),
                                       response_rate=rr, costs=costs, seed_sample=_seed_sample(cfg))
    desks = com.assign(commune=communes["commune"].map(nfc)).rename(columns={"households": "users"})[
        ["district", "commune", "users"]]
    su = simulate_service_user(desks, model=model, reps=max(2, settings.reps // 10), seed=cfg.seed + settings.seed + 2,
                               costs=costs)
    from sipas.planning.simulation import summarise

    su_sum = summarise(su.drop(columns="forms")).merge(
        su.groupby(["design"], sort=False)["forms"].first().reset_index(), on="design")
    measured = float(wsum.loc[wsum["weights"] == "final", "kish_deff"].iloc[0])
    annex = allocation_annex(sizes, design=settings.design, villages=villages, communes=communes, seed=cfg.seed)
    summary = pd.DataFrame([
        {"key": "kish_deff_measured", "value": measured},
        {"key": "centre_effect", "value": centre_eff}, {"key": "hq_effect", "value": hq_eff},
        {"key": "response_rate", "value": rr}, {"key": "target_half_width", "value": target},
        {"key": "reps", "value": float(settings.reps)}, {"key": "costs_default", "value": float(costs.default)},
    ])
    return PlanResult(comp, sizes, summ, reps_df, su_sum, summary, annex, settings, costs,
                      {"kish_deff_measured": measured})


def _seed_sample(cfg) -> pd.DataFrame | None:
    """The official households of the finished year's sample list (raw input), when it was drawn by the seed rule."""
    samp = (cfg.extra.get("sampling") or {}).get("sample_file")
    if not samp or (cfg.extra.get("sampling") or {}).get("communes"):
        return None
    p = cfg.raw_path(samp, key="sampling.sample_file")
    if not p.is_file():
        return None
    s = sio.read_csv(p)
    if "role" in s.columns:
        s = s[~s["role"].astype(str).str.startswith("reserve")]
    out = s[["district", "commune", "village", "pi"]].copy()
    for c in ("district", "commune", "village"):
        out[c] = out[c].map(nfc)
    return out


def _response_rate(cfg, root: Path) -> float:
    """Valid forms over distributed forms (``response_rates.csv`` of the cleaning stage)."""
    rr = _processed(cfg, root, "response_rates")
    d = float(rr["distributed"].sum())
    return min(float(rr["valid"].sum()) / d, 1.0) if d > 0 else 1.0


def allocation_annex(sizes: pd.DataFrame, *, design: str, villages: pd.DataFrame, communes: pd.DataFrame,
                     seed: int) -> pd.DataFrame:
    """Phụ lục 04 of the chosen design: the communes of each district drawn by that design (the seed rule's
    own communes for ``seed_rule``) with their villages and forms, via :func:`sipas.sampling.annex_04`."""
    from sipas.sampling import annex_04, select_communes, stratified_select

    s = sizes[sizes["design"] == design].set_index("unit")
    com = communes.assign(district=communes["district"].map(nfc), commune=communes["commune"].map(nfc))
    if design == "seed_rule":
        chosen = select_communes(communes)
        chosen = chosen[chosen["district"].isin(s.index)]
    else:
        n = {u: int(min(s.loc[u, "communes"], (com["district"] == u).sum())) for u in s.index}
        chosen = stratified_select(com, strata="district", n=n, method="pps_systematic" if design == "pps" else "srs",
                                   size="households", order_by="commune", seed=seed)
    b = s["villages_per_commune"].reindex(chosen["district"]).to_numpy()
    q = s["households_per_village"].reindex(chosen["district"]).to_numpy()
    al = pd.DataFrame({"district": chosen["district"].to_numpy(), "commune": chosen["commune"].to_numpy(),
                       "villages": np.nan_to_num(b).astype(int),
                       "forms": np.nan_to_num(b * q).astype(int)})
    return annex_04(al)


def write_plan(result: PlanResult, cfg, *, root: Path) -> list[Path]:
    """Write the plan's tables to ``data/processed/<id>/plan_*.csv`` (atomic, inside the caller's transaction)."""
    out = cfg.processed_dir(root)
    tables = {"plan_components": result.components, "plan_sizes": result.sizes,
              "plan_simulation": result.simulation, "plan_simulation_reps": result.simulation_reps,
              "plan_service_user": result.service_user, "plan_summary": result.summary}
    return [sio.write_csv(t, out / f"{name}.csv") for name, t in tables.items()]

"""Design comparison by simulation on a synthetic population calibrated to this year's variance components.

Population: every household of the village frame gets ``y = mu + a_district + b_commune + c_village + e`` with
normal effects of the estimated variances (:func:`~sipas.planning.nested_components` of the households'
scores), plus the fixed effects this year's data show for administrative-centre communes and office
villages (``centre_effect``, ``hq_effect``: the seed rule always takes those, so they are what can bias it).
Drawn once from ``seed``; the samples then use ``seed + 1``.

Designs (the same number of communes per district as the seed rule, 3 villages per commune, ``q``
households per village, SRS of households within villages):

* ``seed_rule``: seed 000's positional rules (:func:`sipas.sampling.select_communes`,
  :func:`sipas.sampling.select_villages`) with the probabilities the sampling stage assigns
  (:func:`sipas.sampling.stage_probabilities`);
* ``pps``: PPS systematic communes and villages by households (:func:`sipas.sampling.pps_systematic`);
* ``stratified_srs``: SRS of communes within districts and of villages within communes.

Each sample: responses with the observed response rate, weights ``1/pi`` adjusted for nonresponse within
communes and post-stratified to the districts' household counts (as the weighting stage does); district and
province means; variance by ultimate clusters (communes) within districts with the stage-1 fpc; t intervals
with ``#communes - 1`` degrees of freedom per district, ``sum(m_h - 1)`` for the province.

Service-user designs (:func:`simulate_service_user`): every commune desk is a report unit; forms are an SRS
of the desk's users; allocations ``fixed``, ``proportional``, ``minimum_plus_proportional``
(:func:`sipas.sampling.allocate_forms`) and ``neyman`` (implemented here, largest remainder on
``N_h S_h``: the sampling module has no Neyman allocation yet).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sipas.errors import DesignError
from sipas.planning.cost import CostModel
from sipas.sampling import (allocate_forms, allocate_largest_remainder, pps_systematic, select_communes,
                            select_villages, srs_select, stage_probabilities)
from sipas.text.normalize import nfc

HOUSEHOLD_DESIGNS = ("seed_rule", "pps", "stratified_srs")
SERVICE_ALLOCATIONS = ("fixed", "proportional", "minimum_plus_proportional", "neyman")


@dataclass(frozen=True)
class PopulationModel:
    """Variances of the synthetic population's effects and its fixed effects (score scale, 0-1)."""

    mean: float
    district: float
    commune: float
    village: float
    household: float
    centre_effect: float = 0.0
    hq_effect: float = 0.0


def synthetic_population(communes: pd.DataFrame, villages: pd.DataFrame, *, model: PopulationModel,
                         seed: int) -> pd.DataFrame:
    """The village frame's households (``households`` per village) with a planning variable ``y`` (see the
    module docstring); deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    reps = villages["households"].astype(int).to_numpy()
    hh = villages.loc[villages.index.repeat(reps), ["district", "commune", "village"]].reset_index(drop=True)
    for c in hh.columns:
        hh[c] = hh[c].map(nfc)
    d_code, d_u = pd.factorize(hh["district"], sort=True)
    c_code, c_u = pd.factorize(hh["district"] + "\x1f" + hh["commune"], sort=True)
    v_code, v_u = pd.factorize(hh["district"] + "\x1f" + hh["commune"] + "\x1f" + hh["village"], sort=True)
    sd = np.sqrt(np.maximum([model.district, model.commune, model.village, model.household], 0.0))
    a = rng.normal(0, sd[0], len(d_u))
    b = rng.normal(0, sd[1], len(c_u))
    c = rng.normal(0, sd[2], len(v_u))
    e = rng.normal(0, sd[3], len(hh))
    com = communes.assign(key=communes["district"].map(nfc) + "\x1f" + communes["commune"].map(nfc))
    centre = set(com.loc[com["is_admin_centre"].astype(int) == 1, "key"])
    vil = villages.assign(key=villages["district"].map(nfc) + "\x1f" + villages["commune"].map(nfc) + "\x1f"
                          + villages["village"].map(nfc))
    hq = set(vil.loc[vil["has_commune_hq"].astype(int) == 1, "key"])
    fix = (model.centre_effect * np.isin(np.asarray(c_u)[c_code], list(centre))
           + model.hq_effect * np.isin(np.asarray(v_u)[v_code], list(hq)))
    hh["y"] = model.mean + a[d_code] + b[c_code] + c[v_code] + e + fix
    return hh


def _weighted_estimates(s: pd.DataFrame, N_h: pd.Series, M_h: pd.Series) -> tuple[pd.DataFrame, float, float, int]:
    """District means, SEs and df; province mean, SE and df (module docstring)."""
    rows = []
    for d, g in s.groupby("district", sort=True):
        w, y = g["w"].to_numpy(), g["y"].to_numpy()
        mean = float(np.sum(w * y) / np.sum(w))
        z = pd.Series(w * (y - mean) / np.sum(w)).groupby(g["commune"].to_numpy()).sum().to_numpy()
        m = len(z)
        fpc = 1.0 - m / float(M_h[d])
        var = fpc * m / (m - 1) * np.sum((z - z.mean()) ** 2) if m > 1 else np.nan
        rows.append({"unit": d, "estimate": mean, "se": float(np.sqrt(var)), "df": m - 1, "N": float(N_h[d])})
    t = pd.DataFrame(rows)
    W = t["N"] / t["N"].sum()
    return t, float(np.sum(W * t["estimate"])), float(np.sqrt(np.sum(W ** 2 * t["se"] ** 2))), int(t["df"].sum())


def _draw(design: str, pop: pd.DataFrame, communes: pd.DataFrame, villages: pd.DataFrame, m_h: dict[str, int],
          seed_sel: tuple[pd.DataFrame, pd.DataFrame] | None, q: int, rng: np.random.Generator) -> pd.DataFrame:
    """Selected villages with ``pi_cv`` (commune x village probability)."""
    if design == "seed_rule":
        sv = seed_sel[1]
        return sv[["district", "commune", "village", "pi_commune_village"]].rename(columns={"pi_commune_village": "pi_cv"})
    parts = []
    for d in sorted(m_h):
        cf = communes[communes["district"] == d]
        if design == "pps":
            sc = pps_systematic(cf, size="households", n=m_h[d], rng=rng)
        else:
            sc = srs_select(cf, n=m_h[d], rng=rng)
        for c, p1 in zip(sc["commune"], sc["pi"]):
            vf = villages[(villages["district"] == d) & (villages["commune"] == c)]
            k = min(3, len(vf))
            sv = pps_systematic(vf, size="households", n=k, rng=rng) if design == "pps" else srs_select(vf, n=k, rng=rng)
            parts.append(pd.DataFrame({"district": d, "commune": c, "village": sv["village"].to_numpy(),
                                       "pi_cv": p1 * sv["pi"].to_numpy()}))
    return pd.concat(parts, ignore_index=True)


def simulate_household(pop: pd.DataFrame, communes: pd.DataFrame, villages: pd.DataFrame, *, reps: int, seed: int,
                       also_last: tuple[str, ...] = (), households_per_village: int = 30, response_rate: float = 1.0,
                       costs: CostModel, designs: tuple[str, ...] = HOUSEHOLD_DESIGNS,
                       level: float = 0.95, seed_sample: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Repeated samples of each design from ``pop`` (:func:`synthetic_population`).

    ``seed_sample`` (the finished year's official sample list: ``district``, ``commune``, ``village`` — the
    household's own village — and ``pi``), when given, is the seed rule's sample: the rule is deterministic
    above the household stage, so each replicate draws the same number of households from the same villages
    with the same probabilities, including the households the rule takes from a neighbouring village when a
    village has fewer than 30 (the source of the rule's largest weights).

    Returns
    -------
    (DataFrame, DataFrame)
        Per replicate (``design``, ``rep``, ``unit`` — a district or ``province`` —, ``estimate``, ``se``,
        ``df``, ``truth``, ``covered``, ``half_width``, ``kish_deff``, ``cost``), and the summary per design and
        unit: ``bias``, ``se_empirical``, ``se_mean``, ``coverage``, ``half_width``, ``kish_deff`` and
        ``kish_deff_mc_se`` (Monte Carlo standard error), ``cost``, ``reps``.
    """
    if reps < 2:
        raise DesignError("at least 2 replicates are needed")
    for c in ("district", "commune"):
        communes = communes.assign(**{c: communes[c].map(nfc)})
    for c in ("district", "commune", "village"):
        villages = villages.assign(**{c: villages[c].map(nfc)})
    vil_hh = villages.groupby(["district", "commune"])["households"].sum()
    communes = communes.assign(households=[float(vil_hh.get((d, c), 0)) for d, c in
                                           zip(communes["district"], communes["commune"])])
    sc = select_communes(communes, also_last=also_last)
    svill = select_villages(villages.merge(sc[["district", "commune"]], on=["district", "commune"]))
    seed_sel = stage_probabilities(communes, villages, sc, svill)
    m_h = sc.groupby("district").size().to_dict()
    M_h = communes.groupby("district").size()
    N_h = pop.groupby("district").size().astype(float)
    truth = pop.groupby("district")["y"].mean()
    truth_prov = float(pop["y"].mean())
    pop_v = pop.assign(_k=pop["district"] + "\x1f" + pop["commune"] + "\x1f" + pop["village"])
    by_village = {k: g["y"].to_numpy() for k, g in pop_v.groupby("_k", sort=False)}
    rng = np.random.default_rng(seed)
    q_t = stats.t.ppf(1 - (1 - level) / 2, 1)  # placeholder, replaced per df below
    del q_t
    out = []
    for design in designs:
        for r in range(reps):
            parts = []
            if design == "seed_rule" and seed_sample is not None:
                sel = seed_sample.groupby(["district", "commune", "village"], sort=True).agg(
                    k=("pi", "size"), pi=("pi", "first")).reset_index()
                draws = zip(sel["district"], sel["commune"], sel["village"], sel["k"], sel["pi"])
            else:
                sel = _draw(design, pop, communes, villages, m_h, seed_sel, households_per_village, rng)
                draws = ((d, c, v, None, p) for d, c, v, p in zip(sel["district"], sel["commune"], sel["village"],
                                                                   sel["pi_cv"]))
            for d, c, v, k, p in draws:
                ys = by_village.get(d + "\x1f" + c + "\x1f" + v)
                if ys is None or len(ys) == 0:
                    continue
                if k is None:
                    k = min(households_per_village, len(ys))
                    w = 1.0 / (p * k / len(ys))
                else:
                    k = min(int(k), len(ys))
                    w = 1.0 / p
                pick = rng.choice(len(ys), size=k, replace=False)
                resp = rng.random(k) < response_rate
                parts.append(pd.DataFrame({"district": d, "commune": c, "y": ys[pick], "resp": resp, "w": w}))
            s = pd.concat(parts, ignore_index=True)
            # nonresponse adjustment within communes, then post-stratification to the districts' households
            tot = s.groupby(["district", "commune"])["w"].transform("sum")
            rtot = s["w"].where(s["resp"], 0.0).groupby([s["district"], s["commune"]]).transform("sum")
            s = s[s["resp"]].assign(w=lambda x: x["w"] * (tot[x.index] / rtot[x.index]))
            s["w"] = s["w"] * s["district"].map(N_h) / s.groupby("district")["w"].transform("sum")
            kish = float(len(s) * np.sum(s["w"] ** 2) / np.sum(s["w"]) ** 2)
            n_comm = int(s.groupby(["district", "commune"]).ngroups)
            cost = costs.household_survey(communes=n_comm, villages=len(sel), households=len(s))
            t, pm, pse, pdf = _weighted_estimates(s, N_h, M_h)
            t = pd.concat([t, pd.DataFrame([{"unit": "province", "estimate": pm, "se": pse, "df": pdf}])],
                          ignore_index=True)
            t["truth"] = [float(truth[u]) if u != "province" else truth_prov for u in t["unit"]]
            tq = stats.t.ppf(1 - (1 - level) / 2, t["df"].to_numpy())
            t["half_width"] = tq * t["se"]
            t["covered"] = (t["estimate"] - t["truth"]).abs() <= t["half_width"]
            t = t.assign(design=design, rep=r, kish_deff=kish, cost=cost)
            out.append(t[["design", "rep", "unit", "estimate", "se", "df", "truth", "covered", "half_width",
                          "kish_deff", "cost"]])
    reps_df = pd.concat(out, ignore_index=True)
    return reps_df, summarise(reps_df)


def summarise(reps_df: pd.DataFrame) -> pd.DataFrame:
    """Per design and unit: bias, empirical SE, mean estimated SE, coverage, mean half-width, Kish deff
    (mean and Monte Carlo SE), mean cost, replicates."""
    g = reps_df.assign(err=reps_df["estimate"] - reps_df["truth"]).groupby(["design", "unit"], sort=False)
    s = g.agg(bias=("err", "mean"), se_empirical=("estimate", "std"), se_mean=("se", "mean"),
              coverage=("covered", "mean"), half_width=("half_width", "mean"), kish_deff=("kish_deff", "mean"),
              kish_sd=("kish_deff", "std"), cost=("cost", "mean"), reps=("rep", "nunique")).reset_index()
    s["rmse"] = np.sqrt(s["bias"] ** 2 + s["se_empirical"] ** 2)
    s["kish_deff_mc_se"] = s["kish_sd"] / np.sqrt(s["reps"])
    s["coverage_mc_se"] = np.sqrt(s["coverage"] * (1 - s["coverage"]) / s["reps"])
    return s.drop(columns="kish_sd")


def neyman_forms(units: pd.DataFrame, *, total: int, size: str = "users", sd: str = "sd", minimum: int = 2) -> pd.Series:
    """Neyman allocation of ``total`` forms: ``n_h`` proportional to ``N_h S_h`` (Cochran 1977 eq. 5.60;
    PracTools ``strAlloc(alloc = "neyman")``), whole forms by the largest remainder, at least ``minimum``."""
    return allocate_largest_remainder(units[size].astype(float) * units[sd].astype(float), int(total),
                                      minimum=minimum).astype(int)


def simulate_service_user(desks: pd.DataFrame, *, model: PopulationModel, reps: int, seed: int,
                          per_desk: int = 50, minimum: int = 30, costs: CostModel,
                          allocations: tuple[str, ...] = SERVICE_ALLOCATIONS, level: float = 0.95) -> pd.DataFrame:
    """Service-user survey: every desk (``desks``: ``commune``, ``users``) is a report unit; per allocation,
    the per-desk half-width, coverage and cost, and the province's (stratified by desk).

    The users' scores are ``mean + b_desk + e`` with the commune and (village + household) components; the desk
    SDs differ (``e``'s SD scaled by a seeded factor in [0.7, 1.3]) so Neyman differs from proportional.
    """
    rng = np.random.default_rng(seed)
    d = desks.reset_index(drop=True).copy()
    b = rng.normal(0, np.sqrt(max(model.commune, 0.0)), len(d))
    scale = rng.uniform(0.7, 1.3, len(d))
    sd_within = np.sqrt(max(model.village + model.household, 0.0)) * scale
    pops = [model.mean + b[i] + rng.normal(0, sd_within[i], int(n)) for i, n in enumerate(d["users"])]
    d["sd"] = [float(np.std(p, ddof=1)) for p in pops]
    truth = np.array([p.mean() for p in pops])
    total = per_desk * len(d)
    N = d["users"].to_numpy(dtype=float)
    alloc = {}
    for a in allocations:
        if a == "neyman":
            alloc[a] = neyman_forms(d, total=total).to_numpy()
        elif a == "fixed":
            alloc[a] = allocate_forms(d, method="fixed", per_unit=per_desk)["forms"].to_numpy()
        else:
            alloc[a] = allocate_forms(d, method=a, total=total, minimum=minimum, size="users")["forms"].to_numpy()
        alloc[a] = np.minimum(np.maximum(alloc[a], 2), N.astype(int))
    rows = []
    for a in allocations:
        n = alloc[a]
        for r in range(reps):
            est = np.empty(len(d))
            se = np.empty(len(d))
            for i, p in enumerate(pops):
                x = p[rng.choice(len(p), size=int(n[i]), replace=False)]
                est[i] = x.mean()
                se[i] = np.sqrt((1 - n[i] / N[i]) * x.var(ddof=1) / n[i])
            hw = stats.t.ppf(1 - (1 - level) / 2, n - 1) * se
            W = N / N.sum()
            pest, pse = float(np.sum(W * est)), float(np.sqrt(np.sum(W ** 2 * se ** 2)))
            phw = stats.norm.ppf(1 - (1 - level) / 2) * pse
            cost = costs.forms(desks=len(d), forms=float(n.sum()))
            rows.append({"design": a, "rep": r, "unit": "desk", "estimate": float(np.mean(est - truth)),
                         "se": float(np.mean(se)), "df": float(np.mean(n - 1)), "truth": 0.0,
                         "covered": float(np.mean(np.abs(est - truth) <= hw)), "half_width": float(np.mean(hw)),
                         "kish_deff": float("nan"), "cost": cost, "forms": int(n.sum())})
            rows.append({"design": a, "rep": r, "unit": "province", "estimate": pest, "se": pse, "df": float("inf"),
                         "truth": float(np.sum(W * truth)), "covered": float(abs(pest - np.sum(W * truth)) <= phw),
                         "half_width": phw, "kish_deff": float("nan"), "cost": cost, "forms": int(n.sum())})
    return pd.DataFrame(rows)

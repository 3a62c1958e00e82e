"""Design comparison by simulation on a synthetic population calibrated to this year's variance components.

Population: every household of the village frame gets ``y = mu + a_stratum + b_commune + c_village + e`` with
normal effects of the estimated variances (:func:`~sipas.planning.nested_components` of the households'
scores), plus the fixed effects this year's data show for administrative-centre communes and office
villages (``centre_effect``, ``hq_effect``: the seed rule always takes those, so they are what can bias it).
Drawn once from ``seed``; the samples then use ``seed + 1``.

The strata (report units) and PSUs are the design's columns (``cfg.design.strata`` / ``cfg.design.psu``:
districts and communes in a household survey, provinces and communes in a national one), passed as ``strata`` and
``psu``; villages are the ``village`` column of the village frame.

Designs (the same number of communes per stratum as this year's sample — the seed rule's, or the finished
year's sample list where the kind has no seed rule —, 3 villages per commune, ``q`` households per village, SRS
of households within villages):

* ``seed_rule``: seed 000's positional rules (:func:`sipas.sampling.select_communes`,
  :func:`sipas.sampling.select_villages`) with the probabilities the sampling stage assigns
  (:func:`sipas.sampling.stage_probabilities`);
* ``pps``: PPS systematic communes and villages by households (:func:`sipas.sampling.pps_systematic`);
* ``stratified_srs``: SRS of communes within districts and of villages within communes.

Each sample is weighted by the weighting stage's own functions (:func:`weight_sample`): design weights
``1/pi`` (:func:`sipas.estimation.weighting.design_weights`; every household keeps its own ``pi``), the
nonresponse adjustment within communes (:func:`sipas.estimation.weighting.nonresponse_adjust`) after a
Bernoulli response with the finished year's response rate *of the commune* (forms per sampled household;
the district's or the province's rate for a commune that was not sampled), and the calibration of the
finished year (:func:`sipas.estimation.survey_design.final_weights` on ``poststrata_totals.csv``:
post-stratification to the districts' households, or raking, and trimming when configured).  So the seed
rule's Kish effect of the final weights is like for like with ``weight_summary.csv`` (``weights == "final"``).
Then stratum means and the whole area's (its row is named ``total``: ``"province"`` in a household survey,
``"country"`` in a national one, :attr:`sipas.kinds.SurveyKind.total_domain`); variance by ultimate clusters
(PSUs) within strata with the stage-1 fpc; the intervals the report publishes (:func:`published_interval`: logit
scale, t with ``#communes - 1`` degrees of freedom per stratum, ``sum(m_h - 1)`` for the whole area), so coverage
and half-width are those of the published intervals.

Service-user designs on a household survey's communes (:func:`simulate_service_user`, the household plan's
Table 4.2): every commune desk is a report unit; forms are an SRS of the desk's users; allocations ``fixed``,
``proportional``, ``minimum_plus_proportional`` (:func:`sipas.sampling.allocate_forms`) and ``neyman``
(largest remainder on ``N_h S_h``).

A finished service-user survey's allocations (:func:`bootstrap_population`, :func:`simulate_unit_allocations`;
the service-user plan, :mod:`sipas.planning.service_plan`): the population is each unit's transactions of the
window, every one given the planning score of a form of its own unit and procedure field drawn at random with
replacement from this year's forms (a bootstrap population, Booth, Butler & Hall 1994, *JASA* 89, 1282-1289),
so it keeps the scores' real shape (bounded, piled at 1, skewed) that a normal model calibrated to the units'
means and SDs would lose, and the units' field mix of transactions.  Each allocation's forms are an SRS of the
unit's transactions (what list mode draws, seed 001), weighted and estimated as the pipeline does for this kind
(:func:`estimate_unit_mean`): ``w = N_h / n_h`` post-stratified to unit x field where every field has at least 2
forms (:func:`sipas.estimation.unit_weights.unit_weights`, the weighting stage's function), the unit's mean with
its JKn variance, every replicate re-calibrated to the fields, fpc ``N_h``
(:func:`sipas.estimation.survey_design.poststratified_jkn`, the indices stage's function for this kind; R ``postStratify`` on
``as.svrepdesign(type = "JKn")``), the published logit-scale ``t`` intervals with ``n_h - 1`` degrees of freedom
(:func:`published_interval`).  (The Taylor variance of
the post-stratified mean divides the within-field residuals' ``n_h - C`` degrees of freedom by ``n_h - 1`` and
so understates the variance of a unit of 30 forms in 8 fields by about a quarter; the jackknife, the pipeline's
choice, does not.)  The whole area's mean is ``sum_h W_h ybar_h`` (``W_h = N_h / N``) with variance
``sum_h W_h^2 v_h`` (units are independent strata and the fields are nested in units) and ``n - H`` degrees of
freedom.  One unit at a time: the work is linear in the number of units, and in the forms of a unit the
jackknife's is quadratic (each form is a replicate; units hold tens to hundreds of forms).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sipas.errors import DesignError
from sipas.estimation.survey_design import final_weights, poststratified_jkn
from sipas.estimation.unit_weights import unit_weights
from sipas.estimation.weighting import design_weights, kish_deff, nonresponse_adjust
from sipas.planning.cost import CostModel
from sipas.sampling import (allocate_forms, allocate_largest_remainder, pps_systematic, select_communes,
                            select_villages, srs_select, stage_probabilities)
from sipas.text.normalize import nfc

HOUSEHOLD_DESIGNS = ("seed_rule", "pps", "stratified_srs")
SERVICE_ALLOCATIONS = ("fixed", "proportional", "minimum_plus_proportional", "neyman")


@dataclass(frozen=True)
class PopulationModel:
    """Variances of the synthetic population's effects and its fixed effects (score scale, 0-1); ``stratum`` is
    the variance between the design's strata (districts or provinces)."""

    mean: float
    stratum: float
    commune: float
    village: float
    household: float
    centre_effect: float = 0.0
    hq_effect: float = 0.0


def synthetic_population(communes: pd.DataFrame, villages: pd.DataFrame, *, model: PopulationModel,
                         seed: int, strata: str, psu: str) -> pd.DataFrame:
    """The village frame's households (``households`` per village) with a planning variable ``y`` (see the
    module docstring); deterministic in ``seed``.

    Parameters
    ----------
    strata, psu : str
        The design's stratum and PSU columns (``cfg.design.strata``, ``cfg.design.psu``), present in both frames.

    Returns
    -------
    DataFrame
        ``strata``, ``psu``, ``village`` and ``y``, one row per household.
    """
    rng = np.random.default_rng(seed)
    reps = villages["households"].astype(int).to_numpy()
    hh = villages.loc[villages.index.repeat(reps), [strata, psu, "village"]].reset_index(drop=True)
    for c in hh.columns:
        hh[c] = hh[c].map(nfc)
    d_code, d_u = pd.factorize(hh[strata], sort=True)
    c_code, c_u = pd.factorize(hh[strata] + "\x1f" + hh[psu], sort=True)
    v_code, v_u = pd.factorize(hh[strata] + "\x1f" + hh[psu] + "\x1f" + hh["village"], sort=True)
    sd = np.sqrt(np.maximum([model.stratum, model.commune, model.village, model.household], 0.0))
    a = rng.normal(0, sd[0], len(d_u))
    b = rng.normal(0, sd[1], len(c_u))
    c = rng.normal(0, sd[2], len(v_u))
    e = rng.normal(0, sd[3], len(hh))
    com = communes.assign(key=communes[strata].map(nfc) + "\x1f" + communes[psu].map(nfc))
    centre = set(com.loc[com["is_admin_centre"].astype(int) == 1, "key"])
    vil = villages.assign(key=villages[strata].map(nfc) + "\x1f" + villages[psu].map(nfc) + "\x1f"
                          + villages["village"].map(nfc))
    hq = set(vil.loc[vil["has_commune_hq"].astype(int) == 1, "key"])
    fix = (model.centre_effect * np.isin(np.asarray(c_u)[c_code], list(centre))
           + model.hq_effect * np.isin(np.asarray(v_u)[v_code], list(hq)))
    hh["y"] = model.mean + a[d_code] + b[c_code] + c[v_code] + e + fix
    return hh


def weight_sample(sample: pd.DataFrame, *, responded, totals: pd.DataFrame, strata: str, psu: str,
                  cells: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The respondents of ``sample`` with the weighting stage's three weights.

    ``w_design = 1 / pi`` (:func:`sipas.estimation.weighting.design_weights`); ``w_nr`` the weighting-class
    adjustment within ``cells`` (:func:`sipas.estimation.weighting.nonresponse_adjust`:
    ``w_nr = w_design sum_{c} w_design / sum_{c, resp} w_design``); ``w_final`` the calibration of ``totals``
    (a ``poststrata_totals.csv`` table; :func:`sipas.estimation.survey_design.final_weights`:
    ``w_final = w_nr N_g / sum_{g} w_nr`` for post-stratification, raking and trimming when configured).

    Parameters
    ----------
    sample : DataFrame
        Every sampled household (respondent or not): ``pi`` and the columns of ``cells``, ``strata``, ``psu``.
    responded : array-like of bool
        Response indicator aligned with ``sample``.
    strata, psu : str
        The design's stratum and PSU columns (``cfg.design``).
    cells : tuple of str, optional
        Nonresponse cells; default ``(strata, psu)`` (the weighting stage's default: within communes).

    Returns
    -------
    DataFrame
        The responding rows of ``sample`` with ``w_design``, ``w_nr`` and ``w_final``.

    Raises
    ------
    DesignError
        A probability outside (0, 1], or a nonresponse cell without respondents.
    """
    s = sample.reset_index(drop=True)
    resp = pd.Series(np.asarray(responded, dtype=bool), index=s.index)
    s = s.assign(w_design=design_weights(s["pi"]).to_numpy())
    cells = (strata, psu) if cells is None else cells
    s["w_nr"] = nonresponse_adjust(s["w_design"], responded=resp, cells=s[list(cells)]).to_numpy()
    r = s[resp.to_numpy()].reset_index(drop=True)
    r["w_final"] = final_weights(r, totals, strata=strata, psu=psu)
    return r


def _weighted_estimates(s: pd.DataFrame, N_h: pd.Series, M_h: pd.Series, *, strata: str,
                        psu: str) -> tuple[pd.DataFrame, float, float, int]:
    """Stratum means, SEs and df; the whole area's mean, SE and df (module docstring)."""
    rows = []
    for d, g in s.groupby(strata, sort=True):
        w, y = g["w"].to_numpy(), g["y"].to_numpy()
        mean = float(np.sum(w * y) / np.sum(w))
        z = pd.Series(w * (y - mean) / np.sum(w)).groupby(g[psu].to_numpy()).sum().to_numpy()
        m = len(z)
        fpc = 1.0 - m / float(M_h[d])
        var = fpc * m / (m - 1) * np.sum((z - z.mean()) ** 2) if m > 1 else np.nan
        rows.append({"unit": d, "estimate": mean, "se": float(np.sqrt(var)), "df": m - 1, "N": float(N_h[d])})
    t = pd.DataFrame(rows)
    W = t["N"] / t["N"].sum()
    return t, float(np.sum(W * t["estimate"])), float(np.sqrt(np.sum(W ** 2 * t["se"] ** 2))), int(t["df"].sum())


def published_interval(estimate, se, df, *, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """The confidence interval the report publishes for an index: the logit-scale interval
    ``expit(logit(p) +- t_{df} se / (p (1 - p)))`` (R ``svyciprop(method = "xlogit")``;
    :func:`sipas.indices.scoring.logit_ci`, the indices stage's function), so the simulated coverage is that of the
    published intervals.  Where the estimate is not strictly inside (0, 1) (a unit whose every answer is
    positive, or a value of the synthetic normal model outside the bounds) the logit is undefined and the
    symmetric ``p +- t_{df} se`` is used instead.

    Parameters
    ----------
    estimate, se, df : array-like
        Estimates (proportion scale, 0-1), standard errors and degrees of freedom.
    level : float
        Confidence level.

    Returns
    -------
    (ndarray, ndarray)
        Lower and upper bounds.
    """
    from sipas.indices.scoring import logit_ci

    p = np.asarray(estimate, dtype=float)
    se = np.asarray(se, dtype=float)
    df = np.broadcast_to(np.asarray(df, dtype=float), p.shape)
    half = stats.t.ppf(1 - (1 - level) / 2, df) * se
    lo, hi = p - half, p + half
    inside = (p > 0) & (p < 1) & (se > 0)
    if inside.any():
        llo, lhi = logit_ci(p[inside], se[inside], df=df[inside], level=level)
        lo[inside], hi[inside] = llo, lhi
    return lo, hi


def _draw(design: str, m_h: dict[str, int], seed_sel: tuple[pd.DataFrame, pd.DataFrame] | None,
          rng: np.random.Generator, *, communes_of: Mapping[str, pd.DataFrame],
          villages_of: Mapping[tuple[str, str], pd.DataFrame], strata: str, psu: str) -> pd.DataFrame:
    """Selected villages with ``pi_cv`` (commune x village probability).

    ``communes_of`` and ``villages_of`` are the frames split once by stratum and by (stratum, PSU), in frame order,
    so a replicate's work is linear in the frame (no filtering of the whole frame per stratum or commune)."""
    if design == "seed_rule":
        sv = seed_sel[1]
        return sv[[strata, psu, "village", "pi_commune_village"]].rename(columns={"pi_commune_village": "pi_cv"})
    parts = []
    for d in sorted(m_h):
        cf = communes_of[d]
        if design == "pps":
            sc = pps_systematic(cf, size="households", n=m_h[d], rng=rng)
        else:
            sc = srs_select(cf, n=m_h[d], rng=rng)
        for c, p1 in zip(sc[psu], sc["pi"]):
            vf = villages_of[(d, c)]
            k = min(3, len(vf))
            sv = pps_systematic(vf, size="households", n=k, rng=rng) if design == "pps" else srs_select(vf, n=k, rng=rng)
            parts.append(pd.DataFrame({strata: d, psu: c, "village": sv["village"].to_numpy(),
                                       "pi_cv": p1 * sv["pi"].to_numpy()}))
    return pd.concat(parts, ignore_index=True)


def simulate_household(pop: pd.DataFrame, communes: pd.DataFrame, villages: pd.DataFrame, *, reps: int, seed: int,
                       strata: str, psu: str, total: str, costs: CostModel,
                       communes_per_stratum: Mapping[str, int] | None = None,
                       also_last: tuple[str, ...] = (), households_per_village: int = 30, response_rate: float = 1.0,
                       response_by_commune: Mapping[tuple[str, str], float] | None = None,
                       totals: pd.DataFrame | None = None,
                       designs: tuple[str, ...] = HOUSEHOLD_DESIGNS, level: float = 0.95,
                       seed_sample: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Repeated samples of each design from ``pop`` (:func:`synthetic_population`), weighted as the weighting
    stage weights (:func:`weight_sample`).

    Parameters
    ----------
    strata, psu : str
        The design's stratum (report unit) and PSU columns (``cfg.design.strata``, ``cfg.design.psu``).
    total : str
        Name of the whole area's rows (:attr:`sipas.kinds.SurveyKind.total_domain`: ``"province"`` or
        ``"country"``).
    communes_per_stratum : mapping, optional
        Communes drawn per stratum by ``pps`` and ``stratified_srs`` (this year's, from the sample list, when the
        kind has no seed rule).  Default: the seed rule's (:func:`sipas.sampling.select_communes`, seed 000: a
        household survey's districts only).
    seed_sample : DataFrame, optional
        The finished year's official sample list (``strata``, ``psu``, ``village`` — the household's own
        village — and ``pi``, one row per household).  When given, it is the seed rule's sample: the rule is
        deterministic above the household stage, so each replicate draws, in every village, as many households
        as the list has there, each with its own ``pi`` (the households the rule takes from a neighbouring
        village when a village has fewer than 30 keep their own, much smaller, ``pi``: the source of the rule's
        largest weights).
    response_rate, response_by_commune :
        Response probability of a sampled household: ``response_by_commune[(stratum, psu)]``, else
        ``response_rate``.
    totals : DataFrame, optional
        The calibration population (``poststrata_totals.csv`` of the weighting stage); default: the strata's
        households in ``pop``.

    Returns
    -------
    (DataFrame, DataFrame)
        Per replicate (``design``, ``rep``, ``unit`` — a stratum or ``total`` —, ``estimate``, ``se``,
        ``df``, ``truth``, ``covered``, ``half_width``, ``kish_deff`` of the final weights,
        ``kish_deff_design`` of the respondents' design weights, ``cost``), and the summary per design and unit
        (:func:`summarise`).

    Raises
    ------
    DesignError
        Fewer than 2 replicates.
    """
    if reps < 2:
        raise DesignError("at least 2 replicates are needed")
    for c in (strata, psu):
        communes = communes.assign(**{c: communes[c].map(nfc)})
    for c in (strata, psu, "village"):
        villages = villages.assign(**{c: villages[c].map(nfc)})
    vil_hh = villages.groupby([strata, psu])["households"].sum()
    communes = communes.assign(households=[float(vil_hh.get((d, c), 0)) for d, c in
                                           zip(communes[strata], communes[psu])])
    seed_sel = None
    if communes_per_stratum is None or "seed_rule" in designs:   # seed 000's rule (a household survey's districts)
        sc = select_communes(communes, also_last=also_last)
        svill = select_villages(villages.merge(sc[[strata, psu]], on=[strata, psu]))
        seed_sel = stage_probabilities(communes, villages, sc, svill)
    m_h = (dict(communes_per_stratum) if communes_per_stratum is not None
           else sc.groupby(strata).size().to_dict())
    M_h = communes.groupby(strata).size()
    N_h = pop.groupby(strata).size().astype(float)
    if totals is None:
        totals = N_h.rename("households").rename_axis(strata).reset_index()
    rates = dict(response_by_commune or {})
    truth = pop.groupby(strata)["y"].mean()
    truth_all = float(pop["y"].mean())
    pop_v = pop.assign(_k=pop[strata] + "\x1f" + pop[psu] + "\x1f" + pop["village"])
    by_village = {k: g["y"].to_numpy() for k, g in pop_v.groupby("_k", sort=False)}
    communes_of = {d: g for d, g in communes.groupby(strata, sort=False)}
    villages_of = {k: g for k, g in villages.groupby([strata, psu], sort=False)}
    seed_groups = None
    if seed_sample is not None:
        ss = seed_sample.reset_index(drop=True)
        seed_groups = [(d, c, v, g["pi"].to_numpy(dtype=float)) for (d, c, v), g in
                       ss.groupby([strata, psu, "village"], sort=True)]
    rng = np.random.default_rng(seed)
    out = []
    for design in designs:
        for r in range(reps):
            parts = []
            if design == "seed_rule" and seed_groups is not None:
                draws = seed_groups
                n_villages = len({(d, c, v) for d, c, v, _ in seed_groups})
            else:
                sel = _draw(design, m_h, seed_sel, rng, communes_of=communes_of, villages_of=villages_of,
                            strata=strata, psu=psu)
                draws = ((d, c, v, p) for d, c, v, p in zip(sel[strata], sel[psu], sel["village"], sel["pi_cv"]))
                n_villages = len(sel)
            for d, c, v, p in draws:
                ys = by_village.get(d + "\x1f" + c + "\x1f" + v)
                if ys is None or len(ys) == 0:
                    continue
                if np.ndim(p) == 0:  # a drawn village: SRS of q households, pi = pi_cv q / N_v
                    k = min(households_per_village, len(ys))
                    pi = np.full(k, float(p) * k / len(ys))
                else:  # the seed rule's households, each with its own pi
                    k = min(len(p), len(ys))
                    pi = p[:k]
                pick = rng.choice(len(ys), size=k, replace=False)
                parts.append(pd.DataFrame({strata: d, psu: c, "y": ys[pick], "pi": pi}))
            hs = pd.concat(parts, ignore_index=True)
            rate = np.array([rates.get((d, c), response_rate) for d, c in zip(hs[strata], hs[psu])])
            s = weight_sample(hs, responded=rng.random(len(hs)) < rate, totals=totals, strata=strata, psu=psu)
            s["w"] = s["w_final"]
            kish = kish_deff(s["w"])
            n_comm = int(s.groupby([strata, psu]).ngroups)
            cost = costs.household_survey(communes=n_comm, villages=n_villages, households=len(s))
            t, pm, pse, pdf = _weighted_estimates(s, N_h, M_h, strata=strata, psu=psu)
            t = pd.concat([t, pd.DataFrame([{"unit": total, "estimate": pm, "se": pse, "df": pdf}])],
                          ignore_index=True)
            t["truth"] = [float(truth[u]) if u != total else truth_all for u in t["unit"]]
            lo, hi = published_interval(t["estimate"], t["se"], t["df"], level=level)
            t["half_width"] = (hi - lo) / 2
            t["covered"] = (lo <= t["truth"].to_numpy()) & (t["truth"].to_numpy() <= hi)
            t = t.assign(design=design, rep=r, kish_deff=kish, kish_deff_design=kish_deff(s["w_design"]), cost=cost)
            out.append(t[["design", "rep", "unit", "estimate", "se", "df", "truth", "covered", "half_width",
                          "kish_deff", "kish_deff_design", "cost"]])
    reps_df = pd.concat(out, ignore_index=True)
    return reps_df, summarise(reps_df)


def summarise(reps_df: pd.DataFrame) -> pd.DataFrame:
    """Per design and unit: bias, empirical SE, mean estimated SE, coverage, mean half-width, Kish deff of the
    final weights (mean ``kish_deff``, replicate SD ``kish_deff_sd``, Monte Carlo SE of the mean
    ``kish_deff_mc_se = kish_deff_sd / sqrt(reps)``), of the design weights (``kish_deff_design``, when the
    replicates have it), mean cost, replicates."""
    g = reps_df.assign(err=reps_df["estimate"] - reps_df["truth"]).groupby(["design", "unit"], sort=False)
    extra = {"kish_deff_design": ("kish_deff_design", "mean")} if "kish_deff_design" in reps_df.columns else {}
    s = g.agg(bias=("err", "mean"), se_empirical=("estimate", "std"), se_mean=("se", "mean"),
              coverage=("covered", "mean"), half_width=("half_width", "mean"), kish_deff=("kish_deff", "mean"),
              **extra, kish_deff_sd=("kish_deff", "std"), cost=("cost", "mean"),
              reps=("rep", "nunique")).reset_index()
    s["rmse"] = np.sqrt(s["bias"] ** 2 + s["se_empirical"] ** 2)
    s["kish_deff_mc_se"] = s["kish_deff_sd"] / np.sqrt(s["reps"])
    s["coverage_mc_se"] = np.sqrt(s["coverage"] * (1 - s["coverage"]) / s["reps"])
    return s


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


# ----------------------------------------------------------------- a finished service-user survey's allocations


def bootstrap_population(forms: pd.DataFrame, *, totals: pd.DataFrame, seed: int, value: str = "y",
                         unit: str = "unit", field: str = "procedure_field", cell: str = "cell") -> pd.DataFrame:
    """Every transaction of the window with a planning score drawn from this year's forms (module docstring).

    Parameters
    ----------
    forms : DataFrame
        This year's valid forms: ``unit``, ``cell`` (the weighting stage's calibration cell, ``weights.csv``),
        ``field`` (blank where the unit's cell is the unit itself) and ``value``; rows with a missing value are
        left out.
    totals : DataFrame
        The weighting stage's ``poststrata_totals.csv``: ``cell``, ``households`` (transactions in the cell).
    seed : int
        Seed of the draws (the population is the same for the same seed).

    Returns
    -------
    DataFrame
        ``unit``, ``field``, ``y``: ``N_c`` rows per cell, each the value of a form of the cell drawn with
        replacement (of the unit's forms when no form of the cell has a value), cells in ``totals``' order.

    Raises
    ------
    DesignError
        A cell of ``totals`` whose unit has no form with a value.
    """
    rng = np.random.default_rng(seed)
    f = forms[forms[value].notna()]
    by_cell = {k: g for k, g in f.groupby(cell, sort=False)}
    unit_of_cell = forms.drop_duplicates(cell).set_index(cell)[unit]
    fld = forms.drop_duplicates(cell).set_index(cell)[field]
    by_unit = {k: g[value].to_numpy(dtype=float) for k, g in f.groupby(unit, sort=False)}
    parts = []
    for c, n in zip(totals[cell], totals["households"]):
        if c not in unit_of_cell.index:
            raise DesignError(f"calibration cell {c!r} has no form")
        u = unit_of_cell[c]
        g = by_cell.get(c)
        ys = g[value].to_numpy(dtype=float) if g is not None and len(g) else by_unit.get(u)
        if ys is None or len(ys) == 0:
            raise DesignError(f"unit {u!r} has no form with a value of the planning variable")
        k = int(round(float(n)))
        f_c = fld[c] if c != u else None    # a unit weighted as one cell: its transactions' fields are not used
        parts.append(pd.DataFrame({"unit": u, "field": f_c, "y": ys[rng.integers(0, len(ys), size=k)]}))
    return pd.concat(parts, ignore_index=True)


def estimate_unit_mean(*, y: np.ndarray, fields: np.ndarray, counts: pd.DataFrame,
                       unit: str) -> tuple[float, float, np.ndarray]:
    """A unit's mean and SE from an SRS of its forms, weighted and estimated as the pipeline does.

    Weights ``w = N_h / n_h`` post-stratified to the unit's procedure fields when every field has at least 2
    forms (:func:`sipas.estimation.unit_weights.unit_weights`, the weighting stage's function); the mean
    ``sum w y / sum w`` and its JKn variance with every replicate re-calibrated to the fields and the fpc
    ``N_h`` (:func:`sipas.estimation.survey_design.poststratified_jkn`, the indices stage's function for this kind, linear in n;
    ``v = (1 - n_h/N_h) (n_h - 1)/n_h sum_r (ybar_r - ybar_.)^2``).  R survey::

        d <- svydesign(ids = ~1, strata = ~unit, fpc = ~N, data = forms)
        svymean(~y, postStratify(as.svrepdesign(d, type = "JKn"), ~field, totals))

    (``tests/results/r/planning_service_user.R``, ``UNIT_JKN_POSTSTRAT``).

    Parameters
    ----------
    y : array
        The forms' values of the planning variable.
    fields : array
        Each form's procedure field (None where the unit is weighted as one cell).
    counts : DataFrame
        The unit's transactions per field: ``unit``, ``procedure_field``, ``transactions``.
    unit : str
        The unit's name.

    Returns
    -------
    (float, float, ndarray)
        The mean, its standard error and the final weights.
    """
    n = len(y)
    sample = pd.DataFrame({"form_id": np.arange(n), "respondent_key": np.arange(n), "unit": unit,
                           "procedure_field": fields})
    uw = unit_weights(sample, counts)
    rep = poststratified_jkn(uw.weights, totals=uw.totals, strata="unit", psu="respondent_key")
    y = np.asarray(y, dtype=float)
    tot = rep.domain_totals(np.column_stack([y, np.ones(n)]), domain=np.zeros(n, dtype=np.int64),
                            n_domains=1).totals(0)          # 2 x (1 + R): sum w y and sum w, full then replicates
    ratio = tot[0] / tot[1]
    full = ratio[:1]
    var = float(rep.variance(full, ratio[None, 1:])[0])
    return float(full[0]), float(np.sqrt(max(var, 0.0))), np.asarray(rep.weights, dtype=float)


def simulate_unit_allocations(pop: pd.DataFrame, *, allocations: Mapping[str, Mapping[str, int]], reps: int,
                              seed: int, costs: CostModel, level: float = 0.95) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Repeated SRS of each allocation's forms from ``pop`` (:func:`bootstrap_population`), estimated per unit and
    for the whole area as the pipeline estimates a service-user survey (module docstring).

    Parameters
    ----------
    pop : DataFrame
        ``unit``, ``field`` (blank: the unit is one cell), ``y``.
    allocations : mapping
        Allocation name -> {unit: forms}; every unit of ``pop``, at least 2 and at most its transactions; the
        tables list the units in the order of the first allocation.
    reps, seed :
        Replicates per allocation and the seed of the draws (same seed, same tables).
    costs : CostModel
        :meth:`~sipas.planning.cost.CostModel.forms` with every unit as a desk.

    Returns
    -------
    (DataFrame, DataFrame)
        Per replicate (``design`` — the allocation —, ``rep``, ``unit`` — a unit or ``area`` —, ``estimate``,
        ``se``, ``df``, ``truth`` — the population mean —, ``covered``, ``half_width``, ``kish_deff`` of the
        unit's final weights (the area's: of all of them), ``forms``, ``cost``) and the summary per allocation and
        unit (:func:`summarise`, with ``forms``).

    Raises
    ------
    DesignError
        Fewer than 2 replicates, or an allocation outside ``[2, N_h]`` for a unit.
    """
    if reps < 2:
        raise DesignError("at least 2 replicates are needed")
    if not allocations:
        raise DesignError("no allocation to simulate")
    units = list(next(iter(allocations.values())))   # the allocations' order (the unit frame's)
    if set(units) != set(pop["unit"]):
        raise DesignError("the allocations and the population have different units")
    groups = {u: g for u, g in pop.groupby("unit", sort=False)}
    y_of = {u: groups[u]["y"].to_numpy(dtype=float) for u in units}
    f_of = {u: groups[u]["field"].to_numpy(dtype=object) for u in units}
    counts = {u: groups[u].assign(procedure_field=groups[u]["field"].fillna("").astype(str))
              .groupby("procedure_field", sort=True).size().rename("transactions").reset_index().assign(unit=u)
              for u in units}
    N = np.array([len(y_of[u]) for u in units], dtype=float)
    W = N / N.sum()
    truth = {u: float(y_of[u].mean()) for u in units}
    truth_area = float(np.sum(W * np.array([truth[u] for u in units])))
    rng = np.random.default_rng(seed)
    rows = []
    for name, alloc in allocations.items():
        n = np.array([int(alloc[u]) for u in units])
        if (n < 2).any() or (n > N).any():
            raise DesignError(f"allocation {name!r}: every unit needs 2 to N_h forms")
        cost = costs.forms(desks=len(units), forms=float(n.sum()))
        for r in range(reps):
            est, se, kish, w_all = np.empty(len(units)), np.empty(len(units)), np.empty(len(units)), []
            for i, u in enumerate(units):
                pick = rng.choice(len(y_of[u]), size=int(n[i]), replace=False)
                est[i], se[i], w = estimate_unit_mean(y=y_of[u][pick], fields=f_of[u][pick], counts=counts[u], unit=u)
                kish[i] = kish_deff(w)
                w_all.append(w)
            lo, hi = published_interval(est, se, n - 1, level=level)
            for i, u in enumerate(units):
                rows.append({"design": name, "rep": r, "unit": u, "estimate": est[i], "se": se[i], "df": float(n[i] - 1),
                             "truth": truth[u], "covered": bool(lo[i] <= truth[u] <= hi[i]),
                             "half_width": (hi[i] - lo[i]) / 2, "kish_deff": kish[i], "forms": int(n[i]), "cost": cost})
            a_est, a_se = float(np.sum(W * est)), float(np.sqrt(np.sum(W ** 2 * se ** 2)))
            a_lo, a_hi = published_interval([a_est], [a_se], n.sum() - len(units), level=level)
            rows.append({"design": name, "rep": r, "unit": "area", "estimate": a_est, "se": a_se,
                         "df": float(n.sum() - len(units)), "truth": truth_area,
                         "covered": bool(a_lo[0] <= truth_area <= a_hi[0]), "half_width": float(a_hi[0] - a_lo[0]) / 2,
                         "kish_deff": kish_deff(np.concatenate(w_all)), "forms": int(n.sum()), "cost": cost})
    reps_df = pd.DataFrame(rows)
    summ = summarise(reps_df).merge(reps_df.groupby(["design", "unit"], sort=False)["forms"].first().reset_index(),
                                    on=["design", "unit"])
    return reps_df, summ

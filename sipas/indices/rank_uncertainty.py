"""Uncertainty of ranks: probability of being in the top k and of improving one's rank since last year.

A rank is the most quoted SIPAS number and the least stable one.  This module simulates the ranks'
joint sampling distribution from the units' estimates and standard errors, the way
:func:`sipas.indices.rankings.rank_intervals` does, and summarises it per unit as

* ``p_top_k`` -- the probability that the unit is among the ``k`` highest (a province whose target is
  "top 20 of 63", seed 004, asks for ``k = 20``);
* ``p_improved`` -- the probability that its rank this year is better (smaller) than last year's,
  both years' ranks simulated, independently (two survey-years are independent samples);
* ``rank_low``, ``rank_high`` -- the rank interval.

References
----------
Marshall, E. C. & Spiegelhalter, D. J. (1998). Reliability of league tables of in vitro fertilisation
clinics: retrospective analysis of live birth rates. BMJ 316:1701-1705.
Goldstein, H. & Spiegelhalter, D. J. (1996). League tables and their limitations: statistical issues in
comparisons of institutional performance. JRSS A 159:385-443.
Hall, P. & Miller, H. (2009). Using the bootstrap to quantify the authority of an empirical ranking.
Annals of Statistics 37:3929-3959 (why the bootstrap of ranks is inconsistent when units are tied or
nearly so; the parametric simulation below is used instead, conditional on the estimates).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sipas.errors import EstimationError

__all__ = ["simulate_ranks", "RankSummary", "rank_probabilities", "rank_uncertainty_table", "unit_ranking_tables",
           "top_k_of"]


def _logit_draws(est: np.ndarray, se: np.ndarray, df: np.ndarray | None, *, n_draws: int,
                 rng: np.random.Generator) -> np.ndarray:
    """``n_draws x k`` draws of ``logit(theta_u)``; see :func:`simulate_ranks`."""
    est = np.asarray(est, dtype=float)
    se = np.asarray(se, dtype=float)
    if est.ndim != 1 or est.shape != se.shape:
        raise EstimationError("est and se must be 1-d arrays of the same length")
    if not np.all(np.isfinite(est)) or not np.all((est > 0) & (est < 1)) or not np.all(np.isfinite(se)) \
            or np.any(se < 0):
        raise EstimationError("ranks need estimates strictly between 0 and 1 and finite, non-negative SEs")
    k = len(est)
    if df is None:
        z = rng.standard_normal((n_draws, k))
    else:
        d = np.broadcast_to(np.asarray(df, dtype=float), (k,))
        if np.any(~(d > 0)):
            raise EstimationError("degrees of freedom must be positive")
        z = rng.standard_t(d, size=(n_draws, k))
    return np.log(est / (1 - est)) + z * (se / (est * (1 - est)))


def _ranks(values: np.ndarray) -> np.ndarray:
    """Rank (1 = highest) of every column within each row of ``values``."""
    n, k = values.shape
    order = np.argsort(-values, axis=1, kind="stable")
    ranks = np.empty((n, k), dtype=np.int32)
    ranks[np.arange(n)[:, None], order] = np.arange(1, k + 1, dtype=np.int32)[None, :]
    return ranks


def simulate_ranks(est: np.ndarray, se: np.ndarray, *, df: np.ndarray | None = None, n_draws: int = 20000,
                   seed: int = 0) -> np.ndarray:
    """Simulated ranks (1 = highest) of units with independent estimates.

    In draw ``d`` unit ``u`` gets

    .. math:: \\operatorname{logit}\\theta_{u,d} = \\operatorname{logit}\\hat\\theta_u
              + T_{u,d}\\,\\frac{\\widehat{se}_u}{\\hat\\theta_u(1-\\hat\\theta_u)},
              \\qquad T_{u,d} \\sim t_{df_u}\\ (\\text{or } N(0, 1)),

    independently across units -- the logit-scale approximation of the units' CIs (delta method), valid
    when the units are strata or lie in different strata (independent samples), as provinces of the
    national survey do.  Units are ranked within each draw (Marshall & Spiegelhalter 1998; Goldstein &
    Spiegelhalter 1996).

    Parameters
    ----------
    est, se : array of float
        Estimates in (0, 1) and their standard errors, one per unit.
    df : array of float, optional
        Degrees of freedom per unit (t draws); normal draws when None.
    n_draws : int
        Number of draws.
    seed : int
        Seed of the draws (same seed, same ranks).

    Returns
    -------
    ndarray of int32, shape (n_draws, k)
        Rank of every unit in every draw.

    Raises
    ------
    EstimationError
        When an estimate is not strictly inside (0, 1) or a SE is not finite.
    """
    rng = np.random.default_rng(seed)
    return _ranks(_logit_draws(est, se, df, n_draws=n_draws, rng=rng))


@dataclass(frozen=True)
class RankSummary:
    """Per-unit summaries of simulated ranks (arrays aligned with the input units).

    Attributes
    ----------
    rank_low, rank_high : ndarray of int
        The ``(1 - level)/2`` and ``(1 + level)/2`` quantiles of the unit's simulated rank.
    p_top_k : ndarray of float
        Share of draws in which the unit's rank is at most ``k``.
    p_improved : ndarray of float or None
        Share of draws in which the unit's rank this year is smaller than last year's (None without a
        previous year; NaN for a unit without a previous estimate).
    n_draws : int
        Number of draws (Monte Carlo SE of a probability ``p`` is ``sqrt(p (1 - p) / n_draws)``).
    """

    rank_low: np.ndarray
    rank_high: np.ndarray
    p_top_k: np.ndarray
    p_improved: np.ndarray | None
    n_draws: int


def rank_probabilities(est: np.ndarray, se: np.ndarray, *, top_k: int, df: np.ndarray | None = None,
                       est_prev: np.ndarray | None = None, se_prev: np.ndarray | None = None,
                       df_prev: np.ndarray | None = None, level: float = 0.95, n_draws: int = 20000,
                       seed: int = 0) -> RankSummary:
    """Probability of a top-``k`` rank and of an improved rank, with rank intervals, by simulation.

    ``p_top_k[u] = P(R_u <= k)`` and ``p_improved[u] = P(R_u < R'_u)``, where ``R`` are this year's
    ranks and ``R'`` last year's, each simulated by :func:`simulate_ranks` -- the two years from
    independent streams of one seed, because they are independent samples.  Last year's ranks are
    among the units with a previous estimate (after the 2025 merger, the 34 new provinces with last
    year's estimates mapped onto them, :func:`sipas.indices.merger.map_estimates`); a unit without
    one gets NaN.

    Parameters
    ----------
    est, se : array of float
        This year's estimates in (0, 1) and SEs.
    top_k : int
        ``k`` of "top k" (1 <= k <= number of units).
    df : array of float, optional
        This year's degrees of freedom (t draws); normal when None.
    est_prev, se_prev, df_prev : array of float, optional
        Last year's, aligned with ``est`` (NaN where a unit has none).
    level : float
        Coverage of the rank interval.
    n_draws, seed : int
        Simulation size and seed.

    Returns
    -------
    RankSummary

    Raises
    ------
    EstimationError
        On a ``top_k`` outside ``1..k`` or invalid estimates (see :func:`simulate_ranks`).

    References
    ----------
    Marshall & Spiegelhalter (1998), BMJ 316:1701; Goldstein & Spiegelhalter (1996), JRSS A 159:385.
    """
    est = np.asarray(est, dtype=float)
    k = len(est)
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or not 1 <= top_k <= max(k, 1):
        raise EstimationError(f"top_k must be a whole number from 1 to the number of units ({k}), got {top_k!r}")
    if not 0 < level < 1:
        raise EstimationError(f"level must be in (0, 1), got {level!r}")
    ss = np.random.SeedSequence(seed)
    now_rng, prev_rng = (np.random.default_rng(s) for s in ss.spawn(2))
    draws = _logit_draws(est, se, df, n_draws=n_draws, rng=now_rng)
    ranks = _ranks(draws)
    a = (1 - level) / 2
    lo = np.quantile(ranks, a, axis=0, method="lower").astype(int)
    hi = np.quantile(ranks, 1 - a, axis=0, method="higher").astype(int)
    p_top = (ranks <= top_k).mean(axis=0)
    p_imp = None
    if est_prev is not None:
        if se_prev is None:
            raise EstimationError("se_prev is needed with est_prev")
        ep = np.asarray(est_prev, dtype=float)
        sp = np.asarray(se_prev, dtype=float)
        if ep.shape != est.shape or sp.shape != est.shape:
            raise EstimationError("est_prev and se_prev must be aligned with est")
        have = np.isfinite(ep) & np.isfinite(sp)
        p_imp = np.full(k, np.nan)
        if have.any():
            dp = None if df_prev is None else np.broadcast_to(np.asarray(df_prev, dtype=float), (k,))[have]
            prev_ranks = _ranks(_logit_draws(ep[have], sp[have], dp, n_draws=n_draws, rng=prev_rng))
            # this year's ranks among the same units as last year's (the same draws), so both rank one set
            now_same = ranks if have.all() else _ranks(draws[:, have])
            p_imp[have] = (now_same < prev_ranks).mean(axis=0)
    return RankSummary(rank_low=lo, rank_high=hi, p_top_k=p_top, p_improved=p_imp, n_draws=n_draws)


def rank_uncertainty_table(table: pd.DataFrame, *, top_k: int, previous: pd.DataFrame | None = None,
                           unit: str = "domain", level: float = 0.95, n_draws: int = 20000,
                           seed: int = 0) -> pd.DataFrame:
    """A ranking table with rank interval, ``p_top_k``, last year's rank and ``p_improved`` per unit.

    Parameters
    ----------
    table : DataFrame
        One row per unit: ``unit``, ``estimate``, ``se`` and optionally ``df``.
    top_k : int
        ``k`` of "top k".
    previous : DataFrame, optional
        Last year's rows for the same units (``unit``, ``estimate``, ``se``, optional ``df``), e.g. the
        63 provinces' estimates mapped onto the 34 new ones.
    unit, level, n_draws, seed
        See :func:`rank_probabilities`.

    Returns
    -------
    DataFrame
        ``unit, estimate, se, rank, rank_low, rank_high, p_top_k`` and, with ``previous``,
        ``estimate_prev, rank_prev, p_improved``; sorted by estimate, highest first; ``top_k`` in
        the column ``top_k``.
    """
    need = [c for c in (unit, "estimate", "se") if c not in table.columns]
    if need:
        raise EstimationError(f"ranking table lacks column(s) {', '.join(need)}")
    t = table.sort_values("estimate", ascending=False, kind="stable").reset_index(drop=True)
    t["rank"] = np.arange(1, len(t) + 1)
    df = t["df"].to_numpy(float) if "df" in t.columns else None
    prev_kw: dict[str, object] = {}
    if previous is not None:
        p = t[[unit]].merge(previous, on=unit, how="left", validate="one_to_one")
        prev_kw = {"est_prev": p["estimate"].to_numpy(float), "se_prev": p["se"].to_numpy(float),
                   "df_prev": p["df"].to_numpy(float) if "df" in p.columns else None}
        if prev_kw["df_prev"] is not None and np.isnan(prev_kw["df_prev"]).any():
            prev_kw["df_prev"] = None
        t["estimate_prev"] = prev_kw["est_prev"]
        ep = pd.Series(prev_kw["est_prev"])
        t["rank_prev"] = ep.rank(ascending=False, method="first").to_numpy()
    s = rank_probabilities(t["estimate"].to_numpy(float), t["se"].to_numpy(float), top_k=top_k, df=df,
                           level=level, n_draws=n_draws, seed=seed, **prev_kw)
    t["rank_low"], t["rank_high"], t["p_top_k"] = s.rank_low, s.rank_high, s.p_top_k
    t["top_k"] = top_k
    if s.p_improved is not None:
        t["p_improved"] = s.p_improved
    return t


#: Default ``k`` of "top k" (seed 004's target: "in the top 20"); ``report.top_k`` in survey.yml overrides it.
DEFAULT_TOP_K = 20
#: Draws of the rank simulation written by the indices stage.
N_DRAWS = 20000


def top_k_of(cfg: object, n_units: int) -> int:
    """``report.top_k`` of survey.yml (default :data:`DEFAULT_TOP_K`), between 1 and the number of units.

    Raises
    ------
    ConfigError
        Naming ``report.top_k`` when it is not a positive whole number.
    """
    from sipas.errors import ConfigError

    raw = (getattr(cfg, "extra", {}).get("report") or {}).get("top_k", DEFAULT_TOP_K)
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise ConfigError(f"must be a positive whole number (k of 'top k'), got {raw!r}",
                          file=getattr(cfg, "path", None), key="report.top_k")
    return int(min(raw, max(n_units, 1)))


def unit_ranking_tables(indices: pd.DataFrame, previous: pd.DataFrame | None, *, cfg: object, unit: str,
                        min_n: int = 0) -> dict[str, pd.DataFrame]:
    """The indices stage's hook of a kind that ranks whole areas (:attr:`sipas.kinds.SurveyKind.ranking_hook`):
    ``<unit>_ranking`` -- every unit's overall index with CI, rank, 95% rank interval, ``p_top_k``, last year's
    rank and ``p_improved`` (:func:`rank_uncertainty_table`, ``n_draws`` = :data:`N_DRAWS`, seed = the survey's),
    and the published value of the unit where one is verified.

    Parameters
    ----------
    indices : DataFrame
        The stage's ``indices`` table (one rule); units are the rows with ``domain_type == unit``.
    previous : DataFrame or None
        Last year's ``indices`` on this year's units (already mapped through the merger, so each new province
        has last year's estimate, SE and Satterthwaite df), or None.
    cfg : SurveyConfig
        For ``report.top_k``, the seed and the year.
    unit : str
        The report unit (``province``).
    min_n : int
        Units with fewer respondents are left out (as :func:`sipas.indices.rankings.rank_published_units`).

    Returns
    -------
    dict
        ``{"<unit>_ranking": DataFrame}`` with columns ``domain, estimate, se, ci_low, ci_high, df, n, rank,
        rank_low, rank_high, p_top_k, top_k`` and, with ``previous``, ``estimate_prev, se_prev, rank_prev,
        p_improved``; then ``published`` (proportion, NaN where none).  Deterministic for a given seed.
    """
    from sipas.indices.published import published_values

    t = indices[(indices["domain_type"] == unit) & (indices["level"] == "overall") & indices["estimate"].notna()
                & (indices["n"] >= min_n)]
    cols = [c for c in ("domain", "estimate", "se", "ci_low", "ci_high", "df", "n") if c in t.columns]
    t = t[cols].reset_index(drop=True)
    prev = None
    if previous is not None:
        p = previous[(previous["domain_type"] == unit) & (previous["level"] == "overall")
                     & previous["domain"].isin(t["domain"]) & previous["estimate"].notna()]
        if len(p):
            prev = p[[c for c in ("domain", "estimate", "se", "df") if c in p.columns]]
    k = top_k_of(cfg, len(t))
    r = rank_uncertainty_table(t, top_k=k, previous=prev, n_draws=N_DRAWS, seed=int(getattr(cfg, "seed", 0)))
    if prev is not None:
        r.insert(r.columns.get_loc("estimate_prev") + 1, "se_prev",
                 r["domain"].map(dict(zip(prev["domain"], prev["se"]))).astype(float))
    pub = published_values(verified_only=True)
    pub = pub[(pub["scope"] == "province") & (pub["indicator"] == "overall")
              & (pub["year"] == int(getattr(cfg, "year", 0)))]
    r["published"] = r["domain"].map(dict(zip(pub["province"], pub["value"]))).astype(float)
    return {f"{unit}_ranking": r}

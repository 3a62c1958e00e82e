"""Rankings of report units with rank intervals and groups, small-cell suppression, year-over-year change."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sipas.errors import EstimationError


def _unit_order(name: object) -> tuple:
    """Vietnamese alphabetical order of unit names (ICU ``vi``, prefix left out); others as text."""
    from sipas.text.collation import vi_sort_key

    return (0, vi_sort_key(name)) if isinstance(name, str) else (1, str(name))


def suppress_small_cells(table: pd.DataFrame, *, min_n: int, n_col: str = "n",
                         columns: tuple[str, ...] = ("estimate", "se", "ci_low", "ci_high")) -> pd.DataFrame:
    """Blank out estimates of cells with fewer than ``min_n`` respondents; adds ``suppressed``."""
    t = table.copy()
    small = t[n_col] < min_n
    for c in columns:
        if c in t.columns:
            t[c] = t[c].astype(float).where(~small)
    t["suppressed"] = small
    return t


def imprecise(table: pd.DataFrame, *, max_ci_width: float, min_df: float) -> pd.Series:
    """Units whose estimate is too imprecise to compare without a caution.

    True where ``ci_high - ci_low > max_ci_width`` or ``df < min_df`` (e.g. a commune with two sampled
    villages has df 1 and a CI that may span most of [0, 1]); blank (suppressed) estimates are False.
    """
    width = table["ci_high"].astype(float) - table["ci_low"].astype(float)
    df = table["df"].astype(float) if "df" in table.columns else pd.Series(np.inf, index=table.index)
    return ((width > max_ci_width) | (df < min_df)) & table["estimate"].notna()


def rank_published_units(table: pd.DataFrame, *, min_n: int, n_col: str = "n", **kwargs) -> pd.DataFrame:
    """:func:`rank_units` over the units with at least ``min_n`` respondents; the others follow, unranked.

    A unit whose index is not published (too few respondents, :func:`suppress_small_cells`) must not
    be published through its rank either: it is listed after the ranked units with ``suppressed``
    True and no estimate, interval, rank or group.  Rank intervals are simulated among the ranked
    units only.
    """
    ok = table[n_col] >= min_n
    ranked = rank_units(table[ok], **kwargs).assign(suppressed=False)
    small = suppress_small_cells(table[~ok].sort_values("domain", key=lambda s: s.map(_unit_order), kind="stable"),
                                 min_n=min_n, n_col=n_col,
                                 columns=("estimate", "se", "ci_low", "ci_high", "df"))
    if small.empty:
        return ranked
    return pd.concat([ranked, small.assign(rank=np.nan, group=np.nan, rank_low=np.nan, rank_high=np.nan)],
                     ignore_index=True)[list(ranked.columns)]


def suppress_small_changes(table: pd.DataFrame, *, min_n: int) -> pd.DataFrame:
    """Year-over-year rows blanked when either year's cell has fewer than ``min_n`` respondents
    (``n`` and ``n_prev``); adds ``suppressed``."""
    t = table.copy()
    small = (t["n"] < min_n) | (t["n_prev"] < min_n)
    for c in ("estimate_prev", "estimate", "change", "se_change", "ci_low_change", "ci_high_change", "p_value"):
        t[c] = t[c].astype(float).where(~small)
    t["significant"] = t["significant"].where(~small, False)
    t["suppressed"] = small
    return t


def rank_units(table: pd.DataFrame, *, unit: str = "domain", level: float = 0.95,
               rank_ci: bool = True, n_draws: int = 20000, seed: int = 0) -> pd.DataFrame:
    """Rank units by estimate, with a rank interval and groups of units not distinguishable.

    Parameters
    ----------
    table : DataFrame
        One row per unit with ``estimate``, ``se``, ``ci_low``, ``ci_high`` and optionally ``df``.
    unit : str
        Column naming the unit (kept as is).
    level : float
        Coverage of the rank interval.
    rank_ci : bool
        Add ``rank_low`` and ``rank_high`` (see below).
    n_draws, seed : int
        Simulation size and seed of the rank interval (deterministic for a given seed).

    Returns
    -------
    DataFrame
        ``table`` sorted by estimate (descending) with ``rank`` (1 = highest), ``group``
        and, when ``rank_ci``, ``rank_low``, ``rank_high``.

    Notes
    -----
    *Groups.*  Two units are "not distinguishable" when their 95% CIs overlap (a
    conservative rule; Goldstein & Healy 1995 would use ~84% intervals for a 5% pairwise
    test); ``group`` numbers runs of units that all overlap the top unit of the run.

    *Rank interval.*  The ranks' sampling distribution is simulated from the units'
    estimates (Marshall & Spiegelhalter 1998, BMJ 316:1701; Goldstein & Spiegelhalter
    1996, JRSS A 159:385): in each draw ``d`` every unit gets

        logit(theta_u,d) = logit(theta_u) + t_{df_u} * se_u / (theta_u (1 - theta_u)),

    the same logit-scale approximation as the unit's CI (:func:`logit_ci`), independently
    across units (valid when units are strata or lie in different strata, as districts
    do: samples drawn independently).  Units are ranked in each draw; ``rank_low`` and
    ``rank_high`` are the ``(1-level)/2`` and ``(1+level)/2`` quantiles of a unit's ranks.
    The jackknife replicates are *not* used for this: a JKn replicate drops one PSU of one
    stratum, so it moves one district's estimate by about ``se / sqrt(n_h - 1)`` and leaves
    the others unchanged; the replicate ranks are not draws from the ranks' distribution.
    """
    t = table.sort_values("estimate", ascending=False, kind="stable").reset_index(drop=True)
    t["rank"] = np.arange(1, len(t) + 1)
    group, g, top_low = [], 1, None
    for _, r in t.iterrows():
        if top_low is None:
            top_low = r["ci_low"]
        elif r["ci_high"] < top_low:
            g += 1
            top_low = r["ci_low"]
        group.append(g)
    t["group"] = group
    if rank_ci and len(t):
        lo, hi = rank_intervals(t["estimate"].to_numpy(float), t["se"].to_numpy(float),
                                df=t["df"].to_numpy(float) if "df" in t else None,
                                level=level, n_draws=n_draws, seed=seed)
        t["rank_low"], t["rank_high"] = lo, hi
    return t


def rank_intervals(est: np.ndarray, se: np.ndarray, *, df: np.ndarray | None = None, level: float = 0.95,
                   n_draws: int = 20000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Interval of each unit's rank (1 = highest) by simulation on the logit scale.

    ``logit(theta_d) = logit(theta) + T * se / (theta (1 - theta))`` with ``T ~ t_df``
    (standard normal when ``df`` is None), independent across units; returns the
    ``(1-level)/2`` (lower) and ``(1+level)/2`` (higher) quantiles of each unit's rank
    over ``n_draws`` draws.  See :func:`rank_units` for the source and the assumptions.
    """
    est = np.asarray(est, dtype=float)
    se = np.asarray(se, dtype=float)
    if est.shape != se.shape or est.ndim != 1:
        raise EstimationError("est and se must be 1-d arrays of the same length")
    if not np.all(np.isfinite(est)) or not np.all((est > 0) & (est < 1)) or not np.all(np.isfinite(se)):
        raise EstimationError("rank intervals need estimates strictly between 0 and 1 and finite SEs")
    rng = np.random.default_rng(seed)
    k = len(est)
    if df is None:
        z = rng.standard_normal((n_draws, k))
    else:
        z = rng.standard_t(np.broadcast_to(np.asarray(df, dtype=float), (k,)), size=(n_draws, k))
    lg = np.log(est / (1 - est)) + z * (se / (est * (1 - est)))
    order = np.argsort(-lg, axis=1, kind="stable")
    ranks = np.empty_like(order)
    rows = np.arange(n_draws)[:, None]
    ranks[rows, order] = np.arange(1, k + 1)[None, :]
    a = (1 - level) / 2
    lo = np.quantile(ranks, a, axis=0, method="lower").astype(int)
    hi = np.quantile(ranks, 1 - a, axis=0, method="higher").astype(int)
    return lo, hi


def year_over_year(current: pd.DataFrame, previous: pd.DataFrame, *, level: float = 0.95) -> pd.DataFrame:
    """Change between two independent survey-years per (domain, level, id).

    ``change = est_now - est_before``, ``se = sqrt(se_now^2 + se_before^2)`` (independent
    samples), normal-theory CI and two-sided p-value.
    """
    keys = ["domain_type", "domain", "level", "id"]
    m = current.merge(previous, on=keys, suffixes=("", "_prev"))
    m["change"] = m["estimate"] - m["estimate_prev"]
    m["se_change"] = np.sqrt(m["se"] ** 2 + m["se_prev"] ** 2)
    z = stats.norm.ppf(0.5 + level / 2)
    m["ci_low_change"] = m["change"] - z * m["se_change"]
    m["ci_high_change"] = m["change"] + z * m["se_change"]
    m["p_value"] = 2 * stats.norm.sf(np.abs(m["change"] / m["se_change"]))
    m["significant"] = m["p_value"] < (1 - level)
    ns = [c for c in ("n", "n_prev") if c in m.columns]
    return m[keys + ["estimate_prev", "estimate", "change", "se_change", "ci_low_change", "ci_high_change",
                     "p_value", "significant"] + ns]

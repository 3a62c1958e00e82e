"""Units against the whole area: which units are significantly above or below the area's index.

Seed 002 uses a service-user survey's results "to reward or discipline units".  A unit's index alone does not
say whether it differs from the area's: with ~50 forms a unit's 95% interval is 10-15 points wide.  This
module tests each unit's difference from the area-wide index and corrects for testing every unit at once.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from sipas.errors import EstimationError

#: Multiple-comparison corrections :func:`compare_with_overall` offers (R ``p.adjust`` methods).
CORRECTIONS = ("holm", "bonferroni", "none")


def holm_adjust(p: np.ndarray) -> np.ndarray:
    """Holm's (1979) step-down adjusted p-values, as R ``p.adjust(p, method = "holm")``.

    ``p_(i) -> min(1, max_{j <= i} (m - j + 1) p_(j))`` over the p-values sorted increasingly.
    """
    p = np.asarray(p, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def compare_with_overall(units: pd.DataFrame, *, overall: Mapping[str, float], shares: Mapping[str, float],
                         unit: str = "domain", level: float = 0.95, correction: str = "holm") -> pd.DataFrame:
    """Difference of each unit's index from the area's, its SE, test and verdict.

    The units are the strata of the design (service-user surveys: strata = units; sampled independently),
    and the area's index is, to first order, the share-weighted mean of the units' indices,
    ``p = sum_h W_h p_h`` with ``W_h = N_h / N`` (post-stratified weights make this exact for means).  Hence

        d_h = p_h - p,    Var(d_h) = Var(p) + (1 - 2 W_h) Var(p_h),

    because ``Cov(p_h, p) = W_h Var(p_h)`` (independent strata).  ``z = d_h / se(d_h)``, two-sided normal
    p-values, adjusted over the units by ``correction`` (Holm 1979, *Scand. J. Statist.* 6:65-70; R
    ``p.adjust``); a unit is ``above`` / ``below`` when its adjusted p-value is below ``1 - level``, else
    ``not_different``.  R check (stratum domains of a stratified design)::

        b <- svyby(~y, ~stratum, d, svymean, covmat = TRUE)
        svycontrast(b, list(h = c(1 - W_h, -W_g, ...)))        # d_h and its SE

    Parameters
    ----------
    units : DataFrame
        One row per unit: ``unit``, ``estimate``, ``se``.
    overall : mapping
        ``{"estimate": p, "se": se(p)}`` of the area.
    shares : mapping
        ``{unit: W_h}``, the unit's share of the area's population (transactions in the window).
    level : float
        1 - the family-wise error rate.
    correction : {"holm", "bonferroni", "none"}

    Returns
    -------
    DataFrame
        ``unit, estimate, se, share, difference, se_difference, ci_low_difference, ci_high_difference,
        p_value, p_adjusted, verdict`` (ordered as ``units``).  The CI of the difference is the
        unadjusted ``level`` interval.
    """
    if correction not in CORRECTIONS:
        raise EstimationError(f"unknown correction {correction!r}; use one of {', '.join(CORRECTIONS)}")
    t = units[[unit, "estimate", "se"]].copy().reset_index(drop=True)
    missing = [u for u in t[unit] if u not in shares]
    if missing:
        raise EstimationError(f"no population share for unit(s) {', '.join(map(str, missing))}")
    w = t[unit].map(shares).astype(float).to_numpy()
    if np.any((w < 0) | (w > 1)):
        raise EstimationError("population shares must lie in [0, 1]")
    p, se_p = float(overall["estimate"]), float(overall["se"])
    est, se = t["estimate"].to_numpy(float), t["se"].to_numpy(float)
    d = est - p
    var = se_p ** 2 + (1 - 2 * w) * se ** 2
    if np.any(var <= 0):
        raise EstimationError("a unit's difference has no positive variance (a unit with all the population?)")
    sd = np.sqrt(var)
    z = stats.norm.ppf(0.5 + level / 2)
    pv = 2 * stats.norm.sf(np.abs(d / sd))
    m = len(pv)
    adj = holm_adjust(pv) if correction == "holm" else np.minimum(1.0, pv * m) if correction == "bonferroni" else pv
    alpha = 1 - level
    verdict = np.where(adj < alpha, np.where(d > 0, "above", "below"), "not_different")
    return t.assign(share=w, difference=d, se_difference=sd, ci_low_difference=d - z * sd,
                    ci_high_difference=d + z * sd, p_value=pv, p_adjusted=adj, verdict=verdict)

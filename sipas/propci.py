"""Confidence intervals for proportions from complex samples (R ``survey::svyciprop``).

:func:`prop_interval` turns estimates, their design-based SEs and degrees of freedom
into intervals; :func:`svyciprop` is the design-level entry point used by
:meth:`sipas.estimation.Design.ciprop`.
"""

from __future__ import annotations

from dataclasses import replace as _dc_replace
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from sipas.errors import EstimationError
from sipas.estimation import Estimate, _t_quantile

if TYPE_CHECKING:
    from sipas.estimation import Design


def svyciprop(
    design: "Design", variable: str, *, level: float | None = None, df: float | str | None = None,
    ci_method: str = "logit",
) -> Estimate:
    """Proportion of a 0/1 (or logical) variable with an R ``svyciprop`` interval.

    R: ``svyciprop(~I(x == 1), design, method = ci_method)``.
    """
    est = design.mean(variable, level=level, df=df)
    lvl = design.level if level is None else level
    lo, hi = prop_interval(
        np.array([est.estimate]), np.array([est.se]), level=lvl, df=np.array([est.df]), method=ci_method,
        n_rows=np.array([est.n]),
    )
    return _dc_replace(est, ci_low=float(lo[0]), ci_high=float(hi[0]))


def prop_interval(
    p: np.ndarray, se: np.ndarray, *, level: float, df: np.ndarray, method: str, n_rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Proportion intervals (R ``svyciprop``); ``df`` and ``n_rows`` are per estimate."""
    alpha = 1.0 - level
    df = np.asarray(df, dtype=float)
    n_rows = np.asarray(n_rows, dtype=float)
    q = _t_quantile(level, df)
    p = np.asarray(p, dtype=float)
    se = np.asarray(se, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "wald":
            return p - q * se, p + q * se
        if method == "logit":
            eta = np.log(p / (1 - p))
            se_eta = se / (p * (1 - p))
            return 1 / (1 + np.exp(-(eta - q * se_eta))), 1 / (1 + np.exp(-(eta + q * se_eta)))
        if method == "beta":
            n_eff = p * (1 - p) / se**2
            safe_df = np.where(np.isfinite(df), df, 1.0)
            ratio = stats.t.ppf(alpha / 2, np.maximum(n_rows - 1, 1)) / stats.t.ppf(alpha / 2, safe_df)
            n_eff = np.where(np.isfinite(df), n_eff * ratio**2, n_eff)
            lo = stats.beta.ppf(alpha / 2, n_eff * p, n_eff * (1 - p) + 1)
            hi = stats.beta.ppf(1 - alpha / 2, n_eff * p + 1, n_eff * (1 - p))
            lo = np.where(p <= 0, 0.0, lo)
            hi = np.where(p >= 1, 1.0, hi)
            return lo, hi
        if method == "wilson":
            n_eff = p * (1 - p) / se**2
            z2 = q * q
            centre = (p + z2 / (2 * n_eff)) / (1 + z2 / n_eff)
            half = q * np.sqrt(p * (1 - p) / n_eff + z2 / (4 * n_eff**2)) / (1 + z2 / n_eff)
            return centre - half, centre + half
    raise EstimationError(f"unknown ci_method {method!r}; use 'logit', 'beta', 'wilson' or 'wald'")

"""Result types of design-based estimation (:class:`Estimate`, :class:`Contrast`) and t quantiles."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

ESTIMATE_COLUMNS = ["estimate", "se", "ci_low", "ci_high", "df", "deff", "n"]


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Estimate:
    """A single design-based estimate.

    Attributes
    ----------
    estimate, se:
        Point estimate and its standard error.
    ci_low, ci_high:
        Confidence interval (t with ``df`` degrees of freedom unless stated).
    df:
        Degrees of freedom used for the interval (``inf`` = normal).
    deff:
        Design effect (R's ``deff=TRUE``: variance over the variance under simple
        random sampling without replacement of the same size); NaN if not defined.
    n:
        Number of sample rows that contributed (domain and item observed).
    variable:
        Name of the estimated item, when known.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    df: float
    deff: float
    n: int
    variable: str | None = None

    @property
    def variance(self) -> float:
        """Squared standard error."""
        return self.se**2

    def to_frame(self) -> pd.DataFrame:
        """One-row tidy DataFrame with the standard columns."""
        return pd.DataFrame([{"variable": self.variable, **{c: getattr(self, c) for c in ESTIMATE_COLUMNS}}])


@dataclass(frozen=True)
class Contrast:
    """A difference of two estimates with its standard error.

    ``estimate = first - second``; ``se = sqrt(v1 + v2 - 2 cov)``.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    df: float
    z: float
    p_value: float


def _t_quantile(level: float, df: np.ndarray | float) -> np.ndarray:
    df = np.asarray(df, dtype=float)
    q = (1.0 + level) / 2.0
    return np.where(np.isinf(df), stats.norm.ppf(q), stats.t.ppf(q, np.where(np.isinf(df), 1.0, df)))


def contrast_independent(first: Estimate, second: Estimate, *, level: float = 0.95) -> Contrast:
    """Difference between estimates from two independent samples (e.g. two survey years).

    .. math:: \\hat\\Delta = \\hat\\theta_1 - \\hat\\theta_2,\\quad
              SE(\\hat\\Delta) = \\sqrt{SE_1^2 + SE_2^2}

    Degrees of freedom: Satterthwaite's approximation
    :math:`(v_1+v_2)^2 / (v_1^2/df_1 + v_2^2/df_2)`.
    """
    v1, v2 = first.se**2, second.se**2
    est = first.estimate - second.estimate
    se = float(np.sqrt(v1 + v2))
    denom = (v1**2 / first.df if np.isfinite(first.df) else 0.0) + (v2**2 / second.df if np.isfinite(second.df) else 0.0)
    df = float((v1 + v2) ** 2 / denom) if denom > 0 else float("inf")
    q = float(_t_quantile(level, df))
    zval = est / se if se > 0 else float("nan")
    p = float(2 * (stats.norm.sf(abs(zval)) if np.isinf(df) else stats.t.sf(abs(zval), df)))
    return Contrast(est, se, est - q * se, est + q * se, df, zval, p)

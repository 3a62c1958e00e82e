"""Closed-form sample-size formulas of Valliant, Dever & Kreuter (R package PracTools), re-derived.

Each function evaluates the formula printed in *Practical Tools for Designing and Weighting Survey
Samples* (2nd ed., 2018; VDK) and in the PracTools help pages and vignettes; PracTools' GPL source
is cited, not copied.  No result is rounded (PracTools prints ``m.opt`` to 1 decimal; the numbers
here are the unrounded formula).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from sipas.errors import DesignError


def _positive(name: str, value: float) -> None:
    if not (np.isfinite(value) and value > 0):
        raise DesignError(f"{name} must be a positive number, got {value!r}")


def n_cont(*, cv0: float | None = None, v0: float | None = None, s2: float | None = None,
           ybar: float | None = None, cvpop: float | None = None, N: float = math.inf) -> float:
    """Simple random sample size for a mean with a target CV or variance (PracTools ``nCont``).

    ``n = CVpop^2 / (CV0^2 + CVpop^2 / N)`` with ``CVpop = sqrt(S2) / ybar`` (or given), or
    ``n = S2 / (V0 + S2 / N)`` for a variance target (VDK §3.1, eq. 3.4).
    """
    if (cv0 is None) == (v0 is None):
        raise DesignError("give exactly one of cv0 and v0")
    if v0 is not None:
        if s2 is None:
            raise DesignError("a variance target needs s2")
        _positive("v0", v0)
        _positive("s2", s2)
        return s2 / (v0 + s2 / N)
    _positive("cv0", cv0)
    if cvpop is None:
        if s2 is None or ybar is None:
            raise DesignError("a CV target needs cvpop, or s2 and ybar")
        cvpop = math.sqrt(s2) / ybar
    return cvpop ** 2 / (cv0 ** 2 + cvpop ** 2 / N)


def n_prop_moe(*, e: float, p: float, alpha: float = 0.05, N: float = math.inf) -> float:
    """Simple random sample size for a proportion with margin of error ``e`` (PracTools ``nPropMoe``, ``moe.sw=1``).

    ``n = z^2 S2 / (e^2 + z^2 S2 / N)``, ``S2 = N p (1 - p) / (N - 1)`` (``p (1 - p)`` when ``N`` is
    infinite), ``z = z_{1 - alpha/2}`` (VDK §3.1, eq. 3.9).
    """
    _positive("e", e)
    if not 0 < p < 1:
        raise DesignError(f"p must lie in (0, 1), got {p!r}")
    z = stats.norm.ppf(1 - alpha / 2)
    s2 = p * (1 - p) if math.isinf(N) else N * p * (1 - p) / (N - 1)
    return z * z * s2 / (e * e + z * z * s2 / N)


@dataclass(frozen=True)
class StratumAllocation:
    """Result of :func:`stratum_allocation`: ``nh`` per stratum, their shares and the anticipated SE of the mean."""

    method: str
    nh: np.ndarray
    share: np.ndarray
    se: float


def stratum_allocation(*, Nh: Sequence[float], Sh: Sequence[float] | None = None, n_total: float | None = None,
                       method: str = "neyman", cost: float | None = None, ch: Sequence[float] | None = None,
                       v0: float | None = None, cv0: float | None = None, ybar: float | None = None
                       ) -> StratumAllocation:
    """Allocation of a stratified simple random sample (PracTools ``strAlloc``; VDK §3.1.3; Cochran 1977 §5.5).

    * ``prop``: ``n_h = n W_h``;
    * ``neyman``: ``n_h = n W_h S_h / sum(W_h S_h)``;
    * ``totcost`` (budget ``C``): ``n_h = C (W_h S_h / sqrt(c_h)) / sum(W_h S_h sqrt(c_h))``;
    * ``totvar`` (variance ``V0`` or CV ``CV0 ybar``): ``n = d1 d2 / (V0 + sum(W_h S_h^2)/N)``,
      ``d1 = sum(W_h S_h / sqrt(c_h))``, ``d2 = sum(W_h S_h sqrt(c_h))``, shares as ``totcost``;

    with ``W_h = N_h / N``.  ``se`` is ``sqrt(sum W_h^2 (1 - n_h/N_h) S_h^2 / n_h)``, the standard error of
    the stratified mean ("anticipated SE" printed by ``strAlloc``; NaN for ``prop`` without ``Sh``).
    """
    Nh = np.asarray(Nh, dtype=float)
    if Nh.size == 0 or (Nh <= 0).any():
        raise DesignError("stratum sizes Nh must be positive")
    N = Nh.sum()
    Wh = Nh / N
    S = None if Sh is None else np.asarray(Sh, dtype=float)
    if S is not None and (S.shape != Nh.shape or (S <= 0).any()):
        raise DesignError("Sh must be positive, one per stratum")
    if method == "prop":
        if n_total is None:
            raise DesignError("proportional allocation needs n_total")
        nh = n_total * Wh
    elif method in ("neyman", "totcost", "totvar"):
        if S is None:
            raise DesignError(f"{method} allocation needs Sh")
        if method == "neyman":
            if n_total is None:
                raise DesignError("Neyman allocation needs n_total")
            nh = n_total * Wh * S / np.sum(Wh * S)
        else:
            if ch is None:
                raise DesignError(f"{method} allocation needs the unit costs ch")
            c = np.asarray(ch, dtype=float)
            d1 = np.sum(Wh * S / np.sqrt(c))
            share = Wh * S / np.sqrt(c) / d1
            if method == "totcost":
                if cost is None:
                    raise DesignError("totcost allocation needs cost")
                nh = cost * d1 / np.sum(Wh * S * np.sqrt(c)) * share
            else:
                if v0 is None:
                    if cv0 is None or ybar is None:
                        raise DesignError("totvar allocation needs v0, or cv0 and ybar")
                    v0 = (cv0 * ybar) ** 2
                n = d1 * np.sum(Wh * S * np.sqrt(c)) / (v0 + np.sum(Wh * S ** 2) / N)
                nh = n * share
    else:
        raise DesignError(f"unknown allocation {method!r}; use prop, neyman, totcost or totvar")
    se = float(np.sqrt(np.sum(Wh ** 2 * (1 - nh / Nh) * S ** 2 / nh))) if S is not None else float("nan")
    return StratumAllocation(method, nh, nh / nh.sum(), se)


@dataclass(frozen=True)
class ClusterOptimum:
    """Optimal numbers per stage: ``m`` PSUs, ``n`` SSUs (or elements) per PSU, ``q`` elements per SSU
    (``nan`` in two stages), with the resulting ``cv`` and ``cost``."""

    m: float
    n: float
    q: float
    cv: float
    cost: float


def clus_opt2(*, c1: float, c2: float, delta: float, unit_rv: float, k: float = 1.0,
              cv0: float | None = None, tot_cost: float | None = None) -> ClusterOptimum:
    """Optimal two-stage sample (PracTools ``clusOpt2``; VDK §9.3.1, eqs. 9.24-9.26; Hansen, Hurwitz & Madow 1953).

    Cost ``C = c1 m + c2 m n``; relvariance ``unit_rv k (1 + delta (n - 1)) / (m n)``.
    ``n_opt = sqrt(c1/c2 (1 - delta)/delta)``; for a budget ``m = C / (c1 + c2 n)``, for a CV target
    ``m = unit_rv k (1 + delta (n - 1)) / (n CV0^2)``.  The CV-target case reproduces clusOpt2 output printed
    in barcaroli/R2BEAT_examples (PractTools.R) at its printed precision (tests/results/results_practools.py).
    """
    for nm, v in (("c1", c1), ("c2", c2), ("unit_rv", unit_rv), ("k", k)):
        _positive(nm, v)
    if not 0 < delta < 1:
        raise DesignError(f"delta must lie in (0, 1), got {delta!r}")
    if (cv0 is None) == (tot_cost is None):
        raise DesignError("give exactly one of cv0 and tot_cost")
    n = math.sqrt(c1 / c2 * (1 - delta) / delta)
    if tot_cost is not None:
        m = tot_cost / (c1 + c2 * n)
        cv = math.sqrt(unit_rv / m / n * k * (1 + delta * (n - 1)))
        return ClusterOptimum(m, n, float("nan"), cv, float(tot_cost))
    m = unit_rv * k * (1 + delta * (n - 1)) / n / cv0 ** 2
    return ClusterOptimum(m, n, float("nan"), float(cv0), c1 * m + c2 * m * n)


def clus_opt3(*, c1: float, c2: float, c3: float, delta1: float, delta2: float, unit_rv: float,
              k1: float = 1.0, k2: float = 1.0, cv0: float | None = None,
              tot_cost: float | None = None) -> ClusterOptimum:
    """Optimal three-stage sample (PracTools ``clusOpt3``; VDK §9.3.2, eqs. 9.30-9.32).

    Cost ``C = c1 m + c2 m n + c3 m n q``; relvariance
    ``unit_rv / (m n q) [k1 delta1 n q + k2 (1 + delta2 (q - 1))]``;
    ``q_opt = sqrt((1 - delta2)/delta2 c2/c3)``, ``n_opt = sqrt((1 - delta2)/delta1 c1/c3 k2/k1) / q_opt``;
    ``m`` from the budget or the CV target as in :func:`clus_opt2`.
    """
    for nm, v in (("c1", c1), ("c2", c2), ("c3", c3), ("unit_rv", unit_rv), ("k1", k1), ("k2", k2)):
        _positive(nm, v)
    for nm, v in (("delta1", delta1), ("delta2", delta2)):
        if not 0 < v < 1:
            raise DesignError(f"{nm} must lie in (0, 1), got {v!r}")
    if (cv0 is None) == (tot_cost is None):
        raise DesignError("give exactly one of cv0 and tot_cost")
    q = math.sqrt((1 - delta2) / delta2 * c2 / c3)
    n = math.sqrt((1 - delta2) / delta1 * c1 / c3 * k2 / k1) / q
    core = k1 * delta1 * n * q + k2 * (1 + delta2 * (q - 1))
    if tot_cost is not None:
        m = tot_cost / (c1 + c2 * n + c3 * n * q)
        return ClusterOptimum(m, n, q, math.sqrt(unit_rv / m / n / q * core), float(tot_cost))
    m = unit_rv / cv0 ** 2 / n / q * core
    return ClusterOptimum(m, n, q, float(cv0), c1 * m + c2 * m * n + c3 * m * n * q)


def t_half_width(*, se: float, df: float, level: float = 0.95) -> float:
    """Half-width ``t_{df, 1-(1-level)/2} * se`` of a confidence interval (normal when ``df`` is infinite)."""
    q = 1 - (1 - level) / 2
    return float((stats.norm.ppf(q) if math.isinf(df) else stats.t.ppf(q, df)) * se)


def _z_test(alpha: float, power: float, alternative: str) -> tuple[float, float]:
    """``(z_{1-alpha/2} or z_{1-alpha}, z_{power})`` of a two- or one-sided z test."""
    if not 0 < alpha < 1:
        raise DesignError(f"alpha must lie in (0, 1), got {alpha!r}")
    if not 0 < power < 1:
        raise DesignError(f"power must lie in (0, 1), got {power!r}")
    if alternative not in ("two.sided", "one.sided"):
        raise DesignError(f"alternative must be 'two.sided' or 'one.sided', got {alternative!r}")
    za = stats.norm.ppf(1 - alpha / 2) if alternative == "two.sided" else stats.norm.ppf(1 - alpha)
    return float(za), float(stats.norm.ppf(power))


def n_two_sample(*, delta: float, var1: float, var2: float | None = None, var_null: float | None = None,
                 alpha: float = 0.05, power: float = 0.8, deff: float = 1.0, alternative: str = "two.sided") -> float:
    """Sample size per group for a z test that two independent estimates differ, with power.

    ``n = deff (z_{1-alpha/2} + z_{1-beta})^2 (V1 + V2) / delta^2`` (``z_{1-alpha}`` one-sided): the difference
    ``delta`` is detected at level ``alpha`` with power ``1 - beta`` when
    ``delta = (z_{1-alpha/2} + z_{1-beta}) sqrt(deff (V1 + V2) / n)``; ``V2 = V1`` by default (``2 V / n``).
    With ``var_null`` (``V1 + V2`` under the null hypothesis, e.g. ``2 pbar (1 - pbar)`` for proportions)
    ``n = deff (z_{1-alpha/2} sqrt(var_null) + z_{1-beta} sqrt(V1 + V2))^2 / delta^2`` (Fleiss, Levin & Paik
    2003 eq. 4.14 without continuity correction; R ``power.prop.test``, which solves exactly this).
    Cochran (1977) §4.5; Lohr (2010) §2.7; VDK (2018) §4.2-4.4 (PracTools ``nDep2sam``/``nProp2sam`` with
    ``g = 0``, ``r = 1``).  R ``power.t.test`` uses the noncentral t: about one unit more for the same inputs.
    """
    _positive("delta", abs(delta))
    _positive("var1", var1)
    v2 = var1 if var2 is None else var2
    _positive("var2", v2)
    _positive("deff", deff)
    za, zb = _z_test(alpha, power, alternative)
    v0 = var1 + v2 if var_null is None else var_null
    _positive("var_null", v0)
    return deff * (za * math.sqrt(v0) + zb * math.sqrt(var1 + v2)) ** 2 / delta ** 2


def n_prop_2sam(*, px: float, py: float, pxy: float | None = None, g: float = 0.0, r: float = 1.0,
                alternative: str = "two.sided", alpha: float = 0.05, power: float = 0.8) -> tuple[float, float]:
    """Sample sizes of two (possibly overlapping) samples for testing ``px - py`` (PracTools ``nProp2sam``).

    ``n1 = (px qx + r py qy - 2 g r sxy) (z_{1-alpha/2} + z_{1-beta})^2 / (px - py)^2``, ``n2 = n1 / r``, with
    ``sxy = pxy - px py`` (``pxy`` the share with the characteristic in both samples among the overlap; default
    ``px py``: no dependence), ``g`` the share of sample 1 also in sample 2, ``r = n1 / n2`` (VDK 2018 §4.4;
    Woodward 1992).  Unrounded (PracTools prints ``ceiling``).

    Raises
    ------
    DesignError
        A proportion outside (0, 1), ``px == py``, or ``pxy`` outside PracTools' allowable range.
    """
    for nm, v in (("px", px), ("py", py)):
        if not 0 < v < 1:
            raise DesignError(f"{nm} must lie in (0, 1), got {v!r}")
    if px == py:
        raise DesignError("px and py must differ")
    if not 0 <= g <= 1:
        raise DesignError(f"g must lie in [0, 1], got {g!r}")
    _positive("r", r)
    s2x, s2y = px * (1 - px), py * (1 - py)
    pxy = px * py if pxy is None else pxy
    lim = math.sqrt(s2x * s2y)
    if not (px * py - lim <= pxy <= px * py + lim and pxy <= min(px, py)):
        raise DesignError(f"pxy={pxy!r} is not in the allowable range")
    za, zb = _z_test(alpha, power, alternative)
    n1 = (s2x + r * s2y - 2 * g * r * (pxy - px * py)) / (px - py) ** 2 * (za + zb) ** 2
    return n1, n1 / r

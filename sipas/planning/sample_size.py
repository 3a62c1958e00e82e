"""Sample sizes per report unit for a precision target, under a cost model, for each candidate design.

The variance of a district's mean under a stratified three-stage design with ``m`` communes (of ``M``),
``b`` villages per commune and ``q`` households per village is (VDK 2018 §9.2.3, with the stage-1 fpc the
pipeline's JKn uses)::

    V = deff_w [ (1 - m/M) s2_c / m + s2_v / (m b) + s2_e / (m b q) ]

with the within-district components ``s2_c, s2_v, s2_e`` of :func:`~sipas.planning.nested_components` and
Kish's weighting effect ``deff_w`` of the design.  The target is the half-width ``t_{m-1} sqrt(V)`` of the
district's 95% interval (the domain's degrees of freedom, as the indices stage uses).  ``b`` and ``q``
come from the cost-optimal three-stage allocation (:func:`~sipas.planning.formulas.clus_opt3`, with
``delta1 = s2_c / s2``, ``delta2 = s2_v / (s2_v + s2_e)``, ``k1 = 1``, ``k2 = (s2_v + s2_e) / s2``), rounded to
whole units; ``m`` is then the smallest number of communes meeting the target.  A ranking goal (adjacent
units separable at a gap ``g``) is the two-sample test with power (:func:`se_for_ranking`): two independent
unit estimates with variance ``V`` each differ significantly at level ``alpha`` with power ``1 - beta`` when
``g = (z_{1-alpha/2} + z_{1-beta}) sqrt(2 V)``, i.e. ``sqrt(V) <= g / ((z_{1-alpha/2} + z_{1-beta}) sqrt(2))``
(0.2524 g at 5% and 80% power); both the half-width target and this bound must hold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sipas.errors import DesignError
from sipas.planning.cost import CostModel
from sipas.planning.formulas import clus_opt3


def se_for_ranking(gap: float, *, alpha: float = 0.05, power: float = 0.8, alternative: str = "two.sided") -> float:
    """Largest standard error per unit at which two independent units ``gap`` apart differ significantly
    at level ``alpha`` with probability ``power``.

    ``se = gap / ((z_{1-alpha/2} + z_{1-beta}) sqrt(2))``: the two-sample z test of ``y1 - y2`` (variance
    ``2 se^2``) rejects with power ``1 - beta`` when ``gap = (z_{1-alpha/2} + z_{1-beta}) sqrt(2) se``
    (Cochran 1977 §4.5; Lohr 2010 §2.7; the same formula as :func:`~sipas.planning.formulas.n_two_sample`,
    with ``se^2 = deff V / n``; R ``power.prop.test``, ``power.t.test`` with large ``n``).  With ``power = 0.5``
    it is the old rule ``gap / (z sqrt(2))``: the difference is then detected only half the time.
    """
    from sipas.planning.formulas import _z_test

    if not gap > 0:
        raise DesignError(f"the ranking gap must be positive, got {gap!r}")
    za, zb = _z_test(alpha, power, alternative)
    return gap / ((za + zb) * math.sqrt(2.0))


def half_width_for_ranking(gap: float, *, alpha: float = 0.05, power: float = 0.8, level: float = 0.95) -> float:
    """Normal-theory half-width ``z_{(1+level)/2} se`` of a unit's interval at the SE of :func:`se_for_ranking`
    (``0.4947 gap`` at 5%, 80% power and 95% intervals; ``gap / sqrt(2)`` only at 50% power)."""
    return float(stats.norm.ppf(1 - (1 - level) / 2)) * se_for_ranking(gap, alpha=alpha, power=power)


@dataclass(frozen=True)
class StageComponents:
    """Within-stratum components of the planning variable: communes, villages, households."""

    commune: float
    village: float
    household: float

    @property
    def total(self) -> float:
        return self.commune + self.village + self.household


def optimal_stage_sizes(components: StageComponents, *, costs: CostModel) -> tuple[float, float]:
    """Cost-optimal villages per commune ``b`` and households per village ``q`` (unrounded; clusOpt3)."""
    s = components.total
    d1 = max(components.commune, 1e-12 * s) / s
    d2 = max(components.village, 1e-12 * s) / (components.village + components.household)
    k2 = (components.village + components.household) / s
    opt = clus_opt3(c1=costs.commune, c2=costs.village, c3=costs.household, delta1=d1, delta2=d2, unit_rv=1.0,
                    k1=1.0, k2=k2, cv0=1.0)
    return opt.n, opt.q


def district_variance(components: StageComponents, *, m: float, M: float, b: float, q: float,
                      deff_w: float = 1.0) -> float:
    """``V`` of the module docstring."""
    fpc = max(1.0 - m / M, 0.0) if np.isfinite(M) else 1.0
    return deff_w * (fpc * components.commune / m + components.village / (m * b) + components.household / (m * b * q))


def half_width(components: StageComponents, *, m: int, M: float, b: float, q: float, deff_w: float = 1.0,
               level: float = 0.95) -> float:
    """Expected half-width ``t_{m-1} sqrt(V)`` of a district's interval."""
    if m < 2:
        return float("inf")
    return float(stats.t.ppf(1 - (1 - level) / 2, m - 1) * math.sqrt(district_variance(
        components, m=m, M=M, b=b, q=q, deff_w=deff_w)))


def _meets(components: StageComponents, *, target: float, max_se: float | None, m: int, M: float, b: float,
           q: float, deff_w: float, level: float) -> bool:
    if half_width(components, m=m, M=M, b=b, q=q, deff_w=deff_w, level=level) > target:
        return False
    return max_se is None or math.sqrt(district_variance(components, m=m, M=M, b=b, q=q, deff_w=deff_w)) <= max_se


def communes_needed(components: StageComponents, *, target: float, M: int, b: float, q: float,
                    deff_w: float = 1.0, level: float = 0.95, max_se: float | None = None) -> int | None:
    """Smallest ``m`` (2..M) whose expected half-width is at most ``target`` (and SE at most ``max_se``);
    None when even ``M`` is not enough."""
    for m in range(2, int(M) + 1):
        if _meets(components, target=target, max_se=max_se, m=m, M=M, b=b, q=q, deff_w=deff_w, level=level):
            return m
    return None


def households_needed(components: StageComponents, *, target: float, m: int, M: float, b: float,
                      deff_w: float = 1.0, level: float = 0.95, q_max: int = 2000,
                      max_se: float | None = None) -> int | None:
    """Smallest ``q`` (households per village) for fixed ``m`` communes and ``b`` villages; None if unreachable."""
    for q in range(1, q_max + 1):
        if _meets(components, target=target, max_se=max_se, m=m, M=M, b=b, q=q, deff_w=deff_w, level=level):
            return q
    return None


def plan_sizes(components: StageComponents, *, target: float, units: pd.DataFrame, costs: CostModel,
               deff_w: dict[str, float], fixed_communes: dict[str, int] | None = None,
               villages_per_commune: float | None = None, households_per_village: float | None = None,
               design: str = "pps", level: float = 0.95, max_se: float | None = None) -> pd.DataFrame:
    """Communes, villages and households per report unit for ``target``, and their cost.

    Parameters
    ----------
    units : DataFrame
        One row per report unit: ``unit`` and ``communes`` (communes in its frame, ``M``).
    deff_w : dict
        Unit -> Kish weighting effect of the design there.
    fixed_communes : dict, optional
        Unit -> communes fixed by a rule (seed 000): then ``q`` is solved instead of ``m``.
    villages_per_commune, households_per_village : float, optional
        Fixed ``b`` / ``q`` (default: cost-optimal, rounded, ``b`` at least 2 so villages vary).
    max_se : float, optional
        A ranking goal's bound on each unit's SE (:func:`se_for_ranking`), met together with ``target``.

    Returns
    -------
    DataFrame
        ``design``, ``unit``, ``communes``, ``villages_per_commune``, ``households_per_village``,
        ``households``, ``half_width``, ``cost``, ``reachable``.
    """
    b_opt, q_opt = optimal_stage_sizes(components, costs=costs)
    b = villages_per_commune or max(2, int(round(b_opt)))
    q0 = households_per_village or max(1, int(round(q_opt)))
    rows = []
    for u, M in zip(units["unit"], units["communes"]):
        dw = float(deff_w.get(u, 1.0))
        if fixed_communes is not None:
            m = int(fixed_communes[u])
            q = households_needed(components, target=target, m=m, M=M, b=b, deff_w=dw, level=level, max_se=max_se)
        else:
            q = q0
            m = communes_needed(components, target=target, M=M, b=b, q=q, deff_w=dw, level=level, max_se=max_se)
            if m is None:
                m = int(M)
                q = households_needed(components, target=target, m=m, M=M, b=b, deff_w=dw, level=level, max_se=max_se)
        ok = q is not None
        qq = q if ok else float("nan")
        hh = m * b * qq
        rows.append({"design": design, "unit": u, "communes": m, "villages_per_commune": b,
                     "households_per_village": qq, "households": hh,
                     "half_width": half_width(components, m=m, M=M, b=b, q=qq, deff_w=dw, level=level) if ok else np.nan,
                     "deff_w": dw,
                     "cost": costs.commune * m + costs.village * m * b + costs.household * hh if ok else np.nan,
                     "reachable": ok})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------- service users: forms per unit


def unit_variance(*, n: float, N: float, s2: float, deff_w: float = 1.0) -> float:
    """Variance of a one-stop unit's mean from ``n`` forms out of ``N`` transactions.

    ``V = deff_w (1 - n / N) S^2 / n``: the stratified SRS variance of a stratum mean (Cochran 1977, eq. 5.2;
    VDK 2018 §3.1) times Kish's weighting effect ``deff_w`` of the unit's final weights (the post-stratification
    to procedure fields; Kish 1965 §11.7), so that ``V`` is 0 at a census (``n = N``).
    """
    if n <= 0 or N <= 0:
        raise DesignError(f"forms and transactions must be positive (n={n!r}, N={N!r})")
    return float(deff_w * max(1.0 - n / N, 0.0) * s2 / n)


def unit_half_width(*, n: int, N: float, s2: float, deff_w: float = 1.0, level: float = 0.95) -> float:
    """Expected half-width ``t_{n-1} sqrt(V)`` of a unit's interval (:func:`unit_variance`; the indices stage
    gives a unit ``forms - 1`` degrees of freedom); 0 at a census (``n >= N``), infinite below 2 forms."""
    if n >= N:
        return 0.0
    if n < 2:
        return float("inf")
    return float(stats.t.ppf(1 - (1 - level) / 2, n - 1) * math.sqrt(unit_variance(n=n, N=N, s2=s2, deff_w=deff_w)))


@dataclass(frozen=True)
class FormsNeeded:
    """Result of :func:`forms_needed` (one unit).

    Attributes
    ----------
    forms : int
        The smallest whole number of forms meeting the target (at most ``N``: a census always meets it).
    n_cont : float
        PracTools ``nCont(V0 = v0, S2 = deff_w S2, N = N)`` at the ``t`` of ``forms - 1`` degrees of freedom
        (unrounded; ``forms`` is the smallest whole number whose own ``t`` makes it at least this).
    v0 : float
        The variance target used: ``min((e / t_{forms-1})^2, max_se^2)``.
    half_width, se : float
        The expected half-width and standard error at ``forms``.
    """

    forms: int
    n_cont: float
    v0: float
    half_width: float
    se: float


def forms_needed(*, s2: float, N: float, target: float, deff_w: float = 1.0, level: float = 0.95,
                 max_se: float | None = None) -> FormsNeeded:
    """Forms a one-stop unit needs for a half-width ``target`` (and, for a ranking goal, an SE at most ``max_se``).

    With ``V(n) = deff_w (1 - n/N) S^2 / n`` (:func:`unit_variance`), ``V(n) <= V0`` is
    ``n >= deff_w S^2 / (V0 + deff_w S^2 / N)``, PracTools ``nCont(V0 = V0, S2 = deff_w S^2, N = N)``
    (VDK 2018 §3.1, eq. 3.4; :func:`~sipas.planning.formulas.n_cont`).  The target is the half-width of the
    unit's 95% interval with the ``t`` quantile of ``n - 1`` degrees of freedom, as the indices stage computes it
    (and as the household plan solves its communes, :func:`communes_needed`): ``V0 = (e / t_{n-1})^2``, which
    depends on ``n``.  The answer is the smallest whole ``n >= 2`` with ``t_{n-1} sqrt(V(n)) <= e`` (and
    ``sqrt(V(n)) <= max_se``), found upwards from ``ceil(nCont)`` at the normal quantile (a lower bound, since
    ``t > z``), at most ``N``.  ``S^2 = 0`` needs 2 forms (a variance).

    Parameters
    ----------
    s2 : float
        ``S^2``, the unit's within-unit variance of the planning variable (same units as ``target`` squared).
    N : float
        Transactions returned in the survey window at the unit.
    target : float
        Half-width ``e``.
    deff_w : float
        Kish's weighting effect of the unit's weights.
    max_se : float, optional
        A ranking goal's bound on the unit's SE (:func:`se_for_ranking`).

    Returns
    -------
    FormsNeeded

    Raises
    ------
    DesignError
        A target, ``N`` or ``deff_w`` that is not positive, or a negative ``s2``.
    """
    from sipas.planning.formulas import n_cont

    for name, v in (("target", target), ("N", N), ("deff_w", deff_w)):
        if not (np.isfinite(v) and v > 0):
            raise DesignError(f"{name} must be a positive number, got {v!r}")
    if not (np.isfinite(s2) and s2 >= 0):
        raise DesignError(f"s2 must be a number >= 0, got {s2!r}")
    if max_se is not None and not (np.isfinite(max_se) and max_se > 0):
        raise DesignError(f"max_se must be a positive number, got {max_se!r}")
    q = 1 - (1 - level) / 2
    cap = max(int(math.floor(N)), 1)

    def v0_at(n: int) -> float:
        v = (target / float(stats.t.ppf(q, n - 1))) ** 2
        return v if max_se is None else min(v, max_se ** 2)

    def meets(n: int) -> bool:
        return n >= cap or unit_variance(n=n, N=N, s2=s2, deff_w=deff_w) <= v0_at(n)

    if s2 == 0:
        n = min(2, cap)
        return FormsNeeded(n, 0.0, v0_at(2), 0.0, 0.0)
    vz = (target / float(stats.norm.ppf(q))) ** 2
    lower = n_cont(v0=vz if max_se is None else min(vz, max_se ** 2), s2=deff_w * s2, N=N)
    n = min(max(2, int(math.ceil(lower))), cap)
    while not meets(n):
        n += 1
    v0 = v0_at(max(n, 2))
    se = math.sqrt(unit_variance(n=n, N=N, s2=s2, deff_w=deff_w))
    return FormsNeeded(n, n_cont(v0=v0, s2=deff_w * s2, N=N), v0,
                       unit_half_width(n=n, N=N, s2=s2, deff_w=deff_w, level=level), se)

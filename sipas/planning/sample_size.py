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
units separable at a gap ``g``) is the half-width ``g / sqrt(2)`` per unit (the interval of a difference of
two independent units is ``sqrt(2)`` times as wide).
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


def half_width_for_ranking(gap: float) -> float:
    """Half-width per unit that separates two adjacent units ``gap`` apart: ``gap / sqrt(2)``."""
    if not gap > 0:
        raise DesignError(f"the ranking gap must be positive, got {gap!r}")
    return gap / math.sqrt(2.0)


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


def communes_needed(components: StageComponents, *, target: float, M: int, b: float, q: float,
                    deff_w: float = 1.0, level: float = 0.95) -> int | None:
    """Smallest ``m`` (2..M) whose expected half-width is at most ``target``; None when even ``M`` is not enough."""
    for m in range(2, int(M) + 1):
        if half_width(components, m=m, M=M, b=b, q=q, deff_w=deff_w, level=level) <= target:
            return m
    return None


def households_needed(components: StageComponents, *, target: float, m: int, M: float, b: float,
                      deff_w: float = 1.0, level: float = 0.95, q_max: int = 2000) -> int | None:
    """Smallest ``q`` (households per village) for fixed ``m`` communes and ``b`` villages; None if unreachable."""
    for q in range(1, q_max + 1):
        if half_width(components, m=m, M=M, b=b, q=q, deff_w=deff_w, level=level) <= target:
            return q
    return None


def plan_sizes(components: StageComponents, *, target: float, units: pd.DataFrame, costs: CostModel,
               deff_w: dict[str, float], fixed_communes: dict[str, int] | None = None,
               villages_per_commune: float | None = None, households_per_village: float | None = None,
               design: str = "pps", level: float = 0.95) -> pd.DataFrame:
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
            q = households_needed(components, target=target, m=m, M=M, b=b, deff_w=dw, level=level)
        else:
            q = q0
            m = communes_needed(components, target=target, M=M, b=b, q=q, deff_w=dw, level=level)
            if m is None:
                m = int(M)
                q = households_needed(components, target=target, m=m, M=M, b=b, deff_w=dw, level=level)
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

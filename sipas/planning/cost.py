"""The cost model of a survey plan: survey.yml's ``planning.costs`` (validated by :mod:`sipas.config`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sipas.errors import ConfigError

#: Keys of ``planning.costs``: cost per commune (team travel, commune meeting), per village, per household
#: interview, per service-user form, and a fixed cost.
COST_KEYS = ("commune", "village", "household", "form", "fixed")

#: Used when survey.yml has no ``planning.costs`` (relative costs; the report says they are defaults).
DEFAULT_COSTS = {"commune": 1500.0, "village": 300.0, "household": 40.0, "form": 20.0, "fixed": 0.0}


@dataclass(frozen=True)
class CostModel:
    """``C = fixed + commune * m + village * m * b + household * m * b * q`` (+ ``form`` per service-user form)."""

    commune: float
    village: float
    household: float
    form: float
    fixed: float = 0.0
    default: bool = False

    @classmethod
    def from_config(cls, planning: Mapping[str, Any] | None) -> CostModel:
        """From survey.yml's ``planning`` section (``DEFAULT_COSTS`` for missing keys; ``default`` says so)."""
        costs = dict((planning or {}).get("costs") or {})
        unknown = sorted(set(costs) - set(COST_KEYS))
        if unknown:
            raise ConfigError(f"unknown cost(s) {', '.join(unknown)}; use {', '.join(COST_KEYS)}", key="planning.costs")
        vals = {k: float(costs.get(k, DEFAULT_COSTS[k])) for k in COST_KEYS}
        return cls(**vals, default=not costs)

    def household_survey(self, *, communes: float, villages: float, households: float) -> float:
        """Cost of ``communes`` communes, ``villages`` villages and ``households`` interviews (totals), plus the fixed cost."""
        return self.fixed + self.commune * communes + self.village * villages + self.household * households

    def forms(self, *, desks: float, forms: float) -> float:
        """Cost of a service-user survey: ``desks`` commune desks (commune cost each) and ``forms`` forms."""
        return self.fixed + self.commune * desks + self.form * forms

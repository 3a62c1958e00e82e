"""Design effects: unequal weighting (Kish) times clustering, per stage.

* ``deff_w = n sum w^2 / (sum w)^2 = 1 + CV^2(w)`` (Kish 1965 §11.7; PracTools ``deffK``);
* two-stage clustering ``deff_c = 1 + (m - 1) rho`` (Kish 1965 §5.4), three-stage
  ``deff_c = 1 + (b q - 1) rho_commune + (q - 1) (rho_village - rho_commune)`` for ``b`` villages of
  ``q`` households per commune (``rho_village`` the ICC of two households of one village);
* the product ``deff = deff_w * deff_c`` (Kish 1987; model-based justification Gabler, Häder & Lahiri 1999,
  *Survey Methodology* 25, 105-106).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sipas.errors import DesignError
from sipas.estimation.weighting import kish_deff


@dataclass(frozen=True)
class DesignEffect:
    """``weighting`` (Kish), ``clustering`` and their product ``total``."""

    weighting: float
    clustering: float

    @property
    def total(self) -> float:
        return self.weighting * self.clustering


def clustering_deff(*, households_per_village: float, villages_per_commune: float = 1.0,
                    rho_commune: float, rho_village: float | None = None) -> float:
    """Clustering design effect of a two- or three-stage sample (see the module docstring)."""
    q, b = float(households_per_village), float(villages_per_commune)
    if q < 1 or b < 1:
        raise DesignError("households per village and villages per commune must be at least 1")
    rv = rho_commune if rho_village is None else rho_village
    return 1.0 + (b * q - 1.0) * rho_commune + (q - 1.0) * (rv - rho_commune)


def design_effect(*, weights, households_per_village: float, villages_per_commune: float, rho_commune: float,
                  rho_village: float) -> DesignEffect:
    """Kish's weighting effect of ``weights`` (PracTools ``deffK``) and the clustering effect."""
    w = np.asarray(weights, dtype=float)
    return DesignEffect(kish_deff(w), clustering_deff(households_per_village=households_per_village,
                                                      villages_per_commune=villages_per_commune,
                                                      rho_commune=rho_commune, rho_village=rho_village))

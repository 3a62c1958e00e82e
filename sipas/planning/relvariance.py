"""Population relvariance components of two- and three-stage designs (PracTools ``BW2stagePPS``, ``BW3stagePPS``).

For *ppswr* (or *srswr*, ``pp = 1/M``) selection of PSUs with one-draw probabilities ``p_i`` and *srs*
below (Valliant, Dever & Kreuter 2018, §9.2, eqs. 9.9-9.10 and 9.16-9.19; vignette "Variance Component
Estimation in Multistage Sampling" of PracTools; PracTools' GPL source is cited, not copied):

* ``B^2 = sum_i p_i (t_i/p_i - t_U)^2 / t_U^2`` (between PSUs);
* two stages: ``W^2 = sum_i N_i^2 S^2_{U2i} / p_i / t_U^2``, ``k = (B^2 + W^2)/V``, ``delta = B^2/(B^2 + W^2)``;
* three stages: ``W_2^2 = sum_i N_i^2 S^2_{U2i} / p_i / t_U^2`` (``S^2_{U2i}``: variance of the SSU totals in
  PSU ``i``, ``N_i`` its number of SSUs), ``W_3^2 = sum_i (N_i/p_i) sum_j Q_ij^2 S^2_{U3ij} / t_U^2``,
  ``W^2 = sum_i Q_i^2 S^2_{U3i} / p_i / t_U^2``, ``k_1 = (B^2 + W^2)/V``, ``k_2 = (W_2^2 + W_3^2)/V``,
  ``delta_1 = B^2/(B^2 + W^2)``, ``delta_2 = W_2^2/(W_2^2 + W_3^2)``;

with ``V = S^2_U / ybar_U^2`` the unit relvariance.  A PSU with one SSU (an SSU with one element) gets the
mean of the other variances (PracTools' default ``lonely.SSU = "mean"``).  The components and derived values
equal those PracTools' own ``BW2stagePPS``, ``BW2stageSRS`` and ``BW3stagePPS`` return on R survey's ``apipop``
population (counties, county x district, schools; tests/results/r/planning_practools.R, rel 1e-10), and the
derived values equal those the PracTools vignette prints for MDarea.popA (whose components cannot be recomputed
here: that population ships only as binary .RData).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sipas.errors import DesignError


def _check(y: np.ndarray, pp: pd.Series, psu: np.ndarray) -> None:
    if len(y) == 0 or len(psu) != len(y):
        raise DesignError("y and psu must be non-empty and of the same length")
    if (pp <= 0).any() or (pp >= 1).any():
        raise DesignError("one-draw probabilities pp must lie in (0, 1)")


def _var_fill(v: pd.Series) -> pd.Series:
    return v.fillna(v.mean()) if v.isna().any() else v


@dataclass(frozen=True)
class TwoStageComponents:
    """``BW2stagePPS``'s values: ``B2``, ``W2``, ``unit_relvar``, ``k``, ``delta``."""

    B2: float
    W2: float
    unit_relvar: float
    k: float
    delta: float

    @classmethod
    def from_components(cls, B2: float, W2: float, unit_relvar: float) -> TwoStageComponents:
        """The derived values ``k = (B2 + W2)/V`` and ``delta = B2/(B2 + W2)`` from the components."""
        return cls(B2, W2, unit_relvar, (B2 + W2) / unit_relvar, B2 / (B2 + W2))


@dataclass(frozen=True)
class ThreeStageComponents:
    """``BW3stagePPS``'s values: ``B``, ``W``, ``W2``, ``W3`` (all squared relvariance terms),
    ``unit_relvar``, ``k1``, ``k2``, ``delta1``, ``delta2``."""

    B: float
    W: float
    W2: float
    W3: float
    unit_relvar: float
    k1: float
    k2: float
    delta1: float
    delta2: float

    @classmethod
    def from_components(cls, B: float, W: float, W2: float, W3: float, unit_relvar: float) -> ThreeStageComponents:
        """The derived values ``k1 = (B + W)/V``, ``k2 = (W2 + W3)/V``, ``delta1 = B/(B + W)`` and
        ``delta2 = W2/(W2 + W3)`` from the components."""
        V = unit_relvar
        return cls(B, W, W2, W3, V, (B + W) / V, (W2 + W3) / V, B / (B + W), W2 / (W2 + W3))


def bw2stage_pps(y, *, pp: pd.Series, psu) -> TwoStageComponents:
    """Between/within relvariance components of a *ppswr/srs* two-stage design (PracTools ``BW2stagePPS``).

    Parameters
    ----------
    y : array-like
        Analysis variable of every population element.
    pp : Series
        One-draw probability of each PSU, indexed by PSU id.
    psu : array-like
        PSU id of every element.
    """
    y = np.asarray(y, dtype=float)
    psu = np.asarray(psu)
    pp = pd.Series(pp, dtype=float)
    _check(y, pp, psu)
    g = pd.Series(y).groupby(psu)
    tot, var, Ni = g.sum(), _var_fill(g.var()), g.size()
    p = pp.reindex(tot.index)
    if p.isna().any():
        raise DesignError("pp has no probability for some PSU")
    tU = tot.sum()
    B2 = float((p * (tot / p - tU) ** 2).sum() / tU ** 2)
    W2 = float((Ni ** 2 * var / p).sum() / tU ** 2)
    V = float(np.var(y, ddof=1) / y.mean() ** 2)
    return TwoStageComponents.from_components(B2, W2, V)


def bw2stage_srs(y, *, psu) -> TwoStageComponents:
    """Between/within relvariance components of a two-stage design with *srs* at both stages (PracTools
    ``BW2stageSRS``; VDK 2018 §9.2.1, eqs. 9.3-9.5).

    ``B^2 = S^2_{U1} / tbar_U^2`` with ``S^2_{U1}`` the variance (denominator ``M - 1``) of the ``M`` PSU totals
    and ``tbar_U`` their mean; ``W^2 = M sum_i N_i^2 S^2_{U2i} / t_U^2``; ``k`` and ``delta`` as in
    :func:`bw2stage_pps`.  A PSU with one element gets the mean of the other variances (``lonely.SSU = "mean"``).
    Equal to PracTools' own ``BW2stageSRS`` at 1e-10 (tests/results/r/planning_practools.R).

    Parameters
    ----------
    y : array-like
        Analysis variable of every population element.
    psu : array-like
        PSU id of every element.
    """
    y = np.asarray(y, dtype=float)
    psu = np.asarray(psu)
    if len(y) == 0 or len(psu) != len(y):
        raise DesignError("y and psu must be non-empty and of the same length")
    g = pd.Series(y).groupby(psu)
    tot, var, Ni = g.sum(), _var_fill(g.var()), g.size()
    M = len(tot)
    if M < 2:
        raise DesignError("BW2stageSRS needs at least two PSUs")
    tU = float(tot.sum())
    B2 = float(tot.var(ddof=1) / (tU / M) ** 2)
    W2 = float(M * (Ni ** 2 * var).sum() / tU ** 2)
    V = float(np.var(y, ddof=1) / y.mean() ** 2)
    return TwoStageComponents.from_components(B2, W2, V)


def bw3stage_pps(y, *, pp: pd.Series, psu, ssu) -> ThreeStageComponents:
    """Relvariance components of a *ppswr/srs/srs* three-stage design (PracTools ``BW3stagePPS``).

    ``ssu`` identifies the SSU of every element (unique across PSUs); other parameters as :func:`bw2stage_pps`.
    """
    y = np.asarray(y, dtype=float)
    psu = np.asarray(psu)
    ssu = np.asarray(ssu)
    pp = pd.Series(pp, dtype=float)
    _check(y, pp, psu)
    df = pd.DataFrame({"y": y, "psu": psu, "ssu": ssu})
    gp = df.groupby("psu")["y"]
    tot = gp.sum()
    p = pp.reindex(tot.index)
    if p.isna().any():
        raise DesignError("pp has no probability for some PSU")
    tU = tot.sum()
    B = float((p * (tot / p - tU) ** 2).sum() / tU ** 2)
    ssu_tab = df.groupby(["psu", "ssu"])["y"].agg(["sum", "size", "var"])
    Ni = ssu_tab.groupby(level="psu").size()
    S2U2i = _var_fill(ssu_tab["sum"].groupby(level="psu").var())
    W2 = float((Ni ** 2 * S2U2i / p).sum() / tU ** 2)
    Qi = gp.size()
    S2U3i = _var_fill(gp.var())
    W = float((Qi ** 2 * S2U3i / p).sum() / tU ** 2)
    S2U3ij = _var_fill(ssu_tab["var"])
    psu_of = ssu_tab.index.get_level_values("psu")
    W3 = float((Ni.reindex(psu_of).to_numpy() / p.reindex(psu_of).to_numpy()
                * ssu_tab["size"].to_numpy() ** 2 * S2U3ij.to_numpy()).sum() / tU ** 2)
    V = float(np.var(y, ddof=1) / y.mean() ** 2)
    return ThreeStageComponents.from_components(B, W, W2, W3, V)

"""Psychometrics: reliability and validity of the questionnaire scales.

Cronbach's alpha and item statistics (:mod:`~sipas.reliability.alpha`, as R psych), CFA
(:mod:`~sipas.reliability.cfa`, as lavaan), factorability, parallel analysis, EFA and omega
(:mod:`~sipas.reliability.factors`, as psych).
"""

from __future__ import annotations
from sipas.reliability.alpha import MissingMode, WEAK_ITEM_TOTAL_R, weighted_covariance, feldt_ci, AlphaResult, cronbach_alpha, alpha_from_cov, item_total_from_cov, item_statistics, criterion_reliability, item_reliability  # noqa: F401
from sipas.reliability.cfa import CFAResult, confirmatory_factor_analysis  # noqa: F401
from sipas.reliability.factors import Factorability, factorability, EFAResult, parallel_analysis, exploratory_factor_analysis, OmegaResult, omega  # noqa: F401

__all__ = [
    "MissingMode",
    "WEAK_ITEM_TOTAL_R",
    "weighted_covariance",
    "feldt_ci",
    "AlphaResult",
    "cronbach_alpha",
    "alpha_from_cov",
    "item_total_from_cov",
    "item_statistics",
    "criterion_reliability",
    "item_reliability",
    "CFAResult",
    "confirmatory_factor_analysis",
    "Factorability",
    "factorability",
    "EFAResult",
    "parallel_analysis",
    "exploratory_factor_analysis",
    "OmegaResult",
    "omega",
]

"""Indices: SIPAS indices from cleaned forms and replicate weights, rankings, year-over-year change.
"""

from __future__ import annotations
from sipas.indices.scoring import positive_indicators, estimate_indices, choice_indicators, estimate_shares, estimate_index_rules, estimate_distribution, logit_ci, AGE_GROUPS, age_group, urban_rural, group_indices  # noqa: F401
from sipas.indices.comparisons import CORRECTIONS, compare_with_overall, holm_adjust  # noqa: F401
from sipas.indices.rankings import imprecise, suppress_small_cells, suppress_small_changes, rank_published_units, rank_units, rank_intervals, year_over_year  # noqa: F401
from sipas.indices.rank_uncertainty import rank_probabilities, rank_uncertainty_table, simulate_ranks  # noqa: F401

__all__ = [
    "CORRECTIONS",
    "compare_with_overall",
    "holm_adjust",
    "positive_indicators",
    "estimate_indices",
    "choice_indicators",
    "estimate_shares",
    "estimate_index_rules",
    "estimate_distribution",
    "logit_ci",
    "AGE_GROUPS",
    "age_group",
    "urban_rural",
    "group_indices",
    "suppress_small_cells",
    "rank_units",
    "imprecise",
    "rank_published_units",
    "suppress_small_changes",
    "rank_intervals",
    "year_over_year",
    "rank_probabilities",
    "rank_uncertainty_table",
    "simulate_ranks",
]

"""Survey statistics: the design, replicate weights, proportion intervals, weighting and calibration.

:class:`~sipas.estimation.design.Design` (Taylor and replicate variance, as R survey); replicate factors
(:mod:`~sipas.estimation.replicates`, :mod:`~sipas.estimation.hadamard`); proportion CIs
(:mod:`~sipas.estimation.propci`); design weights, nonresponse, post-stratification, raking, calibration and
trimming (:mod:`~sipas.estimation.weighting`); the pipeline's JKn design (:mod:`~sipas.estimation.survey_design`),
in closed form when every respondent is a PSU (:mod:`~sipas.estimation.jkn_totals`).
"""

from __future__ import annotations
from sipas.estimation.results import ESTIMATE_COLUMNS, Estimate, Contrast, contrast_independent  # noqa: F401
from sipas.estimation.replicate_weights import ReplicateWeights, CellReplicateWeights  # noqa: F401
from sipas.estimation.jkn_totals import PostStratifiedJKn  # noqa: F401
from sipas.estimation.design import LONELY_PSU_OPTIONS, LonelyPSU, Design  # noqa: F401

__all__ = [
    "ESTIMATE_COLUMNS",
    "Estimate",
    "Contrast",
    "contrast_independent",
    "ReplicateWeights",
    "CellReplicateWeights",
    "PostStratifiedJKn",
    "LONELY_PSU_OPTIONS",
    "LonelyPSU",
    "Design",
]

"""The stages of a survey-year's analysis, each reading only earlier stages' files.

=========  ==============================  ===========================================
stage      reads                           writes (``data/processed/<survey-id>/``)
=========  ==============================  ===========================================
cleaning   data/raw/<id> (forms, sample,   forms_clean.csv, forms_invalid.csv,
           fieldwork log)                  audit_log.csv, cleaning_summary.csv,
                                           ingest_log.csv, response_rates.csv;
                                           personal data to ``restricted/<id>/`` only
reliab.    forms_clean.csv                 reliability_criteria.csv, reliability_items.csv
weighting  forms_clean.csv, raw sample     weights.csv, weight_summary.csv
indices    forms_clean.csv, weights.csv,   indices.csv, indices_published.csv,
           previous year's indices.csv     ranking.csv, year_over_year.csv, profile.csv
=========  ==============================  ===========================================

Every stage also writes ``manifest_<stage>.json`` with the SHA-256 of what it read
and wrote.  Outputs are written atomically and deterministically (:mod:`sipas.io`).
"""

from __future__ import annotations

from sipas.stages._common import StageResult
from sipas.stages.cleaning import run_cleaning
from sipas.stages.indices import run_indices
from sipas.stages.reliability import reliability_groups, run_reliability, scored_items
from sipas.stages.weighting import poststrata_totals, replicate_weights, run_weighting

STAGES = ("cleaning", "reliability", "weighting", "indices")

RUNNERS = {"cleaning": run_cleaning, "reliability": run_reliability, "weighting": run_weighting,
           "indices": run_indices}

__all__ = ["STAGES", "RUNNERS", "StageResult", "run_cleaning", "run_reliability", "run_weighting", "run_indices",
           "reliability_groups", "scored_items", "poststrata_totals", "replicate_weights"]

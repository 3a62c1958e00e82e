"""The stages of a survey-year's analysis, each reading only earlier stages' files.

The stages live one per module in :mod:`sipas.stages`; this module lists them in order.

=========  ==============================  ===========================================
stage      reads                           writes (``data/processed/<survey-id>/``)
=========  ==============================  ===========================================
cleaning   data/raw/<id> (forms, sample,   forms_clean, forms_invalid, audit_log,
           fieldwork log, recheck, second  audit_summary, cleaning_summary, ingest_log,
           data entry)                     response_rates, recheck_agreement,
                                           recheck_failed_forms, recheck_summary,
                                           double_entry_discrepancies,
                                           double_entry_summary, forms_clean.sav/.dta
                                           (labelled, for researchers); personal data to
                                           ``restricted/<id>/`` only
reliab.    forms_clean                     reliability_criteria, reliability_items,
                                           cfa_fit, cfa_loadings, factorability,
                                           parallel_analysis, efa_loadings
weighting  forms_clean, raw sample,        weights (with psu_population, the stage-1
           commune frame                   fpc), weight_summary, weight_diagnostics,
                                           weight_margins, poststrata_totals
indices    forms_clean, weights,           indices, indices_published, indices_groups,
           poststrata_totals, commune      indices_groups_published, ranking (rank,
           frame, previous year's indices  group, rank_low, rank_high), needs, profile,
                                           year_over_year
=========  ==============================  ===========================================

All tables are CSV.  Every stage also writes ``manifest_<stage>.json`` with the SHA-256 of
what it read and wrote.  Outputs are written atomically and deterministically (:mod:`sipas.io`).

The runners here (``run_*`` and :data:`RUNNERS`, which the CLI and the notebooks call) run each
stage with ``SIPAS_BLAS_THREADS`` BLAS threads, default 1 (:mod:`sipas.threads`).
"""

from __future__ import annotations

from sipas.stages import cleaning, indices, reliability, weighting
from sipas.stages._common import StageResult
from sipas.stages.reliability import reliability_groups, scored_items
from sipas.stages.weighting import poststrata_totals
from sipas.estimation.survey_design import replicate_weights
from sipas.threads import limited

run_cleaning = limited(cleaning.run_cleaning)
run_reliability = limited(reliability.run_reliability)
run_weighting = limited(weighting.run_weighting)
run_indices = limited(indices.run_indices)

STAGES = ("cleaning", "reliability", "weighting", "indices")

RUNNERS = {"cleaning": run_cleaning, "reliability": run_reliability, "weighting": run_weighting,
           "indices": run_indices}

__all__ = ["STAGES", "RUNNERS", "StageResult", "run_cleaning", "run_reliability", "run_weighting", "run_indices",
           "reliability_groups", "scored_items", "poststrata_totals", "replicate_weights"]

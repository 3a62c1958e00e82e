"""The stages of a survey-year's analysis, each reading only earlier stages' files.

The stages live one per module in :mod:`sipas.stages`; this module lists them in order.

=========  ==============================  ===========================================
stage      reads                           writes (``data/processed/<survey-id>/``)
=========  ==============================  ===========================================
cleaning   data/raw/<id> (forms, sample,   forms_clean, forms_invalid, audit_log,
           fieldwork log, recheck, second  audit_summary, cleaning_summary, ingest_log,
           data entry)                     substitutions, response_rates,
                                           recheck_agreement, recheck_failed_forms,
                                           recheck_summary,
                                           double_entry_discrepancies,
                                           double_entry_summary, forms_clean.sav/.dta
                                           (labelled, for researchers); personal data to
                                           ``restricted/<id>/`` only
reliab.    forms_clean                     reliability_criteria, reliability_items,
                                           cfa_fit, cfa_loadings, factorability,
                                           parallel_analysis, efa_loadings
weighting  forms_clean, substitutions,     weights (with psu_population, the stage-1
           raw sample, commune frame       fpc), weight_summary, weight_diagnostics,
                                           weight_margins, poststrata_totals
indices    forms_clean, weights,           indices, indices_published, indices_groups,
           poststrata_totals, commune      indices_groups_published, ranking (rank,
           frame, previous year's indices  group, rank_low, rank_high), needs, profile,
                                           year_over_year
=========  ==============================  ===========================================

All tables are CSV.  Every stage also writes ``manifest_<stage>.json`` with the SHA-256 of
what it read and wrote.  Outputs are written atomically and deterministically (:mod:`sipas.io`).

The runners here (``run_*`` and :data:`RUNNERS`, which the CLI and the notebooks call) run each
stage with ``SIPAS_BLAS_THREADS`` BLAS threads, default 1 (:mod:`sipas.threads`), and first check that
the files the earlier stages read have not changed since they ran (``check_fresh``: raw forms edited after
``clean`` stop ``weight`` and ``indices`` with one line naming the file and the stage to rerun).
"""

from __future__ import annotations

from sipas.stages import cleaning, indices, reliability
from sipas.stages._common import StageResult, check_fresh, sample_list
from sipas.stages.reliability import reliability_groups, scored_items
from sipas.stages.weighting import poststrata_totals
from sipas.estimation.survey_design import replicate_weights
from sipas.threads import limited



def _fresh(run, *, upstream: tuple[str, ...], first=None):
    """``run`` preceded by :func:`sipas.stages._common.check_fresh` on the stages whose outputs it reads
    (and before that by ``first(cfg)``, the checks of the raw files the stage reads itself, so that a broken
    file is named as broken rather than as changed)."""
    import functools

    @functools.wraps(run)
    def wrapped(cfg, *, root=None, **kwargs):
        if first is not None:
            first(cfg)
        check_fresh(cfg, upstream=upstream, root=root)
        return run(cfg, root=root, **kwargs)

    return wrapped


def _weighting_sample(cfg) -> None:
    """The sample list as the weighting stage reads it (probabilities, units), checked."""
    if not cfg.kind.design.element_sampling and (cfg.extra.get("sampling") or {}).get("sample_file"):
        sample_list(cfg, columns=("household_id", "pi", *cfg.design.unit_keys, "sample_village"))


run_cleaning = limited(cleaning.run_cleaning)
run_reliability = limited(_fresh(reliability.run_reliability, upstream=("cleaning",)))
def _run_kind_weighting(cfg, *, root=None, **kwargs):
    """The weighting stage of the survey's kind (:attr:`sipas.kinds.DesignSpec.weighting`): design weights
    calibrated to the commune frame (household), or transactions over forms per unit (service user)."""
    return cfg.kind.weighting_function()(cfg, root=root, **kwargs)


run_weighting = limited(_fresh(_run_kind_weighting, upstream=("cleaning",), first=_weighting_sample))
run_indices = limited(_fresh(indices.run_indices, upstream=("cleaning", "weighting")))

STAGES = ("cleaning", "reliability", "weighting", "indices")

RUNNERS = {"cleaning": run_cleaning, "reliability": run_reliability, "weighting": run_weighting,
           "indices": run_indices}

__all__ = ["STAGES", "RUNNERS", "StageResult", "run_cleaning", "run_reliability", "run_weighting", "run_indices",
           "reliability_groups", "scored_items", "poststrata_totals", "replicate_weights"]

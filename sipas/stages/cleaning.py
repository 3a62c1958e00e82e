"""Stage 1: ingest, personal data split, cleaning with an audit log, fieldwork rates.

Reads only files of earlier stages; writes through :mod:`sipas.io` (atomic, deterministic).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sipas.config import SurveyConfig, project_root
from sipas.instrument import load_instrument
from sipas.pii import pseudonyms
from sipas.stages._common import StageResult, manifest, salt, write_tables


def run_cleaning(cfg: SurveyConfig, *, root: Path | None = None) -> StageResult:
    """Ingest the raw forms, split off personal data, clean by declared rules; fieldwork rates."""
    from sipas import cleaning, ingest

    out = cfg.processed_dir(root)
    inst = load_instrument(cfg.instrument_id, cfg.instrument_version)
    res = ingest.read_responses(list(cfg.responses), instrument=inst, salt=salt(cfg))
    restricted_dir = (root or project_root()) / "restricted" / cfg.survey_id
    ingest.write_restricted(res, restricted_dir=restricted_dir)
    read = list(cfg.responses)

    sample_keys = None
    samp = (cfg.extra.get("sampling") or {}).get("sample_file")
    if samp:
        sample_path = cfg.raw_path(samp)
        sample = pd.read_csv(sample_path, dtype={"household_id": str})
        sample_keys = set(pseudonyms(sample["household_id"], salt=salt(cfg)))
        read.append(sample_path)
    cl = cleaning.clean_forms(res.forms, instrument=inst, sample_keys=sample_keys)
    tables = {"forms_clean": cl.clean, "forms_invalid": cl.invalid, "audit_log": cl.audit,
              "cleaning_summary": cl.summary, "ingest_log": res.log}

    log_rel = (cfg.extra.get("fieldwork") or {}).get("distribution_log")
    if log_rel:
        from sipas import fieldwork

        log_path = cfg.raw_path(log_rel)
        log = pd.read_csv(log_path, dtype={"household_id": str, "form_id": str})
        log = log.drop(columns=["household_id"])
        log["valid"] = log["form_id"].isin(set(cl.clean["form_id"])).astype(int)
        by = ["district", "commune"]
        rr = fieldwork.response_rates(log, by=by)
        valid = fieldwork.response_rates(log, by=by, returned="valid")
        rr = rr.merge(valid[by + ["returned"]].rename(columns={"returned": "valid"}), on=by, how="left")
        rr["valid_rate"] = rr["valid"] / rr["returned"]
        tables["response_rates"] = rr
        read.append(log_path)
    written = write_tables(tables, out)
    written.append(manifest(cfg, "cleaning", out, read, written, root))
    return StageResult("cleaning", tables, written, {"restricted_dir": restricted_dir})

"""Stage 3 of a service-user survey: weights = transactions in the window / valid forms, per unit and field.

Reads ``forms_clean.csv`` (cleaning stage), the transaction records (``frames.transactions``) and the unit
frame (``frames.units``) of survey.yml; writes ``weights.csv`` (``form_id, respondent_key, unit, cell,
procedure_field, pi, w_design, w_nr, w_final, psu_population``), ``weight_summary.csv``,
``weight_diagnostics.csv`` (by unit), ``weight_cells.csv`` (per unit: transactions, forms, sampling
fraction, whether the cells are split by procedure field and why not) and ``poststrata_totals.csv``
(``cell, households`` -- transactions -- read by the indices stage to re-calibrate every replicate).
The formulas are in :mod:`sipas.estimation.unit_weights`.  The survey kind names this function
(:attr:`sipas.kinds.DesignSpec.weighting`); the pipeline calls it in place of the household weighting stage.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sipas import io as sio
from sipas import rawfiles
from sipas.config import SurveyConfig, sampling_window
from sipas.errors import ConfigError, InputError
from sipas.estimation import weighting
from sipas.estimation.unit_weights import transaction_counts, unit_weights
from sipas.stages._common import StageResult, manifest, need, transactional, write_tables
from sipas.text import nfc


def unit_names(cfg: SurveyConfig) -> tuple[dict[str, str], Path]:
    """``{unit id or name (NFC): unit name}`` from the unit frame, and its path."""
    path = cfg.frames.get("units")
    if path is None:
        raise ConfigError("a service-user survey needs frames.units (unit_id, unit, level, parent_unit)",
                          file=cfg.path, key="frames.units")
    units = rawfiles.read_table(path, dtype=str)
    rawfiles.require_columns(units, ["unit_id", "unit"], path, what="unit frame")
    out: dict[str, str] = {}
    for uid, name in zip(units["unit_id"], units["unit"]):
        out[nfc(str(uid).strip())] = str(name).strip()
        out[nfc(str(name).strip())] = str(name).strip()
    return out, Path(path)


def window_counts(cfg: SurveyConfig) -> tuple[pd.DataFrame, list[Path]]:
    """Transactions returned inside ``sampling.window`` per unit (by name) and procedure field."""
    path = cfg.frames.get("transactions")
    if path is None:
        raise ConfigError("a service-user survey needs frames.transactions (the one-stop system's records of "
                          "returned results) to weight its forms", file=cfg.path, key="frames.transactions")
    names, upath = unit_names(cfg)
    tr = rawfiles.read_table(path, dtype=str)
    rawfiles.require_columns(tr, ["transaction_id", "unit", "procedure_field", "returned_on"], path,
                             what="transaction records")
    day = pd.to_datetime(tr["returned_on"].str.strip(), format="%Y-%m-%d", errors="coerce")
    bad = day.isna()
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(f"not a date (YYYY-MM-DD): {tr['returned_on'].iloc[i]!r}", file=path, row=i + 2,
                         column="returned_on")
    unit = tr["unit"].astype(str).str.strip().map(lambda v: names.get(nfc(v)))
    if unit.isna().any():
        i = int(unit.isna().to_numpy().nonzero()[0][0])
        raise InputError(f"unit {tr['unit'].iloc[i]!r} is not in the unit frame {upath}", file=path, row=i + 2,
                         column="unit")
    tr = tr.assign(unit=unit, returned_on=day, procedure_field=tr["procedure_field"].fillna("").str.strip())
    return transaction_counts(tr, window=sampling_window(cfg)), [Path(path), upath]


@transactional
def run_unit_weighting(cfg: SurveyConfig, *, root: Path | None = None) -> StageResult:
    """Weights of the valid forms: ``w = N_h / n_h``, post-stratified to unit x procedure field.

    See :func:`sipas.estimation.unit_weights.unit_weights` for the formula and the R equivalent.

    Raises
    ------
    InputError
        Naming file, row and column of bad transaction records; a unit with forms but no transaction in
        the window, or more forms than transactions.
    ConfigError
        ``frames.units``, ``frames.transactions`` or ``sampling.window`` missing or wrong.
    """
    out = cfg.processed_dir(root)
    src = need(out / "forms_clean.csv", "cleaning")
    forms = sio.read_csv(src)
    counts, read = window_counts(cfg)
    names, _ = unit_names(cfg)
    forms = forms.assign(unit=forms["unit"].astype(str).str.strip().map(lambda v: names.get(nfc(v), v)))
    res = unit_weights(forms, counts, source=str(cfg.frames["transactions"]))
    w = res.weights
    summary = pd.concat([
        weighting.weight_summary(w["w_design"]).to_frame().assign(weights="design"),
        weighting.weight_summary(w["w_nr"]).to_frame().assign(weights="nonresponse"),
        weighting.weight_summary(w["w_final"]).to_frame().assign(weights="final"),
    ], ignore_index=True)
    tables = {"weights": w, "weight_summary": summary,
              "weight_diagnostics": weighting.weight_summary_by(w, by="unit", weight="w_final"),
              "weight_cells": res.cells, "poststrata_totals": res.totals}
    written = write_tables(tables, out)
    written.append(manifest(cfg, "weighting", out, [src, *read], written, root))
    return StageResult("weighting", tables, written, info={"calibration": "poststratify", "margins": ["cell"]})

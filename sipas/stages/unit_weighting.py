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
from sipas.config import SurveyConfig, sampling_window
from sipas.errors import ConfigError
from sipas.estimation import weighting
from sipas.estimation.unit_weights import transaction_counts, unit_weights
from sipas.stages._common import StageResult, manifest, need, transactional, write_tables
from sipas.text import nfc


def unit_frame(cfg: SurveyConfig) -> tuple[pd.DataFrame, Path]:
    """The unit frame (``frames.units``, :func:`sipas.sampling.read_unit_frame`) and its path."""
    from sipas.sampling.transactions import read_unit_frame

    path = cfg.frames.get("units")
    if path is None:
        raise ConfigError("a service-user survey needs frames.units (unit_id, unit, level, parent_unit)",
                          file=cfg.path, key="frames.units")
    return read_unit_frame(path), Path(path)


def window_counts(cfg: SurveyConfig, units: pd.DataFrame) -> tuple[pd.DataFrame, Path]:
    """Transactions returned inside ``sampling.window`` per unit (by name) and procedure field, read with
    :func:`sipas.sampling.read_transactions` (dates as ISO, dd/mm/yyyy or Excel dates; errors name file, row
    and column); and the transaction file's path."""
    from sipas.sampling.transactions import read_transactions

    path = cfg.frames.get("transactions")
    if path is None:
        raise ConfigError("a service-user survey needs frames.transactions (the one-stop system's records of "
                          "returned results) to weight its forms", file=cfg.path, key="frames.transactions")
    tr = read_transactions(path, units=units)
    names = dict(zip(units["unit_id"], units["unit"]))
    tr = tr.assign(unit=tr["unit"].map(names), procedure_field=tr["procedure_field"].astype(str).str.strip())
    return transaction_counts(tr, window=sampling_window(cfg)), Path(path)


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
    from sipas.sampling.transactions import unit_name_lookup

    units, upath = unit_frame(cfg)
    counts, tpath = window_counts(cfg, units)
    read = [tpath, upath]
    names = unit_name_lookup(units)
    forms = forms.assign(unit=forms["unit"].astype(str).str.strip().map(lambda v: names.get(nfc(v), v)))
    res = unit_weights(forms, counts, source=str(cfg.frames["transactions"]))
    w = res.weights
    summary = weighting.weight_steps_summary(w)
    tables = {"weights": w, "weight_summary": summary,
              "weight_diagnostics": weighting.weight_summary_by(w, by="unit", weight="w_final"),
              "weight_cells": res.cells, "poststrata_totals": res.totals}
    written = write_tables(tables, out)
    written.append(manifest(cfg, "weighting", out, [src, *read], written, root))
    return StageResult("weighting", tables, written, info={"calibration": "poststratify", "margins": ["cell"]})

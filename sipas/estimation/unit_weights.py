"""Weights of a service-user survey: transactions in the period over valid forms, per unit (and field).

A service-user survey (seeds 001, 002) is a stratified sample of the people and organisations whose
procedure was completed at a one-stop unit in the survey window: strata = units, the respondent is the
sampling unit.  With ``N_h`` transactions returned in the window at unit ``h`` and ``n_h`` valid forms,

    pi_i = n_h / N_h,     w_i = N_h / n_h          (stratified SRS without replacement, Cochran 1977, ch. 5)

and, when the forms record the procedure field and every field of the unit with transactions has at least
``min_forms`` valid forms, the weights are post-stratified to the unit x field counts ``N_hf``:

    w_i = N_hf / n_hf,

so that a unit whose desk handed out forms mostly for one field (land, civil status...) is weighted back to
its mix of transactions.  A unit where some field with transactions has fewer forms keeps the unit-level
cell (recorded in ``collapsed``).  The finite population correction is ``N_h`` (``psu_population``: the
"PSUs" are the transactions).  In R::

    d <- svydesign(ids = ~1, strata = ~unit, fpc = ~N_h, data = forms)
    postStratify(d, ~cell, totals)        # cell = unit, or unit x field

In exit mode (seed 002) forms are whatever the desk handed out: the weights are the same, but they rest on
the assumption that the respondents of a unit (and field) are like a random sample of its transactions,
which nobody controlled; the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sipas.errors import InputError

#: Column of the weights holding the calibration cell (unit, or unit and procedure field).
CELL_COLUMN = "cell"
#: Separator of unit and field in a cell label.
CELL_SEP = " · "


@dataclass(frozen=True)
class UnitWeights:
    """Result of :func:`unit_weights`.

    Attributes
    ----------
    weights : DataFrame
        One row per form: ``form_id``, ``respondent_key``, ``unit``, ``cell``, ``pi``, ``w_design``,
        ``w_nr`` (= ``w_design``: a form that was not returned is not in the design), ``w_final`` and
        ``psu_population`` (``N_h``).
    totals : DataFrame
        The calibration population, ``cell, households`` (transactions; the column keeps the name the
        calibration code of the household survey reads).
    cells : DataFrame
        Per unit: ``transactions``, ``forms``, ``sampling_fraction``, ``by_field`` (cells split by field)
        and ``reason`` when not.
    """

    weights: pd.DataFrame
    totals: pd.DataFrame
    cells: pd.DataFrame


def unit_weights(forms: pd.DataFrame, counts: pd.DataFrame, *, unit: str = "unit",
                 field: str = "procedure_field", min_forms: int = 2, source: str = "transactions") -> UnitWeights:
    """Weights ``N_h / n_h`` per unit, post-stratified to unit x field where every field has forms.

    Parameters
    ----------
    forms : DataFrame
        Valid forms: ``form_id``, ``respondent_key``, ``unit`` and optionally ``field``.
    counts : DataFrame
        Transactions returned in the window: ``unit``, ``field``, ``transactions`` (one row per unit and
        field; :func:`transaction_counts`).
    min_forms : int
        Fewest forms a unit x field cell needs to be a post-stratum of its own.
    source : str
        Name of the transaction file, for error messages.

    Returns
    -------
    UnitWeights

    Raises
    ------
    InputError
        A unit with forms but no transaction in the window, or with more valid forms than transactions.
    """
    f = forms.copy()
    f[unit] = f[unit].astype(str)
    c = counts.copy()
    c[unit] = c[unit].astype(str)
    c[field] = c[field].astype(str)
    N_h = c.groupby(unit, sort=True)["transactions"].sum()
    n_h = f.groupby(unit, sort=True).size()
    missing = sorted(set(n_h.index) - set(N_h[N_h > 0].index))
    if missing:
        raise InputError(f"no transaction returned in the survey window at unit(s) {', '.join(missing)}, "
                         "which have forms: the unit's weight is undefined", file=source, column=unit)
    over = [u for u in n_h.index if n_h[u] > N_h[u]]
    if over:
        u = over[0]
        raise InputError(f"unit {u!r} has {int(n_h[u])} valid forms but only {int(N_h[u])} transactions in the "
                         "survey window: the transaction file or the window is wrong", file=source, column=unit)
    has_field = field in f.columns
    ffield = f[field].astype("string").str.strip() if has_field else pd.Series(pd.NA, index=f.index, dtype="string")
    rows = []
    by_field: dict[str, bool] = {}
    for u in n_h.index:
        cu = c[(c[unit] == u) & (c["transactions"] > 0)]
        fu = ffield[f[unit] == u]
        reason = ""
        if not has_field or fu.isna().any():
            reason = "field_unknown"
        elif not set(fu) <= set(cu[field]):
            reason = "field_not_in_transactions"
        else:
            per = fu.value_counts()
            if any(per.get(k, 0) < min_forms for k in cu[field]):
                reason = "field_with_few_forms"
        by_field[u] = not reason
        rows.append({unit: u, "transactions": int(N_h[u]), "forms": int(n_h[u]),
                     "sampling_fraction": float(n_h[u] / N_h[u]), "by_field": not reason, "reason": reason})
    cells = pd.DataFrame(rows)
    f[CELL_COLUMN] = [f"{u}{CELL_SEP}{k}" if by_field[u] else u for u, k in zip(f[unit], ffield.fillna(""))]
    tot = []
    for u in n_h.index:
        if by_field[u]:
            cu = c[(c[unit] == u) & (c["transactions"] > 0)].groupby(field, sort=True)["transactions"].sum()
            tot += [{CELL_COLUMN: f"{u}{CELL_SEP}{k}", "households": float(v)} for k, v in cu.items()]
        else:
            tot.append({CELL_COLUMN: u, "households": float(N_h[u])})
    totals = pd.DataFrame(tot)
    pi = f[unit].map(n_h / N_h).astype(float)
    w = pd.DataFrame({"form_id": f["form_id"].to_numpy(), "respondent_key": f["respondent_key"].to_numpy(),
                      unit: f[unit].to_numpy(), CELL_COLUMN: f[CELL_COLUMN].to_numpy()})
    if has_field:
        w[field] = ffield.to_numpy()
    w["pi"] = pi.to_numpy()
    w["w_design"] = 1.0 / w["pi"]
    w["w_nr"] = w["w_design"]
    Nc = totals.set_index(CELL_COLUMN)["households"]
    sum_c = w.groupby(CELL_COLUMN)["w_nr"].sum()
    w["w_final"] = w["w_nr"] * w[CELL_COLUMN].map(Nc / sum_c).to_numpy()
    w["psu_population"] = w[unit].map(N_h).astype(float).to_numpy()
    if not np.all(np.isfinite(w["w_final"])):
        raise InputError("a calibration cell has no transaction", file=source, column=field)
    return UnitWeights(weights=w, totals=totals, cells=cells)


def transaction_counts(transactions: pd.DataFrame, *, window: tuple[object, object], unit: str = "unit",
                       field: str = "procedure_field", returned: str = "returned_on") -> pd.DataFrame:
    """Transactions whose result was returned inside ``window`` (both days included), per unit and field.

    Returns ``unit, field, transactions`` sorted by unit and field.
    """
    first, last = (pd.Timestamp(window[0]), pd.Timestamp(window[1]))
    d = pd.to_datetime(transactions[returned])
    inside = transactions[(d >= first) & (d <= last)]
    out = inside.groupby([unit, field], sort=True).size().rename("transactions").reset_index()
    out[unit] = out[unit].astype(str)
    return out

"""Fieldwork quality control (seed 000 §III.1; seed 001 tasks 9-11).

* :func:`response_rates` - forms distributed and returned per unit, from the
  distribution/return log;
* :func:`recheck_sample` - the 20% recheck (phúc tra) sample of returned forms,
  stratified by unit and seeded;
* :func:`recheck_agreement` - agreement per item between the original answers and
  the recheck answers (% agreement and Cohen's kappa) and the forms that failed;
* :func:`double_entry_discrepancies` - a sample of forms entered twice, reconciled
  cell by cell.

All functions take and return tidy DataFrames; none rounds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sipas.errors import InputError

_TRUE = {"1", "1.0", "true", "yes", "có", "co", "x"}
_INT_TEXT = re.compile(r"-?\d+\.0+")


def _require(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(f"{what} lacks column(s) {', '.join(missing)}; has {', '.join(map(str, df.columns))}",
                         column=missing[0])


def _unique_key(df: pd.DataFrame, key: str, what: str) -> None:
    dup = df[key].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(f"{what}: {key} {df[key].iloc[i]!r} appears twice", row=i + 2, column=key)


def response_rates(log: pd.DataFrame, *, by: str | Sequence[str], returned: str = "returned") -> pd.DataFrame:
    """Forms distributed and returned, and the return rate, per unit.

    Parameters
    ----------
    log : DataFrame
        One row per distributed form; ``returned`` is a 1/0 (true/false, có/không) flag.
    by : str or list of str
        Unit columns (e.g. ``["district", "commune"]``).
    returned : str, default "returned"

    Returns
    -------
    DataFrame
        ``by`` columns, ``distributed``, ``returned``, ``not_returned`` and
        ``response_rate = returned / distributed`` (a proportion, not rounded), units
        in the order they first appear, then a total row with ``by`` = ``"Total"``.
        This is the AAPOR RR-style ratio of returned to distributed forms (eligibility
        of every addressee assumed).
    """
    by = [by] if isinstance(by, str) else list(by)
    _require(log, by + [returned], "distribution log")
    flag = log[returned].map(lambda v: str(v).strip().lower() in _TRUE)
    df = log[by].copy()
    df["_ret"] = flag.astype(int)
    g = df.groupby(by, sort=False, dropna=False)["_ret"]
    out = pd.DataFrame({"distributed": g.size(), "returned": g.sum()}).reset_index()
    total = {c: "Total" for c in by}
    total.update({"distributed": int(out["distributed"].sum()), "returned": int(out["returned"].sum())})
    out = pd.concat([out, pd.DataFrame([total])], ignore_index=True)
    out["distributed"] = out["distributed"].astype(int)
    out["returned"] = out["returned"].astype(int)
    out["not_returned"] = out["distributed"] - out["returned"]
    out["response_rate"] = out["returned"] / out["distributed"]
    return out


def recheck_sample(returned: pd.DataFrame, *, fraction: float = 0.2, strata: str | Sequence[str], seed: int,
                   key: str = "form_id") -> pd.DataFrame:
    """The recheck (phúc tra) sample: ``fraction`` of the returned forms, stratified by unit (seed 000 §III.1).

    In each stratum ``h`` of ``N_h`` forms, ``n_h = ceil(fraction * N_h)`` forms are
    drawn by simple random sampling without replacement (so every unit is rechecked
    and at least ``fraction`` of all forms is), with one stream
    ``numpy.random.default_rng(seed)``; strata are visited in sorted order and forms
    sorted by ``key`` first, so the result does not depend on the input row order.

    Returns
    -------
    DataFrame
        The chosen rows (sorted by strata, then ``key``) with ``recheck_prob = n_h / N_h``.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    strata = [strata] if isinstance(strata, str) else list(strata)
    _require(returned, strata + [key], "returned forms")
    _unique_key(returned, key, "returned forms")
    rng = np.random.default_rng(seed)
    df = returned.sort_values(strata + [key], kind="stable").reset_index(drop=True)
    parts = []
    for _, g in df.groupby(strata, sort=True, dropna=False):
        n_h = len(g)
        k = int(np.ceil(fraction * n_h - 1e-9))
        idx = np.sort(rng.choice(n_h, size=k, replace=False))
        parts.append(g.iloc[idx].assign(recheck_prob=k / n_h))
    if not parts:
        return df.assign(recheck_prob=[])
    return pd.concat(parts, ignore_index=True)


def cohen_kappa(a: Sequence, b: Sequence) -> float:
    """Cohen's (1960) unweighted kappa of two codings of the same forms.

    ``kappa = (p_o - p_e) / (1 - p_e)``, ``p_o`` the share of equal codes and
    ``p_e = sum_k p_a(k) p_b(k)`` the agreement expected from the margins.  When
    ``p_e = 1`` (both codings constant and equal) kappa is undefined: NaN is returned.
    Same value as ``sklearn.metrics.cohen_kappa_score`` and R ``irr::kappa2``.
    """
    a = pd.Series(list(a), dtype=object).astype(str).to_numpy()
    b = pd.Series(list(b), dtype=object).astype(str).to_numpy()
    if len(a) != len(b):
        raise ValueError("the two codings differ in length")
    n = len(a)
    if n == 0:
        return float("nan")
    po = float((a == b).mean())
    cats = np.union1d(a, b)
    pa = np.array([(a == c).mean() for c in cats])
    pb = np.array([(b == c).mean() for c in cats])
    pe = float((pa * pb).sum())
    if pe >= 1.0:
        return float("nan")
    return (po - pe) / (1.0 - pe)


def _norm(v: object) -> str:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    s = str(v).strip()
    if _INT_TEXT.fullmatch(s):  # "3.0" read as text (e.g. from Excel) is the code 3, as the float 3.0 is
        return s.split(".")[0]
    return s


def recheck_agreement(original: pd.DataFrame, recheck: pd.DataFrame, *, items: Sequence[str],
                      key: str = "form_id", min_agreement: float = 1.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Agreement between the original answers and the recheck answers, per item and per form.

    Only forms present in both tables are compared (matched on ``key``); a blank is
    a code of its own ("" vs "3" disagrees).

    Parameters
    ----------
    original, recheck : DataFrame
        ``key`` and the ``items`` columns.
    items : list of str
    key : str, default "form_id"
    min_agreement : float, default 1.0
        A form fails when its share of agreeing items is below this (1.0: any
        difference fails the form).

    Returns
    -------
    (per_item, failing_forms)
        ``per_item``: ``item``, ``n``, ``n_agree``, ``pct_agreement`` (a proportion),
        ``kappa`` (Cohen's, :func:`cohen_kappa`).  ``failing_forms``: ``key``,
        ``n_items``, ``n_disagree``, ``agreement``, ``items_disagreeing`` (";"-joined),
        for the forms below ``min_agreement``.
    """
    items = list(items)
    _require(original, [key] + items, "original answers")
    _require(recheck, [key] + items, "recheck answers")
    _unique_key(original, key, "original answers")
    _unique_key(recheck, key, "recheck answers")
    m = original[[key] + items].merge(recheck[[key] + items], on=key, suffixes=("_o", "_r"), how="inner")
    m = m.sort_values(key, kind="stable").reset_index(drop=True)
    rows = []
    eq = pd.DataFrame(index=m.index)
    for it in items:
        a = m[f"{it}_o"].map(_norm)
        b = m[f"{it}_r"].map(_norm)
        eq[it] = (a == b).to_numpy()
        rows.append({"item": it, "n": len(m), "n_agree": int(eq[it].sum()),
                     "pct_agreement": float(eq[it].mean()) if len(m) else float("nan"),
                     "kappa": cohen_kappa(a, b)})
    per_item = pd.DataFrame(rows, columns=["item", "n", "n_agree", "pct_agreement", "kappa"])
    agree = eq.mean(axis=1) if items else pd.Series(1.0, index=m.index)
    fail = agree < min_agreement
    failing = pd.DataFrame({
        key: m.loc[fail, key].to_numpy(),
        "n_items": len(items),
        "n_disagree": (~eq.loc[fail]).sum(axis=1).astype(int).to_numpy(),
        "agreement": agree[fail].to_numpy(),
        "items_disagreeing": [";".join(c for c in items if not eq.at[i, c]) for i in m.index[fail]],
    })
    return per_item, failing


def double_entry_discrepancies(first: pd.DataFrame, second: pd.DataFrame, *, key: str = "form_id",
                               columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Reconcile two independent data entries of the same forms cell by cell (seed 001 task 11).

    Values are compared as trimmed text (``3`` = ``3.0``; blank = missing).  A form in
    one entry only is reported once with ``column`` = ``"<form missing>"``.

    Parameters
    ----------
    first, second : DataFrame
        The two entries, one row per form, keyed by ``key``.
    columns : list of str, optional
        Columns to compare; default: the columns both entries share, less ``key``.

    Returns
    -------
    DataFrame
        One row per differing cell: ``key``, ``column``, ``first``, ``second``; sorted
        by ``key`` then column order.  Empty when the entries agree.
    """
    _require(first, [key], "first entry")
    _require(second, [key], "second entry")
    _unique_key(first, key, "first entry")
    _unique_key(second, key, "second entry")
    if columns is None:
        columns = [c for c in first.columns if c != key and c in second.columns]
    cols = list(columns)
    _require(first, cols, "first entry")
    _require(second, cols, "second entry")
    a = first.set_index(key)
    b = second.set_index(key)
    in_a, in_b = set(a.index), set(b.index)
    order = sorted(in_a | in_b, key=lambda v: str(v))
    both = [k for k in order if k in in_a and k in in_b]
    # every cell as normalised text, compared column by column (one pass, no per-cell lookups)
    na = np.column_stack([a.loc[both, c].map(_norm).to_numpy(dtype=object) for c in cols]) if cols and both \
        else np.empty((len(both), len(cols)), dtype=object)
    nb = np.column_stack([b.loc[both, c].map(_norm).to_numpy(dtype=object) for c in cols]) if cols and both \
        else np.empty((len(both), len(cols)), dtype=object)
    differs = na != nb
    row_of = {k: i for i, k in enumerate(both)}
    rows = []
    for k in order:
        if k not in row_of:
            rows.append({key: k, "column": "<form missing>", "first": "present" if k in in_a else "",
                         "second": "present" if k in in_b else ""})
            continue
        i = row_of[k]
        for j in np.flatnonzero(differs[i]):
            rows.append({key: k, "column": cols[j], "first": na[i, j], "second": nb[i, j]})
    return pd.DataFrame(rows, columns=[key, "column", "first", "second"])


#: Columns of :func:`substitutions` besides the unit columns.
SUBSTITUTION_COLUMNS = ("sample_village", "substitute_id", "replaces_id", "reason", "recorded")


def _blank(v: object) -> bool:
    return v is None or (not isinstance(v, str) and pd.isna(v)) or str(v).strip() == ""


def substitutions(sample: pd.DataFrame, *, responded: set[str], units: Sequence[str],
                  log: pd.DataFrame | None = None, sample_path: object = None,
                  log_path: object = None) -> pd.DataFrame:
    """Which reserve household replaced which official one, and why (seeds 000, 001).

    A household of the reserve list (``list == "reserve"`` in the sample list written by ``sipas sample``)
    that answered stands for an official household of its sampled village that did not.  The distribution
    log records it: column ``replaces`` (the official household id; blank for official households) and,
    optionally, ``reason`` (refused, absent, moved...).  A reserve household that answered without such a
    record replaces the next official household of the same sampled village that did not answer (official
    list order, reserves in ``reserve_rank`` order), marked ``recorded = False``.

    Parameters
    ----------
    sample : DataFrame
        The sample list: ``household_id``, ``sample_village``, ``units``, optional ``list`` (``official`` /
        ``reserve``; all official when absent) and ``reserve_rank``.
    responded : set of str
        Household ids with an entered form.
    units : sequence of str
        Columns identifying a commune (``district, commune`` or ``commune``).
    log : DataFrame, optional
        The distribution log (``household_id``; ``replaces``, ``reason`` when substitutions are recorded).
    sample_path, log_path : path-like, optional
        Named in errors.

    Returns
    -------
    DataFrame
        ``<units>, sample_village, substitute_id, replaces_id, reason, recorded`` (household ids: restricted
        until pseudonymised).

    Raises
    ------
    InputError
        Naming the log's file, 1-based row and column: a ``replaces`` id that is not an official household
        of the sample, a substitute not on the reserve list, a household replaced or replacing twice, or a
        replaced household that answered itself.
    """
    units = list(units)
    hid = sample["household_id"].astype(str).str.strip()
    is_reserve = (sample["list"].astype(str).str.strip().str.lower() == "reserve") if "list" in sample.columns \
        else pd.Series(False, index=sample.index)
    where = {h: i for i, h in enumerate(hid)}
    official = set(hid[~is_reserve])
    reserve = set(hid[is_reserve])
    rows: list[dict[str, object]] = []
    replaced: dict[str, int] = {}
    replacing: dict[str, int] = {}
    if log is not None and "replaces" in log.columns:
        if "household_id" not in log.columns:
            raise InputError("the distribution log records substitutions (column replaces) but has no "
                             "household_id column", file=log_path, row=1, column="household_id")
        for i, (sub, rep) in enumerate(zip(log["household_id"], log["replaces"])):
            if _blank(rep):
                continue
            sub, rep, row = str(sub).strip(), str(rep).strip(), i + 2
            if rep not in official:
                raise InputError(f"{rep!r} is not an official household of the sample list {sample_path}",
                                 file=log_path, row=row, column="replaces")
            if sub not in reserve:
                raise InputError(f"substitute {sub!r} is not on the reserve list of {sample_path}",
                                 file=log_path, row=row, column="household_id")
            if rep in replaced:
                raise InputError(f"household {rep!r} is already replaced on row {replaced[rep]}",
                                 file=log_path, row=row, column="replaces")
            if sub in replacing:
                raise InputError(f"household {sub!r} already replaces another on row {replacing[sub]}",
                                 file=log_path, row=row, column="household_id")
            if rep in responded:
                raise InputError(f"household {rep!r} answered itself, so it cannot be replaced",
                                 file=log_path, row=row, column="replaces")
            replaced[rep], replacing[sub] = row, row
            reason = log["reason"].iat[i] if "reason" in log.columns else ""
            rows.append({"replaces_id": rep, "substitute_id": sub, "reason": "" if _blank(reason) else str(reason),
                         "recorded": True})
    # reserve households that answered without a record: the next non-responding official household
    unpaired = [h for h in hid[is_reserve] if h in responded and h not in replacing]
    if unpaired:
        village = dict(zip(hid, zip(*(sample[c].astype(str) for c in [*units, "sample_village"]))))
        free: dict[tuple[str, ...], list[str]] = {}
        for h in hid[~is_reserve]:
            if h not in responded and h not in replaced:
                free.setdefault(village[h], []).append(h)
        if "reserve_rank" in sample.columns:
            rank = dict(zip(hid, pd.to_numeric(sample["reserve_rank"], errors="coerce").fillna(0)))
            unpaired.sort(key=lambda h: rank.get(h, 0))
        for h in unpaired:
            pool = free.get(village[h]) or []
            if pool:
                rows.append({"replaces_id": pool.pop(0), "substitute_id": h, "reason": "", "recorded": False})
    cols = [*units, *SUBSTITUTION_COLUMNS]
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype="bool" if c == "recorded" else "string") for c in cols})
    out = pd.DataFrame(rows)
    at = [where[r] for r in out["replaces_id"]]
    for c in [*units, "sample_village"]:
        out[c] = sample[c].astype(str).to_numpy()[at]
    out = out.assign(_o=at).sort_values("_o", kind="stable").drop(columns="_o").reset_index(drop=True)
    return out[cols]

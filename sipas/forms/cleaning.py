"""Validation and cleaning of canonical forms as declared rules, with a full audit log.

Each rule in :data:`RULES` is applied in order to the table from :func:`sipas.forms.ingest.read_responses`.
A rule either drops whole forms (they go to ``invalid`` with the rule's name), sets cells to missing,
or only flags forms.  Every dropped form (column ``*``), every changed cell and every flag is a row of
the audit log ``(form_id, column, old, new, rule)``; ``summary`` gives each rule's outcome, including
rules that changed nothing, so a reviewer can see that they ran.

Rules (in order):

``duplicate_form_id``
    A form id seen before: the later form is dropped (the first one keyed is kept).
``outside_sample``
    The respondent key is not among ``sample_keys`` (or blank): dropped.  Skipped when ``sample_keys`` is None.
``duplicate_respondent``
    A respondent (household) already answered on an earlier form: the later form is dropped.
``unit_spelling``
    A form belongs to a sampled household: its district/commune/village are taken from the sample list
    (``sample_units``, by respondent key).  Where the typed name is the same unit written another way --
    without or with another prefix ("Bình Minh" for "Xã Bình Minh"), other case or spacing, Unicode
    composed differently, typed in the VNI or TCVN3 font (:func:`sipas.text.normalize.unit_names_match`)
    -- the sample's spelling replaces it.
``unit_from_sample``
    The typed name is another unit than the sample list's (or blank): the sample's unit replaces it, and the
    audit log shows what was typed (``old``) beside the sample's value (``new``).  Skipped, as the rule above,
    when ``sample_units`` is None.
``interview_date``
    An interview date outside ``date_range`` (e.g. 2035 or 1925 in a 2025 survey, or not a date): set missing.
``respondent_age``
    Respondent younger than the instrument's minimum age (18 in the SIPAS methodology): dropped.
``profile_range``
    Profile answer outside its codes or range: set missing.
``code_range``
    Item answer outside the item scale's codes and missing codes: set missing.
``missing_code``
    "Don't know / no answer" codes (9): set missing, so that they never enter an index.
``skip_logic``
    An item answered although routing skips it (its filter condition is false): set missing.
``required_missing``
    An item that routing asks is blank: counted only (flag), nothing changed.
``straight_lining``
    Every answered index item on a 5-point scale has the same code (at least ``min_straight_items``): flag.
``too_many_missing``
    Share of missing answers among the index items routing asks is above ``max_missing_share``: dropped.
    The methodology counts such forms invalid ("phiếu không hợp lệ"); the 50 % default is a working value
    to be confirmed against the province's guidance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

#: Rules in the order they are applied, with what they do.
RULES: tuple[tuple[str, str], ...] = (
    ("duplicate_form_id", "drop"),
    ("outside_sample", "drop"),
    ("duplicate_respondent", "drop"),
    ("unit_spelling", "set_sample_value"),
    ("unit_from_sample", "set_sample_value"),
    ("interview_date", "set_missing"),
    ("respondent_age", "drop"),
    ("profile_range", "set_missing"),
    ("code_range", "set_missing"),
    ("missing_code", "set_missing"),
    ("skip_logic", "set_missing"),
    ("required_missing", "flag"),
    ("straight_lining", "flag"),
    ("too_many_missing", "drop"),
)
AUDIT_COLUMNS = ("form_id", "column", "old", "new", "rule")


@dataclass(frozen=True)
class CleaningResult:
    """What :func:`clean_forms` returns.

    Attributes
    ----------
    clean : pandas.DataFrame
        Valid forms; missing codes and skipped items as ``<NA>``; item columns nullable integers.
    invalid : pandas.DataFrame
        Dropped forms as they were when dropped, plus a ``rule`` column.
    audit : pandas.DataFrame
        ``form_id, column, old, new, rule``; ``column == "*"`` for a dropped form; for flags ``old == new``.
    summary : pandas.DataFrame
        One row per rule of :data:`RULES`: ``rule, action, forms_affected, cells_changed``.
    """

    clean: pd.DataFrame
    invalid: pd.DataFrame
    audit: pd.DataFrame
    summary: pd.DataFrame


def _s(v: Any) -> Any:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return pd.NA
    if isinstance(v, pd.Timestamp) and v == v.normalize():
        return v.strftime("%Y-%m-%d")  # a date as typed, without a time of day
    return str(v)


def _filter_met(forms: pd.DataFrame, cond: dict[str, Any]) -> pd.Series:
    """Per form: True if asked, False if routed out, <NA> if unknown (filter item missing)."""
    col = forms[cond["item"]].astype("Int64")
    if "equals" in cond:
        met = col == int(cond["equals"])
    elif "in" in cond:
        met = col.isin([int(c) for c in cond["in"]]).astype("boolean")
        met[col.isna()] = pd.NA
    elif "not_equals" in cond:
        met = col != int(cond["not_equals"])
    else:
        raise ValueError(f"unsupported filter condition {cond!r}")
    return met.astype("boolean")


def clean_forms(
    forms: pd.DataFrame,
    *,
    instrument: Any,
    sample_keys: set[str] | None = None,
    sample_units: pd.DataFrame | None = None,
    date_range: tuple[str, str] | None = None,
    max_missing_share: float = 0.5,
    min_straight_items: int = 10,
) -> CleaningResult:
    """Apply the declared rules of :data:`RULES` to canonical forms.

    Parameters
    ----------
    forms : pandas.DataFrame
        Canonical table from :func:`sipas.forms.ingest.read_responses` (not modified).
    instrument : sipas.forms.instrument.Instrument
        The questionnaire the forms follow.
    sample_keys : set of str, optional
        Respondent keys of the sampled households (pseudonyms made with the same salt,
        see :func:`sipas.forms.pii.pseudonyms`).  None skips the ``outside_sample`` rule.
    sample_units : pandas.DataFrame, optional
        ``respondent_key`` and the unit columns of the sample list (``district``, ``commune``, ``village``
        -- those the survey has -- and optionally ``sample_village``: a household drawn from a neighbouring
        village may be entered under its own village or the sampled one), one row per sampled household:
        the ``unit_spelling`` and ``unit_from_sample`` rules.
    date_range : (str, str), optional
        First and last plausible interview date (ISO ``YYYY-MM-DD``): the ``interview_date`` rule.
    max_missing_share : float, default 0.5
        A form whose share of missing answers among the index items asked of it is above this is invalid.
    min_straight_items : int, default 10
        Minimum answered 5-point index items for the straight-lining flag.

    Returns
    -------
    CleaningResult

    Raises
    ------
    ValueError
        If ``max_missing_share`` is not within [0, 1] or a required column is absent.
    """
    if not 0.0 <= float(max_missing_share) <= 1.0:
        raise ValueError(f"max_missing_share must be within [0, 1], got {max_missing_share!r}")
    items = [it["id"] for it in instrument.raw["items"]]
    for c in ("form_id", "respondent_key", *items):
        if c not in forms.columns:
            raise ValueError(f"forms table lacks column {c!r}")
    df = forms.copy().reset_index(drop=True)
    for it in items:
        df[it] = df[it].astype("Int64")
    audit: list[dict[str, Any]] = []
    invalid_parts: list[pd.DataFrame] = []
    stats: dict[str, dict[str, int]] = {r: {"forms_affected": 0, "cells_changed": 0} for r, _ in RULES}

    def drop(mask: pd.Series, rule: str) -> None:
        nonlocal df
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        gone = df[mask].copy()
        gone["rule"] = rule
        invalid_parts.append(gone)
        for fid in gone["form_id"]:
            audit.append({"form_id": _s(fid), "column": "*", "old": "form", "new": pd.NA, "rule": rule})
        stats[rule]["forms_affected"] += int(mask.sum())
        stats[rule]["cells_changed"] += int(mask.sum()) * len(df.columns)
        df = df[~mask].reset_index(drop=True)

    def set_missing(mask: pd.Series, col: str, rule: str, forms_hit: set[str]) -> None:
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        for fid, old in zip(df.loc[mask, "form_id"], df.loc[mask, col]):
            audit.append({"form_id": _s(fid), "column": col, "old": _s(old), "new": pd.NA, "rule": rule})
            forms_hit.add(str(fid))
        stats[rule]["cells_changed"] += int(mask.sum())
        df.loc[mask, col] = pd.NA

    # duplicate form ids
    drop(df["form_id"].duplicated(keep="first") & df["form_id"].notna(), "duplicate_form_id")
    # outside the sample
    if sample_keys is not None:
        keys = {str(k) for k in sample_keys}
        drop(~df["respondent_key"].astype("string").isin(keys).fillna(False).astype(bool), "outside_sample")
    # duplicate respondents
    drop(df["respondent_key"].notna() & df["respondent_key"].duplicated(keep="first"), "duplicate_respondent")

    if sample_units is not None and len(df):
        _units_from_sample(df, sample_units, audit, stats)
    if date_range is not None and "interview_date" in df.columns:
        lo, hi = (pd.Timestamp(d) for d in date_range)
        typed = df["interview_date"]
        when = pd.to_datetime(typed.astype("string"), errors="coerce", format="mixed")
        bad = typed.notna() & (typed.astype("string").str.strip() != "") & ~((when >= lo) & (when <= hi))
        hit_date: set[str] = set()
        set_missing(bad, "interview_date", "interview_date", hit_date)
        stats["interview_date"]["forms_affected"] = len(hit_date)

    # profile: age and coded answers
    profile = {p["id"]: p for p in instrument.raw.get("profile", []) or []}
    min_age = instrument.raw.get("respondent_min_age", profile.get("age", {}).get("min"))
    if "age" in df.columns and min_age is not None:
        drop(df["age"].astype("Float64") < float(min_age), "respondent_age")
    hit: set[str] = set()
    for pid, p in profile.items():
        if pid not in df.columns:
            continue
        col = df[pid]
        if p.get("codes"):
            codes = [int(c) for c in p["codes"]] + [int(c) for c in p.get("missing", []) or []]
            set_missing(col.notna() & ~col.isin(codes), pid, "profile_range", hit)
        elif p.get("type") == "integer":
            lo, hi = p.get("min"), p.get("max")
            bad = pd.Series(False, index=df.index)
            if lo is not None:
                bad |= (col.astype("Float64") < float(lo)).fillna(False).astype(bool)
            if hi is not None:
                bad |= (col.astype("Float64") > float(hi)).fillna(False).astype(bool)
            set_missing(bad, pid, "profile_range", hit)
    stats["profile_range"]["forms_affected"] = len(hit)

    # item codes
    hit_range: set[str] = set()
    hit_missing: set[str] = set()
    for it in items:
        valid = instrument.valid_codes(it)
        miss = instrument.missing_codes(it)
        col = df[it]
        set_missing(col.notna() & ~col.isin(valid + miss), it, "code_range", hit_range)
        set_missing(df[it].notna() & df[it].isin(miss), it, "missing_code", hit_missing)
    stats["code_range"]["forms_affected"] = len(hit_range)
    stats["missing_code"]["forms_affected"] = len(hit_missing)

    # skip logic (filter items are cleaned above, so a 9 on a screening question means "unknown")
    asked: dict[str, pd.Series] = {}
    hit_skip: set[str] = set()
    for it in items:
        cond = instrument.filter_of(it)
        if cond is None:
            asked[it] = pd.Series(True, index=df.index, dtype="boolean")
            continue
        met = _filter_met(df, cond)
        asked[it] = met
        set_missing((met == False).fillna(False) & df[it].notna(), it, "skip_logic", hit_skip)  # noqa: E712
    stats["skip_logic"]["forms_affected"] = len(hit_skip)

    # required answers (flag only)
    req_forms: set[str] = set()
    for it in items:
        m = (asked[it] == True).fillna(False).astype(bool) & df[it].isna()  # noqa: E712
        for fid in df.loc[m, "form_id"]:
            audit.append({"form_id": _s(fid), "column": it, "old": pd.NA, "new": pd.NA, "rule": "required_missing"})
            req_forms.add(str(fid))
    stats["required_missing"]["forms_affected"] = len(req_forms)

    # straight-lining (flag only): all answered 5-point index items identical
    index_items = [it["id"] for it in instrument.raw["items"] if it.get("index")]
    five = [it for it in index_items if len(instrument.valid_codes(it)) >= 5]
    if five:
        block = df[five]
        n = block.notna().sum(axis=1)
        # one distinct answer = the row's smallest and largest answers agree (not DataFrame.nunique(axis=1),
        # which builds a Series per form: a fifth of `sipas clean` at 150k forms)
        same = (block.min(axis=1, skipna=True) == block.max(axis=1, skipna=True)).fillna(False).astype(bool) & (n > 0)
        flag = (n >= int(min_straight_items)) & same
        for fid, val in zip(df.loc[flag, "form_id"], block.loc[flag].bfill(axis=1).iloc[:, 0]):
            audit.append({"form_id": _s(fid), "column": "*", "old": _s(val), "new": _s(val), "rule": "straight_lining"})
        stats["straight_lining"]["forms_affected"] = int(flag.sum())

    # too many missing answers among the index items asked
    if index_items and len(df):
        # Unknown routing (screening question unanswered): the routed items count as asked only when the
        # respondent answered at least one item behind the same filter; otherwise they are treated as not
        # applicable, so an unanswered screening question alone never makes a form invalid.
        item_filter = dict(zip(instrument.items["item"], instrument.items["filter"]))
        by_filter: dict[Any, list[str]] = {}
        for it in items:
            f = item_filter.get(it)
            by_filter.setdefault(None if pd.isna(f) else f, []).append(it)
        answered_any = {f: df[its].notna().any(axis=1) for f, its in by_filter.items() if f is not None}
        filt_of = {it: f for f, its in by_filter.items() for it in its}

        def _asked(it: str) -> pd.Series:
            known = asked[it]
            f = filt_of.get(it)
            if f is None:
                return (known != False).fillna(True).astype(bool)  # noqa: E712
            return known.fillna(answered_any[f]).astype(bool)

        asked_m = pd.DataFrame({it: _asked(it) for it in index_items})
        missing_m = pd.DataFrame({it: df[it].isna() for it in index_items}) & asked_m
        n_asked = asked_m.sum(axis=1)
        share = missing_m.sum(axis=1) / n_asked.where(n_asked > 0)
        drop((share > float(max_missing_share)).fillna(False), "too_many_missing")

    invalid = (pd.concat(invalid_parts, ignore_index=True) if invalid_parts
               else df.iloc[0:0].assign(rule=pd.Series(dtype="string")))
    if invalid_parts:
        invalid["rule"] = invalid["rule"].astype("string")
    audit_df = pd.DataFrame(audit, columns=list(AUDIT_COLUMNS)).astype("string") if audit else pd.DataFrame(
        {c: pd.Series(dtype="string") for c in AUDIT_COLUMNS})
    summary = pd.DataFrame([{"rule": r, "action": a, **stats[r]} for r, a in RULES])
    summary["forms_affected"] = summary["forms_affected"].astype("int64")
    summary["cells_changed"] = summary["cells_changed"].astype("int64")
    return CleaningResult(clean=df, invalid=invalid, audit=audit_df, summary=summary)


def _units_from_sample(df: pd.DataFrame, sample_units: pd.DataFrame, audit: list[dict[str, Any]],
                       stats: dict[str, dict[str, int]]) -> None:
    """Set the unit columns of ``df`` (in place) to the sample list's, auditing every change
    (rules ``unit_spelling`` and ``unit_from_sample``; see the module docstring)."""
    from sipas.text.normalize import unit_names_match

    su = sample_units.drop_duplicates("respondent_key").set_index("respondent_key")
    key = df["respondent_key"].astype("string")
    hit: dict[str, set[str]] = {"unit_spelling": set(), "unit_from_sample": set()}
    for col in su.columns:
        if col not in df.columns or col == "sample_village":
            continue
        want = key.map(su[col].astype("string"))
        typed = df[col].astype("string")
        if col == "village" and "sample_village" in su.columns:
            # a household drawn from a neighbouring village (top-up) may be entered under the sampled village
            alt = key.map(su["sample_village"].astype("string"))
            as_sampled = [not pd.isna(t) and not pd.isna(a) and unit_names_match(str(t), str(a))
                          for t, a in zip(typed, alt)]
            want = want.where(~pd.Series(as_sampled, index=want.index), alt)
        known = want.notna()
        differ = known & (typed.isna() | (typed != want)).fillna(True).astype(bool)
        for i in df.index[differ.to_numpy()]:
            old, new = typed.iat[i], want.iat[i]
            rule = ("unit_spelling" if not pd.isna(old) and unit_names_match(str(old), str(new))
                    else "unit_from_sample")
            audit.append({"form_id": _s(df.at[i, "form_id"]), "column": col, "old": _s(old), "new": _s(new),
                          "rule": rule})
            hit[rule].add(str(df.at[i, "form_id"]))
            stats[rule]["cells_changed"] += 1
        df.loc[differ.to_numpy(), col] = want[differ].to_numpy()
    for rule, forms in hit.items():
        stats[rule]["forms_affected"] = len(forms)

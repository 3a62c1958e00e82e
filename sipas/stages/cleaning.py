"""Stage 1: ingest, personal data split, cleaning with an audit log, fieldwork quality assurance.

Reads only files of earlier stages; writes through :mod:`sipas.io` (atomic, deterministic).

Fieldwork quality assurance (seed 000 §III.1; seed 001 tasks 9-11), each step run when the
survey configuration's ``fieldwork`` section names its file:

``distribution_log``
    Forms distributed and returned per commune (with its district in a three-tier survey: the
    columns of :attr:`sipas.config.Hierarchy.unit_keys`) -> ``response_rates.csv``, with
    ``substituted`` and ``substitution_rate`` (substitutes among the valid forms) when a sample list
    is configured.  Its optional columns ``replaces`` and ``reason`` record substitutions.

The sample list (``sampling.sample_file``) gives every form its units (rules ``unit_spelling`` and
``unit_from_sample`` of :mod:`sipas.forms.cleaning`) and, with the distribution log, the substitutions
(:func:`sipas.sampling.fieldwork.substitutions`) -> ``substitutions.csv`` (units, sampled village,
reason, ``recorded``, and the pseudonymised ``substitute_key`` / ``replaces_key``; no household id).
A reserve household that replaced nobody is outside the sample.
``recheck`` (+ ``recheck_items``, ``recheck_fail_min_items``, ``recheck_age_groups``)
    The recheck (phúc tra) visits of 20% of the returned forms, compared with the form as
    keyed the first time (``data/raw``, not the cleaned data: the recheck judges the
    fieldwork, not the cleaning) -> ``recheck_agreement.csv`` (``item, n, agreement, kappa``,
    ``n_agree``), ``recheck_failed_forms.csv`` and ``recheck_summary.csv``.  An item
    ``age_group`` absent from the forms is derived from their ``age`` with
    :func:`age_groups`.  **Failure rule** (the seed sets none; a working rule to be
    confirmed with the province): a rechecked form fails when at least
    ``recheck_fail_min_items`` (default 2) of the rechecked items disagree, or when the
    household says nobody visited it (``visit_confirmed == 2``, if the recheck file has
    that column).  A blank is a code of its own ("" vs "3" disagrees).
``double_entry``
    A second, independent data entry of a sample of paper forms, compared cell by cell with
    the first entry - both raw, both read as text from ``data/raw`` (never the cleaned data)
    -> ``double_entry_discrepancies.csv`` (``form_id, column, first, second``) and
    ``double_entry_summary.csv`` (``forms_compared, cells_compared, cells_differing``, ...).
    Where the first entry holds a form id twice, its first row is used (as the
    ``duplicate_form_id`` cleaning rule does).

Personal columns (:func:`sipas.forms.ingest.personal_columns`) are dropped from every raw table
before any comparison, so they never reach ``data/processed``.  Personal data typed in any other column of
the forms (a phone number in the village column...) is moved to the restricted file at ingest and listed
in ``audit_log`` (rule ``personal_data_moved``: form id, column and kind -- ``[phone]``, ``[citizen_id]``,
``[email]`` in ``old`` -- never the value); in ``double_entry_discrepancies`` such values are shown as their
kind only.

The stage runs in one :func:`sipas.io.transaction`: all its files (processed and restricted) appear
together, or -- on bad input, a read-only folder or a full disk -- none.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sipas import rawfiles
from sipas.config import SurveyConfig, project_root
from sipas.errors import ConfigError, InputError
from sipas.forms.instrument import load_instrument
from sipas.forms.pii import pseudonyms, redact
from sipas.text import nfc
from sipas.stages._common import (
    StageResult,
    manifest,
    reserve_rows,
    salt,
    sample_list,
    transactional,
    write_tables,
)

#: Rules the ingest adds to the audit log (before the cleaning rules), with what they do.
INGEST_RULES: tuple[tuple[str, str], ...] = (("personal_data_moved", "move_to_restricted"),)

#: Default lower edges of the recheck's age groups (18-29, 30-44, 45-59, 60+).
DEFAULT_AGE_GROUP_EDGES = (18, 30, 45, 60)
#: Default failure rule of a rechecked form: at least this many rechecked items disagree.
DEFAULT_FAIL_MIN_ITEMS = 2


def age_groups(age: pd.Series, *, edges: Sequence[int] = DEFAULT_AGE_GROUP_EDGES) -> pd.Series:
    """Age groups labelled ``"18-29"``, ..., ``"60+"`` from lower edges (blank below the first edge).

    Parameters
    ----------
    age : Series
        Ages in years (numbers or numeric text; blanks allowed).
    edges : sequence of int
        Increasing lower edges; the last group is open (``"60+"``).

    Returns
    -------
    Series
        ``string`` dtype, ``<NA>`` where the age is blank, not a number or below ``edges[0]``.

    Raises
    ------
    ValueError
        If ``edges`` is empty or not strictly increasing.
    """
    e = [int(x) for x in edges]
    if not e or any(b <= a for a, b in zip(e, e[1:])):
        raise ValueError(f"age group edges must be strictly increasing, got {list(edges)!r}")
    labels = [f"{a}-{b - 1}" for a, b in zip(e, e[1:])] + [f"{e[-1]}+"]
    a = pd.to_numeric(pd.Series(age), errors="coerce")
    out = pd.Series(pd.NA, index=a.index, dtype="string")
    for lo, lab in zip(e, labels):
        out[(a >= lo).fillna(False).to_numpy()] = lab
    return out


def audit_summary(audit: pd.DataFrame) -> pd.DataFrame:
    """The audit log summarised by rule and column, for reviewers.

    Parameters
    ----------
    audit : DataFrame
        ``form_id, column, old, new, rule`` (:attr:`sipas.forms.cleaning.CleaningResult.audit`).

    Returns
    -------
    DataFrame
        ``rule, action, column, entries, forms``: rules in the order of
        :data:`sipas.forms.cleaning.RULES`, columns in the order first met; ``column == "*"`` is a
        whole form (dropped or flagged); ``entries`` audit rows, ``forms`` distinct forms.
    """
    from sipas.forms.cleaning import RULES

    cols = ["rule", "action", "column", "entries", "forms"]
    if audit.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("entries", "forms") else "string") for c in cols})
    rules = (*INGEST_RULES, *RULES)
    order = {r: i for i, (r, _a) in enumerate(rules)}
    action = dict(rules)
    g = audit.groupby(["rule", "column"], sort=False, dropna=False)
    out = pd.DataFrame({"entries": g.size(), "forms": g["form_id"].nunique()}).reset_index()
    out["action"] = out["rule"].map(action).fillna("")
    out["_o"] = out["rule"].map(order).fillna(len(order))
    out = out.sort_values("_o", kind="stable").drop(columns="_o").reset_index(drop=True)
    out["entries"] = out["entries"].astype("int64")
    out["forms"] = out["forms"].astype("int64")
    return out[cols]


def _raw_text(path: Path, *, what: str = "file", columns: Sequence[str] = ("form_id",),
              sheets: tuple[str, ...] = ()) -> pd.DataFrame:
    """A raw table read as text, blanks as "" (CSV, or the sheet of an XLSX named first in ``sheets``, else its
    first visible sheet), for cell-by-cell comparison, with ``columns`` required
    (:func:`sipas.rawfiles.read_table`: errors name the file)."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".txt", ".xlsx", ".xlsm"):
        raise InputError(f"only CSV or XLSX can be compared as raw text (got {suffix or 'no suffix'})",
                         file=path)
    df = rawfiles.read_table(path, dtype=str, keep_default_na=False, sheets=sheets).fillna("")
    rawfiles.require_columns(df, list(columns), path, what=what)
    return df


def _first_entry(paths: Sequence[Path], *, drop: Sequence[str]) -> pd.DataFrame:
    """The raw first entry: every response file as text, personal columns dropped, first row per form id."""
    from sipas.forms.ingest import entry_sheet_names

    parts = [_raw_text(p, what="response file", sheets=entry_sheet_names()) for p in paths]
    df = pd.concat(parts, ignore_index=True).fillna("") if parts else pd.DataFrame({"form_id": []})
    if "form_id" not in df.columns:
        raise InputError(f"the response files lack column form_id; have {', '.join(map(str, df.columns))}",
                         column="form_id")
    df = df.drop(columns=[c for c in drop if c in df.columns and c != "form_id"])
    return df[~df["form_id"].duplicated(keep="first")].reset_index(drop=True)


def recheck_outputs(original: pd.DataFrame, recheck: pd.DataFrame, *, items: Sequence[str],
                    fail_min_items: int = DEFAULT_FAIL_MIN_ITEMS,
                    age_group_edges: Sequence[int] = DEFAULT_AGE_GROUP_EDGES) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-item agreement and failed forms of the recheck (phúc tra) visits.

    Parameters
    ----------
    original : DataFrame
        The forms as first keyed (text), ``form_id`` and the rechecked items; ``age``
        stands in for ``age_group`` when the latter is rechecked but not on the form.
    recheck : DataFrame
        ``form_id``, the rechecked items and optionally ``visit_confirmed`` (1 yes, 2 no).
    items : list of str
    fail_min_items : int, default 2
        A form fails when at least this many items disagree (or the visit is denied).
    age_group_edges : sequence of int

    Returns
    -------
    (agreement, failed)
        ``agreement``: ``item, n, agreement, kappa, n_agree`` (proportions, Cohen's kappa).
        ``failed``: ``form_id, items_disagreeing`` (a count), ``share_disagreeing``,
        ``disagreeing_items`` (";"-joined), ``visit_confirmed``, ``reason``.

    Raises
    ------
    InputError
        If a table lacks ``form_id`` or an item, or repeats a form id.
    ValueError
        If ``fail_min_items`` is below 1.
    """
    from sipas.sampling import fieldwork

    if int(fail_min_items) < 1:
        raise ValueError(f"fail_min_items must be at least 1, got {fail_min_items!r}")
    items = list(items)
    orig = original.copy()
    if "age_group" in items and "age_group" not in orig.columns and "age" in orig.columns:
        orig["age_group"] = age_groups(orig["age"], edges=age_group_edges)
    per_item, diff = fieldwork.recheck_agreement(orig, recheck, items=items, min_agreement=1.0)
    agreement = per_item.rename(columns={"pct_agreement": "agreement"})[["item", "n", "agreement", "kappa",
                                                                         "n_agree"]]
    diff = diff.rename(columns={"n_disagree": "items_disagreeing", "items_disagreeing": "disagreeing_items"})
    diff["share_disagreeing"] = diff["items_disagreeing"] / diff["n_items"]
    matched = recheck[recheck["form_id"].isin(set(original["form_id"]))]
    visit = (matched.set_index("form_id")["visit_confirmed"].map(lambda v: str(v).strip())
             if "visit_confirmed" in recheck.columns else pd.Series(dtype=str))
    denied = set(visit.index[visit == "2"])
    allf = pd.DataFrame({"form_id": sorted(set(diff["form_id"]) | denied)})
    f = allf.merge(diff, on="form_id", how="left")
    f["items_disagreeing"] = f["items_disagreeing"].fillna(0).astype("int64")
    f["share_disagreeing"] = f["share_disagreeing"].fillna(0.0)
    f["disagreeing_items"] = f["disagreeing_items"].fillna("")
    f["visit_confirmed"] = f["form_id"].map(visit).fillna("") if len(visit) else ""
    many = f["items_disagreeing"] >= int(fail_min_items)
    no_visit = f["form_id"].isin(denied)
    f["reason"] = [";".join(r for r, on in ((f"items_disagreeing>={int(fail_min_items)}", m),
                                            ("visit_not_confirmed", v)) if on)
                   for m, v in zip(many, no_visit)]
    failed = f[many | no_visit].sort_values("form_id", kind="stable").reset_index(drop=True)
    return agreement, failed[["form_id", "items_disagreeing", "share_disagreeing", "disagreeing_items",
                              "visit_confirmed", "reason"]]


def double_entry_outputs(first: pd.DataFrame, second: pd.DataFrame, *,
                         drop: Sequence[str] = ()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Discrepancies and summary of a double data entry (raw first entry vs raw second entry).

    Parameters
    ----------
    first : DataFrame
        The first entry (every form; one row per ``form_id``), as text.
    second : DataFrame
        The second entry of a sample of forms, as text.
    drop : sequence of str
        Columns never compared (personal data); they are removed before comparing.

    Returns
    -------
    (discrepancies, summary)
        ``discrepancies``: ``form_id, column, first, second`` (``column == "<form missing>"``
        for a second-entry form the first entry lacks).  ``summary`` (one row):
        ``forms_compared, cells_compared, cells_differing, forms_with_discrepancy,
        forms_missing_in_first, columns_compared, cell_error_rate``.
    """
    from sipas.sampling import fieldwork

    dropped = set(drop) - {"form_id"}
    a = first.drop(columns=[c for c in first.columns if c in dropped])
    b = second.drop(columns=[c for c in second.columns if c in dropped])
    cols = [c for c in b.columns if c != "form_id" and c in a.columns]
    ids = set(b["form_id"])
    a = a[a["form_id"].isin(ids)]
    disc = fieldwork.double_entry_discrepancies(a, b, columns=cols)
    cells = disc[disc["column"] != "<form missing>"]
    n_forms = int(b["form_id"].isin(set(a["form_id"])).sum())
    summary = pd.DataFrame([{
        "forms_compared": n_forms, "cells_compared": n_forms * len(cols), "cells_differing": len(cells),
        "forms_with_discrepancy": int(cells["form_id"].nunique()),
        "forms_missing_in_first": int(len(b) - n_forms), "columns_compared": len(cols),
        "cell_error_rate": len(cells) / (n_forms * len(cols)) if n_forms and cols else float("nan"),
    }])
    return disc.reset_index(drop=True), summary


def personal_columns_of(inst: Any) -> list[str]:
    """The instrument's identifier and personal columns (:func:`sipas.forms.ingest.personal_columns`)."""
    from sipas.forms.ingest import personal_columns

    return list(personal_columns(inst))


def _fieldwork_qa(cfg: SurveyConfig, fw: dict[str, Any], *, inst: Any, read: list[Path],
                  tables: dict[str, pd.DataFrame]) -> None:
    """Recheck and double entry (see the module docstring); adds tables, records files read."""
    from sipas.forms.ingest import personal_columns

    personal = [c for c in personal_columns(inst) if c != "form_id"]
    resp_paths = [Path(r) for r in cfg.responses]
    first: pd.DataFrame | None = None
    if fw.get("recheck"):
        items = fw.get("recheck_items")
        if not items:
            raise ConfigError("fieldwork.recheck needs fieldwork.recheck_items (the items the visit re-asks)",
                              key="fieldwork.recheck_items")
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ConfigError(f"must be a list of item ids, got {items!r}", file=cfg.path,
                              key="fieldwork.recheck_items")
        path = cfg.raw_path(fw["recheck"], key="fieldwork.recheck")
        recheck = _raw_text(path, what="recheck file")
        recheck = recheck.drop(columns=[c for c in personal if c in recheck.columns])
        first = _first_entry(resp_paths, drop=personal)
        agreement, failed = recheck_outputs(
            first, recheck, items=items,
            fail_min_items=int(fw.get("recheck_fail_min_items", DEFAULT_FAIL_MIN_ITEMS)),
            age_group_edges=fw.get("recheck_age_groups", DEFAULT_AGE_GROUP_EDGES))
        tables["recheck_agreement"] = agreement
        tables["recheck_failed_forms"] = failed
        n_matched = int(recheck["form_id"].isin(set(first["form_id"])).sum())
        returned = None
        if "response_rates" in tables:
            returned = int(tables["response_rates"]["returned"].iloc[-1])
        tables["recheck_summary"] = pd.DataFrame([{
            "forms_returned": returned if returned is not None else pd.NA,
            "forms_rechecked": len(recheck), "forms_matched": n_matched,
            "recheck_share": len(recheck) / returned if returned else float("nan"),
            "forms_failed": len(failed), "fail_rule_min_items": int(fw.get("recheck_fail_min_items",
                                                                           DEFAULT_FAIL_MIN_ITEMS)),
        }])
        read.append(path)
    if fw.get("double_entry"):
        path = cfg.raw_path(fw["double_entry"], key="fieldwork.double_entry")
        second = _raw_text(path, what="second data entry")
        if first is None:
            first = _first_entry(resp_paths, drop=personal)
        disc, summary = double_entry_outputs(first, second, drop=personal)
        for c in ("first", "second"):  # personal data typed in a compared column is shown as its kind only
            if c in disc.columns:
                disc[c] = [redact(v) for v in disc[c]]
        tables["double_entry_discrepancies"] = disc
        tables["double_entry_summary"] = summary
        read.append(path)


def _transaction_substitutions(cfg: SurveyConfig, fw: dict[str, Any], *, log: pd.DataFrame | None, key_salt: str,
                               read: list[Path]) -> pd.DataFrame | None:
    """The substitution log of a list-mode service-user survey (``fieldwork.substitutions``: unit,
    replaces_id, substitute_id, reason, reserve_position; :func:`sipas.sampling.transaction_substitutions`)
    with the transaction ids replaced by salted pseudonyms (``replaces_key``, ``substitute_key``); the
    substitute's raw id is kept in ``_substitute_id`` for counting and dropped before writing."""
    rel = fw.get("substitutions")
    if not rel:
        return None
    path = cfg.raw_path(rel, key="fieldwork.substitutions")
    subs = rawfiles.read_table(path, dtype=str, keep_default_na=False)
    rawfiles.require_columns(subs, ["unit", "replaces_id", "substitute_id", "reason"], path,
                             what="substitution log")
    if log is None or "transaction_id" not in log.columns:
        raise ConfigError("fieldwork.substitutions needs fieldwork.distribution_log with a transaction_id column "
                          "(which transaction each form was given to)", file=cfg.path, key="fieldwork.substitutions")
    names: dict[str, str] = {}
    if cfg.frames.get("units") is not None:
        from sipas.sampling.transactions import read_unit_frame, unit_name_lookup

        names = unit_name_lookup(read_unit_frame(cfg.frames["units"]))
    ids = pd.concat([subs["replaces_id"], subs["substitute_id"]]).astype(str)
    keys = dict(zip(ids, pseudonyms(ids, salt=key_salt)))
    out = pd.DataFrame({"unit": [names.get(nfc(u.strip()), u) for u in subs["unit"]],
                        "replaces_key": subs["replaces_id"].map(keys),
                        "substitute_key": [keys[v] if v else "" for v in subs["substitute_id"]],
                        "reason": subs["reason"], "_substitute_id": subs["substitute_id"]})
    if "reserve_position" in subs.columns:
        out.insert(4, "reserve_position", subs["reserve_position"])
    read.append(path)
    return out


@transactional
def run_cleaning(cfg: SurveyConfig, *, root: Path | None = None) -> StageResult:
    """Ingest the raw forms, split off personal data, clean by declared rules; fieldwork QA.

    Writes ``forms_clean``, ``forms_invalid``, ``audit_log``, ``audit_summary``,
    ``cleaning_summary``, ``ingest_log`` and, when configured, ``response_rates``,
    ``recheck_agreement``, ``recheck_failed_forms``, ``recheck_summary``,
    ``double_entry_discrepancies`` and ``double_entry_summary`` (CSV) into
    ``data/processed/<survey-id>/``, and the personal data to ``restricted/<survey-id>/``, all in one
    transaction (none of them on failure).

    Raises
    ------
    InputError
        Naming file, row and column of bad raw input (forms, sample list, fieldwork files).
    ConfigError
        Naming the key of survey.yml that is wrong.
    OutputError
        Naming the path that cannot be written (read-only folder, full disk).
    """
    from sipas.forms import cleaning, ingest

    out = cfg.processed_dir(root)
    if not cfg.responses:
        raise ConfigError("no response file yet (responses: []): list the entered forms' files here before "
                          "running the cleaning stage", file=cfg.path, key="responses")
    inst = load_instrument(cfg.instrument_id, cfg.instrument_version)
    key_salt = salt(cfg, root=root)
    res = ingest.read_responses(list(cfg.responses), instrument=inst, salt=key_salt,
                                absent=cfg.design.absent_levels, extra=cfg.design.extra_levels)
    restricted_dir = (root or project_root()) / "restricted" / cfg.survey_id
    ingest.write_restricted(res, restricted_dir=restricted_dir)
    read = list(cfg.responses)

    fw = cfg.extra.get("fieldwork") or {}
    log_rel = fw.get("distribution_log")
    log = log_path = None
    if log_rel:
        log_path = cfg.raw_path(log_rel, key="fieldwork.distribution_log")
        log = rawfiles.read_table(log_path, dtype={"household_id": str, "form_id": str, "replaces": str})
        rawfiles.require_columns(log, ["form_id", *cfg.design.unit_keys, "returned"], log_path,
                                 what="distribution log")
    sample_keys = sample_units = None
    subs = None
    if (cfg.extra.get("sampling") or {}).get("sample_file"):
        from sipas.sampling.fieldwork import substitutions

        sample, sample_path = sample_list(cfg)
        sample["respondent_key"] = pseudonyms(sample["household_id"], salt=key_salt)
        by_key = dict(zip(sample["respondent_key"], sample["household_id"].astype(str).str.strip()))
        responded = {by_key[k] for k in res.forms["respondent_key"].dropna() if k in by_key}
        subs = substitutions(sample, responded=responded, units=cfg.design.unit_keys, log=log,
                             sample_path=sample_path, log_path=log_path)
        in_sample = ~reserve_rows(sample) | sample["household_id"].astype(str).str.strip().isin(
            set(subs["substitute_id"]))
        sample_keys = set(sample.loc[in_sample, "respondent_key"])
        unit_cols = [c for c in (*cfg.design.unit_keys, "village", "sample_village") if c in sample.columns]
        sample_units = sample.loc[in_sample, ["respondent_key", *unit_cols]]
        read.append(sample_path)
        if log is not None and "household_id" in log.columns:
            # the distribution log counts forms per unit: its units come from the sample list too, by household
            # id (a name typed another way there would otherwise be a unit of its own in response_rates.csv)
            ref = sample.assign(_hid=sample["household_id"].astype(str).str.strip()).drop_duplicates("_hid")
            ref = ref.set_index("_hid")
            hid = log["household_id"].astype(str).str.strip()
            known = hid.isin(ref.index)
            for k in cfg.design.unit_keys:
                if k in ref.columns:
                    log[k] = hid.map(ref[k]).where(known, log[k])
    cl = cleaning.clean_forms(res.forms, instrument=inst, sample_keys=sample_keys, sample_units=sample_units,
                              date_range=(f"{cfg.year - 1}-01-01", f"{cfg.year + 1}-12-31"))
    audit = cl.audit
    if len(res.personal):
        moved = pd.DataFrame({"form_id": res.personal["form_id"], "column": res.personal["column"],
                              "old": "[" + res.personal["kind"] + "]", "new": pd.NA,
                              "rule": "personal_data_moved"}).astype("string")
        audit = pd.concat([moved, audit], ignore_index=True)
    tables = {"forms_clean": cl.clean, "forms_invalid": cl.invalid, "audit_log": audit,
              "audit_summary": audit_summary(audit), "cleaning_summary": cl.summary, "ingest_log": res.log}

    if subs is not None:
        ids = pd.concat([subs["substitute_id"], subs["replaces_id"]]).astype(str)
        keys = dict(zip(ids, pseudonyms(ids, salt=key_salt)))
        tables["substitutions"] = subs.assign(
            substitute_key=subs["substitute_id"].map(keys), replaces_key=subs["replaces_id"].map(keys)).drop(
            columns=["substitute_id", "replaces_id"])
    tx_subs = _transaction_substitutions(cfg, fw, log=log, key_salt=key_salt, read=read)
    if tx_subs is not None:
        tables["substitutions"] = tx_subs
    if log is not None:
        from sipas.sampling import fieldwork

        log = log.drop(columns=[c for c in personal_columns_of(inst) if c in log.columns and c != "form_id"])
        log["valid"] = log["form_id"].isin(set(cl.clean["form_id"])).astype(int)
        by = list(cfg.design.unit_keys)
        rr = fieldwork.response_rates(log, by=by)
        valid = fieldwork.response_rates(log, by=by, returned="valid")
        rr = rr.merge(valid[by + ["returned"]].rename(columns={"returned": "valid"}), on=by, how="left")
        rr["valid_rate"] = rr["valid"] / rr["returned"]
        if tx_subs is not None:  # service users: forms of reserve applicants (by transaction id), per unit
            valid_ids = set(cl.clean["form_id"])
            sub_forms = log[log["transaction_id"].astype(str).isin(set(tx_subs["_substitute_id"]))
                            & log["form_id"].isin(valid_ids)]
            n_sub = sub_forms.groupby(by[0], sort=False).size()
            rr["substituted"] = [len(sub_forms) if u == "Total" else int(n_sub.get(u, 0)) for u in rr[by[0]]]
            rr["substitution_rate"] = rr["substituted"] / rr["valid"].where(rr["valid"] > 0)
            tables["substitutions"] = tx_subs.drop(columns=["_substitute_id"])
        if subs is not None:  # substitutes among the valid forms, per unit
            valid_keys = set(cl.clean["respondent_key"])
            used = tables["substitutions"][tables["substitutions"]["substitute_key"].isin(valid_keys)]
            n_sub = used.groupby(by, sort=False).size()
            idx = list(zip(*(rr[c] for c in by)))
            rr["substituted"] = [int(n_sub.get(k if len(by) > 1 else k[0], 0)) if k[0] != "Total"
                                 else len(used) for k in idx]
            rr["substitution_rate"] = rr["substituted"] / rr["valid"].where(rr["valid"] > 0)
        tables["response_rates"] = rr
        read.append(log_path)
    if "substitutions" in tables and "_substitute_id" in tables["substitutions"].columns:
        tables["substitutions"] = tables["substitutions"].drop(columns=["_substitute_id"])
    _fieldwork_qa(cfg, fw, inst=inst, read=read, tables=tables)
    written = write_tables(tables, out)
    # the cleaned forms for researchers: labelled SPSS and Stata files (labels in the report language)
    written.append(ingest.write_sav(cl.clean, out / "forms_clean.sav", instrument=inst, language=cfg.language))
    written.append(ingest.write_dta(cl.clean, out / "forms_clean.dta", instrument=inst, language=cfg.language))
    written.append(manifest(cfg, "cleaning", out, read, written, root))
    return StageResult("cleaning", tables, written, {"restricted_dir": restricted_dir})

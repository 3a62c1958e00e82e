"""Stage 1 (cleaning) fieldwork quality assurance: the recheck (phúc tra) and the double data entry.

On the demo (the ``demo_root`` session run) and on hand-built tables.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import DEMO, DEMO_PREV
from sipas.config import find_survey
from sipas.errors import InputError
from sipas.forms.ingest import personal_columns
from sipas.forms.instrument import load_instrument
from sipas.stages.cleaning import (age_groups, audit_summary, double_entry_outputs, recheck_outputs,
                                   run_cleaning)

QA_FILES = ("recheck_agreement", "recheck_failed_forms", "recheck_summary", "double_entry_discrepancies",
            "double_entry_summary", "audit_summary")
CONTRACT = {
    "recheck_agreement": ["item", "n", "agreement", "kappa"],
    "recheck_failed_forms": ["form_id", "items_disagreeing", "share_disagreeing"],
    "double_entry_discrepancies": ["form_id", "column", "first", "second"],
    "double_entry_summary": ["forms_compared", "cells_compared", "cells_differing"],
}


def _processed(root: Path, sid: str = DEMO) -> Path:
    return root / "data" / "processed" / sid


def _read(root: Path, name: str, sid: str = DEMO) -> pd.DataFrame:
    return pd.read_csv(_processed(root, sid) / f"{name}.csv", dtype={"form_id": str})


# --------------------------------------------------------------------------------------------- the demo

def test_contract_files_and_columns(demo_root):
    for name, cols in CONTRACT.items():
        df = _read(demo_root, name)
        assert list(df.columns[:len(cols)]) == cols, name


def test_recheck_agreement_high_but_not_perfect(demo_root):
    raw = demo_root / "data" / "raw" / DEMO
    recheck = pd.read_csv(raw / "fieldwork" / "recheck.csv", dtype=str)
    ag = _read(demo_root, "recheck_agreement")
    cfg = find_survey(DEMO, root=demo_root)
    assert ag["item"].tolist() == cfg.extra["fieldwork"]["recheck_items"]
    assert (ag["n"] == len(recheck)).all()
    assert (ag["agreement"] > 0.9).all() and (ag["kappa"] > 0.8).all()
    assert (ag["agreement"] < 1).any()
    assert np.allclose(ag["agreement"], ag["n_agree"] / ag["n"])
    # 20% of the returned forms were rechecked (ceil per commune, so a little more)
    s = _read(demo_root, "recheck_summary").iloc[0]
    assert s["forms_rechecked"] == len(recheck) == s["forms_matched"]
    assert 0.2 <= s["recheck_share"] < 0.22


def test_planted_failing_forms_are_found(demo_root):
    raw = demo_root / "data" / "raw" / DEMO
    planted = pd.read_csv(raw / "truth" / "recheck_planted.csv", dtype=str)
    failed = _read(demo_root, "recheck_failed_forms")
    assert len(planted) >= 2
    assert set(planted["form_id"]) <= set(failed["form_id"])
    hit = failed[failed["form_id"].isin(set(planted["form_id"]))]
    assert hit["reason"].str.contains("visit_not_confirmed").all()
    assert (hit["items_disagreeing"] >= 5).all()
    # the documented rule: >= 2 items disagreeing or the visit not confirmed; nothing else fails
    assert ((failed["items_disagreeing"] >= 2) | failed["reason"].str.contains("visit_not_confirmed")).all()
    assert np.allclose(failed["share_disagreeing"], failed["items_disagreeing"] / 8)
    assert len(failed) < 0.1 * _read(demo_root, "recheck_summary").iloc[0]["forms_rechecked"]


@pytest.mark.parametrize("sid", [DEMO, DEMO_PREV])
def test_double_entry_finds_exactly_the_planted_discrepancies(demo_root, sid):
    raw = demo_root / "data" / "raw" / sid
    if not _processed(demo_root, sid).joinpath("double_entry_discrepancies.csv").is_file():
        cfg = find_survey(sid, root=demo_root)
        run_cleaning(cfg, root=demo_root)
    planted = pd.read_csv(raw / "truth" / "double_entry_planted.csv", dtype=str, keep_default_na=False)
    found = pd.read_csv(_processed(demo_root, sid) / "double_entry_discrepancies.csv", dtype=str,
                        keep_default_na=False)
    key = ["form_id", "column", "first", "second"]
    assert sorted(map(tuple, found[key].to_numpy())) == sorted(map(tuple, planted[key].to_numpy()))
    summ = pd.read_csv(_processed(demo_root, sid) / "double_entry_summary.csv").iloc[0]
    second = pd.read_csv(raw / "responses" / "forms_second_entry.csv", dtype=str)
    assert summ["forms_compared"] == len(second)
    assert summ["cells_compared"] == len(second) * (len(second.columns) - 1)
    assert summ["cells_differing"] == len(planted)
    assert summ["forms_with_discrepancy"] == planted["form_id"].nunique()


def test_double_entry_compares_raw_not_cleaned(demo_root):
    # the first entry's out-of-range code 7 is set missing by cleaning; the raw comparison still shows it
    planted = pd.read_csv(demo_root / "data" / "raw" / DEMO / "truth" / "double_entry_planted.csv", dtype=str,
                          keep_default_na=False)
    found = _read(demo_root, "double_entry_discrepancies").astype(str)
    first_faults = planted[planted["entry_at_fault"] == "first"]
    assert (first_faults["first"] == "7").all()
    assert len(first_faults) >= 1 and set(first_faults["form_id"]) <= set(found["form_id"])


def test_outputs_deterministic(demo_root, tmp_path):
    root = tmp_path / "again"
    shutil.copytree(demo_root / "data" / "raw" / DEMO, root / "data" / "raw" / DEMO)
    (root / "pyproject.toml").write_text("# marker\n")
    run_cleaning(find_survey(DEMO, root=root), root=root)
    for name in QA_FILES:
        a = (_processed(demo_root) / f"{name}.csv").read_bytes()
        b = (_processed(root) / f"{name}.csv").read_bytes()
        assert hashlib.sha256(a).digest() == hashlib.sha256(b).digest(), name


def test_no_personal_columns_or_values_in_processed(demo_root):
    inst = load_instrument("household", "2023.1")
    personal = set(personal_columns(inst)) - {"form_id"}
    raw = demo_root / "data" / "raw" / DEMO
    forms = pd.read_csv(raw / "responses" / "forms.csv", dtype=str, keep_default_na=False)
    names = {n for n in forms["respondent_name"] if len(n) >= 6}
    phones = set(forms["phone"])
    for f in sorted(_processed(demo_root).glob("*.csv")):
        cols = set(pd.read_csv(f, nrows=0).columns)
        assert not cols & personal, f"{f.name}: {sorted(cols & personal)}"
        if f.stem in QA_FILES:
            text = f.read_text(encoding="utf-8")
            assert not any(n in text for n in names), f.name
            assert not any(p in text for p in phones), f.name


def test_audit_summary_matches_audit_log(demo_root):
    audit = _read(demo_root, "audit_log")
    summ = _read(demo_root, "audit_summary")
    assert summ["entries"].sum() == len(audit)
    assert list(summ.columns) == ["rule", "action", "column", "entries", "forms"]
    cs = _read(demo_root, "cleaning_summary").set_index("rule")
    dropped = summ[summ["action"] == "drop"].groupby("rule")["forms"].sum()
    for rule, n in dropped.items():
        assert cs.at[rule, "forms_affected"] == n


# --------------------------------------------------------------------------------------------- unit

def test_recheck_failure_rule_is_configurable():
    orig = pd.DataFrame({"form_id": ["a", "b", "c", "d"], "q1": ["1", "2", "3", "4"], "q2": ["1", "1", "", "2"],
                         "age": ["25", "40", "70", ""]})
    rech = pd.DataFrame({"form_id": ["a", "b", "c", "d"], "q1": ["1", "3", "3", "4"], "q2": ["1", "2", "", "2"],
                         "age_group": ["18-29", "30-44", "45-59", ""], "visit_confirmed": ["1", "1", "1", "2"]})
    items = ["q1", "q2", "age_group"]
    ag, failed = recheck_outputs(orig, rech, items=items)
    assert ag["item"].tolist() == items and ag["agreement"].tolist() == [0.75, 0.75, 0.75]
    assert failed["form_id"].tolist() == ["b", "d"]
    assert failed["items_disagreeing"].tolist() == [2, 0]
    assert failed["reason"].tolist() == ["items_disagreeing>=2", "visit_not_confirmed"]
    _, failed1 = recheck_outputs(orig, rech, items=items, fail_min_items=1)
    assert failed1["form_id"].tolist() == ["b", "c", "d"]
    with pytest.raises(ValueError):
        recheck_outputs(orig, rech, items=items, fail_min_items=0)
    with pytest.raises(InputError):
        recheck_outputs(orig, rech, items=["q3"])


def test_age_groups():
    g = age_groups(pd.Series([17, 18, 29, 30, 59, 60, 90, None, "x"]))
    assert g.fillna("").tolist() == ["", "18-29", "18-29", "30-44", "45-59", "60+", "60+", "", ""]
    with pytest.raises(ValueError):
        age_groups(pd.Series([1]), edges=[30, 18])


def test_double_entry_drops_personal_columns():
    first = pd.DataFrame({"form_id": ["a", "b", "c"], "respondent_name": ["X", "Y", "Z"], "q1": ["1", "2", "3"]})
    second = pd.DataFrame({"form_id": ["a", "c", "e"], "respondent_name": ["X!", "Z", "W"], "q1": ["1", "4", "1"]})
    disc, summ = double_entry_outputs(first, second, drop=["respondent_name"])
    assert disc.to_dict("records") == [{"form_id": "c", "column": "q1", "first": "3", "second": "4"},
                                       {"form_id": "e", "column": "<form missing>", "first": "",
                                        "second": "present"}]
    s = summ.iloc[0]
    assert (s["forms_compared"], s["cells_compared"], s["cells_differing"], s["forms_missing_in_first"]) == (
        2, 2, 1, 1)


def test_audit_summary_empty_and_order():
    empty = audit_summary(pd.DataFrame(columns=["form_id", "column", "old", "new", "rule"]))
    assert empty.empty and list(empty.columns) == ["rule", "action", "column", "entries", "forms"]
    audit = pd.DataFrame({"form_id": ["1", "1", "2", "3"], "column": ["q", "q", "q", "*"],
                          "old": ["9", "9", "9", "form"], "new": [None] * 4,
                          "rule": ["missing_code", "missing_code", "missing_code", "duplicate_form_id"]})
    s = audit_summary(audit)
    assert s["rule"].tolist() == ["duplicate_form_id", "missing_code"]
    assert s["entries"].tolist() == [1, 3] and s["forms"].tolist() == [1, 2]


def test_text_codes_with_trailing_zero_decimals_equal_integers():
    # fieldwork._norm fix: "3.0" read as text (Excel) equals "3", as the float 3.0 already did
    first = pd.DataFrame({"form_id": ["a", "b"], "q1": ["3", "2"], "q2": ["10", "x.0"]})
    second = pd.DataFrame({"form_id": ["a", "b"], "q1": ["3.0", "2.5"], "q2": ["10.00", "x"]})
    disc, _ = double_entry_outputs(first, second)
    assert disc[["form_id", "column"]].values.tolist() == [["b", "q1"], ["b", "q2"]]

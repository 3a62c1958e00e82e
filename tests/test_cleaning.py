"""Tests of sipas.forms.cleaning: declared rules, audit log, summary."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sipas.forms.cleaning import RULES, CleaningResult, clean_forms
from sipas.forms.ingest import read_responses
from sipas.forms.instrument import load_instrument
from sipas.forms.pii import pseudonyms

DATA = Path(__file__).parent / "data" / "ingest"


@pytest.fixture(scope="module")
def inst():
    return load_instrument("household", "2023.1")


@pytest.fixture()
def forms(inst):
    return read_responses(DATA / "forms_small.csv", instrument=inst, salt="s").forms


def _keys(salt="s"):
    hh = pd.read_csv(DATA / "households_selected.csv", dtype=str)["household_id"]
    return set(pseudonyms(hh, salt=salt))


def test_clean_basic(inst, forms):
    res = clean_forms(forms, instrument=inst, sample_keys=_keys())
    assert isinstance(res, CleaningResult)
    assert list(res.summary["rule"]) == [r for r, _ in RULES]
    assert list(res.audit.columns) == ["form_id", "column", "old", "new", "rule"]
    # F0012 (HH0012) is not in the sample
    assert list(res.invalid["form_id"]) == ["F0012"]
    assert list(res.invalid["rule"]) == ["outside_sample"]
    assert "F0012" not in set(res.clean["form_id"])
    items = [it["id"] for it in inst.raw["items"]]
    for it in items:
        assert str(res.clean[it].dtype) == "Int64"
        assert not res.clean[it].isin([9]).any()
    # every 9 in the input is audited as missing_code
    n9 = int(sum((forms[it] == 9).sum() for it in items))
    kept9 = int(sum((forms.loc[forms.form_id != "F0012", it] == 9).sum() for it in items))
    assert kept9 > 0 and n9 >= kept9
    row = res.summary.set_index("rule").loc["missing_code"]
    assert row["cells_changed"] == kept9


def test_input_not_modified(inst, forms):
    before = forms.copy()
    clean_forms(forms, instrument=inst)
    pd.testing.assert_frame_equal(forms, before)


def test_rules(inst, forms):
    f = forms.copy()
    f = pd.concat([f, f.iloc[[0]]], ignore_index=True)  # duplicate form id
    dup_resp = f.iloc[[1]].copy()
    dup_resp["form_id"] = "F9999"
    f = pd.concat([f, dup_resp], ignore_index=True)  # duplicate respondent
    f.loc[2, "p1_1a"] = 7  # out of range
    # skip logic: F0003 did not use admin services (q_used_admin == 2) but answers s2_2a
    i3 = f.index[f.form_id == "F0003"][0]
    assert f.loc[i3, "q_used_admin"] == 2
    f.loc[i3, "s2_2a"] = 4
    # straight-liner
    i4 = f.index[f.form_id == "F0005"][0]
    five = [it["id"] for it in inst.raw["items"] if it.get("index") and len(inst.valid_codes(it["id"])) == 5]
    for it in five:
        if pd.notna(f.loc[i4, it]):
            f.loc[i4, it] = 3
    # too many missing
    i6 = f.index[f.form_id == "F0006"][0]
    for it in [it["id"] for it in inst.raw["items"] if it.get("index")]:
        f.loc[i6, it] = pd.NA
    # under age
    i7 = f.index[f.form_id == "F0007"][0]
    f.loc[i7, "age"] = 15
    res = clean_forms(f, instrument=inst)
    inv = dict(zip(res.invalid["form_id"], res.invalid["rule"]))
    assert inv == {"F0001": "duplicate_form_id", "F9999": "duplicate_respondent", "F0006": "too_many_missing",
                   "F0007": "respondent_age"}
    a = res.audit
    assert ((a.form_id == "F0003") & (a.column == "s2_2a") & (a.old == "4") & (a.rule == "skip_logic")).any()
    assert ((a.column == "p1_1a") & (a.old == "7") & (a.rule == "code_range")).any()
    assert ((a.form_id == "F0005") & (a.rule == "straight_lining")).any()
    assert "F0005" in set(res.clean.form_id)  # flagged, not dropped
    clean3 = res.clean.set_index("form_id").loc["F0003"]
    assert pd.isna(clean3["s2_2a"])
    s = res.summary.set_index("rule")
    assert s.loc["duplicate_form_id", "forms_affected"] == 1
    assert s.loc["skip_logic", "cells_changed"] == 1
    # counts of audit rows per changed rule agree with the summary
    for rule in ("code_range", "missing_code", "skip_logic"):
        assert (a.rule == rule).sum() == s.loc[rule, "cells_changed"]
    assert len(res.clean) + len(res.invalid) == len(f)


def test_max_missing_share_bounds(inst, forms):
    with pytest.raises(ValueError):
        clean_forms(forms, instrument=inst, max_missing_share=1.5)


def test_empty_forms(inst, forms):
    res = clean_forms(forms.iloc[0:0], instrument=inst)
    assert res.clean.empty and res.invalid.empty and res.audit.empty
    assert len(res.summary) == len(RULES)


def test_unanswered_screening_question_alone_does_not_invalidate_a_form():
    """A blank screening question with its routed items blank means 'not applicable', not 'missing'."""
    from sipas.forms.cleaning import clean_forms
    from sipas.forms.instrument import load_instrument

    inst = load_instrument("household", "2023.1")
    items = inst.items
    row = {"form_id": "F1", "respondent_key": "k1", "district": "D", "commune": "C", "village": "V"}
    for it, filt in zip(items["item"], items["filter"]):
        row[it] = 4 if (filt is None or filt != filt) else pd.NA
    row["q_used_admin"] = pd.NA  # unanswered screening question; its 16 routed items blank
    forms = pd.DataFrame([row])
    for it in items["item"]:
        forms[it] = forms[it].astype("Int64")
    res = clean_forms(forms, instrument=inst)
    assert len(res.clean) == 1 and res.invalid.empty


def test_straight_lining_is_columnwise(inst, forms, monkeypatch):
    """Straight-lining is found with column operations, never a per-form ``DataFrame.nunique(axis=1)`` (a Series
    per form: a fifth of ``sipas clean`` at 150k forms); the flags are those of "one distinct answer"."""
    f = forms.copy()
    five = [it["id"] for it in inst.raw["items"] if it.get("index") and len(inst.valid_codes(it["id"])) == 5]
    for fid, code in (("F0005", 3), ("F0008", 5)):
        i = f.index[f.form_id == fid][0]
        for it in five:
            if pd.notna(f.loc[i, it]):
                f.loc[i, it] = code
    expected = f[five].nunique(axis=1, dropna=True).eq(1) & f[five].notna().sum(axis=1).ge(10)

    def refuse(*args, **kwargs):
        raise AssertionError("DataFrame.nunique called")

    monkeypatch.setattr(pd.DataFrame, "nunique", refuse)
    res = clean_forms(f, instrument=inst)
    flagged = set(res.audit.loc[res.audit.rule == "straight_lining", "form_id"])
    assert flagged == set(f.loc[expected, "form_id"]) and {"F0005", "F0008"} <= flagged

"""Tests of sipas.forms.ingest: canonical table, personal data split, repair log."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from sipas.errors import InputError
from sipas.forms.ingest import IngestResult, read_responses, write_restricted
from sipas.forms.instrument import load_instrument
from sipas.forms.pii import PrivacyError, pseudonym

DATA = Path(__file__).parent / "data" / "ingest"
FORMS = DATA / "forms_small.csv"
PERSONAL = ("respondent_name", "phone", "address", "household_id")


@pytest.fixture(scope="module")
def inst():
    return load_instrument("household", "2023.1")


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_canonical_table(inst):
    before = _sha(FORMS)
    res = read_responses(FORMS, instrument=inst, salt="pepper")
    assert isinstance(res, IngestResult)
    assert _sha(FORMS) == before
    f = res.forms
    assert len(f) == 12
    assert list(f.columns[:2]) == ["form_id", "respondent_key"]
    for c in PERSONAL:
        assert c not in f.columns
    items = [it["id"] for it in inst.raw["items"]]
    assert list(f.columns[-len(items):]) == items
    for it in items:
        assert str(f[it].dtype) == "Int64"
    assert str(f["age"].dtype) == "Int64"
    assert str(f["interview_date"].dtype).startswith("datetime64")
    assert f.loc[0, "respondent_key"] == pseudonym("HH0001", salt="pepper")
    assert res.log.empty
    assert list(res.log.columns[:6]) == ["file", "row", "column", "old", "new", "rule"]


def test_restricted_split(inst, tmp_path):
    res = read_responses(FORMS, instrument=inst, salt="pepper")
    r = res.restricted
    assert {"respondent_key", "form_id", "respondent_name", "phone", "address", "household_id"} <= set(r.columns)
    assert r.loc[0, "respondent_name"] == "Nguyễn Văn An 0"
    raw = pd.read_csv(FORMS, dtype=str)
    blob = res.forms.astype(str).to_csv()
    for name in raw["respondent_name"]:
        assert name not in blob
    for ph in raw["phone"]:
        assert ph not in blob
    out = write_restricted(res, restricted_dir=tmp_path / "restricted" / "demo")
    assert out.is_file() and (out.parent / ".gitignore").is_file()
    back = pd.read_csv(out, dtype=str)
    assert list(back["phone"]) == list(raw["phone"])


def test_restricted_refuses_processed(inst, tmp_path):
    res = read_responses(FORMS, instrument=inst, salt="pepper")
    with pytest.raises(PrivacyError):
        write_restricted(res, restricted_dir=tmp_path / "data" / "processed" / "demo")


def test_salt_required(inst):
    with pytest.raises(PrivacyError):
        read_responses(FORMS, instrument=inst, salt="")


def test_salt_changes_keys(inst):
    a = read_responses(FORMS, instrument=inst, salt="a").forms["respondent_key"]
    b = read_responses(FORMS, instrument=inst, salt="b").forms["respondent_key"]
    assert (a != b).all()


def test_deterministic(inst):
    a = read_responses(FORMS, instrument=inst, salt="x")
    b = read_responses(FORMS, instrument=inst, salt="x")
    pd.testing.assert_frame_equal(a.forms, b.forms)
    pd.testing.assert_frame_equal(a.restricted, b.restricted)


def test_several_files_concatenate(inst):
    res = read_responses([FORMS, FORMS], instrument=inst, salt="x")
    assert len(res.forms) == 24
    assert len(res.files) == 2


def test_missing_file(inst, tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_responses(tmp_path / "nope.csv", instrument=inst, salt="x")

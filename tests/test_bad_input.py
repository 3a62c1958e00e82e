"""Catalogue of bad inputs: one file each under tests/data/bad_input/ (made by _make.py there).

Every case states the exact error (message, row, column) or the exact repair logged, and checks that the
input file is byte-identical (and its modification time unchanged) after reading it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from sipas.forms.cleaning import clean_forms
from sipas.errors import InputError
from sipas.forms.ingest import read_responses
from sipas.forms.instrument import load_instrument

HERE = Path(__file__).parent / "data" / "bad_input"
BASE = Path(__file__).parent / "data" / "ingest" / "forms_small.csv"
INST = load_instrument("household", "2023.1")

# file -> (message fragment, row, column)
ERRORS: dict[str, tuple[str, int | None, str | None]] = {
    "empty.csv": ("file is empty (0 bytes)", None, None),
    "bom_only.csv": ("file holds no text (only blanks or a byte-order mark)", None, None),
    "header_only.csv": ("no forms: the file has a header row but no data rows", 2, None),
    "missing_item_column.csv": ("required column(s) missing: p1_1a", 1, "p1_1a"),
    "missing_form_id_column.csv": ("required column(s) missing: form_id", 1, "form_id"),
    "duplicate_column.csv": ("column 'p1_1a' appears twice (columns R and BC)", 1, "p1_1a"),
    "blank_form_id.csv": ("form id is blank", 3, "form_id"),
    "formula_in_csv.csv": ("formula '=2+2' instead of a value; paste values only", 2, "p1_1a"),
    "formula_no_cached_value.xlsx": ("formula '=2+2' instead of a value; paste values only", 2, "p1_1a"),
    "tcvn3_name.csv": ("text typed in the legacy TCVN3 (ABC) font encoding", 3, "respondent_name"),
    "tcvn3_village.csv": ("text typed in the legacy TCVN3 (ABC) font encoding", 2, "village"),
    "vni_name.csv": ("text typed in the legacy VNI font encoding", 4, "respondent_name"),
    "row_longer_than_header.csv": ("row has 56 cells but the header has 54", 3, "BC"),
    "blank_header_with_data.csv": ("column without a header holds data", 1, "BC"),
    "binary_data.csv": ("binary data, not a text file (NUL bytes)", None, None),
    "old_excel.xls": ("old Excel .xls format is not supported", None, None),
    "not_really.xlsx": ("not a readable Excel .xlsx workbook (BadZipFile", None, None),
    "responses.json": ("unsupported file type '.json'", None, None),
    "corrupt.sav": ("not a readable SPSS .sav file", None, None),
    "no_header_row.csv": ("no header row with the instrument's columns found in the first 15 rows", 1, "form_id"),
    "unterminated_quote.csv": ("malformed CSV: unexpected end of data", 5, None),
    "mixed_encodings.csv": ("mixed encodings: the file is mostly UTF-8 but byte 1002 (0xd0) is not", 5, None),
}

# file -> (rule, row, column, old, new) of the one expected repair; the forms must equal the clean base
# unless the case lists the changed cell in CHANGED.
REPAIRS: dict[str, list[tuple[str, int | None, str | None, str | None, str | None]]] = {
    "utf8_bom.csv": [("encoding", None, None, "utf-8-sig", "utf-8")],
    "utf16_excel_unicode_text.txt": [("encoding", None, None, "utf-16", "utf-8")],
    "utf16le_no_bom.csv": [("encoding", None, None, "utf-16-le", "utf-8")],
    "cp1258.csv": [("encoding", None, None, "cp1258", "utf-8"), ("unicode_nfc", None, None, "cp1258", "utf-8")],
    "nfd_text.csv": [("unicode_nfc", None, None, "utf-8", "utf-8")],
    "extra_column.csv": [("extra_column_restricted", 1, "ghi_chu", "ghi_chu", None)],
    "renamed_headers.csv": [("rename_column", 1, "Mã phiếu", "Mã phiếu", "form_id"),
                            ("rename_column", 1, "Mã hộ", "Mã hộ", "household_id"),
                            ("rename_column", 1, "Xã", "Xã", "commune"),
                            ("rename_column", 1, "Thôn/bản", "Thôn/bản", "village"),
                            ("rename_column", 1, "Họ và tên", "Họ và tên", "respondent_name"),
                            ("rename_column", 1, "Số điện thoại", "Số điện thoại", "phone")],
    "header_case_spaces.csv": [],
    "merged_title_rows.csv": [("header_rows_skipped", 1, None, "1 row(s)", None)],
    "merged_title_rows.xlsx": [("header_rows_skipped", 1, None, "1 row(s)", None)],
    "formula_cached_value.xlsx": [("formula_value", 2, "p1_1a", "=2+2", "4")],
    "date_in_item_cell.xlsx": [("type", 3, "s2_1a", "2024-04-05T00:00:00", None)],
    "real_dates.xlsx": [],
    "excel_serial_date.csv": [("excel_serial_date", 2, "interview_date", "45552", "2024-09-17 00:00:00")],
    "vietnamese_date_format.csv": [],
    "impossible_date.csv": [("type", 3, "interview_date", "31/02/2024", None)],
    "non_numeric_code.csv": [("type", 2, "p1_1a", "x", None)],
    "decimal_code.csv": [("integer_format", 2, "p1_1a", "4.0", "4")],
    "label_instead_of_code.csv": [("label_to_code", 2, "s2_1a", "Hài lòng", "4"),
                                  ("label_to_code", 3, "s2_1b", "5. Rất hài lòng", "5")],
    "semicolon_delimiter.csv": [],
    "crlf_and_newline_in_cell.csv": [],
    "empty_rows.csv": [("empty_rows_dropped", 3, None, "3 row(s)", None)],
    "blank_household_id.csv": [("missing_respondent_id", 3, "household_id", None, None)],
    "code_out_of_range.csv": [],
    "duplicate_form_id.csv": [],
}
# cells that legitimately differ from the base after the repair: file -> {(form_id, column): value}
CHANGED: dict[str, dict[tuple[int, str], object]] = {
    "date_in_item_cell.xlsx": {(1, "s2_1a"): pd.NA},
    "real_dates.xlsx": {(i, "interview_date"): pd.Timestamp("2024-09-17") for i in range(3)},
    "excel_serial_date.csv": {(0, "interview_date"): pd.Timestamp("2024-09-17")},
    "impossible_date.csv": {(1, "interview_date"): pd.NaT},
    "non_numeric_code.csv": {(0, "p1_1a"): pd.NA},
    "formula_cached_value.xlsx": {(0, "p1_1a"): 4},
    "decimal_code.csv": {(0, "p1_1a"): 4},
    "label_instead_of_code.csv": {(0, "s2_1a"): 4, (1, "s2_1b"): 5},
    "blank_household_id.csv": {(1, "respondent_key"): pd.NA},
    "code_out_of_range.csv": {(0, "p1_1a"): 7},
    "duplicate_form_id.csv": {(2, "form_id"): "F0001"},
}


def _fingerprint(p: Path) -> tuple[str, int]:
    return hashlib.sha256(p.read_bytes()).hexdigest(), os.stat(p).st_mtime_ns


@pytest.fixture(scope="module")
def base() -> pd.DataFrame:
    return read_responses(BASE, instrument=INST, salt="s").forms.head(3).reset_index(drop=True)


def test_catalogue_is_complete():
    files = {p.name for p in HERE.iterdir() if not p.name.startswith("_") and p.is_file()}  # hostile/: own tests
    assert files == set(ERRORS) | set(REPAIRS) | {"too_big_for_limit.csv"}
    assert len(files) >= 30


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_bad_input_error(name, tmp_path):
    src = tmp_path / name
    shutil.copy2(HERE / name, src)
    before = _fingerprint(src)
    msg, row, column = ERRORS[name]
    with pytest.raises(InputError) as ei:
        read_responses(src, instrument=INST, salt="s")
    err = ei.value
    assert msg in str(err)
    assert err.file == str(src)
    assert err.row == row
    assert err.column == column
    assert str(err).startswith(f"file {src}")
    assert _fingerprint(src) == before


def test_too_big(tmp_path):
    src = tmp_path / "too_big_for_limit.csv"
    shutil.copy2(HERE / src.name, src)
    before = _fingerprint(src)
    size = src.stat().st_size
    with pytest.raises(InputError, match=f"file is {size} bytes, more than the limit of 500"):
        read_responses(src, instrument=INST, salt="s", max_bytes=500)
    assert _fingerprint(src) == before


@pytest.mark.parametrize("name", sorted(REPAIRS))
def test_bad_input_repair(name, tmp_path, base):
    src = tmp_path / name
    shutil.copy2(HERE / name, src)
    before = _fingerprint(src)
    res = read_responses(src, instrument=INST, salt="s")
    assert _fingerprint(src) == before
    got = [(r.rule, None if pd.isna(r.row) else int(r.row), None if pd.isna(r.column) else r.column,
            None if pd.isna(r.old) else r.old, None if pd.isna(r.new) else r.new)
           for r in res.log.itertuples()]
    assert sorted(got, key=str) == sorted(REPAIRS[name], key=str)
    assert (res.log["file"] == str(src)).all()
    expected = base.copy()
    for (i, c), v in CHANGED.get(name, {}).items():
        expected.loc[i, c] = v
    pd.testing.assert_frame_equal(res.forms, expected, check_dtype=True)


def test_strict_mode_raises(tmp_path):
    src = tmp_path / "non_numeric_code.csv"
    shutil.copy2(HERE / src.name, src)
    with pytest.raises(InputError) as ei:
        read_responses(src, instrument=INST, salt="s", strict=True)
    assert (ei.value.row, ei.value.column) == (2, "p1_1a")
    assert "not a whole-number code: 'x'" in str(ei.value)


def test_extra_column_goes_to_restricted(tmp_path):
    res = read_responses(HERE / "extra_column.csv", instrument=INST, salt="s")
    assert list(res.restricted["ghi_chu"]) == ["gặp chủ hộ"] * 3
    assert "ghi_chu" not in res.forms.columns


def test_newline_in_cell_kept(tmp_path):
    res = read_responses(HERE / "crlf_and_newline_in_cell.csv", instrument=INST, salt="s")
    assert res.restricted.loc[0, "address"] == "Xóm A,\nBản Hon"


@pytest.mark.parametrize("name,rule,column,old", [
    ("code_out_of_range.csv", "code_range", "p1_1a", "7"),
    ("duplicate_form_id.csv", "duplicate_form_id", "*", "form"),
])
def test_bad_values_caught_by_cleaning(name, rule, column, old):
    forms = read_responses(HERE / name, instrument=INST, salt="s").forms
    res = clean_forms(forms, instrument=INST)
    a = res.audit
    assert ((a.rule == rule) & (a.column == column) & (a.old == old)).sum() == 1

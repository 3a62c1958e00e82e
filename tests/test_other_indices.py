"""Other indices beside SIPAS (issue 17 item 5): the importer, its errors, and Spearman's r with its CI
against R (tests/results/r/other_indices.R)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import REPO
from results.r_refs import load
from sipas.config import load_config
from sipas.errors import ConfigError, InputError
from sipas.indices.other_indices import (
    compare_with_survey,
    load_other_indices,
    read_other_indices,
    spearman_ci,
    unit_key,
)

R = load("other_indices")


@pytest.mark.parametrize("xs, ys, r, ci, level", [
    ("X1", "Y1", "R1", "CI1", 0.95), ("X1", "Y1", "R1", "CI1_90", 0.90), ("X2", "Y2", "R2", "CI2", 0.95),
])
def test_spearman_and_bonett_wright_ci_match_r(xs, ys, r, ci, level):
    s = spearman_ci(R[xs].values, R[ys].values, level=level)
    assert s["n"] == len(R[xs].values)
    np.testing.assert_allclose(s["r"], R[r].values[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose([s["ci_low"], s["ci_high"]], R[ci].values, rtol=0, atol=1e-12)


def test_smallest_sample_with_an_interval_matches_r():
    s = spearman_ci([1, 2, 3, 4], [0.5, 0.6, 0.55, 0.9])
    np.testing.assert_allclose(s["r"], R["R3"].values[0], atol=1e-12)
    np.testing.assert_allclose([s["ci_low"], s["ci_high"]], R["CI3"].values, atol=1e-12)


def test_too_few_or_constant_gives_nan():
    assert np.isnan(spearman_ci([1, 2], [3, 4])["r"])
    three = spearman_ci([1, 2, 3], [3, 1, 2])
    assert not np.isnan(three["r"]) and np.isnan(three["ci_low"])
    assert np.isnan(spearman_ci([1, 1, 1, 1], [1, 2, 3, 4])["r"])
    assert spearman_ci([1, np.nan, 3, 4, 5], [2, 3, np.nan, 5, 1])["n"] == 3


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_long_layout_with_vietnamese_headers_and_decimal_comma(tmp_path):
    p = _write(tmp_path, "par.csv", "Đơn vị,Năm,Chỉ số,Giá trị,Nguồn\n"
               "Tỉnh Điện Biên,2024,PAR INDEX,\"85,5\",Bộ Nội vụ\nLai Châu,2024,PAR INDEX,80%,Bộ Nội vụ\n"
               "Sơn La,2024,PAR INDEX,,Bộ Nội vụ\n")
    t = read_other_indices(p)
    assert list(t.columns) == ["unit", "year", "indicator", "value", "source", "file", "row"]
    assert t["value"].tolist() == [85.5, 80.0]          # the blank value is left out
    assert t["row"].tolist() == [2, 3] and set(t["year"]) == {2024} and set(t["source"]) == {"Bộ Nội vụ"}


def test_wide_layout_xlsx_takes_the_survey_year_and_file_name(tmp_path):
    p = tmp_path / "papi.xlsx"
    pd.DataFrame({"Tỉnh": ["Điện Biên", "Lai Châu"], "PAPI": [42.1, 40.3], "766": [88, 91]}).to_excel(p, index=False)
    t = load_other_indices([p], default_year=2025)
    assert len(t) == 4 and set(t["indicator"]) == {"PAPI", "766"} and set(t["year"]) == {2025}
    assert set(t["source"]) == {"papi.xlsx"}


@pytest.mark.parametrize("text, row, column, words", [
    ("name_of_thing,value\nA,1\n", 1, "name_of_thing", "no unit column"),
    ("unit,indicator,value,year\nA,PAR,1,2024\nB,PAR,abc,2024\n", 3, "value", "not a number: 'abc'"),
    ("unit,indicator,value,year\nA,PAR,1,24\n", 2, "year", "year must be a whole number"),
    ("unit,indicator,value,year\nA,PAR,1,2024\n,PAR,2,2024\n", 3, "unit", "the unit is blank"),
    ("unit,indicator,value,year\nTỉnh A,PAR,1,2024\nA,PAR,2,2024\n", 3, "unit", "given twice (first in"),
    ("unit,indicator,value,year\nA,,1,2024\n", 2, "indicator", "the indicator is blank"),
    ("unit,indicator,value,year\nA,#REF!,1,2024\n", 2, "indicator", "Excel error value"),
    ("unit,year\nA,2024\n", 1, None, "no indicator"),
])
def test_errors_name_file_row_and_column(tmp_path, text, row, column, words):
    p = _write(tmp_path, "bad.csv", text)
    with pytest.raises(InputError) as e:
        read_other_indices(p)
    assert words in str(e.value)
    assert e.value.file == str(p) and e.value.row == row and e.value.column == column


def test_no_year_and_no_default_is_an_error(tmp_path):
    p = _write(tmp_path, "n.csv", "unit,PAR\nA,1\n")
    with pytest.raises(InputError, match="no year column"):
        read_other_indices(p)


def test_same_value_in_two_files_names_the_second(tmp_path):
    a = _write(tmp_path, "a.csv", "unit,year,indicator,value,source\nA,2024,PAR,1,S\n")
    b = _write(tmp_path, "b.csv", "unit,year,indicator,value,source\nA,2024,PAR,2,S\n")
    with pytest.raises(InputError, match=r"first in a\.csv row 2") as e:
        load_other_indices([a, b])
    assert e.value.file == "b.csv" and e.value.row == 2


def test_unit_key_ignores_prefixes_case_and_spaces():
    assert unit_key("Tỉnh  Điện Biên") == unit_key("điện biên") == "điện biên"
    assert unit_key("Thành phố Hà Nội") == unit_key("Hà Nội")
    assert unit_key("Xã") == "xã"       # a name that is only a prefix stays


def test_compare_matches_names_and_lists_the_unmatched():
    other = pd.DataFrame({"unit": ["Tỉnh A", "B", "C", "D", "Tỉnh Z"], "year": 2024, "indicator": "PAR",
                          "value": [1.0, 2.0, 3.0, 5.0, 9.0], "source": "S", "file": "f.csv", "row": range(2, 7)})
    survey = pd.DataFrame({"domain": ["A", "B", "C", "D"], "estimate": [0.5, 0.6, 0.8, 0.7]})
    m, c = compare_with_survey(other, survey)
    assert m["domain"].tolist() == ["A", "B", "C", "D", ""]
    row = c.iloc[0]
    assert row["n"] == 4 and row["n_unmatched"] == 1 and row["unmatched"] == "Tỉnh Z"
    np.testing.assert_allclose(row["r"], 0.8)


def _survey_copy(tmp_path: Path) -> Path:
    d = tmp_path / "demo-laichau-2024"
    shutil.copytree(REPO / "data" / "raw" / "demo-laichau-2024", d, ignore=shutil.ignore_patterns("responses"))
    return d


@pytest.mark.parametrize("value, key, words", [
    ("[../outside.csv]", "other_indices[0]", "outside the survey folder"),
    ("[other.txt]", "other_indices[0]", "must be a .csv or .xlsx"),
    ("{a: 1}", "other_indices", "must be a file or a list of files"),
    ("[missing.csv]", "other_indices[0]", "file of other indices not found"),
])
def test_config_other_indices_paths(tmp_path, value, key, words):
    d = _survey_copy(tmp_path)
    (d / "survey.yml").write_text((d / "survey.yml").read_text(encoding="utf-8") + f"other_indices: {value}\n",
                                  encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(d, needs=("other_indices",))
    assert words in str(e.value) and f"[{key}]" in str(e.value)


def test_config_reads_other_indices(tmp_path):
    d = _survey_copy(tmp_path)
    (d / "x.csv").write_text("unit,PAR\nA,1\n", encoding="utf-8")
    (d / "survey.yml").write_text((d / "survey.yml").read_text(encoding="utf-8") + "other_indices: x.csv\n",
                                  encoding="utf-8")
    cfg = load_config(d, needs=("other_indices",))
    assert cfg.other_indices == ((d / "x.csv").resolve(),)
    assert "other_indices" not in cfg.extra

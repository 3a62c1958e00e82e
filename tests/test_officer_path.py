"""Issue 15, item by item: what a provincial officer meets between an empty folder and the report."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from sipas.cli import main
from sipas.config import load_config
from sipas.errors import ConfigError, InputError
from sipas.forms.cleaning import clean_forms
from sipas.forms.instrument import load_instrument
from sipas.forms.instrument.export import template_columns, xlsform_rows
from sipas.kinds import KINDS
from sipas.rawfiles import refuse_excel_errors
from sipas.sampling.fieldwork import substitutions
from sipas.text.encodings import decode_legacy
from sipas.text.normalize import unit_key, unit_names_match

REPO = Path(__file__).resolve().parent.parent
DEMO25 = REPO / "data" / "raw" / "demo-laichau-2025"


def _survey(tmp_path: Path, edit=None, *, name: str = "demo-laichau-2025") -> Path:
    folder = tmp_path / "data" / "raw" / name
    shutil.copytree(DEMO25, folder)
    (tmp_path / "pyproject.toml").write_text("")
    if edit is not None:
        p = folder / "survey.yml"
        p.write_text(edit(p.read_text(encoding="utf-8")), encoding="utf-8")
    return folder


# 1. commands need only what they read


def test_responses_may_be_empty_and_forms_needs_no_frame(tmp_path, capsys):
    folder = _survey(tmp_path, lambda t: t.replace("responses:\n- responses/forms.csv", "responses: []"))
    assert load_config(folder).responses == ()
    assert main(["--root", str(tmp_path), "clean", "--survey", "demo-laichau-2025"]) == 2
    err = capsys.readouterr().err
    assert "[responses]" in err and "no response file yet" in err and err.count("\n") == 1
    (folder / "frames" / "households.csv").unlink()
    assert main(["--root", str(tmp_path), "forms", "--survey", "demo-laichau-2025"]) == 0


def test_sample_before_the_response_files_exist(tmp_path, capsys):
    folder = _survey(tmp_path)
    (folder / "responses" / "forms.csv").unlink()
    assert main(["--root", str(tmp_path), "check", "--survey", "demo-laichau-2025"]) == 0
    assert "(not there yet)" in capsys.readouterr().out
    assert main(["--root", str(tmp_path), "sample", "--survey", "demo-laichau-2025"]) == 0
    out = capsys.readouterr().out
    assert "sampling.sample_file" in out
    listed = pd.read_csv(tmp_path / "data" / "processed" / "demo-laichau-2025" / "sample" / "sample_households.csv")
    assert "district" not in listed.columns and set(listed["list"]) == {"official", "reserve"}


# 2. two-tier forms


def test_two_tier_forms_have_no_district_nor_thi_tran():
    inst = load_instrument("household", "2024.1")
    kind = KINDS["household"]
    units = {"absent": ("district",), "labels": kind.unit_labels("two_tier")}
    cols = template_columns(inst, language="vi", **units)
    assert "district" not in [c for c, _h, _ in cols]
    assert not any("Huyện" in h or "thị trấn" in h for _c, h, _ in cols)
    survey, _choices, _settings = xlsform_rows(inst, **units)
    assert "district" not in [r.get("name") for r in survey]
    assert not any("thị trấn" in str(v) or "Huyện" in str(v) for r in survey for v in r.values())
    # three-tier keeps its district column
    assert "district" in [c for c, _h, _ in template_columns(inst)]


def test_forms_command_two_tier_template(tmp_path, capsys):
    _survey(tmp_path)
    assert main(["--root", str(tmp_path), "forms", "--survey", "demo-laichau-2025"]) == 0
    capsys.readouterr()
    tpl = next((tmp_path / "reports" / "demo-laichau-2025" / "forms").glob("*.entry-template.xlsx"))
    head = [c.value for c in openpyxl.load_workbook(tpl).worksheets[0][1]]
    assert not any("[district]" in str(h) for h in head) and "Xã/phường/đặc khu [commune]" in head


# 3. substitution


def _sample() -> pd.DataFrame:
    return pd.DataFrame({
        "commune": ["Xã A"] * 6, "village": ["Thôn 1"] * 6, "sample_village": ["Thôn 1"] * 6,
        "household_id": ["H1", "H2", "H3", "R1", "R2", "R3"],
        "list": ["official"] * 3 + ["reserve"] * 3, "reserve_rank": ["", "", "", "1", "2", "3"],
        "pi": [0.1, 0.1, 0.1, None, None, None]})


def test_substitutions_recorded_and_inferred():
    log = pd.DataFrame({"household_id": ["H1", "R2", "H3", "R1"], "replaces": ["", "H2", "", ""],
                        "reason": ["", "refused", "", ""]})
    subs = substitutions(_sample(), responded={"H1", "R2", "R1"}, units=["commune"], log=log)
    assert subs[["substitute_id", "replaces_id", "reason", "recorded"]].values.tolist() == [
        ["R2", "H2", "refused", True], ["R1", "H3", "", False]]


@pytest.mark.parametrize("rows, col, row, text", [
    ({"household_id": ["R1"], "replaces": ["H9"]}, "replaces", 2, "not an official household"),
    ({"household_id": ["H1"], "replaces": ["H2"]}, "household_id", 2, "not on the reserve list"),
    ({"household_id": ["R1", "R2"], "replaces": ["H2", "H2"]}, "replaces", 3, "already replaced on row 2"),
    ({"household_id": ["R1"], "replaces": ["H1"]}, "replaces", 2, "answered itself"),
])
def test_substitution_errors_name_file_row_column(rows, col, row, text):
    with pytest.raises(InputError) as e:
        substitutions(_sample(), responded={"H1", "R1", "R2"}, units=["commune"], log=pd.DataFrame(rows),
                      log_path="fieldwork/distribution.csv")
    msg = str(e.value)
    assert "distribution.csv" in msg and f"row {row}" in msg and f"column '{col}'" in msg and text in msg


# 4. unit names


def test_legacy_fonts_decode():
    assert decode_legacy("Xin chaøo caùc baïn", font="VNI") == "Xin chào các bạn"
    assert decode_legacy("Ñaêk Laêk") == "Đăk Lăk"
    assert decode_legacy("NGUYEÃN VAÊN Ñoàng", font="VNI") == "NGUYỄN VĂN Đồng"
    assert decode_legacy("B¶o Th¾ng") == "Bảo Thắng"
    assert decode_legacy("M\xadêng Kh\xad¬ng", font="TCVN3 (ABC)") == "Mường Khương"
    assert decode_legacy("Bình Minh") == "Bình Minh"


def test_unit_names_match():
    assert unit_key("  xã   Bình  Minh ") == unit_key("Bình Minh")
    assert unit_names_match("Bình Minh", "Phường Bình Minh")
    assert unit_names_match("Xaõ Naäm Taêm", "Xã Nậm Tăm")  # VNI
    assert unit_names_match("X· NËm T¨m", "Xã Nậm Tăm")  # TCVN3
    assert unit_names_match("Xa\u0303 Bi\u0300nh Minh", "Xã Bình Minh")  # decomposed Unicode
    assert not unit_names_match("Xã Bình An", "Xã Bình Minh")


def test_forms_take_their_units_from_the_sample():
    inst = load_instrument("household", "2024.1")
    demo = pd.read_csv(DEMO25 / "responses" / "forms.csv", dtype=str, keep_default_na=False).head(3)
    forms = pd.DataFrame({"form_id": ["F1", "F2", "F3"], "respondent_key": ["k1", "k2", "k3"],
                          "commune": ["Bình Minh", "Xã Khác", pd.NA], "village": ["Thôn 1"] * 3,
                          "interview_date": ["2025-09-01", "2035-01-01", "1925-05-05"]})
    for it in inst.raw["items"]:
        forms[it["id"]] = pd.to_numeric(demo[it["id"]], errors="coerce").astype("Int64").to_numpy()
    units = pd.DataFrame({"respondent_key": ["k1", "k2", "k3"], "commune": ["Phường Bình Minh"] * 3,
                          "village": ["Thôn 1"] * 3})
    res = clean_forms(forms, instrument=inst, sample_units=units, date_range=("2024-01-01", "2026-12-31"))
    a = res.audit
    got = a[a["rule"].isin(["unit_spelling", "unit_from_sample"])][["form_id", "column", "old", "new", "rule"]]
    assert got.fillna("").values.tolist() == [
        ["F1", "commune", "Bình Minh", "Phường Bình Minh", "unit_spelling"],
        ["F2", "commune", "Xã Khác", "Phường Bình Minh", "unit_from_sample"],
        ["F3", "commune", "", "Phường Bình Minh", "unit_from_sample"]]
    assert set(res.clean["commune"]) == {"Phường Bình Minh"}
    assert sorted(a.loc[a["rule"] == "interview_date", "form_id"]) == ["F2", "F3"]


# 9. absurd values


@pytest.mark.parametrize("edit, key", [
    (lambda t: t.replace("households_per_village: 30", "households_per_village: 1e40"),
     "sampling.households_per_village"),
    (lambda t: t.replace("households_per_village: 30", "households_per_village: 0"),
     "sampling.households_per_village"),
    (lambda t: t + "previous_survey: demo-laichau-2025\n", "previous_survey"),
    (lambda t: t.replace("Phường: 2", "Phường: -1"), "sampling.communes.n.Phường"),
])
def test_absurd_config_values_are_refused(tmp_path, edit, key):
    folder = _survey(tmp_path, edit)
    with pytest.raises(ConfigError) as e:
        load_config(folder)
    assert f"[{key}]" in str(e.value)


def test_duplicate_key_names_key_and_line(tmp_path):
    folder = _survey(tmp_path, lambda t: t + "seed: 1\n")
    with pytest.raises(ConfigError) as e:
        load_config(folder)
    msg = str(e.value)
    assert "'seed' written twice" in msg and "line" in msg


def test_more_wards_than_exist(tmp_path, capsys):
    _survey(tmp_path, lambda t: t.replace("Phường: 2", "Phường: 5"))
    assert main(["--root", str(tmp_path), "sample", "--survey", "demo-laichau-2025"]) == 2
    err = capsys.readouterr().err
    assert "[sampling.communes.n.Phường]" in err and "asks 5" in err and "has 4" in err


@pytest.mark.parametrize("value", ["#REF!", "#N/A", " #value! "])
def test_excel_error_values_refused(value):
    df = pd.DataFrame({"commune": ["Xã A", value], "households": ["1", "2"]})
    with pytest.raises(InputError) as e:
        refuse_excel_errors(df, "frames/communes.csv")
    assert "row 3" in str(e.value) and "column 'commune'" in str(e.value)

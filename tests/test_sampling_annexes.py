"""Annexes round-trip through openpyxl and equal the CSVs; draw_sample end to end on a hand-built survey;
frames are read from CSV and XLSX with typed errors."""

from __future__ import annotations

import time
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sipas.sampling import frames as F
from sipas import sampling as S
from sipas.config import load_config
from sipas.errors import ConfigError, InputError


def build_survey(root: Path, *, structure: str = "three_tier", extra: str = "") -> Path:
    """A small hand-built province: 2 districts, 4-5 communes each, 4-6 villages each, 20-60 households."""
    rng = np.random.default_rng(0)
    base = root / "data" / "raw" / "test-survey"
    (base / "frames").mkdir(parents=True)
    (base / "responses").mkdir()
    (base / "restricted").mkdir()
    C, V, H = [], [], []
    specs = [("Huyện Ư", ["Thị trấn Ư", "Xã Ăn", "Xã Ân", "Xã Bê", "Xã Đa", "Xã Ê", "Xã Ư"]),
             ("Huyện Ă", ["Thị trấn Ă", "Xã Ơ", "Xã Ô", "Xã O"])]
    for d, names in specs:
        for k, c in enumerate(names):
            C.append({"district": d, "commune": unicodedata.normalize("NFD", c),
                      "commune_class": "II" if k == 0 else ("I" if k % 2 else "II"),
                      "commune_type": "thị trấn" if k == 0 else "xã", "is_admin_centre": int(k == 0)})
            nv = 4 + k % 3
            for j in range(nv):
                v = f"Tổ dân phố số {j + 1}" if k == 0 else f"Bản {chr(65 + j)}"
                n = int(rng.integers(20, 60))
                V.append({"district": d, "commune": c, "village": v, "has_commune_hq": int(j == 1),
                          "households": n, "neighbour_order": j + 1})
                for i in range(n):
                    H.append({"district": d, "commune": c, "village": v, "hamlet": f"Xóm {i % 3}",
                              "household_id": f"{d[-1]}{k}{j}-{i:03d}"})
    com = pd.DataFrame(C)
    if structure == "two_tier":
        com = com.drop(columns="district")
        V = [{k: v for k, v in r.items() if k != "district"} for r in V]
        H = [{k: v for k, v in r.items() if k != "district"} for r in H]
    com.to_csv(base / "frames" / "communes.csv", index=False)
    with pd.ExcelWriter(base / "frames" / "villages.xlsx") as xw:
        pd.DataFrame(V).to_excel(xw, index=False)
    hh = pd.DataFrame(H)
    hh.to_csv(base / "frames" / "households.csv", index=False)
    pd.DataFrame({"household_id": hh["household_id"], "head_name": "Lò Văn Páo", "phone": "0912345678",
                  "address": "Bản A"}).to_csv(base / "restricted" / "contacts.csv", index=False)
    (base / "responses" / "forms.csv").write_text("form_id\n1\n", encoding="utf-8")
    (base / "survey.yml").write_text(f"""survey_id: test-survey
province: {{vi: "Tỉnh Thử"}}
year: 2024
structure: {structure}
instrument: {{id: household, version: "2023.1"}}
frames: {{communes: frames/communes.csv, villages: frames/villages.xlsx, households: frames/households.csv}}
responses: [responses/forms.csv]
seed: 11
language: vi
restricted: {{contacts: restricted/contacts.csv}}
{extra}""", encoding="utf-8")
    (root / "pyproject.toml").write_text("", encoding="utf-8")
    return base


@pytest.fixture()
def survey(tmp_path, monkeypatch):
    monkeypatch.setenv("SIPAS_ROOT", str(tmp_path))
    base = build_survey(tmp_path, extra="sampling: {households_per_village: 30, also_last_districts: [Huyện Ư]}\n")
    return tmp_path, load_config(base)


def run(root: Path, cfg) -> S.SampleResult:
    return S.draw_sample(cfg, restricted_dir=root / "restricted" / cfg.survey_id,
                         out_dir=root / "data" / "processed" / cfg.survey_id / "sample")


def _cell(v: object) -> str:
    """One cell as comparable text.

    Numbers are compared to 16 significant digits: openpyxl writes floats with ``"%.16g"``
    (openpyxl/compat/strings.py) while the CSV keeps 17 (sipas.io.FLOAT_FORMAT).
    """
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, bool):
        return str(v)
    try:
        return "%.16g" % float(v)
    except (TypeError, ValueError):
        return str(v)


def _same(xlsx: Path, csv: Path) -> None:
    x = S.read_annex_xlsx(xlsx)
    c = pd.read_csv(csv, dtype=str, keep_default_na=False)
    assert list(x.columns) == list(c.columns) and len(x) == len(c)
    pd.testing.assert_frame_equal(x.map(_cell), c.map(_cell))


def test_draw_sample_writes_annexes_that_round_trip_and_equal_the_csvs(survey):
    root, cfg = survey
    r = run(root, cfg)
    # Huyện Ư takes 5 communes (also_last), Huyện Ă 3; 3 villages each; 30 households each
    assert r.communes.groupby("district").size().to_dict() == {"Huyện Ă": 3, "Huyện Ư": 5}
    assert len(r.villages) == 24
    off = r.households[r.households["list"] == "official"]
    assert len(off) == 24 * 30 and (r.allocation["forms"].sum() == 720)
    for x, c in zip(r.files[0:6:2], r.files[1:6:2]):
        _same(x, c)
    _same(*r.restricted_files)
    a1 = S.read_annex_xlsx(r.files[0])
    assert a1.columns[0] == "STT" and "Lý do chọn" in a1.columns
    assert all(unicodedata.is_normalized("NFC", str(v)) for v in a1["Tên đơn vị hành chính cấp xã"])
    # Huyện Ă: class I list = O, Ơ (Vietnamese order O < Ô < Ơ), then class II = Thị trấn Ă (centre), Ô
    first = a1[a1["Huyện, thị xã, thành phố"] == "Huyện Ă"]["Tên đơn vị hành chính cấp xã"].tolist()
    assert first == ["Xã O", "Xã Ơ", "Thị trấn Ă", "Xã Ô"]
    assert a1["Huyện, thị xã, thành phố"].drop_duplicates().tolist() == ["Huyện Ă", "Huyện Ư"]


def test_restricted_annex_only_under_restricted_and_no_names_elsewhere(survey):
    root, cfg = survey
    r = run(root, cfg)
    a3 = pd.read_csv(r.restricted_files[1], dtype=str)
    assert (a3["Họ và tên chủ hộ"] == "Lò Văn Páo").all()
    assert set(a3["Danh sách"]) == {"Chính thức", "Dự phòng"}
    assert all(root / "restricted" in p.parents for p in r.restricted_files)
    for p in r.files:
        assert "restricted" not in p.parts
        if p.suffix == ".csv":
            text = p.read_text(encoding="utf-8")
            assert "Lò Văn Páo" not in text and "0912345678" not in text
    for bad in (root / "data" / "processed" / "x", root / "reports" / "x"):
        with pytest.raises(ConfigError):
            S.draw_sample(cfg, restricted_dir=bad, out_dir=root / "out")


def test_same_seed_same_files_byte_for_byte(survey, tmp_path_factory):
    root, cfg = survey
    r1 = run(root, cfg)
    first = {p.name: p.read_bytes() for p in r1.files + r1.restricted_files}
    r2 = run(root, cfg)
    assert {p.name: p.read_bytes() for p in r2.files + r2.restricted_files} == first


def test_two_tier_survey_with_stratified_pps(tmp_path, monkeypatch):
    monkeypatch.setenv("SIPAS_ROOT", str(tmp_path))
    extra = ("sampling:\n  communes: {design: pps_systematic, strata: commune_type, n: {xã: 3, thị trấn: 1},"
             " size: households}\n")
    base = build_survey(tmp_path, structure="two_tier", extra=extra)
    # a 2-tier frame has unique commune names without districts
    cfg = load_config(base)
    com = pd.read_csv(base / "frames" / "communes.csv")
    hh_counts = pd.read_excel(base / "frames" / "villages.xlsx").groupby("commune")["households"].sum()
    com["households"] = [hh_counts[unicodedata.normalize("NFC", c)] for c in com["commune"]]
    com.to_csv(base / "frames" / "communes.csv", index=False)
    r = run(tmp_path, cfg)
    assert (r.communes["district"] == "").all() and len(r.communes) == 4
    assert r.communes["pi_commune"].between(0, 1).all()
    assert "Huyện, thị xã, thành phố" not in S.read_annex_xlsx(r.files[0]).columns
    off = r.households[r.households["list"] == "official"]
    assert np.allclose(off["pi"], off["pi_commune"] * off["pi_village"] * off["pi_household"])


def test_two_tier_without_design_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SIPAS_ROOT", str(tmp_path))
    cfg = load_config(build_survey(tmp_path, structure="two_tier"))
    with pytest.raises(ConfigError, match="two_tier"):
        run(tmp_path, cfg)


def test_annexes_are_written_in_the_survey_language(tmp_path, monkeypatch):
    """The annexes' words are data (labels.annexes of report_text.yml), in the survey's language; the units keep
    the names the frames give them."""
    from openpyxl import load_workbook

    from sipas.text.labels import label_set

    monkeypatch.setenv("SIPAS_ROOT", str(tmp_path))
    base = build_survey(tmp_path, extra="sampling: {households_per_village: 30}\n")
    yml = base / "survey.yml"
    yml.write_text(yml.read_text(encoding="utf-8").replace("language: vi", "language: en"), encoding="utf-8")
    r = run(tmp_path, load_config(base))
    en = label_set("annexes", lang="en")
    col = en["columns"]
    a1 = S.read_annex_xlsx(r.files[0])
    assert list(a1.columns) == [col[k] for k in ("number", "district", "commune_class", "position", "commune_name",
                                                 "admin_centre", "households", "selected", "reason", "probability")]
    assert set(a1[col["reason"]].dropna()) - {""} <= set(en["reasons"].values())   # every reason worded, not a code
    assert "Thị trấn Ă" in set(a1[col["commune_name"]])
    ws = load_workbook(r.files[0]).worksheets[0]
    assert ws.title == "Annex 01"
    assert [ws.cell(i, 1).value for i in (1, 2, 3)] == ["ANNEX 01", en["titles"]["01"],
                                                        "Tỉnh Thử - year 2024 - random seed 11"]
    a3 = pd.read_csv(r.restricted_files[1], dtype=str, keep_default_na=False)
    assert set(a3[col["list"]]) == {en["lists"]["official"], en["lists"]["reserve"]}
    assert (a3[col["head_name"]] == "Lò Văn Páo").all()
    a4 = pd.read_csv(r.files[5], dtype=str, keep_default_na=False)
    assert a4.iloc[-1, 1] == en["total"]


def test_annex_xlsx_is_deterministic_and_printable():
    t = pd.DataFrame({"STT": [1, 2], "Tên": ["Xã Ăn", "Xã Ơ"], "Xác suất chọn": [0.25, None]})
    a = S.annex_xlsx_bytes(t, number="01")
    time.sleep(1.1)  # openpyxl stamps the save time; it must not reach the bytes
    assert a == S.annex_xlsx_bytes(t, number="01")


def test_frames_errors_name_file_row_and_column(tmp_path):
    p = tmp_path / "villages.csv"
    p.write_text("district,commune,village,has_commune_hq,households\nH,X,Bản A,1,30\nH,X,Bản B,maybe,20\n",
                 encoding="utf-8")
    with pytest.raises(InputError) as ei:
        F.read_frame(p, kind="villages")
    assert ei.value.file == str(p) and ei.value.row == 3 and ei.value.column == "has_commune_hq"
    p.write_text("district,commune,village,has_commune_hq,households\nH,X,Bản A,1,-3\n", encoding="utf-8")
    with pytest.raises(InputError, match="households"):
        F.read_frame(p, kind="villages")
    p.write_text("district,commune,village\nH,X,A\n", encoding="utf-8")
    with pytest.raises(InputError, match="has_commune_hq"):
        F.read_frame(p, kind="villages")
    with pytest.raises(InputError, match="unsupported"):
        F.read_frame(tmp_path / "x.txt", kind="villages")


def test_frame_reader_normalises_nfd_and_reads_xlsx(tmp_path):
    df = pd.DataFrame({"district": [unicodedata.normalize("NFD", "Huyện Sìn Hồ")], "commune": ["Xã Tả Ngảo"],
                       "commune_class": ["I"], "is_admin_centre": ["có"]})
    df.to_excel(tmp_path / "c.xlsx", index=False)
    out = F.read_frame(tmp_path / "c.xlsx", kind="communes")
    assert out["district"].iloc[0] == "Huyện Sìn Hồ" and out["is_admin_centre"].iloc[0] is np.True_


def test_real_2025_commune_frame_from_vietnam_provinces():
    df = F.communes_2025("Tỉnh Lai Châu")
    assert len(df) == 38 and set(df["commune_type"]) <= {"xã", "phường", "đặc khu"}
    assert list(df["commune"]) == S.vi_sorted(df["commune"])
    with pytest.raises(InputError, match="known"):
        F.communes_2025("Tỉnh Không Có")

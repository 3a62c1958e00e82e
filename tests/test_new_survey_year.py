"""README's "A new survey-year", walked from an empty folder (issue 15).

A hand-made two-tier province (two wards and three communes, three villages each, 20 households per
village): ``check``, ``sample`` and ``forms`` before any response file exists; then the sample list is
copied into the survey folder, forms are entered (three refusals replaced by reserve households, two of
them recorded in the distribution log; unit names typed without their prefix, in the VNI font and
wrong; an interview date in 2035) and the stages run: ``clean``, ``reliability``, ``weight``,
``indices``.  No traceback; every problem is reported once, with form id and column (or file, row and
column).  Then an entered form is edited after ``clean``: ``weight`` stops, naming the file and the stage
to rerun.  Last, ``sipas report`` (as ``make report`` runs it) renders the report, whose design paragraph
follows the config.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pandas as pd
import pytest

from sipas.cli import main

REPO = Path(__file__).resolve().parent.parent
SID = "tinh-thu-2026"
COMMUNES = (("Phường Bình Minh", "Phường"), ("Phường Tân Phong", "Phường"), ("Xã Nậm Tăm", "Xã"),
            ("Xã Tà Hừa", "Xã"), ("Xã Pa Ủ", "Xã"))
SURVEY_YML = """\
survey_id: tinh-thu-2026
province: {vi: Tỉnh Thử, en: Test province}
year: 2026
instrument: {id: household, version: "2024.1"}
structure: two_tier
frames: {communes: frames/communes.csv, villages: frames/villages.csv, households: frames/households.csv}
responses: []
seed: 20260901
language: vi
min_cell_size: 5
sampling:
  households_per_village: 8
  communes: {design: pps_systematic, strata: commune_type, n: {Phường: 2, Xã: 2}, size: households}
  villages: {design: pps_systematic, n: 2, size: households}
"""


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def _frames(folder: Path) -> None:
    _write_csv(folder / "frames" / "communes.csv",
               ["commune", "commune_type", "commune_class", "is_admin_centre", "households"],
               [[c, t, "II", int(i == 0), 60] for i, (c, t) in enumerate(COMMUNES)])
    _write_csv(folder / "frames" / "villages.csv", ["commune", "village", "has_commune_hq", "households"],
               [[c, f"Thôn {v}", int(v == 1), 20] for c, _ in COMMUNES for v in (1, 2, 3)])
    rows, n = [], 0
    for c, _ in COMMUNES:
        for v in (1, 2, 3):
            for _h in range(20):
                n += 1
                rows.append([c, f"Thôn {v}", "Xóm A", f"H{n:04d}", f"Người {n}"])
    _write_csv(folder / "frames" / "households.csv", ["commune", "village", "hamlet", "household_id", "head_name"],
               rows)


def _run(root: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(["--root", str(root), *argv, "--survey", SID])
    cap = capsys.readouterr()
    assert "Traceback" not in cap.out + cap.err
    return rc, cap.out, cap.err


def _answers() -> pd.DataFrame:
    """Answer columns of real-looking forms: the two-tier demo's first forms (synthetic)."""
    demo = pd.read_csv(REPO / "data" / "raw" / "demo-laichau-2025" / "responses" / "forms.csv", dtype=str,
                       keep_default_na=False)
    return demo.drop(columns=["form_id", "household_id", "commune", "village", "interview_date",
                              "respondent_name", "phone", "address"])


@pytest.mark.slow
def test_new_survey_year_walkthrough(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path
    (root / "pyproject.toml").write_text("")
    monkeypatch.setenv("SIPAS_ROOT", str(root))
    folder = root / "data" / "raw" / SID
    _frames(folder)
    (folder / "survey.yml").write_text(SURVEY_YML, encoding="utf-8")

    # 1. before any answer: check, sample, forms
    rc, out, _ = _run(root, capsys, "check")
    assert rc == 0 and "responses: none yet" in out
    rc, out, _ = _run(root, capsys, "sample")
    assert rc == 0 and "4 communes, 8 villages, 64 households (+ 64 reserve)" in out
    rc, out, _ = _run(root, capsys, "forms")
    assert rc == 0 and "entry-template.xlsx" in out
    rc, _, err = _run(root, capsys, "clean")
    assert rc == 2 and "[responses]" in err and err.count("\n") == 1

    # 2. the sample list goes into the survey folder
    listed = root / "data" / "processed" / SID / "sample" / "sample_households.csv"
    (folder / "sample").mkdir()
    shutil.copy(listed, folder / "sample" / "households_selected.csv")
    sample = pd.read_csv(folder / "sample" / "households_selected.csv", dtype=str, keep_default_na=False)
    assert "district" not in sample.columns and set(sample["list"]) == {"official", "reserve"}
    official = sample[sample["list"] == "official"].reset_index(drop=True)
    reserve = sample[sample["list"] == "reserve"].reset_index(drop=True)

    # 3. fieldwork: three official households refuse; reserves of the same village answer instead
    refused = [official.index[0], official.index[9], official.index[20]]
    subs = {}
    for i in refused:
        v = official.loc[i, "sample_village"], official.loc[i, "commune"]
        cand = reserve[(reserve["sample_village"] == v[0]) & (reserve["commune"] == v[1])]
        subs[official.loc[i, "household_id"]] = cand.iloc[0]["household_id"]
    answers = _answers()
    forms, log = [], []
    n, vni, vni_form = 0, "", ""
    for i, row in official.iterrows():
        hid, commune, village = row["household_id"], row["commune"], row["village"]
        recorded = i != refused[2]
        if hid in subs:
            log.append([f"2026-R{i:03d}", hid, commune, village, 0, "", "", ""])
            sub = reserve.set_index("household_id").loc[subs[hid]]
            hid, village = subs[hid], sub["village"]
        n += 1
        typed = commune
        if n == 2:
            typed = commune.split(" ", 1)[1]  # the prefix left out
        elif n == 12:
            typed = commune.upper()
        elif commune == "Xã Nậm Tăm" and not vni:
            typed = vni = "Xaõ Naäm Taêm"  # typed in the VNI font
            vni_form = f"2026-{n:04d}"
        elif n == 30:
            typed = "Xã Khác"  # another unit
        fid = f"2026-{n:04d}"
        date = "2035-09-20" if n == 5 else "2026-09-20"
        forms.append({"form_id": fid, "household_id": hid, "commune": typed, "village": village,
                      "interview_date": date, "respondent_name": f"Người {hid}", "phone": "", "address": "",
                      **answers.iloc[n % len(answers)].to_dict()})
        is_sub = hid not in set(official["household_id"])
        log.append([fid, hid, commune, village, 1,
                    (row["household_id"] if is_sub and recorded else ""),
                    ("từ chối" if is_sub and recorded else ""), "2026-09-20"])
    (folder / "responses").mkdir()
    pd.DataFrame(forms).to_csv(folder / "responses" / "forms.csv", index=False)
    _write_csv(folder / "fieldwork" / "distribution.csv",
               ["form_id", "household_id", "commune", "village", "returned", "replaces", "reason", "returned_date"],
               log)
    text = SURVEY_YML.replace("responses: []", "responses: [responses/forms.csv]")
    text += ("  sample_file: sample/households_selected.csv\n"
             "fieldwork: {distribution_log: fieldwork/distribution.csv}\n"
             "weighting: {nonresponse_cells: [commune]}\n")
    (folder / "survey.yml").write_text(text, encoding="utf-8")

    # 4. the stages
    for cmd in ("check", "clean", "reliability", "weight", "indices"):
        rc, out, err = _run(root, capsys, cmd)
        assert rc == 0, (cmd, err)
    proc = root / "data" / "processed" / SID
    audit = pd.read_csv(proc / "audit_log.csv", dtype=str, keep_default_na=False)
    unit = audit[audit["rule"].isin(["unit_spelling", "unit_from_sample"])]
    assert unit.groupby(["form_id", "column"]).size().max() == 1  # every problem once
    rules = dict(zip(unit["form_id"], unit["rule"]))
    assert rules["2026-0002"] == "unit_spelling" and rules["2026-0012"] == "unit_spelling"
    assert rules[vni_form] == "unit_spelling"
    assert rules["2026-0030"] == "unit_from_sample"
    assert unit.loc[unit["form_id"] == "2026-0030", "old"].item() == "Xã Khác"
    dates = audit[audit["rule"] == "interview_date"]
    assert dates[["form_id", "old"]].values.tolist() == [["2026-0005", "2035-09-20"]]
    clean = pd.read_csv(proc / "forms_clean.csv", dtype=str)
    invalid = pd.read_csv(proc / "forms_invalid.csv", dtype=str)
    assert set(clean["commune"]) <= set(official["commune"]) and len(clean) + len(invalid) == 64
    assert "outside_sample" not in set(invalid["rule"])

    substitutions = pd.read_csv(proc / "substitutions.csv", keep_default_na=False)
    assert len(substitutions) == 3 and substitutions["recorded"].tolist().count(True) == 2
    assert "household_id" not in substitutions.columns and not any(
        h in (proc / "substitutions.csv").read_text(encoding="utf-8") for h in sample["household_id"])
    rates = pd.read_csv(proc / "response_rates.csv")
    assert int(rates.loc[rates["commune"] == "Total", "substituted"].item()) == 3
    weights = pd.read_csv(proc / "weights.csv")
    assert weights["w_final"].notna().all() and len(weights) == len(clean)
    assert abs(weights["w_final"].sum() - 300) < 1e-6  # post-stratified to the frame's households
    indices = pd.read_csv(proc / "indices.csv")
    assert set(indices.loc[indices["domain_type"] == "commune", "domain"]) == set(official["commune"])

    # 5. an entered form edited after `clean`: the later stages stop and say what to rerun
    f = folder / "responses" / "forms.csv"
    f.write_text(f.read_text(encoding="utf-8").replace("2026-09-20", "2026-09-21", 1), encoding="utf-8")
    for cmd in ("weight", "indices"):
        rc, _, err = _run(root, capsys, cmd)
        assert rc == 2 and "forms.csv changed after the 'cleaning' stage ran" in err
        assert "sipas clean" in err and err.count("\n") == 1
    rc, _, _ = _run(root, capsys, "clean")
    assert rc == 0
    rc, _, err = _run(root, capsys, "indices")  # forms_clean.csv is new; weights.csv was made from the old one
    assert rc == 2 and "after the 'weighting' stage ran" in err and "sipas weight" in err
    for cmd in ("weight", "indices"):
        assert _run(root, capsys, cmd)[0] == 0

    # 6. the report, as `make report` makes it: no traceback; the design text says what the config and the
    #    sample say (2 villages per commune, 8 households per village), not the demo's "3 ... 30"
    rc, _, err = _run(root, capsys, "report", "--no-pdf")
    assert rc == 0, err
    html = (root / "reports" / SID / "report.html").read_text(encoding="utf-8")
    assert "mỗi xã, phường chọn 2 thôn, bản, tổ dân phố" in html and "mỗi thôn chọn 8 hộ gia đình" in html
    assert "Traceback" not in html and "Tỉnh Thử" in html

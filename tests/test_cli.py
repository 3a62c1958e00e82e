"""The sipas command: help lists every stage; bad input is one clear line and exit code 2."""

import subprocess
import sys
from pathlib import Path

import pytest

from sipas.cli import build_parser, main

REPO = Path(__file__).resolve().parent.parent


def test_help_lists_every_stage():
    text = build_parser().format_help()
    for cmd in ("synth", "check", "forms", "sample", "clean", "reliability", "weight", "indices", "report"):
        assert cmd in text


def test_console_script_runs():
    out = subprocess.run([sys.executable, "-m", "sipas.cli", "--help"], capture_output=True, text=True, check=True)
    assert "report" in out.stdout


def test_check_demo(capsys):
    assert main(["--root", str(REPO), "check", "--survey", "demo-laichau-2024"]) == 0
    assert "OK" in capsys.readouterr().out


def test_unknown_survey_is_one_clear_error(capsys):
    assert main(["--root", str(REPO), "check", "--survey", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sipas: error:") and "nope" in err and "Traceback" not in err


def test_stage_before_its_inputs_says_which_stage(tmp_path, capsys):
    import shutil

    shutil.copytree(REPO / "data" / "raw" / "demo-laichau-2024", tmp_path / "data" / "raw" / "demo-laichau-2024")
    (tmp_path / "pyproject.toml").write_text("")
    assert main(["--root", str(tmp_path), "indices", "--survey", "demo-laichau-2024"]) == 2
    assert "run the 'cleaning' stage first" in capsys.readouterr().err


def test_sample_command_writes_annexes(tmp_path, capsys):
    import shutil

    shutil.copytree(REPO / "data" / "raw" / "demo-laichau-2024", tmp_path / "data" / "raw" / "demo-laichau-2024")
    (tmp_path / "pyproject.toml").write_text("")
    assert main(["--root", str(tmp_path), "sample", "--survey", "demo-laichau-2024"]) == 0
    out = capsys.readouterr().out
    assert "28 communes, 84 villages, 2520 households" in out
    assert (tmp_path / "restricted" / "demo-laichau-2024" / "phu_luc_03_households.xlsx").is_file()
    assert not list((tmp_path / "data" / "processed").rglob("phu_luc_03*"))


def test_forms_command_exports_xlsform_and_template(tmp_path, capsys):
    import shutil

    import openpyxl

    shutil.copytree(REPO / "data" / "raw" / "demo-laichau-2024", tmp_path / "data" / "raw" / "demo-laichau-2024")
    (tmp_path / "pyproject.toml").write_text("")
    assert main(["--root", str(tmp_path), "forms", "--survey", "demo-laichau-2024"]) == 0
    out = tmp_path / "reports" / "demo-laichau-2024" / "forms"
    wb = openpyxl.load_workbook(out / "household-2024.1.xlsform.xlsx")
    assert {"survey", "choices"} <= set(wb.sheetnames)
    assert (out / "household-2024.1.entry-template.xlsx").is_file()


def test_previous_year_failure_in_the_child_is_a_report_error(tmp_path):
    """``sipas report`` runs the previous year's stages in a child process; its error reaches the parent."""
    from sipas import cli
    from sipas.errors import ReportError

    wait = cli._start_previous("no-such-survey", tmp_path)
    with pytest.raises(ReportError, match="no-such-survey"):
        wait()
    with pytest.raises(ReportError):  # asking again gives the same answer, without waiting
        wait()

"""``sipas plan``'s report: the plan is deterministic, plan.html renders in headless Chromium with the
Vietnamese headings and the sample-size table, and a bad survey id is one line with exit code 2.

Uses the session fixture ``demo_root`` (one ``sipas report`` run) and renders the plan once per module in a
copy of its demo survey-year, so the session's processed files are left as they were.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from conftest import DEMO, DEMO_PREV, REPO, chromium_dom, visible_text

#: Replicates of the tests' runs (small: the tables' shape and determinism do not depend on it).
REPS = 3

HEADINGS_VI = ("Kế hoạch chọn mẫu năm sau", "1. Thành phần phương sai và hệ số tương quan nội nhóm (ICC)",
               "2. Hiệu ứng thiết kế: trọng số (Kish) × cụm", "3. Cỡ mẫu cần thiết cho mục tiêu và chi phí",
               "4. So sánh thiết kế bằng mô phỏng", "5. Phụ lục 04: phân bổ mẫu theo thiết kế",
               "Bảng 3.1. Cỡ mẫu theo thiết kế và huyện, thành phố", "Bảng 4.1. Kết quả mô phỏng theo thiết kế")


@pytest.fixture(scope="module")
def plan_root(demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project root with the demo's raw files and processed tables (copied from ``demo_root``), after
    ``sipas plan --reps 3``."""
    from sipas.cli import main

    root = tmp_path_factory.mktemp("plan") / "root"
    for sid in (DEMO_PREV, DEMO):
        shutil.copytree(demo_root / "data" / "raw" / sid, root / "data" / "raw" / sid)
    shutil.copytree(demo_root / "data" / "processed" / DEMO, root / "data" / "processed" / DEMO)
    (root / "pyproject.toml").write_text("# marker for sipas.config.project_root\n")
    assert main(["--root", str(root), "plan", "--survey", DEMO, "--target", "3", "--reps", str(REPS)]) == 0
    return root


def test_plan_writes_its_files(plan_root: Path):
    from sipas.planning import PLAN_FILES

    for name in PLAN_FILES:
        assert (plan_root / "data" / "processed" / DEMO / f"{name}.csv").is_file(), name
    rep = plan_root / "reports" / DEMO
    for name in ("plan.html", "plan_phu_luc_04.xlsx", "plan_phu_luc_04.csv", "notebooks/06_planning.ipynb"):
        assert (rep / name).is_file(), name
    assert not list(rep.glob(".*tmp*"))


def test_same_seed_gives_identical_plan_tables(plan_root: Path):
    from sipas.config import find_survey
    from sipas.planning import PlanSettings, compute_plan

    cfg = find_survey(DEMO, root=plan_root)
    settings = PlanSettings(half_width=3.0, reps=REPS, seed=0)
    a = compute_plan(cfg, root=plan_root, settings=settings)
    b = compute_plan(cfg, root=plan_root, settings=settings)
    for name in ("components", "sizes", "simulation", "simulation_reps", "service_user", "summary", "annex"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True, obj=name)
    # and the same tables as the CLI's run wrote
    written = pd.read_csv(plan_root / "data" / "processed" / DEMO / "plan_sizes.csv")
    pd.testing.assert_frame_equal(written, a.sizes.reset_index(drop=True), check_dtype=False, obj="plan_sizes.csv")


def test_plan_with_unknown_survey_is_one_line_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    from sipas.cli import main

    (tmp_path / "pyproject.toml").write_text("# marker\n")
    (tmp_path / "data" / "raw").mkdir(parents=True)
    rc = main(["--root", str(tmp_path), "plan", "--survey", "nope"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("sipas: error:") and err.count("\n") == 1 and "nope" in err
    assert "Traceback" not in err


# --------------------------------------------------------------------------- headless Chromium

@pytest.fixture(scope="module")
def plan_dom(plan_root: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    return chromium_dom(plan_root / "reports" / DEMO / "plan.html", tmp_path_factory.mktemp("chromium-plan"))


@pytest.mark.browser
def test_plan_html_shows_headings_and_sample_sizes(plan_dom: str):
    text = visible_text(plan_dom)
    for h in HEADINGS_VI:
        assert h in text, h
    for bad in ("Traceback", "Error", "Exception", "NaN", "nan", "{", "}"):
        assert bad not in text, bad
    assert 'class="jp-InputArea' not in plan_dom and "In&nbsp;[" not in plan_dom      # no code cells or prompts
    assert '<html lang="vi"' in plan_dom and "sipas-table" in plan_dom
    tables = re.findall(r"<table\b.*?</table>", plan_dom, flags=re.S)
    sizes = [t for t in tables if "Bảng 3.1." in t]
    assert len(sizes) == 1
    rows = re.findall(r"<tr>(.*?)</tr>", sizes[0], flags=re.S)
    assert len(rows) >= 1 + 3 * 8                      # header + three designs x eight districts
    assert "Số hộ" in rows[0] and "Chi phí" in rows[0]
    assert re.search(r'<td class="num">\d[\d.]*</td>', sizes[0])   # counts of households shown


@pytest.mark.browser
def test_plan_html_has_no_personal_data(plan_dom: str):
    forms = pd.read_csv(REPO / "data" / "raw" / DEMO / "responses" / "forms.csv", dtype=str)
    contacts = pd.read_csv(REPO / "data" / "raw" / DEMO / "restricted" / "household_contacts.csv", dtype=str)
    found = set(forms["respondent_name"]) | set(forms["phone"]) | set(contacts["phone"]) | set(forms["household_id"])
    needles = {n for n in found if isinstance(n, str) and len(n) >= 7}
    assert needles
    assert not [n for n in needles if n in plan_dom]

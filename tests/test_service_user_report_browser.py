"""The two service-user reports as a reader gets them: HTML in headless Chromium, the PDF through poppler.

Each demo is written by ``sipas synth`` into a temporary root and rendered once with ``sipas report`` (HTML
and PDF).  Without Chromium/poppler the tests are skipped locally and FAIL in CI (``CI`` set).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import need_tool, visible_text
from sipas import report
from sipas.cli import main

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SURVEYS = ("demo-thuannam-2023", "demo-hue-2019")
HEADINGS_VI = ("1. Tóm tắt dành cho Hội đồng", "2. Thiết kế mẫu và tổ chức khảo sát", "6. Kết quả chỉ số hài lòng",
               "7. Xếp hạng các đơn vị", "8. Đơn vị cao hơn, thấp hơn mức chung", "Phụ lục A. Phương pháp tính")




@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    chromium = need_tool(report.find_chromium(), "headless Chromium")
    need_tool(shutil.which("pdftotext"), "pdftotext")
    root = tmp_path_factory.mktemp("service-report")
    (root / "data" / "raw").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname='x'\n")
    out = {"chromium": Path(chromium), "root": root}
    for sid in SURVEYS:
        assert main(["--root", str(root), "synth", "--survey", sid]) == 0
        t0 = time.perf_counter()
        assert main(["--root", str(root), "report", "--survey", sid]) == 0
        print(f"{sid}: sipas report (HTML + PDF) {time.perf_counter() - t0:.1f} s")
    return out




@pytest.mark.parametrize("sid", SURVEYS)
def test_report_renders_in_chromium_with_figures_and_no_personal_data(rendered, sid, tmp_path):
    root = rendered["root"]
    html = root / "reports" / sid / "report.html"
    res = subprocess.run(report.chromium_args(str(rendered["chromium"]), tmp_path / "profile")
                         + ["--dump-dom", html.resolve().as_uri()], capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr[-2000:]
    text = visible_text(res.stdout)
    for h in HEADINGS_VI:
        assert h in text, h
    assert "Traceback" not in text and "Error" not in text
    assert res.stdout.count("<img") >= 4
    forms = pd.read_csv(root / "data" / "raw" / sid / "responses" / "forms.csv", dtype=str)
    needles = {n for n in set(forms["respondent_name"]) | set(forms["phone"]) if isinstance(n, str) and len(n) >= 7}
    assert not [n for n in needles if n in text]
    if sid == "demo-thuannam-2023":   # exit mode: the report says plainly that the desk's selection is not random
        assert "không được chọn ngẫu nhiên" in text
    pdf = root / "reports" / sid / "report.pdf"
    pdf_text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, timeout=120).stdout
    assert "Đơn vị cao hơn, thấp hơn mức chung" in pdf_text
    assert not [n for n in list(needles)[:300] if n in pdf_text]

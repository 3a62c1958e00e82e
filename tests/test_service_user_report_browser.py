"""The two service-user reports as a reader gets them: HTML in headless Chromium, the PDF through poppler.

Each demo is written by ``sipas synth`` into a temporary root and rendered once with ``sipas report`` (HTML
and PDF).  Without Chromium/poppler the tests are skipped locally and FAIL in CI (``CI`` set).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from sipas import report
from sipas.cli import main

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SURVEYS = ("demo-thuannam-2023", "demo-hue-2019")
HEADINGS_VI = ("1. Tóm tắt dành cho Hội đồng", "2. Thiết kế mẫu và tổ chức khảo sát", "6. Kết quả chỉ số hài lòng",
               "7. Xếp hạng các đơn vị", "8. Đơn vị cao hơn, thấp hơn mức chung", "Phụ lục A. Phương pháp tính")


def _need(tool: str | None, name: str) -> str:
    if tool:
        return tool
    if os.environ.get("CI"):
        pytest.fail(f"{name} is required in CI (environment variable CI is set) but was not found")
    pytest.skip(f"{name} not installed")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    chromium = _need(report.find_chromium(), "headless Chromium")
    _need(shutil.which("pdftotext"), "pdftotext")
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


def _visible(html: str) -> str:
    html = re.sub(r"<(style|script)[^>]*>.*?</\1>", "", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize("sid", SURVEYS)
def test_report_renders_in_chromium_with_figures_and_no_personal_data(rendered, sid, tmp_path):
    root = rendered["root"]
    html = root / "reports" / sid / "report.html"
    res = subprocess.run(report.chromium_args(str(rendered["chromium"]), tmp_path / "profile")
                         + ["--dump-dom", html.resolve().as_uri()], capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr[-2000:]
    text = _visible(res.stdout)
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

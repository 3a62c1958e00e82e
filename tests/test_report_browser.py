"""The rendered report as a reader gets it: HTML in headless Chromium, the PDF through poppler.

Needs ``chromium`` and ``pdftoppm``/``pdftotext`` (Debian: chromium, poppler-utils).  Without them
the tests are skipped locally and FAIL when the environment variable ``CI`` is set (CI installs them).
Uses the session fixture ``demo_root`` (one ``sipas report`` run), never renders again.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from conftest import DEMO, REPO, need_tool, visible_text
from sipas import report

pytestmark = pytest.mark.browser

HEADINGS_VI = ("1. Tóm tắt dành cho Hội đồng", "2. Thiết kế mẫu và tổ chức khảo sát", "3. Làm sạch dữ liệu",
               "4. Độ tin cậy của thang đo", "5. Trọng số", "6. Kết quả chỉ số hài lòng", "7. Xếp hạng các đơn vị",
               "8. So sánh với năm trước", "9. Nhu cầu, mong đợi của người dân", "10. Kiến nghị, đề xuất",
               "Phụ lục A. Phương pháp tính", "Phụ lục B. Nguồn gốc số liệu")
FIGURES = ("index_by_district", "criteria_profile", "criteria_by_district", "change_since_last_year",
           "respondent_profile", "index_by_group")




@pytest.fixture(scope="module")
def chromium() -> str:
    return need_tool(report.find_chromium(), "headless Chromium")


@pytest.fixture(scope="module")
def poppler() -> dict[str, str]:
    return {n: need_tool(shutil.which(n), n) for n in ("pdftoppm", "pdftotext")}


@pytest.fixture(scope="module")
def needles() -> set[str]:
    """Names, phone numbers and household codes of the demo's respondents (must appear nowhere)."""
    forms = pd.read_csv(REPO / "data" / "raw" / DEMO / "responses" / "forms.csv", dtype=str)
    contacts = pd.read_csv(REPO / "data" / "raw" / DEMO / "restricted" / "household_contacts.csv", dtype=str)
    found = set(forms["respondent_name"]) | set(forms["phone"]) | set(contacts["phone"]) | set(forms["household_id"])
    return {n for n in found if isinstance(n, str) and len(n) >= 7}




def _run(cmd: list[str], timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def dom(chromium: str, demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    html = demo_root / "reports" / DEMO / "report.html"
    profile = tmp_path_factory.mktemp("chromium-dom")
    res = _run(report.chromium_args(chromium, profile) + ["--dump-dom", html.resolve().as_uri()])
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


def test_dom_shows_vietnamese_headings_figures_and_no_errors(dom: str):
    text = visible_text(dom)
    for h in HEADINGS_VI:
        assert h in text, h
    for stem in FIGURES:
        assert f'data-figure="{stem}"' in dom, stem
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', dom)) >= len(FIGURES)
    assert "No description has been provided" not in dom
    for bad in ("Traceback", "Error", "Exception", "Warning", "NaN", "nan%", "{", "}"):
        assert bad not in text, bad
    assert 'class="jp-InputArea' not in dom and "In&nbsp;[" not in dom        # no code cells or prompts


def test_dom_shows_the_contents_the_index_rule_and_its_sensitivity(dom: str):
    text = visible_text(dom)
    for needle in ("Theo hai nội dung:", "Việc ban hành, tổ chức thực hiện chính sách",
                   "Việc cung ứng dịch vụ hành chính công", "Quy tắc tổng hợp chỉ số:",
                   "CHƯA được xác nhận với văn bản chính thức", "Bảng A.1. Chỉ số chung theo từng quy tắc tổng hợp",
                   "Gộp: tổng số câu trả lời hài lòng trên tổng số câu trả lời hợp lệ",
                   "Bảng A.2. Chỉ số SIPAS đã công bố", "Bảng 6.6. Nhận định của người dân"):
        assert needle in text, needle


def test_dom_has_no_personal_data(dom: str, needles: set[str]):
    hits = [n for n in needles if n in dom]
    assert not hits, hits[:3]


def test_screenshot_is_a_rendered_page(chromium: str, demo_root: Path, tmp_path: Path):
    from PIL import Image, ImageStat

    html = demo_root / "reports" / DEMO / "report.html"
    png = tmp_path / "shot.png"
    res = _run(report.chromium_args(chromium, tmp_path / "profile")
               + ["--hide-scrollbars", "--window-size=1000,1400", f"--screenshot={png}", html.resolve().as_uri()])
    assert res.returncode == 0 and png.is_file(), res.stderr[-2000:]
    im = Image.open(png).convert("L")
    assert im.size == (1000, 1400)
    stat = ImageStat.Stat(im)
    assert stat.stddev[0] > 10                     # text and colour, not a blank page
    dark = sum(im.histogram()[:100]) / (im.size[0] * im.size[1])
    assert 0.005 < dark < 0.5                      # some dark ink (text), mostly paper


def test_pdf_pages_render_with_vietnamese_text(poppler: dict[str, str], chromium: str, demo_root: Path,
                                              tmp_path: Path, needles: set[str]):
    from PIL import Image, ImageStat

    pdf = demo_root / "reports" / DEMO / "report.pdf"
    assert pdf.is_file(), "report.render did not write report.pdf although Chromium is installed"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    res = _run([poppler["pdftoppm"], "-png", "-r", "60", "-f", "1", "-l", "2", str(pdf), str(tmp_path / "page")])
    assert res.returncode == 0, res.stderr
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == 2
    for p in pages:
        im = Image.open(p).convert("L")
        w, h = im.size
        assert abs(h / w - 297 / 210) < 0.02       # A4 portrait
        assert ImageStat.Stat(im).stddev[0] > 5
    txt = _run([poppler["pdftotext"], "-layout", str(pdf), "-"]).stdout
    flat = re.sub(r"\s+", " ", txt)
    for h in HEADINGS_VI:
        assert h in flat, h
    assert "Bảng 6.3" in flat and "Bảng 7.1" in flat and "Khoảng hạng 95%" in flat   # figures are images
    assert "Traceback" not in flat and "Error" not in flat
    assert not [n for n in needles if n in txt]
    n_pages = len(re.findall(r"\f", txt))
    assert 10 <= n_pages <= 60


def test_pdf_holds_the_figures(poppler: dict[str, str], demo_root: Path):
    pdfimages = shutil.which("pdfimages")
    if not pdfimages:
        pytest.skip("pdfimages not installed")
    pdf = demo_root / "reports" / DEMO / "report.pdf"
    res = _run([pdfimages, "-list", str(pdf)])
    rows = [ln for ln in res.stdout.splitlines()[2:] if ln.strip()]
    assert len(rows) >= len(FIGURES)


# --------------------------------------------------------------------------- hostile names (issue 14, class 1)

HOSTILE_UNIT = "<script>document.body.setAttribute('data-pwned','script')</script>Huyện *X* $a$"
HOSTILE_PROVINCE = "<img src=x onerror=\"document.body.setAttribute('data-pwned','img');alert(1)\">Tỉnh [Y](http://e)"


@pytest.fixture(scope="module")
def hostile_report(chromium: str, demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's report rendered from processed tables where a district and the province carry markup."""
    import yaml

    from sipas import io as sio

    root = tmp_path_factory.mktemp("hostile") / "root"
    shutil.copytree(demo_root / "data" / "raw" / DEMO, root / "data" / "raw" / DEMO)
    (root / "pyproject.toml").write_text("# marker\n")
    src = demo_root / "data" / "processed" / DEMO
    dst = root / "data" / "processed" / DEMO
    dst.mkdir(parents=True)
    victim = "Huyện Tam Đường"
    for f in src.iterdir():
        if f.suffix == ".csv":
            t = sio.read_csv(f, dtype=str, keep_default_na=False)
            sio.write_csv(t.replace(victim, HOSTILE_UNIT), dst / f.name)
        elif f.is_file():
            shutil.copy(f, dst / f.name)
    p = root / "data" / "raw" / DEMO / "survey.yml"
    cfg = yaml.safe_load(p.read_text(encoding="utf-8"))
    cfg["province"] = {"vi": HOSTILE_PROVINCE, "en": HOSTILE_PROVINCE}
    cfg.pop("previous_survey", None)
    p.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
    nb = report.rendering.run_notebooks(DEMO, root=root, notebooks=("05_report",), progress=False)
    return report.rendering.to_html(nb[-1], root / "reports" / DEMO / "report.html")


def test_names_from_data_show_as_typed_and_never_run(chromium: str, hostile_report: Path,
                                                    tmp_path: Path):
    res = _run(report.chromium_args(chromium, tmp_path / "profile") + ["--dump-dom", hostile_report.as_uri()])
    assert res.returncode == 0, res.stderr[-2000:]
    body = re.search(r"<body[^>]*>", res.stdout).group(0)
    assert "data-pwned" not in body                                   # neither the script nor onerror ran
    import html

    text = html.unescape(visible_text(res.stdout))
    assert "<script>document.body.setAttribute('data-pwned','script')</script>Huyện *X* $a$" in text
    assert "Tỉnh [Y](http://e)" in text and '<img src=x onerror=' in text
    raw = hostile_report.read_text(encoding="utf-8")
    assert "<script>document.body" not in raw and "<img src=x" not in raw    # escaped in the file itself

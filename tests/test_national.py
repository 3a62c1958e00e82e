"""The national demo end to end (issue 17): ``sipas report --survey demo-national-2025`` on a copy of the committed
raw data (both years), then its processed tables and, in headless Chromium and poppler, its report.

One module fixture runs the pipeline and the report once (about 40 s on 2 cores); every test here is ``slow``,
the browser ones also ``browser`` (skipped without Chromium/poppler, failing in CI as in test_report_browser.py).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import need_tool, raw_copy_root, visible_text
from sipas import io as sio
from sipas import report
from sipas.indices.merger import merger_table, new_provinces

NATIONAL = "demo-national-2025"
NATIONAL_PREV = "demo-national-2024"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def national_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sipas.cli import main

    root = raw_copy_root(tmp_path_factory, "sipas-national", (NATIONAL_PREV, NATIONAL))
    assert main(["--root", str(root), "report", "--survey", NATIONAL]) == 0
    return root


def _proc(root: Path, sid: str, name: str) -> pd.DataFrame:
    return sio.read_csv(root / "data" / "processed" / sid / f"{name}.csv")


def test_whole_country_has_its_own_domain_type(national_root: Path):
    idx = _proc(national_root, NATIONAL, "indices")
    assert set(idx["domain_type"]) == {"country", "province"}
    ov = idx[idx["level"] == "overall"]
    assert (ov["domain_type"] == "country").sum() == 1
    assert sorted(ov.loc[ov["domain_type"] == "province", "domain"]) == sorted(new_provinces())
    prev = _proc(national_root, NATIONAL_PREV, "indices")
    pov = prev[prev["level"] == "overall"]
    assert (pov["domain_type"] == "country").sum() == 1 and (pov["domain_type"] == "province").sum() == 63


def test_every_new_province_has_a_change_through_the_merger(national_root: Path):
    """Each of the 34 provinces has last year's value, the household-weighted mean of its old provinces'
    2024 estimates (weights = households of the 2024 commune frame), and a change with a CI."""
    yoy = _proc(national_root, NATIONAL, "year_over_year")
    y = yoy[(yoy["level"] == "overall") & (yoy["domain_type"] == "province")].set_index("domain")
    assert sorted(y.index) == sorted(new_provinces())
    assert y[["estimate_prev", "change", "ci_low_change", "ci_high_change"]].notna().all().all()
    np.testing.assert_allclose(y["change"], y["estimate"] - y["estimate_prev"], atol=1e-12)
    prev = _proc(national_root, NATIONAL_PREV, "indices")
    old = prev[(prev["level"] == "overall") & (prev["domain_type"] == "province")].set_index("domain")
    frame = sio.read_csv(national_root / "data" / "raw" / NATIONAL_PREV / "frames" / "communes.csv")
    hh = frame.groupby("province")["households"].sum()
    mt = merger_table()
    for new, g in mt.groupby("province"):
        w = hh.reindex(g["province_old"]).to_numpy(float)
        expect = float(np.sum(w * old.loc[g["province_old"], "estimate"].to_numpy(float)) / w.sum())
        assert y.at[new, "estimate_prev"] == pytest.approx(expect, abs=1e-12), new
    assert (mt.groupby("province").size() > 1).sum() == 23        # 23 new provinces merge 2 or more old ones


def test_province_ranking_is_data_and_deterministic(national_root: Path):
    from sipas.config import find_survey
    from sipas.indices.merger import previous_onto_current
    from sipas.indices.rank_uncertainty import unit_ranking_tables

    r = _proc(national_root, NATIONAL, "province_ranking")
    assert len(r) == 34 and r["rank"].tolist() == list(range(1, 35))
    for c in ("rank_low", "rank_high", "p_top_k", "top_k", "estimate_prev", "se_prev", "rank_prev", "p_improved",
              "published"):
        assert c in r.columns, c
    assert ((r["rank_low"] <= r["rank"]) & (r["rank"] <= r["rank_high"])).all()
    k = int(r["top_k"].iat[0])
    assert k == 10 and r["p_top_k"].sum() == pytest.approx(k, abs=1e-9)   # exactly k units are top k per draw
    assert r["p_improved"].between(0, 1).all()
    # the same inputs give the same table (seeded): recompute from the stage's files
    cfg = find_survey(NATIONAL, root=national_root)
    pub = _proc(national_root, NATIONAL, "indices_published")
    prev, _ = previous_onto_current(_proc(national_root, NATIONAL_PREV, "indices"), cfg=cfg, root=national_root)
    again = unit_ranking_tables(pub, prev, cfg=cfg, unit="province", min_n=cfg.min_cell_size)["province_ranking"]
    pd.testing.assert_frame_equal(again.reset_index(drop=True), r, check_dtype=False, atol=1e-12)


def test_other_indices_are_read_and_correlated(national_root: Path):
    t = _proc(national_root, NATIONAL, "other_indices")
    c = _proc(national_root, NATIONAL, "other_indices_correlation")
    assert (t["domain"].fillna("") != "").all()                      # "Tỉnh X" matched "X" everywhere
    assert t["source"].str.contains("mô phỏng").all()                # labelled synthetic in every row
    assert len(c) == 3 and (c["n"] == 34).all() and (c["n_unmatched"] == 0).all()
    par = c[c["indicator"].str.startswith("PAR INDEX")].iloc[0]
    assert par["ci_low"] < par["r"] < par["ci_high"] and par["r"] > 0.5


# --------------------------------------------------------------------------- the report as a reader gets it





NATIONAL_TEXT = ("1. Tóm tắt dành cho Hội đồng", "6. Kết quả chỉ số hài lòng",
                 "7. Xếp hạng các tỉnh, thành phố và độ bất định của thứ hạng", "Khoảng hạng 95%", "P(top 10)",
                 "P(tăng hạng)", "Bộ Nội vụ công bố (%)", "7.1. Thay đổi so với năm trước qua sắp xếp tỉnh năm 2025",
                 "Hợp thành từ", "7.2. Các chỉ số khác bên cạnh SIPAS", "Spearman r", "Toàn quốc")
NATIONAL_FIGURES = ("rank_intervals", "province_map", "index_by_province", "criteria_profile")


@pytest.mark.browser
def test_national_report_renders_in_chromium_with_its_figures(national_root: Path, tmp_path: Path):
    import subprocess

    chromium = need_tool(report.find_chromium(), "headless Chromium")
    html = national_root / "reports" / NATIONAL / "report.html"
    res = subprocess.run(report.chromium_args(chromium, tmp_path / "profile") + ["--dump-dom", html.resolve().as_uri()],
                         capture_output=True, text=True, timeout=180, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    dom = res.stdout
    text = visible_text(dom)
    for needle in NATIONAL_TEXT:
        assert needle in text, needle
    for stem in NATIONAL_FIGURES:
        assert f'data-figure="{stem}"' in dom, stem
    for bad in ("Traceback", "Error", "Exception", "NaN", "nan%", "{", "}"):
        assert bad not in text, bad
    for name in new_provinces():
        assert name in text, name


@pytest.mark.browser
def test_national_pdf_holds_the_ranking_and_the_figures(national_root: Path, tmp_path: Path):
    import subprocess

    tools = {n: need_tool(shutil.which(n), n) for n in ("pdftoppm", "pdftotext", "pdfimages")}
    pdf = national_root / "reports" / NATIONAL / "report.pdf"
    assert pdf.is_file() and pdf.read_bytes()[:5] == b"%PDF-"
    txt = subprocess.run([tools["pdftotext"], "-layout", str(pdf), "-"], capture_output=True, text=True,
                         check=True).stdout
    flat = re.sub(r"\s+", " ", txt)
    for needle in ("7. Xếp hạng các tỉnh, thành phố", "Bảng 7.1", "Bảng 7.2", "Hợp thành từ", "Spearman"):  # figures: images
        assert needle in flat, needle
    imgs = subprocess.run([tools["pdfimages"], "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert len([ln for ln in imgs.splitlines()[2:] if ln.strip()]) >= len(NATIONAL_FIGURES)
    res = subprocess.run([tools["pdftoppm"], "-png", "-r", "40", "-f", "1", "-l", "1", str(pdf),
                          str(tmp_path / "page")], capture_output=True, text=True, check=False)
    assert res.returncode == 0 and sorted(tmp_path.glob("page-*.png")), res.stderr

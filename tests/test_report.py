"""The report module on the demo's processed tables: languages, benchmark, optional tables, XLSX, PDF fallback."""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import DEMO

from sipas import report
from sipas.errors import ConfigError, ReportError
from sipas.forms.cleaning import RULES
from sipas.report import rendering

BENCHMARK = {"label": {"vi": "Trung bình cả nước năm 2023 (Bộ Nội vụ công bố 17/4/2024)",
                       "en": "National average 2023 (Ministry of Home Affairs, 17/4/2024)"},
             "value": 0.8266}


def _variant(demo_root: Path, tmp_path: Path, **changes) -> Path:
    """A project root with the demo survey's raw config changed and its processed tables copied."""
    root = tmp_path / "root"
    shutil.copytree(demo_root / "data" / "raw" / DEMO, root / "data" / "raw" / DEMO)
    shutil.copytree(demo_root / "data" / "processed" / DEMO, root / "data" / "processed" / DEMO)
    (root / "pyproject.toml").write_text("# marker\n")
    p = root / "data" / "raw" / DEMO / "survey.yml"
    cfg = yaml.safe_load(p.read_text(encoding="utf-8"))
    cfg.update(changes)
    p.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return root


def _text(blocks) -> str:
    return "\n".join(str(v) for k, v in blocks if k in ("md", "html"))


@pytest.fixture(scope="module")
def en_ctx(demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> report.ReportContext:
    root = _variant(demo_root, tmp_path_factory.mktemp("en"), language="en", report={"benchmark": BENCHMARK})
    return report.load_context(DEMO, root=root)


@pytest.fixture(scope="module")
def vi_ctx(demo_root: Path) -> report.ReportContext:
    return report.load_context(DEMO, root=demo_root)


def test_every_text_has_vietnamese_and_english():
    def walk(node, path):
        if isinstance(node, dict) and "vi" in node:
            assert set(node) >= {"vi", "en"}, path
            assert isinstance(node["vi"], str) and isinstance(node["en"], str), path
            return
        assert isinstance(node, dict), path
        for k, v in node.items():
            walk(v, f"{path}.{k}")
    walk(report.texts(), "")


def test_every_cleaning_rule_has_a_label(vi_ctx):
    for rule, action in RULES:
        assert vi_ctx.has(f"rules.{rule}") and vi_ctx.has(f"actions.{action}")
    t = report.cleaning_table(vi_ctx)
    assert "Trùng mã phiếu (loại bản nhập sau)" in set(t.iloc[:, 0])
    assert "Loại phiếu" in set(t.iloc[:, 1])


def test_english_config_renders_english_headings(en_ctx):
    text = "\n".join(_text(report.section(en_ctx, s)) for s in report.SECTIONS)
    for heading in ("## 1. Summary for the council", "## 2. Sample design and fieldwork", "## 3. Data cleaning",
                    "## 4. Reliability of the scales", "## 5. Weighting", "## 6. Satisfaction index results",
                    "## 7. Ranking of units", "## 8. Comparison with last year",
                    "## 9. Citizens' needs and expectations", "## 10. Recommendations",
                    "## Appendix A. Methodology", "## Appendix B. Provenance"):
        assert heading in text, heading
    assert "Tóm tắt dành cho Hội đồng" not in text and "Phụ lục A" not in text
    assert "Table 7.1. Ranking of districts by the overall index" in text
    assert "Duplicate form ID" in text


def test_vietnamese_sections(vi_ctx):
    text = "\n".join(_text(report.section(vi_ctx, s)) for s in report.SECTIONS)
    for heading in ("## 1. Tóm tắt dành cho Hội đồng", "## 6. Kết quả chỉ số hài lòng", "## 10. Kiến nghị, đề xuất",
                    "## Phụ lục A. Phương pháp tính", "## Phụ lục B. Nguồn gốc số liệu"):
        assert heading in text
    assert "Khoảng hạng 95%" in text and "Nhóm tuổi" in text and "Thành thị (phường, thị trấn)" in text
    assert "p_i = Σ_h w_h r_hi y_hi / Σ_h w_h r_hi" in text          # the formula in the appendix
    assert "seed: " in text and vi_ctx.cfg.survey_id in text            # provenance: config and seed
    with pytest.raises(ReportError):
        report.section(vi_ctx, "nonexistent")


def test_benchmark_in_summary_and_district_chart(en_ctx):
    o = report.overall(en_ctx)
    bd = report.benchmark_difference(en_ctx)
    assert bd["diff"] == pytest.approx(o["estimate"] - 0.8266, abs=1e-15)
    assert bd["lo"] == pytest.approx(o["ci_low"] - 0.8266, abs=1e-15)
    text = _text(report.section(en_ctx, "summary"))
    assert "National average 2023 (Ministry of Home Affairs, 17/4/2024) (82.66%)" in text
    figs = report.make_figures(en_ctx)
    svg = figs["districts"].with_suffix(".svg").read_text(encoding="utf-8")
    assert "National average 2023" in svg and "82.66%" in svg
    assert {"districts", "criteria", "heatmap", "change", "profile", "groups"} <= set(figs)


def test_benchmark_defaults_to_last_years_verified_national_value(vi_ctx):
    assert "report" not in vi_ctx.cfg.extra                           # the demo configures none
    b = report.benchmark(vi_ctx)
    assert b["value"] == 0.8266 and b["url"].startswith("https://baotintuc.vn/")   # SIPAS 2023, read on the page
    assert "Trung bình cả nước năm 2023 (Bộ Nội vụ công bố) (82,66%)" in _text(report.section(vi_ctx, "summary"))


def test_no_benchmark_when_nothing_verified_was_published(demo_root, tmp_path):
    root = _variant(demo_root, tmp_path, year=2031)
    ctx = report.load_context(DEMO, root=root)
    assert report.benchmark(ctx) is None
    assert "Trung bình cả nước" not in _text(report.section(ctx, "summary"))


def test_contents_rule_and_sensitivity_are_shown(vi_ctx):
    summary = _text(report.section(vi_ctx, "summary"))
    assert "Theo hai nội dung: Việc ban hành, tổ chức thực hiện chính sách" in summary
    assert "Việc cung ứng dịch vụ hành chính công" in summary
    results = _text(report.section(vi_ctx, "results"))
    assert "Quy tắc tổng hợp chỉ số: **Trung bình cộng hai nội dung" in results
    assert "CHƯA được xác nhận với văn bản chính thức" in results and "> ⚠" in results
    assert "https://www.vietnam.vn/en/huong-toi-su-hai-long-cua-nguoi-dan" in results   # the rule's source
    assert "Bảng 6.6. Nhận định của người dân" in results and "Không có công chức nào gây phiền hà" in results
    method = _text(report.section(vi_ctx, "methodology"))
    assert "Bảng A.1. Chỉ số chung theo từng quy tắc tổng hợp" in method
    sens = report.sensitivity_table(vi_ctx)
    s = vi_ctx.tables["index_sensitivity_summary"]
    assert len(sens) == 3 and sens.iloc[0, 0].endswith("(đang dùng)")
    assert list(sens.iloc[:, 2]) == [vi_ctx.num(100 * v) for v in s["estimate"]]
    assert set(sens["Đã xác nhận"]) == {"Không"}
    assert "Bảng A.2. Chỉ số SIPAS đã công bố" in method and "83,94" in method


def test_no_rule_is_credited_to_a_decision_whose_text_was_not_read(vi_ctx, en_ctx):
    """Decision 1001/QĐ-BNV: only its header was read, so the report may name it only beside that caveat."""
    import re

    for ctx, caveat in ((vi_ctx, "chưa đọc được nên không có quy tắc nào ở đây được ghi là lấy từ quyết định này"),
                        (en_ctx, "could not be read, so no rule here is credited to it")):
        text = "\n".join(_text(report.section(ctx, s)) for s in report.SECTIONS if s != "provenance")
        for m in re.finditer(r"1001/QĐ-BNV", text):
            sentence = text[m.start(): m.start() + 400]
            assert caveat in sentence, sentence
        assert "2640/QĐ-BNV" not in text


@pytest.mark.parametrize("bad", [{"label": "x", "value": 82.66}, {"value": 0.8}, {"label": {"vi": ""}, "value": 0.8},
                                 "0.8266"])
def test_bad_benchmark_is_a_config_error(demo_root, tmp_path, bad):
    root = _variant(demo_root, tmp_path, report={"benchmark": bad})
    ctx = report.load_context(DEMO, root=root)
    with pytest.raises(ConfigError, match="report.benchmark"):
        report.benchmark(ctx)


def test_optional_tables_absent_give_a_not_available_line(vi_ctx):
    ctx = report.ReportContext(**{**vi_ctx.__dict__, "tables": {
        k: v for k, v in vi_ctx.tables.items()
        if k not in ("recheck_agreement", "recheck_failed_forms", "double_entry_discrepancies",
                     "double_entry_summary", "cfa_fit", "weight_margins")}})
    text = _text(report.section(ctx, "design")) + _text(report.section(ctx, "reliability")) \
        + _text(report.section(ctx, "weighting"))
    for what in ("kết quả phúc tra", "kết quả nhập liệu hai lần", "phân tích nhân tố khẳng định",
                 "cơ cấu trước và sau khi gia quyền"):
        assert f"Chưa có số liệu ({what})." in text
    assert set(report.report_tables(ctx)) >= {"1.1", "2.1", "6.4", "6.5", "7.1", "10.1"}
    assert not {"2.2", "4.3", "5.2"} & set(report.report_tables(ctx))


def test_optional_tables_present_are_shown(vi_ctx):
    extra = {
        "recheck_agreement": pd.DataFrame({"item": ["s2_1a"], "n": [40], "agreement": [0.95], "kappa": [0.81]}),
        "recheck_failed_forms": pd.DataFrame({"form_id": ["2024-00007"], "items_disagreeing": [9],
                                              "share_disagreeing": [0.3]}),
        "double_entry_summary": pd.DataFrame({"forms_compared": [200], "cells_compared": [10000],
                                              "cells_differing": [12]}),
        "double_entry_discrepancies": pd.DataFrame({"form_id": ["2024-00003", "2024-00004"],
                                                    "column": ["s2_1a", "respondent_name"],
                                                    "first": ["4", "Nguyễn Văn A"], "second": ["5", "Nguyen Van A"]}),
        "cfa_fit": pd.DataFrame({"index": ["CFI", "RMSEA"], "value": [0.97, 0.05], "threshold": [">= 0.95", "<= 0.06"],
                                 "ok": [True, True]}),
        "weight_margins": pd.DataFrame({"margin": ["district"], "level": ["A"], "population": [100.0],
                                        "before": [80.0], "after": [100.0], "n": [30]}),
    }
    ctx = report.ReportContext(**{**vi_ctx.__dict__, "tables": {**vi_ctx.tables, **extra}})
    text = _text(report.section(ctx, "design"))
    assert "Bảng 2.2" in text and "0,81" in text and "95,0" in text
    assert "2024-00007" in text and "Nhập liệu hai lần: 200 phiếu, 10000 ô được so sánh; 12 ô khác nhau" in text
    assert "Nguyễn Văn A" not in text and "Nguyen Van A" not in text        # non-item values are masked
    rel = _text(report.section(ctx, "reliability"))  # 4.2 or 4.3: after the items table when it is shown
    assert "Bảng 4.2. Chỉ số phù hợp của mô hình CFA" in rel or "Bảng 4.3. Chỉ số phù hợp của mô hình CFA" in rel
    assert "Bảng 5.2" in _text(report.section(ctx, "weighting"))


def test_group_table_suppresses_small_cells(vi_ctx):
    g = vi_ctx.tables["indices_groups_published"].copy()
    g.loc[g["domain"] == "60+", ["estimate", "ci_low", "ci_high"]] = float("nan")
    ctx = report.ReportContext(**{**vi_ctx.__dict__, "tables": {**vi_ctx.tables, "indices_groups_published": g}})
    t = report.group_table(ctx)
    row = t[t.iloc[:, 1] == "Từ 60 tuổi"].iloc[0]
    assert row["SIPAS (%)"] == "—" and row.iloc[4] == "—"


def test_xlsx_is_deterministic_and_has_every_table(vi_ctx, tmp_path):
    from openpyxl import load_workbook

    a = report.export_tables_xlsx(vi_ctx, tmp_path / "a.xlsx").read_bytes()
    b = report.export_tables_xlsx(vi_ctx, tmp_path / "b.xlsx").read_bytes()
    assert a == b
    wb = load_workbook(tmp_path / "a.xlsx", read_only=True)
    assert {"1.1", "2.1", "3.1", "6.1", "6.4", "6.5", "7.1", "8.1", "9.1", "10.1"} <= set(wb.sheetnames)
    ws = wb["7.1"]
    header = [c.value for c in next(ws.iter_rows(max_row=1))]
    assert "Khoảng hạng 95%" in header
    wb.close()


def test_render_without_chromium_says_so_in_one_line(demo_root, tmp_path, monkeypatch, capsys):
    nb = demo_root / "reports" / DEMO / "notebooks" / "05_report.ipynb"
    root = _variant(demo_root, tmp_path)
    monkeypatch.setattr(rendering, "run_notebooks", lambda *a, **k: [nb])
    monkeypatch.setattr(rendering, "find_chromium", lambda: None)
    out = report.render(DEMO, root=root)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "PDF" in ln]
    assert len(lines) == 1 and "Chromium not found" in lines[0]
    assert out.is_file() and not out.with_suffix(".pdf").exists()
    html = out.read_text(encoding="utf-8")
    assert '<html lang="vi">' in html and "@page" in html and "cdnjs" not in html


def test_to_pdf_failure_is_a_typed_error(demo_root, tmp_path):
    html = demo_root / "reports" / DEMO / "report.html"
    with pytest.raises(ReportError):
        report.to_pdf(html, tmp_path / "x.pdf", chromium="/bin/false")


def _caption_numbers(ctx: report.ReportContext) -> list[tuple[int, str, int, int]]:
    """(section number, kind, a, b) for every "Bảng a.b"/"Hình a.b" caption in display order."""
    import re

    out = []
    pat = re.compile(r"^(Bảng|Hình|Table|Figure) (\d+)\.(\d+)\.")
    numbered = [s for s in ctx.cfg.kind.report_sections if s not in ("methodology", "provenance")]
    for i, name in enumerate(numbered, start=1):  # the kind's sections in order; appendices have no numbers
        for kind, value in report.section(ctx, name):
            caption = None
            if kind == "html":
                m = re.search(r"<caption>(.*?)</caption>", value, flags=re.S)
                caption = html.unescape(m.group(1)) if m else None
            elif kind == "img":
                caption = value[1]
            if caption and (m := pat.match(caption)):
                table = m.group(1) in ("Bảng", "Table")
                out.append((i, "table" if table else "figure", int(m.group(2)), int(m.group(3))))
    return out


@pytest.mark.parametrize("which", ["vi_ctx", "en_ctx"])
def test_tables_and_figures_are_numbered_in_display_order(which, request):
    """Within each section, tables and figures are numbered <section>.1, .2, ... as they appear."""
    ctx = request.getfixturevalue(which)
    if not ctx.figures:
        report.make_figures(ctx)
    seen = _caption_numbers(ctx)
    assert len([s for s in seen if s[1] == "figure"]) >= 5 and len(seen) >= 20
    for kind in ("table", "figure"):
        expected: dict[int, int] = {}
        for sec, k, a, b in seen:
            if k != kind:
                continue
            assert a == sec, f"{kind} {a}.{b} shown in section {sec}"
            expected[sec] = expected.get(sec, 0) + 1
            assert b == expected[sec], f"{kind} {a}.{b} is number {expected[sec]} in section {sec}"
    shown = {f"{a}.{b}" for _, k, a, b in seen if k == "table"}
    sheets = set(report.report_tables(ctx))
    assert {k for k in sheets if k[0].isdigit()} == shown  # XLSX sheets carry the numbers the report shows
    assert {k for k in sheets if not k[0].isdigit()} == {"A.1", "A.2"}   # appendix tables keep their letters


def test_papermill_kernels_use_ipc_not_tcp(tmp_path, monkeypatch):
    """No "Kernel is running over TCP without encryption" warning: papermill gets an IPC kernel manager."""
    import asyncio

    import papermill as pm

    seen = []
    monkeypatch.setattr(pm, "execute_notebook", lambda *a, **k: seen.append(k))
    rendering.run_notebooks(DEMO, root=tmp_path, notebooks=("01_cleaning",), progress=False, one_kernel=False)
    cls = seen[0]["kernel_manager_class"]
    assert cls is rendering.ipc_kernel_manager_class()
    km = cls(kernel_name="sipas")
    d = Path(km.connection_file).parent
    assert km.transport == "ipc" and Path(km.ip).is_absolute() and Path(km.ip).parent == d and d.is_dir()
    asyncio.run(km.cleanup_resources())
    assert not d.exists()


def test_change_since_last_year_is_flagged_when_the_rule_differs(vi_ctx):
    assert "⚠" not in _text(report.section(vi_ctx, "yoy"))          # same instrument and rule both years
    y = vi_ctx.tables["year_over_year"].assign(same_rule=False)
    yp = vi_ctx.tables["year_over_year_published"].assign(same_rule=False)
    ctx = report.ReportContext(**{**vi_ctx.__dict__, "tables": {**vi_ctx.tables, "year_over_year": y,
                                                                "year_over_year_published": yp}})
    assert "Năm trước dùng bảng hỏi hoặc quy tắc tổng hợp khác năm nay" in _text(report.section(ctx, "yoy"))


def test_interrupted_chain_leaves_the_previous_notebooks_whole(tmp_path, monkeypatch):
    """Ctrl-C during a notebook (papermill path): its previous version stays, no temp folder is left.
    (The one-kernel path writes each notebook atomically once it has run.)"""
    import papermill as pm

    root = tmp_path / "root"
    outdir = root / "reports" / DEMO / "notebooks"
    outdir.mkdir(parents=True)
    (outdir / "01_cleaning.ipynb").write_text("previous", encoding="utf-8")
    calls = []

    def fake(src, out, **kw):
        calls.append(out)
        Path(out).write_text("half", encoding="utf-8")
        if len(calls) == 2:
            raise KeyboardInterrupt

    (outdir / "02_reliability.ipynb").write_text("previous", encoding="utf-8")
    monkeypatch.setattr(pm, "execute_notebook", fake)
    with pytest.raises(KeyboardInterrupt):
        rendering.run_notebooks(DEMO, root=root, notebooks=("01_cleaning", "02_reliability"), progress=False,
                                one_kernel=False)
    assert sorted(p.name for p in outdir.iterdir()) == ["01_cleaning.ipynb", "02_reliability.ipynb"]  # no temp
    assert (outdir / "01_cleaning.ipynb").read_text(encoding="utf-8") == "half"        # complete, moved in
    assert (outdir / "02_reliability.ipynb").read_text(encoding="utf-8") == "previous"  # the interrupted one


def test_design_text_takes_its_numbers_from_the_config_and_data(demo_root, tmp_path):
    """Issue 15 (6): the design paragraph said "3 villages, 30 households" whatever the survey did."""
    cfg = yaml.safe_load((demo_root / "data" / "raw" / DEMO / "survey.yml").read_text(encoding="utf-8"))
    root = _variant(demo_root, tmp_path, sampling={**cfg["sampling"], "households_per_village": 25})
    ctx = report.load_context(DEMO, root=root)
    w = ctx.tables["weights"]
    w = w[~((w["district"] == w["district"].iloc[0]) & (w["commune"] == w["commune"].iloc[0])
            & (w["village"] == w["village"].iloc[0]))]          # one commune now has 2 sampled villages
    ctx = report.ReportContext(**{**ctx.__dict__, "tables": {**ctx.tables, "weights": w}})
    text = report.design_md(ctx)
    assert "mỗi xã chọn 2–3 thôn, bản, tổ dân phố; mỗi thôn chọn 25 hộ gia đình" in text


def test_imprecise_units_carry_a_caution(vi_ctx, demo_root, tmp_path):
    """Issue 15 (7): a unit whose CI is wider than report.precision.max_ci_width (or df < min_df) is marked."""
    t = report.district_table(vi_ctx)
    idx = vi_ctx.tables["indices_published"]
    o = idx[(idx["domain_type"] == "district") & (idx["level"] == "overall")]
    wide = set(o.loc[(o["ci_high"] - o["ci_low"]) > 0.20, "domain"])
    assert wide                                                      # the demo has such districts
    marked = {n[:-2] for n in t.iloc[:, 0] if n.endswith(" †")}
    assert marked == wide
    text = _text(report.section(vi_ctx, "results")) + _text(report.section(vi_ctx, "ranking"))
    assert text.count("† Ước lượng kém chính xác") == 2
    root = _variant(demo_root, tmp_path, report={"precision": {"max_ci_width": 0.99, "min_df": 1}})
    assert report.precision_md(report.load_context(DEMO, root=root)) is None
    root = _variant(demo_root, tmp_path / "b", report={"precision": {"max_ci_width": 20}})
    with pytest.raises(ConfigError, match="report.precision.max_ci_width"):
        report.district_table(report.load_context(DEMO, root=root))


def test_no_raw_code_names_in_the_reliability_and_weighting_tables(vi_ctx):
    """Issue 15 (8): block names, fit-index codes and frame columns are shown in words."""
    text = _text(report.section(vi_ctx, "reliability")) + _text(report.section(vi_ctx, "weighting"))
    for raw in ("used_admin", "chi2", "p_value", "commune_type", ">all<"):
        assert raw not in text, raw
    cfa = report.cfa_table(vi_ctx)
    assert list(cfa.iloc[:, 0]) == ["Mọi người trả lời", "Hộ đã thực hiện thủ tục hành chính"]
    assert {"χ²", "Bậc tự do", "Giá trị p", "CFI", "TLI", "RMSEA", "SRMR"} <= set(cfa.columns)


def test_one_kernel_chain_uses_the_ipc_kernel_manager(tmp_path, monkeypatch):
    """The default chain starts one kernel (nbclient) with the same IPC kernel manager and parameters."""
    import nbclient

    made = []

    class Stop(Exception):
        pass

    class Client:
        def __init__(self, nb, **kw):
            made.append(kw)
            raise Stop

    monkeypatch.setattr(nbclient, "NotebookClient", Client)
    with pytest.raises(Stop):
        rendering.run_notebooks(DEMO, root=tmp_path, progress=False)
    assert len(made) == 1 and made[0]["kernel_name"] == "sipas"
    assert made[0].get("kernel_manager_class") is rendering.ipc_kernel_manager_class()
    assert made[0]["resources"]["metadata"]["path"] == str(tmp_path)


def test_nbformat_import_hides_rfc3987_syntax_only_while_importing():
    import subprocess
    import sys

    code = ("import sys; from sipas.report import rendering\n"
            "with rendering._without_rfc3987_syntax():\n    import nbformat\n"
            "assert 'rfc3987_syntax' not in sys.modules, sys.modules.get('rfc3987_syntax')\n"
            "import jsonschema; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_reset_cell_gives_a_fresh_namespace_and_default_options():
    from IPython.core.interactiveshell import InteractiveShell

    import pandas as pd

    shell = InteractiveShell.instance()
    try:
        shell.run_cell("import pandas as pd; pd.set_option('display.float_format', '{:.3f}'.format); leftover = 1")
        assert pd.get_option("display.float_format") is not None
        shell.run_cell(rendering.RESET_CELL)
        assert "leftover" not in shell.user_ns and "pd" not in shell.user_ns
        assert pd.get_option("display.float_format") is None
    finally:
        pd.reset_option("display.float_format")
        InteractiveShell.clear_instance()

"""The notebooks stay thin: a code cell calls sipas and shows the result.

Every code cell of ``notebooks/*.ipynb`` is checked for what belongs in the package or in data:
no Vietnamese letters (texts a reader sees live in ``resources/report_text.yml``), no loops
(``for``/``while``, comprehensions) and no ``def``/``lambda``/``class``.  The display and count
functions the notebooks call instead are tested below.
"""

from __future__ import annotations

import ast
import json
import re
import unicodedata
from pathlib import Path

import pandas as pd
import pytest
from IPython.display import Markdown

from sipas import report
from sipas.report import weight_charts
from sipas.stages import reliability as stage_rel
from sipas.config import find_survey
from sipas.errors import ReportError
from sipas.forms.instrument import load_instrument

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))

#: Combining marks of Vietnamese letters (NFD): grave, acute, circumflex, tilde, breve, hook above, horn, dot below.
_VI_MARKS = {"\u0300", "\u0301", "\u0302", "\u0303", "\u0306", "\u0309", "\u031b", "\u0323"}

#: Syntax that makes a cell a program rather than a call.
_LOGIC = {ast.For: "for loop", ast.AsyncFor: "for loop", ast.While: "while loop", ast.comprehension: "comprehension",
          ast.FunctionDef: "def", ast.AsyncFunctionDef: "def", ast.Lambda: "lambda", ast.ClassDef: "class"}


def _vietnamese_letters(text: str) -> list[str]:
    """Letters of ``text`` that are Vietnamese: đ/Đ, or a Latin letter with a Vietnamese diacritic."""
    found = []
    for ch in text:
        decomposed = unicodedata.normalize("NFD", ch)
        if ch in "đĐ" or (decomposed[0].isascii() and decomposed[0].isalpha()
                          and any(m in _VI_MARKS for m in decomposed[1:])):
            found.append(ch)
    return found


def _logic(source: str) -> list[str]:
    """Loops and definitions in a cell's Python source (IPython magics and shell lines are skipped)."""
    code = "\n".join("" if re.match(r"\s*[%!]", line) else line for line in source.splitlines())
    return sorted({name for node in ast.walk(ast.parse(code)) for kind, name in _LOGIC.items()
                   if isinstance(node, kind)})


def _code_cells(path: Path) -> list[tuple[int, str]]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [(i, "".join(c["source"])) for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"]


def test_notebooks_found():
    names = {p.stem for p in NOTEBOOKS}
    assert set(report.NOTEBOOKS) <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_cells_hold_no_text_loop_or_definition(path: Path):
    problems = []
    for i, source in _code_cells(path):
        letters = _vietnamese_letters(source)
        if letters:
            problems.append(f"cell {i}: Vietnamese letters {''.join(dict.fromkeys(letters))!r} "
                            "(put the text in sipas/resources/report_text.yml)")
        logic = _logic(source)
        if logic:
            problems.append(f"cell {i}: {', '.join(logic)} (move it into a sipas function)")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_are_committed_without_outputs(path: Path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4
    for i, c in enumerate(nb["cells"]):
        if c["cell_type"] == "code":
            assert c["outputs"] == [] and c["execution_count"] is None, f"{path.name} cell {i}"


def test_the_checks_catch_what_they_should():
    assert _vietnamese_letters('Markdown("Không hiệu chỉnh.")') == ["ô", "ệ", "ỉ"]
    assert _vietnamese_letters('res.tables["cleaning_summary"]  # x · y') == []
    assert _logic("for s in x:\n    display(s)") == ["for loop"]
    assert _logic("while True:\n    break") == ["while loop"]
    assert _logic("[f(v) for v in x]") == ["comprehension"]
    assert _logic("f = lambda v: v\ndef g():\n    pass") == ["def", "lambda"]
    assert _logic("%matplotlib inline\nres.tables.get('x', None)") == []


# --------------------------------------------------------------------------- texts

def test_notebook_text_in_both_languages():
    assert report.notebook_text("cleaning.no_recheck") == "Chưa cấu hình phúc tra (fieldwork.recheck)."
    assert report.notebook_text("cleaning.no_recheck", lang="en") == "No recheck is configured (fieldwork.recheck)."
    assert (report.notebook_text("reliability.criterion_heading", lang="vi", criterion="1.1", label="Quan tâm")
            == "Tiêu chí 1.1 · Quan tâm")
    import string

    for notebook, keys in report.texts()["notebooks"].items():
        for key, text in keys.items():
            # every placeholder the text has (in either language), filled with a dummy value
            names = {f for lang_text in (text.values() if isinstance(text, dict) else [text])
                     for _, f, _, _ in string.Formatter().parse(str(lang_text)) if f}
            assert report.notebook_text(f"{notebook}.{key}", lang="en", **{n: 0 for n in names})


def test_notebook_text_unknown_key():
    with pytest.raises(ReportError, match="notebooks.cleaning.nope"):
        report.notebook_text("cleaning.nope")
    with pytest.raises(ReportError):
        report.notebook_text("cleaning")


# --------------------------------------------------------------------------- reliability displays

def _efa(own: dict[tuple[str, str], bool], factors: int = 2) -> pd.DataFrame:
    rows = []
    for (model, item), flag in own.items():
        for f in range(factors):
            rows.append({"model": model, "item": item, "criterion": "1.1", "factor": f"{f + 1}.1",
                         "loading": 0.1 * (f + 1), "own_factor": flag})
    return pd.DataFrame(rows)


def test_own_factor_count():
    efa = _efa({("all", "a1"): True, ("all", "a2"): False, ("all", "a3"): True, ("used_admin", "b1"): True})
    assert stage_rel.own_factor_count(efa) == (3, 4)
    # read back from CSV the flags may be text
    assert stage_rel.own_factor_count(efa.assign(own_factor=efa["own_factor"].astype(str))) == (3, 4)
    assert stage_rel.own_factor_count(_efa({("all", "a1"): False})) == (0, 1)


def test_own_factor_note():
    efa = _efa({("all", "a1"): True, ("all", "a2"): False})
    note = stage_rel.own_factor_note(efa)
    assert isinstance(note, Markdown)
    assert note.data == "Câu hỏi tải mạnh nhất lên nhân tố của chính tiêu chí mình: **1 / 2**."
    assert stage_rel.own_factor_note(efa, lang="en").data.endswith("**1 / 2**.")


def test_own_factor_note_names_blocks_not_estimated_and_never_says_0_of_0():
    empty = _efa({("all", "a1"): True}).iloc[0:0]
    why = {"all": "exploratory analysis: the oblimin rotation did not converge in 1000 iterations (`x`)"}
    note = stage_rel.own_factor_note(empty, not_estimable=why, lang="en").data
    assert "0 / 0" not in note
    assert note.startswith(f"**{stage_rel.model_label('all', lang='en')}**: could not be estimated")
    assert "did not converge in 1000 iterations ('x')" in note          # the reason, its backticks neutralised
    vi = stage_rel.own_factor_note(empty, not_estimable=why).data
    assert "không ước lượng được" in vi and "0 / 0" not in vi
    # one block estimated, one not: both sentences
    both = stage_rel.own_factor_note(_efa({("all", "a1"): True}), not_estimable={"used_admin": "singular"},
                                     lang="en").data
    assert "could not be estimated" in both and both.endswith("**1 / 1**.")


def test_efa_displays():
    efa = _efa({("all", "a1"): True, ("all", "a2"): True, ("used_admin", "b1"): False})
    shown = stage_rel.efa_displays(efa)
    assert isinstance(shown, stage_rel.Displays) and len(shown) == 4
    assert [d.data for d in shown[::2]] == ["### Mọi người trả lời", "### Hộ đã thực hiện thủ tục hành chính"]
    assert list(shown[1].index.get_level_values("item")) == ["a1", "a2"]
    assert list(shown[3].columns) == ["Nhân tố 1.1", "Nhân tố 2.1"]


def test_criterion_displays():
    cfg = find_survey("demo-laichau-2024", root=REPO)
    inst = load_instrument(cfg.instrument_id, cfg.instrument_version)
    criteria = pd.DataFrame([{"criterion": "1.1", "k": 2, "n": 100, "alpha": 0.78, "std_alpha": 0.78,
                              "ci_low": 0.7, "ci_high": 0.84}])
    items = pd.DataFrame([{"criterion": "1.1", "item": item, "n": 100, "mean": 3.9, "sd": 0.9, "item_total_r": 0.64,
                           "alpha_if_deleted": float("nan"), "flag": None} for item in ("q1_1", "q1_2")])
    shown = stage_rel.criterion_displays(criteria, items, inst)
    assert len(shown) == 3
    assert shown[0].data == "### Tiêu chí 1.1 · Quan tâm đến chính sách công"
    assert len(shown[1]) == 1 and list(shown[2]["Câu hỏi"]) == ["q1_1", "q1_2"]
    assert stage_rel.criterion_displays(criteria, items, inst, lang="en")[0].data == \
        "### Criterion 1.1 · Interest in public policy"


def test_displays_show_each_object(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objs: shown.extend(objs))
    stage_rel.Displays([Markdown("a"), "b"])._ipython_display_()
    assert [getattr(o, "data", o) for o in shown] == ["a", "b"]


# --------------------------------------------------------------------------- weighting displays

def test_calibration_note():
    note = weight_charts.calibration_note({"calibration": "raking", "margins": ["district", "urban"]})
    assert note.data == "Phương pháp hiệu chỉnh: **raking**; biên: district, urban."
    assert weight_charts.calibration_note({"calibration": "none"}).data == \
        "Phương pháp hiệu chỉnh: **none**; biên: không có."
    assert weight_charts.calibration_note({"calibration": "none", "margins": []}, lang="en").data == \
        "Calibration: **none**; margins: none."


def test_margins_section():
    margins = pd.DataFrame({"margin": ["district"], "level": ["A"], "population": [100.0], "before": [90.0],
                            "after": [100.0], "n": [10]})
    table = weight_charts.margins_section({"weight_margins": margins})
    assert isinstance(table, pd.DataFrame) and table["Chênh lệch sau (%)"].iloc[0] == 0
    assert weight_charts.margins_section({}).data == "Không hiệu chỉnh."
    assert weight_charts.margins_section({}, lang="en").data == "No calibration."


# --------------------------------------------------------------------------- labels in data, not in code

#: Modules whose displays the notebooks show: every label a reader sees comes from report_text.yml.
LABEL_MODULES = [REPO / "sipas" / "stages" / "reliability.py", REPO / "sipas" / "report" / "weight_charts.py",
                 REPO / "sipas" / "stages" / "weighting.py", REPO / "sipas" / "planning" / "report.py",
                 REPO / "sipas" / "planning" / "service_report.py", REPO / "sipas" / "planning" / "service_plan.py",
                 REPO / "sipas" / "sampling" / "annexes.py", REPO / "sipas" / "sampling" / "draw.py",
                 REPO / "sipas" / "kinds.py", REPO / "sipas" / "forms" / "instrument" / "rules.py",
                 REPO / "sipas" / "indices" / "merger.py"]


def _vietnamese_literals(source: str) -> list[tuple[int, str]]:
    """String constants of ``source`` (f-string parts included) with Vietnamese letters, docstrings
    (and comments, which are not in the syntax tree) left out: (line, text)."""
    tree = ast.parse(source)
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                docstrings.add(id(first.value))
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
            and _vietnamese_letters(node.value)]


@pytest.mark.parametrize("path", LABEL_MODULES, ids=lambda p: p.stem)
def test_display_modules_hold_no_vietnamese_literal(path: Path):
    found = _vietnamese_literals(path.read_text(encoding="utf-8"))
    assert not found, (f"{path.relative_to(REPO)}: Vietnamese string literals (put the label in "
                       f"sipas/resources/report_text.yml under labels:): " + "; ".join(f"line {n}: {t!r}" for n, t in found))


def test_the_literal_check_catches_what_it_should():
    source = ('"""Mô-đun."""\n'
              'def f():\n    """Hàm."""\n    # chú thích\n    return "Số phiếu"\n'
              'class C:\n    """Lớp."""\n    x = f"{1} hộ"\n')
    assert _vietnamese_literals(source) == [(5, "Số phiếu"), (8, " hộ")]
    assert _vietnamese_literals('"""Chỉ docstring."""\nx = "plain"\n') == []


def test_labels_have_both_languages():
    def leaves(node, path):
        if isinstance(node, dict) and "vi" in node:
            yield path, node
        else:
            for k, v in node.items():
                yield from leaves(v, f"{path}.{k}")

    found = list(leaves(report.texts()["labels"], "labels"))
    assert len(found) > 40
    for path, text in found:
        assert set(text) == {"vi", "en"} and text["vi"] and text["en"], path
        assert not _vietnamese_letters(text["en"]), path


# --------------------------------------------------------------------------- displays in English

def test_reliability_tables_in_english():
    cfg = find_survey("demo-laichau-2024", root=REPO)
    inst = load_instrument(cfg.instrument_id, cfg.instrument_version)
    criteria = pd.DataFrame([{"criterion": "1.1", "k": 2, "n": 100, "alpha": 0.78, "std_alpha": 0.78,
                              "ci_low": 0.7, "ci_high": 0.84}])
    items = pd.DataFrame([{"criterion": "1.1", "item": item, "n": 100, "mean": 3.9, "sd": 0.9, "item_total_r": 0.2,
                           "alpha_if_deleted": 0.8, "flag": flag}
                          for item, flag in (("q1_1", "alpha_if_deleted > alpha; item_total_r < 0.3"),
                                             ("q1_2", None))])
    vi = stage_rel.criterion_sections(criteria, items, inst)[0]
    en = stage_rel.criterion_sections(criteria, items, inst, language="en")[0]
    assert list(vi.summary.columns) == ["Số câu hỏi (k)", "Số phiếu (n)", "Cronbach's alpha", "KTC 95% – cận dưới",
                                        "KTC 95% – cận trên", "Alpha chuẩn hoá"]
    assert list(en.summary.columns) == ["Items (k)", "Forms (n)", "Cronbach's alpha", "95% CI – lower bound",
                                        "95% CI – upper bound", "Standardised alpha"]
    assert list(vi.items.columns) == ["Câu hỏi", "Nội dung", "n", "Trung bình", "Độ lệch chuẩn",
                                      "Tương quan câu hỏi–tổng (r.drop)", "Alpha nếu bỏ câu hỏi", "Cảnh báo (flag)"]
    assert list(en.items.columns) == ["Item", "Wording", "n", "Mean", "Standard deviation",
                                      "Corrected item-total correlation (r.drop)", "Alpha if the item is dropped",
                                      "Flag"]
    assert list(vi.items["Cảnh báo (flag)"]) == ["alpha tăng nếu bỏ câu hỏi; tương quan câu hỏi–tổng < 0,3", ""]
    assert list(en.items["Flag"]) == ["alpha rises if the item is dropped; item-total correlation < 0.3", ""]
    shown = stage_rel.criterion_displays(criteria, items, inst, lang="en")
    assert list(shown[2].columns) == list(en.items.columns)


def test_cfa_and_efa_in_english():
    fit = pd.DataFrame({"model": ["all", "used_admin+has_pupil", "x"], "index": ["CFI", "RMSEA", "TLI"],
                        "value": [0.97, 0.08, 0.9], "threshold": [">= 0.95", "<= 0.06", None],
                        "ok": [True, "False", None]})
    vi = stage_rel.cfa_fit_display(fit)
    assert list(vi.columns) == ["Mô hình (mẫu)", "Chỉ số (index)", "Giá trị", "Ngưỡng (Hu & Bentler 1999)", "Kết luận"]
    assert list(vi["Kết luận"]) == ["Đạt", "Không đạt", ""]
    assert vi["Mô hình (mẫu)"].iloc[1] == "Hộ đã thực hiện thủ tục hành chính và Hộ có con học tiểu học công lập"
    en = stage_rel.cfa_fit_display(fit, lang="en")
    assert list(en.columns) == ["Model (sample)", "Index", "Value", "Cut-off (Hu & Bentler 1999)", "Conclusion"]
    assert list(en["Conclusion"]) == ["Met", "Not met", ""]
    assert list(en["Model (sample)"]) == ["All respondents",
                                          "Households that used an administrative procedure and Households with a "
                                          "child at a public primary school", "x"]
    assert stage_rel.model_label("used_health", lang="en") == "Households treated at a public health facility"
    efa = _efa({("all", "a1"): True, ("used_admin", "b1"): False})
    shown = stage_rel.efa_displays(efa, lang="en")
    assert [d.data for d in shown[::2]] == ["### All respondents",
                                            "### Households that used an administrative procedure"]
    assert list(shown[1].columns) == ["Factor 1.1", "Factor 2.1"]
    assert list(stage_rel.efa_matrix(efa, "all", lang="en").columns) == ["Factor 1.1", "Factor 2.1"]


def _margins() -> pd.DataFrame:
    return pd.DataFrame({"margin": ["district", "urban", "urban"], "level": ["A", "urban", "rural"],
                         "population": [100.0, 40.0, 60.0], "before": [90.0, 30.0, 70.0],
                         "after": [100.0, 40.0, 60.0], "n": [10, 4, 6]})


def test_margins_display_in_english():
    vi = weight_charts.margins_display(_margins())
    assert list(vi.columns) == ["Biên (margin)", "Nhóm (level)", "Số hộ tổng thể (population)",
                                "Tổng trọng số trước (before)", "Tổng trọng số sau (after)", "Chênh lệch trước (%)",
                                "Chênh lệch sau (%)", "Số phiếu (n)"]
    assert list(vi["Biên (margin)"]) == ["Huyện", "Thành thị/nông thôn", "Thành thị/nông thôn"]
    assert list(vi["Nhóm (level)"]) == ["A", "Thành thị", "Nông thôn"]
    en = weight_charts.margins_section({"weight_margins": _margins()}, lang="en")
    assert list(en.columns) == ["Margin", "Level", "Households in the population", "Sum of weights before",
                                "Sum of weights after", "Gap before (%)", "Gap after (%)", "Forms (n)"]
    assert list(en["Margin"]) == ["District", "Urban/rural", "Urban/rural"]
    assert list(en["Level"]) == ["A", "Urban", "Rural"]
    assert en["Gap before (%)"].iloc[0] == pytest.approx(-10.0)


def _figure_texts(fig) -> list[str]:
    import matplotlib.pyplot as plt

    found = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        found += [ax.get_title(loc="left"), ax.get_xlabel(), ax.get_ylabel()]
        found += [t.get_text() for t in ax.get_yticklabels()]
        legend = ax.get_legend()
        if legend is not None:
            found += [t.get_text() for t in legend.get_texts()]
    plt.close(fig)
    return [t for t in found if t]


def test_weight_charts_in_english():
    weights = pd.DataFrame({"w_design": [10.0, 20.0, 30.0], "w_nr": [11.0, 22.0, 33.0], "w_final": [12.0, 21.0, 35.0]})
    vi = _figure_texts(weight_charts.weight_histogram(weights))
    assert {"Phân bố trọng số (weight distribution)", "Trọng số thiết kế (1/π)", "Số phiếu", "trung bình (mean)",
            "Trọng số (số hộ mà mỗi phiếu đại diện) – thang log"} <= set(vi)
    en = _figure_texts(weight_charts.weight_histogram(weights, lang="en"))
    assert {"Weight distribution", "Design weight (1/π)", "After nonresponse adjustment",
            "Final weight (after calibration)", "Forms", "mean",
            "Weight (households each form represents) – log scale"} <= set(en)
    assert not any(_vietnamese_letters(t) for t in en)
    assert "Weight (households each form represents)" in _figure_texts(
        weight_charts.weight_histogram(weights, log=False, lang="en"))
    assert "Own title" in _figure_texts(weight_charts.weight_histogram(weights, title="Own title", lang="en"))
    vi = _figure_texts(weight_charts.margins_chart(_margins()))
    assert {"Biên hiệu chỉnh: trước và sau (calibration margins)", "Huyện", "Thành thị", "Số hộ", "trước (before)",
            "sau (after)", "tổng thể (population)"} <= set(vi)
    en = _figure_texts(weight_charts.margins_chart(_margins(), lang="en"))
    assert {"Calibration margins: before and after", "District", "Urban/rural", "Urban", "Rural", "Households",
            "before", "after", "population"} <= set(en)
    assert not any(_vietnamese_letters(t) for t in en)


# --------------------------------------------------------------------------- texts that differ by survey kind

#: Words that describe the household (and national) design: communes, wards, villages, households, districts.
_DESIGN_WORDS_VI = re.compile(r"(?<!\w)(xã|phường|thôn|hộ|huyện)(?!\w)", re.IGNORECASE)
_DESIGN_WORDS_EN = re.compile(r"\b(communes?|wards?|villages?|households?|districts?)\b", re.IGNORECASE)


def _kind_leaves(node, path=""):
    """``(dotted key, {vi, en})`` of every text under one kind's entry of ``notebooks_by_kind``."""
    if isinstance(node, dict) and "vi" in node:
        yield path, node
        return
    for k, v in node.items():
        yield from _kind_leaves(v, f"{path}.{k}" if path else k)


def _notebook_kind_keys() -> set[str]:
    """Keys the notebooks ask their kind for (``cfg.kind.notebook_text("<key>", ...)``)."""
    found = set()
    for path in NOTEBOOKS:
        for _, source in _code_cells(path):
            found |= set(re.findall(r"""cfg\.kind\.notebook_text\(\s*["']([\w.]+)["']""", source))
    return found


def test_every_kind_has_every_notebook_text_in_both_languages():
    from sipas.kinds import KINDS

    by_kind = report.texts()["notebooks_by_kind"]
    assert set(by_kind) == set(KINDS), "one entry per survey kind of sipas/kinds.py"
    keys = {name: {k for k, _ in _kind_leaves(by_kind[name])} for name in KINDS}
    union = set().union(*keys.values())
    for name, kind in KINDS.items():
        assert keys[name] == union, f"{name} lacks {sorted(union - keys[name])}"
        for key, text in _kind_leaves(by_kind[name]):
            assert set(text) == {"vi", "en"} and text["vi"].strip() and text["en"].strip(), (name, key)
            assert not _vietnamese_letters(text["en"]), (name, key)
            for lang in ("vi", "en"):   # no placeholder: literal braces are doubled
                assert kind.notebook_text(key, lang=lang) == text[lang].format(), (name, key, lang)
    # what the notebooks ask for exists (the weighting histogram also asks for its axis)
    asked = _notebook_kind_keys() | {"weighting.weight_axis", "weighting.weight_axis_log"}
    assert {"weighting.intro", "weighting.strata", "weighting.margins", "indices.intro"} <= asked
    assert asked <= union, sorted(asked - union)


def test_unknown_kind_text_is_a_report_error():
    from sipas.kinds import KINDS

    with pytest.raises(ReportError, match="notebooks_by_kind.service_user.weighting.nope"):
        KINDS["service_user"].notebook_text("weighting.nope")


def test_markdown_cells_describe_no_kind_design():
    """The notebooks' own prose is the same for every kind: what differs (communes and villages, one-stop
    units, provinces) comes from the kind (``notebooks_by_kind``), shown by a code cell."""
    problems = []
    for path in NOTEBOOKS:
        if path.stem == "06_planning":   # household planning only (sipas plan), not a stage of every kind
            continue
        nb = json.loads(path.read_text(encoding="utf-8"))
        for i, c in enumerate(nb["cells"]):
            text = "".join(c["source"])
            if c["cell_type"] == "markdown" and _DESIGN_WORDS_VI.search(text):
                problems.append(f"{path.name} cell {i}: {_DESIGN_WORDS_VI.search(text).group(0)!r}")
    assert not problems, problems


def test_service_user_design_texts_name_units_not_communes():
    from sipas.kinds import KINDS

    su, hh = KINDS["service_user"], KINDS["household"]
    for key in ("weighting.intro", "weighting.strata", "weighting.margins", "weighting.weight_axis",
                "indices.intro", "cleaning.response_rates"):
        vi, en = su.notebook_text(key), su.notebook_text(key, lang="en")
        assert not _DESIGN_WORDS_VI.search(vi), (key, _DESIGN_WORDS_VI.search(vi))
        assert not _DESIGN_WORDS_EN.search(en), (key, _DESIGN_WORDS_EN.search(en))
        assert vi != hh.notebook_text(key)
    assert "Bộ phận tiếp nhận và trả kết quả" in su.notebook_text("weighting.intro")
    assert _DESIGN_WORDS_VI.search(hh.notebook_text("weighting.intro"))        # the household design does
    assert "tỉnh, thành phố" in KINDS["national"].notebook_text("weighting.intro")


def test_weight_axis_says_what_a_form_represents_in_the_kind():
    from sipas.kinds import KINDS

    weights = pd.DataFrame({"w_design": [10.0, 20.0, 30.0], "w_nr": [11.0, 22.0, 33.0], "w_final": [12.0, 21.0, 35.0]})
    su = KINDS["service_user"]
    for lang in ("vi", "en"):
        texts = _figure_texts(weight_charts.weight_histogram(weights, lang=lang, kind=su))
        assert su.notebook_text("weighting.weight_axis_log", lang=lang) in texts
        assert not any(_DESIGN_WORDS_VI.search(t) or _DESIGN_WORDS_EN.search(t) for t in texts), texts
    assert "Weight (households each form represents) – log scale" in _figure_texts(
        weight_charts.weight_histogram(weights, lang="en", kind=KINDS["household"]))


def test_margins_section_shows_a_service_user_surveys_post_strata():
    cells = pd.DataFrame({"unit": ["A", "B"], "transactions": [100, 40], "forms": [20, 10],
                          "sampling_fraction": [0.2, 0.25], "by_field": [True, "False"],
                          "reason": ["", "field_with_few_forms"]})
    vi = weight_charts.margins_section({"weight_cells": cells})
    assert list(vi.columns) == ["Đơn vị", "Số hồ sơ trả kết quả trong thời gian khảo sát", "Số phiếu hợp lệ",
                                "Tỷ lệ chọn", "Tách theo lĩnh vực thủ tục", "Lý do không tách"]
    assert list(vi["Tách theo lĩnh vực thủ tục"]) == ["Có", "Không"]
    assert list(vi["Lý do không tách"]) == ["", "Có lĩnh vực quá ít phiếu hợp lệ (dưới 2)"]
    en = weight_charts.margins_section({"weight_cells": cells}, lang="en")
    assert list(en["Split by procedure field"]) == ["Yes", "No"] and en["Transactions returned in the window"].sum() == 140
    assert not any(_vietnamese_letters(str(c)) for c in en.columns)


@pytest.fixture(scope="module")
def service_weighting_notebook(tmp_path_factory):
    """``03_weighting`` executed for the exit-mode service-user demo (seed 002), with the survey's config."""
    from conftest import raw_copy_root

    from sipas.cli import main
    from sipas.report import rendering

    sid = "demo-thuannam-2023"
    root = raw_copy_root(tmp_path_factory, "nb-service", (sid,))
    assert main(["--root", str(root), "clean", "--survey", sid]) == 0
    [out] = rendering.run_notebooks(sid, root=root, notebooks=("03_weighting",), progress=False)
    return json.loads(out.read_text(encoding="utf-8")), find_survey(sid, root=root)


def _prose(nb) -> list[str]:
    """What a reader of an executed notebook reads as text: markdown cells and Markdown outputs."""
    found = []
    for c in nb["cells"]:
        if c["cell_type"] == "markdown":
            found.append("".join(c["source"]))
        for o in c.get("outputs", []):
            md = o.get("data", {}).get("text/markdown")
            if md is not None:
                found.append("".join(md))
            assert o.get("output_type") != "error", o
    return found


def test_rendered_weighting_notebook_describes_the_service_user_design(service_weighting_notebook):
    """Issue: the weighting notebook described communes, villages and households for every kind."""
    from sipas.kinds import KINDS

    nb, cfg = service_weighting_notebook
    assert cfg.kind is KINDS["service_user"]
    prose = _prose(nb)
    text = "\n".join(prose)
    for key in ("weighting.intro", "weighting.strata", "weighting.margins"):
        assert cfg.kind.notebook_text(key, lang=cfg.language) in prose, key          # its own design ...
        for other in ("household", "national"):                                       # ... not another's
            assert KINDS[other].notebook_text(key, lang=cfg.language) not in text, (other, key)
    found = _DESIGN_WORDS_VI.search(text)
    assert found is None, f"communes/villages/households in the service-user notebook: {found.group(0)!r}"
    assert "đơn vị" in text and "hồ sơ" in text and "Bộ phận tiếp nhận và trả kết quả" in text
    # the post-strata table (unit x procedure field), not "no calibration"
    assert report.notebook_text("weighting.no_calibration", lang=cfg.language) not in prose
    html = "".join("".join(o.get("data", {}).get("text/html", "")) for c in nb["cells"] for o in c.get("outputs", []))
    assert "Tách theo lĩnh vực thủ tục" in html


def test_cfa_blocks_note_follows_the_questionnaire():
    """The CFA paragraph named the 2023.1 household blocks (1.1 ... 2.8) for every questionnaire."""
    note = stage_rel.cfa_blocks_note(load_instrument("household", "2024.1")).data
    assert note.splitlines() == ["* **Mọi người trả lời**: tiêu chí 2A.1, 2A.2, 2A.3, 2A.4",
                                 "* **Hộ đã thực hiện thủ tục hành chính**: tiêu chí 2B.1, 2B.2, 2B.3, 2B.4, 2B.5"]
    old = stage_rel.cfa_blocks_note(load_instrument("household", "2023.1"), lang="en").data
    assert old.splitlines()[-1] == ("* **Households with a child at a public primary school and Households treated "
                                    "at a public health facility**: criteria 2.7, 2.8")
    su = stage_rel.cfa_blocks_note(load_instrument("service_user", "2017.1")).data
    assert su == ("* **Mọi người trả lời**: tiêu chí 1, 2, 3, 4\n\n"
                  "Không đưa vào CFA (khối chỉ có một tiêu chí): tiêu chí 5.")

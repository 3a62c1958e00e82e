"""Survey kinds (sipas.kinds): declared once, asked by config, check, sample and the report."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from sipas.cli import main
from sipas.config import load_config
from sipas.errors import ConfigError
from sipas.kinds import KINDS, get_kind
from sipas.report.sections import SECTIONS, section

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "raw" / "demo-laichau-2024"


def _copy_demo(tmp_path: Path, edit) -> Path:
    dst = tmp_path / "data" / "raw" / DEMO.name
    shutil.copytree(DEMO, dst)
    text = (dst / "survey.yml").read_text(encoding="utf-8")
    (dst / "survey.yml").write_text(edit(text), encoding="utf-8")
    return dst


def test_default_kind_is_household():
    cfg = load_config(DEMO)
    assert cfg.kind is KINDS["household"]
    assert cfg.kind.default_design("three_tier") == {"strata": "district", "psu": "commune", "report_unit": "district"}
    assert cfg.kind.required_frames() == ("communes", "villages", "households")


def test_explicit_household_kind_is_the_same(tmp_path):
    d = _copy_demo(tmp_path, lambda t: t + "kind: household\n")
    assert load_config(d).kind is KINDS["household"]


@pytest.mark.parametrize("value, words", [
    ("hospital", "unknown survey kind 'hospital'"),
])
def test_unknown_or_planned_kind_names_the_key(tmp_path, value, words):
    d = _copy_demo(tmp_path, lambda t: t + f"kind: {value}\n")
    with pytest.raises(ConfigError) as e:
        load_config(d)
    assert e.value.key == "kind" and words in str(e.value) and "survey.yml" in str(e.value)


def test_instrument_family_must_match_the_kind(tmp_path):
    d = _copy_demo(tmp_path, lambda t: t.replace("  id: household\n", "  id: service_user\n"))
    with pytest.raises(ConfigError) as e:
        load_config(d)
    assert e.value.key == "instrument.id" and "household" in str(e.value)


def test_service_user_kind_refuses_the_household_instrument(tmp_path):
    d = _copy_demo(tmp_path, lambda t: t + "kind: service_user\n")
    with pytest.raises(ConfigError) as e:
        load_config(d)
    assert e.value.key == "instrument.id" and "service_user" in str(e.value)


def test_get_kind_unknown_is_config_error():
    with pytest.raises(ConfigError):
        get_kind("nope")


def test_check_names_the_kind_and_its_frames(tmp_path, capsys):
    _copy_demo(tmp_path, lambda t: t)
    assert main(["--root", str(tmp_path), "check", "--survey", DEMO.name]) == 0
    out = capsys.readouterr().out
    assert "household survey" in out
    for name in ("communes", "villages", "households"):
        assert f"frame {name}:" in out and "required columns present" in out


def test_check_reports_a_frame_missing_a_required_column(tmp_path, capsys):
    d = _copy_demo(tmp_path, lambda t: t)
    f = d / "frames" / "villages.csv"
    lines = f.read_text(encoding="utf-8").splitlines()
    lines[0] = lines[0].replace("has_commune_hq", "hq")
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["--root", str(tmp_path), "check", "--survey", DEMO.name]) == 2
    err = capsys.readouterr().err
    assert "villages.csv" in err and "has_commune_hq" in err and "Traceback" not in err


class _Ctx:
    def __init__(self, cfg):
        self.cfg = cfg


def test_report_renders_only_the_kinds_sections():
    cfg = load_config(DEMO)
    assert set(cfg.kind.report_sections) <= set(SECTIONS)
    narrow = dataclasses.replace(cfg.kind, report_sections=("summary",))
    ctx = _Ctx(dataclasses.replace(cfg, kind=narrow))
    # a section the kind does not render gives no blocks (without reading any table)
    assert section(ctx, "ranking") == []


def test_kinds_labels_are_texts_of_report_text_yml():
    """What a kind and its frames are called is data (labels.kinds of report_text.yml), in vi and en."""
    from sipas.errors import ReportError
    from sipas.text.labels import LabelText, label_text

    for name, kind in KINDS.items():
        assert dict(kind.label) == label_text(f"kinds.{name}.label")
        assert kind.label["vi"] and kind.label["en"]
        for f in kind.frames:
            assert dict(f.label) == label_text(f"kinds.{name}.frames.{f.name}")
        for structure in kind.design.structures:
            for labels in kind.unit_labels(structure).values():
                assert set(labels) == {"vi", "en"} and all(labels.values())
    assert KINDS["household"].label == {"vi": "Khảo sát hộ gia đình", "en": "Household survey"}
    with pytest.raises(ReportError, match="labels.kinds.no_such_kind"):
        dict(LabelText("kinds.no_such_kind"))

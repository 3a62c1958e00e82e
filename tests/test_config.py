"""survey.yml validation: clear errors naming the file and the key."""

from pathlib import Path

import pytest

from sipas.config import find_survey, load_config
from sipas.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent
GOOD = (REPO / "data" / "raw" / "demo-laichau-2024" / "survey.yml").read_text(encoding="utf-8")


def write(tmp_path: Path, text: str, sid: str = "demo-laichau-2024") -> Path:
    d = tmp_path / sid
    d.mkdir(parents=True, exist_ok=True)
    p = d / "survey.yml"
    p.write_text(text, encoding="utf-8")
    return p


def test_demo_config_loads():
    cfg = find_survey("demo-laichau-2024", root=REPO)
    assert cfg.year == 2024 and cfg.language == "vi" and cfg.min_cell_size == 30
    assert cfg.instrument_id == "household"
    assert all(p.is_file() for p in cfg.frames.values())
    assert cfg.extra["previous_survey"] == "demo-laichau-2023"


@pytest.mark.parametrize("edit, key, words", [
    (lambda t: t.replace("year: 2024", "year: 1999"), "year", "between 2000 and 2100"),
    (lambda t: t.replace("language: vi", "language: fr"), "language", "one of vi, en"),
    (lambda t: t.replace("seed: 20240905", "seed: -1"), "seed", "non-negative"),
    (lambda t: t.replace("min_cell_size: 30", "min_cell_size: 0"), "min_cell_size", ">= 1"),
    (lambda t: t.replace("structure: three_tier", "structure: four_tier"), "structure", "three_tier"),
    (lambda t: t.replace("survey_id: demo-laichau-2024", "survey_id: other"), "survey_id", "folder name"),
])
def test_bad_values_name_the_key(tmp_path, edit, key, words):
    p = write(tmp_path, edit(GOOD))
    with pytest.raises(ConfigError) as e:
        load_config(p, check_files=False)
    assert e.value.key == key
    assert words in str(e.value)
    assert str(p) in str(e.value)


def test_missing_and_unknown_keys(tmp_path):
    p = write(tmp_path, "\n".join(l for l in GOOD.splitlines() if not l.startswith("seed:")))
    with pytest.raises(ConfigError, match="missing required key.*seed"):
        load_config(p, check_files=False)
    p = write(tmp_path, GOOD + "colour: blue\n")
    with pytest.raises(ConfigError, match="unknown key.*colour"):
        load_config(p, check_files=False)


def test_invalid_yaml_gives_line(tmp_path):
    p = write(tmp_path, "survey_id: [unclosed\n")
    with pytest.raises(ConfigError, match="invalid YAML at line"):
        load_config(p)


def test_missing_frame_file(tmp_path):
    p = write(tmp_path, GOOD)
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert e.value.key == "frames.communes"


def test_unknown_survey_lists_the_configured_ones():
    with pytest.raises(ConfigError, match="demo-laichau-2024"):
        find_survey("no-such-survey", root=REPO)

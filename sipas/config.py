"""Survey-year configuration: one ``survey.yml`` per survey, validated on load.

A configuration lives at ``data/raw/<survey-id>/survey.yml``; every relative path
in it is relative to that folder.  Example (the demo survey)::

    survey_id: demo-laichau-2024
    province: {vi: "Tỉnh Lai Châu (dữ liệu mô phỏng)", en: "Lai Chau province (synthetic data)"}
    year: 2024
    instrument: {id: household, version: "2023.1"}
    structure: three_tier          # province -> district -> commune, or two_tier since 1/7/2025
    frames: {communes: frames/communes.csv, villages: frames/villages.csv, households: frames/households.csv}
    responses: [responses/forms.csv]
    seed: 20240901
    language: vi
    min_cell_size: 30

Loading never modifies anything under ``data/raw``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sipas.errors import ConfigError

#: Keys a survey.yml must contain.
REQUIRED_KEYS = ("survey_id", "province", "year", "instrument", "frames", "responses", "seed", "language")
#: Keys a survey.yml may contain.
OPTIONAL_KEYS = (
    "structure", "min_cell_size", "sampling", "restricted", "truth", "previous_survey", "benchmark",
    "weighting", "fieldwork", "description", "report",
)
LANGUAGES = ("vi", "en")
STRUCTURES = ("three_tier", "two_tier")


def project_root() -> Path:
    """The repository root (the folder holding ``data/`` and ``notebooks/``).

    Taken from the ``SIPAS_ROOT`` environment variable when set, else found by
    walking up from the current directory to the first folder with ``pyproject.toml``
    and ``data/raw``, else the parent of the installed package.
    """
    import os

    env = os.environ.get("SIPAS_ROOT")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for cand in (here, *here.parents):
        if (cand / "pyproject.toml").is_file() and (cand / "data" / "raw").is_dir():
            return cand
    return Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class SurveyConfig:
    """A validated survey-year configuration.

    Attributes
    ----------
    survey_id : str
        Folder name under ``data/raw``; letters, digits, ``-`` and ``_`` only.
    province : dict
        ``{"vi": ..., "en": ...}`` display names.
    year : int
        Survey year (2000-2100).
    instrument_id, instrument_version : str
        Which questionnaire file of ``sipas/instrument/data`` the forms follow.
    structure : str
        ``"three_tier"`` (province, district, commune) or ``"two_tier"`` (since 1/7/2025).
    frames : dict[str, Path]
        Absolute paths of the frame files (``communes``, ``villages``, ``households``...).
    responses : tuple[Path, ...]
        Absolute paths of the response files.
    seed : int
        Random seed for every random step of this survey.
    language : str
        Report language, ``"vi"`` or ``"en"``.
    min_cell_size : int
        Cells with fewer respondents are suppressed in published tables.
    raw_dir : Path
        The folder holding survey.yml.
    extra : dict
        Optional sections (``sampling``, ``truth``, ``previous_survey``, ...), as written.
    """

    survey_id: str
    province: dict[str, str]
    year: int
    instrument_id: str
    instrument_version: str
    structure: str
    frames: dict[str, Path]
    responses: tuple[Path, ...]
    seed: int
    language: str
    min_cell_size: int
    raw_dir: Path
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        """Path of the survey.yml this configuration was read from."""
        return self.raw_dir / "survey.yml"

    def raw_path(self, rel: str | Path) -> Path:
        """Resolve a path written in the config relative to its folder."""
        return (self.raw_dir / rel).resolve()

    def processed_dir(self, root: Path | None = None) -> Path:
        """``<root>/data/processed/<survey_id>``."""
        return (root or project_root()) / "data" / "processed" / self.survey_id

    def reports_dir(self, root: Path | None = None) -> Path:
        """``<root>/reports/<survey_id>``."""
        return (root or project_root()) / "reports" / self.survey_id


def _fail(msg: str, path: Path, key: str | None = None) -> ConfigError:
    return ConfigError(msg, file=path, key=key)


def _label(value: Any, path: Path, key: str) -> dict[str, str]:
    if isinstance(value, str):
        return {"vi": value, "en": value}
    if not isinstance(value, dict) or "vi" not in value:
        raise _fail("must be a text or a mapping with at least a 'vi' entry", path, key)
    out = {str(k): str(v) for k, v in value.items()}
    out.setdefault("en", out["vi"])
    return out


def load_config(path: str | Path, *, check_files: bool = True) -> SurveyConfig:
    """Load and validate a survey.yml.

    Parameters
    ----------
    path : str or Path
        A ``survey.yml`` file, or the folder holding one.
    check_files : bool, default True
        Also check that every frame and response file exists.

    Returns
    -------
    SurveyConfig

    Raises
    ------
    ConfigError
        Naming the file and the key when anything is missing or malformed.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "survey.yml"
    if not p.is_file():
        raise ConfigError("survey configuration file not found", file=p)
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=p) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"invalid YAML{where}: {getattr(exc, 'problem', exc)}", file=p) from exc
    if not isinstance(raw, dict):
        raise ConfigError("must be a YAML mapping of keys to values", file=p)

    missing = [k for k in REQUIRED_KEYS if k not in raw]
    if missing:
        raise _fail(f"missing required key(s): {', '.join(missing)}", p)
    unknown = sorted(set(raw) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    if unknown:
        raise _fail(f"unknown key(s): {', '.join(unknown)}; allowed: "
                    f"{', '.join(REQUIRED_KEYS + OPTIONAL_KEYS)}", p)

    sid = raw["survey_id"]
    if not isinstance(sid, str) or not sid or not all(c.isalnum() or c in "-_" for c in sid):
        raise _fail("must be a non-empty text of letters, digits, '-' or '_'", p, "survey_id")
    if sid != p.parent.name:
        raise _fail(f"survey_id {sid!r} differs from its folder name {p.parent.name!r}", p, "survey_id")

    year = raw["year"]
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise _fail(f"must be a whole year between 2000 and 2100, got {year!r}", p, "year")

    inst = raw["instrument"]
    if not isinstance(inst, dict) or not {"id", "version"} <= set(inst):
        raise _fail("must be a mapping with 'id' and 'version'", p, "instrument")

    structure = raw.get("structure", "three_tier")
    if structure not in STRUCTURES:
        raise _fail(f"must be one of {', '.join(STRUCTURES)}, got {structure!r}", p, "structure")

    seed = raw["seed"]
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise _fail(f"must be a non-negative whole number, got {seed!r}", p, "seed")

    lang = raw["language"]
    if lang not in LANGUAGES:
        raise _fail(f"must be one of {', '.join(LANGUAGES)}, got {lang!r}", p, "language")

    mcs = raw.get("min_cell_size", 30)
    if isinstance(mcs, bool) or not isinstance(mcs, int) or mcs < 1:
        raise _fail(f"must be a whole number >= 1, got {mcs!r}", p, "min_cell_size")

    frames_raw = raw["frames"]
    if not isinstance(frames_raw, dict) or not frames_raw:
        raise _fail("must be a mapping of frame name to file", p, "frames")
    frames = {str(k): (p.parent / str(v)).resolve() for k, v in frames_raw.items()}

    resp_raw = raw["responses"]
    if isinstance(resp_raw, str):
        resp_raw = [resp_raw]
    if not isinstance(resp_raw, list) or not resp_raw:
        raise _fail("must be a file or a non-empty list of files", p, "responses")
    responses = tuple((p.parent / str(v)).resolve() for v in resp_raw)

    if check_files:
        for name, f in frames.items():
            if not f.is_file():
                raise _fail(f"frame file not found: {f}", p, f"frames.{name}")
        for f in responses:
            if not f.is_file():
                raise _fail(f"response file not found: {f}", p, "responses")

    extra = {k: raw[k] for k in OPTIONAL_KEYS if k in raw and k not in ("structure", "min_cell_size")}
    return SurveyConfig(
        survey_id=sid,
        province=_label(raw["province"], p, "province"),
        year=year,
        instrument_id=str(inst["id"]),
        instrument_version=str(inst["version"]),
        structure=structure,
        frames=frames,
        responses=responses,
        seed=seed,
        language=lang,
        min_cell_size=mcs,
        raw_dir=p.parent.resolve(),
        extra=extra,
    )


def find_survey(survey_id: str, *, root: Path | None = None) -> SurveyConfig:
    """Load ``<root>/data/raw/<survey_id>/survey.yml``."""
    base = (root or project_root()) / "data" / "raw" / survey_id
    if not base.is_dir():
        avail = sorted(d.name for d in ((root or project_root()) / "data" / "raw").glob("*") if (d / "survey.yml").is_file())
        raise ConfigError(f"no survey folder {survey_id!r}; configured surveys: {', '.join(avail) or 'none'}",
                          file=base)
    return load_config(base / "survey.yml")

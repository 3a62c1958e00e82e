"""Survey-year configuration: one ``survey.yml`` per survey, validated on load.

A configuration lives at ``data/raw/<survey-id>/survey.yml``; every relative path
in it is relative to that folder.  Example (the demo survey)::

    survey_id: demo-laichau-2024
    province: {vi: "Tỉnh Lai Châu (dữ liệu mô phỏng)", en: "Lai Chau province (synthetic data)"}
    year: 2024
    instrument: {id: household, version: "2023.1"}
    structure: three_tier          # province -> district -> commune, or two_tier since 1/7/2025
    design: {strata: district, psu: commune, report_unit: district}   # the default for three_tier
    frames: {communes: frames/communes.csv, villages: frames/villages.csv, households: frames/households.csv}
    responses: [responses/forms.csv]
    seed: 20240901
    language: vi
    min_cell_size: 30

Loading never modifies anything under ``data/raw``.

Every file named in it (frames, responses, ``sampling.sample_file``, ``restricted.salt_file`` and
``restricted.contacts``, ``fieldwork.distribution_log``/``recheck``/``double_entry``, ``truth``) must lie
inside the survey's folder once symbolic links are resolved (:data:`PATH_KEYS`): ``../..``, absolute
paths and links leading elsewhere are refused with a :class:`~sipas.errors.ConfigError` naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sipas.errors import ConfigError
from sipas.kinds import DEFAULT_KIND, KINDS, SurveyKind, get_kind

#: Keys a survey.yml must contain.
REQUIRED_KEYS = ("survey_id", "province", "year", "instrument", "frames", "responses", "seed", "language")
#: Keys a survey.yml may contain.
OPTIONAL_KEYS = (
    "structure", "min_cell_size", "sampling", "restricted", "truth", "previous_survey", "benchmark",
    "weighting", "fieldwork", "description", "report", "design", "kind", "index_rule", "planning", "other_indices",
)
LANGUAGES = ("vi", "en")
STRUCTURES = KINDS[DEFAULT_KIND].design.structures
#: Administrative levels above the village, top down, per structure (the columns identifying a commune);
#: declared by the survey kinds (:mod:`sipas.kinds`); where two kinds share a structure's name (the national
#: kind's ``two_tier`` starts with ``province``) the first kind's (the default's) levels are these, and the
#: other's are the survey's own (:attr:`Hierarchy.levels`).
UNIT_LEVELS = {s: levels for k in reversed(list(KINDS.values())) for s, levels in k.design.unit_levels.items()}
#: Default unit hierarchy per structure of the default kind (``design:`` in survey.yml).
DEFAULT_DESIGN = KINDS[DEFAULT_KIND].design.defaults
#: Keys of the ``design:`` section.
DESIGN_KEYS = ("strata", "psu", "report_unit")
#: Optional keys naming one file of the survey folder, as ``section.key`` (besides frames and responses).
PATH_KEYS = ("sampling.sample_file", "restricted.salt_file", "restricted.contacts", "fieldwork.distribution_log",
             "fieldwork.recheck", "fieldwork.double_entry", "fieldwork.substitutions", "truth")
#: Keys of ``weighting:`` holding column names (a name or a list of names).
WEIGHTING_COLUMN_KEYS = ("nonresponse_cells", "rake", "poststratify")


@dataclass(frozen=True)
class Hierarchy:
    """Which columns play which role in the sample design and the report.

    Attributes
    ----------
    structure : str
        ``"three_tier"`` (province -> district -> commune) or ``"two_tier"`` (province ->
        commune, since 1/7/2025, Resolution 202/2025/QH15).
    strata : str
        Stratum column: ``district`` (three-tier) or a column of the commune frame, e.g.
        ``commune_type`` (Phường / Xã / Đặc khu) or a province's own ``stratum``.
    psu : str
        Primary sampling unit column (``commune``).
    report_unit : str
        Unit of the report's tables, charts and ranking: ``district`` or ``commune`` (``unit``, a one-stop
        desk, in a service-user survey).
    element_psu : bool
        The PSU is the respondent (``respondent_key``; service-user surveys: strata = units, one stage), not a
        column of a frame.
    """

    structure: str
    strata: str
    psu: str
    report_unit: str
    element_psu: bool = False
    #: Columns identifying a commune as the survey's kind declares them (empty: those of
    #: :data:`UNIT_LEVELS` for the structure).
    levels: tuple[str, ...] = ()

    @property
    def unit_keys(self) -> tuple[str, ...]:
        """Columns identifying a commune: ``(district, commune)`` or ``(commune,)``; a national survey's
        start with ``province``."""
        return self.levels or UNIT_LEVELS[self.structure]

    @property
    def extra_levels(self) -> tuple[str, ...]:
        """Unit columns beyond the household instrument's (``province`` in a national survey): the forms
        take them from the sample list."""
        return tuple(c for c in self.unit_keys if c not in UNIT_LEVELS["three_tier"])

    @property
    def absent_levels(self) -> tuple[str, ...]:
        """Administrative levels of the three-tier structure this survey does not have (``district``
        in a two-tier survey): not expected in its forms or sample list."""
        return tuple(c for c in UNIT_LEVELS["three_tier"] if c not in self.unit_keys)

    @property
    def frame_columns(self) -> tuple[str, ...]:
        """Design columns taken from the commune frame (those that are not unit keys)."""
        roles = (self.strata, self.report_unit) if self.element_psu else (self.strata, self.psu, self.report_unit)
        return tuple(dict.fromkeys(c for c in roles if c not in self.unit_keys))


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
        Which questionnaire file of ``sipas/forms/instrument/data`` the forms follow.
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
    design : Hierarchy
        The unit hierarchy (strata, PSU, report unit), from ``design:`` or the kind's default for the
        structure (:meth:`sipas.kinds.SurveyKind.default_design`).
    kind : SurveyKind
        The survey kind (``kind:``, default ``household``): what its stages and report ask.
    other_indices : tuple[Path, ...]
        Files of other indices to show beside the survey's (``other_indices:``, CSV or XLSX inside the survey
        folder; :mod:`sipas.indices.other_indices`).
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
    design: Hierarchy = field(default_factory=lambda: Hierarchy("three_tier", **DEFAULT_DESIGN["three_tier"]))
    kind: SurveyKind = field(default_factory=lambda: KINDS[DEFAULT_KIND])
    other_indices: tuple[Path, ...] = ()

    @property
    def path(self) -> Path:
        """Path of the survey.yml this configuration was read from."""
        return self.raw_dir / "survey.yml"

    def raw_path(self, rel: str | Path, *, key: str | None = None) -> Path:
        """Resolve a path written in the config relative to its folder (symbolic links resolved).

        Raises
        ------
        ConfigError
            Naming ``key`` when the path leads outside the survey folder.
        """
        return inside_survey(rel, self.raw_dir, file=self.path, key=key or "path")

    def processed_dir(self, root: Path | None = None) -> Path:
        """``<root>/data/processed/<survey_id>``."""
        return (root or project_root()) / "data" / "processed" / self.survey_id

    def reports_dir(self, root: Path | None = None) -> Path:
        """``<root>/reports/<survey_id>``."""
        return (root or project_root()) / "reports" / self.survey_id


def _fail(msg: str, path: Path, key: str | None = None) -> ConfigError:
    return ConfigError(msg, file=path, key=key)


def inside_survey(value: Any, folder: Path, *, file: Path, key: str) -> Path:
    """The absolute, link-free path of ``value`` (relative to the survey ``folder``), which must lie inside it.

    Parameters
    ----------
    value : str or Path
        As written in survey.yml.
    folder : Path
        The survey folder ``data/raw/<survey-id>``.
    file : Path
        The survey.yml (for the message).
    key : str
        The key that names the path (for the message).

    Raises
    ------
    ConfigError
        If ``value`` is not a file name, or resolves (after ``..``, an absolute path or a symbolic link)
        outside ``folder``.
    """
    if isinstance(value, Path):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"must be a file path inside the survey folder, got {value!r}", file, key)
    if "\x00" in value:
        raise _fail("the path holds a NUL character", file, key)
    base = Path(folder).resolve()
    try:
        target = (base / value).resolve()
    except (OSError, RuntimeError) as exc:  # a symbolic-link loop
        raise _fail(f"cannot resolve {value!r}: {exc}", file, key) from exc
    if not target.is_relative_to(base):
        raise _fail(f"{value!r} leads to {target}, outside the survey folder {base}; every file of a survey "
                    "must lie inside its folder (no '..', absolute paths or links leading out)", file, key)
    return target


def _optional_paths(raw: dict[str, Any], p: Path, *, check_files: tuple[str, ...]) -> None:
    """Check the sections holding file paths (:data:`PATH_KEYS`): mappings, paths inside the folder, files."""
    for section in ("sampling", "restricted", "fieldwork", "weighting", "report"):
        if section in raw and raw[section] is not None and not isinstance(raw[section], dict):
            raise _fail(f"must be a mapping, got {type(raw[section]).__name__}", p, section)
    for dotted in PATH_KEYS:
        section, _, name = dotted.partition(".")
        holder = raw if not name else (raw.get(section) or {})
        value = holder.get(name or section)
        if value is None or value == "":
            continue
        target = inside_survey(value, p.parent, file=p, key=dotted)
        if dotted in check_files and not target.is_file():
            raise _fail(f"file not found: {target}", p, dotted)
    prev = raw.get("previous_survey")
    if prev is not None and (not isinstance(prev, str) or not prev or not all(c.isalnum() or c in "-_" for c in prev)):
        raise _fail(f"must be a survey id (letters, digits, '-' or '_'), got {prev!r}", p, "previous_survey")
    w = raw.get("weighting") or {}
    for k in WEIGHTING_COLUMN_KEYS:
        if k not in w or w[k] is None:
            continue
        v = w[k]
        names = [v] if isinstance(v, str) and k != "nonresponse_cells" else v
        if (not isinstance(names, list) or not names
                or not all(isinstance(c, str) and c.strip() and c.replace("_", "").isalnum() for c in names)
                or (k == "poststratify" and not isinstance(v, str))):
            want = "a column name" if k == "poststratify" else "a list of column names, e.g. [district, commune]"
            raise _fail(f"must be {want}, got {v!r}", p, f"weighting.{k}")


#: Largest ``sampling.households_per_village`` accepted (a village of the frames rarely holds more
#: households; a larger number is a typing slip, e.g. ``1e40``, that would sample every household).
MAX_HOUSEHOLDS_PER_VILLAGE = 1000


def _whole(value: Any, *, low: int, high: int) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and low <= value <= high


def _sampling_options(raw: Any, p: Path) -> None:
    """The numbers of ``sampling:`` must be plausible whole numbers (``households_per_village``, the
    counts of units per stratum ``communes.n`` / ``villages.n``)."""
    if not isinstance(raw, dict):
        return
    if "households_per_village" in raw:
        v = raw["households_per_village"]
        if not _whole(v, low=1, high=MAX_HOUSEHOLDS_PER_VILLAGE):
            raise _fail(f"must be a whole number of households from 1 to {MAX_HOUSEHOLDS_PER_VILLAGE}, got {v!r}",
                        p, "sampling.households_per_village")
    for level in ("communes", "villages"):
        sec = raw.get(level)
        if not isinstance(sec, dict) or "n" not in sec:
            continue
        n = sec["n"]
        items = n.items() if isinstance(n, dict) else [(None, n)]
        for k, v in items:
            if not _whole(v, low=0 if k is not None else 1, high=100_000):
                key = f"sampling.{level}.n" + (f".{k}" if k is not None else "")
                raise _fail(f"must be a whole number of {level}, got {v!r}", p, key)


def sampling_window(cfg: "SurveyConfig") -> tuple[Any, Any]:
    """``sampling.window`` of a service-user survey: the first and last day (both included) on which a
    transaction's result was returned to count in the survey's population.

    Raises
    ------
    ConfigError
        Naming ``sampling.window`` when it is missing, not two dates, or the first is after the last.
    """
    import datetime as _dt

    raw = (cfg.extra.get("sampling") or {}).get("window")
    if not isinstance(raw, (list, tuple)) or len(raw) != 2:
        raise _fail("must be [first day, last day] of the period whose transactions the survey covers, "
                    f"e.g. [2023-07-01, 2023-09-30]; got {raw!r}", cfg.path, "sampling.window")
    days = []
    for v in raw:
        if isinstance(v, _dt.datetime):
            v = v.date()
        if isinstance(v, str):
            try:
                v = _dt.date.fromisoformat(v.strip())
            except ValueError:
                v = None
        if not isinstance(v, _dt.date):
            raise _fail(f"must hold two dates (YYYY-MM-DD), got {raw!r}", cfg.path, "sampling.window")
        days.append(v)
    if days[0] > days[1]:
        raise _fail(f"the first day {days[0]} is after the last day {days[1]}", cfg.path, "sampling.window")
    return days[0], days[1]


def _planning_options(raw: Any, p: Path) -> None:
    """``planning:`` (``sipas plan``): ``costs`` maps commune / village / household / form / fixed to
    non-negative numbers."""
    if raw is None:
        return
    if not isinstance(raw, dict) or set(raw) - {"costs"}:
        raise _fail("must be a mapping with the key 'costs'", p, "planning")
    costs = raw.get("costs") or {}
    if not isinstance(costs, dict):
        raise _fail("must be a mapping of cost per commune, village, household, form, fixed", p, "planning.costs")
    for k, v in costs.items():
        if k not in ("commune", "village", "household", "form", "fixed"):
            raise _fail(f"unknown cost {k!r}; use commune, village, household, form, fixed", p, f"planning.costs.{k}")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
            raise _fail(f"must be a non-negative number, got {v!r}", p, f"planning.costs.{k}")


def _label(value: Any, path: Path, key: str) -> dict[str, str]:
    if isinstance(value, str):
        return {"vi": value, "en": value}
    if not isinstance(value, dict) or "vi" not in value:
        raise _fail("must be a text or a mapping with at least a 'vi' entry", path, key)
    out = {str(k): str(v) for k, v in value.items()}
    out.setdefault("en", out["vi"])
    return out


def _design(raw: Any, structure: str, path: Path, kind: SurveyKind) -> Hierarchy:
    """Validate the ``design:`` section against the structure (missing keys take the defaults)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise _fail("must be a mapping with strata, psu and report_unit", path, "design")
    unknown = sorted(set(map(str, raw)) - set(DESIGN_KEYS))
    if unknown:
        raise _fail(f"unknown key(s): {', '.join(unknown)}; allowed: {', '.join(DESIGN_KEYS)}", path, "design")
    values = kind.default_design(structure)
    for k in DESIGN_KEYS:
        if k in raw:
            v = raw[k]
            if not isinstance(v, str) or not v.strip() or not v.replace("_", "").isalnum():
                raise _fail(f"must be a column name (letters, digits, '_'), got {v!r}", path, f"design.{k}")
            values[k] = v
    levels = kind.design.unit_levels[structure]
    if values["psu"] not in kind.design.psu_choices:
        raise _fail(f"the primary sampling unit of a {kind.name} survey must be "
                    f"{' or '.join(map(repr, kind.design.psu_choices))}, got {values['psu']!r}", path, "design.psu")
    if values["report_unit"] not in levels:
        raise _fail(f"must be one of {', '.join(levels)} in a {structure} survey, got {values['report_unit']!r}",
                    path, "design.report_unit")
    if structure == "two_tier" and "district" in (values["strata"], values["report_unit"]):
        raise _fail("a two_tier survey (since 1/7/2025) has no districts; use a column of the commune frame "
                    "such as commune_type or stratum", path, "design.strata" if values["strata"] == "district"
                    else "design.report_unit")
    if values["strata"] in ("commune", "village"):
        raise _fail(f"strata must group communes (e.g. district, commune_type), got {values['strata']!r}", path,
                    "design.strata")
    own = tuple(levels) if tuple(levels) != UNIT_LEVELS.get(structure) else ()
    return Hierarchy(structure=structure, element_psu=kind.design.element_sampling, levels=own, **values)


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key written twice in one mapping (YAML keeps the last silently)."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            first = seen.get(key)
        except TypeError:  # an unhashable key: let the safe loader say so
            continue
        if first is not None:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} written twice (first at line {first + 1}); only one may stay",
                key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)

#: File groups :func:`load_config` can check for existence (``needs=``): the frames, the response files and
#: the other files named in survey.yml (:data:`PATH_KEYS`).
FILE_GROUPS = ("frames", "responses", "other_indices", *PATH_KEYS)


def load_config(path: str | Path, *, check_files: bool = True,
                needs: tuple[str, ...] | None = None) -> SurveyConfig:
    """Load and validate a survey.yml.

    Parameters
    ----------
    path : str or Path
        A ``survey.yml`` file, or the folder holding one.
    check_files : bool, default True
        Also check that the files named in it exist.
    needs : tuple of str, optional
        Which of them must exist (:data:`FILE_GROUPS`: ``"frames"``, ``"responses"`` or a key of
        :data:`PATH_KEYS`); default all.  A command checks only what it reads: ``sipas forms`` nothing,
        ``sipas sample`` the frames and ``restricted.contacts``, before any response file exists.

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
        raw = yaml.load(p.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506 (a safe loader)
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

    kind = get_kind(raw.get("kind", DEFAULT_KIND), file=p)
    if not kind.accepts_instrument(str(inst["id"])):
        raise _fail(f"a {kind.name} survey takes the {kind.instrument_family!r} instrument family, "
                    f"got {inst['id']!r}", p, "instrument.id")

    structure = raw.get("structure", "three_tier")
    if structure not in kind.design.structures:
        raise _fail(f"must be one of {', '.join(kind.design.structures)}, got {structure!r}", p, "structure")

    design = _design(raw.get("design"), structure, p, kind)

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
    frames = {str(k): inside_survey(v, p.parent, file=p, key=f"frames.{k}") for k, v in frames_raw.items()}

    resp_raw = raw["responses"]
    if isinstance(resp_raw, str):
        resp_raw = [resp_raw]
    if resp_raw is None:
        resp_raw = []
    if not isinstance(resp_raw, list):
        raise _fail("must be a file or a list of files ([] before any form is entered)", p, "responses")
    responses = tuple(inside_survey(v, p.parent, file=p, key=f"responses[{i}]") for i, v in enumerate(resp_raw))

    other_raw = raw.get("other_indices")
    if isinstance(other_raw, str):
        other_raw = [other_raw]
    if other_raw is None:
        other_raw = []
    if not isinstance(other_raw, list) or not all(isinstance(v, str) and v.strip() for v in other_raw):
        raise _fail("must be a file or a list of files (CSV or XLSX of other indices, inside the survey folder)",
                    p, "other_indices")
    other = tuple(inside_survey(v, p.parent, file=p, key=f"other_indices[{i}]") for i, v in enumerate(other_raw))
    for i, f in enumerate(other):
        if f.suffix.lower() not in (".csv", ".xlsx", ".xlsm"):
            raise _fail(f"must be a .csv or .xlsx file, got {f.name!r}", p, f"other_indices[{i}]")

    wanted = set(FILE_GROUPS if needs is None else needs) if check_files else set()
    unknown_groups = wanted - set(FILE_GROUPS)
    if unknown_groups:
        raise ValueError(f"unknown file group(s) {sorted(unknown_groups)}; known: {FILE_GROUPS}")
    if "frames" in wanted:
        for name, f in frames.items():
            if not f.is_file():
                raise _fail(f"frame file not found: {f}", p, f"frames.{name}")
    if "responses" in wanted:
        for i, f in enumerate(responses):
            if not f.is_file():
                raise _fail(f"response file not found: {f}", p, f"responses[{i}]")

    if "other_indices" in wanted:
        for i, f in enumerate(other):
            if not f.is_file():
                raise _fail(f"file of other indices not found: {f}", p, f"other_indices[{i}]")
    _optional_paths(raw, p, check_files=tuple(k for k in PATH_KEYS if k in wanted))
    if raw.get("previous_survey") == sid:
        raise _fail("names this survey itself; previous_survey is last year's survey id (or leave it out)",
                    p, "previous_survey")
    _sampling_options(raw.get("sampling"), p)
    _planning_options(raw.get("planning"), p)

    if "frames" in wanted and design.frame_columns:
        _check_frame_columns(design, frames, p)

    extra = {k: raw[k] for k in OPTIONAL_KEYS
             if k in raw and k not in ("structure", "min_cell_size", "design", "kind", "other_indices")}
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
        design=design,
        kind=kind,
        other_indices=other,
    )


def _check_frame_columns(design: Hierarchy, frames: dict[str, Path], path: Path) -> None:
    """The design columns not identifying a commune must be columns of the commune frame."""
    key = next((f"design.{k}" for k in ("strata", "report_unit") if getattr(design, k) in design.frame_columns),
               "design")
    if "communes" not in frames:
        raise _fail(f"design column(s) {', '.join(design.frame_columns)} are read from frames.communes, "
                    "which is not configured", path, key)
    if frames["communes"].suffix.lower() != ".csv":
        return  # XLSX frames are checked when read (sipas.sampling.frames)
    import csv

    from sipas import rawfiles
    from sipas.errors import InputError

    data = rawfiles.read_raw(frames["communes"])
    rawfiles.refuse_non_text(data, frames["communes"])
    rawfiles.check_csv_columns(data, frames["communes"])
    end = data.find(b"\n")
    try:
        first = (data if end < 0 else data[:end]).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start}); save it as 'CSV UTF-8'",
                         file=frames["communes"], row=1) from exc
    header = [h.strip() for h in next(csv.reader([first.rstrip("\r")]), [])]
    for k in ("strata", "report_unit"):
        col = getattr(design, k)
        if col in design.frame_columns and col not in header:
            raise _fail(f"column {col!r} not in the commune frame {frames['communes']} "
                        f"(columns: {', '.join(header)})", path, f"design.{k}")


def find_survey(survey_id: str, *, root: Path | None = None, needs: tuple[str, ...] | None = None) -> SurveyConfig:
    """Load ``<root>/data/raw/<survey_id>/survey.yml`` (``needs``: the files that must exist, see
    :func:`load_config`)."""
    base = (root or project_root()) / "data" / "raw" / survey_id
    if not base.is_dir():
        avail = sorted(d.name for d in ((root or project_root()) / "data" / "raw").glob("*") if (d / "survey.yml").is_file())
        raise ConfigError(f"no survey folder {survey_id!r}; configured surveys: {', '.join(avail) or 'none'}",
                          file=base)
    return load_config(base / "survey.yml", needs=needs)

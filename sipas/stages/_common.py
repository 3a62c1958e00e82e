"""What every stage shares: the result type, the transaction, input checks, manifests, table writing,
the sample list, the salt."""

from __future__ import annotations

import functools
import os
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from sipas import io as sio
from sipas.config import SurveyConfig, project_root
from sipas.errors import ConfigError, InputError, OutputError, StageInputMissing

_F = TypeVar("_F", bound=Callable[..., Any])


@dataclass
class StageResult:
    """Tables a stage produced (also written to disk) and the paths it wrote."""

    stage: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    written: list[Path] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


def transactional(run: _F) -> _F:
    """Run a stage inside :func:`sipas.io.transaction`: its files (processed and restricted) appear
    together when it succeeds, and none of them -- nor a half-written one -- when it fails."""

    @functools.wraps(run)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with sio.transaction():
            return run(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def need(path: Path, stage: str) -> Path:
    if not path.is_file():
        raise StageInputMissing(f"{path} is missing: run the '{stage}' stage first (sipas {stage} --survey ...)")
    return path


def manifest(cfg: SurveyConfig, stage: str, out: Path, read: list[Path], written: list[Path],
              root: Path | None) -> Path:
    root = (root or project_root()).resolve()

    def rel(p: Path) -> str:
        try:
            return str(p.resolve().relative_to(root))
        except ValueError:
            return p.name

    data = {"survey_id": cfg.survey_id, "stage": stage,
            "read": {rel(p): sio.read_digest(p) for p in read},
            "written": {rel(p): sio.sha256_file(p) for p in written}}
    return sio.write_json(data, out / f"manifest_{stage}.json")


def write_tables(tables: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    return [sio.write_csv(df, out / f"{name}.csv") for name, df in tables.items()]


#: Length in bytes of a generated salt (written as hex).
SALT_BYTES = 32


def salt_path(cfg: SurveyConfig, *, root: Path | None = None) -> Path:
    """Where the survey's pseudonym salt is read: ``restricted.salt_file`` of survey.yml (inside the survey
    folder), else ``<root>/restricted/<survey-id>/salt.txt`` (generated on first use)."""
    rest = cfg.extra.get("restricted") or {}
    if isinstance(rest, dict) and rest.get("salt_file"):
        return cfg.raw_path(rest["salt_file"], key="restricted.salt_file")
    return (root or project_root()) / "restricted" / cfg.survey_id / "salt.txt"


def salt(cfg: SurveyConfig, *, root: Path | None = None) -> str:
    """The survey's secret salt for respondent pseudonyms (:func:`sipas.forms.pii.pseudonym`).

    Read from ``restricted.salt_file`` when survey.yml names one.  Otherwise read from
    ``<root>/restricted/<survey-id>/salt.txt`` (git-ignored, never under ``data/processed``); on first use
    that file is created with a random salt (:func:`secrets.token_hex`) and the user is told once, on
    stderr, to keep it: the same salt gives the same keys in every later run, a lost salt gives new keys.
    A salt derived from the survey id would let anyone reverse ``respondent_key`` by hashing household ids.

    Raises
    ------
    ConfigError
        If the configured salt file is missing or empty.
    OutputError
        If the generated salt cannot be written.
    """
    path = salt_path(cfg, root=root)
    rest = cfg.extra.get("restricted") or {}
    if isinstance(rest, dict) and rest.get("salt_file"):
        try:
            value = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the salt file {path}: {getattr(exc, 'strerror', None) or exc}",
                              file=cfg.path, key="restricted.salt_file") from exc
        if not value:
            raise ConfigError(f"the salt file {path} is empty", file=cfg.path, key="restricted.salt_file")
        return value
    if path.is_file():
        value = path.read_text(encoding="utf-8").strip()
        if value:
            return value
        raise InputError("the salt file is empty; restore it from a backup (or delete it to make a new salt, "
                         "which changes every respondent_key)", file=path)
    return _new_salt(path)


def _new_salt(path: Path) -> str:
    """Create ``path`` with a random salt (never replacing one another process made first)."""
    folder = path.parent
    sio.make_folder(folder)
    gi = folder / ".gitignore"
    value = secrets.token_hex(SALT_BYTES)
    try:
        if not gi.exists():
            gi.write_bytes(b"*\n")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another run made it first: use that one
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise OutputError(exc.strerror or str(exc), path=path) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(value + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        try:
            os.unlink(path)
        except OSError:
            pass
        raise OutputError(exc.strerror or str(exc), path=path) from exc
    print(f"sipas: note: survey.yml sets no restricted.salt_file: a random pseudonym salt was written to "
          f"{path}; keep it (and a backup) with the restricted files -- respondent keys depend on it",
          file=sys.stderr, flush=True)
    return value


def reserve_rows(sample: pd.DataFrame) -> pd.Series:
    """Which rows of a sample list are on the reserve list (``list == "reserve"``; none without that column)."""
    if "list" not in sample.columns:
        return pd.Series(False, index=sample.index)
    return sample["list"].astype(str).str.strip().str.lower() == "reserve"


def sample_list(cfg: SurveyConfig, *, columns: tuple[str, ...] = ("household_id",)) -> tuple[pd.DataFrame, Path]:
    """The raw sample list (``sampling.sample_file``) with ``household_id`` as text, checked.

    Parameters
    ----------
    cfg : SurveyConfig
    columns : tuple of str
        Columns the caller needs; ``pi`` (when asked) must be a probability in (0, 1] on every row of the
        official list (rows with ``list == "reserve"``, written by ``sipas sample``, may leave it blank: a
        reserve household that is used takes the probability of the household it replaces).

    Returns
    -------
    (DataFrame, Path)

    Raises
    ------
    StageInputMissing
        If survey.yml names no sample list.
    InputError
        Naming the file, row and column: unreadable file (an .xlsx under a .csv name, encrypted, not
        UTF-8, too many columns), a missing column, a blank household id, a ``pi`` that is not a
        probability.
    """
    from sipas import rawfiles

    samp = (cfg.extra.get("sampling") or {}).get("sample_file")
    if not samp:
        raise StageInputMissing(f"{cfg.path}: sampling.sample_file is needed")
    path = cfg.raw_path(samp, key="sampling.sample_file")
    sample = rawfiles.read_table(path, dtype={"household_id": str})
    rawfiles.require_columns(sample, columns, path, what="sample list")
    rawfiles.refuse_excel_errors(sample, path)
    blank = sample["household_id"].isna() | (sample["household_id"].astype(str).str.strip() == "")
    if blank.any():
        raise InputError("household id is blank", file=path, row=int(np.argmax(blank.to_numpy())) + 2,
                         column="household_id")
    if "pi" in columns:
        pi = pd.to_numeric(sample["pi"], errors="coerce")
        bad = ~((pi > 0) & (pi <= 1)) & ~reserve_rows(sample)
        if bad.any():
            i = int(np.argmax(bad.to_numpy()))
            v = sample["pi"].iloc[i]
            if pd.isna(v) or (isinstance(v, str) and not v.strip()):
                raise InputError("blank; every sampled household needs its inclusion probability", file=path,
                                 row=i + 2, column="pi")
            shown = str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
            raise InputError(f"not an inclusion probability in (0, 1]: {shown!r}", file=path, row=i + 2, column="pi")
    return sample, path


#: The ``sipas`` subcommand that runs each stage.
STAGE_COMMANDS = {"cleaning": "clean", "reliability": "reliability", "weighting": "weight", "indices": "indices"}


def check_fresh(cfg: SurveyConfig, *, upstream: tuple[str, ...], root: Path | None = None) -> None:
    """Stop when a file an earlier stage read has changed since that stage ran (its outputs are stale).

    Each ``manifest_<stage>.json`` records the SHA-256 of every file the stage read.  For each stage of
    ``upstream`` (those whose outputs the caller reads) that has run, every file it read (raw inputs such as
    the entered forms, and earlier stages' outputs such as ``forms_clean.csv``) must still have the recorded
    bytes; otherwise the stage must run again first.

    Parameters
    ----------
    cfg : SurveyConfig
    upstream : tuple of str
        Stage names (:data:`STAGE_COMMANDS`), in pipeline order.
    root : Path, optional
        Project root (paths in manifests are relative to it).

    Raises
    ------
    StageInputMissing
        One line naming the changed (or vanished) file and the command to rerun.
    """
    import json

    base = (root or project_root()).resolve()
    out = cfg.processed_dir(root)
    for stage in upstream:
        mpath = out / f"manifest_{stage}.json"
        if not mpath.is_file():
            continue  # the stage has not run: the caller's need() says so
        try:
            read = json.loads(mpath.read_text(encoding="utf-8")).get("read") or {}
        except (OSError, ValueError):
            read = {}
        for rel, digest in read.items():
            path = base / rel
            if not Path(rel).parts or len(Path(rel).parts) == 1:
                continue  # recorded by name only (outside the project): cannot be found again
            now = sio.sha256_file(path) if path.is_file() else None
            if now != digest:
                what = "was removed" if now is None else "changed"
                raise StageInputMissing(
                    f"{path} {what} after the '{stage}' stage ran, so its outputs are stale: rerun "
                    f"`sipas {STAGE_COMMANDS.get(stage, stage)} --survey {cfg.survey_id}` (and the stages "
                    "after it), or `sipas report`, which reruns them all")

"""What every stage shares: the result type, input checks, manifests, table writing, the salt."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sipas import io as sio
from sipas.config import SurveyConfig, project_root
from sipas.errors import StageInputMissing


@dataclass
class StageResult:
    """Tables a stage produced (also written to disk) and the paths it wrote."""

    stage: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    written: list[Path] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


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
            "read": {rel(p): sio.sha256_file(p) for p in read},
            "written": {rel(p): sio.sha256_file(p) for p in written}}
    return sio.write_json(data, out / f"manifest_{stage}.json")


def write_tables(tables: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    return [sio.write_csv(df, out / f"{name}.csv") for name, df in tables.items()]


def salt(cfg: SurveyConfig) -> str:
    rest = cfg.extra.get("restricted", {}) or {}
    if "salt_file" in rest:
        return cfg.raw_path(rest["salt_file"]).read_text(encoding="utf-8").strip()
    return f"sipas-{cfg.survey_id}"

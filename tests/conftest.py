"""Shared fixtures: one full demo run (both survey-years) in a temporary project root."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEMO = "demo-laichau-2024"
DEMO_PREV = "demo-laichau-2023"


def tree_digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file below ``folder`` (relative path -> digest)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project root holding a copy of the committed demo raw data, after ``sipas report``."""
    from sipas.cli import main

    root = tmp_path_factory.mktemp("sipas-root")
    for sid in (DEMO_PREV, DEMO):
        shutil.copytree(REPO / "data" / "raw" / sid, root / "data" / "raw" / sid)
    (root / "pyproject.toml").write_text("# marker for sipas.config.project_root\n")
    before = tree_digest(root / "data" / "raw")
    rc = main(["--root", str(root), "report", "--survey", DEMO])
    assert rc == 0
    root_info = root / ".raw_digest_before.json"
    import json

    root_info.write_text(json.dumps(before))
    return root

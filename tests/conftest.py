"""Shared fixtures: one full demo run (both survey-years) in a temporary project root."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEMO = "demo-laichau-2024"
DEMO_PREV = "demo-laichau-2023"


def need_tool(tool: str | None, name: str) -> str:
    """``tool`` (a path found on this machine); skip the test without it, FAIL in CI (``CI`` set)."""
    if tool:
        return tool
    if os.environ.get("CI"):
        pytest.fail(f"{name} is required in CI (environment variable CI is set) but was not found")
    pytest.skip(f"{name} not installed")


def visible_text(html: str) -> str:
    """The text a reader sees in ``html``: no style or script, tags as spaces, whitespace collapsed."""
    html = re.sub(r"<(style|script)[^>]*>.*?</\1>", "", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def chromium_dom(html: Path, profile: Path) -> str:
    """The DOM headless Chromium renders from the file ``html`` (``--dump-dom``, a fresh ``profile`` folder); skip
    without Chromium, FAIL in CI (:func:`need_tool`)."""
    import subprocess

    from sipas import report

    chromium = need_tool(report.find_chromium(), "headless Chromium")
    res = subprocess.run(report.chromium_args(chromium, profile) + ["--dump-dom", html.resolve().as_uri()],
                         capture_output=True, text=True, timeout=180, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


def raw_copy_root(tmp_path_factory: pytest.TempPathFactory, name: str, survey_ids: tuple[str, ...]) -> Path:
    """A temporary project root holding copies of the committed raw data of ``survey_ids``."""
    root = tmp_path_factory.mktemp(name)
    for sid in survey_ids:
        shutil.copytree(REPO / "data" / "raw" / sid, root / "data" / "raw" / sid)
    (root / "pyproject.toml").write_text("# marker for sipas.config.project_root\n")
    return root


def draw_within_communes(selected, villages_of_commune, hh_of_village, rng, *, villages: int, households: int,
                         rows: list, pis: list) -> None:
    """Below each selected commune (``selected``: ``ci``, ``pi``), ``villages`` villages by SRS and
    ``households`` households per village by SRS (all when fewer); appends the households' rows and exact
    inclusion probabilities ``pi_commune * m / M * k / K`` to ``rows`` and ``pis`` (Monte Carlo tests)."""
    import numpy as np

    for ci, p_c in zip(selected["ci"].to_numpy(), selected["pi"].to_numpy()):
        vils = villages_of_commune[ci]
        m = min(villages, len(vils))
        for v in rng.choice(vils, size=m, replace=False):
            hh = hh_of_village[v]
            k = min(households, len(hh))
            rows.append(rng.choice(hh, size=k, replace=False))
            pis.append(np.full(k, p_c * (m / len(vils)) * (k / len(hh))))


def tree_digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file below ``folder`` (relative path -> digest)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project root holding a copy of the committed demo raw data, after ``sipas report``."""
    from sipas.cli import main

    root = raw_copy_root(tmp_path_factory, "sipas-root", (DEMO_PREV, DEMO))
    before = tree_digest(root / "data" / "raw")
    rc = main(["--root", str(root), "report", "--survey", DEMO])
    assert rc == 0
    root_info = root / ".raw_digest_before.json"
    import json

    root_info.write_text(json.dumps(before))
    return root

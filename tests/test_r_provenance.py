"""The stored R reference numbers are exactly what R prints today.

Every ``tests/results/r/<script>.R`` is rerun with ``Rscript`` into a temporary folder
and its JSON compared with the committed one: same references, same R commands and
setup code, same values (relative 1e-10, room for a different BLAS only).  Without
``Rscript``, or without an R package a script loads, the test is skipped with the missing
package named, unless ``SIPAS_REQUIRE_R=1`` (set by ``.ci/run``, which installs Debian's R and
packages), where a missing R or R package is a failure.  The exception is an R package Debian does not package
(``NOT_IN_DEBIAN``: PracTools): CI cannot install it, so its scripts are skipped there unless the package is
installed or the environment variable named beside it points at its sources (the script then sources them).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

R_DIR = Path(__file__).parent / "results" / "r"
SCRIPTS = sorted(p for p in R_DIR.glob("*.R") if not p.name.startswith("_"))
# R packages without a Debian package, and the environment variable that may name a folder of their sources
NOT_IN_DEBIAN = {"PracTools": "PRACTOOLS_SRC"}


def _rscript() -> str:
    exe = shutil.which("Rscript")
    if exe is None:
        if os.environ.get("SIPAS_REQUIRE_R") == "1":
            pytest.fail("SIPAS_REQUIRE_R=1 but Rscript is not on PATH (apt-get install r-base-core r-cran-survey ...)")
        pytest.skip("Rscript not available: the stored R references are not re-derived here")
    return exe


def r_packages(script: Path) -> list[str]:
    """R packages ``script`` needs: ``library(x)``, ``require(x)``, ``requireNamespace("x")``, ``x::f``.

    Parameters
    ----------
    script : Path
        An R script; ``#`` comments are ignored.

    Returns
    -------
    list of str
        Package names in order of first use.
    """
    code = "\n".join(line.split("#", 1)[0] for line in script.read_text(encoding="utf-8").splitlines())
    found = re.findall(r"\b(?:library|require|requireNamespace)\(\s*[\"']?([A-Za-z][A-Za-z0-9.]*)", code)
    found += re.findall(r"\b([A-Za-z][A-Za-z0-9.]*):::?[A-Za-z.]", code)
    return list(dict.fromkeys(p for p in found if p != "base"))


@functools.lru_cache(maxsize=None)
def _missing_r_packages(exe: str, packages: tuple[str, ...]) -> tuple[str, ...]:
    """The packages among ``packages`` that R cannot load (one ``Rscript`` call)."""
    if not packages:
        return ()
    expr = ("p <- commandArgs(trailingOnly = TRUE); "
            "cat(p[!vapply(p, requireNamespace, logical(1), quietly = TRUE)], sep = '\\n')")
    proc = subprocess.run([exe, "--vanilla", "-e", expr, *packages], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        pytest.fail(f"Rscript could not check the R packages {', '.join(packages)}:\n{proc.stderr[-2000:]}")
    return tuple(line.strip() for line in proc.stdout.splitlines() if line.strip())


def _require_r_packages(exe: str, script: Path) -> None:
    """Skip (or, with ``SIPAS_REQUIRE_R=1``, fail) naming the R packages ``script`` needs but R lacks."""
    missing = _missing_r_packages(exe, tuple(r_packages(script)))
    missing = tuple(m for m in missing if not (m in NOT_IN_DEBIAN and os.environ.get(NOT_IN_DEBIAN[m])))
    if not missing:
        return
    unpackaged = [m for m in missing if m in NOT_IN_DEBIAN]
    if unpackaged:
        pytest.skip(f"R package {', '.join(unpackaged)} is not installed and Debian does not package it (needed by "
                    f"{script.name}): install it from CRAN, or set "
                    f"{', '.join(NOT_IN_DEBIAN[m] for m in unpackaged)} to its sources, to re-derive the references")
    names = ", ".join(missing)
    apt = " ".join(f"r-cran-{m.lower()}" for m in missing)
    what = f"R package{'s' if len(missing) > 1 else ''} {names} {'are' if len(missing) > 1 else 'is'} not installed"
    if os.environ.get("SIPAS_REQUIRE_R") == "1":
        pytest.fail(f"SIPAS_REQUIRE_R=1 but {what} (needed by {script.name}; apt-get install {apt})")
    pytest.skip(f"{what} (needed by {script.name}): its stored R references are not re-derived here "
                f"(apt-get install {apt}, or install.packages)")


def _values(v: list) -> np.ndarray:
    return np.array([np.nan if x is None else float(x) for x in v], dtype=float)


def test_every_script_has_its_json():
    assert SCRIPTS, "no R reference scripts found"
    for script in SCRIPTS:
        assert script.with_suffix(".json").exists(), f"{script.name} has no committed .json"


def test_r_packages_of_each_script_are_found():
    for script in SCRIPTS:
        stored = json.loads(script.with_suffix(".json").read_text(encoding="utf-8"))
        assert set(stored["packages"]) <= set(r_packages(script)), script.name
    assert r_packages(R_DIR / "psych_lavaan.R")[:3] == ["psych", "GPArotation", "lavaan"]


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_stored_references_equal_fresh_r_output(script: Path, tmp_path: Path):
    exe = _rscript()
    _require_r_packages(exe, script)
    proc = subprocess.run(
        [exe, "--vanilla", str(script), str(tmp_path)], capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, f"{script.name} failed:\n{proc.stderr[-4000:]}"
    fresh = json.loads((tmp_path / f"{script.stem}.json").read_text(encoding="utf-8"))
    stored = json.loads(script.with_suffix(".json").read_text(encoding="utf-8"))
    assert fresh["packages"] == stored["packages"], "R package versions differ from the stored run"
    assert fresh["setup"] == stored["setup"]
    assert list(fresh["refs"]) == list(stored["refs"])
    for name, ref in stored["refs"].items():
        new = fresh["refs"][name]
        assert new["command"] == ref["command"], name
        assert new["setup"] == ref["setup"], name
        assert new["names"] == ref["names"], name
        np.testing.assert_allclose(
            _values(new["value"]), _values(ref["value"]), rtol=1e-10, atol=0, equal_nan=True,
            err_msg=f"{name}: R {ref['command']}",
        )

"""Reference numbers produced by running R (``survey``, ``psych``, ``lavaan``) on public data.

The numbers live in ``tests/results/r/<script>.json``, written by the R script of the
same name in that folder (``Rscript tests/results/r/<script>.R``).  Each reference keeps
the exact R command that produced it and the setup code run before it, so every number
can be traced to one R call:

>>> ref = load("survey_replicates")["BRR_SCD_RATIO"]      # doctest: +SKIP
>>> ref.command, ref.setup_code, ref.value

The R versions are those of Debian 12 (``r-base-core`` 4.2.2, ``r-cran-survey`` 4.1-1,
``r-cran-psych`` 2.2.9, ``r-cran-lavaan`` 0.6-14); the JSON records them.
``tests/test_r_provenance.py`` reruns every script when ``Rscript`` is available and
checks that the stored numbers are exactly what R prints, so they cannot drift from R.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

R_DIR = Path(__file__).parent / "r"


@dataclass(frozen=True)
class RRef:
    """One R result: its values (with R's names, if any), command and setup code."""

    name: str
    command: str
    setup_code: tuple[str, ...]
    names: tuple[str, ...]
    values: np.ndarray
    generator: str

    @property
    def value(self) -> float:
        """The single value of a scalar reference."""
        if self.values.size != 1:
            raise ValueError(f"{self.name} holds {self.values.size} values: use .values or [name]")
        return float(self.values[0])

    def __getitem__(self, key: str) -> float:
        return float(self.values[self.names.index(key)])

    def __str__(self) -> str:
        return f"R: {self.command}  [{self.generator}]"


@lru_cache(maxsize=None)
def load(script: str) -> dict[str, RRef]:
    """References written by ``tests/results/r/<script>.R``."""
    raw = json.loads((R_DIR / f"{script}.json").read_text(encoding="utf-8"))
    setup = raw["setup"]
    out = {}
    for name, r in raw["refs"].items():
        vals = np.array(
            [np.nan if v is None else float(v) for v in r["value"]], dtype=float
        )
        out[name] = RRef(
            name=name, command=r["command"], setup_code=tuple(setup[: r["setup"]]),
            names=tuple(r["names"]), values=vals, generator=raw["generator"],
        )
    return out

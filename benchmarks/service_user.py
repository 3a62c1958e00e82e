"""Benchmark: stages 1-4 (and the report) of a service-user survey at about 700, 7,000 and 35,000 forms.

A service-user survey's PSU is the respondent (``Hierarchy.element_psu``), so its JKn design has one
replicate per form: any step that holds the replicates as a PSU x replicate table grows with the square of
the forms.  Each size is written by the service-user generator (:func:`sipas.synth_service.synthesize_service`)
from the Huế demo (``demo-hue-2019``: seed 001's list mode, 10 units at three levels, lists drawn from the
transaction records) with every unit's transactions in the window and the allocation multiplied by the same
factor (:data:`SIZES`): 1 (the demo, 700 forms allocated), 10 and 50, so the units, their fields and the
sampling fractions stay the demo's and only the number of forms grows.

The survey is written into a temporary project root (its forms are those of the generator's lists), and
each step is run as a user runs it, in a fresh process (``sipas clean``, ``reliability``, ``weight``, ``indices``
and, unless ``--no-report``, ``report --no-pdf --no-previous``: the report re-runs the four stages in its
notebooks and renders the HTML), ``--repeat`` times; the medians are printed.  Per step and size: wall time
(s) and peak memory (MB, the process and the processes it waited for: the report's kernel), and per step
the growth of its time from one size to the next divided by the growth of the forms (1 = linear, > 1
super-linear).

Run: ``.venv/bin/python benchmarks/service_user.py [--sizes 700,7k,35k] [--repeat 3] [--repeat-large 1]
[--no-report] [--markdown FILE] [--csv FILE]``
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from national import sized_main, table as _national_table  # benchmarks/national.py, beside this file
from pipeline import _env, run_step  # benchmarks/pipeline.py, beside this file

#: size -> factor applied to every unit's transactions and to the allocation of the Huế demo
SIZES = {"700": 1, "7k": 10, "35k": 50}
SURVEY = "demo-hue-2019"
STAGES = (("cleaning", "clean"), ("reliability", "reliability"), ("weighting", "weight"), ("indices", "indices"))
REPORT = ("report", "report", "--no-pdf", "--no-previous")


def synth(root: Path, factor: int) -> None:
    """The Huế demo with ``factor`` times its transactions and forms under ``root/data/raw``, in a child
    process (this process stays small: a child's peak memory starts from the parent's size at the fork)."""
    code = ("import sys, dataclasses; from sipas.synth_service import HUE, synthesize_service; "
            "k = int(sys.argv[2]); "
            "units = tuple((u[0], u[1], u[2], u[3], u[4] * k, u[5]) for u in HUE.units); "
            "alloc = dict(HUE.allocation, total=HUE.allocation['total'] * k, "
            "minimum=HUE.allocation['minimum'] * k); "
            "synthesize_service(sys.argv[1], dataclasses.replace(HUE, units=units, allocation=alloc))")
    subprocess.run([sys.executable, "-c", code, str(root / "data" / "raw"), str(factor)], check=True, env=_env())


def bench(sizes: list[str], repeat: int, repeat_large: int, report: bool, work: Path) -> list[dict]:
    rows = []
    for size in sizes:
        root = work / size
        synth(root, SIZES[size])
        forms = sum(1 for _ in open(root / "data" / "raw" / SURVEY / "responses" / "forms.csv", "rb")) - 1
        steps = STAGES + ((REPORT,) if report else ())
        for r in range(repeat if forms < 20_000 else repeat_large):
            for step, command, *extra in steps:
                wall, mb = run_step(root, SURVEY, command, *extra)
                rows.append({"size": size, "forms": forms, "repeat": r, "step": step, "seconds": wall,
                             "peak_mb": mb})
                print(f"{forms:7d} forms  #{r + 1}  {step:12s} {wall:8.1f} s  {mb:7.0f} MB", flush=True)
    return rows


def table(res) -> str:
    """Markdown: median time / peak memory per step and size, time growth / forms growth per size step."""
    return _national_table(res).replace("**national**", "**service user**", 1)


def main() -> None:
    sized_main(__doc__.splitlines()[0], sizes=list(SIZES), large="20k", repeat_large=3, bench_fn=bench,
               table_fn=table, prefix="sipas-svcbench-")


if __name__ == "__main__":
    main()

"""Benchmark: every stage and the report on the demo grown to 2.5k, 10k, 40k and 150k forms.

For each structure -- three-tier (``demo-laichau-2024``: the grown province has more districts of
the same size) and two-tier (``demo-laichau-2025``: more communes per commune type) -- the demo's
raw files are copied 1, 4, 16 and 64 times with renamed units (:func:`sipas.synth.grow_survey`,
about 2.4k, 9.5k, 38k and 151k forms) into a temporary project root, and each step is run as a user
runs it, in a fresh process (``sipas clean``, ``reliability``, ``weight``, ``indices``, ``report``;
the report re-runs the four stages in its notebooks, renders HTML and, with Chromium, the PDF).
Printed per step and size: wall time (s) and peak memory (resident set of the process, MB), and
per step the growth ratio of the time from one size to the next beside that of the number of
forms, and the time's growth divided by the forms' growth from 10k to 150k forms (1 = linear; the
bound of issue 13 is 1.3).  Peak memory is that of the step's process and of the processes it
waited for (the report's kernel and the previous year's stages).

Run: ``.venv/bin/python benchmarks/pipeline.py [--copies 1,4,16,64] [--structures three_tier,two_tier]
[--no-report] [--report-copies 1,4,16] [--markdown FILE]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

DEMOS = {"three_tier": "demo-laichau-2024", "two_tier": "demo-laichau-2025"}
STEPS = (("cleaning", "clean"), ("reliability", "reliability"), ("weighting", "weight"), ("indices", "indices"),
         ("report", "report"))


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}


def grow(demo: str, root: Path, *, copies: int, survey: str) -> None:
    """:func:`sipas.synth.grow_survey` in a child process: this process stays small, since a child's peak
    memory as the kernel reports it starts from the parent's size at the fork."""
    code = ("import sys; from sipas.synth import grow_survey; "
            "grow_survey(sys.argv[1], sys.argv[2], copies=int(sys.argv[3]), survey_id=sys.argv[4])")
    subprocess.run([sys.executable, "-c", code, str(REPO / "data" / "raw" / demo), str(root / "data" / "raw"),
                    str(copies), survey], check=True, env=_env())


def run_step(root: Path, survey: str, command: str, *extra: str) -> tuple[float, float]:
    """Wall time (s) and peak resident memory (MB) of ``sipas <command> --survey <survey> [extra]`` in a new
    process.

    The peak is the process's and its reaped children's (the report's kernel and the previous year's
    stages), as ``wait4`` reports it."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "sipas.cli", "--root", str(root), command, "--survey", survey,
                             *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env(), cwd=str(root))
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"sipas {command} --survey {survey} failed ({proc.returncode}):\n{err[-2000:]}")
    return wall, usage.ru_maxrss / 1024.0


def bench(structures: list[str], copies: list[int], report_copies: set[int], work: Path) -> list[dict]:
    rows = []
    for structure in structures:
        demo = DEMOS[structure]
        for k in copies:
            root = work / f"{structure}-{k}"
            survey = f"bench-{structure.replace('_', '')}-{k}"
            grow(demo, root, copies=k, survey=survey)
            forms = sum(1 for _ in open(root / "data" / "raw" / survey / "responses" / "forms.csv", "rb")) - 1
            for step, command in STEPS:
                if step == "report" and k not in report_copies:
                    continue
                wall, mb = run_step(root, survey, command)
                rows.append({"structure": structure, "copies": k, "forms": forms, "step": step, "seconds": wall,
                             "peak_mb": mb})
                print(f"{structure:10s} {forms:7d} forms  {step:12s} {wall:8.1f} s  {mb:7.0f} MB", flush=True)
    return rows


def table(res) -> str:
    """Markdown: time and peak memory per step and size, growth per step, elasticity 10k -> 150k."""
    lines = []
    for structure, r in res.groupby("structure", sort=False):
        sizes = sorted(r["forms"].unique())
        head = "| step | " + " | ".join(f"{n:,} forms" for n in sizes) + " | time growth per step (forms growth) | " \
               "time growth / forms growth, 10k→150k |"
        lines += [f"**{structure.replace('_', '-')}** (time s / peak MB)", "", head,
                  "|" + "---|" * (len(sizes) + 3)]
        for step in dict.fromkeys(r["step"]):
            s = r[r["step"] == step].set_index("forms").sort_index()
            cells = [f"{s.loc[n, 'seconds']:.1f} / {s.loc[n, 'peak_mb']:.0f}" if n in s.index else "–" for n in sizes]
            growth = [f"{s['seconds'].iloc[i + 1] / s['seconds'].iloc[i]:.2f}× "
                      f"({s.index[i + 1] / s.index[i]:.2f}×)" for i in range(len(s) - 1)]
            big = [n for n in s.index if n >= 9000]
            el = (f"{(s.loc[big[-1], 'seconds'] / s.loc[big[0], 'seconds']) / (big[-1] / big[0]):.2f}"
                  if len(big) >= 2 else "–")
            lines.append(f"| {step} | " + " | ".join(cells) + f" | {', '.join(growth) or '–'} | {el} |")
        tot = r[r["step"].isin(["cleaning", "reliability", "weighting", "indices"])].groupby("forms")["seconds"].sum()
        lines.append("| stages 1–4 | " + " | ".join(f"{tot.get(n, float('nan')):.1f}" for n in sizes) + " | | |")
        lines.append("")
    return "\n".join(lines)


def report_results(rows: list[dict], make_table, *, markdown: str | None, csv: str | None) -> None:
    """Print the table ``make_table(rows)`` builds; also write it (``markdown``) and the raw rows (``csv``)."""
    import pandas as pd  # only now: the measured processes are forked from a small parent

    res = pd.DataFrame(rows)
    md = make_table(res)
    print()
    print(md)
    if markdown:
        Path(markdown).write_text(md + "\n", encoding="utf-8")
    if csv:
        res.to_csv(csv, index=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", default="1,4,16,64", help="copies of the demo (default 1,4,16,64)")
    ap.add_argument("--structures", default="three_tier,two_tier")
    ap.add_argument("--no-report", action="store_true", help="time the four stages only")
    ap.add_argument("--report-copies", default=None, help="sizes (copies) at which to time the report (default all)")
    ap.add_argument("--markdown", default=None, help="also write the table to this file")
    ap.add_argument("--csv", default=None, help="also write the raw timings to this CSV file")
    args = ap.parse_args()
    copies = [int(x) for x in args.copies.split(",")]
    report_copies = set() if args.no_report else set(copies if args.report_copies is None
                                                     else (int(x) for x in args.report_copies.split(",")))
    with tempfile.TemporaryDirectory(prefix="sipas-bench-") as tmp:
        rows = bench(args.structures.split(","), copies, report_copies, Path(tmp))
    report_results(rows, table, markdown=args.markdown, csv=args.csv)


if __name__ == "__main__":
    main()

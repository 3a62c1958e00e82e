"""Benchmark: stages 1-4 and the report of the national kind at about 2.5k, 37k and 150k forms.

The national demos cannot be grown by copying units (:func:`sipas.synth.grow_survey` renames them, which
breaks the 63 -> 34 merger mapping and the tile map), so each size is written by the national generator
itself (:func:`sipas.synth_national.synthesize_national`) with another sample -- communes per province,
villages per commune, households per village -- and, for the largest, a country with more communes per old
province; provinces, years, seeds and the previous survey stay the demo's:

* ``2.5k``: 4 x 3 x 7 per province (2,856 households, ~2.7k forms), the demo's country (20 communes per
  old province);
* ``37k``: the demo itself, 12 x 3 x 30 (36,720 households, ~34.5k forms);
* ``150k``: 48 x 3 x 32 (156,672 households, ~147k forms) in a country of 80 communes per old province.

Both years (``demo-national-2024`` at its demo sample, in the same country, and ``demo-national-2025``
at the size) are written into a temporary project root, the 2024 stages are run there untimed, and then
each step of 2025 is run as a user runs it, in a fresh process (``sipas clean``, ``reliability``,
``weight``, ``indices``, ``report --no-pdf --no-previous``: the report re-runs the four stages in its
notebooks and renders the HTML; last year's stages are already done), ``--repeat`` times; the medians
are printed.  Per step and size: wall time (s) and peak memory (MB, the process and the processes it
waited for: the report's kernel), and per step the growth of its time from one size to the next divided
by the growth of the forms (1 = linear, > 1 super-linear).

Run: ``.venv/bin/python benchmarks/national.py [--sizes 2.5k,37k,150k] [--repeat 3]
[--repeat-large 1] [--no-report] [--markdown FILE] [--csv FILE]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from pipeline import _env, report_results, run_step  # benchmarks/pipeline.py, beside this file

#: size -> (communes per old province of the country, 2025 sample: communes per province, villages per
#: commune, households per village)
SIZES = {"2.5k": (20, (4, 3, 7)), "37k": (20, (12, 3, 30)), "150k": (80, (48, 3, 32))}
SURVEY, PREVIOUS = "demo-national-2025", "demo-national-2024"
STAGES = (("cleaning", "clean"), ("reliability", "reliability"), ("weighting", "weight"), ("indices", "indices"))
REPORT = ("report", "report", "--no-pdf", "--no-previous")


def synth(root: Path, size: str) -> None:
    """Both years of the national demo at ``size`` under ``root/data/raw``, in a child process (this
    process stays small: a child's peak memory starts from the parent's size at the fork)."""
    country, sample = SIZES[size]
    code = ("import sys; from sipas.synth_national import synthesize_national as s; "
            "c = int(sys.argv[2]); n = tuple(int(x) for x in sys.argv[3].split(',')); "
            f"s(sys.argv[1], survey_id={PREVIOUS!r}, communes_per_old_province=c); "
            f"s(sys.argv[1], survey_id={SURVEY!r}, communes_per_old_province=c, sample=n)")
    subprocess.run([sys.executable, "-c", code, str(root / "data" / "raw"), str(country),
                    ",".join(map(str, sample))], check=True, env=_env())


def bench(sizes: list[str], repeat: int, repeat_large: int, report: bool, work: Path) -> list[dict]:
    rows = []
    for size in sizes:
        root = work / size
        synth(root, size)
        forms = sum(sum(1 for _ in open(f, "rb")) - 1
                    for f in (root / "data" / "raw" / SURVEY / "responses").glob("forms_*.csv"))
        for _, command in STAGES:  # last year's stages, untimed: the indices read them
            run_step(root, PREVIOUS, command)
        steps = STAGES + ((REPORT,) if report else ())
        for r in range(repeat if forms < 100_000 else repeat_large):
            for step, command, *extra in steps:
                wall, mb = run_step(root, SURVEY, command, *extra)
                rows.append({"size": size, "forms": forms, "repeat": r, "step": step, "seconds": wall,
                             "peak_mb": mb})
                print(f"{forms:7d} forms  #{r + 1}  {step:12s} {wall:8.1f} s  {mb:7.0f} MB", flush=True)
    return rows


def table(res) -> str:
    """Markdown: median time / peak memory per step and size, time growth / forms growth per size step."""
    med = res.groupby(["step", "forms"], sort=False).agg(seconds=("seconds", "median"), peak_mb=("peak_mb", "median"),
                                                          runs=("seconds", "size")).reset_index()
    sizes = sorted(med["forms"].unique())
    pairs = list(zip(sizes, sizes[1:]))
    head = "| " + " | ".join(["step", *(f"{n:,} forms" for n in sizes),
                              *(f"time growth / forms growth, {a:,}→{b:,} ({b / a:.2f}×)" for a, b in pairs)]) + " |"
    lines = ["**national** (median time s / peak MB; runs: "
             + ", ".join(f"{n:,}: {int(med.loc[med['forms'] == n, 'runs'].max())}" for n in sizes) + ")", "",
             head, "|" + "---|" * (1 + len(sizes) + len(pairs))]
    for step in dict.fromkeys(med["step"]):
        s = med[med["step"] == step].set_index("forms")
        cells = [f"{s.loc[n, 'seconds']:.1f} / {s.loc[n, 'peak_mb']:.0f}" if n in s.index else "–" for n in sizes]
        el = [f"{(s.loc[b, 'seconds'] / s.loc[a, 'seconds']) / (b / a):.2f}" if a in s.index and b in s.index
              else "–" for a, b in pairs]
        lines.append(f"| {step} | " + " | ".join(cells + el) + " |")
    tot = med[med["step"].isin([s for s, _ in STAGES])].groupby("forms")["seconds"].sum()
    el = [f"{(tot[b] / tot[a]) / (b / a):.2f}" for a, b in pairs]
    lines.append("| stages 1–4 | " + " | ".join([f"{tot.get(n, float('nan')):.1f}" for n in sizes] + el) + " |")
    return "\n".join(lines + [""])


def sized_main(description: str, *, sizes: list[str], large: str, repeat_large: int, bench_fn, table_fn,
               prefix: str) -> None:  # sizes: the names the benchmark knows, all run by default
    """The command line of a benchmark over named sizes (this file's and benchmarks/service_user.py's): parse
    ``--sizes``, ``--repeat``, ``--repeat-large`` (from ``large`` forms), ``--no-report``, ``--markdown``, ``--csv``;
    run ``bench_fn`` in a temporary folder and print ``table_fn``'s table (:func:`pipeline.report_results`)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--sizes", default=",".join(sizes), help=f"sizes among {', '.join(sizes)} (default all)")
    ap.add_argument("--repeat", type=int, default=3, help=f"runs of every step below {large} forms (default 3)")
    ap.add_argument("--repeat-large", type=int, default=repeat_large,
                    help=f"runs of every step from {large} forms (default {repeat_large})")
    ap.add_argument("--no-report", action="store_true", help="time the four stages only")
    ap.add_argument("--markdown", default=None, help="also write the table to this file")
    ap.add_argument("--csv", default=None, help="also write the raw timings to this CSV file")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        rows = bench_fn(args.sizes.split(","), args.repeat, args.repeat_large, not args.no_report, Path(tmp))
    report_results(rows, table_fn, markdown=args.markdown, csv=args.csv)


def main() -> None:
    sized_main(__doc__.splitlines()[0], sizes=list(SIZES), large="100k", repeat_large=1, bench_fn=bench,
               table_fn=table, prefix="sipas-natbench-")


if __name__ == "__main__":
    main()

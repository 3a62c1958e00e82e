"""Benchmark: sipas.estimation against svy on a national-scale synthetic SIPAS slice.

Builds 40,000 respondents in ~450 communes (PSUs) within 16 strata, 40 binary
items and a 20-level domain variable, then times, in the same run:

1. Taylor-linearised means of all items by domain;
2. bootstrap (500 Rao–Wu replicates) means of all items by domain.

Replicate weights are created before timing for both libraries (only the
estimation is timed).  Prints the median time of repeated runs and the ratio
svy / sipas, and checks that both libraries agree on the Taylor results.

Run: ``.venv/bin/python benchmarks/estimation.py [--repeats N]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import numpy as np
import pandas as pd

from sipas.estimation.design import Design

N_RESP = 40_000
N_STRATA = 16
N_PSU = 450
N_ITEMS = 40
N_DOMAINS = 20
N_BOOT = 500


def make_data(seed: int = 20240601) -> pd.DataFrame:
    """Synthetic stratified two-stage sample with PSU effects on every item."""
    rng = np.random.default_rng(seed)
    psu_stratum = np.sort(np.arange(N_PSU) % N_STRATA)  # ~28 communes per stratum
    psu_of_row = np.sort(rng.integers(0, N_PSU, N_RESP))
    psu_of_row[:N_PSU] = np.arange(N_PSU)  # every PSU has respondents
    psu_of_row.sort()
    stratum = psu_stratum[psu_of_row]
    psu_effect = rng.normal(0, 0.5, N_PSU)[psu_of_row]
    w = rng.uniform(50, 400, N_PSU)[psu_of_row] * rng.uniform(0.8, 1.25, N_RESP)
    domain = rng.integers(0, N_DOMAINS, N_RESP)
    data = {
        "district": stratum.astype(np.int64),
        "commune": psu_of_row.astype(np.int64),
        "w": w,
        "domain": domain.astype(np.int64),
    }
    base = rng.normal(0, 1, N_ITEMS)
    for k in range(N_ITEMS):
        eta = base[k] + psu_effect + 0.02 * domain
        data[f"q{k + 1:02d}"] = (rng.random(N_RESP) < 1 / (1 + np.exp(-eta))).astype(np.float64)
    return pd.DataFrame(data)


def timeit(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    times = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per measurement (median reported)")
    args = parser.parse_args()

    import polars as pl
    import svy

    df = make_data()
    items = [c for c in df.columns if c.startswith("q")]
    print(f"data: {len(df)} respondents, {df['commune'].nunique()} PSUs, {df['district'].nunique()} strata, "
          f"{len(items)} binary items, {df['domain'].nunique()} domains; svy {svy.__version__}")

    # ---- sipas
    design = Design(df, weight="w", strata="district", psu="commune")
    t_sip_taylor, ours = timeit(lambda: design.mean(items, by="domain"), args.repeats)
    boot = design.replicate("bootstrap", replicates=N_BOOT, seed=1)
    t_sip_boot, ours_b = timeit(lambda: boot.mean(items, by="domain"), args.repeats)

    # ---- svy
    pdf = pl.from_pandas(df)
    sample = svy.Sample(pdf, svy.Design(stratum="district", psu="commune", wgt="w"))
    t_svy_taylor, theirs = timeit(lambda: sample.estimation.mean(items, by="domain", method="taylor"), max(1, args.repeats // 2))
    bs = sample.weighting.create_bs_wgts(N_BOOT, rstate=1)
    t_svy_boot, _ = timeit(lambda: bs.estimation.mean(items, by="domain", method="replication"), max(1, args.repeats // 2))

    # ---- agreement on Taylor (same estimator, same data)
    rows = []
    for est in theirs:
        for pe in est.estimates:
            rows.append((int(pe.by_level[0]), str(pe.y), pe.est, pe.se))
    svy_frame = pd.DataFrame(rows, columns=["domain", "variable", "est", "se"]).set_index(["domain", "variable"])
    mine = ours.set_index(["domain", "variable"]).loc[svy_frame.index]
    max_rel_est = float(np.max(np.abs(mine["estimate"] - svy_frame["est"]) / np.abs(svy_frame["est"])))
    max_rel_se = float(np.max(np.abs(mine["se"] - svy_frame["se"]) / svy_frame["se"]))

    print(f"Taylor means, {len(items)} items x {N_DOMAINS} domains: sipas {t_sip_taylor:.3f} s, "
          f"svy {t_svy_taylor:.3f} s, ratio {t_svy_taylor / t_sip_taylor:.1f}x (target >= 5x)")
    print(f"Bootstrap-{N_BOOT} means, {len(items)} items x {N_DOMAINS} domains: sipas {t_sip_boot:.3f} s, "
          f"svy {t_svy_boot:.3f} s, ratio {t_svy_boot / t_sip_boot:.1f}x (target >= 10x)")
    print(f"Taylor agreement sipas vs svy: max relative difference estimate {max_rel_est:.2e}, SE {max_rel_se:.2e}")
    print(f"(median of {args.repeats} sipas runs and {max(1, args.repeats // 2)} svy runs; "
          f"bootstrap SE/Taylor SE median ratio {float(np.median(ours_b['se'] / ours['se'])):.3f})")


if __name__ == "__main__":
    main()

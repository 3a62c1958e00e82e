"""Monte Carlo coverage of the SIPAS index CIs on the demo generator's population (slow).

Issue 5 asks: "over >= 200 simulated samples, 95% CIs of the index cover the true
value 92-98% of the time".  The population is the demo's synthetic province
(``synth.build_frames(default_rng(2024))``: 8 districts, 98 communes, 722 villages,
46,900 households) with every household's answers from ``synth._simulate_answers``;
the true indices come from ``synth.true_values``.

Each replication draws a true probability sample, stratified by district, from one of four demo
populations (:data:`ANSWER_SEEDS`):

1. communes by PPS systematic on household counts (``sampling.pps_systematic``,
   frame sorted as ``stratified_select`` sorts it), 3 per district and 5 in the two
   ``ALSO_LAST`` districts (the demo's 28 communes); ``pi_c = n_d x_c / X_d``
   (certainty units 1), exact for systematic PPS;
2. 3 villages per commune by SRS: ``pi_{v|c} = 3 / M_c``;
3. 30 households per village by SRS (all when fewer): ``pi_{h|v} = m_v / N_v``.

The household weight is ``1 / (pi_c pi_{v|c} pi_{h|v})``.  The index is estimated
exactly as the pipeline does (``sipas.stages.weighting.replicate_weights``: JKn on
district strata and commune PSUs, every replicate post-stratified to the district
household counts; ``indices.estimate_indices`` with its logit CI on the design df).
Items are built once for the whole population with matrix operations; nothing
goes through files.

Run as a script (``python tests/test_montecarlo_demo.py``) for a longer report.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from conftest import draw_within_communes
from sipas import indices, sampling, synth
from sipas.estimation.survey_design import FPC_COLUMN, replicate_weights
from sipas.forms.instrument import load_instrument
from sipas.sampling.checks import _order

N_SAMPLES = 200
#: Populations (answer seeds of the demo generator) the coverage is pooled over.  Conditional on one
#: population, design-based coverage depends on its realised commune effects: measured with 400 samples
#: each (household-2024.1 generator), seeds 11-14 gave 98.5%, 98.5%, 95.3% and 92.8% (SE / MC sd 1.14,
#: 1.20, 1.01, 0.97), pooled 96.3%.  The criterion is checked on the pooled samples, each population
#: also held to >= 90%.
ANSWER_SEEDS = (11, 12, 13, 14)
ANSWER_SEED = ANSWER_SEEDS[0]
VILLAGES_PER_COMMUNE = 3
HOUSEHOLDS_PER_VILLAGE = 30


class DemoPopulation:
    """The synthetic province, its population answers, indicators and true indices."""

    def __init__(self, answer_seed: int = ANSWER_SEED) -> None:
        self.instrument = load_instrument(*synth.DEMO_INSTRUMENT)
        communes, villages, households = synth.build_frames(np.random.default_rng(2024))
        pop = synth._simulate_answers(np.random.default_rng(answer_seed), households, communes,
                                      self.instrument, year_shift=0.0)
        truth = synth.true_values(pop, households, self.instrument)
        ov = truth[truth["level"] == "overall"]
        self.true_province = float(ov.loc[ov["district"] == "", "value"].iloc[0])
        self.true_district = ov[ov["district"] != ""].set_index("district")["value"].to_dict()
        self.indicators = indices.positive_indicators(pop, instrument=self.instrument)
        self.district = households["district"].to_numpy()
        self.commune = households["commune"].to_numpy()
        com_key = pd.MultiIndex.from_arrays([communes["district"], communes["commune"]])
        vil_key = pd.MultiIndex.from_arrays([villages["district"], villages["commune"], villages["village"]])
        hh_vil = vil_key.get_indexer(pd.MultiIndex.from_arrays(
            [households["district"], households["commune"], households["village"]]))
        vil_com = com_key.get_indexer(pd.MultiIndex.from_arrays([villages["district"], villages["commune"]]))
        order = np.argsort(hh_vil, kind="stable")
        bounds = np.searchsorted(hh_vil[order], np.arange(len(villages) + 1))
        self.hh_of_village = [order[bounds[v]:bounds[v + 1]] for v in range(len(villages))]
        self.villages_of_commune = [np.flatnonzero(vil_com == c) for c in range(len(communes))]
        frame = communes.assign(ci=np.arange(len(communes)))
        # the frame order stratified_select uses: districts and communes in Vietnamese order
        self.commune_frames = [
            (_order(frame[frame["district"] == d], "commune"), 5 if d in synth.ALSO_LAST else 3)
            for d in sampling.vi_sorted(frame["district"].unique())
        ]
        self.totals = communes.groupby("district", sort=True)["households"].sum().reset_index()
        self.communes_per_district = communes.groupby("district")["commune"].size().to_dict()

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the sampled households and their exact inclusion probabilities."""
        rows, pis = [], []
        for frame, n_d in self.commune_frames:
            sel = sampling.pps_systematic(frame, size="households", n=n_d, rng=rng)
            draw_within_communes(sel, self.villages_of_commune, self.hh_of_village, rng,
                                 villages=VILLAGES_PER_COMMUNE, households=HOUSEHOLDS_PER_VILLAGE, rows=rows, pis=pis)
        return np.concatenate(rows), np.concatenate(pis)

    def estimate(self, rows: np.ndarray, pi: np.ndarray, *, poststratify: bool = True,
                 fpc: bool = True) -> pd.DataFrame:
        """Overall index (province and districts) as the pipeline estimates it.

        The pipeline's weights table carries the number of communes of the district
        (``FPC_COLUMN``), so ``replicate_weights`` builds the JKn with the stage-1 finite
        population correction, R ``as.svrepdesign(svydesign(..., fpc=~N_d), type="JKn")``.
        ``fpc=False`` drops that column (investigation: with-replacement JKn).
        """
        w = pd.DataFrame({"district": self.district[rows], "commune": self.commune[rows], "w_nr": 1.0 / pi})
        if fpc:
            w[FPC_COLUMN] = w["district"].map(self.communes_per_district)
        rep = replicate_weights(w, totals=self.totals if poststratify else None)
        est = indices.estimate_indices(self.indicators.iloc[rows].reset_index(drop=True),
                                       instrument=self.instrument, rep=rep, by=w["district"],
                                       psu=w["commune"], strata=w["district"])
        return est[est["level"] == "overall"]


VARIANTS = {
    "pipeline": {"poststratify": True, "fpc": True},  # what sipas publishes
    "pipeline_no_fpc": {"poststratify": True, "fpc": False},  # investigation: with-replacement JKn
    "design_weights": {"poststratify": False, "fpc": True},
}


def run(n_samples: int = N_SAMPLES, seed: int = 20240, variants: tuple[str, ...] = ("pipeline",),
        answer_seed: int = ANSWER_SEED) -> dict:
    """Coverage of every variant on the same ``n_samples`` samples of one population."""
    from threadpoolctl import threadpool_limits

    t0 = time.perf_counter()
    popn = DemoPopulation(answer_seed)
    rng = np.random.default_rng(seed)
    acc = {v: {"cover": [], "est": [], "se": [], "dist": {d: [] for d in popn.true_district}} for v in variants}
    with threadpool_limits(1):  # small matrix products: threads only add overhead
        for _ in range(n_samples):
            rows, pi = popn.draw(rng)
            for v in variants:
                est = popn.estimate(rows, pi, **VARIANTS[v])
                a = acc[v]
                p = est[est["domain_type"] == "province"].iloc[0]
                a["cover"].append(p["ci_low"] <= popn.true_province <= p["ci_high"])
                a["est"].append(p["estimate"])
                a["se"].append(p["se"])
                for _, r in est[est["domain_type"] != "province"].iterrows():
                    a["dist"][r["domain"]].append(r["ci_low"] <= popn.true_district[r["domain"]] <= r["ci_high"])
    out = {"n": n_samples, "true": popn.true_province, "seconds": time.perf_counter() - t0}
    for v, a in acc.items():
        e, se = np.array(a["est"]), np.array(a["se"])
        dc = {d: float(np.mean(c)) for d, c in a["dist"].items()}
        out[v] = {"coverage": float(np.mean(a["cover"])), "bias": float(e.mean() - popn.true_province),
                  "mc_sd": float(e.std(ddof=1)), "mean_se": float(se.mean()),
                  "district_coverage": dc, "district_pooled": float(np.mean(list(dc.values())))}
    return out


def _report(res: dict) -> str:
    lines = [f"{res['n']} samples, true province index {res['true']:.4f}, {res['seconds']:.0f} s"]
    for v in VARIANTS:
        if v not in res:
            continue
        r = res[v]
        lines.append(f"  {v}: coverage {r['coverage']:.4f}, bias {r['bias']:+.5f}, MC sd {r['mc_sd']:.5f}, "
                     f"mean SE {r['mean_se']:.5f}; districts pooled {r['district_pooled']:.3f} ("
                     + ", ".join(f"{k} {c:.3f}" for k, c in r["district_coverage"].items()) + ")")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def montecarlo() -> list[dict]:
    res = [run(answer_seed=s, seed=20240 + i) for i, s in enumerate(ANSWER_SEEDS)]
    print("\n" + "\n".join(_report(r) for r in res))
    return res


@pytest.mark.slow
def test_pipeline_index_ci_coverage(montecarlo):
    """Issue 5's criterion on the index exactly as the pipeline publishes it (JKn with stage-1 fpc):
    95% CIs cover the true index 92-98% of the time, over 4 x 200 samples of 4 demo populations.

    Measured when written: pooled 95.8% (per population 98.0, 95.0, 94.5, 95.5%).  Without the stage-1
    fpc the JKn treats the commune draw (3-5 of 7-17 per district) as with replacement and covers
    more (SE ~18-30% too large; ``python tests/test_montecarlo_demo.py`` reports every variant).
    """
    pooled = float(np.mean([r["pipeline"]["coverage"] for r in montecarlo]))
    assert 0.92 <= pooled <= 0.98, [r["pipeline"]["coverage"] for r in montecarlo]
    assert all(r["pipeline"]["coverage"] >= 0.90 for r in montecarlo)


@pytest.mark.slow
def test_pipeline_index_is_unbiased(montecarlo):
    for r in montecarlo:
        p = r["pipeline"]
        assert abs(p["bias"]) < 0.25 * p["mc_sd"]  # HT-type weights from exact pi: no material bias
        assert 0.8 < p["mean_se"] / p["mc_sd"] < 1.25


if __name__ == "__main__":
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else N_SAMPLES
    for i, s in enumerate(ANSWER_SEEDS):
        print(_report(run(n, seed=20240 + i, variants=tuple(VARIANTS), answer_seed=s)))

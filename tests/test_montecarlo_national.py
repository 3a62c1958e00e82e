"""Monte Carlo coverage of the province CIs of the national survey on the national demo's population (slow).

Issue 17 asks that on the national demo the province CIs cover the truth at the rate a Monte Carlo test
predicts (92-98%).  Running the whole pipeline per replicate is too slow, so, as tests/test_montecarlo_demo.py
does for one province, each replicate samples from the generator's population and estimates with the library
functions the indices stage uses:

* population: the national demo's country (:func:`sipas.synth_national.build_country`, the same frame seed:
  63 old provinces of 20 communes, ~426,000 households), every household's answers from the demo's answer
  model for 2025 (:func:`sipas.synth._simulate_answers`, the province effects and their 2025 change, one old
  province at a time as :func:`sipas.synth_national.synthesize_national` draws them);
* truth: the population's item counts per new province through the instrument's default rule
  (:func:`sipas.indices.aggregation.evaluate_rule`), as the demo's ``truth/true_values.csv``;
* design, per new province (34 strata): 12 communes by PPS systematic on households
  (:func:`sipas.sampling.pps_systematic`, certainty units included; ``pi_c`` exact), 3 villages per commune
  by SRS (``3 / M_c``), 30 households per village by SRS (all when fewer): weight ``1 / (pi_c pi_v pi_h)``;
* estimation as the indices stage: JKn on province strata and commune PSUs with the stage-1 fpc (communes per
  province), every replicate post-stratified to the provinces' household counts
  (:func:`sipas.estimation.survey_design.replicate_weights`), then
  :func:`sipas.indices.estimate_indices` by province (``total_type="country"``) with its logit CI on
  the province's own df (communes - 1).

Coverage is pooled over the 34 provinces and the replicates (34 x 60 = 2,040 intervals); the country's CI is
also recorded.  Run as a script (``python tests/test_montecarlo_national.py [n]``) for a longer report.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from conftest import draw_within_communes
from sipas import indices, sampling, synth
from sipas import synth_national as sn
from sipas.estimation.survey_design import FPC_COLUMN, replicate_weights
from sipas.forms.instrument import load_instrument
from sipas.forms.instrument.rules import resolve_rule
from sipas.indices.aggregation import evaluate_rule

N_SAMPLES = 60
COMMUNES_PER_PROVINCE = 12
VILLAGES_PER_COMMUNE = 3
HOUSEHOLDS_PER_VILLAGE = 30
ANSWER_SEED = 20250910


class NationalPopulation:
    """The national demo's 2025 population, its indicators and the true province indices."""

    def __init__(self, answer_seed: int = ANSWER_SEED) -> None:
        self.instrument = inst = load_instrument(*synth.DEMO_INSTRUMENT)
        communes, villages, households, effects = sn.build_country(np.random.default_rng(sn.FRAME_SEED))
        rng = np.random.default_rng(answer_seed)
        eff = effects.set_index("province_old")
        parts = []
        for old, g in households.groupby("province_old", sort=False):
            c = communes[communes["province_old"] == old].assign(district=old)
            pop = synth._simulate_answers(rng, g.reset_index(drop=True).assign(district=old), c, inst,
                                          year_shift=float(eff.at[old, "effect"] + eff.at[old, "change_2025"]))
            parts.append(pop.assign(_row=g.index.to_numpy()))
        pop = pd.concat(parts, ignore_index=True).sort_values("_row", kind="stable").reset_index(drop=True)
        self.indicators = indices.positive_indicators(pop, instrument=inst)
        rule = resolve_rule(inst.raw)
        items = inst.items
        item_ids = items.loc[items["index"] & items["criterion"].notna(), "item"].tolist()
        Y = self.indicators[item_ids].to_numpy(float)
        self.province = households["province"].to_numpy()
        self.commune = households["commune"].to_numpy()
        self.truth = {}
        for p in np.unique(self.province):
            m = self.province == p
            num, den = np.nansum(Y[m], axis=0), np.sum(~np.isnan(Y[m]), axis=0).astype(float)
            rv = evaluate_rule(rule, num[:, None], den[:, None], item_ids)
            self.truth[p] = float(rv.values[[lvl == "overall" for lvl, _ in rv.labels].index(True), 0])
        num, den = np.nansum(Y, axis=0), np.sum(~np.isnan(Y), axis=0).astype(float)
        rv = evaluate_rule(rule, num[:, None], den[:, None], item_ids)
        self.truth_country = float(rv.values[[lvl == "overall" for lvl, _ in rv.labels].index(True), 0])
        hh_key = pd.MultiIndex.from_arrays([households["province"], households["commune"], households["village"]])
        vil_key = pd.MultiIndex.from_arrays([villages["province"], villages["commune"], villages["village"]])
        hh_vil = vil_key.get_indexer(hh_key)
        order = np.argsort(hh_vil, kind="stable")
        bounds = np.searchsorted(hh_vil[order], np.arange(len(villages) + 1))
        self.hh_of_village = [order[bounds[v]:bounds[v + 1]] for v in range(len(villages))]
        com_key = pd.MultiIndex.from_arrays([communes["province"], communes["commune"]])
        vil_com = com_key.get_indexer(pd.MultiIndex.from_arrays([villages["province"], villages["commune"]]))
        self.villages_of_commune = [np.flatnonzero(vil_com == c) for c in range(len(communes))]
        frame = communes.assign(ci=np.arange(len(communes)))
        self.frames = [g.sort_values("commune", kind="stable") for _, g in frame.groupby("province", sort=True)]
        self.totals = communes.groupby("province", sort=True)["households"].sum().reset_index()
        self.communes_per_province = communes.groupby("province")["commune"].size().to_dict()

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the sampled households and their exact inclusion probabilities."""
        rows, pis = [], []
        for frame in self.frames:
            sel = sampling.pps_systematic(frame, size="households", n=COMMUNES_PER_PROVINCE, rng=rng)
            draw_within_communes(sel, self.villages_of_commune, self.hh_of_village, rng,
                                 villages=VILLAGES_PER_COMMUNE, households=HOUSEHOLDS_PER_VILLAGE, rows=rows, pis=pis)
        return np.concatenate(rows), np.concatenate(pis)

    def estimate(self, rows: np.ndarray, pi: np.ndarray) -> pd.DataFrame:
        """Overall index of the country and every province, as the indices stage estimates it."""
        w = pd.DataFrame({"province": self.province[rows], "commune": self.commune[rows], "w_nr": 1.0 / pi})
        w[FPC_COLUMN] = w["province"].map(self.communes_per_province)
        rep = replicate_weights(w, totals=self.totals, strata="province", psu="commune")
        est = indices.estimate_indices(self.indicators.iloc[rows].reset_index(drop=True), instrument=self.instrument,
                                       rep=rep, by=w["province"], by_type="province", total_type="country",
                                       psu=w["commune"], strata=w["province"])
        return est[est["level"] == "overall"]


def run(n_samples: int = N_SAMPLES, seed: int = 17034) -> dict:
    """Province and country coverage over ``n_samples`` samples of the population."""
    from threadpoolctl import threadpool_limits

    t0 = time.perf_counter()
    popn = NationalPopulation()
    rng = np.random.default_rng(seed)
    cover, cover_c, err, se = [], [], [], []
    with threadpool_limits(1):
        for _ in range(n_samples):
            rows, pi = popn.draw(rng)
            est = popn.estimate(rows, pi)
            c = est[est["domain_type"] == "country"].iloc[0]
            cover_c.append(c["ci_low"] <= popn.truth_country <= c["ci_high"])
            p = est[est["domain_type"] == "province"]
            t = p["domain"].map(popn.truth).to_numpy(float)
            cover += list((p["ci_low"].to_numpy() <= t) & (t <= p["ci_high"].to_numpy()))
            err += list(p["estimate"].to_numpy() - t)
            se += list(p["se"].to_numpy())
    err_a, se_a = np.array(err), np.array(se)
    return {"n": n_samples, "seconds": time.perf_counter() - t0, "province_coverage": float(np.mean(cover)),
            "intervals": len(cover), "country_coverage": float(np.mean(cover_c)),
            "mean_error": float(err_a.mean()), "rmse": float(np.sqrt(np.mean(err_a ** 2))),
            "mean_se": float(se_a.mean())}


@pytest.fixture(scope="module")
def montecarlo() -> dict:
    res = run()
    print("\n", res)
    return res


@pytest.mark.slow
def test_province_ci_coverage_on_the_national_population(montecarlo):
    """95% CIs of the 34 provinces cover their true index 92-98% of the time (pooled over provinces and
    60 samples, 2,040 intervals: the binomial SE at 95% is 0.5 point).

    Measured when written: 94.5% (country 96.7% of 60), mean error +0.05 point, mean SE 1.93 vs RMSE 2.10
    points; 22 s on one core."""
    assert montecarlo["intervals"] == 34 * N_SAMPLES
    assert 0.92 <= montecarlo["province_coverage"] <= 0.98, montecarlo


@pytest.mark.slow
def test_province_estimates_are_unbiased_and_se_matches_the_error(montecarlo):
    assert abs(montecarlo["mean_error"]) < 0.1 * montecarlo["rmse"]
    assert 0.8 < montecarlo["mean_se"] / montecarlo["rmse"] < 1.25


if __name__ == "__main__":
    import sys

    print(run(int(sys.argv[1]) if len(sys.argv) > 1 else N_SAMPLES))

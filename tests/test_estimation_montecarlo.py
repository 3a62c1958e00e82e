"""Monte Carlo check of design-based confidence intervals (slow).

A finite population with strata and clusters (intra-cluster correlation, unequal
cluster sizes) is simulated once; 300 stratified cluster samples are drawn
(SRS without replacement of communes within each district, every respondent of a
sampled commune interviewed).  The nominal 95% t intervals (design df) of the
population mean of a satisfaction score and of a binary item must cover the
true values 92–98% of the time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sipas.estimation.design import Design

pytestmark = pytest.mark.slow

N_STRATA, CLUSTERS_PER_STRATUM, SAMPLED_PER_STRATUM, N_SAMPLES = 12, 40, 6, 300


def _population(rng: np.random.Generator) -> pd.DataFrame:
    frames = []
    for h in range(N_STRATA):
        sizes = rng.integers(15, 45, CLUSTERS_PER_STRATUM)
        stratum_effect = rng.normal(0, 0.4)
        for c, m in enumerate(sizes):
            u = rng.normal(0, 0.5)
            score = 3 + stratum_effect + u + rng.normal(0, 1, m)
            item = (rng.random(m) < 1 / (1 + np.exp(-(stratum_effect + u)))).astype(float)
            frames.append(pd.DataFrame({"district": h, "commune": c, "score": score, "item": item}))
    return pd.concat(frames, ignore_index=True)


def test_ci_coverage_of_means():
    rng = np.random.default_rng(12345)
    pop = _population(rng)
    truth = pop[["score", "item"]].mean()
    groups = {key: idx for key, idx in pop.groupby(["district", "commune"]).indices.items()}
    hits = np.zeros(2)
    for _ in range(N_SAMPLES):
        parts = []
        for h in range(N_STRATA):
            chosen = rng.choice(CLUSTERS_PER_STRATUM, SAMPLED_PER_STRATUM, replace=False)
            parts.extend(groups[(h, c)] for c in chosen)
        sample = pop.iloc[np.concatenate(parts)].copy()
        sample["w"] = CLUSTERS_PER_STRATUM / SAMPLED_PER_STRATUM
        sample["N"] = CLUSTERS_PER_STRATUM
        out = Design(sample, weight="w", strata="district", psu="commune", fpc="N").mean(["score", "item"])
        inside = (out["ci_low"].to_numpy() <= truth.to_numpy()) & (truth.to_numpy() <= out["ci_high"].to_numpy())
        hits += inside
    coverage = hits / N_SAMPLES
    print(f"coverage score={coverage[0]:.3f} item={coverage[1]:.3f}")
    assert np.all((coverage >= 0.92) & (coverage <= 0.98)), coverage

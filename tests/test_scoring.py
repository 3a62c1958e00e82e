"""Indices recomputed by hand on a small hand-made dataset."""

import numpy as np
import pandas as pd
import pytest

from sipas import scoring
from sipas.instrument import load_instrument


@pytest.fixture(scope="module")
def inst():
    return load_instrument("household", "2023.1")


def test_positive_indicators_follow_the_instrument(inst):
    forms = pd.DataFrame({c: [np.nan] * 4 for c in inst.items["item"]})
    forms["s2_1a"] = [5, 4, 3, 9]        # 4, 5 satisfied; 9 don't know -> not valid
    forms["p1_5"] = [1, 2, np.nan, 7]    # "No" (2) is the positive answer; 7 out of range
    ind = scoring.positive_indicators(forms, instrument=inst)
    assert ind["s2_1a"].tolist()[:3] == [1.0, 1.0, 0.0] and np.isnan(ind["s2_1a"].iloc[3])
    assert ind["p1_5"].tolist()[:2] == [0.0, 1.0] and ind["p1_5"].iloc[2:].isna().all()


def _rep(w, reps, scale=1.0):
    reps = np.asarray(reps, dtype=float)
    return scoring.ReplicateWeights(weights=np.asarray(w, float), replicates=reps, scale=scale,
                                    rscales=np.ones(reps.shape[1]), df=10.0, mse=True)


def test_indices_by_hand(inst):
    items = inst.items
    idx_items = items.loc[items["index"] & items["criterion"].notna(), "item"].tolist()
    n = 4
    forms = pd.DataFrame({c: [5.0] * n for c in idx_items})
    forms["s2_1a"] = [5, 2, 4, np.nan]   # criterion 2.1: item a
    forms["s2_1b"] = [1, 1, 4, 5]        # item b
    forms["s2_1c"] = [4, 4, 4, 4]
    w = np.array([1.0, 2.0, 3.0, 4.0])
    ind = scoring.positive_indicators(forms, instrument=inst)
    reps = np.column_stack([w * [0, 2, 1, 1], w * [2, 0, 1, 1]])
    out = scoring.estimate_indices(ind, instrument=inst, rep=_rep(w, reps), total_label="P")
    get = lambda lvl, i: out[(out["level"] == lvl) & (out["id"] == i)].iloc[0]
    # item a: positive 1 (w1) + 3 (w3) over valid weights 1+2+3
    pa = (1 + 3) / 6
    pb = (3 + 4) / 10
    assert get("item", "s2_1a")["estimate"] == pytest.approx(pa, rel=1e-12)
    assert get("item", "s2_1b")["estimate"] == pytest.approx(pb, rel=1e-12)
    assert get("criterion", "2.1")["estimate"] == pytest.approx((pa + pb + 1) / 3, rel=1e-12)
    # replicate 1 weights (0, 4, 3, 4): item a = 3/7, b = 7/11; replicate 2 (2, 0, 3, 4): a = 5/5, b = 7/9
    c1 = (3 / 7 + 7 / 11 + 1) / 3
    c2 = (1.0 + 7 / 9 + 1) / 3
    c0 = (pa + pb + 1) / 3
    assert get("criterion", "2.1")["se"] == pytest.approx(np.sqrt((c1 - c0) ** 2 + (c2 - c0) ** 2), rel=1e-12)
    # the satisfaction aspect = mean of its 8 criteria; all others are 1
    assert get("overall", "satisfaction")["estimate"] == pytest.approx((c0 + 7) / 8, rel=1e-12)
    assert get("item", "s2_1a")["n"] == 3


def test_domains_keep_the_full_design(inst):
    items = inst.items
    idx_items = items.loc[items["index"] & items["criterion"].notna(), "item"].tolist()
    forms = pd.DataFrame({c: [4.0, 2.0, 5.0, 1.0] for c in idx_items})
    w = np.ones(4)
    ind = scoring.positive_indicators(forms, instrument=inst)
    out = scoring.estimate_indices(ind, instrument=inst, rep=_rep(w, np.column_stack([w, w])),
                                   by=pd.Series(["A", "A", "B", "B"]))
    a = out[(out["domain"] == "A") & (out["level"] == "item") & (out["id"] == "s2_1a")].iloc[0]
    assert a["estimate"] == 0.5 and a["n"] == 2


def test_suppression_and_ranking():
    t = pd.DataFrame({"domain": ["A", "B", "C"], "estimate": [0.8, 0.7, 0.5], "se": [0.01] * 3,
                      "ci_low": [0.75, 0.65, 0.45], "ci_high": [0.85, 0.78, 0.55], "n": [40, 10, 50]})
    s = scoring.suppress_small_cells(t, min_n=30)
    assert s["suppressed"].tolist() == [False, True, False] and np.isnan(s.loc[1, "estimate"])
    r = scoring.rank_units(t)
    assert r["rank"].tolist() == [1, 2, 3] and r["group"].tolist() == [1, 1, 2]


def test_logit_ci_matches_closed_form():
    lo, hi = scoring.logit_ci(np.array([0.8]), np.array([0.02]), df=20)
    from scipy import stats
    t = stats.t.ppf(0.975, 20)
    half = t * 0.02 / (0.8 * 0.2)
    assert lo[0] == pytest.approx(1 / (1 + np.exp(-(np.log(4) - half))), rel=1e-12)
    assert hi[0] == pytest.approx(1 / (1 + np.exp(-(np.log(4) + half))), rel=1e-12)


def test_year_over_year_independent_samples():
    cur = pd.DataFrame({"domain_type": ["province"], "domain": ["P"], "level": ["overall"], "id": ["s"],
                        "estimate": [0.82], "se": [0.03]})
    prev = cur.assign(estimate=[0.78], se=[0.04])
    y = scoring.year_over_year(cur, prev)
    assert y["change"].iloc[0] == pytest.approx(0.04)
    assert y["se_change"].iloc[0] == pytest.approx(0.05)
    assert not y["significant"].iloc[0]

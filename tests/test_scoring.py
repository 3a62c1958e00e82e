"""Indices recomputed by hand on a small hand-made dataset."""

import numpy as np
import pandas as pd
import pytest

from sipas import indices
from sipas.estimation.replicate_weights import ReplicateWeights
from sipas.forms.instrument import load_instrument


@pytest.fixture(scope="module")
def inst():
    return load_instrument("household", "2023.1")


def test_positive_indicators_follow_the_instrument(inst):
    forms = pd.DataFrame({c: [np.nan] * 4 for c in inst.items["item"]})
    forms["s2_1a"] = [5, 4, 3, 9]        # 4, 5 satisfied; 9 don't know -> not valid
    forms["p1_5"] = [1, 2, np.nan, 7]    # "No" (2) is the positive answer; 7 out of range
    ind = indices.positive_indicators(forms, instrument=inst)
    assert ind["s2_1a"].tolist()[:3] == [1.0, 1.0, 0.0] and np.isnan(ind["s2_1a"].iloc[3])
    assert ind["p1_5"].tolist()[:2] == [0.0, 1.0] and ind["p1_5"].iloc[2:].isna().all()


def _rep(w, reps, scale=1.0):
    reps = np.asarray(reps, dtype=float)
    return ReplicateWeights(weights=np.asarray(w, float), replicates=reps, scale=scale,
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
    ind = indices.positive_indicators(forms, instrument=inst)
    reps = np.column_stack([w * [0, 2, 1, 1], w * [2, 0, 1, 1]])
    out = indices.estimate_indices(ind, instrument=inst, rep=_rep(w, reps), total_label="P")
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
    assert get("overall", "overall")["estimate"] == pytest.approx((c0 + 7) / 8, rel=1e-12)
    assert get("item", "s2_1a")["n"] == 3


def test_domains_keep_the_full_design(inst):
    items = inst.items
    idx_items = items.loc[items["index"] & items["criterion"].notna(), "item"].tolist()
    forms = pd.DataFrame({c: [4.0, 2.0, 5.0, 1.0] for c in idx_items})
    w = np.ones(4)
    ind = indices.positive_indicators(forms, instrument=inst)
    out = indices.estimate_indices(ind, instrument=inst, rep=_rep(w, np.column_stack([w, w])),
                                   by=pd.Series(["A", "A", "B", "B"]))
    a = out[(out["domain"] == "A") & (out["level"] == "item") & (out["id"] == "s2_1a")].iloc[0]
    assert a["estimate"] == 0.5 and a["n"] == 2


def test_suppression_and_ranking():
    t = pd.DataFrame({"domain": ["A", "B", "C"], "estimate": [0.8, 0.7, 0.5], "se": [0.01] * 3,
                      "ci_low": [0.75, 0.65, 0.45], "ci_high": [0.85, 0.78, 0.55], "n": [40, 10, 50]})
    s = indices.suppress_small_cells(t, min_n=30)
    assert s["suppressed"].tolist() == [False, True, False] and np.isnan(s.loc[1, "estimate"])
    r = indices.rank_units(t)
    assert r["rank"].tolist() == [1, 2, 3] and r["group"].tolist() == [1, 1, 2]


def test_logit_ci_matches_closed_form():
    lo, hi = indices.logit_ci(np.array([0.8]), np.array([0.02]), df=20)
    from scipy import stats
    t = stats.t.ppf(0.975, 20)
    half = t * 0.02 / (0.8 * 0.2)
    assert lo[0] == pytest.approx(1 / (1 + np.exp(-(np.log(4) - half))), rel=1e-12)
    assert hi[0] == pytest.approx(1 / (1 + np.exp(-(np.log(4) + half))), rel=1e-12)


def test_year_over_year_independent_samples():
    cur = pd.DataFrame({"domain_type": ["province"], "domain": ["P"], "level": ["overall"], "id": ["s"],
                        "estimate": [0.82], "se": [0.03]})
    prev = cur.assign(estimate=[0.78], se=[0.04])
    y = indices.year_over_year(cur, prev)
    assert y["change"].iloc[0] == pytest.approx(0.04)
    assert y["se_change"].iloc[0] == pytest.approx(0.05)
    assert not y["significant"].iloc[0]


# --------------------------------------------------------------------------- respondent groups and rankings

def test_age_groups_and_urban_rural():
    ages = pd.Series([18, 29, 30, 44, 45, 59, 60, 95, np.nan, 17])
    assert indices.age_group(ages).tolist()[:8] == ["18-29", "18-29", "30-44", "30-44", "45-59", "45-59", "60+", "60+"]
    assert indices.age_group(ages).iloc[8:].isna().all()
    ct = pd.Series(["Phường", "Thị trấn", "Xã", None, "Khác"])
    out = indices.urban_rural(ct)
    assert out.tolist()[:3] == ["urban", "urban", "rural"] and out.iloc[3:].isna().all()


def test_group_indices_by_hand(inst):
    """Overall index of each group recomputed by hand; a missing group belongs to no domain."""
    items = inst.items
    idx_items = items.loc[items["index"] & items["criterion"].notna(), "item"].tolist()
    forms = pd.DataFrame({c: [5.0] * 5 for c in idx_items})
    forms["s2_1a"] = [5, 1, 1, 5, 1]          # criterion 2.1, item a
    forms["s2_6a"] = [2, 4, np.nan, 4, 5]     # criterion 2.6, item a
    w = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    ind = indices.positive_indicators(forms, instrument=inst)
    rep = _rep(w, np.column_stack([w, w]))
    groups = pd.DataFrame({"sex": ["1", "2", "1", "2", np.nan]})
    out = indices.group_indices(ind, groups, instrument=inst, rep=rep)
    assert set(out["domain"]) == {"1", "2"} and set(out["domain_type"]) == {"sex"}
    get = lambda d, lvl, i: out[(out["domain"] == d) & (out["level"] == lvl) & (out["id"] == i)].iloc[0]
    # group 1 = rows 0 (w 1) and 2 (w 3): item 2.1a positive only in row 0 -> 1/4
    crit21 = {}
    c_items = items.loc[items["criterion"] == "2.1", "item"].tolist()
    crit21["1"] = (1 / 4 + (len(c_items) - 1)) / len(c_items)
    crit21["2"] = (4 / 6 + (len(c_items) - 1)) / len(c_items)     # rows 1 (w 2, no) and 3 (w 4, yes)
    c26_items = items.loc[items["criterion"] == "2.6", "item"].tolist()
    crit26 = {"1": (0.0 + len(c26_items) - 1) / len(c26_items),   # row 0 answers 2 (no), row 2 blank
              "2": (1.0 + len(c26_items) - 1) / len(c26_items)}
    for g in ("1", "2"):
        assert get(g, "criterion", "2.1")["estimate"] == pytest.approx(crit21[g], rel=1e-12)
        assert get(g, "criterion", "2.6")["estimate"] == pytest.approx(crit26[g], rel=1e-12)
        assert get(g, "overall", "overall")["estimate"] == pytest.approx((crit21[g] + crit26[g] + 6) / 8,
                                                                             rel=1e-12)
        assert get(g, "overall", "overall")["n"] == 2
    assert "item" not in set(out["level"])
    # the same numbers as a direct domain analysis
    direct = indices.estimate_indices(ind, instrument=inst, rep=rep, by=groups["sex"], by_type="sex")
    d = direct[(direct["domain"] == "2") & (direct["level"] == "overall")].iloc[0]
    assert d["estimate"] == pytest.approx(get("2", "overall", "overall")["estimate"], rel=1e-15)
    assert not (direct["domain"].astype(str) == "nan").any()


def test_group_cells_below_minimum_are_suppressed(inst):
    items = inst.items
    idx_items = items.loc[items["index"] & items["criterion"].notna(), "item"].tolist()
    forms = pd.DataFrame({c: [4.0, 2.0, 5.0, 1.0, 4.0] for c in idx_items})
    w = np.ones(5)
    ind = indices.positive_indicators(forms, instrument=inst)
    out = indices.group_indices(ind, pd.DataFrame({"area": ["urban", "rural", "rural", "rural", "rural"]}),
                                instrument=inst, rep=_rep(w, np.column_stack([w, w])))
    pub = indices.suppress_small_cells(out, min_n=2)
    assert pub.loc[pub["domain"] == "urban", "estimate"].isna().all()
    assert pub.loc[pub["domain"] == "rural", "estimate"].notna().all()
    urban = pub[pub["domain"] == "urban"]
    assert urban.loc[urban["level"] == "overall", "n"].eq(1).all()   # n stays visible
    assert urban["n"].le(1).all()   # a criterion's n counts valid answers to its own items


def test_rank_intervals_separated_units_have_exact_ranks():
    est = np.array([0.9, 0.5, 0.7])
    lo, hi = indices.rank_intervals(est, np.full(3, 1e-4), seed=1)
    assert lo.tolist() == [1, 3, 2] and hi.tolist() == [1, 3, 2]


def test_rank_intervals_indistinguishable_units_span_all_ranks():
    est = np.array([0.80, 0.79, 0.78, 0.77])
    lo, hi = indices.rank_intervals(est, np.full(4, 0.05), df=np.full(4, 20.0), seed=3)
    assert lo.tolist() == [1, 1, 1, 1] and hi.tolist() == [4, 4, 4, 4]


def test_rank_intervals_match_closed_form_for_two_units():
    """Two units: P(unit B ranks first) = P(Z_B - Z_A > d) with the normal approximation on the logit scale."""
    from scipy import stats

    est = np.array([0.80, 0.75])
    se = np.array([0.03, 0.03])
    sl = se / (est * (1 - est))
    d = np.log(est[0] / (1 - est[0])) - np.log(est[1] / (1 - est[1]))
    p_swap = stats.norm.sf(d / np.hypot(*sl))
    assert 0.025 < p_swap      # so the 95% rank interval of each unit must be 1-2
    lo, hi = indices.rank_intervals(est, se, seed=0, n_draws=40000)
    assert lo.tolist() == [1, 1] and hi.tolist() == [2, 2]
    lo, hi = indices.rank_intervals(est, se, seed=0, n_draws=40000, level=1 - 2 * p_swap * 0.8)
    assert hi[0] == 2 and lo[1] == 1


def test_rank_intervals_are_deterministic_and_validate_input():
    est, se = np.array([0.8, 0.7, 0.75]), np.array([0.03, 0.02, 0.04])
    a = indices.rank_intervals(est, se, seed=7)
    b = indices.rank_intervals(est, se, seed=7)
    assert all((x == y).all() for x, y in zip(a, b))
    from sipas.errors import EstimationError
    with pytest.raises(EstimationError):
        indices.rank_intervals(np.array([0.8, 1.0]), np.array([0.01, 0.01]))
    with pytest.raises(EstimationError):
        indices.rank_intervals(np.array([0.8]), np.array([0.01, 0.01]))


def test_rank_units_adds_rank_interval_around_rank():
    t = pd.DataFrame({"domain": list("ABCD"), "estimate": [0.6, 0.9, 0.85, 0.5], "se": [0.02, 0.02, 0.03, 0.01],
                      "df": [20.0] * 4})
    t["ci_low"], t["ci_high"] = indices.logit_ci(t["estimate"], t["se"], df=20)
    r = indices.rank_units(t, seed=0)
    assert r["domain"].tolist() == ["B", "C", "A", "D"]
    assert (r["rank_low"] <= r["rank"]).all() and (r["rank"] <= r["rank_high"]).all()
    assert r["group"].tolist() == [1, 1, 2, 3]
    assert "rank_low" not in indices.rank_units(t, rank_ci=False).columns


def test_a_unit_too_small_to_publish_is_not_ranked():
    # issue 14: a commune with 12 forms (minimum 30) showed "—" in the unit table but its value in the ranking
    t = pd.DataFrame({"domain": ["A", "B", "C", "D"], "estimate": [0.8, 0.9, 0.95, 0.7], "se": 0.02,
                      "ci_low": [0.76, 0.86, 0.91, 0.66], "ci_high": [0.84, 0.94, 0.99, 0.74], "df": 4.0,
                      "n": [100, 100, 12, 100]})
    r = indices.rank_published_units(t, min_n=30, seed=1)
    assert list(r["domain"]) == ["B", "A", "D", "C"]
    assert r["rank"].tolist()[:3] == [1, 2, 3] and np.isnan(r["rank"].iloc[3])
    c = r.iloc[3]
    assert c["suppressed"] and c[["estimate", "se", "ci_low", "ci_high", "rank_low", "rank_high", "group"]].isna().all()
    assert c["n"] == 12                                  # the count stays visible
    assert (r["rank_high"].iloc[:3] <= 3).all()          # intervals among the ranked units only


def test_small_cells_are_blanked_in_year_over_year():
    y = pd.DataFrame({"domain_type": "district", "domain": ["A", "B"], "level": "overall", "id": "overall",
                      "estimate_prev": [0.8, 0.7], "estimate": [0.85, 0.9], "change": [0.05, 0.2],
                      "se_change": 0.02, "ci_low_change": [0.01, 0.16], "ci_high_change": [0.09, 0.24],
                      "p_value": [0.01, 0.0], "significant": [True, True], "n": [100, 100], "n_prev": [100, 12]})
    p = indices.suppress_small_changes(y, min_n=30).set_index("domain")
    assert not p.loc["A", "suppressed"] and p.loc["A", "change"] == 0.05
    assert p.loc["B", "suppressed"] and np.isnan(p.loc["B", "change"]) and not p.loc["B", "significant"]

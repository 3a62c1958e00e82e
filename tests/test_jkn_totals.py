"""The closed-form JKn replicates of a post-stratified design with one PSU per respondent (service users).

``sipas.estimation.survey_design.poststratified_jkn`` (:mod:`sipas.estimation.jkn_totals`) gives every domain's
replicate totals from per-cell sums, in ``O(n)``.  Checked against

* the ``n x R`` weight matrix of ``replicate_weights_dense`` (``Design.replicate("JKn")`` then
  ``postStratify``, R's construction) and each replicate calibrated directly (``PostStratifiedJKn.dense``);
* the PSU x calibration-cell path (``replicate_weights``) for the indices stage's statistics: indices of the
  area, the units and respondent groups under every rule, shares, distributions, units against the area;
* R survey: ``tests/results/r/survey_element_jkn.R`` (strata = units, post-strata nested in them: the
  service-user design) and ``survey_replicates.R``'s ``rstrat`` (not calibrated) and ``rstratp`` (post-strata
  across the strata), at relative 1e-9;
* memory: no ``n x n`` table (``tracemalloc`` peak at two sizes).
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sipas import indices
from sipas.errors import DesignError, LonelyPSUError
from sipas.estimation.jkn_totals import PostStratifiedJKn
from sipas.estimation.survey_design import poststratified_jkn, replicate_weights, replicate_weights_dense
from sipas.forms.instrument import load_instrument
from sipas.forms.instrument.rules import instrument_rules
from sipas.indices.comparisons import compare_with_overall
from tests.results.r_refs import load

API = Path("/work/shared/reference-data/api")


@pytest.fixture(scope="module")
def inst():
    return load_instrument("service_user", "2017.1")


def _units(seed: int, *, n_units: int = 5, per_unit: tuple[int, int] = (2, 40), element: bool = True) -> pd.DataFrame:
    """A service-user sample: units (strata) of 2-40 forms, each form its own PSU (or, ``element=False``,
    PSUs of 1-4 rows), the unit's transactions as fpc, post-strata unit x field or the unit alone."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_units):
        n_psu = int(rng.integers(*per_unit))
        size = [1] * n_psu if element else list(rng.integers(1, 5, n_psu))
        pop = sum(size) + int(rng.integers(0, 300))
        by_field = n_psu >= 6 and rng.random() < 0.7
        for j, m in enumerate(size):
            field = rng.choice(["land", "civil", "business"], m)
            rows.append(pd.DataFrame({"unit": f"U{u}", "respondent_key": f"k{u}_{j}", "psu_population": float(pop),
                                      "field": field, "w_nr": pop / sum(size),
                                      "cell": [f"U{u} · {f}" if by_field else f"U{u}" for f in field]}))
    df = pd.concat(rows, ignore_index=True)
    return df.iloc[rng.permutation(len(df))].reset_index(drop=True)  # units interleaved, as real files


def _cell_totals(df: pd.DataFrame, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed + 500)
    cells = sorted(df["cell"].unique())
    return pd.DataFrame({"cell": cells, "households": rng.uniform(50, 900, len(cells)).round()})


def _answers(df: pd.DataFrame, inst, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Forms with random codes (valid, missing, blank) and their positive indicators."""
    rng = np.random.default_rng(seed + 1000)
    items = inst.items.loc[inst.items["criterion"].notna(), "item"].tolist()
    forms = pd.DataFrame({c: rng.choice([*map(float, inst.valid_codes(c)), 9.0, np.nan], len(df)) for c in items},
                         index=df.index)
    index_items = inst.items.loc[inst.items["index"] & inst.items["criterion"].notna(), "item"].tolist()
    first = df["unit"] == "U0"
    forms.loc[first, index_items[0]] = float(inst.positive_codes(index_items[0])[-1])  # p = 1 in U0: se exactly 0
    only = np.flatnonzero(first)[:1]
    forms.loc[first, index_items[1]] = np.nan                                          # one valid answer in U0:
    forms.loc[df.index[only], index_items[1]] = float(inst.valid_codes(index_items[1])[0])  # undefined without it
    return forms, indices.positive_indicators(forms, instrument=inst)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("kind", ["element", "clusters", "none"])
def test_replicates_equal_the_weight_matrix(seed, kind):
    """Weights, replicate weights, rscales, scale, df as replicate_weights_dense's n x R matrix."""
    df = _units(seed, element=kind != "clusters")
    tot = None if kind == "none" else _cell_totals(df, seed)
    if kind == "clusters":   # PSUs of several rows, post-strata across PSUs and strata
        tot = pd.DataFrame({"field": ["business", "civil", "land"], "households": [700.0, 1500.0, 2100.0]})
    rep = poststratified_jkn(df, totals=tot, strata="unit", psu="respondent_key")
    ref = replicate_weights_dense(df, totals=tot, strata="unit", psu="respondent_key")
    dense = rep.dense()
    np.testing.assert_allclose(rep.weights, ref.weights, rtol=1e-13, atol=0)
    np.testing.assert_allclose(dense.replicates, ref.replicates, rtol=0, atol=1e-13 * ref.replicates.max())
    np.testing.assert_array_equal(rep.rscales, ref.rscales)
    assert (rep.scale, rep.df, rep.mse, rep.n_replicates) == (ref.scale, ref.df, ref.mse, ref.replicates.shape[1])


@pytest.mark.parametrize("seed", [4, 5])
@pytest.mark.parametrize("kind", ["element", "clusters"])
def test_domain_totals_equal_masked_products(seed, kind):
    """Every domain's totals (and their exact zeros) as X' W with W zeroed outside the domain; a replicate
    outside the domain's local replicates leaves its totals at the full sample's."""
    df = _units(seed, element=kind == "element")
    tot = _cell_totals(df, seed)
    rep = poststratified_jkn(df, totals=tot, strata="unit", psu="respondent_key")
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 3, (len(df), 6)).astype(float) * (rng.random((len(df), 1)) < 0.3)
    dom = rng.integers(-1, 4, len(df))
    dom[df["unit"].to_numpy() == "U1"] = 4  # a unit: only its own stratum's replicates move it
    dense = rep.dense()
    W = np.column_stack([dense.weights, dense.replicates])
    dt = rep.domain_totals(X, domain=dom, n_domains=6)
    for d in range(6):
        got, want = dt.totals(d), X.T @ (W * (dom == d)[:, None])
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * max(1.0, np.abs(want).max()))
        np.testing.assert_array_equal(got == 0, want == 0)
        local = dt.local_replicates(d)
        np.testing.assert_array_equal(dt.totals(d, replicates=local), got[:, np.r_[0, 1 + local]])
        others = np.setdiff1d(np.arange(rep.n_replicates), local)
        np.testing.assert_array_equal(got[:, 1 + others], np.repeat(got[:, :1], others.size, axis=1))
    unit = np.flatnonzero(df["unit"].to_numpy() == "U1")
    np.testing.assert_array_equal(np.unique(rep.psu_stratum[dt.local_replicates(4)]),
                                  np.unique(rep.psu_stratum[rep.psu[unit]]))
    assert not dt.totals(5).any()  # a domain without rows


@pytest.mark.parametrize("seed", [6, 7])
@pytest.mark.filterwarnings("ignore:Mean of empty slice:RuntimeWarning")  # the dense reference, an undefined index
def test_index_statistics_equal_the_cell_path(inst, seed):
    """What the indices stage computes for a service-user survey -- indices of the area and the units under
    every rule, respondent groups, shares, distributions, units against the area -- equal with the closed form,
    the PSU x cell table and the dense matrix."""
    df = _units(seed, n_units=6)
    tot = _cell_totals(df, seed)
    forms, ind = _answers(df, inst, seed)
    reps = {"closed": poststratified_jkn(df, totals=tot, strata="unit", psu="respondent_key"),
            "cells": replicate_weights(df, totals=tot, strata="unit", psu="respondent_key"),
            "dense": replicate_weights_dense(df, totals=tot, strata="unit", psu="respondent_key")}
    assert isinstance(reps["closed"], PostStratifiedJKn)
    rules = list(instrument_rules(inst.raw)[0].values())
    kw = dict(instrument=inst, rules=rules, by=df["unit"], by_type="unit", total_label="all",
              psu=df["respondent_key"], strata=df["unit"])
    groups = pd.DataFrame({"sex": np.random.default_rng(seed).choice(["1", "2", np.nan], len(df)),
                           "age_group": np.random.default_rng(seed + 1).choice(["18-29", "30-44", "60+"], len(df))})
    out = {}
    for name, rep in reps.items():
        est = indices.estimate_index_rules(ind, rep=rep, **kw)
        grp = indices.group_indices(ind, groups, instrument=inst, rep=rep, rule=rules[0])
        cat = inst.items.loc[~inst.items["index"] & inst.items["criterion"].notna(), "item"].tolist()
        dist = indices.estimate_distribution(forms, instrument=inst, items=cat, rep=rep)
        shares = indices.estimate_shares(ind, rep=rep)
        overall = est[(est["rule"] == rules[0].id) & (est["level"] == "overall")]
        area = overall[overall["domain_type"] == "province"].iloc[0]
        w = pd.Series(rep.weights).groupby(df["unit"].to_numpy()).sum() / rep.weights.sum()
        comp = compare_with_overall(overall[overall["domain_type"] == "unit"],
                                    overall={"estimate": area["estimate"], "se": area["se"]}, shares=w.to_dict())
        out[name] = (est, grp, dist, shares, comp)
    text = ["rule", "domain_type", "domain", "level", "id", "df", "n", "note"]
    for name in ("cells", "dense"):
        for a, b in zip(out["closed"], out[name]):
            num = [c for c in ("estimate", "se", "ci_low", "ci_high", "difference", "se_difference", "p_value",
                               "p_adjusted") if c in a.columns]
            labels = [c for c in text if c in a.columns]
            pd.testing.assert_frame_equal(a[labels], b[labels])
            for c in num:
                np.testing.assert_allclose(a[c], b[c], rtol=1e-12, atol=1e-13, equal_nan=True, err_msg=f"{name} {c}")
        pd.testing.assert_series_equal(out["closed"][4]["verdict"], out[name][4]["verdict"])
    est = out["closed"][0]
    # the share of 1 in U0: every replicate's share is 1 too, so the SE is exactly 0
    first = indices.scoring._index_items(inst)[0]
    row = est[(est["domain"] == "U0") & (est["id"] == first) & (est["rule"] == rules[0].id)].iloc[0]
    assert row["estimate"] == 1.0 and row["se"] == 0.0
    # a unit's df is its forms - 1
    for u, g in df.groupby("unit"):
        assert (est.loc[est["domain"] == u, "df"] == len(g) - 1).all()


def _apistrat() -> pd.DataFrame:
    api = pd.read_csv(API / "apistrat.csv")
    return api.assign(w_nr=api["pw"], row=np.arange(len(api)).astype(str), psu_population=api["fpc"])


def _ratio_se(rep, num: np.ndarray, den: np.ndarray, domain: np.ndarray, n_domains: int):
    """Estimates and SEs of ``sum w num / sum w den`` per domain (R ``svyby(..., svyratio)``)."""
    dt = rep.domain_totals(np.column_stack([num, den]), domain=domain, n_domains=n_domains)
    est, se = [], []
    for d in range(n_domains):
        local = dt.local_replicates(d)
        T = dt.totals(d, replicates=local)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = np.where(T[1] > 0, T[0] / T[1], np.nan)
        est.append(p[0])
        se.append(float(np.sqrt(rep.variance(p[:1], p[None, 1:], columns=local))[0]))
    return np.array(est), np.array(se)


@pytest.mark.skipif(not (API / "apistrat.csv").is_file(), reason="api data missing")
def test_service_user_design_equals_r_survey():
    """R (tests/results/r/survey_element_jkn.R):
    runits <- postStratify(as.svrepdesign(svydesign(id=~1, strata=~stype, fpc=~fpc, weights=~pw, data=apistrat),
                                          type="JKn"), ~cell, pop.cell)
    with cell = stype x sch.wide: svymean, svytotal, svyratio(~pos, ~valid), svyby by stype and by awards."""
    R = load("survey_element_jkn")
    api = _apistrat()
    pop = pd.read_csv(API / "apipop.csv")
    api["cell"] = api["stype"] + " x " + api["sch.wide"]
    counts = (pop["stype"] + " x " + pop["sch.wide"]).value_counts().sort_index()
    tot = pd.DataFrame({"cell": counts.index, "households": counts.to_numpy(float)})
    rep = poststratified_jkn(api, totals=tot, strata="stype", psu="row")
    assert rep.n_replicates == R["UNITS_N_REPLICATES"].value
    np.testing.assert_allclose(rep.rscales, R["UNITS_RSCALES"].values, rtol=1e-12)
    cell_tot = pd.Series(rep.weights).groupby(api["cell"].to_numpy()).sum()
    np.testing.assert_allclose(cell_tot.to_numpy(), R["UNITS_CELL_TOTALS"].values, rtol=1e-12)
    one, whole = np.ones(len(api)), np.zeros(len(api), dtype=np.int64)
    for i, col in enumerate(["api00", "api99"]):
        est, se = _ratio_se(rep, api[col].to_numpy(float), one, whole, 1)
        np.testing.assert_allclose([est[0], se[0]], [R["UNITS_MEAN"].values[i], R["UNITS_MEAN_SE"].values[i]],
                                   rtol=1e-9)
    T = rep.domain_totals(api[["enroll"]].to_numpy(float), domain=whole, n_domains=1).totals(0)
    np.testing.assert_allclose([T[0, 0], np.sqrt(rep.variance(T[:, 0], T[:, 1:]))[0]],
                               [R["UNITS_TOTAL"].value, R["UNITS_TOTAL_SE"].value], rtol=1e-9)
    valid = api["acs.46"].notna().to_numpy(float)
    pos = valid * (api["api00"] > 700).to_numpy(float)
    est, se = _ratio_se(rep, pos, valid, whole, 1)
    np.testing.assert_allclose([est[0], se[0]], [R["UNITS_ITEM"].value, R["UNITS_ITEM_SE"].value], rtol=1e-9)
    for by, name in (("stype", "UNIT"), ("awards", "GROUP")):
        codes, levels = pd.factorize(api[by], sort=True)
        est, se = _ratio_se(rep, api["api00"].to_numpy(float), one, codes, len(levels))
        np.testing.assert_allclose(np.r_[est, se], R[f"UNITS_BY_{name}"].values, rtol=1e-9)
        est, se = _ratio_se(rep, pos, valid, codes, len(levels))
        np.testing.assert_allclose(np.r_[est, se], R[f"UNITS_ITEM_BY_{name}"].values, rtol=1e-9, atol=1e-15)


@pytest.mark.skipif(not (API / "apistrat.csv").is_file(), reason="api data missing")
@pytest.mark.parametrize("design", ["RSTRAT", "RSTRATP"])
def test_uncalibrated_and_crossing_poststrata_equal_r_survey(design):
    """R (tests/results/r/survey_replicates.R): rstrat <- as.svrepdesign(dstrat, type="JKn") and
    rstratp <- postStratify(rstrat, ~sch.wide, pop.schwide) (post-strata across the strata):
    svymean(~api00+api99), svytotal(~enroll), svyratio(~api00, ~api99), svyby(~api00, ~stype | ~sch.wide)."""
    R = load("survey_replicates")
    api = _apistrat()
    tot = (pd.DataFrame({"sch.wide": ["No", "Yes"], "households": [1072.0, 5122.0]}) if design == "RSTRATP"
           else None)
    rep = poststratified_jkn(api, totals=tot, strata="stype", psu="row")
    if design == "RSTRAT":
        np.testing.assert_allclose(rep.rscales, R["RSTRAT_RSCALES"].values, rtol=1e-12)
    one, whole = np.ones(len(api)), np.zeros(len(api), dtype=np.int64)
    for i, col in enumerate(["api00", "api99"]):
        est, se = _ratio_se(rep, api[col].to_numpy(float), one, whole, 1)
        np.testing.assert_allclose([est[0], se[0]], [R[f"{design}_MEAN"].values[i], R[f"{design}_MEAN_SE"].values[i]],
                                   rtol=1e-9)
    T = rep.domain_totals(api[["enroll"]].to_numpy(float), domain=whole, n_domains=1).totals(0)
    np.testing.assert_allclose([T[0, 0], np.sqrt(rep.variance(T[:, 0], T[:, 1:]))[0]],
                               [R[f"{design}_TOTAL"].value, R[f"{design}_TOTAL_SE"].value], rtol=1e-9)
    if design == "RSTRAT":
        est, se = _ratio_se(rep, api["api00"].to_numpy(float), api["api99"].to_numpy(float), whole, 1)
        np.testing.assert_allclose([est[0], se[0]], [R["RSTRAT_RATIO"].value, R["RSTRAT_RATIO_SE"].value], rtol=1e-9)
    for by in ("stype", "sch.wide") if design == "RSTRAT" else ("stype",):
        codes, levels = pd.factorize(api[by], sort=True)
        est, se = _ratio_se(rep, api["api00"].to_numpy(float), one, codes, len(levels))
        key = f"{design}_BY_{'STYPE' if by == 'stype' else 'SCHWIDE'}" if design == "RSTRAT" else "RSTRATP_BY"
        np.testing.assert_allclose(np.r_[est, se], R[key].values, rtol=1e-9)


def test_refuses_raking_trimming_and_lonely_units():
    df = _units(8)
    tot = _cell_totals(df, 8)
    with pytest.raises(DesignError, match="raking and trimming"):
        poststratified_jkn(df, totals=tot.assign(trim_upper=100.0, trim_lower=1.0), strata="unit",
                           psu="respondent_key")
    with pytest.raises(DesignError, match="absent from the population"):
        poststratified_jkn(df, totals=tot.iloc[1:], strata="unit", psu="respondent_key")
    lone = pd.concat([df, df.iloc[:1].assign(unit="alone", respondent_key="solo", cell="alone")], ignore_index=True)
    tot2 = pd.concat([tot, pd.DataFrame({"cell": ["alone"], "households": [10.0]})], ignore_index=True)
    with pytest.raises(LonelyPSUError) as got:
        poststratified_jkn(lone, totals=tot2, strata="unit", psu="respondent_key")
    with pytest.raises(LonelyPSUError) as want:
        replicate_weights(lone, totals=tot2, strata="unit", psu="respondent_key")
    assert got.value.stratum == want.value.stratum == "alone"


def _peak_bytes(n_units: int, inst) -> tuple[int, int]:
    """Forms and the peak memory (bytes, tracemalloc) of the indices of a service-user design: replicates,
    area, units and two respondent groups under every rule, shares."""
    df = _units(9, n_units=n_units, per_unit=(380, 420))
    tot = _cell_totals(df, 9)
    _, ind = _answers(df, inst, 9)
    rules = list(instrument_rules(inst.raw)[0].values())
    groups = pd.DataFrame({"sex": np.where(np.arange(len(df)) % 3 == 0, "1", "2")})
    tracemalloc.start()
    try:
        rep = poststratified_jkn(df, totals=tot, strata="unit", psu="respondent_key")
        indices.estimate_index_rules(ind, instrument=inst, rules=rules, rep=rep, by=df["unit"], by_type="unit",
                                     total_label="all", psu=df["respondent_key"], strata=df["unit"])
        indices.group_indices(ind, groups, instrument=inst, rep=rep, rule=rules[0])
        indices.estimate_shares(ind, rep=rep)
        return len(df), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_grows_linearly_not_n_by_n(inst):
    """No n x n table: the peak memory of the indices grows like the forms (4x forms: < 6x memory, where an
    n x n table gives 16x) and stays far below one n x n array of float64 (8 n^2 bytes)."""
    n1, peak1 = _peak_bytes(4, inst)
    n2, peak2 = _peak_bytes(16, inst)
    assert 3.5 < n2 / n1 < 4.5
    assert peak2 / peak1 < 6 * (n2 / n1) / 4, (peak1, peak2)
    assert peak2 < 8 * n2 ** 2 / 4, (n2, peak2)

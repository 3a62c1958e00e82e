"""Replicate totals per weighting cell (the pipeline's path) equal those of the n x R weight matrix.

``sipas.estimation.survey_design.replicate_weights`` computes the calibrated JKn replicates on the
PSU x calibration-cell table and ``sipas.indices.aggregation.domain_totals`` the domain totals
from per-cell sums; ``replicate_weights_dense`` and ``item_totals`` on the n x R matrix are the
reference.  Random designs with strata, PSUs, the stage-1 fpc, post-strata that cut across PSUs,
raking, trimming and domains; and R's ``postStratify`` on a JKn design (survey_replicates.json).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sipas import indices
from sipas.estimation.replicate_weights import CellReplicateWeights
from sipas.estimation.survey_design import replicate_weights, replicate_weights_dense
from sipas.forms.instrument import load_instrument
from sipas.forms.instrument.rules import instrument_rules
from sipas.indices.aggregation import domain_totals, item_totals
from tests.results.r_refs import load

API = Path("/work/shared/reference-data/api")
JSON = Path(__file__).parent / "results/r/survey_replicates.json"


@pytest.fixture(scope="module")
def inst():
    return load_instrument("household", "2024.1")


def _design(seed: int) -> pd.DataFrame:
    """Rows of a random stratified cluster sample: 4-6 strata of 2-6 PSUs, 3-25 rows each."""
    rng = np.random.default_rng(seed)
    rows = []
    for h in range(int(rng.integers(4, 7))):
        n_psu = int(rng.integers(2, 7))
        pop = n_psu + int(rng.integers(0, 9))
        for j in range(n_psu):
            m = int(rng.integers(3, 26))
            rows.append(pd.DataFrame({"stratum": f"S{h}", "psu": f"P{j}", "psu_population": pop,
                                      "village": rng.integers(0, 3, m).astype(str),
                                      "ps": rng.choice(["a", "b", "c"], m, p=[0.5, 0.3, 0.2]),
                                      "w_nr": rng.choice([20.0, 35.5, 51.25, 80.0], m)}))
    df = pd.concat(rows, ignore_index=True)
    return df.iloc[rng.permutation(len(df))].reset_index(drop=True)  # PSUs interleaved, as real files


def _answers(df: pd.DataFrame, inst, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed + 1000)
    items = inst.items.loc[inst.items["index"] & inst.items["criterion"].notna(), "item"].tolist()
    forms = pd.DataFrame({c: rng.choice([1.0, 2.0, 3.0, 4.0, 5.0, 9.0, np.nan], len(df)) for c in items},
                         index=df.index)
    return indices.positive_indicators(forms, instrument=inst)


def _totals(df: pd.DataFrame, kind: str) -> pd.DataFrame:
    if kind == "by_stratum":  # calibration cells = strata: districts are local domains
        levels = sorted(df["stratum"].unique())
        return pd.DataFrame({"stratum": levels, "households": [3000.0 + 500 * i for i in range(len(levels))]})
    levels = sorted(df["ps"].unique())
    tot = pd.DataFrame({"ps": levels, "households": [4000.0 + 1000 * i for i in range(len(levels))]})
    if kind == "trim":
        w = df["w_nr"] * 4000 / df["w_nr"].sum() * len(levels)
        tot["trim_upper"], tot["trim_lower"] = float(np.quantile(w, 0.9)), float(np.quantile(w, 0.05))
    return tot


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("kind", ["none", "poststratify", "trim"])
def test_cell_replicates_equal_the_weight_matrix(seed, kind):
    df = _design(seed)
    tot = None if kind == "none" else _totals(df, kind)
    cells = replicate_weights(df, totals=tot, strata="stratum", psu="psu")
    ref = replicate_weights_dense(df, totals=tot, strata="stratum", psu="psu")
    assert isinstance(cells, CellReplicateWeights)
    assert cells.factors.shape[0] < len(df)  # fewer cells than rows: nothing n x R was needed
    dense = cells.dense()
    np.testing.assert_allclose(dense.weights, ref.weights, rtol=1e-12, atol=0)
    np.testing.assert_allclose(dense.replicates, ref.replicates, rtol=0, atol=1e-12 * ref.replicates.max())
    np.testing.assert_array_equal(cells.rscales, ref.rscales)
    assert (cells.scale, cells.df, cells.mse) == (ref.scale, ref.df, ref.mse)


@pytest.mark.parametrize("seed", [4, 5])
def test_cell_replicates_equal_the_weight_matrix_when_raked(seed):
    df = _design(seed)
    df["commune"] = df["stratum"] + "/" + df["psu"]
    com = df.drop_duplicates("commune")[["commune", "stratum"]].reset_index(drop=True)
    rng = np.random.default_rng(seed)
    tot = pd.DataFrame({"commune": com["commune"], "households": rng.uniform(500, 900, len(com)),
                        "rake_stratum": com["stratum"], "rake_urban": rng.choice(["u", "r"], len(com))})
    if (tot.groupby("rake_urban").size() < 1).any() or tot["rake_urban"].nunique() < 2:
        tot.loc[0, "rake_urban"] = "u" if tot.loc[0, "rake_urban"] == "r" else "r"
    cells = replicate_weights(df, totals=tot, strata="stratum", psu="psu")
    ref = replicate_weights_dense(df, totals=tot, strata="stratum", psu="psu")
    dense = cells.dense()
    np.testing.assert_allclose(dense.weights, ref.weights, rtol=1e-12, atol=0)
    np.testing.assert_allclose(dense.replicates, ref.replicates, rtol=0, atol=1e-12 * ref.replicates.max())


@pytest.mark.parametrize("seed", [6, 7])
def test_domain_totals_equal_masked_products(seed):
    df = _design(seed)
    rep = replicate_weights(df, totals=_totals(df, "poststratify"), strata="stratum", psu="psu")
    rng = np.random.default_rng(seed)
    Y = rng.integers(0, 2, (len(df), 5)).astype(float)
    R = rng.integers(0, 2, (len(df), 5)).astype(float)
    dom = rng.integers(-1, 4, len(df))  # -1: in no domain
    dense = rep.dense()
    W = np.column_stack([dense.weights, dense.replicates])
    dt = domain_totals(Y, R, base=rep.base, cell=rep.cell, factors=rep.factors, domain=dom, n_domains=5)
    for d in range(5):
        num, den = dt.totals(d)
        rnum, rden = item_totals(Y, R, W * (dom == d)[:, None])
        np.testing.assert_allclose(num, rnum, rtol=1e-12, atol=1e-12 * max(1.0, np.abs(rnum).max()))
        np.testing.assert_allclose(den, rden, rtol=1e-12, atol=1e-12 * max(1.0, np.abs(rden).max()))
    assert dt.totals(4)[0].shape == (5, W.shape[1]) and not dt.totals(4)[1].any()  # a domain without rows


@pytest.mark.parametrize("seed", [8, 9])
@pytest.mark.parametrize("kind", ["none", "poststratify", "trim", "by_stratum"])
def test_indices_from_cells_equal_the_weight_matrix(inst, seed, kind):
    df = _design(seed)
    df["unit"] = df["stratum"]
    df.loc[df.index[:3], "unit"] = np.nan  # rows in no domain
    ind = _answers(df, inst, seed)
    tot = None if kind == "none" else _totals(df, kind)
    cells = replicate_weights(df, totals=tot, strata="stratum", psu="psu")
    dense = replicate_weights_dense(df, totals=tot, strata="stratum", psu="psu")
    some = df.index[df["unit"].notna()]
    local = cells.local_replicates(np.unique(cells.cell[some[df.loc[some, "unit"] == "S0"]]))
    # a district needs only its own replicates unless trimming or post-strata across it say otherwise
    assert (local is None) == (kind in ("trim", "poststratify"))
    if local is not None:
        assert 0 < len(local) < cells.n_replicates
    rules = list(instrument_rules(inst.raw)[0].values())
    kw = dict(instrument=inst, rules=rules, by=df["unit"], by_type="district", total_label="P",
              psu=df["psu"], strata=df["stratum"])
    a = indices.estimate_index_rules(ind, rep=cells, **kw)
    b = indices.estimate_index_rules(ind, rep=dense, **kw)
    text = ["rule", "domain_type", "domain", "level", "id", "df", "n", "note"]
    pd.testing.assert_frame_equal(a[text], b[text])
    for c in ["estimate", "se", "ci_low", "ci_high"]:
        np.testing.assert_allclose(a[c], b[c], rtol=1e-12, atol=1e-13, equal_nan=True, err_msg=c)
    # the domain df is #PSUs - #strata among the domain's rows
    for d, g in df.dropna(subset=["unit"]).groupby("unit"):
        want = max(1, g[["stratum", "psu"]].drop_duplicates().shape[0] - g["stratum"].nunique())
        assert (a.loc[a["domain"] == d, "df"] == want).all()
    s1 = indices.estimate_shares(ind.iloc[:, :6], rep=cells)
    s2 = indices.estimate_shares(ind.iloc[:, :6], rep=dense)
    np.testing.assert_allclose(s1[["estimate", "se"]], s2[["estimate", "se"]], rtol=1e-12, atol=1e-13)


@pytest.mark.skipif(not (API / "apistrat.csv").is_file() or not JSON.exists(), reason="api data or R refs missing")
def test_cell_path_reproduces_r_poststratified_jkn_domains():
    """R: rstratp <- postStratify(as.svrepdesign(dstrat, type="JKn"), ~sch.wide, pop.schwide);
    svyby(~api00, ~stype, rstratp, svymean) and svymean(~api00+api99, rstratp)."""
    R = load("survey_replicates")
    api = pd.read_csv(API / "apistrat.csv")
    data = api.assign(w_nr=api["pw"], row=np.arange(len(api)).astype(str))
    tot = pd.DataFrame({"sch.wide": ["No", "Yes"], "households": [1072.0, 5122.0]})
    rep = replicate_weights(data, totals=tot, strata="stype", psu="row", fpc="fpc")
    codes, levels = pd.factorize(data["stype"], sort=True)
    Y = data[["api00"]].to_numpy(float)
    ones = np.ones_like(Y)
    dt = domain_totals(Y, ones, base=rep.base, cell=rep.cell, factors=rep.factors, domain=codes, n_domains=3)
    est, se = [], []
    for d in range(3):
        num, den = dt.totals(d)
        p = num[0] / den[0]
        est.append(p[0])
        se.append(np.sqrt(rep.variance(p[:1], p[None, 1:]))[0])
    ref = R["RSTRATP_BY"].values
    np.testing.assert_allclose(est, ref[:3], rtol=1e-6)
    np.testing.assert_allclose(se, ref[3:], rtol=1e-5)
    Y2 = data[["api00", "api99"]].to_numpy(float)
    whole = domain_totals(Y2, np.ones_like(Y2), base=rep.base, cell=rep.cell, factors=rep.factors,
                          domain=np.zeros(len(data), dtype=np.int64), n_domains=1)
    num, den = whole.totals(0)
    p = num / den
    np.testing.assert_allclose(p[:, 0], R["RSTRATP_MEAN"].values, rtol=1e-6)
    np.testing.assert_allclose(np.sqrt(rep.variance(p[:, 0], p[:, 1:])), R["RSTRATP_MEAN_SE"].values, rtol=1e-5)

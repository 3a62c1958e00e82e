"""Tests of sipas.reliability: Cronbach's alpha, item statistics and the report tables.

Two kinds of reference, kept apart:

* R ``psych`` output printed in public sources (tests/results/results_psych.py, with the R command
  and the source beside every number), checked to the printed digits -- and, for the population
  matrices r4/r9 whose output tidystats saved to 6 decimals, to 5e-7 (relative error < 1e-6);
* independent closed-form numpy computations (variance of the row sums, correlation of an item with
  the sum of the others, scipy's beta quantile for the F quantile...), checked to 1e-10.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sipas.errors import ReliabilityError, SipasError
from sipas.reliability.alpha import AlphaResult, alpha_from_cov, criterion_reliability, cronbach_alpha, feldt_ci, item_reliability, item_statistics, item_total_from_cov, weighted_covariance
from tests.results import results_psych as ref

DATA = Path(__file__).parent / "data" / "reliability"
HS_ITEMS = [f"x{i}" for i in range(1, 10)]
EXACT = 1e-10


@pytest.fixture(scope="module")
def hs() -> pd.DataFrame:
    from semopy.examples import holzinger39

    return holzinger39.get_data()[HS_ITEMS].reset_index(drop=True)


@pytest.fixture(scope="module")
def attitude() -> pd.DataFrame:
    return pd.read_csv(DATA / "attitude.csv")


# ---------------------------------------------------------------------------------------------
# independent closed forms (numpy only, no sipas code)
# ---------------------------------------------------------------------------------------------


def closed_alpha(x: np.ndarray) -> float:
    """alpha = k/(k-1) * (1 - sum var_i / var(row sums))."""
    k = x.shape[1]
    return k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / x.sum(axis=1).var(ddof=1))


def closed_std_alpha(x: np.ndarray) -> float:
    """Standardised alpha = k rbar / (1 + (k-1) rbar), rbar = mean off-diagonal correlation."""
    k = x.shape[1]
    r = np.corrcoef(x, rowvar=False)
    rbar = r[np.triu_indices(k, 1)].mean()
    return k * rbar / (1 + (k - 1) * rbar)


def closed_r_drop(x: np.ndarray, i: int) -> float:
    """Pearson correlation of item i with the sum of the other items."""
    rest = np.delete(x, i, axis=1).sum(axis=1)
    return float(np.corrcoef(x[:, i], rest)[0, 1])


def closed_feldt(alpha: float, n: float, k: int, level: float = 0.95) -> tuple[float, float]:
    """Feldt bounds with the F quantile obtained from the beta quantile (F = d2 B / (d1 (1 - B)))."""
    d1, d2 = n - 1, (n - 1) * (k - 1)

    def fq(q: float) -> float:
        b = stats.beta.ppf(q, d1 / 2, d2 / 2)
        return d2 * b / (d1 * (1 - b))

    p = 1 - level
    return 1 - (1 - alpha) * fq(1 - p / 2), 1 - (1 - alpha) * fq(p / 2)


def r4_matrix() -> np.ndarray:
    l = np.array(ref.CONGENERIC_ALPHA["loadings"])
    r = np.outer(l, l)
    np.fill_diagonal(r, 1.0)
    return r


def r9_matrix() -> np.ndarray:
    g = np.array([0.9, 0.8, 0.7])
    phi = np.outer(g, g)
    np.fill_diagonal(phi, 1.0)
    f = np.zeros((9, 3))
    f[0:3, 0] = [0.8, 0.7, 0.6]
    f[3:6, 1] = [0.7, 0.6, 0.5]
    f[6:9, 2] = [0.6, 0.5, 0.4]
    m = f @ phi @ f.T
    np.fill_diagonal(m, 1.0)
    return m


# ---------------------------------------------------------------------------------------------
# Holzinger-Swineford: psych alpha(HolzingerSwineford1939[, 7:15]) to 2 dp + closed forms
# ---------------------------------------------------------------------------------------------


def test_hs_alpha_matches_psych_printed(hs: pd.DataFrame) -> None:
    r = ref.HS_ALPHA
    res = cronbach_alpha(hs)
    assert res.n == r["n"] and res.k == 9
    assert res.alpha == pytest.approx(r["raw_alpha"], abs=r["tol"])  # alpha(...)$total$raw_alpha
    assert res.std_alpha == pytest.approx(r["std_alpha"], abs=r["tol"])  # $total$std.alpha


def test_hs_item_statistics_match_psych_printed(hs: pd.DataFrame) -> None:
    r = ref.HS_ALPHA
    st = item_statistics(hs).set_index("item")
    for item in HS_ITEMS:
        assert st.loc[item, "alpha_if_deleted"] == pytest.approx(r["alpha_drop"][item], abs=r["tol"])
        assert st.loc[item, "item_total_r"] == pytest.approx(r["r_drop"][item], abs=r["tol"])
        assert st.loc[item, "mean"] == pytest.approx(r["mean"][item], abs=r["tol"])
        assert st.loc[item, "sd"] == pytest.approx(r["sd"][item], abs=r["tol"])
        assert st.loc[item, "n"] == r["n"]


@pytest.mark.parametrize("name", ["hs", "attitude"])
def test_alpha_and_items_match_closed_form(name: str, request: pytest.FixtureRequest) -> None:
    df = request.getfixturevalue(name)
    x = df.to_numpy(dtype=float)
    res = cronbach_alpha(df)
    assert res.alpha == pytest.approx(closed_alpha(x), rel=EXACT)
    assert res.std_alpha == pytest.approx(closed_std_alpha(x), rel=EXACT)
    low, high = closed_feldt(res.alpha, x.shape[0], x.shape[1])
    assert res.ci_low == pytest.approx(low, rel=1e-9)
    assert res.ci_high == pytest.approx(high, rel=1e-9)
    st = item_statistics(df)
    for i, row in st.iterrows():
        assert row["item_total_r"] == pytest.approx(closed_r_drop(x, i), rel=EXACT)
        assert row["alpha_if_deleted"] == pytest.approx(closed_alpha(np.delete(x, i, axis=1)), rel=EXACT)
        assert row["mean"] == pytest.approx(x[:, i].mean(), rel=EXACT)
        assert row["sd"] == pytest.approx(x[:, i].std(ddof=1), rel=EXACT)
        assert row["missing_share"] == 0.0


# ---------------------------------------------------------------------------------------------
# attitude: psych alpha(attitude) to 3 dp + transcription checks
# ---------------------------------------------------------------------------------------------


def test_attitude_transcription(attitude: pd.DataFrame) -> None:
    assert attitude.shape == (30, 7)
    c = ref.ATTITUDE_COR_RATING
    cor = attitude.corr()
    for item, value in c["values"].items():
        assert cor.loc["rating", item] == pytest.approx(value, abs=c["tol"])  # cor(attitude)
    a = ref.ATTITUDE_ALPHA
    assert attitude.var().sum() == pytest.approx(a["sum_item_var"], abs=0.05)
    assert attitude.sum(axis=1).var() == pytest.approx(a["var_total"], abs=0.05)


def test_attitude_matches_psych_printed(attitude: pd.DataFrame) -> None:
    a = ref.ATTITUDE_ALPHA
    res = cronbach_alpha(attitude)
    assert res.alpha == pytest.approx(a["raw_alpha"], abs=a["tol"])  # alpha(attitude)$total$raw_alpha
    assert res.std_alpha == pytest.approx(a["std_alpha"], abs=a["tol"])  # $total$std.alpha
    st = item_statistics(attitude).set_index("item")
    for item, value in a["alpha_drop"].items():  # $alpha.drop$raw_alpha
        assert st.loc[item, "alpha_if_deleted"] == pytest.approx(value, abs=a["tol"])


# ---------------------------------------------------------------------------------------------
# r4 / r9 population matrices: psych output to 6 decimals (tidystats) => relative error < 1e-6
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("matrix", "r"),
    [(r4_matrix, ref.R4_ALPHA_FULL), (r9_matrix, ref.R9_ALPHA_FULL)],
    ids=["r4", "r9"],
)
def test_population_matrices_match_psych_full_precision(matrix, r) -> None:
    m = matrix()
    res = alpha_from_cov(m, n_obs=r["n_obs"])  # psych uses n.obs = nrow(matrix)
    tol = r["tol_abs"]
    assert res.alpha == pytest.approx(r["raw_alpha"], abs=tol)
    assert res.std_alpha == pytest.approx(r["std_alpha"], abs=tol)
    assert res.ci_low == pytest.approx(r["feldt_lower"], abs=tol)  # alpha(...)$feldt$lower.ci
    assert res.ci_high == pytest.approx(r["feldt_upper"], abs=tol)  # alpha(...)$feldt$upper.ci
    assert res.alpha == pytest.approx(r["raw_alpha"], rel=1e-6)
    it = item_total_from_cov(m).set_index("item")
    for item, value in r["r_drop"].items():  # $item.stats$r.drop
        assert it.loc[item, "item_total_r"] == pytest.approx(value, abs=tol)
        assert it.loc[item, "item_total_r"] == pytest.approx(value, rel=1.5e-6)


def test_r4_r9_printed_help_example() -> None:
    c = ref.CONGENERIC_ALPHA
    res = alpha_from_cov(r4_matrix(), n_obs=4)
    assert res.alpha == pytest.approx(c["raw_alpha"], abs=c["tol"])
    assert (res.ci_low, res.ci_high) == pytest.approx((c["feldt_lower"], c["feldt_upper"]), abs=c["tol"])
    it = item_total_from_cov(r4_matrix()).set_index("item")
    for item, value in c["alpha_drop"].items():
        assert it.loc[item, "alpha_if_deleted"] == pytest.approx(value, abs=c["tol"])
        assert it.loc[item, "item_total_r"] == pytest.approx(c["r_drop"][item], abs=c["tol"])
    p = ref.R9_ALPHA_PRINTED
    it9 = item_total_from_cov(r9_matrix()).set_index("item")
    for item, value in p["alpha_drop"].items():
        assert it9.loc[item, "alpha_if_deleted"] == pytest.approx(value, abs=p["tol"])


# ---------------------------------------------------------------------------------------------
# Feldt interval: psych::alpha.ci example + closed form
# ---------------------------------------------------------------------------------------------


def test_feldt_matches_psych_alpha_ci_example() -> None:
    e = ref.ALPHA_CI_EXAMPLE
    low, high = feldt_ci(e["alpha"], n=e["n_obs"], k=e["n_var"], ci=0.95)
    assert low == pytest.approx(e["lower"], abs=e["tol"])  # alpha.ci(.74, 100, p.val=.05, n.var=4)
    assert high == pytest.approx(e["upper"], abs=e["tol"])


@pytest.mark.parametrize(("alpha", "n", "k", "level"), [(0.74, 100, 4, 0.95), (0.5, 30, 7, 0.9), (0.9, 2000, 3, 0.99)])
def test_feldt_closed_form(alpha: float, n: int, k: int, level: float) -> None:
    got = feldt_ci(alpha, n=n, k=k, ci=level)
    assert got == pytest.approx(closed_feldt(alpha, n, k, level), rel=1e-9)
    assert got[0] < alpha < got[1]


# ---------------------------------------------------------------------------------------------
# missing data
# ---------------------------------------------------------------------------------------------


@pytest.fixture()
def with_missing(attitude: pd.DataFrame) -> pd.DataFrame:
    df = attitude.copy()
    df.iloc[[1, 5, 9], 0] = np.nan
    df.iloc[[2, 5], 3] = np.nan
    df.iloc[[7], 6] = np.nan
    return df


def test_listwise_equals_complete_cases(with_missing: pd.DataFrame) -> None:
    complete = with_missing.dropna()
    res = cronbach_alpha(with_missing)
    assert res.missing == "listwise" and res.n == len(complete) == 25
    assert res.alpha == pytest.approx(closed_alpha(complete.to_numpy()), rel=EXACT)
    st = item_statistics(with_missing)
    assert st["missing_share"].tolist() == pytest.approx([3 / 30, 0, 0, 2 / 30, 0, 0, 1 / 30])
    assert st["n"].tolist() == [27, 30, 30, 28, 30, 30, 29]
    # mean and sd are per item over its own answers (psych: colMeans(x, na.rm = TRUE))
    assert st.loc[0, "mean"] == pytest.approx(with_missing["rating"].mean(), rel=EXACT)


def test_pairwise_uses_pairwise_covariance(with_missing: pd.DataFrame) -> None:
    cov = with_missing.cov().to_numpy()  # pandas: pairwise-complete covariances, as R cov(use="pairwise")
    k = cov.shape[0]
    expected = k / (k - 1) * (1 - np.trace(cov) / cov.sum())
    res = cronbach_alpha(with_missing, missing="pairwise")
    assert res.missing == "pairwise" and res.n == 30
    assert res.alpha == pytest.approx(expected, rel=EXACT)
    got = weighted_covariance(with_missing, missing="pairwise").to_numpy()
    np.testing.assert_allclose(got, cov, rtol=EXACT)


def test_all_missing_rows_do_not_count_in_pairwise(attitude: pd.DataFrame) -> None:
    df = pd.concat([attitude, pd.DataFrame(np.nan, index=[0, 1], columns=attitude.columns)], ignore_index=True)
    assert cronbach_alpha(df, missing="pairwise").n == 30
    assert cronbach_alpha(df).n == 30


# ---------------------------------------------------------------------------------------------
# survey weights
# ---------------------------------------------------------------------------------------------


def test_equal_weights_reproduce_unweighted(attitude: pd.DataFrame) -> None:
    a = cronbach_alpha(attitude)
    b = cronbach_alpha(attitude, weights=np.full(30, 3.7))
    assert b.weighted and not a.weighted
    assert b.alpha == pytest.approx(a.alpha, rel=EXACT)
    assert b.n_eff == pytest.approx(30.0, rel=EXACT)
    assert (b.ci_low, b.ci_high) == pytest.approx((a.ci_low, a.ci_high), rel=1e-9)
    pd.testing.assert_frame_equal(item_statistics(attitude), item_statistics(attitude, weights=np.ones(30)))


def test_integer_weights_equal_replicated_rows(hs: pd.DataFrame) -> None:
    rng = np.random.default_rng(20240618)
    w = rng.integers(1, 4, size=len(hs))
    replicated = hs.loc[hs.index.repeat(w)].to_numpy()
    res = cronbach_alpha(hs, weights=w)
    assert res.alpha == pytest.approx(closed_alpha(replicated), rel=EXACT)  # alpha is scale free
    st = item_statistics(hs, weights=w)
    assert st.loc[0, "mean"] == pytest.approx(replicated[:, 0].mean(), rel=EXACT)
    assert st.loc[2, "item_total_r"] == pytest.approx(closed_r_drop(replicated, 2), rel=EXACT)
    assert res.n_eff == pytest.approx(w.sum() ** 2 / (w**2).sum(), rel=EXACT)


def test_weighted_covariance_matches_numpy_aweights(hs: pd.DataFrame) -> None:
    w = np.linspace(0.5, 2.5, len(hs))
    got = weighted_covariance(hs, weights=w).to_numpy()
    np.testing.assert_allclose(got, np.cov(hs.to_numpy(), rowvar=False, aweights=w), rtol=EXACT)


def test_zero_weights_drop_respondents(attitude: pd.DataFrame) -> None:
    w = np.ones(30)
    w[:5] = 0.0
    res = cronbach_alpha(attitude, weights=w)
    assert res.n == 25
    assert res.alpha == pytest.approx(closed_alpha(attitude.iloc[5:].to_numpy()), rel=EXACT)


# ---------------------------------------------------------------------------------------------
# edge cases and errors
# ---------------------------------------------------------------------------------------------


def test_two_items(attitude: pd.DataFrame) -> None:
    two = attitude[["rating", "complaints"]]
    st = item_statistics(two)
    r = two.corr().iloc[0, 1]
    assert st["item_total_r"].tolist() == pytest.approx([r, r], rel=EXACT)
    assert st["alpha_if_deleted"].isna().all()
    assert cronbach_alpha(two).alpha == pytest.approx(closed_alpha(two.to_numpy()), rel=EXACT)


def test_result_is_a_frozen_dataclass(attitude: pd.DataFrame) -> None:
    res = cronbach_alpha(attitude, ci=0.9)
    assert isinstance(res, AlphaResult) and res.ci == 0.9
    assert set(res.to_dict()) >= {"alpha", "std_alpha", "ci_low", "ci_high", "n", "k", "missing"}
    with pytest.raises(AttributeError):
        res.alpha = 0.0  # type: ignore[misc]
    assert cronbach_alpha(attitude, ci=0.9) == res  # deterministic


def test_numpy_input(attitude: pd.DataFrame) -> None:
    assert cronbach_alpha(attitude.to_numpy()).alpha == cronbach_alpha(attitude).alpha
    assert item_statistics(attitude.to_numpy())["item"].tolist()[:2] == ["V1", "V2"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda d: cronbach_alpha(d[["rating"]]), "at least 2 items"),
        (lambda d: cronbach_alpha(d.assign(c=1.0)), "without variance"),
        (lambda d: cronbach_alpha(d.assign(c="a")), "numeric"),
        (lambda d: cronbach_alpha(d, missing="mean"), "missing must be"),
        (lambda d: cronbach_alpha(d, ci=1.5), "ci must be"),
        (lambda d: cronbach_alpha(d, weights=np.ones(3)), "weights have 3 values"),
        (lambda d: cronbach_alpha(d, weights=-np.ones(30)), "non-negative"),
        (lambda d: cronbach_alpha(d, weights=np.full(30, np.nan)), "finite"),
        (lambda d: cronbach_alpha(d.iloc[:1]), "fewer than 2"),
        (lambda d: alpha_from_cov(np.ones((2, 3))), "square"),
        (lambda d: criterion_reliability(d, {"x": ["nope", "rating"]}), "not in the data"),
        (lambda d: criterion_reliability(d, {"x": ["rating"]}, weights="w"), "weight column"),
    ],
)
def test_errors_are_typed(attitude: pd.DataFrame, call, message: str) -> None:
    with pytest.raises(ReliabilityError, match=message) as info:
        call(attitude)
    assert isinstance(info.value, SipasError)


# ---------------------------------------------------------------------------------------------
# report tables
# ---------------------------------------------------------------------------------------------


def test_criterion_reliability_table(attitude: pd.DataFrame) -> None:
    groups = {"all": list(attitude.columns), "pair": ["rating", "complaints"], "single": ["raises"]}
    tab = criterion_reliability(attitude, groups)
    assert list(tab.columns[:8]) == ["criterion", "k", "n", "alpha", "std_alpha", "ci_low", "ci_high", "weak_items"]
    assert tab["criterion"].tolist() == ["all", "pair", "single"]
    full = cronbach_alpha(attitude)
    row = tab.iloc[0]
    assert (row["k"], row["n"]) == (7, 30)
    assert row["alpha"] == full.alpha and row["ci_low"] == full.ci_low and row["ci_high"] == full.ci_high
    # critical: alpha if deleted .864 > .843 and r.drop .265 < .3 (psych alpha(attitude))
    assert row["weak_items"] == "critical"
    assert tab.iloc[1]["weak_items"] == ""
    single = tab.iloc[2]
    assert math.isnan(single["alpha"]) and "at least 2 items" in single["note"]


def test_criterion_reliability_na_values_and_weights(attitude: pd.DataFrame) -> None:
    coded = attitude.copy()
    coded.iloc[[0, 3], 1] = 9  # "don't know" code
    coded["w"] = 2.0
    tab = criterion_reliability(coded, {"c": ["rating", "complaints", "learning"]}, weights="w", na_values=(9,))
    expected = cronbach_alpha(attitude[["rating", "complaints", "learning"]].drop(index=[0, 3]))
    assert tab.loc[0, "n"] == 28 and bool(tab.loc[0, "weighted"])
    assert tab.loc[0, "alpha"] == pytest.approx(expected.alpha, rel=EXACT)


def test_item_reliability_table(attitude: pd.DataFrame) -> None:
    groups = {"all": list(attitude.columns), "single": ["raises"]}
    tab = item_reliability(attitude, groups)
    assert list(tab.columns) == [
        "criterion", "item", "n", "mean", "sd", "missing_share", "item_total_r", "alpha_if_deleted", "alpha", "flag",
    ]
    assert len(tab) == 8
    crit = tab.set_index("item").loc["critical"]
    assert crit["flag"] == "alpha_if_deleted > alpha; item_total_r < 0.3"
    assert (tab.loc[tab["criterion"] == "all", "flag"] != "").sum() == 1
    assert tab.iloc[-1]["flag"].startswith("not computed")
    st = item_statistics(attitude)
    np.testing.assert_allclose(tab["item_total_r"].iloc[:7], st["item_total_r"], rtol=0)

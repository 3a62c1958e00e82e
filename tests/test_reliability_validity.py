"""Validity checks of sipas.reliability: CFA against lavaan (printed output in tests/results)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from sipas.errors import ReliabilityError
from sipas.reliability.cfa import CFAResult, confirmatory_factor_analysis
from tests.results import results_lavaan as lav

HS_GROUPS = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}


@pytest.fixture(scope="module")
def hs() -> pd.DataFrame:
    from semopy.examples import holzinger39

    return holzinger39.get_data().reset_index(drop=True)


@pytest.fixture(scope="module")
def hs_cfa(hs: pd.DataFrame) -> CFAResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return confirmatory_factor_analysis(hs, HS_GROUPS)


def test_hs_cfa_fit_matches_lavaan(hs_cfa: CFAResult) -> None:
    r = lav.HS_CFA  # fitMeasures(cfa(HS.model, data = HolzingerSwineford1939))
    assert hs_cfa.n == 301
    assert hs_cfa.df == r["df"]
    assert hs_cfa.baseline_df == r["baseline_df"]
    for attr, key in [
        ("chi2", "chisq"), ("baseline_chi2", "baseline_chisq"), ("cfi", "cfi"), ("tli", "tli"),
        ("rmsea", "rmsea"), ("rmsea_ci_low", "rmsea_ci_lower"), ("rmsea_ci_high", "rmsea_ci_upper"),
        ("srmr", "srmr"),
    ]:
        value, tol = r[key]
        assert getattr(hs_cfa, attr) == pytest.approx(value, abs=tol), attr


def test_hs_cfa_loadings_match_lavaan(hs_cfa: CFAResult) -> None:
    r = lav.HS_CFA
    load = hs_cfa.loadings.set_index("item")
    assert load.loc["x1", "factor"] == "visual" and load.loc["x9", "factor"] == "speed"
    for item in r["est"]:
        assert load.loc[item, "estimate"] == pytest.approx(r["est"][item], abs=r["tol_loading"])
        assert load.loc[item, "std_estimate"] == pytest.approx(r["std_all"][item], abs=r["tol_loading"])


def test_fit_indices_closed_forms(hs_cfa: CFAResult) -> None:
    """CFI, TLI, RMSEA from chi2/df by their definitions; NFI as a check of the baseline."""
    c, d, c0, d0, n = hs_cfa.chi2, hs_cfa.df, hs_cfa.baseline_chi2, hs_cfa.baseline_df, hs_cfa.n
    assert hs_cfa.cfi == pytest.approx(1 - (c - d) / (c0 - d0), rel=1e-12)
    assert hs_cfa.tli == pytest.approx((c0 / d0 - c / d) / (c0 / d0 - 1), rel=1e-12)
    assert hs_cfa.rmsea == pytest.approx(np.sqrt((c - d) / (n * d)), rel=1e-12)
    assert 1 - c / c0 == pytest.approx(lav.HS_CFA["nfi"][0], abs=lav.HS_CFA["nfi"][1])


def test_fit_table(hs_cfa: CFAResult) -> None:
    tab = hs_cfa.fit_table()
    assert tab["measure"].tolist()[:4] == ["chi2", "df", "p_value", "CFI"]
    assert tab.set_index("measure").loc["CFI", "acceptable"] == 1.0
    assert tab.set_index("measure").loc["RMSEA", "acceptable"] == 0.0


def test_cfa_equal_weights_and_single_item_groups(hs: pd.DataFrame, hs_cfa: CFAResult) -> None:
    data = hs.assign(w=2.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = confirmatory_factor_analysis(data, {**HS_GROUPS, "alone": ["ageyr"]}, weights="w")
    assert res.weighted and res.excluded == ("alone",)
    assert res.chi2 == pytest.approx(hs_cfa.chi2, rel=1e-6)
    assert res.srmr == pytest.approx(hs_cfa.srmr, rel=1e-6)


def test_cfa_errors(hs: pd.DataFrame) -> None:
    with pytest.raises(ReliabilityError, match="nothing to fit"):
        confirmatory_factor_analysis(hs, {"a": ["x1"]})
    with pytest.raises(ReliabilityError, match="more than one group"):
        confirmatory_factor_analysis(hs, {"a": ["x1", "x2"], "b": ["x2", "x3"]})
    with pytest.raises(ReliabilityError, match="not in the data"):
        confirmatory_factor_analysis(hs, {"a": ["x1", "zz"]})


# ---------------------------------------------------------------------------------------------
# omega, KMO/Bartlett, EFA and parallel analysis
# ---------------------------------------------------------------------------------------------

from scipy import stats  # noqa: E402

from sipas.reliability.factors import exploratory_factor_analysis, factorability, omega, parallel_analysis

HS_ITEMS = [f"x{i}" for i in range(1, 10)]


def _r9_structure() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """psych::sim.hierarchical() defaults: g loadings of the group factors and item loadings."""
    g = np.array([0.9, 0.8, 0.7])
    f = np.zeros((9, 3))
    f[0:3, 0] = [0.8, 0.7, 0.6]
    f[3:6, 1] = [0.7, 0.6, 0.5]
    f[6:9, 2] = [0.6, 0.5, 0.4]
    phi = np.outer(g, g)
    np.fill_diagonal(phi, 1.0)
    m = f @ phi @ f.T
    np.fill_diagonal(m, 1.0)
    return g, f, m


def _data_with_exact_correlation(m: np.ndarray, n: int = 500) -> pd.DataFrame:
    """Data whose sample correlation matrix equals m to rounding error."""
    z = np.random.default_rng(7).standard_normal((n, m.shape[0]))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T
    return pd.DataFrame(z @ np.linalg.cholesky(m).T, columns=[f"V{i + 1}" for i in range(m.shape[0])])


def test_omega_recovers_population_hierarchical_structure() -> None:
    """Closed form for sim.hierarchical(): g_i = F_ij gamma_j, s_ij = F_ij sqrt(1 - gamma_j^2)."""
    g, f, m = _r9_structure()
    gl = f @ g
    group = f * np.sqrt(1 - g**2)
    u2 = 1 - gl**2 - (group**2).sum(axis=1)
    res = omega(_data_with_exact_correlation(m))
    assert res.omega_h == pytest.approx(gl.sum() ** 2 / m.sum(), abs=1e-6)
    assert res.omega_t == pytest.approx(1 - u2.sum() / m.sum(), abs=1e-6)
    assert res.alpha == pytest.approx(0.763085, abs=5e-7)  # psych alpha(sim.hierarchical()), tidystats
    np.testing.assert_allclose(res.sl["g"], gl, atol=1e-5)
    np.testing.assert_allclose(res.sl["h2"] + res.sl["u2"], 1.0, atol=1e-12)


def test_omega_bounds_on_hs(hs: pd.DataFrame) -> None:
    res = omega(hs[HS_ITEMS])
    assert 0 < res.omega_h < res.omega_t < 1
    assert res.alpha == pytest.approx(0.7604022189980139, rel=1e-12)  # std alpha of x1..x9
    assert list(res.sl.columns) == ["g", "F1*", "F2*", "F3*", "h2", "u2"]


def test_factorability_closed_form(hs: pd.DataFrame) -> None:
    x = hs[HS_ITEMS].to_numpy()
    r = np.corrcoef(x, rowvar=False)
    n, p = x.shape
    res = factorability(hs[HS_ITEMS])
    chi2 = -(n - 1 - (2 * p + 5) / 6) * np.log(np.linalg.det(r))
    assert res.bartlett_chi2 == pytest.approx(chi2, rel=1e-10)
    assert res.bartlett_df == 36
    assert res.bartlett_p == pytest.approx(stats.chi2.sf(chi2, 36), rel=1e-8)
    inv = np.linalg.inv(r)
    partial = -inv / np.sqrt(np.outer(np.diag(inv), np.diag(inv)))
    off = ~np.eye(p, dtype=bool)
    kmo = (r[off] ** 2).sum() / ((r[off] ** 2).sum() + (partial[off] ** 2).sum())
    assert res.kmo == pytest.approx(kmo, rel=1e-12)
    assert res.msa.index.tolist() == HS_ITEMS


def test_efa_recovers_three_factors_of_hs(hs: pd.DataFrame) -> None:
    res = exploratory_factor_analysis(hs[HS_ITEMS])
    assert res.n_factors == 3 and res.parallel is not None
    main = res.loadings.abs().idxmax(axis=1)
    assert main["x4"] == main["x5"] == main["x6"]
    assert main["x1"] == main["x2"] == main["x3"]
    assert main["x7"] == main["x8"]
    assert len({main["x1"], main["x4"], main["x7"]}) == 3
    np.testing.assert_allclose(np.diag(res.phi), 1.0, atol=1e-10)


def test_efa_exact_on_population_structure() -> None:
    """With an exact 3-factor correlation matrix, minres + oblimin returns F and the factor
    correlations g g' (independent-cluster structure is oblimin's zero)."""
    g, f, m = _r9_structure()
    res = exploratory_factor_analysis(_data_with_exact_correlation(m), n_factors=3)
    lo = res.loadings.to_numpy()
    # match factors by their largest loading
    order = [int(np.argmax(np.abs(lo[i * 3]))) for i in range(3)]
    np.testing.assert_allclose(lo[:, order], f, atol=1e-4)
    phi = res.phi.to_numpy()[np.ix_(order, order)]
    expected = np.outer(g, g)
    np.fill_diagonal(expected, 1.0)
    np.testing.assert_allclose(phi, expected, atol=1e-4)


def test_parallel_analysis_deterministic(hs: pd.DataFrame) -> None:
    a = parallel_analysis(hs[HS_ITEMS], seed=1)
    b = parallel_analysis(hs[HS_ITEMS], seed=1)
    assert a[0] == b[0] == 3
    pd.testing.assert_frame_equal(a[1], b[1])
    eig = np.sort(np.linalg.eigvalsh(np.corrcoef(hs[HS_ITEMS].to_numpy(), rowvar=False)))[::-1]
    np.testing.assert_allclose(a[1]["observed"], eig, rtol=1e-12)

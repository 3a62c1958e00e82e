"""sipas.reliability against published R psych output for KMO, Bartlett, fa (minres) and omega.

Every reference number is in tests/results/results_psych.py with the R command that produced it and
its source; the input correlation matrices are in tests/data/reliability/ (see README.md there).
None was produced by sipas.

psych's functions take a correlation matrix; sipas's take respondents x items.  The tests therefore
build data whose sample correlation matrix equals the published matrix to rounding error
(``_data_with_correlation``), with ``n`` rows when the R call states ``n``/``n.obs``.

Tolerances are set by what was printed: half a unit of the last printed digit for 2-decimal prints;
for the 6-7 significant digit Bartlett numbers see the note at ``test_bartlett_on_fa3_residuals``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sipas.reliability.factors import exploratory_factor_analysis, factorability
from tests.results import results_psych as ref

DATA = Path(__file__).parent / "data" / "reliability"


def _read_matrix(name: str) -> pd.DataFrame:
    m = pd.read_csv(DATA / name, index_col=0)
    m.index = m.columns
    return m


def _data_with_correlation(m: np.ndarray, n: int, columns: list[str]) -> pd.DataFrame:
    """n x p data whose sample correlation matrix equals m to rounding error."""
    z = np.random.default_rng(11).standard_normal((n, m.shape[0]))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T
    return pd.DataFrame(z @ np.linalg.cholesky(m).T, columns=columns)


@pytest.fixture(scope="module")
def thurstone() -> pd.DataFrame:
    return _read_matrix("thurstone.csv")


@pytest.fixture(scope="module")
def harman_political() -> pd.DataFrame:
    return _read_matrix("harman_political.csv")


def bartlett_chi2(r: np.ndarray, n: int) -> float:
    """psych::cortest.bartlett: -log(det(R)) * (n - 1 - (2p + 5)/6)."""
    p = r.shape[0]
    return float(-np.log(np.linalg.det(r)) * (n - 1 - (2 * p + 5) / 6))


# ---------------------------------------------------------------------------------------------
# transcription checks of the input matrices
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, p", [("thurstone", 9), ("harman_political", 8)])
def test_matrices_are_correlation_matrices(name: str, p: int, request: pytest.FixtureRequest) -> None:
    m = request.getfixturevalue(name).to_numpy()
    assert m.shape == (p, p)
    np.testing.assert_array_equal(m, m.T)
    np.testing.assert_array_equal(np.diag(m), 1.0)
    assert np.linalg.eigvalsh(m).min() > 0


def test_thurstone_transcription(thurstone: pd.DataFrame) -> None:
    # str(Thurstone) as printed with the KMO example: "1 0.828 0.776 0.439 0.432 0.447 0.447 0.541 0.38 0.828"
    first = [1, 0.828, 0.776, 0.439, 0.432, 0.447, 0.447, 0.541, 0.38]
    np.testing.assert_array_equal(thurstone.iloc[:, 0].to_numpy(), first)
    assert thurstone.loc["Vocabulary", "Sentences"] == 0.828


def test_exact_data_reproduce_the_matrix(thurstone: pd.DataFrame) -> None:
    x = _data_with_correlation(thurstone.to_numpy(), 213, list(thurstone.columns))
    np.testing.assert_allclose(np.corrcoef(x.to_numpy(), rowvar=False), thurstone.to_numpy(), atol=1e-12)


# ---------------------------------------------------------------------------------------------
# KMO (psych::KMO), printed to 2 decimals
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [("thurstone", ref.KMO_THURSTONE), ("harman_political", ref.KMO_HARMAN_POLITICAL)],
)
def test_kmo_matches_psych(name: str, expected: dict, request: pytest.FixtureRequest) -> None:
    m = request.getfixturevalue(name)
    res = factorability(_data_with_correlation(m.to_numpy(), 213, list(m.columns)))
    tol = expected["tol"]
    assert res.kmo == pytest.approx(expected["overall"], abs=tol)
    assert list(res.msa.index) == list(expected["msa"])
    for item, value in expected["msa"].items():
        assert res.msa[item] == pytest.approx(value, abs=tol), item


# ---------------------------------------------------------------------------------------------
# Bartlett (psych::cortest.bartlett) on the residuals of fa(Thurstone, 3)
# ---------------------------------------------------------------------------------------------


def test_bartlett_on_fa3_residuals(thurstone: pd.DataFrame) -> None:
    """``f3 <- fa(Thurstone, 3); cortest.bartlett(f3$resid, n = 213, diag = FALSE / TRUE)``.

    The residual matrix ``R - L Phi L'`` comes from sipas's minres + oblimin
    (:func:`exploratory_factor_analysis`); the diag = TRUE statistic goes through sipas's own
    Bartlett (:func:`factorability`) on data with that correlation matrix.

    Tolerance: psych prints 2203.356 and 0.256498 (7 and 6 significant digits); sipas gives
    2203.3632 and 0.2564973, relative differences 3.2e-6 and 2.7e-6, so the check is at rtol 1e-5,
    not 1e-6.  The difference is psych's optimiser, not the formula: with diag = TRUE the statistic
    is ~ (n - 1 - (2p + 5)/6) * sum_{i<j} resid_ij^2, i.e. proportional to the minres objective, and
    sipas's value is the smaller one -- its solution is closer to the least-squares minimum than the
    point where psych's ``optim(method = "L-BFGS-B")`` stops.  That is asserted too.
    """
    expected = ref.BARTLETT_THURSTONE_FA3_RESID
    n = expected["n"]
    cols = list(thurstone.columns)
    r = thurstone.to_numpy()
    efa = exploratory_factor_analysis(_data_with_correlation(r, n, cols), n_factors=3, rotate="oblimin")
    lo = efa.loadings.to_numpy()
    phi = efa.phi.to_numpy()
    resid = r - lo @ phi @ lo.T
    np.testing.assert_allclose(np.diag(resid), efa.uniqueness.to_numpy(), atol=1e-12)

    # diag = FALSE: the uniquenesses stay on the diagonal (psych's "incorrect" example)
    chi2_false = bartlett_chi2(resid, n)
    assert chi2_false == pytest.approx(expected["chisq_diag_false"], rel=1e-5)
    assert stats.chi2.sf(chi2_false, expected["df"]) == pytest.approx(expected["p_diag_false"], abs=1e-12)

    # diag = TRUE: unit diagonal, through sipas.factorability
    unit = resid.copy()
    np.fill_diagonal(unit, 1.0)
    res = factorability(_data_with_correlation(unit, n, cols))
    assert res.bartlett_df == expected["df"]
    assert res.bartlett_chi2 == pytest.approx(expected["chisq_diag_true"], rel=1e-5)
    assert res.bartlett_chi2 <= expected["chisq_diag_true"]
    assert res.bartlett_p == pytest.approx(expected["p_diag_true"], abs=1e-12)
    assert res.bartlett_chi2 == pytest.approx(bartlett_chi2(unit, n), rel=1e-9)


# ---------------------------------------------------------------------------------------------
# omega (psych::omega, Schmid-Leiman of minres + oblimin, 3 group factors) on Harman74.cor
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def harman74() -> pd.DataFrame:
    return _read_matrix("harman74.csv")


@pytest.fixture(scope="module")
def harman74_omega(harman74: pd.DataFrame):
    from sipas.reliability.factors import omega

    x = _data_with_correlation(harman74.to_numpy(), 145, list(harman74.columns))
    return omega(x, n_factors=3)


def test_harman74_transcription(harman74: pd.DataFrame) -> None:
    m = harman74.to_numpy()
    assert m.shape == (24, 24)
    np.testing.assert_array_equal(m, m.T)
    np.testing.assert_array_equal(np.diag(m), 1.0)
    # spot values of R's Harman74.cor.R (column-major list) and of the WPS cards (row-major)
    assert harman74.loc["Cubes", "VisualPerception"] == 0.318
    assert harman74.loc["Addition", "PaperFormBoard"] == -0.075
    assert harman74.loc["ObjectNumber", "Cubes"] == 0.005
    assert harman74.loc["ArithmeticProblems", "SeriesCompletion"] == 0.434


def test_omega_harman74_matches_psych_5_decimals(harman74_omega) -> None:
    """psych's omega_h, alpha and omega.tot exported with 5 decimals: checked to 5e-6 (relative
    error < 1e-5); sipas agrees to 8e-7, 3e-6 and 3e-7."""
    expected = ref.OMEGA_HARMAN74
    tol = expected["tol_5dp"]
    assert harman74_omega.omega_h == pytest.approx(expected["omega_h"], abs=tol)
    assert harman74_omega.alpha == pytest.approx(expected["alpha"], abs=tol)
    assert harman74_omega.omega_t == pytest.approx(expected["omega_tot"], abs=tol)
    assert harman74_omega.n_factors == 3


def test_omega_harman74_general_loadings_3_digits(harman74_omega) -> None:
    expected = ref.OMEGA_HARMAN74
    np.testing.assert_allclose(harman74_omega.sl["g"].to_numpy()[:5], expected["g_first5"],
                               atol=expected["tol_3dp"])


def test_omega_harman74_schmid_leiman_table(harman74_omega) -> None:
    """The printed Schmid-Leiman table (2 decimals, group loadings below 0.2 blanked).

    sipas does not sort the oblimin factors by variance as psych's ``fa`` does, so its group
    factors are matched to psych's by their marker tests (verbal: WordMeaning; spatial:
    VisualPerception; speed: Addition) before comparing.
    """
    expected = ref.OMEGA_HARMAN74
    sl = harman74_omega.sl
    groups = ["F1*", "F2*", "F3*"]
    marker = {"F1*": "WordMeaning", "F2*": "VisualPerception", "F3*": "Addition"}
    mapping = {psych: sl.loc[test, groups].abs().idxmax() for psych, test in marker.items()}
    assert sorted(mapping.values()) == groups
    tol, cut = expected["tol_2dp"], expected["cut"]
    for test, (g, loads, h2, u2) in expected["sl"].items():
        assert sl.loc[test, "g"] == pytest.approx(g, abs=tol), test
        assert sl.loc[test, "h2"] == pytest.approx(h2, abs=tol), test
        assert sl.loc[test, "u2"] == pytest.approx(u2, abs=tol), test
        for psych_factor in groups:
            value = sl.loc[test, mapping[psych_factor]]
            if psych_factor in loads:
                assert value == pytest.approx(loads[psych_factor], abs=tol), (test, psych_factor)
            else:
                assert abs(value) < cut + tol, (test, psych_factor)

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

from sipas.reliability import exploratory_factor_analysis, factorability
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

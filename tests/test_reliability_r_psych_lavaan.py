"""sipas.reliability against psych, GPArotation and lavaan run in R on R's own data sets.

Every reference number comes from ``tests/results/r/psych_lavaan.R`` (stored with the R command
that produced it in ``psych_lavaan.json``; ``tests/test_r_provenance.py`` reruns the script).
The data: psych's ``bfi`` (2800 respondents x 25 personality items + gender, education, age),
copied verbatim to ``tests/data/reliability/bfi.csv``, and lavaan's ``HolzingerSwineford1939``
(read from semopy's identical copy).  The first tests check that Python reads exactly R's rows.

Convergence and tolerances
--------------------------
psych's default ``fa(fm = "minres")`` is not run to convergence: its ``optim(method =
"L-BFGS-B")`` stops on the relative reduction of the objective (``factr = 1e7``, about 2e-9), which
on these data leaves the communalities up to 2e-6 from the stationary point, and
``GPArotation::oblimin`` stops at a projected-gradient norm of ``eps = 1e-5``, which leaves
oblimin loadings up to 2e-5 from the optimum.  lavaan's default ``nlminb`` (``rel.tol = 1e-10``)
leaves standardised loadings about 1e-6 from the ML optimum.  The R script therefore also runs each
analysis to convergence *with the same R packages* (``*_CONV`` references: principal-axis iteration
``fm = "pa", min.err = 1e-14``, whose fixed point ``diag(L L') = 1 - psi`` is the minres stationary
point; oblimin with ``eps = 2e-8``; lavaan with BFGS and ``reltol = 1e-15``).

* against the converged references sipas is checked at 1e-6 (it agrees to about 1e-8);
* against psych's and lavaan's default output, sipas must lie within the distance between that
  output and R's own converged answer (plus 1e-6): it is checked at the tolerance R's stopping
  rule allows, and the test fails if sipas is further from R's default than R's converged run is.

Factor order and sign
---------------------
A factor's sign and position are arbitrary.  psych keys every factor so that its loadings sum to a
positive number and sorts the factors by the variance they account for; sipas keys them the same
way but keeps the extraction order.  Each sipas factor is matched one-to-one to the psych factor
with the largest absolute Tucker congruence (``scipy.optimize.linear_sum_assignment``); the tests
require every matched congruence above 0.95 and of positive sign (same keying), then compare the
permuted columns (and the rows and columns of ``Phi``).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linear_sum_assignment

from sipas import reliability as rel
from sipas.errors import ReliabilityError
from sipas.reliability.cfa import _ml_covariance
from sipas.reliability.factors import _oblimin, _oblimin_gpa
from tests.results.r_refs import RRef, load

DATA = Path(__file__).parent / "data" / "reliability"
HS_ITEMS = [f"x{i}" for i in range(1, 10)]
BFI_ITEMS = [f"{t}{i}" for t in "ACENO" for i in range(1, 6)]
CFA_GROUPS = {"N": [f"N{i}" for i in range(1, 6)], "C": ["C1", "C2", "C3"], "E": ["E3", "E4", "E5"]}
TIGHT = 1e-6


@pytest.fixture(scope="module")
def refs() -> dict[str, RRef]:
    return load("psych_lavaan")


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    return pd.read_csv(DATA / "bfi.csv")


@pytest.fixture(scope="module")
def bfi_complete(bfi: pd.DataFrame) -> pd.DataFrame:
    """R: ``b <- na.omit(bfi[1:25])``."""
    return bfi[BFI_ITEMS].dropna()


@pytest.fixture(scope="module")
def hs() -> pd.DataFrame:
    from semopy.examples import holzinger39

    return holzinger39.get_data().reset_index(drop=True)[HS_ITEMS]


def _frame(ref: RRef) -> pd.DataFrame:
    """An R matrix reference (column-major, names ``row:col``) as a DataFrame."""
    rows = list(dict.fromkeys(n.split(":")[0] for n in ref.names))
    cols = list(dict.fromkeys(n.split(":")[1] for n in ref.names))
    return pd.DataFrame(ref.values.reshape((len(rows), len(cols)), order="F"), index=rows, columns=cols)


def _series(ref: RRef) -> pd.Series:
    return pd.Series(ref.values, index=list(ref.names))


def _match(ours: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    """Column ``j`` of ``theirs`` corresponds to column ``perm[j]`` of ``ours`` (see module doc)."""
    num = theirs.T @ ours
    congruence = num / np.outer(np.linalg.norm(theirs, axis=0), np.linalg.norm(ours, axis=0))
    row, perm = linear_sum_assignment(-np.abs(congruence))
    assert list(row) == list(range(theirs.shape[1]))
    matched = congruence[row, perm]
    assert np.all(matched > 0.95), f"factors do not match one-to-one with the same sign: {matched}"
    return perm


def _max_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float))))


def _minres_objective(r: np.ndarray, loadings: np.ndarray) -> float:
    """psych's minres criterion: sum of squared residual correlations below the diagonal."""
    res = r - loadings @ loadings.T
    return float(np.sum(res[np.tril_indices_from(res, -1)] ** 2))


# ---------------------------------------------------------------------------------------------
# the data Python reads are R's
# ---------------------------------------------------------------------------------------------


def test_bfi_csv_is_r_bfi(bfi: pd.DataFrame, bfi_complete: pd.DataFrame, refs) -> None:
    assert list(bfi.shape) == list(refs["BFI_DIM"].values)
    assert list(bfi.columns) == list(refs["BFI_COLSUMS"].names)
    np.testing.assert_array_equal(bfi.sum().to_numpy(), refs["BFI_COLSUMS"].values)
    np.testing.assert_array_equal(bfi.isna().sum().to_numpy(), refs["BFI_NA"].values)
    rows = np.arange(1, len(bfi) + 1)
    np.testing.assert_array_equal(bfi.mul(rows, axis=0).sum().to_numpy(), refs["BFI_ROW_WEIGHTED"].values)
    assert len(bfi_complete) == refs["BFI_COMPLETE_25"].value


def test_holzinger_swineford_is_lavaans(hs: pd.DataFrame, refs) -> None:
    np.testing.assert_allclose(hs.sum().to_numpy(), refs["HS_COLSUMS"].values, rtol=1e-13)
    rows = np.arange(1, len(hs) + 1)
    np.testing.assert_allclose(hs.mul(rows, axis=0).sum().to_numpy(), refs["HS_ROW_WEIGHTED"].values, rtol=1e-13)


# ---------------------------------------------------------------------------------------------
# fa: minres extraction, oblimin rotation
# ---------------------------------------------------------------------------------------------

FA_CASES = [("BFI5", "bfi_complete", 5), ("HS3", "hs", 3)]


@pytest.fixture(scope="module")
def efa(request: pytest.FixtureRequest) -> dict[tuple[str, str], rel.EFAResult]:
    out = {}
    for case, data, k in FA_CASES:
        x = request.getfixturevalue(data)
        for rotate in ("none", "oblimin"):
            out[case, rotate] = rel.exploratory_factor_analysis(x, n_factors=k, rotate=rotate)
    return out


@pytest.mark.parametrize("case", [c[0] for c in FA_CASES])
def test_fa_unrotated_matches_converged_psych(case: str, efa, refs) -> None:
    ours = efa[case, "none"]
    load_r = _frame(refs[f"FA_{case}_CONV_NONE_LOADINGS"])
    assert list(load_r.index) == list(ours.loadings.index)
    perm = _match(ours.loadings.to_numpy(), load_r.to_numpy())
    assert list(perm) == list(range(ours.n_factors))  # unrotated: both in eigenvalue order
    assert _max_abs(ours.loadings.to_numpy(), load_r.to_numpy()) < TIGHT
    assert _max_abs(ours.communality, refs[f"FA_{case}_CONV_NONE_COMMUNALITY"].values) < TIGHT
    assert _max_abs(ours.uniqueness, refs[f"FA_{case}_CONV_NONE_UNIQUENESS"].values) < TIGHT


@pytest.mark.parametrize("case", [c[0] for c in FA_CASES])
def test_fa_oblimin_matches_converged_psych(case: str, efa, refs) -> None:
    ours = efa[case, "oblimin"]
    load_r = _frame(refs[f"FA_{case}_CONV_OBLIMIN_LOADINGS"])
    phi_r = _frame(refs[f"FA_{case}_CONV_OBLIMIN_PHI"]).to_numpy()
    perm = _match(ours.loadings.to_numpy(), load_r.to_numpy())
    assert _max_abs(ours.loadings.to_numpy()[:, perm], load_r.to_numpy()) < TIGHT
    assert _max_abs(ours.phi.to_numpy()[np.ix_(perm, perm)], phi_r) < TIGHT
    # the communalities of the oblique solution, diag(L Phi L'), are those of the unrotated one
    assert _max_abs(ours.communality, refs[f"FA_{case}_CONV_NONE_COMMUNALITY"].values) < TIGHT


@pytest.mark.parametrize("case", [c[0] for c in FA_CASES])
def test_oblimin_rotation_alone_matches_gparotation(case: str, refs) -> None:
    """The rotation alone, on R's own unrotated loadings.

    R: ``fa(b, nfactors = 5, fm = 'pa', rotate = 'oblimin', min.err = 1e-14, max.iter = 1e5,
    eps = 2e-8, maxit = 1e4)`` (``hs``, 3 factors for HS3) rotates the loadings of the same call
    with ``rotate = 'none'`` (``FA_<case>_CONV_NONE_LOADINGS``) by ``GPArotation::oblimin(L, eps =
    2e-8, maxit = 1e4)``.  sipas's GPFoblq with GPArotation's stopping rule (``eps = 2e-8``)
    follows the same iterates (HS3: the same numbers to 2e-16; BFI5: rounding makes the two
    runs stop one or two iterations apart, 6e-9).  With its defaults sipas goes on to the
    floating-point floor (projected gradient about 1e-8) in at most a few hundred iterations
    (121 and 45 here; before issue 13 every call ran 5000 iterations), 2e-8 from R's eps = 2e-8
    answer.
    """
    a = _frame(refs[f"FA_{case}_CONV_NONE_LOADINGS"]).to_numpy()
    load_r = _frame(refs[f"FA_{case}_CONV_OBLIMIN_LOADINGS"]).to_numpy()
    phi_r = _frame(refs[f"FA_{case}_CONV_OBLIMIN_PHI"]).to_numpy()
    msg = str(refs[f"FA_{case}_CONV_OBLIMIN_LOADINGS"])
    for eps, atol in [(2e-8, 2e-8), (1e-10, 1e-7)]:
        lo, phi = _oblimin(a, eps=eps)
        perm = _match(lo, load_r)
        lo, phi = lo[:, perm], phi[np.ix_(perm, perm)]
        assert _max_abs(lo, load_r) < atol, (eps, msg)
        assert np.linalg.norm(lo - load_r) / np.linalg.norm(load_r) < 1e-7, (eps, msg)
        assert _max_abs(phi, phi_r) < atol, (eps, msg)
    _, _, iterations, s = _oblimin_gpa(a)
    assert iterations < 200
    assert s < 5e-8


def test_oblimin_not_converged_is_an_error(refs) -> None:
    """GPArotation warns "convergence not obtained in GPFoblq"; sipas raises."""
    a = _frame(refs["FA_BFI5_CONV_NONE_LOADINGS"]).to_numpy()
    with pytest.raises(ReliabilityError, match="did not converge in 20 iterations"):
        _oblimin_gpa(a, maxit=20)


@pytest.mark.parametrize("case", [c[0] for c in FA_CASES])
def test_fa_psych_defaults_within_their_convergence(case: str, efa, refs) -> None:
    """psych's default output is no further from sipas than from psych's own converged run."""
    for rotate, what in [("none", "LOADINGS"), ("oblimin", "LOADINGS"), ("oblimin", "PHI")]:
        ours = efa[case, rotate]
        default = _frame(refs[f"FA_{case}_{rotate.upper()}_{what}"]).to_numpy()
        conv = _frame(refs[f"FA_{case}_CONV_{rotate.upper()}_{what}"]).to_numpy()
        perm = _match(ours.loadings.to_numpy(), _frame(refs[f"FA_{case}_{rotate.upper()}_LOADINGS"]).to_numpy())
        mine = ours.loadings.to_numpy()[:, perm] if what == "LOADINGS" else ours.phi.to_numpy()[np.ix_(perm, perm)]
        slack = _max_abs(conv, default)
        assert _max_abs(mine, default) <= slack + TIGHT, (rotate, what, slack)
    slack = _max_abs(refs[f"FA_{case}_CONV_NONE_COMMUNALITY"].values, refs[f"FA_{case}_NONE_COMMUNALITY"].values)
    assert _max_abs(efa[case, "none"].communality, refs[f"FA_{case}_NONE_COMMUNALITY"].values) <= slack + TIGHT
    assert _max_abs(efa[case, "none"].uniqueness, refs[f"FA_{case}_NONE_UNIQUENESS"].values) <= slack + TIGHT


@pytest.mark.parametrize("case, data", [(c[0], c[1]) for c in FA_CASES])
def test_fa_minres_objective_not_above_psych(case: str, data: str, efa, refs, request) -> None:
    """sipas's minres solution fits the off-diagonal correlations at least as well as psych's."""
    r = np.corrcoef(request.getfixturevalue(data).to_numpy(), rowvar=False)
    ours = _minres_objective(r, efa[case, "none"].loadings.to_numpy())
    theirs = _minres_objective(r, _frame(refs[f"FA_{case}_NONE_LOADINGS"]).to_numpy())
    assert ours <= theirs + 1e-15


# ---------------------------------------------------------------------------------------------
# fa.parallel: observed eigenvalues
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, data, missing",
    [("FAPAR_BFI_PC_VALUES", "bfi_complete", "listwise"), ("FAPAR_HS_PC_VALUES", "hs", "listwise"),
     ("FAPAR_BFI_PAIRWISE_PC_VALUES", "bfi", "pairwise")],
)
def test_parallel_observed_eigenvalues(name: str, data: str, missing: str, refs, request) -> None:
    x = request.getfixturevalue(data)
    if data == "bfi":
        x = x[BFI_ITEMS]
    _, table = rel.parallel_analysis(x, n_iter=2, missing=missing)
    np.testing.assert_allclose(table["observed"].to_numpy(), refs[name].values, rtol=0, atol=1e-12, err_msg=str(refs[name]))


def test_parallel_fa_values(bfi_complete: pd.DataFrame, refs) -> None:
    """``fa.values``: eigenvalues of R with the communalities of a one-factor minres fit on its
    diagonal.  psych's one-factor fit stops short as above (about 2e-7 here), so 1e-6."""
    h2 = rel.exploratory_factor_analysis(bfi_complete, n_factors=1, rotate="none").communality.to_numpy()
    r = np.corrcoef(bfi_complete.to_numpy(), rowvar=False)
    np.fill_diagonal(r, h2)
    values = np.sort(np.linalg.eigvalsh(r))[::-1]
    np.testing.assert_allclose(values, refs["FAPAR_BFI_FA_VALUES"].values, rtol=0, atol=TIGHT)


# ---------------------------------------------------------------------------------------------
# alpha on raw data
# ---------------------------------------------------------------------------------------------


def _keyed(bfi: pd.DataFrame, items: list[str], reverse: list[str]) -> pd.DataFrame:
    """psych::alpha(keys = reverse) reverses items as min + max - x over the whole scale."""
    x = bfi[items].copy()
    lo, hi = np.nanmin(x.to_numpy()), np.nanmax(x.to_numpy())
    assert (lo, hi) == (1, 6)
    x[reverse] = lo + hi - x[reverse]
    return x


@pytest.mark.parametrize(
    "prefix, items, reverse, missing",
    [("ALPHA_BFI_N", [f"N{i}" for i in range(1, 6)], [], "pairwise"),
     ("ALPHA_BFI_C_KEYED", [f"C{i}" for i in range(1, 6)], ["C4", "C5"], "pairwise"),
     ("ALPHA_BFI_O_COMPLETE", [f"O{i}" for i in range(1, 6)], ["O2", "O5"], "listwise")],
)
def test_alpha_matches_psych(prefix: str, items: list[str], reverse: list[str], missing: str, bfi, refs) -> None:
    x = _keyed(bfi, items, reverse)
    if missing == "listwise":
        x = x.dropna()
    a = rel.cronbach_alpha(x, missing=missing)
    st = rel.item_statistics(x, missing=missing)
    total = _series(refs[f"{prefix}_TOTAL"])
    assert a.alpha == pytest.approx(total["raw_alpha"], abs=1e-12), str(refs[f"{prefix}_TOTAL"])
    assert a.std_alpha == pytest.approx(total["std.alpha"], abs=1e-12)
    np.testing.assert_allclose(st["item_total_r"], refs[f"{prefix}_RDROP"].values, rtol=0, atol=1e-12)
    np.testing.assert_allclose(st["alpha_if_deleted"], refs[f"{prefix}_DROP"].values, rtol=0, atol=1e-12)
    if f"{prefix}_FELDT" in refs:
        # psych's Feldt interval uses nrow(x); here no respondent skipped all five items
        feldt = _series(refs[f"{prefix}_FELDT"])
        assert a.n == len(x)
        assert a.ci_low == pytest.approx(feldt["lower.ci.raw_alpha"], abs=1e-12)
        assert a.ci_high == pytest.approx(feldt["upper.ci.raw_alpha"], abs=1e-12)


def test_item_means_and_sds_match_psych(bfi: pd.DataFrame, refs) -> None:
    st = rel.item_statistics(bfi[[f"N{i}" for i in range(1, 6)]], missing="pairwise")
    expected = _series(refs["ALPHA_BFI_N_MEAN_SD"])
    np.testing.assert_allclose(st["mean"], expected.iloc[:5], rtol=0, atol=1e-12)
    np.testing.assert_allclose(st["sd"], expected.iloc[5:], rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# omega
# ---------------------------------------------------------------------------------------------

OMEGA_CASES = [("OMEGA_HS3", "hs", None, 3), ("OMEGA_BFI15", "bfi_complete", 15, 3), ("OMEGA_BFI25_5", "bfi_complete", None, 5)]


@pytest.fixture(scope="module")
def omegas(request: pytest.FixtureRequest) -> dict[str, rel.OmegaResult]:
    out = {}
    for name, data, ncol, k in OMEGA_CASES:
        x = request.getfixturevalue(data)
        out[name] = rel.omega(x if ncol is None else x.iloc[:, :ncol], n_factors=k)
    return out


@pytest.mark.parametrize("name", [c[0] for c in OMEGA_CASES])
def test_omega_matches_converged_psych(name: str, omegas, refs) -> None:
    """``conv_omega`` (R) applies psych omegah's formulas to psych's converged oblimin solution."""
    om = omegas[name]
    conv = _series(refs[f"{name}_CONV"])
    assert om.omega_h == pytest.approx(conv["omega_h"], abs=TIGHT), str(refs[f"{name}_CONV"])
    assert om.omega_t == pytest.approx(conv["omega.tot"], abs=TIGHT)
    np.testing.assert_allclose(om.sl["g"].to_numpy(), conv.iloc[2:].to_numpy(), rtol=0, atol=TIGHT)


@pytest.mark.parametrize("name", [c[0] for c in OMEGA_CASES])
def test_omega_psych_default_within_its_convergence(name: str, omegas, refs) -> None:
    om = omegas[name]
    default = _series(refs[name])
    conv = _series(refs[f"{name}_CONV"])
    assert om.alpha == pytest.approx(default["alpha"], abs=1e-12)
    for ours, key in [(om.omega_h, "omega_h"), (om.omega_t, "omega.tot")]:
        slack = abs(conv[key] - default[key])
        assert abs(ours - default[key]) <= slack + TIGHT, (key, str(refs[name]))
    if f"{name}_G" in refs:
        g = refs[f"{name}_G"].values
        assert _max_abs(om.sl["g"], g) <= _max_abs(conv.iloc[2:], g) + TIGHT


def test_omega_communalities_are_the_factor_models(omegas, refs) -> None:
    """With 5 group factors the one-factor model of Phi does not fit exactly; psych's h2 (and so
    omega.tot) is the communality of the oblique model, not g^2 + sum s^2 (sipas used the latter
    before this test was written and was 3e-4 off in omega_t here)."""
    om = omegas["OMEGA_BFI25_5"]
    np.testing.assert_allclose(om.sl["h2"], refs["FA_BFI5_CONV_NONE_COMMUNALITY"].values, rtol=0, atol=TIGHT)
    np.testing.assert_allclose(om.sl["u2"], 1.0 - refs["FA_BFI5_CONV_NONE_COMMUNALITY"].values, rtol=0, atol=TIGHT)
    h2_default = refs["OMEGA_BFI25_5_H2"].values
    slack = _max_abs(refs["FA_BFI5_CONV_NONE_COMMUNALITY"].values, h2_default)
    assert _max_abs(om.sl["h2"], h2_default) <= slack + TIGHT
    sl_sum = om.sl["g"] ** 2 + (om.sl.filter(like="*") ** 2).sum(axis=1)
    assert _max_abs(sl_sum, om.sl["h2"]) > 1e-3  # the two definitions really differ here


# ---------------------------------------------------------------------------------------------
# KMO and Bartlett
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case, data", [("BFI", "bfi_complete"), ("HS", "hs")])
def test_kmo_and_bartlett_match_psych(case: str, data: str, refs, request) -> None:
    x = request.getfixturevalue(data)
    f = rel.factorability(x)
    assert f.kmo == pytest.approx(refs[f"KMO_{case}"].value, abs=1e-12), str(refs[f"KMO_{case}"])
    np.testing.assert_allclose(f.msa.to_numpy(), refs[f"KMO_{case}_MSAI"].values, rtol=0, atol=1e-12)
    assert list(f.msa.index) == list(refs[f"KMO_{case}_MSAI"].names)
    bart = _series(refs[f"BARTLETT_{case}"])
    assert f.bartlett_chi2 == pytest.approx(bart["chisq"], rel=1e-11)
    assert f.bartlett_df == bart["df"]
    if bart["p.value"] > 0:
        assert f.bartlett_p == pytest.approx(bart["p.value"], rel=1e-9)
    else:  # R underflows to 0 (chi2 = 18146 on 300 df)
        assert f.bartlett_p < 1e-300


def test_kmo_pairwise_matches_psych(bfi: pd.DataFrame, refs) -> None:
    """psych's KMO on raw data with missing answers uses cor(x, use = "pairwise"); sipas did
    cov2cor of the pairwise covariance matrix (variances from all who answered the item) before
    this test was written and was 1e-4 off in KMO, 5e-4 in the MSAs."""
    f = rel.factorability(bfi[BFI_ITEMS], missing="pairwise")
    assert f.kmo == pytest.approx(refs["KMO_BFI_PAIRWISE"].value, abs=1e-12)
    np.testing.assert_allclose(f.msa.to_numpy(), refs["KMO_BFI_PAIRWISE_MSAI"].values, rtol=0, atol=1e-12)


def test_pairwise_correlations_with_equal_weights(bfi: pd.DataFrame, refs) -> None:
    """The weighted pairwise branch reduces to R's pairwise correlations when all weights are equal."""
    f = rel.factorability(bfi[BFI_ITEMS], missing="pairwise", weights=np.full(len(bfi), 2.5))
    assert f.kmo == pytest.approx(refs["KMO_BFI_PAIRWISE"].value, abs=1e-12)
    _, table = rel.parallel_analysis(bfi[BFI_ITEMS], n_iter=2, missing="pairwise", weights=np.full(len(bfi), 2.5))
    np.testing.assert_allclose(table["observed"], refs["FAPAR_BFI_PAIRWISE_PC_VALUES"].values, rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# lavaan: three correlated factors on bfi items
# ---------------------------------------------------------------------------------------------

def _weights(bfi: pd.DataFrame) -> np.ndarray:
    """The R setup's weights: 1.5 for men, 0.75 for women, times 1.2 under age 25."""
    return np.where(bfi["gender"] == 1, 1.5, 0.75) * np.where(bfi["age"] < 25, 1.2, 1.0)


@pytest.fixture(scope="module")
def cfa(bfi: pd.DataFrame) -> rel.CFAResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rel.confirmatory_factor_analysis(bfi, CFA_GROUPS)


@pytest.fixture(scope="module")
def cfa_w(bfi: pd.DataFrame) -> rel.CFAResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rel.confirmatory_factor_analysis(bfi, CFA_GROUPS, weights=_weights(bfi))


def _cfa_items() -> list[str]:
    return [i for items in CFA_GROUPS.values() for i in items]


def test_cfa_sample_covariance_is_lavaans(bfi: pd.DataFrame, refs) -> None:
    """lavaan (likelihood = "normal") uses the divisor N, and sum(w) with sampling weights
    (rescaled to sum to N); so does sipas."""
    items = _cfa_items()
    x = bfi[items + ["gender", "age"]].dropna()
    w = _weights(x)
    for name, weights in [("CFA_BFI3_SAMPLE_COV", None), ("CFA_BFI3W_SAMPLE_COV", w)]:
        s = _frame(refs[name]).loc[items, items].to_numpy()
        np.testing.assert_allclose(_ml_covariance(x[items].to_numpy(), weights), s, rtol=1e-12, atol=0)


def test_cfa_fit_matches_converged_lavaan(cfa: rel.CFAResult, refs) -> None:
    fit = _series(refs["CFA_BFI3_CONV_FIT"])
    assert cfa.n == refs["CFA_BFI3_N"].value
    assert cfa.chi2 == pytest.approx(fit["chisq"], rel=1e-10), str(refs["CFA_BFI3_CONV_FIT"])
    for attr, key in [("cfi", "cfi"), ("tli", "tli"), ("rmsea", "rmsea"), ("rmsea_ci_low", "rmsea.ci.lower"),
                      ("rmsea_ci_high", "rmsea.ci.upper"), ("srmr", "srmr")]:
        assert getattr(cfa, attr) == pytest.approx(fit[key], abs=1e-9), attr
    np.testing.assert_allclose(cfa.loadings["std_estimate"], refs["CFA_BFI3_CONV_STD_LOADINGS"].values, rtol=0, atol=TIGHT)


def test_cfa_fit_matches_default_lavaan(cfa: rel.CFAResult, refs) -> None:
    fit = _series(refs["CFA_BFI3_FIT"])
    conv = _series(refs["CFA_BFI3_CONV_FIT"])
    assert cfa.df == fit["df"] and cfa.baseline_df == fit["baseline.df"]
    assert cfa.baseline_chi2 == pytest.approx(fit["baseline.chisq"], rel=1e-12)
    # lavaan prints p = 0 (1 - pchisq underflows); sipas uses the upper tail directly
    assert fit["pvalue"] == 0 and 0 < cfa.p_value < 1e-150
    for attr, key in [("chi2", "chisq"), ("cfi", "cfi"), ("tli", "tli"), ("rmsea", "rmsea"),
                      ("rmsea_ci_low", "rmsea.ci.lower"), ("rmsea_ci_high", "rmsea.ci.upper"), ("srmr", "srmr")]:
        slack = abs(conv[key] - fit[key])
        assert abs(getattr(cfa, attr) - fit[key]) <= slack + 1e-9, attr
    std, std_conv = refs["CFA_BFI3_STD_LOADINGS"].values, refs["CFA_BFI3_CONV_STD_LOADINGS"].values
    assert _max_abs(cfa.loadings["std_estimate"], std) <= _max_abs(std_conv, std) + TIGHT
    # marker parameterisation (first loading of each factor fixed to 1), as lavaan's default
    est, est_conv = refs["CFA_BFI3_LOADINGS"].values, refs["CFA_BFI3_CONV_LOADINGS"].values
    np.testing.assert_allclose(cfa.loadings["estimate"], est_conv, rtol=0, atol=TIGHT)
    assert _max_abs(cfa.loadings["estimate"], est) <= _max_abs(est_conv, est) + TIGHT


def test_weighted_cfa_matches_lavaan_sampling_weights(cfa_w: rel.CFAResult, refs) -> None:
    """Same weighted covariance and estimates as lavaan(sampling.weights = "w"); the sample size
    differs by design: lavaan's chi-square is N F_ML with N = 2603 respondents, sipas's is
    n_eff F_ML with Kish's effective size, so the fit functions are compared."""
    conv = _series(refs["CFA_BFI3W_CONV_FIT"])
    n_lavaan = refs["CFA_BFI3W_N"].value
    assert cfa_w.n == n_lavaan
    assert cfa_w.n_eff < cfa_w.n
    f_ml = 2.0 * conv["fmin"]  # lavaan's fmin is F_ML / 2
    assert conv["chisq"] == pytest.approx(n_lavaan * f_ml, rel=1e-12)
    assert cfa_w.chi2 / cfa_w.n_eff == pytest.approx(f_ml, rel=1e-10)
    np.testing.assert_allclose(cfa_w.loadings["std_estimate"], refs["CFA_BFI3W_CONV_STD_LOADINGS"].values,
                               rtol=0, atol=TIGHT)
    std, std_conv = refs["CFA_BFI3W_STD_LOADINGS"].values, refs["CFA_BFI3W_CONV_STD_LOADINGS"].values
    assert _max_abs(cfa_w.loadings["std_estimate"], std) <= _max_abs(std_conv, std) + TIGHT

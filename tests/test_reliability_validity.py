"""Validity checks of sipas.reliability: CFA against lavaan (printed output in tests/results)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from sipas.errors import ReliabilityError
from sipas.reliability import CFAResult, confirmatory_factor_analysis
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

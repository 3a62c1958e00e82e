"""Service-user surveys: weights per unit, units against the area (R survey), the exit-mode demo end to end.

References: tests/results/r/survey_units.R (R survey 4.1.1 on apistrat; the command is stored beside each
number in survey_units.json, rerun by tests/test_r_provenance.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sipas.errors import EstimationError, InputError
from sipas.estimation import Design
from sipas.estimation.unit_weights import transaction_counts, unit_weights
from sipas.indices.comparisons import compare_with_overall, holm_adjust
from tests.results.r_refs import load

R = load("survey_units")
API = "/work/shared/reference-data/api"


def _apistrat() -> pd.DataFrame:
    import os

    return pd.read_csv(os.path.join(os.environ.get("SIPAS_API_DIR", API), "apistrat.csv"))


def test_holm_equals_r_p_adjust():
    # R: p.adjust(c(0.01, 0.04, 0.03, 0.20, 0.005), method='holm')
    np.testing.assert_allclose(holm_adjust(np.array([0.01, 0.04, 0.03, 0.20, 0.005])), R["HOLM_EXAMPLE"].values,
                               rtol=1e-12)


def test_units_against_area_equal_r_svycontrast():
    """Stratum domains of apistrat: d_h = mean_h - mean, SE and Holm p-values as R survey's svycontrast."""
    d = _apistrat()
    d["w"] = d["fpc"] / d.groupby("stype")["fpc"].transform("size")   # R: weights from fpc (N_h / n_h)
    des = Design(d, weight="w", strata="stype", fpc="fpc")
    units = pd.DataFrame({"domain": ["E", "H", "M"], "estimate": R["UNITS_MEAN"].values, "se": R["UNITS_SE"].values})
    # the units' SEs from sipas's own design equal R's too (svyby(~api00, ~stype, dstrat, svymean))
    by = des.mean("api00", by="stype")
    np.testing.assert_allclose(by["se"].to_numpy(float), R["UNITS_SE"].values, rtol=1e-9)
    shares = dict(zip(["E", "H", "M"], np.array([4421, 755, 1018]) / 6194))
    area = des.mean("api00")
    overall = {"estimate": area.estimate, "se": area.se}
    np.testing.assert_allclose([overall["estimate"], overall["se"]],
                               [R["AREA_MEAN"].value, R["AREA_SE"].value], rtol=1e-9)
    out = compare_with_overall(units, overall=overall, shares=shares)
    np.testing.assert_allclose(out["difference"], R["DIFF"].values, rtol=1e-9)
    np.testing.assert_allclose(out["se_difference"], R["DIFF_SE"].values, rtol=1e-9)
    np.testing.assert_allclose(out["p_adjusted"], R["DIFF_P_HOLM"].values, rtol=1e-9)
    assert list(out["verdict"]) == ["above", "below", "not_different"]


def test_compare_refuses_unknown_unit_and_correction():
    units = pd.DataFrame({"domain": ["A"], "estimate": [0.8], "se": [0.02]})
    with pytest.raises(EstimationError, match="share"):
        compare_with_overall(units, overall={"estimate": 0.8, "se": 0.01}, shares={})
    with pytest.raises(EstimationError, match="correction"):
        compare_with_overall(units, overall={"estimate": 0.8, "se": 0.01}, shares={"A": 0.5}, correction="fdr?")


def _forms():
    return pd.DataFrame({"form_id": [f"f{i}" for i in range(9)], "respondent_key": [f"k{i}" for i in range(9)],
                         "unit": ["A"] * 5 + ["B"] * 4,
                         "procedure_field": ["x", "x", "x", "y", "y", "x", "x", "y", None]})


def test_unit_weights_by_field_and_collapsed():
    counts = pd.DataFrame({"unit": ["A", "A", "B", "B"], "procedure_field": ["x", "y", "x", "y"],
                           "transactions": [60, 40, 30, 10]})
    res = unit_weights(_forms(), counts)
    w = res.weights.set_index("form_id")
    # unit A: cells by field, w = N_hf / n_hf
    assert w.loc["f0", "w_final"] == pytest.approx(60 / 3) and w.loc["f3", "w_final"] == pytest.approx(40 / 2)
    # unit B has a form without a field: one cell, w = N_h / n_h
    assert w.loc["f5", "w_final"] == pytest.approx(40 / 4) and w.loc["f5", "cell"] == "B"
    assert w.loc["f0", "psu_population"] == 100 and w.loc["f0", "pi"] == pytest.approx(5 / 100)
    assert res.weights.groupby("unit")["w_final"].sum().to_dict() == pytest.approx({"A": 100, "B": 40})
    cells = res.cells.set_index("unit")
    assert bool(cells.loc["A", "by_field"]) and cells.loc["B", "reason"] == "field_unknown"


def test_unit_weights_collapse_when_a_field_has_few_forms():
    counts = pd.DataFrame({"unit": ["A", "A"], "procedure_field": ["x", "y"], "transactions": [60, 40]})
    f = _forms()[:5].assign(procedure_field=["x", "x", "x", "x", "y"])
    res = unit_weights(f, counts, min_forms=2)
    assert set(res.weights["cell"]) == {"A"} and res.cells["reason"].iloc[0] == "field_with_few_forms"
    np.testing.assert_allclose(res.weights["w_final"], 20.0)


def test_unit_weights_refuse_more_forms_than_transactions():
    counts = pd.DataFrame({"unit": ["A", "B"], "procedure_field": ["x", "x"], "transactions": [3, 50]})
    with pytest.raises(InputError, match="5 valid forms but only 3"):
        unit_weights(_forms(), counts, source="t.csv")
    with pytest.raises(InputError, match="no transaction"):
        unit_weights(_forms(), counts[counts["unit"] == "A"].assign(transactions=100), source="t.csv")


def test_transaction_counts_window_edges():
    t = pd.DataFrame({"unit": ["A"] * 4, "procedure_field": ["x"] * 4,
                      "returned_on": ["2023-06-30", "2023-07-01", "2023-09-30", "2023-10-01"]})
    c = transaction_counts(t, window=("2023-07-01", "2023-09-30"))
    assert c["transactions"].tolist() == [2]

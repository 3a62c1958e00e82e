"""Tests of sipas.estimation.weighting: base weights, nonresponse adjustment, diagnostics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sipas.errors import DesignError
from sipas.estimation.weighting import design_weights, effective_n, kish_deff, nonresponse_adjust, weight_summary


def test_design_weights_inverse_probability():
    pi = pd.Series([0.5, 0.25, 1.0], index=["a", "b", "c"])
    w = design_weights(pi)
    assert list(w.index) == ["a", "b", "c"]
    np.testing.assert_allclose(w.to_numpy(), [2.0, 4.0, 1.0])


@pytest.mark.parametrize("bad", [np.nan, 0.0, -0.1, 1.5])
def test_design_weights_rejects_bad_probability_naming_row(bad):
    pi = pd.Series([0.5, bad, 0.2], index=[10, 11, 12])
    with pytest.raises(DesignError, match="row 11"):
        design_weights(pi)


def test_nonresponse_adjust_preserves_cell_totals():
    w = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    resp = pd.Series([True, False, True, True, True, False])
    cells = pd.Series(["a", "a", "a", "b", "b", "b"])
    out = nonresponse_adjust(w, responded=resp, cells=cells)
    # cell a: total 6, respondents 1+3=4 -> factor 1.5; cell b: total 15, resp 9 -> 15/9
    np.testing.assert_allclose(out.to_numpy(), [1.5, 0.0, 4.5, 4 * 15 / 9, 5 * 15 / 9, 0.0])
    np.testing.assert_allclose(out.groupby(cells).sum().to_numpy(), w.groupby(cells).sum().to_numpy())


def test_nonresponse_adjust_dataframe_cells():
    w = pd.Series([1.0, 1.0, 1.0, 1.0])
    resp = pd.Series([1, 0, 1, 1])
    cells = pd.DataFrame({"x": [1, 1, 2, 2], "y": ["u", "u", "v", "v"]})
    out = nonresponse_adjust(w, responded=resp, cells=cells)
    np.testing.assert_allclose(out.to_numpy(), [2.0, 0.0, 1.0, 1.0])


def test_nonresponse_adjust_cell_without_respondents():
    w = pd.Series([1.0, 1.0, 1.0])
    resp = pd.Series([True, False, False])
    cells = pd.Series(["a", "b", "b"])
    with pytest.raises(DesignError, match="no respondents"):
        nonresponse_adjust(w, responded=resp, cells=cells)


def test_weight_summary_kish():
    w = np.array([1.0, 2.0, 3.0, 4.0])
    s = weight_summary(w)
    assert s.n == 4 and s.total == 10.0 and s.min == 1.0 and s.max == 4.0 and s.mean == 2.5
    assert s.kish_deff == pytest.approx(4 * 30 / 100)
    assert s.n_eff == pytest.approx(100 / 30)
    assert s.kish_deff == pytest.approx(1 + s.cv**2)
    assert kish_deff(w) == s.kish_deff and effective_n(w) == s.n_eff
    frame = s.to_frame()
    assert list(frame.columns) == ["n", "total", "min", "max", "mean", "cv", "kish_deff", "n_eff"]

"""Tests of sipas.sampling.fieldwork: response rates, the 20% recheck sample, agreement/kappa, double entry."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from sipas.sampling import fieldwork as W
from sipas.errors import InputError


def test_response_rates_by_unit_with_total():
    log = pd.DataFrame({"commune": ["Xã A"] * 4 + ["Xã B"] * 2, "returned": [1, 1, 0, "có", "0", "true"]})
    r = W.response_rates(log, by="commune")
    assert r["commune"].tolist() == ["Xã A", "Xã B", "Total"]
    assert r["distributed"].tolist() == [4, 2, 6] and r["returned"].tolist() == [3, 1, 4]
    assert np.allclose(r["response_rate"], [0.75, 0.5, 4 / 6])
    with pytest.raises(InputError):
        W.response_rates(log, by="district")


def forms(n_per=(10, 7, 3)) -> pd.DataFrame:
    rows = [(f"{u}-{i:02d}", u) for u, n in zip("ABC", n_per) for i in range(n)]
    return pd.DataFrame(rows, columns=["form_id", "commune"])


def test_recheck_sample_is_20_percent_per_unit_and_seeded():
    f = forms()
    s = W.recheck_sample(f, fraction=0.2, strata="commune", seed=3)
    assert s.groupby("commune").size().to_dict() == {"A": 2, "B": 2, "C": 1}  # ceil(0.2 N_h)
    pd.testing.assert_frame_equal(s, W.recheck_sample(f.sample(frac=1, random_state=1), strata="commune", seed=3))
    assert not s.equals(W.recheck_sample(f, strata="commune", seed=4))
    assert np.allclose(s.loc[s["commune"] == "B", "recheck_prob"], 2 / 7)


def test_kappa_matches_published_example_and_sklearn():
    # Wikipedia, "Cohen's kappa", worked example: 50 applications, yes/yes 20, yes/no 5, no/yes 10, no/no 15
    # -> p_o = 0.7, p_e = 0.5, kappa = 0.4  (https://en.wikipedia.org/wiki/Cohen%27s_kappa)
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert W.cohen_kappa(a, b) == pytest.approx(0.4, abs=1e-12)
    # same article, second example: 45/15/25/15 -> kappa = 0.1304
    a2 = ["y"] * 60 + ["n"] * 40
    b2 = ["y"] * 45 + ["n"] * 15 + ["y"] * 25 + ["n"] * 15
    assert W.cohen_kappa(a2, b2) == pytest.approx(0.1304, abs=1e-4)
    rng = np.random.default_rng(0)
    x = rng.integers(1, 6, 200)
    y = np.where(rng.random(200) < 0.7, x, rng.integers(1, 6, 200))
    assert W.cohen_kappa(x, y) == pytest.approx(cohen_kappa_score(x, y), abs=1e-12)  # scikit-learn 1.9.1
    assert np.isnan(W.cohen_kappa([1, 1], [1, 1]))


def test_recheck_agreement_per_item_and_failing_forms():
    orig = pd.DataFrame({"form_id": ["f1", "f2", "f3", "f4"], "q1": [1, 2, 3, 4], "q2": [5, 5, None, 4]})
    rech = pd.DataFrame({"form_id": ["f4", "f3", "f1"], "q1": [4, 3, 2], "q2": [4.0, None, 5.0]})
    per_item, failing = W.recheck_agreement(orig, rech, items=["q1", "q2"])
    assert per_item["n"].tolist() == [3, 3] and per_item["n_agree"].tolist() == [2, 3]
    assert per_item["pct_agreement"].tolist() == [2 / 3, 1.0]
    assert failing["form_id"].tolist() == ["f1"] and failing["items_disagreeing"].tolist() == ["q1"]


def test_double_entry_discrepancies_cell_by_cell():
    first = pd.DataFrame({"form_id": ["a", "b", "c"], "q1": [1, 2, 3], "q2": ["x", "y", None]})
    second = pd.DataFrame({"form_id": ["a", "b", "d"], "q1": [1.0, 5, 3], "q2": ["x", "y ", None]})
    d = W.double_entry_discrepancies(first, second)
    assert d.to_dict("records") == [
        {"form_id": "b", "column": "q1", "first": "2", "second": "5"},
        {"form_id": "c", "column": "<form missing>", "first": "present", "second": ""},
        {"form_id": "d", "column": "<form missing>", "first": "", "second": "present"},
    ]
    assert W.double_entry_discrepancies(first, first).empty
    with pytest.raises(InputError) as ei:
        W.double_entry_discrepancies(pd.concat([first, first.iloc[[0]]]), second)
    assert ei.value.row == 5

"""Reliability stage on the demo survey: the generator's item structure is recovered.

The demo generator (sipas/synth.py) gives every item of criterion c the latent
``eta[h, c]`` plus item noise; criteria correlate through a person effect.  So each item
must load on its own criterion's factor, a correlated-factors CFA must fit, and each
multi-item criterion's alpha must be clearly positive but below 1.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from conftest import DEMO
from sipas.forms.instrument import load_instrument
from sipas.stages.reliability import FIT_THRESHOLDS, cfa_blocks, fit_rows, reliability_groups


def _read(demo_root: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(demo_root / "data" / "processed" / DEMO / f"{name}.csv", dtype={"criterion": str})


@pytest.fixture(scope="module")
def inst():
    return load_instrument("household", "2023.1")


@pytest.fixture(scope="module")
def demo_inst():
    return load_instrument("household", "2024.1")


def test_blocks_of_the_ministry_form(demo_inst) -> None:
    # policy criteria are asked of every household, the services part of procedure users only
    blocks = cfa_blocks(demo_inst, reliability_groups(demo_inst))
    assert list(blocks) == ["all", "used_admin"]
    assert list(blocks["all"]) == ["2A.1", "2A.2", "2A.3", "2A.4"]
    assert list(blocks["used_admin"]) == ["2B.1", "2B.2", "2B.3", "2B.4", "2B.5"]


def test_blocks_follow_the_routing(inst) -> None:
    blocks = cfa_blocks(inst, reliability_groups(inst))
    assert list(blocks) == ["all", "used_admin", "has_pupil+used_health"]
    assert list(blocks["all"]) == ["1.1", "1.3", "1.4", "1.8", "2.1"]
    assert list(blocks["used_admin"]) == ["1.7", "2.2", "2.3", "2.4", "2.5", "2.6"]
    assert list(blocks["has_pupil+used_health"]) == ["2.7", "2.8"]
    modelled = {c for b in blocks.values() for c in b}
    assert modelled == set(reliability_groups(inst))  # every multi-item criterion is in a model


def test_cfa_fit_is_acceptable(demo_root: Path) -> None:
    fit = _read(demo_root, "cfa_fit")
    assert list(fit.columns[-4:]) == ["index", "value", "threshold", "ok"]
    for model, g in fit.groupby("model"):
        v = dict(zip(g["index"], g["value"]))
        assert v["CFI"] >= 0.95 and v["RMSEA"] <= 0.06, (model, v)
        assert v["TLI"] >= 0.95 and v["SRMR"] <= 0.08, (model, v)
        assert v["RMSEA_ci_low"] <= v["RMSEA"] <= v["RMSEA_ci_high"]
        assert v["n"] >= 300
        assert g.loc[g["index"].isin(list(FIT_THRESHOLDS)), "ok"].astype(bool).all()


def test_every_item_loads_most_on_its_own_criterion(demo_root: Path) -> None:
    efa = _read(demo_root, "efa_loadings")
    efa["factor"] = efa["factor"].astype(str)
    efa["abs"] = efa["loading"].abs()
    best = efa.loc[efa.groupby(["model", "item"])["abs"].idxmax()]
    wrong = best[best["factor"] != best["criterion"]]
    assert wrong.empty, wrong
    assert best["own_factor"].all()
    assert (best["abs"] > 0.35).all()


def test_cfa_standardised_loadings_are_substantial(demo_root: Path) -> None:
    load = _read(demo_root, "cfa_loadings")
    assert set(load.columns) >= {"model", "criterion", "item", "std_estimate"}
    assert load["std_estimate"].between(0.5, 0.98).all(), load
    assert load["item"].is_unique


def test_alpha_of_each_criterion_in_a_plausible_range(demo_root: Path, demo_inst) -> None:
    crit = _read(demo_root, "reliability_criteria")
    groups = reliability_groups(demo_inst)
    assert sorted(crit["criterion"]) == sorted(groups)
    assert crit["alpha"].between(0.6, 0.95).all(), crit[["criterion", "alpha"]]
    assert (crit["ci_low"] < crit["alpha"]).all() and (crit["alpha"] < crit["ci_high"]).all()
    items = _read(demo_root, "reliability_items")
    assert (items["item_total_r"] >= 0.3).all()


def test_factorability_and_parallel_analysis(demo_root: Path) -> None:
    fact = _read(demo_root, "factorability")
    assert (fact["kmo"] > 0.7).all() and (fact["bartlett_p"] < 1e-6).all()
    pa = _read(demo_root, "parallel_analysis")
    for model, g in pa.groupby("model"):
        k = int(g["n_suggested"].iloc[0])
        assert 1 <= k <= len(g)
        assert int(g["retain"].sum()) == k


def test_fit_rows_thresholds() -> None:
    from types import SimpleNamespace

    res = SimpleNamespace(chi2=10.0, df=8, p_value=0.26, cfi=0.96, tli=0.94, rmsea=0.061, rmsea_ci_low=0.0,
                          rmsea_ci_high=0.1, srmr=0.05, n=500)
    t = fit_rows(res, model="m").set_index("index")
    assert t.loc["CFI", "ok"] and not t.loc["TLI", "ok"] and not t.loc["RMSEA", "ok"] and t.loc["SRMR", "ok"]
    assert t.loc["CFI", "threshold"] == ">= 0.95" and t.loc["RMSEA", "threshold"] == "<= 0.06"
    assert pd.isna(t.loc["chi2", "ok"])

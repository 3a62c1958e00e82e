"""Weighting stage on the demo survey: design weights, nonresponse cells, calibration margins
(default post-stratification and configured raking), calibrated replicates, determinism."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import DEMO

from sipas.config import find_survey
from sipas.estimation import survey_design as SD
from sipas.stages import weighting as W

SUMMARY_COLUMNS = ["n", "total", "min", "max", "mean", "cv", "kish_deff", "n_eff", "weights"]


def _proc(root: Path) -> Path:
    return root / "data" / "processed" / DEMO


def _configured(demo_root: Path, tmp_path: Path, **weighting) -> tuple[object, Path]:
    """A copy of the demo survey's config with extra ``weighting`` options, and a fresh root
    holding the cleaning stage's output (the shared demo root is not modified)."""
    cfg = find_survey(DEMO, root=demo_root)
    extra = dict(cfg.extra)
    extra["weighting"] = {**(extra.get("weighting") or {}), **weighting}
    root = tmp_path / "root"
    _proc(root).mkdir(parents=True)
    shutil.copy(_proc(demo_root) / "forms_clean.csv", _proc(root) / "forms_clean.csv")
    return dataclasses.replace(cfg, extra=extra), root


@pytest.fixture(scope="module")
def raked(demo_root: Path, tmp_path_factory: pytest.TempPathFactory):
    cfg, root = _configured(demo_root, tmp_path_factory.mktemp("rake"), rake=["district", "urban"])
    return cfg, root, W.run_weighting(cfg, root=root)


def _frame(demo_root: Path) -> pd.DataFrame:
    return pd.read_csv(find_survey(DEMO, root=demo_root).frames["communes"])


def test_default_is_poststratification_to_district_totals(demo_root: Path) -> None:
    margins = pd.read_csv(_proc(demo_root) / "weight_margins.csv")
    assert list(margins.columns[:5]) == ["margin", "level", "population", "before", "after"]
    assert set(margins["margin"]) == {"district"}
    pop = _frame(demo_root).groupby("district")["households"].sum()
    assert dict(zip(margins["level"], margins["population"])) == {k: float(v) for k, v in pop.items()}
    np.testing.assert_allclose(margins["after"], margins["population"], rtol=1e-9)
    w = pd.read_csv(_proc(demo_root) / "weights.csv")
    np.testing.assert_allclose(w.groupby("district")["w_final"].sum().loc[pop.index], pop, rtol=1e-9)
    np.testing.assert_allclose(w.groupby("district")["w_nr"].sum().loc[margins["level"]], margins["before"],
                               rtol=1e-12)


def test_raking_margins_equal_population_totals(demo_root: Path, raked) -> None:
    _, root, res = raked
    assert res.info["calibration"] == "rake" and res.info["margins"] == ["district", "urban"]
    m = pd.read_csv(_proc(root) / "weight_margins.csv")
    assert list(m["margin"].unique()) == ["district", "urban"]
    np.testing.assert_allclose(m["after"], m["population"], rtol=1e-9)
    com = _frame(demo_root)
    urban = com["commune_type"].isin(["Phường", "Thị trấn"])
    pop_u = {"urban": float(com.loc[urban, "households"].sum()), "rural": float(com.loc[~urban, "households"].sum())}
    got = m[m["margin"] == "urban"].set_index("level")["population"].to_dict()
    assert got == pop_u
    # the rows' urban class comes from the frame's commune type
    w = pd.read_csv(_proc(root) / "weights.csv")
    tot = pd.read_csv(_proc(root) / "poststrata_totals.csv")
    d = SD._with_margin_columns(w, tot)
    is_urban = d.merge(com, on=["district", "commune"], how="left")["commune_type"].isin(["Phường", "Thị trấn"])
    assert ((d["urban"] == "urban").to_numpy() == is_urban.to_numpy()).all()
    for margin, g in d.groupby("urban"):
        assert g["w_final"].sum() == pytest.approx(pop_u[margin], rel=1e-9)


def test_raking_is_not_the_default_output(demo_root: Path, raked) -> None:
    _, root, _ = raked
    a = pd.read_csv(_proc(demo_root) / "weights.csv")
    b = pd.read_csv(_proc(root) / "weights.csv")
    assert (a["w_nr"] == b["w_nr"]).all()
    assert not np.allclose(a["w_final"], b["w_final"])


def test_design_weights_are_inverse_inclusion_probabilities(demo_root: Path) -> None:
    w = pd.read_csv(_proc(demo_root) / "weights.csv")
    np.testing.assert_allclose(w["w_design"], 1.0 / w["pi"], rtol=1e-12)


def test_nonresponse_adjustment_keeps_cell_totals(demo_root: Path) -> None:
    cfg = find_survey(DEMO, root=demo_root)
    sample = pd.read_csv(cfg.raw_path(cfg.extra["sampling"]["sample_file"]), dtype={"household_id": str})
    sample = sample.drop_duplicates("household_id")
    w = pd.read_csv(_proc(demo_root) / "weights.csv")
    cells = cfg.extra["weighting"]["nonresponse_cells"]
    sampled = (1.0 / sample["pi"]).groupby([sample[c] for c in cells]).sum()
    kept = w.groupby(cells)["w_nr"].sum()
    np.testing.assert_allclose(kept.loc[sampled.index], sampled, rtol=1e-9)


def _same_as_dense(rep, w: pd.DataFrame, tot: pd.DataFrame):
    """The per-cell replicate weights equal the n x R matrix of the reference path; returns that matrix."""
    ref = SD.replicate_weights_dense(w, totals=tot)
    dense = rep.dense()
    np.testing.assert_allclose(dense.weights, ref.weights, rtol=1e-12, atol=0)
    np.testing.assert_allclose(dense.replicates, ref.replicates, rtol=0, atol=1e-12 * ref.replicates.max())
    np.testing.assert_array_equal(dense.rscales, ref.rscales)
    assert (dense.scale, dense.df, dense.mse) == (ref.scale, ref.df, ref.mse)
    return dense


def _replicate_margin_check(w: pd.DataFrame, tot: pd.DataFrame, margins: list[str]) -> None:
    rep = _same_as_dense(SD.replicate_weights(w, totals=tot), w, tot)
    np.testing.assert_allclose(rep.weights, w["w_final"], rtol=1e-9)
    d = SD._with_margin_columns(w, tot)
    pops = SD.calibration_margins(tot)
    assert list(pops) == margins
    assert rep.replicates.shape == (len(w), d["commune"].nunique())
    for m, pop in pops.items():
        sums = pd.DataFrame(rep.replicates).groupby(d[m].to_numpy()).sum()
        target = pd.Series(pop).loc[sums.index]
        np.testing.assert_allclose(sums.to_numpy(), np.repeat(target.to_numpy()[:, None], sums.shape[1], 1),
                                   rtol=1e-9)


def test_replicates_are_poststratified_by_default(demo_root: Path) -> None:
    w = pd.read_csv(_proc(demo_root) / "weights.csv")
    tot = pd.read_csv(_proc(demo_root) / "poststrata_totals.csv")
    _replicate_margin_check(w, tot, ["district"])


def test_replicates_are_raked_when_configured(raked) -> None:
    _, root, _ = raked
    w = pd.read_csv(_proc(root) / "weights.csv")
    tot = pd.read_csv(_proc(root) / "poststrata_totals.csv")
    _replicate_margin_check(w, tot, ["district", "urban"])


def test_weight_summary_contract_and_kish(demo_root: Path) -> None:
    s = pd.read_csv(_proc(demo_root) / "weight_summary.csv")
    assert list(s.columns) == SUMMARY_COLUMNS
    assert list(s["weights"]) == ["design", "nonresponse", "final"]
    np.testing.assert_allclose(s["kish_deff"], 1.0 + s["cv"] ** 2, rtol=1e-9)
    np.testing.assert_allclose(s["n_eff"], s["n"] / s["kish_deff"], rtol=1e-9)
    diag = pd.read_csv(_proc(demo_root) / "weight_diagnostics.csv")
    assert diag["n"].sum() == s["n"].iloc[0]
    assert diag["total"].sum() == pytest.approx(s.loc[s["weights"] == "final", "total"].iloc[0], rel=1e-12)


def test_trimming_caps_weights_and_replicates(demo_root: Path, tmp_path: Path) -> None:
    cfg, root = _configured(demo_root, tmp_path, rake=["district", "urban"], trim={"upper": 300})
    res = W.run_weighting(cfg, root=root)
    w = res.tables["weights"]
    before = pd.read_csv(_proc(demo_root) / "weights.csv")
    assert w["w_final"].max() <= 300 + 1e-9
    assert w["w_final"].sum() == pytest.approx(res.tables["weight_margins"]
                                               .query("margin == 'district'")["population"].sum(), rel=1e-9)
    assert (before["w_final"] > 300).any()  # the bound binds on the demo
    cells = SD.replicate_weights(w, totals=res.tables["poststrata_totals"])
    assert cells.factors.shape[0] > w["commune"].nunique()  # cells split by the weight value when trimming
    rep = _same_as_dense(cells, w, res.tables["poststrata_totals"])
    np.testing.assert_allclose(rep.weights, w["w_final"], rtol=1e-9)
    assert rep.replicates.max() <= 300 + 1e-9
    assert ((rep.replicates == 0).sum(axis=0) > 0).all()  # dropped PSUs stay at zero


def test_rake_config_errors(demo_root: Path, tmp_path: Path) -> None:
    from sipas.errors import ConfigError, StageInputMissing

    cfg, root = _configured(demo_root, tmp_path, rake=["district", "nonexistent"])
    with pytest.raises(StageInputMissing, match="nonexistent"):
        W.run_weighting(cfg, root=root)
    cfg, root = _configured(demo_root, tmp_path / "b", rake={"x": 1})
    with pytest.raises(ConfigError):
        W.run_weighting(cfg, root=root)
    cfg, root = _configured(demo_root, tmp_path / "c", trim={"upper": 1, "lower": 5})
    with pytest.raises(ConfigError):
        W.run_weighting(cfg, root=root)


def test_raked_outputs_are_deterministic(raked, tmp_path: Path) -> None:
    cfg, root, _ = raked
    first = {p.name: p.read_bytes() for p in sorted(_proc(root).glob("*")) if p.is_file()}
    W.run_weighting(cfg, root=root)
    second = {p.name: p.read_bytes() for p in sorted(_proc(root).glob("*")) if p.is_file()}
    assert first == second
    assert {"weights.csv", "weight_summary.csv", "weight_margins.csv", "weight_diagnostics.csv",
            "poststrata_totals.csv", "manifest_weighting.json"} <= set(first)

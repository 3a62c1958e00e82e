"""``sipas plan`` for a national survey (seed 003): provinces are the strata and report units, communes the PSUs.

A small national frame is built from the committed demo (``data/raw/demo-national-2025``) restricted to three
provinces; its stages clean and weight run on it (no distribution and return log: no ``response_rates.csv``), then
the plan.  Checks: the plan's per-province sizes are :func:`sipas.planning.sample_size.plan_sizes` called
directly with the province components; the designs are the kind's (no seed rule); without the sample list the
response rate is the stated 1 (never invented); plan.html renders in Vietnamese with a row per province.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REPO

SID = "demo-national-2025"
PROVINCES = ("Cao Bằng", "Hà Tĩnh", "Lai Châu")
REPS = 2


def _restrict(src: Path, dst: Path) -> None:
    """Copy the demo's raw survey-year keeping only :data:`PROVINCES` (frames, sample list, forms)."""
    shutil.copytree(src, dst)
    kept = []
    for p in [*(dst / "frames").glob("*.csv"), *sorted((dst / "responses").glob("*.csv")),
              dst / "sample" / "households_selected.csv"]:
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
        df = df[df["province"].isin(PROVINCES)]
        if p.parent.name == "responses" and df.empty:
            p.unlink()
            continue
        df.to_csv(p, index=False)
        kept += [f"responses/{p.name}"] if p.parent.name == "responses" else []
    cfg = yaml.safe_load((dst / "survey.yml").read_text(encoding="utf-8"))
    cfg["responses"] = kept
    for k in ("previous_survey", "other_indices", "truth"):
        cfg.pop(k, None)
    (dst / "survey.yml").write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.fixture(scope="module")
def nat_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project root holding the three-province national survey after the cleaning and weighting stages."""
    from sipas import pipeline
    from sipas.config import find_survey

    root = tmp_path_factory.mktemp("plan-national") / "root"
    _restrict(REPO / "data" / "raw" / SID, root / "data" / "raw" / SID)
    (root / "pyproject.toml").write_text("# marker for sipas.config.project_root\n")
    shutil.copytree(REPO / "notebooks", root / "notebooks")
    cfg = find_survey(SID, root=root)
    for stage in ("cleaning", "weighting"):
        pipeline.RUNNERS[stage](cfg, root=root)
    assert not (cfg.processed_dir(root) / "response_rates.csv").exists()   # no return log in a national year
    return root


@pytest.fixture(scope="module")
def plan(nat_root: Path):
    from sipas.config import find_survey
    from sipas.planning import PlanSettings
    from sipas.planning.plan import compute_plan

    cfg = find_survey(SID, root=nat_root)
    return cfg, compute_plan(cfg, root=nat_root, settings=PlanSettings(half_width=3.0, reps=REPS))


def test_national_plan_uses_provinces_and_the_kinds_designs(plan):
    cfg, res = plan
    assert cfg.design.strata == cfg.design.report_unit == "province"
    assert res.settings.design == "pps"
    assert tuple(res.sizes["design"].drop_duplicates()) == cfg.kind.planning.designs == ("pps", "stratified_srs")
    assert "seed_rule" not in cfg.kind.planning.designs                      # seed 003 has no commune rule
    for d in ("pps", "stratified_srs"):
        assert sorted(res.sizes.loc[res.sizes["design"] == d, "unit"]) == sorted(PROVINCES)
    comps = list(res.components["component"].drop_duplicates())
    assert comps[:3] == ["province", "commune", "village"] and "district" not in comps
    units = set(res.simulation["unit"])
    assert units == {*PROVINCES, "country"}                                   # the whole area is the country
    assert res.notes["current_design"] == "pps" and res.notes["total_unit"] == "country"
    keys = set(res.summary["key"])
    assert "kish_deff_pps_simulated" in keys and not any("seed_rule" in k for k in keys)
    # the annex lists each province's communes under a province column
    assert res.annex.columns[1] == "Tỉnh, thành phố"
    body = res.annex.iloc[:-1]
    n = res.sizes[res.sizes["design"] == "pps"].set_index("unit")["communes"]
    assert body.groupby(res.annex.columns[1]).size().to_dict() == {u: int(n[u]) for u in PROVINCES}


def test_province_sizes_equal_plan_sizes_called_directly(plan):
    from sipas.planning.cost import CostModel
    from sipas.planning.sample_size import StageComponents, plan_sizes
    from sipas.planning.plan import _frames

    cfg, res = plan
    ov = res.components[res.components["variable"] == "overall"].set_index("component")["sigma2"].clip(lower=0)
    sc = StageComponents(*(float(ov[c]) * 1e4 for c in ("commune", "village", "within")))
    communes, _ = _frames(cfg)
    units = communes.groupby("province").size().rename("communes").reset_index().rename(columns={"province": "unit"})
    direct = plan_sizes(sc, target=3.0, units=units, costs=CostModel.from_config(cfg.extra.get("planning")),
                        deff_w={}, design="pps")
    got = res.sizes[res.sizes["design"] == "pps"].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, direct)
    assert got["reachable"].all() and (got["half_width"] <= 3.0).all()


def test_response_rate_from_the_sample_list_when_response_rates_is_absent(plan):
    cfg, res = plan
    rr = float(res.summary.set_index("key")["value"]["response_rate"])
    assert res.notes["response_source"] == "sample_list"
    w = pd.read_csv(cfg.processed_dir(Path(cfg.path).parents[3]) / "weights.csv")
    s = pd.read_csv(cfg.raw_path(cfg.extra["sampling"]["sample_file"]))
    s = s[~s["role"].astype(str).str.startswith("reserve")]
    assert rr == pytest.approx(min(len(w) / len(s), 1.0), rel=1e-12)


def test_without_sample_list_the_rate_is_a_stated_one(nat_root: Path):
    from sipas.config import find_survey
    from sipas.planning.plan import _sample_list, response_by_commune, response_source

    cfg = find_survey(SID, root=nat_root)
    cfg.extra["sampling"] = {k: v for k, v in cfg.extra["sampling"].items() if k != "sample_file"}
    assert _sample_list(cfg, columns=("province", "commune")) is None
    src = response_source(cfg, root=nat_root, weights=pd.DataFrame(), sample_list=None, seed_rule=False)
    assert src.source == "none" and src.file == ""
    communes = pd.DataFrame({"province": list(PROVINCES), "commune": ["a", "b", "c"]})
    rr, by_c = response_by_commune(pd.DataFrame(), None, communes=communes, fallback=src.rates,
                                   strata="province", psu="commune")
    assert rr == 1.0 and set(by_c.values()) == {1.0}


def test_report_unit_other_than_strata_is_refused(nat_root: Path):
    import dataclasses

    from sipas.config import find_survey
    from sipas.errors import ConfigError
    from sipas.planning.plan import design_columns

    cfg = find_survey(SID, root=nat_root)
    bad = dataclasses.replace(cfg, design=dataclasses.replace(cfg.design, report_unit="commune"))
    with pytest.raises(ConfigError, match="report_unit"):
        design_columns(bad)


@pytest.mark.slow
def test_national_plan_html_renders_in_vietnamese(nat_root: Path):
    from sipas.cli import main

    assert main(["--root", str(nat_root), "plan", "--survey", SID, "--target", "3", "--reps", str(REPS)]) == 0
    html = (nat_root / "reports" / SID / "plan.html").read_text(encoding="utf-8")
    for h in ("Kế hoạch chọn mẫu năm sau", "Bảng 3.1. Cỡ mẫu theo thiết kế và tỉnh, thành phố",
              "Toàn quốc", "danh sách mẫu năm nay", "không có «Quy tắc Kế hoạch»", "Tỉnh, thành phố"):
        assert h in html, h
    for p in PROVINCES:
        assert p in html
    for bad in ("Traceback", "NaN", "KeyError"):
        assert bad not in html
    assert (nat_root / "reports" / SID / "plan_phu_luc_04.xlsx").is_file()

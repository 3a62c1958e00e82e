"""Issue 18, done-when: on the demo, the simulation reproduces the Kish design effect the weighting stage
measured.

What is compared: Kish's ``n sum w^2 / (sum w)^2`` of the *final* weights (``w_final``: design weight ``1/pi``,
nonresponse adjustment within communes, post-stratification to the districts' households) of the 2,351 valid
forms of demo-laichau-2024, ``weight_summary.csv`` row ``weights == "final"`` (4.941).

1. Deterministic: the simulation's weighting chain (:func:`sipas.planning.simulation.weight_sample`), fed the
   demo's actual respondents, gives ``weights.csv`` exactly, hence the same Kish effect.
2. Stochastic: the seed rule's replicates (same official households, each with its own ``pi``; Bernoulli
   response with each commune's observed rate) give a distribution of Kish effects; the measured value is one
   draw of it.  The yardstick is therefore the prediction SE ``sd * sqrt(1 + 1/R)`` (the replicates' SD and
   the Monte Carlo SE of their mean), not the Monte Carlo SE alone, which shrinks to 0 as ``R`` grows while
   the measured value keeps its own nonresponse variability.

The fixture runs only the stages the plan's weighting needs (clean, weight) in a copy of the demo's raw data.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import DEMO, REPO


@pytest.fixture(scope="module")
def weighted_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sipas.cli import main

    root = tmp_path_factory.mktemp("plan-deff") / "root"
    shutil.copytree(REPO / "data" / "raw" / DEMO, root / "data" / "raw" / DEMO)
    (root / "pyproject.toml").write_text("# marker for sipas.config.project_root\n")
    for stage in ("clean", "weight"):
        assert main(["--root", str(root), stage, "--survey", DEMO]) == 0
    return root


def _inputs(root: Path):
    from sipas import io as sio
    from sipas.config import find_survey
    from sipas.forms.pii import pseudonyms
    from sipas.stages._common import salt

    cfg = find_survey(DEMO, root=root)
    out = cfg.processed_dir(root)
    sample = sio.read_csv(cfg.raw_path(cfg.extra["sampling"]["sample_file"], key="sampling.sample_file"))
    sample = sample[~sample["role"].astype(str).str.startswith("reserve")].reset_index(drop=True)
    sample["respondent_key"] = pseudonyms(sample["household_id"], salt=salt(cfg, root=root))
    return cfg, sample, sio.read_csv(out / "weights.csv"), sio.read_csv(out / "weight_summary.csv"), \
        sio.read_csv(out / "poststrata_totals.csv")


def test_weight_sample_reproduces_the_weighting_stage_exactly(weighted_root: Path):
    from sipas.estimation.weighting import kish_deff
    from sipas.planning.simulation import weight_sample

    _, sample, weights, wsum, totals = _inputs(weighted_root)
    assert pd.read_csv(weighted_root / "data" / "processed" / DEMO / "substitutions.csv").empty
    responded = sample["respondent_key"].isin(set(weights["respondent_key"])).to_numpy()
    r = weight_sample(sample, responded=responded, totals=totals, strata="district", psu="commune")
    m = r.merge(weights, on="respondent_key", suffixes=("", "_stage"), validate="one_to_one")
    assert len(m) == len(weights) == 2351
    for col in ("w_design", "w_nr", "w_final"):
        np.testing.assert_allclose(m[col], m[f"{col}_stage"], rtol=1e-12, err_msg=col)
    measured = float(wsum.loc[wsum["weights"] == "final", "kish_deff"].iloc[0])
    assert kish_deff(r["w_final"]) == pytest.approx(measured, rel=1e-12)
    assert measured == pytest.approx(4.941030282473574, rel=1e-9)


@pytest.mark.slow
def test_simulated_seed_rule_deff_matches_the_measured_one(weighted_root: Path):
    """200 replicates of the seed rule (the y values do not enter the Kish effect; a flat population)."""
    from sipas.planning import CostModel, PopulationModel, synthetic_population
    from sipas.planning.plan import _frames, _seed_sample, response_by_commune
    from sipas.planning.simulation import simulate_household

    cfg, _, weights, wsum, totals = _inputs(weighted_root)
    communes, villages = _frames(cfg)
    pop = synthetic_population(communes, villages, seed=1, strata="district", psu="commune", model=PopulationModel(
        mean=0.8, stratum=0.0, commune=0.0, village=0.0, household=0.01))
    seed_sample = _seed_sample(cfg)
    rr, by_commune = response_by_commune(weights, seed_sample, communes=communes,
                                         fallback=pd.DataFrame(columns=["valid", "distributed"]),
                                         strata="district", psu="commune")
    assert rr == pytest.approx(2351 / 2520, rel=1e-12)
    R = 200
    reps, summ = simulate_household(pop, communes, villages, reps=R, seed=2, strata="district", psu="commune",
                                    total="province", also_last=tuple(
        cfg.extra["sampling"]["also_last_districts"]), response_rate=rr, response_by_commune=by_commune,
        totals=totals, costs=CostModel.from_config(None), designs=("seed_rule",), seed_sample=seed_sample)
    k = reps.drop_duplicates("rep")["kish_deff"].to_numpy()
    measured = float(wsum.loc[wsum["weights"] == "final", "kish_deff"].iloc[0])
    sd = float(np.std(k, ddof=1))
    mc_se = sd / math.sqrt(R)
    assert abs(measured - k.mean()) <= 3 * sd * math.sqrt(1 + 1 / R), (measured, k.mean(), sd, mc_se)
    # the measured value lies inside the bulk of the simulated distribution
    assert 0.05 < float(np.mean(k <= measured)) < 0.95
    # the Kish effect of the respondents' design weights: simulated vs the stage's "design" row (reported)
    row = summ[summ["unit"] == "province"].iloc[0]
    assert row["kish_deff_mc_se"] == pytest.approx(mc_se, rel=1e-12)


def test_plan_files_are_byte_identical_on_rerun(weighted_root: Path):
    """``run_plan`` (what ``sipas plan`` writes before the notebook renders) twice with the same seed: every file
    (``plan_*.csv``, ``plan_phu_luc_04.{csv,xlsx}``) has the same bytes."""
    import hashlib

    from sipas.config import find_survey
    from sipas.planning import PLAN_FILES, PlanSettings, run_plan

    cfg = find_survey(DEMO, root=weighted_root)
    settings = PlanSettings(half_width=3.0, gap=3.0, reps=3, seed=0)
    digests = []
    for _ in range(2):
        res = run_plan(cfg, root=weighted_root, settings=settings)
        paths = sorted(res.notes["written"])
        digests.append({p: hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths})
    assert digests[0] == digests[1]
    names = {Path(p).name for p in digests[0]}
    assert {f"{n}.csv" for n in PLAN_FILES} | {"plan_phu_luc_04.csv", "plan_phu_luc_04.xlsx"} <= names

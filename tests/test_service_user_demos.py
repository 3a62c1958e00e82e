"""The two service-user demos end to end, and the coverage of unit-level CIs on the Huế-like population.

* ``demo-thuannam-2023`` (seed 002, exit mode) and ``demo-hue-2019`` (seed 001, lists from transaction
  records) are written by ``sipas synth`` into a temporary root and run through ``sipas sample``, stages 1-4.
* Monte Carlo: the Huế population of transactions (every applicant's answers, from the generator) is sampled
  again and again by :func:`sipas.sampling.select_transactions` with the survey's allocation, weighted by
  :func:`sipas.estimation.unit_weights.unit_weights` and estimated with the pipeline's replicate design
  (:func:`sipas.estimation.survey_design.poststratified_jkn`) and index rule; the share of unit-level 95%
  CIs covering the population's index must be 92-98%.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sipas import io as sio
from sipas.cli import main


@pytest.fixture(scope="module")
def service_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("service")
    (root / "data" / "raw").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname='x'\n")
    for sid in ("demo-thuannam-2023", "demo-hue-2019"):
        assert main(["--root", str(root), "synth", "--survey", sid]) == 0
        for cmd in ("sample", "clean", "reliability", "weight", "indices"):
            assert main(["--root", str(root), cmd, "--survey", sid]) == 0, (sid, cmd)
    return root


def test_thuannam_allocation_is_seed_002s_table(service_root):
    a = sio.read_csv(service_root / "data/processed/demo-thuannam-2023/sample/allocation.csv")
    assert int(a["forms"].sum()) == 470 and len(a) == 9
    assert a.set_index("unit").loc["Bộ phận Một cửa huyện", "forms"] == 70
    assert set(a.loc[a["level"] == "commune", "forms"]) == {50}


@pytest.mark.parametrize("sid", ["demo-thuannam-2023", "demo-hue-2019"])
def test_weights_add_up_to_the_window_transactions(service_root, sid):
    proc = service_root / "data/processed" / sid
    w = sio.read_csv(proc / "weights.csv")
    cells = sio.read_csv(proc / "weight_cells.csv").set_index("unit")
    np.testing.assert_allclose(w.groupby("unit")["w_final"].sum().sort_index(),
                               cells["transactions"].sort_index().astype(float), rtol=1e-12)
    # the transactions outside the window (the export holds three weeks either side) are not counted
    raw = pd.read_csv(service_root / "data/raw" / sid / "frames/transactions.csv")
    assert cells["transactions"].sum() < len(raw)


@pytest.mark.parametrize("sid", ["demo-thuannam-2023", "demo-hue-2019"])
def test_unit_indices_cover_the_truth_and_have_unit_df(service_root, sid):
    proc = service_root / "data/processed" / sid
    idx = sio.read_csv(proc / "indices.csv")
    units = idx[(idx["level"] == "overall") & (idx["domain_type"] == "unit")]
    truth = pd.read_csv(service_root / "data/raw" / sid / "truth/true_values.csv", keep_default_na=False)
    t = truth[(truth["level"] == "overall") & (truth["unit"] != "")].set_index("unit")["value"]
    m = units.set_index("domain").join(t.rename("truth"))
    assert m["truth"].notna().all()
    covered = ((m["ci_low"] <= m["truth"]) & (m["truth"] <= m["ci_high"])).mean()
    assert covered >= 0.75          # 9-10 units, each 95%: a single demo is allowed a miss or two
    assert (m["df"] == m["n"] - 1).all()   # a unit's df = its forms - 1 (strata = units, PSU = the form)


def test_no_personal_data_reaches_processed(service_root):
    forms = pd.read_csv(service_root / "data/raw/demo-hue-2019/responses/forms.csv", dtype=str)
    names = set(forms["respondent_name"]) | set(forms["phone"])
    for sid in ("demo-thuannam-2023", "demo-hue-2019"):
        for p in (service_root / "data/processed" / sid).rglob("*.csv"):
            text = p.read_text(encoding="utf-8")
            assert not re.search(r"\b0\d{9}\b", text), p
            if sid == "demo-hue-2019":
                assert not any(n in text for n in list(names)[:200]), p
    sel = sio.read_csv(service_root / "data/processed/demo-hue-2019/sample/sample_transactions.csv")
    assert "applicant_id" not in sel.columns
    assert (service_root / "restricted/demo-hue-2019/danh_sach_nguoi_cung_cap_thong_tin.xlsx").is_file()


def test_reward_table_verdicts_follow_holm(service_root):
    c = sio.read_csv(service_root / "data/processed/demo-hue-2019/unit_comparison.csv")
    sig = c["p_adjusted"] < 0.05
    assert (c.loc[sig & (c["difference"] > 0), "verdict"] == "above").all()
    assert (c.loc[sig & (c["difference"] < 0), "verdict"] == "below").all()
    assert (c.loc[~sig, "verdict"] == "not_different").all()
    assert (c["p_adjusted"] >= c["p_value"]).all()


def test_indices_stage_never_builds_the_replicate_table(service_root, monkeypatch):
    """One PSU per form: the indices stage takes the closed form of the post-stratified JKn design
    (``poststratified_jkn``), never a PSU x replicate table (``Design.replicate``, ``replicate_weights``:
    n x n), and writes the same files again."""
    from sipas.estimation.design import Design
    from sipas.stages import indices as stage

    def refuse(*args, **kwargs):
        raise AssertionError("the indices stage built a PSU x replicate table")

    monkeypatch.setattr(Design, "replicate", refuse)
    monkeypatch.setattr(stage, "replicate_weights", refuse)
    proc = service_root / "data/processed/demo-thuannam-2023"
    before = {p.name: p.read_bytes() for p in proc.glob("*.csv")}
    assert main(["--root", str(service_root), "indices", "--survey", "demo-thuannam-2023"]) == 0
    assert {p.name: p.read_bytes() for p in proc.glob("*.csv")} == before


@pytest.mark.slow
def test_monte_carlo_unit_ci_coverage_on_hue_population():
    from sipas import indices
    from sipas.estimation.survey_design import poststratified_jkn
    from sipas.estimation.unit_weights import unit_weights
    from sipas.forms.instrument import load_instrument
    from sipas.forms.instrument.rules import resolve_rule
    from sipas.sampling import allocate_forms, select_transactions
    from sipas.synth_service import HUE, SERVICE_INSTRUMENT, _answers, transaction_population, true_unit_values

    inst = load_instrument(*SERVICE_INSTRUMENT)
    rule = resolve_rule(inst.raw)
    pop = transaction_population(HUE, rng=np.random.default_rng(HUE.seed))
    answers = _answers(pop["eta"].to_numpy(), inst, rng=np.random.default_rng(HUE.seed + 1))
    inside = pop[pop["in_window"]]
    truth = true_unit_values(inside, answers.loc[inside.index].reset_index(drop=True), inst)
    truth = truth[(truth["level"] == "overall") & (truth["unit"] != "")].set_index("unit")["value"]
    counts = inside.groupby(["unit", "procedure_field"]).size().rename("transactions").reset_index()
    n_u = inside.groupby("unit").size().rename("transactions").reset_index()
    alloc = allocate_forms(n_u, unit="unit", size="transactions", **HUE.allocation)
    names = dict(zip(pop["unit"], pop["unit"]))
    tx = pop[["transaction_id", "unit", "procedure_field", "returned_on", "applicant_id"]].assign(
        returned_on=pd.to_datetime(pop["returned_on"]))
    hits, total = 0, 0
    for r in range(200):
        sel = select_transactions(tx, allocation=alloc[["unit", "forms"]], window=HUE.window, seed=1000 + r)
        off = sel[sel["list"] == "official"]
        rows = pop.set_index("transaction_id").loc[off["transaction_id"]]
        df = answers.loc[pop.index[pop["transaction_id"].isin(off["transaction_id"])]]
        df = df.set_axis(pop.loc[df.index, "transaction_id"].to_numpy()).loc[off["transaction_id"]].reset_index(drop=True)
        forms = pd.DataFrame({"form_id": off["transaction_id"].to_numpy(),
                              "respondent_key": off["transaction_id"].to_numpy(),
                              "unit": rows["unit"].map(names).to_numpy(),
                              "procedure_field": rows["procedure_field"].to_numpy()})
        uw = unit_weights(forms, counts)
        data = pd.concat([uw.weights.reset_index(drop=True), df], axis=1)
        rep = poststratified_jkn(data, totals=uw.totals, strata="unit", psu="respondent_key")
        ind = indices.positive_indicators(data, instrument=inst)
        est = indices.estimate_index_rules(ind, instrument=inst, rules=[rule], rep=rep, by=data["unit"],
                                           by_type="unit", total_label="all", psu=data["respondent_key"],
                                           strata=data["unit"])
        u = est[(est["level"] == "overall") & (est["domain_type"] == "unit")].set_index("domain")
        t = truth.loc[u.index]
        hits += int(((u["ci_low"] <= t) & (t <= u["ci_high"])).sum())
        total += len(u)
    coverage = hits / total
    print(f"unit-level 95% CI coverage on the Huế population: {coverage:.4f} ({hits} of {total} intervals)")
    assert 0.92 <= coverage <= 0.98, coverage


def test_neyman_allocation_from_last_years_unit_indices(service_root):
    """``method: neyman`` without sd/proportion takes S_h = sqrt(p_h (1 - p_h)) from the previous year's
    unit indices: forms proportional to N_h S_h (sum exact, largest remainder)."""
    import shutil

    import yaml

    src = service_root / "data/raw/demo-hue-2019"
    dst = service_root / "data/raw/demo-hue-2020"
    shutil.copytree(src, dst, dirs_exist_ok=True)
    cfg = yaml.safe_load((dst / "survey.yml").read_text(encoding="utf-8"))
    cfg.update(survey_id="demo-hue-2020", previous_survey="demo-hue-2019")
    cfg["sampling"]["allocation"] = {"method": "neyman", "total": 600}
    (dst / "survey.yml").write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert main(["--root", str(service_root), "sample", "--survey", "demo-hue-2020"]) == 0
    a = sio.read_csv(service_root / "data/processed/demo-hue-2020/sample/allocation.csv").set_index("unit")
    idx = sio.read_csv(service_root / "data/processed/demo-hue-2019/indices.csv")
    p = idx[(idx["level"] == "overall") & (idx["domain_type"] == "unit")].set_index("domain")["estimate"]
    ns = a["transactions"] * np.sqrt(p * (1 - p)).reindex(a.index)
    assert int(a["forms"].sum()) == 600
    np.testing.assert_allclose(a["forms"], 600 * ns / ns.sum(), atol=1.0)

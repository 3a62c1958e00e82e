"""``sipas plan`` for a service-user survey (issue 18): forms per one-stop unit, allocations, simulation, plan.html.

References: ``tests/results/r/planning_service_user.R`` (base R and R survey; the R command is printed beside
every number on failure) and PracTools' published ``strAlloc`` output (``tests/results/results_practools.py``).
The demo tests run the cleaning and weighting stages of ``demo-thuannam-2023`` in a temporary root and then
``sipas plan --reps 3`` (about 20 s on the shared two-core machine).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import chromium_dom, raw_copy_root, visible_text
from results import results_practools as P
from results.r_refs import load
from sipas import planning
from sipas.errors import DesignError
from sipas.planning.formulas import n_cont
from sipas.planning.sample_size import forms_needed, se_for_ranking, unit_half_width
from sipas.planning.service_plan import AREA, allocation_sizes
from sipas.planning.simulation import estimate_unit_mean, simulate_unit_allocations
from sipas.planning.variance_components import nested_components
from sipas.sampling.allocation import _largest_remainder, neyman_allocation

R = load("planning_service_user")
SID = "demo-thuannam-2023"
#: Replicates of the demo's plan run (its tables' shape and determinism do not depend on it).
REPS = 3

# --------------------------------------------------------------------------- forms per unit = PracTools nCont

FORMS_CASES = {  # reference -> forms_needed(...) arguments, as the R command beside it
    "FORMS_DISTRICT": dict(s2=19.3 ** 2, N=1900, target=5, deff_w=1.04),
    "FORMS_COMMUNE": dict(s2=15 ** 2, N=300, target=5),
    "FORMS_SMALL": dict(s2=20 ** 2, N=40, target=3, deff_w=1.2),
    "FORMS_TIGHT": dict(s2=18 ** 2, N=5200, target=2, deff_w=1.06),
    "FORMS_RANKING": dict(s2=15 ** 2, N=720, target=5, deff_w=1.05, max_se=se_for_ranking(3.0, power=0.8)),
}


@pytest.mark.parametrize("name", sorted(FORMS_CASES))
def test_forms_needed_equals_r(name: str):
    ref, args = R[name], FORMS_CASES[name]
    got = forms_needed(**args)
    assert got.forms == int(ref["forms"]), str(ref)
    assert got.n_cont == pytest.approx(ref["n_cont"], rel=1e-10), str(ref)
    assert got.v0 == pytest.approx(ref["v0"], rel=1e-10), str(ref)
    # and the unrounded number is PracTools nCont(V0, S2 = deff S2, N) itself
    assert got.n_cont == pytest.approx(n_cont(v0=got.v0, s2=args.get("deff_w", 1.0) * args["s2"], N=args["N"]),
                                       rel=1e-12)
    assert got.half_width <= args["target"] * (1 + 1e-12)
    assert unit_half_width(n=got.forms - 1, N=args["N"], s2=args["s2"], deff_w=args.get("deff_w", 1.0)) > \
        args["target"] or "max_se" in args


def test_n_cont_without_fpc_equals_the_published_vignette_number():
    # nCont(CV0 = 0.05, CVpop = 2) -> 1,600 (PracTools vignette): the formula forms_needed calls
    assert n_cont(cv0=0.05, cvpop=2.0) == pytest.approx(P.NCONT_CV005, rel=1e-12)


def test_forms_needed_edges_and_bad_input():
    assert forms_needed(s2=0.0, N=500, target=5).forms == 2
    census = forms_needed(s2=400.0, N=12, target=0.5)
    assert census.forms == 12 and census.half_width == 0.0
    with pytest.raises(DesignError):
        forms_needed(s2=100.0, N=100, target=0.0)
    with pytest.raises(DesignError):
        forms_needed(s2=-1.0, N=100, target=5)


# --------------------------------------------------------------------------- Neyman = PracTools strAlloc


def test_neyman_quota_equals_stralloc():
    Nh, Sh = np.array(P.STRALLOC_NH, float), np.array(P.STRALLOC_SH, float)
    ref = R["NEYMAN_QUOTA"]
    a = planning.stratum_allocation(Nh=Nh, Sh=Sh, n_total=100, method="neyman")
    assert a.nh == pytest.approx(ref.values, rel=1e-12), str(ref)
    assert a.nh == pytest.approx(P.STRALLOC_NEYMAN_NH, rel=1e-6)         # strAlloc's printed 6 decimals
    assert a.se == pytest.approx(R["NEYMAN_SE"].value, rel=1e-12)
    assert a.se == pytest.approx(P.STRALLOC_NEYMAN_SE, rel=1e-6)
    # the whole-number allocation the plan uses: strAlloc's quotas made whole by the largest remainder
    whole = neyman_allocation(pd.Series(Nh), pd.Series(Sh), 100, minimum=2)
    quota = pd.Series(ref.values)
    expected = _largest_remainder(quota, pd.Series(Nh * Sh), 100 - int(np.floor(quota).sum()))
    assert whole.tolist() == expected.tolist() and int(whole.sum()) == 100
    assert (np.abs(whole.to_numpy() - ref.values) < 1).all()


def test_oneway_components_equal_r_anova():
    y = [0.9, 1, 0.8, 0.95, 1, 0.7, 0.6, 0.85, 0.75, 0.9, 0.65, 1, 1, 0.95, 0.9]
    g = [1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3]
    vc = nested_components(pd.DataFrame({"g": g, "y": y}), value="y", levels=["g"])
    ref = R["ONEWAY"]
    assert vc.sigma2 == pytest.approx([ref["between"], ref["within"]], rel=1e-10), str(ref)


# --------------------------------------------------------------------------- the pipeline's estimator


def _unit_sample() -> tuple[np.ndarray, np.ndarray]:
    return (np.array([1, 0.9, 0.85, 1, 0.4, 0.95, 0.7, 1, 0.6, 0.8, 1, 0.75]),
            np.array(list("aaaaabbbbccc"), dtype=object))


def test_unit_estimate_equals_r_survey_jkn_poststratified():
    y, f = _unit_sample()
    counts = pd.DataFrame({"unit": "U", "procedure_field": ["a", "b", "c"], "transactions": [150, 90, 60]})
    est, se, w = estimate_unit_mean(y=y, fields=f, counts=counts, unit="U")
    ref = R["UNIT_JKN_POSTSTRAT"]
    assert [est, se] == pytest.approx([ref["mean"], ref["se"]], rel=1e-10), str(ref)
    assert w.sum() == pytest.approx(300.0, rel=1e-12)
    one = pd.DataFrame({"unit": "U", "procedure_field": [""], "transactions": [300]})
    est1, se1, _ = estimate_unit_mean(y=y, fields=np.array([None] * 12, dtype=object), counts=one, unit="U")
    ref1 = R["UNIT_JKN"]
    assert [est1, se1] == pytest.approx([ref1["mean"], ref1["se"]], rel=1e-10), str(ref1)
    assert se1 == pytest.approx(R["UNIT_SRS_SE"].value, rel=1e-10)


# --------------------------------------------------------------------------- allocations and simulation


def _per_unit() -> pd.DataFrame:
    return pd.DataFrame({"unit": ["A", "B", "C", "D"], "transactions": [1900.0, 640.0, 410.0, 300.0],
                         "sd": [0.19, 0.07, 0.18, 0.15], "deff_w": [1.04, 1.16, 1.06, 1.0]})


def test_allocations_meet_or_miss_the_target_as_computed():
    costs = planning.CostModel.from_config({"costs": {"commune": 1000, "form": 25}})
    sizes, allocs = allocation_sizes(_per_unit(), target=5.0, costs=costs, min_cell_size=30)
    t = sizes[sizes["design"] == "target"].set_index("unit")
    for u, r in t.iterrows():
        need = forms_needed(s2=(100 * r["sd"]) ** 2, N=r["transactions"], target=5.0, deff_w=r["deff_w"])
        assert r["n_cont"] == need.n_cont and r["forms"] == max(need.forms, 30)
    assert t["meets_target"].all()
    fixed = sizes[sizes["design"] == "fixed"]
    assert (fixed["forms"] == t["forms"].max()).all() and fixed["meets_target"].all()
    total = int(t["forms"].sum())
    a = allocs.set_index("design")
    assert a.loc["proportional", "forms"] == a.loc["neyman", "forms"] == a.loc["target", "forms"] == total
    ney = sizes[sizes["design"] == "neyman"]["forms"].to_numpy()
    pu = _per_unit()
    expected = neyman_allocation(pu["transactions"].astype(int), pu["sd"] * np.sqrt(pu["deff_w"]), total, minimum=2)
    assert ney.tolist() == expected.tolist()
    # every unit's half-width and the cost as the formulas give them
    for _, r in sizes.iterrows():
        assert r["half_width"] == pytest.approx(unit_half_width(n=int(r["forms"]), N=r["transactions"],
                                                                s2=(100 * r["sd"]) ** 2, deff_w=r["deff_w"]), rel=1e-12)
        assert r["meets_target"] == (r["half_width"] <= 5.0 * (1 + 1e-12))
        assert r["cost"] == 1000 + 25 * r["forms"]
    assert a.loc["target", "cost"] == 4 * 1000 + 25 * total
    missing = sizes[(sizes["design"] == "proportional") & ~sizes["meets_target"]]["unit"].tolist()
    assert a.loc["proportional", "units_missing"] == len(missing)
    # a ranking goal makes every unit's SE at most the bound
    max_se = se_for_ranking(3.0)
    s2, _ = allocation_sizes(_per_unit(), target=5.0, costs=costs, min_cell_size=30, max_se=max_se)
    assert (s2[s2["design"] == "target"]["se"] <= max_se * (1 + 1e-12)).all()


def _population(seed: int = 11) -> pd.DataFrame:
    """Six units, three fields each, skewed scores in [0, 1] (like satisfaction shares)."""
    rng = np.random.default_rng(seed)
    parts = []
    for i, N in enumerate([1500, 900, 600, 450, 800, 300]):
        for j, share in enumerate([0.5, 0.3, 0.2]):
            k = int(N * share)
            y = np.clip(rng.beta(6 + i, 1.5 + 0.5 * j, size=k), 0, 1)
            parts.append(pd.DataFrame({"unit": f"U{i}", "field": f"F{j}", "y": y}))
    return pd.concat(parts, ignore_index=True)


def test_simulation_is_deterministic_for_a_seed():
    pop = _population()
    alloc = {"target": {u: 20 for u in pop["unit"].unique()}, "fixed": {u: 12 for u in pop["unit"].unique()}}
    costs = planning.CostModel.from_config(None)
    a = simulate_unit_allocations(pop, allocations=alloc, reps=2, seed=5, costs=costs)
    b = simulate_unit_allocations(pop, allocations=alloc, reps=2, seed=5, costs=costs)
    for x, y in zip(a, b):
        pd.testing.assert_frame_equal(x, y, check_exact=True)
    c = simulate_unit_allocations(pop, allocations=alloc, reps=2, seed=6, costs=costs)
    assert not np.array_equal(a[0]["estimate"].to_numpy(), c[0]["estimate"].to_numpy())
    s = a[1]
    assert list(s["unit"].unique()) == [f"U{i}" for i in range(6)] + [AREA]
    assert set(s["design"]) == {"target", "fixed"} and (s["reps"] == 2).all()
    assert (s.loc[s["unit"] == AREA, "forms"] == [120, 72]).all()


@pytest.mark.slow
def test_simulated_coverage_is_near_95_percent_for_srs_allocations(capsys):
    """Every unit's forms an SRS of its transactions (a probability allocation): the pipeline's 95% intervals
    cover the unit means about 95% of the time.  6 units x 150 replicates = 900 intervals per allocation,
    Monte Carlo SE sqrt(0.95 * 0.05 / 900) = 0.73 points; the band allows 3 Monte Carlo SEs and 1 point for the
    t interval on skewed scores at 40-60 forms."""
    pop = _population()
    units = list(pop["unit"].unique())
    alloc = {"target": dict(zip(units, [60, 50, 45, 40, 50, 40]))}
    reps_df, summ = simulate_unit_allocations(pop, allocations=alloc, reps=150, seed=2024,
                                              costs=planning.CostModel.from_config(None))
    u = reps_df[reps_df["unit"] != AREA]
    cov = float(u["covered"].mean())
    mc_se = math.sqrt(0.95 * 0.05 / len(u))
    area = float(reps_df.loc[reps_df["unit"] == AREA, "covered"].mean())
    with capsys.disabled():
        print(f"\nunits' coverage {cov:.4f} (Monte Carlo SE {mc_se:.4f}, {len(u)} intervals); area {area:.4f}")
    assert abs(cov - 0.95) <= 3 * mc_se + 0.01
    assert abs(float(summ.loc[summ["unit"] == AREA, "bias"].iloc[0])) < 3 * float(
        summ.loc[summ["unit"] == AREA, "se_empirical"].iloc[0]) / math.sqrt(150)


# --------------------------------------------------------------------------- the demo: sipas plan, plan.html


@pytest.fixture(scope="module")
def plan_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root with the Thuận Nam demo cleaned and weighted, after ``sipas plan --target 5 --reps 3``."""
    from sipas.cli import main

    root = raw_copy_root(tmp_path_factory, "plan-su", (SID,))
    for cmd in ("clean", "weight"):
        assert main(["--root", str(root), cmd, "--survey", SID]) == 0, cmd
    assert main(["--root", str(root), "plan", "--survey", SID, "--target", "5", "--reps", str(REPS)]) == 0
    return root


def test_the_kind_declares_its_plan():
    from sipas.kinds import KINDS

    spec = KINDS["service_user"].planning
    assert spec.designs == ("target", "fixed", "proportional", "neyman") and spec.default_design == "target"
    assert "communes" not in spec.frames and "weight_cells" in spec.inputs
    assert KINDS["household"].planning.designs == ("seed_rule", "pps", "stratified_srs")
    assert len(spec.sections) == len(KINDS["household"].planning.sections)   # the notebook's section cells


def test_demo_plan_writes_its_files_and_units_meet_the_target(plan_root: Path):
    from sipas import io as sio
    from sipas.config import find_survey

    cfg = find_survey(SID, root=plan_root)
    out = cfg.processed_dir(plan_root)
    for name in cfg.kind.planning.files:
        assert (out / f"{name}.csv").is_file(), name
    rep = cfg.reports_dir(plan_root)
    for name in ("plan.html", "plan_phu_luc_phan_bo_phieu.xlsx", "plan_phu_luc_phan_bo_phieu.csv"):
        assert (rep / name).is_file(), name
    sizes = sio.read_csv(out / "plan_sizes.csv")
    cells = sio.read_csv(out / "weight_cells.csv")
    t = sizes[sizes["design"] == "target"]
    assert len(t) == 9 and t["meets_target"].all() and (t["forms"] >= 30).all()
    assert sorted(t["transactions"]) == sorted(cells["transactions"].astype(float))
    units = sio.read_csv(out / "plan_units.csv")
    for _, r in t.iterrows():   # n_h = PracTools nCont(V0 = (5 / t_{n-1})^2, S2 = deff S^2, N = N_h)
        need = forms_needed(s2=(100 * r["sd"]) ** 2, N=r["transactions"], target=5.0, deff_w=r["deff_w"])
        assert r["n_cont"] == pytest.approx(n_cont(v0=need.v0, s2=r["deff_w"] * (100 * r["sd"]) ** 2,
                                                   N=r["transactions"]), rel=1e-10)
        u = units[(units["unit"] == r["unit"]) & (units["variable"] == "overall")].iloc[0]
        assert u["sd"] == r["sd"] and u["deff_w"] == r["deff_w"]
    # the annex: seed 002's layout, the chosen (default: target) allocation, a total row, no formula
    annex = sio.read_csv(rep / "plan_phu_luc_phan_bo_phieu.csv")
    assert list(annex.columns) == ["Stt", "Tên đơn vị", "Số lượng phiếu", "Ghi chú"]
    assert int(annex["Số lượng phiếu"].iloc[-1]) == int(t["forms"].sum()) == int(annex["Số lượng phiếu"].iloc[:-1].sum())
    import openpyxl

    wb = openpyxl.load_workbook(rep / "plan_phu_luc_phan_bo_phieu.xlsx")
    cells_ = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert "PHÂN BỐ PHIẾU KHẢO SÁT SỰ HÀI LÒNG CỦA NGƯỜI DÂN NĂM 2024" in cells_
    assert not [v for v in cells_ if isinstance(v, str) and v.startswith("=")]


def test_demo_plan_is_deterministic(plan_root: Path):
    from sipas.config import find_survey

    cfg = find_survey(SID, root=plan_root)
    settings = planning.PlanSettings(half_width=5.0, reps=REPS)
    a = planning.compute_plan(cfg, root=plan_root, settings=settings)
    b = planning.compute_plan(cfg, root=plan_root, settings=settings)
    for name, t in a.tables().items():
        pd.testing.assert_frame_equal(t, b.tables()[name], check_exact=True, obj=name)
    written = pd.read_csv(cfg.processed_dir(plan_root) / "plan_simulation.csv")
    pd.testing.assert_frame_equal(written, a.simulation, check_dtype=False, obj="plan_simulation.csv")


@pytest.mark.parametrize("args, key", [(["--target", "0"], "--target"), (["--target", "-3"], "--target"),
                                       (["--target", "nan"], "--target"), (["--gap", "-1"], "--gap"),
                                       (["--design", "pps"], "--design")])
def test_bad_target_or_design_is_one_line_exit_2(plan_root: Path, capsys: pytest.CaptureFixture[str], args, key):
    from sipas.cli import main

    rc = main(["--root", str(plan_root), "plan", "--survey", SID, *args])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("sipas: error:") and err.count("\n") == 1 and key in err and "Traceback" not in err


@pytest.fixture(scope="module")
def plan_dom(plan_root: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    return chromium_dom(plan_root / "reports" / SID / "plan.html", tmp_path_factory.mktemp("chromium-plan-su"))


HEADINGS_VI = ("Kế hoạch chọn mẫu năm sau", "1. Phương sai giữa các đơn vị và trong mỗi đơn vị",
               "2. Năm nay theo đơn vị", "3. Số phiếu cần thiết và chi phí theo cách phân bổ",
               "4. So sánh các cách phân bổ bằng mô phỏng", "5. Phụ lục: phân bố phiếu khảo sát năm 2024",
               "Bảng 3.1. Số phiếu mỗi đơn vị cần cho mục tiêu (nCont)", "Bảng 3.3. Tổng số phiếu, chi phí",
               "Bảng 4.1. Kết quả mô phỏng theo cách phân bổ và đơn vị", "Neyman", "Tỷ lệ số hồ sơ",
               "Năm nay phiếu được phát tại bộ phận một cửa")


@pytest.mark.browser
def test_plan_html_renders_in_vietnamese(plan_dom: str):
    text = visible_text(plan_dom)
    for h in HEADINGS_VI:
        assert h in text, h
    for bad in ("Traceback", "Error", "Exception", "NaN", "nan", "{", "}"):
        assert bad not in text, bad
    assert 'class="jp-InputArea' not in plan_dom and "In&nbsp;[" not in plan_dom
    assert '<html lang="vi"' in plan_dom and "sipas-table" in plan_dom
    tables = re.findall(r"<table\b.*?</table>", plan_dom, flags=re.S)
    sizes = [t for t in tables if "Bảng 3.2." in t]
    assert len(sizes) == 1
    rows = re.findall(r"<tr>(.*?)</tr>", sizes[0], flags=re.S)
    assert len(rows) >= 1 + 4 * 9                      # header + four allocations x nine units
    annex = [t for t in tables if "Tổng cộng" in t]
    assert annex and "Số lượng phiếu" in annex[-1]


@pytest.mark.browser
def test_plan_html_has_no_personal_data(plan_dom: str, plan_root: Path):
    forms = pd.read_csv(plan_root / "data" / "raw" / SID / "responses" / "forms.csv", dtype=str)
    personal = [c for c in forms.columns if c in ("respondent_name", "phone", "applicant_id", "address")]
    needles = {v for c in personal for v in forms[c].dropna() if len(v) >= 7}
    assert not [n for n in needles if n in plan_dom]


def test_simulation_coverage_is_that_of_the_published_logit_interval():
    """The simulated intervals are those the report publishes (indices.scoring.logit_ci), with the symmetric t
    interval only where the logit is undefined (an estimate of 0 or 1, or outside the bounds)."""
    from scipy import stats

    from sipas.indices.scoring import logit_ci
    from sipas.planning.simulation import published_interval

    est, se, df = np.array([0.82, 0.97, 1.0, 1.02]), np.array([0.03, 0.02, 0.0, 0.01]), np.array([29, 40, 30, 12])
    lo, hi = published_interval(est, se, df)
    llo, lhi = logit_ci(est[:2], se[:2], df=df[:2])
    np.testing.assert_allclose([lo[:2], hi[:2]], [llo, lhi], rtol=1e-12)
    assert hi[1] - est[1] < est[1] - lo[1]                      # asymmetric near the bound, upper end below 1
    assert hi[1] < 1
    t = stats.t.ppf(0.975, df[2:])
    np.testing.assert_allclose([lo[2:], hi[2:]], [est[2:] - t * se[2:], est[2:] + t * se[2:]], rtol=1e-12)


def test_plan_refuses_stale_processed_files(tmp_path_factory: pytest.TempPathFactory,
                                            capsys: pytest.CaptureFixture[str]):
    """Raw forms edited after the stages ran: the plan would read outputs of other data, so it stops (one line,
    exit 2) and names the stage to rerun, as the pipeline's stages do."""
    from sipas.cli import main

    root = raw_copy_root(tmp_path_factory, "plan-stale", (SID,))
    for cmd in ("clean", "weight"):
        assert main(["--root", str(root), cmd, "--survey", SID]) == 0, cmd
    forms = sorted((root / "data" / "raw" / SID / "responses").glob("*.csv"))[0]
    forms.write_bytes(forms.read_bytes() + b"\n")
    capsys.readouterr()
    rc = main(["--root", str(root), "plan", "--survey", SID, "--target", "5", "--reps", "2"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert "changed after the 'cleaning' stage ran" in err and "sipas clean" in err

"""sipas.planning (issue 18): PracTools' published numbers, the R references, the demo plan."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from results import results_practools as P
from results.r_refs import load
from sipas import planning

R = load("planning_formulas")


def test_ncont_and_npropmoe_equal_practools_vignette():
    assert planning.n_cont(cv0=0.05, cvpop=2) == pytest.approx(P.NCONT_CV005, rel=1e-6)
    assert math.ceil(planning.n_cont(cv0=0.05, cvpop=2, N=500)) == P.NCONT_CV005_N500_CEILING
    got = [math.ceil(planning.n_prop_moe(e=e / 100, p=0.5)) for e in range(1, 9)]
    assert got == P.NPROPMOE_CEILING


def test_stratum_allocation_equals_practools_stralloc():
    a = planning.stratum_allocation(Nh=P.STRALLOC_NH, Sh=P.STRALLOC_SH, n_total=100, method="neyman")
    np.testing.assert_allclose(a.nh, P.STRALLOC_NEYMAN_NH, rtol=1e-6)
    assert a.se == pytest.approx(P.STRALLOC_NEYMAN_SE, rel=1e-6)
    b = planning.stratum_allocation(Nh=P.STRALLOC_NH, Sh=P.STRALLOC_SH, cost=100000, ch=P.STRALLOC_TOTCOST_CH,
                                    method="totcost")
    np.testing.assert_allclose(b.nh, P.STRALLOC_TOTCOST_NH, rtol=1e-6)
    assert b.se == pytest.approx(P.STRALLOC_TOTCOST_SE, rel=1e-6)


def test_nested_components_equal_balanced_anova_and_nlme_reml():
    d = pd.DataFrame({k: np.asarray(R[f"NEST_{k.upper()}"].values) for k in ("s", "c", "v", "y")})
    vc = planning.nested_components(d, value="y", levels=["s", "c", "v"])
    np.testing.assert_allclose(vc.sigma2, R["NEST_ANOVA_SIGMA2"].values, rtol=1e-10)
    # REML's optimiser stops near, not at, the optimum that equals the ANOVA estimate on balanced data
    np.testing.assert_allclose(vc.sigma2, R["NEST_REML_SIGMA2"].values, rtol=2e-3)


def _pop():
    y = np.asarray(R["POP_Y"].values)
    psu = np.asarray(R["POP_PSU"].values)
    ssu = np.asarray(R["POP_SSU"].values)
    return y, psu, ssu


def test_bw2stage_and_bw3stage_equal_the_formulas_in_r():
    y, psu, ssu = _pop()
    pp = pd.Series(psu).value_counts().sort_index() / len(y)
    b2 = planning.bw2stage_pps(y, pp=pp, psu=psu)
    np.testing.assert_allclose([b2.B2, b2.W2, b2.unit_relvar, b2.k, b2.delta], R["BW2_PPS"].values, rtol=1e-10)
    b3 = planning.bw3stage_pps(y, pp=pp, psu=psu, ssu=ssu)
    np.testing.assert_allclose([b3.B, b3.W, b3.W2, b3.W3, b3.unit_relvar, b3.k1, b3.k2, b3.delta1, b3.delta2],
                               R["BW3_PPS"].values, rtol=1e-10)
    eq = planning.bw2stage_pps(y, pp=pd.Series(1 / 6, index=pp.index), psu=psu)
    np.testing.assert_allclose([eq.B2, eq.W2, eq.delta], R["BW2_SRS_PSU"].values, rtol=1e-10)


def test_clusopt_and_deffk_equal_the_formulas_in_r():
    o = planning.clus_opt2(c1=750, c2=100, delta=0.05, unit_rv=1, tot_cost=100000)
    np.testing.assert_allclose([o.m, o.n, o.cv], R["CLUSOPT2_BUDGET"].values, rtol=1e-10)
    o = planning.clus_opt2(c1=750, c2=100, delta=0.01, unit_rv=1, cv0=0.05)
    np.testing.assert_allclose([o.m, o.n, o.cost], R["CLUSOPT2_CV"].values, rtol=1e-10)
    o = planning.clus_opt3(c1=500, c2=100, c3=120, delta1=0.01, delta2=0.10, unit_rv=1, tot_cost=100000)
    np.testing.assert_allclose([o.m, o.n, o.q, o.cv], R["CLUSOPT3_BUDGET"].values, rtol=1e-10)
    o = planning.clus_opt3(c1=500, c2=100, c3=120, delta1=0.01, delta2=0.10, unit_rv=1, cv0=0.01)
    np.testing.assert_allclose([o.m, o.cost], R["CLUSOPT3_CV"].values, rtol=1e-10)
    w = np.array([1] * 20 + [2] * 10 + [5] * 5 + [12], dtype=float)
    de = planning.design_effect(weights=w, households_per_village=1, villages_per_commune=1, rho_commune=0.0,
                                rho_village=0.0)
    assert de.weighting == pytest.approx(R["DEFFK"].value, rel=1e-10)


def test_cost_model_rejects_unknown_keys():
    from sipas.errors import ConfigError

    with pytest.raises(ConfigError):
        planning.CostModel.from_config({"costs": {"bus": 3}})


RP = load("planning_power")


def test_two_sample_sizes_equal_power_prop_test_and_the_formula_in_r():
    # power.prop.test: pooled variance under the null, alternative variance under H1
    n = planning.n_two_sample(delta=0.03, var1=0.80 * 0.20, var2=0.83 * 0.17, var_null=2 * 0.815 * 0.185)
    assert n == pytest.approx(RP["NPOWER_PROP"].value, rel=1e-9)
    assert n == pytest.approx(RP["NPOWER_PROP_NULLVAR"].value, rel=1e-12)
    n = planning.n_two_sample(delta=0.03, var1=0.80 * 0.20, var2=0.83 * 0.17)
    assert n == pytest.approx(RP["NPOWER_PROP_ALT"].value, rel=1e-12)
    # power.t.test (noncentral t) is the z formula plus about one unit
    for power, key in ((0.8, "NPOWER_T"), (0.9, "NPOWER_T_90")):
        z = planning.n_two_sample(delta=3, var1=225, power=power)
        assert 0 < RP[key].value - z < 1.5
        assert z == pytest.approx(RP[key].value, rel=5e-3)
    z = planning.n_two_sample(delta=3, var1=225, alternative="one.sided")
    assert 0 < RP["NPOWER_T_ONESIDED"].value - z < 1.5
    # a design effect multiplies n
    assert planning.n_two_sample(delta=3, var1=225, deff=4.94) == pytest.approx(
        4.94 * planning.n_two_sample(delta=3, var1=225), rel=1e-12)


def test_ranking_se_gives_the_stated_power():
    se = planning.se_for_ranking(3.0)
    assert se == pytest.approx(RP["SE_RANKING"].value, rel=1e-12)
    # two units 3 points apart, each with that SE, differ at 5% with power 0.80
    from scipy import stats

    power = stats.norm.cdf(3.0 / (math.sqrt(2) * se) - stats.norm.ppf(0.975))
    assert power == pytest.approx(RP["POWER_AT_SE"].value, rel=1e-12)
    assert power == pytest.approx(0.8, rel=1e-12)
    # 50% power is the old rule gap / (z sqrt 2)
    assert planning.half_width_for_ranking(3.0, power=0.5) == pytest.approx(3.0 / math.sqrt(2), rel=1e-12)
    assert planning.half_width_for_ranking(3.0) == pytest.approx(stats.norm.ppf(0.975) * se, rel=1e-12)
    with pytest.raises(Exception):
        planning.se_for_ranking(0.0)


def test_n_prop_2sam_equals_practools_formula():
    n1, n2 = planning.n_prop_2sam(px=0.5, py=0.55, pxy=0.45, g=0.5, r=1)
    np.testing.assert_allclose([n1, n2], RP["NPROP2SAM_EXAMPLE"].values, rtol=1e-12)
    n1, n2 = planning.n_prop_2sam(px=0.8, py=0.7, g=0.0, r=2, alternative="one.sided", power=0.9)
    np.testing.assert_allclose([n1, n2], RP["NPROP2SAM_R2_ONESIDED"].values, rtol=1e-12)
    # without overlap and r = 1 it is the two-sample formula with the alternative variances
    n1, _ = planning.n_prop_2sam(px=0.80, py=0.83)
    assert n1 == pytest.approx(RP["NPOWER_PROP_ALT"].value, rel=1e-12)
    from sipas.errors import DesignError

    with pytest.raises(DesignError):
        planning.n_prop_2sam(px=0.5, py=0.55, pxy=0.9)


def test_seed_rule_annex_takes_the_also_last_districts_like_the_seed_rule():
    """Phụ lục 04 of the seed rule lists the communes the seed rule takes, including the last commune of a list in
    ``sampling.also_last_districts`` (before, the annex left those out: 24 communes against the plan's 28)."""
    from sipas.config import find_survey, project_root
    from sipas.planning.plan import _frames, allocation_annex
    from sipas.sampling import select_communes

    cfg = find_survey("demo-laichau-2024", root=project_root())
    com, vil = _frames(cfg)
    also_last = tuple(cfg.extra["sampling"]["also_last_districts"])
    sizes = pd.DataFrame({"unit": sorted(com["district"].unique()), "design": "seed_rule",
                          "villages_per_commune": 3, "households_per_village": 30})
    annex = allocation_annex(sizes, design="seed_rule", villages=vil, communes=com, seed=1, strata="district",
                             psu="commune", also_last=also_last)
    chosen = select_communes(com, also_last=also_last)
    assert len(chosen) == 28 and len(select_communes(com)) == 24
    assert len(annex) == len(chosen) + 1                                   # the communes and the total row
    assert set(annex.iloc[:-1, 2]) == set(chosen["commune"])

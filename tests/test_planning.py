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

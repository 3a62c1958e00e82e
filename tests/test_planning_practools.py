"""sipas.planning against PracTools' own functions (issue 18), run on R survey's public ``apipop`` population.

Every number comes from ``tests/results/r/planning_practools.R``: BW2stagePPS, BW2stageSRS, BW3stagePPS, deffK,
clusOpt2, clusOpt3 and nProp2sam of PracTools 1.4.1 (its R sources; the package is not copied here), with the R
command stored beside each value.  The published vignette numbers are checked in
``tests/test_planning_practools_published.py``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from results.r_refs import load
from sipas import planning
from sipas.estimation.weighting import kish_deff

R = load("planning_practools")
API = Path("/work/shared/reference-data/api")
RTOL = 1e-10

_POP = pd.DataFrame({
    "cnum": R["POP_CNUM"].values.astype(int),
    "ssu": R["POP_SSU"].values.astype(int),
    "api00": R["POP_API00"].values,
    "awards": R["POP_AWARDS"].values,
    "api99": R["POP_API99"].values,
})
_COUNTIES = np.sort(_POP["cnum"].unique())


def _pp(kind: str) -> pd.Series:
    if kind == "PPN":
        return _POP.groupby("cnum").size() / len(_POP)
    if kind == "PPX":
        return _POP.groupby("cnum")["api99"].sum() / _POP["api99"].sum()
    return pd.Series(1 / len(_COUNTIES), index=_COUNTIES)


def _two(c) -> list[float]:
    return [c.B2, c.W2, c.unit_relvar, c.B2 + c.W2, c.k, c.delta]


def _three(c) -> list[float]:
    return [c.B, c.W, c.W2, c.W3, c.unit_relvar, c.k1, c.k2, c.delta1, c.delta2]


def test_population_is_the_public_apipop():
    assert len(_POP) == 6194 and len(_COUNTIES) == 57
    assert _POP.groupby("ssu").size().eq(1).sum() == 193     # SSUs with one school: the lonely-unit rule is used


@pytest.mark.parametrize("name, y, pp", [
    ("BW2_API00_PPN", "api00", "PPN"), ("BW2_API00_PPX", "api00", "PPX"),
    ("BW2_AWARDS_PPN", "awards", "PPN"), ("BW2_API00_EQ", "api00", "EQ"),
])
def test_bw2stage_pps_equals_practools(name, y, pp):
    got = planning.bw2stage_pps(_POP[y], pp=_pp(pp), psu=_POP["cnum"])
    np.testing.assert_allclose(_two(got), R[name].values, rtol=RTOL, err_msg=str(R[name]))


def test_bw2stage_pps_with_lonely_psus_equals_practools():
    pp = _POP.groupby("ssu").size() / len(_POP)
    got = planning.bw2stage_pps(_POP["api00"], pp=pp, psu=_POP["ssu"])
    np.testing.assert_allclose(_two(got), R["BW2_API00_SSU"].values, rtol=RTOL)


@pytest.mark.parametrize("name, y", [("BW2SRS_API00", "api00"), ("BW2SRS_AWARDS", "awards")])
def test_bw2stage_srs_equals_practools(name, y):
    got = planning.bw2stage_srs(_POP[y], psu=_POP["cnum"])
    np.testing.assert_allclose(_two(got), R[name].values, rtol=RTOL, err_msg=str(R[name]))


@pytest.mark.parametrize("name, y, pp", [
    ("BW3_API00_PPN", "api00", "PPN"), ("BW3_API00_PPX", "api00", "PPX"),
    ("BW3_AWARDS_PPN", "awards", "PPN"), ("BW3_API00_EQ", "api00", "EQ"),
])
def test_bw3stage_pps_equals_practools(name, y, pp):
    got = planning.bw3stage_pps(_POP[y], pp=_pp(pp), psu=_POP["cnum"], ssu=_POP["ssu"])
    np.testing.assert_allclose(_three(got), R[name].values, rtol=RTOL, err_msg=str(R[name]))


def test_bw3stage_does_not_depend_on_row_order():
    shuffled = _POP.sample(frac=1.0, random_state=7)
    got = planning.bw3stage_pps(shuffled["api00"], pp=_pp("PPX"), psu=shuffled["cnum"], ssu=shuffled["ssu"])
    np.testing.assert_allclose(_three(got), R["BW3_API00_PPX"].values, rtol=RTOL)


@pytest.mark.parametrize("name, file", [("DEFFK_APISTRAT", "apistrat"), ("DEFFK_APICLUS2", "apiclus2"),
                                        ("DEFFK_APICLUS1", "apiclus1")])
def test_kish_deff_equals_practools_deffk(name, file):
    assert kish_deff(pd.read_csv(API / f"{file}.csv")["pw"].to_numpy()) == pytest.approx(R[name].value, rel=RTOL)


def test_kish_deff_of_pps_weights_equals_practools_deffk():
    x = _POP["api99"].to_numpy()
    w = x.sum() / x[::31]
    assert kish_deff(w) == pytest.approx(R["DEFFK_INV_API99"].value, rel=RTOL)


@pytest.mark.parametrize("name, kw", [
    ("CLUSOPT2_BUDGET", dict(c1=750, c2=100, delta=0.05, unit_rv=1, k=1, tot_cost=100000)),
    ("CLUSOPT2_CV", dict(c1=750, c2=100, delta=0.01, unit_rv=1, k=1, cv0=0.05)),
    ("CLUSOPT2_K", dict(c1=500, c2=40, delta=0.12, unit_rv=2.3, k=1.4, tot_cost=250000)),
])
def test_clus_opt2_equals_practools(name, kw):
    o = planning.clus_opt2(**kw)
    np.testing.assert_allclose([o.m, o.n, o.cost, o.cv], R[name].values, rtol=RTOL, err_msg=str(R[name]))


@pytest.mark.parametrize("name, kw", [
    ("CLUSOPT3_BUDGET", dict(c1=500, c2=100, c3=120, delta1=0.01, delta2=0.10, unit_rv=1, tot_cost=100000)),
    ("CLUSOPT3_CV", dict(c1=500, c2=100, c3=120, delta1=0.01, delta2=0.10, unit_rv=1, cv0=0.01)),
    ("CLUSOPT3_K", dict(c1=1500, c2=300, c3=40, delta1=0.05, delta2=0.15, unit_rv=0.8, k1=1.2, k2=0.9,
                        tot_cost=400000)),
])
def test_clus_opt3_equals_practools(name, kw):
    o = planning.clus_opt3(**kw)
    np.testing.assert_allclose([o.m, o.n, o.q, o.cost, o.cv], R[name].values, rtol=RTOL, err_msg=str(R[name]))


def test_clus_opt3_rounded_as_practools_prints_it():
    o = planning.clus_opt3(c1=500, c2=100, c3=120, delta1=0.01, delta2=0.10, unit_rv=1, tot_cost=100000)
    assert [round(o.m, 1), round(o.n, 1), round(o.q, 1), round(o.cv, 4)] == list(R["CLUSOPT3_BUDGET_PRINTED"].values)


@pytest.mark.parametrize("name, kw", [
    ("NPROP2SAM_INDEP", dict(px=0.5, py=0.55, pxy=0.275, g=0, r=1)),
    ("NPROP2SAM_OVERLAP", dict(px=0.5, py=0.55, pxy=0.45, g=0.5, r=1)),
    ("NPROP2SAM_ONESIDED", dict(px=0.72, py=0.78, pxy=0.6, g=0.3, r=2, alternative="one.sided", alpha=0.1,
                                power=0.9)),
])
def test_n_prop_2sam_equals_practools(name, kw):
    np.testing.assert_allclose(planning.n_prop_2sam(**kw), R[name].values, rtol=RTOL, err_msg=str(R[name]))


def test_n_prop_2sam_ceiling_as_practools_prints_it():
    n1, n2 = planning.n_prop_2sam(px=0.5, py=0.55, pxy=0.45, g=0.5, r=1)
    assert [math.ceil(n1), math.ceil(n2)] == list(R["NPROP2SAM_PRINTED"].values)

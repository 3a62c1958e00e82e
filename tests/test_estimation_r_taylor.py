"""sipas's Taylor-linearisation estimators against full-precision R ``survey`` 4.1-1 output.

Every reference comes from ``tests/results/r/survey_taylor.R`` (stored in
``survey_taylor.json`` beside it, with the exact R command that produced each number;
``tests/test_r_provenance.py`` reruns the script).  Estimates and standard errors are
compared at relative tolerance 1e-6; standard errors after calibration at 1e-5.

The numbers of tests/test_estimation_r.py that were copied from ``api.Rout.save`` and
``lonely.psu.Rout.save`` (5–7 printed digits) are repeated here at full precision.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sipas.estimation import weighting as W
from sipas.errors import ConvergenceError, DesignError
from sipas.estimation.design import Design
from tests.results.r_refs import RRef, load

API = Path("/work/shared/reference-data/api")
pytestmark = pytest.mark.skipif(not API.exists(), reason="api reference data not available")

REL = 1e-6
REL_CAL = 1e-5
REFS = load("survey_taylor")


def ref(name: str) -> RRef:
    return REFS[name]


def close(got: float, name: str, key: str | None = None, *, rel: float = REL) -> None:
    r = ref(name)
    want = r.value if key is None else r[key]
    assert got == pytest.approx(want, rel=rel), f"{name}[{key}] {r}"


def close_all(got: np.ndarray, name: str, *, rel: float = REL, abs: float = 0.0) -> None:
    r = ref(name)
    np.testing.assert_allclose(np.asarray(got, dtype=float), r.values, rtol=rel, atol=abs, err_msg=str(r))


# ------------------------------------------------------------------ data and designs (as in the R setup)
POP_TYPES = {"E": 4421.0, "H": 755.0, "M": 1018.0}
POP_SCHWIDE = {"No": 1072.0, "Yes": 5122.0}
POP_CELLS = {("E", "No"): 472.0, ("H", "No"): 334.0, ("M", "No"): 266.0,
             ("E", "Yes"): 3949.0, ("H", "Yes"): 421.0, ("M", "Yes"): 752.0}
POP_LIN = {"(Intercept)": 6194.0, "stypeH": 755.0, "stypeM": 1018.0, "api99": 3914069.0}
POP_CAT = {"(Intercept)": 6194.0, "stypeH": 755.0, "stypeM": 1018.0, "sch.wideYes": 5122.0}


def _indicators(d: pd.DataFrame) -> pd.DataFrame:
    """R's model-matrix dummies of the factors used below (treatment contrasts)."""
    out = d.copy()
    for lv in ("E", "H", "M"):
        out[f"stype{lv}"] = (d["stype"] == lv).astype(float)
    for lv in ("No", "Yes"):
        out[f"sch.wide{lv}"] = (d["sch.wide"] == lv).astype(float)
    return out


@pytest.fixture(scope="module")
def apiclus1() -> pd.DataFrame:
    return _indicators(pd.read_csv(API / "apiclus1.csv"))


@pytest.fixture(scope="module")
def apiclus2() -> pd.DataFrame:
    d = _indicators(pd.read_csv(API / "apiclus2.csv"))
    d["frac1"] = d["dnum"].nunique() / d["fpc1"]
    d["frac2"] = d.groupby("dnum")["snum"].transform("size") / d["fpc2"]
    return d


@pytest.fixture(scope="module")
def apistrat() -> pd.DataFrame:
    d = pd.read_csv(API / "apistrat.csv")
    d["frac"] = d.groupby("stype")["pw"].transform("size") / d["fpc"]
    return d


@pytest.fixture(scope="module")
def dstrat(apistrat) -> Design:
    return Design(apistrat, weight="pw", strata="stype", fpc="fpc")


@pytest.fixture(scope="module")
def dclus1(apiclus1) -> Design:
    return Design(apiclus1, weight="pw", psu="dnum", fpc="fpc")


@pytest.fixture(scope="module")
def dclus2(apiclus2) -> Design:
    # R derives the weights from the fpc; pw holds the same numbers (to 6e-14)
    return Design(apiclus2, weight="pw", psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])


@pytest.fixture(scope="module")
def dclus2wr(apiclus2) -> Design:
    return Design(apiclus2, weight="pw", psu=["dnum", "snum"])


def _by(frame: pd.DataFrame, by: list[str], *, variable: str | None = None, level=None) -> pd.DataFrame:
    """Rows of a sipas by-frame indexed by R's svyby row names ("E", "E.No", ...)."""
    if variable is not None:
        frame = frame[frame["variable"] == variable]
    if level is not None:
        frame = frame[frame["level"] == level]
    keys = frame[by].astype(str).agg(".".join, axis=1)
    return frame.set_index(keys)


def check_by(frame: pd.DataFrame, name: str, by: list[str], *, est_col: str, se_col: str,
             variable: str | None = None, level=None, rel_se: float = REL, deff_col: str | None = None) -> None:
    """Every domain row of an R svyby result (names "<row>:<column>") against sipas."""
    r = ref(name)
    rows = _by(frame, by, variable=variable, level=level)
    domains = [n.split(":", 1)[0] for n in r.names if n.split(":", 1)[1] == est_col]
    assert sorted(domains) == sorted(rows.index), f"domains differ: {r}"
    for dname in domains:
        close(rows.loc[dname, "estimate"], name, f"{dname}:{est_col}")
        close(rows.loc[dname, "se"], name, f"{dname}:{se_col}", rel=rel_se)
        if deff_col is not None:
            close(rows.loc[dname, "deff"], name, f"{dname}:{deff_col}")


# ------------------------------------------------------------------ 1. api.Rout.save numbers at full precision
@pytest.mark.parametrize("prefix, design, stat, var", [
    ("DSTRAT_TOTAL_ENROLL", "dstrat", "total", "enroll"),
    ("DCLUS1_TOTAL_ENROLL", "dclus1", "total", "enroll"),
    ("DCLUS2_MEAN_API00", "dclus2", "mean", "api00"),
    ("DCLUS2_TOTAL_ENROLL", "dclus2", "total", "enroll"),
    ("DCLUS2WR_MEAN_API00", "dclus2wr", "mean", "api00"),
    ("DCLUS2WR_TOTAL_ENROLL", "dclus2wr", "total", "enroll"),
])
def test_api_rout_numbers_full_precision(request, prefix, design, stat, var):
    e = getattr(request.getfixturevalue(design), stat)(var)
    close(e.estimate, prefix)
    close(e.se, f"{prefix}_SE")


def test_poststratified_total_full_precision(dclus1):
    t = W.poststratify(dclus1, {"stype": POP_TYPES}).total("enroll")
    close(t.estimate, "DCLUS1P_TOTAL_ENROLL")
    close(t.se, "DCLUS1P_TOTAL_ENROLL_SE", rel=REL_CAL)


def test_dclus2_weights_are_r_fpc_weights(apiclus2):
    """R's dclus2 has no weights=: it takes 1/prod(n_s/N_s); pw holds those numbers."""
    w = apiclus2["fpc1"] / apiclus2["dnum"].nunique() * apiclus2["fpc2"] / apiclus2.groupby("dnum")["snum"].transform("size")
    np.testing.assert_allclose(w, apiclus2["pw"], rtol=1e-12)
    close_all(np.quantile(apiclus2["pw"], [0, 0.25, 0.5, 0.75, 1]), "DCLUS2_WEIGHTS_QUANTILES")


# ------------------------------------------------------------------ lonely PSUs
@pytest.mark.parametrize("option", ["remove", "certainty", "adjust", "average"])
def test_lonely_psu_full_precision(apiclus1, option):
    des = Design(apiclus1, weight="pw", strata="dnum", lonely_psu=option)
    e = des.mean("api00")
    close(e.estimate, "LONELY_MEAN_API00")
    close(e.se, f"LONELY_{option.upper()}_SE")
    if option == "average":
        close(des.total("enroll").se, "LONELY_AVERAGE_TOTAL_SE")
    if option == "adjust":
        # survey 4.1-1 centred a lonely PSU's total at 0; sipas, as current R survey (CRAN, later than 4.1-1), at the
        # grand mean of all PSU totals (see test_lonely_psu_adjust_total_follows_current_r):
        # v_sipas = v_R4.1 - sum over lonely PSUs of [t^2 - (t - mean t)^2]
        t = (apiclus1["pw"] * apiclus1["enroll"]).to_numpy()  # id = ~1: every row is a PSU
        lonely = apiclus1.groupby("dnum")["dnum"].transform("size").to_numpy() == 1
        shift = float(np.sum(t[lonely] ** 2 - (t[lonely] - t.mean()) ** 2))
        assert des.total("enroll").se ** 2 == pytest.approx(ref("LONELY_ADJUST_TOTAL_SE").value ** 2 - shift, rel=1e-9)
    assert des.df == ref("DEGF_LONELY").value


@pytest.mark.parametrize("option", ["fail", "remove", "adjust", "average"])
def test_lonely_psu_certainty_by_fpc(apiclus1, option):
    """fpc = 1 makes district 413 a certainty stratum: no lonely PSU, any option."""
    d = apiclus1.assign(fpcx=np.where(apiclus1["dnum"] == 413, 1, 1000))
    des = Design(d, weight="pw", strata="dnum", fpc="fpcx", lonely_psu=option)
    close(des.mean("api00").se, f"LONELY_FPC_{option.upper()}_SE")


SINGLETON = pd.DataFrame({"Stratum": [1, 1, 2, 2, 3], "PSU": [1, 2, 3, 4, 5],
                          "Design_Weight": [10.5, 10.5, 20, 20, 15], "Age": [30.5, 40.5, 35, 52, 44]})


@pytest.mark.parametrize("option", ["remove", "certainty", "average"])
def test_lonely_psu_singleton_total(option):
    """cran/survey tests/lonely.psu.R's five-row design (survey 4.1-1 numbers)."""
    des = Design(SINGLETON, weight="Design_Weight", strata="Stratum", psu="PSU", lonely_psu=option)
    close(des.total("Age").se ** 2, f"SINGLETON_{option.upper()}_VAR")


def test_lonely_psu_adjust_total_follows_current_r():
    """"adjust" centres the lonely PSU at the grand mean of the PSU totals (current R survey (CRAN, later than 4.1-1)).

    Published reference: cran/survey tests/lonely.psu.R (current CRAN) —
    ``options(survey.lonely.psu = "adjust"); stopifnot(all.equal(target = 127579.8,
    current = as.numeric(vcov(svytotal(~Age, design_w_singleton))), scale = 127579.8,
    tolerance = 0.000001))``.  Debian's survey 4.1-1 centred at 0 instead
    (SINGLETON_ADJUST_VAR = 562225 = 126625 + 660^2); the difference is exactly that
    centring, which the second assertion pins down.
    """
    des = Design(SINGLETON, weight="Design_Weight", strata="Stratum", psu="PSU", lonely_psu="adjust")
    var = des.total("Age").se ** 2
    assert var == pytest.approx(127579.8, rel=1e-6)
    lonely_total, grand_mean = 15 * 44, (10.5 * 30.5 + 10.5 * 40.5 + 20 * 35 + 20 * 52 + 15 * 44) / 5
    r41 = ref("SINGLETON_ADJUST_VAR").value
    assert r41 - lonely_total**2 == pytest.approx(var - (lonely_total - grand_mean) ** 2, rel=1e-12)
    # means and ratios are unchanged: their PSU totals sum to zero, so the grand mean is 0
    close(des.mean("Age").se ** 2, "SINGLETON_ADJUST_MEAN_VAR")


# ------------------------------------------------------------------ ratios
def test_ratio(dstrat, dclus2):
    for name, des in [("DSTRAT", dstrat), ("DCLUS2", dclus2)]:
        e = des.ratio("api00", "api99")
        close(e.estimate, f"{name}_RATIO")
        close(e.se, f"{name}_RATIO_SE")
    e = dstrat.ratio("api00", "api99")
    r = ref("DSTRAT_RATIO_CI")
    assert (e.ci_low, e.ci_high) == pytest.approx((r["api00/api99:2.5 %"], r["api00/api99:97.5 %"]), rel=REL), str(r)


def test_ratio_by_domain(dclus1, dstrat):
    check_by(dclus1.ratio("api00", "api99", by="stype"), "DCLUS1_RATIO_BY_STYPE", ["stype"],
             est_col="api00/api99", se_col="se.api00/api99")
    check_by(dstrat.ratio("api00", "api99", by="sch.wide"), "DSTRAT_RATIO_BY_SCHWIDE", ["sch.wide"],
             est_col="api00/api99", se_col="se.api00/api99")


# ------------------------------------------------------------------ proportions of factor levels
def test_proportions_of_levels(dclus1, dclus2):
    p = dclus1.proportion("stype").set_index("level")
    for lv in ("E", "H", "M"):
        close(p.loc[lv, "estimate"], "DCLUS1_MEAN_STYPE", f"stype{lv}")
        close(p.loc[lv, "se"], "DCLUS1_MEAN_STYPE_SE", f"stype{lv}")
        close(p.loc[lv, "deff"], "DCLUS1_MEAN_STYPE_DEFF", f"stype{lv}")
    p = dclus2.proportion("sch.wide").set_index("level")
    for lv in ("No", "Yes"):
        close(p.loc[lv, "estimate"], "DCLUS2_MEAN_SCHWIDE", f"sch.wide{lv}")
        close(p.loc[lv, "se"], "DCLUS2_MEAN_SCHWIDE_SE", f"sch.wide{lv}")


def test_totals_of_levels(dclus1, dclus2):
    """svytotal(~factor) is the total of each level's indicator."""
    for des, name, cols in [(dclus1, "DCLUS1_TOTAL_STYPE", ["stypeE", "stypeH", "stypeM"]),
                            (dclus2, "DCLUS2_TOTAL_SCHWIDE", ["sch.wideNo", "sch.wideYes"])]:
        t = des.total(cols).set_index("variable")
        for c in cols:
            close(t.loc[c, "estimate"], name, c)
            close(t.loc[c, "se"], f"{name}_SE", c)


def test_proportion_by_domain(dstrat):
    out = dstrat.proportion("awards", by="stype")
    for lv in ("No", "Yes"):
        check_by(out, "DSTRAT_MEAN_AWARDS_BY_STYPE", ["stype"], est_col=f"awards{lv}",
                 se_col=f"se.awards{lv}", level=lv)


# ------------------------------------------------------------------ domains
def test_two_way_domains_multistage(dclus2):
    out = dclus2.mean(["api00", "api99"], by=["stype", "sch.wide"])
    for v in ("api00", "api99"):
        check_by(out, "DCLUS2_BY_STYPE_SCHWIDE", ["stype", "sch.wide"], est_col=v, se_col=f"se.{v}",
                 variable=v, deff_col=f"DEff.{v}")


def test_domain_totals(dclus2, dclus2wr, dstrat):
    check_by(dclus2.total("enroll", by="stype"), "DCLUS2_TOTAL_ENROLL_BY_STYPE", ["stype"], est_col="enroll", se_col="se")
    check_by(dclus2wr.total("enroll", by="stype"), "DCLUS2WR_TOTAL_ENROLL_BY_STYPE", ["stype"], est_col="enroll", se_col="se")
    check_by(dstrat.total("enroll", by="sch.wide"), "DSTRAT_TOTAL_ENROLL_BY_SCHWIDE", ["sch.wide"],
             est_col="enroll", se_col="se", deff_col="DEff.enroll")


# ------------------------------------------------------------------ design effects
def test_design_effects(dclus1, dclus2, dstrat):
    close(dclus2.mean("api00").deff, "DCLUS2_MEAN_API00_DEFF")
    close(dclus2.total("enroll").deff, "DCLUS2_TOTAL_ENROLL_DEFF")
    close(dclus1.total("enroll").deff, "DCLUS1_TOTAL_ENROLL_DEFF")
    out = dstrat.mean(["api00", "api99", "enroll"]).set_index("variable")
    for v in ("api00", "api99", "enroll"):
        close(out.loc[v, "deff"], "DSTRAT_MEAN_DEFF", v)


# ------------------------------------------------------------------ intervals and degrees of freedom
def test_degf_and_intervals(dclus1, dclus2, dclus2wr):
    assert dclus2.df == ref("DEGF_DCLUS2").value
    assert dclus2wr.df == ref("DEGF_DCLUS2WR").value
    e = dclus2.mean("api00")
    assert e.df == ref("DEGF_DCLUS2").value
    close(e.ci_low, "DCLUS2_MEAN_API00_CI", "api00:2.5 %")
    close(e.ci_high, "DCLUS2_MEAN_API00_CI", "api00:97.5 %")
    t = dclus2wr.total("enroll")
    close(t.ci_low, "DCLUS2WR_TOTAL_ENROLL_CI", "enroll:2.5 %")
    close(t.ci_high, "DCLUS2WR_TOTAL_ENROLL_CI", "enroll:97.5 %")
    n = dclus1.mean("api00", df=float("inf"))  # confint()'s default: normal quantiles
    close(n.ci_low, "DCLUS1_MEAN_API00_CI_NORMAL", "api00:2.5 %")
    close(n.ci_high, "DCLUS1_MEAN_API00_CI_NORMAL", "api00:97.5 %")


# ------------------------------------------------------------------ missing values (na.rm=TRUE)
def test_missing_values(dclus1, dstrat, dclus2):
    assert dclus1.data["avg.ed"].isna().sum() > 0 and dstrat.data["acs.k3"].isna().sum() > 0
    e = dclus1.mean("avg.ed")
    close(e.estimate, "DCLUS1_MEAN_AVGED")
    close(e.se, "DCLUS1_MEAN_AVGED_SE")
    close(e.deff, "DCLUS1_MEAN_AVGED_DEFF")
    t = dstrat.total("acs.k3")
    close(t.estimate, "DSTRAT_TOTAL_ACSK3")
    close(t.se, "DSTRAT_TOTAL_ACSK3_SE")
    m = dclus2.mean("enroll")
    close(m.estimate, "DCLUS2_MEAN_ENROLL")
    close(m.se, "DCLUS2_MEAN_ENROLL_SE")
    check_by(dclus2.mean("acs.46", by="sch.wide"), "DCLUS2_MEAN_ACS46_BY_SCHWIDE", ["sch.wide"],
             est_col="acs.46", se_col="se")
    check_by(dclus2.mean("enroll", by=["stype", "sch.wide"]), "DCLUS2_MEAN_ENROLL_BY_STYPE_SCHWIDE",
             ["stype", "sch.wide"], est_col="enroll", se_col="se")


# ------------------------------------------------------------------ contrasts of domain estimates
def test_domain_contrasts(dclus1, dclus2):
    c = dclus1.contrast("api00", by="stype", first="E", second="H")
    close(c.estimate, "DCLUS1_CONTRAST_E_H")
    close(c.se, "DCLUS1_CONTRAST_E_H_SE")
    c = dclus2.contrast("api00", by="sch.wide", first="Yes", second="No")
    close(c.estimate, "DCLUS2_CONTRAST_YES_NO")
    close(c.se, "DCLUS2_CONTRAST_YES_NO_SE")
    c = dclus2.contrast("api99", by="stype", first="E", second="M", statistic="total")
    close(c.estimate, "DCLUS2_TOTAL_CONTRAST_E_M")
    close(c.se, "DCLUS2_TOTAL_CONTRAST_E_M_SE")


# ------------------------------------------------------------------ post-stratification on two-way cells
def test_poststratify_two_way_cells(dclus1, dclus2):
    ps2 = W.poststratify(dclus2, {("stype", "sch.wide"): POP_CELLS})
    e = ps2.mean("api00")
    close(e.estimate, "PS2_MEAN_API00")
    close(e.se, "PS2_MEAN_API00_SE", rel=REL_CAL)
    t = ps2.total("enroll")
    close(t.estimate, "PS2_TOTAL_ENROLL")
    close(t.se, "PS2_TOTAL_ENROLL_SE", rel=REL_CAL)
    check_by(ps2.mean("api00", by="stype"), "PS2_MEAN_API00_BY_STYPE", ["stype"], est_col="api00",
             se_col="se", rel_se=REL_CAL)
    close(ps2.weights.sum(), "PS2_WEIGHTS_SUM")
    ps1 = W.poststratify(dclus1, {("stype", "sch.wide"): POP_CELLS})
    e = ps1.mean("api00")
    close(e.estimate, "PS1_MEAN_API00")
    close(e.se, "PS1_MEAN_API00_SE", rel=REL_CAL)
    close(ps1.total("enroll").se, "PS1_TOTAL_ENROLL_SE", rel=REL_CAL)
    check_by(ps1.mean("api00", by="comp.imp"), "PS1_MEAN_API00_BY_COMPIMP", ["comp.imp"], est_col="api00",
             se_col="se", rel_se=REL_CAL)
    close_all(ps1.weights.to_numpy(), "PS1_WEIGHTS", rel=1e-12)


# ------------------------------------------------------------------ raking on two margins
def test_rake_two_margins(dclus1, dclus2):
    margins = {"stype": POP_TYPES, "sch.wide": POP_SCHWIDE}
    r1 = W.rake(dclus1, margins, epsilon=1e-12, max_iter=100)
    e = r1.mean("api00")
    close(e.estimate, "RAKE1_MEAN_API00")
    close(e.se, "RAKE1_MEAN_API00_SE", rel=REL_CAL)
    t = r1.total("enroll")
    close(t.estimate, "RAKE1_TOTAL_ENROLL")
    close(t.se, "RAKE1_TOTAL_ENROLL_SE", rel=REL_CAL)
    check_by(r1.mean("api00", by="stype"), "RAKE1_MEAN_API00_BY_STYPE", ["stype"], est_col="api00",
             se_col="se", rel_se=REL_CAL)
    close_all(r1.weights.to_numpy(), "RAKE1_WEIGHTS", rel=1e-9)
    r2 = W.rake(dclus2, margins, epsilon=1e-12, max_iter=100)
    e = r2.mean("api00")
    close(e.estimate, "RAKE2_MEAN_API00")
    close(e.se, "RAKE2_MEAN_API00_SE", rel=REL_CAL)
    close(r2.total("enroll").se, "RAKE2_TOTAL_ENROLL_SE", rel=REL_CAL)
    close_all(np.quantile(r2.weights, [0, 0.25, 0.5, 0.75, 1]), "RAKE2_WEIGHTS_QUANTILES", rel=1e-9)


# ------------------------------------------------------------------ calibrate(): linear, raking, bounds
def _dummies(d: pd.DataFrame) -> pd.DataFrame:
    return d[["stypeH", "stypeM", "sch.wideYes"]]


def test_calibrate_linear(dclus1, dclus2):
    g = W.calibrate(dclus1, POP_LIN, columns=_dummies(dclus1.data), calfun="linear")
    e = g.mean("api00")
    close(e.estimate, "GREG_MEAN_API00")
    close(e.se, "GREG_MEAN_API00_SE", rel=REL_CAL)
    t = g.total("enroll")
    close(t.estimate, "GREG_TOTAL_ENROLL")
    close(t.se, "GREG_TOTAL_ENROLL_SE", rel=REL_CAL)
    check_by(g.mean("api00", by="sch.wide"), "GREG_MEAN_API00_BY_SCHWIDE", ["sch.wide"], est_col="api00",
             se_col="se", rel_se=REL_CAL)
    close_all(g.weights.to_numpy(), "GREG_WEIGHTS", rel=1e-10)
    g2 = W.calibrate(dclus2, POP_LIN, columns=_dummies(dclus2.data))
    e = g2.mean("api00")
    close(e.estimate, "GREG2_MEAN_API00")
    close(e.se, "GREG2_MEAN_API00_SE", rel=REL_CAL)
    close(g2.total("enroll").se, "GREG2_TOTAL_ENROLL_SE", rel=REL_CAL)
    check_by(g2.mean("api00", by="sch.wide"), "GREG2_MEAN_API00_BY_SCHWIDE", ["sch.wide"], est_col="api00",
             se_col="se", rel_se=REL_CAL)


def test_calibrate_linear_bounded(dclus1):
    g = W.calibrate(dclus1, POP_LIN, columns=_dummies(dclus1.data), calfun="linear", bounds=(0.5, 2.0),
                    epsilon=1e-12)
    ratio = g.weights.to_numpy() / dclus1.weights.to_numpy()
    assert ratio.min() == pytest.approx(0.5) and ratio.max() <= 2.0  # the bound binds
    close_all(g.weights.to_numpy(), "GREG_BOUNDED_WEIGHTS", rel=1e-9)
    e = g.mean("api00")
    close(e.estimate, "GREG_BOUNDED_MEAN_API00")
    close(e.se, "GREG_BOUNDED_MEAN_API00_SE", rel=REL_CAL)
    close(g.total("enroll").se, "GREG_BOUNDED_TOTAL_ENROLL_SE", rel=REL_CAL)


def test_calibrate_raking(dclus1):
    k = W.calibrate(dclus1, POP_CAT, columns=_dummies(dclus1.data), calfun="raking", epsilon=1e-10)
    close_all(k.weights.to_numpy(), "CALRAKE_WEIGHTS", rel=1e-9)
    e = k.mean("api00")
    close(e.estimate, "CALRAKE_MEAN_API00")
    close(e.se, "CALRAKE_MEAN_API00_SE", rel=REL_CAL)
    close(k.total("enroll").se, "CALRAKE_TOTAL_ENROLL_SE", rel=REL_CAL)
    check_by(k.mean("api00", by="stype"), "CALRAKE_MEAN_API00_BY_STYPE", ["stype"], est_col="api00",
             se_col="se", rel_se=REL_CAL)
    # raking to the same two margins by iterative post-stratification reaches the same weights
    r = W.rake(dclus1, {"stype": POP_TYPES, "sch.wide": POP_SCHWIDE}, epsilon=1e-12, max_iter=100)
    np.testing.assert_allclose(r.weights.to_numpy(), k.weights.to_numpy(), rtol=1e-9)


def test_calibrate_raking_continuous_and_bounded(dclus1):
    k = W.calibrate(dclus1, POP_LIN, columns=_dummies(dclus1.data), calfun="raking", epsilon=1e-10)
    close_all(k.weights.to_numpy(), "CALRAKE_API99_WEIGHTS", rel=1e-9)
    e = k.mean("api00")
    close(e.estimate, "CALRAKE_API99_MEAN_API00")
    close(e.se, "CALRAKE_API99_MEAN_API00_SE", rel=REL_CAL)
    kb = W.calibrate(dclus1, POP_LIN, columns=_dummies(dclus1.data), calfun="raking", bounds=(0.6, 1.8),
                     epsilon=1e-10)
    g = kb.weights.to_numpy() / dclus1.weights.to_numpy()
    assert g.min() == pytest.approx(0.6) and g.max() == pytest.approx(1.8)
    close_all(kb.weights.to_numpy(), "CALRAKE_BOUNDED_WEIGHTS", rel=1e-9)
    e = kb.mean("api00")
    close(e.estimate, "CALRAKE_BOUNDED_MEAN_API00")
    close(e.se, "CALRAKE_BOUNDED_MEAN_API00_SE", rel=REL_CAL)


def test_calibrate_failure_as_r(dclus1):
    """R stops with "Calibration failed" when the bounds cannot be met; sipas raises."""
    assert ref("CALRAKE_TIGHT_BOUNDS_FAILS").value == 1.0
    with pytest.raises(ConvergenceError, match="did not converge"):
        W.calibrate(dclus1, POP_LIN, columns=_dummies(dclus1.data), calfun="raking", bounds=(0.8, 1.2))


def test_calibrate_rejects_bad_options(dclus1):
    with pytest.raises(DesignError, match="calfun"):
        W.calibrate(dclus1, POP_LIN, columns=_dummies(dclus1.data), calfun="logistic")
    with pytest.raises(DesignError, match="bounds"):
        W.calibrate(dclus1, POP_LIN, columns=_dummies(dclus1.data), bounds=(2.0, 0.5))


# ------------------------------------------------------------------ fpc as sampling fractions
def test_fpc_as_fraction(apistrat, apiclus2):
    assert (apistrat["frac"] <= 1).all() and (apiclus2[["frac1", "frac2"]] <= 1).all().all()
    ds = Design(apistrat, weight="pw", strata="stype", fpc="frac")
    e = ds.mean("api00")
    close(e.estimate, "DSTRATF_MEAN_API00")
    close(e.se, "DSTRATF_MEAN_API00_SE")
    close(ds.total("enroll").se, "DSTRATF_TOTAL_ENROLL_SE")
    d2 = Design(apiclus2, weight="pw", psu=["dnum", "snum"], fpc=["frac1", "frac2"])
    e = d2.mean("api00")
    close(e.estimate, "DCLUS2F_MEAN_API00")
    close(e.se, "DCLUS2F_MEAN_API00_SE")
    close(d2.total("enroll").se, "DCLUS2F_TOTAL_ENROLL_SE")


def test_population_count_fpc_at_stage_two(dclus2):
    close(dclus2.mean("api99").se, "DCLUS2_MEAN_API99_SE")
    close(dclus2.total("api99").se, "DCLUS2_TOTAL_API99_SE")

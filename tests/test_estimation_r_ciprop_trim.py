"""Proportion intervals (sipas.estimation.propci) and weight trimming (sipas.estimation.weighting.trim) against R.

Every reference number comes from ``tests/results/r/survey_ciprop_trim.R`` (R 4.2.2,
survey 4.1-1) and is stored with the exact R command that produced it
(``tests/results/r/survey_ciprop_trim.json``; ``tests/test_r_provenance.py`` reruns the
script).  Assertion messages print that command.  Tolerances: relative 1e-6; standard
errors after calibration 1e-5; an R SE that is zero up to rounding (a calibrated total)
must be zero up to rounding in sipas too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sipas.errors import DesignError, EstimationError
from sipas.estimation.design import Design
from sipas.estimation.propci import R_METHODS, prop_interval, svyciprop
from sipas.estimation.weighting import calibrate, trim
from tests.results.r_refs import RRef, load

API = Path("/work/shared/reference-data/api")
pytestmark = pytest.mark.skipif(not API.exists(), reason="R survey api data not available")

REL = 1e-6
REL_CAL_SE = 1e-5
REFS = load("survey_ciprop_trim") if (Path(__file__).parent / "results/r/survey_ciprop_trim.json").exists() else {}

# R formula in the script -> indicator column added to the data here
VARIABLES = {
    "ELL0": "ell0",  # ~I(ell == 0)
    "HIGH": "high",  # ~I(stype == "H")
    "SCHWIDE": "schwide",  # ~I(sch.wide == "Yes")
    "API800": "api800",  # ~I(api00 > 800)
    "AVGED3": "avged3",  # ~I(avg.ed > 3), missing where avg.ed is
}
# R design in the script -> (design fixture, by column, domain level)
DESIGNS = {
    "CLUS1": ("dclus1", None, None),
    "STRAT": ("dstrat", None, None),
    "REP": ("rclus1", None, None),
    "CAL": ("dclus1g", None, None),
    "DOMAIN_E": ("dclus1", "stype", "E"),  # subset(dclus1, stype == "E")
    "DOMAIN_M": ("dstrat", "stype", "M"),  # subset(dstrat, stype == "M")
    "REPDOMAIN_E": ("rclus1", "stype", "E"),
    "CALDOMAIN_E": ("dclus1g", "stype", "E"),
    "DOMAIN_H": ("dclus1", "stype", "H"),
    "REPDOMAIN_H": ("rclus1", "stype", "H"),
    "CALDOMAIN_H": ("dclus1g", "stype", "H"),
}
OPTIONS = {"L90": {"level": 0.90}, "DFINF": {"df": float("inf")}, "DF5": {"df": 5.0}}


def _case(name: str) -> tuple[str, str, dict, str]:
    """CIPROP_<design>_<variable>[_<option>]_<METHOD> -> (design key, variable key, options, method)."""
    parts = name.removeprefix("CIPROP_").split("_")
    method = parts.pop().lower()
    options = OPTIONS[parts.pop()] if parts[-1] in OPTIONS else {}
    var = parts.pop()
    return "_".join(parts), var, options, method


CIPROP = sorted(n for n in REFS if n.startswith("CIPROP_"))


def _prep(frame: pd.DataFrame) -> pd.DataFrame:
    d = frame.copy()
    d["ell0"] = (d["ell"] == 0).astype(float)
    d["high"] = (d["stype"] == "H").astype(float)
    d["schwide"] = (d["sch.wide"] == "Yes").astype(float)
    d["api800"] = (d["api00"] > 800).astype(float)
    d["avged3"] = np.where(d["avg.ed"].isna(), np.nan, (d["avg.ed"] > 3).astype(float))
    for s in ("E", "H", "M"):
        d[f"stype{s}"] = (d["stype"] == s).astype(float)
    return d


@pytest.fixture(scope="module")
def designs() -> dict[str, Design]:
    c1 = _prep(pd.read_csv(API / "apiclus1.csv"))
    st = _prep(pd.read_csv(API / "apistrat.csv"))
    dclus1 = Design(c1, weight="pw", psu="dnum", fpc="fpc")  # svydesign(id=~dnum, weights=~pw, fpc=~fpc)
    dstrat = Design(st, weight="pw", strata="stype", fpc="fpc")  # svydesign(id=~1, strata=~stype, ...)
    # calibrate(dclus1, ~stype + api99, c(pop.totals, api99 = 3914069))
    dclus1g = calibrate(dclus1, {"(Intercept)": 6194, "stypeH": 755, "stypeM": 1361, "api99": 3914069})
    return {"dclus1": dclus1, "dstrat": dstrat, "rclus1": dclus1.replicate("JK1"), "dclus1g": dclus1g}


def close(got: float, ref: RRef, key: str | int, *, rel: float = REL, abs_: float = 0.0) -> None:
    want = ref[key] if isinstance(key, str) else float(ref.values[key])
    assert got == pytest.approx(want, rel=rel, abs=abs_), f"{ref.name}[{key}]: sipas {got!r}, {ref}"


def _sipas_ciprop(designs, name: str):
    dkey, vkey, options, method = _case(name)
    fixture, by, level = DESIGNS[dkey]
    out = svyciprop(designs[fixture], VARIABLES[vkey], by=by, ci_method=method, **options)
    if by is None:
        return out
    return out[out[by] == level].iloc[0]


def test_every_reference_is_mapped():
    assert len(CIPROP) >= 160
    for name in CIPROP:
        dkey, vkey, _, method = _case(name)
        assert dkey in DESIGNS and vkey in VARIABLES and method in R_METHODS, name
    # every R method on each design ("likelihood" is NA in R for replicate designs)
    for dkey, (fixture, _, _) in DESIGNS.items():
        methods = {_case(n)[3] for n in CIPROP if _case(n)[0] == dkey}
        assert methods >= set(R_METHODS) - ({"likelihood"} if fixture == "rclus1" else set()), dkey


@pytest.mark.filterwarnings("ignore:logistic fit of the proportion did not converge")
@pytest.mark.parametrize("name", [n for n in CIPROP if not np.isnan(REFS[n].values).any()])
def test_svyciprop_matches_r(designs, name):
    """R: ci(svyciprop(~I(...), design, method = ...)) = (estimate, SE, lower, upper)."""
    ref = REFS[name]
    got = _sipas_ciprop(designs, name)
    se_rel = REL_CAL_SE if name.startswith("CIPROP_CAL") else REL
    # for "logit"/"likelihood" R reports expit() of its GLM coefficient, p-hat to glm's tolerance
    # (2.9e-12 for p-hat = 0 where glm stops unconverged); sipas reports p-hat itself
    close(got.estimate, ref, "estimate", abs_=1e-9 if _case(name)[3] in ("logit", "likelihood") else 0.0)
    close(got.se, ref, "se", rel=se_rel)
    close(got.ci_low, ref, "lower")
    close(got.ci_high, ref, "upper")


@pytest.mark.parametrize("name", [n for n in CIPROP if np.isnan(REFS[n].values).any()])
def test_likelihood_on_replicate_designs_is_refused_where_r_returns_na(designs, name):
    """R survey 4.1-1 gives NA limits for method = "likelihood" on replicate designs; sipas raises."""
    ref = REFS[name]
    assert _case(name)[3] == "likelihood" and DESIGNS[_case(name)[0]][0] == "rclus1"
    assert np.isnan(ref["lower"]) and np.isnan(ref["upper"]), str(ref)
    assert not np.isnan(ref["estimate"])
    with pytest.raises(EstimationError, match="replicate-weight designs"):
        _sipas_ciprop(designs, name)


def test_logit_in_a_domain_without_successes_follows_r_glm(designs):
    """p = 0: R's glm stops after 25 iterations without converging; sipas follows it and warns."""
    ref = REFS["CIPROP_DOMAIN_E_HIGH_LOGIT"]
    with pytest.warns(RuntimeWarning, match="did not converge"):
        out = svyciprop(designs["dclus1"], "high", by="stype", ci_method="logit")
    row = out[out["stype"] == "E"].iloc[0]
    assert row.estimate == 0.0 and 0 < ref["estimate"] < 1e-9  # R: expit of the unconverged coefficient
    close(row.ci_low, ref, "lower")
    close(row.ci_high, ref, "upper")


@pytest.mark.parametrize("name, x", [("SPLINE_FMM_5", [0, 0.5, 1.5, 2, 3.5]), ("SPLINE_FMM_4", [-1, 0.2, 1, 4]),
                                     ("SPLINE_FMM_3", [1, 2, 4])])
def test_fmm_spline_matches_r_spline(name, x):
    from sipas.estimation.propci import _fmm_spline

    ref = REFS[name]
    y = {"SPLINE_FMM_5": [0, 1, -1, 2, 0.5], "SPLINE_FMM_4": [2, -1, 0.5, 3], "SPLINE_FMM_3": [1, 3, 2]}[name]
    xs = np.linspace(x[0], x[-1], ref.values.size)
    np.testing.assert_allclose(_fmm_spline(np.array(x, float), np.array(y, float), xs), ref.values, rtol=1e-12,
                               atol=1e-13, err_msg=str(ref))


def test_design_ciprop_delegates(designs):
    ref = REFS["CIPROP_CLUS1_SCHWIDE_L90_LIKELIHOOD"]
    e = designs["dclus1"].ciprop("schwide", level=0.90, ci_method="likelihood")
    close(e.ci_low, ref, "lower")
    close(e.ci_high, ref, "upper")


# domains through Design.proportion (per-level intervals from (p, se, df, n)): R's subset()
# of an uncalibrated linearisation design keeps only the domain's rows, so n and degf are the
# domain's (df="domain"); "logit" and "likelihood" refit R's GLM for each level's indicator
@pytest.mark.parametrize(
    "name",
    [n for n in CIPROP if _case(n)[0] in ("DOMAIN_E", "DOMAIN_M", "DOMAIN_H", "CLUS1", "STRAT", "REP")
     and _case(n)[1] != "AVGED3" and not _case(n)[2]
     and not (_case(n)[0] == "REP" and _case(n)[3] == "likelihood")  # R: NA, sipas refuses (below)
     and not (n.startswith("CIPROP_DOMAIN_E_HIGH") and _case(n)[3] not in ("logit", "likelihood"))],
)
def test_proportion_by_domain_matches_r(designs, name):
    dkey, vkey, _, method = _case(name)
    fixture, by, level = DESIGNS[dkey]
    ref = REFS[name]
    out = designs[fixture].proportion(VARIABLES[vkey], by=by, df="domain" if by else None, ci_method=method)
    row = out[out["level"] == 1.0]
    if by is not None:
        row = row[row[by] == level]
    row = row.iloc[0]
    if ref["estimate"] > 1e-9:  # at p = 0 R prints the unconverged GLM's 2.9e-12
        close(row.estimate, ref, "estimate")
    close(row.se, ref, "se")
    close(row.ci_low, ref, "lower", abs_=1e-15)
    close(row.ci_high, ref, "upper")


def test_proportion_logit_on_a_replicate_design_is_not_the_delta_method(designs):
    """R's "logit" refits the GLM under each replicate; the delta method ("xlogit") differs there."""
    out = designs["rclus1"].proportion("schwide", ci_method="logit")
    row = out[out["level"] == 1.0].iloc[0]
    close(row.ci_low, REFS["CIPROP_REP_SCHWIDE_LOGIT"], "lower")
    xl = designs["rclus1"].proportion("schwide", ci_method="xlogit")
    xrow = xl[xl["level"] == 1.0].iloc[0]
    close(xrow.ci_low, REFS["CIPROP_REP_SCHWIDE_XLOGIT"], "lower")
    assert abs(row.ci_low - xrow.ci_low) > 1e-4


def test_proportion_refuses_likelihood_on_replicates_and_unknown_methods(designs):
    with pytest.raises(EstimationError, match="replicate"):
        designs["rclus1"].proportion("stype", ci_method="likelihood")
    with pytest.raises(EstimationError, match="unknown ci_method"):
        designs["dclus1"].proportion("stype", ci_method="clopper")


def test_beta_uses_design_df_whatever_df(designs):
    """R's "beta" ignores df= (it uses degf(design)): same interval with df = 5, Inf or the default."""
    a, b, c = (REFS[f"CIPROP_CLUS1_SCHWIDE{s}_BETA"] for s in ("", "_DF5", "_DFINF"))
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.values, c.values)
    e = svyciprop(designs["dclus1"], "schwide", df=5, ci_method="beta")
    close(e.ci_low, b, "lower")


def test_prop_interval_logit_is_delta_method_and_mean_is_wald():
    p, se = np.array([0.3]), np.array([0.05])
    lo, hi = prop_interval(p, se, level=0.95, df=np.array([10.0]), method="logit", n_rows=np.array([50]))
    lo2, hi2 = prop_interval(p, se, level=0.95, df=np.array([10.0]), method="xlogit", n_rows=np.array([50]))
    np.testing.assert_array_equal(lo, lo2)
    np.testing.assert_array_equal(hi, hi2)
    lo, hi = prop_interval(p, se, level=0.95, df=np.array([np.inf]), method="mean", n_rows=np.array([50]))
    assert hi[0] - p[0] == pytest.approx(1.959963984540054 * 0.05, rel=1e-12)
    assert p[0] - lo[0] == pytest.approx(hi[0] - p[0], rel=1e-12)


def test_svyciprop_rejects_non_proportions(designs):
    with pytest.raises(EstimationError, match=r"within \[0, 1\]"):
        svyciprop(designs["dclus1"], "api00", ci_method="mean")


# ------------------------------------------------------------------ trimWeights
def _trimmed(designs):
    g = designs["dclus1g"]
    return {"CAL": g, "TRIM": trim(g, lower=20, upper=45), "TRIM_STRICT": trim(g, lower=20, upper=45, strict=True)}


def test_calibrated_weights_match_r(designs):
    ref = REFS["CAL_WEIGHTS"]  # weights(dclus1g)
    np.testing.assert_allclose(designs["dclus1g"].weights.to_numpy(), ref.values, rtol=REL, err_msg=str(ref))


@pytest.mark.parametrize("key", ["TRIM", "TRIM_STRICT"])
def test_trimmed_weights_match_r(designs, key):
    ref = REFS[f"{key}_WEIGHTS"]
    w = _trimmed(designs)[key].weights.to_numpy()
    np.testing.assert_allclose(w, ref.values, rtol=REL, err_msg=str(ref))
    assert w.sum() == pytest.approx(designs["dclus1g"].weights.sum(), rel=1e-12)
    assert w.min() >= 20
    if key == "TRIM_STRICT":
        assert w.max() <= 45
    else:
        assert w.max() > 45  # the shares pushed weights past the bound again: R's example


def _close_se(got: float, ref: RRef, key: str, estimate: float) -> None:
    want = ref[key]
    if want < 1e-9 * abs(estimate):  # calibrated: exactly zero but for rounding
        assert got < 1e-9 * abs(estimate), f"{ref.name}[{key}]: sipas {got!r}, {ref}"
    else:
        close(got, ref, key, rel=REL_CAL_SE)


@pytest.mark.parametrize("key", ["CAL", "TRIM", "TRIM_STRICT"])
def test_svymean_after_calibration_and_trimming(designs, key):
    """R: svymean(~api99 + api00 + stype, <design>)."""
    des = _trimmed(designs)[key]
    est, se = REFS[f"{key}_MEAN"], REFS[f"{key}_MEAN_SE"]
    got = des.mean(["api99", "api00", "stypeE", "stypeH", "stypeM"])
    for (_, row), name in zip(got.iterrows(), ["api99", "api00", "stypeE", "stypeH", "stypeM"]):
        close(row.estimate, est, name)
        _close_se(row.se, se, name, row.estimate)
    props = des.proportion("stype")  # the factor as R's svymean sees it
    for s in ("E", "H", "M"):
        close(float(props.loc[props["level"] == s, "estimate"].iloc[0]), est, f"stype{s}")


def test_svytotal_after_trimming(designs):
    des = _trimmed(designs)["TRIM"]
    est, se = REFS["TRIM_TOTAL"], REFS["TRIM_TOTAL_SE"]
    got = des.total(["api00", "stypeE", "stypeH", "stypeM"])
    for (_, row), name in zip(got.iterrows(), ["api00", "stypeE", "stypeH", "stypeM"]):
        close(row.estimate, est, name)
        close(row.se, se, name, rel=REL_CAL_SE)


def test_trim_uncalibrated_cluster_design_without_weights_outside(designs):
    """dclus1: every weight is 33.847, inside [20, 40]: nothing changes (R returns the design)."""
    d = designs["dclus1"]
    t = trim(d, lower=20, upper=40)
    assert t is d
    np.testing.assert_allclose(t.weights.to_numpy(), REFS["CLUS1_TRIM_WEIGHTS"].values, rtol=REL)
    close(t.mean("api00").se, REFS["CLUS1_TRIM_MEAN_SE"], 0)


@pytest.mark.parametrize("key, strict", [("STRAT_TRIM", False), ("STRAT_TRIM_STRICT", True)])
def test_trim_uncalibrated_stratified_design(designs, key, strict):
    t = trim(designs["dstrat"], lower=18, upper=35, strict=strict)
    ref = REFS[f"{key}_WEIGHTS"]
    np.testing.assert_allclose(t.weights.to_numpy(), ref.values, rtol=REL, err_msg=str(ref))
    assert not t.is_calibrated
    m = t.mean(["api00", "api99"])
    for i, name in enumerate(["api00", "api99"]):
        close(float(m.estimate.iloc[i]), REFS[f"{key}_MEAN"], name)
        close(float(m.se.iloc[i]), REFS[f"{key}_MEAN_SE"], name)
    assert (t.weights.max() > 35) is not strict


def test_trim_refuses_when_every_weight_is_outside(designs):
    """R only clips when no weight is inside (its total changes: 6194 -> 6500); sipas refuses."""
    ref = REFS["STRAT_TRIM_ALL_OUTSIDE_TOTAL"]
    assert ref.values[0] == pytest.approx(designs["dstrat"].weights.sum(), rel=1e-12)
    assert ref.values[1] != pytest.approx(ref.values[0], rel=1e-3), str(ref)
    with pytest.raises(DesignError, match="every weight is outside"):
        trim(designs["dstrat"], lower=25, upper=40)


def test_strict_trim_with_impossible_bounds_raises_instead_of_looping(designs):
    # mean weight 30.97 > 25: no weight vector within [10, 25] keeps the total (R recurses forever)
    with pytest.raises(DesignError, match="impossible"):
        trim(designs["dstrat"], lower=10, upper=25, strict=True)
    t = trim(designs["dstrat"], lower=10, upper=25)  # one round is well defined
    assert t.weights.sum() == pytest.approx(designs["dstrat"].weights.sum(), rel=1e-12)


def test_trim_refuses_replicate_designs(designs):
    with pytest.raises(DesignError, match="linearisation design"):
        trim(designs["rclus1"], lower=20, upper=40)


@pytest.mark.parametrize("fixture, ref_name, index", [("dclus1", "DEGF_DOMAIN_E", 0), ("dclus1", "DEGF_DOMAIN_H", 0),
                                                      ("rclus1", "DEGF_DOMAIN_H", 1)])
def test_domain_df_is_r_degf_of_the_subset(designs, fixture, ref_name, index):
    """With by= and no df, each domain gets R's degf(subset(design, ...)) (replicates: rank - 1)."""
    level = "E" if ref_name.endswith("_E") else "H"
    out = svyciprop(designs[fixture], "schwide", by="stype", ci_method="mean")
    assert float(out.loc[out["stype"] == level, "df"].iloc[0]) == REFS[ref_name].values[index], str(REFS[ref_name])

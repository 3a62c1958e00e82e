"""The ``svy`` library (0.35.0) held to the same R ``survey`` 4.1-1 references as sipas.

The project guide recommends ``svy`` where it fits and asks for its numbers to be checked
against the references too.  This module runs svy on the designs of
``tests/results/r/survey_taylor.R``, ``survey_replicates.R`` and ``survey_ciprop_trim.R``
(R's ``api`` and ``scd`` data) and compares every number at relative tolerance 1e-6
(standard errors after calibration 1e-5), with the R command in each assertion message.
Where svy disagrees with R the case is marked ``xfail(strict=True)``, so the test fails
(XPASS) the day svy changes.

What matches R (to ~1e-13 unless noted)
    Taylor means, totals and ratios on ``dclus1`` (one-stage cluster, fpc), ``dstrat``
    (stratified, fpc), ``dclus2`` (two stages, fpc at both: ``svy.PopSize``) and
    ``dclus2wr`` (two stages, with replacement); proportions and totals of factor
    levels; ``svyby`` domains (one and two ``by`` variables, means, totals, ratios, with
    missing values dropped); design effects (``deff="wor"``); design degrees of freedom
    and t intervals; contrasts of domain estimates; lonely PSUs (``skip`` = R
    remove/certainty, ``center`` = adjust for means, ``scale`` = average without fpc);
    post-stratification (one and two-way cells), raking (``rake()`` also equals R's
    ``calibrate(calfun="raking")`` on categorical margins) and linear calibration
    (weights and SEs, one- and two-stage); replicate designs with given BRR/Fay weights
    (``mse=TRUE`` = ``variance_center="estimate"``); BRR/Fay/JKn replicate weights built
    on ``scd`` (identical to R's); JK1/JKn without fpc; bootstrap with R's replicate
    weights and scale; post-stratified, raked and calibrated replicate designs;
    replicate contrasts (R's default ``rake()`` control stops after 4 sweeps: svy's
    ``max_iter=4`` reproduces it); ``svyciprop`` "logit" and "beta" on Taylor designs (logit to
    ~1e-8: R fits a GLM), "xlogit" and "beta" on replicate designs, "mean" via
    ``estimation.mean``.

Disagreements (svy vs R; each is an xfail below)
    * Jackknife replicates ignore the design's fpc: ``create_jk_wgts()`` gives JK1
      coefficient (n-1)/n = 0.93333 where R's ``as.svrepdesign`` uses
      (n-1)/n * (1 - n/N) = 0.91484 (dclus1), and JKn (n_h-1)/n_h where R uses
      (n_h-1)/n_h * (1 - n_h/N_h).  SEs too large: dclus1 JK1 mean api00 26.59416 vs
      26.32936 (+1.0%); dstrat JKn total enroll 117319.09 vs 114641.72 (+2.3%); scd JKn
      with fpc=5 mean alive 3.58236 vs 2.77489 (+29%).  Passing R's coefficients as
      ``scale=`` gives R's numbers (tested), also for mse=TRUE and after calibration.
    * BRR on many strata (``create_brr_wgts``): with Hadamard orders 36, 40, 52, 56, 76,
      92, 100 (32-39, 48-55, 72-75, 84-99 strata) svy gives one stratum a replicate
      column whose signs sum to 8-16 instead of 0, so the design loses full orthogonal
      balance: with R's default centring on the replicate mean the
      SE of a mean falls below R's (33 strata, mean api00 14.83262 vs 14.91503, -0.55%;
      R equals the with-replacement linearisation value).  svy's matrices also differ
      from R's in general (25 strata: order 32 vs R's 28), so BRR/Fay SEs of ratios
      differ by -2.5% to +2.5% (11 strata 0.00659126 vs 0.0067576).
    * Lonely PSU ``center`` on a total: svy centres the lonely PSU's total at the mean
      PSU total, as current R survey (CRAN, later than 4.1-1) and sipas do (cran/survey tests/lonely.psu.R: 127579.8);
      Debian's survey 4.1-1 ("adjust") left it uncentred (562225).  Tested against the
      current-R value, not counted as an svy disagreement.
    * A certainty stratum (one PSU, N_h = 1, so f = 1) counts as a singleton in svy: with
      no singleton rule svy raises ``SingletonError`` where R returns SE 5.734396, and
      ``scale`` inflates by 15/14: 5.935663 vs 5.734396 (+3.5%).
    * A design with ``pop_size`` and no weight is estimated unweighted (mean api00 of
      apiclus2 703.810 vs 670.812); R derives the weights from the population sizes.
    * Degrees of freedom with missing values: svy uses the PSUs holding non-missing values
      (37) where R's interval uses ``degf(design)`` = 39: dclus2wr total enroll lower
      bound 977265.98 vs 980138.16.
    * ``svyciprop(method="beta")``: svy's Korn-Graubard effective-n adjustment uses the
      number of non-missing rows in the domain, R ``nrow(design)`` (all rows with
      ``na.rm``; all 183 rows for a subset of a calibrated design): avg.ed > 3 lower
      bound 0.13221145 vs 0.13207554, calibrated high-school domain 0.19395513 vs
      0.17137106; on a replicate domain svy's df is 14 (replicates - 1), R's
      ``degf(subset())`` 7: 0.52864114 vs 0.49746566.
    * ``svyciprop(method="logit")`` on replicate designs: R refits the logistic GLM in
      every replicate; svy uses the delta method (= R's "xlogit", which matches):
      lower bound 0.82324138 vs 0.82346355 (sch.wide) to 0.51081517 vs 0.46495049 (high
      schools); with ell == 0, where some replicates have no case, R returns (7.9e-19, 1).

Missing in svy 0.35.0 (R references not testable)
    * Bounded calibration (``calibrate(bounds=)`` raises NOT_SUPPORTED) and raking-
      distance calibration on a continuous auxiliary (no ``calfun``): GREG_BOUNDED_*,
      CALRAKE_API99_*, CALRAKE_BOUNDED_*, CALRAKE_TIGHT_BOUNDS_FAILS, RCLUS1GR_*.
    * Population sizes given as sampling fractions (``pop_size`` < 1 raises):
      DSTRATF_*, DCLUS2F_* (the same numbers with counts are tested).
    * A given Hadamard matrix for BRR (R ``hadamard.matrix=paley(11)``; ``n_reps`` above
      the Hadamard order is refused): SCD2BRR1_*.
    * Normal-quantile intervals or a chosen df (R ``confint()`` without df,
      ``svyciprop(df=Inf)``, ``df=5``): DCLUS1_MEAN_API00_CI_NORMAL, CIPROP_*_DFINF/_DF5.
    * ``svyciprop`` methods "likelihood" and "asin".
    * Not compared: a proportion of exactly 0 (R's unconverged GLM gives 2.9e-12, svy 0
      with NaN bounds), Bootstrap replicate draws (R's random numbers), R's JK1
      replicate order (svy's differs; it matters only when passing per-replicate
      coefficients), ``trimWeights``.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import numpy as np
import pandas as pd
import polars as pl
import pytest

from tests.results.r_refs import RRef, load

svy = pytest.importorskip("svy")
from svy.errors.singleton_errors import SingletonError  # noqa: E402

API = Path("/work/shared/reference-data/api")
pytestmark = pytest.mark.skipif(not API.exists(), reason="api reference data not available")

REL = 1e-6
REL_CAL = 1e-5
TAYLOR = load("survey_taylor")
REPS = load("survey_replicates")
CIPROP = load("survey_ciprop_trim")

POP_TYPES = {"E": 4421.0, "H": 755.0, "M": 1018.0}
POP_SCHWIDE = {"No": 1072.0, "Yes": 5122.0}
POP_CELLS = {("E", "No"): 472.0, ("H", "No"): 334.0, ("M", "No"): 266.0,
             ("E", "Yes"): 3949.0, ("H", "Yes"): 421.0, ("M", "Yes"): 752.0}
API99_TOTAL = 3914069.0


def xfail(reason: str):
    return pytest.mark.xfail(strict=True, reason=f"svy 0.35.0: {reason}")


def check(got, ref: RRef, key: str | None = None, *, rel: float = REL, atol: float = 0.0) -> None:
    """svy's number(s) against an R reference (one named value, or all of them)."""
    want = ref.values if key is None else np.array([ref[key]])
    got = np.atleast_1d(np.asarray(got, dtype=float))
    np.testing.assert_allclose(got, want, rtol=rel, atol=atol, err_msg=f"{ref.name}[{key}] {ref}")


def check_coefficients(got, prefix: str, *, as_set: bool = False) -> None:
    """svy's replicate variance coefficients against R's ``scale * rscales``."""
    ref = REPS[prefix + "_RSCALES"]
    want = REPS[prefix + "_SCALE"].value * ref.values
    got = np.asarray(got, dtype=float)
    if as_set:  # svy orders the replicates differently from R
        got, want = np.unique(got.round(12)), np.unique(want.round(12))
    np.testing.assert_allclose(got, want, rtol=REL, err_msg=f"{prefix}_SCALE * {prefix}_RSCALES {ref}")


def one(result, column: str = "est") -> float:
    frame = result.to_polars()
    assert frame.height == 1
    return float(frame[column][0])


def check_by(result, ref: RRef, by: list[str], *, est: str, se: str | None = None, deff: str | None = None,
             level: tuple[str, object] | None = None, rel_se: float = REL) -> None:
    """Every domain of an R ``svyby`` result (names "<row>:<column>") against svy's rows."""
    frame = result.to_polars()
    if level is not None:
        frame = frame.filter(pl.col(level[0]) == level[1])
    rows = {".".join(str(frame[b][i]) for b in by): i for i in range(frame.height)}
    domains = [n.split(":", 1)[0] for n in ref.names if n.split(":", 1)[1] == est]
    assert sorted(domains) == sorted(rows), f"domains differ: {ref}"
    for d in domains:
        i = rows[d]
        check(frame["est"][i], ref, f"{d}:{est}")
        if se is not None:
            check(frame["se"][i], ref, f"{d}:{se}", rel=rel_se)
        if deff is not None:
            check(frame["deff"][i], ref, f"{d}:{deff}")


# ------------------------------------------------------------------ data and designs (as in the R setup)
def _read(name: str) -> pl.DataFrame:
    d = pd.read_csv(API / f"{name}.csv", index_col=0)
    return pl.from_pandas(d)


@pytest.fixture(scope="module")
def api() -> dict[str, pl.DataFrame]:
    indicators = [
        (pl.col("ell") == 0).cast(pl.Int64).alias("ell0"),
        (pl.col("stype") == "H").cast(pl.Int64).alias("high"),
        (pl.col("sch.wide") == "Yes").cast(pl.Int64).alias("schwide"),
        (pl.col("api00") > 800).cast(pl.Int64).alias("api800"),
        (pl.col("avg.ed") > 3).cast(pl.Int64).alias("avged3"),
    ]
    return {
        "apiclus1": _read("apiclus1").with_columns(indicators),
        "apistrat": _read("apistrat").with_columns(indicators),
        "apiclus2": _read("apiclus2"),
        "apisrs": _read("apisrs"),
        "scd": _read("scd").with_columns(pl.lit(1.0).alias("w")),
    }


# svy samples are rebuilt per use: update_design() changes a sample in place.
def dclus1(api):
    return svy.Sample(api["apiclus1"], svy.Design(psu="dnum", wgt="pw", pop_size="fpc"))


def dclus1n(api):
    return svy.Sample(api["apiclus1"], svy.Design(psu="dnum", wgt="pw"))


def dstrat(api):
    return svy.Sample(api["apistrat"], svy.Design(stratum="stype", wgt="pw", pop_size="fpc"))


def dstrat_psu(api, fpc: bool = True):
    """dstrat with the schools named as PSUs (svy's jackknife needs a PSU column)."""
    return svy.Sample(api["apistrat"], svy.Design(stratum="stype", psu="snum", wgt="pw",
                                                  pop_size="fpc" if fpc else None))


def dclus2(api):
    return svy.Sample(api["apiclus2"], svy.Design(psu="dnum", ssu="snum", wgt="pw",
                                                  pop_size=svy.PopSize(psu="fpc1", ssu="fpc2")))


def dclus2wr(api):
    return svy.Sample(api["apiclus2"], svy.Design(psu="dnum", ssu="snum", wgt="pw"))


def dclus1g(api, stype=POP_TYPES):
    """calibrate(dclus1, ~stype+api99, pop.totals)"""
    return dclus1(api).weighting.calibrate(controls={svy.Cat("stype"): stype, "api99": API99_TOTAL})


def with_scale(sample, scale):
    """The sample's replicate weights with the given variance coefficients (R's scale * rscales)."""
    rw = sample.design.rep_wgts
    return sample.update_design(rep_wgts=msgspec.structs.replace(rw, scale=scale, rep_coefs=None))


def jk_fpc_coefficients(sample, stratum: str | None, popsize: str) -> list[float]:
    """R's as.svrepdesign JK1/JKn coefficients with fpc: (n_h-1)/n_h * (1 - n_h/N_h) per replicate."""
    data = sample.data
    cols = sample.design.rep_wgts.columns_from_data(data.columns)
    w = data.select(cols).to_numpy()
    h = data[stratum].to_numpy() if stratum else np.zeros(data.height)
    psu = data[sample.design.rep_wgts.psu].to_numpy()
    N = data[popsize].to_numpy()
    out = []
    for r in range(w.shape[1]):
        i = int(np.flatnonzero(w[:, r] == 0)[0])
        n_h = len(np.unique(psu[h == h[i]]))
        out.append((n_h - 1) / n_h * (1 - n_h / N[i]))
    return out


def rclus1(api):
    """as.svrepdesign(dclus1, type="JK1"), fpc passed to svy as the coefficient"""
    s = dclus1(api).weighting.create_jk_wgts()
    return with_scale(s, jk_fpc_coefficients(s, None, "fpc"))


def rstrat(api):
    """as.svrepdesign(dstrat, type="JKn"), fpc passed to svy as the coefficients"""
    s = dstrat_psu(api).weighting.create_jk_wgts()
    return with_scale(s, jk_fpc_coefficients(s, "stype", "fpc"))


REP = {"method": "replication"}


# ================================================================== Taylor linearisation (survey_taylor.R)
@pytest.mark.parametrize("prefix, design, stat, var", [
    ("DSTRAT_TOTAL_ENROLL", dstrat, "total", "enroll"),
    ("DCLUS1_TOTAL_ENROLL", dclus1, "total", "enroll"),
    ("DCLUS2_MEAN_API00", dclus2, "mean", "api00"),
    ("DCLUS2_TOTAL_ENROLL", dclus2, "total", "enroll"),
    ("DCLUS2WR_MEAN_API00", dclus2wr, "mean", "api00"),
    ("DCLUS2WR_TOTAL_ENROLL", dclus2wr, "total", "enroll"),
])
def test_means_and_totals(api, prefix, design, stat, var):
    res = getattr(design(api).estimation, stat)(var, method="taylor", drop_nulls=True)
    check(one(res), TAYLOR[prefix])
    check(one(res, "se"), TAYLOR[prefix + "_SE"])


def test_two_stage_fpc_api99(api):
    check(one(dclus2(api).estimation.mean("api99"), "se"), TAYLOR["DCLUS2_MEAN_API99_SE"])
    check(one(dclus2(api).estimation.total("api99"), "se"), TAYLOR["DCLUS2_TOTAL_API99_SE"])


@pytest.mark.xfail(strict=True, reason="svy 0.35.0: a design with pop_size and no wgt is estimated unweighted "
                   "(mean api00 703.810 vs R 670.812, R derives the weights from fpc1, fpc2)")
def test_two_stage_weights_from_population_sizes(api):
    # R: svydesign(id=~dnum+snum, fpc=~fpc1+fpc2, data=apiclus2) -- no weights given
    s = svy.Sample(api["apiclus2"], svy.Design(psu="dnum", ssu="snum", pop_size=svy.PopSize(psu="fpc1", ssu="fpc2")))
    check(one(s.estimation.mean("api00")), TAYLOR["DCLUS2_MEAN_API00"])
    check(one(s.estimation.mean("api00"), "se"), TAYLOR["DCLUS2_MEAN_API00_SE"])


@pytest.mark.parametrize("prefix, design", [("DSTRAT", dstrat), ("DCLUS2", dclus2)])
def test_ratios(api, prefix, design):
    res = design(api).estimation.ratio("api00", "api99")
    check(one(res), TAYLOR[prefix + "_RATIO"])
    check(one(res, "se"), TAYLOR[prefix + "_RATIO_SE"])


@pytest.mark.parametrize("name, design, by", [
    ("DCLUS1_RATIO_BY_STYPE", dclus1, "stype"), ("DSTRAT_RATIO_BY_SCHWIDE", dstrat, "sch.wide"),
])
def test_domain_ratios(api, name, design, by):
    res = design(api).estimation.ratio("api00", "api99", by=by)
    check_by(res, TAYLOR[name], [by], est="api00/api99", se="se.api00/api99")


def test_factor_proportions_and_totals(api):
    frame = dclus1(api).estimation.prop("stype", deff="wor").to_polars()
    for lv, e, se, deff in frame.select("stype", "est", "se", "deff").iter_rows():
        check(e, TAYLOR["DCLUS1_MEAN_STYPE"], f"stype{lv}")
        check(se, TAYLOR["DCLUS1_MEAN_STYPE_SE"], f"stype{lv}")
        check(deff, TAYLOR["DCLUS1_MEAN_STYPE_DEFF"], f"stype{lv}")
    frame = dclus1(api).estimation.total("stype", as_factor=True).to_polars()
    for lv, e, se in frame.select("stype", "est", "se").iter_rows():
        check(e, TAYLOR["DCLUS1_TOTAL_STYPE"], f"stype{lv}")
        check(se, TAYLOR["DCLUS1_TOTAL_STYPE_SE"], f"stype{lv}")
    frame = dclus2(api).estimation.prop("sch.wide").to_polars()
    for lv, e, se in frame.select("sch.wide", "est", "se").iter_rows():
        check(e, TAYLOR["DCLUS2_MEAN_SCHWIDE"], f"sch.wide{lv}")
        check(se, TAYLOR["DCLUS2_MEAN_SCHWIDE_SE"], f"sch.wide{lv}")
    frame = dclus2(api).estimation.total("sch.wide", as_factor=True).to_polars()
    for lv, e, se in frame.select("sch.wide", "est", "se").iter_rows():
        check(e, TAYLOR["DCLUS2_TOTAL_SCHWIDE"], f"sch.wide{lv}")
        check(se, TAYLOR["DCLUS2_TOTAL_SCHWIDE_SE"], f"sch.wide{lv}")
    assert frame.height == 2 and len(TAYLOR["DCLUS2_TOTAL_SCHWIDE"].values) == 2


def test_domain_proportions(api):
    res = dstrat(api).estimation.prop("awards", by="stype")
    for lv in ("No", "Yes"):
        check_by(res, TAYLOR["DSTRAT_MEAN_AWARDS_BY_STYPE"], ["stype"], est=f"awards{lv}", se=f"se.awards{lv}",
                 level=("awards", lv))


def test_domain_means_two_by_variables_with_deff(api):
    for y in ("api00", "api99"):
        res = dclus2(api).estimation.mean(y, by=("stype", "sch.wide"), deff="wor", drop_nulls=True)
        check_by(res, TAYLOR["DCLUS2_BY_STYPE_SCHWIDE"], ["stype", "sch.wide"], est=y, se=f"se.{y}", deff=f"DEff.{y}")


@pytest.mark.parametrize("name, design, by, deff", [
    ("DCLUS2_TOTAL_ENROLL_BY_STYPE", dclus2, "stype", False),
    ("DCLUS2WR_TOTAL_ENROLL_BY_STYPE", dclus2wr, "stype", False),
    ("DSTRAT_TOTAL_ENROLL_BY_SCHWIDE", dstrat, "sch.wide", True),
])
def test_domain_totals(api, name, design, by, deff):
    res = design(api).estimation.total("enroll", by=by, drop_nulls=True, deff="wor" if deff else None)
    check_by(res, TAYLOR[name], [by], est="enroll", se="se", deff="DEff.enroll" if deff else None)


def test_design_effects(api):
    check(one(dclus2(api).estimation.mean("api00", deff="wor"), "deff"), TAYLOR["DCLUS2_MEAN_API00_DEFF"])
    check(one(dclus2(api).estimation.total("enroll", deff="wor", drop_nulls=True), "deff"),
          TAYLOR["DCLUS2_TOTAL_ENROLL_DEFF"])
    check(one(dclus1(api).estimation.total("enroll", deff="wor"), "deff"), TAYLOR["DCLUS1_TOTAL_ENROLL_DEFF"])
    for y in ("api00", "api99", "enroll"):
        check(one(dstrat(api).estimation.mean(y, deff="wor"), "deff"), TAYLOR["DSTRAT_MEAN_DEFF"], y)


def test_degrees_of_freedom_and_t_intervals(api):
    check(one(dclus2(api).estimation.mean("api00"), "df"), TAYLOR["DEGF_DCLUS2"])
    check(one(dclus2wr(api).estimation.mean("api00"), "df"), TAYLOR["DEGF_DCLUS2WR"])
    res = dclus2(api).estimation.mean("api00")
    check([one(res, "lci"), one(res, "uci")], TAYLOR["DCLUS2_MEAN_API00_CI"])
    res = dstrat(api).estimation.ratio("api00", "api99")
    check([one(res, "lci"), one(res, "uci")], TAYLOR["DSTRAT_RATIO_CI"])


@xfail("with missing values the df is the number of PSUs holding non-missing values minus strata (37), "
       "R's interval uses degf(dclus2wr) = 39: lower bound 977265.98 vs 980138.16")
def test_interval_df_with_missing_values(api):
    res = dclus2wr(api).estimation.total("enroll", drop_nulls=True)
    check([one(res, "lci"), one(res, "uci")], TAYLOR["DCLUS2WR_TOTAL_ENROLL_CI"])


def test_missing_values(api):
    res = dclus1(api).estimation.mean("avg.ed", drop_nulls=True, deff="wor")
    check(one(res), TAYLOR["DCLUS1_MEAN_AVGED"])
    check(one(res, "se"), TAYLOR["DCLUS1_MEAN_AVGED_SE"])
    check(one(res, "deff"), TAYLOR["DCLUS1_MEAN_AVGED_DEFF"])
    res = dstrat(api).estimation.total("acs.k3", drop_nulls=True)
    check(one(res), TAYLOR["DSTRAT_TOTAL_ACSK3"])
    check(one(res, "se"), TAYLOR["DSTRAT_TOTAL_ACSK3_SE"])
    res = dclus2(api).estimation.mean("enroll", drop_nulls=True)
    check(one(res), TAYLOR["DCLUS2_MEAN_ENROLL"])
    check(one(res, "se"), TAYLOR["DCLUS2_MEAN_ENROLL_SE"])
    check_by(dclus2(api).estimation.mean("acs.46", by="sch.wide", drop_nulls=True),
             TAYLOR["DCLUS2_MEAN_ACS46_BY_SCHWIDE"], ["sch.wide"], est="acs.46", se="se")
    check_by(dclus2(api).estimation.mean("enroll", by=("stype", "sch.wide"), drop_nulls=True),
             TAYLOR["DCLUS2_MEAN_ENROLL_BY_STYPE_SCHWIDE"], ["stype", "sch.wide"], est="enroll", se="se")


@pytest.mark.parametrize("refs, name, design, stat, var, by, a, b", [
    (TAYLOR, "DCLUS1_CONTRAST_E_H", dclus1, "mean", "api00", "stype", "E", "H"),
    (TAYLOR, "DCLUS2_CONTRAST_YES_NO", dclus2, "mean", "api00", "sch.wide", "Yes", "No"),
    (TAYLOR, "DCLUS2_TOTAL_CONTRAST_E_M", dclus2, "total", "api99", "stype", "E", "M"),
    (REPS, "CONTRAST_TAYLOR", dclus1, "mean", "api00", "stype", "E", "H"),
    (REPS, "CONTRAST_TAYLOR_TOTAL", dclus1, "total", "enroll", "stype", "H", "M"),
])
def test_contrasts(api, refs, name, design, stat, var, by, a, b):
    res = getattr(design(api).estimation, stat)(var, by=by).contrast(svy.estd(a) - svy.estd(b))
    check(one(res), refs[name])
    check(one(res, "se"), refs[name + "_SE"])


# ------------------------------------------------------------------ lonely PSUs
def _lonely(api, rule, fpc=False):
    data = api["apiclus1"].with_columns(
        pl.when(pl.col("dnum") == 413).then(1).otherwise(1000).alias("fpcx"))
    return svy.Sample(data, svy.Design(stratum="dnum", wgt="pw", singleton=rule, pop_size="fpcx" if fpc else None))


@pytest.mark.parametrize("rule, name, stat, var, fpc", [
    ("skip", "LONELY_REMOVE_SE", "mean", "api00", False),
    ("skip", "LONELY_CERTAINTY_SE", "mean", "api00", False),
    ("center", "LONELY_ADJUST_SE", "mean", "api00", False),
    ("scale", "LONELY_AVERAGE_SE", "mean", "api00", False),
    ("scale", "LONELY_AVERAGE_TOTAL_SE", "total", "enroll", False),
    ("skip", "LONELY_FPC_REMOVE_SE", "mean", "api00", True),
    ("center", "LONELY_FPC_ADJUST_SE", "mean", "api00", True),
    pytest.param("scale", "LONELY_FPC_AVERAGE_SE", "mean", "api00", True, marks=xfail(
        "a certainty stratum (N_h = n_h = 1) is counted as a singleton, so 'scale' inflates by 15/14: "
        "5.935663 vs 5.734396")),
    pytest.param(None, "LONELY_FPC_FAIL_SE", "mean", "api00", True, marks=pytest.mark.xfail(
        strict=True, raises=SingletonError, reason="svy 0.35.0: a certainty stratum (N_h = n_h = 1) raises "
        "SingletonError without a singleton rule; R treats it as contributing no variance (SE 5.734396)")),
])
def test_lonely_psu(api, rule, name, stat, var, fpc):
    s = _lonely(api, rule, fpc)
    res = getattr(s.estimation, stat)(var)
    check(one(res, "se"), TAYLOR[name])
    if stat == "mean":
        check(one(res), TAYLOR["LONELY_MEAN_API00"])
        check(one(res, "df"), TAYLOR["DEGF_LONELY"])


@pytest.mark.parametrize("rule, name", [
    ("skip", "SINGLETON_REMOVE_VAR"), ("skip", "SINGLETON_CERTAINTY_VAR"), ("scale", "SINGLETON_AVERAGE_VAR"),
])
def test_singleton_strata(rule, name):
    data = pl.DataFrame({"Stratum": [1, 1, 2, 2, 3], "PSU": [1, 2, 3, 4, 5],
                         "Design_Weight": [10.5, 10.5, 20, 20, 15], "Age": [30.5, 40.5, 35, 52, 44]})
    s = svy.Sample(data, svy.Design(stratum="Stratum", psu="PSU", wgt="Design_Weight", singleton=rule))
    check(one(s.estimation.total("Age"), "se") ** 2, TAYLOR[name])


def test_lonely_center_on_totals_follows_current_r(api):
    """svy's ``center`` = current R survey (CRAN, later than 4.1-1)'s "adjust" (sipas too); survey 4.1-1 differs.

    cran/survey tests/lonely.psu.R (current CRAN): ``options(survey.lonely.psu = "adjust");
    all.equal(127579.8, as.numeric(vcov(svytotal(~Age, design_w_singleton))), tolerance = 1e-6)``.
    For apiclus1 by district: survey 4.1-1's variance minus, per lonely PSU,
    t^2 - (t - mean t)^2 (the change of centring).
    """
    data = pl.DataFrame({"Stratum": [1, 1, 2, 2, 3], "PSU": [1, 2, 3, 4, 5],
                         "Design_Weight": [10.5, 10.5, 20, 20, 15], "Age": [30.5, 40.5, 35, 52, 44]})
    s = svy.Sample(data, svy.Design(stratum="Stratum", psu="PSU", wgt="Design_Weight", singleton="center"))
    assert one(s.estimation.total("Age"), "se") ** 2 == pytest.approx(127579.8, rel=1e-6)
    d = api["apiclus1"].to_pandas()
    t = (d["pw"] * d["enroll"]).to_numpy()
    lonely = d.groupby("dnum")["dnum"].transform("size").to_numpy() == 1
    want = TAYLOR["LONELY_ADJUST_TOTAL_SE"].value ** 2 - float(np.sum(t[lonely] ** 2 - (t[lonely] - t.mean()) ** 2))
    got = one(_lonely(api, "center").estimation.total("enroll"), "se") ** 2
    assert got == pytest.approx(want, rel=1e-9)


# ------------------------------------------------------------------ post-stratification, raking, calibration
def test_post_stratification(api):
    p = dclus1(api).weighting.poststratify(controls=POP_TYPES, cells="stype")
    res = p.estimation.total("enroll")
    check(one(res), TAYLOR["DCLUS1P_TOTAL_ENROLL"])
    check(one(res, "se"), TAYLOR["DCLUS1P_TOTAL_ENROLL_SE"], rel=REL_CAL)


@pytest.mark.parametrize("tag, design", [("PS2", dclus2), ("PS1", dclus1)])
def test_post_stratification_two_way_cells(api, tag, design):
    p = design(api).weighting.poststratify(controls=POP_CELLS, cells=["stype", "sch.wide"])
    res = p.estimation.mean("api00")
    check(one(res), TAYLOR[f"{tag}_MEAN_API00"])
    check(one(res, "se"), TAYLOR[f"{tag}_MEAN_API00_SE"], rel=REL_CAL)
    res = p.estimation.total("enroll", drop_nulls=True)
    check(one(res, "se"), TAYLOR[f"{tag}_TOTAL_ENROLL_SE"], rel=REL_CAL)
    w = p.data[p.design.wgt].to_numpy()
    if tag == "PS2":
        check(one(res), TAYLOR["PS2_TOTAL_ENROLL"])
        check(w.sum(), TAYLOR["PS2_WEIGHTS_SUM"])
        check_by(p.estimation.mean("api00", by="stype"), TAYLOR["PS2_MEAN_API00_BY_STYPE"], ["stype"],
                 est="api00", se="se", rel_se=REL_CAL)
    else:
        check(w, TAYLOR["PS1_WEIGHTS"])
        check_by(p.estimation.mean("api00", by="comp.imp"), TAYLOR["PS1_MEAN_API00_BY_COMPIMP"], ["comp.imp"],
                 est="api00", se="se", rel_se=REL_CAL)


def _rake(sample):
    return sample.weighting.rake(controls={"stype": POP_TYPES, "sch.wide": POP_SCHWIDE}, tol=1e-12, max_iter=100)


@pytest.mark.parametrize("tag", ["RAKE1", "CALRAKE"])
def test_raking_one_stage(api, tag):
    # rake() equals R's rake() and calibrate(calfun="raking") on categorical margins
    r = _rake(dclus1(api))
    res = r.estimation.mean("api00")
    check(one(res), TAYLOR[f"{tag}_MEAN_API00"])
    check(one(res, "se"), TAYLOR[f"{tag}_MEAN_API00_SE"], rel=REL_CAL)
    check(one(r.estimation.total("enroll"), "se"), TAYLOR[f"{tag}_TOTAL_ENROLL_SE"], rel=REL_CAL)
    check_by(r.estimation.mean("api00", by="stype"), TAYLOR[f"{tag}_MEAN_API00_BY_STYPE"], ["stype"],
             est="api00", se="se", rel_se=REL_CAL)
    check(r.data[r.design.wgt].to_numpy(), TAYLOR[f"{tag}_WEIGHTS"])
    if tag == "RAKE1":
        check(one(r.estimation.total("enroll")), TAYLOR["RAKE1_TOTAL_ENROLL"])


def test_raking_two_stage(api):
    r = _rake(dclus2(api))
    res = r.estimation.mean("api00")
    check(one(res), TAYLOR["RAKE2_MEAN_API00"])
    check(one(res, "se"), TAYLOR["RAKE2_MEAN_API00_SE"], rel=REL_CAL)
    check(one(r.estimation.total("enroll", drop_nulls=True), "se"), TAYLOR["RAKE2_TOTAL_ENROLL_SE"], rel=REL_CAL)
    check(np.quantile(r.data[r.design.wgt].to_numpy(), [0, 0.25, 0.5, 0.75, 1]), TAYLOR["RAKE2_WEIGHTS_QUANTILES"])


@pytest.mark.parametrize("tag, design", [("GREG", dclus1), ("GREG2", dclus2)])
def test_linear_calibration(api, tag, design):
    g = design(api).weighting.calibrate(controls={svy.Cat("stype"): POP_TYPES, "api99": API99_TOTAL})
    res = g.estimation.mean("api00")
    check(one(res), TAYLOR[f"{tag}_MEAN_API00"])
    check(one(res, "se"), TAYLOR[f"{tag}_MEAN_API00_SE"], rel=REL_CAL)
    res = g.estimation.total("enroll", drop_nulls=True)
    check(one(res, "se"), TAYLOR[f"{tag}_TOTAL_ENROLL_SE"], rel=REL_CAL)
    check_by(g.estimation.mean("api00", by="sch.wide"), TAYLOR[f"{tag}_MEAN_API00_BY_SCHWIDE"], ["sch.wide"],
             est="api00", se="se", rel_se=REL_CAL)
    if tag == "GREG":
        check(one(res), TAYLOR["GREG_TOTAL_ENROLL"])
        check(g.data[g.design.wgt].to_numpy(), TAYLOR["GREG_WEIGHTS"])


# ================================================================== replicate weights (survey_replicates.R)
def _scd_given(api, kind: str):
    """svrepdesign(data=scd, type="BRR"/"Fay", repweights=..., combined.weights=FALSE)"""
    rw = 2 * np.array([[1, 0, 1, 0, 1, 0], [1, 0, 0, 1, 0, 1], [0, 1, 1, 0, 0, 1], [0, 1, 0, 1, 1, 0]]).T
    if kind == "fay":
        rw = np.where(rw > 0, 1.7, 0.3)
    data = api["scd"].with_columns([pl.Series(f"r{i + 1}", rw[:, i].astype(float)) for i in range(4)])
    reps = svy.BrrWgts(prefix="r", n_reps=4, fay_coef=0.3 if kind == "fay" else 0.0)
    return svy.Sample(data, svy.Design(wgt="w", rep_wgts=reps))


def _scd_design(api, fpc: bool = False):
    """svydesign(data=scd, prob=~1, id=~ambulance, strata=~ESA, nest=TRUE[, fpc=rep(5,6)])"""
    data = api["scd"].with_columns(pl.lit(5).alias("N"))
    return svy.Sample(data, svy.Design(stratum="ESA", psu="ambulance", wgt="w", pop_size="N" if fpc else None))


def check_scd(sample, prefix, center="rep_mean"):
    kw = {**REP, "variance_center": center}
    means = [sample.estimation.mean(y, **kw) for y in ("alive", "arrests")]
    totals = [sample.estimation.total(y, **kw) for y in ("alive", "arrests")]
    ratio = sample.estimation.ratio("alive", "arrests", **kw)
    if prefix + "_MEAN" in REPS:
        check([one(m) for m in means], REPS[prefix + "_MEAN"])
        check([one(t) for t in totals], REPS[prefix + "_TOTAL"])
    check([one(m, "se") for m in means], REPS[prefix + "_MEAN_SE"])
    check([one(t, "se") for t in totals], REPS[prefix + "_TOTAL_SE"])
    check(one(ratio), REPS[prefix + "_RATIO"])
    check(one(ratio, "se"), REPS[prefix + "_RATIO_SE"])
    if prefix + "_DEGF" in REPS:
        check(one(means[0], "df"), REPS[prefix + "_DEGF"])


@pytest.mark.parametrize("prefix, kind, center", [
    ("SCDREP", "brr", "rep_mean"), ("SCDREPMSE", "brr", "estimate"), ("SCDFAY", "fay", "rep_mean"),
])
def test_scd_given_replicate_weights(api, prefix, kind, center):
    check_scd(_scd_given(api, kind), prefix, center)


def _rep_matrix(sample) -> np.ndarray:
    cols = sample.design.rep_wgts.columns_from_data(sample.data.columns)
    return sample.data.select(cols).to_numpy()


@pytest.mark.parametrize("prefix, make, center", [
    ("SCD2BRR", lambda s: s.weighting.create_brr_wgts(), "rep_mean"),
    ("SCD2BRRMSE", lambda s: s.weighting.create_brr_wgts(), "estimate"),
    ("SCD2FAY", lambda s: s.weighting.create_brr_wgts(fay_coef=0.3), "rep_mean"),
    ("SCD2FAY5", lambda s: s.weighting.create_brr_wgts(fay_coef=0.5), "rep_mean"),
    ("SCD2JKN", lambda s: s.weighting.create_jk_wgts(), "rep_mean"),
])
def test_scd_replicates_built_by_svy(api, prefix, make, center):
    s = make(_scd_design(api))
    w = _rep_matrix(s)
    check(w.T.ravel(), REPS[prefix + "_WEIGHTS"])  # R: weights(d, "analysis"), column by column
    check_coefficients(s.design.rep_wgts.coefficients(), prefix)
    check_scd(s, prefix, center)


@xfail("create_jk_wgts() ignores the fpc: coefficients 0.5 vs R's 0.3 = (1 - 2/5) * 1/2; "
       "SE mean alive 3.58236 vs 2.77489 (+29%)")
def test_scd_jackknife_with_fpc(api):
    s = _scd_design(api, fpc=True).weighting.create_jk_wgts()
    check_coefficients(s.design.rep_wgts.coefficients(), "SCD2JKNF")
    check_scd(s, "SCD2JKNF")


# ------------------------------------------------------------------ BRR with 11 to 77 strata
def _pairs(api, n_strata: int):
    """pairs(S): the first 2S apisrs schools by snum in strata of two, rows by decreasing api00"""
    d = api["apisrs"].to_pandas().sort_values("snum").iloc[: 2 * n_strata].copy()
    d["h"] = np.repeat(np.arange(1, n_strata + 1), 2)
    d = d.sort_values(["api00", "snum"], ascending=[False, True]).reset_index(drop=True)
    return svy.Sample(pl.from_pandas(d), svy.Design(stratum="h", psu="snum", wgt="pw"))


_UNBALANCED = ("with svy's order-36 Hadamard matrix one stratum's replicate signs sum to 12, not 0, so "
               "BRR loses full orthogonal balance and, centred on the replicate mean, the SE of a mean falls "
               "below R's: api00 14.83262 vs 14.91503 (-0.55%)")
_RATIO_SE = {11: "0.00659126 vs 0.0067576 (-2.5%)", 17: "0.00743441 vs 0.00761351 (-2.4%)",
             22: "0.00630244 vs 0.0061997 (+1.7%)", 25: "0.00604162 vs 0.0058968 (+2.5%)",
             33: "0.00624219 vs 0.00618704 (+0.9%)", 70: "0.00415711 vs 0.00417986 (-0.5%)",
             77: "0.00407624 vs 0.00407371 (+0.06%)"}


@pytest.mark.parametrize("n_strata", [
    11, 17, 22, 25, pytest.param(33, marks=xfail(_UNBALANCED)), 70, 77,
])
def test_brr_many_strata_means(api, n_strata):
    b = _pairs(api, n_strata).weighting.create_brr_wgts()
    ses = [one(b.estimation.mean(y, **REP), "se") for y in ("api00", "enroll")]
    check(ses, REPS[f"B{n_strata}_MEAN_SE"])


@pytest.mark.parametrize("n_strata", [
    pytest.param(s, marks=xfail(f"BRR replicates from a different Hadamard matrix and PSU assignment than R's "
                                f"as.svrepdesign: ratio SE {why}"))
    for s, why in _RATIO_SE.items()
])
def test_brr_many_strata_ratios(api, n_strata):
    b = _pairs(api, n_strata).weighting.create_brr_wgts()
    check(one(b.estimation.ratio("api00", "api99", **REP), "se"), REPS[f"B{n_strata}_RATIO_SE"])


@pytest.mark.parametrize("n_strata", [
    11, 17, 22, pytest.param(25, marks=xfail("25 strata get a Hadamard matrix of order 32, R's has order 28")),
    33, 70, 77,
])
def test_brr_number_of_replicates(api, n_strata):
    b = _pairs(api, n_strata).weighting.create_brr_wgts()
    check(b.design.rep_wgts.n_reps, REPS[f"B{n_strata}_ORDER"])


def test_fay_17_strata_means(api):
    f = _pairs(api, 17).weighting.create_brr_wgts(fay_coef=0.5)
    check([one(f.estimation.mean(y, **REP), "se") for y in ("api00", "enroll")], REPS["F17_MEAN_SE"])


@xfail("Fay replicates from a different Hadamard matrix than R's: ratio SE 0.0074886 vs 0.0075776 (-1.2%)")
def test_fay_17_strata_ratio(api):
    f = _pairs(api, 17).weighting.create_brr_wgts(fay_coef=0.5)
    check(one(f.estimation.ratio("api00", "api99", **REP), "se"), REPS["F17_RATIO_SE"])


# ------------------------------------------------------------------ JK1 and JKn on the api designs
def check_jackknife(s, prefix, center="rep_mean"):
    kw = {**REP, "variance_center": center}
    means = [s.estimation.mean(y, **kw) for y in ("api00", "api99")]
    check([one(m) for m in means], REPS[prefix + "_MEAN"])
    check([one(m, "se") for m in means], REPS[prefix + "_MEAN_SE"])
    check(one(means[0], "df"), REPS[prefix + "_DEGF"])
    total = s.estimation.total("enroll", **kw)
    check(one(total), REPS[prefix + "_TOTAL"])
    check(one(total, "se"), REPS[prefix + "_TOTAL_SE"])
    ratio = s.estimation.ratio("api00", "api99", **kw)
    check(one(ratio), REPS[prefix + "_RATIO"])
    check(one(ratio, "se"), REPS[prefix + "_RATIO_SE"])
    check_by(s.estimation.mean("api00", by="stype", **kw), REPS[prefix + "_BY_STYPE"], ["stype"], est="api00", se="se")
    check_by(s.estimation.mean("api00", by="sch.wide", **kw), REPS[prefix + "_BY_SCHWIDE"], ["sch.wide"],
             est="api00", se="se")
    check_by(s.estimation.total("enroll", by="sch.wide", **kw), REPS[prefix + "_BY_TOTAL"], ["sch.wide"],
             est="enroll", se="se")


@pytest.mark.parametrize("prefix, design", [
    ("RCLUS1N", lambda api: dclus1n(api)), ("RSTRATN", lambda api: dstrat_psu(api, fpc=False)),
])
def test_jackknife_without_fpc(api, prefix, design):
    s = design(api).weighting.create_jk_wgts()
    check_coefficients(s.design.rep_wgts.coefficients(), prefix)
    check_jackknife(s, prefix)


_JK_FPC = {"RCLUS1": "JK1 coefficient 0.93333 vs R's 0.91484 = 14/15 * (1 - 15/757); SE mean api00 26.59416 "
                     "vs 26.32936 (+1.0%)",
           "RCLUS1MSE": "JK1 (mse=TRUE) SE mean api00 26.59971 vs 26.33486 (+1.0%)",
           "RSTRAT": "JKn coefficients (n_h-1)/n_h vs R's (n_h-1)/n_h * (1 - n_h/N_h); SE mean api00 "
                     "9.53613 vs 9.40894 (+1.4%), total enroll 117319.09 vs 114641.72 (+2.3%)",
           "RSTRATMSE": "JKn (mse=TRUE) SE mean api00 9.53613 vs 9.40894 (+1.4%)"}


@pytest.mark.parametrize("prefix", [
    pytest.param(p, marks=xfail(f"create_jk_wgts() ignores the design's fpc: {why}")) for p, why in _JK_FPC.items()
])
def test_jackknife_with_fpc(api, prefix):
    design = dclus1(api) if prefix.startswith("RCLUS1") else dstrat_psu(api)
    s = design.weighting.create_jk_wgts()
    check_jackknife(s, prefix, "estimate" if prefix.endswith("MSE") else "rep_mean")


@pytest.mark.parametrize("prefix", ["RCLUS1", "RCLUS1MSE", "RSTRAT", "RSTRATMSE"])
def test_jackknife_with_fpc_given_as_scale(api, prefix):
    """svy's jackknife with R's fpc-corrected coefficients passed as ``scale=`` (the workaround)."""
    s = rclus1(api) if prefix.startswith("RCLUS1") else rstrat(api)
    check_coefficients(s.design.rep_wgts.coefficients(), prefix, as_set=True)
    check_jackknife(s, prefix, "estimate" if prefix.endswith("MSE") else "rep_mean")


# ------------------------------------------------------------------ bootstrap with R's replicate weights
def _bootstrap(api, prefix: str):
    """R's bootstrap replicate weights and scale given to svy (svrepdesign(repweights=, scale=))"""
    data = api["apistrat" if "STRAT" in prefix else "apiclus1"]
    counts = REPS[prefix + "_COUNTS"].values.reshape(-1, data.height).T
    if prefix == "SBSTRAT":  # the subbootstrap's counts were recorded times (n_h - 1)/n_h
        n_h = data.select(pl.len().over("stype")).to_series().to_numpy().astype(float)
        counts = counts * (n_h / (n_h - 1))[:, None]
    elif prefix == "SBCLUS1":
        counts = counts * 15 / 14
    pw = data["pw"].to_numpy()
    reps = counts.shape[1]
    data = data.with_columns([pl.Series(f"bw{r + 1}", counts[:, r] * pw) for r in range(reps)])
    scale = REPS[prefix + "_SCALE"].value * REPS[prefix + "_RSCALES"].values
    return svy.Sample(data, svy.Design(wgt="pw", rep_wgts=svy.BootstrapWgts(prefix="bw", n_reps=reps,
                                                                          scale=list(scale))))


@pytest.mark.parametrize("prefix", ["BSTRAT", "SBSTRAT", "BCLUS1", "SBCLUS1"])
def test_bootstrap_given_replicate_weights(api, prefix):
    s = _bootstrap(api, prefix)
    check([one(s.estimation.mean(y, **REP), "se") for y in ("api00", "enroll")], REPS[prefix + "_MEAN_SE"])
    check(one(s.estimation.total("enroll", **REP), "se"), REPS[prefix + "_TOTAL_SE"])
    check(one(s.estimation.ratio("api00", "api99", **REP), "se"), REPS[prefix + "_RATIO_SE"])
    check_by(s.estimation.mean("api00", by="sch.wide", **REP), REPS[prefix + "_BY"], ["sch.wide"],
             est="api00", se="se")


# ------------------------------------------------------------------ calibration of replicate designs
def _calibrated_replicates(api, prefix):
    if prefix == "RCLUS1P":
        return rclus1(api).weighting.poststratify(controls=POP_TYPES, cells="stype")
    if prefix == "RCLUS1R":
        # R's rake() with its default control (epsilon=1, maxit=10) stops after 4 sweeps over the
        # margins: svy runs the same 4 sweeps (its own convergence test is on relative misfit)
        return rclus1(api).weighting.rake(controls={"stype": POP_TYPES, "sch.wide": POP_SCHWIDE}, max_iter=4,
                                          on_nonconvergence="ignore")
    if prefix == "RCLUS1G":
        # calibrate(rclus1, ~api99, c(`(Intercept)`=6194, api99=3914069)): the intercept as a constant category
        s = rclus1(api).wrangling.mutate({"one": svy.lit(1)})
        return s.weighting.calibrate(controls={svy.Cat("one"): {1: 6194.0}, "api99": API99_TOTAL})
    if prefix == "RCLUS1G2":
        return rclus1(api).weighting.calibrate(controls={svy.Cat("stype"): POP_TYPES, "api99": API99_TOTAL})
    if prefix == "RSTRATP":
        return rstrat(api).weighting.poststratify(controls=POP_SCHWIDE, cells="sch.wide")
    if prefix == "SBSTRATP":
        return _bootstrap(api, "SBSTRAT").weighting.poststratify(controls=POP_SCHWIDE, cells="sch.wide")
    raise KeyError(prefix)


@pytest.mark.parametrize("prefix", ["RCLUS1P", "RCLUS1R", "RCLUS1G", "RCLUS1G2", "RSTRATP", "SBSTRATP"])
def test_calibrated_replicate_designs(api, prefix):
    s = _calibrated_replicates(api, prefix)
    means = [s.estimation.mean(y, **REP) for y in ("api00", "api99")]
    check([one(m) for m in means], REPS[prefix + "_MEAN"])
    # api99 is a calibration variable in the "G" designs: its SE is round-off (~1e-13) in R and svy
    check([one(m, "se") for m in means], REPS[prefix + "_MEAN_SE"], rel=REL_CAL, atol=1e-9)
    total = s.estimation.total("enroll", **REP)
    check(one(total), REPS[prefix + "_TOTAL"])
    check(one(total, "se"), REPS[prefix + "_TOTAL_SE"], rel=REL_CAL)
    check_by(s.estimation.mean("api00", by="stype", **REP), REPS[prefix + "_BY"], ["stype"], est="api00", se="se",
             rel_se=REL_CAL)


@pytest.mark.parametrize("name, make, stat, var, by, a, b, center", [
    ("CONTRAST_JK1", rclus1, "mean", "api00", "stype", "E", "H", "rep_mean"),
    ("CONTRAST_JK1_MSE", rclus1, "mean", "api00", "stype", "E", "H", "estimate"),
    ("CONTRAST_JK1_TOTAL", rclus1, "total", "enroll", "stype", "H", "M", "rep_mean"),
    ("CONTRAST_JKN", rstrat, "mean", "api00", "sch.wide", "No", "Yes", "rep_mean"),
    ("CONTRAST_BRR", lambda api: _scd_design(api).weighting.create_brr_wgts(), "mean", "alive", "ESA", 1, 2,
     "rep_mean"),
    ("CONTRAST_CALIBRATED", lambda api: _calibrated_replicates(api, "RCLUS1P"), "mean", "api00", "stype", "E", "H",
     "rep_mean"),
])
def test_replicate_contrasts(api, name, make, stat, var, by, a, b, center):
    res = getattr(make(api).estimation, stat)(var, by=by, variance_center=center, **REP)
    con = res.contrast(svy.estd(a) - svy.estd(b))
    if name in REPS:
        check(one(con), REPS[name])
    check(one(con, "se"), REPS[name + "_SE"], rel=REL_CAL if "CALIBRATED" in name else REL)


# ================================================================== svyciprop (survey_ciprop_trim.R)
POP_CIPROP = {"E": 6194.0 - 755 - 1361, "H": 755.0, "M": 1361.0}
E, H, M = (svy.col("stype") == lv for lv in "EHM")

# tag: (design, y, where, alpha, drop_nulls)
CIPROP_CASES = {
    "CLUS1_ELL0": ("dclus1", "ell0", None, 0.05, False),
    "CLUS1_HIGH": ("dclus1", "high", None, 0.05, False),
    "CLUS1_SCHWIDE": ("dclus1", "schwide", None, 0.05, False),
    "CLUS1_SCHWIDE_L90": ("dclus1", "schwide", None, 0.10, False),
    "CLUS1_ELL0_L90": ("dclus1", "ell0", None, 0.10, False),
    "STRAT_SCHWIDE": ("dstrat", "schwide", None, 0.05, False),
    "STRAT_API800": ("dstrat", "api800", None, 0.05, False),
    "STRAT_ELL0": ("dstrat", "ell0", None, 0.05, False),
    "DOMAIN_E_SCHWIDE": ("dclus1", "schwide", E, 0.05, False),
    "DOMAIN_E_ELL0": ("dclus1", "ell0", E, 0.05, False),
    "DOMAIN_M_SCHWIDE": ("dstrat", "schwide", M, 0.05, False),
    "DOMAIN_H_SCHWIDE": ("dclus1", "schwide", H, 0.05, False),
    "CLUS1_AVGED3": ("dclus1", "avged3", None, 0.05, True),
    "DOMAIN_E_AVGED3": ("dclus1", "avged3", E, 0.05, True),
    "CAL_SCHWIDE": ("dclus1g", "schwide", None, 0.05, False),
    "CALDOMAIN_E_SCHWIDE": ("dclus1g", "schwide", E, 0.05, False),
    "CAL_AVGED3": ("dclus1g", "avged3", None, 0.05, True),
    "CALDOMAIN_H_AVGED3": ("dclus1g", "avged3", H, 0.05, True),
    "CALDOMAIN_E_AVGED3": ("dclus1g", "avged3", E, 0.05, True),
    "REP_SCHWIDE": ("rclus1", "schwide", None, 0.05, False),
    "REP_HIGH": ("rclus1", "high", None, 0.05, False),
    "REP_ELL0": ("rclus1", "ell0", None, 0.05, False),
    "REP_AVGED3": ("rclus1", "avged3", None, 0.05, True),
    "REPDOMAIN_E_SCHWIDE": ("rclus1", "schwide", E, 0.05, False),
    "REPDOMAIN_H_SCHWIDE": ("rclus1", "schwide", H, 0.05, False),
}

_BETA_N = "svyciprop beta: svy's effective-n adjustment uses the {n} non-missing domain rows, R nrow(design) = {rn}"
_REP_LOGIT = "svyciprop logit on a replicate design: R refits the GLM per replicate, svy uses the delta method"
_REP_H_DF = "replicate domain df is 14 (replicates - 1), R's degf(subset(rclus1, stype == 'H')) is 7"
CIPROP_XFAIL = {
    ("CLUS1_AVGED3", "beta"): _BETA_N.format(n=157, rn=183) + ": lower 0.13221145 vs 0.13207554",
    ("DOMAIN_E_AVGED3", "beta"): _BETA_N.format(n=118, rn=144) + ": lower 0.1205653 vs 0.12034965",
    ("CAL_AVGED3", "beta"): _BETA_N.format(n=157, rn=183) + ": lower 0.2327448 vs 0.23262937",
    ("CALDOMAIN_E_SCHWIDE", "beta"): _BETA_N.format(n=144, rn=183) + " (subset of a calibrated design keeps "
                                                                        "all rows): lower 0.86880813 vs 0.86869994",
    ("CALDOMAIN_H_AVGED3", "beta"): _BETA_N.format(n=14, rn=183) + ": lower 0.19395513 vs 0.17137106",
    ("CALDOMAIN_E_AVGED3", "beta"): _BETA_N.format(n=118, rn=183) + ": lower 0.20249894 vs 0.20208572",
    ("REP_AVGED3", "beta"): _BETA_N.format(n=157, rn=183) + ": lower 0.11945023 vs 0.11930701",
    ("REPDOMAIN_H_SCHWIDE", "beta"): _REP_H_DF + ": lower 0.52864114 vs 0.49746566",
    ("REPDOMAIN_H_SCHWIDE", "xlogit"): _REP_H_DF + ": lower 0.51081517 vs 0.4786449",
    ("REPDOMAIN_H_SCHWIDE", "mean"): _REP_H_DF + ": lower 0.57424228 vs 0.5525667",
    ("REP_SCHWIDE", "logit"): _REP_LOGIT + ": lower 0.82324138 vs 0.82346355",
    ("REP_HIGH", "logit"): _REP_LOGIT + ": lower 0.03441703 vs 0.0336487",
    ("REP_ELL0", "logit"): _REP_LOGIT + ": (0.00231959, 0.17680547) vs R's degenerate (7.9e-19, 1) "
                                        "(some replicates have no ell == 0 school)",
    ("REP_AVGED3", "logit"): _REP_LOGIT + ": lower 0.13698773 vs 0.13880057",
    ("REPDOMAIN_E_SCHWIDE", "logit"): _REP_LOGIT + ": lower 0.84976188 vs 0.84011074",
    ("REPDOMAIN_H_SCHWIDE", "logit"): _REP_LOGIT + ": lower 0.51081517 vs 0.46495049",
}


def _ciprop_params():
    out = []
    for tag, (design, *_rest) in CIPROP_CASES.items():
        methods = ["logit", "beta", "mean"] + (["xlogit"] if design == "rclus1" else [])
        for m in methods:
            if f"CIPROP_{tag}_{m.upper()}" not in CIPROP:
                continue
            why = CIPROP_XFAIL.get((tag, m))
            out.append(pytest.param(tag, m, id=f"{tag}-{m}", marks=[xfail(why)] if why else []))
    return out


@pytest.fixture(scope="module")
def ciprop_designs(api):
    return {"dclus1": lambda: dclus1(api), "dstrat": lambda: dstrat(api),
            "dclus1g": lambda: dclus1g(api, POP_CIPROP), "rclus1": lambda: rclus1(api)}


@pytest.mark.parametrize("tag, method", _ciprop_params())
def test_svyciprop(ciprop_designs, tag, method):
    """R: ci(svyciprop(~I(...), design, method=)) = estimate, SE, lower, upper.

    "logit" and "beta" are svy's ``prop(ci_method=)``; R's "xlogit" (the delta method) is
    svy's "logit"; "mean" (the Wald interval) is svy's ``mean()`` of the 0/1 indicator.
    """
    design, y, where, alpha, drop_nulls = CIPROP_CASES[tag]
    s = ciprop_designs[design]()
    kw = {"where": where, "alpha": alpha, "drop_nulls": drop_nulls, **(REP if design == "rclus1" else {})}
    if method == "mean":
        res = s.estimation.mean(y, **kw).to_polars()
    else:
        res = s.estimation.prop(y, ci_method="logit" if method == "xlogit" else method, **kw).to_polars()
        res = res.filter(pl.col(y) == 1)
    assert res.height == 1
    got = [res[c][0] for c in ("est", "se", "lci", "uci")]
    check(got, CIPROP[f"CIPROP_{tag}_{method.upper()}"], rel=REL_CAL if design == "dclus1g" else REL)


def test_calibrated_weights_for_ciprop(api):
    g = dclus1g(api, POP_CIPROP)
    check(g.data[g.design.wgt].to_numpy(), CIPROP["CAL_WEIGHTS"])

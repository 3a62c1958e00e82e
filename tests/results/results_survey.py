"""Reference numbers published from R's ``survey`` package (and Stata), for sipas tests.

Every number is copied from a published source, never produced by sipas.  Each
entry keeps the R command that produced it and the source file it was copied
from.  Where a source prints few digits, ``digits`` records the number of
significant digits so that tests compare at the tolerance those digits allow.

Sources
-------
API_ROUT
    cran/survey ``tests/api.Rout.save`` (R survey, printed with 5 significant digits).
LONELY_ROUT
    cran/survey ``tests/lonely.psu.Rout.save`` (5 significant digits).
SPICY
    amaltawfik/spicy ``tests/testthat/test-table_continuous_svy.R`` — survey 4.5
    oracles pinned at 17 significant digits.
SVY_CAL
    samplics-org/svy ``packages/svy/tests/svy/weighting/test_calibration_variance.py``
    — "R-parity values: survey 4.5, data(api), apiclus1 with
    svydesign(id=~dnum, weights=~pw, fpc=~fpc)".
SVY_PROPCI_DOMAIN
    samplics-org/svy ``packages/svy/tests/svy/estimation/test_prop_ci_domain.py``
    — svyciprop(method="beta") on a deterministic 80-row frame, survey 4.5.
SVY_PROPCI
    samplics-org/svy ``packages/svy/tests/svy/estimation/test_proportions.py`` —
    svyciprop(method="beta"/"logit") intervals from (p, se, n, degf), survey 4.4-2.
STATA_NHANES
    Stata manual [SVY] svy estimation, NHANES II: ``svy: mean zinc``.
RAOWU_ROUT
    cran/survey ``tests/raowuboot.Rout.save``: subbootweights with 2 PSUs per
    stratum give replicate weights in {0, 2}.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Ref:
    """One published number with its R command and source."""

    value: float
    r_command: str
    source: str
    digits: int | None = None  # significant digits printed (None = full precision)

    @property
    def rtol(self) -> float:
        """Relative tolerance the printed digits allow (1e-6 at full precision)."""
        if self.digits is None:
            return 1e-6
        return 0.5 * 10.0 ** (1 - self.digits) * 1.0001


API_ROUT = "cran/survey tests/api.Rout.save"
LONELY_ROUT = "cran/survey tests/lonely.psu.Rout.save"
SPICY = "amaltawfik/spicy tests/testthat/test-table_continuous_svy.R"
SVY_CAL = "samplics-org/svy packages/svy/tests/svy/weighting/test_calibration_variance.py"
SVY_PROPCI_DOMAIN = "samplics-org/svy packages/svy/tests/svy/estimation/test_prop_ci_domain.py"
SVY_PROPCI = "samplics-org/svy packages/svy/tests/svy/estimation/test_proportions.py"
STATA_NHANES = "Stata [SVY] manual, NHANES II example (svy: mean zinc)"

DSTRAT = "dstrat <- svydesign(id=~1, strata=~stype, weights=~pw, data=apistrat, fpc=~fpc)"
DCLUS1 = "dclus1 <- svydesign(id=~dnum, weights=~pw, data=apiclus1, fpc=~fpc)"
DCLUS2 = "dclus2 <- svydesign(id=~dnum+snum, fpc=~fpc1+fpc2, data=apiclus2)"
DCLUS2WR = "dclus2wr <- svydesign(id=~dnum+snum, weights=~pw, data=apiclus2)"

# ---------------------------------------------------------------- full precision (survey 4.5)
DSTRAT_MEAN_API00 = Ref(662.28736315932076, f"{DSTRAT}; svymean(~api00, dstrat)", SPICY)
DSTRAT_MEAN_API00_SE = Ref(9.4089408027845831, f"{DSTRAT}; SE(svymean(~api00, dstrat))", SPICY)
DSTRAT_MEAN_API00_CI = (
    Ref(643.73218827208620, f"{DSTRAT}; confint(svymean(~api00, dstrat), df=degf(dstrat))  # 197", SPICY),
    Ref(680.84253804655532, f"{DSTRAT}; confint(svymean(~api00, dstrat), df=degf(dstrat))", SPICY),
)
DSTRAT_MEAN_API00_DEFF = Ref(1.2044572685377175, f"{DSTRAT}; deff(svymean(~api00, dstrat, deff=TRUE))", SPICY)
DSTRAT_DEGF = Ref(197, f"{DSTRAT}; degf(dstrat)", SPICY)

DCLUS1_MEAN_API00 = Ref(644.16939890710387, f"{DCLUS1}; svymean(~api00, dclus1)", SPICY)
DCLUS1_MEAN_API00_SE = Ref(23.542240693781036, f"{DCLUS1}; SE(svymean(~api00, dclus1))", SPICY)
DCLUS1_MEAN_API00_CI = (
    Ref(593.67631446332553, f"{DCLUS1}; confint(svymean(~api00, dclus1), df=degf(dclus1))  # 14", SPICY),
    Ref(694.66248335088221, f"{DCLUS1}; confint(svymean(~api00, dclus1), df=degf(dclus1))", SPICY),
)

# svyby(~api00, ~stype, dclus1, svymean); degf of each subset(dclus1, stype==...)
DCLUS1_BY_STYPE = {
    "E": (Ref(648.86805555555554, f"{DCLUS1}; svyby(~api00, ~stype, dclus1, svymean)", SPICY),
          Ref(22.362408893831887, f"{DCLUS1}; SE(svyby(~api00, ~stype, dclus1, svymean))", SPICY), 14, 144),
    "H": (Ref(618.57142857142856, f"{DCLUS1}; svyby(~api00, ~stype, dclus1, svymean)", SPICY),
          Ref(38.020249359407529, f"{DCLUS1}; SE(svyby(~api00, ~stype, dclus1, svymean))", SPICY), 7, 14),
    "M": (Ref(631.44000000000005, f"{DCLUS1}; svyby(~api00, ~stype, dclus1, svymean)", SPICY),
          Ref(31.609465227245526, f"{DCLUS1}; SE(svyby(~api00, ~stype, dclus1, svymean))", SPICY), 11, 25),
}

# JK1 replicate design: rclus1 <- as.svrepdesign(dclus1)
RCLUS1_MEAN_API00_SE = Ref(26.329360589527614, f"{DCLUS1}; rclus1 <- as.svrepdesign(dclus1); SE(svymean(~api00, rclus1))", SPICY)
RCLUS1_DEGF = Ref(14, "degf(rclus1)", SPICY)

# micro design: svydesign(id=~psu, strata=~st, weights=~w, data=<6 rows>)
MICRO_DATA = {"st": ["A", "A", "A", "B", "B", "B"], "psu": [1, 2, 3, 4, 5, 6],
              "y": [10.0, 14.0, 12.0, 22.0, 26.0, 30.0], "w": [5.0, 5.0, 5.0, 2.0, 2.0, 2.0]}
MICRO_MEAN = Ref(16.0, "svymean(~y, svydesign(id=~psu, strata=~st, weights=~w, data=micro))", SPICY)
MICRO_SE = Ref(math.sqrt(492) / 21, "SE(svymean(~y, micro))  # the source pins it as sqrt(492) / 21", SPICY)
MICRO_CI = (Ref(13.067403257405918, "confint(svymean(~y, micro), df=degf(micro))  # 4", SPICY),
            Ref(18.932596742594082, "confint(svymean(~y, micro), df=degf(micro))", SPICY))

# ---------------------------------------------------------------- calibration (survey 4.5)
STYPE_POP = {"E": 4421.0, "H": 755.0, "M": 1018.0}
SCHWIDE_POP = {"No": 1000.0, "Yes": 5194.0}
PS = "dclus1p <- postStratify(dclus1, ~stype, data.frame(stype=c('E','H','M'), Freq=c(4421,755,1018)))"
RK = ("dclus1r <- rake(dclus1, list(~stype, ~sch.wide), list(pop.types, "
      "data.frame(sch.wide=c('No','Yes'), Freq=c(1000,5194))), control=list(epsilon=...))")
PS_MEAN_API00 = Ref(642.310788211584, f"{DCLUS1}; {PS}; svymean(~api00, dclus1p)", SVY_CAL)
PS_MEAN_API00_SE = Ref(23.9204864450905, f"{PS}; SE(svymean(~api00, dclus1p))", SVY_CAL)
PS_BY_SCHWIDE_SE = (Ref(27.3731955191233, f"{PS}; SE(svyby(~api00, ~sch.wide, dclus1p, svymean))  # No", SVY_CAL),
                    Ref(24.3970669015281, f"{PS}; SE(svyby(~api00, ~sch.wide, dclus1p, svymean))  # Yes", SVY_CAL))
RAKE_MEAN_API00_SE = Ref(23.745841047537, f"{RK.replace('...', '1e-12')}; SE(svymean(~api00, dclus1r))", SVY_CAL)
RAKE_DEFAULT_MEAN_API00_SE = Ref(23.7458597039106, f"{RK.replace('...', '1')}  # default epsilon=1; SE(svymean(~api00, dclus1r))", SVY_CAL)
RAKE_THEN_PS_MEAN_API00 = Ref(641.594288477427, f"postStratify(rake(..., epsilon=1e-12), ~stype, pop.types); svymean(~api00, .)", SVY_CAL)
RAKE_THEN_PS_MEAN_API00_SE = Ref(23.7630841260046, f"postStratify(rake(..., epsilon=1e-12), ~stype, pop.types); SE(svymean(~api00, .))", SVY_CAL)
GREG = "dclus1g <- calibrate(dclus1, ~api99, c(`(Intercept)`=6194, api99=3914069))"
GREG_MEAN_API00 = Ref(666.717736250273, f"{GREG}; svymean(~api00, dclus1g)", SVY_CAL)
GREG_MEAN_API00_SE = Ref(3.29588091215716, f"{GREG}; SE(svymean(~api00, dclus1g))", SVY_CAL)
RCLUS1P_MEAN_API00_SE = Ref(26.9345353674275, "rclus1p <- postStratify(as.svrepdesign(dclus1), ~stype, pop.types); SE(svymean(~api00, rclus1p))", SVY_CAL)

# ---------------------------------------------------------------- api.Rout.save (5 significant digits)
API_PRINTED = {
    "dstrat_total_enroll": (Ref(3687178, f"{DSTRAT}; svytotal(~enroll, dstrat, na.rm=TRUE)", API_ROUT, 7),
                            Ref(114642, "SE of the above", API_ROUT, 6)),
    "dclus1_total_enroll": (Ref(3404940, f"{DCLUS1}; svytotal(~enroll, dclus1, na.rm=TRUE)", API_ROUT, 7),
                            Ref(932235, "SE of the above", API_ROUT, 6)),
    "dclus2_mean_api00": (Ref(670.81, f"{DCLUS2}; svymean(~api00, dclus2)", API_ROUT, 5),
                          Ref(30.099, "SE of the above", API_ROUT, 5)),
    "dclus2_total_enroll": (Ref(2639273, f"{DCLUS2}; svytotal(~enroll, dclus2, na.rm=TRUE)", API_ROUT, 7),
                            Ref(799638, "SE of the above", API_ROUT, 6)),
    "dclus2wr_mean_api00": (Ref(670.81, f"{DCLUS2WR}; svymean(~api00, dclus2wr)", API_ROUT, 5),
                            Ref(30.712, "SE of the above", API_ROUT, 5)),
    "dclus2wr_total_enroll": (Ref(2639273, f"{DCLUS2WR}; svytotal(~enroll, dclus2wr, na.rm=TRUE)", API_ROUT, 7),
                              Ref(820261, "SE of the above", API_ROUT, 6)),
    "rclus1_total_enroll": (Ref(3404940, "rclus1 <- as.svrepdesign(dclus1); svytotal(~enroll, rclus1, na.rm=TRUE)", API_ROUT, 7),
                            Ref(932235, "SE of the above", API_ROUT, 6)),
    "dclus1p_total_enroll": (Ref(3680893, "dclus1p <- postStratify(dclus1, ~stype, pop.types); svytotal(~enroll, dclus1p, na.rm=TRUE)", API_ROUT, 7),
                             Ref(406293, "SE of the above", API_ROUT, 6)),
}

# ---------------------------------------------------------------- lonely PSUs (5 significant digits)
LONELY_DESIGN = "ds <- svydesign(id=~1, weights=~pw, strata=~dnum, data=apiclus1)"
LONELY_SE = {
    "remove": Ref(5.8058, f"{LONELY_DESIGN}; options(survey.lonely.psu='remove'); svymean(~api00, ds)", LONELY_ROUT, 5),
    "certainty": Ref(5.8058, f"{LONELY_DESIGN}; options(survey.lonely.psu='certainty'); svymean(~api00, ds)", LONELY_ROUT, 5),
    "adjust": Ref(5.8281, f"{LONELY_DESIGN}; options(survey.lonely.psu='adjust'); svymean(~api00, ds)", LONELY_ROUT, 5),
    "average": Ref(6.0096, f"{LONELY_DESIGN}; options(survey.lonely.psu='average'); svymean(~api00, ds)", LONELY_ROUT, 5),
}
LONELY_FPC_SE = Ref(5.7344, "fpc <- ifelse(apiclus1$dnum==413, 1, 1000); svydesign(id=~1, weights=~pw, strata=~dnum, data=apiclus1, fpc=fpc); svymean(~api00, ds)  # any lonely.psu option", LONELY_ROUT, 5)
LONELY_FAIL_MESSAGE = "Stratum (413) has only one PSU at stage 1"

# ---------------------------------------------------------------- proportion CIs
# svyciprop(~I(y==1), subset(des, ...), method="beta") on the frame built in the test
PROPCI_DOMAIN_BETA = {
    ("female", "y_mid"): (0.366666666666667, 0.103637545034320, 0.138846801273085, 0.649366612413814),
    ("female", "y_flat"): (0.45, 0.037267799624996, 0.359739743149435, 0.542749458006750),
    ("female&stratum1", "y_mid"): (0.3, 0.129099444873581, 0.026912858673537, 0.772658049163753),
    ("female&stratum2", "y_mid"): (0.4, 0.141421356237310, 0.056027190573667, 0.847107899229998),
    ("female&stratum1", "y_flat"): (0.45, 0.05, 0.297777350798571, 0.609395087641518),
    ("female&stratum2", "y_flat"): (0.45, 0.05, 0.297777350798571, 0.609395087641518),
}
PROPCI_DOMAIN_COMMAND = ("des <- svydesign(ids=~psu, strata=~stratum, weights=~wgt, data=d, nest=TRUE); "
                         "svyciprop(~I(y==1), subset(des, female==1 [& stratum==h]), method='beta')")

# svyciprop intervals from (p, se, n, degf): (p, se, n, df, method, lci, uci)
PROPCI_FROM_SE = [
    (0.507348258357226, 0.0192309892530454, 922, 921, "beta", 0.468954757876348, 0.545677337133621),
    (0.507348258357226, 0.0192537392244595, 922, 918, "beta", 0.468908426601806, 0.545723513770539),
    (0.507348258357226, 0.0164967611954173, 922, 59, "beta", 0.47383814353398, 0.540809220838568),
    (0.507348258357226, 0.0167712595840644, 922, 56, "beta", 0.473233376535445, 0.541412207644769),
    (0.471999767708621, 0.0348828290040279, 276, 56, "beta", 0.400786658613709, 0.544064683764286),
    (0.501335861736522, 0.0438888962101757, 167, 52, "beta", 0.410824184861583, 0.5917831333426),
    (0.507348258357226, 0.0192309892530454, 922, 921, "logit", 0.469636396975924, 0.544976682060238),
    (0.507348258357226, 0.0167712595840644, 922, 56, "logit", 0.473768764613996, 0.54086158229386),
    (0.471999767708817, 0.0348828290040279, 276, 56, "logit", 0.403112644241021, 0.541969987343409),
    (0.501335861736521, 0.0438888962101757, 167, 52, "logit", 0.41412536084128, 0.588465156732825),
]
PROPCI_FROM_SE_COMMAND = "svyciprop(~I(resp2_bin==1), des, method=c('beta','logit'))  # survey 4.4-2, 922-row synthetic sample"

# ---------------------------------------------------------------- Stata NHANES II
NHANES_ZINC_MEAN = Ref(87.182067, "svyset psuid [pweight=finalwgt], strata(stratid); svy: mean zinc", STATA_NHANES, 8)
NHANES_ZINC_SE = Ref(0.494483, "svyset psuid [pweight=finalwgt], strata(stratid); svy: mean zinc", STATA_NHANES, 6)

"""More published R ``survey`` reference numbers (issue 5's reference gaps), for sipas tests.

Same rules as :mod:`tests.results.results_survey`: every number is copied from a
published source, never produced by sipas, with the R command and the source beside
it.  Only what was actually found is here; see the searches listed at the end.

Sources
-------
SVY_JKN
    samplics-org/svy ``packages/svy/tests/svy/estimation/test_jackknife_r_validation.py``
    (commit 1d7b6f2b): "Reference values from R survey 4.5 on domain_nulls_20260722.csv
    (2 strata x 4 clusters, income null for non-employed + 2 MAR nulls)", printed with
    ``options(digits = 15)``.  The data file is samplics-org/svy
    ``packages/svy/tests/test_data/domain_nulls_20260722.csv`` (commit 6c215e34),
    copied verbatim into :data:`DOMAIN_NULLS_CSV`.
"""

from __future__ import annotations

from tests.results.results_survey import Ref

SVY_JKN = "samplics-org/svy packages/svy/tests/svy/estimation/test_jackknife_r_validation.py"
SVY_JKN_DATA = "samplics-org/svy packages/svy/tests/test_data/domain_nulls_20260722.csv"

JKN_SETUP = ('options(digits = 15); d <- read.csv("domain_nulls_20260722.csv"); '
             "des <- svydesign(id = ~cluster, strata = ~stratum, weights = ~wgt, data = d); "
             'rdes <- as.svrepdesign(des, type = "JKn"); rdes_mse <- as.svrepdesign(des, type = "JKn", mse = TRUE)')

# ---------------------------------------------------------------- JKn (as.svrepdesign, type="JKn"), survey 4.5
JKN_DEGF = Ref(6, f"{JKN_SETUP}; degf(rdes)", SVY_JKN)
JKN_MEAN_INCOME = Ref(42949.3221906951, f"{JKN_SETUP}; svymean(~income, rdes, na.rm = TRUE)", SVY_JKN)
JKN_MEAN_INCOME_SE = Ref(1718.17426740466, f"{JKN_SETUP}; SE(svymean(~income, rdes, na.rm = TRUE))", SVY_JKN)
JKN_MSE_MEAN_INCOME_SE = Ref(1720.80068178043, f"{JKN_SETUP}; SE(svymean(~income, rdes_mse, na.rm = TRUE))", SVY_JKN)
# printed as 114554002.6538 (13 significant digits)
JKN_TOTAL_INCOME = Ref(114554002.6538, f"{JKN_SETUP}; svytotal(~income, rdes, na.rm = TRUE)", SVY_JKN, 13)
JKN_TOTAL_INCOME_SE = Ref(18830996.1797964, f"{JKN_SETUP}; SE(svytotal(~income, rdes, na.rm = TRUE))", SVY_JKN)
# the replicate coefficients R gives this design: (n_h - 1)/n_h = 3/4 for each of the 8 replicates
JKN_RSCALES = Ref(0.75, f"{JKN_SETUP}; rdes$rscales  # 8 replicates (svy's test: rscales == (0.75,) * 8)", SVY_JKN)

DOMAIN_NULLS_CSV = """\
stratum,cluster,unit,employed,income,wgt
A,101,1,0,,145.05
A,101,2,1,36431.6,149.56
A,101,3,0,,127.87
A,101,4,1,51346.33,74.48
A,101,5,1,40051.9,83.65
A,101,6,1,,75.93
A,102,1,1,28081.47,81.46
A,102,2,1,22811.13,94.18
A,102,3,0,,70.27
A,102,4,1,45814.49,129.51
A,102,5,1,36305.42,122.64
A,102,6,1,54591.0,89.48
A,103,1,0,,96.39
A,103,2,0,,64.73
A,103,3,1,33510.14,147.34
A,103,4,1,30966.61,140.57
A,103,5,1,30621.72,94.94
A,103,6,1,40961.87,81.83
A,104,1,0,,77.57
A,104,2,0,,109.84
A,104,3,0,,117.24
A,104,4,0,,135.25
A,104,5,0,,59.24
A,104,6,0,,93.85
B,201,1,0,,116.9
B,201,2,0,,67.87
B,201,3,1,42896.82,124.59
B,201,4,0,,118.76
B,201,5,0,,64.64
B,201,6,1,55937.57,122.61
B,202,1,1,52008.48,124.4
B,202,2,0,,64.39
B,202,3,1,63209.31,52.68
B,202,4,1,,91.47
B,202,5,1,56752.98,84.86
B,202,6,0,,130.29
B,203,1,1,37145.05,102.31
B,203,2,1,54176.25,103.85
B,203,3,1,44067.09,127.19
B,203,4,0,,67.5
B,203,5,1,54274.18,54.23
B,203,6,1,51113.04,66.49
B,204,1,1,36935.9,96.79
B,204,2,1,40076.91,96.55
B,204,3,0,,132.8
B,204,4,0,,75.1
B,204,5,1,55218.78,99.09
B,204,6,1,45660.7,121.91
"""

# ---------------------------------------------------------------- still not found (searched, nothing printed)
# (scd BRR/Fay -- the svrepdesign example and as.svrepdesign BRR/Fay/JKn on scdnofpc -- were
# not found printed; they are now produced by R itself: tests/results/r/survey_replicates.R,
# checked in tests/test_estimation_r_replicates.py.)
NOT_FOUND = {
}
# Closed by running R itself: trimWeights (the ?trimWeights example and uncalibrated designs) and
# svyciprop with every method are in tests/results/r/survey_ciprop_trim.R (+ .json), tested in
# tests/test_estimation_r_ciprop_trim.py.

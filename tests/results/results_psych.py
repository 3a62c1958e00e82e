"""Published output of R ``psych`` used as references by tests/test_reliability*.py.

Every number below is copied from R output printed in a public source, with the R command that
produced it and the source.  None was produced by sipas.  R prints 2 or 3 decimals, so each value
is checked to half a unit of its last printed digit (``tol`` below); the exact (1e-6 and tighter)
checks in the tests are against independent closed-form numpy computations, not against these.
"""

from __future__ import annotations

# ---------------------------------------------------------------------------------------------
# Holzinger & Swineford (1939), x1..x9, n = 301 (semopy ships the same data as lavaan).
# R: library(psych); library(lavaan); myalpha <- alpha(HolzingerSwineford1939[, 7:15])
# Source: GitHub Aaron0696/aaRon, README.md (commit 6c84dccd5df0e5cf9ded6076ddafccf409b7fe9e),
#         section "prettyalpha()", tables printed with knitr::kable(digits = 2).
# ---------------------------------------------------------------------------------------------
HS_ALPHA = {
    "command": "alpha(HolzingerSwineford1939[, 7:15])",
    "tol": 0.005,
    # myalpha$total
    "raw_alpha": 0.76,
    "std_alpha": 0.76,
    # myalpha$alpha.drop$raw_alpha
    "alpha_drop": {"x1": 0.72, "x2": 0.76, "x3": 0.75, "x4": 0.72, "x5": 0.72,
                   "x6": 0.71, "x7": 0.77, "x8": 0.75, "x9": 0.73},
    # myalpha$alpha.drop$std.alpha (not used by sipas, kept for completeness)
    # myalpha$item.stats$r.drop
    "r_drop": {"x1": 0.52, "x2": 0.28, "x3": 0.37, "x4": 0.58, "x5": 0.53,
               "x6": 0.60, "x7": 0.25, "x8": 0.37, "x9": 0.49},
    # myalpha$item.stats$mean and $sd
    "mean": {"x1": 4.94, "x2": 6.09, "x3": 2.25, "x4": 3.06, "x5": 4.34,
             "x6": 2.19, "x7": 4.19, "x8": 5.53, "x9": 5.37},
    "sd": {"x1": 1.17, "x2": 1.18, "x3": 1.13, "x4": 1.16, "x5": 1.29,
           "x6": 1.10, "x7": 1.09, "x8": 1.01, "x9": 1.01},
    "n": 301,
}

# ---------------------------------------------------------------------------------------------
# R datasets::attitude, 30 x 7 (tests/data/reliability/attitude.csv).
# R: rel <- alpha(attitude)
#    round(rel$total[, c("raw_alpha", "std.alpha", "average_r")], 3)
#    round(rel$alpha.drop[, "raw_alpha", drop = FALSE], 3)
# Source: public R tutorial "Measurement Reliability in R: Alpha, ICC, Agreement" (2026),
#         block "Cronbach's alpha with the psych package"; the same page computes
#         "Sum of item variances: 924.8", "Variance of total score: 3334.9" by hand.
# ---------------------------------------------------------------------------------------------
ATTITUDE_ALPHA = {
    "command": "alpha(attitude)",
    "tol": 0.0005,
    "raw_alpha": 0.843,
    "std_alpha": 0.839,
    "average_r": 0.427,
    "alpha_drop": {"rating": 0.810, "complaints": 0.797, "privileges": 0.828, "learning": 0.803,
                   "raises": 0.795, "critical": 0.864, "advance": 0.840},
    "sum_item_var": 924.8,   # round(sum(apply(attitude, 2, var)), 1)
    "var_total": 3334.9,     # round(var(rowSums(attitude)), 1)
}

# cor(attitude), first row, printed to 7 decimals (public R tutorial "Correlation Heat Map",
# `fullCorrelationMatrix <- cor(attitude)`); used to check the transcription of attitude.csv.
ATTITUDE_COR_RATING = {
    "command": "cor(attitude)[1, ]",
    "tol": 5e-8,
    "values": {"complaints": 0.8254176, "privileges": 0.4261169, "learning": 0.6236782,
               "raises": 0.5901390, "critical": 0.1564392},
}

# ---------------------------------------------------------------------------------------------
# psych's own help-page examples, example("alpha", "psych"), as rendered in the documentation of
# the R package codebook (rubenarslan/codebook, reference page "knit_print.alpha").
# ---------------------------------------------------------------------------------------------
# R: print(alpha.ci(.74, 100, p.val = .05, n.var = 4))   -> 95% confidence boundaries (Feldt)
ALPHA_CI_EXAMPLE = {
    "command": "alpha.ci(.74, 100, p.val = .05, n.var = 4)",
    "tol": 0.005,
    "alpha": 0.74, "n_obs": 100, "n_var": 4,
    "lower": 0.65, "upper": 0.81,
}

# R: set.seed(42); r4 <- sim.congeneric(); alpha(r4)
# sim.congeneric() with its defaults returns the population correlation matrix of four
# congeneric items with loadings .8, .7, .6, .5 (R_ij = l_i * l_j); alpha() of a 4 x 4 matrix
# uses n.obs = 4 for the Feldt interval.
CONGENERIC_ALPHA = {
    "command": "alpha(sim.congeneric())",
    "tol": 0.005,
    "loadings": (0.8, 0.7, 0.6, 0.5),
    "raw_alpha": 0.74, "std_alpha": 0.74,
    "feldt_lower": -0.31, "feldt_upper": 0.98,
    "alpha_drop": {"V1": 0.62, "V2": 0.66, "V3": 0.70, "V4": 0.74},
    "r_drop": {"V1": 0.64, "V2": 0.57, "V3": 0.51, "V4": 0.43},
}

# ---------------------------------------------------------------------------------------------
# FULL PRECISION (6 decimals) psych output, saved by the R package tidystats in its test data:
# GitHub WillemSleegers/tidystats, tests/data/psych.json (commit
# 7b52e2d85062218b6e7e8861bbd2558d60fc5667), produced by tests/prep/prep_psych.R with psych 2.2.9:
#     r4 <- sim.congeneric(loads = c(0.8, 0.7, 0.6, 0.5), low = -3, high = 3); alpha(r4)
#     r9 <- sim.hierarchical(); alpha(r9)
# Both inputs are population correlation matrices (no sampling), so they are rebuilt exactly in the
# tests: r4[i, j] = l_i l_j; r9 = F Phi F' with unit diagonal, Phi = g g' with unit diagonal,
# g = (.9, .8, .7), F = blocks (.8, .7, .6), (.7, .6, .5), (.6, .5, .4) (psych defaults).
# psych's Feldt interval for a matrix input uses n.obs = nrow(matrix).
# (tidystats' "alpha if dropped" entries are a parser artefact -- all equal to the total -- and
#  are not used.)
# ---------------------------------------------------------------------------------------------
R4_ALPHA_FULL = {
    "command": "alpha(sim.congeneric(loads = c(0.8, 0.7, 0.6, 0.5)))",
    "tol_abs": 5e-7,
    "raw_alpha": 0.742055, "std_alpha": 0.742055, "average_r": 0.418333,
    "feldt_lower": -0.309877, "feldt_upper": 0.982178, "n_obs": 4,
    "r_drop": {"V1": 0.635157, "V2": 0.574473, "V3": 0.506189, "V4": 0.431547},
}
R9_ALPHA_FULL = {
    "command": "alpha(sim.hierarchical())",
    "tol_abs": 5e-7,
    "raw_alpha": 0.763085, "std_alpha": 0.763085, "average_r": 0.263558,
    "feldt_lower": 0.432026, "feldt_upper": 0.937282, "n_obs": 9,
    "r_drop": {"V1": 0.613646, "V2": 0.544888, "V3": 0.47334, "V4": 0.513507, "V5": 0.447177,
               "V6": 0.378092},
}
# The same r9 alpha(sim.hierarchical()) printed by psych's help example (codebook docs, 2 dp):
R9_ALPHA_PRINTED = {
    "command": "alpha(sim.hierarchical())",
    "tol": 0.005,
    "alpha_drop": {"V1": 0.71, "V2": 0.72, "V3": 0.74, "V4": 0.73, "V5": 0.74, "V6": 0.75,
                   "V7": 0.75, "V8": 0.76, "V9": 0.77},
    "r_drop": {"V7": 0.40, "V8": 0.34, "V9": 0.28},
}

# =============================================================================================
# KMO, Bartlett, fa (minres) -- added by tests/test_reliability_r_extra.py.
# Input matrices (tests/data/reliability/, see README.md there):
#   thurstone.csv        psych::Thurstone (9 ability tests, McDonald 1999; n = 213), from
#                        GitHub vincentarelbundock/Rdatasets, csv/psych/Thurstone.csv
#                        (commit aa1ee3f77778e95ac0d8909f2f1cf129f5b49bde);
#   harman_political.csv psych::Harman.political (8 political variables, Harman 1976 p. 166),
#                        Rdatasets csv/psych/Harman.political.csv
#                        (commit cc03c29690889dbe83089f5206e2422db8c3f71f).
# =============================================================================================

# R: example(KMO) in psych -- KMO(Thurstone); KMO(Harman.political)
# Source: a public GitHub text file transcribing the run of psych's help example for KMO (its first
#         line cites https://cran.r-project.org/web/packages/psych/refman/psych.html#KMO; file found
#         in the stored code index under id 52111225465, repository name not exposed by the index).
#         print.KMO rounds to 2 decimals, so tol = 0.005.
KMO_THURSTONE = {
    "command": "KMO(Thurstone)",
    "tol": 0.005,
    "overall": 0.88,
    "msa": {"Sentences": 0.86, "Vocabulary": 0.86, "Sent.Completion": 0.90, "First.Letters": 0.86,
            "Four.Letter.Words": 0.88, "Suffixes": 0.92, "Letter.Series": 0.85, "Pedigrees": 0.93,
            "Letter.Group": 0.87},
}
KMO_HARMAN_POLITICAL = {
    "command": "KMO(Harman.political)",
    "tol": 0.005,
    "overall": 0.81,
    "msa": {"Lewis": 0.73, "Roosevelt": 0.76, "Party Voting": 0.84, "Median Rental": 0.87,
            "Homeownership": 0.53, "Unemployment": 0.93, "Mobility": 0.78, "Education": 0.86},
}

# R: example(cortest.bartlett) in psych (help page examples, rendered by pkgdown):
#    f3 <- fa(Thurstone, 3)            # fm = "minres", rotate = "oblimin" (defaults)
#    f3r <- f3$resid                   # R - L L', uniquenesses on the diagonal
#    cortest.bartlett(f3r, n = 213, diag = FALSE)   #incorrect
#    cortest.bartlett(f3r, n = 213, diag = TRUE)    #correct (by default)
# Sources: https://prism.a2-ai.cloud/docs/psych/2.5.6/reference/cortest.bartlett.html (psych 2.5.6),
#          https://prism.dev.a2-ai.cloud/docs/psych/2.5.3/reference/cortest.bartlett.html (2.5.3) and
#          https://personality-project.github.io/psych/reference/cortest.bartlett.html -- the same
#          four numbers in all three.  (The random-data examples of the same page use R's RNG and the
#          bfi examples differ between psych versions; not used.)
# With diag = TRUE, chi2 = -(n - 1 - (2p + 5)/6) log det(resid with unit diagonal) ~ (n - 1 - (2p+5)/6)
# * sum_{i<j} resid_ij^2, i.e. essentially psych's minres objective: this checks the minres fit itself.
BARTLETT_THURSTONE_FA3_RESID = {
    "command": "cortest.bartlett(fa(Thurstone, 3)$resid, n = 213, diag = FALSE / TRUE)",
    "n": 213,
    "df": 36,
    "chisq_diag_false": 2203.356,
    "p_diag_false": 0.0,
    "chisq_diag_true": 0.256498,
    "p_diag_true": 1.0,
}

# ---------------------------------------------------------------------------------------------
# omega on Harman's 24 ability tests (R datasets::Harman74.cor$cov, n.obs = 145;
# tests/data/reliability/harman74.csv).
# R (run from WPS/SAS PROC R): library(psych); library(GPArotation)
#    lst <- omega(have)            # have = the 24 x 24 Harman74 correlation matrix; all defaults:
#                                  # nfactors = 3, fm = "minres", rotate = "oblimin", flip = TRUE
#    str(lst); print(lst, digits = 2)
# Source: GitHub rogerjdeangelis/utl-calculate-mcdonalds-omega-estimates-of-general-and-total-
#         factor-saturation, README.md (commit 52b553cec1445eb22039efc325369e106bfe254b): the input
#         cards (identical, entry by entry, to R's src/library/datasets/data/Harman74.cor.R), the
#         5-decimal values exported to the dataset SD1.WANT, str(lst) (3 digits) and the print (2
#         digits).  In SD1.WANT the STATISTIC labels are shifted against the values (the R code binds
#         omega_h, omega.lim, alpha, omega.tot, G6 but names them Alpha, G6, Omega_Hierarchical,
#         Omega_Hasymptotic, Omega_Total); the values are identified by the R code and confirmed by
#         str(lst): "$ omega_h: num 0.643", "$ omega.lim: num 0.693", "$ alpha: num 0.912",
#         "$ omega.tot: num 0.929", "$ G6: num 0.937", and by the print (0.64, 0.69, 0.91, 0.93, 0.94).
# ---------------------------------------------------------------------------------------------
OMEGA_HARMAN74 = {
    "command": "omega(Harman74.cor$cov)",
    "tol_5dp": 5e-6,          # SD1.WANT values, printed with 5 decimals
    "omega_h": 0.64349,
    "omega_lim": 0.69273,     # not computed by sipas
    "alpha": 0.91188,
    "omega_tot": 0.92891,
    "G6": 0.93664,            # not computed by sipas
    # str(lst): ..$ sl : num [1:24, 1:7] 0.517 0.327 0.376 0.421 0.568 ...  (first column = g)
    "tol_3dp": 5e-4,
    "g_first5": (0.517, 0.327, 0.376, 0.421, 0.568),
    # print(lst, digits = 2): "Schmid Leiman Factor loadings greater than 0.2" -- g, h2, u2 for every
    # test, group loadings only where |loading| >= 0.2 (blank otherwise).  psych's F1* = verbal,
    # F2* = spatial, F3* = speed.
    "tol_2dp": 0.005,
    "cut": 0.2,
    "sl": {
        # test: (g, {group factor: loading}, h2, u2)
        "VisualPerception": (0.52, {"F2*": 0.47}, 0.49, 0.51),
        "Cubes": (0.33, {"F2*": 0.31}, 0.21, 0.79),
        "PaperFormBoard": (0.38, {"F2*": 0.39}, 0.33, 0.67),
        "Flags": (0.42, {"F2*": 0.34}, 0.31, 0.69),
        "GeneralInformation": (0.57, {"F1*": 0.55}, 0.64, 0.36),
        "PargraphComprehension": (0.57, {"F1*": 0.58}, 0.67, 0.33),
        "SentenceCompletion": (0.56, {"F1*": 0.63}, 0.72, 0.28),
        "WordClassification": (0.56, {"F1*": 0.40}, 0.50, 0.50),
        "WordMeaning": (0.58, {"F1*": 0.63}, 0.74, 0.26),
        "Addition": (0.35, {"F3*": 0.78}, 0.74, 0.26),
        "Code": (0.44, {"F3*": 0.50}, 0.46, 0.54),
        "CountingDots": (0.36, {"F3*": 0.56}, 0.47, 0.53),
        "StraightCurvedCapitals": (0.49, {"F2*": 0.25, "F3*": 0.34}, 0.42, 0.58),
        "WordRecognition": (0.34, {}, 0.17, 0.83),
        "NumberRecognition": (0.32, {"F2*": 0.20}, 0.16, 0.84),
        "FigureRecognition": (0.44, {"F2*": 0.42}, 0.37, 0.63),
        "ObjectNumber": (0.37, {"F3*": 0.27}, 0.24, 0.76),
        "NumberFigure": (0.43, {"F2*": 0.33, "F3*": 0.30}, 0.39, 0.61),
        "FigureWord": (0.37, {"F2*": 0.24}, 0.22, 0.78),
        "Deduction": (0.53, {"F1*": 0.23, "F2*": 0.29}, 0.42, 0.58),
        "NumericalPuzzles": (0.49, {"F2*": 0.29, "F3*": 0.28}, 0.41, 0.59),
        "ProblemReasoning": (0.52, {"F1*": 0.22, "F2*": 0.28}, 0.40, 0.60),
        "SeriesCompletion": (0.59, {"F1*": 0.21, "F2*": 0.34}, 0.50, 0.50),
        "ArithmeticProblems": (0.53, {"F1*": 0.20, "F3*": 0.40}, 0.49, 0.51),
    },
    # "Omega total for total scores and subscales    0.93 0.90 0.82 0.80" (g, F1*, F2*, F3*)
}

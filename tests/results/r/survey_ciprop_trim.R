# Reference numbers for sipas.estimation.propci (R svyciprop, every method) and sipas.estimation.weighting.trim
# (R trimWeights), on R survey's api data.  Run: Rscript --vanilla tests/results/r/survey_ciprop_trim.R
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "_refs.R"))
suppressPackageStartupMessages(library(survey))

setup('apiclus1 <- read_api("apiclus1"); apistrat <- read_api("apistrat")')
setup('dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)')
setup('dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)')
setup('rclus1 <- as.svrepdesign(dclus1)')
setup('pop.totals <- c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1361)')
setup('dclus1g <- calibrate(dclus1, ~stype + api99, c(pop.totals, api99 = 3914069))')
# estimate, SE (R: sqrt(attr(, "var")), the svymean variance) and the interval of one svyciprop result
setup('ci <- function(r) c(estimate = unname(r[1]), se = sqrt(as.numeric(attr(r, "var"))), lower = unname(attr(r, "ci")[1]), upper = unname(attr(r, "ci")[2]))')

METHODS <- c("logit", "likelihood", "asin", "beta", "mean", "xlogit")
ciprop_refs <- function(tag, formula, design, extra = "", methods = METHODS) {
  for (m in methods) {
    ref(paste0("CIPROP_", tag, "_", toupper(m)),
        sprintf('ci(svyciprop(%s, %s, method = "%s"%s))', formula, design, m, extra))
  }
}

# ---------------------------------------------------------------- svyciprop
ciprop_refs("CLUS1_ELL0", "~I(ell == 0)", "dclus1")            # 4 of 183 schools: p = 0.022
ciprop_refs("CLUS1_HIGH", '~I(stype == "H")', "dclus1")
ciprop_refs("CLUS1_SCHWIDE", '~I(sch.wide == "Yes")', "dclus1")  # p = 0.87
ciprop_refs("CLUS1_SCHWIDE_L90", '~I(sch.wide == "Yes")', "dclus1", ", level = 0.90")
ciprop_refs("CLUS1_ELL0_L90", "~I(ell == 0)", "dclus1", ", level = 0.90")
ciprop_refs("CLUS1_SCHWIDE_DFINF", '~I(sch.wide == "Yes")', "dclus1", ", df = Inf")
ciprop_refs("CLUS1_ELL0_DFINF", "~I(ell == 0)", "dclus1", ", df = Inf")
ciprop_refs("CLUS1_SCHWIDE_DF5", '~I(sch.wide == "Yes")', "dclus1", ", df = 5")
ciprop_refs("STRAT_SCHWIDE", '~I(sch.wide == "Yes")', "dstrat")
ciprop_refs("STRAT_API800", "~I(api00 > 800)", "dstrat")
ciprop_refs("STRAT_ELL0", "~I(ell == 0)", "dstrat")
ciprop_refs("REP_SCHWIDE", '~I(sch.wide == "Yes")', "rclus1")
ciprop_refs("REP_HIGH", '~I(stype == "H")', "rclus1")
ciprop_refs("DOMAIN_E_SCHWIDE", '~I(sch.wide == "Yes")', 'subset(dclus1, stype == "E")')
ciprop_refs("DOMAIN_E_ELL0", "~I(ell == 0)", 'subset(dclus1, stype == "E")')
ciprop_refs("DOMAIN_M_SCHWIDE", '~I(sch.wide == "Yes")', 'subset(dstrat, stype == "M")')
ciprop_refs("REPDOMAIN_E_SCHWIDE", '~I(sch.wide == "Yes")', 'subset(rclus1, stype == "E")')
ciprop_refs("CAL_SCHWIDE", '~I(sch.wide == "Yes")', "dclus1g")
ciprop_refs("CALDOMAIN_E_SCHWIDE", '~I(sch.wide == "Yes")', 'subset(dclus1g, stype == "E")')
# no high school among the elementary schools: p = 0; R's glm stops after 25 iterations (not converged)
ciprop_refs("DOMAIN_E_HIGH", '~I(stype == "H")', 'subset(dclus1, stype == "E")', methods = c("logit", "mean"))
# small domains: 14 high schools in 8 of the 15 districts (degf 7; the replicate subset has rank 8)
ciprop_refs("DOMAIN_H_SCHWIDE", '~I(sch.wide == "Yes")', 'subset(dclus1, stype == "H")')
ciprop_refs("REPDOMAIN_H_SCHWIDE", '~I(sch.wide == "Yes")', 'subset(rclus1, stype == "H")', methods = setdiff(METHODS, "likelihood"))
ref("DEGF_DOMAIN_H", 'c(degf(subset(dclus1, stype == "H")), degf(subset(rclus1, stype == "H")))')
# missing values (avg.ed: 26 of 183 missing): na.rm = TRUE for svymean, na.action for the GLM
ciprop_refs("CLUS1_AVGED3", "~I(avg.ed > 3)", "dclus1", ", na.rm = TRUE")
ciprop_refs("DOMAIN_E_AVGED3", "~I(avg.ed > 3)", 'subset(dclus1, stype == "E")', ", na.rm = TRUE")
ciprop_refs("CAL_AVGED3", "~I(avg.ed > 3)", "dclus1g", ", na.rm = TRUE")
# a strong design effect (lambda = 12.6): the profile's F quantile is taken at alpha = 1e-17
ciprop_refs("CALDOMAIN_H_AVGED3", "~I(avg.ed > 3)", 'subset(dclus1g, stype == "H")', ", na.rm = TRUE")
ciprop_refs("CALDOMAIN_E_AVGED3", "~I(avg.ed > 3)", 'subset(dclus1g, stype == "E")', ", na.rm = TRUE")
# replicate designs without "likelihood" (R returns NA for them, see REP_SCHWIDE_LIKELIHOOD; with
# ell == 0 R's profile even stops with an error): some jackknife replicates have no ell == 0 school
ciprop_refs("REP_AVGED3", "~I(avg.ed > 3)", "rclus1", ", na.rm = TRUE", methods = setdiff(METHODS, "likelihood"))
ciprop_refs("REP_ELL0", "~I(ell == 0)", "rclus1", methods = setdiff(METHODS, "likelihood"))
ref("DEGF_DOMAIN_E", 'c(degf(subset(dclus1, stype == "E")), nrow(subset(dclus1, stype == "E")))')

# R's spline() (method "fmm", Forsythe, Malcolm & Moler), used by the likelihood interval
ref("SPLINE_FMM_5", "spline(x = c(0, 0.5, 1.5, 2, 3.5), y = c(0, 1, -1, 2, 0.5), n = 12)$y")
ref("SPLINE_FMM_4", "spline(x = c(-1, 0.2, 1, 4), y = c(2, -1, 0.5, 3), n = 9)$y")
ref("SPLINE_FMM_3", "spline(x = c(1, 2, 4), y = c(1, 3, 2), n = 7)$y")

# ---------------------------------------------------------------- trimWeights (?trimWeights example)
ref("CAL_WEIGHTS", "weights(dclus1g)")
ref("TRIM_WEIGHTS", "weights(trimWeights(dclus1g, lower = 20, upper = 45))")
ref("TRIM_STRICT_WEIGHTS", "weights(trimWeights(dclus1g, lower = 20, upper = 45, strict = TRUE))")
ref("CAL_MEAN", "coef(svymean(~api99 + api00 + stype, dclus1g))")
ref("CAL_MEAN_SE", "SE(svymean(~api99 + api00 + stype, dclus1g))")
ref("TRIM_MEAN", "coef(svymean(~api99 + api00 + stype, trimWeights(dclus1g, lower = 20, upper = 45)))")
ref("TRIM_MEAN_SE", "SE(svymean(~api99 + api00 + stype, trimWeights(dclus1g, lower = 20, upper = 45)))")
ref("TRIM_STRICT_MEAN", "coef(svymean(~api99 + api00 + stype, trimWeights(dclus1g, lower = 20, upper = 45, strict = TRUE)))")
ref("TRIM_STRICT_MEAN_SE", "SE(svymean(~api99 + api00 + stype, trimWeights(dclus1g, lower = 20, upper = 45, strict = TRUE)))")
ref("TRIM_TOTAL", "coef(svytotal(~api00 + stype, trimWeights(dclus1g, lower = 20, upper = 45)))")
ref("TRIM_TOTAL_SE", "SE(svytotal(~api00 + stype, trimWeights(dclus1g, lower = 20, upper = 45)))")
# uncalibrated designs: dclus1 has one weight (33.847) for every school, so these bounds trim nothing
ref("CLUS1_TRIM_WEIGHTS", "weights(trimWeights(dclus1, lower = 20, upper = 40))")
ref("CLUS1_TRIM_MEAN_SE", "SE(svymean(~api00, trimWeights(dclus1, lower = 20, upper = 40)))")
# apistrat weights: E 44.21 (100 schools), H 15.10 (50), M 20.36 (50); mean 30.97.  Trimming to
# [18, 35] pushes M to 35.88, so strict = TRUE trims again
ref("STRAT_TRIM_WEIGHTS", "weights(trimWeights(dstrat, lower = 18, upper = 35))")
ref("STRAT_TRIM_STRICT_WEIGHTS", "weights(trimWeights(dstrat, lower = 18, upper = 35, strict = TRUE))")
ref("STRAT_TRIM_MEAN", "coef(svymean(~api00 + api99, trimWeights(dstrat, lower = 18, upper = 35)))")
ref("STRAT_TRIM_MEAN_SE", "SE(svymean(~api00 + api99, trimWeights(dstrat, lower = 18, upper = 35)))")
ref("STRAT_TRIM_STRICT_MEAN", "coef(svymean(~api00 + api99, trimWeights(dstrat, lower = 18, upper = 35, strict = TRUE)))")
ref("STRAT_TRIM_STRICT_MEAN_SE", "SE(svymean(~api00 + api99, trimWeights(dstrat, lower = 18, upper = 35, strict = TRUE)))")
# every weight outside [25, 40]: R only clips them (nothing is left to share the trimmings), so the
# total weight is no longer 6194
ref("STRAT_TRIM_ALL_OUTSIDE_TOTAL", "c(sum(weights(dstrat)), sum(weights(trimWeights(dstrat, lower = 25, upper = 40))))")

write_refs(this_script())

# References for sipas.planning (issue 18): variance components and PracTools' sample-size formulas.
#
# PracTools (Valliant, Dever & Kreuter) is not installable here (CRAN unreachable, no Debian package),
# so this script does NOT run PracTools.  It has two parts:
#
# 1. nlme (ships with R): REML variance components of a balanced nested random-effects model
#    y ~ 1 + (1 | s/c/v); on balanced data with positive estimates REML equals the ANOVA estimator that
#    sipas.planning.nested_components implements, so these are outside numbers for the same estimator.
# 2. THE FORMULAS FROM THE SOURCE, NOT THE PACKAGE: base-R evaluations of the closed forms printed in
#    VDK (2018) ch. 9 and the PracTools vignette "Variance Component Estimation in Multistage Sampling"
#    (cran/PracTools inst/doc/Varcomps-multistage.Rmd) for BW2stagePPS, BW3stagePPS, clusOpt2, clusOpt3
#    and deffK, written independently here (PracTools' GPL code is not copied).  They check sipas's
#    transcription of the formulas, not PracTools' own code; the numbers PracTools itself published
#    (vignette output) are in tests/results/results_practools.py, and PracTools' own functions are run on
#    public data in planning_practools.R.
#
# Run:  Rscript --vanilla tests/results/r/planning_formulas.R
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "_refs.R"))
suppressPackageStartupMessages(library(nlme))

# ---------------------------------------------------------------- 1. nlme REML on a balanced nested design
setup(paste("set.seed(20240905);",
            "nest <- expand.grid(k = 1:5, v = 1:3, c = 1:4, s = 1:3);",
            "a <- rnorm(3, 0, 1.0); b <- rnorm(12, 0, 0.8); g <- rnorm(36, 0, 0.6);",
            "nest$y <- 3 + a[nest$s] + b[(nest$s - 1) * 4 + nest$c] +",
            "  g[((nest$s - 1) * 4 + nest$c - 1) * 3 + nest$v] + rnorm(nrow(nest), 0, 1);",
            "nest$s <- factor(nest$s); nest$c <- factor(nest$c); nest$v <- factor(nest$v)"))
setup("fit <- lme(y ~ 1, random = ~ 1 | s/c/v, data = nest, method = 'REML', control = lmeControl(opt = 'optim', optimMethod = 'BFGS', tolerance = 1e-14, msTol = 1e-14, niterEM = 1000, msMaxIter = 1000, maxIter = 1000))")
ref("NEST_Y", "nest$y")
ref("NEST_S", "as.integer(nest$s)")
ref("NEST_C", "as.integer(nest$c)")
ref("NEST_V", "as.integer(nest$v)")
ref("NEST_REML_SIGMA2", "as.numeric(VarCorr(fit)[c(2, 4, 6, 7), 'Variance'])")
# the balanced ANOVA estimator itself (Searle, Casella & McCulloch 1992, Table 4.x: mean squares of the nested
# sums of squares, sigma2_e = MSE, sigma2_v = (MS_v - MSE)/5, sigma2_c = (MS_c - MS_v)/15, sigma2_s = (MS_s - MS_c)/60)
setup(paste("ms <- function(g, parent) { m <- ave(nest$y, g); mp <- if (is.null(parent)) mean(nest$y) else ave(nest$y, parent);",
            "  sum((m - mp)^2) / (length(unique(g)) - if (is.null(parent)) 1 else length(unique(parent))) };",
            "gs <- nest$s; gc <- interaction(nest$s, nest$c); gv <- interaction(nest$s, nest$c, nest$v);",
            "MSs <- ms(gs, NULL); MSc <- ms(gc, gs); MSv <- ms(gv, gc); MSe <- sum((nest$y - ave(nest$y, gv))^2) / (nrow(nest) - 36)"))
ref("NEST_ANOVA_SIGMA2", "c((MSs - MSc) / 60, (MSc - MSv) / 15, (MSv - MSe) / 5, MSe)")
ref("NLME_VERSION", "as.numeric(unlist(packageVersion('nlme')))")

# ---------------------------------------------------------------- 2. closed forms (formula from the source)
# a small three-stage population: 6 PSUs, 2-4 SSUs each, 3-8 elements per SSU
setup(paste("set.seed(18);",
            "nssu <- c(2, 3, 4, 2, 3, 4);",
            "pop <- do.call(rbind, lapply(1:6, function(i) do.call(rbind, lapply(1:nssu[i], function(j)",
            "  data.frame(psu = i, ssu = i * 10 + j, y = rpois(3 + ((i + j) %% 6), 4 + i) + 1)))));",
            "ppsu <- as.vector(table(pop$psu)) / nrow(pop)"))
ref("POP_Y", "pop$y")
ref("POP_PSU", "pop$psu")
ref("POP_SSU", "pop$ssu")
# BW2stagePPS (VDK eqs. 9.9-9.10): B2 = sum p_i (t_i/p_i - t_U)^2 / t_U^2; W2 = sum N_i^2 S2_i / p_i / t_U^2
setup(paste("ti <- tapply(pop$y, pop$psu, sum); tU <- sum(ti); Ni <- tapply(pop$y, pop$psu, length);",
            "S2i <- tapply(pop$y, pop$psu, var); V <- var(pop$y) / mean(pop$y)^2;",
            "B2 <- sum(ppsu * (ti / ppsu - tU)^2) / tU^2; W2 <- sum(Ni^2 * S2i / ppsu) / tU^2"))
ref("BW2_PPS", "c(B2 = B2, W2 = W2, unit_relvar = V, k = (B2 + W2) / V, delta = B2 / (B2 + W2))")
# BW3stagePPS (VDK eqs. 9.16-9.19)
setup(paste("tij <- tapply(pop$y, pop$ssu, sum); psu_of_ssu <- tapply(pop$psu, pop$ssu, function(x) x[1]);",
            "Nssu <- as.vector(table(psu_of_ssu)); S2U2i <- tapply(tij, psu_of_ssu, var);",
            "W2b <- sum(Nssu^2 * S2U2i / ppsu) / tU^2;",
            "Qij <- tapply(pop$y, pop$ssu, length); S2U3ij <- tapply(pop$y, pop$ssu, var);",
            "W3 <- sum(Nssu[psu_of_ssu] / ppsu[psu_of_ssu] * Qij^2 * S2U3ij) / tU^2;",
            "Wb <- sum(Ni^2 * S2i / ppsu) / tU^2"))
ref("BW3_PPS", paste("c(B = B2, W = Wb, W2 = W2b, W3 = W3, unit_relvar = V, k1 = (B2 + Wb) / V,",
                     "k2 = (W2b + W3) / V, delta1 = B2 / (B2 + Wb), delta2 = W2b / (W2b + W3))"))
# srswr of PSUs: pp = 1/M
setup("pp_eq <- rep(1 / 6, 6); B2eq <- sum(pp_eq * (ti / pp_eq - tU)^2) / tU^2; W2eq <- sum(Ni^2 * S2i / pp_eq) / tU^2")
ref("BW2_SRS_PSU", "c(B2 = B2eq, W2 = W2eq, delta = B2eq / (B2eq + W2eq))")
# clusOpt2 (VDK eqs. 9.24-9.26), Example 9.7 inputs: C1 = 750, C2 = 100, delta = 0.05, unit.rv = 1, budget 100000
setup("n2 <- sqrt(750 / 100 * (1 - 0.05) / 0.05); m2 <- 100000 / (750 + 100 * n2)")
ref("CLUSOPT2_BUDGET", "c(m = m2, n = n2, cv = sqrt(1 / m2 / n2 * (1 + 0.05 * (n2 - 1))))")
setup("n2b <- sqrt(750 / 100 * (1 - 0.01) / 0.01); m2b <- 1 * (1 + 0.01 * (n2b - 1)) / n2b / 0.05^2")
ref("CLUSOPT2_CV", "c(m = m2b, n = n2b, cost = 750 * m2b + 100 * m2b * n2b)")
# clusOpt3 (VDK eqs. 9.30-9.32), help-page inputs: unit.cost = c(500, 100, 120), delta1 = 0.01, delta2 = 0.10,
# unit.rv = 1, k1 = k2 = 1, budget 100000 and CV0 = 0.01
setup(paste("q3 <- sqrt((1 - 0.10) / 0.10 * 100 / 120); n3 <- sqrt((1 - 0.10) / 0.01 * 500 / 120) / q3;",
            "core3 <- 0.01 * n3 * q3 + (1 + 0.10 * (q3 - 1)); m3 <- 100000 / (500 + 100 * n3 + 120 * n3 * q3);",
            "m3cv <- 1 / 0.01^2 / n3 / q3 * core3"))
ref("CLUSOPT3_BUDGET", "c(m = m3, n = n3, q = q3, cv = sqrt(1 / m3 / n3 / q3 * core3))")
ref("CLUSOPT3_CV", "c(m = m3cv, cost = 500 * m3cv + 100 * m3cv * n3 + 120 * m3cv * n3 * q3)")
# deffK (Kish 1965 eq. 11.7.6): n sum w^2 / (sum w)^2 = 1 + relvar(w) with the population variance
setup("wk <- c(rep(1, 20), rep(2, 10), rep(5, 5), 12)")
ref("DEFFK", "length(wk) * sum(wk^2) / sum(wk)^2")

write_refs(this_script())

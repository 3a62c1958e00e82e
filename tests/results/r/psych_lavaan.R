source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "_refs.R"))
suppressPackageStartupMessages({library(psych); library(GPArotation); library(lavaan)})

# References for tests/test_reliability_r_psych_lavaan.py: psych fa / fa.parallel / alpha / omega /
# KMO / cortest.bartlett and lavaan cfa on data that ship with R packages.
#
# Data: psych's `bfi` (2800 x 28; copied verbatim to tests/data/reliability/bfi.csv, checked by the
# BFI_* references below; source and licence in tests/data/reliability/SOURCES_bfi.md) and lavaan's
# `HolzingerSwineford1939` (the tests read semopy's identical copy; checked by HS_*).
#
# psych's default fa(fm = "minres") stops its L-BFGS-B search early (R optim, factr = 1e7, with a
# gradient function that is exact only at the solution), about 2e-6 short in the communalities, and
# GPArotation::oblimin stops at a projected-gradient norm of 1e-5 (its default eps).  Besides the
# default calls, each solution is therefore also computed to convergence with psych itself:
# principal-axis iteration (fm = "pa") with min.err = 1e-14 reaches the same stationary point as
# minres (diag(L L') = 1 - psi with L from the top eigenvectors of R - diag(psi)), and oblimin is
# passed eps = 2e-8 (about the smallest gradient norm its Armijo line search can still verify).
# The tests compare sipas with the converged references at 1e-6 and with the default ones at the
# tolerance their stopping rules allow.

setup("b <- na.omit(bfi[1:25])")
setup("hs <- HolzingerSwineford1939[paste0('x', 1:9)]")
setup("w <- ifelse(bfi$gender == 1, 1.5, 0.75) * ifelse(bfi$age < 25, 1.2, 1)")
setup("cfa_model <- 'N =~ N1 + N2 + N3 + N4 + N5; C =~ C1 + C2 + C3; E =~ E3 + E4 + E5'")
setup("bw <- na.omit(cbind(bfi[c(paste0('N', 1:5), paste0('C', 1:3), paste0('E', 3:5))], w = w))")

# --- the data the Python tests read --------------------------------------------------------------
ref("BFI_DIM", "dim(bfi)")
ref("BFI_COLSUMS", "colSums(bfi, na.rm = TRUE)")
ref("BFI_NA", "colSums(is.na(bfi))")
ref("BFI_ROW_WEIGHTED", "colSums(bfi * seq_len(nrow(bfi)), na.rm = TRUE)")
ref("BFI_COMPLETE_25", "nrow(b)")
ref("HS_COLSUMS", "colSums(hs)")
ref("HS_ROW_WEIGHTED", "colSums(hs * seq_len(nrow(hs)))")

# --- fa: bfi (complete rows, 5 factors) and Holzinger-Swineford x1-x9 (3 factors) ------------------
# psych's defaults, then the converged solutions (see the note at the top).
for (d in list(c("BFI5", "b", "5"), c("HS3", "hs", "3"))) {
  fa_default <- function(rot) sprintf("fa(%s, nfactors = %s, fm = 'minres', rotate = '%s')", d[2], d[3], rot)
  fa_conv <- function(rot) sprintf(
    "fa(%s, nfactors = %s, fm = 'pa', rotate = '%s', min.err = 1e-14, max.iter = 1e5, eps = 2e-8, maxit = 1e4)",
    d[2], d[3], rot)
  ref(paste0("FA_", d[1], "_NONE_LOADINGS"), paste0("unclass(", fa_default("none"), "$loadings)"))
  ref(paste0("FA_", d[1], "_NONE_COMMUNALITY"), paste0(fa_default("none"), "$communality"))
  ref(paste0("FA_", d[1], "_NONE_UNIQUENESS"), paste0(fa_default("none"), "$uniquenesses"))
  ref(paste0("FA_", d[1], "_OBLIMIN_LOADINGS"), paste0("unclass(", fa_default("oblimin"), "$loadings)"))
  ref(paste0("FA_", d[1], "_OBLIMIN_PHI"), paste0(fa_default("oblimin"), "$Phi"))
  ref(paste0("FA_", d[1], "_CONV_NONE_LOADINGS"), paste0("unclass(", fa_conv("none"), "$loadings)"))
  ref(paste0("FA_", d[1], "_CONV_NONE_COMMUNALITY"), paste0(fa_conv("none"), "$communality"))
  ref(paste0("FA_", d[1], "_CONV_NONE_UNIQUENESS"), paste0(fa_conv("none"), "$uniquenesses"))
  ref(paste0("FA_", d[1], "_CONV_OBLIMIN_LOADINGS"), paste0("unclass(", fa_conv("oblimin"), "$loadings)"))
  ref(paste0("FA_", d[1], "_CONV_OBLIMIN_PHI"), paste0(fa_conv("oblimin"), "$Phi"))
}

# --- fa.parallel: the observed eigenvalues only (the simulated ones are random) -------------------
ref("FAPAR_BFI_PC_VALUES", "fa.parallel(b, fm = 'minres', fa = 'both', plot = FALSE)$pc.values")
ref("FAPAR_BFI_FA_VALUES", "fa.parallel(b, fm = 'minres', fa = 'both', plot = FALSE)$fa.values")
ref("FAPAR_HS_PC_VALUES", "fa.parallel(hs, fm = 'minres', fa = 'both', plot = FALSE)$pc.values")
# all 2800 rows with their missing answers: pairwise-complete correlations (psych's use = "pairwise")
ref("FAPAR_BFI_PAIRWISE_PC_VALUES", "fa.parallel(bfi[1:25], fm = 'minres', fa = 'pc', plot = FALSE)$pc.values")

# --- alpha on raw data ---------------------------------------------------------------------------
# Neuroticism items with their missing answers: psych uses pairwise covariances (use = "pairwise").
ref("ALPHA_BFI_N_TOTAL", "unlist(alpha(bfi[paste0('N', 1:5)])$total[c('raw_alpha', 'std.alpha')])")
ref("ALPHA_BFI_N_RDROP", "alpha(bfi[paste0('N', 1:5)])$item.stats$r.drop")
ref("ALPHA_BFI_N_DROP", "alpha(bfi[paste0('N', 1:5)])$alpha.drop$raw_alpha")
ref("ALPHA_BFI_N_MEAN_SD", "unlist(alpha(bfi[paste0('N', 1:5)])$item.stats[c('mean', 'sd')])")
ref("ALPHA_BFI_N_FELDT", "unlist(alpha(bfi[paste0('N', 1:5)])$feldt[c('lower.ci', 'upper.ci')])")
# Conscientiousness with two reverse-keyed items (psych reverses them as max + min - x = 7 - x).
ref("ALPHA_BFI_C_KEYED_TOTAL",
    "unlist(alpha(bfi[paste0('C', 1:5)], keys = c('C4', 'C5'))$total[c('raw_alpha', 'std.alpha')])")
ref("ALPHA_BFI_C_KEYED_RDROP", "alpha(bfi[paste0('C', 1:5)], keys = c('C4', 'C5'))$item.stats$r.drop")
ref("ALPHA_BFI_C_KEYED_DROP", "alpha(bfi[paste0('C', 1:5)], keys = c('C4', 'C5'))$alpha.drop$raw_alpha")
# Listwise-complete Openness items, keyed.
ref("ALPHA_BFI_O_COMPLETE_TOTAL",
    "unlist(alpha(na.omit(bfi[paste0('O', 1:5)]), keys = c('O2', 'O5'))$total[c('raw_alpha', 'std.alpha')])")
ref("ALPHA_BFI_O_COMPLETE_RDROP",
    "alpha(na.omit(bfi[paste0('O', 1:5)]), keys = c('O2', 'O5'))$item.stats$r.drop")
ref("ALPHA_BFI_O_COMPLETE_DROP",
    "alpha(na.omit(bfi[paste0('O', 1:5)]), keys = c('O2', 'O5'))$alpha.drop$raw_alpha")
ref("ALPHA_BFI_O_COMPLETE_FELDT",
    "unlist(alpha(na.omit(bfi[paste0('O', 1:5)]), keys = c('O2', 'O5'))$feldt[c('lower.ci', 'upper.ci')])")

# --- omega ---------------------------------------------------------------------------------------
ref("OMEGA_HS3", "unlist(omega(hs, nfactors = 3, fm = 'minres', plot = FALSE)[c('omega_h', 'omega.tot', 'alpha')])")
ref("OMEGA_HS3_G", "omega(hs, nfactors = 3, fm = 'minres', plot = FALSE)$schmid$sl[, 'g']")
ref("OMEGA_BFI15", "unlist(omega(b[1:15], nfactors = 3, fm = 'minres', plot = FALSE)[c('omega_h', 'omega.tot', 'alpha')])")
ref("OMEGA_BFI25_5", "unlist(omega(b, nfactors = 5, fm = 'minres', plot = FALSE)[c('omega_h', 'omega.tot', 'alpha')])")
ref("OMEGA_BFI25_5_H2", "omega(b, nfactors = 5, fm = 'minres', plot = FALSE)$schmid$sl[, 'h2']")
# psych's omega cannot be given tighter convergence settings (schmid calls fa and GPArotation::oblimin
# with their defaults).  conv_omega repeats omegah's formulas (g = F gamma, flip items with g < 0,
# omega_h = (sum |g|)^2 / sum(R_keyed), omega.tot = 1 - sum(1 - h2) / sum(R_keyed)) on psych's
# converged oblique solution and a converged one-factor fit of its Phi.
setup(paste(
  "conv_omega <- function(x, nf) {",
  "  f <- fa(x, nfactors = nf, fm = 'pa', rotate = 'oblimin', min.err = 1e-14, max.iter = 1e5, eps = 2e-8, maxit = 1e4)",
  "  gam <- unclass(fa(f$Phi, 1, fm = 'pa', min.err = 1e-14, max.iter = 1e5)$loadings)",
  "  g <- drop(unclass(f$loadings) %*% gam)",
  "  k <- ifelse(g < 0, -1, 1)",
  "  v <- sum(cor(x) * outer(k, k))",
  "  c(omega_h = sum(abs(g))^2 / v, omega.tot = 1 - sum(1 - f$communality) / v, abs(g))",
  "}", sep = "\n"))
ref("OMEGA_HS3_CONV", "conv_omega(hs, 3)")
ref("OMEGA_BFI15_CONV", "conv_omega(b[1:15], 3)")
ref("OMEGA_BFI25_5_CONV", "conv_omega(b, 5)")

# --- KMO and Bartlett ----------------------------------------------------------------------------
ref("KMO_BFI", "KMO(b)$MSA")
ref("KMO_BFI_MSAI", "KMO(b)$MSAi")
ref("BARTLETT_BFI", "unlist(cortest.bartlett(cor(b), n = nrow(b))[c('chisq', 'p.value', 'df')])")
ref("KMO_HS", "KMO(hs)$MSA")
ref("KMO_HS_MSAI", "KMO(hs)$MSAi")
ref("BARTLETT_HS", "unlist(cortest.bartlett(cor(hs), n = nrow(hs))[c('chisq', 'p.value', 'df')])")
# pairwise-complete correlations on all 2800 rows (psych's default use = "pairwise")
ref("KMO_BFI_PAIRWISE", "KMO(bfi[1:25])$MSA")
ref("KMO_BFI_PAIRWISE_MSAI", "KMO(bfi[1:25])$MSAi")

# --- lavaan: three correlated factors on bfi items, ML --------------------------------------------
# lavaan's default optimiser (nlminb, rel.tol = 1e-10) stops about 1e-11 above the minimum of the
# fit function, which leaves standardised loadings ~1e-6 from the optimum; the *_CONV fits run
# BFGS with reltol = 1e-15 (lavaan passes `control` to optim) to the optimum.
setup("fit3 <- cfa(cfa_model, data = bfi, estimator = 'ML')")
setup("fit3w <- cfa(cfa_model, data = bw, estimator = 'ML', sampling.weights = 'w')")
setup("fit3c <- cfa(cfa_model, data = bfi, estimator = 'ML', optim.method = 'BFGS', control = list(reltol = 1e-15, maxit = 10000))")
setup("fit3wc <- cfa(cfa_model, data = bw, estimator = 'ML', sampling.weights = 'w', optim.method = 'BFGS', control = list(reltol = 1e-15, maxit = 10000))")
ref("CFA_BFI3_N", "lavInspect(fit3, 'nobs')")
ref("CFA_BFI3_FIT",
    "fitMeasures(fit3, c('chisq', 'df', 'pvalue', 'cfi', 'tli', 'rmsea', 'rmsea.ci.lower', 'rmsea.ci.upper', 'srmr', 'baseline.chisq', 'baseline.df'))")
ref("CFA_BFI3_STD_LOADINGS", "subset(standardizedSolution(fit3), op == '=~')$est.std")
ref("CFA_BFI3_LOADINGS", "subset(parameterEstimates(fit3), op == '=~')$est")
ref("CFA_BFI3_SAMPLE_COV", "lavInspect(fit3, 'sampstat')$cov")
ref("CFA_BFI3W_N", "lavInspect(fit3w, 'nobs')")
ref("CFA_BFI3W_FIT", "fitMeasures(fit3w, c('chisq', 'df', 'fmin'))")
ref("CFA_BFI3W_STD_LOADINGS", "subset(standardizedSolution(fit3w), op == '=~')$est.std")
ref("CFA_BFI3W_SAMPLE_COV", "lavInspect(fit3w, 'sampstat')$cov")
ref("CFA_BFI3_CONV_FIT", "fitMeasures(fit3c, c('chisq', 'cfi', 'tli', 'rmsea', 'rmsea.ci.lower', 'rmsea.ci.upper', 'srmr'))")
ref("CFA_BFI3_CONV_STD_LOADINGS", "subset(standardizedSolution(fit3c), op == '=~')$est.std")
ref("CFA_BFI3_CONV_LOADINGS", "subset(parameterEstimates(fit3c), op == '=~')$est")
ref("CFA_BFI3W_CONV_FIT", "fitMeasures(fit3wc, c('chisq', 'fmin'))")
ref("CFA_BFI3W_CONV_STD_LOADINGS", "subset(standardizedSolution(fit3wc), op == '=~')$est.std")

write_refs(this_script())

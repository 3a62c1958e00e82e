# Full-precision R survey references for sipas's replicate-weight variance.
#
# BRR and Fay on R's `scd` data (the ?svrepdesign example with the Levy & Lemeshow
# replicate weights, and as.svrepdesign on the stratified design), BRR/Fay on pairs of
# apisrs schools with 11 to 77 strata (Hadamard matrices of order 12 to 80), JK1 and
# JKn on apiclus1/apistrat with and without fpc (means, totals, ratios, domains,
# mse=TRUE), the bootstrap (R's replicate weights recorded, since Python cannot redraw
# them), calibration of replicate designs (postStratify, rake, calibrate) and contrasts.
#
# Run:  Rscript --vanilla tests/results/r/survey_replicates.R
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "_refs.R"))
suppressPackageStartupMessages(library(survey))

# ---------------------------------------------------------------- 1. scd: svrepdesign with given weights
setup('scd <- read_api("scd")')
setup("repweights <- 2*cbind(c(1,0,1,0,1,0), c(1,0,0,1,0,1), c(0,1,1,0,0,1), c(0,1,0,1,1,0))")
setup('scdrep <- svrepdesign(data=scd, type="BRR", repweights=repweights, combined.weights=FALSE)')
setup('scdrepmse <- svrepdesign(data=scd, type="BRR", repweights=repweights, combined.weights=FALSE, mse=TRUE)')
setup("fayweights <- ifelse(repweights > 0, 1.7, 0.3)")
setup('scdfay <- svrepdesign(data=scd, type="Fay", rho=0.3, repweights=fayweights, combined.weights=FALSE)')
for (d in c("scdrep", "scdrepmse", "scdfay")) {
  D <- toupper(d)
  ref(paste0(D, "_RATIO"), sprintf("coef(svyratio(~alive, ~arrests, %s))", d))
  ref(paste0(D, "_RATIO_SE"), sprintf("SE(svyratio(~alive, ~arrests, %s))", d))
  ref(paste0(D, "_MEAN"), sprintf("coef(svymean(~alive+arrests, %s))", d))
  ref(paste0(D, "_MEAN_SE"), sprintf("SE(svymean(~alive+arrests, %s))", d))
  ref(paste0(D, "_TOTAL"), sprintf("coef(svytotal(~alive+arrests, %s))", d))
  ref(paste0(D, "_TOTAL_SE"), sprintf("SE(svytotal(~alive+arrests, %s))", d))
  ref(paste0(D, "_SCALE"), sprintf("%s$scale", d))
  ref(paste0(D, "_DEGF"), sprintf("degf(%s)", d))
}

# ---------------------------------------------------------------- 2. scd: as.svrepdesign (?as.svrepdesign examples)
setup("scdnofpc <- svydesign(data=scd, prob=~1, id=~ambulance, strata=~ESA, nest=TRUE)")
setup("scddes <- svydesign(data=scd, prob=~1, id=~ambulance, strata=~ESA, nest=TRUE, fpc=rep(5,6))")
setup('scd2brr <- as.svrepdesign(scdnofpc, type="BRR")')
setup('scd2fay <- as.svrepdesign(scdnofpc, type="Fay", fay.rho=0.3)')
setup('scd2fay5 <- as.svrepdesign(scdnofpc, type="Fay", fay.rho=0.5)')
setup('scd2jkn <- as.svrepdesign(scdnofpc, type="JKn")')
setup('scd2jknf <- as.svrepdesign(scddes, type="JKn")')
setup('scd2brr1 <- as.svrepdesign(scdnofpc, type="BRR", hadamard.matrix=paley(11))')
setup('scd2brrmse <- as.svrepdesign(scdnofpc, type="BRR", mse=TRUE)')
ref("PALEY11", "paley(11)")
for (d in c("scd2brr", "scd2fay", "scd2fay5", "scd2jkn", "scd2jknf", "scd2brr1", "scd2brrmse")) {
  D <- toupper(d)
  ref(paste0(D, "_WEIGHTS"), sprintf('weights(%s, "analysis")', d))
  ref(paste0(D, "_SCALE"), sprintf("%s$scale", d))
  ref(paste0(D, "_RSCALES"), sprintf("%s$rscales", d))
  ref(paste0(D, "_RATIO"), sprintf("coef(svyratio(~alive, ~arrests, %s))", d))
  ref(paste0(D, "_RATIO_SE"), sprintf("SE(svyratio(~alive, ~arrests, %s))", d))
  ref(paste0(D, "_MEAN_SE"), sprintf("SE(svymean(~alive+arrests, %s))", d))
  ref(paste0(D, "_TOTAL_SE"), sprintf("SE(svytotal(~alive+arrests, %s))", d))
}

# ---------------------------------------------------------------- 2b. BRR/Fay with many strata (R's hadamard())
# Pairs of apisrs schools form S strata numbered 1..S; the rows are put in decreasing api00
# order, so strata are interleaved and the first PSU of a stratum (in data order) is not
# the one with the smaller snum.
setup('apisrs <- read_api("apisrs")')
setup("pairs <- function(S) { d <- apisrs[order(apisrs$snum)[seq_len(2*S)], ]; d$h <- rep(seq_len(S), each=2); d[order(-d$api00, d$snum), ] }")
for (S in c(11, 17, 22, 25, 33, 70, 77)) {
  setup(sprintf("p%d <- pairs(%d); dp%d <- svydesign(id=~snum, strata=~h, weights=~pw, data=p%d)", S, S, S, S))
  setup(sprintf('b%d <- as.svrepdesign(dp%d, type="BRR")', S, S))
  ref(sprintf("B%d_ORDER", S), sprintf("nrow(survey:::hadamard(%d))", S))
  ref(sprintf("B%d_FACTORS", S), sprintf('round(weights(b%d, "analysis") / p%d$pw, 12)', S, S))
  ref(sprintf("B%d_RATIO_SE", S), sprintf("SE(svyratio(~api00, ~api99, b%d))", S))
  ref(sprintf("B%d_MEAN_SE", S), sprintf("SE(svymean(~api00+enroll, b%d))", S))
}
setup('f17 <- as.svrepdesign(dp17, type="Fay", fay.rho=0.5)')
ref("F17_FACTORS", 'round(weights(f17, "analysis") / p17$pw, 12)')
ref("F17_RATIO_SE", "SE(svyratio(~api00, ~api99, f17))")
ref("F17_MEAN_SE", "SE(svymean(~api00+enroll, f17))")
# R's Hadamard matrices for 1..300 strata: their orders and a fingerprint of their entries,
# sum_ij H_ij cos(1.3 i + 0.7 j) with H in +1/-1 form
ref("HADAMARD_ORDERS", "sapply(1:300, function(n) nrow(survey:::hadamard(n)))")
ref("HADAMARD_FINGERPRINTS", "sapply(1:300, function(n) { H <- 2*survey:::hadamard(n) - 1; m <- nrow(H); sum(H * outer(seq_len(m), seq_len(m), function(i, j) cos(1.3*i + 0.7*j))) })")
# R's order-28 matrix (25 strata) is a stored one from Sloane's library; given explicitly
ref("HADAMARD25", "survey:::hadamard(25)")
setup('b25h <- as.svrepdesign(dp25, type="BRR", hadamard.matrix=survey:::hadamard(25))')
ref("B25H_FACTORS", 'round(weights(b25h, "analysis") / p25$pw, 12)')
ref("B25H_RATIO_SE", "SE(svyratio(~api00, ~api99, b25h))")

# ---------------------------------------------------------------- 3. JK1 and JKn on api designs
setup('apiclus1 <- read_api("apiclus1"); apistrat <- read_api("apistrat")')
setup("dclus1 <- svydesign(id=~dnum, weights=~pw, data=apiclus1, fpc=~fpc)")
setup("dclus1n <- svydesign(id=~dnum, weights=~pw, data=apiclus1)")
setup("dstrat <- svydesign(id=~1, strata=~stype, weights=~pw, data=apistrat, fpc=~fpc)")
setup("dstratn <- svydesign(id=~1, strata=~stype, weights=~pw, data=apistrat)")
setup('rclus1 <- as.svrepdesign(dclus1, type="JK1"); rclus1n <- as.svrepdesign(dclus1n, type="JK1")')
setup('rclus1mse <- as.svrepdesign(dclus1, type="JK1", mse=TRUE)')
setup('rstrat <- as.svrepdesign(dstrat, type="JKn"); rstratn <- as.svrepdesign(dstratn, type="JKn")')
setup('rstratmse <- as.svrepdesign(dstrat, type="JKn", mse=TRUE)')
for (d in c("rclus1", "rclus1n", "rclus1mse", "rstrat", "rstratn", "rstratmse")) {
  D <- toupper(d)
  ref(paste0(D, "_SCALE"), sprintf("%s$scale", d))
  ref(paste0(D, "_RSCALES"), sprintf("%s$rscales", d))
  ref(paste0(D, "_DEGF"), sprintf("degf(%s)", d))
  ref(paste0(D, "_MEAN"), sprintf("coef(svymean(~api00+api99, %s))", d))
  ref(paste0(D, "_MEAN_SE"), sprintf("SE(svymean(~api00+api99, %s))", d))
  ref(paste0(D, "_TOTAL"), sprintf("coef(svytotal(~enroll, %s))", d))
  ref(paste0(D, "_TOTAL_SE"), sprintf("SE(svytotal(~enroll, %s))", d))
  ref(paste0(D, "_RATIO"), sprintf("coef(svyratio(~api00, ~api99, %s))", d))
  ref(paste0(D, "_RATIO_SE"), sprintf("SE(svyratio(~api00, ~api99, %s))", d))
  ref(paste0(D, "_BY_STYPE"), sprintf("svyby(~api00, ~stype, %s, svymean)", d))
  ref(paste0(D, "_BY_SCHWIDE"), sprintf("svyby(~api00, ~sch.wide, %s, svymean)", d))
  ref(paste0(D, "_BY_TOTAL"), sprintf("svyby(~enroll, ~sch.wide, %s, svytotal)", d))
}
# JK1 replicate r drops PSU r: 1 where a row is kept (factor 15/14), 0 where dropped
ref("RCLUS1_KEPT", 'round(weights(rclus1, "analysis") / apiclus1$pw * 14 / 15, 12)')

# ---------------------------------------------------------------- 4. bootstrap (R's draws recorded)
# type="bootstrap" is Canty & Davison's bootstrap (n_h PSUs drawn per stratum);
# type="subbootstrap" is Rao & Wu's (n_h - 1 drawn, rescaled by n_h/(n_h - 1)).
setup("nh <- as.vector(table(apistrat$stype)[as.character(apistrat$stype)])")
setup('set.seed(20240517); bstrat <- as.svrepdesign(dstratn, type="bootstrap", replicates=50)')
setup('set.seed(20240518); sbstrat <- as.svrepdesign(dstratn, type="subbootstrap", replicates=50)')
setup('set.seed(20240519); bclus1 <- as.svrepdesign(dclus1, type="bootstrap", replicates=50)')
setup('set.seed(20240520); sbclus1 <- as.svrepdesign(dclus1n, type="subbootstrap", replicates=50)')
ref("BSTRAT_COUNTS", 'round(weights(bstrat, "analysis") / apistrat$pw, 10)')
ref("SBSTRAT_COUNTS", 'round(weights(sbstrat, "analysis") / apistrat$pw * (nh - 1) / nh, 10)')
ref("BCLUS1_COUNTS", 'round(weights(bclus1, "analysis") / apiclus1$pw, 10)')
ref("SBCLUS1_COUNTS", 'round(weights(sbclus1, "analysis") / apiclus1$pw * 14 / 15, 10)')
for (d in c("bstrat", "sbstrat", "bclus1", "sbclus1")) {
  D <- toupper(d)
  ref(paste0(D, "_SCALE"), sprintf("%s$scale", d))
  ref(paste0(D, "_RSCALES"), sprintf("%s$rscales", d))
  ref(paste0(D, "_MEAN_SE"), sprintf("SE(svymean(~api00+enroll, %s))", d))
  ref(paste0(D, "_TOTAL_SE"), sprintf("SE(svytotal(~enroll, %s))", d))
  ref(paste0(D, "_RATIO_SE"), sprintf("SE(svyratio(~api00, ~api99, %s))", d))
  ref(paste0(D, "_BY"), sprintf("svyby(~api00, ~sch.wide, %s, svymean)", d))
}
ref("BSTRAT_HARMONIC_SCALE", "(1/mean(1/c(100, 50, 50))) / (1/mean(1/c(100, 50, 50)) - 1) / 49")

# ---------------------------------------------------------------- 5. calibration of replicate designs
setup("pop.types <- data.frame(stype=c('E','H','M'), Freq=c(4421,755,1018))")
setup("pop.schwide <- data.frame(sch.wide=c('No','Yes'), Freq=c(1072,5122))")
setup("rclus1p <- postStratify(rclus1, ~stype, pop.types)")
setup("rclus1r <- rake(rclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide))")
setup("rclus1g <- calibrate(rclus1, ~api99, c(`(Intercept)`=6194, api99=3914069))")
setup("rclus1g2 <- calibrate(rclus1, ~stype+api99, c(`(Intercept)`=6194, stypeH=755, stypeM=1018, api99=3914069))")
setup('rclus1gr <- calibrate(rclus1, ~stype+api99, c(`(Intercept)`=6194, stypeH=755, stypeM=1018, api99=3914069), calfun="raking")')
setup("rstratp <- postStratify(rstrat, ~sch.wide, pop.schwide)")
setup("sbstratp <- postStratify(sbstrat, ~sch.wide, pop.schwide)")
for (d in c("rclus1p", "rclus1r", "rclus1g", "rclus1g2", "rclus1gr", "rstratp", "sbstratp")) {
  D <- toupper(d)
  ref(paste0(D, "_MEAN"), sprintf("coef(svymean(~api00+api99, %s))", d))
  ref(paste0(D, "_MEAN_SE"), sprintf("SE(svymean(~api00+api99, %s))", d))
  ref(paste0(D, "_TOTAL"), sprintf("coef(svytotal(~enroll, %s))", d))
  ref(paste0(D, "_TOTAL_SE"), sprintf("SE(svytotal(~enroll, %s))", d))
  ref(paste0(D, "_BY"), sprintf("svyby(~api00, ~stype, %s, svymean)", d))
}

# ---------------------------------------------------------------- 6. contrasts of domain estimates
setup("cmat <- c(E=1, H=-1, M=0)")
ref("CONTRAST_TAYLOR", "svycontrast(svyby(~api00, ~stype, dclus1, svymean, covmat=TRUE), cmat)")
ref("CONTRAST_TAYLOR_SE", "SE(svycontrast(svyby(~api00, ~stype, dclus1, svymean, covmat=TRUE), cmat))")
ref("CONTRAST_TAYLOR_TOTAL", "svycontrast(svyby(~enroll, ~stype, dclus1, svytotal, covmat=TRUE), c(E=0, H=1, M=-1))")
ref("CONTRAST_TAYLOR_TOTAL_SE", "SE(svycontrast(svyby(~enroll, ~stype, dclus1, svytotal, covmat=TRUE), c(E=0, H=1, M=-1)))")
ref("CONTRAST_JK1", "svycontrast(svyby(~api00, ~stype, rclus1, svymean, covmat=TRUE), cmat)")
ref("CONTRAST_JK1_SE", "SE(svycontrast(svyby(~api00, ~stype, rclus1, svymean, covmat=TRUE), cmat))")
ref("CONTRAST_JK1_MSE_SE", "SE(svycontrast(svyby(~api00, ~stype, rclus1mse, svymean, covmat=TRUE), cmat))")
ref("CONTRAST_JK1_TOTAL", "svycontrast(svyby(~enroll, ~stype, rclus1, svytotal, covmat=TRUE), c(E=0, H=1, M=-1))")
ref("CONTRAST_JK1_TOTAL_SE", "SE(svycontrast(svyby(~enroll, ~stype, rclus1, svytotal, covmat=TRUE), c(E=0, H=1, M=-1)))")
ref("CONTRAST_JKN", "svycontrast(svyby(~api00, ~sch.wide, rstrat, svymean, covmat=TRUE), c(No=1, Yes=-1))")
ref("CONTRAST_JKN_SE", "SE(svycontrast(svyby(~api00, ~sch.wide, rstrat, svymean, covmat=TRUE), c(No=1, Yes=-1)))")
ref("CONTRAST_BRR", "svycontrast(svyby(~alive, ~ESA, scd2brr, svymean, covmat=TRUE), c(1, -1, 0))")
ref("CONTRAST_BRR_SE", "SE(svycontrast(svyby(~alive, ~ESA, scd2brr, svymean, covmat=TRUE), c(1, -1, 0)))")
ref("CONTRAST_CALIBRATED_SE", "SE(svycontrast(svyby(~api00, ~stype, rclus1p, svymean, covmat=TRUE), cmat))")

write_refs(this_script())

# R survey references for the units-against-the-area comparison of service-user surveys
# (sipas.indices.comparisons.compare_with_overall): the stratum domains of a stratified element sample.
#
# Run:  Rscript --vanilla tests/results/r/survey_units.R
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "_refs.R"))
suppressPackageStartupMessages(library(survey))

setup('apistrat <- read_api("apistrat")')
setup("dstrat <- svydesign(id=~1, strata=~stype, fpc=~fpc, data=apistrat)")
setup("b <- svyby(~api00, ~stype, dstrat, svymean, covmat=TRUE)")
setup("W <- c(E=4421, H=755, M=1018) / 6194")
ref("UNITS_MEAN", "coef(b)")
ref("UNITS_SE", "SE(b)")
ref("AREA_MEAN", "coef(svymean(~api00, dstrat))")
ref("AREA_SE", "SE(svymean(~api00, dstrat))")
setup("K <- diag(3) - matrix(W, 3, 3, byrow=TRUE)")
ref("DIFF", "coef(svycontrast(b, list(E=K[1,], H=K[2,], M=K[3,])))")
ref("DIFF_SE", "SE(svycontrast(b, list(E=K[1,], H=K[2,], M=K[3,])))")
setup("z <- coef(svycontrast(b, list(E=K[1,], H=K[2,], M=K[3,]))) / SE(svycontrast(b, list(E=K[1,], H=K[2,], M=K[3,])))")
ref("DIFF_P_HOLM", "p.adjust(2 * pnorm(-abs(z)), method='holm')")
ref("HOLM_EXAMPLE", "p.adjust(c(0.01, 0.04, 0.03, 0.20, 0.005), method='holm')")

write_refs(this_script())

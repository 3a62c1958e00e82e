# R survey references for the post-stratified JKn design of a service-user survey, one PSU per respondent
# (sipas.estimation.survey_design.poststratified_jkn, sipas.estimation.jkn_totals): strata = the units, every
# respondent its own PSU, fpc = the unit's population, each of the n replicates post-stratified to the unit x
# field cells.  apistrat stands in: strata = stype, post-strata = stype x sch.wide (nested in the strata, as
# unit x procedure field) with apipop's counts; `pos` / `valid` is an item index (positive answers over valid
# answers, acs.46 missing = no valid answer).  R forms the n x n replicate weights: the reference.
#
# Run:  Rscript --vanilla tests/results/r/survey_element_jkn.R
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "_refs.R"))
suppressPackageStartupMessages(library(survey))

setup('apistrat <- read_api("apistrat"); apipop <- read_api("apipop")')
setup('apistrat$cell <- paste(apistrat$stype, apistrat$sch.wide, sep = " x ")')
setup('pop.cell <- as.data.frame(table(cell = paste(apipop$stype, apipop$sch.wide, sep = " x ")))')
setup('apistrat$valid <- as.numeric(!is.na(apistrat$acs.46)); apistrat$pos <- apistrat$valid * (apistrat$api00 > 700)')
setup("dunits <- svydesign(id=~1, strata=~stype, fpc=~fpc, weights=~pw, data=apistrat)")
setup('runits <- postStratify(as.svrepdesign(dunits, type="JKn"), ~cell, pop.cell)')
ref("UNITS_N_REPLICATES", "ncol(weights(runits, 'analysis'))")
ref("UNITS_RSCALES", "runits$rscales")
ref("UNITS_CELL_TOTALS", "tapply(weights(runits, 'sampling'), apistrat$cell, sum)")
ref("UNITS_MEAN", "coef(svymean(~api00+api99, runits))")
ref("UNITS_MEAN_SE", "SE(svymean(~api00+api99, runits))")
ref("UNITS_TOTAL", "coef(svytotal(~enroll, runits))")
ref("UNITS_TOTAL_SE", "SE(svytotal(~enroll, runits))")
ref("UNITS_ITEM", "coef(svyratio(~pos, ~valid, runits))")
ref("UNITS_ITEM_SE", "SE(svyratio(~pos, ~valid, runits))")
ref("UNITS_BY_UNIT", "svyby(~api00, ~stype, runits, svymean)")
ref("UNITS_ITEM_BY_UNIT", "svyby(~pos, ~stype, runits, svyratio, denominator=~valid)")
ref("UNITS_BY_GROUP", "svyby(~api00, ~awards, runits, svymean)")
ref("UNITS_ITEM_BY_GROUP", "svyby(~pos, ~awards, runits, svyratio, denominator=~valid)")

write_refs(this_script())

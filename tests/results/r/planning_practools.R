# References for sipas.planning (issue 18) computed by PracTools' OWN functions (Valliant, Dever & Kreuter),
# on R survey's public California schools population `apipop` (shared/reference-data/api) and on the inputs of
# PracTools' help pages.  Unlike planning_formulas.R, nothing here re-writes a PracTools formula: every number
# is what BW2stagePPS, BW2stageSRS, BW3stagePPS, deffK, clusOpt2, clusOpt3 and nProp2sam return.
#
# PracTools (GPL-3) is used, never copied into this repository.  Where it is installed (install.packages
# ("PracTools")) the script loads it.  Debian has no r-cran-practools and CRAN is out of reach on the project's
# machines, so there the script sources the package's R files from the folder PRACTOOLS_SRC (a package folder:
# DESCRIPTION and R/, e.g. a checkout of github.com/cran/PracTools); the stored JSON was made that way, from
# the sources of PracTools 1.4.1 named in its "packages" entry.
#
# clusOpt2/clusOpt3 print m.opt, n.opt, q.opt with round(., 1) and the CV with round(., 4), nProp2sam prints
# ceiling(n1): to compare at 1e-9 the functions are evaluated with round() and ceiling() masked to the identity
# (`unrounded(f)` below: the same function body in an environment whose round/ceiling return their argument).
#
# Run:  Rscript --vanilla tests/results/r/planning_practools.R                       (PracTools installed)
#       PRACTOOLS_SRC=/path/to/PracTools Rscript --vanilla tests/results/r/planning_practools.R
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "_refs.R"))

if (requireNamespace("PracTools", quietly = TRUE)) {
  library(PracTools)
  practools_version <- as.character(packageVersion("PracTools"))
} else {
  practools_src <- Sys.getenv("PRACTOOLS_SRC")
  if (!nzchar(practools_src)) stop("PracTools is not installed: install it, or set PRACTOOLS_SRC to its sources")
  for (f in c("BW2stagePPS", "BW2stageSRS", "BW3stagePPS", "deffK", "clusOpt2", "clusOpt3", "nProp2sam"))
    source(file.path(practools_src, "R", paste0(f, ".R")))
  practools_version <- read.dcf(file.path(practools_src, "DESCRIPTION"), fields = "Version")[1, 1]
}
extra_packages("PracTools", practools_version)

# --------------------------------------------------------------------------------- the population
# 6,194 schools; PSU = county (57), SSU = district within county (9 districts span 2-3 counties, so the SSU is
# the county x district pair: 767 SSUs), 193 SSUs with one school (PracTools' lonely.SSU = "mean" fills their variance).
setup(paste("apipop <- read_api('apipop');",
            "apipop <- apipop[order(apipop$cnum, apipop$dnum, apipop$snum), ];",
            "ssu <- apipop$cnum * 10000 + apipop$dnum;",
            "awards <- as.numeric(apipop$awards == 'Yes');",
            "pp_n <- as.vector(table(apipop$cnum)) / nrow(apipop);",
            "pp_x <- as.vector(tapply(apipop$api99, apipop$cnum, sum)) / sum(apipop$api99);",
            "pp_eq <- rep(1 / 57, 57)"))
ref("POP_CNUM", "apipop$cnum")
ref("POP_SSU", "ssu")
ref("POP_API00", "apipop$api00")
ref("POP_AWARDS", "awards")
ref("POP_API99", "apipop$api99")

# BW2stagePPS(X, pp, psuID): PSUs (counties) with one-draw probability proportional to schools, to api99, equal
ref("BW2_API00_PPN", "BW2stagePPS(apipop$api00, pp = pp_n, psuID = apipop$cnum)")
ref("BW2_API00_PPX", "BW2stagePPS(apipop$api00, pp = pp_x, psuID = apipop$cnum)")
ref("BW2_AWARDS_PPN", "BW2stagePPS(awards, pp = pp_n, psuID = apipop$cnum)")
ref("BW2_API00_EQ", "BW2stagePPS(apipop$api00, pp = pp_eq, psuID = apipop$cnum)")
# PSU = SSU (county x district, 767 units, 193 with one school): the lonely-unit rule
setup("pp_ssu <- as.vector(table(ssu)) / nrow(apipop)")
ref("BW2_API00_SSU", "BW2stagePPS(apipop$api00, pp = pp_ssu, psuID = ssu)")
# BW2stageSRS(X, psuID): srs of PSUs
ref("BW2SRS_API00", "BW2stageSRS(apipop$api00, psuID = apipop$cnum)")
ref("BW2SRS_AWARDS", "BW2stageSRS(awards, psuID = apipop$cnum)")

# BW3stagePPS(X, pp, psuID, ssuID)
ref("BW3_API00_PPN", "BW3stagePPS(X = apipop$api00, pp = pp_n, psuID = apipop$cnum, ssuID = ssu)")
ref("BW3_API00_PPX", "BW3stagePPS(X = apipop$api00, pp = pp_x, psuID = apipop$cnum, ssuID = ssu)")
ref("BW3_AWARDS_PPN", "BW3stagePPS(X = awards, pp = pp_n, psuID = apipop$cnum, ssuID = ssu)")
ref("BW3_API00_EQ", "BW3stagePPS(X = apipop$api00, pp = pp_eq, psuID = apipop$cnum, ssuID = ssu)")

# --------------------------------------------------------------------------------- deffK(w)
setup("apistrat <- read_api('apistrat'); apiclus2 <- read_api('apiclus2'); apiclus1 <- read_api('apiclus1')")
ref("DEFFK_APISTRAT", "deffK(apistrat$pw)")
ref("DEFFK_APICLUS2", "deffK(apiclus2$pw)")
ref("DEFFK_APICLUS1", "deffK(apiclus1$pw)")
ref("DEFFK_INV_API99", "deffK(sum(apipop$api99) / apipop$api99[seq(1, 6194, by = 31)])")

# --------------------------------------------------------------------------------- optimum allocations
setup(paste("unrounded <- function(f) { environment(f) <- list2env(list(round = function(x, digits = 0) x,",
            "ceiling = function(x) x), parent = environment(f)); f }"))
setup("opt_values <- function(o) unlist(o[c('m.opt', 'n.opt', 'q.opt', 'cost', 'CV', 'CV.chk')])")
# clusOpt2 help page / VDK Example 9.7 inputs
ref("CLUSOPT2_BUDGET", "opt_values(unrounded(clusOpt2)(C1 = 750, C2 = 100, delta = 0.05, unit.rv = 1, k = 1, tot.cost = 100000, cal.sw = 1))")
ref("CLUSOPT2_CV", "opt_values(unrounded(clusOpt2)(C1 = 750, C2 = 100, delta = 0.01, unit.rv = 1, k = 1, CV0 = 0.05, cal.sw = 2))")
ref("CLUSOPT2_K", "opt_values(unrounded(clusOpt2)(C1 = 500, C2 = 40, delta = 0.12, unit.rv = 2.3, k = 1.4, tot.cost = 250000, cal.sw = 1))")
# clusOpt3 help page inputs (VDK Example 9.8): unit.cost = c(500, 100, 120), delta1 = 0.01, delta2 = 0.10
ref("CLUSOPT3_BUDGET", "opt_values(unrounded(clusOpt3)(unit.cost = c(500, 100, 120), delta1 = 0.01, delta2 = 0.10, unit.rv = 1, k1 = 1, k2 = 1, tot.cost = 100000, cal.sw = 1))")
ref("CLUSOPT3_CV", "opt_values(unrounded(clusOpt3)(unit.cost = c(500, 100, 120), delta1 = 0.01, delta2 = 0.10, unit.rv = 1, k1 = 1, k2 = 1, CV0 = 0.01, cal.sw = 2))")
ref("CLUSOPT3_K", "opt_values(unrounded(clusOpt3)(unit.cost = c(1500, 300, 40), delta1 = 0.05, delta2 = 0.15, unit.rv = 0.8, k1 = 1.2, k2 = 0.9, tot.cost = 400000, cal.sw = 1))")
# the printed (rounded) output, as a user of PracTools sees it
ref("CLUSOPT3_BUDGET_PRINTED", "unlist(clusOpt3(unit.cost = c(500, 100, 120), delta1 = 0.01, delta2 = 0.10, unit.rv = 1, k1 = 1, k2 = 1, tot.cost = 100000, cal.sw = 1)[c('m.opt', 'n.opt', 'q.opt', 'CV')])")

# --------------------------------------------------------------------------------- nProp2sam
ref("NPROP2SAM_INDEP", "unlist(unrounded(nProp2sam)(px = 0.5, py = 0.55, pxy = 0.275, g = 0, r = 1, alt = 'two.sided')[c('n1', 'n2')])")
ref("NPROP2SAM_OVERLAP", "unlist(unrounded(nProp2sam)(px = 0.5, py = 0.55, pxy = 0.45, g = 0.5, r = 1, alt = 'two.sided')[c('n1', 'n2')])")
ref("NPROP2SAM_ONESIDED", "unlist(unrounded(nProp2sam)(px = 0.72, py = 0.78, pxy = 0.6, g = 0.3, r = 2, alt = 'one.sided', sig.level = 0.1, pow = 0.9)[c('n1', 'n2')])")
ref("NPROP2SAM_PRINTED", "unlist(nProp2sam(px = 0.5, py = 0.55, pxy = 0.45, g = 0.5, r = 1, alt = 'two.sided')[c('n1', 'n2')])")

write_refs(this_script())

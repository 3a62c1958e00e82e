# Reference numbers for the service-user plan of sipas.planning (issue 18; sipas/planning/service_plan.py).
# Base R `stats` only (PracTools' formulas are closed forms, evaluated here as its help pages print them).
#
# * Forms per one-stop unit for a 95% CI half-width e: the smallest whole n >= 2 with
#   qt(0.975, n - 1) * sqrt(deff * (1 - n / N) * S2 / n) <= e (and sqrt(V) <= max_se for a ranking goal), found
#   here by counting up from n = 2 (sipas starts from the normal-quantile bound); n_cont is PracTools
#   nCont(V0 = V0, S2 = deff * S2, N = N) = deff S2 / (V0 + deff S2 / N) with V0 = min((e / qt(0.975, n - 1))^2,
#   max_se^2) at that n (VDK 2018 eq. 3.4; PracTools nCont.R).
# * Neyman quotas: PracTools strAlloc(n.tot, Nh, Sh, alloc = "neyman") gives n.tot * Nh * Sh / sum(Nh * Sh)
#   (strAlloc.R; the vignette's example prints them to 6 decimals, tests/results/results_practools.py).
# * One-way ANOVA variance components (units as groups): between = (MS_between - MS_within) / n0 with
#   n0 = (n - sum(n_g^2) / n) / (k - 1), within = MS_within (Searle, Casella & McCulloch 1992 §3.6), from
#   anova(lm(y ~ g)).
# * The simulation's estimator of a unit's mean: the pipeline's weights N_h / n_h post-stratified to the unit's
#   procedure fields and its JKn replicate variance with the replicates re-calibrated (R survey: svydesign with
#   fpc, as.svrepdesign(type = "JKn"), postStratify, svymean), on twelve forms of one unit in three fields.
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "_refs.R"))

setup(paste(
  "forms_needed <- function(S2, N, e, deff = 1, max_se = Inf, level = 0.95) {",
  "  q <- 1 - (1 - level) / 2; n <- 2",
  "  repeat { V <- deff * (1 - n / N) * S2 / n; V0 <- min((e / qt(q, n - 1))^2, max_se^2)",
  "           if (n >= N || V <= V0) break; n <- n + 1 }",
  "  c(forms = n, n_cont = deff * S2 / (V0 + deff * S2 / N), v0 = V0)",
  "}", sep = "\n"))
# a district desk like the Thuan Nam demo's: S = 19.3 points, 1,900 transactions, Kish 1.04, target 5 points
ref("FORMS_DISTRICT", "forms_needed(S2 = 19.3^2, N = 1900, e = 5, deff = 1.04)")
# a commune desk without weighting effect
ref("FORMS_COMMUNE", "forms_needed(S2 = 15^2, N = 300, e = 5)")
# a small desk near a census: 40 transactions, S = 20, Kish 1.2, target 3 points
ref("FORMS_SMALL", "forms_needed(S2 = 20^2, N = 40, e = 3, deff = 1.2)")
# a province centre at a tight target
ref("FORMS_TIGHT", "forms_needed(S2 = 18^2, N = 5200, e = 2, deff = 1.06)")
# a ranking goal binding: units 3 points apart separable at 5% with 80% power
ref("FORMS_RANKING", paste("forms_needed(S2 = 15^2, N = 720, e = 5, deff = 1.05,",
                           "max_se = 3 / ((qnorm(0.975) + qnorm(0.80)) * sqrt(2)))"))
# Neyman quotas of the strAlloc vignette's example (n.tot = 100)
setup("Nh <- c(215, 65, 252, 50, 149, 144); Sh <- c(26787207, 10645109, 6909676, 11085034, 9817762, 44553355)")
ref("NEYMAN_QUOTA", "100 * Nh * Sh / sum(Nh * Sh)")
ref("NEYMAN_SE", "sqrt(sum((Nh / sum(Nh))^2 * (1 - (100 * Nh * Sh / sum(Nh * Sh)) / Nh) * Sh^2 / (100 * Nh * Sh / sum(Nh * Sh))))")
# one-way ANOVA of scores in three units of unequal sizes
setup(paste("y <- c(0.9, 1, 0.8, 0.95, 1, 0.7, 0.6, 0.85, 0.75, 0.9, 0.65, 1, 1, 0.95, 0.9);",
            "g <- factor(c(1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3))"))
ref("ONEWAY", paste("local({ a <- anova(lm(y ~ g)); n <- length(y); k <- nlevels(g);",
                    "n0 <- (n - sum(table(g)^2) / n) / (k - 1);",
                    "c(between = (a[1, 3] - a[2, 3]) / n0, within = a[2, 3]) })"))

suppressPackageStartupMessages(library(survey))
setup(paste("u <- data.frame(y = c(1, 0.9, 0.85, 1, 0.4, 0.95, 0.7, 1, 0.6, 0.8, 1, 0.75),",
            "field = c('a', 'a', 'a', 'a', 'a', 'b', 'b', 'b', 'b', 'c', 'c', 'c'), unit = 'U', N = 300)"))
setup(paste("du <- postStratify(as.svrepdesign(svydesign(ids = ~1, strata = ~unit, fpc = ~N, data = u), type = 'JKn'),",
            "~field, data.frame(field = c('a', 'b', 'c'), Freq = c(150, 90, 60)))"))
ref("UNIT_JKN_POSTSTRAT", "c(mean = unname(coef(svymean(~y, du))), se = unname(SE(svymean(~y, du))))")
# without fields (one cell): the JKn SE of a stratum mean is the textbook sqrt((1 - n/N) s^2 / n)
setup("d1 <- as.svrepdesign(svydesign(ids = ~1, strata = ~unit, fpc = ~N, data = u), type = 'JKn')")
ref("UNIT_JKN", "c(mean = unname(coef(svymean(~y, d1))), se = unname(SE(svymean(~y, d1))))")
ref("UNIT_SRS_SE", "sqrt((1 - 12 / 300) * var(u$y) / 12)")

write_refs(this_script())

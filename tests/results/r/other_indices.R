# References for sipas.indices.other_indices (issue 17): Spearman's rank correlation and its CI.
#
# r: R's cor(x, y, method = "spearman") (Pearson's correlation of the mid-ranks, ties at their mean rank).
# CI: Fisher's z with the variance of Bonett & Wright (2000, Psychometrika 65:23-28) for Spearman's r,
#   z = atanh(r), se = sqrt((1 + r^2 / 2) / (n - 3)), CI = tanh(z -/+ qnorm(0.975) se),
# written here in base R from the paper's formula (no package implements exactly this interval).
#
# Run:  Rscript --vanilla tests/results/r/other_indices.R
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "_refs.R"))

# 1. twelve units with ties in both variables (an index on a 0-100 scale beside a survey proportion)
setup("x1 <- c(71.2, 65.0, 80.5, 65.0, 90.1, 77.7, 58.3, 80.5, 69.9, 84.4, 62.0, 75.0)")
setup("y1 <- c(0.81, 0.79, 0.86, 0.80, 0.93, 0.84, 0.74, 0.88, 0.79, 0.90, 0.77, 0.84)")
setup("bw_ci <- function(r, n, level = 0.95) { z <- atanh(r); se <- sqrt((1 + r^2 / 2) / (n - 3)); q <- qnorm(0.5 + level / 2); tanh(c(z - q * se, z + q * se)) }")
ref("X1", "x1")
ref("Y1", "y1")
ref("R1", "cor(x1, y1, method = 'spearman')")
ref("CI1", "bw_ci(cor(x1, y1, method = 'spearman'), length(x1))")
ref("CI1_90", "bw_ci(cor(x1, y1, method = 'spearman'), length(x1), level = 0.90)")

# 2. 34 provinces, a weak negative association, no ties
setup("set.seed(20251)")
setup("x2 <- round(runif(34, 40, 90), 3); y2 <- round(0.9 - 0.001 * x2 + rnorm(34, 0, 0.05), 5)")
ref("X2", "x2")
ref("Y2", "y2")
ref("R2", "cor(x2, y2, method = 'spearman')")
ref("CI2", "bw_ci(cor(x2, y2, method = 'spearman'), length(x2))")

# 3. the smallest n with a CI (n = 4) and a perfect order
setup("x3 <- c(1, 2, 3, 4); y3 <- c(0.5, 0.6, 0.55, 0.9)")
ref("R3", "cor(x3, y3, method = 'spearman')")
ref("CI3", "bw_ci(cor(x3, y3, method = 'spearman'), 4)")

write_refs(this_script())

# Reference numbers for the two-sample sample sizes of sipas.planning (issue 18): the ranking goal
# ("adjacent units separable at a gap") and PracTools nProp2sam.  Base R `stats` only.
#
# * power.prop.test / power.t.test solve for n with uniroot; tol = 1e-12 so that n is exact to ~1e-10.
#   power.prop.test (strict = FALSE) solves  power = pnorm((sqrt(n) |p1 - p2| - z_{1-a/2} sqrt((p1 + p2)(1 - pbar)))
#   / sqrt(p1 q1 + p2 q2)): the null variance uses pbar, so it equals n_two_sample only when that is replaced by the
#   alternative variance; NPOWER_PROP_ALT is that formula evaluated in base R.
# * power.t.test uses the noncentral t; with a large n it approaches the z formula (checked at rel 1e-3).
# * nProp2sam: PracTools' R source (nProp2sam.R; VDK 2018 §4.4, Woodward 1992) is
#   n1 = (s2x + r s2y - 2 g r sxy) / del^2 (za - zb)^2 with zb = qnorm(1 - pow), n2 = n1 / r; the Rd's example
#   prints only ceilings, so the formula is evaluated here in base R (PracTools is not installed).
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "_refs.R"))

# ranking goal: two units 3 points apart (0.03 on the 0-1 scale) around 0.80, 5% two-sided, 80% power
ref("NPOWER_PROP", "power.prop.test(p1 = 0.80, p2 = 0.83, sig.level = 0.05, power = 0.80, tol = 1e-12)$n")
ref("NPOWER_PROP_ALT", "(qnorm(0.975) + qnorm(0.80))^2 * (0.80 * 0.20 + 0.83 * 0.17) / 0.03^2")
ref("NPOWER_PROP_NULLVAR", paste("(qnorm(0.975) * sqrt(2 * 0.815 * 0.185) + qnorm(0.80) *",
                                 "sqrt(0.80 * 0.20 + 0.83 * 0.17))^2 / 0.03^2"))
ref("NPOWER_T", "power.t.test(delta = 3, sd = 15, sig.level = 0.05, power = 0.80, tol = 1e-12)$n")
ref("NPOWER_T_90", "power.t.test(delta = 3, sd = 15, sig.level = 0.05, power = 0.90, tol = 1e-12)$n")
ref("NPOWER_T_ONESIDED", paste("power.t.test(delta = 3, sd = 15, sig.level = 0.05, power = 0.80,",
                               "alternative = \"one.sided\", tol = 1e-12)$n"))
# the unit SE of the ranking goal: gap / ((z_{0.975} + z_{0.80}) sqrt(2)), and the power of a z test at that SE
ref("SE_RANKING", "3 / ((qnorm(0.975) + qnorm(0.80)) * sqrt(2))")
ref("POWER_AT_SE", "pnorm(3 / (sqrt(2) * 3 / ((qnorm(0.975) + qnorm(0.80)) * sqrt(2))) - qnorm(0.975))")
# nProp2sam: the help page's example nProp2sam(px=0.5, py=0.55, pxy=0.45, g=0.5, r=1, alt="two.sided"),
# and a non-overlapping, unequal-size case
setup("np2 <- function(px, py, pxy, g, r, za, pow) (px*(1-px) + r*py*(1-py) - 2*g*r*(pxy - px*py)) / (px-py)^2 * (za - qnorm(1 - pow))^2")
ref("NPROP2SAM_EXAMPLE", "c(n1 = np2(0.5, 0.55, 0.45, 0.5, 1, qnorm(0.975), 0.80), n2 = np2(0.5, 0.55, 0.45, 0.5, 1, qnorm(0.975), 0.80))")
ref("NPROP2SAM_R2_ONESIDED", "c(n1 = np2(0.8, 0.7, 0.56, 0, 2, qnorm(0.95), 0.90), n2 = np2(0.8, 0.7, 0.56, 0, 2, qnorm(0.95), 0.90) / 2)")

write_refs(this_script())

"""Published output of R ``lavaan`` used as references by tests/test_reliability*.py.

Copied from R output printed in public sources (R command and source beside each block); none was
produced by sipas.  Values are checked to half a unit of their last printed digit.
"""

from __future__ import annotations

# ---------------------------------------------------------------------------------------------
# Holzinger & Swineford (1939), n = 301, three correlated factors.
# R: HS.model <- ' visual  =~ x1 + x2 + x3
#                  textual =~ x4 + x5 + x6
#                  speed   =~ x7 + x8 + x9 '
#    fit <- cfa(HS.model, data = HolzingerSwineford1939)
# Fit indices: GitHub Aaron0696/aaRon, README.md (commit 6c84dccd5df0e5cf9ded6076ddafccf409b7fe9e),
#   section "prettylavaan()": "NPAR 21 CHISQ 85.306 DF 24 PVALUE 0 CFI 0.931 TLI 0.896 NNFI 0.896
#   NFI 0.907 RMSEA 0.092 SRMR 0.065 AIC 7517.5 BIC 7595.3" (fitMeasures(fit)), and the output of
#   summary(fit, fit.measures = TRUE) as reproduced in several public R Markdown documents and
#   package docs found by GitHub code search: "Model Test Baseline Model: Test statistic 918.852,
#   Degrees of freedom 36 ... CFI 0.931, TLI 0.896 ... RMSEA 0.092, 90 Percent confidence interval -
#   lower 0.071, upper 0.114 ... SRMR 0.065", loadings "x2 0.554 ... Std.all 0.772 0.424 0.581".
# Loadings: the same README, parameterEstimates/standardizedSolution table ("EST", "STD.ALL").
# ---------------------------------------------------------------------------------------------
HS_CFA = {
    "command": "fitMeasures(cfa(HS.model, data = HolzingerSwineford1939))",
    "chisq": (85.306, 0.0005),
    "df": 24,
    "baseline_chisq": (918.852, 0.0005),
    "baseline_df": 36,
    "cfi": (0.931, 0.0005),
    "tli": (0.896, 0.0005),
    "nfi": (0.907, 0.0005),
    "rmsea": (0.092, 0.0005),
    "rmsea_ci_lower": (0.071, 0.0005),
    "rmsea_ci_upper": (0.114, 0.0005),
    "srmr": (0.065, 0.0005),
    "tol_loading": 0.0005,
    # parameterEstimates(fit)$est for the =~ rows
    "est": {"x1": 1.0, "x2": 0.554, "x3": 0.729, "x4": 1.0, "x5": 1.113, "x6": 0.926,
            "x7": 1.0, "x8": 1.180, "x9": 1.082},
    # standardizedSolution(fit)$est.std for the =~ rows (x7 printed as 0.57 = 0.570)
    "std_all": {"x1": 0.772, "x2": 0.424, "x3": 0.581, "x4": 0.852, "x5": 0.855, "x6": 0.838,
                "x7": 0.570, "x8": 0.723, "x9": 0.665},
}

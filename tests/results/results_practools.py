"""Numbers PracTools printed (vignette output; one third-party script's printed output), with the R command beside each.

Each block names its source.  Not covered here, for want of a published number computable here: the components
B2, W2, W3 themselves (their population MDarea.popA is binary .RData), clusOpt2 with a budget, clusOpt3, deffK (the
Design-effects vignette's deffK(wgt) = 6.263141 is on a random sample of the binary smho.N874) and nProp2sam.  Those
are checked instead against PracTools' own functions run on public data (R survey's apipop) and on the help pages'
inputs: tests/results/r/planning_practools.R, tests/test_planning_practools.py.

Source of nCont, nPropMoe, strAlloc: cran/PracTools inst/doc/Singlestage-samsize.html (vignette "Sample Size
Calculation in Single-stage Sampling", knitr output, 2024-06-24) —
https://cran.r-project.org/package=PracTools/vignettes/Singlestage-samsize.html
"""

# nCont(CV0 = 0.05, CVpop = 2)  -> "The resulting sample size is 1,600."
NCONT_CV005 = 1600.0
# nCont(CV0 = 0.05, CVpop = 2, N = 500)  -> "results in a sample size of 381 after rounding"
NCONT_CV005_N500_CEILING = 381
# ceiling(nPropMoe(moe.sw=1, e=seq(0.01,0.08,0.01), alpha=0.05, pU=0.5))
# #> [1] 9604 2401 1068  601  385  267  196  151
NPROPMOE_CEILING = [9604, 2401, 1068, 601, 385, 267, 196, 151]
STRALLOC_NH = [215, 65, 252, 50, 149, 144]
STRALLOC_SH = [26787207, 10645109, 6909676, 11085034, 9817762, 44553355]
# strAlloc(n.tot = 100, Nh = Nh, Sh = Sh, alloc = "neyman")
# #> nh = 34.641683, 4.161947, 10.473487, 3.333804, 8.798970, 38.590108 ; anticipated SE of estimated mean = 1727173
STRALLOC_NEYMAN_NH = [34.641683, 4.161947, 10.473487, 3.333804, 8.798970, 38.590108]
STRALLOC_NEYMAN_SE = 1727173.0
# strAlloc(Nh = Nh, Sh = Sh, cost = 100000, ch = c(1400, 200, 300, 600, 450, 1000), alloc = "totcost")
# #> nh = 30.605403, 9.728474, 19.989127, 4.499121, 13.711619, 40.340301 ; anticipated SE = 1636053
STRALLOC_TOTCOST_CH = [1400, 200, 300, 600, 450, 1000]
STRALLOC_TOTCOST_NH = [30.605403, 9.728474, 19.989127, 4.499121, 13.711619, 40.340301]
STRALLOC_TOTCOST_SE = 1636053.0

# ---------------------------------------------------------------- BW2stagePPS / BW3stagePPS (derived columns)
# Source: cran/PracTools inst/doc/Varcomps-multistage.html (vignette "Variance Component Estimation in Multistage
# Sampling", knitr output, 2024-06-24) —
# https://cran.r-project.org/package=PracTools/vignettes/Varcomps-multistage.html
# The population MDarea.popA ships only as binary .RData, so the components B2, W2, W3 cannot be recomputed here;
# these rows check the columns PracTools derives from them (k, delta; k1, k2, delta1, delta2).  R prints each
# vector to 7 significant digits of its smallest element.
# Columns: B2, W2, unit relvar, B2+W2, k, delta
BW2STAGEPPS_ROWS = [
    # BW2stagePPS(MDarea.popA$y1, pp=pp.PSU, psuID=MDarea.popA$PSU)
    (0.007878320, 1.455574516, 1.463117997, 1.463452835, 1.000228853, 0.005383378),
    # BW2stagePPS(MDarea.popA$y1, pp=pp.SSU, psuID=MDarea.popA$SSU)
    (0.03652265, 1.42825477, 1.46311800, 1.46477742, 1.00113417, 0.02493392),
    # BW2stagePPS(MDarea.popA$y1, pp=pp.trt, psuID=MDarea.popA$TRACT)
    (0.009458290, 1.454058071, 1.463117997, 1.463516361, 1.000272271, 0.006462716),
    # BW2stagePPS(MDarea.popA$y1, pp=pp.BG, psuID=trtBG)
    (0.01643324, 1.44797251, 1.46311800, 1.46440575, 1.00088014, 0.01122178),
]
# Columns: B, W, W2, W3, unit relvar, k1, k2, delta1, delta2
BW3STAGEPPS_ROWS = [
    # pp.trt <- rep(1/M,M); BW3stagePPS(X=MDarea.popA$y1, pp=pp.trt, psuID=MDarea.popA$TRACT, ssuID=trtBG)
    (0.2575952, 1.8405833, 0.2714429, 2.1074463, 1.4631180, 1.4340460, 1.6259039, 0.1227709, 0.1141049),
    # pp.trt <- table(MDarea.popA$TRACT) / nrow(MDarea.popA); BW3stagePPS(X=MDarea.popA$y1, pp=pp.trt,
    #       psuID=MDarea.popA$TRACT, ssuID=trtBG)
    (0.009458290, 1.454058071, 0.272308839, 1.685246592, 1.463117997, 1.000272271, 1.337934080, 0.006462716,
     0.139106579),
]

# ---------------------------------------------------------------- clusOpt2 (cal.sw = 2, target CV)
# Source: PracTools output printed (as comments) by a third party: G. Barcaroli (Istat), repository
# barcaroli/R2BEAT_examples, file PractTools.R, commit e2d4f9f2fb024bd7103a16a701cbafb2b0ac5239 —
# https://github.com/barcaroli/R2BEAT_examples/blob/e2d4f9f2fb024bd7103a16a701cbafb2b0ac5239/PractTools.R
# Each clusOpt2 call takes delta = bw[6], unit.rv = bw[3], k = bw[5] of the BW2stagePPS(...) output printed just
# above it (its population pop.RData is binary, not reproducible here); the inputs below are those printed values
# (7-9 significant digits).  clusOpt2 prints m.opt and n.opt rounded to 1 decimal (round(., 1) in R/clusOpt2.R) and
# the cost to 7 significant digits.  The first call of the file (income_hh) is not used: its code says CV0=0.03 but
# its printed output is that of CV0=0.02 (the comment was not updated).
# Columns: C1, C2, delta, unit.rv, k, CV0, printed cost, printed m.opt, printed n.opt
CLUSOPT2_CV_ROWS = [
    # active:      bw: 0.03416003 0.48613299 0.52018630 0.52029301 1.00020515 0.06565537
    # clusOpt2(C1=180, C2=1, delta=bw[6], unit.rv=bw[3], k=bw[5], CV0=0.03, tot.cost=NULL, cal.sw=2)
    # -> cost = 11214.18, m.opt = 48.6, n.opt = 50.6, CV = 0.03
    (180, 1, 0.06565537, 0.52018630, 1.00020515, 0.03, 11214.18, 48.6, 50.6),
    # inactive:    bw: 0.007475925 3.586427402 3.593086259 3.593903327 1.000227400 0.002080169
    # clusOpt2(C1=5, C2=1, delta=bw[6], unit.rv=bw[3], k=bw[5], CV0=0.03, tot.cost=NULL, cal.sw=2)
    # -> cost = 4840.099, m.opt = 89.7, n.opt = 49, CV = 0.03
    (5, 1, 0.002080169, 3.593086259, 1.000227400, 0.03, 4840.099, 89.7, 49.0),
    # unemployed:  bw: 0.8890053 6.1465906 7.0342495 7.0355959 1.0001914 0.1263582
    # clusOpt2(C1=350, C2=1, delta=bw[6], unit.rv=bw[3], k=bw[5], CV0=0.03, tot.cost=NULL, cal.sw=2)
    # -> cost = 449736.9, m.opt = 1126.6, n.opt = 49.2, CV = 0.03
    (350, 1, 0.1263582, 7.0342495, 1.0001914, 0.03, 449736.9, 1126.6, 49.2),
]

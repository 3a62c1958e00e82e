"""Numbers PracTools itself published (vignette output), with the R command beside each.

Source: cran/PracTools inst/doc/Singlestage-samsize.html (vignette "Sample Size Calculation in Single-stage
Sampling", knitr output, 2024-06-24) — https://cran.r-project.org/package=PracTools/vignettes/Singlestage-samsize.html
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

"""Confidence intervals for proportions from complex samples (R ``survey::svyciprop``).

:func:`svyciprop` is the design-level entry point (used by
:meth:`sipas.estimation.Design.ciprop`); :func:`prop_interval` turns estimates, their
design-based SEs and degrees of freedom into intervals (used per level and domain by
:meth:`sipas.estimation.Design.proportion`).

Methods
-------
Every method of R's ``svyciprop`` (survey 4.1-1) is available and reproduces R's
numbers (checked in ``tests/test_estimation_r_ciprop_trim.py`` at relative tolerance
1e-6):

``"logit"`` (R's default)
    Wald interval for the intercept of the quasibinomial intercept-only survey GLM
    (R ``svyglm(y ~ 1, family = quasibinomial)``, ``confint(method = "Wald")``),
    back-transformed with :math:`\\operatorname{expit}`.
``"likelihood"``
    Profile interval of that GLM with the Rao–Scott scaled deviance (R
    ``confint.svyglm(method = "likelihood")``).
``"asin"``
    Delta-method interval for :math:`\\arcsin\\sqrt p`, back-transformed with
    :math:`\\sin^2`.
``"beta"``
    Korn & Graubard (1998) Clopper–Pearson interval with an effective sample size.
``"mean"`` (alias ``"wald"``)
    :math:`\\hat p \\pm t_{df}\\, SE`.
``"xlogit"``
    Delta-method interval for :math:`\\operatorname{logit} p`.

Two more methods are not in R: ``"wald"`` (the same as ``"mean"``) and ``"wilson"``
(Wilson's score interval with an effective sample size).

``"logit"`` and ``"likelihood"`` refit the GLM, so they need the data:
:func:`svyciprop` computes them exactly as R (including R's ``glm.fit`` iterations, so
replicate-weight fits agree with R to rounding).  :func:`prop_interval` works from
:math:`(\\hat p, SE, df, n)` only; there ``"logit"`` is the delta-method logit interval
(identical to ``"xlogit"``; for linearisation designs this equals R's GLM-based
``"logit"`` up to R's ``glm`` convergence tolerance, about 1e-9 relative, but for
replicate-weight designs R's ``"logit"`` uses the replicate variance of the fitted
logits, which only :func:`svyciprop` reproduces) and ``"likelihood"`` is refused.

References
----------
Korn, E. L. & Graubard, B. I. (1998) Confidence intervals for proportions with small
expected number of positive counts estimated from survey data. *Survey Methodology*
24:193–201.
Rao, J. N. K. & Scott, A. J. (1984) On chi-squared tests for multiway contingency
tables with cell proportions estimated from survey data. *Annals of Statistics*
12:46–60 (design-effect scaling of the likelihood).
Lumley, T. (2010) *Complex Surveys: A Guide to Analysis Using R*, Wiley, §2.3.1;
R package ``survey``, help pages ``svyciprop`` and ``confint.svyglm``.
Forsythe, G. E., Malcolm, M. A. & Moler, C. B. (1977) *Computer Methods for
Mathematical Computations*, Prentice-Hall (the cubic spline used by R's ``spline()``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from dataclasses import replace as _dc_replace
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

from sipas.errors import ConvergenceError, EstimationError
from sipas.estimation.results import Estimate, _t_quantile

if TYPE_CHECKING:
    from sipas.estimation.design import Design

__all__ = ["R_METHODS", "METHODS", "INTERVAL_METHODS", "svyciprop", "prop_interval"]

#: The methods of R ``svyciprop`` (survey 4.1-1), in R's order.
R_METHODS = ("logit", "likelihood", "asin", "beta", "mean", "xlogit")
#: Every method sipas offers (R's and ``"wilson"``, ``"wald"``).
METHODS = R_METHODS + ("wilson", "wald")
#: Methods computable from :math:`(\hat p, SE, df, n)` alone (:func:`prop_interval`,
#: :meth:`Design.proportion <sipas.estimation.Design.proportion>`).
INTERVAL_METHODS = tuple(m for m in METHODS if m != "likelihood")
_GLM_METHODS = ("logit", "likelihood")


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise EstimationError(f"unknown ci_method {method!r}; use one of {', '.join(METHODS)}")


# --------------------------------------------------------------------------- design entry point
def svyciprop(
    design: "Design",
    variable: str,
    *,
    by: str | Sequence[str] | None = None,
    level: float | None = None,
    df: float | str | None = None,
    ci_method: str = "logit",
) -> Estimate | pd.DataFrame:
    """Proportion of a 0/1 (or logical) variable with an R ``svyciprop`` interval.

    R: ``svyciprop(~I(x == 1), design, method = ci_method, level = level, df = df)``;
    with ``by``, each domain as R's ``svyciprop(~I(x == 1), subset(design, by == d))``.

    The estimate and SE are those of :meth:`Design.mean <sipas.estimation.Design.mean>`
    (R: ``coef`` and ``attr(, "var")`` of the ``svyciprop`` result; for ``"logit"`` and
    ``"likelihood"`` R prints the GLM's :math:`\\operatorname{expit}(\\hat\\beta_0)`, the
    same number to R's ``glm`` convergence tolerance -- except where the GLM cannot
    converge, :math:`\\hat p \\in \\{0, 1\\}`: R then prints e.g. 2.9e-12 for 0).  With :math:`q = t_{df,
    1-\\alpha/2}` the intervals are

    * ``"mean"``/``"wald"``: :math:`\\hat p \\pm q\\,SE`;
    * ``"xlogit"``: :math:`\\operatorname{expit}(\\operatorname{logit}\\hat p \\pm
      q\\,SE/(\\hat p(1-\\hat p)))`;
    * ``"asin"``: :math:`\\sin^2(\\arcsin\\sqrt{\\hat p} \\pm q\\,SE/(2\\sqrt{\\hat p(1-\\hat
      p)}))` -- as R, the angle is not truncated at 0 or :math:`\\pi/2`, so a lower
      angle below 0 gives :math:`\\sin^2` of a negative angle;
    * ``"beta"`` (Korn & Graubard 1998): Clopper–Pearson with effective sample size
      :math:`n^* = \\hat p(1-\\hat p)/SE^2 \\cdot (t_{n-1,\\alpha/2}/t_{d,\\alpha/2})^2`,
      :math:`[B^{-1}_{\\alpha/2}(n^*\\hat p, n^*(1-\\hat p)+1),\\ B^{-1}_{1-\\alpha/2}(n^*\\hat p+1,
      n^*(1-\\hat p))]`, where, as R, :math:`n` is the number of rows of the (sub)design
      and :math:`d` its design degrees of freedom (R ``degf``) whatever ``df`` is;
    * ``"logit"``: fit the intercept-only logistic model with weights
      :math:`W_i = w_i/\\bar w` by R's ``glm`` iterations (IRLS, convergence when the
      deviance changes by less than :math:`10^{-8}(|D|+0.1)`), take the design-based
      variance :math:`\\hat V(\\hat\\beta_0)` of its estimating function (linearisation,
      including any calibration, or the replicate variance of the refitted
      :math:`\\hat\\beta_{0r}` -- R ``svyglm``) and return
      :math:`\\operatorname{expit}(\\hat\\beta_0 \\pm q\\sqrt{\\hat V})`;
    * ``"likelihood"``: R's ``confint.svyglm(method = "likelihood")`` for that model.
      With the design effect :math:`\\lambda = \\hat V / V_0`, :math:`V_0 =
      (\\sum W_i \\hat\\mu(1-\\hat\\mu))^{-1}` the model-based variance, the interval is
      :math:`\\{\\beta: |\\tau(\\beta)| \\le |t_{df,\\alpha/2}|\\sqrt\\lambda\\}` for the
      signed root deviance :math:`\\tau(\\beta) = \\operatorname{sign}(\\beta-\\hat\\beta_0)
      \\sqrt{(D(\\beta) - D(\\hat\\beta_0))/\\hat\\phi}`, :math:`\\hat\\phi` the design-weighted
      variance of the Pearson residuals (R ``summary.svyglm``).  As R, :math:`\\tau` is
      computed on a grid of at most 9 steps of :math:`\\sqrt{F_{1,n-1;1-a}}/5 \\cdot
      \\sqrt{\\hat V}` on each side of :math:`\\hat\\beta_0` (:math:`a =
      \\Phi(t_{df,\\alpha/2}\\sqrt\\lambda)/2`), interpolated by the Forsythe–Malcolm–Moler
      cubic spline at :math:`3\\times` as many equally spaced points and inverted
      linearly (R ``spline``, ``approx``); limits beyond the grid are NaN, as R's NA.
      Not available for replicate-weight designs: R survey 4.1-1 scales the Pearson
      residuals of replicate-weight GLMs by :math:`\\sqrt n` there and returns NA.
    * ``"wilson"`` (not in R): Wilson's score interval with :math:`n^* = \\hat p(1-\\hat
      p)/SE^2` and :math:`q`.

    Parameters
    ----------
    design:
        The survey design (linearisation or replicate weights, calibrated or not).
    variable:
        Column with values in [0, 1] (logical or 0/1); missing values are dropped as
        R's ``na.rm = TRUE`` (``na.action`` for the GLM).
    by:
        Domain column(s): one interval per domain, each as R does on
        ``subset(design, ...)`` (which keeps every row of a calibrated design, with
        zero weight outside the domain).
    level:
        Confidence level (default: the design's).
    df:
        Degrees of freedom of the quantile :math:`q`: ``None`` = R's default
        ``degf(design)`` -- without ``by`` the design df, with ``by`` the df of each
        domain subset (#PSUs − #strata with rows in the domain; for replicate designs the
        rank of the domain's replicate weights − 1); a number (``float("inf")``: normal
        quantiles); ``"domain"`` as with ``by``.  ``"beta"`` ignores it (as R).
    ci_method:
        One of :data:`METHODS`.

    Returns
    -------
    Estimate or DataFrame
        An :class:`~sipas.estimation.Estimate` without ``by``; with ``by`` a DataFrame as
        :meth:`Design.mean <sipas.estimation.Design.mean>` returns (``ci_low``,
        ``ci_high`` replaced by the chosen interval).

    Raises
    ------
    EstimationError
        Unknown method, values outside [0, 1], ``"likelihood"`` on a replicate design, with
        a zero variance or with df <= 0 (R stops too; ``"logit"`` then gives NaN limits,
        as R).
    ConvergenceError
        The likelihood profile finds a better fit than the IRLS solution (R stops too).
    """
    _check_method(ci_method)
    lvl = design.level if level is None else float(level)
    if not 0 < lvl < 1:
        raise EstimationError(f"level must be in (0, 1), got {level}")
    y = _proportion_values(design, variable)
    dom, labels, _ = design._domain_codes(by)
    D = 1 if labels is None else len(labels)
    df_arg = df if df is not None else (None if by is None else "domain")
    est = design.mean(variable, by=by, level=lvl, df=df_arg)
    if isinstance(est, Estimate):
        p = np.array([est.estimate])
        se = np.array([est.se])
        dfs = np.array([est.df])
    else:
        p, se, dfs = (est[c].to_numpy(dtype=float) for c in ("estimate", "se", "df"))
    degf = _r_degf(design, dom, D, by is not None or df_arg == "domain")
    if df_arg == "domain":  # R's degf of each subset (replicate designs: rank of its weights - 1)
        dfs = degf
    if ci_method in _GLM_METHODS:
        lo, hi = glm_interval(design, y, dom, D, level=lvl, df=dfs, method=ci_method)
    else:
        lo, hi = prop_interval(
            p, se, level=lvl, df=dfs, method=ci_method, n_rows=_r_nrow(design, dom, D, by is not None),
            design_df=degf,
        )
    if isinstance(est, Estimate):
        return _dc_replace(est, ci_low=float(lo[0]), ci_high=float(hi[0]), df=float(dfs[0]))
    out = est.copy()
    out["df"] = dfs
    out["ci_low"] = lo
    out["ci_high"] = hi
    return out


def _proportion_values(design: "Design", variable: str) -> np.ndarray:
    """The variable as floats (NaN = missing), checked to lie in [0, 1]."""
    if variable not in design.data.columns:
        raise EstimationError(f"variable {variable!r} not in data")
    y = design._numeric([variable])[:, 0]
    bad = ~np.isnan(y) & ((y < 0) | (y > 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise EstimationError(
            f"variable {variable!r} must be logical or within [0, 1] for a proportion; "
            f"data row {design.data.index[i]!r} has {y[i]!r}"
        )
    return y


def _r_nrow(design: "Design", dom: np.ndarray, D: int, domains: bool) -> np.ndarray:
    """R's ``nrow(design)`` of the (sub)design: ``subset`` keeps all rows of a calibrated design."""
    if not domains or (design.is_calibrated and not design.is_replicate):
        return np.full(D, float(design.n_rows))
    return np.bincount(dom[dom >= 0], minlength=D).astype(float)


def _r_degf(design: "Design", dom: np.ndarray, D: int, domains: bool) -> np.ndarray:
    """R's ``degf()`` of the design or of each domain subset."""
    if not domains:
        return np.full(D, design.df)
    if not design.is_replicate:
        return design._df_array("domain", dom, D, 1)[:, 0]
    W = design.replicate_weights()
    return np.array([float(np.linalg.matrix_rank(W[dom == d]) - 1) for d in range(D)])


# --------------------------------------------------------------------------- intervals from (p, se, df, n)
def prop_interval(
    p: np.ndarray,
    se: np.ndarray,
    *,
    level: float,
    df: np.ndarray,
    method: str,
    n_rows: np.ndarray,
    design_df: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Proportion intervals from estimates, SEs and degrees of freedom (R ``svyciprop``).

    Parameters
    ----------
    p, se:
        Estimated proportions and their design-based standard errors.
    level:
        Confidence level :math:`1-\\alpha`.
    df:
        Degrees of freedom of the quantile :math:`q = t_{df,1-\\alpha/2}` per estimate
        (``inf``: normal).
    method:
        One of :data:`INTERVAL_METHODS` (formulas in :func:`svyciprop`; ``"logit"`` here
        is the delta-method logit interval, identical to ``"xlogit"``).
    n_rows:
        Number of sample rows :math:`n` per estimate (``"beta"`` only).
    design_df:
        Design degrees of freedom :math:`d` of the Korn–Graubard correction
        :math:`(t_{n-1,\\alpha/2}/t_{d,\\alpha/2})^2` (``"beta"`` only; R uses
        ``degf(design)``); default ``df``.

    Returns
    -------
    (lower, upper) arrays.

    Raises
    ------
    EstimationError
        For an unknown method and for ``"likelihood"``, which needs the data
        (use :func:`svyciprop`, also with ``by=``).
    """
    _check_method(method)
    if method == "likelihood":
        raise EstimationError(
            "ci_method='likelihood' profiles the survey GLM and needs the data: use "
            "sipas.estimation.propci.svyciprop(design, variable, by=...) or Design.ciprop(); intervals "
            f"from (p, se, df, n) (Design.proportion) support {', '.join(INTERVAL_METHODS)}"
        )
    alpha = 1.0 - level
    p = np.asarray(p, dtype=float)
    se = np.asarray(se, dtype=float)
    df = np.asarray(df, dtype=float)
    n_rows = np.asarray(n_rows, dtype=float)
    q = _t_quantile(level, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method in ("mean", "wald"):
            return p - q * se, p + q * se
        if method in ("logit", "xlogit"):
            eta = np.log(p / (1 - p))
            se_eta = se / (p * (1 - p))
            return _expit(eta - q * se_eta), _expit(eta + q * se_eta)
        if method == "asin":
            angle = np.arcsin(np.sqrt(p))
            se_angle = se / (2 * np.sqrt(p * (1 - p)))
            return np.sin(angle - q * se_angle) ** 2, np.sin(angle + q * se_angle) ** 2
        if method == "beta":
            ddf = df if design_df is None else np.asarray(design_df, dtype=float)
            t_n = stats.t.ppf(alpha / 2, n_rows - 1)
            t_d = np.where(np.isinf(ddf), stats.norm.ppf(alpha / 2), stats.t.ppf(alpha / 2, np.where(np.isinf(ddf), 1.0, ddf)))
            n_eff = p * (1 - p) / se**2 * (t_n / t_d) ** 2
            lo = stats.beta.ppf(alpha / 2, n_eff * p, n_eff * (1 - p) + 1)
            hi = stats.beta.ppf(1 - alpha / 2, n_eff * p + 1, n_eff * (1 - p))
            lo = np.where(p <= 0, 0.0, lo)
            hi = np.where(p >= 1, 1.0, hi)
            return lo, hi
        # wilson
        n_eff = p * (1 - p) / se**2
        z2 = q * q
        centre = (p + z2 / (2 * n_eff)) / (1 + z2 / n_eff)
        half = q * np.sqrt(p * (1 - p) / n_eff + z2 / (4 * n_eff**2)) / (1 + z2 / n_eff)
        return centre - half, centre + half


def _expit(x: np.ndarray | float) -> np.ndarray:
    """:math:`e^x/(1+e^x)` (R survey's ``expit``), computed without overflow; keeps tiny
    limits such as 1e-19 that :math:`1 - 1/(1+e^x)` would round to 0."""
    return special.expit(x)


# --------------------------------------------------------------------------- the survey GLM (R svyglm, glm.fit)
_ETA_THRESH = 30.0  # R binomial(): |eta| beyond this is treated as +-infinity
_DBL_EPS = float(np.finfo(float).eps)


def _linkinv(eta: np.ndarray) -> np.ndarray:
    """Inverse logit as R's ``binomial()$linkinv``: :math:`\\mu \\in [\\epsilon/(1+\\epsilon), 1/(1+\\epsilon)]`."""
    e = np.where(eta < -_ETA_THRESH, _DBL_EPS, np.where(eta > _ETA_THRESH, 1.0 / _DBL_EPS, np.exp(np.clip(eta, -_ETA_THRESH, _ETA_THRESH))))
    return e / (1.0 + e)


def _mu_eta(eta: np.ndarray) -> np.ndarray:
    """:math:`d\\mu/d\\eta = e^\\eta/(1+e^\\eta)^2` as R's ``binomial()$mu.eta`` (``eps`` beyond :math:`|\\eta| > 30`)."""
    e = np.exp(np.clip(eta, -_ETA_THRESH, _ETA_THRESH))
    return np.where(np.abs(eta) > _ETA_THRESH, _DBL_EPS, e / (1.0 + e) ** 2)


def _deviance(y: np.ndarray, mu: np.ndarray, W: np.ndarray) -> float:
    """Binomial deviance :math:`2\\sum W_i [y_i\\log(y_i/\\mu_i) + (1-y_i)\\log((1-y_i)/(1-\\mu_i))]`."""
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(y != 0, y * np.log(y / mu), 0.0)
        b = np.where(y != 1, (1 - y) * np.log((1 - y) / (1 - mu)), 0.0)
    return float(np.sum(2.0 * W * (a + b)))


@dataclass(frozen=True)
class _GlmFit:
    """Intercept-only logistic fit as R's ``glm.fit`` returns it: the coefficient (the
    final linear predictor), the linear predictor per row at which the last working
    weights were computed, and the deviance."""

    coef: float
    eta_work: np.ndarray
    deviance: float


def _irls(y: np.ndarray, W: np.ndarray, *, start: float | None = None, epsilon: float = 1e-8, maxit: int = 25) -> _GlmFit:
    """Iteratively reweighted least squares for :math:`\\operatorname{logit}\\mu = \\beta_0`.

    As R's ``glm.fit`` (``glm.control(epsilon = 1e-8, maxit = 25)``): start at
    :math:`\\mu_i = (W_i y_i + 1/2)/(W_i + 1)` (``binomial()$initialize``) or at
    ``start``; each step solves the weighted least squares of the working response
    :math:`z_i = \\eta_i + (y_i-\\mu_i)/\\mu'_i` with weights :math:`W_i\\mu_i'^2/(\\mu_i(1-\\mu_i))`
    over the rows with :math:`W_i > 0`; stop when :math:`|D - D_{old}|/(|D| + 0.1) <
    \\epsilon`.  R keeps the working weights of the last step's starting point (they give
    its model-based variance), hence ``eta_work``.
    """
    pos = W > 0
    y = np.where(pos, y, 0.0)
    if start is None:
        mustart = (W * y + 0.5) / (W + 1.0)
        eta = np.log(mustart / (1.0 - mustart))
    else:
        eta = np.full(y.shape, float(start))
    mu = _linkinv(eta)
    dev_old = _deviance(y, mu, W)
    coef, dev, eta_work = float("nan"), float("nan"), eta
    for _ in range(maxit):
        me = _mu_eta(eta)
        good = pos & (me != 0)
        z = eta[good] + (y - mu)[good] / me[good]
        w2 = W[good] * me[good] ** 2 / (mu * (1.0 - mu))[good]
        eta_work = eta
        coef = float(np.sum(w2 * z) / np.sum(w2))
        eta = np.full(y.shape, coef)
        mu = _linkinv(eta)
        dev = _deviance(y, mu, W)
        if not np.isfinite(dev):
            raise ConvergenceError(f"logistic fit of the proportion diverged (deviance {dev})")
        if abs(dev - dev_old) / (abs(dev) + 0.1) < epsilon:
            return _GlmFit(coef, eta_work, dev)
        dev_old = dev
    warnings.warn(f"logistic fit of the proportion did not converge in {maxit} iterations (R warns too)",
                  RuntimeWarning, stacklevel=3)
    return _GlmFit(coef, eta_work, dev)


@dataclass(frozen=True)
class _DomainGlm:
    """The GLM R fits for one domain: model rows (indices into the data), their rescaled
    prior weights ``W`` and design weights ``w`` (both 0 outside the domain), the
    rescaling constant (mean design weight over the design's rows), the fit and its
    model-based variance :math:`(\\sum_i W_i\\mu_i'^2/V(\\mu_i))^{-1}`."""

    rows: np.ndarray
    W: np.ndarray
    w: np.ndarray
    m_all: float
    fit: _GlmFit
    naive: float
    n_obs_design_rows: int


def _domain_glms(design: "Design", y: np.ndarray, dom: np.ndarray, D: int) -> list[_DomainGlm]:
    """R ``svyglm(y ~ 1, subset(design, domain), family = quasibinomial)`` per domain.

    The design's rows are those R's ``subset`` keeps: all rows of a calibrated
    linearisation design (zero weight outside the domain), else the domain's rows;
    prior weights are design weights over their mean on those rows (``rescale = TRUE``);
    rows with a missing value are then dropped (``na.action``).
    """
    n = design.n_rows
    w_all = design._w
    obs = ~np.isnan(y)
    keep_rows = design.is_calibrated and not design.is_replicate
    out = []
    for d in range(D):
        in_dom = dom == d
        design_rows = np.ones(n, dtype=bool) if keep_rows else in_dom
        rows = np.flatnonzero(design_rows & obs)
        wd = np.where(in_dom, w_all, 0.0)
        m_all = float(wd[design_rows].mean())
        w = wd[rows]
        W = w / m_all
        if not (W > 0).any():
            raise EstimationError("no observed rows with positive weight for the proportion")
        fit = _irls(y[rows], W)
        mu_w = _linkinv(fit.eta_work)
        good = W > 0
        naive = 1.0 / float(np.sum((W * _mu_eta(fit.eta_work) ** 2 / (mu_w * (1 - mu_w)))[good]))
        n_obs_design_rows = n if keep_rows else int(rows.size)  # rows of R's design[-na.action, ]
        out.append(_DomainGlm(rows, W, w, m_all, fit, naive, n_obs_design_rows))
    return out


def glm_interval(
    design: "Design", y: np.ndarray, dom: np.ndarray, D: int, *, level: float, df: np.ndarray, method: str
) -> tuple[np.ndarray, np.ndarray]:
    """``"logit"`` / ``"likelihood"`` intervals per domain (R ``svyglm`` + ``confint.svyglm``).

    ``y`` is the 0/1 variable (NaN = missing), ``dom`` the domain code of each row
    (``-1`` outside every domain), ``D`` the number of domains and ``df`` the degrees of
    freedom of each domain's interval.  Formulas in :func:`svyciprop`.
    """
    if method == "likelihood" and design.is_replicate:
        raise EstimationError(
            "ci_method='likelihood' is not available for replicate-weight designs: R survey 4.1-1 "
            "(summary.svrepglm) scales the Pearson residuals by sqrt(n), its profile never reaches "
            "the cut-off and svyciprop returns NA; use a linearisation design or another method"
        )
    glms = _domain_glms(design, y, dom, D)
    var_b = np.empty(D)
    if design.is_replicate:
        # R svyglm.svyrep.design: refit with each replicate's weights (normalised to sum 1),
        # starting from the full-sample coefficient; svrVar of the coefficients
        scale, rscales, mse = design.replicate_variance_factors()
        Wrep = design.replicate_weights()
        for d, g in enumerate(glms):
            Wd = Wrep[g.rows] * (dom[g.rows] == d)[:, None]
            betas = np.array([_irls(y[g.rows], Wd[:, r] / Wd[:, r].sum(), start=g.fit.coef).coef
                              for r in range(Wd.shape[1])])
            centre = g.fit.coef if mse else betas.mean()
            var_b[d] = scale * float(np.sum(rscales * (betas - centre) ** 2))
    else:
        # R svy.varcoef: influence x_i = estfun_i * Ainv with estfun_i = W_i (y_i - mu) / mu' *
        # (working weight / W_i) and Ainv = the model-based variance; its design variance is
        # (naive / m_all)^2 Var(sum_i w_i a_i), a_i = (y_i - mu) mu'_work^2 / (V(mu_work) mu')
        A = np.zeros((design.n_rows, 1))
        for g in glms:
            mu_f = float(_linkinv(np.array(g.fit.coef)))
            me_f = float(_mu_eta(np.array(g.fit.coef)))
            mu_w = _linkinv(g.fit.eta_work)
            a = (y[g.rows] - mu_f) * _mu_eta(g.fit.eta_work) ** 2 / (mu_w * (1 - mu_w)) / me_f
            mine = g.w > 0  # the domain's rows (a calibrated design's GLM also has the others, weight 0)
            A[g.rows[mine], 0] = a[mine]
        ok = (~np.isnan(y)).astype(float)[:, None]
        vt = design._ratio_engine(A, None, dom, D, obs=ok, want_deff=False, kind="total")["var"][:, 0]
        for d, g in enumerate(glms):
            var_b[d] = (g.naive / g.m_all) ** 2 * vt[d]
    lo = np.full(D, np.nan)
    hi = np.full(D, np.nan)
    if method == "logit":
        # R confint.svyglm(method = "Wald", ddf = df): t quantile, NaN when ddf <= 0
        q = _t_quantile(level, df)
        for d, g in enumerate(glms):
            if df[d] > 0:
                half = q[d] * np.sqrt(var_b[d])
                lo[d], hi[d] = _expit(g.fit.coef - half), _expit(g.fit.coef + half)
        return lo, hi
    for d, g in enumerate(glms):
        lo[d], hi[d] = _likelihood_interval(y[g.rows], g, var_b[d], level=level, df=float(df[d]))
    return lo, hi


def _likelihood_interval(y: np.ndarray, g: _DomainGlm, var_b: float, *, level: float, df: float) -> tuple[float, float]:
    """R ``confint.svyglm(method = "likelihood")`` for the intercept-only logistic model (see :func:`svyciprop`)."""
    if not (np.isfinite(var_b) and var_b > 0):
        raise EstimationError(f"likelihood interval undefined: the design variance of the logit is {var_b!r}")
    if not df > 0:
        raise EstimationError("likelihood interval needs positive degrees of freedom (R: 'zero or negative denominator df')")
    lam = var_b / g.naive
    q_half = stats.norm.ppf((1 - level) / 2) if np.isinf(df) else stats.t.ppf((1 - level) / 2, df)
    alpha = float(stats.norm.cdf(q_half * np.sqrt(lam)) / 2)
    # dispersion: design-weighted variance of the Pearson residuals, times n/(n-1) (R
    # summary.svyglm -> svyvar).  R's residuals.svyglm multiplies by sqrt(W_i / pw_i) with pw
    # the design weights over their mean on the rows of design[-na.action, ]: one constant.
    good = g.W > 0
    mu_f = float(_linkinv(np.array(g.fit.coef)))
    m_obs = float(g.w.sum()) / g.n_obs_design_rows
    r = (y[good] - mu_f) * np.sqrt(m_obs / g.m_all) / np.sqrt(mu_f * (1 - mu_f))
    wg = g.w[good]
    n_ok = int(good.sum())
    rbar = float(np.sum(wg * r) / np.sum(wg))
    phi = float(np.sum(wg * (r - rbar) ** 2) / np.sum(wg)) * n_ok / (n_ok - 1)
    yy = np.where(good, y, 0.0)
    b0 = g.fit.coef
    # R: sqrt(qf(alpha, 1, n - 1, lower.tail = FALSE)) = the t quantile (F(1, k) = t_k^2); scipy's
    # F quantile overflows to inf for tiny alpha (strong design effects) where the t quantile does not
    zmax = float(stats.t.isf(alpha / 2, y.size - 1))
    step_size = zmax / 5 * np.sqrt(var_b)
    if not (np.isfinite(phi) and phi > 0 and np.isfinite(step_size)):
        raise EstimationError(f"likelihood interval undefined (dispersion {phi!r}, profile step {step_size!r})")
    b_pts = [b0]
    z_pts = [0.0]
    for sgn in (-1.0, 1.0):
        step, z = 1, 0.0
        while step < 10 and abs(z) < zmax:  # R's profile: at most maxsteps - 1 = 9 steps a side
            b = b0 + sgn * step * step_size
            zz = (_deviance(yy, _linkinv(np.full(yy.shape, b)), g.W) - g.fit.deviance) / phi
            if zz <= -0.001:
                raise ConvergenceError("profiling found a better fit than the IRLS solution (R stops too)")
            z = sgn * float(np.sqrt(max(zz, 0.0)))
            b_pts.append(b)
            z_pts.append(z)
            step += 1
    order = np.argsort(np.asarray(z_pts), kind="stable")
    bx, zy = _unique_mean(np.asarray(b_pts)[order], np.asarray(z_pts)[order])
    # R spline(x = beta, y = tau): FMM spline at 3 * length(x) equally spaced points
    xs = np.linspace(bx[0], bx[-1], 3 * bx.size)
    ys = _fmm_spline(bx, zy, xs)
    # R approx(tau, beta, xout = +-cut-off): linear inverse interpolation, NA outside
    ty, tx = _unique_mean(ys, xs)
    cut = float(stats.norm.ppf(2 * alpha))
    ends = [float(np.interp(c, ty, tx)) if ty[0] <= c <= ty[-1] else float("nan") for c in (cut, -cut)]
    return float(_expit(ends[0])), float(_expit(ends[1]))


def _unique_mean(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort by ``x`` and average ``y`` over tied ``x`` (R ``regularize.values(ties = mean)``)."""
    ux, inv = np.unique(x, return_inverse=True)
    if ux.size == x.size:
        o = np.argsort(x, kind="stable")
        return x[o], y[o]
    return ux, np.bincount(inv, weights=y) / np.bincount(inv)


def _fmm_spline(x: np.ndarray, y: np.ndarray, xout: np.ndarray) -> np.ndarray:
    """Cubic interpolating spline with Forsythe–Malcolm–Moler end conditions (R ``spline(method = "fmm")``).

    The second derivatives :math:`M_i` solve the usual continuity equations
    :math:`h_{i-1}M_{i-1} + 2(h_{i-1}+h_i)M_i + h_iM_{i+1} = 6(\\delta_i - \\delta_{i-1})`;
    at each end the third derivative equals that of the cubic through the four end
    points, :math:`(M_1-M_0)/h_0 = 6 f[x_0,x_1,x_2,x_3]` (three points: a parabola,
    two points: a line).
    """
    n = x.size
    if n < 2:
        return np.full(xout.shape, y[0] if n else np.nan)
    h = np.diff(x)
    delta = np.diff(y) / h
    if n == 2:
        return y[0] + delta[0] * (xout - x[0])
    A = np.zeros((n, n))
    rhs = np.zeros(n)
    for i in range(1, n - 1):
        A[i, i - 1] = h[i - 1]
        A[i, i] = 2 * (h[i - 1] + h[i])
        A[i, i + 1] = h[i]
        rhs[i] = 6 * (delta[i] - delta[i - 1])
    A[0, 0], A[0, 1] = -1.0, 1.0
    A[n - 1, n - 2], A[n - 1, n - 1] = -1.0, 1.0
    if n > 3:
        def third_dd(i: int) -> float:  # f[x_i, ..., x_{i+3}]
            d2a = (delta[i + 1] - delta[i]) / (x[i + 2] - x[i])
            d2b = (delta[i + 2] - delta[i + 1]) / (x[i + 3] - x[i + 1])
            return (d2b - d2a) / (x[i + 3] - x[i])

        rhs[0] = 6 * h[0] * third_dd(0)
        rhs[n - 1] = 6 * h[n - 2] * third_dd(n - 4)
    M = np.linalg.solve(A, rhs)
    i = np.clip(np.searchsorted(x, xout, side="right") - 1, 0, n - 2)
    hi = h[i]
    a = x[i + 1] - xout
    b = xout - x[i]
    return (M[i] * a**3 + M[i + 1] * b**3) / (6 * hi) + (y[i] / hi - M[i] * hi / 6) * a + (y[i + 1] / hi - M[i + 1] * hi / 6) * b

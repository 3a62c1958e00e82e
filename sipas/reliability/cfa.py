"""Confirmatory factor analysis (ML, lavaan's defaults) with semopy and a deterministic refinement."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sipas.errors import ReliabilityError
from sipas.reliability.alpha import _as_frame, _as_weights, _weights_column


@dataclass(frozen=True)
class CFAResult:
    """Fit of a confirmatory factor model (maximum likelihood).

    Attributes
    ----------
    chi2, df, p_value : float, int, float
        Likelihood-ratio test of the model against the saturated model, ``chi2 = N * F_ML``.
    cfi, tli : float
        Comparative fit index and Tucker-Lewis index against the independence model.
    rmsea, rmsea_ci_low, rmsea_ci_high : float
        RMSEA and its 90% confidence interval.
    srmr : float
        Standardised root mean square residual (Bentler's, diagonal included).
    baseline_chi2, baseline_df : float, int
        Independence model.
    n : int
        Respondents used (listwise complete on every item of the model).
    n_eff : float
        ``n``, or Kish's effective sample size when weighted (used as ``N`` in every statistic).
    loadings : DataFrame
        ``factor, item, estimate, std_estimate`` (first loading of each factor fixed to 1).
    factors : dict
        Factor name used in the model -> group name given by the caller.
    excluded : tuple of str
        Groups left out because they have fewer than 2 items.
    weighted : bool
    """

    chi2: float
    df: int
    p_value: float
    cfi: float
    tli: float
    rmsea: float
    rmsea_ci_low: float
    rmsea_ci_high: float
    srmr: float
    baseline_chi2: float
    baseline_df: int
    n: int
    n_eff: float
    loadings: pd.DataFrame
    factors: dict[str, str]
    excluded: tuple[str, ...]
    weighted: bool

    def fit_table(self) -> pd.DataFrame:
        """Tidy fit table: ``measure, value, threshold, acceptable`` (Hu & Bentler, 1999 cut-offs:
        CFI and TLI >= 0.90 acceptable / 0.95 good, RMSEA <= 0.08, SRMR <= 0.08)."""
        rows = [
            ("chi2", self.chi2, "", math.nan),
            ("df", float(self.df), "", math.nan),
            ("p_value", self.p_value, "", math.nan),
            ("CFI", self.cfi, ">= 0.90", float(self.cfi >= 0.90)),
            ("TLI", self.tli, ">= 0.90", float(self.tli >= 0.90)),
            ("RMSEA", self.rmsea, "<= 0.08", float(self.rmsea <= 0.08)),
            ("RMSEA_ci_low", self.rmsea_ci_low, "", math.nan),
            ("RMSEA_ci_high", self.rmsea_ci_high, "", math.nan),
            ("SRMR", self.srmr, "<= 0.08", float(self.srmr <= 0.08)),
        ]
        return pd.DataFrame(rows, columns=["measure", "value", "threshold", "acceptable"])


def _rmsea_ci(chi2: float, df: int, n: float, level: float = 0.90) -> tuple[float, float]:
    """lavaan's RMSEA interval: noncentrality ``lambda`` with ``P(X2; df, lambda) = 0.95 / 0.05``,
    then ``sqrt(lambda / (N df))`` (lavaan ``lav_fit_rmsea_ci``)."""
    from scipy import optimize

    if df < 1:
        return math.nan, math.nan
    hi_p = 1.0 - (1.0 - level) / 2.0
    lo_p = (1.0 - level) / 2.0

    def at(lam: float, p: float) -> float:
        return float(stats.ncx2.cdf(chi2, df, lam) if lam > 0 else stats.chi2.cdf(chi2, df)) - p

    if at(0.0, hi_p) < 0:
        low = 0.0
    else:
        lam = optimize.brentq(lambda v: at(v, hi_p), 0.0, max(chi2, 1.0), xtol=1e-12)
        low = math.sqrt(lam / (n * df))
    if at(0.0, lo_p) < 0:
        high = 0.0
    else:
        upper = max(n, chi2 * 4.0)
        lam = optimize.brentq(lambda v: at(v, lo_p), 0.0, upper, xtol=1e-12)
        high = math.sqrt(lam / (n * df))
    return low, high


def _ml_covariance(x: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """Maximum-likelihood covariance (divisor ``N`` or ``sum w``)."""
    if w is None:
        xc = x - x.mean(axis=0)
        return xc.T @ xc / x.shape[0]
    mean = (w[:, None] * x).sum(axis=0) / w.sum()
    xc = x - mean
    return (w[:, None] * xc).T @ xc / w.sum()


def _polish_semopy(model: object) -> None:
    """Refine semopy's SLSQP optimum with BFGS on the same ML objective and gradient.

    SLSQP stops about 1e-4 short in chi-square, enough to move standardised loadings in their
    third decimal; the refinement is kept only if it lowers the objective.
    """
    from scipy import optimize

    x0 = np.asarray(model.param_vals, dtype=float).copy()  # type: ignore[attr-defined]
    f0 = float(model.obj_mlw(x0))  # type: ignore[attr-defined]
    with np.errstate(all="ignore"):
        res = optimize.minimize(
            model.obj_mlw, x0, jac=model.grad_mlw, method="BFGS",  # type: ignore[attr-defined]
            options={"gtol": 1e-10, "maxiter": 2000},
        )
    if np.all(np.isfinite(res.x)) and float(res.fun) <= f0:
        model.param_vals = res.x  # type: ignore[attr-defined]
        model.update_matrices(res.x)  # type: ignore[attr-defined]
    else:
        model.update_matrices(x0)  # type: ignore[attr-defined]


def _canonical_ml_cfa(s: np.ndarray, assign: np.ndarray, n_factors: int, lam0: np.ndarray, psi0: np.ndarray,
                      phi0: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximum-likelihood CFA in a fixed parameterisation, from a rounded start.

    Parameters are, in this order, the loadings ``lambda_i`` (item i on factor ``assign[i]``),
    ``log psi_i`` (unique variances) and the factor correlations ``phi_fg`` (f > g, row-major),
    with factor variances fixed to 1 and ``Sigma = Lambda Phi Lambda' + diag(psi)``.  The
    objective ``F_ML = log|Sigma| + tr(S Sigma^-1)`` (constants dropped) is minimised by BFGS
    with its analytic gradient (``G = Sigma^-1 - Sigma^-1 S Sigma^-1``;
    ``dF/dLambda = 2 G Lambda Phi``, ``dF/dPhi_fg = 2 (Lambda' G Lambda)_fg``,
    ``dF/dpsi_i = G_ii``).

    The start (semopy's solution) is rounded to 4 decimals first: semopy's own optimum varies in
    about the 9th digit between Python processes (its parameter order follows the hash seed), and
    from an identical start this deterministic refinement gives identical bits, so the stage's
    files are byte-identical without rounding any estimate.
    """
    from scipy import optimize

    p = len(assign)
    tril = [(f, g) for f in range(n_factors) for g in range(f)]

    def unpack(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lam = np.zeros((p, n_factors))
        lam[np.arange(p), assign] = theta[:p]
        psi = np.exp(theta[p:2 * p])
        phi = np.eye(n_factors)
        for k, (f, g) in enumerate(tril):
            phi[f, g] = phi[g, f] = theta[2 * p + k]
        return lam, psi, phi

    def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
        lam, psi, phi = unpack(theta)
        sigma = lam @ phi @ lam.T + np.diag(psi)
        sign, logdet = np.linalg.slogdet(sigma)
        if sign <= 0:
            return np.inf, np.zeros_like(theta)
        inv = np.linalg.inv(sigma)
        f = logdet + float(np.sum(s * inv))
        gmat = inv - inv @ s @ inv
        d_lam = 2.0 * gmat @ lam @ phi
        d_phi = lam.T @ gmat @ lam
        grad = np.concatenate([d_lam[np.arange(p), assign], np.diag(gmat) * psi,
                               [2.0 * d_phi[f, g] for f, g in tril]])
        return f, grad

    theta0 = np.round(np.concatenate([lam0, np.log(psi0), [phi0[f, g] for f, g in tril]]), 4)
    with np.errstate(all="ignore"):
        res = optimize.minimize(fun, theta0, jac=True, method="BFGS", options={"gtol": 1e-10, "maxiter": 5000})
    return unpack(res.x)


def confirmatory_factor_analysis(
    data: pd.DataFrame,
    groups: Mapping[str, Sequence[str]],
    *,
    weights: str | pd.Series | np.ndarray | None = None,
) -> CFAResult:
    """Confirmatory factor analysis: one correlated factor per group of items.

    The model ``F_g =~ item_1 + item_2 + ...`` for every group with at least 2 items, all
    factors correlated, is estimated by maximum likelihood with semopy (MIT) on the ML sample
    covariance matrix ``S`` (divisor ``N``), listwise complete cases.  The fit statistics are
    computed here, with lavaan's definitions:

    * ``F_ML = log|Sigma| + tr(S Sigma^-1) - log|S| - p``, ``chi2 = N F_ML``;
    * independence model ``chi2_0 = N (sum log S_ii - log|S|)``, ``df_0 = p (p - 1) / 2``;
    * ``CFI = 1 - max(chi2 - df, 0) / max(chi2 - df, chi2_0 - df_0, 0)``;
    * ``TLI = (chi2_0/df_0 - chi2/df) / (chi2_0/df_0 - 1)``;
    * ``RMSEA = sqrt(max(chi2 - df, 0) / (N df))`` with the noncentral chi-square 90% interval;
    * ``SRMR = sqrt(mean(vech(D (S - Sigma) D)^2))``, ``D = diag(S)^-1/2`` (diagonal included).

    With ``weights`` (a column name or an array), ``S`` is the weighted ML covariance and ``N``
    is Kish's effective sample size: a pseudo-maximum-likelihood fit whose chi-square is only
    approximately chi-square distributed under a complex design.

    References
    ----------
    R: ``lavaan::cfa(model, data)``, ``fitMeasures(fit, c("chisq", "df", "pvalue", "cfi", "tli",
    "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "srmr"))``.  Hu, L. & Bentler, P. M. (1999),
    *Structural Equation Modeling*, 6(1), 1-55 (cut-offs in :meth:`CFAResult.fit_table`).
    """
    import semopy

    if isinstance(weights, str):
        w_all = _weights_column(data, weights)
    else:
        w_all = _as_weights(weights, len(data))
    factors: dict[str, str] = {}
    lines = []
    excluded = []
    items: list[str] = []
    factor_of: list[int] = []
    for j, (name, cols) in enumerate(groups.items(), start=1):
        cols = [str(c) for c in cols]
        if len(cols) < 2:
            excluded.append(str(name))
            continue
        absent = [c for c in cols if c not in data.columns]
        if absent:
            raise ReliabilityError(f"group {name!r}: columns not in the data: {', '.join(absent)}")
        dup = [c for c in cols if c in items]
        if dup:
            raise ReliabilityError(f"items in more than one group: {', '.join(dup)}")
        fname = f"F{j}"
        factor_of.extend([len(factors)] * len(cols))
        factors[fname] = str(name)
        items.extend(cols)
        lines.append(f"{fname} =~ " + " + ".join(cols))
    if not factors:
        raise ReliabilityError("no group with at least 2 items: nothing to fit")
    df_items = _as_frame(data[items])
    x = df_items.to_numpy()
    keep = ~np.isnan(x).any(axis=1)
    if w_all is not None:
        keep &= w_all > 0
    x = x[keep]
    w = None if w_all is None else w_all[keep]
    n = int(keep.sum())
    p = len(items)
    n_eff = float(n) if w is None else float(w.sum() ** 2 / np.square(w).sum())
    n_par = 2 * p + len(factors) * (len(factors) - 1) // 2 - len(factors) + len(factors)
    df = p * (p + 1) // 2 - n_par
    if n <= p:
        raise ReliabilityError(f"{n} complete respondents for {p} items: too few for a CFA")
    s = _ml_covariance(x, w)
    if np.any(np.diag(s) <= 0):
        raise ReliabilityError("an item has no variance among the complete respondents")
    cov = pd.DataFrame(s, index=items, columns=items)
    model = semopy.Model("\n".join(lines))
    model.fit(cov=cov, n_samples=n_eff)
    _polish_semopy(model)
    # semopy's solution (standardised) as the start of the canonical refinement
    est = model.inspect(std_est=True)
    names = list(factors)
    fpos = {f: k for k, f in enumerate(names)}
    load = est[(est["op"] == "~") & est["rval"].isin(names)]
    std_load = dict(zip(load["lval"].astype(str), load["Est. Std"].astype(float)))
    assign = np.asarray(factor_of, dtype=int)
    sd = np.sqrt(np.diag(s))
    lam0 = np.array([std_load[c] for c in items]) * sd
    psi0 = np.maximum(np.diag(s) - lam0 ** 2, 1e-4 * np.diag(s))
    phi0 = np.eye(len(names))
    cov_f = est[(est["op"] == "~~") & est["lval"].isin(names) & est["rval"].isin(names)]
    for a, b, v in zip(cov_f["lval"], cov_f["rval"], cov_f["Est. Std"].astype(float)):
        if a != b:
            phi0[fpos[a], fpos[b]] = phi0[fpos[b], fpos[a]] = v
    lam, psi, phi = _canonical_ml_cfa(s, assign, len(names), lam0, psi0, phi0)
    sigma = lam @ phi @ lam.T + np.diag(psi)
    sign_s, logdet_s = np.linalg.slogdet(s)
    sign_m, logdet_m = np.linalg.slogdet(sigma)
    if sign_s <= 0 or sign_m <= 0:
        raise ReliabilityError("sample or model covariance matrix is not positive definite")
    f_ml = logdet_m + np.trace(s @ np.linalg.inv(sigma)) - logdet_s - p
    chi2 = float(max(n_eff * f_ml, 0.0))
    base_chi2 = float(n_eff * (np.log(np.diag(s)).sum() - logdet_s))
    base_df = p * (p - 1) // 2
    p_value = float(stats.chi2.sf(chi2, df)) if df > 0 else math.nan
    denom = max(chi2 - df, base_chi2 - base_df, 0.0)
    cfi = 1.0 - max(chi2 - df, 0.0) / denom if denom > 0 else 1.0
    tli = (base_chi2 / base_df - chi2 / df) / (base_chi2 / base_df - 1.0) if df > 0 else math.nan
    rmsea = math.sqrt(max(chi2 - df, 0.0) / (n_eff * df)) if df > 0 else math.nan
    lo, hi = _rmsea_ci(chi2, df, n_eff)
    d = 1.0 / np.sqrt(np.diag(s))
    resid = (s - sigma) * np.outer(d, d)
    srmr = float(np.sqrt(np.mean(resid[np.tril_indices(p)] ** 2)))
    lam_i = lam[np.arange(p), assign]
    first = {}
    for i, f in enumerate(assign):
        first.setdefault(f, lam_i[i])
    loadings = pd.DataFrame(
        {
            "factor": [factors[names[f]] for f in assign],
            "item": items,
            "estimate": [lam_i[i] / first[f] for i, f in enumerate(assign)],  # marker parameterisation
            "std_estimate": lam_i / np.sqrt(np.diag(sigma)),
        }
    )
    return CFAResult(
        chi2=chi2, df=int(df), p_value=p_value, cfi=float(cfi), tli=float(tli), rmsea=float(rmsea),
        rmsea_ci_low=lo, rmsea_ci_high=hi, srmr=srmr, baseline_chi2=base_chi2, baseline_df=int(base_df),
        n=n, n_eff=n_eff, loadings=loadings, factors=factors, excluded=tuple(excluded), weighted=w is not None,
    )

"""Factorability (KMO, Bartlett), parallel analysis, exploratory factor analysis (minres, oblimin) and omega, as R psych."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from sipas.errors import ReliabilityError
from sipas.reliability.alpha import MissingMode, _cov_complete, _prepare


def _correlation(
    items: pd.DataFrame | np.ndarray,
    weights: pd.Series | np.ndarray | Sequence[float] | None,
    missing: str,
) -> tuple[pd.DataFrame, int, float]:
    """(Weighted) correlation matrix, respondents used and effective n.

    Listwise: the correlation matrix of the complete rows.  Pairwise: every ``r_ij`` is the
    correlation of items ``i`` and ``j`` over the respondents who answered both (means and
    standard deviations over those respondents too), as R ``cor(x, use = "pairwise")``, which
    psych's ``fa``, ``fa.parallel``, ``omega``, ``KMO`` and ``cortest.bartlett`` use on raw data.
    (This is not ``cov2cor`` of the pairwise covariance matrix, whose variances come from all
    respondents who answered the item; that one is what ``psych::alpha`` standardises.)
    """
    df, w, cov, n, n_eff = _prepare(items, weights, missing)
    if missing == "listwise":
        sd = np.sqrt(np.diag(cov))
        r = cov / np.outer(sd, sd)
    else:
        x = df.to_numpy()
        k = x.shape[1]
        obs = ~np.isnan(x)
        if w is not None:
            obs &= (w > 0)[:, None]
        r = np.eye(k)
        for i in range(k):
            for j in range(i + 1, k):
                rows = obs[:, i] & obs[:, j]
                c = _cov_complete(x[rows][:, [i, j]], None if w is None else w[rows])
                if not (c[0, 0] > 0 and c[1, 1] > 0):
                    raise ReliabilityError(
                        f"{df.columns[i]!r} or {df.columns[j]!r} has no variance among the respondents "
                        "who answered both"
                    )
                r[i, j] = r[j, i] = c[0, 1] / math.sqrt(c[0, 0] * c[1, 1])
    return pd.DataFrame(r, index=df.columns, columns=df.columns), n, n_eff


@dataclass(frozen=True)
class Factorability:
    """Kaiser-Meyer-Olkin measure and Bartlett's sphericity test.

    ``kmo`` is the overall MSA, ``msa`` the per-item MSA (Series); ``bartlett_chi2``,
    ``bartlett_df``, ``bartlett_p``; ``n`` respondents used.
    """

    kmo: float
    msa: pd.Series
    bartlett_chi2: float
    bartlett_df: int
    bartlett_p: float
    n: float


def factorability(
    items: pd.DataFrame | np.ndarray,
    *,
    weights: pd.Series | np.ndarray | Sequence[float] | None = None,
    missing: MissingMode = "listwise",
) -> Factorability:
    """KMO and Bartlett's test of the item correlation matrix ``R``.

    ``Q = -D^-1/2 R^-1 D^-1/2`` (``D = diag(R^-1)``) holds the partial correlations;
    ``KMO = sum r_ij^2 / (sum r_ij^2 + sum q_ij^2)`` over ``i != j`` and ``MSA_i`` the same
    sums over row ``i``.  Bartlett: ``chi2 = -(n - 1 - (2p + 5)/6) log|R|`` on ``p(p-1)/2`` df
    (``n`` = Kish's effective size when weighted).  ``missing="pairwise"`` uses pairwise-complete
    correlations, as psych does on raw data (R ``cor(x, use = "pairwise")``).

    References
    ----------
    Kaiser, H. F. (1970), *Psychometrika* 35, 401-415; Bartlett, M. S. (1951), *JRSS B* 13, 1-8.
    R: ``psych::KMO(x)`` and ``psych::cortest.bartlett(cor(x), n = nrow(x))``.
    """
    r_df, _, n_eff = _correlation(items, weights, missing)
    r = r_df.to_numpy()
    p = r.shape[0]
    sign, logdet = np.linalg.slogdet(r)
    if sign <= 0:
        raise ReliabilityError("the correlation matrix is singular: KMO and Bartlett are undefined")
    inv = np.linalg.inv(r)
    d = 1.0 / np.sqrt(np.diag(inv))
    q = -inv * np.outer(d, d)
    off = ~np.eye(p, dtype=bool)
    r2 = np.where(off, r**2, 0.0)
    q2 = np.where(off, q**2, 0.0)
    kmo = float(r2.sum() / (r2.sum() + q2.sum()))
    msa = pd.Series(r2.sum(axis=1) / (r2.sum(axis=1) + q2.sum(axis=1)), index=r_df.columns, name="msa")
    chi2 = float(-(n_eff - 1.0 - (2.0 * p + 5.0) / 6.0) * logdet)
    df = p * (p - 1) // 2
    return Factorability(kmo=kmo, msa=msa, bartlett_chi2=chi2, bartlett_df=df,
                         bartlett_p=float(stats.chi2.sf(chi2, df)), n=n_eff)


def _smc(r: np.ndarray) -> np.ndarray:
    return 1.0 - 1.0 / np.diag(np.linalg.inv(r))


def _minres(r: np.ndarray, nf: int) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-residual (ULS) factor loadings, as psych ``fa(fm = "minres")``.

    Minimises ``sum_{i != j} (R - L L')_ij^2`` over the uniquenesses ``psi`` (L-BFGS-B,
    ``0.005 <= psi <= 1``, start ``1 - smc``), ``L`` = first ``nf`` eigenvectors of
    ``R - diag(psi)`` scaled by the root eigenvalues.
    """
    from scipy import optimize

    p = r.shape[0]
    off = ~np.eye(p, dtype=bool)

    def loadings(psi: np.ndarray) -> np.ndarray:
        s = r.copy()
        np.fill_diagonal(s, 1.0 - psi)
        vals, vecs = np.linalg.eigh(s)
        order = np.argsort(vals)[::-1][:nf]
        vals = np.maximum(vals[order], 100 * np.finfo(float).eps)
        return vecs[:, order] * np.sqrt(vals)

    def objective(psi: np.ndarray) -> float:
        lo = loadings(psi)
        res = (r - lo @ lo.T)[off]
        return float(np.sum(res**2))

    start = np.clip(1.0 - _smc(r), 0.005, 1.0)
    out = optimize.minimize(objective, start, method="L-BFGS-B", bounds=[(0.005, 1.0)] * p,
                            options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 5000})
    lo = loadings(out.x)
    # sign convention: each factor's loadings sum to a positive number
    lo = lo * np.where(lo.sum(axis=0) < 0, -1.0, 1.0)
    return lo, out.x


def _oblimin_gpa(
    a: np.ndarray, *, gamma: float = 0.0, eps: float = 1e-10, floor_tol: float = 1e-6, maxit: int = 1000,
) -> tuple[np.ndarray, np.ndarray, int, float]:
    """Direct oblimin rotation by gradient projection, as GPArotation ``GPFoblq``.

    Minimises the oblimin criterion of the pattern ``L = A (T')^-1`` over the rotations ``T``
    whose columns have unit length (``Phi = T'T``):

    ``f(L) = 1/4 sum_ij (L o L)_ij [(I - gamma/p 11') (L o L) N]_ij``, ``N = 11' - I``,

    with gradient ``dF/dT = -(L' Gq T^-1)'``, ``Gq = L o [(I - gamma/p 11')(L o L) N]``
    (``gamma = 0``: quartimin, psych's and GPArotation's ``oblimin`` default).  Each iteration
    projects the gradient onto the tangent space, ``Gp = G - T diag(1' (T o G))``, and takes the
    step ``T - alpha Gp`` (columns rescaled to unit length) found by GPArotation's Armijo search:
    ``alpha`` doubled, then halved at most 11 times until ``f`` falls by more than
    ``alpha ||Gp||^2 / 2``.

    Stopping rules:

    * ``s = ||Gp||_F < eps`` (GPArotation's rule);
    * the floating-point floor: once ``s`` is about ``2 sqrt(eps_mach f)`` (1e-9 to 1.3e-8 on the
      demo's blocks, psych's ``bfi`` and Holzinger-Swineford) the decrease the Armijo test asks
      for is below the rounding error of ``f`` and no step can be verified.  When all 11
      halvings fail and ``s < floor_tol``, ``T`` is as stationary as double precision can tell
      and is returned (the unverified step is not taken).  GPArotation would take it and go on,
      ``alpha`` shrinking to 0, until ``maxit``; a fixed ``eps`` below the floor is never met;
    * otherwise :class:`~sipas.errors.ReliabilityError` after ``maxit`` iterations
      (GPArotation warns "convergence not obtained").

    Parameters
    ----------
    a : ndarray
        Unrotated loadings, items x factors.
    gamma : float
        Oblimin parameter (0 = quartimin).
    eps : float
        Convergence tolerance on the projected-gradient norm (GPArotation's ``eps``).
    floor_tol : float
        Largest projected-gradient norm accepted at the floating-point floor.
    maxit : int
        Iterations allowed.

    Returns
    -------
    (ndarray, ndarray, int, float)
        Pattern ``L``, factor correlations ``Phi = T'T``, iterations taken, final ``s``.  Factors are
        not re-keyed here (see :func:`_oblimin`).

    References
    ----------
    Jennrich, R. I. (2002), A simple general method for oblique rotation, *Psychometrika* 67,
    7-19; Bernaards, C. A. & Jennrich, R. I. (2005), *Educational and Psychological Measurement*
    65, 676-696.  R: ``GPArotation::GPFoblq(A, method = "oblimin")`` (``GPArotation::oblimin``).
    """
    p, k = a.shape
    ones_off = 1.0 - np.eye(k)
    c = None if gamma == 0 else np.eye(p) - gamma / p

    def vgq(lo: np.ndarray) -> tuple[np.ndarray, float]:
        x = lo**2 @ ones_off
        if c is not None:
            x = c @ x
        return lo * x, float(np.sum(lo**2 * x) / 4.0)

    t = np.eye(k)
    ti = np.linalg.inv(t)
    lo = a @ ti.T
    gq, f = vgq(lo)
    g = -(lo.T @ gq @ ti).T
    al = 1.0
    for it in range(maxit + 1):
        gp = g - t @ np.diag(np.sum(t * g, axis=0))
        s = math.sqrt(float(np.sum(gp**2)))
        if s < eps:
            return lo, t.T @ t, it, s
        if it == maxit:
            break
        al *= 2.0
        for _ in range(11):
            x = t - al * gp
            tt = x / np.sqrt(np.sum(x**2, axis=0))
            tti = np.linalg.inv(tt)
            lot = a @ tti.T
            gqt, ft = vgq(lot)
            if f - ft > 0.5 * s * s * al:
                break
            al /= 2.0
        else:
            if s < floor_tol:
                return lo, t.T @ t, it, s
        t, ti, lo, f, gq = tt, tti, lot, ft, gqt
        g = -(lo.T @ gq @ ti).T
    raise ReliabilityError(
        f"the oblimin rotation did not converge in {maxit} iterations (projected gradient norm {s:.3g})"
    )


def _oblimin(a: np.ndarray, *, gamma: float = 0.0, eps: float = 1e-10, maxit: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Direct oblimin rotation (:func:`_oblimin_gpa`) keyed as psych keys factors.

    Returns the pattern matrix and the factor correlation matrix ``Phi = T'T``; each factor is
    reversed when its loadings sum to a negative number (psych ``fa``: ``signed <-
    sign(colSums(loadings))``).
    """
    if a.shape[1] == 1:
        return a.copy(), np.ones((1, 1))
    lo, phi, _, _ = _oblimin_gpa(a, gamma=gamma, eps=eps, maxit=maxit)
    # psych: make every factor positively keyed
    sgn = np.where(lo.sum(axis=0) < 0, -1.0, 1.0)
    lo = lo * sgn
    phi = phi * np.outer(sgn, sgn)
    return lo, phi


@dataclass(frozen=True)
class EFAResult:
    """Exploratory factor analysis (minres extraction, oblimin rotation).

    ``loadings`` (items x factors pattern matrix), ``phi`` (factor correlations),
    ``communality`` and ``uniqueness`` (Series), ``n_factors``, ``n``, and ``parallel`` (the
    :func:`parallel_analysis` table when the number of factors was chosen by it, else None).
    """

    loadings: pd.DataFrame
    phi: pd.DataFrame
    communality: pd.Series
    uniqueness: pd.Series
    n_factors: int
    n: int
    parallel: pd.DataFrame | None


def parallel_analysis(
    items: pd.DataFrame | np.ndarray,
    *,
    n_iter: int = 20,
    seed: int = 20240618,
    weights: pd.Series | np.ndarray | Sequence[float] | None = None,
    missing: MissingMode = "listwise",
) -> tuple[int, pd.DataFrame]:
    """Horn's parallel analysis on principal-component eigenvalues.

    The eigenvalues of the observed correlation matrix are compared with the mean eigenvalues
    of ``n_iter`` correlation matrices of independent standard-normal data of the same size
    (``n`` = respondents used, or Kish's effective ``n`` rounded when weighted).  The suggested
    number of factors is the number of leading observed eigenvalues above the random means
    (at least 1).  Deterministic for a given ``seed``.  The observed eigenvalues are those of
    psych's ``fa.parallel(x)$pc.values`` (pairwise-complete correlations with
    ``missing="pairwise"``).

    Returns
    -------
    (int, DataFrame)
        Suggested number of factors; table ``component, observed, random_mean, retain``.

    References
    ----------
    Horn, J. L. (1965), *Psychometrika* 30, 179-185.  R: ``psych::fa.parallel(x, fa = "pc")``
    ("ncomp"); psych simulates with ``n.iter = 20`` by default, so its random eigenvalues and
    those here agree only in distribution.
    """
    r_df, n, n_eff = _correlation(items, weights, missing)
    p = r_df.shape[0]
    n_sim = int(round(n_eff))
    if n_sim < 3:
        raise ReliabilityError("parallel analysis needs at least 3 respondents")
    obs = np.sort(np.linalg.eigvalsh(r_df.to_numpy()))[::-1]
    rng = np.random.default_rng(seed)
    sims = np.empty((n_iter, p))
    for b in range(n_iter):
        z = rng.standard_normal((n_sim, p))
        sims[b] = np.sort(np.linalg.eigvalsh(np.corrcoef(z, rowvar=False)))[::-1]
    rand = sims.mean(axis=0)
    above = obs > rand
    n_keep = int(np.argmin(above)) if not above.all() else p
    n_keep = max(n_keep, 1)
    table = pd.DataFrame({"component": np.arange(1, p + 1), "observed": obs, "random_mean": rand,
                          "retain": np.arange(1, p + 1) <= n_keep})
    return n_keep, table


def exploratory_factor_analysis(
    items: pd.DataFrame | np.ndarray,
    *,
    n_factors: int | None = None,
    rotate: Literal["oblimin", "none"] = "oblimin",
    weights: pd.Series | np.ndarray | Sequence[float] | None = None,
    missing: MissingMode = "listwise",
    seed: int = 20240618,
) -> EFAResult:
    """Exploratory factor analysis: minres extraction (:func:`_minres`) and direct oblimin.

    The oblimin rotation is GPArotation's gradient projection (:func:`_oblimin_gpa`), run until
    the projected gradient is below 1e-10 or at the floating-point floor (about 1e-8), so the
    pattern is within about 1e-8 of the optimum; psych's default (``eps = 1e-5``) stops up to
    2e-5 short.  A rotation that does not converge in 1000 iterations raises
    :class:`~sipas.errors.ReliabilityError`.

    ``n_factors=None`` takes the number suggested by :func:`parallel_analysis`.
    ``missing="pairwise"`` factors the pairwise-complete correlation matrix (R
    ``cor(x, use = "pairwise")``, psych's default on raw data).

    psych orders the rotated factors by the variance they account for (``diag(Phi L'L)``); here
    they stay in extraction order, so columns may be permuted (and, as in psych, each factor is
    keyed so that its loadings sum to a positive number).

    References
    ----------
    R: ``psych::fa(x, nfactors, fm = "minres", rotate = "oblimin")`` (which calls
    ``GPArotation::oblimin``).  Harman, H. H. & Jones, W. H. (1966), *Psychometrika* 31, 351-368;
    Jennrich, R. I. (2002), *Psychometrika* 67, 7-19.
    """
    r_df, n, _ = _correlation(items, weights, missing)
    table = None
    if n_factors is None:
        n_factors, table = parallel_analysis(items, weights=weights, missing=missing, seed=seed)
    p = r_df.shape[0]
    if not 1 <= n_factors < p:
        raise ReliabilityError(f"n_factors must be between 1 and {p - 1}, got {n_factors}")
    lo, psi = _minres(r_df.to_numpy(), n_factors)
    if rotate == "oblimin":
        lo, phi = _oblimin(lo)
    elif rotate == "none":
        phi = np.eye(n_factors)
    else:
        raise ReliabilityError(f"rotate must be 'oblimin' or 'none', got {rotate!r}")
    names = [f"F{j + 1}" for j in range(n_factors)]
    h2 = np.einsum("ij,jk,ik->i", lo, phi, lo)
    return EFAResult(
        loadings=pd.DataFrame(lo, index=r_df.columns, columns=names),
        phi=pd.DataFrame(phi, index=names, columns=names),
        communality=pd.Series(h2, index=r_df.columns, name="h2"),
        uniqueness=pd.Series(1.0 - h2, index=r_df.columns, name="u2"),
        n_factors=n_factors,
        n=n,
        parallel=table,
    )


@dataclass(frozen=True)
class OmegaResult:
    """McDonald's omega from a Schmid-Leiman solution, as ``psych::omega``.

    ``omega_h`` (hierarchical: general factor only), ``omega_t`` (total), ``alpha`` (of the
    same, possibly re-keyed, items), ``sl`` (items x ``g, F1*, ..., h2, u2`` table),
    ``n_factors``, ``n``.
    """

    omega_h: float
    omega_t: float
    alpha: float
    sl: pd.DataFrame
    n_factors: int
    n: int


def _schmid_leiman(r: np.ndarray, nf: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """General-factor and group-factor loadings (psych ``schmid``) and the communalities.

    The communalities are those of the oblique factor model, ``diag(F Phi F')`` (= ``diag(L L')``
    of the unrotated minres loadings ``L``), as psych's ``schmid()$sl[, "h2"]``.  They equal
    ``g^2 + sum_j s_j^2`` only when the one-factor model of ``Phi`` fits exactly (up to three
    group factors).
    """
    lo, _ = _minres(r, nf)
    h2 = np.sum(lo**2, axis=1)
    pattern, phi = _oblimin(lo)
    if nf == 1:
        return pattern[:, 0], np.zeros((r.shape[0], 0)), h2
    if nf == 2:
        gload = np.full(2, math.sqrt(max(phi[0, 1], 0.0)))
    else:
        gl, _ = _minres(phi, 1)
        gload = gl[:, 0]
    g = pattern @ gload
    group = pattern * np.sqrt(np.clip(1.0 - gload**2, 0.0, None))
    return g, group, h2


def omega(
    items: pd.DataFrame | np.ndarray,
    *,
    n_factors: int = 3,
    weights: pd.Series | np.ndarray | Sequence[float] | None = None,
    missing: MissingMode = "listwise",
) -> OmegaResult:
    """McDonald's omega hierarchical and total (Schmid-Leiman), as ``psych::omega``.

    Steps, on the (weighted) correlation matrix ``R``: minres extraction of ``n_factors``
    factors and oblimin rotation (pattern ``F``, correlations ``Phi``); a one-factor minres
    fit of ``Phi`` gives the loadings ``gamma`` of the group factors on ``g`` (two factors:
    ``gamma = sqrt(Phi_12)``); Schmid-Leiman loadings ``g_i = sum_j F_ij gamma_j`` and
    ``s_ij = F_ij sqrt(1 - gamma_j^2)``.  Items with a negative ``g`` loading are reversed
    (psych ``flip = TRUE``).  Then with ``V = sum_ij R_ij`` (keyed):

    ``omega_h = (sum_i |g_i|)^2 / V`` and ``omega_t = 1 - sum_i u2_i / V``,
    ``u2_i = 1 - h2_i`` with ``h2_i = (F Phi F')_ii`` the communality of the oblique factor model
    (psych ``schmid()$sl[, "h2"]``).  With up to three group factors the one-factor model of
    ``Phi`` fits exactly (barring a Heywood case) and ``h2_i = g_i^2 + sum_j s_ij^2``; with more it does not, and the
    Schmid-Leiman loadings reproduce the communalities only approximately.

    ``missing="pairwise"`` uses pairwise-complete correlations (R ``cor(x, use = "pairwise")``,
    psych's default on raw data).

    References
    ----------
    McDonald, R. P. (1999), *Test theory: a unified treatment*; Zinbarg, R. E., Revelle, W.,
    Yovel, I. & Li, W. (2005), *Psychometrika* 70, 123-133.  R: ``psych::omega(x, nfactors = 3)``.
    """
    r_df, n, _ = _correlation(items, weights, missing)
    r = r_df.to_numpy()
    p = r.shape[0]
    if not 1 <= n_factors < p:
        raise ReliabilityError(f"n_factors must be between 1 and {p - 1}, got {n_factors}")
    if n_factors >= 3 and p < 2 * n_factors:
        raise ReliabilityError(f"{p} items are too few for {n_factors} group factors")
    g, group, h2 = _schmid_leiman(r, n_factors)
    key = np.where(g < 0, -1.0, 1.0)
    rk = r * np.outer(key, key)
    g = g * key
    group = group * key[:, None]
    u2 = 1.0 - h2
    v = rk.sum()
    omega_h = float(g.sum() ** 2 / v)
    omega_t = float(1.0 - u2.sum() / v)
    alpha_k = float((1.0 - p / v) * p / (p - 1))
    cols = {"g": g}
    for j in range(group.shape[1]):
        cols[f"F{j + 1}*"] = group[:, j]
    cols["h2"] = h2
    cols["u2"] = u2
    sl = pd.DataFrame(cols, index=r_df.columns)
    return OmegaResult(omega_h=omega_h, omega_t=omega_t, alpha=alpha_k, sl=sl, n_factors=n_factors, n=n)

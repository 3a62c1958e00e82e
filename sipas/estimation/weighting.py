"""Survey weights: design weights, nonresponse adjustment, calibration, trimming, diagnostics.

Calibration functions take a :class:`sipas.estimation.Design` and return a new
one whose final weights are calibrated and whose Taylor variance accounts for
the calibration, as R's ``survey`` package does (``postStratify``, ``rake``,
``calibrate``, ``trimWeights``): the linearised influence values are replaced by
residuals of the calibration regression (Deville & Särndal 1992; Lumley 2010,
ch. 7).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp

from sipas.errors import ConvergenceError, DesignError
from sipas.estimation.design import Design, _Calibration, _RakingCalibration

__all__ = [
    "design_weights",
    "nonresponse_adjust",
    "WeightSummary",
    "weight_summary",
    "kish_deff",
    "effective_n",
    "poststratify",
    "rake",
    "calibrate",
    "trim",
]


# --------------------------------------------------------------------------- basic weights
def _fmt(label: Any) -> str:
    """Row label for messages (plain numbers, quoted strings)."""
    if isinstance(label, (np.integer, int)):
        return str(int(label))
    return repr(label)


def design_weights(pi: pd.Series) -> pd.Series:
    """Design (base) weights :math:`d_j = 1/\\pi_j` from inclusion probabilities.

    Parameters
    ----------
    pi:
        Inclusion probabilities, one per sampled unit, each in (0, 1].

    Returns
    -------
    pandas.Series
        ``1/pi`` with the same index, named ``"design_weight"``.

    Raises
    ------
    DesignError
        If a probability is missing, non-positive or greater than 1; the message
        names the row (index label).

    References
    ----------
    Horvitz & Thompson (1952), JASA 47:663–685.
    """
    s = pd.Series(pi)
    vals = pd.to_numeric(s, errors="coerce")
    bad = vals.isna() | ~(vals > 0) | (vals > 1)
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        label = s.index[pos]
        raise DesignError(
            f"inclusion probability at row {_fmt(label)} is {s.iloc[pos]!r}; must be in (0, 1]"
            f" ({int(bad.sum())} invalid value(s))"
        )
    return (1.0 / vals.astype(float)).rename("design_weight")


def nonresponse_adjust(
    weights: pd.Series,
    *,
    responded: pd.Series,
    cells: pd.Series | pd.DataFrame,
) -> pd.Series:
    """Weighting-class nonresponse adjustment.

    Within each cell :math:`c`, respondents' weights are multiplied by
    :math:`\\sum_{j\\in c} w_j / \\sum_{j\\in c,\\,resp} w_j`; nonrespondents get 0.
    The total weight of every cell is preserved.

    Parameters
    ----------
    weights:
        Weights of all sampled units (respondents and nonrespondents).
    responded:
        Boolean (or 0/1) response indicator aligned with ``weights``.
    cells:
        Adjustment cell(s): a Series or a DataFrame of several cell variables.

    Raises
    ------
    DesignError
        If inputs are misaligned or missing, or a cell has no respondent (or zero
        respondent weight).

    References
    ----------
    Kalton & Flores-Cervantes (2003), J. Off. Stat. 19:81–97; Valliant, Dever &
    Kreuter (2013), *Practical Tools for Designing and Weighting Survey Samples*, §13.
    """
    w = pd.Series(weights).astype(float)
    r = pd.Series(responded)
    if not r.index.equals(w.index) or len(cells) != len(w) or not pd.Index(cells.index).equals(w.index):
        raise DesignError("weights, responded and cells must share the same index")
    if w.isna().any() or (w < 0).any():
        label = w.index[int(np.flatnonzero((w.isna() | (w < 0)).to_numpy())[0])]
        raise DesignError(f"weight missing or negative at row {_fmt(label)}")
    if r.isna().any():
        label = r.index[int(np.flatnonzero(r.isna().to_numpy())[0])]
        raise DesignError(f"response indicator missing at row {_fmt(label)}")
    resp = r.astype(bool).to_numpy()
    if isinstance(cells, pd.DataFrame):
        if cells.isna().any().any():
            label = cells.index[int(np.flatnonzero(cells.isna().any(axis=1).to_numpy())[0])]
            raise DesignError(f"adjustment cell missing at row {_fmt(label)}")
        by = list(cells.columns) if cells.shape[1] > 1 else cells.columns[0]  # one column: scalar labels
        key = cells.groupby(by, sort=True).ngroup().to_numpy()
        labels = list(cells.groupby(by, sort=True).groups.keys())
    else:
        if cells.isna().any():
            label = cells.index[int(np.flatnonzero(cells.isna().to_numpy())[0])]
            raise DesignError(f"adjustment cell missing at row {_fmt(label)}")
        key, labels = pd.factorize(cells, sort=True)
    wv = w.to_numpy()
    k = len(labels)
    tot = np.bincount(key, weights=wv, minlength=k)
    rtot = np.bincount(key, weights=wv * resp, minlength=k)
    empty = (rtot <= 0) & (tot > 0)
    if empty.any():
        bad = [labels[i] for i in np.flatnonzero(empty)]
        raise DesignError(f"adjustment cell(s) {bad!r} have no respondents (or zero respondent weight); collapse cells")
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(rtot > 0, tot / rtot, 0.0)
    out = np.where(resp, wv * factor[key], 0.0)
    return pd.Series(out, index=w.index, name=w.name if w.name is not None else "weight")


@dataclass(frozen=True)
class WeightSummary:
    """Summary of a weight vector.

    Attributes
    ----------
    n: number of weights; total: their sum; min, max, mean;
    cv: coefficient of variation (population SD / mean);
    kish_deff: Kish's design effect due to weighting, :math:`n\\sum w^2/(\\sum w)^2 = 1 + cv^2`;
    n_eff: effective sample size :math:`(\\sum w)^2/\\sum w^2 = n/deff`.
    """

    n: int
    total: float
    min: float
    max: float
    mean: float
    cv: float
    kish_deff: float
    n_eff: float

    def to_frame(self) -> pd.DataFrame:
        """One-row DataFrame of the summary."""
        return pd.DataFrame([asdict(self)])


def _as_weight_array(weights: Any) -> np.ndarray:
    if isinstance(weights, Design):
        return weights._w
    w = np.asarray(pd.Series(weights) if not isinstance(weights, np.ndarray) else weights, dtype=float).reshape(-1)
    if w.size == 0:
        raise DesignError("no weights")
    if (~np.isfinite(w)).any() or (w < 0).any():
        raise DesignError(f"weights contain missing, infinite or negative values (position {int(np.flatnonzero(~np.isfinite(w) | (w < 0))[0])})")
    return w


def weight_summary(weights: pd.Series | np.ndarray | Design) -> WeightSummary:
    """Summary and Kish diagnostics of weights (Kish 1965, *Survey Sampling*, §11.7).

    :math:`deff_K = n \\sum w_j^2 / (\\sum w_j)^2`, :math:`n_{eff} = (\\sum w_j)^2/\\sum w_j^2`.
    """
    w = _as_weight_array(weights)
    n = int(w.size)
    s1 = float(w.sum())
    s2 = float((w * w).sum())
    if s1 <= 0:
        raise DesignError("weights sum to zero")
    mean = s1 / n
    cv = float(np.sqrt(max(s2 / n - mean * mean, 0.0)) / mean)
    deff = n * s2 / (s1 * s1)
    return WeightSummary(n, s1, float(w.min()), float(w.max()), mean, cv, deff, s1 * s1 / s2)


#: The weighting steps of ``weights.csv``: (label in ``weight_summary.csv``, column).
WEIGHT_STEPS = (("design", "w_design"), ("nonresponse", "w_nr"), ("final", "w_final"))


def weight_steps_summary(weights: pd.DataFrame) -> pd.DataFrame:
    """:func:`weight_summary` of each weighting step's column (:data:`WEIGHT_STEPS`), one row per step with
    ``weights`` = the step's label (``weight_summary.csv``)."""
    return pd.concat([weight_summary(weights[col]).to_frame().assign(weights=label) for label, col in WEIGHT_STEPS],
                     ignore_index=True)


def weight_summary_by(weights: pd.DataFrame, *, by: str, weight: str = "w_final") -> pd.DataFrame:
    """:func:`weight_summary` of ``weight`` within each level of ``by`` (columns ``<by>, n, total, min,
    max, mean, cv, kish_deff, n_eff``)."""
    parts = [weight_summary(g[weight]).to_frame().assign(**{by: key}) for key, g in weights.groupby(by, sort=True)]
    out = pd.concat(parts, ignore_index=True)
    return out[[by] + [c for c in out.columns if c != by]]


def kish_deff(weights: pd.Series | np.ndarray | Design) -> float:
    """Kish's design effect due to unequal weights, :math:`n\\sum w^2/(\\sum w)^2`."""
    return weight_summary(weights).kish_deff


def effective_n(weights: pd.Series | np.ndarray | Design) -> float:
    """Kish's effective sample size :math:`(\\sum w)^2/\\sum w^2`."""
    return weight_summary(weights).n_eff


# --------------------------------------------------------------------------- calibration
def _margin_codes(design: Design, var: str | tuple[str, ...], pop: Mapping[Any, float]) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """Row codes into the population levels of one margin and the population counts."""
    data = design.data
    cols = [var] if isinstance(var, str) else list(var)
    for c in cols:
        if c not in data.columns:
            raise DesignError(f"calibration variable {c!r} not in data")
    if data[cols].isna().any().any():
        raise DesignError(f"missing values in calibration variable(s) {cols}")
    levels = list(pop.keys())
    counts = np.asarray([float(pop[k]) for k in levels])
    if len(cols) == 1:
        keys = data[cols[0]]
        lookup = {lv: i for i, lv in enumerate(levels)}
        codes = keys.map(lambda v: lookup.get(v, -1)).to_numpy(dtype=np.int64)
        row_keys = keys.to_numpy()
    else:
        lookup = {tuple(lv): i for i, lv in enumerate(levels)}
        tuples = list(data[cols].itertuples(index=False, name=None))
        codes = np.asarray([lookup.get(t, -1) for t in tuples], dtype=np.int64)
        row_keys = np.asarray(tuples, dtype=object)
    if (codes < 0).any():
        bad = row_keys[int(np.flatnonzero(codes < 0)[0])]
        raise DesignError(f"sample level {bad!r} of {var!r} absent from the population margin")
    present = np.bincount(codes, minlength=len(levels))
    missing = [levels[i] for i in np.flatnonzero((present == 0) & (counts > 0))]
    if missing:
        raise DesignError(f"population levels {missing!r} of {var!r} have no sample rows (R: use partial=TRUE); collapse them")
    return codes, counts, levels


def _poststratify_weights(w: np.ndarray, codes: np.ndarray, counts: np.ndarray) -> np.ndarray:
    sums = np.bincount(codes, weights=w, minlength=counts.size)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(sums > 0, counts / sums, 0.0)
    return w * factor[codes]


def _poststratify_columns(W: np.ndarray, codes: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Post-stratify every column of a weight matrix (n × R) at once."""
    import scipy.sparse as sp

    n = W.shape[0]
    L = sp.csr_matrix((np.ones(n), (codes, np.arange(n))), shape=(counts.size, n))
    sums = np.asarray(L @ W)  # (levels, R)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(sums > 0, counts[:, None] / np.where(sums > 0, sums, 1.0), 0.0)
    return W * factor[codes]


def _replicate_reweight(design: Design, w1: np.ndarray, fn: Any) -> Design:
    """New replicate design: full-sample weights ``w1``, replicate weights ``fn(W)``.

    ``W`` is the (n × R) matrix of the current replicate weights; the scale, replicate
    scales and ``mse`` of the design are kept (R's ``postStratify``/``rake``/``calibrate``
    and ``trimWeights`` on a ``svyrep.design``).
    """
    from dataclasses import replace

    W = np.asarray(fn(design.replicate_weights()), dtype=float)
    if W.shape != (design.n_rows, design._replicates.n_replicates):
        raise DesignError(f"replicate weights of shape {W.shape}, expected {(design.n_rows, design._replicates.n_replicates)}")
    new = design._copy()
    new._w = np.asarray(w1, dtype=float)
    new._replicates = replace(design._replicates, rep_weights=W, psu_factors=None, row_factors=None)
    return new


def poststratify(design: Design, margins: Mapping[str | tuple[str, ...], Mapping[Any, float]]) -> Design:
    """Post-stratification (R: ``postStratify(design, ~var, population)``).

    Weights in post-stratum :math:`c` are multiplied by :math:`N_c / \\hat N_c`.  The
    Taylor variance uses residuals from post-stratum means of the influence values.
    On a replicate design every replicate is post-stratified with its own
    :math:`\\hat N_{c,r}` (R's ``postStratify`` on a ``svyrep.design``) and the variance
    is that of the replicates.

    Parameters
    ----------
    design:
        The design to calibrate (Taylor or replicate).
    margins:
        ``{var: {level: N}}`` with a single key; ``var`` may be a tuple of columns
        for a crossed post-stratification (then levels are tuples).
    """
    if len(margins) != 1:
        raise DesignError("poststratify takes exactly one (possibly crossed) variable; use rake() for several margins")
    (var, pop), = margins.items()
    codes, counts, _ = _margin_codes(design, var, pop)
    w0 = design._w
    w1 = _poststratify_weights(w0, codes, counts)
    if design.is_replicate:
        # R postStratify.svyrep.design: every replicate is post-stratified itself
        return _replicate_reweight(design, w1, lambda W: _poststratify_columns(W, codes, counts))
    X = np.zeros((w0.size, counts.size))
    X[np.arange(w0.size), codes] = 1.0
    return design.with_weights(w1, calibration=_Calibration(X=X, w0=w0.copy(), w1=w1, kind="poststratify"))


def rake(
    design: Design,
    margins: Mapping[str | tuple[str, ...], Mapping[Any, float]],
    *,
    max_iter: int = 10,
    epsilon: float = 1.0,
    bounds: tuple[float, float] | None = None,
    strict: bool = False,
    converge_replicates: bool = True,
) -> Design:
    """Raking (iterative proportional fitting) to several margins (R: ``rake``).

    Algorithm exactly as R's ``rake(design, sample.margins, population.margins,
    control = list(maxit = 10, epsilon = 1))``: each iteration post-stratifies on
    every margin in turn; it stops when the largest change of the weighted
    cross-table of all margin variables between iterations is below ``epsilon``
    (if ``epsilon < 1`` it is taken relative to the total weight, as R).  The
    variance follows R's ``svyrecvar`` for ``"raking"`` objects: ten back-fitting
    passes removing margin means of the influence values.

    Parameters
    ----------
    margins:
        ``{var: {level: N}, ...}``, one entry per margin, in the order of raking.
    max_iter, epsilon:
        Convergence control (R's ``control$maxit``, ``control$epsilon``).
    bounds:
        Optional ``(low, high)`` bounds on the adjustment factor ``g = w/w_0``,
        enforced by clipping after each margin step (not part of R's ``rake``;
        R's bounded raking is ``calibrate(calfun = "raking", bounds = )``).
    strict:
        Raise :class:`~sipas.errors.ConvergenceError` if not converged (R warns).
    converge_replicates:
        Replicate designs only: iterate until every replicate's cross-table has
        converged as well (default), or stop when the full-sample one has, as R does
        (``False``).

    Notes
    -----
    On a replicate design (R's ``rake`` on a ``svyrep.design``) every margin step
    post-stratifies the full-sample weights and each replicate's weights.  R stops as
    soon as the full-sample cross-table has converged, which can leave replicates
    short of the margins (by up to about ``epsilon``; with a tight ``epsilon`` a
    jackknife replicate lacking a PSU can still be off by 1e-4 relative).  sipas by
    default goes on until the full sample and every replicate have converged, so each
    replicate is raked to the margins; with R's default ``epsilon = 1`` this moves
    standard errors by about 1e-5 relative (api ``rclus1`` raked on ``stype`` and
    ``sch.wide``: 1.6e-5).  ``converge_replicates=False`` reproduces R exactly.
    ``bounds`` clip each replicate's factor relative to its own starting weights.
    """
    if not margins:
        raise DesignError("no raking margins")
    w_start = design._w.copy()
    W_start = design.replicate_weights().copy() if design.is_replicate else None
    margin_list = [(var, *_margin_codes(design, var, pop)) for var, pop in margins.items()]
    total = float(w_start.sum())
    eps = epsilon * total if epsilon < 1 else epsilon
    # cross-table of all margin variables (R: svytable(~all vars))
    cross_key = np.zeros(w_start.size, dtype=np.int64)
    for _, codes, counts, _ in margin_list:
        cross_key = cross_key * counts.size + codes
    cross_key = pd.factorize(cross_key)[0]
    n_cells = int(cross_key.max()) + 1

    cells = sp.csr_matrix((np.ones(w_start.size), (cross_key, np.arange(w_start.size))), shape=(n_cells, w_start.size))

    def table(w: np.ndarray, Wr: np.ndarray | None) -> np.ndarray:
        """Cross-table of the full-sample weights (and of every replicate, side by side)."""
        return np.asarray(cells @ (w[:, None] if Wr is None or not converge_replicates else np.column_stack([w, Wr])))

    def clip(w: np.ndarray, start: np.ndarray) -> np.ndarray:
        g = np.clip(w / np.where(start > 0, start, 1.0), bounds[0], bounds[1])
        return np.where(start > 0, start * g, 0.0)

    w = w_start.copy()
    Wr = None if W_start is None else W_start.copy()
    old = table(w, Wr)
    converged = False
    it = 0
    delta = float("inf")
    psws: list[np.ndarray] = []
    while it < max_iter:
        psws = []
        for _, codes, counts, _ in margin_list:
            w = _poststratify_weights(w, codes, counts)
            if Wr is not None:
                Wr = _poststratify_columns(Wr, codes, counts)
            if bounds is not None:
                w = clip(w, w_start)
                if Wr is not None:
                    Wr = clip(Wr, W_start)
            psws.append(w.copy())
        new = table(w, Wr)
        delta = float(np.max(np.abs(old - new)))
        if delta < eps:
            converged = True
            break
        old = new
        it += 1
    if not converged and strict:
        raise ConvergenceError(f"raking did not converge after {it} iterations (last change {delta:g} >= {eps:g})")
    if Wr is not None:
        raked = Wr
        new_design = _replicate_reweight(design, w, lambda _W: raked)
        new_design.raking_converged = converged  # type: ignore[attr-defined]
        return new_design
    cal = _RakingCalibration(
        codes=[m[1] for m in margin_list],
        n_levels=[m[2].size for m in margin_list],
        psw=psws,
    )
    new_design = design.with_weights(w, calibration=cal)
    new_design.raking_converged = converged  # type: ignore[attr-defined]
    return new_design


_CALFUNS = ("linear", "raking")


def _calfun_g(calfun: str, u: np.ndarray, lower: float, upper: float) -> tuple[np.ndarray, np.ndarray]:
    """R's ``cal.linear`` / ``cal.raking``: the g-weights ``1 + Fm1(u)`` and ``dF(u)``."""
    inside = (u < upper - 1.0) & (u > lower - 1.0)
    if calfun == "linear":
        return np.clip(u + 1.0, lower, upper), inside.astype(float)
    with np.errstate(over="ignore"):
        e = np.exp(u)
    return np.clip(e, lower, upper), np.where(inside, e, 0.0)


def _grake(
    X: np.ndarray, w0: np.ndarray, t: np.ndarray, calfun: str, lower: float, upper: float,
    *, epsilon: float, max_iter: int,
) -> np.ndarray:
    """Newton–Raphson for the calibration equations, step for step as R's ``survey:::grake``.

    Returns the g-weights; raises :class:`~sipas.errors.ConvergenceError` where R's
    ``calibrate`` stops with "Calibration failed".
    """
    ww = w0.copy()
    sample_total = X.T @ ww
    with np.errstate(divide="ignore", invalid="ignore"):
        scales = t / sample_total
    scale = None
    if np.min(scales) > 20:  # R rescales very small weights first (bounds then apply after rescaling)
        scale = float(np.mean(scales))
        ww = ww * scale
        sample_total = sample_total * scale
    eta = np.zeros(X.shape[1])
    xeta = X @ eta
    g, deriv = _calfun_g(calfun, xeta, lower, upper)
    it = 1
    while True:
        T = X.T @ (X * (ww * deriv)[:, None])
        misfit = t - sample_total - X.T @ (ww * (g - 1.0))
        deta = np.linalg.pinv(T, rcond=256 * np.finfo(float).eps) @ misfit  # MASS::ginv(tol = 256 eps)
        eta = eta + deta
        xeta = X @ eta
        g, deriv = _calfun_g(calfun, xeta, lower, upper)
        while it < max_iter and not (np.isfinite(g).all() and np.isfinite(deriv).all()):
            it += 1  # step halving
            deta = deta / 2.0
            eta = eta - deta
            xeta = X @ eta
            g, deriv = _calfun_g(calfun, xeta, lower, upper)
        misfit = t - sample_total - X.T @ (ww * (g - 1.0))
        achieved = np.abs(misfit) / (1.0 + np.abs(t))
        if (achieved < epsilon).all():
            break
        it += 1
        if it > max_iter:
            raise ConvergenceError(
                f"calibration (calfun={calfun!r}, bounds=({lower:g}, {upper:g})) did not converge: "
                f"largest relative misfit {float(np.max(achieved)):g} >= epsilon={epsilon:g} after {it} "
                "iterations (R: 'Calibration failed'); widen the bounds or raise max_iter"
            )
    return g * scale if scale is not None else g


def calibrate(
    design: Design,
    totals: Mapping[str, float],
    *,
    columns: pd.DataFrame | None = None,
    calfun: str = "linear",
    bounds: tuple[float, float] | None = None,
    max_iter: int = 50,
    epsilon: float = 1e-7,
) -> Design:
    """Calibration to known totals (R: ``calibrate(design, formula, population, calfun=, bounds=)``).

    The calibrated weights are :math:`w_j = d_j\\,g_j` with :math:`g_j = F(x_j^\\top \\lambda)`
    and :math:`\\lambda` solving the calibration equations :math:`\\sum_j w_j x_j = t_x`
    (Deville & Särndal 1992):

    * ``calfun="linear"`` (GREG): :math:`F(u) = 1 + u`; without bounds the closed form
      :math:`\\lambda = (\\sum_j d_j x_j x_j^\\top)^{-1}(t_x - \\sum_j d_j x_j)` (R's
      ``regcalibrate``);
    * ``calfun="raking"``: :math:`F(u) = e^u` (multiplicative; with categorical
      ``x`` it gives the raking-ratio weights of :func:`rake`).

    With ``bounds=(L, U)``, :math:`g` is truncated to :math:`[L, U]` (R's
    ``bounds=c(L, U)``).  Apart from the unbounded linear case the equations are solved
    by Newton–Raphson exactly as R's ``grake`` (pseudo-inverse at tolerance
    :math:`256\\,\\epsilon_{mach}`, step halving, stop when every
    :math:`|t_x - \\hat t_x|/(1 + |t_x|) <` ``epsilon``; weights are first rescaled by the
    mean of :math:`t_x/\\hat t_x` when all those ratios exceed 20, as R does, so bounds
    then refer to the rescaled weights).  The Taylor variance uses the residuals of the
    influence values on :math:`x` (R's ``greg_calibration``).  On a replicate design
    each replicate's weights :math:`d_{rj}` are calibrated the same way to the same
    totals (R's ``calibrate`` on a ``svyrep.design``) and the variance is that of the
    replicates.

    Parameters
    ----------
    design:
        The design to calibrate (Taylor or replicate).
    totals:
        Population totals by column of the model matrix; the key ``"(Intercept)"``
        adds a column of ones (R's naming).
    columns:
        Model matrix (rows aligned with the data); default: the data columns named
        in ``totals`` (plus the intercept).
    calfun:
        ``"linear"`` or ``"raking"`` (R's ``calfun=``).
    bounds:
        ``(lower, upper)`` bounds on :math:`g = w/d`, ``lower < upper``; ``None`` = unbounded.
    max_iter, epsilon:
        Newton iterations and convergence tolerance (R's ``maxit = 50``, ``epsilon = 1e-7``).

    Returns
    -------
    Design
        The calibrated design.

    Raises
    ------
    DesignError
        Unknown ``calfun``, invalid ``bounds``, a missing column or missing values.
    ConvergenceError
        The iterations did not reach ``epsilon`` (R stops with "Calibration failed").
    """
    if calfun not in _CALFUNS:
        raise DesignError(f"calfun must be one of {_CALFUNS}, got {calfun!r}")
    lower, upper = (-np.inf, np.inf) if bounds is None else (float(bounds[0]), float(bounds[1]))
    if not lower < upper:
        raise DesignError(f"bounds must be (lower, upper) with lower < upper, got {bounds!r}")
    data = design.data
    names = list(totals.keys())
    cols = []
    for nm in names:
        if nm == "(Intercept)":
            cols.append(np.ones(len(data)))
        elif columns is not None and nm in columns.columns:
            cols.append(columns[nm].to_numpy(dtype=float))
        elif nm in data.columns:
            cols.append(pd.to_numeric(data[nm]).to_numpy(dtype=float))
        else:
            raise DesignError(f"calibration column {nm!r} not found")
    X = np.column_stack(cols)
    if np.isnan(X).any():
        raise DesignError("missing values in calibration variables")
    t = np.asarray([float(totals[k]) for k in names])
    w0 = design._w

    def calibrated(d: np.ndarray) -> np.ndarray:
        if calfun == "linear" and bounds is None:
            T = X.T @ (X * d[:, None])
            lam = np.linalg.pinv(T) @ (t - X.T @ d)
            return d * (1.0 + X @ lam)
        return d * _grake(X, d, t, calfun, lower, upper, epsilon=epsilon, max_iter=max_iter)

    w1 = calibrated(w0)
    if design.is_replicate:
        # R calibrate() on a svyrep.design: every replicate is calibrated to the same totals
        return _replicate_reweight(design, w1, lambda W: np.column_stack([calibrated(W[:, r]) for r in range(W.shape[1])]))
    kind = "greg" if calfun == "linear" and bounds is None else calfun
    return design.with_weights(w1, calibration=_Calibration(X=X, w0=w0.copy(), w1=w1, kind=kind))


def trim(
    design: Design,
    *,
    upper: float = float("inf"),
    lower: float = float("-inf"),
    strict: bool = False,
) -> Design:
    """Trim weights (R: ``trimWeights(design, upper =, lower =, strict =)``).

    Weights outside ``[lower, upper]`` are set to the nearer bound and the total
    trimmed, :math:`\\sum_j (w_j - \\min(\\max(w_j, L), U))`, is shared out equally
    (additively) among the :math:`m` weights that were inside the bounds:

    .. math:: w_j^{new} = \\min(\\max(w_j, L), U) + 1_{L \\le w_j \\le U}\\,
              \\frac{1}{m}\\sum_k (w_k - \\min(\\max(w_k, L), U)),

    so the total weight is unchanged (a weight exactly at a bound is inside).  The
    shares can push weights past the bounds again; with ``strict=True`` the step is
    repeated until no weight is outside (R's ``strict = TRUE``).  The new design keeps
    any earlier calibration, whose adjustment of the Taylor variance then uses the
    trimmed weights (R keeps ``postStrata``); an uncalibrated design simply gets the
    new weights.  Matches R survey 4.1-1 to rounding (``tests/test_estimation_r_ciprop_trim.py``).

    Parameters
    ----------
    design:
        A linearisation design (calibrated or not).
    upper, lower:
        Bounds on the weights (default: none).
    strict:
        Repeat until every weight is within the bounds.

    Returns
    -------
    Design
        ``design`` itself when no weight is outside the bounds, else a new design.

    Raises
    ------
    DesignError
        If ``lower >= upper``; if every weight is outside the bounds (R then only
        clips them and the total weight changes); with ``strict=True`` if the bounds
        cannot hold the total, :math:`nL > \\sum w` or :math:`nU < \\sum w` (R recurses
        until its stack overflows); for a replicate-weight design (trim first, then
        call :meth:`~sipas.estimation.Design.replicate`; R's ``trimWeights`` for
        replicate designs leaves the full-sample weights untrimmed).
    ConvergenceError
        If ``strict=True`` has not settled after 10 000 rounds.
    """
    if not lower < upper:
        raise DesignError(f"lower ({lower}) must be below upper ({upper})")
    if design.is_replicate:
        raise DesignError("trim() needs a linearisation design: trim the weights first, then call .replicate()")
    w = design._w
    total = float(w.sum())
    if strict and not (w.size * lower <= total <= w.size * upper):
        raise DesignError(
            f"strict trimming to [{lower}, {upper}] is impossible: {w.size} weights with total {total:.10g} "
            f"must have mean {total / w.size:.10g} inside the bounds"
        )
    for _ in range(10_000):
        outside = (w < lower) | (w > upper)
        if not outside.any():
            break
        if outside.all():
            raise DesignError(
                f"every weight is outside [{lower}, {upper}]: no weight is left to take the trimmed "
                "amount (R would only clip them, changing the total weight)"
            )
        new = np.clip(w, lower, upper)
        trimmings = w - new
        new[~outside] = new[~outside] + trimmings.sum() / (~outside).sum()
        w = new
        if not strict:
            break
    else:
        raise ConvergenceError(f"strict trimming to [{lower}, {upper}] did not settle in 10000 rounds")
    if w is design._w:
        return design
    return design.with_weights(w)

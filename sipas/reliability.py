"""Reliability and validity of questionnaire scales.

Classical test theory statistics for the items of one scale (one SIPAS criterion):

* :func:`cronbach_alpha` -- raw and standardised Cronbach's alpha with Feldt's confidence
  interval, as R ``psych::alpha()`` and ``psych::alpha.ci()``;
* :func:`item_statistics` -- item mean, sd, missing share, corrected item-total correlation
  (psych's ``r.drop``) and alpha if the item is deleted;
* :func:`criterion_reliability` and :func:`item_reliability` -- the two tables the report
  notebook shows, one row per criterion and one row per item.

Every function accepts survey weights: the covariance matrix is then the weighted covariance
matrix (see :func:`weighted_covariance`), which is the design-consistent estimate of the
population covariance matrix, and every alpha-type statistic is a function of that matrix.

Missing answers must be ``NaN`` (recode "don't know" codes such as 9 first, or pass
``na_values`` to the table helpers).  They are handled explicitly: ``missing="listwise"``
(default) keeps the respondents who answered every item of the scale; ``missing="pairwise"``
computes each covariance from the respondents who answered both items, as R's
``cov(x, use = "pairwise")`` (the default of ``psych::alpha``).

No rounding is done here; numbers are rounded only when displayed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from sipas.errors import ReliabilityError

__all__ = [
    "AlphaResult",
    "MissingMode",
    "CFAResult",
    "EFAResult",
    "Factorability",
    "OmegaResult",
    "alpha_from_cov",
    "confirmatory_factor_analysis",
    "cronbach_alpha",
    "criterion_reliability",
    "exploratory_factor_analysis",
    "factorability",
    "omega",
    "parallel_analysis",
    "feldt_ci",
    "item_reliability",
    "item_statistics",
    "item_total_from_cov",
    "weighted_covariance",
]

MissingMode = Literal["listwise", "pairwise"]

#: Corrected item-total correlation below which an item is flagged.
WEAK_ITEM_TOTAL_R = 0.3


# --------------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------------


def _as_frame(items: pd.DataFrame | np.ndarray | Sequence[Sequence[float]]) -> pd.DataFrame:
    """Return the items as a float DataFrame (one column per item); raise on bad input."""
    if isinstance(items, pd.DataFrame):
        df = items
    else:
        arr = np.asarray(items)
        if arr.ndim != 2:
            raise ReliabilityError(f"items must be a 2-D table (respondents x items), got {arr.ndim}-D")
        df = pd.DataFrame(arr, columns=[f"V{j + 1}" for j in range(arr.shape[1])])
    if df.columns.has_duplicates:
        dup = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
        raise ReliabilityError(f"duplicate item columns: {', '.join(dup)}")
    bad = [str(c) for c in df.columns if not (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]))]
    if bad:
        raise ReliabilityError(f"items must be numeric; non-numeric columns: {', '.join(bad)}")
    out = df.astype("float64")
    values = out.to_numpy()
    if np.isinf(values).any():
        raise ReliabilityError("items contain infinite values")
    out.columns = [str(c) for c in out.columns]
    return out


def _as_weights(weights: pd.Series | np.ndarray | Sequence[float] | None, n_rows: int) -> np.ndarray | None:
    """Validate survey weights aligned by position with the rows of the items."""
    if weights is None:
        return None
    w = np.asarray(weights, dtype="float64").reshape(-1)
    if w.shape[0] != n_rows:
        raise ReliabilityError(f"weights have {w.shape[0]} values for {n_rows} respondents")
    if not np.all(np.isfinite(w)):
        raise ReliabilityError("weights must be finite (no NaN or infinite weight)")
    if np.any(w < 0):
        raise ReliabilityError("weights must be non-negative")
    return w


def _check_missing(missing: str) -> None:
    if missing not in ("listwise", "pairwise"):
        raise ReliabilityError(f"missing must be 'listwise' or 'pairwise', got {missing!r}")


def _check_ci(ci: float) -> None:
    if not (isinstance(ci, (int, float)) and 0.0 < float(ci) < 1.0):
        raise ReliabilityError(f"ci must be a level strictly between 0 and 1, got {ci!r}")


# --------------------------------------------------------------------------------------------
# covariance
# --------------------------------------------------------------------------------------------


def _cov_complete(x: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """(Weighted) covariance of complete rows.

    Unweighted: the usual ``n - 1`` estimator (R ``cov``).  Weighted:
    ``S = sum_i w_i (x_i - xbar_w)(x_i - xbar_w)' / (V1 - V2 / V1)`` with ``V1 = sum w``,
    ``V2 = sum w^2`` (``numpy.cov(..., aweights=w)``), which equals the unweighted estimator
    when all weights are equal.
    """
    if w is None:
        xc = x - x.mean(axis=0)
        return xc.T @ xc / (x.shape[0] - 1)
    v1 = w.sum()
    v2 = np.square(w).sum()
    mean = (w[:, None] * x).sum(axis=0) / v1
    xc = x - mean
    return (w[:, None] * xc).T @ xc / (v1 - v2 / v1)


def weighted_covariance(
    items: pd.DataFrame | np.ndarray,
    *,
    weights: pd.Series | np.ndarray | Sequence[float] | None = None,
    missing: MissingMode = "listwise",
) -> pd.DataFrame:
    """Covariance matrix of the items, optionally survey-weighted.

    Parameters
    ----------
    items : DataFrame or 2-D array
        Respondents in rows, items in columns; missing answers are ``NaN``.
    weights : array-like, optional
        Survey weights aligned by position with the rows.  ``None`` = unweighted.
    missing : {"listwise", "pairwise"}
        ``"listwise"``: rows with any missing item are dropped first.  ``"pairwise"``: entry
        ``(i, j)`` uses the rows where both items are answered, with means taken over those
        rows, as R ``cov(x, use = "pairwise.complete.obs")``.

    Returns
    -------
    DataFrame
        ``k x k`` covariance matrix.  Weighted: ``sum w (x - xbar_w)(y - ybar_w) / (V1 - V2/V1)``
        with ``V1 = sum w`` and ``V2 = sum w^2`` (numpy ``cov`` with ``aweights``); it reduces
        to the ``n - 1`` estimator when all weights are equal.  Alpha-type coefficients are
        ratios of covariances and do not depend on this normalising constant.
    """
    _check_missing(missing)
    df = _as_frame(items)
    w = _as_weights(weights, len(df))
    x = df.to_numpy()
    k = x.shape[1]
    if missing == "listwise":
        keep = ~np.isnan(x).any(axis=1)
        if w is not None:
            keep &= w > 0
        if keep.sum() < 2:
            raise ReliabilityError("fewer than 2 respondents answered every item")
        cov = _cov_complete(x[keep], None if w is None else w[keep])
    else:
        cov = np.empty((k, k))
        obs = ~np.isnan(x)
        if w is not None:
            obs &= (w > 0)[:, None]
        for i in range(k):
            for j in range(i, k):
                rows = obs[:, i] & obs[:, j]
                if rows.sum() < 2:
                    raise ReliabilityError(
                        f"fewer than 2 respondents answered both {df.columns[i]!r} and {df.columns[j]!r}"
                    )
                c = _cov_complete(x[rows][:, [i, j]], None if w is None else w[rows])
                cov[i, j] = cov[j, i] = c[0, 1] if i != j else c[0, 0]
    return pd.DataFrame(cov, index=df.columns, columns=df.columns)


# --------------------------------------------------------------------------------------------
# alpha
# --------------------------------------------------------------------------------------------


def _alpha_from_cov(c: np.ndarray) -> tuple[float, float]:
    """Raw and standardised alpha of a covariance matrix (psych ``alpha.1``)."""
    k = c.shape[0]
    total = c.sum()
    raw = (1.0 - np.trace(c) / total) * k / (k - 1)
    sd = np.sqrt(np.diag(c))
    r = c / np.outer(sd, sd)
    std = (1.0 - k / r.sum()) * k / (k - 1)
    return float(raw), float(std)


def feldt_ci(alpha: float, *, n: float, k: int, ci: float = 0.95) -> tuple[float, float]:
    """Feldt's confidence interval for Cronbach's alpha.

    ``low = 1 - (1 - alpha) F(1 - p/2; n - 1, (n - 1)(k - 1))`` and
    ``high = 1 - (1 - alpha) F(p/2; n - 1, (n - 1)(k - 1))`` with ``p = 1 - ci`` and
    ``F(q; d1, d2)`` the F quantile.

    References
    ----------
    Feldt, L. S., Woodruff, D. J., & Salih, F. A. (1987). Statistical inference for
    coefficient alpha. *Applied Psychological Measurement*, 11(1), 93-103 (formula 6).
    R: ``psych::alpha.ci(alpha, n.obs, n.var, p.val = 1 - ci)`` (psych >= 2.2.3, which uses
    ``df2 = (n.obs - 1)(n.var - 1)``).
    """
    _check_ci(ci)
    if n < 2 or k < 2:
        raise ReliabilityError(f"Feldt interval needs n >= 2 and k >= 2 (n={n}, k={k})")
    p = 1.0 - float(ci)
    df1 = n - 1.0
    df2 = (n - 1.0) * (k - 1.0)
    low = 1.0 - (1.0 - alpha) * stats.f.ppf(1.0 - p / 2.0, df1, df2)
    high = 1.0 - (1.0 - alpha) * stats.f.ppf(p / 2.0, df1, df2)
    return float(low), float(high)


@dataclass(frozen=True)
class AlphaResult:
    """Cronbach's alpha of one scale.

    Attributes
    ----------
    alpha : float
        Raw alpha, from the covariance matrix.
    std_alpha : float
        Standardised alpha, from the correlation matrix.
    ci_low, ci_high : float
        Feldt confidence interval of the raw alpha at level ``ci``.
    ci : float
        Confidence level.
    n : int
        Respondents used: complete cases (listwise) or respondents with at least one answer
        (pairwise).  With weights, respondents with a zero weight are not counted.
    n_eff : float
        Sample size used in the Feldt interval: ``n`` unweighted, Kish's effective sample size
        ``(sum w)^2 / sum w^2`` over the same respondents when weighted.
    k : int
        Number of items.
    missing : str
        ``"listwise"`` or ``"pairwise"``.
    weighted : bool
        Whether survey weights were used.
    """

    alpha: float
    std_alpha: float
    ci_low: float
    ci_high: float
    ci: float
    n: int
    n_eff: float
    k: int
    missing: str
    weighted: bool

    def to_dict(self) -> dict[str, float | int | str | bool]:
        """The result as a plain dict (for tables and JSON)."""
        return asdict(self)


def _prepare(
    items: pd.DataFrame | np.ndarray,
    weights: pd.Series | np.ndarray | Sequence[float] | None,
    missing: str,
) -> tuple[pd.DataFrame, np.ndarray | None, np.ndarray, int, float]:
    """Validate, then return (frame, weights, covariance, n used, effective n)."""
    _check_missing(missing)
    df = _as_frame(items)
    w = _as_weights(weights, len(df))
    if df.shape[1] < 2:
        raise ReliabilityError(f"a scale needs at least 2 items, got {df.shape[1]}")
    x = df.to_numpy()
    if missing == "listwise":
        used = ~np.isnan(x).any(axis=1)
    else:
        used = ~np.isnan(x).all(axis=1)
    if w is not None:
        used &= w > 0
    n = int(used.sum())
    if n < 2:
        raise ReliabilityError(f"fewer than 2 usable respondents ({missing} deletion)")
    cov = weighted_covariance(df, weights=w, missing=missing).to_numpy()
    var = np.diag(cov)
    flat = [str(c) for c, v in zip(df.columns, var) if not v > 0]
    if flat:
        raise ReliabilityError(f"items without variance among the respondents used: {', '.join(flat)}")
    if w is None:
        n_eff = float(n)
    else:
        wu = w[used]
        n_eff = float(wu.sum() ** 2 / np.square(wu).sum())
    return df, w, cov, n, n_eff


def cronbach_alpha(
    items: pd.DataFrame | np.ndarray,
    *,
    ci: float = 0.95,
    weights: pd.Series | np.ndarray | Sequence[float] | None = None,
    missing: MissingMode = "listwise",
) -> AlphaResult:
    """Cronbach's alpha (raw and standardised) with Feldt's confidence interval.

    ``alpha = k / (k - 1) * (1 - sum_i C_ii / sum_ij C_ij)`` for the item covariance matrix
    ``C``; ``std_alpha`` is the same formula on the correlation matrix ``R``,
    ``k / (k - 1) * (1 - k / sum_ij R_ij)``.  The interval is :func:`feldt_ci`.

    Parameters
    ----------
    items : DataFrame or 2-D array
        Respondents in rows, the ``k`` items of one scale in columns; missing = ``NaN``.
    ci : float
        Confidence level of the Feldt interval.
    weights : array-like, optional
        Survey weights aligned by position with the rows.  ``C`` is then the weighted
        covariance matrix (:func:`weighted_covariance`) and the Feldt interval uses Kish's
        effective sample size in place of ``n`` (an approximation: Feldt's F distribution
        assumes simple random sampling).
    missing : {"listwise", "pairwise"}
        How missing answers are handled; stated in the result.

    Returns
    -------
    AlphaResult

    Raises
    ------
    ReliabilityError
        Fewer than 2 items or usable respondents, an item without variance, bad weights.

    References
    ----------
    Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
    *Psychometrika*, 16, 297-334.  R: ``psych::alpha(x)`` -- ``$total$raw_alpha``,
    ``$total$std.alpha`` and ``$feldt``.  psych's default is ``use = "pairwise"``; for complete
    data both modes agree.
    """
    _check_ci(ci)
    df, w, cov, n, n_eff = _prepare(items, weights, missing)
    alpha, std_alpha = _alpha_from_cov(cov)
    low, high = feldt_ci(alpha, n=n_eff, k=df.shape[1], ci=ci)
    return AlphaResult(
        alpha=alpha,
        std_alpha=std_alpha,
        ci_low=low,
        ci_high=high,
        ci=float(ci),
        n=n,
        n_eff=n_eff,
        k=int(df.shape[1]),
        missing=missing,
        weighted=w is not None,
    )


def _as_cov(cov: pd.DataFrame | np.ndarray) -> pd.DataFrame:
    """Validate a covariance or correlation matrix."""
    if isinstance(cov, pd.DataFrame):
        df = cov.astype("float64")
        df.columns = [str(c) for c in df.columns]
        df.index = df.columns
    else:
        arr = np.asarray(cov, dtype="float64")
        if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
            raise ReliabilityError(f"a covariance matrix must be square, got shape {arr.shape}")
        names = [f"V{j + 1}" for j in range(arr.shape[1])]
        df = pd.DataFrame(arr, index=names, columns=names)
    c = df.to_numpy()
    if c.shape[0] != c.shape[1]:
        raise ReliabilityError(f"a covariance matrix must be square, got {c.shape[0]} x {c.shape[1]}")
    if c.shape[0] < 2:
        raise ReliabilityError(f"a scale needs at least 2 items, got {c.shape[0]}")
    if not np.all(np.isfinite(c)):
        raise ReliabilityError("the covariance matrix has missing or infinite entries")
    if not np.allclose(c, c.T, rtol=1e-10, atol=1e-12):
        raise ReliabilityError("the covariance matrix is not symmetric")
    flat = [str(n) for n, v in zip(df.columns, np.diag(c)) if not v > 0]
    if flat:
        raise ReliabilityError(f"items without variance: {', '.join(flat)}")
    return df


def alpha_from_cov(
    cov: pd.DataFrame | np.ndarray,
    *,
    n_obs: float | None = None,
    ci: float = 0.95,
) -> AlphaResult:
    """Cronbach's alpha of a covariance (or correlation) matrix.

    Same formulas as :func:`cronbach_alpha`; the Feldt interval needs the number of
    respondents ``n_obs`` and is ``NaN`` without it.

    References
    ----------
    R: ``psych::alpha(C)`` for a square matrix ``C``.  Note that psych then uses the number of
    *rows of the matrix* as ``n.obs`` in the Feldt interval; pass ``n_obs=k`` to reproduce it.
    """
    _check_ci(ci)
    df = _as_cov(cov)
    c = df.to_numpy()
    alpha, std_alpha = _alpha_from_cov(c)
    k = c.shape[0]
    if n_obs is None:
        low = high = math.nan
        n, n_eff = 0, math.nan
    else:
        low, high = feldt_ci(alpha, n=float(n_obs), k=k, ci=ci)
        n, n_eff = int(n_obs), float(n_obs)
    return AlphaResult(
        alpha=alpha, std_alpha=std_alpha, ci_low=low, ci_high=high, ci=float(ci),
        n=n, n_eff=n_eff, k=k, missing="none", weighted=False,
    )


def _drop_stats(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Corrected item-total correlations and alpha-if-deleted from a covariance matrix."""
    k = c.shape[0]
    r_drop = np.empty(k)
    a_drop = np.full(k, math.nan)
    for i in range(k):
        others = [j for j in range(k) if j != i]
        sub = c[np.ix_(others, others)]
        r_drop[i] = (c[:, i].sum() - c[i, i]) / math.sqrt(c[i, i] * sub.sum())
        if k > 2:
            a_drop[i] = _alpha_from_cov(sub)[0]
    return r_drop, a_drop


def item_total_from_cov(cov: pd.DataFrame | np.ndarray) -> pd.DataFrame:
    """``item_total_r`` and ``alpha_if_deleted`` of every item, from a covariance matrix.

    Formulas as in :func:`item_statistics`.  R: ``psych::alpha(C)$item.stats$r.drop`` and
    ``psych::alpha(C)$alpha.drop$raw_alpha``.
    """
    df = _as_cov(cov)
    r_drop, a_drop = _drop_stats(df.to_numpy())
    return pd.DataFrame({"item": list(df.columns), "item_total_r": r_drop, "alpha_if_deleted": a_drop})


def _weighted_mean_sd(v: np.ndarray, w: np.ndarray | None) -> tuple[float, float]:
    if w is None:
        if v.size == 0:
            return math.nan, math.nan
        mean = float(v.mean())
        sd = float(v.std(ddof=1)) if v.size > 1 else math.nan
        return mean, sd
    keep = w > 0
    v, w = v[keep], w[keep]
    if v.size == 0:
        return math.nan, math.nan
    v1 = w.sum()
    mean = float((w * v).sum() / v1)
    if v.size < 2:
        return mean, math.nan
    v2 = np.square(w).sum()
    var = float((w * np.square(v - mean)).sum() / (v1 - v2 / v1))
    return mean, math.sqrt(var)


def item_statistics(
    items: pd.DataFrame | np.ndarray,
    *,
    weights: pd.Series | np.ndarray | Sequence[float] | None = None,
    missing: MissingMode = "listwise",
) -> pd.DataFrame:
    """Item analysis of one scale: one row per item.

    Columns
    -------
    item : str
    n : int -- respondents who answered the item.
    mean, sd : float -- over the respondents who answered the item (as psych's
        ``colMeans(x, na.rm = TRUE)`` and ``sd``); weighted when ``weights`` is given, with the
        same normalisation as :func:`weighted_covariance`.
    missing_share : float -- unweighted share of respondents with a missing answer.
    item_total_r : float -- corrected item-total correlation, the item against the sum of the
        *other* items, ``r_i = (sum_j C_ij - C_ii) / sqrt(C_ii * sum_{j,l != i} C_jl)``
        (psych ``alpha()$item.stats$r.drop``).
    alpha_if_deleted : float -- raw alpha of the other ``k - 1`` items
        (psych ``alpha()$alpha.drop$raw_alpha``).  ``NaN`` when ``k = 2``: alpha of a single
        item is undefined (psych prints ``C12 / C22`` there, which is not an alpha).

    ``C`` is the (weighted) covariance matrix under the chosen ``missing`` mode, so
    ``item_total_r`` and ``alpha_if_deleted`` agree with :func:`cronbach_alpha`.

    References
    ----------
    R: ``psych::alpha(x)``, slots ``item.stats`` (``r.drop``, ``mean``, ``sd``) and
    ``alpha.drop`` (``raw_alpha``).
    """
    df, w, cov, _, _ = _prepare(items, weights, missing)
    x = df.to_numpy()
    r_drops, a_drops = _drop_stats(cov)
    rows = []
    for i, name in enumerate(df.columns):
        r_drop, a_drop = r_drops[i], a_drops[i]
        col = x[:, i]
        ok = ~np.isnan(col)
        mean, sd = _weighted_mean_sd(col[ok], None if w is None else w[ok])
        rows.append(
            {
                "item": name,
                "n": int(ok.sum()),
                "mean": mean,
                "sd": sd,
                "missing_share": float(1.0 - ok.mean()) if len(col) else math.nan,
                "item_total_r": float(r_drop),
                "alpha_if_deleted": float(a_drop),
            }
        )
    return pd.DataFrame(rows, columns=["item", "n", "mean", "sd", "missing_share", "item_total_r", "alpha_if_deleted"])


# --------------------------------------------------------------------------------------------
# tables for the report
# --------------------------------------------------------------------------------------------


def _group_frame(
    data: pd.DataFrame,
    criterion: str,
    columns: Sequence[str],
    na_values: Sequence[float],
) -> pd.DataFrame:
    absent = [c for c in columns if c not in data.columns]
    if absent:
        raise ReliabilityError(f"criterion {criterion!r}: columns not in the data: {', '.join(absent)}")
    sub = data.loc[:, list(columns)]
    if na_values:
        sub = sub.mask(sub.isin(list(na_values)))
    return sub


def _weights_column(data: pd.DataFrame, weights: str | None) -> np.ndarray | None:
    if weights is None:
        return None
    if weights not in data.columns:
        raise ReliabilityError(f"weight column {weights!r} not in the data")
    return _as_weights(data[weights].to_numpy(), len(data))


def _flag(row: Mapping[str, float], alpha: float, threshold: float) -> str:
    reasons = []
    a_drop = row["alpha_if_deleted"]
    if not math.isnan(a_drop) and not math.isnan(alpha) and a_drop > alpha:
        reasons.append("alpha_if_deleted > alpha")
    if row["item_total_r"] < threshold:
        reasons.append(f"item_total_r < {threshold:g}")
    return "; ".join(reasons)


def criterion_reliability(
    data: pd.DataFrame,
    groups: Mapping[str, Sequence[str]],
    *,
    weights: str | None = None,
    ci: float = 0.95,
    missing: MissingMode = "listwise",
    na_values: Sequence[float] = (),
    item_total_threshold: float = WEAK_ITEM_TOTAL_R,
) -> pd.DataFrame:
    """Cronbach's alpha of every criterion (one row per group of items).

    Parameters
    ----------
    data : DataFrame
        Respondents in rows; must hold every item named in ``groups`` (and ``weights``).
    groups : mapping
        Criterion id -> its item columns, e.g. ``{"2.1": ["s2_1a", "s2_1b", "s2_1c"]}``.
    weights : str, optional
        Name of the survey-weight column.
    ci : float
        Level of the Feldt interval.
    missing : {"listwise", "pairwise"}
        Passed to :func:`cronbach_alpha`; listwise is per criterion (a respondent skipped by a
        filter is dropped only from the criteria the filter governs).
    na_values : sequence of numbers
        Answer codes to treat as missing (e.g. ``(9,)`` for "don't know").
    item_total_threshold : float
        Items with a corrected item-total correlation below this are weak (default 0.3).

    Returns
    -------
    DataFrame
        Columns ``criterion, k, n, alpha, std_alpha, ci_low, ci_high, weak_items, missing,
        weighted, note``.  ``weak_items`` lists, comma-separated, the items whose
        ``alpha_if_deleted`` exceeds ``alpha`` or whose ``item_total_r`` is below the
        threshold.  A criterion where alpha is undefined (one item, an item without variance,
        too few respondents) gets ``NaN`` statistics and the reason in ``note``; it does not
        stop the table.
    """
    _check_ci(ci)
    _check_missing(missing)
    w = _weights_column(data, weights)
    rows = []
    for criterion, columns in groups.items():
        sub = _group_frame(data, str(criterion), columns, na_values)
        row: dict[str, object] = {
            "criterion": str(criterion),
            "k": len(columns),
            "n": 0,
            "alpha": math.nan,
            "std_alpha": math.nan,
            "ci_low": math.nan,
            "ci_high": math.nan,
            "weak_items": "",
            "missing": missing,
            "weighted": w is not None,
            "note": "",
        }
        try:
            res = cronbach_alpha(sub, ci=ci, weights=w, missing=missing)
            st = item_statistics(sub, weights=w, missing=missing)
        except ReliabilityError as exc:
            row["note"] = str(exc)
        else:
            weak = [r["item"] for r in st.to_dict("records") if _flag(r, res.alpha, item_total_threshold)]
            row.update(
                n=res.n,
                alpha=res.alpha,
                std_alpha=res.std_alpha,
                ci_low=res.ci_low,
                ci_high=res.ci_high,
                weak_items=", ".join(weak),
            )
        rows.append(row)
    cols = ["criterion", "k", "n", "alpha", "std_alpha", "ci_low", "ci_high", "weak_items", "missing", "weighted", "note"]
    return pd.DataFrame(rows, columns=cols)


def item_reliability(
    data: pd.DataFrame,
    groups: Mapping[str, Sequence[str]],
    *,
    weights: str | None = None,
    missing: MissingMode = "listwise",
    na_values: Sequence[float] = (),
    item_total_threshold: float = WEAK_ITEM_TOTAL_R,
) -> pd.DataFrame:
    """:func:`item_statistics` for every criterion, stacked.

    Returns
    -------
    DataFrame
        Columns ``criterion, item, n, mean, sd, missing_share, item_total_r,
        alpha_if_deleted, alpha, flag``: ``alpha`` is the criterion's raw alpha, ``flag`` is
        empty for a sound item, else the reasons (``"alpha_if_deleted > alpha"``,
        ``"item_total_r < 0.3"``) joined by ``"; "``.  Criteria where alpha is undefined give
        one row per item with ``NaN`` statistics and the reason in ``flag``.
    """
    _check_missing(missing)
    w = _weights_column(data, weights)
    frames = []
    cols = ["criterion", "item", "n", "mean", "sd", "missing_share", "item_total_r", "alpha_if_deleted", "alpha", "flag"]
    for criterion, columns in groups.items():
        sub = _group_frame(data, str(criterion), columns, na_values)
        try:
            res = cronbach_alpha(sub, weights=w, missing=missing)
            st = item_statistics(sub, weights=w, missing=missing)
        except ReliabilityError as exc:
            st = pd.DataFrame(
                {
                    "item": [str(c) for c in columns],
                    "n": [int(sub[c].notna().sum()) for c in columns],
                    "mean": math.nan,
                    "sd": math.nan,
                    "missing_share": [float(sub[c].isna().mean()) if len(sub) else math.nan for c in columns],
                    "item_total_r": math.nan,
                    "alpha_if_deleted": math.nan,
                }
            )
            st["alpha"] = math.nan
            st["flag"] = f"not computed: {exc}"
        else:
            st["alpha"] = res.alpha
            st["flag"] = [_flag(r, res.alpha, item_total_threshold) for r in st.to_dict("records")]
        st.insert(0, "criterion", str(criterion))
        frames.append(st[cols])
    if not frames:
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------------------------
# confirmatory factor analysis (semopy for the estimation, fit indices computed here)
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# factorability, exploratory factor analysis, omega
# --------------------------------------------------------------------------------------------


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


def _oblimin(a: np.ndarray, *, gamma: float = 0.0, eps: float = 1e-10, maxit: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    """Direct oblimin rotation by gradient projection (Jennrich 2002; GPArotation ``GPFoblq``).

    Returns the pattern matrix and the factor correlation matrix ``Phi = T'T``.
    """
    p, k = a.shape
    if k == 1:
        return a.copy(), np.ones((1, 1))
    ones_off = 1.0 - np.eye(k)
    c = np.eye(p) - gamma / p

    def vgq(lo: np.ndarray) -> tuple[np.ndarray, float]:
        x = c @ (lo**2 @ ones_off)
        return lo * x, float(np.sum(lo**2 * x) / 4.0)

    t = np.eye(k)
    lo = a @ np.linalg.inv(t).T
    gq, f = vgq(lo)
    g = -(lo.T @ gq @ np.linalg.inv(t)).T
    al = 1.0
    for _ in range(maxit):
        gp = g - t @ np.diag(np.sum(t * g, axis=0))
        s = math.sqrt(float(np.sum(gp**2)))
        if s < eps:
            break
        al *= 2.0
        for _ in range(11):
            x = t - al * gp
            tt = x / np.sqrt(np.sum(x**2, axis=0))
            lo = a @ np.linalg.inv(tt).T
            gqt, ft = vgq(lo)
            if f - ft > 0.5 * s * s * al:
                break
            al /= 2.0
        t, f, gq = tt, ft, gqt
        g = -(lo.T @ gq @ np.linalg.inv(t)).T
    lo = a @ np.linalg.inv(t).T
    phi = t.T @ t
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

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

MissingMode = Literal["listwise", "pairwise"]


#: Corrected item-total correlation below which an item is flagged.
WEAK_ITEM_TOTAL_R = 0.3


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

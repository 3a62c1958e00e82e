"""Design-based estimation for complex samples, matching R's ``survey`` package.

A :class:`Design` holds the data, the final weights and the sampling structure
(strata, one or more stages of clusters, finite population corrections).  Its
estimate methods (:meth:`Design.mean`, :meth:`Design.total`, :meth:`Design.ratio`,
:meth:`Design.proportion`) compute every requested item and every domain at once
with sparse/dense matrix products, and return either a scalar :class:`Estimate`
or a tidy :class:`pandas.DataFrame` with the columns

``[<by columns>], variable, [level], estimate, se, ci_low, ci_high, df, deff, n``.

Variance (Taylor linearisation)
-------------------------------
Every supported statistic is a ratio of two domain totals
:math:`\\hat\\theta_d = \\hat T_{a,d} / \\hat T_{b,d}` (a mean has :math:`b = 1` on
the rows where the item is observed; a total has :math:`\\hat T_b \\equiv 1`).
Its influence values are :math:`z_j = w_j\\,1_d(j)\\,(a_j - \\hat\\theta_d b_j)/\\hat T_{b,d}`
and the variance is the multistage "ultimate cluster + later stages" estimator
of R's ``svyrecvar`` (Lumley 2004, *J. Stat. Softw.* 9(8); Särndal, Swensson &
Wretman 1992, §4.3):

.. math::

    \\hat V = \\sum_h (1-f_h)\\frac{n_h}{n_h-1}\\sum_{i\\in h}(z_{hi}-\\bar z_h)^2
              + \\sum_i \\frac{n_{h(i)}}{N_{h(i)}} \\hat V_{2,i} + \\dots

where :math:`z_{hi}` are PSU totals of :math:`z`, :math:`f_h = n_h/N_h` and the
later-stage terms are only added when a finite population correction is given
(exactly as R does).  Domains keep the full design: rows outside the domain have
zero influence but their PSUs still count in :math:`n_h` (R's ``svyby`` on a
``survey.design2`` object).  Calibrated designs (post-stratification, raking,
GREG) replace :math:`z` by the residuals of its weighted regression on the
calibration variables, as R's ``svyrecvar`` does with ``qr.resid``.

Lonely PSUs follow ``options(survey.lonely.psu=)``: ``"fail"`` (default, raises
:class:`~sipas.errors.LonelyPSUError`), ``"remove"``, ``"certainty"``,
``"adjust"`` and ``"average"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats

from sipas.errors import DesignError, EstimationError, LonelyPSUError
from sipas.estimation.replicates import _make_replicates, _Replicates
from sipas.estimation.results import Contrast, Estimate, _t_quantile

LONELY_PSU_OPTIONS = ("fail", "remove", "certainty", "adjust", "average")


LonelyPSU = Literal["fail", "remove", "certainty", "adjust", "average"]


# --------------------------------------------------------------------------- internals
@dataclass
class _Stage:
    """One sampling stage: clusters (codes per row) nested in strata."""

    cluster: np.ndarray  # (n,) int codes 0..C-1
    n_clusters: int
    cluster_stratum: np.ndarray  # (C,) int codes 0..S-1
    n_strata: int
    n_h: np.ndarray  # (S,) clusters sampled per stratum
    popsize: np.ndarray | None  # (S,) population clusters per stratum (None = with replacement)
    stratum_labels: list[Any]
    _agg: sp.csr_matrix | None = None

    def f_correction(self) -> np.ndarray:
        """R's ``f = (N - n)/N`` (1 when no fpc)."""
        if self.popsize is None:
            return np.ones(self.n_strata)
        return np.where(np.isinf(self.popsize), 1.0, (self.popsize - self.n_h) / self.popsize)

    def agg(self) -> sp.csr_matrix:
        if self._agg is None:
            n = self.cluster.shape[0]
            self._agg = sp.csr_matrix(
                (np.ones(n), (self.cluster, np.arange(n))), shape=(self.n_clusters, n)
            )
        return self._agg


@dataclass
class _Calibration:
    """A linear calibration step (post-stratification, raking margin set, GREG).

    ``X`` are the calibration variables, ``w0`` the weights before and ``w1``
    after the step.  The influence values are replaced by
    ``z - w1 * X @ beta`` with ``beta = (X' W0 X)^{-1} X' (z / g)``, ``g = w1/w0``
    (R: ``qr.resid(qr(X*sqrt(w0)), z/(g*sqrt(w0))) * g*sqrt(w0)``).
    """

    X: np.ndarray  # (n, p)
    w0: np.ndarray
    w1: np.ndarray
    kind: str = "greg"
    _xtwx_inv: np.ndarray | None = None

    def xtwx_pinv(self) -> np.ndarray:
        if self._xtwx_inv is None:
            m = self.X.T @ (self.X * self.w0[:, None])
            self._xtwx_inv = np.linalg.pinv(m)
        return self._xtwx_inv

    @property
    def g(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.w0 > 0, self.w1 / np.where(self.w0 > 0, self.w0, 1.0), 0.0)


@dataclass
class _RakingCalibration:
    """Raking by iterative post-stratification (R's ``rake``; class ``"raking"``).

    ``psw[m]`` are the weights right after post-stratifying on margin ``m`` in
    the last raking iteration.  R's ``svyrecvar`` removes margin means with
    ``n_iter`` back-fitting passes: ``x <- x - psw * ave(x/psw, margin)``.
    """

    codes: list[np.ndarray]
    n_levels: list[int]
    psw: list[np.ndarray]
    n_iter: int = 10
    kind: str = "raking"


def _codes(values: pd.Series | pd.DataFrame, *, what: str) -> tuple[np.ndarray, list[Any]]:
    """Sorted integer codes of one or several columns; error on missing values."""
    if isinstance(values, pd.DataFrame):
        if values.isna().any().any():
            row = int(np.flatnonzero(values.isna().any(axis=1).to_numpy())[0])
            raise DesignError(f"missing value in {what} at data row {row + 1} (0-based position {row})")
        grouped = values.groupby(list(values.columns), sort=True)
        codes = grouped.ngroup().to_numpy()
        labels = list(grouped.groups.keys())
        return codes.astype(np.int64), labels
    if values.isna().any():
        row = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise DesignError(f"missing value in {what} {values.name!r} at data position {row}")
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64), list(uniques)


def _as_list(x: str | Sequence[str] | None) -> list[str]:
    if x is None:
        return []
    if isinstance(x, str):
        return [x]
    return list(x)


# --------------------------------------------------------------------------- design
class Design:
    """A complex survey design (R: ``svydesign``; ``svrepdesign`` after :meth:`replicate`).

    Parameters
    ----------
    data:
        One row per respondent.
    weight:
        Column of final (sampling) weights, or an array of weights.
    strata:
        Column(s) of first-stage strata (``None`` = unstratified).
    psu:
        Column of primary sampling units, or a list of columns for a multistage
        design (``[psu, ssu, ...]``; R's ``id=~psu+ssu``).  Clusters are nested
        in strata (and later-stage units in earlier ones) by construction
        (R's ``nest=TRUE``).  ``None``: each row is its own PSU.
    fpc:
        Finite population correction per stage, as R's ``fpc=``: a column (or a
        list of columns, one per stage) holding either the population number of
        units of that stage in the stratum (values > 1) or the sampling fraction
        (all values <= 1).  Later stages only add variance when an fpc is given
        (R's rule).
    lonely_psu:
        Treatment of strata with a single PSU (R's ``options(survey.lonely.psu=)``):
        ``"fail"`` (default), ``"remove"``, ``"certainty"`` (no variance from the
        stratum), ``"adjust"`` (the lonely PSU's total is centred at the grand mean of
        all PSU totals of the stage instead of its stratum mean, as current R survey (CRAN, later than 4.1-1):
        for totals this gives ``cran/survey`` ``tests/lonely.psu.R``'s 127579.8, where
        survey 4.1-1 centred at 0 and gave 562225), ``"average"`` (the variance of
        the other strata scaled up by #strata / #strata with several PSUs).
    level:
        Default confidence level of intervals.

    Notes
    -----
    Degrees of freedom (R's ``degf``): number of PSUs minus number of strata.
    Reference: Lumley, T. (2010) *Complex Surveys: A Guide to Analysis Using R*,
    Wiley; R package ``survey`` functions ``svydesign``, ``svyrecvar``.
    """

    def __init__(
        self,
        data: pd.DataFrame,
        *,
        weight: str | np.ndarray | pd.Series,
        strata: str | Sequence[str] | None = None,
        psu: str | Sequence[str] | None = None,
        fpc: str | Sequence[str] | None = None,
        lonely_psu: LonelyPSU = "fail",
        level: float = 0.95,
    ) -> None:
        if not isinstance(data, pd.DataFrame):
            raise DesignError("data must be a pandas DataFrame")
        if lonely_psu not in LONELY_PSU_OPTIONS:
            raise DesignError(f"lonely_psu must be one of {LONELY_PSU_OPTIONS}, got {lonely_psu!r}")
        if not 0 < level < 1:
            raise DesignError(f"level must be in (0, 1), got {level}")
        self._data = data
        self.lonely_psu: str = lonely_psu
        self.level = float(level)
        n = len(data)
        if n == 0:
            raise DesignError("data has no rows")
        # weights
        if isinstance(weight, str):
            if weight not in data.columns:
                raise DesignError(f"weight column {weight!r} not in data")
            w = pd.to_numeric(data[weight], errors="coerce").to_numpy(dtype=float)
            self.weight_name: str | None = weight
        else:
            w = np.asarray(weight, dtype=float).reshape(-1)
            self.weight_name = None
            if w.shape[0] != n:
                raise DesignError(f"weight has {w.shape[0]} values, data has {n} rows")
        bad = ~np.isfinite(w) | (w < 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DesignError(f"weight missing, infinite or negative at data row {data.index[i]!r} (position {i})")
        self._w = w
        self._strata_cols = _as_list(strata)
        self._psu_cols = _as_list(psu)
        self._fpc_cols = _as_list(fpc)
        for c in self._strata_cols + self._psu_cols + self._fpc_cols:
            if c not in data.columns:
                raise DesignError(f"design column {c!r} not in data")
        if self._fpc_cols and len(self._fpc_cols) > max(1, len(self._psu_cols)):
            raise DesignError("more fpc columns than sampling stages")
        self._stages = self._build_stages()
        self._calibrations: list[_Calibration] = []
        self._replicates: _Replicates | None = None

    # ------------------------------------------------------------------ construction
    def _build_stages(self) -> list[_Stage]:
        data = self._data
        n = len(data)
        n_stage = max(1, len(self._psu_cols))
        stages: list[_Stage] = []
        if self._strata_cols:
            strat_codes, strat_labels = _codes(
                data[self._strata_cols[0]] if len(self._strata_cols) == 1 else data[self._strata_cols], what="strata"
            )
        else:
            strat_codes, strat_labels = np.zeros(n, dtype=np.int64), [None]
        prev_cluster = strat_codes  # clusters of stage s are nested in strata (stage 1) / previous clusters
        for s in range(n_stage):
            if s < len(self._psu_cols):
                key_cols = self._psu_cols[: s + 1]
                frame = data[key_cols].copy()
                frame.insert(0, "__stratum__", strat_codes)
                cl_codes, _ = _codes(frame, what=f"stage-{s + 1} cluster ids")
            else:
                cl_codes = np.arange(n, dtype=np.int64)
            if s == 0:
                stratum_of_row = strat_codes
                labels = strat_labels
            else:
                stratum_of_row = prev_cluster
                labels = list(range(int(prev_cluster.max()) + 1))
            n_cl = int(cl_codes.max()) + 1
            cl_stratum = np.zeros(n_cl, dtype=np.int64)
            cl_stratum[cl_codes] = stratum_of_row
            n_str = int(stratum_of_row.max()) + 1
            n_h = np.bincount(cl_stratum, minlength=n_str).astype(float)
            popsize = None
            if s < len(self._fpc_cols):
                col = self._fpc_cols[s]
                vals = pd.to_numeric(data[col], errors="coerce").to_numpy(dtype=float)
                if np.isnan(vals).any():
                    i = int(np.flatnonzero(np.isnan(vals))[0])
                    raise DesignError(f"fpc column {col!r} missing at data position {i}")
                per_str = np.full(n_str, np.nan)
                per_str[stratum_of_row] = vals
                # constant within strata?
                if not np.allclose(per_str[stratum_of_row], vals, rtol=0, atol=0):
                    raise DesignError(f"fpc column {col!r} varies within strata at stage {s + 1}")
                is_pop = bool((vals > 1).any())
                if is_pop and not (vals >= 1).all():
                    raise DesignError(f"fpc column {col!r}: must have all fpc >= 1 (population sizes) or all <= 1 (fractions)")
                if (vals <= 0).any():
                    raise DesignError(f"fpc column {col!r} has values <= 0")
                popsize = per_str if is_pop else n_h / per_str
                if (popsize < n_h - 1e-9).any():
                    h = int(np.flatnonzero(popsize < n_h - 1e-9)[0])
                    raise DesignError(f"fpc column {col!r} implies more than 100% sampling in stratum {labels[h]!r} at stage {s + 1}")
            stages.append(
                _Stage(
                    cluster=cl_codes,
                    n_clusters=n_cl,
                    cluster_stratum=cl_stratum,
                    n_strata=n_str,
                    n_h=n_h,
                    popsize=popsize,
                    stratum_labels=labels,
                )
            )
            prev_cluster = cl_codes
        return stages

    def _copy(self) -> "Design":
        new = object.__new__(Design)
        new.__dict__.update(self.__dict__)
        new._calibrations = list(self._calibrations)
        return new

    def with_weights(self, weights: np.ndarray | pd.Series, *, calibration: _Calibration | None = None) -> "Design":
        """New design with the same structure and new final weights (used by :mod:`sipas.estimation.weighting`)."""
        w = np.asarray(weights, dtype=float).reshape(-1)
        if w.shape[0] != self.n_rows:
            raise DesignError(f"{w.shape[0]} weights for {self.n_rows} rows")
        if (~np.isfinite(w) | (w < 0)).any():
            raise DesignError("new weights contain missing, infinite or negative values")
        new = self._copy()
        new._w = w
        if calibration is not None:
            new._calibrations.append(calibration)
        if self._replicates is not None:
            raise DesignError("re-weighting a replicate design is not supported; weight first, then call .replicate()")
        return new

    # ------------------------------------------------------------------ properties
    @property
    def data(self) -> pd.DataFrame:
        """The survey data (not copied)."""
        return self._data

    @property
    def weights(self) -> pd.Series:
        """Final weights, indexed as the data."""
        return pd.Series(self._w, index=self._data.index, name=self.weight_name or "weight")

    @property
    def n_rows(self) -> int:
        return int(self._w.shape[0])

    @property
    def n_psu(self) -> int:
        return self._stages[0].n_clusters

    @property
    def n_strata(self) -> int:
        return self._stages[0].n_strata

    @property
    def df(self) -> float:
        """Design degrees of freedom, R's ``degf``: #PSU − #strata (replicate designs: rank − 1 as R)."""
        if self._replicates is not None:
            return float(self._replicate_df())
        return float(self.n_psu - self.n_strata)

    @property
    def is_calibrated(self) -> bool:
        return bool(self._calibrations)

    @property
    def is_replicate(self) -> bool:
        return self._replicates is not None

    def __repr__(self) -> str:
        kind = f"replicate ({self._replicates.kind}, {self._replicates.n_replicates})" if self._replicates else "Taylor"
        return (
            f"Design(n={self.n_rows}, strata={self.n_strata}, psu={self.n_psu}, stages={len(self._stages)}, "
            f"calibrated={self.is_calibrated}, variance={kind}, lonely_psu={self.lonely_psu!r})"
        )

    # ------------------------------------------------------------------ variance core
    def _stage_variance(self, stage_idx: int, zc: np.ndarray, multiplier: np.ndarray | None) -> np.ndarray:
        """Between-cluster variance at one stage from cluster totals ``zc`` (C × m).

        R: ``onestage``/``onestrat`` in ``multistage.R``.  ``multiplier`` is a
        per-stratum factor (n/N of the parent stage for later stages).
        """
        st = self._stages[stage_idx]
        S = st.n_strata
        n_h = st.n_h
        f = st.f_correction()
        scale = np.where(n_h > 1, f * n_h / np.maximum(n_h - 1, 1), f)
        scale = np.where(f < 1e-7, 0.0, scale)
        if multiplier is not None:
            scale = scale * multiplier
        agg = sp.csr_matrix(
            (np.ones(st.n_clusters), (st.cluster_stratum, np.arange(st.n_clusters))), shape=(S, st.n_clusters)
        )
        means = (agg @ zc) / n_h[:, None]
        lonely = (n_h == 1) & (f >= 1e-7)
        centred = zc - means[st.cluster_stratum]
        if lonely.any():
            if self.lonely_psu == "fail":
                h = int(np.flatnonzero(lonely)[0])
                label = st.stratum_labels[h] if h < len(st.stratum_labels) else h
                raise LonelyPSUError(
                    f"Stratum ({label}) has only one PSU at stage {stage_idx + 1}; choose lonely_psu="
                    "'remove', 'certainty', 'adjust' or 'average' (R: options(survey.lonely.psu=))",
                    stratum=label,
                    stage=stage_idx + 1,
                )
            if self.lonely_psu == "adjust":
                # centre a lonely PSU at the grand mean of the stage's PSU totals (within the
                # parent cluster at later stages) instead of its stratum mean (current R survey (CRAN, later than 4.1-1);
                # survey 4.1-1 centred at 0, which differs for totals, not for means or ratios)
                if stage_idx == 0:
                    group = np.zeros(st.n_clusters, dtype=np.int64)
                else:
                    first_row = np.full(st.n_clusters, self.n_rows, dtype=np.int64)
                    np.minimum.at(first_row, st.cluster, np.arange(self.n_rows))
                    group = self._stages[stage_idx - 1].cluster[first_row]
                G = int(group.max()) + 1
                sums = np.zeros((G, zc.shape[1]))
                np.add.at(sums, group, zc)
                grand = sums / np.bincount(group, minlength=G)[:, None]
                lonely_cl = lonely[st.cluster_stratum]
                centred[lonely_cl] = zc[lonely_cl] - grand[group[lonely_cl]]
        ss = agg @ (centred * centred)  # (S, m)
        ss = ss * scale[:, None]
        if lonely.any() and self.lonely_psu == "average":
            ok = ~lonely
            n_ok = int(ok.sum())
            if n_ok == 0:
                raise EstimationError("every stratum has a single PSU: lonely_psu='average' cannot be used")
            return ss[ok].sum(axis=0) * S / n_ok
        if lonely.any() and self.lonely_psu in ("remove", "certainty"):
            ss[lonely] = 0.0
        return ss.sum(axis=0)

    def _variance_from_cluster_totals(self, totals: list[np.ndarray]) -> np.ndarray:
        """Multistage variance from cluster totals of the influence values at each stage."""
        v = self._stage_variance(0, totals[0], None)
        cum: dict[int, np.ndarray] = {}
        for s in range(1, len(totals)):
            parent = self._stages[s - 1]
            # strata of stage s are the clusters of stage s-1; R multiplies the
            # within-cluster variance by n/N of the parent's stratum (recursively)
            frac = parent.n_h / parent.popsize
            mult = frac[parent.cluster_stratum]
            if s >= 2:
                mult = mult * cum[s - 1][parent.cluster_stratum]
            cum[s] = mult
            v = v + self._stage_variance(s, totals[s], mult)
        return v

    def _n_var_stages(self) -> int:
        if len(self._stages) > 1 and self._stages[0].popsize is not None:
            k = 1
            for s in range(1, len(self._stages)):
                if self._stages[s - 1].popsize is None:
                    break
                k += 1
            return k
        return 1

    # ------------------------------------------------------------------ linearised ratio engine
    def _domain_codes(self, by: str | Sequence[str] | None) -> tuple[np.ndarray, pd.DataFrame | None, list[str]]:
        cols = _as_list(by)
        n = self.n_rows
        if not cols:
            return np.zeros(n, dtype=np.int64), None, []
        for c in cols:
            if c not in self._data.columns:
                raise EstimationError(f"by column {c!r} not in data")
        frame = self._data[cols]
        grouped = frame.groupby(cols[0] if len(cols) == 1 else cols, sort=True, dropna=True, observed=True)
        codes = grouped.ngroup().fillna(-1).to_numpy().astype(np.int64)  # -1 where any by value is NA
        keys = list(grouped.groups.keys())
        if len(cols) == 1:
            labels = pd.DataFrame({cols[0]: keys})
        else:
            labels = pd.DataFrame(keys, columns=cols)
        # ngroup numbering follows sorted keys
        return codes, labels, cols

    def _ratio_engine(
        self,
        A: np.ndarray,
        B: np.ndarray | None,
        dom: np.ndarray,
        D: int,
        *,
        obs: np.ndarray,
        want_deff: bool,
        kind: str,
    ) -> dict[str, np.ndarray]:
        """Estimates and variances of ``T_a,d / T_b,d`` for all columns and domains at once.

        Parameters
        ----------
        A : (n, k) numerator values, 0 where not used.
        B : (n, k) denominator values (None for totals).
        dom : (n,) domain codes, -1 = in no domain.
        obs : (n, k) 0/1 indicator of the rows that contribute to each item.

        Returns
        -------
        dict with (D, k) arrays ``est``, ``var``, ``n``, ``deff`` (and ``Tb``, ``dom``).
        """
        n, k = A.shape
        w = self._w
        rows = np.flatnonzero(dom >= 0)
        dsel = dom[rows]
        AB = np.ascontiguousarray(A if B is None else np.hstack([A, B]), dtype=float)
        st = self._stages[0]
        C = st.n_clusters
        # one sparse product gives PSU x domain totals of every numerator and denominator
        M1 = sp.csr_matrix((w[rows], (st.cluster[rows] * D + dsel, rows)), shape=(C * D, n))
        C1 = np.asarray(M1 @ AB).reshape(C, D, AB.shape[1])
        T = C1.sum(axis=0)
        Ta = T[:, :k]
        if B is not None:
            Tb = T[:, k:]
            with np.errstate(divide="ignore", invalid="ignore"):
                theta = Ta / Tb
        else:
            Tb = np.ones_like(Ta)
            theta = Ta
        if self._replicates is not None:
            var = self._replicate_variance(AB, k, B is not None, dom, D, theta, C1)
        else:
            totals = self._influence_cluster_totals(A, B, dom, D, theta, Tb, C1=C1)
            var = self._variance_from_cluster_totals(totals).reshape(D, k)
        G1 = sp.csr_matrix((np.ones(rows.size), (dsel, rows)), shape=(D, n))
        cnt = np.asarray(G1 @ np.ascontiguousarray(obs, dtype=float))
        deff = np.full_like(theta, np.nan)
        if want_deff and kind in ("mean", "proportion", "total"):
            Gw = sp.csr_matrix((w[rows], (dsel, rows)), shape=(D, n))
            syy = np.asarray(Gw @ (A * A))  # A = y on observed rows, 0 elsewhere
            if kind == "total":
                N = np.asarray(Gw @ np.ascontiguousarray(obs, dtype=float))
            else:
                N = Tb
            deff = self._deff(Ta, syy, N, cnt, var, kind)
        return {"est": theta, "var": var, "n": cnt, "deff": deff, "Tb": Tb, "dom": dom}

    def _influence_cluster_totals(
        self,
        A: np.ndarray,
        B: np.ndarray | None,
        dom: np.ndarray,
        D: int,
        theta: np.ndarray,
        Tb: np.ndarray,
        *,
        C1: np.ndarray | None = None,
    ) -> list[np.ndarray]:
        """Cluster totals (C_s × D·k) at each variance stage of the (calibrated) influence values."""
        n, k = A.shape
        w = self._w
        rows = np.flatnonzero(dom >= 0)
        dsel = dom[rows]
        out = []
        theta_f = theta.reshape(1, D, k)
        with np.errstate(divide="ignore", invalid="ignore"):
            inv_tb = np.where(Tb != 0, 1.0 / Tb, 0.0).reshape(1, D, k)
        th = np.nan_to_num(theta_f)
        for s in range(self._n_var_stages()):
            st = self._stages[s]
            C = st.n_clusters
            if s == 0 and C1 is not None:
                Ca = C1[:, :, :k]
                Cb = C1[:, :, k:] if B is not None else None
            else:
                M = sp.csr_matrix((w[rows], (st.cluster[rows] * D + dsel, rows)), shape=(C * D, n))
                Ca = np.asarray(M @ A).reshape(C, D, k)
                Cb = np.asarray(M @ B).reshape(C, D, k) if B is not None else None
            if Cb is not None:
                zc = (Ca - th * Cb) * inv_tb
            else:
                zc = Ca
            out.append(zc.reshape(C, D * k))
        if self._calibrations:
            terms = self._calibration_terms(A, B, dom, D, th, inv_tb)
            for s in range(len(out)):
                agg = self._stages[s].agg()
                for V, beta in terms:
                    cv = agg @ V
                    cv = cv.toarray() if sp.issparse(cv) else np.asarray(cv)  # (C, p)
                    out[s] = out[s] - cv @ beta
        return out

    def _calibration_terms(
        self, A: np.ndarray, B: np.ndarray | None, dom: np.ndarray, D: int, th: np.ndarray, inv_tb: np.ndarray
    ) -> list[list[Any]]:
        """Calibration adjustments of the influence values, as ``[(V_t, beta_t), ...]``.

        The calibrated influence values are ``z - sum_t V_t @ beta_t`` (V_t: n × p_t
        row matrices, beta_t: p_t × (D·k)).  Projections ``U' x`` of the current
        influence values needed by each step are computed without forming the
        n × (D·k) matrix: ``U' z`` with a sparse domain-crossed product and
        ``U' V_t beta_t`` from small cross-products.
        """
        n, k = A.shape
        w = self._w
        keep = dom >= 0

        def u_z(U: Any) -> np.ndarray:
            coo = sp.coo_matrix(U)
            ok = keep[coo.row]
            r, c, v = coo.row[ok], coo.col[ok], coo.data[ok]
            q = U.shape[1]
            M = sp.csr_matrix((v * w[r], (c * D + dom[r], r)), shape=(q * D, n))
            Qa = np.asarray(M @ A).reshape(q, D, k)
            if B is not None:
                Qb = np.asarray(M @ B).reshape(q, D, k)
                Q = (Qa - th * Qb) * inv_tb
            else:
                Q = Qa
            return Q.reshape(q, D * k)

        terms: list[list[Any]] = []
        for cal in self._calibrations:
            if isinstance(cal, _RakingCalibration):
                Us, Vs, nls = [], [], []
                for codes, nl, psw in zip(cal.codes, cal.n_levels, cal.psw):
                    L = sp.csr_matrix((np.ones(n), (np.arange(n), codes)), shape=(n, nl))
                    with np.errstate(divide="ignore"):
                        inv = np.where(psw > 0, 1.0 / np.where(psw > 0, psw, 1.0), 0.0)
                    Us.append(sp.csr_matrix(sp.diags(inv) @ L))
                    Vs.append(sp.csr_matrix(sp.diags(psw) @ L))
                    nls.append(np.maximum(np.bincount(codes, minlength=nl).astype(float), 1.0))
                start = len(terms)
                for V in Vs:
                    terms.append([V, np.zeros((V.shape[1], D * k))])
                uz = [u_z(U) for U in Us]
                cross = [[np.asarray((U.T @ t[0]).todense() if sp.issparse(t[0]) else U.T @ t[0]) for t in terms] for U in Us]
                for _ in range(cal.n_iter):
                    for m in range(len(Us)):
                        proj = uz[m].copy()
                        for t_idx, t in enumerate(terms):
                            proj -= cross[m][t_idx] @ t[1]
                        terms[start + m][1] = terms[start + m][1] + proj / nls[m][:, None]
            else:
                g = cal.g
                with np.errstate(divide="ignore", invalid="ignore"):
                    U = np.where(g[:, None] > 0, cal.X / np.where(g > 0, g, 1.0)[:, None], 0.0)
                Q = u_z(U)
                for V, beta in terms:
                    Q = Q - np.asarray(U.T @ V if not sp.issparse(V) else (V.T @ U).T) @ beta
                beta = cal.xtwx_pinv() @ Q
                terms.append([cal.X * cal.w1[:, None], beta])
        return terms

    @staticmethod
    def _deff(Ta: np.ndarray, syy: np.ndarray, N: np.ndarray, nobs: np.ndarray, var: np.ndarray, kind: str) -> np.ndarray:
        r"""R's ``deff=TRUE`` (survey ``svymean``/``svytotal``).

        :math:`deff = \hat V / V_{srs}` with :math:`V_{srs} = s^2 (N-n)/(N n)` for a
        mean and :math:`s^2 N^2 (N-n)/(N n)` for a total, where
        :math:`s^2 = \frac{n}{n-1}\sum w (y-\bar y)^2/\sum w` (R's ``svyvar``) over
        the contributing rows, :math:`N = \sum w` and :math:`n` their number.
        """
        with np.errstate(divide="ignore", invalid="ignore"):
            ybar = Ta / N
            s2w = syy / N - ybar**2
            s2 = s2w * nobs / (nobs - 1)
            vsrs = s2 * (N - nobs) / (N * nobs)
            if kind == "total":
                vsrs = vsrs * N**2
            return var / vsrs

    # ------------------------------------------------------------------ replicate engine
    def _replicate_df(self) -> int:
        """R's ``degf`` for replicate designs: rank of the replicate weights − 1."""
        r = self._replicates
        if r.df is None:
            F = r.psu_factors if r.psu_factors is not None else (r.row_factors if r.row_factors is not None else r.rep_weights)
            r.df = int(np.linalg.matrix_rank(F)) - 1
        return r.df

    def _replicate_totals(self, V: np.ndarray, dom: np.ndarray, D: int) -> np.ndarray:
        """Replicate totals of columns of ``V`` per domain: (R, D, m)."""
        r = self._replicates
        n, m = V.shape
        rows = np.flatnonzero(dom >= 0)
        dsel = dom[rows]
        if r.psu_factors is not None:
            st = self._stages[0]
            C = st.n_clusters
            M = sp.csr_matrix((self._w[rows], (st.cluster[rows] * D + dsel, rows)), shape=(C * D, n))
            Cv = np.asarray(M @ V).reshape(C, D * m)
            return (r.psu_factors.T @ Cv).reshape(-1, D, m)
        W = r.rep_weights if r.rep_weights is not None else r.row_factors * self._w[:, None]
        out = np.empty((W.shape[1], D, m))
        for d in range(D):  # loop over domains only; all items and replicates in one product
            idx = rows[dsel == d]
            out[:, d, :] = W[idx].T @ V[idx]
        return out

    def _replicate_variance(
        self, AB: np.ndarray, k: int, has_b: bool, dom: np.ndarray, D: int, theta: np.ndarray, C1: np.ndarray
    ) -> np.ndarray:
        """``scale * sum_r rscale_r (theta_r - centre)^2`` (R ``svrVar``), all items and domains at once."""
        r = self._replicates
        if r.psu_factors is not None:
            C = C1.shape[0]
            RT = (r.psu_factors.T @ C1.reshape(C, -1)).reshape(-1, D, AB.shape[1])
        else:
            RT = self._replicate_totals(AB, dom, D)
        if has_b:
            with np.errstate(divide="ignore", invalid="ignore"):
                th_r = RT[:, :, :k] / RT[:, :, k:]
        else:
            th_r = RT
        centre = theta[None] if r.mse else th_r.mean(axis=0, keepdims=True)
        dev = th_r - centre
        return r.scale * np.einsum("r,rdk->dk", r.rscales, dev * dev)

    # ------------------------------------------------------------------ public estimators
    def _numeric(self, variables: list[str]) -> np.ndarray:
        for v in variables:
            if v not in self._data.columns:
                raise EstimationError(f"variable {v!r} not in data")
        frame = self._data[variables]
        try:
            X = frame.to_numpy(dtype=float, na_value=np.nan)
        except (ValueError, TypeError):
            try:
                X = frame.apply(pd.to_numeric, errors="raise").to_numpy(dtype=float, na_value=np.nan)
            except (ValueError, TypeError) as exc:
                raise EstimationError(f"non-numeric values in {variables}: {exc}") from exc
        return np.ascontiguousarray(X)

    def _df_array(self, df: float | str | None, dom: np.ndarray | None, D: int, k: int) -> np.ndarray:
        """Degrees of freedom per (domain, item).

        ``None``: design df (R ``degf(design)``); a number: that number
        (``inf`` = normal intervals); ``"domain"``: R's ``degf`` of the domain
        subset, #PSUs − #strata among rows of the domain with non-zero weight.
        """
        if df is None:
            return np.full((D, k), self.df)
        if isinstance(df, str):
            if df != "domain":
                raise EstimationError(f"df must be a number, None or 'domain', got {df!r}")
            if dom is None:
                dom = np.zeros(self.n_rows, dtype=np.int64)
            if self._replicates is not None:
                return np.full((D, k), self.df)
            st = self._stages[0]
            ok = (dom >= 0) & (self._w != 0)
            dd = dom[ok]
            n_psu = np.bincount(np.unique(dd * st.n_clusters + st.cluster[ok]) // st.n_clusters, minlength=D)
            strata_of_row = st.cluster_stratum[st.cluster[ok]]
            n_str = np.bincount(np.unique(dd * st.n_strata + strata_of_row) // st.n_strata, minlength=D)
            return np.repeat((n_psu - n_str).astype(float)[:, None], k, axis=1)
        return np.full((D, k), float(df))

    def _finish(
        self,
        res: dict[str, np.ndarray],
        variables: list[str],
        labels: pd.DataFrame | None,
        by_cols: list[str],
        *,
        level: float | None,
        df: float | None,
        scalar: bool,
        extra: dict[str, list[Any]] | None = None,
    ) -> Estimate | pd.DataFrame:
        level = self.level if level is None else level
        est = res["est"]
        D, k = est.shape
        dfa = self._df_array(df, res.get("dom"), D, k)
        se = np.sqrt(np.maximum(res["var"], 0.0))
        q = _t_quantile(level, dfa)
        lo, hi = est - q * se, est + q * se
        if scalar:
            return Estimate(
                float(est[0, 0]), float(se[0, 0]), float(lo[0, 0]), float(hi[0, 0]), float(dfa[0, 0]),
                float(res["deff"][0, 0]), int(res["n"][0, 0]), variables[0],
            )
        frame = pd.DataFrame(
            {
                "variable": np.tile(np.asarray(variables, dtype=object), D),
                "estimate": est.ravel(),
                "se": se.ravel(),
                "ci_low": lo.ravel(),
                "ci_high": hi.ravel(),
                "df": dfa.ravel(),
                "deff": res["deff"].ravel(),
                "n": res["n"].ravel().astype(np.int64),
            }
        )
        if extra:
            for i, (name, vals) in enumerate(extra.items()):
                frame.insert(1 + i, name, np.tile(np.asarray(vals, dtype=object), D))
        if labels is not None:
            rep = labels.loc[labels.index.repeat(k)].reset_index(drop=True)
            frame = pd.concat([rep, frame], axis=1)
        return frame

    def mean(
        self,
        variables: str | Sequence[str],
        *,
        by: str | Sequence[str] | None = None,
        level: float | None = None,
        df: float | str | None = None,
        deff: bool = True,
    ) -> Estimate | pd.DataFrame:
        """Weighted means with design-based standard errors (R: ``svymean(..., na.rm=TRUE)``, ``svyby``).

        .. math:: \\hat\\mu_d = \\frac{\\sum_j w_j 1_d(j) o_j y_j}{\\sum_j w_j 1_d(j) o_j}

        where :math:`o_j` flags rows where the item is observed (missing values are
        dropped item by item, keeping the full design: domain estimation).

        Parameters
        ----------
        variables:
            One column name (scalar result) or a list of columns.
        by:
            Domain column(s); one row per domain × variable.
        level:
            Confidence level (default: the design's).
        df:
            Degrees of freedom for the t interval: ``None`` (default) = design df
            (R ``degf``); a number (``float("inf")`` = normal intervals, R's
            ``confint`` default); ``"domain"`` = R's ``degf`` of each domain subset
            (#PSUs − #strata with rows in the domain).
        deff:
            Compute R's design effect (``deff=TRUE``).

        Returns
        -------
        Estimate or DataFrame
            A scalar :class:`Estimate` when ``variables`` is a single string and
            ``by`` is None, else a tidy DataFrame with columns
            ``[by...], variable, estimate, se, ci_low, ci_high, df, deff, n``.
        """
        scalar = isinstance(variables, str) and by is None
        vars_ = _as_list(variables)
        if not vars_:
            raise EstimationError("no variables given")
        Y = self._numeric(vars_)
        obs = ~np.isnan(Y)
        A = np.where(obs, Y, 0.0)
        B = obs.astype(float)
        dom, labels, by_cols = self._domain_codes(by)
        D = 1 if labels is None else len(labels)
        res = self._ratio_engine(A, B, dom, D, obs=B, want_deff=deff, kind="mean")
        return self._finish(res, vars_, labels, by_cols, level=level, df=df, scalar=scalar)

    def total(
        self,
        variables: str | Sequence[str],
        *,
        by: str | Sequence[str] | None = None,
        level: float | None = None,
        df: float | str | None = None,
        deff: bool = True,
    ) -> Estimate | pd.DataFrame:
        """Horvitz–Thompson totals :math:`\\hat T_d = \\sum_j w_j 1_d(j) y_j` (R: ``svytotal(..., na.rm=TRUE)``).

        Missing item values contribute 0 (R's ``na.rm=TRUE``).  Same parameters and
        return types as :meth:`mean`.
        """
        scalar = isinstance(variables, str) and by is None
        vars_ = _as_list(variables)
        Y = self._numeric(vars_)
        obs = ~np.isnan(Y)
        A = np.where(obs, Y, 0.0)
        dom, labels, by_cols = self._domain_codes(by)
        D = 1 if labels is None else len(labels)
        res = self._ratio_engine(A, None, dom, D, obs=obs.astype(float), want_deff=deff, kind="total")
        return self._finish(res, vars_, labels, by_cols, level=level, df=df, scalar=scalar)

    def ratio(
        self,
        numerator: str | Sequence[str],
        denominator: str | Sequence[str],
        *,
        by: str | Sequence[str] | None = None,
        level: float | None = None,
        df: float | str | None = None,
    ) -> Estimate | pd.DataFrame:
        """Ratio of totals :math:`\\hat R = \\hat T_y / \\hat T_x` (R: ``svyratio``; ``svyby(..., svyratio)``).

        Linearisation: :math:`z_j = w_j (y_j - \\hat R x_j)/\\hat T_x`.  Rows with a
        missing numerator or denominator are dropped (``na.rm=TRUE``).  Numerator and
        denominator lists are paired element-wise (a single denominator is recycled).
        """
        nums = _as_list(numerator)
        dens = _as_list(denominator)
        if len(dens) == 1 and len(nums) > 1:
            dens = dens * len(nums)
        if len(dens) != len(nums):
            raise EstimationError("numerator and denominator lists must have the same length (or one denominator)")
        scalar = isinstance(numerator, str) and by is None
        Y = self._numeric(nums)
        X = self._numeric(dens)
        ok = ~(np.isnan(Y) | np.isnan(X))
        A = np.where(ok, Y, 0.0)
        B = np.where(ok, X, 0.0)
        dom, labels, by_cols = self._domain_codes(by)
        D = 1 if labels is None else len(labels)
        res = self._ratio_engine(A, B, dom, D, obs=ok.astype(float), want_deff=False, kind="ratio")
        names = [f"{a}/{b}" for a, b in zip(nums, dens)]
        return self._finish(res, names, labels, by_cols, level=level, df=df, scalar=scalar)

    def proportion(
        self,
        variable: str,
        *,
        by: str | Sequence[str] | None = None,
        level: float | None = None,
        df: float | str | None = None,
        ci_method: str = "logit",
    ) -> pd.DataFrame:
        """Proportion of each level of a categorical variable, one row per level (and domain).

        Estimates are means of level indicators (R: ``svymean(~factor(x))``); rows with
        a missing value are dropped.  Intervals come from each level's estimate, SE and
        degrees of freedom (:func:`sipas.estimation.propci.prop_interval`; R: ``svyciprop``):

        * ``"logit"`` (R default) and ``"likelihood"``: R's intervals from the
          quasi-binomial GLM of each level's indicator in each domain
          (:func:`sipas.estimation.propci.svyciprop`), with this table's degrees of freedom;
        * ``"xlogit"``: :math:`\\operatorname{expit}(\\operatorname{logit}\\hat p
          \\pm t_{df}\\, SE(\\hat p)/(\\hat p(1-\\hat p)))` (delta method);
        * ``"beta"`` (Korn & Graubard 1998): Clopper–Pearson with effective sample size
          :math:`n^* = \\hat p(1-\\hat p)/\\hat V \\cdot (t_{n-1}/t_{df})^2`;
        * ``"asin"``, ``"mean"``: R's arcsine and Wald intervals;
        * ``"wilson"``: Wilson score interval with the effective sample size
          :math:`\\hat p(1-\\hat p)/\\hat V` and the t quantile (not in R);
        * ``"wald"``: :math:`\\hat p \\pm t_{df} SE` (same as ``"mean"``).
        """
        if variable not in self._data.columns:
            raise EstimationError(f"variable {variable!r} not in data")
        col = self._data[variable]
        observed = col.notna().to_numpy()
        codes, levels = pd.factorize(col, sort=True)
        L = len(levels)
        if L == 0:
            raise EstimationError(f"variable {variable!r} has no observed values")
        A = np.zeros((self.n_rows, L))
        A[np.flatnonzero(observed), codes[observed]] = 1.0
        B = np.repeat(observed.astype(float)[:, None], L, axis=1)
        dom, labels, by_cols = self._domain_codes(by)
        D = 1 if labels is None else len(labels)
        res = self._ratio_engine(A, B, dom, D, obs=B, want_deff=True, kind="proportion")
        frame = self._finish(
            res, [variable] * L, labels, by_cols, level=level, df=df, scalar=False, extra={"level": list(levels)}
        )
        lvl = self.level if level is None else level
        from sipas.estimation.propci import glm_interval, prop_interval

        if ci_method in ("logit", "likelihood"):
            # R svyciprop: the quasi-binomial GLM of each level's indicator, per domain
            row_dom = np.zeros(len(frame), dtype=np.int64)
            if labels is not None:
                keys = {tuple(r): i for i, r in enumerate(labels.itertuples(index=False))}
                row_dom = np.array([keys[tuple(r)] for r in frame[by_cols].itertuples(index=False)])
            lo = np.full(len(frame), np.nan)
            hi = np.full(len(frame), np.nan)
            for j, lev in enumerate(levels):
                rows = np.flatnonzero((frame["level"] == lev).to_numpy())
                y = np.where(observed, (codes == j).astype(float), np.nan)
                dfs = np.full(D, np.nan)
                dfs[row_dom[rows]] = frame["df"].to_numpy(dtype=float)[rows]
                lo_l, hi_l = glm_interval(self, y, dom, D, level=lvl, df=dfs, method=ci_method)
                lo[rows], hi[rows] = lo_l[row_dom[rows]], hi_l[row_dom[rows]]
        else:
            lo, hi = prop_interval(
                frame["estimate"].to_numpy(), frame["se"].to_numpy(), level=lvl, df=frame["df"].to_numpy(),
                method=ci_method, n_rows=frame["n"].to_numpy(),
            )
        frame["ci_low"] = lo
        frame["ci_high"] = hi
        return frame

    def ciprop(
        self, variable: str, *, level: float | None = None, df: float | str | None = None,
        ci_method: str = "logit",
    ) -> Estimate:
        """Proportion of a 0/1 (or logical) variable with an R ``svyciprop`` interval.

        R: ``svyciprop(~I(x == 1), design, method = ci_method)``; see
        :func:`sipas.estimation.propci.svyciprop` for the methods and their formulas.
        """
        from sipas.estimation.propci import svyciprop

        return svyciprop(self, variable, level=level, df=df, ci_method=ci_method)

    def contrast(
        self,
        variable: str,
        *,
        by: str | Sequence[str],
        first: Any,
        second: Any,
        statistic: Literal["mean", "total"] = "mean",
        level: float | None = None,
    ) -> Contrast:
        """Difference between two domains with its design-based SE (R: ``svycontrast(svyby(...), ...)``).

        The covariance between the two domain estimates is taken into account: the
        contrast's influence values are the difference of the two domains' influence
        values, whose variance is computed with the full design.
        """
        dom, labels, by_cols = self._domain_codes(by)
        if labels is None:
            raise EstimationError("contrast needs by=")
        keys = [tuple(r) for r in labels.itertuples(index=False)]
        f = first if isinstance(first, tuple) else (first,)
        s = second if isinstance(second, tuple) else (second,)
        if f not in keys or s not in keys:
            raise EstimationError(f"domains {first!r} and {second!r} must both be in {keys}")
        i1, i2 = keys.index(f), keys.index(s)
        Y = self._numeric([variable])
        obs = ~np.isnan(Y)
        A0 = np.where(obs, Y, 0.0)[:, 0]
        B0 = obs.astype(float)[:, 0]
        d = dom
        # two columns: domain 1 and domain 2, as a single "domain" with two items
        A = np.column_stack([A0 * (d == i1), A0 * (d == i2)])
        B = np.column_stack([B0 * (d == i1), B0 * (d == i2)]) if statistic == "mean" else None
        one = np.zeros(self.n_rows, dtype=np.int64)
        w = self._w
        Ta = A.T @ w
        if B is not None:
            Tb = B.T @ w
            theta = (Ta / Tb).reshape(1, 2)
            TbM = Tb.reshape(1, 2)
        else:
            theta = Ta.reshape(1, 2)
            TbM = np.ones((1, 2))
        est = float(theta[0, 0] - theta[0, 1])
        if self._replicates is not None:
            r = self._replicates
            Tar = self._replicate_totals(A, one, 1)
            thr = Tar / self._replicate_totals(B, one, 1) if B is not None else Tar
            diff = thr[:, 0, 0] - thr[:, 0, 1]
            centre = est if r.mse else diff.mean()
            var = float(r.scale * np.sum(r.rscales * (diff - centre) ** 2))
        else:
            totals = self._influence_cluster_totals(A, B, one, 1, theta, TbM)
            totals = [t[:, [0]] - t[:, [1]] for t in totals]
            var = float(self._variance_from_cluster_totals(totals)[0])
        se = float(np.sqrt(max(var, 0.0)))
        dfv = self.df
        q = float(_t_quantile(self.level if level is None else level, dfv))
        z = est / se if se > 0 else float("nan")
        p = float(2 * stats.t.sf(abs(z), dfv)) if np.isfinite(dfv) else float(2 * stats.norm.sf(abs(z)))
        return Contrast(est, se, est - q * se, est + q * se, dfv, z, p)

    # ------------------------------------------------------------------ replicates
    def replicate(
        self,
        kind: Literal["JK1", "JKn", "bootstrap", "BRR", "Fay"],
        *,
        replicates: int | None = None,
        seed: int | None = None,
        rho: float | None = None,
        mse: bool = False,
        hadamard: np.ndarray | None = None,
    ) -> "Design":
        """Replicate-weight design with the same estimate methods (R: ``as.svrepdesign``).

        Replicate :math:`r` has weights :math:`w_j a_{rj}` (factors :math:`a_{rj}` set per
        PSU) and estimate :math:`\\hat\\theta_r`; the variance is R's ``svrVar``

        .. math:: \\hat V = c \\sum_r c_r (\\hat\\theta_r - \\tilde\\theta)^2,

        with :math:`\\tilde\\theta` the mean of the replicates (``mse=False``, R's default)
        or the full-sample estimate (``mse=True``).  Kinds (:math:`n_h` PSUs in stratum
        :math:`h`, :math:`f_h` its sampling fraction from ``fpc``, :math:`R` replicates):

        * ``"JK1"`` (R ``type="JK1"``): drop one PSU at a time, the others get
          :math:`n/(n-1)`; :math:`c = (1-f)(n-1)/n`, :math:`c_r = 1`.  Unstratified
          designs only (:class:`~sipas.errors.DesignError` otherwise, as R refuses).
        * ``"JKn"`` (R ``type="JKn"``): drop one PSU, the others of its stratum get
          :math:`n_h/(n_h-1)`; :math:`c = 1`, :math:`c_r = (1-f_h)(n_h-1)/n_h`.
        * ``"BRR"``, ``"Fay"`` (R ``type="BRR"``; ``type="Fay", fay.rho=rho``): exactly two
          PSUs per stratum.  Row :math:`k+1` of a Hadamard matrix :math:`H` (entries ±1)
          of order :math:`R > S` serves the :math:`k`-th stratum (:math:`k = 1..S`) and
          column :math:`r` the replicate: the stratum's first PSU in data order gets
          :math:`2-\\rho` and the second :math:`\\rho` when :math:`H_{k+1,r} = +1`, the
          other way round when it is -1 (BRR: :math:`\\rho = 0`; Fay: default
          :math:`\\rho = 0.3`); :math:`c = 1/(R(1-\\rho)^2)`, :math:`c_r = 1` (McCarthy
          1969; Judkins 1990; Wolter 2007, ch. 3).  Strata are taken in the order of
          their labels as text, as R sorts them (``"1" < "10" < "11" < "2"``); sipas
          compares code points, which is R's order in the C locale and, for labels of
          digits or of one-case ASCII letters, in every locale.  The default :math:`H`
          is the matrix R's ``survey:::hadamard(S)`` returns, built from the published
          constructions (:func:`_hadamard`), so the replicate weights -- and with them
          the SEs of ratios, means and domains -- are R's.
        * ``"bootstrap"``: Rao & Wu's rescaled bootstrap, :math:`m_h = n_h - 1` PSUs drawn
          with replacement in each stratum (Rao & Wu 1988; Rao, Wu & Yue 1992):
          :math:`a_{hi} = 1 - \\lambda_h + \\lambda_h \\frac{n_h}{m_h} m^*_{hi}`, with
          :math:`m^*_{hi}` the number of times PSU :math:`i` is drawn and
          :math:`\\lambda_h = \\sqrt{m_h (1-f_h)/(n_h-1)} = \\sqrt{1-f_h}`;
          :math:`c = 1/(R-1)`, :math:`c_r = 1`.  The bootstrap variance of a linear
          statistic then has expectation :math:`(1-f_h)\\frac{n_h}{n_h-1}\\sum_i
          (z_{hi}-\\bar z_h)^2` summed over strata, the Taylor variance with fpc.
          Without fpc this is R's ``type="subbootstrap"`` (factors
          :math:`\\frac{n_h}{n_h-1} m^*_{hi}`; R's subbootstrap has no fpc).  R's
          ``type="bootstrap"`` is another method, Canty & Davison's (1999): :math:`n_h`
          draws, factors :math:`m^*_{hi}`, :math:`c = \\frac{\\bar n}{\\bar n-1}\\frac{1}{R-1}`
          with :math:`\\bar n` the harmonic mean of the :math:`n_h`, and its own
          resampling when an fpc is given; :meth:`from_replicate_weights` with R's
          weights and ``scale`` reproduces it.  The draws come from NumPy's generator
          (``seed``), not from R's.

        Parameters
        ----------
        kind:
            ``"JK1"``, ``"JKn"``, ``"bootstrap"``, ``"BRR"`` or ``"Fay"``.
        replicates:
            Number of bootstrap replicates (default 50, as R).
        seed:
            Seed of the bootstrap draws.
        rho:
            Fay's :math:`\\rho` in ``[0, 1)`` (default 0.3).
        mse:
            Centre the squared deviations on the full-sample estimate (R's ``mse=TRUE``).
        hadamard:
            BRR/Fay only: a Hadamard matrix (entries ±1, or 1/0 read as +1/-1) of order
            at least :math:`S+1`, used instead of the default; its columns are the
            replicates (R's ``hadamard.matrix=``).  R's ``as.svrepdesign`` puts the first
            PSU in the *other* half-sample for a matrix it is given (where
            :math:`H_{k+1,r}` is -1 or 0), so R's ``hadamard.matrix=H`` is sipas's
            ``hadamard=-H`` (±1) or ``hadamard=1-H`` (1/0).

        Returns
        -------
        Design
            A replicate design (``is_replicate``); its ``df`` is R's ``degf``, the rank of
            the replicate weights minus one.

        Raises
        ------
        DesignError
            Unknown kind; a calibrated design; BRR/Fay without exactly two PSUs per
            stratum, with an invalid ``hadamard`` or ``rho``; ``hadamard`` for another
            kind; fewer than 2 bootstrap replicates.
        LonelyPSUError
            JKn, or the bootstrap with ``lonely_psu="fail"``, and a single-PSU stratum
            (other ``lonely_psu`` options: the bootstrap keeps that PSU at factor 1).
        """
        if self._calibrations:
            raise DesignError(
                "replicate weights for a calibrated design are not supported yet: build replicates "
                "from the uncalibrated design"
            )
        if hadamard is not None and kind not in ("BRR", "Fay"):
            raise DesignError("hadamard= is only used by BRR and Fay replicates")
        new = self._copy()
        new._replicates = _make_replicates(
            self, kind, replicates=replicates, seed=seed, rho=rho, mse=mse, hadamard=hadamard
        )
        return new

    @classmethod
    def from_replicate_weights(
        cls,
        data: pd.DataFrame,
        *,
        weight: str | np.ndarray | pd.Series,
        replicate_weights: np.ndarray | pd.DataFrame | Sequence[str],
        kind: Literal["JK1", "JKn", "bootstrap", "BRR", "Fay", "other"],
        combined_weights: bool = True,
        scale: float | None = None,
        rscales: np.ndarray | None = None,
        rho: float | None = None,
        mse: bool = False,
        level: float = 0.95,
    ) -> "Design":
        """Design from given replicate weights (R: ``svrepdesign``).

        ``combined_weights=False`` means the replicate columns are factors that
        multiply ``weight`` (R's ``combined.weights=FALSE``).  Default scales as R:
        BRR ``1/R``; Fay ``1/(R (1-rho)^2)``; JK1 ``(R-1)/R``; bootstrap ``1/(R-1)``.
        """
        des = cls(data, weight=weight, level=level)
        if isinstance(replicate_weights, (list, tuple)) and all(isinstance(c, str) for c in replicate_weights):
            W = data[list(replicate_weights)].to_numpy(dtype=float)
        else:
            W = np.asarray(replicate_weights, dtype=float)
        if W.ndim != 2 or W.shape[0] != len(data):
            raise DesignError("replicate_weights must have one row per data row")
        R = W.shape[1]
        if not combined_weights:
            W = W * des._w[:, None]
        default_scale = {
            "BRR": 1.0 / R,
            "Fay": 1.0 / (R * (1.0 - (rho if rho is not None else 0.0)) ** 2),
            "JK1": (R - 1.0) / R,
            "bootstrap": 1.0 / (R - 1.0),
            "JKn": 1.0,
            "other": 1.0,
        }
        if kind not in default_scale:
            raise DesignError(f"unknown replicate kind {kind!r}")
        if kind == "Fay" and rho is None:
            raise DesignError("Fay replicates need rho=")
        des._replicates = _Replicates(
            kind=kind,
            scale=float(default_scale[kind] if scale is None else scale),
            rscales=np.ones(R) if rscales is None else np.asarray(rscales, dtype=float),
            mse=mse,
            rep_weights=W,
        )
        return des

    def replicate_variance_factors(self) -> tuple[float, np.ndarray, bool]:
        """``(scale, rscales, mse)`` of a replicate design: ``v = scale * sum_r rscales_r (t_r - c)^2``
        with ``c`` the full-sample estimate when ``mse`` else the replicate mean (R ``svrVar``)."""
        r = self._replicates
        if r is None:
            raise DesignError("not a replicate design")
        return float(r.scale), np.asarray(r.rscales, dtype=float).copy(), bool(r.mse)

    def replicate_weights(self) -> np.ndarray:
        """The (n × R) matrix of replicate weights of a replicate design."""
        r = self._replicates
        if r is None:
            raise DesignError("not a replicate design")
        if r.rep_weights is not None:
            return r.rep_weights
        if r.psu_factors is not None:
            return r.psu_factors[self._stages[0].cluster] * self._w[:, None]
        return r.row_factors * self._w[:, None]

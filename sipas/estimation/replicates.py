"""Replicate-weight factors per PSU for JK1, JKn, bootstrap (Rao-Wu), BRR and Fay, in R survey's order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from sipas.errors import DesignError, LonelyPSUError
from sipas.estimation.hadamard import _as_hadamard, _hadamard

if TYPE_CHECKING:  # for annotations only: design.py imports this module
    from sipas.estimation.design import Design


# --------------------------------------------------------------------------- replicates
@dataclass
class _Replicates:
    """Replicate weights: ``factors`` multiply the full-sample weights.

    Either PSU-level factors (``psu_factors`` of shape (C1, R)) or row-level
    factors (``row_factors`` of shape (n, R)).  The variance is
    ``scale * sum_r rscales_r (theta_r - centre)^2`` (R's ``svrVar``) with
    ``centre`` the replicate mean (``mse=False``, R's default) or the full-sample
    estimate (``mse=True``).
    """

    kind: str
    scale: float
    rscales: np.ndarray
    mse: bool
    psu_factors: np.ndarray | None = None
    row_factors: np.ndarray | None = None
    rep_weights: np.ndarray | None = None  # absolute replicate weights (n, R), overrides factors
    df: int | None = None  # cached rank - 1

    @property
    def n_replicates(self) -> int:
        return len(self.rscales)


def _r_text(label: Any) -> Any:
    """A stratum label as R's ``as.character`` writes it (whole floats without ``.0``)."""
    if isinstance(label, tuple):
        return tuple(_r_text(x) for x in label)
    if isinstance(label, (bool, np.bool_)):
        return "TRUE" if label else "FALSE"
    if isinstance(label, (float, np.floating)) and np.isfinite(label) and float(label).is_integer():
        return str(int(label))
    return str(label)


def _make_replicates(
    design: Design,
    kind: str,
    *,
    replicates: int | None,
    seed: int | None,
    rho: float | None,
    mse: bool,
    hadamard: np.ndarray | None = None,
) -> _Replicates:
    """Replicate factors of each kind (formulas in :meth:`Design.replicate`)."""
    st = design._stages[0]
    C, S = st.n_clusters, st.n_strata
    n_h = st.n_h
    f_h = np.zeros(S) if st.popsize is None else st.n_h / st.popsize  # sampling fraction
    cs = st.cluster_stratum
    # PSUs (and strata) in order of first appearance in the data: R's replicate order
    first_row = np.full(C, design.n_rows, dtype=np.int64)
    np.minimum.at(first_row, st.cluster, np.arange(design.n_rows))
    if kind == "JK1":
        if S > 1:
            raise DesignError(
                "JK1 deletes PSUs ignoring strata and overstates the variance of a stratified design "
                "(R: \"Can't use JK1 for a stratified design\"); use kind='JKn'"
            )
        # R jk1weights: delete one PSU at a time; scale (1-f)(n-1)/n
        F = np.full((C, C), C / (C - 1.0))
        F[np.argsort(first_row, kind="stable"), np.arange(C)] = 0.0
        fpc = 0.0 if st.popsize is None else float(f_h[0])
        return _Replicates("JK1", scale=(1 - fpc) * (C - 1.0) / C, rscales=np.ones(C), mse=mse, psu_factors=F)
    if kind == "JKn":
        stratum_first = np.full(S, design.n_rows, dtype=np.int64)
        np.minimum.at(stratum_first, cs, first_row)
        F = np.ones((C, C))
        rscales = np.empty(C)
        for col, i in enumerate(np.lexsort((first_row, stratum_first[cs]))):  # C×C; cheap next to estimation
            h = cs[i]
            same = cs == h
            if n_h[h] < 2:
                raise LonelyPSUError(f"stratum ({st.stratum_labels[h]}) has one PSU: JKn needs >= 2", stratum=st.stratum_labels[h])
            F[same, col] = n_h[h] / (n_h[h] - 1.0)
            F[i, col] = 0.0
            rscales[col] = (n_h[h] - 1.0) / n_h[h] * (1.0 - f_h[h])
        return _Replicates("JKn", scale=1.0, rscales=rscales, mse=mse, psu_factors=F)
    if kind == "bootstrap":
        R = 50 if replicates is None else int(replicates)
        if R < 2:
            raise DesignError("bootstrap needs replicates >= 2")
        rng = np.random.default_rng(seed)
        F = np.zeros((C, R))
        for h in range(S):  # loop over strata; replicates drawn together
            idx = np.flatnonzero(cs == h)
            nh = idx.size
            if nh < 2:
                if design.lonely_psu == "fail":
                    raise LonelyPSUError(f"stratum ({st.stratum_labels[h]}) has one PSU: cannot bootstrap", stratum=st.stratum_labels[h])
                F[idx] = 1.0
                continue
            m = nh - 1
            draws = rng.integers(0, nh, size=(R, m))
            counts = np.zeros((R, nh))
            np.add.at(counts, (np.repeat(np.arange(R), m), draws.ravel()), 1.0)
            lam = np.sqrt(m * (1.0 - f_h[h]) / (nh - 1.0))
            F[idx] = (1.0 - lam + lam * (nh / m) * counts).T
        return _Replicates("bootstrap", scale=1.0 / (R - 1.0), rscales=np.ones(R), mse=mse, psu_factors=F)
    if kind in ("BRR", "Fay"):
        if not np.all(n_h == 2):
            h = int(np.flatnonzero(n_h != 2)[0])
            raise DesignError(
                f"BRR/Fay need exactly 2 PSUs per stratum; stratum ({st.stratum_labels[h]}) has {int(n_h[h])}"
            )
        r = 0.0 if kind == "BRR" else (0.3 if rho is None else float(rho))
        if not 0 <= r < 1:
            raise DesignError("rho must be in [0, 1)")
        H = _hadamard(S) if hadamard is None else _as_hadamard(hadamard, S)
        R = H.shape[1]
        # strata in the order of their labels as text, PSUs in order of first appearance (R)
        order = sorted(range(S), key=lambda h: _r_text(st.stratum_labels[h]))
        F = np.empty((C, R))
        for k, h in enumerate(order):
            idx = np.flatnonzero(cs == h)
            idx = idx[np.argsort(first_row[idx], kind="stable")]
            first = H[k + 1] > 0
            F[idx[0]] = np.where(first, 2.0 - r, r)
            F[idx[1]] = np.where(first, r, 2.0 - r)
        return _Replicates(kind, scale=1.0 / (R * (1.0 - r) ** 2), rscales=np.ones(R), mse=mse, psu_factors=F)
    raise DesignError(f"unknown replicate kind {kind!r}; use 'JK1', 'JKn', 'bootstrap', 'BRR' or 'Fay'")

"""Full-sample and replicate weights with their variance multipliers (R survey's ``svrVar``).

Two forms of the same thing:

* :class:`ReplicateWeights` holds the ``n x R`` matrix of replicate weights (small designs, the
  R-reference tests);
* :class:`CellReplicateWeights` holds them per *weighting cell*: rows whose replicate weights
  are the same multiple of a row's base weight in every replicate (for the calibrated JKn design:
  the rows of one PSU x calibration cell, :func:`sipas.estimation.survey_design.replicate_weights`),
  ``W[i, r] = base_i * F[cell(i), r]``, so that weighted totals of any domain are
  ``sum_cells (sum_{i in cell, domain} base_i x_i) F[cell, r]`` -- a product of two small matrices
  instead of one of size ``n x R``.

A third form, for designs with one PSU per respondent, where the cells alone are ``n x n``:
:class:`sipas.estimation.jkn_totals.PostStratifiedJKn` gives the domain totals of a post-stratified JKn
design in closed form.  All three share the variance, :func:`replicate_variance`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sipas.errors import DesignError


@dataclass(frozen=True)
class ReplicateWeights:
    """Full-sample and replicate weights with their variance multipliers.

    ``v(theta) = scale * sum_r rscales[r] * (theta_r - centre)^2`` (R survey's ``svrVar``), centre the
    replicate mean (R's default ``mse=FALSE``) or the full-sample estimate (``mse=True``).
    """

    weights: np.ndarray          # (n,)
    replicates: np.ndarray       # (n, R)
    scale: float
    rscales: np.ndarray          # (R,)
    df: float                    # degrees of freedom for t intervals
    kind: str = "JKn"
    mse: bool = False            # centre on the full-sample estimate (True) or the replicate mean (R default)

    def variance(self, full: np.ndarray, reps: np.ndarray, *, columns: np.ndarray | None = None) -> np.ndarray:
        """Variance of each row of estimates: ``full`` (k,), replicate estimates ``reps`` (k, R), or only
        the replicates ``columns`` (:func:`replicate_variance`)."""
        return replicate_variance(full, reps, scale=self.scale, rscales=self.rscales, mse=self.mse, columns=columns)

    def cells(self) -> "CellReplicateWeights":
        """The same weights as a :class:`CellReplicateWeights` with one cell per row (base weight 1)."""
        n = len(self.weights)
        return CellReplicateWeights(base=np.ones(n), cell=np.arange(n, dtype=np.int64),
                                    factors=np.column_stack([self.weights, self.replicates]),
                                    scale=self.scale, rscales=self.rscales, df=self.df, kind=self.kind, mse=self.mse)


@dataclass(frozen=True)
class CellReplicateWeights:
    """Full-sample and replicate weights as base weights times per-cell factors.

    Row ``i`` in cell ``c(i)`` has full-sample weight ``base_i * factors[c(i), 0]`` and weight
    ``base_i * factors[c(i), r]`` in replicate ``r = 1..R``.  A replicate factor that is constant
    within cells -- the JKn factor ``a_{r,psu}`` times a calibration factor ``g_{r,cell}``
    (R ``postStratify``/``rake`` on a ``svrep.design``) -- fits this form with cells = PSU x
    calibration cell; trimming (R ``trimWeights``), whose result depends on each row's weight,
    fits it with cells = PSU x calibration cell x base weight.  The variance is R survey's
    ``svrVar``, as :class:`ReplicateWeights`.

    Attributes
    ----------
    base : ndarray (n,)
        Row multipliers (e.g. the nonresponse-adjusted weights, or 1).
    cell : ndarray (n,) of int
        Cell of each row, ``0 .. G-1``.
    factors : ndarray (G, 1 + R)
        Column 0 full sample, then the replicates.
    scale, rscales, df, kind, mse
        As :class:`ReplicateWeights`.
    cell_strata : ndarray (G,) of int, optional
        Design stratum of each cell.
    touched : ndarray (S, R) of bool, optional
        ``touched[s, r]``: replicate ``r`` changes the replicate factor of a PSU of stratum ``s``
        (JKn: only the stratum of the deleted PSU).
    calibration_cell : ndarray (G,) of int, optional
        Calibration cell (post-stratum, or combination of raking margins) of each cell; None when
        the replicate factors are not (JKn factor) x (calibration factor), e.g. after trimming.

    Notes
    -----
    With the last three known, :meth:`local_replicates` finds the replicates that can move a
    domain's estimates: a domain whose rows lie in one calibration cell ``c`` has, in a replicate
    ``r`` that touches none of its strata, the weights ``w_h g_{rc} / g_c`` -- its full-sample
    weights times one constant -- so every ratio of its totals (every index) equals the
    full-sample estimate in that replicate; only the replicates of its own strata need computing
    (:meth:`variance` with ``columns``).
    """

    base: np.ndarray
    cell: np.ndarray
    factors: np.ndarray
    scale: float
    rscales: np.ndarray
    df: float
    kind: str = "JKn"
    mse: bool = False
    cell_strata: np.ndarray | None = None
    touched: np.ndarray | None = None
    calibration_cell: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.base.shape != self.cell.shape or self.base.ndim != 1:
            raise DesignError("base and cell must be vectors of the same length")
        if self.factors.ndim != 2 or self.factors.shape[1] != len(self.rscales) + 1:
            raise DesignError(f"factors must be G x (1 + R) with R = {len(self.rscales)}")
        if len(self.cell) and (self.cell.min() < 0 or self.cell.max() >= self.factors.shape[0]):
            raise DesignError("cell codes outside 0 .. G-1")

    @property
    def n_replicates(self) -> int:
        """Number of replicates ``R``."""
        return len(self.rscales)

    @property
    def weights(self) -> np.ndarray:
        """Full-sample weights ``base_i * factors[c(i), 0]`` (n,)."""
        return self.base * self.factors[self.cell, 0]

    def dense(self) -> ReplicateWeights:
        """The ``n x R`` form (:class:`ReplicateWeights`); for small designs and tests only."""
        return ReplicateWeights(weights=self.weights, replicates=self.base[:, None] * self.factors[self.cell, 1:],
                                scale=self.scale, rscales=self.rscales, df=self.df, kind=self.kind, mse=self.mse)

    def local_replicates(self, cells: np.ndarray) -> np.ndarray | None:
        """Replicates (0-based) that can change the ratios of a domain made of rows in ``cells``.

        None (all replicates) unless the structure is known (:attr:`touched`, :attr:`cell_strata`,
        :attr:`calibration_cell`) and the cells lie in one calibration cell; otherwise the
        replicates touching one of the cells' strata (see the class notes).
        """
        if self.touched is None or self.cell_strata is None or self.calibration_cell is None or len(cells) == 0:
            return None
        if np.unique(self.calibration_cell[cells]).size > 1:
            return None
        strata = np.unique(self.cell_strata[cells])
        return np.flatnonzero(self.touched[strata].any(axis=0))

    def variance(self, full: np.ndarray, reps: np.ndarray, *, columns: np.ndarray | None = None) -> np.ndarray:
        """Variance of each row of estimates: ``full`` (k,), replicate estimates ``reps`` (k, R), or only
        the replicates ``columns`` (from :meth:`local_replicates`; :func:`replicate_variance`)."""
        return replicate_variance(full, reps, scale=self.scale, rscales=self.rscales, mse=self.mse, columns=columns)


def replicate_variance(full: np.ndarray, reps: np.ndarray, *, scale: float, rscales: np.ndarray, mse: bool,
                       columns: np.ndarray | None = None) -> np.ndarray:
    """R survey's ``svrVar`` of each row of estimates, with replicates known to equal the full sample left out.

    ``full`` (k,) are the full-sample estimates, ``reps`` (k, R) the replicate estimates, or, with ``columns``
    (0-based replicates), (k, len(columns)) and every other replicate's estimate equal to ``full``::

        v = scale (sum_{r in columns} c_r (t_r - m)^2 + (sum_{r not in columns} c_r) (t - m)^2)

    with ``c_r`` = ``rscales``, ``m`` the mean of all ``R`` replicate estimates (``mse=False``, R's default)
    or ``t`` (``mse=True``).  Replicate estimates that are NaN (undefined in that replicate) are left out
    of the mean and the sum, with their ``c_r``, as R's ``svrVar`` (``na.action = na.omit``).  R:
    ``svrVar(thetas, scale, rscales, mse=mse, coef=t)``.
    """
    if columns is None:
        return _svrvar(full, reps, scale=scale, rscales=rscales, mse=mse)
    rs_in = rscales[columns]
    outside = np.ones(len(rscales), dtype=bool)
    outside[columns] = False
    n_out = float(outside.sum())
    rs_out = float(rscales[outside].sum())
    defined = ~np.isnan(full)  # an undefined estimate is undefined in every replicate
    n_out_k = np.where(defined, n_out, 0.0)
    if mse:
        centre = full
    else:
        count = (~np.isnan(reps)).sum(axis=1) + n_out_k
        with np.errstate(invalid="ignore", divide="ignore"):
            centre = (np.nansum(reps, axis=1) + np.where(defined, n_out * full, 0.0)) / count
    within = np.nansum(rs_in[None, :] * (reps - centre[:, None]) ** 2, axis=1)
    return scale * (within + np.where(defined, rs_out * (full - centre) ** 2, 0.0))


def as_cells(rep: ReplicateWeights | CellReplicateWeights) -> CellReplicateWeights:
    """``rep`` in the cell form (a :class:`ReplicateWeights` becomes one cell per row)."""
    return rep if isinstance(rep, CellReplicateWeights) else rep.cells()


def _svrvar(full: np.ndarray, reps: np.ndarray, *, scale: float, rscales: np.ndarray, mse: bool) -> np.ndarray:
    """R ``svrVar``: ``scale * sum_r rscales_r (theta_r - centre)^2`` per row (NaN replicates ignored)."""
    centre = full[:, None] if mse else np.nanmean(reps, axis=1, keepdims=True)
    return scale * np.nansum(rscales[None, :] * (reps - centre) ** 2, axis=1)

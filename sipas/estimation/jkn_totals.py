"""JKn replicate totals of a stratified, post-stratified design in closed form: ``O(n)``, no PSU x replicate table.

A stratified JKn design has one replicate per PSU.  When the PSU is the respondent (service-user surveys,
:attr:`sipas.config.Hierarchy.element_psu`) that is one replicate per form, and any table of PSUs (or PSU x
calibration cells) by replicates -- :class:`~sipas.estimation.replicate_weights.CellReplicateWeights` --
has ``n x n`` entries.  Yet a replicate moves few weights: replicate ``r`` deletes PSU ``j`` of stratum
``h``, multiplies the other PSUs of ``h`` by :math:`f_h = n_h/(n_h-1)`, and its post-stratification
(R ``postStratify`` on the ``svyrep.design``) changes the factor only of the post-strata ``c`` holding rows
of ``h``.  With :math:`w_i` the weights before calibration (``w_nr``), :math:`N_c` the post-stratum's
population, :math:`T_c, T_{hc}, T_{jc}` the sums of :math:`w_i` over the rows of cell ``c``, of stratum ``h``
in ``c`` and of PSU ``j`` in ``c``, replicate ``r``'s weight of row ``i`` (PSU ``j(i)``, cell ``c(i)``) is

.. math::

    w_{ri} = w_i \\, a_{r j(i)} \\, g_{r c(i)}, \\qquad
    g_{rc} = \\frac{N_c}{(T_c - T_{hc}) + f_h (T_{hc} - T_{jc})}, \\qquad g_c = \\frac{N_c}{T_c},

(:math:`g_{rc} = g_c` for a cell without rows of ``h``; 0 when the denominator is 0, as
:func:`sipas.estimation.weighting.poststratify`) so the total of any variable :math:`x` over a domain
:math:`d` in replicate ``r`` is

.. math::

    t_{dr} = t_d + A_{dh} + \\sum_{c:\\,T_{jc} > 0} u_{djc}, \\qquad t_d = \\sum_c g_c S_{dc},

    A_{dh} = \\sum_{c \\ni h} \\left[ g'_{hc} \\left( (S_{dc} - S_{dhc}) + f_h S_{dhc} \\right) - g_c S_{dc} \\right],

    u_{djc} = g_{rc} \\left( (S_{dc} - S_{dhc}) + f_h (S_{dhc} - S_{djc}) \\right)
            - g'_{hc} \\left( (S_{dc} - S_{dhc}) + f_h S_{dhc} \\right),

with :math:`S_{dc}, S_{dhc}, S_{djc}` the sums of :math:`w_i x_i` over the domain's rows in cell ``c``, in
stratum ``h`` and cell ``c``, in PSU ``j`` and cell ``c``, and :math:`g'_{hc} = N_c / ((T_c - T_{hc}) + f_h
T_{hc})` the factor of a replicate of ``h`` whose deleted PSU has no row in ``c``.  Every term is a per-cell
sum, so all replicate totals of a domain cost ``O(rows + PSU x cell pairs)`` and the ``R`` replicate totals of
``k`` variables are a ``k x R`` array: the cost of the estimates' replicates is linear in the forms.  Without
calibration the cells are the strata and every ``g`` is 1 (:math:`t_{dr} = t_d + (f_h - 1) S_{dh} - f_h
S_{dj}`).

A replicate in which no row of the domain with a nonzero ``x`` keeps a positive weight has total exactly 0 (as
the product of the weight matrix gives it, so that an index without a valid answer in the replicate is
undefined there and left out of the variance, R ``svrVar``'s ``na.rm``): the same formulas on the counts of
such rows, in exact integer arithmetic, say where.

References: Rust & Rao (1996), *Stat. Methods Med. Res.* 5, 283-310 (JKn); Valliant (1993), *JASA* 88,
620-631 (post-stratified replicates); R survey ``as.svrepdesign(d, type = "JKn")`` then ``postStratify``
(checked in ``tests/results/r/survey_element_jkn.R``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from sipas.errors import DesignError
from sipas.estimation.replicate_weights import ReplicateWeights, replicate_variance


def _expand(keys: np.ndarray, ptr: np.ndarray, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every position ``p`` of ``keys``, each member of list ``keys[p]`` (CSR ``ptr``/``members``):
    the positions repeated and the members."""
    counts = ptr[keys + 1] - ptr[keys]
    owner = np.repeat(np.arange(keys.size), counts)
    offset = np.arange(owner.size) - np.repeat(np.cumsum(counts) - counts, counts)
    return owner, members[ptr[keys][owner] + offset]


def _csr_by(group: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """``(ptr, members)``: the positions of ``group`` listed per group (stable), CSR style."""
    members = np.argsort(group, kind="stable")
    ptr = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(np.bincount(group, minlength=n_groups), out=ptr[1:])
    return ptr, members


def _sum_by(key: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ``key`` values (sorted) and the column sums of ``values`` per key, rows added in order."""
    keys, inv = np.unique(key, return_inverse=True)
    agg = sp.csr_matrix((np.ones(key.size), (inv.reshape(-1), np.arange(key.size))), shape=(keys.size, key.size))
    return keys, np.asarray(agg @ values)


def _lookup(table_keys: np.ndarray, table: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Rows of ``table`` for ``keys`` (rows of zeros for keys not in the sorted ``table_keys``)."""
    pos = np.searchsorted(table_keys, keys)
    found = pos < table_keys.size
    found[found] = table_keys[pos[found]] == keys[found]
    out = np.zeros((keys.size, table.shape[1]))
    out[found] = table[pos[found]]
    return out


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` where ``den > 0``, else 0 (a post-stratum without weight: R's and
    :func:`sipas.estimation.weighting.poststratify`'s factor 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


class PostStratifiedJKn:
    """JKn replicate weights of a stratified design, post-stratified (or not), held in ``O(n)``.

    The replicate weights are never formed (:meth:`dense` does, for tests): :meth:`domain_totals` gives every
    domain's replicate totals from per-cell sums in closed form (module notes).  Built by
    :func:`sipas.estimation.survey_design.poststratified_jkn` from a weights table; the variance is R survey's
    ``svrVar`` (:func:`~sipas.estimation.replicate_weights.replicate_variance`), as
    :class:`~sipas.estimation.replicate_weights.CellReplicateWeights`, whose place it takes for designs with
    many PSUs.

    Parameters
    ----------
    base : ndarray (n,)
        Weights before calibration, :math:`w_i` (``w_nr``).
    psu : ndarray (n,) of int
        Replicate of each row's PSU, ``0 .. R-1`` (replicate ``r`` deletes PSU ``r``).
    psu_stratum : ndarray (R,) of int
        Stratum of each PSU, ``0 .. H-1``, nondecreasing (a stratum's replicates are consecutive, as R's).
    cell : ndarray (n,) of int
        Calibration cell (post-stratum) of each row, ``0 .. K-1``.
    population : ndarray (K,) or None
        :math:`N_c`; None: not calibrated (every ``g`` is 1).
    scale : float
        ``svrVar``'s ``scale`` (1 for JKn).
    rscales : ndarray (R,)
        :math:`(n_h - 1)/n_h \\, (1 - n_h/N_h)` (JKn with the stage-1 fpc).
    df : float
        Degrees of freedom of the design (#PSUs - #strata).
    mse : bool
        Centre the variance on the full-sample estimate (True) or the replicates' mean (R's default).
    """

    kind = "JKn"

    def __init__(self, *, base: np.ndarray, psu: np.ndarray, psu_stratum: np.ndarray, cell: np.ndarray,
                 population: np.ndarray | None, scale: float, rscales: np.ndarray, df: float,
                 mse: bool = False) -> None:
        self.base = np.asarray(base, dtype=float)
        self.psu = np.asarray(psu, dtype=np.int64)
        self.psu_stratum = np.asarray(psu_stratum, dtype=np.int64)
        self.cell = np.asarray(cell, dtype=np.int64)
        self.population = None if population is None else np.asarray(population, dtype=float)
        self.scale = float(scale)
        self.rscales = np.asarray(rscales, dtype=float)
        self.df = float(df)
        self.mse = bool(mse)
        n, R = self.base.size, self.psu_stratum.size
        if self.base.ndim != 1 or self.psu.shape != (n,) or self.cell.shape != (n,):
            raise DesignError("base, psu and cell must be vectors of the same length")
        if self.rscales.shape != (R,):
            raise DesignError(f"rscales must have one value per PSU ({R})")
        if n == 0 or self.psu.min() < 0 or self.psu.max() >= R or np.bincount(self.psu, minlength=R).min() == 0:
            raise DesignError("psu codes must be 0 .. R-1, every PSU with rows")
        if np.any(np.diff(self.psu_stratum) < 0) or self.psu_stratum[0] != 0:
            raise DesignError("psu_stratum must be nondecreasing from 0 (a stratum's replicates consecutive)")
        K = int(self.cell.max()) + 1 if self.population is None else self.population.size
        if self.cell.min() < 0 or self.cell.max() >= K:
            raise DesignError("cell codes outside 0 .. K-1")
        H = int(self.psu_stratum[-1]) + 1
        n_h = np.bincount(self.psu_stratum, minlength=H).astype(float)
        if n_h.min() < 2:
            raise DesignError("JKn needs >= 2 PSUs in every stratum")
        self.n_strata, self.n_cells = H, K
        #: first replicate of each stratum (and R at the end)
        self.stratum_start = np.concatenate([[0], np.cumsum(n_h).astype(np.int64)])
        self.jk_factor = n_h / (n_h - 1.0)
        f = self.jk_factor
        h_row = self.psu_stratum[self.psu]
        self._T_c = np.bincount(self.cell, weights=self.base, minlength=K)
        # stratum x cell pairs present (sorted by h, c); T_hc adds the same rows in the same order as T_c,
        # so T_c - T_hc is exactly 0 for a cell inside one stratum
        sc_keys, sc_inv = np.unique(h_row * K + self.cell, return_inverse=True)
        self._sc_h, self._sc_c = sc_keys // K, sc_keys % K
        self._row_sc = sc_inv.reshape(-1)
        T_hc = np.bincount(self._row_sc, weights=self.base, minlength=sc_keys.size)
        # PSU x cell pairs present (sorted by j, c)
        pc_keys, pc_inv = np.unique(self.psu * K + self.cell, return_inverse=True)
        self._pc_j, self._pc_c = pc_keys // K, pc_keys % K
        self._row_pc = pc_inv.reshape(-1)
        T_jc = np.bincount(self._row_pc, weights=self.base, minlength=pc_keys.size)
        self._pc_sc = np.searchsorted(sc_keys, self.psu_stratum[self._pc_j] * K + self._pc_c)
        if self.population is None:
            self._g_c, self._g_sc, self._g_pc = np.ones(K), np.ones(sc_keys.size), np.ones(pc_keys.size)
        else:
            N, T_c = self.population, self._T_c
            self._g_c = _ratio(N, T_c)
            self._g_sc = _ratio(N[self._sc_c], (T_c[self._sc_c] - T_hc) + f[self._sc_h] * T_hc)
            sc = self._pc_sc
            self._g_pc = _ratio(N[self._pc_c], (T_c[self._pc_c] - T_hc[sc]) + f[self._sc_h[sc]] * (T_hc[sc] - T_jc))
        # the pairs listed per cell
        self._sc_ptr, self._sc_by_cell = _csr_by(self._sc_c, K)
        self._pc_ptr, self._pc_by_cell = _csr_by(self._pc_c, K)

    @property
    def n_replicates(self) -> int:
        """Number of replicates ``R`` (= PSUs)."""
        return self.rscales.size

    @property
    def weights(self) -> np.ndarray:
        """Full-sample (calibrated) weights :math:`w_i g_{c(i)}` (n,)."""
        return self.base * self._g_c[self.cell]

    def variance(self, full: np.ndarray, reps: np.ndarray, *, columns: np.ndarray | None = None) -> np.ndarray:
        """Replicate variance of each row of estimates, R ``svrVar``:
        :math:`v = \\sum_r c_r (\\hat\\theta_r - \\bar\\theta)^2` with :math:`c_r` = ``rscales``.

        Parameters
        ----------
        full : ndarray (k,)
            Full-sample estimates.
        reps : ndarray (k, R) or (k, len(columns))
            Replicate estimates (NaN: undefined in that replicate, left out as R does).
        columns : ndarray of int, optional
            The replicates ``reps`` holds (:meth:`JKnDomainTotals.local_replicates`); every other replicate's
            estimate equals ``full``.

        Returns
        -------
        ndarray (k,)
            :func:`~sipas.estimation.replicate_weights.replicate_variance`.
        """
        return replicate_variance(full, reps, scale=self.scale, rscales=self.rscales, mse=self.mse, columns=columns)

    def replicate_factors(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        """Replicate ``r``'s JKn factor of every row, :math:`a_{r j(i)}`, and calibration factor of every cell,
        :math:`g_{rc}`, computed directly from the replicate's cell totals (the reference for the closed form)."""
        h = self.psu_stratum[r]
        a = np.where(self.psu_stratum[self.psu] == h, self.jk_factor[h], 1.0)
        a[self.psu == r] = 0.0
        if self.population is None:
            return a, np.ones(self.n_cells)
        return a, _ratio(self.population, np.bincount(self.cell, weights=self.base * a, minlength=self.n_cells))

    def dense(self) -> ReplicateWeights:
        """The ``n x R`` weights (:class:`~sipas.estimation.replicate_weights.ReplicateWeights`), each replicate
        calibrated directly (:meth:`replicate_factors`); ``O(n R)``, for small designs and tests only."""
        W = np.empty((self.base.size, self.n_replicates))
        for r in range(self.n_replicates):
            a, g = self.replicate_factors(r)
            W[:, r] = self.base * a * g[self.cell]
        return ReplicateWeights(weights=self.weights, replicates=W, scale=self.scale, rscales=self.rscales,
                                df=self.df, kind=self.kind, mse=self.mse)

    def domain_totals(self, X: np.ndarray, *, domain: np.ndarray, n_domains: int) -> "JKnDomainTotals":
        """Full-sample and replicate totals of the columns of ``X`` over each domain.

        Parameters
        ----------
        X : ndarray, n x m
            Values per row (finite).
        domain : ndarray (n,) of int
            Domain of each row, ``0 .. n_domains-1``; negative: in no domain.
        n_domains : int

        Returns
        -------
        JKnDomainTotals
            Per-cell sums formed here in ``O(n m)``; each domain's replicates on request.
        """
        return JKnDomainTotals(self, X, domain=domain, n_domains=n_domains)


class JKnDomainTotals:
    """Totals of ``m`` variables over each domain in the full sample and every replicate of a
    :class:`PostStratifiedJKn` design (formulas in the module notes).

    :meth:`totals` gives domain ``d``'s ``m x (1 + R)`` totals (as the ``n x (1 + R)`` weight matrix zeroed
    outside the domain would: ``X' W``), or only the replicates asked for; :meth:`local_replicates` the
    replicates that can move them (those of the strata with rows in the domain's post-strata): every other
    replicate's totals equal the full sample's exactly.
    """

    def __init__(self, rep: PostStratifiedJKn, X: np.ndarray, *, domain: np.ndarray, n_domains: int) -> None:
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[0] != rep.base.size:
            raise DesignError(f"X must have one row per data row ({rep.base.size})")
        domain = np.asarray(domain, dtype=np.int64)
        self.rep, self.m, self.n_domains = rep, X.shape[1], int(n_domains)
        keep = np.flatnonzero(domain >= 0)
        d = domain[keep]
        b = rep.base[keep, None]
        # weighted values, then the count of rows with a nonzero value and a positive weight (exact integers)
        V = np.hstack([X[keep] * b, ((X[keep] != 0) & (b > 0)).astype(float)])
        K = rep.n_cells
        dc, self._S_dc = _sum_by(d * K + rep.cell[keep], V)
        self._dc_cell = dc % K
        self._start = np.searchsorted(dc // K, np.arange(self.n_domains + 1), side="left")
        self._dsc, self._S_dsc = _sum_by(d * rep._sc_h.size + rep._row_sc[keep], V)
        self._dpc, self._S_dpc = _sum_by(d * rep._pc_j.size + rep._row_pc[keep], V)

    def _local_strata(self, d: int) -> np.ndarray:
        """Strata (increasing) with rows in the post-strata where domain ``d`` has rows."""
        rep = self.rep
        cells = self._dc_cell[self._start[d]:self._start[d + 1]]
        _, sc = _expand(cells, rep._sc_ptr, rep._sc_by_cell)
        return np.unique(rep._sc_h[sc])

    def _replicates_of(self, strata: np.ndarray) -> np.ndarray:
        """The replicates of ``strata`` (increasing): each stratum's block of consecutive replicates."""
        start = self.rep.stratum_start
        lo, size = start[strata], start[strata + 1] - start[strata]
        return np.repeat(lo, size) + np.arange(int(size.sum())) - np.repeat(np.cumsum(size) - size, size)

    def local_replicates(self, d: int) -> np.ndarray:
        """Replicates whose totals of domain ``d`` can differ from the full sample's.

        Parameters
        ----------
        d : int
            The domain, ``0 .. n_domains-1``.

        Returns
        -------
        ndarray of int
            0-based, increasing: the replicates of every stratum with rows in a post-stratum where the
            domain has rows (a domain inside one unit whose post-strata are the unit's: that unit's forms).
            In every other replicate the domain's rows keep their full-sample weights.
        """
        return self._replicates_of(self._local_strata(d))

    def _half(self, which: int) -> dict:
        """Factors of the weighted half (``which`` 0: g, f) or of the count half (1: g > 0, f = 1)."""
        rep = self.rep
        if which == 0:
            return {"g_c": rep._g_c, "g_sc": rep._g_sc, "g_pc": rep._g_pc, "f": rep.jk_factor}
        return {"g_c": (rep._g_c > 0).astype(float), "g_sc": (rep._g_sc > 0).astype(float),
                "g_pc": (rep._g_pc > 0).astype(float), "f": np.ones_like(rep.jk_factor)}

    def _domain(self, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(full (2m,), local replicates (L,), their totals (L, 2m))``: the weighted half, then the counts."""
        rep, m2 = self.rep, 2 * self.m
        s, e = int(self._start[d]), int(self._start[d + 1])
        cells, S_dc = self._dc_cell[s:e], self._S_dc[s:e]
        strata = self._local_strata(d)
        local = self._replicates_of(strata)
        # stratum x cell pairs in the domain's cells (A), PSU x cell pairs in them (u)
        a_own, a_sc = _expand(cells, rep._sc_ptr, rep._sc_by_cell)
        u_own, u_pc = _expand(cells, rep._pc_ptr, rep._pc_by_cell)
        u_sc = rep._pc_sc[u_pc]
        S_a, S_a_h = S_dc[a_own], _lookup(self._dsc, self._S_dsc, d * rep._sc_h.size + a_sc)
        S_u, S_u_h = S_dc[u_own], _lookup(self._dsc, self._S_dsc, d * rep._sc_h.size + u_sc)
        S_u_j = _lookup(self._dpc, self._S_dpc, d * rep._pc_j.size + u_pc)
        a_h = np.searchsorted(strata, rep._sc_h[a_sc])
        u_r = np.searchsorted(local, rep._pc_j[u_pc])
        full = np.empty(m2)
        out = np.empty((local.size, m2))
        for which, cols in ((0, slice(0, self.m)), (1, slice(self.m, m2))):
            p = self._half(which)
            f_a, f_u = p["f"][rep._sc_h[a_sc]][:, None], p["f"][rep._sc_h[u_sc]][:, None]
            # sums over rows, never BLAS: equal columns (an item whose valid answers are all positive) must give
            # equal totals to the last bit, or a share of 1 comes out as 1 - 1e-16 with a variance of 1e-32
            full[cols] = (p["g_c"][cells][:, None] * S_dc[:, cols]).sum(axis=0)
            other_a = S_a[:, cols] - S_a_h[:, cols]   # rows of the cell in other strata
            A = (p["g_sc"][a_sc][:, None] * (other_a + f_a * S_a_h[:, cols])
                 - p["g_c"][cells[a_own]][:, None] * S_a[:, cols])
            other_u = S_u[:, cols] - S_u_h[:, cols]
            U = (p["g_pc"][u_pc][:, None] * (other_u + f_u * (S_u_h[:, cols] - S_u_j[:, cols]))
                 - p["g_sc"][u_sc][:, None] * (other_u + f_u * S_u_h[:, cols]))
            A_h = sp.csr_matrix((np.ones(a_h.size), (a_h, np.arange(a_h.size))), shape=(strata.size, a_h.size)) @ A
            U_r = sp.csr_matrix((np.ones(u_r.size), (u_r, np.arange(u_r.size))), shape=(local.size, u_r.size)) @ U
            h_of_r = np.searchsorted(strata, rep.psu_stratum[local])
            out[:, cols] = full[cols][None, :] + np.asarray(A_h)[h_of_r] + np.asarray(U_r)
        return full, local, out

    def totals(self, d: int, *, replicates: np.ndarray | None = None) -> np.ndarray:
        """Domain ``d``'s totals of the ``m`` variables in the full sample and the replicates.

        Parameters
        ----------
        d : int
            The domain, ``0 .. n_domains-1``.
        replicates : ndarray of int, optional
            0-based replicates to give (default all ``R``); those outside :meth:`local_replicates` equal the
            full sample's totals.

        Returns
        -------
        ndarray, m x (1 + len(replicates))
            Column 0 the full sample, then the replicates: :math:`t_d` and :math:`t_{dr}` of the module notes
            (0 where no row of the domain with a nonzero value keeps a positive weight; zeros for a domain
            without rows).
        """
        m, R = self.m, self.rep.n_replicates
        full, local, vals = self._domain(d)
        # exactly 0 where no row with a nonzero value keeps a positive weight (as X' W gives it)
        full[:m] = np.where(full[m:] > 0, full[:m], 0.0)
        vals[:, :m] = np.where(vals[:, m:] > 0, vals[:, :m], 0.0)
        want = np.arange(R) if replicates is None else np.asarray(replicates, dtype=np.int64)
        out = np.empty((m, 1 + want.size))
        out[:, 0] = full[:m]
        out[:, 1:] = full[:m, None]
        pos = np.searchsorted(local, want)
        hit = pos < local.size
        hit[hit] = local[pos[hit]] == want[hit]
        out[:, 1:][:, hit] = vals[pos[hit], :m].T
        return out

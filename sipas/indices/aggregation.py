"""Evaluate an index rule (:mod:`sipas.forms.instrument.rules`) on weighted item totals.

Everything is a function of two matrices of weighted totals, one column per weight vector
(the full-sample weights, then each replicate), one row per item ``i``::

    num_i = sum_h w_h r_hi y_hi        (weighted positive answers)
    den_i = sum_h w_h r_hi             (weighted valid answers)

so that the same arithmetic gives the estimate and every replicate estimate (the replicate
variance of R survey's ``withReplicates``).  Item index ``p_i = num_i / den_i``; a node
combines its children by

* ``mean``: ``I = (1/J) sum_j I_j``;
* ``weights``: ``I = sum_j w_j I_j`` (``sum_j w_j = 1``);
* ``pooled``: ``I = sum_{i in items below} num_i / sum_{i in items below} den_i``.

A child without a valid answer in the domain (``den = 0``, index undefined) is handled by the
rule's ``empty`` setting: ``skip`` leaves it out (mean over the others; weights renormalised
over the others, ``I = sum_{j ok} w_j I_j / sum_{j ok} w_j``), ``not_computable`` makes the
parent undefined too.  Either way the reason is returned with the value (:class:`RuleValues`),
never a silent NaN.

For many domains and replicates the totals come from :func:`domain_totals`: with replicate weights
in the cell form of :class:`~sipas.estimation.replicate_weights.CellReplicateWeights`
(``W[h, r] = b_h F[c(h), r]``) the totals of domain ``d`` are

    num_{d,i,r} = sum_c Z^y_{d,c,i} F[c, r],    Z^y_{d,c,i} = sum_{h in d, c(h) = c} b_h r_hi y_hi

(and ``den`` with ``Z^r``): one pass over the rows forms ``Z`` (``O(n k)``), each domain then costs
a product of its ``cells x k`` block with ``cells x (1 + R)`` factors -- never ``n x R``.  When every
respondent is a PSU the cells alone are ``n x n``; a post-stratified JKn design then gives each domain's
totals in closed form from per-cell sums (:class:`~sipas.estimation.jkn_totals.PostStratifiedJKn`,
``O(n k)`` per domain).  :func:`replicate_domain_totals` takes either form.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from sipas.estimation.jkn_totals import JKnDomainTotals, PostStratifiedJKn
from sipas.estimation.replicate_weights import CellReplicateWeights, ReplicateWeights, as_cells
from sipas.forms.instrument.rules import IndexRule

#: Any form of full-sample and replicate weights the index functions take.
AnyReplicates = ReplicateWeights | CellReplicateWeights | PostStratifiedJKn


@dataclass(frozen=True)
class RuleValues:
    """Values of every item and node of a rule, for each weight column.

    Attributes
    ----------
    labels : list of (level, id)
        Row order: items, then the rule's nodes (criteria, other nodes, ``overall`` last).
    values : numpy.ndarray
        ``len(labels) x m`` indices (NaN where not computable).
    notes : list of str
        Per row, why the full-sample value is missing or was computed without some children:
        ``""``, ``"no_valid_answer"``, ``"skipped:<child>,<child>"`` or
        ``"not_computable:<child>,<child>"``.
    items_below : list of list of str
        The items each row's value rests on (an item: itself).
    """

    labels: list[tuple[str, str]]
    values: np.ndarray
    notes: list[str]
    items_below: list[list[str]]


def item_totals(Y: np.ndarray, R: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted positive and valid totals per item and weight column: ``((Y*R)' W, R' W)``.

    Parameters
    ----------
    Y : ndarray, n x k
        1 for a positive answer, 0 otherwise.
    R : ndarray, n x k
        1 for a valid answer, 0 otherwise.
    W : ndarray, n x m
        Weight columns (full sample, replicates), zero outside the domain.
    """
    return (Y * R).T @ W, R.T @ W


@dataclass(frozen=True)
class DomainTotals:
    """Weighted item totals of several domains for every weight column, from per-cell sums.

    Built by :func:`domain_totals`; :meth:`totals` gives one domain's ``(num, den)`` as
    :func:`item_totals` would from the ``n x (1 + R)`` weight matrix zeroed outside the domain.

    Attributes
    ----------
    sums : ndarray, q x 2k
        Per (domain, cell) pair present in the data: ``sum_h b_h r_hi y_hi`` then ``sum_h b_h r_hi``.
    cells : ndarray (q,)
        The cell of each pair.
    start : ndarray (D + 1,)
        Pairs of domain ``d`` are rows ``start[d]:start[d+1]``.
    factors : ndarray, G x m
        Per-cell weight factors (full sample, then the replicates).
    """

    sums: np.ndarray
    cells: np.ndarray
    start: np.ndarray
    factors: np.ndarray

    @property
    def n_domains(self) -> int:
        """Number of domains ``D``."""
        return len(self.start) - 1

    def domain_cells(self, d: int) -> np.ndarray:
        """The cells holding rows of domain ``d``."""
        return self.cells[int(self.start[d]):int(self.start[d + 1])]

    def totals(self, d: int, *, replicates: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(num, den)``, each ``k x m``, of domain ``d`` (zeros for a domain without rows).

        With ``replicates`` (0-based replicate numbers) only the full-sample column and those
        replicates' columns are computed (``m = 1 + len(replicates)``).
        """
        s, e = int(self.start[d]), int(self.start[d + 1])
        cells = self.cells[s:e]
        if replicates is None and 4 * cells.size > self.factors.shape[0]:
            # a large domain (the province, a respondent group): scatter its sums over all cells
            # rather than copy its rows of the G x m factors
            Z = np.zeros((self.factors.shape[0], self.sums.shape[1]))
            Z[cells] = self.sums[s:e]
            T = Z.T @ self.factors
        else:
            F = self.factors[cells]
            if replicates is not None:
                F = F[:, np.concatenate([[0], np.asarray(replicates, dtype=np.int64) + 1])]
            T = self.sums[s:e].T @ F
        k = self.sums.shape[1] // 2
        return T[:k], T[k:]


def domain_totals(Y: np.ndarray, R: np.ndarray, *, base: np.ndarray, cell: np.ndarray, factors: np.ndarray,
                  domain: np.ndarray, n_domains: int) -> DomainTotals:
    """Per (domain, cell) sums of ``b_h r_hi y_hi`` and ``b_h r_hi`` in one pass over the rows.

    Parameters
    ----------
    Y, R : ndarray, n x k
        Positive-answer and valid-answer indicators (as :func:`item_totals`).
    base : ndarray (n,)
        Row multipliers ``b_h`` of the weights (``W[h, r] = b_h F[c(h), r]``).
    cell : ndarray (n,) of int
        Cell ``c(h)`` of each row, ``0 .. G-1``.
    factors : ndarray, G x m
        ``F``: per-cell factors of each weight column.
    domain : ndarray (n,) of int
        Domain of each row, ``0 .. n_domains-1``; negative: in no domain.
    n_domains : int
        Number of domains ``D``.

    Returns
    -------
    DomainTotals
        Cost ``O(n k)`` here, ``O(q_d k m)`` per :meth:`DomainTotals.totals` call (``q_d`` the
        domain's cells), so ``O(n k + q k m)`` for all domains.
    """
    Y = np.asarray(Y, dtype=float)
    R = np.asarray(R, dtype=float)
    domain = np.asarray(domain, dtype=np.int64)
    cell = np.asarray(cell, dtype=np.int64)
    keep = np.flatnonzero(domain >= 0)
    G = factors.shape[0]
    key = domain[keep] * G + cell[keep]
    pairs, inv = np.unique(key, return_inverse=True)
    b = np.asarray(base, dtype=float)[keep, None]
    X = np.hstack([Y[keep] * R[keep] * b, R[keep] * b])
    agg = sp.csr_matrix((np.ones(keep.size), (inv.reshape(-1), np.arange(keep.size))), shape=(pairs.size, keep.size))
    sums = np.asarray(agg @ X)
    dom_of_pair = pairs // G
    start = np.searchsorted(dom_of_pair, np.arange(n_domains + 1), side="left")
    return DomainTotals(sums=sums, cells=pairs % G, start=start, factors=np.asarray(factors, dtype=float))


@dataclass(frozen=True)
class ReplicateDomainTotals:
    """Weighted item totals ``(num, den)`` of several domains, full sample and replicates, whichever form the
    replicate weights take (built by :func:`replicate_domain_totals`).

    Attributes
    ----------
    source : DomainTotals or JKnDomainTotals
        Per-cell sums times the cells' factors, or the closed form of a post-stratified JKn design (whose
        variables are the ``k`` columns of ``num`` then the ``k`` of ``den``).
    rep : CellReplicateWeights or PostStratifiedJKn
        The replicate weights (which replicates can move a domain).
    k : int
        Number of items.
    """

    source: DomainTotals | JKnDomainTotals
    rep: CellReplicateWeights | PostStratifiedJKn
    k: int

    def local_replicates(self, d: int) -> np.ndarray | None:
        """Replicates (0-based) that can change domain ``d``'s indices; None: all of them.

        Every other replicate's totals are the full sample's, or (cell form, a domain inside one calibration
        cell) a constant multiple of them, leaving every ratio at its full-sample value
        (:meth:`~sipas.estimation.replicate_weights.CellReplicateWeights.local_replicates`,
        :meth:`~sipas.estimation.jkn_totals.JKnDomainTotals.local_replicates`).
        """
        if isinstance(self.source, DomainTotals):
            return self.rep.local_replicates(self.source.domain_cells(d))
        local = self.source.local_replicates(d)
        return None if local.size == self.rep.n_replicates else local

    def totals(self, d: int, *, replicates: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(num, den)``, each ``k x (1 + R)`` (or ``k x (1 + len(replicates))``), of domain ``d``."""
        if isinstance(self.source, DomainTotals):
            return self.source.totals(d, replicates=replicates)
        T = self.source.totals(d, replicates=replicates)
        return T[:self.k], T[self.k:]


def replicate_domain_totals(Y: np.ndarray, R: np.ndarray, *, rep: AnyReplicates, domain: np.ndarray,
                            n_domains: int) -> ReplicateDomainTotals:
    """Weighted item totals of every domain in the full sample and each replicate of ``rep``.

    The cell form (:class:`~sipas.estimation.replicate_weights.CellReplicateWeights`, or a
    :class:`~sipas.estimation.replicate_weights.ReplicateWeights` as one cell per row) goes through
    :func:`domain_totals`; a :class:`~sipas.estimation.jkn_totals.PostStratifiedJKn` design through its
    closed form on the variables ``[Y R, R]``.  Either way domain ``d``'s ``num`` and ``den`` are what
    :func:`item_totals` gives on the ``n x (1 + R)`` weight matrix zeroed outside the domain.

    Parameters
    ----------
    Y, R : ndarray, n x k
        Positive-answer and valid-answer indicators (as :func:`item_totals`).
    rep : ReplicateWeights, CellReplicateWeights or PostStratifiedJKn
        Full-sample and replicate weights.
    domain : ndarray (n,) of int
        Domain of each row, ``0 .. n_domains-1``; negative: in no domain.
    n_domains : int
        Number of domains ``D``.

    Returns
    -------
    ReplicateDomainTotals
        Cost ``O(n k)`` to build; then, per domain, ``O(q_d k R_d)`` (cell form: ``q_d`` cells, ``R_d``
        replicates) or ``O(p_d k)`` (closed form: ``p_d`` PSU x cell pairs in the domain's cells).
    """
    Y = np.asarray(Y, dtype=float)
    R = np.asarray(R, dtype=float)
    if isinstance(rep, PostStratifiedJKn):
        return ReplicateDomainTotals(source=rep.domain_totals(np.hstack([Y * R, R]), domain=domain,
                                                              n_domains=n_domains), rep=rep, k=Y.shape[1])
    cr = as_cells(rep)
    return ReplicateDomainTotals(source=domain_totals(Y, R, base=cr.base, cell=cr.cell, factors=cr.factors,
                                                      domain=domain, n_domains=n_domains), rep=cr, k=Y.shape[1])


def evaluate_rule(rule: IndexRule, num: np.ndarray, den: np.ndarray, item_ids: list[str]) -> RuleValues:
    """Item indices and every node of ``rule`` from weighted totals.

    Parameters
    ----------
    rule : IndexRule
        The tree to evaluate.
    num, den : ndarray, k x m
        Weighted positive and valid totals of the items ``item_ids`` (:func:`item_totals`).
    item_ids : list of str
        Row names of ``num`` and ``den``; must include every item of the rule.

    Returns
    -------
    RuleValues
    """
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    pos = {it: i for i, it in enumerate(item_ids)}
    missing = [i for i in rule.items if i not in pos]
    if missing:
        raise KeyError(f"rule {rule.id!r} needs item(s) {', '.join(missing)}")
    with np.errstate(invalid="ignore", divide="ignore"):
        P = np.where(den > 0, num / den, np.nan)
    labels = [("item", it) for it in item_ids]
    rows = [P[i] for i in range(len(item_ids))]
    notes = ["" if den[i, 0] > 0 else "no_valid_answer" for i in range(len(item_ids))]
    below = [[it] for it in item_ids]
    val: dict[str, np.ndarray] = {it: P[pos[it]] for it in item_ids}
    for node in rule.nodes:
        items = rule.descendant_items(node.id)
        rows_i = [pos[i] for i in items]
        if node.combine == "pooled":
            n_sum = num[rows_i].sum(axis=0)
            d_sum = den[rows_i].sum(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                v = np.where(d_sum > 0, n_sum / d_sum, np.nan)
            empty = [c for c in node.children if np.isnan(val[c][0])]
            note = "no_valid_answer" if not d_sum[0] > 0 else (f"pooled_without:{','.join(empty)}" if empty else "")
        else:
            V = np.vstack([val[c] for c in node.children])
            w = (np.full(len(node.children), 1.0 / len(node.children)) if node.combine == "mean"
                 else np.array([node.weights[c] for c in node.children], dtype=float))
            ok = ~np.isnan(V)
            empty = [c for c, o in zip(node.children, ok[:, 0]) if not o]
            if rule.empty == "skip":
                wsum = (w[:, None] * ok).sum(axis=0)
                with np.errstate(invalid="ignore", divide="ignore"):
                    v = np.where(wsum > 0, (w[:, None] * np.where(ok, V, 0.0)).sum(axis=0) / wsum, np.nan)
                if len(empty) == len(node.children):
                    note = "no_valid_answer"
                else:
                    note = f"skipped:{','.join(empty)}" if empty else ""
            else:
                v = (w[:, None] * V).sum(axis=0)
                note = f"not_computable:{','.join(empty)}" if empty else ""
        val[node.id] = v
        labels.append((node.level, node.id))
        rows.append(v)
        notes.append(note)
        below.append(items)
    return RuleValues(labels=labels, values=np.vstack(rows), notes=notes, items_below=below)

"""The survey's stratified cluster design as the weighting stage builds it, shared with the indices stage.

JKn replicate weights, calibrated and trimmed like the final weights (R: ``as.svrepdesign`` then ``postStratify``/
``rake``/``trimWeights``): per PSU x calibration cell (:func:`replicate_weights`), or, for a post-stratified
design with one PSU per respondent, in closed form (:func:`poststratified_jkn`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sipas.errors import DesignError, StageInputMissing
from sipas.estimation.jkn_totals import PostStratifiedJKn
from sipas.estimation.replicate_weights import CellReplicateWeights, ReplicateWeights

#: Raking control: relative convergence tolerance and iteration limit.
RAKE_EPSILON = 1e-12


RAKE_MAX_ITER = 100


_RAKE_PREFIX = "rake_"


#: Column of weights.csv holding the number of communes (first-stage units) in the row's district.
FPC_COLUMN = "psu_population"


def calibration_margins(totals: pd.DataFrame, *, strata: str | None = None) -> dict[str, dict[Any, float]]:
    """``{margin: {level: households}}`` from a :func:`poststrata_totals` table, in raking order.

    For post-stratification the margin is ``strata`` or, when None, the table's first column
    (the post-stratification variable)."""
    rake_cols = [c for c in totals.columns if c.startswith(_RAKE_PREFIX)]
    if rake_cols:
        return {c[len(_RAKE_PREFIX):]: {k: float(v) for k, v in totals.groupby(c, sort=True)["households"].sum().items()}
                for c in rake_cols}
    if strata is None or strata not in totals.columns:
        strata = str(totals.columns[0])
    return {strata: {k: float(v) for k, v in zip(totals[strata], totals["households"])}}


def _with_margin_columns(weights: pd.DataFrame, totals: pd.DataFrame) -> pd.DataFrame:
    """``weights`` with one column per raking margin: the level of the row's commune, looked up in
    ``totals`` by the columns identifying a commune (``district, commune`` or ``commune``)."""
    rake_cols = [c for c in totals.columns if c.startswith(_RAKE_PREFIX)]
    if not rake_cols:
        return weights
    keys = [c for c in totals.columns[:totals.columns.get_loc("households")]]
    frame = pd.MultiIndex.from_frame(totals[keys])
    if not frame.is_unique:
        raise StageInputMissing(f"the commune frame lists a ({', '.join(keys)}) twice")
    pos = frame.get_indexer(pd.MultiIndex.from_frame(weights[keys]))
    if (pos < 0).any():
        bad = weights.loc[pos < 0, keys].drop_duplicates().head(3).to_dict("records")
        raise StageInputMissing(f"sampled communes absent from the commune frame: {bad}")
    out = weights.copy()
    for c in rake_cols:
        out[c[len(_RAKE_PREFIX):]] = totals[c].to_numpy()[pos]
    return out


def _calibrate(design, totals: pd.DataFrame, *, strata: str | None = None, trim: bool = True):
    """Post-stratify or rake ``design`` (Taylor or replicate) to the ``totals`` margins, then trim
    (unless ``trim`` is False)."""
    from sipas.estimation import weighting

    margins = calibration_margins(totals, strata=strata)
    if any(c.startswith(_RAKE_PREFIX) for c in totals.columns):
        out = weighting.rake(design, margins, max_iter=RAKE_MAX_ITER, epsilon=RAKE_EPSILON, strict=True)
    else:
        out = weighting.poststratify(design, margins)
    if trim and "trim_upper" in totals.columns:
        upper, lower = _trim_bounds(totals)
        out = trim_design(out, upper=upper, lower=lower)
    return out


def calibrated_weights(data: pd.DataFrame, totals: pd.DataFrame, *, strata: str, psu: str) -> np.ndarray:
    """The final weights: ``w_nr`` post-stratified or raked to ``totals``, then trimmed.

    The weights :func:`_calibrate` gives a linearisation design (R ``postStratify``/``rake``, then
    ``trimWeights``), without the design's calibration variables: post-stratification is
    ``w_i N_c / sum_{j in c} w_j`` (Lumley 2010, §7.2), computed per cell in ``O(n)`` instead of
    through an ``n x cells`` indicator matrix.  ``data`` needs ``w_nr``, ``strata``, ``psu`` and
    the margin columns (:func:`_with_margin_columns`).
    """
    from sipas.estimation import weighting
    from sipas.estimation.design import Design

    design = Design(data, weight="w_nr", strata=strata, psu=psu)
    margins = calibration_margins(totals)
    if any(c.startswith(_RAKE_PREFIX) for c in totals.columns):
        design = weighting.rake(design, margins, max_iter=RAKE_MAX_ITER, epsilon=RAKE_EPSILON, strict=True)
    else:
        (var, pop), = margins.items()
        codes, counts, _ = weighting._margin_codes(design, var, pop)
        design = design.with_weights(weighting._poststratify_weights(design._w, codes, counts))
    if "trim_upper" in totals.columns:
        upper, lower = _trim_bounds(totals)
        design = weighting.trim(design, upper=upper, lower=lower)
    return np.asarray(design.weights, dtype=float)


def final_weights(data: pd.DataFrame, totals: pd.DataFrame, *, strata: str, psu: str) -> np.ndarray:
    """The weighting stage's ``w_final`` from ``w_nr``: the margin columns of ``totals`` looked up for each row
    (raking), then :func:`calibrated_weights` (post-stratification or raking, then trimming).

    ``data`` needs ``w_nr``, ``strata``, ``psu`` and the columns identifying a commune; ``totals`` is a
    ``poststrata_totals.csv`` table.  Used by the weighting stage and by the planning simulation
    (:mod:`sipas.planning.simulation`), so that both weight a sample the same way.
    """
    return calibrated_weights(_with_margin_columns(data, totals), totals, strata=strata, psu=psu)


def _trim_bounds(totals: pd.DataFrame) -> tuple[float, float]:
    """``(upper, lower)`` trimming bounds of a :func:`poststrata_totals` table."""
    return float(totals["trim_upper"].iloc[0]), float(totals["trim_lower"].iloc[0])


def trim_design(design, *, upper: float, lower: float):
    """R ``trimWeights(design, upper, lower)``: full-sample weights and, for a replicate design,
    every replicate's weights trimmed the same way (the trimmed amount shared equally among the
    untrimmed weights of the same column)."""
    from sipas.estimation import weighting

    if not design.is_replicate:
        return weighting.trim(design, upper=upper, lower=lower)
    w1 = _trim_columns(np.asarray(design.weights, dtype=float)[:, None], upper=upper, lower=lower)[:, 0]
    return weighting._replicate_reweight(design, w1, lambda W: _trim_columns(W, upper=upper, lower=lower))


def _trim_columns(W: np.ndarray, *, upper: float, lower: float, counts: np.ndarray | None = None) -> np.ndarray:
    """One pass of R ``trimWeights`` on every column of ``W``.

    Zero weights (rows of the PSUs a jackknife replicate drops) are left at zero and take no
    share of the trimmed amount; the other weights are clipped to ``[lower, upper]`` and the
    trimmed amount is added equally to those that were inside the bounds.  With ``counts``,
    row ``j`` of ``W`` stands for ``counts[j]`` rows of equal weight (the cells of
    :func:`replicate_weights`): the trimmed amount and the number of rows inside the bounds
    count each such row.
    """
    live = W > 0
    new = np.where(live, np.clip(W, lower, upper), 0.0)
    outside = live & ((W < lower) | (W > upper))
    inside = live & ~outside
    if counts is None:
        n_in = inside.sum(axis=0)
        cut = (W - new).sum(axis=0)
    else:
        c = np.asarray(counts, dtype=float)[:, None]
        n_in = (inside * c).sum(axis=0)
        cut = ((W - new) * c).sum(axis=0)
    share = np.where(n_in > 0, cut / np.maximum(n_in, 1), 0.0)
    return np.where(inside, new + share[None, :], new)


def replicate_weights_dense(weights: pd.DataFrame, *, totals: pd.DataFrame | None = None, strata: str = "district",
                            psu: str = "commune", fpc: str | None = FPC_COLUMN) -> ReplicateWeights:
    """JKn replicate weights of the stratified cluster design as an ``n x R`` matrix (:class:`ReplicateWeights`).

    The reference for :func:`replicate_weights`, which gives the same weights per cell without
    forming the matrix; for small designs and tests.  ``strata`` and ``psu`` name the design's columns (:class:`sipas.config.Hierarchy`: districts
    and communes in a three-tier survey; e.g. commune types and communes in a two-tier one).
    With ``totals`` (the
    ``poststrata_totals.csv`` table of :func:`poststrata_totals`), each replicate is
    post-stratified to the district totals, or raked to every margin, and trimmed when the table
    carries trimming bounds -- R equivalents::

        d <- svydesign(ids=~commune, strata=~district, weights=~w_nr, data=w)
        r <- postStratify(as.svrepdesign(d, type="JKn"), ~district, totals)
        r <- rake(as.svrepdesign(d, type="JKn"), list(~district, ~urban), list(t_district, t_urban))
        r <- trimWeights(r, upper=U, lower=L)

    ``weights`` needs ``w_nr``, ``strata`` and ``psu`` (the raking classes are looked up in
    ``totals`` by the columns identifying a commune).  When ``weights`` has the ``fpc`` column
    (communes in the stratum, :func:`psu_population`), the design carries the stage-1 finite population
    correction, ``svydesign(..., fpc=~psu_population)`` in R.
    """
    from sipas.estimation.design import Design

    data = weights if totals is None else _with_margin_columns(weights, totals)
    use_fpc = fpc if fpc is not None and fpc in data.columns else None
    design = Design(data, weight="w_nr", strata=strata, psu=psu, fpc=use_fpc)
    rep = design.replicate("JKn")
    if totals is not None:
        rep = _calibrate(rep, totals)
    scale, rscales, mse = rep.replicate_variance_factors()
    return ReplicateWeights(weights=np.asarray(rep.weights, dtype=float),
                            replicates=np.asarray(rep.replicate_weights(), dtype=float),
                            scale=scale, rscales=rscales, df=float(design.df), kind="JKn", mse=mse)


def _codes(values: pd.Series, *, what: str) -> tuple[np.ndarray, int]:
    """Integer codes of ``values`` in order of first appearance and their number; missing values are an error."""
    codes, uniques = pd.factorize(values, sort=False, use_na_sentinel=True)
    if (codes < 0).any():
        raise DesignError(f"missing values in {what} at data position {int(np.flatnonzero(codes < 0)[0])}")
    return codes.astype(np.int64), len(uniques)


def weighting_cells(data: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Cell of each row: the distinct combinations of ``columns``, numbered in order of first appearance."""
    key = np.zeros(len(data), dtype=np.int64)
    for c in columns:
        codes, k = _codes(data[c], what=f"column {c!r}")
        key, _ = pd.factorize(key * k + codes, sort=False)
        key = key.astype(np.int64)
    return key


def replicate_weights(weights: pd.DataFrame, *, totals: pd.DataFrame | None = None, strata: str = "district",
                      psu: str = "commune", fpc: str | None = FPC_COLUMN) -> CellReplicateWeights:
    """JKn replicate weights of the stratified cluster design, calibrated like the final weights, per cell.

    The same weights as :func:`replicate_weights_dense` (R equivalents there) without forming the
    ``n x R`` matrix.  Row ``i`` of PSU ``j`` and calibration cell ``c`` (the combination of the
    row's levels of every calibration margin: the post-stratum, or every raking margin) has
    replicate weight

    .. math:: w_{ri} = w^{nr}_i \\, a_{rj} \\, g_{rc},

    with :math:`a_{rj}` the JKn factor (0 for the deleted PSU, :math:`n_h/(n_h-1)` for the other
    PSUs of its stratum, 1 elsewhere) and :math:`g_{rc}` replicate :math:`r`'s calibration factor
    (post-stratification: :math:`N_c / \\sum_{i \\in c} w^{nr}_i a_{r j(i)}`; raking: the product
    of its iterations' post-stratification factors).  Both depend on :math:`w^{nr}` only through
    the totals :math:`T_{jc} = \\sum_{i \\in (j, c)} w^{nr}_i`, so the JKn replicates and their
    calibration are computed on the PSU x cell table (:math:`G` rows, :math:`G \\times R`
    weights) and the result is :math:`w^{nr}_i F_{(j,c), r}` with
    :math:`F = w_{r,(j,c)} / T_{jc}` (:class:`~sipas.estimation.replicate_weights.CellReplicateWeights`).

    Trimming (R ``trimWeights``) is not of this form: whether a row is clipped depends on its own
    weight :math:`w^{nr}_i a_{rj} g_{rc}`, and the trimmed amount is shared equally per row.  With
    trimming bounds in ``totals`` the cells are therefore PSU x calibration cell x value of
    :math:`w^{nr}` (rows of one cell have equal weights in every replicate), each cell counted with
    its number of rows, and ``factors`` hold the trimmed weights themselves (``base`` = 1).

    Cost: :math:`O(n)` to form the cells, then :math:`O(G R)` per calibration step -- the
    ``n x R`` matrix is never built.  The result also records which strata each replicate touches
    and each cell's calibration cell (not after trimming), so that a domain inside one stratum set
    and one calibration cell needs only its own strata's replicates
    (:meth:`~sipas.estimation.replicate_weights.CellReplicateWeights.local_replicates`).

    References: Rust & Rao (1996), *Stat. Methods Med. Res.* 5, 283-310 (JKn); Valliant (1993),
    *JASA* 88, 620-631 (re-calibrated replicates); R survey ``as.svrepdesign(type = "JKn")``,
    ``postStratify``, ``rake``, ``trimWeights``.

    Parameters
    ----------
    weights : DataFrame
        ``w_nr``, ``strata``, ``psu`` (and ``fpc``) per row; the raking classes are looked up in
        ``totals`` by the columns identifying a commune.
    totals : DataFrame, optional
        ``poststrata_totals.csv`` (:func:`sipas.stages.weighting.poststrata_totals`).
    strata, psu : str
        The design's columns.
    fpc : str or None
        Column with the number of PSUs in the stratum (stage-1 fpc), used when present.

    Returns
    -------
    CellReplicateWeights
    """
    from sipas.estimation.design import Design

    data = weights if totals is None else _with_margin_columns(weights, totals)
    use_fpc = fpc if fpc is not None and fpc in data.columns else None
    design = Design(data, weight="w_nr", strata=strata, psu=psu, fpc=use_fpc)  # validates the design columns
    w_nr = np.asarray(design.weights, dtype=float)
    margins = [] if totals is None else [m for m in calibration_margins(totals) if isinstance(m, str)]
    trim = totals is not None and "trim_upper" in totals.columns
    for m in margins:
        if m not in data.columns:
            raise DesignError(f"calibration variable {m!r} not in data")
    cols = list(dict.fromkeys([strata, psu, *margins]))
    keyed = data[cols].assign(_w_nr=w_nr) if trim else data[cols]
    cell = weighting_cells(keyed, cols + (["_w_nr"] if trim else []))
    G = int(cell.max()) + 1
    first = np.full(G, len(data), dtype=np.int64)
    np.minimum.at(first, cell, np.arange(len(data)))
    T = np.bincount(cell, weights=w_nr, minlength=G)
    cols_kept = list(dict.fromkeys(cols + ([use_fpc] if use_fpc else [])))
    table = data[cols_kept].iloc[first].reset_index(drop=True)
    cdes = Design(table, weight=T, strata=strata, psu=psu, fpc=use_fpc)
    rep = cdes.replicate("JKn")
    st = cdes._stages[0]
    changed = rep._replicates.psu_factors != 1.0  # C x R: replicate r moves PSU j
    touched = np.zeros((st.n_strata, changed.shape[1]), dtype=bool)
    np.logical_or.at(touched, st.cluster_stratum, changed)
    calib = None if trim else (weighting_cells(table, margins) if margins else np.zeros(G, dtype=np.int64))
    if totals is not None:
        rep = _calibrate(rep, totals, trim=False)
    scale, rscales, mse = rep.replicate_variance_factors()
    F = np.empty((G, len(rscales) + 1))  # built in place: G x R can be large
    F[:, 0] = np.asarray(rep.weights, dtype=float)
    F[:, 1:] = rep.replicate_weights()
    del rep  # its G x R replicate weights are copied
    F /= np.where(T > 0, T, 1.0)[:, None]
    F[T <= 0] = 0.0
    if trim:
        upper, lower = _trim_bounds(totals)
        per_row = F * w_nr[first][:, None]
        F = _trim_columns(per_row, upper=upper, lower=lower, counts=np.bincount(cell, minlength=G))
        base = np.ones(len(data))
    else:
        base = w_nr
    return CellReplicateWeights(base=base, cell=cell, factors=F, scale=scale, rscales=rscales,
                                df=float(design.df), kind="JKn", mse=mse, cell_strata=st.cluster_stratum[st.cluster],
                                touched=touched, calibration_cell=calib)


def poststratified_jkn(weights: pd.DataFrame, *, totals: pd.DataFrame | None = None, strata: str = "district",
                       psu: str = "commune", fpc: str | None = FPC_COLUMN) -> PostStratifiedJKn:
    """JKn replicates of the stratified design, post-stratified like the final weights, in ``O(n)``.

    The same replicates as :func:`replicate_weights` (and :func:`replicate_weights_dense`) for a design
    calibrated by post-stratification (or not calibrated), held without any PSU x replicate table: replicate
    ``r`` deletes PSU ``j`` of stratum ``h`` and

    .. math:: w_{ri} = w^{nr}_i \\, a_{r j(i)} \\, \\frac{N_{c(i)}}{\\sum_{i' \\in c(i)} w^{nr}_{i'} a_{r j(i')}},

    :math:`a_{rj}` = 0 for the deleted PSU, :math:`n_h/(n_h - 1)` for the other PSUs of ``h``, 1 elsewhere; a
    domain's totals in every replicate come from per-cell sums in closed form
    (:mod:`sipas.estimation.jkn_totals`), so time and memory grow linearly with the rows even when every
    respondent is a PSU (service-user surveys, :attr:`sipas.config.Hierarchy.element_psu`: ``n`` replicates,
    where :func:`replicate_weights`' PSU x cell table is ``n x n``).  R equivalent (service-user survey)::

        d <- svydesign(ids=~1, strata=~unit, fpc=~psu_population, weights=~w_nr, data=w)
        r <- postStratify(as.svrepdesign(d, type="JKn"), ~cell, totals)

    Replicates in R's order (strata, then PSUs within them, in order of first appearance); ``rscales``
    :math:`(n_h - 1)/n_h \\, (1 - n_h/N_h)` with the stage-1 fpc, ``scale`` 1, ``mse`` False; ``df`` = #PSUs -
    #strata (as :func:`replicate_weights`).

    Parameters
    ----------
    weights : DataFrame
        ``w_nr``, ``strata``, ``psu`` (and ``fpc``) and the post-stratification column (``totals``' first
        column) per row.
    totals : DataFrame, optional
        ``poststrata_totals.csv``: the post-strata and their ``households`` (service users: transactions).
        Raking margins (``rake_*``) or trimming bounds are refused (use :func:`replicate_weights`).
    strata, psu : str
        The design's columns.
    fpc : str or None
        Column with the number of PSUs in the stratum (stage-1 fpc), used when present.

    Returns
    -------
    PostStratifiedJKn

    Raises
    ------
    DesignError
        Raking or trimming in ``totals``; a post-stratum of the sample missing from ``totals`` or one of the
        population without sample rows (as :func:`sipas.estimation.weighting.poststratify`).
    LonelyPSUError
        A stratum with one PSU (the first in the data's order, as :func:`replicate_weights`).
    """
    from sipas.errors import LonelyPSUError
    from sipas.estimation import weighting
    from sipas.estimation.design import Design

    if totals is not None and (any(c.startswith(_RAKE_PREFIX) for c in totals.columns)
                               or "trim_upper" in totals.columns):
        raise DesignError("poststratified_jkn post-stratifies only: raking and trimming need replicate_weights")
    use_fpc = fpc if fpc is not None and fpc in weights.columns else None
    design = Design(weights, weight="w_nr", strata=strata, psu=psu, fpc=use_fpc)  # validates the design columns
    st = design._stages[0]
    n, C, S = design.n_rows, st.n_clusters, st.n_strata
    cs = st.cluster_stratum
    # R's replicate order (as sipas.estimation.replicates): strata, then PSUs, in order of first appearance
    first_row = np.full(C, n, dtype=np.int64)
    np.minimum.at(first_row, st.cluster, np.arange(n))
    stratum_first = np.full(S, n, dtype=np.int64)
    np.minimum.at(stratum_first, cs, first_row)
    lonely = np.flatnonzero(st.n_h < 2)
    if lonely.size:
        h = int(lonely[np.argmin(stratum_first[lonely])])
        raise LonelyPSUError(f"stratum ({st.stratum_labels[h]}) has one PSU: JKn needs >= 2",
                             stratum=st.stratum_labels[h])
    order = np.lexsort((first_row, stratum_first[cs]))          # replicate -> PSU code
    replicate_of = np.empty(C, dtype=np.int64)
    replicate_of[order] = np.arange(C)
    stratum_rank = np.empty(S, dtype=np.int64)
    stratum_rank[np.argsort(stratum_first, kind="stable")] = np.arange(S)
    n_h = st.n_h
    f_h = np.zeros(S) if st.popsize is None else st.n_h / st.popsize
    h_rep = cs[order]
    rscales = (n_h[h_rep] - 1.0) / n_h[h_rep] * (1.0 - f_h[h_rep])
    if totals is None:
        cell, population = stratum_rank[cs[st.cluster]], None
    else:
        (var, pop), = calibration_margins(totals).items()
        cell, population, _ = weighting._margin_codes(design, var, pop)
    return PostStratifiedJKn(base=np.asarray(design.weights, dtype=float), psu=replicate_of[st.cluster],
                             psu_stratum=stratum_rank[h_rep], cell=cell, population=population, scale=1.0,
                             rscales=rscales, df=float(design.df), mse=False)

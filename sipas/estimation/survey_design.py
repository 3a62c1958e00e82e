"""The survey's stratified cluster design as the weighting stage builds it, shared with the indices stage.

JKn replicate weights, calibrated and trimmed like the final weights (R: ``as.svrepdesign`` then ``postStratify``/
``rake``/``trimWeights``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sipas.errors import StageInputMissing

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


def _calibrate(design, totals: pd.DataFrame, *, strata: str | None = None):
    """Post-stratify or rake ``design`` (Taylor or replicate) to the ``totals`` margins, then trim."""
    from sipas.estimation import weighting

    margins = calibration_margins(totals, strata=strata)
    if any(c.startswith(_RAKE_PREFIX) for c in totals.columns):
        out = weighting.rake(design, margins, max_iter=RAKE_MAX_ITER, epsilon=RAKE_EPSILON, strict=True)
    else:
        out = weighting.poststratify(design, margins)
    if "trim_upper" in totals.columns:
        upper, lower = float(totals["trim_upper"].iloc[0]), float(totals["trim_lower"].iloc[0])
        out = trim_design(out, upper=upper, lower=lower)
    return out


def trim_design(design, *, upper: float, lower: float):
    """R ``trimWeights(design, upper, lower)``: full-sample weights and, for a replicate design,
    every replicate's weights trimmed the same way (the trimmed amount shared equally among the
    untrimmed weights of the same column)."""
    from sipas.estimation import weighting

    if not design.is_replicate:
        return weighting.trim(design, upper=upper, lower=lower)
    w1 = _trim_columns(np.asarray(design.weights, dtype=float)[:, None], upper=upper, lower=lower)[:, 0]
    return weighting._replicate_reweight(design, w1, lambda W: _trim_columns(W, upper=upper, lower=lower))


def _trim_columns(W: np.ndarray, *, upper: float, lower: float) -> np.ndarray:
    """One pass of R ``trimWeights`` on every column of ``W``.

    Zero weights (rows of the PSUs a jackknife replicate drops) are left at zero and take no
    share of the trimmed amount; the other weights are clipped to ``[lower, upper]`` and the
    trimmed amount is added equally to those that were inside the bounds.
    """
    live = W > 0
    new = np.where(live, np.clip(W, lower, upper), 0.0)
    outside = live & ((W < lower) | (W > upper))
    inside = live & ~outside
    n_in = inside.sum(axis=0)
    share = np.where(n_in > 0, (W - new).sum(axis=0) / np.maximum(n_in, 1), 0.0)
    return np.where(inside, new + share[None, :], new)


def replicate_weights(weights: pd.DataFrame, *, totals: pd.DataFrame | None = None, strata: str = "district",
                      psu: str = "commune", fpc: str | None = FPC_COLUMN):
    """JKn replicate weights of the stratified cluster design, calibrated like the final weights.

    ``strata`` and ``psu`` name the design's columns (:class:`sipas.config.Hierarchy`: districts
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
    from sipas.estimation.replicate_weights import ReplicateWeights

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

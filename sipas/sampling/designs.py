"""Probability designs for selecting units: PPS systematic, simple random, stratified (e.g. the 2025 two-tier structure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from sipas.errors import ConfigError, DesignError, InputError
from sipas.sampling.checks import _order, _require
from sipas.sampling.rules import VILLAGES_PER_COMMUNE
from sipas.text.collation import vi_sorted
from sipas.text.normalize import nfc


def _rng(seed: int | None, rng: np.random.Generator | None) -> np.random.Generator:
    if rng is not None:
        return rng
    if seed is None:
        raise DesignError("a seed (or a numpy Generator) is required for a random selection")
    return np.random.default_rng(seed)


def pps_systematic(frame: pd.DataFrame, *, size: str, n: int, seed: int | None = None,
                   rng: np.random.Generator | None = None) -> pd.DataFrame:
    """Systematic sampling with probability proportional to size (PPS), with certainty units.

    Units whose expected hits ``n x_i / X`` reach 1 are taken with certainty
    (``pi = 1``) and removed, repeatedly; on the rest (``n'`` draws, total ``X'``)
    the interval is ``a = X' / n'``, the start ``u ~ U[0, a)`` and the unit whose
    cumulative size interval ``(C_{i-1}, C_i]`` holds ``u + j a`` is taken, so
    ``pi_i = n' x_i / X'`` (Madow 1949; Cochran 1977 §9A.8; Särndal et al. 1992 §3.6).
    The frame order is kept (sort it first, e.g. alphabetically or geographically,
    for implicit stratification).  Units of size 0 are never selected.

    Parameters
    ----------
    frame : DataFrame
    size : str
        Column of the size measure (e.g. ``households``); non-negative numbers.
    n : int
        Sample size; at most the number of units of positive size.
    seed, rng
        Seed of ``numpy.random.default_rng``, or a Generator to continue a stream.

    Returns
    -------
    DataFrame
        The selected rows (frame order) with ``pi`` and ``certainty``.
    """
    x = pd.to_numeric(frame[size], errors="coerce")
    if x.isna().any() or (x < 0).any():
        pos = int(np.flatnonzero((x.isna() | (x < 0)).to_numpy())[0])
        raise InputError("size measure must be a non-negative number", row=pos + 2, column=size)
    x = x.to_numpy(dtype=float)
    npos = int((x > 0).sum())
    if n < 0 or n > npos:
        raise DesignError(f"cannot draw {n} units by PPS from {npos} units of positive size")
    g = _rng(seed, rng)
    cert = np.zeros(len(x), dtype=bool)
    while True:
        rest = ~cert & (x > 0)
        n_rest = n - int(cert.sum())
        tot = x[rest].sum()
        new = rest & (n_rest * x / tot >= 1.0) if n_rest > 0 and tot > 0 else np.zeros(len(x), dtype=bool)
        if not new.any():
            break
        cert |= new
    pi = np.where(cert, 1.0, 0.0)
    chosen = cert.copy()
    n_rest = n - int(cert.sum())
    if n_rest > 0:
        rest = ~cert & (x > 0)
        xr = np.where(rest, x, 0.0)
        tot = xr.sum()
        pi = np.where(rest, n_rest * xr / tot, pi)
        step = tot / n_rest
        points = g.uniform(0, step) + step * np.arange(n_rest)
        hit = np.searchsorted(np.cumsum(xr), points, side="right")
        chosen[hit] = True
    out = frame.loc[chosen].copy()
    out["pi"] = pi[chosen]
    out["certainty"] = cert[chosen]
    return out


def srs_select(frame: pd.DataFrame, *, n: int, seed: int | None = None,
               rng: np.random.Generator | None = None) -> pd.DataFrame:
    """Simple random sampling without replacement of ``n`` units; ``pi = n / N``.

    Returns the selected rows in frame order with ``pi`` and ``certainty`` (``n == N``).
    """
    N = len(frame)
    if n < 0 or n > N:
        raise DesignError(f"cannot draw {n} units by SRS from {N}")
    g = _rng(seed, rng)
    idx = np.sort(g.choice(N, size=n, replace=False)) if n else np.arange(0)
    out = frame.iloc[idx].copy()
    out["pi"] = n / N if N else 0.0
    out["certainty"] = n == N
    return out


def stratified_select(frame: pd.DataFrame, *, strata: str, n: int | Mapping[str, int], method: str = "srs",
                      size: str | None = None, order_by: str | None = None, seed: int) -> pd.DataFrame:
    """Stratified selection: an independent SRS or PPS systematic draw in each stratum.

    Strata are processed in Vietnamese alphabetical order with one random stream
    ``default_rng(seed)``; within a stratum the frame is ordered by ``order_by``
    (Vietnamese order, e.g. the unit name) before a PPS systematic draw.
    ``pi_hi = n_h / N_h`` (SRS) or ``n_h x_hi / X_h`` (PPS, certainty units 1).

    Parameters
    ----------
    strata : str
        Stratum column (e.g. ``commune_type``: Xã / Phường / Đặc khu, or ``district``).
    n : int or mapping
        Units per stratum, the same for all or per stratum name; a stratum smaller
        than its ``n_h`` is taken whole (``pi = 1``).
    method : {"srs", "pps_systematic"}
    size : str, optional
        Size column, required for PPS.

    Returns
    -------
    DataFrame
        Selected rows with ``stratum``, ``pi``, ``certainty`` and ``reason`` (the method).
    """
    if method not in ("srs", "pps_systematic"):
        raise DesignError(f"unknown selection method {method!r}; use 'srs' or 'pps_systematic'")
    if method == "pps_systematic" and not size:
        raise DesignError("PPS selection needs a size column")
    _require(frame, [strata] + ([size] if size else []) + ([order_by] if order_by else []), "sampling")
    g = np.random.default_rng(seed)
    parts = []
    for h in vi_sorted(frame[strata].astype(str).unique()):
        fh = frame[frame[strata].astype(str).map(nfc) == h]
        if order_by:
            fh = _order(fh, order_by)
        nh = int(n[h]) if isinstance(n, Mapping) else int(n)
        if isinstance(n, Mapping) and h not in n:
            raise DesignError(f"no sample size given for stratum {h!r}")
        if method == "pps_systematic":
            npos = int((pd.to_numeric(fh[size], errors="coerce") > 0).sum())
            sel = pps_systematic(fh, size=size, n=min(nh, npos), rng=g)
        else:
            sel = srs_select(fh, n=min(nh, len(fh)), rng=g)
        parts.append(sel.assign(stratum=h, reason=np.where(sel["certainty"], f"{method}_certainty", method)))
    return pd.concat(parts, ignore_index=True) if parts else frame.iloc[:0].assign(
        stratum=[], pi=[], certainty=[], reason=[])


def select_communes_design(communes: pd.DataFrame, *, design: Mapping[str, Any], seed: int) -> pd.DataFrame:
    """Communes by a probability design (the configurable 2-tier rule set, or an alternative for 3-tier).

    ``design`` is the ``sampling.communes`` section of survey.yml, e.g. for a 2-tier
    province (no districts; strata by commune type, systematic PPS by households)::

        communes: {design: pps_systematic, strata: commune_type, n: {Xã: 8, Phường: 3, Đặc khu: 1},
                   size: households}

    Keys: ``design`` (``pps_systematic`` or ``srs``), ``n`` (int or per stratum),
    ``strata`` (column, optional: none = one stratum), ``size`` (default ``households``).

    Returns
    -------
    DataFrame
        ``district`` (``""`` in a 2-tier frame), ``commune``, ``commune_class`` (if in the
        frame), ``stratum``, ``reason``, ``pi_commune``, ``commune_certainty``.
    """
    method = design.get("design", "pps_systematic")
    if "n" not in design:
        raise ConfigError("sampling.communes needs 'n' (communes per stratum)", key="sampling.communes.n")
    df = communes.copy()
    if "district" not in df:
        df["district"] = ""
    strata = design.get("strata")
    if strata is None:
        df["_all"] = "all"
        strata = "_all"
    size = design.get("size", "households") if method == "pps_systematic" else None
    if strata not in df.columns:
        raise ConfigError(f"column {strata!r} is not in the commune frame", key="sampling.communes.strata")
    available = df.groupby(strata, sort=False).size()
    asked = design["n"] if isinstance(design["n"], Mapping) else {h: design["n"] for h in available.index}
    for h, nh in asked.items():
        have = int(available.get(h, 0))
        if int(nh) > have:  # never take fewer communes than asked without saying so
            shown = f".{h}" if isinstance(design["n"], Mapping) else ""
            raise ConfigError(f"asks {int(nh)} communes of stratum {h!r}, but the commune frame has {have}",
                              key=f"sampling.communes.n{shown}")
    sel = stratified_select(df, strata=strata, n=design["n"], method=method, size=size, order_by="commune",
                            seed=seed)
    sel = sel.rename(columns={"pi": "pi_commune", "certainty": "commune_certainty"})
    cols = ["district", "commune"] + (["commune_class"] if "commune_class" in sel else []) + [
        "stratum", "reason", "pi_commune", "commune_certainty"]
    return sel[cols].reset_index(drop=True)


def select_villages_design(villages: pd.DataFrame, *, design: Mapping[str, Any], seed: int) -> pd.DataFrame:
    """Villages by a probability design in every commune (strata = communes), e.g.
    ``villages: {design: pps_systematic, n: 3, size: households}``.

    Returns ``district``, ``commune``, ``village``, ``reason``, ``pi_village``.
    """
    method = design.get("design", "pps_systematic")
    df = villages.copy()
    df["_commune_key"] = df["district"].astype(str).map(nfc) + "\x1f" + df["commune"].astype(str).map(nfc)
    size = design.get("size", "households") if method == "pps_systematic" else None
    sel = stratified_select(df, strata="_commune_key", n=int(design.get("n", VILLAGES_PER_COMMUNE)),
                            method=method, size=size, order_by="village", seed=seed)
    sel = sel.rename(columns={"pi": "pi_village"})
    return sel[["district", "commune", "village", "reason", "pi_village"]].reset_index(drop=True)

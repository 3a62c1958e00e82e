"""Allocation of forms to units: fixed, proportional, minimum + proportional, by the largest-remainder rule (seed 002)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from sipas.errors import ConfigError, DesignError
from sipas.sampling.checks import _require
from sipas.text.normalize import nfc


def _largest_remainder(quota: pd.Series, sizes: pd.Series, left: int) -> pd.Series:
    floor = np.floor(quota).astype(int)
    rema = quota - floor
    order = sorted(range(len(quota)), key=lambda i: (-rema.iloc[i], -sizes.iloc[i], i))
    bump = pd.Series(0, index=quota.index, dtype=int)
    for i in order[:left]:
        bump.iloc[i] = 1
    return floor + bump


def allocate_largest_remainder(sizes: pd.Series, total: int, *, minimum: int = 0,
                               capacity: pd.Series | None = None) -> pd.Series:
    """Allocate ``total`` proportionally to ``sizes`` keeping the sum (largest remainder).

    Each unit first gets ``minimum``; the rest ``R = total - minimum * K`` is shared
    as quotas ``q_i = R * s_i / sum(s)``; every unit gets ``floor(q_i)`` and the
    ``R - sum(floor(q))`` units with the largest remainders ``q_i - floor(q_i)`` get
    one more (Hamilton's method), ties broken by size then position (deterministic).

    With ``capacity`` (e.g. the hamlet sizes), no unit gets more than its capacity:
    the excess of capped units is shared again among the others by the same rule,
    until none exceeds (the result is unchanged when no unit exceeds).

    Raises
    ------
    DesignError
        ``minimum * K > total``, or ``total`` exceeds the total capacity.
    """
    sizes = sizes.astype(float)
    base = pd.Series(minimum, index=sizes.index, dtype=int)
    rest = total - int(base.sum())
    if rest < 0:
        raise DesignError(f"minimum {minimum} x {len(sizes)} units exceeds total {total}")
    if len(sizes) == 0:
        return base
    ssum = sizes.sum()
    quota = sizes / ssum * rest if ssum > 0 else pd.Series(rest / len(sizes), index=sizes.index)
    left = rest - int(np.floor(quota).astype(int).sum())
    alloc = base + _largest_remainder(quota, sizes, left)
    if capacity is None:
        return alloc
    cap = capacity.reindex(sizes.index).astype(int)
    if int(cap.sum()) < total:
        raise DesignError(f"cannot allocate {total} to units with total capacity {int(cap.sum())}")
    while (alloc > cap).any():
        over = alloc > cap
        excess = int((alloc - cap)[over].sum())
        alloc = alloc.where(~over, cap)
        room = (cap - alloc).clip(lower=0)
        open_ = room > 0
        s = sizes[open_]
        q = s / s.sum() * excess if s.sum() > 0 else pd.Series(excess / len(s), index=s.index)
        add = _largest_remainder(q, s, excess - int(np.floor(q).astype(int).sum()))
        alloc = alloc.add(add, fill_value=0).astype(int)
    return alloc


ALLOCATION_METHODS = ("fixed", "proportional", "minimum_plus_proportional")


def allocate_forms(units: pd.DataFrame, *, method: str = "fixed", per_unit: int | None = None,
                   total: int | None = None, minimum: int = 0, size: str = "households",
                   overrides: Mapping[str, int] | None = None, unit: str = "commune") -> pd.DataFrame:
    """Number of forms per unit (Phụ lục 04; seed 002's table).

    * ``fixed``: ``per_unit`` forms each, ``overrides`` for named units (seed 002:
      70 at the district one-stop unit + 50 in each of 8 communes = 470); the total
      is the sum.
    * ``proportional``: ``total`` shared in proportion to ``size`` (largest remainder,
      :func:`allocate_largest_remainder`, so the sum is exactly ``total``).
    * ``minimum_plus_proportional``: ``minimum`` each, the rest proportional to ``size``.

    Parameters
    ----------
    units : DataFrame
        One row per unit; ``unit`` names its column.
    overrides : mapping, optional
        Unit name -> forms, for ``fixed``; names are compared in NFC.

    Returns
    -------
    DataFrame
        ``units`` with a ``forms`` column (int).
    """
    if method not in ALLOCATION_METHODS:
        raise ConfigError(f"unknown allocation method {method!r}; use one of {', '.join(ALLOCATION_METHODS)}",
                          key="sampling.allocation.method")
    out = units.copy().reset_index(drop=True)
    if method == "fixed":
        if per_unit is None:
            raise ConfigError("fixed allocation needs per_unit", key="sampling.allocation.per_unit")
        ov = {nfc(k): int(v) for k, v in (overrides or {}).items()}
        names = out[unit].map(nfc)
        unknown = sorted(set(ov) - set(names))
        if unknown:
            raise ConfigError(f"allocation override for unknown unit(s): {', '.join(unknown)}",
                              key="sampling.allocation.overrides")
        out["forms"] = [ov.get(nm, int(per_unit)) for nm in names]
        return out
    if total is None:
        raise ConfigError(f"{method} allocation needs total", key="sampling.allocation.total")
    _require(out, [size], "allocation")
    mn = minimum if method == "minimum_plus_proportional" else 0
    out["forms"] = allocate_largest_remainder(out[size], int(total), minimum=mn).astype(int).to_numpy()
    return out

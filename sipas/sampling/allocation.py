"""Allocation of forms to units: fixed, proportional, minimum + proportional, Neyman, by the largest-remainder rule
(seed 002); seed 002's table (Thuận Nam 2023) as data."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from sipas.errors import ConfigError, DesignError, InputError
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


def neyman_allocation(sizes: pd.Series, sds: pd.Series, total: int, *, minimum: int = 0) -> pd.Series:
    """Neyman allocation of ``total`` forms: ``n_h`` proportional to ``N_h S_h``, capped at ``N_h``, whole numbers.

    The continuous Neyman quota of unit ``h`` is

    .. math:: q_h = R \\, \\frac{N_h S_h}{\\sum_{g \\in F} N_g S_g}, \\qquad h \\in F,

    where ``F`` is the set of units not yet fixed and ``R`` the forms not yet given to fixed units
    (Cochran 1977, *Sampling Techniques*, 3rd ed., §5.5, eq. 5.26; R ``PracTools::strAlloc(Nh, Sh, n.tot,
    alloc = "neyman")``).  Two constraints are then imposed, as in Cochran §5.5's remark on over-allocation:
    a unit whose quota exceeds ``N_h`` is fixed at ``N_h`` (a desk cannot give more forms than it has eligible
    transactions); a unit whose quota is below ``min(minimum, N_h)`` is fixed there; the remaining units share
    what is left by the same formula, until no quota violates a bound (caps are applied before minima, one
    round at a time).  The free units' quotas are made whole by the largest-remainder rule
    (:func:`allocate_largest_remainder`'s ties: larger ``N_h S_h``, then position), so the sum is exactly
    ``total``; rounding never breaks a bound (an integer bound is kept by ``floor`` and only a quota with a
    positive remainder is rounded up).  Without binding bounds the result differs from ``total N_h S_h /
    sum(N S)`` by less than 1 per unit.  When every ``S_h`` of the free units is 0 they share equally.

    Parameters
    ----------
    sizes : Series
        ``N_h``: eligible transactions (or users) per unit, whole numbers >= 0.
    sds : Series
        ``S_h``: the unit's standard deviation of the survey variable (e.g. ``sqrt(p (1 - p))`` of last year's
        index share ``p``), >= 0, same index as ``sizes``.
    total : int
        Forms to allocate.
    minimum : int, default 0
        Forms every unit gets at least (or all its ``N_h`` when fewer).

    Returns
    -------
    Series
        Whole numbers, same index as ``sizes``, summing to ``total``.

    Raises
    ------
    DesignError
        ``total`` exceeds ``sum(N_h)``, or the minima ``sum(min(minimum, N_h))`` exceed ``total``.
    """
    N = sizes.astype(float)
    S = sds.reindex(sizes.index).astype(float)
    if ((N < 0) | N.isna() | (N % 1 != 0)).any() or ((S < 0) | S.isna()).any():
        raise DesignError("Neyman allocation needs whole sizes >= 0 and standard deviations >= 0 for every unit")
    if total < 0:
        raise DesignError(f"cannot allocate a negative total ({total})")
    if total > N.sum():
        raise DesignError(f"cannot allocate {total} forms to units with {int(N.sum())} eligible in all")
    floor_ = np.minimum(float(minimum), N)
    if floor_.sum() > total:
        raise DesignError(f"minimum {minimum} per unit ({int(floor_.sum())} forms) exceeds total {total}")
    weight = N * S
    fixed = pd.Series(np.nan, index=N.index)
    while True:
        free = fixed.isna()
        rest = total - float(fixed[~free].sum())
        w = weight[free]
        if not free.any():
            break
        quota = rest * w / w.sum() if w.sum() > 0 else pd.Series(rest / int(free.sum()), index=w.index)
        over = quota > N[free]
        if over.any():
            fixed[over[over].index] = N[over[over].index]
            continue
        under = quota < floor_[free]
        if under.any():
            fixed[under[under].index] = floor_[under[under].index]
            continue
        break
    if not free.any() and rest != 0:
        raise DesignError(f"cannot allocate {total} forms within the bounds (minimum {minimum}, at most N_h)")
    out = pd.Series(0, index=N.index, dtype=int)
    out[~free] = fixed[~free].astype(int)
    if free.any():
        left = int(round(rest)) - int(np.floor(quota).astype(int).sum())
        out[free] = _largest_remainder(quota, w, left).astype(int)
    return out


ALLOCATION_METHODS = ("fixed", "proportional", "minimum_plus_proportional", "neyman")


def allocate_forms(units: pd.DataFrame, *, method: str = "fixed", per_unit: int | None = None,
                   total: int | None = None, minimum: int = 0, size: str = "households",
                   overrides: Mapping[str, int] | None = None, unit: str = "commune",
                   sd: str | None = None, proportion: str | None = None) -> pd.DataFrame:
    """Number of forms per unit (Phụ lục 04; seed 002's table).

    * ``fixed``: ``per_unit`` forms each, ``overrides`` for named units (seed 002:
      70 at the district one-stop unit + 50 in each of 8 communes = 470); the total
      is the sum.
    * ``proportional``: ``total`` shared in proportion to ``size`` (largest remainder,
      :func:`allocate_largest_remainder`, so the sum is exactly ``total``).
    * ``minimum_plus_proportional``: ``minimum`` each, the rest proportional to ``size``.
    * ``neyman``: ``total`` shared in proportion to ``N_h S_h`` (``N_h`` = column ``size``, e.g. eligible
      transactions in the survey window; ``S_h`` = column ``sd``, or ``sqrt(p (1 - p))`` of column
      ``proportion``, last year's index share of the unit), at least ``minimum`` and at most ``N_h`` per unit
      (:func:`neyman_allocation`; Cochran 1977 §5.5, R ``PracTools::strAlloc(alloc = "neyman")``).

    Parameters
    ----------
    units : DataFrame
        One row per unit; ``unit`` names its column.
    overrides : mapping, optional
        Unit name -> forms, for ``fixed``; names are compared in NFC.
    sd, proportion : str, optional
        For ``neyman``: the column holding ``S_h``, or the column holding a share ``p`` in [0, 1] with
        ``S_h = sqrt(p (1 - p))``; exactly one.

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
    if method == "neyman":
        if (sd is None) == (proportion is None):
            raise ConfigError("neyman allocation needs exactly one of sd (a column of standard deviations) or "
                              "proportion (a column of last year's shares)", key="sampling.allocation.sd")
        col = sd if sd is not None else proportion
        _require(out, [col], "allocation")
        vals = pd.to_numeric(out[col], errors="coerce")
        bad = vals.isna() | (vals < 0) | ((vals > 1) if proportion is not None else False)
        if bad.any():
            i = int(bad.to_numpy().argmax())
            raise InputError(f"not a {'share in [0, 1]' if proportion is not None else 'standard deviation >= 0'}:"
                             f" {out[col].iloc[i]!r}", row=i + 2, column=col)
        sds = np.sqrt(vals * (1 - vals)) if proportion is not None else vals
        sizes = pd.to_numeric(out[size], errors="coerce")
        bad = sizes.isna() | (sizes < 0) | (sizes % 1 != 0)
        if bad.any():
            i = int(bad.to_numpy().argmax())
            raise InputError(f"not a whole number >= 0: {out[size].iloc[i]!r}", row=i + 2, column=size)
        out["forms"] = neyman_allocation(sizes, sds, int(total), minimum=minimum).astype(int).to_numpy()
        return out
    mn = minimum if method == "minimum_plus_proportional" else 0
    out["forms"] = allocate_largest_remainder(out[size], int(total), minimum=mn).astype(int).to_numpy()
    return out


#: File of seed 002's allocation table in ``sipas/resources``.
THUANNAM_2023_RESOURCE = "allocation_thuannam_2023.csv"


def allocation_thuannam_2023() -> pd.DataFrame:
    """Seed 002's allocation table: Thuận Nam district (Ninh Thuận), 2023, 9 units, 470 forms.

    Source: Kế hoạch khảo sát mức độ hài lòng ... huyện Thuận Nam năm 2023 (UBND huyện Thuận Nam, 6/2023),
    Phụ lục "Phân bố phiếu khảo sát sự hài lòng của người dân năm 2023": 70 forms at the district one-stop desk
    (Bộ phận "Một cửa" huyện), 50 at the one-stop desk of each of its 8 communes, in the appendix's order.
    Kept as data in ``sipas/resources/allocation_thuannam_2023.csv``.

    Returns
    -------
    DataFrame
        ``unit_id`` (a short code, not from the seed), ``unit`` (the appendix's name), ``level``
        (``district`` / ``commune``), ``parent_unit``, ``forms`` (int), ``note``.
    """
    from importlib import resources
    import io

    text = (resources.files("sipas") / "resources" / THUANNAM_2023_RESOURCE).read_text(encoding="utf-8")
    df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    df["unit"] = df["unit"].map(nfc)
    df["forms"] = df["forms"].astype(int)
    return df

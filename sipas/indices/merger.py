"""The 2025 merger of provinces: last year's 63-province estimates mapped onto the 34 new provinces.

Resolution 202/2025/QH15 of the National Assembly (12/6/2025, in force 1/7/2025) merged Vietnam's 63
provinces and centrally-run cities into 34; every old province went whole into one new province.  The
mapping ships as data, ``sipas/resources/province_merger_2025.csv`` (``old_code, province_old,
new_code, province``): taken from the converter data of the ``vietnamadminunits`` package (1.0.4, MIT
licence, ``converter_2025.json`` ``DICT_PROVINCE``), checked against the resolution's list; the new
provinces' names and codes are spelled as the ``vietnam-provinces`` package (2025.10.1) spells them.
Neither package is a dependency: the first pulls shapely, geopy and tqdm for a 63-row table, the second
lists only the new units.  Old provinces are named as in the 2024 lists (``Tỉnh Thừa Thiên Huế``,
which became ``Thành phố Huế`` on 1/1/2025 before the merger).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from sipas.errors import EstimationError
from sipas.text.labels import LabelText

__all__ = ["merger_table", "new_provinces", "map_estimates", "RESOLUTION"]

#: The legal source of the mapping, as readers see it: ``{"vi": ..., "en": ...}`` (``RESOLUTION[lang]``), the
#: text ``labels.merger.resolution`` of ``resources/report_text.yml``.
RESOLUTION = LabelText("merger.resolution")


@lru_cache(maxsize=1)
def _read() -> pd.DataFrame:
    with resources.files("sipas").joinpath("resources/province_merger_2025.csv").open("rb") as f:
        return pd.read_csv(f, dtype={"province_old": str, "province": str}, keep_default_na=False)


def merger_table() -> pd.DataFrame:
    """The 63 old provinces and the new province each went into.

    Returns
    -------
    DataFrame
        ``old_code, province_old, new_code, province`` (63 rows, 34 distinct ``province``).
    """
    return _read().copy()


def new_provinces() -> list[str]:
    """The 34 provinces since 1/7/2025, in the order of their codes (as ``vietnam-provinces`` spells them)."""
    t = _read().drop_duplicates("province").sort_values("new_code", kind="stable")
    return t["province"].tolist()


def map_estimates(previous: pd.DataFrame, *, weights: pd.Series, unit: str = "domain",
                  by: tuple[str, ...] = (), mapping: pd.DataFrame | None = None) -> pd.DataFrame:
    """Map independent estimates of old provinces onto the new provinces they merged into.

    For a new province ``P`` made of old provinces ``i`` with weights ``w_i`` (households or population
    of the old province, normalised within ``P``, ``sum w_i = 1``)

    .. math:: \\hat\\theta_P = \\sum_i w_i \\hat\\theta_i, \\qquad
              \\widehat{se}_P^2 = \\sum_i w_i^2\\, \\widehat{se}_i^2,

    the variance of a fixed-weight mean of independent estimates (old provinces were separate strata);
    the degrees of freedom, when given, by Satterthwaite (1946):
    ``df_P = (sum a_i)^2 / sum(a_i^2 / df_i)`` with ``a_i = w_i^2 se_i^2``.  Respondent counts ``n``
    add up.  A new province that was one old province keeps its estimate.

    Parameters
    ----------
    previous : DataFrame
        Last year's estimates: ``unit`` (old province names as in :func:`merger_table`'s
        ``province_old``), ``estimate``, ``se``, optional ``df``, ``n`` and the ``by`` columns.
    weights : Series
        Households (or population) per old province, indexed by old province name.
    unit : str
        Column of ``previous`` naming the province.
    by : tuple of str
        Columns estimated separately (e.g. ``level``, ``id`` of an indices table).
    mapping : DataFrame, optional
        ``province_old, province``; default :func:`merger_table`.

    Returns
    -------
    DataFrame
        ``by + [unit, estimate, se, (df), (n), n_merged, merged_from]`` -- one row per new province
        (and ``by`` group), ``merged_from`` the old provinces joined by ``"; "``.

    Raises
    ------
    EstimationError
        When a province of ``previous`` is not in the mapping or has no positive weight, or when a new
        province misses one of its old provinces (its mapped value would be biased).
    """
    m = (mapping if mapping is not None else merger_table())[["province_old", "province"]]
    need = [c for c in (unit, "estimate", "se", *by) if c not in previous.columns]
    if need:
        raise EstimationError(f"previous estimates lack column(s) {', '.join(need)}")
    old_to_new = dict(zip(m["province_old"], m["province"]))
    unknown = sorted(set(previous[unit]) - set(old_to_new))
    if unknown:
        raise EstimationError(f"province(s) not among the 63 of the merger table: {', '.join(map(str, unknown))}")
    w = pd.Series(weights, dtype=float)
    bad = sorted(p for p in set(previous[unit]) if not (p in w.index and np.isfinite(w[p]) and w[p] > 0))
    if bad:
        raise EstimationError(f"no positive household weight for province(s): {', '.join(map(str, bad))}")
    t = previous.copy()
    t["_new"] = t[unit].map(old_to_new)
    t["_w"] = t[unit].map(w).astype(float)
    members = m.groupby("province")["province_old"].apply(set).to_dict()
    rows = []
    keys = [*by, "_new"]
    for key, g in t.groupby(keys, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        new = key[-1]
        missing = members[new] - set(g[unit])
        if missing:
            raise EstimationError(f"{new}: last year's estimate of {', '.join(sorted(missing))} is missing, so the "
                                  "merged province's value cannot be formed")
        wn = g["_w"].to_numpy() / g["_w"].sum()
        a = wn ** 2 * g["se"].to_numpy(float) ** 2
        row = dict(zip(by, key[:-1]))
        row[unit] = new
        row["estimate"] = float(np.sum(wn * g["estimate"].to_numpy(float)))
        row["se"] = float(np.sqrt(a.sum()))
        if "df" in g.columns:
            d = g["df"].to_numpy(float)
            row["df"] = float(a.sum() ** 2 / np.sum(a ** 2 / d)) if a.sum() > 0 else float(np.min(d))
        if "n" in g.columns:
            row["n"] = int(g["n"].sum())
        row["n_merged"] = len(g)
        row["merged_from"] = "; ".join(g[unit].astype(str))
        rows.append(row)
    return pd.DataFrame(rows)


def map_indices_table(previous: pd.DataFrame, *, weights: pd.Series) -> pd.DataFrame:
    """Last year's ``indices`` table with its old provinces mapped onto the new ones (:func:`map_estimates`).

    Rows of old provinces (``domain`` in :func:`merger_table`) are mapped per ``domain_type, level, id``;
    other rows (the country's) are kept.  CIs of mapped rows are recomputed on the logit scale with the
    Satterthwaite df (:func:`sipas.indices.scoring.logit_ci`); ``note`` is kept blank.

    Parameters
    ----------
    previous : DataFrame
        An ``indices.csv`` of a survey-year with the 63 provinces as domains.
    weights : Series
        Households per old province (e.g. the sums of last year's commune frame).

    Returns
    -------
    DataFrame
        The same columns as ``previous`` plus ``merged_from``.
    """
    from sipas.indices.scoring import logit_ci

    old = set(merger_table()["province_old"])
    is_old = previous["domain"].isin(old)
    if not is_old.any():
        return previous.copy()
    mapped = map_estimates(previous[is_old], weights=weights, by=("domain_type", "level", "id"))
    lo, hi = logit_ci(mapped["estimate"].to_numpy(float), mapped["se"].to_numpy(float),
                      df=mapped["df"].to_numpy(float) if "df" in mapped.columns else np.inf)
    mapped["ci_low"], mapped["ci_high"] = lo, hi
    out = pd.concat([previous[~is_old].assign(merged_from=""), mapped], ignore_index=True)
    return out[[c for c in previous.columns if c in out.columns] + ["merged_from"]]


def previous_onto_current(previous: pd.DataFrame, *, cfg, root=None) -> tuple[pd.DataFrame, list]:
    """The national kind's hook (:attr:`sipas.kinds.SurveyKind.previous_mapper`): last year's indices on this
    year's provinces.

    When last year's domains are the 63 old provinces and this year's the 34 new ones, they are mapped with
    household weights = the households of each old province in last year's commune frame (column
    ``households`` summed by ``province``).  Returns the table and the files read.
    """
    from sipas import rawfiles
    from sipas.config import find_survey

    old = set(merger_table()["province_old"])
    if not previous["domain"].isin(old).any():
        return previous, []
    prev_cfg = find_survey(str(cfg.extra["previous_survey"]), root=root, needs=("frames",))
    path = prev_cfg.frames["communes"]
    com = rawfiles.read_table(path, dtype={"province": str})
    rawfiles.require_columns(com, ["province", "households"], path, what="commune frame")
    w = pd.to_numeric(com["households"], errors="coerce").groupby(com["province"]).sum()
    return map_indices_table(previous, weights=w), [path]

"""Other indices beside SIPAS: unit- or province-level indicators from other sources, and their rank
correlation with the survey's values.

Sources a province or the Ministry may hold (issue 17, item 5):

* the service-quality scores of Decision 766/QĐ-TTg (23/6/2022) that provinces export from the national public
  service portal (Cổng Dịch vụ công quốc gia: "Bộ chỉ số chỉ đạo, điều hành và đánh giá chất lượng phục vụ người
  dân, doanh nghiệp"), per province or per unit;
* PAR INDEX (Chỉ số cải cách hành chính, Ministry of Home Affairs), per province;
* PAPI (Provincial Governance and Public Administration Performance Index, UNDP / CECODES), per province.

Every file is read into one tidy table ``unit, year, indicator, value, source`` (plus ``file`` and ``row``, where
each value came from).  Two layouts are accepted, CSV or XLSX (first visible sheet, header in row 1):

* long: columns ``unit, indicator, value`` and optionally ``year``, ``source``;
* wide: column ``unit`` (optionally ``year``, ``source``) and one column per indicator.

Column names may be written in Vietnamese (``đơn vị``/``tỉnh``, ``năm``, ``chỉ số``, ``giá trị``/``điểm``,
``nguồn``), in any case.  A value may use a decimal comma (``78,5``) or end in ``%``; a blank value is left out.
Without a ``year`` column the survey's year is used; without ``source`` the file's name.  Values are kept on
their own scale (a rank correlation does not care).

The rank correlation is Spearman's: Pearson's correlation of the mid-ranks (ties get the average rank), as R's
``cor(x, y, method = "spearman")``.  Its confidence interval uses Fisher's z with the variance of Bonett & Wright
(2000)::

    z = atanh(r),   se(z) = sqrt((1 + r^2 / 2) / (n - 3)),   CI = tanh(z -/+ z_{1-a/2} se(z))

(n >= 4; the plain Fisher variance 1 / (n - 3) is too small for Spearman's r).

References
----------
Bonett, D. G. & Wright, T. A. (2000). Sample size requirements for estimating Pearson, Kendall and Spearman
correlations. Psychometrika 65:23-28.
Fieller, E. C., Hartley, H. O. & Pearson, E. S. (1957). Tests for rank correlation coefficients. I. Biometrika
44:470-481.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from sipas import rawfiles
from sipas.errors import InputError

__all__ = ["COLUMNS", "read_other_indices", "load_other_indices", "unit_key", "spearman_ci",
           "compare_with_survey"]

#: Columns of the tidy table.
COLUMNS = ("unit", "year", "indicator", "value", "source", "file", "row")

#: Accepted spellings of each column (compared after :func:`_column_key`).
ALIASES = {
    "unit": ("unit", "don vi", "don_vi", "province", "tinh", "tinh thanh pho", "tinh, thanh pho", "district",
             "huyen", "commune", "xa", "name", "ten", "ten don vi"),
    "year": ("year", "nam"),
    "indicator": ("indicator", "chi so", "chi_so", "chi tieu", "chi_tieu"),
    "value": ("value", "gia tri", "gia_tri", "diem", "score"),
    "source": ("source", "nguon"),
}

#: Words before a unit's name that do not tell units apart ("Tỉnh Điện Biên" = "Điện Biên").
_PREFIXES = ("thành phố trực thuộc trung ương", "thành phố", "tỉnh", "tp.", "tp", "thị xã", "thị trấn", "huyện",
             "quận", "phường", "xã", "đặc khu")


def _fold(text: str) -> str:
    """Lower case without Vietnamese diacritics (``Đơn vị`` -> ``don vi``)."""
    t = unicodedata.normalize("NFD", str(text)).replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in t if unicodedata.category(c) != "Mn").lower()


def _column_key(name: object) -> str:
    return re.sub(r"\s+", " ", _fold(str(name)).strip())


def unit_key(name: object) -> str:
    """Key matching a unit's name across files: NFC, lower case, single spaces, without a leading "Tỉnh",
    "Thành phố", "Huyện", "Xã", ... (``"Tỉnh  Điện Biên"`` and ``"điện biên"`` give the same key)."""
    t = re.sub(r"\s+", " ", unicodedata.normalize("NFC", str(name)).strip().lower())
    for p in _PREFIXES:
        if t.startswith(p + " ") and len(t) > len(p) + 1:
            t = t[len(p) + 1:]
            break
    return t


def _number(v: object) -> float | None:
    """A cell as a number; None when blank; raises ValueError when not a number."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, bool):
        raise ValueError(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)
    s = str(v).strip().replace("\u00a0", "").replace(" ", "")
    if not s:
        return None
    s = s.removesuffix("%")
    if "," in s and "." not in s:
        s = s.replace(",", ".")
    x = float(s)
    if not np.isfinite(x):
        raise ValueError(v)
    return x


def read_other_indices(path: str | Path, *, default_year: int | None = None) -> pd.DataFrame:
    """One file of other indices as the tidy table (:data:`COLUMNS`).

    Parameters
    ----------
    path : str or Path
        CSV (UTF-8) or XLSX, long or wide layout (module docstring).
    default_year : int, optional
        Year of every row when the file has no ``year`` column.

    Returns
    -------
    DataFrame
        ``unit, year, indicator, value, source, file, row`` (``row`` as a spreadsheet counts it, header = 1),
        blank values left out.

    Raises
    ------
    InputError
        Naming the file, and the row and column where known: unreadable file, no unit column, no indicator,
        a value or year that is not a number, a blank unit, the same unit, year and indicator twice.
    """
    p = Path(path)
    raw = rawfiles.read_table(p, dtype=object, keep_default_na=False)
    rawfiles.refuse_excel_errors(raw, p)
    role: dict[str, str] = {}
    for c in raw.columns:
        k = _column_key(c)
        for name, spellings in ALIASES.items():
            if k in spellings and name not in role.values():
                role[str(c)] = name
                break
    by_role = {v: k for k, v in role.items()}
    if "unit" not in by_role:
        raise InputError(f"no unit column (unit, đơn vị, tỉnh); has {', '.join(map(str, raw.columns))}",
                         file=p, row=1, column=str(raw.columns[0]) if len(raw.columns) else None)
    long = "indicator" in by_role and "value" in by_role
    if long:
        value_cols = [by_role["value"]]
    else:
        value_cols = [str(c) for c in raw.columns if str(c) not in role]
        if "value" in by_role:   # a lone "value" column without "indicator": the file's one indicator
            value_cols.append(by_role["value"])
        if not value_cols:
            raise InputError("no indicator: give columns indicator and value (long layout) or one column per "
                             "indicator beside unit (wide layout)", file=p, row=1)
    if "year" not in by_role and default_year is None:
        raise InputError("no year column (year, năm) and no survey year to assume", file=p, row=1)
    rows = []
    for i, rec in enumerate(raw.to_dict("records")):
        line = i + 2
        unit = str(rec[by_role["unit"]]).strip()
        if "year" in by_role:
            try:
                y = _number(rec[by_role["year"]])
            except ValueError:
                y = -1.0
            if y is None or y != int(y) or not 1990 <= y <= 2100:
                raise InputError(f"year must be a whole number between 1990 and 2100, got "
                                 f"{rec[by_role['year']]!r}", file=p, row=line, column=by_role["year"])
            year = int(y)
        else:
            year = int(default_year)
        source = str(rec[by_role["source"]]).strip() if "source" in by_role else ""
        for col in value_cols:
            try:
                v = _number(rec[col])
            except ValueError:
                raise InputError(f"not a number: {rec[col]!r}", file=p, row=line, column=col) from None
            if v is None:
                continue
            if not unit:
                raise InputError("the unit is blank but the row holds a value", file=p, row=line,
                                 column=by_role["unit"])
            indicator = str(rec[by_role["indicator"]]).strip() if long else col.strip()
            if not indicator:
                raise InputError("the indicator is blank", file=p, row=line, column=by_role["indicator"])
            rows.append({"unit": unicodedata.normalize("NFC", unit), "year": year, "indicator": indicator,
                         "value": v, "source": source or p.name, "file": p.name, "row": line})
    t = pd.DataFrame(rows, columns=list(COLUMNS))
    _refuse_duplicates(t, p)
    return t


def _refuse_duplicates(t: pd.DataFrame, path: Path | None) -> None:
    if t.empty:
        return
    key = t["unit"].map(unit_key) + "\x1f" + t["year"].astype(str) + "\x1f" + t["indicator"] + "\x1f" + t["source"]
    dup = key.duplicated(keep="first")
    if dup.any():
        j = int(np.argmax(dup.to_numpy()))
        first = int(np.argmax((key == key.iloc[j]).to_numpy()))
        r = t.iloc[j]
        raise InputError(f"{r['unit']!r}, {r['indicator']!r}, {r['year']} given twice (first in {t['file'].iloc[first]} "
                         f"row {t['row'].iloc[first]}); keep one value", file=path or r["file"], row=int(r["row"]),
                         column="unit")


def load_other_indices(paths: Iterable[str | Path], *, default_year: int | None = None) -> pd.DataFrame:
    """Every file of ``paths`` (:func:`read_other_indices`) in one tidy table; the same unit, year, indicator
    and source in two files is an :class:`~sipas.errors.InputError` naming the second."""
    parts = [read_other_indices(p, default_year=default_year) for p in paths]
    t = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(COLUMNS))
    _refuse_duplicates(t, None)
    return t.sort_values(["indicator", "year", "unit"], kind="stable").reset_index(drop=True)


def spearman_ci(x: Sequence[float], y: Sequence[float], *, level: float = 0.95) -> dict[str, float]:
    """Spearman's rank correlation of ``x`` and ``y`` with a Fisher-z CI (Bonett & Wright 2000).

    ``r`` = Pearson's correlation of the mid-ranks (R ``cor(x, y, method = "spearman")``);
    ``z = atanh(r)``, ``se = sqrt((1 + r^2/2) / (n - 3))``, CI ``tanh(z -/+ q se)`` with ``q`` the normal
    quantile of ``level``.  Pairs with a missing value are dropped.

    Returns
    -------
    dict
        ``n``, ``r`` (NaN when n < 3 or a variable is constant), ``ci_low``, ``ci_high`` (NaN when n < 4).
    """
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    ok = ~(np.isnan(a) | np.isnan(b))
    a, b = a[ok], b[ok]
    n = int(len(a))
    out = {"n": n, "r": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    if n < 3:
        return out
    ra, rb = stats.rankdata(a), stats.rankdata(b)
    if np.ptp(ra) == 0 or np.ptp(rb) == 0:
        return out
    r = float(np.corrcoef(ra, rb)[0, 1])
    out["r"] = r
    if n >= 4:
        q = stats.norm.ppf(0.5 + level / 2)
        with np.errstate(divide="ignore"):
            z = np.arctanh(np.clip(r, -1.0, 1.0))
        se = np.sqrt((1 + r * r / 2) / (n - 3))
        out["ci_low"], out["ci_high"] = float(np.tanh(z - q * se)), float(np.tanh(z + q * se))
    return out


def compare_with_survey(other: pd.DataFrame, survey: pd.DataFrame, *,
                        level: float = 0.95) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Match other indices to the survey's units and correlate them with the survey's values.

    Parameters
    ----------
    other : DataFrame
        :func:`load_other_indices`.
    survey : DataFrame
        The survey's units: ``domain`` (name as in the indices tables) and ``estimate``.
    level : float
        Confidence level of the correlation's CI.

    Returns
    -------
    matched : DataFrame
        ``other`` with ``domain`` (the survey's name of the unit, blank when no unit matches) and
        ``survey_estimate``.
    correlations : DataFrame
        One row per ``indicator, year, source``: ``n`` (units in both), ``n_unmatched``, ``unmatched`` (names
        in the file matching no survey unit, "; "-joined), ``r``, ``ci_low``, ``ci_high``, ``level``
        (:func:`spearman_ci`).
    """
    names = {unit_key(d): d for d in survey["domain"].astype(str)}
    est = dict(zip(survey["domain"].astype(str), survey["estimate"].astype(float)))
    m = other.copy()
    m["domain"] = [names.get(unit_key(u), "") for u in m["unit"]]
    m["survey_estimate"] = [est.get(d, np.nan) if d else np.nan for d in m["domain"]]
    rows = []
    for (ind, year, src), g in m.groupby(["indicator", "year", "source"], sort=True):
        s = spearman_ci(g["value"].to_numpy(float), g["survey_estimate"].to_numpy(float), level=level)
        unmatched = g.loc[g["domain"] == "", "unit"].astype(str).tolist()
        rows.append({"indicator": ind, "year": int(year), "source": src, "n": s["n"], "n_unmatched": len(unmatched),
                     "unmatched": "; ".join(unmatched), "r": s["r"], "ci_low": s["ci_low"],
                     "ci_high": s["ci_high"], "level": level})
    cols = ["indicator", "year", "source", "n", "n_unmatched", "unmatched", "r", "ci_low", "ci_high", "level"]
    return m, pd.DataFrame(rows, columns=cols)

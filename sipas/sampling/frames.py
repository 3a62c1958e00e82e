"""Sampling frames from CSV or XLSX, checked and NFC-normalised (issue #3, point 1).

Three frames feed :mod:`sipas.sampling`:

* communes: ``district``, ``commune``, ``commune_class`` (I, II, III), ``is_admin_centre``,
  optional ``commune_type`` (Xã / Phường / Thị trấn / Đặc khu) and ``households``;
* villages: ``district``, ``commune``, ``village``, ``has_commune_hq``, ``households``,
  optional ``neighbour_order`` (geographic order used for top-ups);
* households: ``district``, ``commune``, ``village``, ``hamlet``, ``household_id``.
  Names, addresses and phone numbers belong only in restricted files.

In the 2-tier structure in force since 1/7/2025 (province -> commune) the ``district``
column is optional; it is added as ``""`` so the selection code handles both structures.
:func:`communes_2025` builds a real 2025 commune frame from the ``vietnam-provinces`` package.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sipas.errors import InputError
from sipas.kinds import DEFAULT_KIND, KINDS
from sipas.text.normalize import nfc

#: Required columns of the household kind's frames (three-tier; declared in :mod:`sipas.kinds`).
REQUIRED = {f.name: f.columns["three_tier"] for f in KINDS[DEFAULT_KIND].frames}
#: Columns holding whole numbers when present.
INTEGER_COLUMNS = ("households", "neighbour_order")
#: Columns holding yes/no flags when present.
FLAG_COLUMNS = ("is_admin_centre", "has_commune_hq")
_TRUE = {"1", "1.0", "true", "yes", "có", "co", "x"}
_FALSE = {"0", "0.0", "false", "no", "không", "khong", ""}


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV (UTF-8, BOM allowed) or the first visible sheet of an XLSX as text columns.

    Read through :func:`sipas.rawfiles.read_table`: the bytes are read once (hashed for the manifest),
    an Excel workbook under a ``.csv`` name, an encrypted workbook and a file with more than
    :data:`sipas.rawfiles.MAX_COLUMNS` columns are refused before parsing, and hidden sheets are never read.

    Raises
    ------
    InputError
        Unknown extension, unreadable file or non-UTF-8 CSV (naming the file).
    """
    from sipas import rawfiles

    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".xlsm"):
        raise InputError(f"unsupported frame format {suffix!r}; use .csv or .xlsx", file=p)
    if not p.exists():
        raise InputError("frame file not found", file=p)
    df = rawfiles.read_table(p, dtype=str, keep_default_na=False)
    df.columns = [nfc(str(c)).strip() for c in df.columns]
    for c in df.columns:
        df[c] = df[c].map(lambda v: nfc(v).strip() if isinstance(v, str) else v)
    return df


def read_frame(path: str | Path, *, kind: str, structure: str = "three_tier",
               unit_keys: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Read and check one sampling frame.

    Parameters
    ----------
    path : path
        ``.csv`` or ``.xlsx``.
    kind : {"communes", "villages", "households"}
    structure : {"three_tier", "two_tier"}
        In ``two_tier`` the ``district`` column may be absent (it is set to ``""``).
    unit_keys : tuple of str, optional
        The columns identifying a commune (:attr:`sipas.config.Hierarchy.unit_keys`, e.g. ``("province",
        "commune")`` in a national survey, whose commune names repeat across provinces); a village is these and
        ``village``.  Default: the household frames' ``district`` and ``commune``.

    Returns
    -------
    DataFrame
        Text NFC-normalised and stripped; flags as bool; ``households`` and
        ``neighbour_order`` as int.

    Raises
    ------
    InputError
        Naming the file, the row (header = row 1) and the column of the first problem:
        missing column, empty required cell, bad flag or number, duplicate unit.
    """
    if kind not in REQUIRED:
        raise ValueError(f"unknown frame kind {kind!r}")
    p = Path(path)
    df = read_table(p)
    if structure == "two_tier" and "district" not in df.columns:
        df.insert(0, "district", "")
    required = [c for c in REQUIRED[kind] if not (structure == "two_tier" and c == "district")]
    missing = [c for c in REQUIRED[kind] if c not in df.columns]
    if missing:
        raise InputError(f"{kind} frame lacks column(s) {', '.join(missing)}; has {', '.join(df.columns)}",
                         file=p, row=1, column=missing[0])
    from sipas.rawfiles import refuse_excel_errors

    refuse_excel_errors(df, p)
    for c in required:
        if c in FLAG_COLUMNS:
            continue
        empty = df[c].astype(str).str.strip() == ""
        if empty.any():
            raise InputError("empty value", file=p, row=int(empty.to_numpy().argmax()) + 2, column=c)
    for c in FLAG_COLUMNS:
        if c in df.columns:
            low = df[c].astype(str).str.strip().str.lower()
            bad = ~low.isin(_TRUE | _FALSE)
            if bad.any():
                i = int(bad.to_numpy().argmax())
                raise InputError(f"not a yes/no flag: {df[c].iloc[i]!r} (use 1/0, true/false, có/không, x)",
                                 file=p, row=i + 2, column=c)
            df[c] = low.isin(_TRUE)
    for c in INTEGER_COLUMNS:
        if c in df.columns:
            num = pd.to_numeric(df[c], errors="coerce")
            bad = num.isna() | (num < 0) | (num % 1 != 0)
            if bad.any():
                i = int(bad.to_numpy().argmax())
                raise InputError(f"not a non-negative whole number: {df[c].iloc[i]!r}", file=p, row=i + 2, column=c)
            df[c] = num.astype(int)
    ck = list(unit_keys or KINDS[DEFAULT_KIND].design.unit_levels["three_tier"])
    keys = {"communes": ck, "villages": ck + ["village"], "households": ["household_id"]}[kind]
    dup = df.duplicated(keys)
    if dup.any():
        i = int(dup.to_numpy().argmax())
        raise InputError(f"duplicate {kind[:-1]} {tuple(df[keys].iloc[i])}", file=p, row=i + 2, column=keys[-1])
    return df


def communes_2025(province: str, *, households: pd.DataFrame | None = None) -> pd.DataFrame:
    """A real 2-tier commune frame (since 1/7/2025) from the ``vietnam-provinces`` package.

    Parameters
    ----------
    province : str
        Province name as the package spells it, with or without prefix
        (``"Lai Châu"``, ``"Tỉnh Lai Châu"``, ``"Thành phố Huế"``); compared in NFC.
    households : DataFrame, optional
        ``commune`` and ``households`` counts to merge (the package has no sizes);
        communes not listed get a missing size.

    Returns
    -------
    DataFrame
        ``district`` (``""``), ``commune`` (full name with prefix), ``commune_type``
        (``xã``, ``phường``, ``đặc khu``), ``ward_code``, ``commune_class`` (missing: the
        package does not classify), ``is_admin_centre`` (False), ``households``; in
        Vietnamese alphabetical order.

    Raises
    ------
    InputError
        If the province is not found (the known names are listed).
    """
    from vietnam_provinces import Province, Ward

    from sipas.text.collation import vi_sort_key, vi_sorted
    from sipas.text.normalize import strip_unit_prefix

    want = strip_unit_prefix(nfc(province)).casefold()
    provs = list(Province.iter_all())
    match = [p for p in provs if strip_unit_prefix(nfc(p.name)).casefold() == want]
    if not match:
        raise InputError(f"province {province!r} not in vietnam-provinces; known: "
                         + ", ".join(vi_sorted(p.name for p in provs)))
    p = match[0]
    rows = [{"district": "", "commune": nfc(w.name), "commune_type": str(w.division_type.value),
             "ward_code": int(w.code.value) if hasattr(w.code, "value") else int(w.code),
             "commune_class": pd.NA, "is_admin_centre": False}
            for w in Ward.iter_by_province(p.code)]
    df = pd.DataFrame(rows)
    df = df.iloc[sorted(range(len(df)), key=lambda i: vi_sort_key(df["commune"].iloc[i]))].reset_index(drop=True)
    if households is not None:
        sizes = {nfc(c): v for c, v in zip(households["commune"], households["households"])}
        df["households"] = [sizes.get(c, pd.NA) for c in df["commune"]]
    else:
        df["households"] = pd.NA
    return df

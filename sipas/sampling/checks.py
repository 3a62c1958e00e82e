"""Checks and small helpers shared by the sampling modules (required columns, flags, frame order)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sipas.errors import InputError
from sipas.text.collation import vi_sort_key
from sipas.text.normalize import nfc


def _require(df: pd.DataFrame, cols: Sequence[str], what: str, *, file: str | Path | None = None) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(f"{what} frame lacks column(s) {', '.join(missing)}; has {', '.join(map(str, df.columns))}",
                         file=file, column=missing[0])


def _no_missing(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    """Raise :class:`InputError` naming the first empty cell of ``cols`` (row as a spreadsheet counts)."""
    for c in cols:
        bad = df[c].isna() | (df[c].astype(str).str.strip() == "")
        if bad.any():
            pos = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"{what} frame has an empty value", row=pos + 2, column=c)


_TRUE = ("1", "1.0", "true", "yes", "có", "x", "co")


def _as_bool(s: pd.Series) -> pd.Series:
    return s.map(lambda v: str(v).strip().lower() in _TRUE).astype(bool)


def _order(df: pd.DataFrame, col: str) -> pd.DataFrame:
    out = df.copy()
    out[col] = out[col].map(nfc)
    keys = out[col].map(vi_sort_key)
    return out.iloc[sorted(range(len(out)), key=lambda i: keys.iloc[i])].reset_index(drop=True)

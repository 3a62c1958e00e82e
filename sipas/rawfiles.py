"""Raw input files: read once, recognised by their bytes, refused early when they cannot be what they claim.

Every reader of ``data/raw`` goes through :func:`read_raw` (existence, size limit, the bytes read once and
their SHA-256 recorded for the stage's manifest, :func:`sipas.io.read_bytes`).  Before a file is parsed:

* its bytes are recognised (:func:`sniff`): an Excel workbook saved under a ``.csv`` name, an encrypted
  (password-protected) workbook, an old ``.xls``/OLE file under an ``.xlsx`` name are refused with one
  clear line instead of a decoder's or zip library's error;
* its header row is counted (:func:`check_csv_columns`, :func:`check_sheet_columns`): a file with more
  than :data:`MAX_COLUMNS` columns is refused before it is parsed (a 200,000-column CSV would otherwise
  take minutes and gigabytes).

:func:`read_table` reads a CSV or one worksheet of an XLSX (the first visible one unless named) into a
DataFrame with pandas' options, raising :class:`~sipas.errors.InputError` naming the file for every
problem.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

from sipas import io as sio
from sipas.errors import InputError

#: Files larger than this are refused unless the caller raises the limit.
MAX_BYTES = 256 * 1024 * 1024
#: Files with more columns than this are refused before they are parsed.
MAX_COLUMNS = 2000

_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED = ("EncryptionInfo".encode("utf-16-le"), "EncryptedPackage".encode("utf-16-le"))
_ENCRYPTED_HOW = ("remove the password in Excel (File > Info > Protect Workbook > Encrypt with Password, "
                  "clear it) and save the file again")


def read_raw(path: str | Path, *, max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes of a raw input file, read once (their digest recorded by :func:`sipas.io.read_bytes`).

    Raises
    ------
    InputError
        Naming the file when it is missing, not a regular file, empty, larger than ``max_bytes`` or
        unreadable (permissions).
    """
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=p)
    if not p.is_file():
        raise InputError("not a regular file", file=p)
    size = p.stat().st_size
    if size == 0:
        raise InputError("file is empty (0 bytes)", file=p)
    if size > max_bytes:
        raise InputError(f"file is {size} bytes, more than the limit of {max_bytes}; split it or raise max_bytes",
                         file=p)
    try:
        return sio.read_bytes(p)
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", file=p) from exc


def sniff(data: bytes) -> str:
    """What the bytes are: ``"zip"`` (an .xlsx workbook or another zip), ``"encrypted"`` (a
    password-protected Office file), ``"ole"`` (an old .xls or another OLE file) or ``"other"``."""
    if data.startswith(_ZIP):
        return "zip"
    if data.startswith(_OLE):
        return "encrypted" if any(m in data for m in _ENCRYPTED) else "ole"
    return "other"


def refuse_non_text(data: bytes, path: str | Path) -> None:
    """Refuse a file named as text (CSV) whose bytes are a workbook, naming what it is."""
    kind = sniff(data)
    if kind == "zip":
        raise InputError("this is an Excel workbook (.xlsx), not CSV text; save it as 'CSV UTF-8' "
                         "or give the file the .xlsx extension", file=path)
    if kind == "encrypted":
        raise InputError(f"this is an encrypted (password-protected) Excel workbook, not CSV text; "
                         f"{_ENCRYPTED_HOW}, then save it as 'CSV UTF-8'", file=path)
    if kind == "ole":
        raise InputError("this is an old Excel .xls workbook, not CSV text; open it in Excel and save it "
                         "as 'CSV UTF-8'", file=path)


def refuse_non_xlsx(data: bytes, path: str | Path) -> None:
    """Refuse a file named ``.xlsx``/``.xlsm`` whose bytes are no zip (encrypted, old .xls, text...)."""
    kind = sniff(data)
    if kind == "encrypted":
        raise InputError(f"the workbook is encrypted (password-protected); {_ENCRYPTED_HOW}", file=path)
    if kind == "ole":
        raise InputError("this is an old Excel .xls workbook under an .xlsx name; open it in Excel and "
                         "save it as .xlsx", file=path)


def _first_line(data: bytes) -> str:
    """The header line of CSV bytes, decoded just enough to count its delimiters."""
    if data[:2] == b"\xfe\xff":
        enc, nl, start = "utf-16-be", b"\x00\n", 2
    elif data[:2] == b"\xff\xfe":
        enc, nl, start = "utf-16-le", b"\n\x00", 2
    elif len(data) > 3 and data[1:4:2] == b"\x00\x00":  # UTF-16-LE without a byte-order mark
        enc, nl, start = "utf-16-le", b"\n\x00", 0
    else:
        end = data.find(b"\n")
        return (data if end < 0 else data[:end]).decode("latin-1").rstrip("\r")
    end = data.find(nl, start)
    while end >= 0 and (end - start) % 2:  # a line break is a whole code unit
        end = data.find(nl, end + 1)
    head = data[start:] if end < 0 else data[start:end]
    return head.decode(enc, errors="replace").rstrip("\r")


def csv_columns(data: bytes) -> int:
    """Number of cells of the header row of CSV bytes (delimiter ``,``, ``;`` or tab, the most frequent)."""
    line = _first_line(data)
    delim = max((",", ";", "\t"), key=lambda d: (line.count(d), d == ","))
    if line.count(delim) < MAX_COLUMNS:
        return line.count(delim) + 1  # an upper bound is enough below the limit
    try:
        return len(next(csv.reader([line], delimiter=delim), []))
    except csv.Error:
        return line.count(delim) + 1


def check_csv_columns(data: bytes, path: str | Path, *, max_columns: int = MAX_COLUMNS) -> None:
    """Refuse CSV bytes whose header row has more than ``max_columns`` cells, before parsing the file."""
    n = csv_columns(data)
    if n > max_columns:
        raise InputError(f"the header row has {n} columns, more than the limit of {max_columns}; "
                         "is this the right file?", file=path, row=1)


def check_sheet_columns(ws: Any, path: str | Path, *, max_columns: int = MAX_COLUMNS) -> None:
    """Refuse a worksheet declaring more than ``max_columns`` columns, before reading its rows."""
    try:
        n = int(ws.max_column or 0)
    except (TypeError, ValueError):
        return
    if n > max_columns:
        raise InputError(f"sheet {ws.title!r} has {n} columns, more than the limit of {max_columns}; "
                         "is this the right file?", file=path, row=1)


def open_workbook(data: bytes, path: str | Path, *, data_only: bool = True) -> Any:
    """An openpyxl read-only workbook of XLSX bytes, refusing encrypted and non-zip files clearly."""
    import openpyxl

    refuse_non_xlsx(data, path)
    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=data_only)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise InputError(f"not a readable Excel .xlsx workbook ({type(exc).__name__}: {exc})", file=path) from exc


def sheet_to_read(wb: Any, path: str | Path, *, names: tuple[str, ...] = ()) -> str:
    """The worksheet to read: the first of ``names`` present (case-insensitive), else the first visible sheet.

    Raises
    ------
    InputError
        If the named sheet is hidden, or no sheet is visible.
    """
    by_key = {str(n).strip().casefold(): n for n in wb.sheetnames}
    for want in names:
        name = by_key.get(str(want).strip().casefold())
        if name is not None:
            if getattr(wb[name], "sheet_state", "visible") != "visible":
                raise InputError(f"sheet {name!r} is hidden; unhide it (right-click a sheet tab > Unhide) if it "
                                 "holds the data to read", file=path)
            return name
    visible = [n for n in wb.sheetnames if getattr(wb[n], "sheet_state", "visible") == "visible"]
    if not visible:
        raise InputError("the workbook has no visible sheet", file=path)
    return visible[0]


def read_table(path: str | Path, *, max_bytes: int = MAX_BYTES, max_columns: int = MAX_COLUMNS,
               sheets: tuple[str, ...] = (), **options: Any) -> pd.DataFrame:
    """Read a raw CSV, or one worksheet of a raw XLSX, with pandas.

    Parameters
    ----------
    path : str or Path
        ``.csv``/``.txt`` or ``.xlsx``/``.xlsm``.
    max_bytes, max_columns : int
        Limits checked before parsing.
    sheets : tuple of str
        Worksheet names to prefer (the first present is read); else the first visible sheet
        (hidden sheets are never read by default).
    **options
        Passed to :func:`pandas.read_csv` / :func:`pandas.read_excel` (``dtype``, ``keep_default_na``...);
        CSV is read as UTF-8 (a byte-order mark is allowed) unless ``encoding`` is given.

    Returns
    -------
    DataFrame

    Raises
    ------
    InputError
        Naming the file (and the row when known) for every problem: missing, too large, a workbook under a
        CSV name, encrypted, too many columns, not UTF-8, malformed.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".csv", ".txt", ".xlsx", ".xlsm"):
        raise InputError(f"unsupported file type {suffix or '(none)'!r}; use .csv or .xlsx", file=p)
    data = read_raw(p, max_bytes=max_bytes)
    if suffix in (".csv", ".txt"):
        refuse_non_text(data, p)
        check_csv_columns(data, p, max_columns=max_columns)
        options.setdefault("encoding", "utf-8-sig")
        try:
            return pd.read_csv(io.BytesIO(data), **options)
        except UnicodeDecodeError as exc:
            raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start}); save it as 'CSV UTF-8'",
                             file=p) from exc
        except pd.errors.EmptyDataError as exc:
            raise InputError("file holds no table (no header row)", file=p) from exc
        except (pd.errors.ParserError, ValueError) as exc:
            raise InputError(f"malformed CSV: {str(exc).strip().splitlines()[-1] if str(exc).strip() else exc}",
                             file=p) from exc
    wb = open_workbook(data, p)
    try:
        name = sheet_to_read(wb, p, names=sheets)
        check_sheet_columns(wb[name], p, max_columns=max_columns)
    finally:
        wb.close()
    try:
        return pd.read_excel(io.BytesIO(data), sheet_name=name, engine="openpyxl", **options)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise InputError(f"cannot read sheet {name!r} ({type(exc).__name__}: {exc})", file=p) from exc


def require_columns(df: pd.DataFrame, columns: tuple[str, ...] | list[str], path: str | Path, *,
                    what: str = "file") -> None:
    """Refuse a table lacking any of ``columns``, naming the first missing one (row 1 = the header)."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(f"{what} lacks column(s) {', '.join(missing)}; has {', '.join(map(str, df.columns))}",
                         file=path, row=1, column=missing[0])


#: Excel's error values: a cell whose formula failed shows one of these, never a name or a number.
EXCEL_ERRORS = frozenset({"#REF!", "#N/A", "#VALUE!", "#DIV/0!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!",
                          "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!", "#N/A!"})


def refuse_excel_errors(df: pd.DataFrame, path: str | Path, *, columns: list[str] | tuple[str, ...] | None = None,
                        first_row: int = 2) -> None:
    """Refuse a table holding an Excel error value (``#REF!``, ``#N/A``, ``#VALUE!`` ...) in a text cell.

    Parameters
    ----------
    df : DataFrame
        As read.
    path : path-like
        Named in the error.
    columns : list of str, optional
        Columns to look at (default all).
    first_row : int, default 2
        Spreadsheet row of ``df``'s first row (the header is row 1).

    Raises
    ------
    InputError
        Naming the file, 1-based row and column of the first error value.
    """
    for c in columns if columns is not None else list(df.columns):
        if c not in df.columns or df[c].dtype.kind not in "OSU" and str(df[c].dtype) != "string":
            continue
        hit = df[c].map(lambda v: isinstance(v, str) and v.strip().upper() in EXCEL_ERRORS)
        if hit.any():
            i = int(hit.to_numpy().argmax())
            raise InputError(f"Excel error value {str(df[c].iloc[i]).strip()!r} (a broken formula), not data: "
                             "fix the cell in the workbook it was copied from", file=path, row=i + first_row,
                             column=str(c))

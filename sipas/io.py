"""Deterministic, atomic file output; raw input bytes hashed when read; checksums.

Every stage writes through these helpers so that (a) a crash never leaves a
half-written file in place of a good one (write to a temporary file in the same
folder, fsync, then ``os.replace``), (b) the same data always gives the same
bytes (fixed float format, LF line endings, sorted JSON keys, no timestamps) and
(c) inside :func:`transaction` (every stage runs in one) the files of a run appear
together or not at all: a failure half-way (bad input, read-only folder, full
disk) leaves the previous outputs untouched and no new file behind.

Files meant for people are safe to open in a spreadsheet: text that Excel or
LibreOffice would evaluate as a formula is written as text (:func:`write_csv`,
:func:`xlsx_bytes`).

Input files are read through :func:`read_bytes`, which records the SHA-256 of the
bytes actually read; a stage's manifest names those digests (:func:`read_digest`),
not the file's content at the end of the run.
"""

from __future__ import annotations

import contextlib
import hashlib
import io as _io
import json
import os
import re
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from sipas.errors import InputError, OutputError

_UMASK = os.umask(0)
os.umask(_UMASK)

#: Float format for processed CSV files: 17 significant digits round-trips a double exactly.
FLOAT_FORMAT = "%.17g"


# --------------------------------------------------------------------------------------------------
# transactions: the files of one run appear together or not at all


class _Transaction:
    """Files written (final path -> fsynced temporary file), folders created and files read in one run."""

    def __init__(self) -> None:
        self.pending: dict[Path, Path] = {}
        self.created: list[Path] = []
        self.reads: dict[Path, str] = {}

    def commit(self) -> None:
        items = list(self.pending.items())
        self.pending.clear()
        for i, (final, tmp) in enumerate(items):
            try:
                os.replace(tmp, final)
            except OSError as exc:
                for _f, t in items[i:]:
                    _unlink(t)
                raise OutputError(exc.strerror or str(exc), path=final) from exc

    def rollback(self) -> None:
        for tmp in self.pending.values():
            _unlink(tmp)
        self.pending.clear()
        for d in reversed(self.created):
            try:
                d.rmdir()  # only if empty
            except OSError:
                pass


_LOCAL = threading.local()


def _stack() -> list[_Transaction]:
    stack = getattr(_LOCAL, "stack", None)
    if stack is None:
        stack = _LOCAL.stack = []
    return stack


def _current() -> _Transaction | None:
    stack = _stack()
    return stack[-1] if stack else None


@contextlib.contextmanager
def transaction() -> Iterator[None]:
    """Write every file of the block together: all of them when it ends normally, none when it raises.

    Inside the block :func:`atomic_write_bytes` (and every writer built on it) writes and fsyncs a
    temporary file beside the target but does not rename it; at the end of the block all targets
    are renamed into place.  When the block raises (bad input, read-only folder, full disk...), the
    temporary files and the folders the block created are removed, the previous outputs are left
    untouched, and the exception propagates.  Nested blocks join the outermost one.

    Files written inside the block read back (:func:`read_bytes`, :func:`sha256_file`) with their new
    content, and :func:`read_digest` gives the digest of the bytes :func:`read_bytes` read in it.
    """
    stack = _stack()
    tx = _Transaction()
    stack.append(tx)
    try:
        yield
    except BaseException:
        stack.pop()
        tx.rollback()
        raise
    stack.pop()
    if stack:  # nested: the outer transaction publishes
        outer = stack[-1]
        for final, tmp in tx.pending.items():
            old = outer.pending.pop(final, None)
            if old is not None:
                _unlink(old)
            outer.pending[final] = tmp
        outer.created.extend(tx.created)
        outer.reads.update(tx.reads)
        return
    try:
        tx.commit()
    except BaseException:
        tx.rollback()
        raise


def _unlink(p: Path | str) -> None:
    try:
        os.unlink(p)
    except OSError:
        pass


def _pending(path: Path) -> Path | None:
    """The temporary file holding ``path``'s new content in an open transaction, if any."""
    key = Path(os.path.abspath(path))
    for tx in reversed(_stack()):
        if key in tx.pending:
            return tx.pending[key]
    return None


def make_folder(folder: str | Path) -> None:
    """Create ``folder`` and its missing parents; an open transaction removes them on failure.

    Raises
    ------
    OutputError
        Naming the folder when it cannot be created or is not a folder.
    """
    missing = []
    d = Path(os.path.abspath(folder))
    while not d.exists() and d != d.parent:
        missing.append(d)
        d = d.parent
    for m in reversed(missing):
        try:
            m.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise OutputError(exc.strerror or str(exc), path=m) from exc
        tx = _current()
        if tx is not None:
            tx.created.append(m)
    if not Path(folder).is_dir():
        raise OutputError("not a folder", path=folder)


# --------------------------------------------------------------------------------------------------
# writing


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file + fsync + ``os.replace``).

    Inside :func:`transaction` the rename waits until the transaction ends.

    Raises
    ------
    OutputError
        Naming the path when it cannot be written (read-only folder, full disk, ...).
    """
    path = Path(path)
    make_folder(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(exc.strerror or str(exc), path=path) from exc
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        tx = _current()
        if tx is not None:
            key = Path(os.path.abspath(path))
            old = tx.pending.pop(key, None)
            if old is not None:
                _unlink(old)
            tx.pending[key] = Path(tmp)
        else:
            os.replace(tmp, path)
    except BaseException as exc:
        _unlink(tmp)
        if isinstance(exc, OSError):
            raise OutputError(exc.strerror or str(exc), path=path) from exc
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 text atomically with LF line endings."""
    return atomic_write_bytes(path, text.encode("utf-8"))


#: First characters that make a spreadsheet read a text field as a formula (OWASP "CSV injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_TRIGGER = re.compile(r"'*[=+\-@\t\r]")
_ESCAPED = re.compile(r"'+[=+\-@\t\r]")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def neutralise_formula(value: Any) -> Any:
    """``value`` made safe for a spreadsheet: text starting with ``= + - @``, tab or CR gets a leading ``'``.

    Numbers written as text (``"-0.5"``, ``"+3"``) are left alone, as is anything that is not text.
    Text already starting with apostrophes before such a character gets one more, so that
    :func:`restore_formula` gives back exactly the original text.
    """
    if isinstance(value, str) and _TRIGGER.match(value) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def _for_spreadsheet(value: Any) -> Any:
    """A text cell of a CSV for people: carriage returns as line breaks (``csv`` leaves a cell holding a bare
    CR unquoted, and a reader would split the row there), then :func:`neutralise_formula`."""
    if isinstance(value, str) and "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return neutralise_formula(value)


def restore_formula(value: Any) -> Any:
    """The inverse of :func:`neutralise_formula` (one leading ``'`` removed before a trigger character)."""
    if isinstance(value, str) and _ESCAPED.match(value):
        return value[1:]
    return value


def _is_text(col: pd.Series) -> bool:
    return col.dtype == object or isinstance(col.dtype, pd.StringDtype)


def _map_text(df: pd.DataFrame, func: Any) -> pd.DataFrame:
    """``df`` with ``func`` applied to its column names and to the text cells of its text columns (a copy
    only where something changes; columns taken by position, so repeated names are fine)."""
    out = df
    for j in range(df.shape[1]):
        col = df.iloc[:, j]
        if not _is_text(col):
            continue
        vals = col.tolist()
        new = [func(v) for v in vals]
        if any(a is not b for a, b in zip(vals, new)):
            if out is df:
                out = df.copy()
            out.isetitem(j, pd.Series(new, index=col.index, dtype=col.dtype))
    names = [func(c) for c in df.columns]
    if any(a is not b for a, b in zip(df.columns, names)):
        if out is df:
            out = df.copy()
        out.columns = names
    return out


def is_for_people(path: str | Path) -> bool:
    """Whether a CSV written to ``path`` is for people (safe for spreadsheets): every file except the
    raw inputs under a ``data/raw`` folder (written only by ``sipas synth``, read back as typed)."""
    parts = Path(os.path.abspath(path)).parts
    return not any(parts[i:i + 2] == ("data", "raw") for i in range(len(parts) - 1))


def write_csv(df: pd.DataFrame, path: str | Path, *, index: bool = False, for_people: bool | None = None) -> Path:
    """Write a DataFrame as UTF-8 CSV, deterministically and atomically.

    Parameters
    ----------
    df : DataFrame
    path : str or Path
    index : bool, default False
        Also write the index.
    for_people : bool, optional
        Neutralise formulas (:func:`neutralise_formula`: text fields and column names starting with
        ``= + - @``, tab or CR get a leading ``'``; numbers are left alone) and write a carriage return
        inside a text field as a line break (a bare CR would be written unquoted and split the row).  Default
        :func:`is_for_people`: every CSV sipas writes is for people (opened in Excel) except the raw
        inputs under ``data/raw``.  :func:`read_csv` removes the apostrophe again, so a later stage
        reads the original text.
    """
    if for_people is None:
        for_people = is_for_people(path)
    if for_people:
        df = _map_text(df, _for_spreadsheet)
    text = df.to_csv(index=index, float_format=FLOAT_FORMAT, lineterminator="\n")
    return atomic_write_text(path, text)


# --------------------------------------------------------------------------------------------------
# reading


def read_bytes(path: str | Path) -> bytes:
    """The bytes of a file, read once; inside :func:`transaction` their SHA-256 is recorded for the manifest.

    Raises
    ------
    InputError
        If the same file is read twice in one transaction with different contents (it changed while
        the run was reading it).
    """
    path = Path(path)
    pending = _pending(path)
    with open(pending or path, "rb") as fh:
        data = fh.read()
    tx = _current()
    if tx is not None and pending is None:
        key = Path(os.path.abspath(path))
        digest = hashlib.sha256(data).hexdigest()
        if tx.reads.setdefault(key, digest) != digest:
            raise InputError("the file changed while sipas was reading it (read twice with different contents); "
                             "run again when nobody is editing it", file=path)
    return data


def read_digest(path: str | Path) -> str:
    """SHA-256 of the bytes of ``path`` as :func:`read_bytes` read them in the open transaction, else as now."""
    key = Path(os.path.abspath(path))
    for tx in reversed(_stack()):
        if key in tx.reads:
            return tx.reads[key]
    return sha256_file(path)


def read_csv(path: str | Path, **kwargs: Any) -> pd.DataFrame:
    """Read a CSV written by :func:`write_csv` (UTF-8, ``keep_default_na`` as pandas).

    The apostrophe :func:`write_csv` put before formula-like text is removed (:func:`restore_formula`).
    """
    df = pd.read_csv(_io.BytesIO(read_bytes(path)), encoding="utf-8", **kwargs)
    return _map_text(df, restore_formula)


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_json(obj: Any, path: str | Path) -> Path:
    """Write JSON with sorted keys and 2-space indent, atomically."""
    text = json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True, default=_json_default) + "\n"
    return atomic_write_text(path, text)


def read_json(path: str | Path) -> Any:
    """Read a JSON file written by :func:`write_json`."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes (for provenance tables); a file written in the open
    :func:`transaction` is hashed as written."""
    h = hashlib.sha256()
    with open(_pending(Path(path)) or path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def text_cells(workbook: Any) -> int:
    """Make every formula cell of an openpyxl workbook a text cell; returns how many were changed.

    openpyxl stores any text starting with ``=`` as a formula, which Excel then evaluates (a unit
    named ``=HYPERLINK(...)`` would become a live link).  Such cells are set to text
    (``data_type = "s"``) with Excel's quote prefix, so the text is shown and stays text when the cell
    is edited.
    """
    changed = 0
    for ws in workbook.worksheets:
        for cell in getattr(ws, "_cells", {}).values():
            if cell.data_type == "f":
                v = cell.value
                cell.value = v if isinstance(v, str) else str(getattr(v, "text", v))
                cell.data_type = "s"
                cell.quotePrefix = True
                changed += 1
    return changed


def xlsx_bytes(workbook: Any) -> bytes:
    """Bytes of an openpyxl workbook that depend only on its content, with no live formula.

    openpyxl stamps the save time in ``docProps/core.xml`` and in every zip entry;
    here the document properties are fixed (2000-01-01, creator "sipas") and the zip
    is rewritten with fixed entry times, so the same content gives the same bytes.
    Every cell is written as the value it holds: text that looks like a formula is
    written as text (:func:`text_cells`); sipas writes no formulas.
    """
    text_cells(workbook)
    import zipfile
    from datetime import datetime

    fixed = datetime(2000, 1, 1)
    workbook.properties.creator = "sipas"
    workbook.properties.lastModifiedBy = "sipas"
    workbook.properties.created = fixed
    workbook.properties.modified = fixed
    raw = _io.BytesIO()
    workbook.save(raw)
    src = zipfile.ZipFile(_io.BytesIO(raw.getvalue()))
    out = _io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                              rb"\g<1>2000-01-01T00:00:00Z\g<2>", body)
            zi = zipfile.ZipInfo(info.filename, date_time=(2000, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, body)
    return out.getvalue()

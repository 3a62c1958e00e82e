"""Deterministic, atomic file output and checksums.

Every stage writes through these helpers so that (a) a crash never leaves a
half-written file in place of a good one (write to a temporary file in the same
folder, fsync, then ``os.replace``) and (b) the same data always gives the same
bytes (fixed float format, LF line endings, sorted JSON keys, no timestamps).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

_UMASK = os.umask(0)
os.umask(_UMASK)

#: Float format for processed CSV files: 17 significant digits round-trips a double exactly.
FLOAT_FORMAT = "%.17g"


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file + fsync + ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 text atomically with LF line endings."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def write_csv(df: pd.DataFrame, path: str | Path, *, index: bool = False) -> Path:
    """Write a DataFrame as UTF-8 CSV, deterministically and atomically."""
    text = df.to_csv(index=index, float_format=FLOAT_FORMAT, lineterminator="\n")
    return atomic_write_text(path, text)


def read_csv(path: str | Path, **kwargs: Any) -> pd.DataFrame:
    """Read a CSV written by :func:`write_csv` (UTF-8, ``keep_default_na`` as pandas)."""
    return pd.read_csv(path, encoding="utf-8", **kwargs)


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
    """Hex SHA-256 of a file's bytes (for provenance tables)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def xlsx_bytes(workbook: Any) -> bytes:
    """Bytes of an openpyxl workbook that depend only on its content.

    openpyxl stamps the save time in ``docProps/core.xml`` and in every zip entry;
    here the document properties are fixed (2000-01-01, creator "sipas") and the zip
    is rewritten with fixed entry times, so the same content gives the same bytes.
    """
    import io as _io
    import re
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

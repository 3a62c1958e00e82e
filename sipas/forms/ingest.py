"""Read survey forms from any supported file into one canonical table.

Supported inputs (chosen by file extension):

* ``.csv`` / ``.txt`` -- plain CSV as keyed in Excel or written by the demo generator, KoBoToolbox or
  ODK Central CSV exports (group prefixes such as ``grp_a/p1_1a`` and ``;`` delimiters are handled);
  any of UTF-8 (with or without BOM), UTF-16 or Windows-1258;
* ``.xlsx`` / ``.xlsm`` -- the Excel entry template of :mod:`sipas.forms.instrument.export` (its entry
  sheet is read by name, :func:`entry_sheet_names`, whatever other sheets the workbook holds), KoBo/ODK
  XLSX exports, or a workbook with exactly one visible sheet whose header row holds the column ids (rows
  above it, such as merged titles, are skipped and logged).  A workbook with forms on several sheets, or
  only on a hidden one, and no entry sheet is refused: which forms to read would be a guess;
* ``.sav`` -- SPSS files (pyreadstat), e.g. written by :func:`sipas.forms.ingest.write_sav`.

The canonical table has one row per form: ``form_id``, ``respondent_key`` (salted pseudonym replacing the
respondent identifier), the context columns of the instrument's ``record`` section (district, commune,
village, mode, interview date, profile), then one nullable-integer column per item in instrument order.
Personal columns (names, phones, addresses, signatures) and any column the instrument does not know are
split off into ``restricted``.  Personal data typed in any other column -- a phone number, a 12-digit citizen
identity number or an e-mail address in the village column, say (:func:`sipas.forms.pii.personal_data_kind`) --
is moved to ``restricted`` (column ``personal_in_<column>``) and blanked in ``forms``; ``personal`` lists
where (form id, file, row, column, kind -- never the value).  Every repair is a row of ``log`` (file, row,
column, old, new, rule).

Files are refused before they are parsed when they cannot be what their name says (an Excel workbook under a
``.csv`` name, an encrypted workbook) or have more than :data:`MAX_COLUMNS` columns
(:mod:`sipas.rawfiles`).

Raw files are only ever opened for reading, and read once into memory: they stay byte-identical.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sipas import rawfiles
from sipas.text.encodings import decode_bytes, find_legacy_font
from sipas.errors import InputError, OutputError
from sipas.io import atomic_write_bytes, write_csv
from sipas.forms.pii import PrivacyError, personal_data_kind, pseudonym

#: Files larger than this are refused unless ``max_bytes`` is raised.
MAX_BYTES = rawfiles.MAX_BYTES
#: Files (or sheets) with more columns than this are refused before they are parsed.
MAX_COLUMNS = rawfiles.MAX_COLUMNS
#: Columns of :attr:`IngestResult.personal`.
PERSONAL_COLUMNS = ("form_id", "file", "row", "column", "kind")
#: Columns of the repair log.
LOG_COLUMNS = ("file", "row", "column", "old", "new", "rule")
#: How many leading rows are searched for the header row (merged titles above it are skipped).
HEADER_SEARCH_ROWS = 15

_DEFAULT_RECORD: dict[str, Any] = {
    "form_id": "form_id",
    "respondent_id": ["household_id"],
    "context": [
        {"id": "district", "type": "string", "required": True},
        {"id": "commune", "type": "string", "required": True},
        {"id": "village", "type": "string", "required": True},
        {"id": "mode", "type": "string"},
        {"id": "interview_date", "type": "date"},
    ],
    "personal": ["respondent_name", "phone", "address", "signature"],
}

#: Header spellings seen in provincial files and exports, normalised (see :func:`normalise_header`).
_BUILTIN_ALIASES: dict[str, str] = {
    "ma_phieu": "form_id", "mã_phiếu": "form_id", "so_phieu": "form_id", "số_phiếu": "form_id",
    "ma_ho": "household_id", "mã_hộ": "household_id", "mã_hộ_gia_đình": "household_id",
    "huyen": "district", "huyện": "district", "quận/huyện": "district", "huyện/thành_phố": "district",
    "xa": "commune", "xã": "commune", "xã/phường": "commune", "xã/phường/thị_trấn": "commune",
    "thon": "village", "thôn": "village", "thôn/bản": "village", "thôn/bản/tổ_dân_phố": "village",
    "hinh_thuc": "mode", "hình_thức": "mode", "ngay_phong_van": "interview_date",
    "ngày_phỏng_vấn": "interview_date", "ngày_khảo_sát": "interview_date", "date": "interview_date",
    "ho_ten": "respondent_name", "ho_va_ten": "respondent_name", "họ_tên": "respondent_name",
    "họ_và_tên": "respondent_name", "name": "respondent_name", "full_name": "respondent_name",
    "sdt": "phone", "so_dien_thoai": "phone", "số_điện_thoại": "phone", "điện_thoại": "phone",
    "phone_number": "phone", "tel": "phone",
    "dia_chi": "address", "địa_chỉ": "address", "chu_ky": "signature", "chữ_ký": "signature",
    "ký_tên": "signature", "gioi_tinh": "sex", "giới_tính": "sex", "tuoi": "age", "tuổi": "age",
    "dan_toc": "ethnicity", "dân_tộc": "ethnicity", "hoc_van": "education", "trình_độ_học_vấn": "education",
}


@dataclass(frozen=True)
class ColumnSpec:
    """One column of the canonical table: ``id``, ``type`` (string, date, integer), ``required``."""

    id: str
    type: str
    required: bool = False
    codes: tuple[int, ...] = ()
    labels: dict[str, int] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class RecordSpec:
    """The non-item columns of an instrument's forms (from its ``record`` section)."""

    form_id: str
    respondent_id: tuple[str, ...]
    context: tuple[ColumnSpec, ...]
    personal: tuple[str, ...]
    aliases: dict[str, str]


@dataclass(frozen=True)
class IngestResult:
    """What :func:`read_responses` returns.

    Attributes
    ----------
    forms : pandas.DataFrame
        Canonical table, one row per form, no personal column.
    restricted : pandas.DataFrame
        ``respondent_key``, ``form_id``, the raw respondent identifier(s), the personal columns and any
        column the instrument does not know.  Never write it under ``data/processed``.
    log : pandas.DataFrame
        One row per repair: ``file, row, column, old, new, rule``.
    files : pandas.DataFrame
        One row per input file: ``file, format, encoding, rows``.
    personal : pandas.DataFrame
        Personal data found outside the personal columns and moved to ``restricted``:
        ``form_id, file, row, column, kind`` (``phone``, ``citizen_id``, ``email``), never the value.
    """

    forms: pd.DataFrame
    restricted: pd.DataFrame
    log: pd.DataFrame
    files: pd.DataFrame
    personal: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        {c: pd.Series(dtype="Int64" if c == "row" else "string") for c in PERSONAL_COLUMNS}))


# --------------------------------------------------------------------------------------------------
# instrument-derived specification


def normalise_header(name: Any) -> str:
    """Normalise a header cell for matching: NFC, trimmed, case-folded, inner spaces as ``_``."""
    s = unicodedata.normalize("NFC", "" if name is None else str(name)).replace("\ufeff", "")
    s = re.sub(r"\s+", "_", s.strip()).casefold()
    return s


def _label_map(codes: dict[Any, Any], missing: dict[Any, Any] | None = None) -> dict[str, int]:
    out: dict[str, int] = {}
    for table in (codes or {}, missing or {}):
        for code, lab in table.items():
            texts = lab.values() if isinstance(lab, dict) else [lab]
            for t in texts:
                out[normalise_header(t)] = int(code)
    return out


def record_spec(instrument: Any) -> RecordSpec:
    """The column specification of ``instrument``'s forms.

    Uses the instrument's ``record`` section when present, else the household-survey default
    (form_id, household_id, district, commune, village, mode, interview_date and the personal columns).
    Profile questions of the instrument are added as integer (coded) context columns.
    """
    rec = dict(_DEFAULT_RECORD)
    rec.update(instrument.raw.get("record") or {})
    ctx: list[ColumnSpec] = []
    aliases: dict[str, str] = dict(_BUILTIN_ALIASES)
    for c in rec["context"]:
        ctx.append(ColumnSpec(id=c["id"], type=c.get("type", "string"), required=bool(c.get("required", False))))
        for a in c.get("aliases", []) or []:
            aliases[normalise_header(a)] = c["id"]
        if "label" in c:
            for t in c["label"].values():
                aliases[normalise_header(t)] = c["id"]
    for p in instrument.raw.get("profile", []) or []:
        codes = p.get("codes") or {}
        ctx.append(ColumnSpec(id=p["id"], type="integer", required=False,
                              codes=tuple(int(k) for k in codes), labels=_label_map(codes)))
        for t in (p.get("text") or {}).values():
            aliases[normalise_header(t)] = p["id"]
    for name, lab in (rec.get("labels") or {}).items():
        for t in lab.values():
            aliases[normalise_header(t)] = name
    for name, al in (rec.get("aliases") or {}).items():
        for a in al:
            aliases[normalise_header(a)] = name
    personal = tuple(rec["personal"])
    rid = rec["respondent_id"]
    rid = (rid,) if isinstance(rid, str) else tuple(rid)
    return RecordSpec(form_id=rec["form_id"], respondent_id=rid, context=tuple(ctx), personal=personal,
                      aliases=aliases)


def item_ids(instrument: Any) -> list[str]:
    """Item ids of ``instrument`` in questionnaire order."""
    return [it["id"] for it in instrument.raw["items"]]


def _item_labels(instrument: Any) -> dict[str, dict[str, int]]:
    out = {}
    for it in instrument.raw["items"]:
        sc = instrument.scales[it["scale"]]
        out[it["id"]] = _label_map(sc.get("codes", {}), sc.get("missing_labels", {}))
    return out


# --------------------------------------------------------------------------------------------------
# low-level readers: each returns a list of rows (lists of cell values) and their sheet row numbers


@dataclass
class _Table:
    file: str
    fmt: str
    encoding: str
    rows: list[list[Any]]
    rownums: list[int]
    log: list[dict[str, Any]]
    sheet: str | None = None
    hidden: bool = False


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, read once, read-only (:func:`sipas.rawfiles.read_raw`: existence and size checks,
    the digest recorded for the manifest)."""
    return rawfiles.read_raw(path, max_bytes=max_bytes)


def entry_sheet_names() -> tuple[str, ...]:
    """Names of the entry sheet of the Excel template in every language (``data/ui/template.yml``,
    ``template.data_sheet``), the sheet :func:`read_responses` reads from a workbook that has it."""
    import yaml

    from sipas.forms.instrument import DATA_DIR

    try:
        ui = yaml.safe_load((DATA_DIR / "ui" / "template.yml").read_text(encoding="utf-8"))
        names = tuple(str(v) for v in ui["template"]["data_sheet"].values())
    except (OSError, KeyError, TypeError, AttributeError, yaml.YAMLError):
        names = ()
    return names or ("Nhap_phieu", "Forms")


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] > 0 else ","


def _csv_text(data: bytes, dec: Any, path: Path) -> tuple[str, str | None]:
    """The text of a CSV file with its bare carriage returns masked.

    :func:`~sipas.text.encodings.decode_bytes` turns every ``"\\r"`` into a line break, but a bare CR (one not
    followed by ``"\\n"``) in a file whose rows end in LF or CRLF is cell content: Python's ``csv.writer``
    writes a cell such as ``"\\r0"`` unquoted, and read as a line break it would split one form into two
    rows.  The bytes are decoded again in the encoding ``decode_bytes`` found, CRLF row ends become LF, and
    each remaining CR is replaced by a private-use character absent from the text (returned as the second
    element) for the caller to turn back into a line break inside the cell.  A file whose first row ends in
    a bare CR keeps CR as its row end (classic Mac "CSV (Macintosh)" files); the second element is then None.
    """
    if b"\r" not in data:  # no byte 0x0D: no CR in any supported encoding
        return dec.text, None
    text = data.decode(dec.encoding).replace("\r\n", "\n")
    if "\r" not in text:
        return dec.text, None
    lf = text.find("\n")
    if lf < 0 or text.find("\r") < lf:  # the header row ends in a bare CR: CR-only row ends (classic Mac)
        return dec.text, None
    mark = next((chr(c) for c in range(0xE000, 0xF900) if chr(c) not in text), None)
    if mark is None:  # every private-use character occurs in the file: no safe mask, refuse
        i = text.index("\r")
        first = text.split("\n", 1)[0]
        delim = _sniff_delimiter(first)
        header = next(csv.reader([first], delimiter=delim))
        j = max(len(next(csv.reader([text[text.rfind("\n", 0, i) + 1:i]], delimiter=delim), [])) - 1, 0)
        raise InputError("carriage return (CR) inside an unquoted cell; remove it or quote the cell", file=path,
                         row=text.count("\n", 0, i) + 1,
                         column=header[j].strip() if j < len(header) and header[j].strip() else _col_letter(j))
    # same NFC normalisation as decode_bytes: CR and LF never compose, so masking does not change it
    return unicodedata.normalize("NFC", text.replace("\r", mark)), mark


def _read_csv_table(path: Path, data: bytes) -> _Table:
    rawfiles.refuse_non_text(data, path)
    rawfiles.check_csv_columns(data, path, max_columns=MAX_COLUMNS)
    dec = decode_bytes(data, file=path)
    log = [{"file": str(path), "row": pd.NA, "column": pd.NA, "old": dec.encoding, "new": "utf-8",
            "rule": "unicode_nfc" if "NFC" in r else "encoding", "note": r} for r in dec.repairs]
    if not dec.text.strip():
        raise InputError("file holds no text (only blanks or a byte-order mark)", file=path)
    text, mark = _csv_text(data, dec, path)
    first = text.split("\n", 1)[0]
    delim = _sniff_delimiter(first)
    rows: list[list[str]] = []
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True)
        for r in reader:
            if len(r) > MAX_COLUMNS:
                raise InputError(f"row has {len(r)} cells, more than the limit of {MAX_COLUMNS} columns; "
                                 "is this the right file?", file=path, row=len(rows) + 1)
            rows.append(r)
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", file=path, row=reader.line_num) from exc
    if mark is not None:  # a bare CR inside a cell becomes a line break in the cell, as decode_bytes does
        rows = [[c.replace(mark, "\n") if mark in c else c for c in r] for r in rows]
    return _Table(str(path), "csv", dec.encoding, rows, list(range(1, len(rows) + 1)), log)


def _read_xlsx_table(path: Path, data: bytes) -> list[_Table]:
    wb_values = rawfiles.open_workbook(data, path, data_only=True)
    wb_formulas = rawfiles.open_workbook(data, path, data_only=False)
    tables = []
    for name in wb_values.sheetnames:
        ws_v, ws_f = wb_values[name], wb_formulas[name]
        rawfiles.check_sheet_columns(ws_v, path, max_columns=MAX_COLUMNS)
        hidden = getattr(ws_v, "sheet_state", "visible") != "visible"
        rows: list[list[Any]] = []
        nums: list[int] = []
        log: list[dict[str, Any]] = []
        for r, (vals, forms) in enumerate(zip(ws_v.iter_rows(values_only=True),
                                              ws_f.iter_rows(values_only=True)), start=1):
            vals = list(vals)
            if len(vals) > MAX_COLUMNS:
                raise InputError(f"sheet {name!r}: row has {len(vals)} cells, more than the limit of {MAX_COLUMNS} "
                                 "columns; is this the right file?", file=path, row=r)
            for c, (v, f) in enumerate(zip(vals, forms)):
                if isinstance(f, str) and f.startswith("="):
                    if v is None:
                        vals[c] = _Formula(f)
                    else:
                        log.append({"file": f"{path}", "row": r, "column": c, "old": f, "new": str(v),
                                    "rule": "formula_value", "note": f"sheet {name}: formula replaced by its value"})
            rows.append(vals)
            nums.append(r)
        tables.append(_Table(f"{path}", "xlsx", f"sheet:{name}", rows, nums, log, sheet=name, hidden=hidden))
    wb_values.close()
    wb_formulas.close()
    return tables


class _Formula(str):
    """A formula cell without a cached value."""


def _read_sav_table(path: Path, data: bytes) -> _Table:
    """The table of an SPSS file from the bytes already read (pyreadstat reads a private copy of them, so
    the table is what the manifest's digest describes even if the file changes meanwhile)."""
    import tempfile

    import pyreadstat

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d) / path.name
        try:
            tmp.write_bytes(data)
            df, _meta = pyreadstat.read_sav(str(tmp), user_missing=True)
        except Exception as exc:  # pyreadstat raises its own ReadstatError / PyreadstatError
            why = str(exc).replace(str(tmp), str(path))
            raise InputError(f"not a readable SPSS .sav file ({type(exc).__name__}: {why})", file=path) from exc
    rows = [list(df.columns)]
    for rec in df.itertuples(index=False):
        rows.append([None if (isinstance(v, float) and v != v) else v for v in rec])
    return _Table(str(path), "sav", "sav", rows, list(range(1, len(rows) + 1)), [])


# --------------------------------------------------------------------------------------------------
# header detection and cell parsing


def _canonical_name(h: Any, known: set[str], aliases: dict[str, str]) -> str | None:
    n = normalise_header(h)
    if not n:
        return None
    m = re.match(r"^(.*?)[_\s]*[\[(]([^\])]+)[\])]$", n)  # "Mã phiếu (form_id)" / "Câu 1 [p1_1a]"
    candidates = [n]
    if m:
        candidates.insert(0, m.group(2).strip())
    for sep in ("/", ":"):
        if sep in n:
            candidates.append(n.rsplit(sep, 1)[1])
    for c in candidates:
        for k in known:
            if c == k.casefold():
                return k
        if c in aliases:
            return aliases[c]
    return None


def _bracketed(h: Any, name: str) -> bool:
    """True if header ``h`` is the template's ``"<label> [<name>]"`` form."""
    return normalise_header(h).endswith(f"[{name.casefold()}]")


def _find_header(table: _Table, known: set[str], required: Sequence[str], aliases: dict[str, str]) -> int | None:
    best, best_hits = None, 0
    for i, row in enumerate(table.rows[:HEADER_SEARCH_ROWS]):
        hits = {_canonical_name(h, known, aliases) for h in row} & set(required)
        if len(hits) > best_hits:
            best, best_hits = i, len(hits)
        if len(hits) == len(required):
            break
    if best is None or best_hits < max(1, len(required) // 2):
        return None
    return best


def _is_blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, float) and v != v)


def _to_int(v: Any, labels: dict[str, int]) -> tuple[Any, str | None]:
    """Parse one coded cell: returns (value or NA, rule of the repair made or None). Raises ValueError."""
    if isinstance(v, bool):
        raise ValueError("a TRUE/FALSE value")
    if isinstance(v, int):
        return v, None
    if isinstance(v, float):
        if v.is_integer():
            return int(v), None
        raise ValueError("a fraction")
    if isinstance(v, (dt.date, dt.datetime, dt.time)):
        raise ValueError("a date (Excel turned the entry into a date)")
    s = unicodedata.normalize("NFC", str(v)).strip()
    if re.fullmatch(r"[+-]?\d+", s):
        return int(s), None
    if re.fullmatch(r"[+-]?\d+[.,]0*", s):
        return int(re.split(r"[.,]", s)[0]), "integer_format"
    key = normalise_header(s)
    if key in labels:
        return labels[key], "label_to_code"
    m = re.fullmatch(r"(\d+)[\s.:)\-]+\D.*", s)  # "4. Hài lòng", "4 - Hài lòng"
    if m:
        return int(m.group(1)), "label_to_code"
    raise ValueError("not a whole-number code")


def _excel_serial(n: float) -> dt.date:
    return (dt.datetime(1899, 12, 30) + dt.timedelta(days=float(n))).date()


def _to_date(v: Any) -> tuple[Any, str | None]:
    if isinstance(v, dt.datetime):
        return pd.Timestamp(v.date()), None
    if isinstance(v, dt.date):
        return pd.Timestamp(v), None
    if isinstance(v, pd.Timestamp):
        return pd.Timestamp(v.date()), None
    if isinstance(v, (int, float)) and not isinstance(v, bool) and 20000 < float(v) < 80000:
        return pd.Timestamp(_excel_serial(v)), "excel_serial_date"
    s = str(v).strip()
    if re.fullmatch(r"\d{5}(\.0+)?", s) and 20000 < float(s) < 80000:
        return pd.Timestamp(_excel_serial(float(s))), "excel_serial_date"
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?", s)
    if m:
        return pd.Timestamp(dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))), None
    m = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", s)
    if m:  # Vietnamese day/month/year
        return pd.Timestamp(dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))), None
    raise ValueError("not a date (use yyyy-mm-dd or dd/mm/yyyy)")


def _to_str(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()
    return unicodedata.normalize("NFC", str(v)).strip()


# --------------------------------------------------------------------------------------------------
# public API


def read_responses(
    paths: str | Path | Iterable[str | Path],
    *,
    instrument: Any,
    salt: str,
    strict: bool = False,
    max_bytes: int = MAX_BYTES,
    absent: Sequence[str] = (),
    extra: Sequence[str] = (),
) -> IngestResult:
    """Read response files into the canonical forms table, splitting off personal data.

    Parameters
    ----------
    paths : path or iterable of paths
        Response files (``.csv``, ``.txt``, ``.xlsx``, ``.xlsm``, ``.sav``), read in the given order.
    instrument : sipas.forms.instrument.Instrument
        The questionnaire the forms follow.
    salt : str
        Secret salt of the survey for the respondent pseudonym (non-empty).
    strict : bool, default False
        Raise :class:`~sipas.errors.InputError` on the first cell that cannot be parsed instead of
        setting it missing and logging it.
    max_bytes : int
        Refuse files larger than this.
    absent : sequence of str
        Context columns of the instrument's record that this survey does not have, e.g.
        ``("district",)`` in a two-tier survey (since 1/7/2025): neither required nor written
        (a column of that name in a file is treated as unknown and moved to ``restricted``).
    extra : sequence of str
        Unit columns the survey has beyond the instrument's record, e.g. ``("province",)`` in a national
        survey: read as optional text columns (the cleaning stage takes them from the sample list).

    Returns
    -------
    IngestResult

    Raises
    ------
    InputError
        Naming file, row and column, for unreadable files, missing required columns, duplicated
        columns, blank form ids, formulas without values, legacy-font (TCVN3/VNI) text, or (``strict``)
        any unparsable cell; naming the file for a workbook under a ``.csv`` name, an encrypted
        workbook, more than :data:`MAX_COLUMNS` columns, or forms on several sheets (or only on a
        hidden one) of a workbook without the template's entry sheet.
    PrivacyError
        If ``salt`` is empty.
    """
    if not isinstance(salt, str) or not salt:
        raise PrivacyError("a non-empty salt is required to pseudonymise respondents")
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("no response files given")
    spec = record_spec(instrument)
    if absent:
        from dataclasses import replace

        spec = replace(spec, context=tuple(c for c in spec.context if c.id not in set(absent)))
    if extra:
        from dataclasses import replace

        have = {c.id for c in spec.context}
        spec = replace(spec, context=tuple(ColumnSpec(id=c, type="string", required=False)
                                           for c in extra if c not in have) + spec.context)
    items = item_ids(instrument)
    item_labels = _item_labels(instrument)
    forms_parts, restricted_parts, logs, files, personal = [], [], [], [], []
    for path in paths:
        f, r, lg, info, pers = _read_one(path, instrument=instrument, spec=spec, items=items,
                                         item_labels=item_labels, salt=salt, strict=strict, max_bytes=max_bytes)
        forms_parts.append(f)
        restricted_parts.append(r)
        logs.extend(lg)
        files.append(info)
        personal.extend(pers)
    forms = pd.concat(forms_parts, ignore_index=True) if len(forms_parts) > 1 else forms_parts[0]
    restricted = pd.concat(restricted_parts, ignore_index=True) if len(restricted_parts) > 1 else restricted_parts[0]
    log = pd.DataFrame(logs, columns=[*LOG_COLUMNS, "note"]) if logs else pd.DataFrame(
        {c: pd.Series(dtype="object") for c in (*LOG_COLUMNS, "note")})
    log["row"] = log["row"].astype("Int64")
    pers = pd.DataFrame(personal, columns=list(PERSONAL_COLUMNS))
    pers = pers.astype({c: "Int64" if c == "row" else "string" for c in PERSONAL_COLUMNS})
    return IngestResult(forms=forms, restricted=restricted, log=log,
                        files=pd.DataFrame(files, columns=["file", "format", "encoding", "rows"]), personal=pers)


def _read_one(path: Path, *, instrument: Any, spec: RecordSpec, items: list[str],
              item_labels: dict[str, dict[str, int]], salt: str, strict: bool,
              max_bytes: int) -> tuple[pd.DataFrame, pd.DataFrame, list[dict[str, Any]], dict[str, Any],
                                       list[dict[str, Any]]]:
    ext = path.suffix.lower()
    ctx_ids = [c.id for c in spec.context]
    known = {spec.form_id, *spec.respondent_id, *ctx_ids, *spec.personal, *items, "respondent_key"}
    required = [spec.form_id, *spec.respondent_id, *[c.id for c in spec.context if c.required], *items]
    if ext in (".csv", ".txt", ".tsv"):
        tables = [_read_csv_table(path, _read_bytes(path, max_bytes))]
    elif ext in (".xlsx", ".xlsm"):
        tables = _read_xlsx_table(path, _read_bytes(path, max_bytes))
    elif ext == ".sav":
        tables = [_read_sav_table(path, _read_bytes(path, max_bytes))]
    elif ext == ".xls":
        raise InputError("old Excel .xls format is not supported; open it in Excel and save as .xlsx", file=path)
    else:
        raise InputError(f"unsupported file type {ext or '(none)'!r}; use .csv, .xlsx or .sav", file=path)

    table, hdr, sheet_log, t0 = _choose_table(path, tables, known=known, required=required, spec=spec)
    if table is None:
        if not any(any(not _is_blank(v) for v in row) for row in t0.rows):
            raise InputError("file holds no rows", file=path)
        found = {_canonical_name(h, known, spec.aliases) for row in t0.rows[:HEADER_SEARCH_ROWS] for h in row}
        missing = [c for c in required if c not in found]
        raise InputError(f"no header row with the instrument's columns found in the first {HEADER_SEARCH_ROWS} "
                         f"rows; missing: {', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}",
                         file=path, row=1, column=missing[0] if missing else None)
    log = [dict(e) for e in table.log] + sheet_log
    for e in log:  # xlsx reader logged 0-based column positions: name them
        if isinstance(e.get("column"), int):
            j = e["column"]
            h = table.rows[hdr][j] if j < len(table.rows[hdr]) else None
            e["column"] = _canonical_name(h, known, spec.aliases) or _col_letter(j)
    fname = str(path)
    header_row = table.rownums[hdr]
    skipped = [table.rownums[i] for i in range(hdr) if any(not _is_blank(v) for v in table.rows[i])]
    if skipped:
        log.append({"file": fname, "row": skipped[0], "column": pd.NA, "old": f"{len(skipped)} row(s)",
                    "new": pd.NA, "rule": "header_rows_skipped",
                    "note": f"rows {skipped[0]}-{header_row - 1} above the header row {header_row} skipped "
                            "(merged titles or labels)"})
    header = table.rows[hdr]
    colmap: dict[int, str] = {}
    extras: dict[int, str] = {}
    seen: dict[str, int] = {}
    for j, h in enumerate(header):
        name = _canonical_name(h, known, spec.aliases)
        if name is None:
            if _is_blank(h):
                if any(j < len(r) and not _is_blank(r[j]) for r in table.rows[hdr + 1:]):
                    raise InputError("column without a header holds data", file=path, row=header_row,
                                     column=_col_letter(j))
                continue
            extras[j] = _to_str(h)
            continue
        if name in seen:
            raise InputError(f"column {name!r} appears twice (columns {_col_letter(seen[name])} and "
                             f"{_col_letter(j)})", file=path, row=header_row, column=_to_str(h))
        seen[name] = j
        colmap[j] = name
        if normalise_header(h) != name.casefold() and not _bracketed(h, name):
            log.append({"file": fname, "row": header_row, "column": _to_str(h), "old": _to_str(h), "new": name,
                        "rule": "rename_column", "note": "header matched by alias or group prefix"})
    missing = [c for c in required if c not in seen]
    if "respondent_key" in seen:  # already pseudonymised (e.g. a .sav written by write_sav)
        missing = [c for c in missing if c not in spec.respondent_id]
    if missing:
        raise InputError(f"required column(s) missing: {', '.join(missing)}", file=path, row=header_row,
                         column=missing[0])
    for j, h in extras.items():
        log.append({"file": fname, "row": header_row, "column": h, "old": h, "new": pd.NA,
                    "rule": "extra_column_restricted", "note": "unknown column moved to the restricted file"})

    ctx_spec = {c.id: c for c in spec.context}
    records: list[dict[str, Any]] = []
    priv: list[dict[str, Any]] = []
    empty_rows: list[int] = []
    personal: list[dict[str, Any]] = []
    moved_cols: dict[str, None] = {}
    not_scanned = {spec.form_id, "respondent_key", *spec.respondent_id, *spec.personal}

    def bad(rownum: int, col: str, old: Any, why: str) -> None:
        if strict:
            raise InputError(f"{why}: {old!r}", file=path, row=rownum, column=col)
        log.append({"file": fname, "row": rownum, "column": col, "old": _to_str(old), "new": pd.NA,
                    "rule": "type", "note": why})

    converters = [(cid, _context_converter(ctx_spec[cid])) for cid in ctx_ids]
    converters += [(it, (lambda v, labels=item_labels[it]: _to_int(v, labels))) for it in items]
    caches: dict[str, dict[Any, tuple[Any, str | None, str | None]]] = {cid: {} for cid, _ in converters}
    for i in range(hdr + 1, len(table.rows)):
        row = table.rows[i]
        rownum = table.rownums[i]
        if all(_is_blank(v) for v in row):
            empty_rows.append(rownum)
            continue
        if len(row) > len(header) and any(not _is_blank(v) for v in row[len(header):]):
            raise InputError(f"row has {len(row)} cells but the header has {len(header)}: values beyond the last "
                             "column (a stray delimiter or an unquoted comma?)", file=path, row=rownum,
                             column=_col_letter(len(header)))
        cell = {name: (row[j] if j < len(row) else None) for j, name in colmap.items()}
        for name, v in cell.items():
            if isinstance(v, _Formula) or (isinstance(v, str) and v.strip().startswith("=") and len(v.strip()) > 1):
                raise InputError(f"formula {str(v).strip()!r} instead of a value; paste values only",
                                 file=path, row=rownum, column=name)
            if isinstance(v, str) and not v.isascii():
                font = find_legacy_font(v)
                if font:
                    raise InputError(f"text typed in the legacy {font} font encoding ({v.strip()[:40]!r}); "
                                     "convert the file to Unicode (e.g. Unikey's converter) and save it again",
                                     file=path, row=rownum, column=name)
        rec: dict[str, Any] = {}
        fid = cell.get(spec.form_id)
        if _is_blank(fid):
            raise InputError("form id is blank", file=path, row=rownum, column=spec.form_id)
        rec["form_id"] = _to_str(fid)
        moved_here: dict[str, str] = {}
        for name in list(cell):
            kind = None if name in not_scanned else personal_data_kind(cell[name])
            if kind is None:
                continue
            col = f"personal_in_{name}"
            moved_here[col] = _to_str(cell[name])
            moved_cols.setdefault(col, None)
            cell[name] = None
            log.append({"file": fname, "row": rownum, "column": name, "old": pd.NA, "new": pd.NA,
                        "rule": "personal_data_moved",
                        "note": f"{kind} in a non-personal column: moved to the restricted file ({col}), blanked"})
            personal.append({"form_id": rec["form_id"], "file": fname, "row": rownum, "column": name, "kind": kind})
        rid_parts = [cell.get(c) for c in spec.respondent_id]
        if "respondent_key" in cell and all(c not in cell for c in spec.respondent_id if c != spec.form_id):
            rk = cell["respondent_key"]
            rec["respondent_key"] = pd.NA if _is_blank(rk) else _to_str(rk)
        elif any(_is_blank(v) for v in rid_parts):
            rec["respondent_key"] = pd.NA
            log.append({"file": fname, "row": rownum, "column": ",".join(spec.respondent_id), "old": pd.NA,
                        "new": pd.NA, "rule": "missing_respondent_id",
                        "note": "respondent identifier blank: no pseudonymous key"})
        else:
            rec["respondent_key"] = pseudonym([_to_str(v) for v in rid_parts], salt=salt) \
                if len(rid_parts) > 1 else pseudonym(_to_str(rid_parts[0]), salt=salt)
        for cid, convert in converters:
            v = cell.get(cid)
            if _is_blank(v):
                rec[cid] = pd.NA
                continue
            val, rule, err = _converted(convert, v, caches[cid])
            if err is not None:
                bad(rownum, cid, v, err)
                rec[cid] = pd.NA
                continue
            rec[cid] = val
            if rule:
                log.append({"file": fname, "row": rownum, "column": cid, "old": _to_str(v), "new": str(val),
                            "rule": rule, "note": ""})
        records.append(rec)
        p = {"respondent_key": rec["respondent_key"], "form_id": rec["form_id"]}
        for c in spec.respondent_id:
            p[c] = pd.NA if _is_blank(cell.get(c)) else _to_str(cell.get(c))
        for c in spec.personal:
            if c in cell:
                p[c] = pd.NA if _is_blank(cell[c]) else _to_str(cell[c])
        for j, h in extras.items():
            v = row[j] if j < len(row) else None
            p[h] = pd.NA if _is_blank(v) else _to_str(v)
        p.update(moved_here)
        priv.append(p)
    if empty_rows:
        log.append({"file": fname, "row": empty_rows[0], "column": pd.NA, "old": f"{len(empty_rows)} row(s)",
                    "new": pd.NA, "rule": "empty_rows_dropped", "note": "rows with no value at all"})
    if not records:
        raise InputError("no forms: the file has a header row but no data rows", file=path, row=header_row + 1)

    forms = _typed_forms(records, ctx_spec, ctx_ids, items)
    rcols = ["respondent_key", "form_id", *spec.respondent_id,
             *[c for c in spec.personal if c in seen], *extras.values(), *moved_cols]
    restricted = pd.DataFrame(priv, columns=list(dict.fromkeys(rcols))).astype("string")
    info = {"file": fname, "format": table.fmt, "encoding": table.encoding, "rows": len(records)}
    return forms, restricted, log, info, personal


def _choose_table(path: Path, tables: list[_Table], *, known: set[str], required: list[str],
                  spec: RecordSpec) -> tuple[_Table | None, int | None, list[dict[str, Any]], _Table]:
    """The table holding the forms, its header row index, log entries, and the table to report on when
    none is found.

    A CSV or SPSS file has one table.  A workbook's entry sheet (:func:`entry_sheet_names`) is read by
    name when present (refused when hidden); other sheets holding forms are then logged as ignored.
    Without an entry sheet, the one sheet whose header row holds the instrument's columns is read;
    forms on several sheets, or only on a hidden one, are refused: which to read would be a guess.
    """
    def header(t: _Table) -> int | None:
        return _find_header(t, known, required, spec.aliases)

    if not any(t.sheet is not None for t in tables):
        t = tables[0]
        h = header(t)
        return (t if h is not None else None), h, [], t
    names = entry_sheet_names()
    keys = {n.strip().casefold() for n in names}
    found = [(t, h) for t in tables if (h := header(t)) is not None]
    entry = [t for t in tables if (t.sheet or "").strip().casefold() in keys]
    ask = f"name it {' or '.join(repr(n) for n in names)} (the entry template's sheet)"

    def label(t: _Table) -> str:
        return f"{t.sheet!r}{' (hidden)' if t.hidden else ''}"

    if entry:
        with_forms = [(t, h) for t, h in found if t in entry]
        if len(with_forms) > 1:
            raise InputError(f"several entry sheets hold forms: {', '.join(label(t) for t, _ in with_forms)}; "
                             "keep one", file=path)
        t = with_forms[0][0] if with_forms else entry[0]
        if t.hidden:
            raise InputError(f"the entry sheet {t.sheet!r} is hidden; unhide it (right-click a sheet tab > "
                             "Unhide) if it holds this survey's forms", file=path)
        if not with_forms:
            return None, None, [], t
        log = [{"file": str(path), "row": pd.NA, "column": pd.NA, "old": o.sheet, "new": pd.NA,
                "rule": "sheet_ignored", "note": f"sheet {label(o)} also holds forms; only the entry sheet "
                                                f"{t.sheet!r} was read"}
               for o, _h in found if o is not t]
        return t, with_forms[0][1], log, t
    if len(found) > 1:
        raise InputError(f"{len(found)} sheets hold forms: {', '.join(label(t) for t, _ in found)}; keep this "
                         f"survey's forms on one sheet and {ask}, or delete the other sheets", file=path)
    if len(found) == 1:
        t, h = found[0]
        if t.hidden:
            raise InputError(f"the only sheet holding forms, {t.sheet!r}, is hidden; unhide it if it holds this "
                             f"survey's forms and {ask}", file=path)
        return t, h, [], t
    visible = [t for t in tables if not t.hidden]
    return None, None, [], (visible or tables)[0]


def _converted(convert: Callable[[Any], tuple[Any, str | None]], v: Any,
               cache: dict[Any, tuple[Any, str | None, str | None]]) -> tuple[Any, str | None, str | None]:
    """``(value, repair rule, error)`` of one cell, remembered per distinct cell value of the column.

    Converters are pure functions of the cell, and a column holds few distinct codes, so each is
    parsed once per file (the key holds the type: ``1``, ``1.0`` and ``True`` stay apart).
    """
    try:
        key = (type(v), v)
        hit = cache.get(key)
    except TypeError:  # an unhashable cell value: convert it every time
        key, hit = None, None
    if hit is None:
        try:
            val, rule = convert(v)
            hit = (val, rule, None)
        except ValueError as exc:
            hit = (None, None, str(exc))
        if key is not None:
            cache[key] = hit
    return hit


def _col_letter(j: int) -> str:
    s = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        s = chr(65 + r) + s
    return s


def _context_converter(cs: ColumnSpec) -> Callable[[Any], tuple[Any, str | None]]:
    """The cell converter of a context column: ``value -> (converted, repair rule or None)``."""
    if cs.type == "integer":
        return lambda v: _to_int(v, cs.labels)
    if cs.type == "date":
        return _to_date
    return lambda v: (_to_str(v), None)


def _typed_forms(records: list[dict[str, Any]], ctx_spec: dict[str, ColumnSpec], ctx_ids: list[str],
                 items: list[str]) -> pd.DataFrame:
    cols = ["form_id", "respondent_key", *ctx_ids, *items]
    df = pd.DataFrame(records, columns=cols)
    out = {"form_id": df["form_id"].astype("string"), "respondent_key": df["respondent_key"].astype("string")}
    for c in ctx_ids:
        t = ctx_spec[c].type
        if t == "integer":
            out[c] = pd.array(df[c].tolist(), dtype="Int64")
        elif t == "date":
            out[c] = pd.to_datetime(pd.Series(df[c].tolist(), dtype="object"), errors="coerce").astype("datetime64[ns]")
        else:
            out[c] = df[c].astype("string")
    for it in items:
        out[it] = pd.array(df[it].tolist(), dtype="Int64")
    return pd.DataFrame(out, columns=cols)


def empty_forms(instrument: Any) -> pd.DataFrame:
    """A zero-row canonical table of ``instrument`` with the right columns and dtypes."""
    spec = record_spec(instrument)
    return _typed_forms([], {c.id: c for c in spec.context}, [c.id for c in spec.context], item_ids(instrument))


def _inside(path: Path, parts: tuple[str, ...]) -> bool:
    p = path.resolve().parts
    return any(tuple(p[i:i + len(parts)]) == parts for i in range(len(p)))


def write_restricted(result: IngestResult, *, restricted_dir: str | Path, name: str = "respondents.csv") -> Path:
    """Write the personal data of ``result`` to ``<restricted_dir>/<name>`` (atomic, deterministic).

    Parameters
    ----------
    result : IngestResult
        From :func:`read_responses`.
    restricted_dir : str or Path
        Normally ``<project root>/restricted/<survey-id>`` (git-ignored).
    name : str
        File name.

    Returns
    -------
    Path

    Raises
    ------
    PrivacyError
        If ``restricted_dir`` lies under ``data/processed``, ``data/raw``, ``reports`` or ``notebooks``.
    """
    d = Path(restricted_dir)
    for bad in (("data", "processed"), ("data", "raw"), ("reports",), ("notebooks",)):
        if _inside(d, bad):
            raise PrivacyError(f"restricted data must not be written under {'/'.join(bad)}: {d}")
    from sipas.io import make_folder

    make_folder(d)
    gi = d / ".gitignore"
    if not gi.exists():
        atomic_write_bytes(gi, b"*\n")
    return write_csv(result.restricted, d / name)


def personal_columns(instrument: Any) -> tuple[str, ...]:
    """Column names treated as personal data for ``instrument`` (identifier and personal columns)."""
    spec = record_spec(instrument)
    return (*spec.respondent_id, *spec.personal)


__all__ = [
    "IngestResult", "LOG_COLUMNS", "MAX_BYTES", "read_responses", "write_restricted", "record_spec", "item_ids",
    "normalise_header", "empty_forms", "personal_columns", "write_sav", "write_dta", "value_labels",
    "column_labels",
]


# --------------------------------------------------------------------------------------------------
# labelled exports for researchers


def value_labels(instrument: Any, *, language: str = "vi") -> dict[str, dict[int, str]]:
    """Column -> {code: label} for every coded column (items with their missing codes, coded profile)."""
    out: dict[str, dict[int, str]] = {}
    for p in instrument.raw.get("profile", []) or []:
        if p.get("codes"):
            out[p["id"]] = {int(k): (v.get(language) or v["vi"]) for k, v in p["codes"].items()}
    for it in instrument.raw["items"]:
        out[it["id"]] = instrument.labels(it["id"], language=language)
    return out


def column_labels(instrument: Any, *, language: str = "vi") -> dict[str, str]:
    """Column -> variable label (question text or context label) in ``language``."""
    out: dict[str, str] = {"form_id": "form_id", "respondent_key": "respondent_key"}
    rec = instrument.raw.get("record") or {}
    for name, lab in (rec.get("labels") or {}).items():
        out[name] = lab.get(language) or lab["vi"]
    for c in rec.get("context") or []:
        if "label" in c:
            out[c["id"]] = c["label"].get(language) or c["label"]["vi"]
    for p in instrument.raw.get("profile", []) or []:
        out[p["id"]] = p["text"].get(language) or p["text"]["vi"]
    for it in instrument.raw["items"]:
        out[it["id"]] = instrument.text(it["id"], language=language)
    return out


def _for_stats(df: pd.DataFrame, instrument: Any) -> pd.DataFrame:
    personal = set(personal_columns(instrument)) - {"form_id"}
    leak = sorted(personal & set(df.columns))
    if leak:
        raise PrivacyError(f"personal column(s) {', '.join(leak)} must not be exported")
    out = {}
    for c in df.columns:
        s = df[c]
        if str(s.dtype) in ("Int64", "Int32", "boolean") or pd.api.types.is_integer_dtype(s):
            out[c] = s.astype("Float64").astype("float64")
        elif pd.api.types.is_datetime64_any_dtype(s):
            out[c] = s
        elif pd.api.types.is_float_dtype(s):
            out[c] = s.astype("float64")
        else:
            out[c] = s.astype("object").where(s.notna(), "").astype(str)
    return pd.DataFrame(out)


def _write_via_temp(path: Path, writer: Any) -> bytes:
    """The bytes ``writer`` (pyreadstat) writes for ``path``, made in a private temporary folder.

    Raises
    ------
    OutputError
        Naming ``path`` when the temporary file cannot be written (full disk...).
    """
    import tempfile

    import pyreadstat

    try:
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d) / path.name
            writer(str(tmp))
            return tmp.read_bytes()
    except (OSError, pyreadstat.PyreadstatError, pyreadstat.ReadstatError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise OutputError(f"the {path.suffix} file could not be made in the temporary folder ({reason})",
                          path=path) from exc


def write_sav(df: pd.DataFrame, path: str | Path, *, instrument: Any, language: str = "vi") -> Path:
    """Write cleaned forms as a labelled SPSS .sav file (atomic; fixed header timestamp).

    Parameters
    ----------
    df : pandas.DataFrame
        Canonical or cleaned forms (no personal columns).
    path : str or Path
    instrument : Instrument
    language : {"vi", "en"}
        Language of variable and value labels.

    Raises
    ------
    PrivacyError
        If ``df`` holds a personal column.
    """
    import pyreadstat

    path = Path(path)
    data = _for_stats(df, instrument)
    vl = {c: {float(k): v for k, v in labs.items()} for c, labs in value_labels(instrument, language=language).items()
          if c in data.columns}
    cl = column_labels(instrument, language=language)
    miss = {it["id"]: [float(c) for c in instrument.missing_codes(it["id"])] for it in instrument.raw["items"]
            if it["id"] in data.columns and instrument.missing_codes(it["id"])}
    raw = _write_via_temp(path, lambda p: pyreadstat.write_sav(
        data, p, column_labels=[cl.get(c, c) for c in data.columns], variable_value_labels=vl,
        missing_ranges={k: v for k, v in miss.items()}, file_label=f"{instrument.id} {instrument.version}"))
    # header bytes 92-108 hold the creation date and time: fix them for reproducible files
    raw = raw[:92] + b"01 Jan 00" + b"00:00:00" + raw[109:]
    return atomic_write_bytes(path, raw)


def write_dta(df: pd.DataFrame, path: str | Path, *, instrument: Any, language: str = "vi") -> Path:
    """Write cleaned forms as a labelled Stata .dta file (atomic; fixed timestamp). See :func:`write_sav`."""
    import pyreadstat

    path = Path(path)
    data = _for_stats(df, instrument)
    vl = {c: {float(k): v for k, v in labs.items()} for c, labs in value_labels(instrument, language=language).items()
          if c in data.columns}
    cl = column_labels(instrument, language=language)
    raw = _write_via_temp(path, lambda p: pyreadstat.write_dta(
        data, p, column_labels=[cl.get(c, c)[:80] for c in data.columns], variable_value_labels=vl,
        file_label=f"{instrument.id} {instrument.version}"))
    raw = re.sub(rb"<timestamp>.[^<]*</timestamp>", b"<timestamp>\x1101 Jan 2000 00:00</timestamp>", raw, count=1,
                 flags=re.S)
    return atomic_write_bytes(path, raw)

"""Service-user exit surveys (seeds 001, 002): the unit frame, transaction records, selection, substitutions.

A service-user survey asks people and organisations whose administrative procedure was completed at a one-stop
desk (Bộ phận tiếp nhận và trả kết quả).  Its frame is the desk's transaction records (seed 001: the lists are
drawn from the records of 01/11/2018-31/7/2019, an official and a reserve list):

* :func:`read_unit_frame` - the service units (``unit_id``, ``unit``, ``level``, ``parent_unit``);
* :func:`read_transactions` - a transaction-record export of the one-stop information system
  (``transaction_id``, ``unit``, ``procedure_field``, ``returned_on``, ``applicant_type``, ``applicant_id``);
* :func:`split_personal_columns` - names, phones and addresses split off into the restricted frame;
* :func:`select_transactions` - official and reserve lists per unit, systematic with implicit stratification;
* :func:`transaction_shortfall` - units with fewer eligible applicants than forms (and reserves);
* :func:`transaction_substitutions` - which reserve replaced which official respondent, and why.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sipas.errors import ConfigError, InputError
from sipas.sampling.frames import read_table
from sipas.sampling.rules import systematic_indices
from sipas.text.collation import vi_sort_key
from sipas.text.normalize import nfc

#: Columns of the service-unit frame.
UNIT_FRAME_COLUMNS = ("unit_id", "unit", "level", "parent_unit")
#: Levels of a service unit, and the Vietnamese words accepted for them.
UNIT_LEVELS = ("province", "district", "commune")
_LEVEL_WORDS = {"province": "province", "tỉnh": "province", "cấp tỉnh": "province",
                "district": "district", "huyện": "district", "cấp huyện": "district",
                "commune": "commune", "xã": "commune", "cấp xã": "commune"}
#: Required columns of a transaction-record export.
TRANSACTION_COLUMNS = ("transaction_id", "unit", "procedure_field", "returned_on", "applicant_type", "applicant_id")
#: Applicant types, and the Vietnamese words accepted for them.
APPLICANT_TYPES = ("person", "organisation")
_APPLICANT_WORDS = {"person": "person", "individual": "person", "cá nhân": "person", "ca nhan": "person",
                    "công dân": "person", "organisation": "organisation", "organization": "organisation",
                    "tổ chức": "organisation", "to chuc": "organisation", "doanh nghiệp": "organisation"}

#: Column names (lower-cased, NFC) that hold personal data in a transaction export.
PERSONAL_COLUMN_NAMES = frozenset({
    "name", "full_name", "applicant_name", "contact_name", "representative", "phone", "phone_number", "mobile",
    "telephone", "tel", "address", "applicant_address", "applicant_phone", "email", "applicant_email",
    "citizen_id", "id_number", "id_card", "cccd", "cmnd", "passport", "họ và tên", "họ tên", "tên", "tên người nộp",
    "người nộp", "người đại diện", "số điện thoại", "điện thoại", "địa chỉ", "số cccd", "số cmnd",
})
#: The personal columns the printable informant list shows (:func:`sipas.sampling.informant_list`): per printed
#: column (a key of ``labels.annexes.service.informant_columns`` in ``report_text.yml``), the names it may have in
#: a transaction export (lower-cased, NFC), the first present wins.
INFORMANT_CONTACT_COLUMNS = {
    "name": ("applicant_name", "name", "full_name", "họ và tên", "họ tên"),
    "address": ("address", "applicant_address", "địa chỉ"),
    "phone": ("phone", "applicant_phone", "phone_number", "mobile", "số điện thoại", "điện thoại"),
}
_PERSONAL_PARTS = re.compile(r"phone|address|e-?mail|mobile|điện thoại|địa chỉ|họ (và )?tên|cccd|cmnd|citizen|"
                             r"passport|(applicant|contact|person|representative|full)_?name$")


def is_personal_column(name: str) -> bool:
    """Whether a column of a transaction export holds personal data, judged by its name.

    A name in :data:`PERSONAL_COLUMN_NAMES` or containing ``phone``, ``address``, ``email``, ``mobile``,
    ``điện thoại``, ``địa chỉ``, ``họ tên`` / ``họ và tên``, ``cccd``, ``cmnd``, ``citizen``, ``passport``, or
    ending in ``applicant_name``, ``contact_name``, ``person_name``, ``representative_name``, ``full_name`` is
    personal (``procedure_name`` is not).  (The value-based detection of
    :func:`sipas.forms.pii.personal_data_kind` sits in a folder above ``sampling`` and is not used here.)
    """
    low = nfc(str(name)).strip().lower()
    return low in PERSONAL_COLUMN_NAMES or bool(_PERSONAL_PARTS.search(low))


def split_personal_columns(frame: pd.DataFrame, *, key: str = "transaction_id") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a transaction (or unit) frame into a public part and a restricted part holding personal data.

    Parameters
    ----------
    frame : DataFrame
        As read by :func:`read_transactions`.
    key : str, default "transaction_id"
        Column kept in both parts to join them again (the informant list does).

    Returns
    -------
    (public, restricted)
        ``public``: every column that is not personal (:func:`is_personal_column`); ``restricted``: ``key`` and
        the personal columns (only ``key`` when there are none).  Only ``public`` may reach ``data/processed``;
        ``restricted`` belongs under ``restricted/<survey-id>/``.  ``applicant_id`` stays public: the selection
        needs it to keep one transaction per applicant; when the system's applicant id is a citizen identity
        number, replace it by a salted pseudonym (``sipas.forms.pii.pseudonyms``) before the public part is
        written.

    Raises
    ------
    InputError
        ``key`` is missing, or is itself a personal column.
    """
    if key not in frame.columns:
        raise InputError(f"frame lacks the key column {key!r}", column=key)
    if is_personal_column(key):
        raise InputError(f"the key column {key!r} holds personal data", column=key)
    personal = [c for c in frame.columns if c != key and is_personal_column(c)]
    public = frame[[c for c in frame.columns if c not in personal]].copy()
    restricted = frame[[key, *personal]].copy()
    return public, restricted


def _text(v: object) -> str:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    return nfc(str(v)).strip()


def _empty_cell(df: pd.DataFrame, cols: Sequence[str], path: object) -> None:
    for c in cols:
        empty = df[c].map(_text) == ""
        if empty.any():
            raise InputError("empty value", file=path, row=int(empty.to_numpy().argmax()) + 2, column=c)


def _missing_columns(df: pd.DataFrame, cols: Sequence[str], path: object, what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(f"{what} lacks column(s) {', '.join(missing)}; has {', '.join(map(str, df.columns))}",
                         file=path, row=1, column=missing[0])


def read_unit_frame(path: str | Path) -> pd.DataFrame:
    """Read and check the service-unit frame (CSV or XLSX).

    Columns ``unit_id`` (unique), ``unit`` (name), ``level`` (``province``, ``district``, ``commune``; also
    ``tỉnh``, ``huyện``, ``xã``) and ``parent_unit`` (the parent's ``unit_id``; blank for the top unit).

    Returns
    -------
    DataFrame
        Text NFC-normalised and stripped, ``level`` in English.

    Raises
    ------
    InputError
        Naming the file, the row (header = row 1) and the column: missing column, empty id/name/level,
        unknown level, duplicate ``unit_id``, ``parent_unit`` not found.  Two units may share a name (two
        communes of one name in different districts); a transaction must then name its unit by id.
    """
    p = Path(path)
    df = read_table(p)
    _missing_columns(df, UNIT_FRAME_COLUMNS, p, "unit frame")
    from sipas.rawfiles import refuse_excel_errors

    refuse_excel_errors(df, p)
    for c in UNIT_FRAME_COLUMNS:
        df[c] = df[c].map(_text)
    _empty_cell(df, ["unit_id", "unit", "level"], p)
    level = df["level"].str.lower().map(_LEVEL_WORDS)
    if level.isna().any():
        i = int(level.isna().to_numpy().argmax())
        raise InputError(f"unknown level {df['level'].iloc[i]!r}; use one of {', '.join(UNIT_LEVELS)}",
                         file=p, row=i + 2, column="level")
    df["level"] = level
    dup = df["unit_id"].duplicated()
    if dup.any():
        i = int(dup.to_numpy().argmax())
        first = int(df["unit_id"].eq(df["unit_id"].iloc[i]).to_numpy().argmax()) + 2
        raise InputError(f"duplicate unit id {df['unit_id'].iloc[i]!r} (first on row {first})", file=p, row=i + 2,
                         column="unit_id")
    ids = set(df["unit_id"])
    bad = (df["parent_unit"] != "") & ~df["parent_unit"].isin(ids)
    if bad.any():
        i = int(bad.to_numpy().argmax())
        raise InputError(f"parent unit {df['parent_unit'].iloc[i]!r} is not a unit_id of the frame", file=p,
                         row=i + 2, column="parent_unit")
    return df


_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$")
_SERIAL = re.compile(r"^\d{1,7}(?:\.0+)?$")
#: Day 0 of Excel's 1900 date system, as Excel counts (it counts 29/2/1900, so serial 60 onward is right).
_EXCEL_EPOCH = dt.date(1899, 12, 30)


def parse_date(value: object, *, excel_serial: bool = False) -> dt.date | None:
    """A date from an export cell: ISO ``2023-07-01`` (a time is dropped), ``01/07/2023`` (day first, as
    Vietnamese exports write it; also ``.`` or ``-``), a ``date``/``datetime``, or - with ``excel_serial`` -
    an Excel serial day number (1900 system, from an XLSX cell not formatted as a date).  None when it is not
    a date (also an impossible day such as 31/02/2023)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.date()
    s = _text(value)
    try:
        m = _ISO.match(s)
        if m:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = _DMY.match(s)
        if m:
            return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        if excel_serial and _SERIAL.match(s) and 0 < float(s) < 2958466:
            return _EXCEL_EPOCH + dt.timedelta(days=int(float(s)))
    except ValueError:
        return None
    return None


def unit_name_lookup(units: pd.DataFrame) -> dict[str, str]:
    """``{unit id or unit name (NFC, stripped): unit name}`` of a unit frame (:func:`read_unit_frame`): how
    forms, logs and exports that name a unit either way are brought to the frame's names (an id wins over a
    name that happens to equal another unit's id)."""
    out = {nfc(str(name).strip()): str(name).strip() for name in units["unit"]}
    out.update({nfc(str(uid).strip()): str(name).strip() for uid, name in zip(units["unit_id"], units["unit"])})
    return out


def read_service_frame(path: str | Path, *, kind: str, structure: str = "units") -> pd.DataFrame:
    """A service-user survey's frame ``kind`` (``units`` or ``transactions``), with the signature of
    :func:`sipas.sampling.frames.read_frame` (the reader :class:`sipas.kinds.FrameSpec` names)."""
    if kind == "units":
        return read_unit_frame(path)
    if kind == "transactions":
        return read_transactions(path)
    raise ValueError(f"unknown service-user frame {kind!r}")


def read_transactions(path: str | Path, *, units: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read and check a transaction-record export of the one-stop information system (CSV or XLSX).

    Columns :data:`TRANSACTION_COLUMNS`: ``transaction_id`` (unique), ``unit`` (the unit's id or name in
    ``units``), ``procedure_field`` (lĩnh vực), ``returned_on`` (date the result was returned: ISO or
    dd/mm/yyyy, or an Excel date in an XLSX; see :func:`parse_date`), ``applicant_type`` (``person`` /
    ``organisation``; also ``cá nhân`` / ``tổ chức``), ``applicant_id``.  Other columns are kept (personal
    ones are split off by :func:`split_personal_columns`).

    Parameters
    ----------
    path : path
    units : DataFrame, optional
        The unit frame (:func:`read_unit_frame`); when given every transaction's ``unit`` must be one of its
        ids or names (a name shared by two units is refused) and is replaced by the ``unit_id``.

    Returns
    -------
    DataFrame
        Text NFC-normalised and stripped, ``returned_on`` as ``datetime64`` (a day), ``applicant_type`` in
        English.

    Raises
    ------
    InputError
        Naming the file, the row (header = row 1) and the column: missing column, empty required cell,
        unparseable date, unknown applicant type, unknown unit, duplicate ``transaction_id``.
    """
    p = Path(path)
    df = read_table(p)
    _missing_columns(df, TRANSACTION_COLUMNS, p, "transaction export")
    from sipas.rawfiles import refuse_excel_errors

    refuse_excel_errors(df, p)
    for c in TRANSACTION_COLUMNS:
        df[c] = df[c].map(_text)
    _empty_cell(df, TRANSACTION_COLUMNS, p)
    serial = p.suffix.lower() in (".xlsx", ".xlsm")
    dates = [parse_date(v, excel_serial=serial) for v in df["returned_on"]]
    for i, d in enumerate(dates):
        if d is None:
            raise InputError(f"not a date: {df['returned_on'].iloc[i]!r} (use 2023-07-01 or 01/07/2023)",
                             file=p, row=i + 2, column="returned_on")
    df["returned_on"] = pd.to_datetime(pd.Series(dates, index=df.index, dtype=object))
    kind = df["applicant_type"].str.lower().map(_APPLICANT_WORDS)
    if kind.isna().any():
        i = int(kind.isna().to_numpy().argmax())
        raise InputError(f"unknown applicant type {df['applicant_type'].iloc[i]!r}; use person/organisation "
                         "(cá nhân/tổ chức)", file=p, row=i + 2, column="applicant_type")
    df["applicant_type"] = kind
    dup = df["transaction_id"].duplicated()
    if dup.any():
        i = int(dup.to_numpy().argmax())
        first = int(df["transaction_id"].eq(df["transaction_id"].iloc[i]).to_numpy().argmax()) + 2
        raise InputError(f"duplicate transaction id {df['transaction_id'].iloc[i]!r} (first on row {first})",
                         file=p, row=i + 2, column="transaction_id")
    if units is not None:
        ids = {nfc(str(u)) for u in units["unit_id"]}
        by_name: dict[str, list[str]] = {}
        for uid, name in zip(units["unit_id"], units["unit"]):
            by_name.setdefault(nfc(str(name)), []).append(nfc(str(uid)))
        mapped = []
        for i, u in enumerate(df["unit"]):
            if u in ids:
                mapped.append(u)
            elif len(by_name.get(u, [])) == 1:
                mapped.append(by_name[u][0])
            elif u in by_name:
                raise InputError(f"unit name {u!r} is shared by units {', '.join(by_name[u])}; give the unit id",
                                 file=p, row=i + 2, column="unit")
            else:
                raise InputError(f"unit {u!r} is not in the unit frame (neither an id nor a name)", file=p,
                                 row=i + 2, column="unit")
        df["unit"] = mapped
    return df


# ----------------------------------------------------------------------------------------------- selection

#: Columns of :func:`select_transactions`' result, in order (``procedure_field``, ``returned_on`` and
#: ``applicant_type`` only when the transactions have them).
SELECTION_COLUMNS = ("unit", "transaction_id", "list", "position", "procedure_field", "returned_on",
                     "applicant_type", "frame_position", "applicant_transactions", "eligible", "pi")
#: Columns of :func:`transaction_shortfall`.
SHORTFALL_COLUMNS = ("unit", "forms", "reserve_wanted", "eligible", "official", "reserve", "official_short",
                     "reserve_short")


def unit_stream(seed: int, unit: object) -> np.random.Generator:
    """The random generator of one unit: ``default_rng(SeedSequence([seed, w1, w2]))`` with ``w1, w2`` the
    first 8 bytes of ``sha256(NFC(unit id))`` as two 32-bit words - independent streams per unit, the same in
    every Python process (no ``hash()``)."""
    digest = hashlib.sha256(nfc(str(unit)).encode("utf-8")).digest()
    words = [int.from_bytes(digest[0:4], "big"), int.from_bytes(digest[4:8], "big")]
    return np.random.default_rng(np.random.SeedSequence([int(seed), *words]))


def _window(window: Sequence[object]) -> tuple[pd.Timestamp, pd.Timestamp]:
    try:
        first, last = window
    except (TypeError, ValueError) as exc:
        raise ConfigError("window must be (first day, last day)", key="sampling.window") from exc
    a, b = parse_date(first), parse_date(last)
    if a is None or b is None:
        raise ConfigError(f"window days must be dates, got {first!r}, {last!r}", key="sampling.window")
    if a > b:
        raise ConfigError(f"window starts ({a.isoformat()}) after it ends ({b.isoformat()})", key="sampling.window")
    return pd.Timestamp(a), pd.Timestamp(b)


def _allocation(allocation: pd.DataFrame) -> list[tuple[str, int]]:
    for c in ("unit", "forms"):
        if c not in allocation.columns:
            raise ConfigError(f"allocation lacks column {c!r}", key="sampling.allocation")
    out: list[tuple[str, int]] = []
    seen: set[str] = set()
    for u, f in zip(allocation["unit"], allocation["forms"]):
        u = _text(u)
        n = pd.to_numeric(pd.Series([f]), errors="coerce").iloc[0]
        if pd.isna(n) or n % 1 != 0 or n < 0:
            raise ConfigError(f"unit {u!r}: forms must be a whole number >= 0, got {f!r}",
                              key="sampling.allocation.forms")
        if u in seen:
            raise ConfigError(f"unit {u!r} is allocated twice", key="sampling.allocation")
        seen.add(u)
        out.append((u, int(n)))
    return out


def reserve_size(forms: int, reserve_ratio: float) -> int:
    """Reserve forms wanted for a unit: ``floor(reserve_ratio * forms + 1/2)`` (half rounded up)."""
    return int(np.floor(reserve_ratio * forms + 0.5))


def _eligible(transactions: pd.DataFrame, first: pd.Timestamp,
              last: pd.Timestamp) -> tuple[pd.DataFrame, pd.Series]:
    for c in ("transaction_id", "unit", "procedure_field", "returned_on", "applicant_id"):
        if c not in transactions.columns:
            raise InputError(f"transactions lack column {c!r}; has {', '.join(map(str, transactions.columns))}",
                             column=c)
    tx = transactions.copy()
    tx["unit"] = tx["unit"].map(_text)
    tx["transaction_id"] = tx["transaction_id"].map(_text)
    tx["applicant_id"] = tx["applicant_id"].map(_text)
    tx["procedure_field"] = tx["procedure_field"].map(_text)
    dup = tx["transaction_id"].duplicated()
    if dup.any():
        i = int(dup.to_numpy().argmax())
        raise InputError(f"duplicate transaction id {tx['transaction_id'].iloc[i]!r}", row=i + 2,
                         column="transaction_id")
    days = [parse_date(v) for v in tx["returned_on"]]
    for i, d in enumerate(days):
        if d is None:
            raise InputError(f"not a date: {tx['returned_on'].iloc[i]!r}", row=i + 2, column="returned_on")
    tx["returned_on"] = pd.to_datetime(pd.Series(days, index=tx.index, dtype=object))
    return tx, (tx["returned_on"] >= first) & (tx["returned_on"] <= last)


def _unit_frame(tx: pd.DataFrame) -> pd.DataFrame:
    """One unit's eligible transactions in sort order, one per applicant, with the applicant's count."""
    keys = [(vi_sort_key(f), d, t) for f, d, t in zip(tx["procedure_field"], tx["returned_on"], tx["transaction_id"])]
    order = sorted(range(len(tx)), key=lambda i: keys[i])
    s = tx.iloc[order].reset_index(drop=True)
    counts = s.groupby("applicant_id", sort=False)["transaction_id"].transform("size")
    s = s.assign(applicant_transactions=counts.astype(int))
    return s[~s["applicant_id"].duplicated()].reset_index(drop=True)


def _plan(allocation: pd.DataFrame, reserve_ratio: float, window: Sequence[object]):
    if not isinstance(reserve_ratio, (int, float)) or isinstance(reserve_ratio, bool) or not reserve_ratio >= 0:
        raise ConfigError(f"reserve_ratio must be a number >= 0, got {reserve_ratio!r}",
                          key="sampling.reserve_ratio")
    first, last = _window(window)
    return _allocation(allocation), first, last


def _check_units(plan: list[tuple[str, int]], tx: pd.DataFrame) -> None:
    known = set(tx["unit"])
    unknown = [u for u, _ in plan if u not in known]
    if unknown:
        raise ConfigError(f"allocation names unit(s) with no transaction in the export: {', '.join(unknown)}",
                          key="sampling.allocation.unit")


def select_transactions(transactions: pd.DataFrame, *, allocation: pd.DataFrame, window: Sequence[object],
                        reserve_ratio: float = 1.0, seed: int) -> pd.DataFrame:
    """Official and reserve lists of service users per unit, drawn from the transaction records.

    For each unit of ``allocation`` (``forms`` = ``f``):

    1. *Eligible*: the unit's transactions whose result was returned inside ``window`` (both days included).
    2. *Implicit stratification*: sorted by ``procedure_field`` (Vietnamese collation,
       :func:`sipas.text.vi_sort_key`), then ``returned_on``, then ``transaction_id``.
    3. *One per applicant*: only the first transaction of each ``applicant_id`` in that order is kept, so the
       frame is the unit's ``N`` distinct applicants (``eligible``).  The draw is therefore equal-probability
       over *applicants*: an applicant with several transactions is not more likely to be chosen than one
       with a single transaction, and is asked about its first transaction in sort order.  Estimates are per
       service user; ``applicant_transactions`` (the applicant's eligible transactions in the unit) lets a
       per-transaction estimate weight by it.  An applicant served by two units may be drawn in both.
    4. *Draw*: ``m = min(f + r, N)`` applicants, ``r = floor(reserve_ratio f + 1/2)``
       (:func:`reserve_size`), by systematic sampling with a fractional interval ``N / m`` and a seeded
       random start (:func:`sipas.sampling.systematic_indices`; Madow 1949).
    5. *Official / reserve*: of the ``m`` drawn (in sort order) a second systematic sample of ``f`` with
       interval ``m / f`` and its own random start is the official list, the rest the reserve.  Each applicant
       is official with probability exactly ``(m / N)(f / m) = f / N`` (the two starts are independent), both
       lists spread over the sort order (with ``r = f`` they alternate), and they are disjoint.
    6. *Shortfall*: when ``N <= f`` every applicant is official (``pi = 1``) and the reserve is empty; when
       ``f < N < f + r`` the reserve is short.  Both are listed in ``result.attrs["shortfall"]`` (records of
       :func:`transaction_shortfall`'s columns).

    Each unit draws from its own stream (:func:`unit_stream`): the same ``seed`` gives byte-identical lists in
    any process, and a unit's lists do not change when another unit is added.

    Parameters
    ----------
    transactions : DataFrame
        ``transaction_id`` (unique), ``unit``, ``procedure_field``, ``returned_on`` (a date, ISO or dd/mm/yyyy
        text), ``applicant_id``; ``applicant_type`` is carried through when present.
    allocation : DataFrame
        ``unit`` (as in ``transactions``), ``forms`` (whole number >= 0).  Units of ``transactions`` that are not
        in ``allocation`` are not sampled.
    window : (first day, last day)
        Both included.
    reserve_ratio : float, default 1.0
        Reserve size relative to the official list (seed 001: a reserve list as long as the official one).
    seed : int

    Returns
    -------
    DataFrame
        Columns :data:`SELECTION_COLUMNS`: ``unit``, ``transaction_id``, ``list`` (``official`` / ``reserve``),
        ``position`` (1-based within unit and list, in sort order), ``procedure_field``, ``returned_on``,
        ``applicant_type``, ``frame_position`` (1-based position among the unit's ``eligible`` applicants),
        ``applicant_transactions``, ``eligible`` (``N``), ``pi`` (``official / N``: the official list's
        inclusion probability, 1 when every applicant is taken; a reserve used as substitute keeps the
        weight of the respondent it replaces, which is the same in its unit).  Units in ``allocation`` order,
        the official list before the reserve.  ``applicant_id`` is not returned.

    Raises
    ------
    ConfigError
        ``window`` first day after the last, ``reserve_ratio < 0``, negative or fractional ``forms``, a unit
        allocated twice, or an allocation unit with no transaction in ``transactions``.
    InputError
        A missing column, a duplicate ``transaction_id``, a ``returned_on`` that is not a date.
    """
    plan, first, last = _plan(allocation, reserve_ratio, window)
    tx, inside = _eligible(transactions, first, last)
    _check_units(plan, tx)
    carry = [c for c in ("procedure_field", "returned_on", "applicant_type") if c in tx.columns]
    parts: list[pd.DataFrame] = []
    shortfall: list[dict[str, object]] = []
    for unit, forms in plan:
        frame = _unit_frame(tx[inside & (tx["unit"] == unit)])
        n_all = len(frame)
        r = reserve_size(forms, reserve_ratio)
        m = min(forms + r, n_all)
        n_off = min(forms, n_all)
        rng = unit_stream(seed, unit)
        drawn = systematic_indices(n_all, m, rng=rng)
        official = np.zeros(len(drawn), dtype=bool)
        official[systematic_indices(len(drawn), n_off, rng=rng)] = True
        if n_off < forms or m - n_off < r:
            shortfall.append({"unit": unit, "forms": forms, "reserve_wanted": r, "eligible": n_all,
                              "official": n_off, "reserve": m - n_off, "official_short": forms - n_off,
                              "reserve_short": r - (m - n_off)})
        sel = frame.iloc[drawn].reset_index(drop=True)
        sel["list"] = np.where(official, "official", "reserve")
        sel["frame_position"] = drawn + 1
        sel["eligible"] = n_all
        sel["pi"] = (n_off / n_all) if n_all else np.nan
        sel = pd.concat([sel[official], sel[~official]], ignore_index=True)
        sel["position"] = sel.groupby("list", sort=False).cumcount() + 1
        parts.append(sel)
    cols = [c for c in SELECTION_COLUMNS if c not in ("procedure_field", "returned_on", "applicant_type")
            or c in carry]
    if parts:
        out = pd.concat(parts, ignore_index=True)[cols]
    else:
        out = pd.DataFrame({c: [] for c in cols})
    out = out.astype({"position": int, "frame_position": int, "applicant_transactions": int, "eligible": int,
                      "pi": float})
    out.attrs["shortfall"] = shortfall
    return out


def transaction_shortfall(transactions: pd.DataFrame, *, allocation: pd.DataFrame, window: Sequence[object],
                          reserve_ratio: float = 1.0) -> pd.DataFrame:
    """Units with fewer eligible applicants than forms, or than forms + reserves.

    Counts as :func:`select_transactions` (returned inside ``window``, one per ``applicant_id``); needs no
    seed, draws nothing.

    Returns
    -------
    DataFrame
        Columns :data:`SHORTFALL_COLUMNS`: ``unit``, ``forms``, ``reserve_wanted``
        (``floor(reserve_ratio forms + 1/2)``), ``eligible`` (``N``), ``official`` (``min(forms, N)``),
        ``reserve`` (``min(forms + reserve_wanted, N) - official``), ``official_short``, ``reserve_short``; only
        the units where something is short, in ``allocation`` order.

    Raises
    ------
    ConfigError, InputError
        As :func:`select_transactions`.
    """
    plan, first, last = _plan(allocation, reserve_ratio, window)
    tx, inside = _eligible(transactions, first, last)
    _check_units(plan, tx)
    rows = []
    for unit, forms in plan:
        n_all = int(tx.loc[inside & (tx["unit"] == unit), "applicant_id"].nunique())
        r = reserve_size(forms, reserve_ratio)
        n_off, m = min(forms, n_all), min(forms + r, n_all)
        if n_off < forms or m - n_off < r:
            rows.append({"unit": unit, "forms": forms, "reserve_wanted": r, "eligible": n_all, "official": n_off,
                         "reserve": m - n_off, "official_short": forms - n_off, "reserve_short": r - (m - n_off)})
    return pd.DataFrame(rows, columns=list(SHORTFALL_COLUMNS))


# -------------------------------------------------------------------------------------------- substitutions

#: Outcome of contacting a listed respondent: ``responded`` or a reason for failing, with the words shown.
OUTCOMES = {
    "responded": "Đã trả lời",
    "refused": "Từ chối",
    "not_reachable": "Không liên lạc được",
    "wrong_address": "Sai địa chỉ, số điện thoại",
    "absent": "Vắng mặt",
    "other": "Lý do khác",
}
_OUTCOME_WORDS = {**{k: k for k in OUTCOMES}, **{nfc(v).lower(): k for k, v in OUTCOMES.items()},
                  "not reachable": "not_reachable", "wrong address": "wrong_address", "sai địa chỉ": "wrong_address",
                  "từ chối trả lời": "refused"}
#: Columns of :func:`transaction_substitutions`.
TRANSACTION_SUBSTITUTION_COLUMNS = ("unit", "replaces_id", "substitute_id", "reason", "reserve_position")


def transaction_substitutions(selection: pd.DataFrame, *, outcomes: pd.DataFrame,
                              outcomes_path: str | Path | None = None) -> pd.DataFrame:
    """Which reserve respondent replaced which official one, and why (seed 001's official and reserve lists).

    Within each unit the official respondents that failed (an outcome other than ``responded``), in official
    ``position`` order, are replaced by the reserve respondents in reserve ``position`` order; a reserve whose
    own outcome is a failure is skipped (it cannot stand for anyone), a reserve without an outcome yet is
    taken.  An official respondent without an outcome is not replaced (still pending).  Replacement never
    crosses units.  Same shape as :func:`sipas.sampling.fieldwork.substitutions`' ``replaces_id``,
    ``substitute_id``, ``reason``.

    Parameters
    ----------
    selection : DataFrame
        :func:`select_transactions`' result (``unit``, ``transaction_id``, ``list``, ``position``).
    outcomes : DataFrame
        ``transaction_id`` and ``outcome``: a key of :data:`OUTCOMES` (``responded``, ``refused``,
        ``not_reachable``, ``wrong_address``, ``absent``, ``other``) or its Vietnamese label.
    outcomes_path : path, optional
        Named in errors.

    Returns
    -------
    DataFrame
        Columns :data:`TRANSACTION_SUBSTITUTION_COLUMNS`: ``unit``, ``replaces_id`` (the failed official
        transaction), ``substitute_id`` (the reserve transaction; ``""`` when the reserve is used up),
        ``reason`` (the official respondent's outcome key), ``reserve_position`` (the substitute's reserve
        position; missing when none).  Units in ``selection`` order, failures in official order.

    Raises
    ------
    InputError
        Naming ``outcomes_path``, the row (header = row 1) and the column: missing column, a transaction not
        on the lists, an unknown outcome, a transaction given twice.
    """
    for c in ("transaction_id", "outcome"):
        if c not in outcomes.columns:
            raise InputError(f"outcomes lack column {c!r}", file=outcomes_path, row=1, column=c)
    sel = selection.copy()
    sel["transaction_id"] = sel["transaction_id"].map(_text)
    listed = set(sel["transaction_id"])
    result: dict[str, str] = {}
    for i, (t, o) in enumerate(zip(outcomes["transaction_id"], outcomes["outcome"])):
        t, row = _text(t), i + 2
        if t not in listed:
            raise InputError(f"transaction {t!r} is on neither list", file=outcomes_path, row=row,
                             column="transaction_id")
        code = _OUTCOME_WORDS.get(_text(o).lower())
        if code is None:
            raise InputError(f"unknown outcome {o!r}; use one of {', '.join(OUTCOMES)}", file=outcomes_path,
                             row=row, column="outcome")
        if t in result:
            raise InputError(f"transaction {t!r} has two outcomes", file=outcomes_path, row=row,
                             column="transaction_id")
        result[t] = code
    rows: list[dict[str, object]] = []
    for unit, g in sel.groupby("unit", sort=False):
        off = g[g["list"] == "official"].sort_values("position", kind="stable")
        res = g[g["list"] == "reserve"].sort_values("position", kind="stable")
        pool = [(t, int(p)) for t, p in zip(res["transaction_id"], res["position"])
                if result.get(t, "responded") == "responded"]
        for t in off["transaction_id"]:
            code = result.get(t)
            if code is None or code == "responded":
                continue
            sub, pos = pool.pop(0) if pool else ("", pd.NA)
            rows.append({"unit": unit, "replaces_id": t, "substitute_id": sub, "reason": code,
                         "reserve_position": pos})
    out = pd.DataFrame(rows, columns=list(TRANSACTION_SUBSTITUTION_COLUMNS))
    out["reserve_position"] = out["reserve_position"].astype("Int64")
    return out

"""The sample annexes of the survey plan (Phụ lục 01-04) as tables, XLSX (deterministic bytes) and CSV.

The annexes are official documents, written in the survey's ``language`` (``lang``, Vietnamese by default):
their titles, column headers, selection reasons and notes are ``labels.annexes`` (and ``labels.exit_list``) of
``resources/report_text.yml``, read through :func:`sipas.text.labels.label_set`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sipas import io as sio
from sipas.sampling.checks import _order
from sipas.sampling.transactions import INFORMANT_CONTACT_COLUMNS
from sipas.text.collation import vi_sorted
from sipas.text.labels import label_set
from sipas.text.normalize import nfc
from sipas.text.units import class_rank


def _labels(lang: str) -> dict[str, Any]:
    """``labels.annexes`` of ``report_text.yml`` in ``lang``."""
    return label_set("annexes", lang=lang)


def selection_reasons(*, lang: str = "vi") -> dict[str, str]:
    """The wording of the selection reasons printed in the annexes, by code (the ``reason`` of the selected
    communes and villages, the ``role`` of the households): ``labels.annexes.reasons`` in ``lang``."""
    return dict(_labels(lang)["reasons"])


def annex_title(number: str, *, lang: str = "vi") -> str:
    """The title of Phụ lục ``number`` (``"01"``-``"04"``; ``""`` for another number) in ``lang``."""
    return _labels(lang)["titles"].get(number, "")


def annex_subtitle(*, province: str, year: Any, seed: Any, lang: str = "vi") -> str:
    """The line under an annex's title that :func:`sipas.sampling.draw_sample` writes: province, year and seed."""
    return _labels(lang)["subtitle"].format(province=province, year=year, seed=seed)


#: Row of the column headers in the XLSX annexes (rows 1-2: title, row 3: blank).
ANNEX_HEADER_ROW = 4


#: Columns of the households tables that may leave the restricted folder.
PUBLIC_HOUSEHOLD_COLUMNS = (
    "district", "commune", "village", "hamlet", "household_id", "sample_village", "list", "role", "reserve_rank",
    "hh_sampling_prob", "pi_commune", "pi_village", "pi_household", "pi", "commune_certainty", "village_certainty",
)


def _reason(code: Any, reasons: dict[str, str]) -> str:
    if not isinstance(code, str) or not code:
        return ""
    return reasons.get(code, code)


def _class_sort(values: Iterable[Any]) -> list[str]:
    return sorted({str(v) for v in values}, key=lambda v: (class_rank(v), v))


def annex_01(communes: pd.DataFrame, selected: pd.DataFrame, *, lang: str = "vi") -> pd.DataFrame:
    """Phụ lục 01: every commune, by district and class list in Vietnamese order, selected ones marked.

    ``selected`` is :func:`select_communes` or :func:`select_communes_design` output,
    optionally with ``pi_commune`` (:func:`stage_probabilities`).  In a 2-tier frame
    (all districts ``""``) the district column is left out and the list is by
    ``commune_type`` when the frame has it.  Headers and reasons in ``lang`` (``labels.annexes``).
    """
    lab = _labels(lang)
    col, reasons = lab["columns"], lab["reasons"]
    com = communes.copy()
    if "district" not in com:
        com["district"] = ""
    for c in ("district", "commune"):
        com[c] = com[c].map(nfc)
    two_tier = bool((com["district"] == "").all())
    list_col = "commune_class" if "commune_class" in com and com["commune_class"].notna().all() else "commune_type"
    sel = {(nfc(d), nfc(c)): r for d, c, r in zip(selected["district"], selected["commune"],
                                                     selected.to_dict("records"))}
    rows = []
    for district in vi_sorted(com["district"].unique()):
        d = com[com["district"] == district]
        for cls in _class_sort(d[list_col]):
            lst = _order(d[d[list_col].astype(str) == cls], "commune")
            for i, r in enumerate(lst.to_dict("records"), start=1):
                s = sel.get((district, r["commune"]))
                row = {} if two_tier else {col["district"]: district}
                row.update({
                    col[list_col]: cls,
                    col["position"]: i,
                    col["commune_name"]: r["commune"],
                    col["admin_centre"]: "x" if bool(r.get("is_admin_centre", False)) else "",
                    col["households"]: r.get("households", pd.NA),
                    col["selected"]: "x" if s is not None else "",
                    col["reason"]: _reason(s["reason"], reasons) if s is not None else "",
                    col["probability"]: s.get("pi_commune", pd.NA) if s is not None else pd.NA,
                })
                rows.append(row)
    out = pd.DataFrame(rows)
    out.insert(0, col["number"], range(1, len(out) + 1))
    return out


def annex_02(villages: pd.DataFrame, selected: pd.DataFrame, *, communes_order: pd.DataFrame,
             lang: str = "vi") -> pd.DataFrame:
    """Phụ lục 02: the villages of each selected commune in Vietnamese (or numbered) order, selected ones marked.

    ``communes_order`` gives the communes (``district``, ``commune``) in the order to print.  Headers and
    reasons in ``lang`` (``labels.annexes``).
    """
    lab = _labels(lang)
    col, reasons = lab["columns"], lab["reasons"]
    vil = villages.copy()
    for c in ("district", "commune", "village"):
        vil[c] = vil[c].map(nfc)
    sel = {(nfc(d), nfc(c), nfc(v)): r for d, c, v, r in zip(selected["district"], selected["commune"],
                                                              selected["village"], selected.to_dict("records"))}
    two_tier = bool((vil["district"] == "").all())
    rows = []
    for d, c in zip(communes_order["district"].map(nfc), communes_order["commune"].map(nfc)):
        lst = _order(vil[(vil["district"] == d) & (vil["commune"] == c)], "village")
        for i, r in enumerate(lst.to_dict("records"), start=1):
            s = sel.get((d, c, r["village"]))
            row = {} if two_tier else {col["district"]: d}
            row.update({
                col["commune"]: c,
                col["position"]: i,
                col["village_name"]: r["village"],
                col["commune_hq"]: "x" if bool(r.get("has_commune_hq", False)) else "",
                col["households"]: r.get("households", pd.NA),
                col["selected"]: "x" if s is not None else "",
                col["reason"]: _reason(s["reason"], reasons) if s is not None else "",
                col["probability"]: s.get("pi_village", pd.NA) if s is not None else pd.NA,
            })
            rows.append(row)
    out = pd.DataFrame(rows)
    out.insert(0, col["number"], range(1, len(out) + 1))
    return out


#: Personal columns looked for (in the household frame or the restricted contacts file) for Phụ lục 03, printed
#: under ``labels.annexes.columns.<name>``.
CONTACT_COLUMNS = ("head_name", "address", "phone")


def annex_03(households: pd.DataFrame, *, contacts: pd.DataFrame | None = None, lang: str = "vi") -> pd.DataFrame:
    """Phụ lục 03 (restricted): the official and reserve household lists with names and phones.

    ``households`` is the official list followed by the reserve (a ``list`` column
    ``official`` / ``reserve``); ``contacts`` (``household_id`` + ``head_name``,
    ``address``, ``phone``) is merged when given.  Write it only under the restricted folder.
    Headers, lists and notes in ``lang`` (``labels.annexes``).
    """
    lab = _labels(lang)
    col = lab["columns"]
    hh = households.copy()
    if contacts is not None:
        extra = [c for c in contacts.columns if c != "household_id" and c not in hh.columns]
        hh = hh.merge(contacts[["household_id"] + extra], on="household_id", how="left")
    two_tier = "district" in hh and bool((hh["district"].fillna("") == "").all())
    out = pd.DataFrame({col["number"]: range(1, len(hh) + 1)})
    if not two_tier:
        out[col["district"]] = hh["district"].to_numpy()
    out[col["commune"]] = hh["commune"].to_numpy()
    out[col["sample_village"]] = hh["sample_village"].to_numpy()
    out[col["household_village"]] = hh["village"].to_numpy()
    out[col["hamlet"]] = hh["hamlet"].to_numpy()
    out[col["household_id"]] = hh["household_id"].astype(str).to_numpy()
    for c in CONTACT_COLUMNS:
        out[col[c]] = hh[c].to_numpy() if c in hh else ""
    out[col["list"]] = np.where(hh.get("list", pd.Series("official", index=hh.index)) == "reserve",
                                lab["lists"]["reserve"], lab["lists"]["official"])
    out[col["reserve_rank"]] = hh["reserve_rank"].to_numpy() if "reserve_rank" in hh else pd.NA
    out[col["note"]] = [_reason(r, lab["reasons"]) for r in hh["role"]]
    return out


def annex_04(allocation: pd.DataFrame, *, lang: str = "vi", stratum: str = "district") -> pd.DataFrame:
    """Phụ lục 04: forms per unit with a total row ("Tổng cộng").

    ``allocation`` is :func:`allocate_forms` output with ``commune`` (and the ``stratum`` column,
    ``villages`` when known).  ``stratum`` names the unit above the commune shown first when present and not
    blank: ``district`` (three-tier), ``province`` (a national survey's plan), its header
    ``labels.annexes.columns.<stratum>``.  Headers and the total row's label in ``lang`` (``labels.annexes``).
    """
    lab = _labels(lang)
    col = lab["columns"]
    al = allocation.reset_index(drop=True)
    two_tier = stratum not in al or bool((al[stratum].fillna("") == "").all())
    out = pd.DataFrame({col["number"]: [str(i) for i in range(1, len(al) + 1)]})
    if not two_tier:
        out[col[stratum]] = al[stratum].to_numpy()
    out[col["unit"]] = al["commune"].to_numpy()
    if "villages" in al:
        out[col["villages"]] = al["villages"].astype(int).to_numpy()
    out[col["forms"]] = al["forms"].astype(int).to_numpy()
    total = {c: "" for c in out.columns}
    total[out.columns[1]] = lab["total"]
    if col["villages"] in out:
        total[col["villages"]] = int(out[col["villages"]].sum())
    total[col["forms"]] = int(out[col["forms"]].sum())
    return pd.concat([out, pd.DataFrame([total])], ignore_index=True)


def _xlsx_value(v: Any) -> Any:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


def annex_xlsx_bytes(table: pd.DataFrame, *, number: str, title: str | None = None,
                     subtitle: str = "", lang: str = "vi") -> bytes:
    """The XLSX bytes of one annex, ready to print (A4 landscape, fit to width, header row repeated).

    Row 1: "PHỤ LỤC <number>", row 2: the title (default :func:`annex_title`), row 3: ``subtitle``, row
    :data:`ANNEX_HEADER_ROW`: the table's column headers, then the data; the sheet is named "Phu luc <number>"
    (these words in ``lang``, ``labels.annexes``).  Fixed document properties and zip timestamps make the
    bytes deterministic.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    lab = _labels(lang)
    wb = Workbook()
    ws = wb.active
    ws.title = lab["sheet"].format(number=number).strip()
    ncol = max(len(table.columns), 1)
    ws.cell(row=1, column=1, value=lab["heading"].format(number=number).strip()).font = Font(bold=True)
    ws.cell(row=2, column=1, value=title or lab["titles"].get(number, "")).font = Font(bold=True)
    if subtitle:
        ws.cell(row=3, column=1, value=subtitle).font = Font(italic=True)
    for r in (1, 2):
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=ncol)
        ws.cell(row=r, column=1).alignment = Alignment(horizontal="center", wrap_text=True)
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for j, col in enumerate(table.columns, start=1):
        cell = ws.cell(row=ANNEX_HEADER_ROW, column=j, value=str(col))
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = border
        width = max([len(str(col))] + [len(str(v)) for v in table[col].head(200)])
        ws.column_dimensions[get_column_letter(j)].width = min(max(6, width + 2), 45)
    for i, rec in enumerate(table.itertuples(index=False), start=ANNEX_HEADER_ROW + 1):
        for j, v in enumerate(rec, start=1):
            ws.cell(row=i, column=j, value=_xlsx_value(v)).border = border
    ws.print_title_rows = f"{ANNEX_HEADER_ROW}:{ANNEX_HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.freeze_panes = ws.cell(row=ANNEX_HEADER_ROW + 1, column=1)
    return sio.xlsx_bytes(wb)


def read_annex_xlsx(path: str | Path) -> pd.DataFrame:
    """Read the table of an annex written by :func:`write_annex` (headers at :data:`ANNEX_HEADER_ROW`)."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    ws = wb.worksheets[0]
    rows = list(ws.iter_rows(min_row=ANNEX_HEADER_ROW, values_only=True))
    wb.close()
    if not rows:
        return pd.DataFrame()
    return pd.DataFrame(rows[1:], columns=list(rows[0]))


def write_annex(table: pd.DataFrame, *, number: str, xlsx_path: str | Path, csv_path: str | Path,
                title: str | None = None, subtitle: str = "", lang: str = "vi") -> tuple[Path, Path]:
    """Write one annex as XLSX (printable, :func:`annex_xlsx_bytes` in ``lang``) and CSV (same table, same
    headers), atomically.

    The CSV is the exact record (floats to 17 significant digits, :data:`sipas.io.FLOAT_FORMAT`);
    openpyxl stores floats in the XLSX with 16 significant digits (``"%.16g"``), which is the
    only difference a round trip can show.
    """
    x = sio.atomic_write_bytes(xlsx_path, annex_xlsx_bytes(table, number=number, title=title, subtitle=subtitle,
                                                           lang=lang))
    c = sio.write_csv(table, csv_path)
    return x, c


# ------------------------------------------------------------------------------- service-user surveys (seed 002)

#: The service-user annexes (seed 002's appendix and printable list): keys of
#: ``labels.annexes.service.titles`` in ``report_text.yml``.
SERVICE_ANNEXES = ("allocation", "informants")
#: Columns of :func:`service_allocation_annex` (seed 002's appendix), in order: keys of
#: ``labels.annexes.service.allocation_columns``.
SERVICE_ALLOCATION_COLUMNS = ("number", "unit", "forms", "note")


def service_annex_columns(kind: str, *, lang: str = "vi") -> tuple[str, ...]:
    """The printed column headers of a service-user annex in ``lang``: :func:`service_allocation_annex`'s
    (``kind="allocation"``) or :func:`informant_list`'s (``kind="informants"``)."""
    service = _labels(lang)["service"]
    if kind == "allocation":
        return tuple(service["allocation_columns"][k] for k in SERVICE_ALLOCATION_COLUMNS)
    if kind == "informants":
        return tuple(service["informant_columns"][k] for k in INFORMANT_COLUMNS)
    raise ValueError(f"unknown service annex {kind!r}; use one of {', '.join(SERVICE_ANNEXES)}")


def service_allocation_annex(allocation: pd.DataFrame, *, unit: str = "unit", note: str = "note",
                             total_label: str | None = None, lang: str = "vi") -> pd.DataFrame:
    """Forms per service unit as seed 002's appendix ("Phân bố phiếu khảo sát"), with a total row.

    Parameters
    ----------
    allocation : DataFrame
        One row per unit in print order: ``unit`` (the name printed), ``forms``; ``note`` when present.
        :func:`sipas.sampling.allocation_thuannam_2023` is seed 002's own table.
    unit, note : str
        Column names of the unit name and the note.
    total_label : str, optional
        Label of the total row (seed 002 prints "Tổng:"); default ``labels.annexes.total`` ("Tổng cộng").
    lang : str
        ``"vi"`` or ``"en"`` (the survey's ``language``): headers and the total row's default label.

    Returns
    -------
    DataFrame
        :data:`SERVICE_ALLOCATION_COLUMNS` printed in ``lang`` (:func:`service_annex_columns`): ``Stt`` as
        printed (``01``, ``02``, ... zero-padded to at least 2 digits), ``Tên đơn vị``, ``Số lượng phiếu``
        (int), ``Ghi chú``; a last row with ``total_label`` and the sum of forms.
    """
    lab = _labels(lang)
    number, name, n_forms, note_col = service_annex_columns("allocation", lang=lang)
    al = allocation.reset_index(drop=True)
    width = max(2, len(str(len(al))))
    forms = pd.to_numeric(al["forms"]).astype(int)
    out = pd.DataFrame({
        number: [str(i).zfill(width) for i in range(1, len(al) + 1)],
        name: al[unit].map(nfc).to_numpy(),
        n_forms: forms.to_numpy(),
        note_col: al[note].fillna("").astype(str).to_numpy() if note in al else "",
    })
    total = pd.DataFrame([{number: "", name: lab["total"] if total_label is None else total_label,
                           n_forms: int(forms.sum()), note_col: ""}])
    return pd.concat([out, total], ignore_index=True)[[number, name, n_forms, note_col]]


#: Columns of :func:`informant_list`, in order: keys of ``labels.annexes.service.informant_columns``.  The
#: personal ones (``name``, ``address``, ``phone``) are filled from the restricted frame's columns
#: :data:`sipas.sampling.INFORMANT_CONTACT_COLUMNS` names.
INFORMANT_COLUMNS = ("number", "location", "list", "position", "transaction_id", "name", "address", "phone",
                     "signature")


def informant_list(selection: pd.DataFrame, restricted: pd.DataFrame | None = None, *,
                   units: pd.DataFrame | None = None, lang: str = "vi") -> pd.DataFrame:
    """The printable list "Danh sách người cung cấp thông tin" of seed 002, per survey location.

    RESTRICTED: the table holds names, addresses and phone numbers; write it only under
    ``restricted/<survey-id>/`` (the caller decides where; this function only builds it).

    Parameters
    ----------
    selection : DataFrame
        :func:`sipas.sampling.select_transactions`' result (``unit``, ``transaction_id``, ``list``,
        ``position``), in its order (official before reserve within a unit).
    restricted : DataFrame, optional
        The restricted frame of :func:`sipas.sampling.split_personal_columns`: ``transaction_id`` and the
        personal columns; the first present of :data:`INFORMANT_CONTACT_COLUMNS` fills each printed column
        (blank when absent).
    units : DataFrame, optional
        The unit frame (``unit_id``, ``unit``), to print unit names instead of ids.
    lang : str
        ``"vi"`` or ``"en"`` (the survey's ``language``): headers and the names of the lists.

    Returns
    -------
    DataFrame
        :data:`INFORMANT_COLUMNS` printed in ``lang`` (:func:`service_annex_columns`): ``Stt`` (1, 2, ...
        within each location), ``Địa điểm khảo sát`` (unit name), ``Danh sách`` (``Chính thức`` /
        ``Dự phòng``), ``Thứ tự trong danh sách``, ``Mã giao dịch``, name, address, phone, and an empty
        ``Ký tên`` (signature) column.
    """
    lab = _labels(lang)
    col = dict(zip(INFORMANT_COLUMNS, service_annex_columns("informants", lang=lang)))
    sel = selection.reset_index(drop=True)
    tid = sel["transaction_id"].astype(str)
    names = {}
    if units is not None:
        names = {nfc(str(i)): nfc(str(n)) for i, n in zip(units["unit_id"], units["unit"])}
    out = pd.DataFrame({
        col["number"]: (sel.groupby("unit", sort=False).cumcount() + 1).astype(int).to_numpy(),
        col["location"]: [names.get(nfc(str(u)), str(u)) for u in sel["unit"]],
        col["list"]: np.where(sel["list"] == "reserve", lab["lists"]["reserve"], lab["lists"]["official"]),
        col["position"]: sel["position"].astype(int).to_numpy(),
        col["transaction_id"]: tid.to_numpy(),
    })
    lower = {} if restricted is None else {nfc(str(c)).strip().lower(): c for c in restricted.columns}
    for key, candidates in INFORMANT_CONTACT_COLUMNS.items():
        found = next((lower[c] for c in candidates if c in lower), None)
        if found is None:
            out[col[key]] = ""
            continue
        look = dict(zip(restricted["transaction_id"].astype(str), restricted[found]))
        out[col[key]] = ["" if _xlsx_value(look.get(t)) is None else str(look.get(t)) for t in tid]
    out[col["signature"]] = ""
    return out[[col[k] for k in INFORMANT_COLUMNS]]


def service_annex_xlsx_bytes(table: pd.DataFrame, *, kind: str, number: str = "",
                             year: int | None = None, subtitle: str = "", lang: str = "vi") -> bytes:
    """XLSX bytes (values, never formulas) of :func:`service_allocation_annex` (``kind="allocation"``) or
    :func:`informant_list` (``kind="informants"``; restricted), with seed 002's title in ``lang``
    (``labels.annexes.service.titles``, ``NĂM <year>`` appended when given), through :func:`annex_xlsx_bytes`."""
    if kind not in SERVICE_ANNEXES:
        raise ValueError(f"unknown service annex {kind!r}; use one of {', '.join(SERVICE_ANNEXES)}")
    service = _labels(lang)["service"]
    title = service["titles"][kind]
    if year is not None:
        title = service["title_year"].format(title=title, year=year)
    return annex_xlsx_bytes(table, number=number, title=title, subtitle=subtitle, lang=lang)


def write_service_allocation_annex(table: pd.DataFrame, *, xlsx_path: str | Path, csv_path: str | Path | None = None,
                                   year: int | None = None, lang: str = "vi") -> tuple[Path, ...]:
    """Write seed 002's allocation appendix (:func:`service_allocation_annex`) as XLSX (values, never formulas,
    :func:`service_annex_xlsx_bytes` in ``lang``) and, when ``csv_path`` is given, as CSV (the same table and
    headers, formula-safe, :func:`sipas.io.write_csv`), atomically.  ``sipas sample`` writes this year's
    (``phu_luc_phan_bo_phieu.xlsx``); ``sipas plan`` next year's (``plan_phu_luc_phan_bo_phieu.xlsx|csv``).

    Returns
    -------
    tuple of Path
        The files written (XLSX first).
    """
    out = [sio.atomic_write_bytes(xlsx_path, service_annex_xlsx_bytes(table, kind="allocation", year=year,
                                                                      lang=lang))]
    if csv_path is not None:
        out.append(sio.write_csv(table, csv_path))
    return tuple(out)


# ------------------------------------------------------------------ exit mode: the desks' blank list (seed 002)

#: File name of the blank per-unit list of an exit-mode survey, written by ``sipas sample`` beside the
#: allocation annex (no personal data: the rows are empty until a desk fills them in).
EXIT_LIST_FILE = "danh_sach_nguoi_cung_cap_thong_tin_mau_trong.xlsx"
#: Row of the column headers on each sheet of :func:`exit_list_xlsx_bytes` (rows 1-4: title, place, forms, note).
EXIT_LIST_HEADER_ROW = 6
#: Columns of the list, in seed 002's order (keys of ``labels.exit_list.columns`` in ``report_text.yml``).
EXIT_LIST_COLUMNS = ("number", "name", "address", "phone", "signature")
_EXIT_LIST_WIDTHS = (7, 34, 34, 17, 17)


def _sheet_title(index: int, name: str, width: int, used: set[str]) -> str:
    """A worksheet name Excel accepts (31 characters, none of ``[]:*?/\\``, no edge apostrophe), unique."""
    clean = "".join(" " if ch in "[]:*?/\\" else ch for ch in nfc(str(name))).strip().strip("'").strip()
    title = f"{str(index).zfill(width)} {clean}"[:31].rstrip() if clean else str(index).zfill(width)
    base, k = title, 2
    while title.casefold() in used:
        title = f"{base[:31 - len(str(k)) - 1]}~{k}"
        k += 1
    used.add(title.casefold())
    return title


def exit_list_xlsx_bytes(allocation: pd.DataFrame, *, unit: str = "unit", forms: str = "forms",
                         year: int | None = None, lang: str = "vi") -> bytes:
    """The blank list the desks of an exit-mode survey fill in, one printable worksheet per unit (XLSX bytes).

    Seed 002 (exit mode: the desk hands a form to each person whose result it returns) attaches to its plan
    the list "Danh sách người cung cấp thông tin khảo sát sự hài lòng năm ...": a survey location
    ("Địa điểm khảo sát"), numbered rows with the columns Stt, name of the organisation or person, address,
    phone number and signature, then the signatures of the interviewer ("Điều tra viên") and of the head of
    the unit ("Thủ trưởng đơn vị") and a contact phone number.  This is that list, blank, for each unit with
    forms: its name as the location, its number of forms (the allocation annex's "Số lượng phiếu") and one
    numbered row per allocated form.  The seed's template prints 20 rows and names no other column (form
    number, date handed out, procedure field, returned or not): sipas adds none, and the sheet's note says
    where its row count comes from.  The texts are ``labels.exit_list`` of ``report_text.yml`` in ``lang``.

    No personal data: every row is empty, so the file is written beside the allocation annex, not under
    ``restricted/``.  Filled in, a sheet holds names, addresses and phone numbers (keep the paper, or a scan,
    with the restricted data).

    Parameters
    ----------
    allocation : DataFrame
        One row per unit in print order: ``unit`` (name printed) and ``forms`` (int); units with no form
        get no sheet.
    unit, forms : str
        Column names of the unit name and its forms.
    year : int, optional
        Survey year, printed in the title as the seed does.
    lang : str
        ``"vi"`` or ``"en"`` (the survey's ``language``).

    Returns
    -------
    bytes
        An XLSX workbook (values only, never a formula: :func:`sipas.io.xlsx_bytes`; the same inputs give
        the same bytes), A4 portrait, fit to the page width, the header row repeated on every page.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    lab = label_set("exit_list", lang=lang)
    title = lab["title"].format(year=year) if year is not None else lab["title_no_year"]
    al = allocation.reset_index(drop=True)
    n_forms = pd.to_numeric(al[forms]).astype(int).tolist()
    names = [nfc(str(v)) for v in al[unit]]
    wb = Workbook()
    wb.remove(wb.active)
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    ncol = len(EXIT_LIST_COLUMNS)
    width = max(2, len(str(len(al))))
    used: set[str] = set()
    for i, (name, n) in enumerate(zip(names, n_forms), start=1):
        if n <= 0:
            continue
        ws = wb.create_sheet(_sheet_title(i, name, width, used))
        head = {1: (title, Font(bold=True)), 2: (lab["place"].format(unit=name), Font(bold=True)),
                3: (lab["forms"].format(forms=n), Font()), 4: (lab["note"], Font(italic=True))}
        for r, (text, font) in head.items():
            cell = ws.cell(row=r, column=1, value=text)
            cell.font = font
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=ncol)
            cell.alignment = Alignment(horizontal="center" if r == 1 else "left", vertical="center", wrap_text=True)
        ws.row_dimensions[1].height = 32
        ws.row_dimensions[4].height = 30
        for j, key in enumerate(EXIT_LIST_COLUMNS, start=1):
            cell = ws.cell(row=EXIT_LIST_HEADER_ROW, column=j, value=lab["columns"][key])
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            cell.border = border
            ws.column_dimensions[get_column_letter(j)].width = _EXIT_LIST_WIDTHS[j - 1]
        for k in range(1, n + 1):
            r = EXIT_LIST_HEADER_ROW + k
            ws.row_dimensions[r].height = 24   # room to write by hand
            for j in range(1, ncol + 1):
                cell = ws.cell(row=r, column=j, value=k if j == 1 else None)
                cell.border = border
            ws.cell(row=r, column=1).alignment = Alignment(horizontal="center", vertical="center")
        r = EXIT_LIST_HEADER_ROW + n + 2
        for col, (label, sign) in ((1, (lab["interviewer"], lab["interviewer_sign"])),
                                   (4, (lab["head"], lab["head_sign"]))):
            for rr, text, font in ((r, label, Font(bold=True)), (r + 1, sign, Font(italic=True))):
                ws.merge_cells(start_row=rr, start_column=col, end_row=rr, end_column=col + 1)
                cell = ws.cell(row=rr, column=col, value=text)
                cell.font = font
                cell.alignment = Alignment(horizontal="center")
        ws.cell(row=r + 6, column=1, value=lab["contact"])
        ws.print_title_rows = f"{EXIT_LIST_HEADER_ROW}:{EXIT_LIST_HEADER_ROW}"
        ws.page_setup.orientation = "portrait"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
    if not wb.worksheets:   # no unit with forms: one empty sheet, so the workbook is valid
        wb.create_sheet("01").cell(row=1, column=1, value=title)
    return sio.xlsx_bytes(wb)

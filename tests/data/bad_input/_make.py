"""Regenerate the bad-input catalogue from tests/data/ingest/forms_small.csv (run from the repo root).

Each file is one realistic defect of provincial data; tests/test_bad_input.py states the exact error or
repair expected for each.  The files are committed; this script documents how they were made.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from pathlib import Path

import openpyxl

HERE = Path(__file__).parent
BASE = HERE.parent / "ingest" / "forms_small.csv"


def rows(n: int = 3) -> tuple[list[str], list[list[str]]]:
    r = list(csv.reader(BASE.open(encoding="utf-8")))
    return r[0], r[1:1 + n]


def to_csv(header, data, *, delim=",", eol="\n") -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delim, lineterminator=eol)
    w.writerow(header)
    w.writerows(data)
    return buf.getvalue()


def cp1258(text: str) -> bytes:
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            d = unicodedata.normalize("NFD", ch)
            base, mark = unicodedata.normalize("NFC", d[:-1]), d[-1]
            out += base.encode("cp1258") + mark.encode("cp1258")
    return bytes(out)


def xlsx(path: Path, table: list[list], *, title_rows: list[list] | None = None, merge: str | None = None) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    for r in title_rows or []:
        ws.append(r)
    if merge:
        ws.merge_cells(merge)
    for r in table:
        ws.append(r)
    wb.save(path)


def typed(header, data):
    out = []
    for r in data:
        out.append([int(v) if v.isdigit() and h not in ("phone", "household_id") else (v or None)
                    for h, v in zip(header, r)])
    return out


def main() -> None:
    h, d = rows()
    col = {c: i for i, c in enumerate(h)}
    w = lambda name, data: (HERE / name).write_bytes(data)  # noqa: E731
    base = to_csv(h, d)
    w("utf8_bom.csv", b"\xef\xbb\xbf" + base.encode("utf-8"))
    w("utf16_excel_unicode_text.txt", to_csv(h, d, delim="\t", eol="\r\n").encode("utf-16"))
    w("utf16le_no_bom.csv", base.encode("utf-16-le"))
    w("cp1258.csv", cp1258(base))
    w("nfd_text.csv", unicodedata.normalize("NFD", base).encode("utf-8"))
    d2 = [r[:] for r in d]
    d2[1][col["respondent_name"]] = "TrÇn ThÞ B×nh"
    w("tcvn3_name.csv", to_csv(h, d2).encode("utf-8"))
    d2 = [r[:] for r in d]
    d2[0][col["village"]] = "B¶n Hon, x· B×nh L­"
    w("tcvn3_village.csv", to_csv(h, d2).encode("utf-8"))
    d2 = [r[:] for r in d]
    d2[2][col["respondent_name"]] = "Nguyeãn Thò Hoaøng Oanh"
    w("vni_name.csv", to_csv(h, d2).encode("utf-8"))
    w("empty.csv", b"")
    w("bom_only.csv", b"\xef\xbb\xbf\r\n")
    w("header_only.csv", to_csv(h, []).encode("utf-8"))
    i = col["p1_1a"]
    w("missing_item_column.csv", to_csv(h[:i] + h[i + 1:], [r[:i] + r[i + 1:] for r in d]).encode("utf-8"))
    w("missing_form_id_column.csv", to_csv(h[1:], [r[1:] for r in d]).encode("utf-8"))
    w("extra_column.csv", to_csv(h + ["ghi_chu"], [r + ["gặp chủ hộ"] for r in d]).encode("utf-8"))
    ren = {"form_id": "Mã phiếu", "household_id": "Mã hộ", "commune": "Xã", "respondent_name": "Họ và tên",
           "phone": "Số điện thoại", "village": "Thôn/bản"}
    w("renamed_headers.csv", to_csv([ren.get(c, c) for c in h], d).encode("utf-8"))
    w("header_case_spaces.csv", to_csv([f" {c.upper()} " for c in h], d).encode("utf-8"))
    w("merged_title_rows.csv", (",".join(["DANH SÁCH PHIẾU KHẢO SÁT NĂM 2024"] + [""] * (len(h) - 1)) + "\n"
                                + ",".join([""] * len(h)) + "\n" + base).encode("utf-8"))
    xlsx(HERE / "merged_title_rows.xlsx", [h, *typed(h, d)],
         title_rows=[["PHIẾU KHẢO SÁT SỰ HÀI LÒNG - TỈNH LAI CHÂU"], [None]], merge="A1:J1")
    w("duplicate_column.csv", to_csv(h + ["p1_1a"], [r + ["4"] for r in d]).encode("utf-8"))
    d2 = [r[:] for r in d]
    d2[1][col["form_id"]] = ""
    w("blank_form_id.csv", to_csv(h, d2).encode("utf-8"))
    d2 = [r[:] for r in d]
    d2[0][col["p1_1a"]] = "=2+2"
    w("formula_in_csv.csv", to_csv(h, d2).encode("utf-8"))
    t = [h, *typed(h, d)]
    t[1][col["p1_1a"]] = "=2+2"
    xlsx(HERE / "formula_no_cached_value.xlsx", t)
    # the same formula with a cached value, as Excel saves it
    xlsx(HERE / "formula_cached_value.xlsx", t)
    p = HERE / "formula_cached_value.xlsx"
    zin = zipfile.ZipFile(io.BytesIO(p.read_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb"<f>2\+2</f><v\s*/?>(</v>)?", b"<f>2+2</f><v>4</v>", data)
                data = re.sub(rb"<f>2\+2</f>(?!<v>4)", b"<f>2+2</f><v>4</v>", data)
            z.writestr(info, data)
    p.write_bytes(out.getvalue())
    import datetime as dt
    t = [h, *typed(h, d)]
    t[2][col["s2_1a"]] = dt.datetime(2024, 4, 5)
    xlsx(HERE / "date_in_item_cell.xlsx", t)
    t = [h, *typed(h, d)]
    for r in t[1:]:
        r[col["interview_date"]] = dt.datetime(2024, 9, 17, 0, 0)
    xlsx(HERE / "real_dates.xlsx", t)
    d2 = [r[:] for r in d]
    d2[0][col["interview_date"]] = "45552"
    w("excel_serial_date.csv", to_csv(h, d2).encode("utf-8"))
    d2 = [r[:] for r in d]
    for r in d2:
        y, m, dd = r[col["interview_date"]].split("-")
        r[col["interview_date"]] = f"{dd}/{m}/{y}"
    w("vietnamese_date_format.csv", to_csv(h, d2).encode("utf-8"))
    d2 = [r[:] for r in d]
    d2[1][col["interview_date"]] = "31/02/2024"
    w("impossible_date.csv", to_csv(h, d2).encode("utf-8"))
    d2 = [r[:] for r in d]
    d2[0][col["p1_1a"]] = "x"
    w("non_numeric_code.csv", to_csv(h, d2).encode("utf-8"))
    d2 = [r[:] for r in d]
    d2[0][col["p1_1a"]] = "4.0"
    w("decimal_code.csv", to_csv(h, d2).encode("utf-8"))
    d2 = [r[:] for r in d]
    d2[0][col["s2_1a"]] = "Hài lòng"
    d2[1][col["s2_1b"]] = "5. Rất hài lòng"
    w("label_instead_of_code.csv", to_csv(h, d2).encode("utf-8"))
    w("semicolon_delimiter.csv", to_csv(h, d, delim=";").encode("utf-8"))
    d2 = [r[:] for r in d]
    d2[0][col["address"]] = "Xóm A,\nBản Hon"
    w("crlf_and_newline_in_cell.csv", to_csv(h, d2, eol="\r\n").encode("utf-8"))
    lines = base.split("\n")
    lines[2] = lines[2] + ",5,5"
    w("row_longer_than_header.csv", "\n".join(lines).encode("utf-8"))
    w("blank_header_with_data.csv", to_csv(h + [""], [r + ["3"] for r in d]).encode("utf-8"))
    lines = base.rstrip("\n").split("\n")
    lines.insert(2, ",,,,")
    lines.append(",".join([""] * len(h)))
    w("empty_rows.csv", ("\n".join(lines) + "\n\n").encode("utf-8"))
    w("too_big_for_limit.csv", base.encode("utf-8"))
    w("binary_data.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    w("old_excel.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    w("not_really.xlsx", base.encode("utf-8"))
    w("responses.json", b'{"forms": []}')
    w("corrupt.sav", b"$FL2@(#) not really an SPSS file")
    w("no_header_row.csv", to_csv(d[0], d[1:]).encode("utf-8"))
    w("unterminated_quote.csv", (base + 'F9,"HH9,unterminated\n').encode("utf-8"))
    w("mixed_encodings.csv", base.encode("utf-8") + cp1258(to_csv(h, d).split("\n")[1]) + b"\n")
    d2 = [r[:] for r in d]
    d2[0][col["p1_1a"]] = "7"
    w("code_out_of_range.csv", to_csv(h, d2).encode("utf-8"))
    d2 = [r[:] for r in d]
    d2[2][col["form_id"]] = d2[0][col["form_id"]]
    w("duplicate_form_id.csv", to_csv(h, d2).encode("utf-8"))
    d2 = [r[:] for r in d]
    d2[1][col["household_id"]] = ""
    w("blank_household_id.csv", to_csv(h, d2).encode("utf-8"))


if __name__ == "__main__":
    main()

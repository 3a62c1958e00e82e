"""Property-based tests (hypothesis) fuzzing the readers: any bytes or cell contents give either a
result or an InputError naming the file -- never another exception, never a changed input file."""

from __future__ import annotations

import csv
import io
import tempfile
import unicodedata
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sipas.text.encodings import decode_bytes
from sipas.errors import InputError
from sipas.forms.ingest import read_responses
from sipas.forms.instrument import load_instrument

INST = load_instrument("household", "2023.1")
BASE = Path(__file__).parent / "data" / "ingest" / "forms_small.csv"
HEADER, *ROWS = list(csv.reader(BASE.open(encoding="utf-8")))
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _write(data: bytes, suffix: str = ".csv") -> Path:
    d = Path(tempfile.mkdtemp())
    p = d / f"in{suffix}"
    p.write_bytes(data)
    return p


@SETTINGS
@given(st.binary(max_size=2000))
def test_decode_any_bytes(data):
    try:
        dec = decode_bytes(data, file="x.csv")
    except InputError as exc:
        assert exc.file == "x.csv"
    else:
        assert unicodedata.is_normalized("NFC", dec.text)
        assert "\r" not in dec.text


@SETTINGS
@given(st.binary(max_size=3000), st.sampled_from([".csv", ".xlsx", ".sav", ".txt"]))
def test_read_any_bytes(data, suffix):
    p = _write(data, suffix)
    try:
        res = read_responses(p, instrument=INST, salt="s")
    except InputError as exc:
        assert exc.file == str(p)
    else:
        assert len(res.forms) >= 1
    assert p.read_bytes() == data


cell = st.one_of(st.text(max_size=8), st.integers(-20, 20).map(str), st.sampled_from(["", " 4 ", "9", "4.0",
                                                                                      "Hài lòng", "=1+1"]))


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(HEADER[14:]), cell), max_size=12),
       st.sampled_from([("utf-8", ","), ("utf-8-sig", ";"), ("utf-16", "\t"), ("cp1258", ",")]))
# csv.writer leaves a cell with a bare CR unquoted: it must not split the row in two
@example(edits=[(HEADER[14], "\r0")], enc_delim=("utf-8", ","))
@example(edits=[(HEADER[14], "\r0"), (HEADER[15], "4\r")], enc_delim=("utf-16", "\t"))
def test_fuzzed_cells(edits, enc_delim):
    enc, delim = enc_delim
    rows = [r[:] for r in ROWS[:4]]
    for k, (col, val) in enumerate(edits):
        rows[k % len(rows)][HEADER.index(col)] = val
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delim, lineterminator="\n")
    w.writerow(HEADER)
    w.writerows(rows)
    try:
        data = buf.getvalue().encode(enc)
    except UnicodeEncodeError:
        return
    p = _write(data)
    try:
        res = read_responses(p, instrument=INST, salt="s")
    except InputError as exc:
        assert exc.file == str(p)
        assert exc.row is None or exc.row >= 1
        return
    finally:
        assert p.read_bytes() == data
    assert len(res.forms) == 4
    for it in INST.item_ids:
        assert str(res.forms[it].dtype) == "Int64"
    for r in res.log.itertuples():
        assert r.rule
    # every cell that is not blank or logged parses to the integer written
    logged = {(int(r.row), r.column) for r in res.log.itertuples() if not pd.isna(r.row)}
    for i, row in enumerate(rows):
        for col in INST.item_ids:
            v = row[HEADER.index(col)].strip()
            if v.lstrip("+-").isdigit() and (i + 2, col) not in logged:
                assert res.forms.loc[i, col] == int(v)


@SETTINGS
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30))
def test_names_round_trip_to_restricted(name):
    rows = [r[:] for r in ROWS[:2]]
    rows[0][HEADER.index("respondent_name")] = name
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([HEADER, *rows])
    p = _write(buf.getvalue().encode("utf-8"))
    try:
        res = read_responses(p, instrument=INST, salt="s")
    except InputError as exc:  # legacy-font look-alikes, formulas
        assert exc.column == "respondent_name" or exc.row is None
        return
    got = res.restricted.loc[0, "respondent_name"]
    want = unicodedata.normalize("NFC", name).strip()
    assert (pd.isna(got) and want == "") or got == want
    assert "respondent_name" not in res.forms.columns


def _bare_cr_file(lineterminator: str) -> tuple[Path, list[list[str]]]:
    rows = [r[:] for r in ROWS[:4]]
    rows[1][HEADER.index("q_used_admin")] = "\r0"
    rows[2][HEADER.index("village")] = "Bản\rHon"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([HEADER, *rows])
    text = buf.getvalue()
    assert "\r0," in text  # written unquoted
    # rows end in CRLF as Windows Excel writes them (no cell holds a LF); csv.writer with lineterminator="\r\n"
    # would quote the CR cells
    return _write(text.replace("\n", lineterminator).encode("utf-8")), rows


def test_bare_cr_in_cell_is_not_a_row_break():
    for term in ("\n", "\r\n"):
        p, rows = _bare_cr_file(term)
        res = read_responses(p, instrument=INST, salt="s")
        assert len(res.forms) == 4
        assert list(res.forms["form_id"]) == [r[0] for r in rows]
        assert res.forms.loc[1, "q_used_admin"] == 0
        assert res.forms.loc[2, "village"] == "Bản\nHon"  # a CR in a cell reads as a line break, as in decode_bytes
        for i in (0, 3):
            assert res.forms.loc[i, "q_used_admin"] == int(rows[i][HEADER.index("q_used_admin")])


def test_cr_only_row_ends_still_read():
    """Files whose rows end in a bare CR only (classic Mac "CSV (Macintosh)") keep CR as the row end."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r").writerows([HEADER, *ROWS[:4]])
    text = buf.getvalue().replace('"Số 1, Bản Hon"', '"Số 1,\nBản Hon"')  # a LF inside a quoted cell
    res = read_responses(_write(text.encode("utf-8")), instrument=INST, salt="s")
    assert list(res.forms["form_id"]) == [r[0] for r in ROWS[:4]]
    assert res.restricted.loc[1, "address"] == "Số 1,\nBản Hon"

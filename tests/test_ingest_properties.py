"""Property-based tests (hypothesis) fuzzing the readers: any bytes or cell contents give either a
result or an InputError naming the file -- never another exception, never a changed input file."""

from __future__ import annotations

import csv
import io
import tempfile
import unicodedata
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
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

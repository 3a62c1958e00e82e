"""Service-user exit surveys (issue 16, seeds 001 and 002): unit and transaction frames, the official and reserve
lists drawn from transaction records, Neyman allocation, seed 002's 470-form table, substitutions, annexes."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sipas import sampling as S
from sipas.errors import ConfigError, DesignError, InputError

WINDOW = ("2023-07-01", "2023-09-30")


def tx_log(units: dict[str, int], *, start: dt.date = dt.date(2023, 7, 1), fields=("Đất đai", "Hộ tịch"),
           repeat: int = 1) -> pd.DataFrame:
    """``n`` transactions per unit, one a day from ``start``, fields alternating; applicant = i // repeat."""
    rows = []
    for u, n in units.items():
        for i in range(n):
            rows.append({"transaction_id": f"{u}-{i:04d}", "unit": u, "procedure_field": fields[i % len(fields)],
                         "returned_on": start + dt.timedelta(days=i % 92), "applicant_type": "person",
                         "applicant_id": f"{u}-p{i // repeat}"})
    return pd.DataFrame(rows)


def alloc(**forms: int) -> pd.DataFrame:
    return pd.DataFrame({"unit": list(forms), "forms": list(forms.values())})


# ------------------------------------------------------------------------------------------------ selection

def test_window_edges_are_included_and_outside_days_excluded():
    days = [dt.date(2023, 6, 30), dt.date(2023, 7, 1), dt.date(2023, 8, 15), dt.date(2023, 9, 30),
            dt.date(2023, 10, 1)]
    tx = pd.DataFrame({"transaction_id": ["before", "first", "mid", "last", "after"], "unit": "A",
                       "procedure_field": "Hộ tịch", "returned_on": days, "applicant_id": ["a", "b", "c", "d", "e"]})
    sel = S.select_transactions(tx, allocation=alloc(A=10), window=WINDOW, seed=1)
    assert sorted(sel["transaction_id"]) == ["first", "last", "mid"]
    assert set(sel["eligible"]) == {3}
    # the window may be written dd/mm/yyyy as well, and the dates as text
    tx2 = tx.assign(returned_on=[d.strftime("%d/%m/%Y") for d in days])
    sel2 = S.select_transactions(tx2, allocation=alloc(A=10), window=("01/07/2023", "30/09/2023"), seed=1)
    assert sorted(sel2["transaction_id"]) == ["first", "last", "mid"]


def test_unit_with_fewer_eligible_than_forms_takes_all_and_reports_it():
    tx = tx_log({"A": 7, "B": 40})
    sel = S.select_transactions(tx, allocation=alloc(A=10, B=5), window=WINDOW, seed=3)
    a = sel[sel["unit"] == "A"]
    assert len(a) == 7 and set(a["list"]) == {"official"} and set(a["pi"]) == {1.0}
    assert sorted(a["position"]) == list(range(1, 8))
    short = pd.DataFrame(sel.attrs["shortfall"])
    assert short.to_dict("records") == [{"unit": "A", "forms": 10, "reserve_wanted": 10, "eligible": 7,
                                         "official": 7, "reserve": 0, "official_short": 3, "reserve_short": 10}]
    pd.testing.assert_frame_equal(S.transaction_shortfall(tx, allocation=alloc(A=10, B=5), window=WINDOW), short)
    b = sel[sel["unit"] == "B"]
    assert (b["list"] == "official").sum() == 5 and (b["list"] == "reserve").sum() == 5


def test_short_reserve_is_reported():
    tx = tx_log({"A": 14})
    sel = S.select_transactions(tx, allocation=alloc(A=10), window=WINDOW, seed=3)
    assert (sel["list"] == "official").sum() == 10 and (sel["list"] == "reserve").sum() == 4
    assert sel.attrs["shortfall"][0]["reserve_short"] == 6 and sel.attrs["shortfall"][0]["official_short"] == 0


def test_repeated_applicants_never_twice_in_or_across_lists():
    tx = tx_log({"A": 90}, repeat=3)  # 30 applicants with 3 transactions each
    for seed in range(20):
        sel = S.select_transactions(tx, allocation=alloc(A=12), window=WINDOW, seed=seed)
        who = sel["transaction_id"].map(dict(zip(tx["transaction_id"], tx["applicant_id"])))
        assert who.is_unique, seed
        assert set(sel["eligible"]) == {30}
        assert set(sel["applicant_transactions"]) == {3}
        assert np.allclose(sel["pi"], 12 / 30)


def test_an_applicant_is_represented_by_its_first_transaction_in_sort_order():
    tx = pd.DataFrame({"transaction_id": ["t1", "t2", "t3"], "unit": "A",
                       "procedure_field": ["Hộ tịch", "Đất đai", "Đất đai"],
                       "returned_on": ["2023-07-01", "2023-07-09", "2023-07-05"], "applicant_id": ["p", "p", "p"]})
    sel = S.select_transactions(tx, allocation=alloc(A=1), window=WINDOW, seed=0)
    # "Đất đai" < "Hộ tịch" in Vietnamese order; within it 5/7 before 9/7
    assert sel["transaction_id"].tolist() == ["t3"]
    assert sel["applicant_transactions"].tolist() == [3]


def test_same_seed_same_lists_different_seed_different():
    tx = tx_log({"A": 200, "B": 150})
    al = alloc(A=20, B=15)
    one = S.select_transactions(tx, allocation=al, window=WINDOW, seed=2023)
    two = S.select_transactions(tx.sample(frac=1, random_state=1), allocation=al, window=WINDOW, seed=2023)
    assert one.to_csv(index=False).encode() == two.to_csv(index=False).encode()
    other = S.select_transactions(tx, allocation=al, window=WINDOW, seed=2024)
    assert one["transaction_id"].tolist() != other["transaction_id"].tolist()


def test_units_draw_from_independent_streams():
    tx = tx_log({"A": 200, "B": 150})
    both = S.select_transactions(tx, allocation=alloc(A=20, B=15), window=WINDOW, seed=9)
    only_a = S.select_transactions(tx, allocation=alloc(A=20), window=WINDOW, seed=9)
    pd.testing.assert_frame_equal(both[both["unit"] == "A"].reset_index(drop=True), only_a)
    # stable across processes: a fixed value of the stream of unit "A"
    assert S.unit_stream(9, "A").integers(0, 2**31) == S.unit_stream(9, "A").integers(0, 2**31)
    assert S.unit_stream(9, "A").integers(0, 2**31) != S.unit_stream(9, "B").integers(0, 2**31)


def test_lists_are_pinned_across_processes():
    """The draw depends only on the seed and the unit id (sha256, not hash()): a fixed list, whatever
    PYTHONHASHSEED; a change of the algorithm shows here."""
    sel = S.select_transactions(tx_log({"A": 40}), allocation=alloc(A=3), window=WINDOW, seed=2023)
    assert sel[["transaction_id", "list"]].values.tolist() == [
        ["A-0020", "official"], ["A-0009", "official"], ["A-0035", "official"],
        ["A-0008", "reserve"], ["A-0034", "reserve"], ["A-0021", "reserve"]]


def test_official_and_reserve_disjoint_positions_consecutive():
    tx = tx_log({"A": 101, "B": 64})
    sel = S.select_transactions(tx, allocation=alloc(A=17, B=8), window=WINDOW, reserve_ratio=0.5, seed=5)
    for (unit, lst), g in sel.groupby(["unit", "list"]):
        assert g["position"].tolist() == list(range(1, len(g) + 1))
    for unit, g in sel.groupby("unit"):
        off = set(g.loc[g["list"] == "official", "transaction_id"])
        res = set(g.loc[g["list"] == "reserve", "transaction_id"])
        assert not off & res
    counts = sel.groupby(["unit", "list"]).size().to_dict()
    assert counts == {("A", "official"): 17, ("A", "reserve"): 9, ("B", "official"): 8, ("B", "reserve"): 4}
    assert list(sel.columns) == list(S.SELECTION_COLUMNS)


def test_implicit_stratification_splits_an_even_sample_equally_between_two_equal_fields():
    tx = tx_log({"A": 120})  # 60 "Đất đai", 60 "Hộ tịch"
    for seed in range(30):
        sel = S.select_transactions(tx, allocation=alloc(A=10), window=WINDOW, seed=seed)
        for lst in ("official", "reserve"):
            fields = sel.loc[sel["list"] == lst, "procedure_field"].value_counts().to_dict()
            assert fields == {"Đất đai": 5, "Hộ tịch": 5}, (seed, lst, fields)
        # each list in sort order: fields grouped, dates rising
        off = sel[sel["list"] == "official"]
        assert off["frame_position"].is_monotonic_increasing


def test_official_inclusion_probability_is_forms_over_eligible():
    tx = tx_log({"A": 7})
    hits = pd.Series(0, index=tx["transaction_id"])
    runs = 500  # pandas overhead: about 25 ms a draw on a shared machine
    for seed in range(runs):
        sel = S.select_transactions(tx, allocation=alloc(A=2), window=WINDOW, seed=seed)
        hits[sel.loc[sel["list"] == "official", "transaction_id"]] += 1
    p = 2 / 7
    se = np.sqrt(p * (1 - p) / runs)
    assert np.all(np.abs(hits / runs - p) < 4 * se), (hits / runs).tolist()


@pytest.mark.parametrize("kwargs, key", [
    ({"window": ("2023-09-30", "2023-07-01")}, "sampling.window"),
    ({"allocation": alloc(A=5, Z=5)}, "sampling.allocation.unit"),
    ({"allocation": alloc(A=-1)}, "sampling.allocation.forms"),
    ({"reserve_ratio": -0.5}, "sampling.reserve_ratio"),
])
def test_bad_selection_options_are_config_errors(kwargs, key):
    args = {"allocation": alloc(A=5), "window": WINDOW, "seed": 1, **kwargs}
    with pytest.raises(ConfigError) as e:
        S.select_transactions(tx_log({"A": 20}), **args)
    assert e.value.key == key


def test_duplicate_transaction_id_in_selection_input():
    tx = tx_log({"A": 5})
    tx.loc[3, "transaction_id"] = tx.loc[1, "transaction_id"]
    with pytest.raises(InputError) as e:
        S.select_transactions(tx, allocation=alloc(A=2), window=WINDOW, seed=1)
    assert e.value.row == 5 and e.value.column == "transaction_id"


# ----------------------------------------------------------------------------------------------- allocation

def test_neyman_hand_computed():
    N = pd.Series([100, 200, 300])
    Sd = pd.Series([0.5, 0.4, 0.3])
    # N*S = 50, 80, 90 (sum 220); 60*N*S/220 = 13.64, 21.82, 24.55 -> 13, 21, 24 + 2 largest remainders
    assert S.neyman_allocation(N, Sd, 60).tolist() == [14, 22, 24]
    # minimum 16: unit 1 fixed at 16, 44 shared 80:90 = 20.71, 23.29 -> 21, 23
    assert S.neyman_allocation(N, Sd, 60, minimum=16).tolist() == [16, 21, 23]
    # cap: unit 1's quota 18.2 > N = 10, fixed at 10, the rest to unit 2
    assert S.neyman_allocation(pd.Series([10, 100]), pd.Series([1.0, 0.01]), 20).tolist() == [10, 10]


def test_neyman_follows_the_formula():
    rng = np.random.default_rng(4)
    for _ in range(50):
        N = pd.Series(rng.integers(50, 500, size=9))
        Sd = pd.Series(rng.uniform(0.1, 0.5, size=9))
        total = int(rng.integers(20, 200))
        n = S.neyman_allocation(N, Sd, total)
        exact = total * N * Sd / (N * Sd).sum()
        assert n.sum() == total
        assert np.all(np.abs(n - exact) < 1)
        assert np.all(n <= N)


def test_neyman_bounds_are_errors_when_impossible():
    with pytest.raises(DesignError):
        S.neyman_allocation(pd.Series([3, 4]), pd.Series([0.5, 0.5]), 8)
    with pytest.raises(DesignError):
        S.neyman_allocation(pd.Series([30, 40]), pd.Series([0.5, 0.5]), 8, minimum=5)


def test_allocate_forms_neyman_from_last_years_share():
    units = pd.DataFrame({"unit": ["A", "B", "C"], "transactions": [100, 200, 300], "p": [0.5, 0.8, 0.9]})
    out = S.allocate_forms(units, method="neyman", total=60, size="transactions", proportion="p", unit="unit")
    # S = 0.5, 0.4, 0.3 as in the hand-computed case
    assert out["forms"].tolist() == [14, 22, 24]
    units["sd"] = [0.5, 0.4, 0.3]
    out2 = S.allocate_forms(units, method="neyman", total=60, size="transactions", sd="sd", unit="unit")
    assert out2["forms"].tolist() == [14, 22, 24]
    with pytest.raises(ConfigError):
        S.allocate_forms(units, method="neyman", total=60, size="transactions", unit="unit")
    units.loc[1, "p"] = 1.3
    with pytest.raises(InputError) as e:
        S.allocate_forms(units, method="neyman", total=60, size="transactions", proportion="p", unit="unit")
    assert e.value.row == 3 and e.value.column == "p"


#: Seed 002's appendix, as printed (Thuận Nam 2023).
SEED_002 = [("01", "Bộ phận “Một cửa” huyện", 70), ("02", "Xã Phước Nam", 50), ("03", "Xã Phước Ninh", 50),
            ("04", "Xã Phước Minh", 50), ("05", "Xã Cà Ná", 50), ("06", "Xã Phước Diêm", 50),
            ("07", "Xã Phước Dinh", 50), ("08", "Xã Nhị Hà", 50), ("09", "Xã Phước Hà", 50)]


def test_fixed_allocation_reproduces_seed_002s_470_forms():
    units = pd.DataFrame({"unit": [n for _, n, _ in SEED_002]})
    out = S.allocate_forms(units, method="fixed", per_unit=50, overrides={"Bộ phận “Một cửa” huyện": 70},
                           unit="unit")
    table = S.allocation_thuannam_2023()
    assert out["forms"].tolist() == table["forms"].tolist() == [f for _, _, f in SEED_002]
    assert out["forms"].sum() == 470 and len(table) == 9
    assert table["level"].tolist() == ["district"] + ["commune"] * 8
    annex = S.service_allocation_annex(table)
    assert list(annex.columns) == ["Stt", "Tên đơn vị", "Số lượng phiếu", "Ghi chú"]
    assert [tuple(r) for r in annex.iloc[:9, :3].itertuples(index=False)] == SEED_002
    assert annex.iloc[-1].tolist() == ["", "Tổng cộng", 470, ""]


def test_allocation_annex_xlsx_holds_values_not_formulas():
    from openpyxl import load_workbook

    annex = S.service_allocation_annex(S.allocation_thuannam_2023())
    data = S.service_annex_xlsx_bytes(annex, kind="allocation", year=2023)
    assert data == S.service_annex_xlsx_bytes(annex, kind="allocation", year=2023)
    ws = load_workbook(io.BytesIO(data)).worksheets[0]
    assert ws.cell(2, 1).value == "PHÂN BỐ PHIẾU KHẢO SÁT SỰ HÀI LÒNG CỦA NGƯỜI DÂN NĂM 2023"
    cells = [c.value for row in ws.iter_rows() for c in row]
    assert 470 in cells and not any(isinstance(v, str) and v.startswith("=") for v in cells)


# --------------------------------------------------------------------------------------------------- frames

def write_csv(path: Path, rows: list[list[str]]) -> Path:
    path.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    return path


UNITS = [["unit_id", "unit", "level", "parent_unit"], ["H", "Bộ phận một cửa huyện", "district", ""],
         ["X1", "Xã Phước Nam", "xã", "H"], ["X2", "Xã Cà Ná", "commune", "H"]]


def test_unit_frame_reads_and_checks(tmp_path):
    units = S.read_unit_frame(write_csv(tmp_path / "units.csv", UNITS))
    assert units["level"].tolist() == ["district", "commune", "commune"]
    cases = [
        ([UNITS[0][:3]] + [r[:3] for r in UNITS[1:]], 1, "parent_unit", "lacks"),
        (UNITS[:2] + [["X1", "Xã Phước Nam", "thôn", "H"]], 3, "level", "unknown level"),
        (UNITS + [["X1", "Xã Khác", "commune", "H"]], 5, "unit_id", "duplicate unit id"),
        (UNITS + [["X3", "Xã Nhị Hà", "commune", "Q"]], 5, "parent_unit", "not a unit_id"),
    ]
    for i, (rows, row, column, text) in enumerate(cases):
        p = write_csv(tmp_path / f"bad{i}.csv", rows)
        with pytest.raises(InputError) as e:
            S.read_unit_frame(p)
        assert (e.value.file, e.value.row, e.value.column) == (str(p), row, column), e.value
        assert text in str(e.value)


TX = [["transaction_id", "unit", "procedure_field", "returned_on", "applicant_type", "applicant_id",
       "applicant_name", "phone", "address"],
      ["T1", "H", "Đất đai", "2023-07-01", "cá nhân", "c1", "Nguyễn Văn A", "0912345678", "Thôn 1"],
      ["T2", "Xã Cà Ná", "Hộ tịch", "15/08/2023", "Tổ chức", "c2", "Công ty B", "0258 3333 444", "Cà Ná"],
      ["T3", "X1", "Hộ tịch", "2023-09-30 10:15:00", "person", "c3", "Trần Thị C", "", ""]]


def test_transactions_read_dates_types_and_units(tmp_path):
    units = S.read_unit_frame(write_csv(tmp_path / "units.csv", UNITS))
    tx = S.read_transactions(write_csv(tmp_path / "tx.csv", TX), units=units)
    assert tx["unit"].tolist() == ["H", "X2", "X1"]
    assert tx["returned_on"].dt.strftime("%Y-%m-%d").tolist() == ["2023-07-01", "2023-08-15", "2023-09-30"]
    assert tx["applicant_type"].tolist() == ["person", "organisation", "person"]


def test_a_unit_name_shared_by_two_units_must_be_given_by_id(tmp_path):
    rows = UNITS + [["D2", "Huyện khác", "district", ""], ["Y1", "Xã Cà Ná", "commune", "D2"]]
    units = S.read_unit_frame(write_csv(tmp_path / "units.csv", rows))
    assert len(units) == 5
    p = write_csv(tmp_path / "tx.csv", TX)
    with pytest.raises(InputError) as e:
        S.read_transactions(p, units=units)
    assert (e.value.row, e.value.column) == (3, "unit") and "X2, Y1" in str(e.value)
    ok = [list(r) for r in TX]
    ok[2][1] = "Y1"
    assert S.read_transactions(write_csv(tmp_path / "tx2.csv", ok), units=units)["unit"].tolist() == ["H", "Y1", "X1"]


def test_transactions_from_xlsx_with_excel_dates(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(TX[0][:6])
    ws.append(["T1", "H", "Đất đai", dt.datetime(2023, 7, 1, 9, 30), "cá nhân", "c1"])
    ws.append(["T2", "H", "Đất đai", 45153, "cá nhân", "c2"])  # serial day 45153 = 15/08/2023
    ws.append(["T3", "H", "Đất đai", "30/09/2023", "cá nhân", "c3"])
    p = tmp_path / "tx.xlsx"
    wb.save(p)
    tx = S.read_transactions(p)
    assert tx["returned_on"].dt.strftime("%Y-%m-%d").tolist() == ["2023-07-01", "2023-08-15", "2023-09-30"]


@pytest.mark.parametrize("edit, row, column, text", [
    (lambda r: [r[0][:3] + r[0][4:]] + [x[:3] + x[4:] for x in r[1:]], 1, "returned_on", "lacks"),
    (lambda r: r[:2] + [r[2][:3] + ["31/02/2023"] + r[2][4:]] + r[3:], 3, "returned_on", "not a date"),
    (lambda r: r[:3] + [["T3", "Xã Không Có", *r[3][2:]]], 4, "unit", "not in the unit frame"),
    (lambda r: r + [["T2", "H", "Đất đai", "2023-07-02", "person", "c9", "", "", ""]], 5, "transaction_id",
     "duplicate transaction id"),
    (lambda r: r[:2] + [r[2][:4] + ["hộ gia đình"] + r[2][5:]] + r[3:], 3, "applicant_type", "unknown applicant"),
    (lambda r: r[:2] + [r[2][:5] + [""] + r[2][6:]] + r[3:], 3, "applicant_id", "empty value"),
])
def test_transaction_errors_name_file_row_and_column(tmp_path, edit, row, column, text):
    units = S.read_unit_frame(write_csv(tmp_path / "units.csv", UNITS))
    p = write_csv(tmp_path / "tx.csv", edit([list(r) for r in TX]))
    with pytest.raises(InputError) as e:
        S.read_transactions(p, units=units)
    assert (e.value.file, e.value.row, e.value.column) == (str(p), row, column), e.value
    assert text in str(e.value)


def test_personal_columns_are_split_off(tmp_path):
    tx = S.read_transactions(write_csv(tmp_path / "tx.csv", TX))
    tx["Số điện thoại"] = "0912"
    tx["procedure_name"] = "Cấp giấy"
    public, restricted = S.split_personal_columns(tx)
    assert list(restricted.columns) == ["transaction_id", "applicant_name", "phone", "address", "Số điện thoại"]
    assert not set(public.columns) & {"applicant_name", "phone", "address", "Số điện thoại"}
    assert {"transaction_id", "unit", "procedure_field", "returned_on", "applicant_id",
            "procedure_name"} <= set(public.columns)
    assert "Nguyễn Văn A" not in public.to_csv(index=False) and "0912345678" not in public.to_csv(index=False)
    with pytest.raises(InputError):
        S.split_personal_columns(tx, key="phone")


# ------------------------------------------------------------------------------- substitutions and the list

def test_substitutions_take_the_reserve_in_order_within_the_unit():
    tx = tx_log({"A": 60, "B": 60})
    sel = S.select_transactions(tx, allocation=alloc(A=4, B=4), window=WINDOW, seed=11)
    off_a = sel[(sel["unit"] == "A") & (sel["list"] == "official")]["transaction_id"].tolist()
    res_a = sel[(sel["unit"] == "A") & (sel["list"] == "reserve")]["transaction_id"].tolist()
    off_b = sel[(sel["unit"] == "B") & (sel["list"] == "official")]["transaction_id"].tolist()
    outcomes = pd.DataFrame({"transaction_id": [off_a[2], off_a[0], off_a[1], res_a[0], off_b[3]],
                             "outcome": ["not_reachable", "Từ chối", "responded", "refused", "wrong_address"]})
    log = S.transaction_substitutions(sel, outcomes=outcomes)
    assert list(log.columns) == list(S.TRANSACTION_SUBSTITUTION_COLUMNS)
    assert log[["unit", "replaces_id", "substitute_id", "reason"]].values.tolist() == [
        ["A", off_a[0], res_a[1], "refused"], ["A", off_a[2], res_a[2], "not_reachable"],
        ["B", off_b[3], sel[(sel["unit"] == "B") & (sel["list"] == "reserve")]["transaction_id"].iloc[0],
         "wrong_address"]]
    assert log["reserve_position"].tolist() == [2, 3, 1]
    bad = pd.DataFrame({"transaction_id": [off_a[0], "nope"], "outcome": ["refused", "refused"]})
    with pytest.raises(InputError) as e:
        S.transaction_substitutions(sel, outcomes=bad, outcomes_path="log.csv")
    assert (e.value.file, e.value.row, e.value.column) == ("log.csv", 3, "transaction_id")


def test_informant_list_joins_the_restricted_frame(tmp_path):
    units = S.read_unit_frame(write_csv(tmp_path / "units.csv", UNITS))
    tx = S.read_transactions(write_csv(tmp_path / "tx.csv", TX), units=units)
    public, restricted = S.split_personal_columns(tx)
    sel = S.select_transactions(public, allocation=pd.DataFrame({"unit": ["H", "X2"], "forms": [1, 1]}),
                                window=WINDOW, seed=1)
    lst = S.informant_list(sel, restricted, units=units)
    assert list(lst.columns) == list(S.service_annex_columns("informants"))
    assert lst[["Địa điểm khảo sát", "Họ và tên tổ chức/cá nhân", "Số điện thoại", "Địa chỉ"]].values.tolist() == [
        ["Bộ phận một cửa huyện", "Nguyễn Văn A", "0912345678", "Thôn 1"],
        ["Xã Cà Ná", "Công ty B", "0258 3333 444", "Cà Ná"]]
    assert set(lst["Ký tên"]) == {""} and set(lst["Danh sách"]) == {"Chính thức"}
    assert "applicant_id" not in sel.columns
    assert S.service_annex_xlsx_bytes(lst, kind="informants", year=2023)[:2] == b"PK"
    # in an English survey the same list with the words of labels.annexes in English, the names as they are
    en = S.informant_list(sel, restricted, units=units, lang="en")
    assert list(en.columns) == list(S.service_annex_columns("informants", lang="en"))
    assert en.iloc[:, 1:].values.tolist() == [[r[0], "Official", *r[2:]] for r in lst.iloc[:, 1:].values.tolist()]


# ------------------------------------------------------------------------- exit mode: the desks' blank list

def _exit_sheets(data: bytes):
    from openpyxl import load_workbook

    return load_workbook(io.BytesIO(data)).worksheets


def _numbered_rows(ws) -> list[tuple]:
    """The list's rows: from below the header to the last row numbered in column A."""
    rows = []
    for row in ws.iter_rows(min_row=S.EXIT_LIST_HEADER_ROW + 1, values_only=True):
        if not isinstance(row[0], int):
            break
        rows.append(row[:len(S.EXIT_LIST_COLUMNS)])
    return rows


def test_exit_list_is_seed_002s_list_blank_with_a_row_per_allocated_form():
    from sipas.text.labels import label_set

    table = S.allocation_thuannam_2023()
    data = S.exit_list_xlsx_bytes(table, year=2023)
    assert data == S.exit_list_xlsx_bytes(table, year=2023)            # same inputs, same bytes
    lab = label_set("exit_list")
    # seed 002's list: its title, location line, columns and signatures (the labels are data)
    assert [lab["columns"][k] for k in S.EXIT_LIST_COLUMNS] == ["Stt", "Họ và tên tổ chức/cá nhân", "Địa chỉ",
                                                                "Số điện thoại", "Ký tên"]
    sheets = _exit_sheets(data)
    assert len(sheets) == len(table) == 9
    for ws, (name, forms) in zip(sheets, zip(table["unit"], table["forms"])):
        assert ws.cell(1, 1).value == "DANH SÁCH NGƯỜI CUNG CẤP THÔNG TIN KHẢO SÁT SỰ HÀI LÒNG NĂM 2023"
        assert ws.cell(2, 1).value == lab["place"].format(unit=name) == f"Địa điểm khảo sát: {name}"
        assert ws.cell(3, 1).value == lab["forms"].format(forms=forms)
        assert ws.cell(4, 1).value == lab["note"]
        header = [c.value for c in ws[S.EXIT_LIST_HEADER_ROW]][:len(S.EXIT_LIST_COLUMNS)]
        assert header == [lab["columns"][k] for k in S.EXIT_LIST_COLUMNS]
        rows = _numbered_rows(ws)
        assert [r[0] for r in rows] == list(range(1, forms + 1))          # row count = the unit's allocation
        assert all(v is None for r in rows for v in r[1:])                # blank: no personal data
        below = [c.value for row in ws.iter_rows(min_row=S.EXIT_LIST_HEADER_ROW + forms + 1) for c in row
                 if c.value is not None]
        assert below == [lab["interviewer"], lab["head"], lab["interviewer_sign"], lab["head_sign"], lab["contact"]]
        assert ws.print_title_rows == f"${S.EXIT_LIST_HEADER_ROW}:${S.EXIT_LIST_HEADER_ROW}"
    assert sum(len(_numbered_rows(ws)) for ws in sheets) == 470
    en = _exit_sheets(S.exit_list_xlsx_bytes(table, year=2023, lang="en"))[0]
    assert en.cell(2, 1).value.startswith("Survey location: ") and en.cell(S.EXIT_LIST_HEADER_ROW, 5).value == "Signature"


def test_exit_list_holds_values_never_formulas():
    import zipfile

    hostile = ['=HYPERLINK("http://evil.example","x")', "+84 Xã A", "-Xã B", "@SUM(A1)", "Xã [C]: a/b?*\\",
               "Xã có một cái tên rất dài quá ba mươi mốt ký tự A", "Xã có một cái tên rất dài quá ba mươi mốt ký tự B",
               "Xã không phiếu"]
    table = pd.DataFrame({"unit": hostile, "forms": [2, 2, 2, 2, 2, 2, 2, 0]})
    data = S.exit_list_xlsx_bytes(table, year=2023)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        xml = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))
    assert "<f>" not in xml and "<f " not in xml                         # no formula anywhere
    sheets = _exit_sheets(data)
    assert len(sheets) == 7                                               # the unit without forms has no sheet
    titles = [ws.title for ws in sheets]
    assert len(set(t.casefold() for t in titles)) == 7 and all(len(t) <= 31 for t in titles)
    assert not any(ch in t for t in titles for ch in "[]:*?/\\")
    for ws, name in zip(sheets, hostile):
        assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
        assert ws.cell(2, 1).value == f"Địa điểm khảo sát: {name}"        # the name as text, whole
        assert len(_numbered_rows(ws)) == 2


def test_sample_writes_the_exit_list_beside_the_allocation_annex(tmp_path_factory):
    from conftest import raw_copy_root

    from sipas.cli import main

    root = raw_copy_root(tmp_path_factory, "exit-list", ("demo-thuannam-2023", "demo-hue-2019"))
    assert main(["--root", str(root), "sample", "--survey", "demo-thuannam-2023"]) == 0
    out = root / "data/processed/demo-thuannam-2023/sample"
    path = out / S.EXIT_LIST_FILE
    assert (out / "phu_luc_phan_bo_phieu.xlsx").is_file() and path.is_file()
    assert not (root / "restricted" / "demo-thuannam-2023" / S.EXIT_LIST_FILE).exists()
    from sipas import io as sio

    alloc = sio.read_csv(out / "allocation.csv")
    sheets = _exit_sheets(path.read_bytes())
    assert [ws.cell(2, 1).value for ws in sheets] == [f"Địa điểm khảo sát: {u}" for u in alloc["unit"]]
    assert [len(_numbered_rows(ws)) for ws in sheets] == alloc["forms"].astype(int).tolist()
    first = path.read_bytes()
    assert main(["--root", str(root), "sample", "--survey", "demo-thuannam-2023"]) == 0
    assert path.read_bytes() == first                                     # deterministic
    # list mode prints the list with names (restricted) and no blank one
    assert main(["--root", str(root), "sample", "--survey", "demo-hue-2019"]) == 0
    assert not (root / "data/processed/demo-hue-2019/sample" / S.EXIT_LIST_FILE).exists()

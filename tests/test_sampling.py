"""Tests of sipas.sampling: Vietnamese order, seed 000's rules and fallbacks, household draws,
probabilities, designs, allocation and annexes.  All frames are built by hand here."""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd
import pytest

from sipas import sampling as S
from sipas.errors import DesignError, InputError


def nfd(s: str) -> str:
    return unicodedata.normalize("NFD", s)


# ----------------------------------------------------------------------------- Vietnamese order

def test_letters_with_diacritics_follow_the_vietnamese_alphabet():
    names = ["Ư", "U", "Ơ", "Ô", "O", "Đa", "Da", "Bê", "Ân", "Ăn", "An"]
    assert S.vi_sorted(names) == ["An", "Ăn", "Ân", "Bê", "Da", "Đa", "O", "Ô", "Ơ", "U", "Ư"]
    # Python's code-point order is wrong for Vietnamese (Đ, Ơ, Ư come after Z)
    assert sorted(names) != S.vi_sorted(names)


def test_nfd_input_sorts_and_compares_as_nfc():
    names = ["Xã Ư Lốc", "Xã Ăn Khê", "Xã Đông Phong", "Xã An Bình"]
    out = S.vi_sorted([nfd(n) for n in names])
    assert out == ["Xã An Bình", "Xã Ăn Khê", "Xã Đông Phong", "Xã Ư Lốc"]
    assert all(unicodedata.is_normalized("NFC", n) for n in out)
    assert S.vi_sort_key(nfd("Bản Nậm Tăm")) == S.vi_sort_key("Bản Nậm Tăm")


def test_unit_prefixes_are_left_out_of_the_sort_key():
    names = ["Xã Cát", "Thị trấn Bình", "Phường An", "Đặc khu Bạch Long Vĩ"]
    assert S.vi_sorted(names) == ["Phường An", "Đặc khu Bạch Long Vĩ", "Thị trấn Bình", "Xã Cát"]
    assert S.strip_unit_prefix("Tổ dân phố số 3") == "số 3"
    assert S.strip_unit_prefix("Bản") == "Bản"


def test_numbered_units_in_natural_order_before_named_units():
    names = ["Tổ dân phố số 10", "Bản Ẳng", "Tổ dân phố số 2", "Tổ dân phố số 1"]
    assert S.vi_sorted(names) == ["Tổ dân phố số 1", "Tổ dân phố số 2", "Tổ dân phố số 10", "Bản Ẳng"]


def test_same_core_name_is_ordered_independently_of_input_order():
    a = S.vi_sorted(["Xã Tân Phong", "Phường Tân Phong"])
    b = S.vi_sorted(["Phường Tân Phong", "Xã Tân Phong"])
    assert a == b


# ----------------------------------------------------------------------------- communes

def communes_frame() -> pd.DataFrame:
    rows = [
        # a city with 3 classes; centre is class I
        ("Thành phố A", "Phường Đông", "I", 1), ("Thành phố A", "Phường Ăn", "I", 0),
        ("Thành phố A", "Phường Bắc", "II", 0), ("Thành phố A", "Xã Âu", "II", 0), ("Thành phố A", "Xã Cờ", "II", 0),
        ("Thành phố A", "Xã Ơn", "III", 0), ("Thành phố A", "Xã Ô", "III", 0),
        # a district with 2 classes; centre (class II) left out of its list
        ("Huyện B", "Thị trấn Bình", "II", 1), ("Huyện B", "Xã Ư", "II", 0), ("Huyện B", "Xã U", "II", 0),
        ("Huyện B", "Xã Dê", "II", 0), ("Huyện B", "Xã Đê", "I", 0), ("Huyện B", "Xã Ê", "I", 0),
        ("Huyện B", "Xã E", "I", 0),
        # a district with a one-unit list
        ("Huyện C", "Thị trấn Chè", "II", 1), ("Huyện C", "Xã Một", "I", 0), ("Huyện C", "Xã Hai", "II", 0),
        ("Huyện C", "Xã Ba", "II", 0),
    ]
    return pd.DataFrame(rows, columns=["district", "commune", "commune_class", "is_admin_centre"])


def picks(sel: pd.DataFrame, district: str) -> list[tuple[str, str]]:
    d = sel[sel["district"] == district]
    return list(zip(d["commune"], d["reason"]))


def test_three_class_district_uses_the_two_lists_without_the_centre():
    sel = S.select_communes(communes_frame())
    # II list: Âu, Bắc, Cờ (Phường Bắc sorts as "Bắc") -> 2nd = Bắc; III list: Ô, Ơn -> 2nd = Ơn
    assert picks(sel, "Thành phố A") == [("Phường Đông", "admin_centre"), ("Phường Bắc", "second_in_class_list"),
                                         ("Xã Ơn", "second_in_class_list")]


def test_two_class_district_uses_every_list_centre_left_out_and_also_last():
    sel = S.select_communes(communes_frame())
    # I: Đê, E, Ê -> wait E < Ê < Đ? no: D < Đ < E < Ê, so Đê, E, Ê -> 2nd E; II: Dê, U, Ư -> 2nd U
    assert picks(sel, "Huyện B") == [("Thị trấn Bình", "admin_centre"), ("Xã E", "second_in_class_list"),
                                     ("Xã U", "second_in_class_list")]
    sel2 = S.select_communes(communes_frame(), also_last=["Huyện B"])
    assert picks(sel2, "Huyện B") == [("Thị trấn Bình", "admin_centre"), ("Xã E", "second_in_class_list"),
                                      ("Xã Ê", "last_in_class_list"), ("Xã U", "second_in_class_list"),
                                      ("Xã Ư", "last_in_class_list")]
    assert len(sel2[sel2["district"] == "Huyện B"]) == 5


def test_one_unit_list_gives_that_unit_and_two_unit_list_its_second():
    sel = S.select_communes(communes_frame(), also_last=["Huyện C"])
    assert picks(sel, "Huyện C") == [("Thị trấn Chè", "admin_centre"), ("Xã Một", "only_unit_in_class_list"),
                                     ("Xã Hai", "second_in_class_list")]


def test_nfd_frame_gives_the_same_selection():
    f = communes_frame()
    g = f.assign(district=f["district"].map(nfd), commune=f["commune"].map(nfd))
    pd.testing.assert_frame_equal(S.select_communes(f, also_last=["Huyện B"]),
                                  S.select_communes(g, also_last=[nfd("Huyện B")]))


def test_commune_errors_are_typed():
    f = communes_frame()
    with pytest.raises(InputError, match="commune_class"):
        S.select_communes(f.drop(columns="commune_class"))
    two = f.copy()
    two.loc[1, "is_admin_centre"] = 1
    with pytest.raises(InputError, match="2 administrative centres"):
        S.select_communes(two)
    dup = pd.concat([f, f.iloc[[3]]], ignore_index=True)
    with pytest.raises(InputError) as ei:
        S.select_communes(dup)
    assert ei.value.row == len(dup) + 1 and ei.value.column == "commune"


# ----------------------------------------------------------------------------- villages

def villages_frame(names: list[str], office: int | None, commune: str = "Xã X") -> pd.DataFrame:
    return pd.DataFrame({"district": "Huyện H", "commune": commune, "village": names,
                         "has_commune_hq": [int(i == office) for i in range(len(names))]})


def vpicks(sel: pd.DataFrame) -> list[tuple[str, str]]:
    return list(zip(sel["village"], sel["reason"]))


def test_office_village_plus_second_and_last():
    names = ["Bản Ư", "Bản A", "Bản Ă", "Bản Đ", "Bản D"]  # order: A, Ă, D, Đ, Ư
    sel = S.select_villages(villages_frame(names, office=3))  # office = Bản Đ (4th)
    assert vpicks(sel) == [("Bản Đ", "commune_office"), ("Bản Ă", "second_in_list"), ("Bản Ư", "last_in_list")]


def test_office_in_second_place_takes_the_third():
    names = [f"Tổ dân phố số {i}" for i in (10, 2, 1, 3)]  # order 1, 2, 3, 10
    sel = S.select_villages(villages_frame(names, office=1))  # office = số 2
    assert vpicks(sel) == [("Tổ dân phố số 2", "commune_office"),
                           ("Tổ dân phố số 3", "third_in_list_office_is_second"),
                           ("Tổ dân phố số 10", "last_in_list")]


def test_office_in_last_place_takes_the_one_before():
    names = ["Bản A", "Bản B", "Bản C", "Bản Ơ"]
    sel = S.select_villages(villages_frame(names, office=3))
    assert vpicks(sel) == [("Bản Ơ", "commune_office"), ("Bản B", "second_in_list"),
                           ("Bản C", "before_last_office_is_last")]


@pytest.mark.parametrize("office", [1, 2])
def test_three_village_commune_takes_all_three(office):
    sel = S.select_villages(villages_frame(["Bản A", "Bản B", "Bản C"], office=office))
    assert sorted(sel["village"]) == ["Bản A", "Bản B", "Bản C"]
    assert "fill_first_unused" in set(sel["reason"])


def test_short_lists_and_missing_office():
    assert vpicks(S.select_villages(villages_frame(["Bản A"], office=0))) == [("Bản A", "commune_office")]
    assert sorted(S.select_villages(villages_frame(["Bản A", "Bản B"], office=0))["village"]) == ["Bản A", "Bản B"]
    sel = S.select_villages(villages_frame(["Bản A", "Bản B", "Bản C", "Bản D"], office=None))
    assert vpicks(sel) == [("Bản B", "second_in_list"), ("Bản D", "last_in_list"), ("Bản A", "fill_first_unused")]


def test_two_offices_is_an_input_error():
    f = villages_frame(["Bản A", "Bản B", "Bản C"], office=0)
    f.loc[1, "has_commune_hq"] = 1
    with pytest.raises(InputError, match="has_commune_hq"):
        S.select_villages(f)


# ----------------------------------------------------------------------------- households

def households_frame(sizes: dict[str, dict[str, int]], commune: str = "Xã X") -> pd.DataFrame:
    rows = []
    for v, hamlets in sizes.items():
        for h, n in hamlets.items():
            rows += [("Huyện H", commune, v, h, f"{v}|{h}|{i}") for i in range(n)]
    return pd.DataFrame(rows, columns=["district", "commune", "village", "hamlet", "household_id"])


SIZES = {
    "Bản A": {"Xóm 1": 50, "Xóm 2": 7, "Xóm 3": 1},   # tiny hamlet: at least one, never more than it has
    "Bản B": {"Xóm 1": 12, "Xóm 2": 6},               # under 30: takes all, topped up
    "Bản C": {"Xóm 1": 40},                           # a neighbour, itself selected
    "Bản D": {"Xóm 1": 25},                           # a neighbour, not selected
}


def nb_frame() -> pd.DataFrame:
    return pd.DataFrame({"district": "Huyện H", "commune": "Xã X", "village": ["Bản A", "Bản B", "Bản C", "Bản D"],
                         "neighbour_order": [1, 2, 3, 4], "households": [58, 18, 40, 25]})


def selected_v() -> pd.DataFrame:
    return pd.DataFrame({"district": "Huyện H", "commune": "Xã X", "village": ["Bản A", "Bản B", "Bản C"],
                         "reason": ["commune_office", "second_in_list", "last_in_list"]})


def draw(seed: int = 7) -> pd.DataFrame:
    return S.select_households(households_frame(SIZES), selected_v(), per_village=30, seed=seed,
                               neighbours=nb_frame())


def test_thirty_per_village_every_hamlet_represented():
    hh = draw()
    assert hh.groupby("sample_village").size().to_dict() == {"Bản A": 30, "Bản B": 30, "Bản C": 30}
    a = hh[hh["sample_village"] == "Bản A"]
    assert set(a["hamlet"]) == {"Xóm 1", "Xóm 2", "Xóm 3"}
    assert (hh["hh_sampling_prob"] <= 1).all()
    assert not hh["household_id"].duplicated().any()


def test_short_village_takes_all_and_is_topped_up_from_a_non_selected_neighbour():
    b = draw()[lambda d: d["sample_village"] == "Bản B"]
    assert (b["role"] == "all_households").sum() == 18
    top = b[b["role"] == "top_up_from_neighbour"]
    assert len(top) == 12 and set(top["village"]) == {"Bản D"}  # Bản C is selected: skipped
    assert np.allclose(top["hh_sampling_prob"], 12 / 25)


def test_same_seed_same_list_other_seed_other_list():
    pd.testing.assert_frame_equal(draw(7), draw(7))
    assert list(draw(7)["household_id"]) != list(draw(8)["household_id"])


def test_nfd_household_frame_gives_the_same_draw():
    f = households_frame(SIZES)
    g = f.assign(village=f["village"].map(nfd), hamlet=f["hamlet"].map(nfd))
    a = S.select_households(f, selected_v(), seed=3, neighbours=nb_frame())
    b = S.select_households(g, selected_v(), seed=3, neighbours=nb_frame())
    assert list(a["household_id"]) == list(b["household_id"])


def test_reserve_has_equal_size_is_disjoint_and_leaves_official_unchanged():
    hh_frame = households_frame(SIZES)
    off = draw(7)
    res = S.select_reserve(hh_frame, selected_v(), off, per_village=30, seed=7, neighbours=nb_frame())
    assert res.groupby("sample_village").size().to_dict() == {"Bản A": 30, "Bản B": 11, "Bản C": 10}
    # Bản A: 28 of its own left + 2 from Bản D (25 - 12 used by the official top-up = 13 left);
    # Bản B: none of its own left, the other 11 of Bản D; Bản C: its 10 left, no neighbour has any
    assert not set(res["household_id"]) & set(off["household_id"])
    assert not res["household_id"].duplicated().any()
    assert list(res.groupby("sample_village")["reserve_rank"].max()) == [30, 11, 10]
    big = households_frame({"Bản A": {"Xóm 1": 100, "Xóm 2": 40}})
    sv = selected_v().iloc[[0]]
    o = S.select_households(big, sv, seed=1)
    r = S.select_reserve(big, sv, o, seed=1)
    assert len(r) == 30 and set(r["hamlet"]) == {"Xóm 1", "Xóm 2"} and set(r["role"]) == {"reserve"}


def test_systematic_indices_probability_is_k_over_n():
    rng = np.random.default_rng(0)
    counts = np.zeros(7)
    for _ in range(20000):
        counts[S.systematic_indices(7, 3, rng=rng)] += 1
    assert np.allclose(counts / 20000, 3 / 7, atol=0.015)
    assert len(S.systematic_indices(5, 0, rng=rng)) == 0
    assert list(S.systematic_indices(3, 5, rng=rng)) == [0, 1, 2]


def test_allocation_never_exceeds_hamlet_size():
    sizes = pd.Series({"a": 50, "b": 7, "c": 1})
    al = S.allocate_largest_remainder(sizes, 30, minimum=1, capacity=sizes)
    assert al.sum() == 30 and (al <= sizes).all() and (al >= 1).all()


# ----------------------------------------------------------------------------- probabilities

def test_inclusion_probabilities_follow_the_documented_convention():
    communes = pd.DataFrame({"district": "Huyện H", "commune": ["Thị trấn T", "Xã X", "Xã Y", "Xã Z"],
                             "commune_class": ["II", "I", "I", "I"], "is_admin_centre": [1, 0, 0, 0]})
    vil = pd.concat([nb_frame(), pd.DataFrame({"district": "Huyện H", "commune": ["Thị trấn T", "Xã Y", "Xã Z"],
                                                "village": "Bản Q", "neighbour_order": 1,
                                                "households": [100, 41, 42]})], ignore_index=True)
    sc = S.select_communes(communes)
    assert list(sc["commune"]) == ["Thị trấn T", "Xã Y"]
    sv = selected_v()
    sh = draw()
    # make the household sample stand in Xã Y (the selected one)
    sc2 = pd.DataFrame({"district": "Huyện H", "commune": ["Xã X"], "commune_class": ["I"],
                        "reason": ["second_in_class_list"]})
    p = S.inclusion_probabilities(communes, vil, sc2, sv, sh)
    m_list = 141 + 41 + 42
    assert np.allclose(p["pi_commune"], 141 / m_list)
    pa = p[sh["sample_village"].to_numpy() == "Bản A"]
    pb = p[sh["sample_village"].to_numpy() == "Bản B"]
    assert (pa["pi_village"] == 1).all() and pa["village_certainty"].all()
    assert np.allclose(pb["pi_village"], 2 * 18 / (18 + 40 + 25))
    assert np.allclose(p["pi"], p["pi_commune"] * p["pi_village"] * p["pi_household"])
    c, v = S.stage_probabilities(communes, vil, sc2, sv)
    assert np.allclose(c["pi_commune"], 141 / m_list)
    assert np.allclose(v["pi_commune_village"], v["pi_village"] * 141 / m_list)
    c1, _ = S.stage_probabilities(communes, vil, sc, sv.iloc[:0])
    assert c1["pi_commune"].iloc[0] == 1.0 and c1["commune_certainty"].iloc[0]


def test_pps_systematic_probabilities_and_certainty():
    f = pd.DataFrame({"u": list("abcdefgh"), "x": [400, 10, 20, 30, 40, 50, 60, 70]})
    s = S.pps_systematic(f, size="x", n=3, seed=1)
    assert len(s) == 3 and s.loc[s["u"] == "a", "certainty"].item()
    pi_expected = 2 * f["x"].iloc[1:] / f["x"].iloc[1:].sum()
    hits = pd.Series(0.0, index=f.index)
    for seed in range(4000):
        hits[S.pps_systematic(f, size="x", n=3, seed=seed).index] += 1
    assert np.allclose((hits / 4000).iloc[1:], pi_expected, atol=0.03)
    with pytest.raises(DesignError):
        S.pps_systematic(f, size="x", n=9, seed=1)


def test_srs_and_stratified_designs():
    f = pd.DataFrame({"commune": [f"Xã {c}" for c in "ABCDEFGHIJ"], "commune_type": ["xã"] * 7 + ["phường"] * 3,
                      "households": range(10, 20)})
    s = S.stratified_select(f, strata="commune_type", n={"xã": 2, "phường": 1}, method="srs", seed=5)
    assert s.groupby("stratum").size().to_dict() == {"phường": 1, "xã": 2}
    assert np.allclose(s.loc[s["stratum"] == "xã", "pi"], 2 / 7)
    pd.testing.assert_frame_equal(s, S.stratified_select(f, strata="commune_type", n={"xã": 2, "phường": 1},
                                                         method="srs", seed=5))
    two = S.select_communes_design(f, design={"design": "pps_systematic", "strata": "commune_type",
                                              "n": {"xã": 3, "phường": 1}}, seed=1)
    assert set(two.columns) >= {"district", "commune", "reason", "pi_commune"} and (two["district"] == "").all()
    assert len(two) == 4


# ----------------------------------------------------------------------------- allocation of forms

def test_seed_002_fixed_allocation_is_470():
    units = pd.DataFrame({"commune": ["Bộ phận “Một cửa” huyện", "Xã Phước Nam", "Xã Phước Ninh", "Xã Phước Minh",
                                      "Xã Cà Ná", "Xã Phước Diêm", "Xã Phước Dinh", "Xã Nhị Hà", "Xã Phước Hà"]})
    al = S.allocate_forms(units, method="fixed", per_unit=50, overrides={nfd("Bộ phận “Một cửa” huyện"): 70})
    assert al["forms"].tolist() == [70] + [50] * 8 and al["forms"].sum() == 470


def test_proportional_and_minimum_plus_proportional_keep_the_total():
    units = pd.DataFrame({"commune": list("abcd"), "households": [1000, 333, 333, 334]})
    p = S.allocate_forms(units, method="proportional", total=100)
    assert p["forms"].sum() == 100 and p["forms"].tolist() == [50, 17, 16, 17]
    m = S.allocate_forms(units, method="minimum_plus_proportional", total=100, minimum=20)
    assert m["forms"].sum() == 100 and (m["forms"] >= 20).all()
    with pytest.raises(DesignError):
        S.allocate_forms(units, method="minimum_plus_proportional", total=10, minimum=20)

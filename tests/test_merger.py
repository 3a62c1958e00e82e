"""The 2025 merger mapping (Resolution 202/2025/QH15) and the mapping of last year's estimates onto it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sipas.errors import EstimationError
from sipas.indices.merger import map_estimates, merger_table, new_provinces


def test_table_63_to_34():
    t = merger_table()
    assert len(t) == 63 and t["province_old"].is_unique and t["old_code"].is_unique
    assert t["province"].nunique() == 34 and len(new_provinces()) == 34
    # a few of the resolution's mergers
    m = dict(zip(t["province_old"], t["province"]))
    assert m["Tỉnh Hà Giang"] == "Tuyên Quang"
    assert m["Tỉnh Bình Dương"] == m["Tỉnh Bà Rịa - Vũng Tàu"] == "Thành phố Hồ Chí Minh"
    assert m["Tỉnh Hậu Giang"] == m["Tỉnh Sóc Trăng"] == "Thành phố Cần Thơ"
    assert m["Tỉnh Lai Châu"] == "Lai Châu"
    assert (t.groupby("province").size() <= 3).all()
    # 11 provinces stayed as they were
    assert (t.groupby("province").size() == 1).sum() == 11


def test_map_estimates_formula():
    prev = pd.DataFrame({"domain": ["Tỉnh Hà Giang", "Tỉnh Tuyên Quang", "Tỉnh Lai Châu"],
                         "estimate": [0.80, 0.86, 0.82], "se": [0.01, 0.02, 0.015], "df": [20.0, 30.0, 25.0],
                         "n": [1000, 1100, 900]})
    w = pd.Series({"Tỉnh Hà Giang": 200_000, "Tỉnh Tuyên Quang": 300_000, "Tỉnh Lai Châu": 100_000})
    out = map_estimates(prev, weights=w).set_index("domain")
    tq = out.loc["Tuyên Quang"]
    assert tq["estimate"] == pytest.approx(0.4 * 0.80 + 0.6 * 0.86)
    assert tq["se"] == pytest.approx(np.sqrt(0.4 ** 2 * 0.01 ** 2 + 0.6 ** 2 * 0.02 ** 2))
    a = np.array([0.4 ** 2 * 0.01 ** 2, 0.6 ** 2 * 0.02 ** 2])
    assert tq["df"] == pytest.approx(a.sum() ** 2 / (a[0] ** 2 / 20 + a[1] ** 2 / 30))
    assert tq["n"] == 2100 and tq["n_merged"] == 2
    lc = out.loc["Lai Châu"]
    assert (lc["estimate"], lc["se"], lc["df"]) == (0.82, 0.015, 25.0)


def test_every_new_province_from_63():
    t = merger_table()
    prev = pd.DataFrame({"domain": t["province_old"], "estimate": np.linspace(0.75, 0.9, 63), "se": 0.01})
    out = map_estimates(prev, weights=pd.Series(1.0, index=t["province_old"]))
    assert sorted(out["domain"]) == sorted(new_provinces())
    assert out["estimate"].notna().all() and (out["se"] > 0).all()


def test_errors():
    t = merger_table()
    prev = pd.DataFrame({"domain": ["Tỉnh Hà Giang"], "estimate": [0.8], "se": [0.01]})
    with pytest.raises(EstimationError, match="Tuyên Quang.*Tỉnh Tuyên Quang"):
        map_estimates(prev, weights=pd.Series(1.0, index=t["province_old"]))
    with pytest.raises(EstimationError, match="Atlantis"):
        map_estimates(prev.assign(domain="Atlantis"), weights=pd.Series(1.0, index=t["province_old"]))
    with pytest.raises(EstimationError, match="household weight"):
        map_estimates(prev, weights=pd.Series({"Tỉnh Hà Giang": 0.0}))

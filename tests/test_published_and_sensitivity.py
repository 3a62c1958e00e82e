"""Published SIPAS values as data, and the rule-sensitivity summary, on hand-made tables."""

import numpy as np
import pandas as pd
import pytest

from sipas.errors import ConfigError
from sipas.indices.published import comparison_values, national_value, published_values
from sipas.indices.sensitivity import rule_sensitivity


def test_published_values_carry_their_source_and_only_verified_ones_are_used():
    t = published_values()
    assert t["verified"].all() and t["url"].str.startswith("http").all()
    row = t[(t["year"] == 2024) & (t["scope"] == "country") & (t["indicator"] == "overall")].iloc[0]
    assert row["value"] == 0.8394 and "vnanet.vn" in row["url"]
    both = published_values(verified_only=False)
    assert set(both.loc[~both["verified"], "year"]) == {2019, 2020}       # from METHODOLOGY only, page not read
    assert national_value(2019) is None and national_value(2023)["value"] == 0.8266
    c = comparison_values(year=2024, province="Tỉnh Lai Châu")
    assert set(c["year"]) == {2023, 2024} and (c["province"] == "Tỉnh Lai Châu").sum() == 1
    assert "Tỉnh Lai Châu" not in set(comparison_values(year=2024, province="Tỉnh Lai Châu (mô phỏng)")["province"])


@pytest.mark.parametrize("entry, key", [
    ("{year: 2024, scope: country, indicator: overall, value: 83.94, verified: true, url: x}", "values[0].value"),
    ("{year: 2024, scope: country, indicator: median, value: 0.8, verified: true, url: x}", "values[0].indicator"),
    ("{year: 2024, scope: province, indicator: overall, value: 0.8, verified: true, url: x}", "values[0]"),
    ("{year: 2024, scope: country, indicator: overall, value: 0.8, url: x}", "values[0]"),
])
def test_malformed_published_file_names_the_entry(tmp_path, entry, key):
    p = tmp_path / "published.yml"
    p.write_text(f"values:\n  - {entry}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        published_values(path=p)
    assert e.value.key == key and str(p) in str(e.value)


def _sens():
    # three units; rule "b" swaps the order of u1 and u2 and moves u3 by 0.05
    rows = []
    for rule, prov, units in (("a", 0.80, {"u1": 0.90, "u2": 0.85, "u3": 0.70}),
                              ("b", 0.82, {"u1": 0.84, "u2": 0.86, "u3": 0.75}),
                              ("c", 0.80, {"u1": 0.90, "u2": np.nan, "u3": 0.70})):
        rows.append({"rule": rule, "domain_type": "province", "domain": "P", "level": "overall", "id": "overall",
                     "estimate": prov, "se": 0.01, "ci_low": prov - 0.02, "ci_high": prov + 0.02})
        rows += [{"rule": rule, "domain_type": "district", "domain": u, "level": "overall", "id": "overall",
                  "estimate": v, "se": 0.02, "ci_low": v - 0.04, "ci_high": v + 0.04} for u, v in units.items()]
        rows.append({"rule": rule, "domain_type": "province", "domain": "P", "level": "content", "id": "policy",
                     "estimate": 0.5, "se": 0.01, "ci_low": 0.48, "ci_high": 0.52})
    return pd.DataFrame(rows)


def test_rule_sensitivity_by_hand():
    s = rule_sensitivity(_sens(), used="a", unit="district").set_index("rule")
    assert list(s.index) == ["a", "b", "c"] and s.loc["a", "used"] and not s.loc["b", "used"]
    assert s.loc["a", "diff"] == 0 and s.loc["a", "rank_changes"] == 0 and s.loc["a", "units"] == 3
    assert s.loc["b", "diff"] == pytest.approx(0.02, abs=1e-15)
    assert s.loc["b", "max_unit_diff"] == pytest.approx(0.06, abs=1e-15) and s.loc["b", "max_unit"] == "u1"
    assert s.loc["b", "rank_changes"] == 2                    # u1 and u2 swap; u3 stays third
    assert s.loc["c", "units"] == 2 and s.loc["c", "rank_changes"] == 0   # a blank (suppressed) unit is left out

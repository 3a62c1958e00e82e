"""Index rules (mean of contents, mean of criteria, pooled, weights) computed by hand on 12 forms.

The dataset: 12 weighted forms in two domains, two contents (policy: criteria A1 with two items
and A2 with one; services: B1 with two items and B2 with one), "no answer" (9) and blanks.  In
domain d2 nobody gave a valid answer to B2, so criterion B2 is empty there.  The hand values
below are sums of weights written out row by row (positive = 4 or 5; valid = 1..5).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sipas import indices
from sipas.errors import ConfigError
from sipas.estimation.replicate_weights import ReplicateWeights
from sipas.forms.instrument import Instrument, load_instrument
from sipas.forms.instrument.rules import instrument_rules, resolve_rule
from sipas.forms.instrument.schema import instrument_problems

NAN = np.nan
T = {"vi": "x", "en": "x"}
SAT5 = {"codes": {c: T for c in range(1, 6)}, "positive": [4, 5], "missing": [9]}
ITEMS = [("a1x", "A1"), ("a1y", "A1"), ("a2", "A2"), ("b1x", "B1"), ("b1y", "B1"), ("b2", "B2")]
POL, SRV = ["A1", "A2"], ["B1", "B2"]


def _nodes(comb, children):
    return [{"id": "overall", "combine": comb, "children": children},
            {"id": "policy", "level": "content", "combine": "pooled" if comb == "pooled" else "mean", "children": POL},
            {"id": "services", "level": "content", "combine": "pooled" if comb == "pooled" else "mean",
             "children": SRV}]


def _raw(empty="skip"):
    return {
        "id": "tiny", "version": "1", "title": T, "source": "test", "scales": {"sat5": SAT5},
        "aspects": [{"id": "satisfaction", "label": T}],
        "criteria": [{"id": c, "aspect": "satisfaction", "label": T} for c in ("A1", "A2", "B1", "B2")],
        "items": [{"id": i, "criterion": c, "scale": "sat5", "index": True, "text": T} for i, c in ITEMS],
        "index": {"default": "contents_mean", "empty": empty, "labels": {"policy": T, "services": T},
                  "rules": {
                      "contents_mean": {"label": T, "source": "s", "confirmed": False, "criteria": "mean",
                                        "nodes": _nodes("mean", ["policy", "services"])},
                      "criteria_mean": {"label": T, "source": "s", "confirmed": False, "criteria": "mean",
                                        "nodes": _nodes("mean", POL + SRV)},
                      "pooled": {"label": T, "source": "s", "confirmed": False, "criteria": "pooled",
                                 "nodes": _nodes("pooled", ["policy", "services"])},
                      "weighted": {"label": T, "source": "s", "confirmed": True, "criteria": "mean",
                                   "nodes": [{"id": "overall", "combine": {"weights": {"policy": 0.6, "services": 0.4}},
                                              "children": ["policy", "services"]}] + _nodes("mean", [])[1:]},
                  }},
    }


#        w  dom   a1x  a1y  a2   b1x  b1y  b2
ROWS = [(1, "d1", 5, 4, 3, 4, 2, 5),
        (2, "d1", 2, NAN, 4, 5, 5, 1),
        (1, "d1", 4, 4, 9, 3, 4, 4),
        (3, "d1", 1, 5, 5, NAN, NAN, NAN),
        (1, "d1", 5, 5, 2, 4, 4, 2),
        (2, "d1", 3, 2, 4, 5, 1, 5),
        (1, "d2", 4, 5, 5, 2, 4, NAN),
        (2, "d2", 2, 2, 1, 5, 5, 9),
        (1, "d2", 5, NAN, 4, 4, 3, NAN),
        (2, "d2", 4, 4, 3, 1, NAN, NAN),
        (1, "d2", 9, 3, 5, 5, 5, NAN),
        (3, "d2", 5, 4, 2, NAN, 4, NAN)]

# Domain d2 (rows 7-12, weights 1, 2, 1, 2, 1, 3), positive / valid weight per item:
#   a1x: valid rows 7,8,9,10,12 -> 1+2+1+2+3 = 9;   positive rows 7,9,10,12 -> 1+1+2+3 = 7
#   a1y: valid rows 7,8,10,11,12 -> 1+2+2+1+3 = 9;  positive rows 7,10,12 -> 1+2+3 = 6
#   a2 : valid all -> 10;                           positive rows 7,9,11 -> 3
#   b1x: valid rows 7,8,9,10,11 -> 1+2+1+2+1 = 7;   positive rows 8,9,11 -> 2+1+1 = 4
#   b1y: valid rows 7,8,9,11,12 -> 1+2+1+1+3 = 8;   positive rows 7,8,11,12 -> 1+2+1+3 = 7
#   b2 : no valid answer (blank or 9)                -> criterion B2 is empty in d2
A1 = (7 / 9 + 6 / 9) / 2
A2 = 3 / 10
B1 = (4 / 7 + 7 / 8) / 2
POLICY = (A1 + A2) / 2
SERVICES = B1                                   # B2 skipped: services = mean of its other criterion
HAND = {
    "contents_mean": (POLICY + SERVICES) / 2,    # = 0.61717...
    "criteria_mean": (A1 + A2 + B1) / 3,         # = 0.58180...
    "pooled": (7 + 6 + 3 + 4 + 7) / (9 + 9 + 10 + 7 + 8),   # = 27/43 = 0.62791...
    "weighted": 0.6 * POLICY + 0.4 * SERVICES,
}


@pytest.fixture(scope="module")
def data():
    cols = ["w", "dom"] + [i for i, _ in ITEMS]
    forms = pd.DataFrame(ROWS, columns=cols)
    return forms


def _inst(empty="skip"):
    raw = _raw(empty)
    assert instrument_problems(raw) == []
    return Instrument(id="tiny", version="1", raw=raw, path=Path("tiny-1.yml"))


def _rep(w):
    w = np.asarray(w, float)
    return ReplicateWeights(weights=w, replicates=np.column_stack([w, w]), scale=1.0, rscales=np.ones(2),
                            df=10.0, mse=True)


def _run(forms, inst, rules):
    ind = indices.positive_indicators(forms, instrument=inst)
    return indices.estimate_index_rules(ind, instrument=inst, rules=rules, rep=_rep(forms["w"]),
                                        by=forms["dom"], by_type="district", total_label="P")


def test_each_rule_equals_its_hand_value_in_the_domain_with_an_empty_criterion(data):
    inst = _inst()
    rules, default = instrument_rules(inst.raw)
    assert default == "contents_mean"
    t = _run(data, inst, list(rules.values()))
    got = {r: t[(t["rule"] == r) & (t["domain"] == "d2") & (t["level"] == "overall")]["estimate"].item()
           for r in rules}
    for r, v in HAND.items():
        assert got[r] == pytest.approx(v, rel=1e-12), r
    assert len({round(v, 6) for v in got.values()}) == 4            # the rules give different numbers here
    d2 = t[(t["rule"] == "contents_mean") & (t["domain"] == "d2")].set_index("id")
    assert np.isnan(d2.loc["B2", "estimate"]) and d2.loc["B2", "note"] == "no_valid_answer"
    assert d2.loc["services", "note"] == "skipped:B2"               # the reason is in the table
    assert d2.loc["services", "estimate"] == pytest.approx(SERVICES, rel=1e-12)
    assert d2.loc["policy", "estimate"] == pytest.approx(POLICY, rel=1e-12)
    assert d2.loc["overall", "note"] == ""
    pooled = t[(t["rule"] == "pooled") & (t["domain"] == "d2")].set_index("id")
    assert pooled.loc["policy", "estimate"] == pytest.approx((7 + 6 + 3) / (9 + 9 + 10), rel=1e-12)
    assert pooled.loc["services", "estimate"] == pytest.approx((4 + 7) / (7 + 8), rel=1e-12)
    assert pooled.loc["services", "note"] == "pooled_without:B2"


def test_whole_population_by_hand(data):
    # domain d1 adds (rows 1-6, weights 1,2,1,3,1,2): a1x valid 10, positive rows 1,3,5 -> 3;
    # a1y valid rows 1,3,4,5,6 -> 8, positive rows 1,3,4,5 -> 6; a2 valid rows 1,2,4,5,6 -> 9, positive 2,4,6 -> 7
    # b1x valid 1,2,3,5,6 -> 7, positive 1,2,5,6 -> 6; b1y valid 1,2,3,5,6 -> 7, positive 2,3,5 -> 4;
    # b2 valid 1,2,3,5,6 -> 7, positive 1,3,6 -> 4
    inst = _inst()
    t = _run(data, inst, [resolve_rule(inst.raw, "pooled")])
    o = t[(t["domain_type"] == "province") & (t["level"] == "overall")]["estimate"].item()
    assert o == pytest.approx((27 + 3 + 6 + 7 + 6 + 4 + 4) / (43 + 10 + 8 + 9 + 7 + 7 + 7), rel=1e-12)


def test_not_computable_says_why_instead_of_a_silent_nan(data):
    inst = _inst(empty="not_computable")
    t = _run(data, inst, [resolve_rule(inst.raw)])
    d2 = t[t["domain"] == "d2"].set_index("id")
    assert np.isnan(d2.loc["services", "estimate"]) and d2.loc["services", "note"] == "not_computable:B2"
    assert np.isnan(d2.loc["overall", "estimate"]) and d2.loc["overall", "note"] == "not_computable:services"
    d1 = t[t["domain"] == "d1"].set_index("id")
    assert d1["estimate"].notna().all() and (d1["note"] == "").all()


def test_survey_override_by_id_and_by_mapping():
    inst = _inst()
    assert resolve_rule(inst.raw, "pooled").id == "pooled"
    with pytest.raises(ConfigError, match="unknown index rule 'median'") as e:
        resolve_rule(inst.raw, "median", file="survey.yml")
    assert e.value.key == "index_rule"
    own = {"id": "province_text", "label": T, "source": "Official text of the province, art. 5", "confirmed": True,
           "criteria": "mean", "nodes": [{"id": "overall", "combine": "mean", "children": ["A1", "B1"]}]}
    r = resolve_rule(inst.raw, own)
    assert r.confirmed and r.origin == "survey.yml" and r.node("overall").children == ("A1", "B1")
    bad = dict(own, nodes=[{"id": "overall", "combine": {"weights": {"A1": 0.5, "B1": 0.6}}, "children": ["A1", "B1"]}])
    with pytest.raises(ConfigError, match="sum to 1") as e:
        resolve_rule(inst.raw, bad)
    assert e.value.key == "index_rule.nodes[overall].combine.weights"
    with pytest.raises(ConfigError, match="unknown node or criterion 'C9'"):
        resolve_rule(inst.raw, dict(own, nodes=[{"id": "overall", "combine": "mean", "children": ["C9"]}]))
    with pytest.raises(ConfigError, match="confirmed"):
        resolve_rule(inst.raw, {k: v for k, v in own.items() if k != "confirmed"})


def test_instrument_rule_errors_name_the_key():
    raw = _raw()
    raw["index"]["rules"]["pooled"]["nodes"][1]["children"] = ["A1", "policy"]
    raw["index"]["rules"]["pooled"]["nodes"].append({"id": "x", "level": "content", "combine": "mean",
                                                     "children": ["x"]})
    keys = [k for k, _ in instrument_problems(raw)]
    assert "index.rules.pooled.nodes" in keys                      # the cycle
    assert "index.rules.pooled.nodes[x]" in keys                   # no label for node x
    raw = _raw()
    del raw["index"]["rules"]["criteria_mean"]["source"]
    assert ("index.rules.criteria_mean.source", "must say where the rule comes from (a text, or {vi, en})") in instrument_problems(raw)


def test_shipped_household_rules_are_all_unconfirmed_with_sources():
    inst = load_instrument("household", "2024.1")
    rules, default = instrument_rules(inst.raw)
    assert default == "contents_mean" and set(rules) == {"contents_mean", "criteria_mean", "pooled"}
    for r in rules.values():
        assert r.confirmed is False and r.source["vi"] and r.source["en"]
        assert {n.id for n in r.nodes if n.level == "content"} == {"policy", "services"}
    assert rules["contents_mean"].node("overall").children == ("policy", "services")
    old = resolve_rule(load_instrument("household", "2023.1").raw)   # older instruments still load
    assert old.confirmed is False and "not checked" in old.source["en"]

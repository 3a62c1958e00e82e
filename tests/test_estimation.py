"""Interface and behaviour tests of sipas.estimation.Design (R-reference tests: test_estimation_r.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sipas.errors import DesignError, LonelyPSUError
from sipas.estimation.design import Design
from sipas.estimation.results import Estimate

COLUMNS = ["variable", "estimate", "se", "ci_low", "ci_high", "df", "deff", "n"]


def _toy(seed: int = 1, n_str: int = 4, n_psu: int = 5, m: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for h in range(n_str):
        for i in range(n_psu):
            u = rng.normal()
            for j in range(m):
                rows.append(
                    {
                        "district": f"d{h}",
                        "commune": i,
                        "w": rng.uniform(1, 5),
                        "item1": float(rng.random() < 0.5 + 0.1 * u),
                        "item2": rng.normal(3 + u, 1),
                        "sex": rng.choice(["f", "m"]),
                    }
                )
    return pd.DataFrame(rows)


def test_interface_mean_by():
    df = _toy()
    df.loc[::7, "item2"] = np.nan
    des = Design(df, weight="w", strata="district", psu="commune")
    out = des.mean(["item1", "item2"], by="district")
    assert list(out.columns) == ["district"] + COLUMNS
    assert len(out) == 8
    # each item's mean over the rows where it is observed
    for (dist, var), row in out.set_index(["district", "variable"]).iterrows():
        sub = df[(df.district == dist) & df[var].notna()]
        assert row["estimate"] == pytest.approx(np.average(sub[var], weights=sub["w"]), rel=1e-12)
        assert row["n"] == len(sub)
    assert (out["df"] == 20 - 4).all()


def test_interface_list_without_by_and_scalar():
    df = _toy()
    des = Design(df, weight="w", strata="district", psu="commune")
    out = des.mean(["item1", "item2"])
    assert list(out.columns) == COLUMNS
    one = des.mean("item1")
    assert isinstance(one, Estimate)
    assert one.estimate == pytest.approx(out.loc[0, "estimate"], rel=1e-14)
    assert one.se == pytest.approx(out.loc[0, "se"], rel=1e-14)
    assert one.ci_low < one.estimate < one.ci_high


def test_domain_equals_separate_item_computation():
    """Matrix form for all items/domains equals one-at-a-time computation."""
    df = _toy(3)
    df.loc[::5, "item1"] = np.nan
    des = Design(df, weight="w", strata="district", psu="commune")
    out = des.mean(["item1", "item2"], by="sex").set_index(["sex", "variable"])
    for sex in ["f", "m"]:
        for var in ["item1", "item2"]:
            d = df.copy()
            d["y"] = np.where(d["sex"] == sex, d[var], np.nan)
            e = Design(d, weight="w", strata="district", psu="commune").mean("y")
            assert out.loc[(sex, var), "estimate"] == pytest.approx(e.estimate, rel=1e-12)
            assert out.loc[(sex, var), "se"] == pytest.approx(e.se, rel=1e-12)


def test_lonely_psu_fails_by_default():
    df = _toy(n_psu=2)
    df = df[~((df.district == "d1") & (df.commune == 1))]
    with pytest.raises(LonelyPSUError, match=r"Stratum \(d1\) has only one PSU"):
        Design(df, weight="w", strata="district", psu="commune").mean("item2")
    for opt in ["remove", "certainty", "adjust", "average"]:
        e = Design(df, weight="w", strata="district", psu="commune", lonely_psu=opt).mean("item2")
        assert np.isfinite(e.se)


def test_bad_inputs():
    df = _toy()
    with pytest.raises(DesignError):
        Design(df, weight="nope")
    with pytest.raises(DesignError):
        Design(df, weight="w", lonely_psu="drop")  # type: ignore[arg-type]
    d2 = df.copy()
    d2.loc[3, "w"] = np.nan
    with pytest.raises(DesignError, match="position 3"):
        Design(d2, weight="w")


def test_deterministic():
    df = _toy()
    a = Design(df, weight="w", strata="district", psu="commune").mean(["item1", "item2"], by="sex")
    b = Design(df, weight="w", strata="district", psu="commune").mean(["item1", "item2"], by="sex")
    pd.testing.assert_frame_equal(a, b)


def test_contrast_between_independent_strata_domains():
    """Domains that are strata are independent: SE of the difference is sqrt(se1^2 + se2^2)."""
    df = _toy(5)
    des = Design(df, weight="w", strata="district", psu="commune")
    by = des.mean("item2", by="district").set_index("district")
    c = des.contrast("item2", by="district", first="d0", second="d1")
    assert c.estimate == pytest.approx(by.loc["d0", "estimate"] - by.loc["d1", "estimate"], rel=1e-12)
    assert c.se == pytest.approx(np.hypot(by.loc["d0", "se"], by.loc["d1", "se"]), rel=1e-10)


def test_contrast_between_crossing_domains_uses_covariance():
    """Domains crossing PSUs: var(d1 - d2) = v1 + v2 - 2 cov, cov from the joint influence values."""
    df = _toy(6)
    des = Design(df, weight="w", strata="district", psu="commune")
    c = des.contrast("item2", by="sex", first="f", second="m")
    by = des.mean("item2", by="sex").set_index("sex")
    # the same contrast written as a ratio difference through a derived variable
    d = df.copy()
    f, m = (d["sex"] == "f"), (d["sex"] == "m")
    wf, wm = (d["w"] * f).sum(), (d["w"] * m).sum()
    # linearised difference: z = w [1_f (y - ybar_f)/N_f - 1_m (y - ybar_m)/N_m]; its total has mean 0
    z = f * (d["item2"] - by.loc["f", "estimate"]) / wf - m * (d["item2"] - by.loc["m", "estimate"]) / wm
    d["z"] = z
    t = Design(d, weight="w", strata="district", psu="commune").total("z")
    assert c.se == pytest.approx(t.se, rel=1e-10)
    assert c.se != pytest.approx(np.hypot(by.loc["f", "se"], by.loc["m", "se"]), rel=1e-3)


def test_contrast_between_years():
    from sipas.estimation.results import contrast_independent

    a = Design(_toy(1), weight="w", strata="district", psu="commune").mean("item2")
    b = Design(_toy(2), weight="w", strata="district", psu="commune").mean("item2")
    c = contrast_independent(a, b)
    assert c.estimate == pytest.approx(a.estimate - b.estimate)
    assert c.se == pytest.approx(np.hypot(a.se, b.se))
    assert c.ci_low < c.estimate < c.ci_high
    assert 0 <= c.p_value <= 1


def test_replicate_design_by_domain_with_missing_items():
    df = _toy(7)
    df.loc[::6, "item1"] = np.nan
    des = Design(df, weight="w", strata="district", psu="commune")
    unstratified = Design(df, weight="w", psu="commune")
    with pytest.raises(DesignError, match="JK1"):
        des.replicate("JK1")
    for kind in ["JK1", "JKn", "bootstrap"]:
        rep = (unstratified if kind == "JK1" else des).replicate(kind, replicates=100, seed=3)
        taylor = (unstratified if kind == "JK1" else des).mean(["item1", "item2"], by="sex")
        out = rep.mean(["item1", "item2"], by="sex")
        np.testing.assert_allclose(out["estimate"], taylor["estimate"], rtol=1e-12)
        assert np.all(out["se"] > 0)
        # matrix form equals the row-level replicate path
        row = Design.from_replicate_weights(df, weight="w", replicate_weights=rep.replicate_weights(),
                                            kind="other", scale=rep._replicates.scale,
                                            rscales=rep._replicates.rscales)
        np.testing.assert_allclose(row.mean(["item1", "item2"], by="sex")["se"], out["se"], rtol=1e-10)


def test_ratio_and_total_by_domain_columns():
    df = _toy(8)
    des = Design(df, weight="w", strata="district", psu="commune")
    r = des.ratio("item1", "item2", by=["district", "sex"])
    assert list(r.columns) == ["district", "sex"] + COLUMNS
    t = des.total(["item1", "item2"], by="sex")
    sub = df[df.sex == "f"]
    assert t.set_index(["sex", "variable"]).loc[("f", "item1"), "estimate"] == pytest.approx((sub.w * sub.item1).sum())
    p = des.proportion("sex", by="district")
    assert list(p.columns) == ["district", "variable", "level"] + COLUMNS[1:]
    np.testing.assert_allclose(p.groupby("district")["estimate"].sum(), 1.0)

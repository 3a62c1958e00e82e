"""The indices stage on the demo: respondent-group breakdowns, suppression, ranking with rank intervals."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from conftest import DEMO, REPO
from sipas.config import find_survey


def _proc(demo_root: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(demo_root / "data" / "processed" / DEMO / f"{name}.csv", keep_default_na=True,
                       dtype={"domain": str})


def test_group_breakdowns_cover_every_respondent(demo_root: Path):
    g = _proc(demo_root, "indices_groups")
    forms = _proc(demo_root, "forms_clean")
    o = g[g["level"] == "overall"]
    assert list(dict.fromkeys(o["domain_type"])) == ["sex", "age_group", "ethnicity", "area"]
    assert set(o.loc[o["domain_type"] == "age_group", "domain"]) == {"18-29", "30-44", "45-59", "60+"}
    assert set(o.loc[o["domain_type"] == "area", "domain"]) == {"urban", "rural"}
    for var in ("sex", "age_group", "ethnicity", "area"):
        assert o.loc[o["domain_type"] == var, "n"].sum() == len(forms), var
    # urban = respondents in a Phường or Thị trấn of the commune frame
    com = pd.read_csv(REPO / "data" / "raw" / DEMO / "frames" / "communes.csv")
    m = forms.merge(com[["district", "commune", "commune_type"]], on=["district", "commune"], how="left")
    n_urban = int(m["commune_type"].isin(["Phường", "Thị trấn"]).sum())
    assert int(o.loc[(o["domain_type"] == "area") & (o["domain"] == "urban"), "n"].iloc[0]) == n_urban
    assert ((o["ci_low"] <= o["estimate"]) & (o["estimate"] <= o["ci_high"])).all()


def test_published_groups_suppress_small_cells(demo_root: Path):
    g = _proc(demo_root, "indices_groups_published")
    cfg = find_survey(DEMO, root=demo_root)
    small = g["n"] < cfg.min_cell_size
    assert g.loc[small, ["estimate", "se", "ci_low", "ci_high"]].isna().all().all()
    assert g.loc[~small, "estimate"].notna().all()
    assert (g["suppressed"] == small).all()


def test_ranking_has_rank_intervals(demo_root: Path):
    r = _proc(demo_root, "ranking")
    assert r["rank"].tolist() == list(range(1, len(r) + 1))
    assert ((r["rank_low"] <= r["rank"]) & (r["rank"] <= r["rank_high"])).all()
    assert r["rank_low"].min() == 1 and r["rank_high"].max() == len(r)

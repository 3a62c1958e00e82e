"""The committed demo data is exactly what the seeded generator writes, drawn by the sampling rules."""

from pathlib import Path

import pandas as pd

from conftest import DEMO, REPO, tree_digest
from sipas.synth import ALSO_LAST, synthesize_demo


def test_generator_reproduces_committed_demo(tmp_path: Path):
    synthesize_demo(tmp_path)
    for sid in ("demo-laichau-2023", "demo-laichau-2024"):
        assert tree_digest(tmp_path / sid) == tree_digest(REPO / "data" / "raw" / sid), sid


def test_sample_has_seed_000_counts():
    s = pd.read_csv(REPO / "data" / "raw" / DEMO / "sample" / "households_selected.csv")
    assert s["district"].nunique() == 8
    assert s[["district", "commune"]].drop_duplicates().shape[0] == 28
    assert s[["district", "commune", "sample_village"]].drop_duplicates().shape[0] == 84
    assert len(s) == 2520 and s["household_id"].is_unique
    per_district = s.groupby("district")["commune"].nunique()
    assert sorted(per_district[list(ALSO_LAST)]) == [5, 5]
    assert (per_district.drop(list(ALSO_LAST)) == 3).all()
    assert (s.groupby(["district", "commune", "sample_village"]).size() == 30).all()
    assert ((s["pi"] > 0) & (s["pi"] <= 1)).all()


def test_answers_look_real():
    f = pd.read_csv(REPO / "data" / "raw" / DEMO / "responses" / "forms.csv")
    # items of one criterion are correlated, and nonresponse, skips and duplicates exist
    ab = f[["s2_1a", "s2_1b"]].astype(float)
    assert ab.where(ab != 9).corr().iloc[0, 1] > 0.3
    assert f["s2_2a"].isna().mean() > 0.2          # skipped when no administrative procedure
    assert (f["p1_1a"] == 9).any() and f["p1_1a"].isna().any()
    assert f["form_id"].duplicated().any()

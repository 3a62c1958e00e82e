"""The committed demo data is exactly what the seeded generator writes, drawn by the sampling rules."""

from pathlib import Path

import pandas as pd

from conftest import DEMO, REPO, tree_digest
from sipas.synth import ALSO_LAST, synthesize_demo


def test_generator_reproduces_committed_demo(tmp_path: Path):
    synthesize_demo(tmp_path)
    for sid in ("demo-laichau-2023", "demo-laichau-2024", "demo-laichau-2025"):
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
    ab = f[["q9_01", "q9_02"]].astype(float)
    assert ab.where(ab != 9).corr().iloc[0, 1] > 0.3
    assert f["q9_15"].isna().mean() > 0.2          # skipped when no administrative procedure
    assert (f["q1_1"] == 9).any() and f["q1_1"].isna().any()
    assert f["form_id"].duplicated().any()


def test_recheck_file_is_the_20_percent_sample_of_returned_forms():
    import numpy as np

    from sipas.sampling.fieldwork import recheck_sample
    from sipas.synth import DEMO_SURVEYS, RECHECK_ITEMS

    raw = REPO / "data" / "raw" / DEMO
    seed = {s[0]: s[2] for s in DEMO_SURVEYS}[DEMO]
    dist = pd.read_csv(raw / "fieldwork" / "distribution.csv", dtype=str)
    rech = pd.read_csv(raw / "fieldwork" / "recheck.csv", dtype=str)
    # form id and answers only: no household id, name, phone or address
    assert list(rech.columns) == ["form_id", "recheck_date", "visit_confirmed", *RECHECK_ITEMS]
    returned = dist[dist["returned"] == "1"]
    expect = recheck_sample(returned, fraction=0.2, strata=["district", "commune"], seed=seed + 10)
    assert rech["form_id"].tolist() == expect["form_id"].tolist()
    per = returned.assign(r=returned["form_id"].isin(set(rech["form_id"]))).groupby(["district", "commune"])["r"]
    assert (per.sum() == np.ceil(0.2 * per.size() - 1e-9)).all()
    planted = pd.read_csv(raw / "truth" / "recheck_planted.csv", dtype=str)
    assert set(rech.loc[rech["visit_confirmed"] == "2", "form_id"]) == set(planted["form_id"])


def test_second_entry_is_a_10_percent_sample_of_paper_forms():
    raw = REPO / "data" / "raw" / DEMO
    forms = pd.read_csv(raw / "responses" / "forms.csv", dtype=str, keep_default_na=False)
    second = pd.read_csv(raw / "responses" / "forms_second_entry.csv", dtype=str, keep_default_na=False)
    assert second["form_id"].is_unique
    assert not {"household_id", "respondent_name", "phone", "address"} & set(second.columns)
    paper = forms.drop_duplicates("form_id")
    paper = paper[paper["mode"] == "paper"]
    assert set(second["form_id"]) <= set(paper["form_id"])
    assert 0.1 <= len(second) / len(paper) < 0.11
    planted = pd.read_csv(raw / "truth" / "double_entry_planted.csv", dtype=str, keep_default_na=False)
    assert set(planted["kind"]) >= {"transposed", "missed_cell", "wrong_key", "transposed_digits"}
    assert 10 <= len(planted) <= 0.01 * second.size
    # every planted cell really differs between the two raw entries, and the rest agree
    first = paper.set_index("form_id").loc[second["form_id"], second.columns[1:]]
    diff = first.to_numpy() != second.set_index("form_id").to_numpy()
    assert diff.sum() == len(planted)


def test_config_names_the_fieldwork_files():
    import yaml

    for sid in (DEMO, "demo-laichau-2023"):
        cfg = yaml.safe_load((REPO / "data" / "raw" / sid / "survey.yml").read_text(encoding="utf-8"))
        fw = cfg["fieldwork"]
        for key in ("distribution_log", "recheck", "double_entry"):
            assert (REPO / "data" / "raw" / sid / fw[key]).is_file(), (sid, key)
        assert fw["recheck_fail_min_items"] == 2 and "age_group" in fw["recheck_items"]


def test_two_tier_demo_is_a_stratified_pps_sample_without_districts():
    """2025 demo: no district anywhere; communes by type (PPS on households), 3 villages x 30 households."""
    import numpy as np

    from sipas.synth import TWO_TIER_COMMUNES

    raw = REPO / "data" / "raw" / "demo-laichau-2025"
    for rel in ("frames/communes.csv", "frames/villages.csv", "frames/households.csv", "responses/forms.csv",
                "sample/households_selected.csv", "fieldwork/distribution.csv", "truth/true_values.csv"):
        assert "district" not in pd.read_csv(raw / rel, nrows=1).columns, rel
    com = pd.read_csv(raw / "frames" / "communes.csv")
    assert com["commune"].is_unique and set(com["commune_type"]) == {"Phường", "Xã"}
    s = pd.read_csv(raw / "sample" / "households_selected.csv")
    per_type = s.drop_duplicates("commune").merge(com, on="commune")["commune_type"].value_counts()
    assert per_type.to_dict() == TWO_TIER_COMMUNES["n"]
    assert (s.groupby("commune")["sample_village"].nunique() == 3).all()
    assert (s.groupby(["commune", "sample_village"]).size() == 30).all() and len(s) == 2520
    # PPS: pi_commune = n_h x_i / X_h (no certainty units in this frame)
    sel = s.drop_duplicates("commune").merge(com, on="commune")
    X = com.groupby("commune_type")["households"].sum()
    expect = sel["commune_type"].map(TWO_TIER_COMMUNES["n"]) * sel["households"] / sel["commune_type"].map(X)
    assert np.allclose(sel["pi_commune"], expect, rtol=1e-12)
    truth = pd.read_csv(raw / "truth" / "true_values.csv", keep_default_na=False)
    assert set(truth["commune"]) == {""} | set(com["commune"])


def test_grow_survey_copies_units_forms_and_ids(tmp_path: Path):
    """The benchmark's grown demos: k copies of every file, new unit names and ids, a valid config."""
    import pytest

    from sipas.config import find_survey
    from sipas.errors import SipasError
    from sipas.synth import grow_survey

    for sid, unit in (("demo-laichau-2024", "district"), ("demo-laichau-2025", "commune")):
        src = REPO / "data" / "raw" / sid
        out = grow_survey(src, tmp_path / "data" / "raw", copies=3, survey_id=f"g-{sid}")
        for rel in ("frames/communes.csv", "responses/forms.csv", "sample/households_selected.csv",
                    "fieldwork/distribution.csv"):
            a = pd.read_csv(src / rel, dtype=str, keep_default_na=False)
            b = pd.read_csv(out / rel, dtype=str, keep_default_na=False)
            assert len(b) == 3 * len(a), rel
            assert b[unit].nunique() == 3 * a[unit].nunique(), rel
        forms = pd.read_csv(out / "responses" / "forms.csv", dtype=str)
        first = pd.read_csv(src / "responses" / "forms.csv", dtype=str)
        assert forms["form_id"].nunique() == 3 * first["form_id"].nunique()
        cfg = find_survey(f"g-{sid}", root=tmp_path)
        assert cfg.survey_id == f"g-{sid}" and "previous_survey" not in cfg.extra
    with pytest.raises(SipasError):
        grow_survey(src, tmp_path, copies=0, survey_id="x")

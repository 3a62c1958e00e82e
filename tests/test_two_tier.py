"""The two-tier structure (since 1/7/2025: province -> commune -> village): configuration of the unit
hierarchy, and the whole pipeline on the embedded 2025 demo (communes as report units)."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REPO, tree_digest
from sipas.config import Hierarchy, find_survey, load_config
from sipas.errors import ConfigError

DEMO25 = "demo-laichau-2025"


# --------------------------------------------------------------------------- configuration

def _write(tmp_path: Path, sid: str, **changes) -> Path:
    """A copy of the 2025 demo's folder under ``tmp_path/<sid>`` with keys of its survey.yml changed (None =
    removed); a copy, since every file of a survey must lie inside its folder."""
    src = REPO / "data" / "raw" / DEMO25
    raw = yaml.safe_load((src / "survey.yml").read_text(encoding="utf-8"))
    raw["survey_id"] = sid
    for k, v in changes.items():
        if v is None:
            raw.pop(k, None)
        else:
            raw[k] = v
    d = tmp_path / sid
    shutil.copytree(src, d)
    (d / "survey.yml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return d / "survey.yml"


def test_defaults_keep_three_tier_and_give_two_tier_communes(tmp_path):
    c24 = find_survey("demo-laichau-2024", root=REPO)
    assert c24.design == Hierarchy("three_tier", "district", "commune", "district")
    assert c24.design.unit_keys == ("district", "commune") and c24.design.frame_columns == ()
    c25 = find_survey(DEMO25, root=REPO)
    assert c25.design == Hierarchy("two_tier", "commune_type", "commune", "commune")
    assert c25.design.unit_keys == ("commune",) and c25.design.absent_levels == ("district",)
    # without a design section, two_tier takes the same defaults
    c = load_config(_write(tmp_path, "no-design", design=None))
    assert c.design == c25.design


@pytest.mark.parametrize("design, key", [
    ({"strata": "district"}, "design.strata"),
    ({"report_unit": "district"}, "design.report_unit"),
    ({"report_unit": "village"}, "design.report_unit"),
    ({"psu": "village"}, "design.psu"),
    ({"strata": "stratum"}, "design.strata"),          # not a column of the commune frame
    ({"strata": "commune"}, "design.strata"),
    ({"strata": ""}, "design.strata"),
    ({"units": "commune"}, "design"),
    ("commune", "design"),
])
def test_bad_hierarchy_names_file_and_key(tmp_path, design, key):
    path = _write(tmp_path, "bad", design=design)
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert e.value.key == key
    assert str(path) in str(e.value) and key in str(e.value)


def test_configured_stratum_column(tmp_path):
    c = load_config(_write(tmp_path, "by-class", design={"strata": "commune_class"}))
    assert c.design.strata == "commune_class" and c.design.report_unit == "commune"


# --------------------------------------------------------------------------- the 2025 demo, end to end

@pytest.fixture(scope="module")
def root25(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project root holding a copy of the 2025 demo raw data, after ``sipas report``."""
    from sipas.cli import main

    root = tmp_path_factory.mktemp("sipas-root-2025")
    shutil.copytree(REPO / "data" / "raw" / DEMO25, root / "data" / "raw" / DEMO25)
    (root / "pyproject.toml").write_text("# marker for sipas.config.project_root\n")
    before = tree_digest(root / "data" / "raw")
    rc = main(["--root", str(root), "report", "--survey", DEMO25])
    assert rc == 0
    assert tree_digest(root / "data" / "raw") == before, "the pipeline wrote into data/raw"
    return root


def _proc(root: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(root / "data" / "processed" / DEMO25 / f"{name}.csv", keep_default_na=False,
                       na_values=[""])


def test_raw_untouched_and_equal_to_committed(root25):
    assert tree_digest(root25 / "data" / "raw" / DEMO25) == tree_digest(REPO / "data" / "raw" / DEMO25)


def test_weights_use_commune_type_strata(root25):
    w = _proc(root25, "weights")
    assert "district" not in w.columns
    assert set(w["commune_type"]) == {"Phường", "Xã"}
    com = pd.read_csv(REPO / "data" / "raw" / DEMO25 / "frames" / "communes.csv")
    n_h = com.groupby("commune_type").size()
    assert (w["psu_population"] == w["commune_type"].map(n_h)).all()
    tot = _proc(root25, "poststrata_totals")
    assert list(tot.columns) == ["commune_type", "households"]
    got = w.groupby("commune_type")["w_final"].sum()
    exp = com.groupby("commune_type")["households"].sum()
    assert ((got - exp).abs() / exp < 1e-9).all()


def test_indices_by_commune_and_province_ci_covers_truth(root25):
    idx = _proc(root25, "indices")
    assert set(idx["domain_type"]) == {"province", "commune"}
    truth = pd.read_csv(REPO / "data" / "raw" / DEMO25 / "truth" / "true_values.csv", keep_default_na=False)
    t_prov = truth[(truth["level"] == "overall") & (truth["commune"] == "")]["value"].iloc[0]
    p = idx[(idx["domain_type"] == "province") & (idx["level"] == "overall")].iloc[0]
    assert p["ci_low"] <= t_prov <= p["ci_high"]
    assert p["df"] == 28 - 2                              # communes - strata
    u = idx[(idx["domain_type"] == "commune") & (idx["level"] == "overall")]
    assert len(u) == 28 and (u["df"] == 2).all()          # 3 villages - 1
    t_u = truth[truth["level"] == "overall"].set_index("commune")["value"]
    covered = ((u["ci_low"] <= u["domain"].map(t_u)) & (u["domain"].map(t_u) <= u["ci_high"])).mean()
    assert covered >= 0.8
    rank = _proc(root25, "ranking")
    assert len(rank) == 28 and set(rank["domain_type"]) == {"commune"}
    assert rank["rank"].tolist() == list(range(1, 29))


def _report_text(root: Path) -> str:
    s = (root / "reports" / DEMO25 / "report.html").read_text(encoding="utf-8")
    s = re.sub(r"<(style|script)\b.*?</\1>", " ", s, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", s))


def test_report_shows_communes_not_districts(root25):
    rep = root25 / "reports" / DEMO25
    assert (rep / "report.html").is_file()
    if shutil.which("chromium") or Path("/usr/bin/chromium").exists():
        assert (rep / "report.pdf").stat().st_size > 10_000
    assert (rep / "figures" / "index_by_commune.png").is_file()
    assert not (rep / "figures" / "index_by_district.png").exists()
    text = _report_text(root25)
    assert "Huyện" not in text and "huyện, thành phố" not in text.lower()
    assert "Chỉ số chung theo xã, phường" in text and "Xếp hạng các xã, phường" in text
    ranking = _proc(root25, "ranking")
    assert all(c in text for c in ranking["domain"])


def test_processed_files_identical_on_rerun(root25, tmp_path):
    from sipas.cli import main

    proc = root25 / "data" / "processed" / DEMO25

    def digest() -> dict[str, str]:
        return tree_digest(proc)

    before = digest()
    for stage in ("clean", "reliability", "weight", "indices"):
        assert main(["--root", str(root25), stage, "--survey", DEMO25]) == 0
    assert digest() == before


@pytest.mark.parametrize("drop, key, says", [
    ("commune", "design.strata", "stratum 'Phường' (commune_type) has only one sampled commune"),
    ("village", "sampling.villages.n", "has only one sampled village"),
])
def test_a_lonely_unit_names_the_survey_yml_key(root25, tmp_path, drop, key, says):
    """Issue 15: one ward sampled in its stratum (or one village in a commune) gave "stratum (Phường) has
    one PSU" with no key to change; now it is a one-line ConfigError naming the key."""
    from sipas import io as sio
    from sipas.config import find_survey
    from sipas.errors import ConfigError
    from sipas.stages.indices import run_indices

    root = tmp_path / "root"
    shutil.copytree(root25 / "data" / "raw" / DEMO25, root / "data" / "raw" / DEMO25)
    shutil.copytree(root25 / "data" / "processed" / DEMO25, root / "data" / "processed" / DEMO25)
    (root / "pyproject.toml").write_text("# marker\n")
    proc = root / "data" / "processed" / DEMO25
    w = sio.read_csv(proc / "weights.csv")
    if drop == "commune":   # keep one of the two sampled wards
        wards = sorted(w.loc[w["commune_type"] == "Phường", "commune"].unique())
        w = w[w["commune"] != wards[0]]
    else:                   # the first commune's forms all under one sampled village (weights unchanged)
        c = sorted(w["commune"].unique())[0]
        first = sorted(w.loc[w["commune"] == c, "village"].unique())[0]
        w.loc[w["commune"] == c, "village"] = first
    sio.write_csv(w, proc / "weights.csv")
    with pytest.raises(ConfigError) as e:
        run_indices(find_survey(DEMO25, root=root), root=root)
    assert e.value.key == key and says in str(e.value)


def test_distribution_log_units_come_from_the_sample_list(root25, tmp_path):
    """Issue 15: a commune typed without its prefix in the distribution log was a unit of its own in
    response_rates.csv; the log's units are now taken from the sample list by household id."""
    from sipas import io as sio
    from sipas.config import find_survey
    from sipas.stages.cleaning import run_cleaning

    root = tmp_path / "root"
    shutil.copytree(root25 / "data" / "raw" / DEMO25, root / "data" / "raw" / DEMO25)
    (root / "pyproject.toml").write_text("# marker\n")
    p = root / "data" / "raw" / DEMO25 / "fieldwork" / "distribution.csv"
    log = sio.read_csv(p, dtype=str, keep_default_na=False)
    first = sorted(log["commune"].unique())[0]
    log.loc[log["commune"] == first, "commune"] = first.split(" ", 1)[1].upper()   # "Xã Pú Hồ" -> "PÚ HỒ"
    sio.write_csv(log, p)
    run_cleaning(find_survey(DEMO25, root=root), root=root)
    rr = pd.read_csv(root / "data" / "processed" / DEMO25 / "response_rates.csv", keep_default_na=False)
    expected = pd.read_csv(root25 / "data" / "processed" / DEMO25 / "response_rates.csv", keep_default_na=False)
    assert rr["commune"].tolist() == expected["commune"].tolist()
    assert rr["distributed"].tolist() == expected["distributed"].tolist()

"""On the demo frame (if generated) the selection reproduces seed 000's counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from sipas.config import load_config
from sipas.sampling.draw import draw_sample

DEMO = Path(__file__).resolve().parent.parent / "data" / "raw" / "demo-laichau-2024"


@pytest.mark.skipif(not (DEMO / "survey.yml").is_file(), reason="demo survey not generated")
def test_demo_reproduces_seed_000_counts(tmp_path):
    cfg = load_config(DEMO)
    r = draw_sample(cfg, restricted_dir=tmp_path / "restricted", out_dir=tmp_path / "out")
    assert len(r.communes) == 28 and len(r.villages) == 84
    off = r.households[r.households["list"] == "official"]
    assert len(off) == 2520 and not off["household_id"].duplicated().any()
    per_d = r.communes.groupby("district").size()
    assert sorted(per_d[per_d == 5].index) == sorted(cfg.extra["sampling"]["also_last_districts"])
    assert (off["pi_household"] <= 1).all()

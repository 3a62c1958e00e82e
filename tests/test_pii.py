"""Personal data never reaches processed files or reports.

Runs the demo cleaning itself (ingest + cleaning + labelled exports into a temporary data/processed and
reports tree) and scans every output for names and phone numbers of the restricted file; also scans the
project's own data/processed/<id> and reports/<id> when a demo run has written them.  Skips with a reason
when the demo data is absent.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from sipas.forms.cleaning import clean_forms
from sipas.config import load_config, project_root
from sipas.forms.ingest import read_responses, write_dta, write_restricted, write_sav
from sipas.forms.instrument import load_instrument
from sipas.io import write_csv
from conftest import DEMO
from sipas.forms.pii import PrivacyError, pseudonym, pseudonyms


def _demo() -> Path | None:
    raw = project_root() / "data" / "raw"
    cands = sorted(p.parent for p in raw.glob("demo*/survey.yml")) if raw.is_dir() else []
    cands = [c for c in cands if (c / "responses" / "forms.csv").is_file()]
    default = [c for c in cands if c.name == DEMO]  # the survey the shared demo_root fixture runs
    return (default or cands[-1:] or [None])[0]


def _secrets(raw_dir: Path) -> tuple[set[str], set[str]]:
    names, phones = set(), set()
    forms = pd.read_csv(raw_dir / "responses" / "forms.csv", dtype=str, keep_default_na=False)
    names |= {n for n in forms.get("respondent_name", []) if len(n) >= 6}
    phones |= {p for p in forms.get("phone", []) if len(p) >= 8}
    for f in sorted((raw_dir / "restricted").glob("*.csv")) if (raw_dir / "restricted").is_dir() else []:
        t = pd.read_csv(f, dtype=str, keep_default_na=False)
        for c in t.columns:
            if "name" in c:
                names |= {n for n in t[c] if len(n) >= 6}
            if "phone" in c:
                phones |= {p for p in t[c] if len(p) >= 8}
    return names, phones


def _scan(dirs: list[Path], names: set[str], phones: set[str]) -> list[str]:
    hits = []
    name_bytes = [(n, n.encode("utf-8")) for n in names]
    phone_re = re.compile(r"(?<![\d.])(" + "|".join(map(re.escape, sorted(phones))) + r")(?!\d)") if phones else None
    for d in dirs:
        for f in sorted(p for p in d.rglob("*") if p.is_file()):
            data = f.read_bytes()
            text = data.decode("utf-8", errors="ignore")
            for n, b in name_bytes:
                if b in data:
                    hits.append(f"{f}: name {n!r}")
            if phone_re is not None:
                m = phone_re.search(text)
                if m:
                    hits.append(f"{f}: phone {m.group(1)}")
    return hits


@pytest.fixture(scope="module")
def demo_dir() -> Path:
    d = _demo()
    if d is None:
        pytest.skip("demo data absent: run the synthetic generator (data/raw/demo-*/responses/forms.csv) first")
    return d


def test_demo_outputs_hold_no_personal_data(demo_dir, tmp_path):
    cfg = load_config(demo_dir, check_files=False)
    inst = load_instrument(cfg.instrument_id, cfg.instrument_version)
    salt_file = demo_dir / "restricted" / "salt.txt"
    salt = salt_file.read_text(encoding="utf-8").strip() if salt_file.is_file() else "test-salt"
    res = read_responses(cfg.responses, instrument=inst, salt=salt, absent=cfg.design.absent_levels)
    sample = demo_dir / "sample" / "households_selected.csv"
    keys = set(pseudonyms(pd.read_csv(sample, dtype=str)["household_id"], salt=salt)) if sample.is_file() else None
    cleaned = clean_forms(res.forms, instrument=inst, sample_keys=keys)
    root = tmp_path
    proc = root / "data" / "processed" / cfg.survey_id
    rep = root / "reports" / cfg.survey_id
    write_csv(res.forms, proc / "forms_canonical.csv")
    write_csv(res.log, proc / "ingest_log.csv")
    write_csv(cleaned.clean, proc / "forms_clean.csv")
    write_csv(cleaned.invalid, proc / "forms_invalid.csv")
    write_csv(cleaned.audit, proc / "audit.csv")
    write_csv(cleaned.summary, rep / "cleaning_summary.csv")
    write_sav(cleaned.clean, proc / "forms_clean.sav", instrument=inst)
    write_dta(cleaned.clean, proc / "forms_clean.dta", instrument=inst)
    restricted = write_restricted(res, restricted_dir=root / "restricted" / cfg.survey_id)
    with pytest.raises(PrivacyError):
        write_restricted(res, restricted_dir=proc)

    names, phones = _secrets(demo_dir)
    assert names and phones
    # the scanner works: it finds them in the restricted file
    assert _scan([restricted.parent], names, phones)
    assert _scan([proc, rep], names, phones) == []
    # household ids appear only as salted keys
    hh = pd.read_csv(cfg.responses[0], dtype=str)["household_id"]
    assert not set(hh) & set(cleaned.clean["respondent_key"].dropna())
    assert pseudonym(hh.iloc[0], salt=salt) == res.forms["respondent_key"].iloc[0]


def test_project_demo_run_holds_no_personal_data(demo_dir, demo_root):
    """The full demo run (``sipas report`` into a temporary root, tests/conftest.py) holds no personal data."""
    sid = demo_dir.name
    dirs = [demo_root / "data" / "processed" / sid, demo_root / "reports" / sid]
    assert all(d.is_dir() and any(d.iterdir()) for d in dirs)
    names, phones = _secrets(demo_dir)
    assert _scan(dirs, names, phones) == []

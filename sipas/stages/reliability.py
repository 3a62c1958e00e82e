"""Stage 2: reliability of the questionnaire scales.

Reads only files of earlier stages; writes through :mod:`sipas.io` (atomic, deterministic).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sipas import io as sio
from sipas.config import SurveyConfig
from sipas.instrument import load_instrument
from sipas.stages._common import StageResult, manifest, need, write_tables


def reliability_groups(instrument) -> dict[str, list[str]]:
    """Criteria whose index items share one ordinal scale with >= 2 items (alpha is defined)."""
    items = instrument.items
    idx = items[items["index"] & items["criterion"].notna()]
    groups = {}
    for crit, g in idx.groupby("criterion", sort=True):
        ordinal = g[[len(instrument.valid_codes(i)) > 2 for i in g["item"]]]
        if len(ordinal) >= 2:
            groups[crit] = ordinal["item"].tolist()
    return groups


def scored_items(forms: pd.DataFrame, instrument, items: list[str]) -> pd.DataFrame:
    """Item codes as numbers, missing codes and out-of-range codes as NaN."""
    out = {}
    for it in items:
        v = pd.to_numeric(forms[it], errors="coerce").astype(float)
        out[it] = v.where(v.isin(instrument.valid_codes(it)))
    return pd.DataFrame(out, index=forms.index)


def run_reliability(cfg: SurveyConfig, *, root: Path | None = None) -> StageResult:
    """Cronbach's alpha and item statistics per criterion (see :mod:`sipas.reliability`)."""
    from sipas import reliability

    out = cfg.processed_dir(root)
    src = need(out / "forms_clean.csv", "cleaning")
    forms = sio.read_csv(src)
    inst = load_instrument(cfg.instrument_id, cfg.instrument_version)
    groups = reliability_groups(inst)
    data = scored_items(forms, inst, sorted({i for g in groups.values() for i in g}))
    tables = {"reliability_criteria": reliability.criterion_reliability(data, groups),
              "reliability_items": reliability.item_reliability(data, groups)}
    written = write_tables(tables, out)
    written.append(manifest(cfg, "reliability", out, [src], written, root))
    return StageResult("reliability", tables, written)

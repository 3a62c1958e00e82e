"""Stage 4: SIPAS indices, rankings, year-over-year change.

Reads only files of earlier stages; writes through :mod:`sipas.io` (atomic, deterministic).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sipas import io as sio
from sipas.config import SurveyConfig, project_root
from sipas.errors import StageInputMissing
from sipas.instrument import load_instrument
from sipas.stages._common import StageResult, manifest, need, write_tables
from sipas.stages.weighting import replicate_weights

PROFILE_VARS = ("sex", "ethnicity", "education")


def run_indices(cfg: SurveyConfig, *, root: Path | None = None) -> StageResult:
    """Indices by item, criterion, aspect and overall, province and districts; ranking; change."""
    from sipas import scoring

    out = cfg.processed_dir(root)
    src = need(out / "forms_clean.csv", "cleaning")
    wsrc = need(out / "weights.csv", "weighting")
    forms = sio.read_csv(src)
    weights = sio.read_csv(wsrc)
    df = forms.merge(weights[["form_id", "w_nr", "w_final", "village"]], on="form_id", how="inner",
                     validate="one_to_one")
    inst = load_instrument(cfg.instrument_id, cfg.instrument_version)
    tsrc = out / "poststrata_totals.csv"
    totals = sio.read_csv(tsrc) if tsrc.is_file() else None
    rep = replicate_weights(df, totals=totals)
    if not np.allclose(rep.weights, df["w_final"].to_numpy(), rtol=1e-9):
        raise StageInputMissing(f"{wsrc}: w_final differs from the re-derived weights; rerun the weighting stage")
    ind = scoring.positive_indicators(df, instrument=inst)
    idx = scoring.estimate_indices(ind, instrument=inst, rep=rep, by=df["district"], by_type="district",
                                   total_label=cfg.province["vi"], psu=df["commune"], strata=df["district"])
    published = scoring.suppress_small_cells(idx, min_n=cfg.min_cell_size)
    overall = idx[(idx["level"] == "overall") & (idx["domain_type"] == "district")]
    ranking = scoring.rank_units(overall)
    needs = [c for c in inst.criteria.loc[inst.criteria["aspect"] == "needs", "criterion"]]
    need_tabs = [scoring.estimate_shares(scoring.choice_indicators(df, instrument=inst, criterion=c), rep=rep)
                 .assign(criterion=c) for c in needs]
    tables = {"indices": idx, "indices_published": published, "ranking": ranking,
              "needs": pd.concat(need_tabs, ignore_index=True) if need_tabs else pd.DataFrame()}
    read = [src, wsrc] + ([tsrc] if totals is not None else [])

    prof = []
    for var in PROFILE_VARS:
        if var in df.columns:
            s = df.groupby(var)["w_final"].sum()
            cnt = df.groupby(var).size()
            prof.append(pd.DataFrame({"variable": var, "level": s.index.astype(int), "n": cnt.to_numpy(),
                                      "share": (s / s.sum()).to_numpy()}))
    tables["profile"] = pd.concat(prof, ignore_index=True) if prof else pd.DataFrame()

    prev = cfg.extra.get("previous_survey")
    if prev:
        prev_path = (root or project_root()) / "data" / "processed" / prev / "indices.csv"
        if prev_path.is_file():
            previous = sio.read_csv(prev_path)
            tables["year_over_year"] = scoring.year_over_year(idx, previous)
            read.append(prev_path)
    written = write_tables(tables, out)
    written.append(manifest(cfg, "indices", out, read, written, root))
    return StageResult("indices", tables, written)

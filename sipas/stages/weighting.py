"""Stage 3: design weights, nonresponse adjustment, post-stratification.

Reads only files of earlier stages; writes through :mod:`sipas.io` (atomic, deterministic).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sipas import io as sio
from sipas.config import SurveyConfig
from sipas.errors import StageInputMissing
from sipas.pii import pseudonyms
from sipas.stages._common import StageResult, manifest, need, salt, write_tables


def poststrata_totals(cfg: SurveyConfig) -> pd.DataFrame | None:
    """Household counts per district from the commune frame, when ``weighting.poststratify``
    names ``district`` (the default when the frame has a ``households`` column)."""
    var = (cfg.extra.get("weighting") or {}).get("poststratify", "district")
    if not var or "communes" not in cfg.frames:
        return None
    com = pd.read_csv(cfg.frames["communes"])
    if "households" not in com.columns or var not in com.columns:
        return None
    return com.groupby(var, sort=True)["households"].sum().reset_index()


def run_weighting(cfg: SurveyConfig, *, root: Path | None = None) -> StageResult:
    """Design weights from the sample's inclusion probabilities, nonresponse-adjusted within cells."""
    from sipas import weighting
    from sipas.estimation import Design

    out = cfg.processed_dir(root)
    src = need(out / "forms_clean.csv", "cleaning")
    forms = sio.read_csv(src)
    samp = (cfg.extra.get("sampling") or {}).get("sample_file")
    if not samp:
        raise StageInputMissing(f"{cfg.path}: sampling.sample_file is needed for design weights")
    sample_path = cfg.raw_path(samp)
    sample = pd.read_csv(sample_path, dtype={"household_id": str})
    sample["respondent_key"] = pseudonyms(sample["household_id"], salt=salt(cfg))
    sample = sample.drop_duplicates("respondent_key")
    sample["w_design"] = weighting.design_weights(sample["pi"])
    responded = sample["respondent_key"].isin(set(forms["respondent_key"]))
    wcfg = cfg.extra.get("weighting") or {}
    cells = wcfg.get("nonresponse_cells", ["district", "commune"])
    sample["w_nr"] = weighting.nonresponse_adjust(sample["w_design"], responded=responded, cells=sample[cells])
    keep = ["respondent_key", "district", "commune", "sample_village", "pi", "w_design", "w_nr"]
    w = forms[["form_id", "respondent_key"]].merge(sample[keep], on="respondent_key", how="left",
                                                   validate="one_to_one")
    w = w.rename(columns={"sample_village": "village"})
    if w["w_nr"].isna().any():
        bad = w.loc[w["w_nr"].isna(), "form_id"].tolist()[:5]
        raise StageInputMissing(f"forms without a sampled household in {sample_path}: {', '.join(bad)}")
    read = [src, sample_path]
    totals = poststrata_totals(cfg)
    if totals is not None:
        read.append(cfg.frames["communes"])
        ps = weighting.poststratify(Design(w, weight="w_nr", strata="district", psu="commune"),
                                    {"district": dict(zip(totals["district"], totals["households"]))})
        w["w_final"] = np.asarray(ps.weights, dtype=float)
    else:
        w["w_final"] = w["w_nr"]
    summary = pd.concat([
        weighting.weight_summary(w["w_design"]).to_frame().assign(weights="design"),
        weighting.weight_summary(w["w_nr"]).to_frame().assign(weights="nonresponse"),
        weighting.weight_summary(w["w_final"]).to_frame().assign(weights="final"),
    ], ignore_index=True)
    tables = {"weights": w, "weight_summary": summary}
    if totals is not None:
        tables["poststrata_totals"] = totals
    written = write_tables(tables, out)
    written.append(manifest(cfg, "weighting", out, read, written, root))
    return StageResult("weighting", tables, written)


def replicate_weights(weights: pd.DataFrame, *, totals: pd.DataFrame | None = None, strata: str = "district",
                      psu: str = "commune"):
    """JKn replicate weights of the stratified cluster design, post-stratified when ``totals`` is given.

    Districts are strata and communes the primary sampling units; each replicate is
    post-stratified to the same district totals (R ``postStratify`` on a replicate
    design).  R equivalent::

        d <- svydesign(ids=~commune, strata=~district, weights=~w_nr, data=w)
        r <- postStratify(as.svrepdesign(d, type="JKn"), ~district, totals)
    """
    from sipas import weighting
    from sipas.estimation import Design
    from sipas.scoring import ReplicateWeights

    design = Design(weights, weight="w_nr", strata=strata, psu=psu)
    rep = design.replicate("JKn")
    if totals is not None:
        rep = weighting.poststratify(rep, {strata: dict(zip(totals[strata], totals["households"]))})
    spec = rep._replicates
    return ReplicateWeights(weights=np.asarray(rep.weights, dtype=float),
                            replicates=np.asarray(rep.replicate_weights(), dtype=float),
                            scale=float(spec.scale), rscales=np.asarray(spec.rscales, dtype=float),
                            df=float(design.df), kind="JKn", mse=bool(spec.mse))

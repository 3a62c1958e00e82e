"""The stages of a survey-year's analysis, each reading only earlier stages' files.

=========  ==============================  ===========================================
stage      reads                           writes (``data/processed/<survey-id>/``)
=========  ==============================  ===========================================
cleaning   data/raw/<id> (forms, sample,   forms_clean.csv, forms_invalid.csv,
           fieldwork log)                  audit_log.csv, cleaning_summary.csv,
                                           ingest_log.csv, response_rates.csv;
                                           personal data to ``restricted/<id>/`` only
reliab.    forms_clean.csv                 reliability_criteria.csv, reliability_items.csv
weighting  forms_clean.csv, raw sample     weights.csv, weight_summary.csv
indices    forms_clean.csv, weights.csv,   indices.csv, indices_published.csv,
           previous year's indices.csv     ranking.csv, year_over_year.csv, profile.csv
=========  ==============================  ===========================================

Every stage also writes ``manifest_<stage>.json`` with the SHA-256 of what it read
and wrote.  Outputs are written atomically and deterministically (:mod:`sipas.io`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sipas import io as sio
from sipas.config import SurveyConfig, project_root
from sipas.errors import StageInputMissing
from sipas.instrument import load_instrument
from sipas.pii import pseudonyms

STAGES = ("cleaning", "reliability", "weighting", "indices")


@dataclass
class StageResult:
    """Tables a stage produced (also written to disk) and the paths it wrote."""

    stage: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    written: list[Path] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


def _need(path: Path, stage: str) -> Path:
    if not path.is_file():
        raise StageInputMissing(f"{path} is missing: run the '{stage}' stage first (sipas {stage} --survey ...)")
    return path


def _manifest(cfg: SurveyConfig, stage: str, out: Path, read: list[Path], written: list[Path],
              root: Path | None) -> Path:
    root = (root or project_root()).resolve()

    def rel(p: Path) -> str:
        try:
            return str(p.resolve().relative_to(root))
        except ValueError:
            return p.name

    data = {"survey_id": cfg.survey_id, "stage": stage,
            "read": {rel(p): sio.sha256_file(p) for p in read},
            "written": {rel(p): sio.sha256_file(p) for p in written}}
    return sio.write_json(data, out / f"manifest_{stage}.json")


def _write(tables: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    return [sio.write_csv(df, out / f"{name}.csv") for name, df in tables.items()]


def _salt(cfg: SurveyConfig) -> str:
    rest = cfg.extra.get("restricted", {}) or {}
    if "salt_file" in rest:
        return cfg.raw_path(rest["salt_file"]).read_text(encoding="utf-8").strip()
    return f"sipas-{cfg.survey_id}"


def run_cleaning(cfg: SurveyConfig, *, root: Path | None = None) -> StageResult:
    """Ingest the raw forms, split off personal data, clean by declared rules; fieldwork rates."""
    from sipas import cleaning, ingest

    out = cfg.processed_dir(root)
    inst = load_instrument(cfg.instrument_id, cfg.instrument_version)
    res = ingest.read_responses(list(cfg.responses), instrument=inst, salt=_salt(cfg))
    restricted_dir = (root or project_root()) / "restricted" / cfg.survey_id
    ingest.write_restricted(res, restricted_dir=restricted_dir)
    read = list(cfg.responses)

    sample_keys = None
    samp = (cfg.extra.get("sampling") or {}).get("sample_file")
    if samp:
        sample_path = cfg.raw_path(samp)
        sample = pd.read_csv(sample_path, dtype={"household_id": str})
        sample_keys = set(pseudonyms(sample["household_id"], salt=_salt(cfg)))
        read.append(sample_path)
    cl = cleaning.clean_forms(res.forms, instrument=inst, sample_keys=sample_keys)
    tables = {"forms_clean": cl.clean, "forms_invalid": cl.invalid, "audit_log": cl.audit,
              "cleaning_summary": cl.summary, "ingest_log": res.log}

    log_rel = (cfg.extra.get("fieldwork") or {}).get("distribution_log")
    if log_rel:
        from sipas import fieldwork

        log_path = cfg.raw_path(log_rel)
        log = pd.read_csv(log_path, dtype={"household_id": str, "form_id": str})
        log = log.drop(columns=["household_id"])
        log["valid"] = log["form_id"].isin(set(cl.clean["form_id"])).astype(int)
        by = ["district", "commune"]
        rr = fieldwork.response_rates(log, by=by)
        valid = fieldwork.response_rates(log, by=by, returned="valid")
        rr = rr.merge(valid[by + ["returned"]].rename(columns={"returned": "valid"}), on=by, how="left")
        rr["valid_rate"] = rr["valid"] / rr["returned"]
        tables["response_rates"] = rr
        read.append(log_path)
    written = _write(tables, out)
    written.append(_manifest(cfg, "cleaning", out, read, written, root))
    return StageResult("cleaning", tables, written, {"restricted_dir": restricted_dir})


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
    src = _need(out / "forms_clean.csv", "cleaning")
    forms = sio.read_csv(src)
    inst = load_instrument(cfg.instrument_id, cfg.instrument_version)
    groups = reliability_groups(inst)
    data = scored_items(forms, inst, sorted({i for g in groups.values() for i in g}))
    tables = {"reliability_criteria": reliability.criterion_reliability(data, groups),
              "reliability_items": reliability.item_reliability(data, groups)}
    written = _write(tables, out)
    written.append(_manifest(cfg, "reliability", out, [src], written, root))
    return StageResult("reliability", tables, written)


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
    src = _need(out / "forms_clean.csv", "cleaning")
    forms = sio.read_csv(src)
    samp = (cfg.extra.get("sampling") or {}).get("sample_file")
    if not samp:
        raise StageInputMissing(f"{cfg.path}: sampling.sample_file is needed for design weights")
    sample_path = cfg.raw_path(samp)
    sample = pd.read_csv(sample_path, dtype={"household_id": str})
    sample["respondent_key"] = pseudonyms(sample["household_id"], salt=_salt(cfg))
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
    written = _write(tables, out)
    written.append(_manifest(cfg, "weighting", out, read, written, root))
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


PROFILE_VARS = ("sex", "ethnicity", "education")


def run_indices(cfg: SurveyConfig, *, root: Path | None = None) -> StageResult:
    """Indices by item, criterion, aspect and overall, province and districts; ranking; change."""
    from sipas import scoring

    out = cfg.processed_dir(root)
    src = _need(out / "forms_clean.csv", "cleaning")
    wsrc = _need(out / "weights.csv", "weighting")
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
    written = _write(tables, out)
    written.append(_manifest(cfg, "indices", out, read, written, root))
    return StageResult("indices", tables, written)


RUNNERS = {"cleaning": run_cleaning, "reliability": run_reliability, "weighting": run_weighting,
           "indices": run_indices}

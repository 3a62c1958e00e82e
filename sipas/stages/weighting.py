"""Stage 3: design weights, nonresponse adjustment, calibration (post-stratification or raking).

Reads only files of earlier stages (``forms_clean.csv``) and the raw sample and commune frame;
writes through :mod:`sipas.io` (atomic, deterministic):

=========================  ==================================================================
file                       content
=========================  ==================================================================
weights.csv                one row per form: ``w_design`` (1/pi), ``w_nr`` (nonresponse-adjusted),
                           ``w_final`` (calibrated, optionally trimmed)
weight_summary.csv         ``n, total, min, max, mean, cv, kish_deff, n_eff, weights`` for the
                           design / nonresponse / final weights
weight_margins.csv         ``margin, level, population, before, after, n``: the calibration
                           margins, weighted totals before (``w_nr``) and after (``w_final``)
weight_diagnostics.csv     the final weights summarised by district
poststrata_totals.csv      the calibration population (read by the indices stage)
=========================  ==================================================================

**Calibration, configured in survey.yml** (``weighting:``):

* default -- post-stratification of ``w_nr`` to the household counts of the design's strata in
  the commune frame (``poststratify: <strata>``, the ``design.strata`` of survey.yml: districts in
  a three-tier survey, e.g. ``commune_type`` in a two-tier one; R
  ``postStratify(design, ~district, totals)``);
* ``rake: [district, urban]`` -- raking (iterative proportional fitting, R ``rake()``) to the
  household totals of each listed margin.  A margin is a column of the commune frame, or
  ``urban``: ``"urban"`` for communes of type Phường or Thị trấn, ``"rural"`` otherwise
  (``commune_type``).  Iterations continue until the largest change of the weighted margin
  table is below ``rake_epsilon`` (default ``1e-12``) times the total weight; a non-converged
  raking is an error;
* ``trim: {upper: U, lower: L}`` -- after calibration, weights outside ``[L, U]`` are set to
  the bound and the trimmed amount is shared equally among the other weights (R
  ``trimWeights``; the total is kept, the margins then hold only approximately).

The JKn replicate weights (:func:`replicate_weights`, used by the indices stage) repeat the
calibration (and trimming) on every replicate, so that the variance accounts for it, as R's
``postStratify``/``rake``/``trimWeights`` on a ``svrep.design`` do.  The calibration
population is handed to the indices stage in ``poststrata_totals.csv``: stratum totals
(``district, households``) for post-stratification; for raking, the commune frame
(``district, commune, households`` -- ``commune, households`` in a two-tier survey -- and one
column ``rake_<margin>`` per margin in raking order, holding the commune's level), plus
``trim_upper``/``trim_lower`` columns when trimming.

**Unit hierarchy** (:class:`sipas.config.Hierarchy`, ``design:`` of survey.yml): strata
(``district``, or a commune-frame column such as ``commune_type`` since 1/7/2025), PSUs
(communes) and the columns identifying a commune (``district, commune`` or ``commune``) are
read from the configuration, never assumed.  Strata that are commune-frame columns are copied
into ``weights.csv`` beside the fpc column.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sipas import io as sio
from sipas import rawfiles
from sipas.config import SurveyConfig
from sipas.errors import ConfigError, StageInputMissing
from sipas.estimation.survey_design import (
    _RAKE_PREFIX,
    FPC_COLUMN,
    _with_margin_columns,
    final_weights,
    calibration_margins,
)
from sipas.forms.pii import pseudonyms
from sipas.stages._common import StageResult, manifest, need, salt, sample_list, transactional, write_tables
from sipas.text.units import (
    URBAN_TYPES,  # commune types counted as urban (input vocabulary of the commune frame)
)


def _weighting_cfg(cfg: SurveyConfig) -> dict[str, Any]:
    wcfg = cfg.extra.get("weighting") or {}
    if not isinstance(wcfg, dict):
        raise ConfigError("must be a mapping", file=cfg.path, key="weighting")
    return wcfg


def _trim_bounds(cfg: SurveyConfig) -> tuple[float, float] | None:
    trim = _weighting_cfg(cfg).get("trim")
    if not trim:
        return None
    if not isinstance(trim, dict) or not set(trim) <= {"upper", "lower"}:
        raise ConfigError("must be a mapping with 'upper' and/or 'lower'", file=cfg.path, key="weighting.trim")
    try:
        upper = float(trim.get("upper", np.inf))
        lower = float(trim.get("lower", -np.inf))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"bounds must be numbers: {exc}", file=cfg.path, key="weighting.trim") from None
    if not lower < upper:
        raise ConfigError(f"lower ({lower}) must be below upper ({upper})", file=cfg.path, key="weighting.trim")
    return upper, lower


def commune_classes(communes: pd.DataFrame, margins: list[str], *, path: Path | str = "",
                    keys: tuple[str, ...] = ("district", "commune")) -> pd.DataFrame:
    """The commune frame with one ``rake_<margin>`` column per raking margin.

    ``urban`` is derived from ``commune_type`` (``"urban"`` for Phường and Thị trấn, else
    ``"rural"``); any other margin must be a column of the frame.  ``keys`` are the columns
    identifying a commune (:attr:`sipas.config.Hierarchy.unit_keys`).

    Returns
    -------
    DataFrame
        ``<keys>, households, rake_<m1>, rake_<m2>, ...`` (margins in raking order).
    """
    need_cols = {*keys, "households"}
    missing = need_cols - set(communes.columns)
    if missing:
        raise StageInputMissing(f"{path}: commune frame lacks {', '.join(sorted(missing))} (needed for raking)")
    out = communes[[*keys, "households"]].copy()
    for m in margins:
        if m == "urban":
            if "commune_type" not in communes.columns:
                raise StageInputMissing(f"{path}: commune frame lacks commune_type (needed for the urban margin)")
            out[_RAKE_PREFIX + m] = np.where(communes["commune_type"].isin(URBAN_TYPES), "urban", "rural")
        elif m in communes.columns:
            out[_RAKE_PREFIX + m] = communes[m].astype(str) if m != "district" else communes[m]
        else:
            raise StageInputMissing(f"{path}: raking margin {m!r} is neither 'urban' nor a column of the commune frame")
    return out


def psu_population(cfg: SurveyConfig) -> pd.DataFrame | None:
    """Number of PSUs (communes) per stratum in the commune frame (the stage-1 finite population correction).

    Returns ``<strata>, psu_population`` (``district`` in a three-tier survey, e.g.
    ``commune_type`` in a two-tier one: :attr:`sipas.config.Hierarchy.strata`), or None without a
    commune frame or without the stratum column.  Used as R's ``fpc=~N_h`` so that the jackknife
    accounts for drawing ``n_h`` of a stratum's ``N_h`` communes without replacement: JKn
    ``rscales = (n_h - 1) / n_h * (1 - n_h / N_h)``.  For communes chosen with unequal
    probabilities this is the usual approximation; the Monte Carlo test on the demo province
    (tests/test_montecarlo_demo.py) measures its coverage.
    """
    if "communes" not in cfg.frames:
        return None
    strata = cfg.design.strata
    com = rawfiles.read_table(cfg.frames["communes"])
    if strata not in com.columns:
        return None
    return com.groupby(strata, sort=True).size().rename(FPC_COLUMN).reset_index()


def commune_design_columns(cfg: SurveyConfig) -> pd.DataFrame | None:
    """The design columns of each commune that are not unit keys (e.g. the stratum ``commune_type``
    of a two-tier survey), keyed by :attr:`sipas.config.Hierarchy.unit_keys`; None when there are none."""
    cols = list(cfg.design.frame_columns)
    if not cols or "communes" not in cfg.frames:
        return None
    keys = list(cfg.design.unit_keys)
    com = rawfiles.read_table(cfg.frames["communes"], dtype=str, keep_default_na=False)
    missing = [c for c in keys + cols if c not in com.columns]
    if missing:
        raise StageInputMissing(f"{cfg.frames['communes']}: commune frame lacks {', '.join(missing)} "
                                f"(design: {cfg.design})")
    if com.duplicated(keys).any():
        raise StageInputMissing(f"{cfg.frames['communes']}: a commune ({', '.join(keys)}) is listed twice")
    return com[keys + cols]


def poststrata_totals(cfg: SurveyConfig) -> pd.DataFrame | None:
    """The calibration population of the survey-year, or None when there is nothing to calibrate to.

    Without ``weighting.rake``: household counts per stratum from the commune frame, when
    ``weighting.poststratify`` names a column of it (default: the design's strata,
    ``cfg.design.strata``, when the frame has a ``households`` column) -- columns
    ``<strata>, households``.  With ``weighting.rake``: the
    commune frame with the raking classes, as :func:`commune_classes`.  With
    ``weighting.trim``: constant columns ``trim_upper`` and ``trim_lower`` added.
    """
    wcfg = _weighting_cfg(cfg)
    rake = wcfg.get("rake")
    if "communes" not in cfg.frames:
        if rake:
            raise StageInputMissing(f"{cfg.path}: weighting.rake needs frames.communes")
        return None
    com = rawfiles.read_table(cfg.frames["communes"])
    if rake:
        if isinstance(rake, str):
            rake = [rake]
        if not isinstance(rake, list) or not rake or len(set(rake)) != len(rake):
            raise ConfigError("must be a list of distinct margins, e.g. [district, urban]", file=cfg.path,
                              key="weighting.rake")
        out = commune_classes(com, [str(m) for m in rake], path=cfg.frames["communes"],
                              keys=cfg.design.unit_keys)
    else:
        var = wcfg.get("poststratify", cfg.design.strata)
        if not var or "households" not in com.columns or var not in com.columns:
            return None
        out = com.groupby(var, sort=True)["households"].sum().reset_index()
    bounds = _trim_bounds(cfg)
    if bounds is not None:
        out["trim_upper"], out["trim_lower"] = bounds
    return out


@transactional
def run_weighting(cfg: SurveyConfig, *, root: Path | None = None) -> StageResult:
    """Design weights from the sample's inclusion probabilities, nonresponse-adjusted within cells,
    calibrated to the commune frame's household counts (see the module docstring).

    Formulae: ``w_design = 1 / pi``; within nonresponse cell ``c``,
    ``w_nr = w_design * sum_{sampled in c} w_design / sum_{responding in c} w_design``;
    post-stratification ``w_final = w_nr * N_g / sum_{g} w_nr``; raking iterates that over the
    margins (Deming & Stephan 1940).  Diagnostics: Kish (1965) ``deff = n sum w^2 / (sum w)^2``,
    ``n_eff = (sum w)^2 / sum w^2``.

    Raises
    ------
    InputError
        Naming file, row and column of a bad sample list (missing ``pi`` or unit column, ``pi`` not a
        probability, an .xlsx under a .csv name...) or commune frame.
    ConfigError
        Naming the ``weighting`` key of survey.yml that is wrong.
    """
    from sipas.estimation import weighting

    out = cfg.processed_dir(root)
    src = need(out / "forms_clean.csv", "cleaning")
    forms = sio.read_csv(src)
    if not (cfg.extra.get("sampling") or {}).get("sample_file"):
        raise StageInputMissing(f"{cfg.path}: sampling.sample_file is needed for design weights")
    wcfg = _weighting_cfg(cfg)
    hier = cfg.design
    keys = list(hier.unit_keys)
    sample, sample_path = sample_list(cfg, columns=("household_id", "pi", *keys, "sample_village"))
    cells = wcfg.get("nonresponse_cells", keys)
    if (not isinstance(cells, list) or not cells or not all(isinstance(c, str) for c in cells)
            or any(c not in sample.columns for c in cells)):
        raise ConfigError(f"must be a list of columns of the sample list ({', '.join(map(str, sample.columns))}), "
                          f"got {cells!r}", file=cfg.path, key="weighting.nonresponse_cells")
    sample["respondent_key"] = pseudonyms(sample["household_id"], salt=salt(cfg, root=root))
    sample = sample.drop_duplicates("respondent_key")
    sample, subs_path = _with_substitutes(sample, out)
    sample["w_design"] = weighting.design_weights(pd.to_numeric(sample["pi"]))
    responded = sample["respondent_key"].isin(set(forms["respondent_key"]))
    sample["w_nr"] = weighting.nonresponse_adjust(sample["w_design"], responded=responded, cells=sample[cells])
    keep = ["respondent_key", *keys, "sample_village", "pi", "w_design", "w_nr"]
    w = forms[["form_id", "respondent_key"]].merge(sample[keep], on="respondent_key", how="left",
                                                   validate="one_to_one")
    w = w.rename(columns={"sample_village": "village"})
    if w["w_nr"].isna().any():
        bad = w.loc[w["w_nr"].isna(), "form_id"].tolist()[:5]
        raise StageInputMissing(f"forms without a sampled household in {sample_path}: {', '.join(bad)}")
    read = [src, sample_path, *([subs_path] if subs_path else [])]
    design_cols = commune_design_columns(cfg)
    if design_cols is not None:
        w = w.merge(design_cols, on=keys, how="left", validate="many_to_one")
        if w[list(hier.frame_columns)].isna().any().any():
            raise StageInputMissing(f"sampled communes absent from the commune frame {cfg.frames['communes']}")
        read.append(cfg.frames["communes"])
    psu_pop = psu_population(cfg)
    if psu_pop is not None:
        w = w.merge(psu_pop, on=hier.strata, how="left", validate="many_to_one")
        if cfg.frames["communes"] not in read:
            read.append(cfg.frames["communes"])
    totals = poststrata_totals(cfg)
    info: dict[str, Any] = {"calibration": "none"}
    if totals is not None:
        if cfg.frames["communes"] not in read:
            read.append(cfg.frames["communes"])
        data = _with_margin_columns(w, totals)
        w["w_final"] = final_weights(w, totals, strata=hier.strata, psu=hier.psu)
        info["calibration"] = ("rake" if any(c.startswith(_RAKE_PREFIX) for c in totals.columns)
                               else "poststratify")
        info["margins"] = list(calibration_margins(totals))
        info["trimmed"] = "trim_upper" in totals.columns
    else:
        data = w
        w["w_final"] = w["w_nr"]
    summary = weighting.weight_steps_summary(w)
    tables = {"weights": w, "weight_summary": summary,
              "weight_diagnostics": summary_by(w, by=hier.strata, weight="w_final")}
    if totals is not None:
        tables["weight_margins"] = margin_table(data.assign(w_final=w["w_final"].to_numpy()),
                                                calibration_margins(totals))
        tables["poststrata_totals"] = totals
    written = write_tables(tables, out)
    written.append(manifest(cfg, "weighting", out, read, written, root))
    return StageResult("weighting", tables, written, info=info)


def _with_substitutes(sample: pd.DataFrame, out: Path) -> tuple[pd.DataFrame, Path | None]:
    """The sample as weighted: the official list, where each reserve household that replaced an official one
    (``substitutions.csv`` of the cleaning stage) stands in its place, with its inclusion probability ``pi``
    and units; reserve households that replaced nobody are left out."""
    from sipas.stages._common import reserve_rows

    path = out / "substitutions.csv"
    reserve = reserve_rows(sample)
    if not path.is_file():
        return sample[~reserve].copy(), None
    subs = sio.read_csv(path, dtype={"substitute_key": str, "replaces_key": str})
    if subs.empty:
        return sample[~reserve].copy(), path
    by_key = sample.set_index("respondent_key")
    stand_in = by_key.loc[subs["replaces_key"]].copy()  # the replaced household's row: pi, units, village
    stand_in.index = pd.Index(subs["substitute_key"].to_numpy(), name="respondent_key")
    for c in ("household_id", "list"):
        if c in by_key.columns:
            stand_in[c] = by_key.loc[subs["substitute_key"], c].to_numpy()
    official = sample[~reserve & ~sample["respondent_key"].isin(set(subs["replaces_key"]))]
    return pd.concat([official, stand_in.reset_index()[sample.columns]], ignore_index=True), path


def margin_table(data: pd.DataFrame, margins: Mapping[str, Mapping[Any, float]], *, before: str = "w_nr",
                 after: str = "w_final") -> pd.DataFrame:
    """Weighted totals of every calibration margin before and after calibration.

    Returns
    -------
    DataFrame
        ``margin, level, population, before, after, n`` -- ``population`` the frame's household
        count ``N_l``, ``before = sum_{i in l} w_nr_i``, ``after = sum_{i in l} w_final_i``,
        ``n`` the respondents in the level.
    """
    rows = []
    for var, pop in margins.items():
        b = data.groupby(var, sort=False)[before].sum()
        a = data.groupby(var, sort=False)[after].sum()
        n = data.groupby(var, sort=False).size()
        for level, value in pop.items():
            rows.append({"margin": var, "level": level, "population": float(value),
                         "before": float(b.get(level, 0.0)), "after": float(a.get(level, 0.0)),
                         "n": int(n.get(level, 0))})
    return pd.DataFrame(rows, columns=["margin", "level", "population", "before", "after", "n"])


def summary_by(weights: pd.DataFrame, *, by: str = "district", weight: str = "w_final") -> pd.DataFrame:
    """:func:`sipas.estimation.weighting.weight_summary` of ``weight`` within each level of ``by``
    (columns ``<by>, n, total, min, max, mean, cv, kish_deff, n_eff``)."""
    from sipas.estimation import weighting

    return weighting.weight_summary_by(weights, by=by, weight=weight)

"""Stage 4: SIPAS indices, breakdowns by respondent group, rankings, year-over-year change.

Writes ``indices.csv`` (province and report units -- districts, or communes in a two-tier
survey -- every level), ``indices_published.csv``
(cells with fewer than ``min_cell_size`` respondents blanked), ``indices_groups.csv`` and
``indices_groups_published.csv`` (sex, age group, ethnicity, urban/rural; overall, content, aspect
and criterion levels), ``ranking.csv`` (rank, rank interval, groups not distinguishable),
``index_rules.csv`` (the rule used -- ``index_rule`` of survey.yml or the instrument's default --
and the instrument's other rules, each with its source and ``confirmed`` flag),
``index_sensitivity.csv`` (overall and content indices under every rule, the same domains;
``_published`` with small cells blanked; ``_summary``: per rule, the difference from the rule used
and the number of units whose rank changes), ``distributions.csv`` (share per answer of the questions
reported as distributions: perception and priorities), ``needs.csv``, ``profile.csv`` and, when
the previous year is processed, ``year_over_year.csv`` (and ``_published``).  Every ``_published``
table and the ranking blank the cells with fewer than ``min_cell_size`` respondents (a unit too small
to publish is listed in the ranking without value or rank).  With ``other_indices:`` in survey.yml,
``other_indices.csv`` (the files' indicators, tidy, matched to the report units) and
``other_indices_correlation.csv`` (Spearman's r with the units' overall index and its CI,
:mod:`sipas.indices.other_indices`); a kind with a ranking hook adds its tables (national:
``province_ranking.csv``, :func:`sipas.indices.rank_uncertainty.unit_ranking_tables`).  The whole area's
rows have ``domain_type`` = :attr:`sipas.kinds.SurveyKind.total_domain`.

The units come from the survey's hierarchy (:class:`sipas.config.Hierarchy`): strata and PSUs
of the replicate design, ``domain_type`` = the report unit (``district`` or ``commune``) in
every table and the ranking.  When the report unit is the PSU itself (communes of a two-tier
survey), a commune's index is estimated conditionally on the commune being sampled -- it is its
own population -- with a second JKn design in which communes are strata and the sampled
villages the PSUs (ultimate clusters; df = villages - 1 per commune; calibrated like the final
weights), since the province design, whose PSUs are communes, cannot estimate the variance
of a one-PSU domain.  When the PSU is the respondent (service-user surveys,
:attr:`sipas.config.Hierarchy.element_psu`) the design has one replicate per form; its post-stratified JKn
replicates are then computed in closed form (:func:`sipas.estimation.survey_design.poststratified_jkn`), the
same numbers as the PSU x calibration-cell table, which would be ``n x n``.

Reads only files of earlier stages; writes through :mod:`sipas.io` (atomic, deterministic).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sipas import io as sio
from sipas import rawfiles
from sipas.config import SurveyConfig, project_root
from sipas.errors import ConfigError, LonelyPSUError, StageInputMissing
from sipas.estimation.survey_design import FPC_COLUMN, poststratified_jkn, replicate_weights
from sipas.forms.instrument import load_instrument
from sipas.forms.instrument.rules import IndexRule, instrument_rules, resolve_rule
from sipas.indices.sensitivity import rule_sensitivity
from sipas.stages._common import StageResult, manifest, need, transactional, write_tables

PROFILE_VARS = ("sex", "ethnicity", "education")
#: Respondent groups of the breakdown tables (``indices_groups.csv``), in report order.
GROUP_VARS = ("sex", "age_group", "ethnicity", "area")


def respondent_groups(df: pd.DataFrame, cfg: SurveyConfig, *, instrument=None) -> tuple[pd.DataFrame, list[Path]]:
    """Group of each respondent: sex, age group, ethnicity (Kinh / minority) and area (urban / rural).

    The age group is derived from the form's ``age`` (:func:`sipas.indices.age_group`); a form that records a
    coded ``age_group`` instead (the service-user form) keeps its code where it is one of ``instrument``'s
    profile codes (labels: :meth:`~sipas.forms.instrument.Instrument.profile_labels`), else NaN.

    ``area`` comes from the commune frame's ``commune_type`` (Phường, Thị trấn = urban;
    Xã = rural), matched on district and commune; it is left out when the frame is not
    configured or has no ``commune_type``.  Returns the groups (rows aligned with ``df``)
    and the frame files read.
    """
    from sipas import indices

    g = pd.DataFrame(index=df.index)
    read: list[Path] = []
    if "sex" in df.columns:
        g["sex"] = pd.to_numeric(df["sex"], errors="coerce").where(lambda s: s.isin([1, 2])).astype("Int64")
    if "age" in df.columns:
        g["age_group"] = indices.age_group(df["age"])
    elif "age_group" in df.columns and instrument is not None and instrument.profile_labels("age_group"):
        codes = list(instrument.profile_labels("age_group"))
        g["age_group"] = pd.to_numeric(df["age_group"], errors="coerce").where(lambda s: s.isin(codes)).astype("Int64")
    if "ethnicity" in df.columns:
        g["ethnicity"] = pd.to_numeric(df["ethnicity"], errors="coerce").where(lambda s: s.isin([1, 2])).astype("Int64")
    frame = cfg.frames.get("communes")
    if frame is not None and Path(frame).is_file():
        com = rawfiles.read_table(frame, dtype=str)
        if {"commune", "commune_type"} <= set(com.columns):
            keys = ["district", "commune"] if "district" in com.columns and "district" in df.columns else ["commune"]
            com = com.drop_duplicates(keys)[keys + ["commune_type"]]
            ct = df[keys].astype(str).merge(com, on=keys, how="left", validate="many_to_one")["commune_type"]
            g["area"] = indices.urban_rural(pd.Series(ct.to_numpy(), index=df.index))
            read.append(Path(frame))
    g = g.astype(object).where(g.notna(), np.nan)
    for c in g.columns:
        g[c] = [np.nan if pd.isna(v) else str(v) for v in g[c]]
    return g, read


def unit_indices(df: pd.DataFrame, ind: pd.DataFrame, *, instrument, rep, totals: pd.DataFrame | None,
                 unit: str, total_label: str, total_type: str = "province", village: str = "village",
                 rules: Sequence[IndexRule] | None = None) -> pd.DataFrame:
    """Province indices from the province design, and indices of each sampled PSU (commune).

    The province rows use ``rep`` (strata x communes).  A commune's own index treats the
    commune as its population: its variance comes from the stages below it, estimated with a
    JKn design in which each commune is a stratum and its sampled villages are the PSUs
    (ultimate-cluster approximation, villages treated as drawn with replacement), the
    replicates calibrated like the final weights::

        d <- svydesign(ids=~village, strata=~commune, weights=~w_nr, data=w)
        r <- postStratify(as.svrepdesign(d, type="JKn"), ~commune_type, totals)
        svyby(~y, ~commune, r, svymean)      # CIs with df = villages - 1 per commune

    Parameters
    ----------
    df : DataFrame
        Forms with weights (``w_nr``, ``unit``, ``village``), rows aligned with ``ind``.
    ind : DataFrame
        :func:`sipas.indices.indices.positive_indicators` of ``df``.
    rep : ReplicateWeights
        The province design's replicate weights.
    totals : DataFrame or None
        The calibration population (``poststrata_totals.csv``).
    unit : str
        The PSU column that is also the report unit (``commune``).
    total_label, total_type : str
        ``domain`` and ``domain_type`` of the whole area's rows (:attr:`sipas.kinds.SurveyKind.total_domain`).

    rules : sequence of IndexRule, optional
        Rules to evaluate (default: the instrument's default rule).

    Returns
    -------
    DataFrame
        As :func:`sipas.indices.estimate_index_rules`: the province rows, then ``domain_type ==
        unit`` rows.
    """
    from sipas import indices

    rules = list(rules) if rules else [resolve_rule(instrument.raw)]
    prov = indices.estimate_index_rules(ind, instrument=instrument, rules=rules, rep=rep, total_label=total_label,
                                        total_type=total_type)
    within = df.assign(_unit_stratum=df[unit].astype(str),
                       _unit_psu=df[unit].astype(str) + "\x1f" + df[village].astype(str))
    rep_u = replicate_weights(within, totals=totals, strata="_unit_stratum", psu="_unit_psu", fpc=None)
    units = indices.estimate_index_rules(ind, instrument=instrument, rules=rules, rep=rep_u, by=df[unit],
                                         by_type=unit, total_label=total_label, total_type=total_type,
                                         psu=within["_unit_psu"],
                                         strata=within["_unit_stratum"])
    units = units[units["domain_type"] == unit]
    return pd.concat([prov, units], ignore_index=True)


def rule_table(used: IndexRule, rules: Mapping[str, IndexRule], default: str, *, instrument: str) -> pd.DataFrame:
    """One row per index rule: id, labels, source, confirmed, whether the survey used it, the tree, and the
    instrument (``<id>-<version>``) it was evaluated on.

    The rule used comes first (``used`` True), then the instrument's other rules, which the
    sensitivity table compares it with.
    """
    order = [used] + [r for rid, r in rules.items() if rid != used.id]
    return pd.DataFrame([{"rule": r.id, "used": r is used, "instrument": instrument,
                          "instrument_default": r.id == default and r.origin == "instrument",
                          "origin": r.origin, "confirmed": r.confirmed,
                          "label_vi": r.label.get("vi", ""), "label_en": r.label.get("en", r.label.get("vi", "")),
                          "source_vi": r.source["vi"], "source_en": r.source["en"], "empty": r.empty,
                          "tree": r.describe()} for r in order])


@transactional
def run_indices(cfg: SurveyConfig, *, root: Path | None = None) -> StageResult:
    """Indices by item, criterion, aspect and overall, province and report units; ranking; change."""
    from sipas import indices

    out = cfg.processed_dir(root)
    src = need(out / "forms_clean.csv", "cleaning")
    wsrc = need(out / "weights.csv", "weighting")
    forms = sio.read_csv(src)
    weights = sio.read_csv(wsrc)
    hier = cfg.design
    tsrc = out / "poststrata_totals.csv"
    totals = sio.read_csv(tsrc) if tsrc.is_file() else None
    # the calibration cell of a row when the weighting stage wrote it (service-user surveys: unit x field)
    margin = [str(totals.columns[0])] if totals is not None and str(totals.columns[0]) in weights.columns else []
    wcols = ["form_id", "w_nr", "w_final"] + [c for c in ("village", *hier.frame_columns, FPC_COLUMN, *margin)
                                              if c in weights.columns and (c == "village" or c not in forms.columns)]
    df = forms.merge(weights[list(dict.fromkeys(wcols))], on="form_id", how="inner",
                     validate="one_to_one")
    missing = [c for c in dict.fromkeys((hier.strata, hier.psu, hier.report_unit)) if c not in df.columns]
    if missing:
        raise StageInputMissing(f"{wsrc}: design column(s) {', '.join(missing)} missing; rerun the weighting stage")
    inst = load_instrument(cfg.instrument_id, cfg.instrument_version)
    # one PSU per respondent (service users): n replicates, whose PSU x cell table would be n x n; the
    # post-stratified JKn design gives the same replicate totals in closed form, O(n)
    design = poststratified_jkn if hier.element_psu else replicate_weights
    try:
        rep = design(df, totals=totals, strata=hier.strata, psu=hier.psu)
    except LonelyPSUError as exc:   # a design problem the officer fixes in survey.yml, not a crash
        raise ConfigError(f"stratum {exc.stratum!r} ({hier.strata}) has only one sampled {hier.psu}, so its "
                          f"variance cannot be estimated (the jackknife needs >= 2 per stratum): sample at least "
                          f"2 per stratum or merge strata", file=cfg.path, key="design.strata") from exc
    if not np.allclose(rep.weights, df["w_final"].to_numpy(), rtol=1e-9):
        raise StageInputMissing(f"{wsrc}: w_final differs from the re-derived weights; rerun the weighting stage")
    ind = indices.positive_indicators(df, instrument=inst)
    rule = resolve_rule(inst.raw, cfg.extra.get("index_rule"), file=cfg.path)
    inst_rules, default = instrument_rules(inst.raw)
    rules = [rule] + [r for rid, r in inst_rules.items() if rid != rule.id]
    unit = hier.report_unit
    total = cfg.kind.total_domain   # domain_type of the whole area's rows ("country" when provinces are units)
    if unit == hier.psu:
        # the sampled village of weights.csv (the forms' own ``village`` makes the merge add suffixes)
        vcol = "village_y" if "village_y" in df.columns else "village"
        try:
            all_rules = unit_indices(df, ind, instrument=inst, rep=rep, totals=totals, unit=unit,
                                     total_label=cfg.province["vi"], total_type=total, village=vcol, rules=rules)
        except LonelyPSUError as exc:
            name = str(exc.stratum).split("\x1f")[0]
            raise ConfigError(f"{unit} {name!r} has only one sampled village, so its own index has no variance "
                              f"estimate (needs >= 2 villages per {unit}): sample at least 2",
                              file=cfg.path, key="sampling.villages.n") from exc
    else:
        all_rules = indices.estimate_index_rules(ind, instrument=inst, rules=rules, rep=rep, by=df[unit],
                                                 by_type=unit, total_label=cfg.province["vi"], total_type=total,
                                                 psu=df[hier.psu],
                                                 strata=df[hier.strata])
    idx = all_rules[all_rules["rule"] == rule.id].drop(columns="rule").reset_index(drop=True)
    sensitivity = all_rules[all_rules["level"].isin(["overall", "content"])].reset_index(drop=True)
    published = indices.suppress_small_cells(idx, min_n=cfg.min_cell_size)
    overall = idx[(idx["level"] == "overall") & (idx["domain_type"] == unit)]
    ranking = indices.rank_published_units(overall, min_n=cfg.min_cell_size, seed=cfg.seed)
    comparison = None
    if unit == hier.strata and len(overall):
        # units that are strata (districts; a service-user survey's units): each against the whole area
        area = idx[(idx["level"] == "overall") & (idx["domain_type"] == total)].iloc[0]
        shares = (df.groupby(unit)["w_final"].sum() / df["w_final"].sum()).to_dict()
        shown = overall[overall["n"] >= cfg.min_cell_size]
        comparison = indices.compare_with_overall(shown, overall={"estimate": area["estimate"], "se": area["se"]},
                                                  shares={str(k): v for k, v in shares.items()},
                                                  correction=(cfg.extra.get("report") or {}).get("correction", "holm"))
    groups, frames_read = respondent_groups(df, cfg, instrument=inst)
    grp = indices.group_indices(ind, groups, instrument=inst, rep=rep, rule=rule)
    needs = [c for c in inst.criteria.loc[inst.criteria["aspect"] == "needs", "criterion"]]
    need_tabs = [indices.estimate_shares(indices.choice_indicators(df, instrument=inst, criterion=c), rep=rep)
                 .assign(criterion=c) for c in needs]
    sens_pub = indices.suppress_small_cells(sensitivity, min_n=cfg.min_cell_size)
    items = inst.items
    categorical = items.loc[~items["index"] & items["criterion"].notna(), "item"].tolist()
    distributions = indices.estimate_distribution(df, instrument=inst, items=categorical, rep=rep)
    distributions.insert(1, "criterion", distributions["item"].map(dict(zip(items["item"], items["criterion"]))))
    tables = {"indices": idx, "indices_published": published, "ranking": ranking,
              "index_rules": rule_table(rule, inst_rules, default, instrument=f"{inst.id}-{inst.version}"), "index_sensitivity": sensitivity,
              "index_sensitivity_published": sens_pub,
              "index_sensitivity_summary": rule_sensitivity(sens_pub, used=rule.id, unit=unit, total=total),
              "distributions": distributions,
              "distributions_published": indices.suppress_small_cells(distributions, min_n=cfg.min_cell_size),
              "indices_groups": grp, "indices_groups_published": indices.suppress_small_cells(grp, min_n=cfg.min_cell_size)}
    if need_tabs:   # an instrument without a needs aspect (service-user form) has no needs table
        tables["needs"] = pd.concat(need_tabs, ignore_index=True)
    if comparison is not None:
        tables["unit_comparison"] = comparison
    read = [src, wsrc] + ([tsrc] if totals is not None else []) + frames_read

    prof = []
    for var in PROFILE_VARS:
        if var in df.columns:
            s = df.groupby(var)["w_final"].sum()
            cnt = df.groupby(var).size()
            prof.append(pd.DataFrame({"variable": var, "level": s.index.astype(int), "n": cnt.to_numpy(),
                                      "share": (s / s.sum()).to_numpy()}))
    tables["profile"] = pd.concat(prof, ignore_index=True) if prof else pd.DataFrame()

    prev = cfg.extra.get("previous_survey")
    previous = None
    if prev:
        prev_path = (root or project_root()) / "data" / "processed" / prev / "indices.csv"
        if prev_path.is_file():
            previous, mapped_from = cfg.kind.map_previous(sio.read_csv(prev_path), cfg=cfg, root=root)
            read += mapped_from
            yoy = indices.year_over_year(idx, previous)
            # a change is only a change when both years used the same instrument and index rule
            prev_rules = prev_path.parent / "index_rules.csv"
            same = False
            if prev_rules.is_file():
                pr = sio.read_csv(prev_rules)
                pu = pr[pr["used"].astype(str) == "True"]
                same = bool(len(pu) == 1 and "instrument" in pu.columns
                            and pu["instrument"].iloc[0] == f"{inst.id}-{inst.version}"
                            and pu["tree"].iloc[0] == rule.describe())
                read.append(prev_rules)
            tables["year_over_year"] = yoy.assign(same_rule=same)
            tables["year_over_year_published"] = indices.suppress_small_changes(
                tables["year_over_year"], min_n=cfg.min_cell_size)
            read.append(prev_path)
    if cfg.other_indices:
        # other indices beside the survey's (survey.yml other_indices): tidy table and rank correlations
        from sipas.indices.other_indices import compare_with_survey, load_other_indices

        other = load_other_indices(cfg.other_indices, default_year=cfg.year)
        mine = published[(published["domain_type"] == unit) & (published["level"] == "overall")
                         & published["estimate"].notna()]
        tables["other_indices"], tables["other_indices_correlation"] = compare_with_survey(other, mine)
        read += list(cfg.other_indices)
    # the kind's own rankings (national: province_ranking.csv with rank intervals, P(top k), P(improved))
    tables.update(cfg.kind.ranking_tables(published, previous, cfg=cfg, unit=unit, min_n=cfg.min_cell_size))
    written = write_tables(tables, out)
    written.append(manifest(cfg, "indices", out, read, written, root))
    return StageResult("indices", tables, written)

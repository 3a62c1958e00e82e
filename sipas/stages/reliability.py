"""Stage 2: reliability and factor structure of the questionnaire scales.

Reads only files of earlier stages (``forms_clean.csv``); writes through :mod:`sipas.io`
(atomic, deterministic):

=========================  ==================================================================
file                       content
=========================  ==================================================================
reliability_criteria.csv   Cronbach's alpha (Feldt CI) per criterion
reliability_items.csv      item statistics and flags per item
cfa_fit.csv                fit of the confirmatory model of each block: ``model, index, value,
                           threshold, ok`` (Hu & Bentler 1999 cut-offs)
cfa_loadings.csv           ``model, criterion, item, estimate, std_estimate``
factorability.csv          ``model, n, kmo, bartlett_chi2, bartlett_df, bartlett_p``
parallel_analysis.csv      ``model, component, observed, random_mean, retain, n_suggested``
efa_loadings.csv           ``model, item, criterion, factor, loading, own_factor`` (oblimin)
=========================  ==================================================================

**Choice of the factor models.**  The instrument routes items: criteria 1.5-1.7 and 2.2-2.6
are asked only of households that used an administrative service, 2.7 of public-health users,
2.8 of households with a primary pupil.  A single model of every criterion would keep, listwise,
only the few households eligible for every filter and answering every item.  The criteria are
therefore grouped into *blocks* by the filter of their items (:func:`cfa_blocks`): the
criteria asked of everyone (block ``all``), those asked of administrative-service users
(``used_admin``), and so on; a block with a single criterion (df = 0 for a 3-item factor, a
2-item factor is not identified alone) is merged with the other single-criterion blocks and
fitted among the households eligible for all of them (e.g. ``used_health+has_pupil``).  Each
block's model has one correlated factor per multi-item ordinal criterion; the sample is the
block's respondents with a valid answer to every item ("don't know" counts as missing).

**Blocks that cannot be estimated.**  A degenerate block (too few complete respondents, an item
without variance, a singular covariance matrix, a solver returning NaN) does not stop the stage: its
rows in ``cfa_fit`` and ``cfa_loadings`` hold NaN (``ok`` empty; ``n`` the complete respondents), its
``factorability`` row NaN, and it has no ``parallel_analysis`` or ``efa_loadings`` rows;
:func:`structure_tables` returns the reason per block (``StageResult.info["not_estimable"]``, printed by
``sipas reliability``).

**Unweighted.**  The weights are made by the weighting stage, which runs after this one; a
stage never reads a later stage's files.  The fit is an unweighted maximum-likelihood fit of
the measurement model (item covariance structure within respondents), which is the usual
practice for scale validation; weighted alpha remains available in :mod:`sipas.reliability`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sipas import io as sio
from sipas.config import SurveyConfig
from sipas.forms.instrument import load_instrument
from sipas.stages._common import StageResult, manifest, need, transactional, write_tables

#: Fit-index cut-offs of Hu & Bentler (1999): index -> (comparison, bound).
FIT_THRESHOLDS: dict[str, tuple[str, float]] = {"CFI": (">=", 0.95), "TLI": (">=", 0.95),
                                                "RMSEA": ("<=", 0.06), "SRMR": ("<=", 0.08)}


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


def cfa_blocks(instrument, groups: Mapping[str, Sequence[str]]) -> dict[str, dict[str, list[str]]]:
    """Group the criteria into the factor models fitted by the stage.

    Criteria are grouped by the routing filter of their items (``"all"`` when unfiltered);
    blocks holding a single criterion are merged into one block named by their filters joined
    with ``"+"`` (fitted among the households eligible for all of them); a merged block that
    still has a single criterion is left out (a one-factor model of 2 or 3 items has no degrees
    of freedom to test).

    Parameters
    ----------
    instrument : Instrument
        The questionnaire (item filters).
    groups : mapping
        Criterion -> items, as :func:`reliability_groups`.

    Returns
    -------
    dict
        Model name -> {criterion: items}, models and criteria in a stable order.
    """
    by_filter: dict[str, dict[str, list[str]]] = {}
    for crit, cols in groups.items():
        filters = sorted({(instrument.filter_of(i) or {}).get("item", "") for i in cols})
        name = _filter_name(instrument, filters[0]) if len(filters) == 1 else "+".join(
            _filter_name(instrument, f) for f in filters)
        by_filter.setdefault(name, {})[str(crit)] = [str(c) for c in cols]
    order = sorted(by_filter, key=lambda k: (k != "all", k))
    blocks = {k: by_filter[k] for k in order if len(by_filter[k]) >= 2}
    singles = [k for k in order if len(by_filter[k]) == 1]
    if len(singles) >= 2:
        merged = {c: cols for k in singles for c, cols in by_filter[k].items()}
        blocks["+".join(singles)] = dict(sorted(merged.items()))
    return blocks


def _filter_name(instrument, filter_item: str) -> str:
    if not filter_item:
        return "all"
    for name, cond in (instrument.raw.get("filters") or {}).items():
        if cond.get("item") == filter_item:
            return str(name)
    return filter_item


def fit_rows(res, *, model: str) -> pd.DataFrame:
    """Tidy CFA fit table with Hu & Bentler (1999) cut-offs.

    Rows ``chi2, df, p_value, CFI, TLI, RMSEA, RMSEA_ci_low, RMSEA_ci_high, SRMR, n``;
    ``threshold`` is the cut-off as text (``">= 0.95"``) and ``ok`` whether the index meets it
    (empty for rows without a cut-off).  Cut-offs: CFI >= .95, TLI >= .95, RMSEA <= .06,
    SRMR <= .08.

    References
    ----------
    Hu, L. & Bentler, P. M. (1999). Cutoff criteria for fit indexes in covariance structure
    analysis. *Structural Equation Modeling*, 6(1), 1-55.
    """
    values = {"chi2": res.chi2, "df": float(res.df), "p_value": res.p_value, "CFI": res.cfi,
              "TLI": res.tli, "RMSEA": res.rmsea, "RMSEA_ci_low": res.rmsea_ci_low,
              "RMSEA_ci_high": res.rmsea_ci_high, "SRMR": res.srmr, "n": float(res.n)}
    rows = []
    for index, value in values.items():
        if index in FIT_THRESHOLDS:
            op, bound = FIT_THRESHOLDS[index]
            ok = bool(value >= bound) if op == ">=" else bool(value <= bound)
            rows.append((model, index, float(value), f"{op} {bound:.2f}", ok))
        else:
            rows.append((model, index, float(value), "", pd.NA))
    out = pd.DataFrame(rows, columns=["model", "index", "value", "threshold", "ok"])
    out["ok"] = out["ok"].astype("boolean")
    return out


def _match_factors(load: np.ndarray, item_crit: list[str], crits: list[str]) -> list[str]:
    """Label EFA factors by criteria: the assignment maximising the summed absolute loadings of
    each criterion's items on its factor (Hungarian algorithm)."""
    from scipy.optimize import linear_sum_assignment

    score = np.array([[np.abs(load[[i for i, c in enumerate(item_crit) if c == crit], f]).sum()
                       for f in range(load.shape[1])] for crit in crits])
    rows, cols = linear_sum_assignment(-score)
    label = [""] * load.shape[1]
    for r, f in zip(rows, cols):
        label[f] = crits[r]
    return label


#: Errors of a degenerate block: reported as "not estimable", the stage goes on.
_DEGENERATE = (ArithmeticError, ValueError, np.linalg.LinAlgError)


def _finite(*values: Any) -> bool:
    """Whether every number of ``values`` (numbers or arrays) is finite."""
    return all(bool(np.isfinite(np.asarray(v, dtype=float)).all()) for v in values)


def _nan_fit(model: str, n: int) -> pd.DataFrame:
    """The ``cfa_fit`` rows of a block that cannot be estimated: every value NaN but ``n``."""
    rows = []
    for index in ("chi2", "df", "p_value", "CFI", "TLI", "RMSEA", "RMSEA_ci_low", "RMSEA_ci_high", "SRMR", "n"):
        thr = f"{FIT_THRESHOLDS[index][0]} {FIT_THRESHOLDS[index][1]:.2f}" if index in FIT_THRESHOLDS else ""
        rows.append((model, index, float(n) if index == "n" else np.nan, thr, pd.NA))
    out = pd.DataFrame(rows, columns=["model", "index", "value", "threshold", "ok"])
    out["ok"] = out["ok"].astype("boolean")
    return out


def structure_tables(data: pd.DataFrame, blocks: Mapping[str, Mapping[str, Sequence[str]]], *,
                     seed: int = 20240618, not_estimable: dict[str, str] | None = None) -> dict[str, pd.DataFrame]:
    """CFA fit and loadings, factorability, parallel analysis and EFA of every block.

    Parameters
    ----------
    data : DataFrame
        Scored items (NaN = missing, skipped or "don't know").
    blocks : mapping
        Model name -> {criterion: items}, as :func:`cfa_blocks`.
    seed : int
        Seed of the parallel analysis' random eigenvalues.
    not_estimable : dict, optional
        Filled with model name -> reason for every block that cannot be estimated (its rows hold NaN,
        see the module docstring); the other blocks are estimated as usual.

    Returns
    -------
    dict of DataFrame
        ``cfa_fit``, ``cfa_loadings``, ``factorability``, ``parallel_analysis``,
        ``efa_loadings``.  The EFA extracts as many factors as the block has criteria
        (minres, oblimin) and labels each factor by the criterion whose items load most on it;
        ``own_factor`` tells whether the item's largest absolute loading is on its own
        criterion's factor.  All computed on the block's listwise-complete respondents.

    Notes
    -----
    Methods in :mod:`sipas.reliability`: :func:`~sipas.reliability.confirmatory_factor_analysis`
    (lavaan's ML fit measures), :func:`~sipas.reliability.factorability` (Kaiser 1970; Bartlett
    1951), :func:`~sipas.reliability.parallel_analysis` (Horn 1965),
    :func:`~sipas.reliability.exploratory_factor_analysis` (psych ``fa``).
    """
    from sipas import reliability
    from sipas.errors import SipasError

    skipped = {} if not_estimable is None else not_estimable
    fit, load, fact, pa, efa = [], [], [], [], []
    for model, groups in blocks.items():
        items = [i for cols in groups.values() for i in cols]
        crit_of = {i: c for c, cols in groups.items() for i in cols}
        sub = data[items].dropna()
        try:
            with np.errstate(all="ignore"):
                res = reliability.confirmatory_factor_analysis(sub, groups)
                f = reliability.factorability(sub)
            if not _finite(res.chi2, res.cfi, res.tli, res.rmsea, res.srmr, res.loadings["estimate"],
                           res.loadings["std_estimate"], f.kmo, f.bartlett_chi2):
                raise ValueError("the solver gave no finite estimates (NaN)")
        except (SipasError, *_DEGENERATE) as exc:
            skipped[model] = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            fit.append(_nan_fit(model, len(sub)))
            load.append(pd.DataFrame({"model": model, "criterion": [crit_of[i] for i in items], "item": items,
                                      "estimate": np.nan, "std_estimate": np.nan}))
            fact.append(pd.DataFrame([{"model": model, "n": len(sub), "kmo": np.nan, "bartlett_chi2": np.nan,
                                       "bartlett_df": np.nan, "bartlett_p": np.nan}]))
            continue
        fit.append(fit_rows(res, model=model))
        cl = res.loadings.rename(columns={"factor": "criterion"}).assign(model=model)
        load.append(cl[["model", "criterion", "item", "estimate", "std_estimate"]])
        fact.append(pd.DataFrame([{"model": model, "n": len(sub), "kmo": f.kmo, "bartlett_chi2": f.bartlett_chi2,
                                   "bartlett_df": f.bartlett_df, "bartlett_p": f.bartlett_p}]))
        try:
            with np.errstate(all="ignore"):
                k, table = reliability.parallel_analysis(sub, seed=seed)
                e = reliability.exploratory_factor_analysis(sub, n_factors=len(groups))
            lo = e.loadings.to_numpy()
            if not _finite(lo, table["observed"]):
                raise ValueError("the exploratory factor analysis gave no finite loadings (NaN)")
        except (SipasError, *_DEGENERATE) as exc:
            skipped[model] = "exploratory analysis: " + (str(exc).strip().splitlines()[0] if str(exc).strip()
                                                         else type(exc).__name__)
            continue
        pa.append(table.assign(model=model, n_suggested=k)[
            ["model", "component", "observed", "random_mean", "retain", "n_suggested"]])
        labels = _match_factors(lo, [crit_of[i] for i in items], list(groups))
        long = pd.DataFrame({"model": model, "item": np.repeat(items, lo.shape[1]),
                             "criterion": np.repeat([crit_of[i] for i in items], lo.shape[1]),
                             "factor": np.tile(labels, len(items)), "loading": lo.reshape(-1)})
        best = np.asarray(labels)[np.abs(lo).argmax(axis=1)]
        long["own_factor"] = np.repeat(best == np.asarray([crit_of[i] for i in items]), lo.shape[1])
        efa.append(long)
    empty_pa = pd.DataFrame({c: pd.Series(dtype=float) for c in
                             ("model", "component", "observed", "random_mean", "retain", "n_suggested")})
    empty_efa = pd.DataFrame({c: pd.Series(dtype=float) for c in
                              ("model", "item", "criterion", "factor", "loading", "own_factor")})
    return {"cfa_fit": pd.concat(fit, ignore_index=True),
            "cfa_loadings": pd.concat(load, ignore_index=True),
            "factorability": pd.concat(fact, ignore_index=True),
            "parallel_analysis": pd.concat(pa, ignore_index=True) if pa else empty_pa,
            "efa_loadings": pd.concat(efa, ignore_index=True) if efa else empty_efa}


@transactional
def run_reliability(cfg: SurveyConfig, *, root: Path | None = None) -> StageResult:
    """Cronbach's alpha and item statistics per criterion, and the factor structure per block.

    See the module docstring for the files written and the choice of the factor models.
    """
    from sipas import reliability

    out = cfg.processed_dir(root)
    src = need(out / "forms_clean.csv", "cleaning")
    forms = sio.read_csv(src)
    inst = load_instrument(cfg.instrument_id, cfg.instrument_version)
    groups = reliability_groups(inst)
    data = scored_items(forms, inst, sorted({i for g in groups.values() for i in g}))
    tables = {"reliability_criteria": reliability.criterion_reliability(data, groups),
              "reliability_items": reliability.item_reliability(data, groups)}
    blocks = cfa_blocks(inst, groups)
    not_estimable: dict[str, str] = {}
    if blocks:
        tables.update(structure_tables(data, blocks, seed=int(cfg.extra.get("seed", 20240618)),
                                       not_estimable=not_estimable))
    written = write_tables(tables, out)
    written.append(manifest(cfg, "reliability", out, [src], written, root))
    return StageResult("reliability", tables, written, info={"blocks": blocks, "not_estimable": not_estimable})


# tables for the reviewers' notebook (headings in the report language; numbers are not rounded here)
# --------------------------------------------------------------------------------------------


def _labels(lang: str) -> dict[str, Any]:
    """The reliability notebook's labels in ``lang`` (:func:`sipas.report.label_set` ``"reliability"``)."""
    from sipas.text.labels import label_set

    return label_set("reliability", lang=lang)


def _model_label(model: str, labels: Mapping[str, Any]) -> str:
    return labels["model_join"].join(labels["models"].get(part, part) for part in model.split("+"))


def model_label(model: str, *, lang: str = "vi") -> str:
    """Description of a block's sample in ``lang`` (``"used_admin"`` -> households that used a
    service; parts joined by ``+`` are joined by "and"), texts ``labels.reliability.models``."""
    return _model_label(model, _labels(lang))


def _flag_label(flag: object, labels: Mapping[str, Any]) -> str:
    if not isinstance(flag, str) or not flag:
        return ""
    return "; ".join(labels["flags"].get(part.strip(), part.strip()) for part in flag.split(";"))


@dataclass(frozen=True)
class CriterionSection:
    """One criterion's tables for the notebook: ``summary`` (alpha, Feldt CI, n, k) and
    ``items`` (one row per item with its statistics and flag)."""

    criterion: str
    label: str
    summary: pd.DataFrame
    items: pd.DataFrame


def criterion_sections(criteria: pd.DataFrame, items: pd.DataFrame, instrument, *,
                       language: str = "vi") -> list[CriterionSection]:
    """One section per criterion: alpha with its 95% Feldt interval, items with flags.

    An item is flagged when alpha rises if it is deleted or when its corrected item-total
    correlation (psych ``r.drop``) is below 0.3 (flags from :func:`sipas.reliability.item_reliability`).
    Headings, flags, criterion labels and item texts are in ``language`` (headings and flags from
    ``labels.reliability`` of ``resources/report_text.yml``; Vietnamese headings carry the
    English in parentheses).
    """
    lab = _labels(language)
    sh, ih = lab["summary"], lab["items"]
    crit_tab = instrument.criteria
    col = f"label_{language}" if f"label_{language}" in crit_tab.columns else None
    labels = dict(zip(crit_tab["criterion"].astype(str), crit_tab[col])) if col else {}
    out = []
    for _, c in criteria.iterrows():
        crit = str(c["criterion"])
        summary = pd.DataFrame([{sh["k"]: int(c["k"]), sh["n"]: int(c["n"]),
                                 sh["alpha"]: c["alpha"], sh["ci_low"]: c["ci_low"],
                                 sh["ci_high"]: c["ci_high"], sh["std_alpha"]: c["std_alpha"]}])
        it = items[items["criterion"].astype(str) == crit]
        table = pd.DataFrame({
            ih["item"]: it["item"].to_numpy(),
            ih["text"]: [instrument.text(i, language=language) for i in it["item"]],
            ih["n"]: it["n"].to_numpy(), ih["mean"]: it["mean"].to_numpy(), ih["sd"]: it["sd"].to_numpy(),
            ih["item_total_r"]: it["item_total_r"].to_numpy(),
            ih["alpha_if_deleted"]: it["alpha_if_deleted"].to_numpy(),
            ih["flag"]: [_flag_label(f, lab) for f in it["flag"]],
        })
        out.append(CriterionSection(crit, str(labels.get(crit, "")), summary, table))
    return out


def cfa_fit_display(cfa_fit: pd.DataFrame, *, lang: str = "vi") -> pd.DataFrame:
    """The CFA fit table with headings in ``lang``: one row per model and index, the Hu & Bentler
    (1999) cut-off and whether it is met (``Đạt``/``Không đạt`` in Vietnamese), texts
    ``labels.reliability.cfa``."""
    lab = _labels(lang)
    h = lab["cfa"]
    ok = cfa_fit["ok"].map(lambda v: "" if pd.isna(v) else (h["met"] if str(v).lower() in ("true", "1") else
                                                             h["not_met"]))
    return pd.DataFrame({h["model"]: [_model_label(m, lab) for m in cfa_fit["model"]],
                         h["index"]: cfa_fit["index"].to_numpy(), h["value"]: cfa_fit["value"].to_numpy(),
                         h["threshold"]: cfa_fit["threshold"].fillna("").to_numpy(),
                         h["conclusion"]: ok.to_numpy()})


def efa_matrix(efa_loadings: pd.DataFrame, model: str, *, lang: str = "vi") -> pd.DataFrame:
    """Items x factors pattern matrix of one block's EFA (factors named by their criterion,
    text ``labels.reliability.factor`` in ``lang``)."""
    return _efa_matrix(efa_loadings, model, _labels(lang))


def _efa_matrix(efa_loadings: pd.DataFrame, model: str, labels: Mapping[str, Any]) -> pd.DataFrame:
    e = efa_loadings[efa_loadings["model"] == model]
    m = e.pivot(index=["criterion", "item"], columns="factor", values="loading")
    m.columns = [labels["factor"].format(factor=c) for c in m.columns]
    return m


# --------------------------------------------------------------------------------------------
# displays of the reliability notebook (notebooks/02_reliability.ipynb)
# --------------------------------------------------------------------------------------------


class Displays(list):
    """Objects a notebook shows one after another, each as its own output, when a cell ends with
    this list (IPython calls :meth:`_ipython_display_`)."""

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(*self)


def criterion_displays(criteria: pd.DataFrame, items: pd.DataFrame, instrument, *, lang: str = "vi") -> Displays:
    """Section 1 of the reliability notebook: for each criterion a heading (Markdown), the alpha
    summary table and the item table of :func:`criterion_sections`.

    Parameters
    ----------
    criteria, items : DataFrame
        ``reliability_criteria.csv`` and ``reliability_items.csv`` of the reliability stage.
    instrument
        The survey's questionnaire (criterion labels and item texts).
    lang : str
        Report language (``cfg.language``); the heading is text ``notebooks.reliability.criterion_heading``.
    """
    from IPython.display import Markdown

    from sipas.text.labels import notebook_text

    out = Displays()
    for s in criterion_sections(criteria, items, instrument, language=lang):
        heading = notebook_text("reliability.criterion_heading", lang=lang, criterion=s.criterion, label=s.label)
        out += [Markdown(f"### {heading}"), s.summary, s.items]
    return out


def efa_displays(efa_loadings: pd.DataFrame, *, lang: str = "vi") -> Displays:
    """Section 4 of the reliability notebook: for each EFA model (block) a heading naming its
    sample (:func:`model_label`) and its items x factors pattern matrix
    (:func:`efa_matrix`), in the order of ``efa_loadings.csv``; texts in ``lang``."""
    from IPython.display import Markdown

    lab = _labels(lang)
    out = Displays()
    for model in efa_loadings["model"].unique():
        out += [Markdown(f"### {_model_label(model, lab)}"), _efa_matrix(efa_loadings, model, lab)]
    return out


def own_factor_count(efa_loadings: pd.DataFrame) -> tuple[int, int]:
    """How many items load most on the factor of their own criterion, out of how many.

    Parameters
    ----------
    efa_loadings : DataFrame
        ``efa_loadings.csv`` of the reliability stage: one row per model, item and factor, with
        ``own_factor`` (the item's largest absolute loading is on its own criterion's factor)
        repeated on every row of the item; booleans or their text ``"True"``/``"False"``.

    Returns
    -------
    (int, int)
        Items with ``own_factor`` true and items in all, each item counted once per model
        (the EFA models partition the items, so this is the number of distinct items).
    """
    first = efa_loadings.drop_duplicates(["model", "item"])
    own = first["own_factor"]
    if own.dtype != bool:
        own = own.map(lambda v: str(v).strip().lower() in ("true", "1", "1.0"))
    return int(own.sum()), len(first)


def own_factor_note(efa_loadings: pd.DataFrame, *, not_estimable: Mapping[str, str] | None = None,
                    lang: str = "vi"):
    """The sentences closing section 4 of the reliability notebook (Markdown): one per block the stage could not
    estimate (``not_estimable``, the stage's ``info["not_estimable"]``: text ``notebooks.reliability.not_estimated``
    with the block's sample and the reason, shown as code), then the :func:`own_factor_count` of the EFA (text
    ``notebooks.reliability.efa_own_factor``) when any block was estimated -- never "0 / 0"."""
    from IPython.display import Markdown

    from sipas.text.labels import notebook_text

    lab = _labels(lang)
    lines = [notebook_text("reliability.not_estimated", lang=lang, model=_model_label(model, lab),
                           reason=str(why).replace("`", "'"))
             for model, why in (not_estimable or {}).items()]
    own, n_items = own_factor_count(efa_loadings)
    if n_items or not lines:
        lines.append(notebook_text("reliability.efa_own_factor", lang=lang, own=own, items=n_items))
    return Markdown("\n\n".join(lines))


def cfa_blocks_note(instrument, *, lang: str = "vi"):
    """The CFA blocks of ``instrument`` as section 2 of the reliability notebook lists them (Markdown): one
    line per block of :func:`cfa_blocks` -- its sample (:func:`model_label`) and its criteria -- and the
    criteria of :func:`reliability_groups` in no block (a single criterion under its own condition), texts
    ``notebooks.reliability.cfa_block`` and ``cfa_left_out``.  The blocks follow the questionnaire (its
    items' filters), so the list is right for every instrument and survey kind."""
    from IPython.display import Markdown

    from sipas.text.labels import notebook_text

    groups = reliability_groups(instrument)
    blocks = cfa_blocks(instrument, groups)
    lab = _labels(lang)
    lines = [notebook_text("reliability.cfa_block", lang=lang, model=_model_label(m, lab),
                           criteria=", ".join(str(c) for c in crits)) for m, crits in blocks.items()]
    used = {str(c) for crits in blocks.values() for c in crits}
    left = [str(c) for c in groups if str(c) not in used]
    text = "\n".join(lines) if lines else notebook_text("reliability.cfa_no_block", lang=lang)
    if left:
        text += "\n\n" + notebook_text("reliability.cfa_left_out", lang=lang, criteria=", ".join(left))
    return Markdown(text)

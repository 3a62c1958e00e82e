"""SIPAS indices from cleaned forms, driven by the instrument file and its index rule.

Definitions (the instrument's ``index`` section, :mod:`sipas.forms.instrument.rules`;
shared/METHODOLOGY.md "Index arithmetic" says what the public record confirms -- the
aggregation rule is not confirmed, and every rule says so):

* item index ``p_i`` = weighted share of positive answers among valid answers::

      p_i = sum_h w_h r_hi y_hi / sum_h w_h r_hi

  where ``y_hi = 1`` if the code is one of the item's positive codes ("hài lòng",
  "rất hài lòng", or the favourable answer), ``r_hi = 1`` if household h gave
  a substantive answer (not skipped by routing, not "no answer", not blank);
* criteria, contents and the overall index combine their children as the rule says
  (``mean``, ``weights`` or ``pooled``; :mod:`sipas.indices.aggregation`).

Every index is a smooth function of weighted totals, so its variance is estimated
by replication: the same function is evaluated under each replicate weight vector
(R survey's ``withReplicates``; JKn by default, Rust & Rao 1996) and
``v = scale * sum_r rscale_r (theta_r - theta)^2``.  Confidence intervals are built
on the logit scale by the delta method (R ``svyciprop(method="xlogit")``, see
:func:`sipas.estimation.propci.prop_interval`) with t quantiles on the design's degrees of freedom,
so they stay inside [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from sipas.errors import EstimationError
from sipas.estimation.propci import prop_interval
from sipas.forms.instrument.rules import IndexRule, resolve_rule
from sipas.indices.aggregation import AnyReplicates, evaluate_rule, replicate_domain_totals
from sipas.indices.rankings import _unit_order
from sipas.text.units import RURAL_TYPES, URBAN_TYPES


def positive_indicators(forms: pd.DataFrame, *, instrument) -> pd.DataFrame:
    """0/1 indicator of a positive answer per index item; NaN where no valid answer.

    Codes outside the item's substantive codes (missing codes such as 9, blanks,
    skipped items, out-of-range codes that survived cleaning) give NaN.
    """
    items = instrument.items
    idx = items.loc[items["index"] & items["criterion"].notna(), "item"].tolist()
    missing = [c for c in idx if c not in forms.columns]
    if missing:
        raise EstimationError(f"forms lack index item column(s): {', '.join(missing)}")
    out = {}
    for item in idx:
        v = pd.to_numeric(forms[item], errors="coerce").to_numpy(dtype=float)
        valid = np.isin(v, instrument.valid_codes(item))
        pos = np.isin(v, instrument.positive_codes(item))
        out[item] = np.where(valid, pos.astype(float), np.nan)
    return pd.DataFrame(out, index=forms.index)


def _index_items(instrument) -> list[str]:
    items = instrument.items
    return items.loc[items["index"] & items["criterion"].notna(), "item"].tolist()


def _domain_codes(by: pd.Series | None, n: int) -> tuple[np.ndarray, list]:
    """Code of each row's domain (``-1``: none) and the domains in report order (:func:`_unit_order`)."""
    if by is None:
        return np.full(n, -1, dtype=np.int64), []
    present = sorted(pd.Series(by.to_numpy(dtype=object)).dropna().unique(), key=_unit_order)
    pos = {d: i for i, d in enumerate(present)}
    codes = pd.Series(by.to_numpy(dtype=object)).map(pos).fillna(-1).to_numpy(dtype=np.int64)
    return codes, present


def _per_domain_count(codes: np.ndarray, n_domains: int, *keys: pd.Series) -> np.ndarray:
    """Number of distinct values of ``keys`` (jointly) among each domain's rows."""
    keep = codes >= 0
    joint = np.zeros(int(keep.sum()), dtype=np.int64)
    for k in keys:
        c, u = pd.factorize(pd.Series(k.to_numpy())[keep], sort=False)
        joint = joint * (len(u) + 1) + (c + 1)
    pairs = np.unique(np.column_stack([codes[keep], joint]), axis=0)
    return np.bincount(pairs[:, 0], minlength=n_domains)


def _respondent_counts(R: np.ndarray, keys: list[tuple[str, ...]], pos: dict[str, int], codes: np.ndarray,
                       n_domains: int) -> tuple[np.ndarray, np.ndarray]:
    """Respondents with at least one valid answer among each key's items: whole population (K,) and per domain (D, K)."""
    inc = np.zeros((R.shape[1], len(keys)))
    for j, key in enumerate(keys):
        inc[[pos[i] for i in key], j] = 1.0
    B = ((R @ inc) > 0).astype(float)
    keep = np.flatnonzero(codes >= 0)
    agg = sp.csr_matrix((np.ones(keep.size), (codes[keep], keep)), shape=(n_domains, R.shape[0]))
    return B.sum(axis=0).astype(np.int64), np.rint(np.asarray(agg @ B)).astype(np.int64)


def estimate_index_rules(indicators: pd.DataFrame, *, instrument, rules: Sequence[IndexRule],
                         rep: AnyReplicates, by: pd.Series | None = None,
                         by_type: str = "district", total_label: str = "", total_type: str = "province",
                         psu: pd.Series | None = None, strata: pd.Series | None = None,
                         level: float = 0.95) -> pd.DataFrame:
    """Item, criterion, content and overall indices under each of ``rules``, with replicate SEs and logit CIs.

    The weighted totals of every item are computed for all domains and weight columns in one
    pass (:func:`sipas.indices.aggregation.replicate_domain_totals`: per domain and weighting cell, then
    times the cells' replicate factors, never the ``n x R`` weight matrix); each rule is then
    evaluated on them (:func:`sipas.indices.aggregation.evaluate_rule`), so comparing rules costs
    almost nothing.  Cost ``O(n k + q k R)``: ``n`` rows, ``k`` items, ``q`` (domain, cell) pairs,
    ``R`` replicates; a domain inside one calibration cell (a district, a commune) needs only the
    replicates of its own strata (:meth:`CellReplicateWeights.local_replicates`: the others leave
    its indices at the full-sample value), so report units cost ``O(q k R_h)``.  With one PSU per
    respondent (``R = n``) a post-stratified JKn design (:class:`~sipas.estimation.jkn_totals.PostStratifiedJKn`)
    gives each domain's replicate totals in closed form: ``O(n k)`` per domain, ``k x R`` values.

    Parameters
    ----------
    indicators : DataFrame
        Output of :func:`positive_indicators` (rows aligned with ``rep.weights``).
    instrument : Instrument
        The questionnaire (which items enter an index).
    rules : sequence of IndexRule
        The rules to evaluate (:func:`sipas.forms.instrument.rules.resolve_rule`).
    rep : ReplicateWeights, CellReplicateWeights or PostStratifiedJKn
        Full-sample and replicate weights (:func:`sipas.estimation.survey_design.replicate_weights`, or
        :func:`~sipas.estimation.survey_design.poststratified_jkn` when the PSU is the respondent).
    by : Series, optional
        Domain of each row (e.g. district, or a respondent group such as an age group);
        rows whose domain is missing belong to no domain.  The whole population is always included
        (``domain_type`` = ``total_type``, ``domain`` = ``total_label``).  Domains use the full
        design (weights zeroed outside the domain), never a filtered copy.
    by_type : str
        Written in ``domain_type`` for the ``by`` domains.
    total_label : str
        Name of the whole population (e.g. the province's name).
    total_type : str
        ``domain_type`` of the whole population's rows: ``"province"``, or ``"country"`` when the ``by``
        domains are provinces (:attr:`sipas.kinds.SurveyKind.total_domain`); must differ from ``by_type``.
    psu, strata : Series, optional
        PSU and stratum of each row.  When given, a domain's CI uses its own degrees
        of freedom, ``#PSUs - #strata`` among the domain's rows (at least 1), instead
        of the whole design's: a district holding 3 communes has 2 df, not the
        province's 20 (R's ``svyby`` keeps the design df, which is too liberal here).
    level : float
        Confidence level.

    Returns
    -------
    DataFrame
        ``rule``, ``domain_type``, ``domain``, ``level`` (item, criterion, content or aspect, overall), ``id``,
        ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``df``, ``n`` (respondents with at least one valid
        answer among the items the row rests on), ``note`` (why a value is missing or rests on fewer
        children: ``no_valid_answer``, ``skipped:<ids>``, ``not_computable:<ids>``, ``pooled_without:<ids>``).
    """
    if by is not None and total_type == by_type:
        raise ValueError(f"the whole population's domain_type {total_type!r} equals the domains' (by_type)")
    item_ids = _index_items(instrument)
    Yraw = indicators[item_ids].to_numpy(dtype=float)
    R = (~np.isnan(Yraw)).astype(float)
    Y = np.nan_to_num(Yraw)
    n = len(indicators)
    pos = {it: i for i, it in enumerate(item_ids)}
    codes, present = _domain_codes(by, n)
    keys = list(dict.fromkeys([(it,) for it in item_ids]
                              + [tuple(r.descendant_items(nd.id)) for r in rules for nd in r.nodes]))
    key_pos = {k: j for j, k in enumerate(keys)}
    n_all, n_dom = _respondent_counts(R, keys, pos, codes, len(present))
    df_dom = np.full(len(present), rep.df)
    if present and psu is not None and strata is not None:
        n_psu = _per_domain_count(codes, len(present), strata, psu)
        n_str = _per_domain_count(codes, len(present), strata)
        df_dom = np.maximum(1, n_psu - n_str).astype(float)
    tot = [replicate_domain_totals(Y, R, rep=rep, domain=np.zeros(n, dtype=np.int64), n_domains=1)]
    if present:
        tot.append(replicate_domain_totals(Y, R, rep=rep, domain=codes, n_domains=len(present)))
    domains = [(total_type, total_label, tot[0], 0, rep.df, n_all)]
    domains += [(by_type, d, tot[1], j, float(df_dom[j]), n_dom[j]) for j, d in enumerate(present)]
    out = []
    for k, (dtype, dname, dt, j, df, counts) in enumerate(domains):
        cols = dt.local_replicates(j) if k else None   # the whole population: every replicate
        num, den = dt.totals(j, replicates=cols)
        for rule in rules:
            rv = evaluate_rule(rule, num, den, item_ids)
            est = rv.values[:, 0]
            se = np.sqrt(rep.variance(est, rv.values[:, 1:], columns=cols))
            lo, hi = logit_ci(est, se, df=df, level=level)
            for i, (lvl, ident) in enumerate(rv.labels):
                out.append({"rule": rule.id, "domain_type": dtype, "domain": dname, "level": lvl, "id": ident,
                            "estimate": est[i], "se": se[i], "ci_low": lo[i], "ci_high": hi[i], "df": df,
                            "n": int(counts[key_pos[tuple(rv.items_below[i])]]), "note": rv.notes[i]})
    return pd.DataFrame(out)


def estimate_indices(indicators: pd.DataFrame, *, instrument, rep: AnyReplicates, rule: IndexRule | None = None,
                     by: pd.Series | None = None, by_type: str = "district", total_label: str = "",
                     total_type: str = "province",
                     psu: pd.Series | None = None, strata: pd.Series | None = None,
                     level: float = 0.95) -> pd.DataFrame:
    """Item, criterion, content and overall indices under one rule, with replicate SEs and logit CIs.

    :func:`estimate_index_rules` with ``rules=[rule]`` (default: the instrument's default rule,
    :func:`sipas.forms.instrument.rules.resolve_rule`) and without the ``rule`` column.

    Returns
    -------
    DataFrame
        ``domain_type``, ``domain``, ``level``, ``id``, ``estimate``, ``se``, ``ci_low``, ``ci_high``,
        ``df``, ``n``, ``note``.
    """
    rule = rule or resolve_rule(instrument.raw)
    t = estimate_index_rules(indicators, instrument=instrument, rules=[rule], rep=rep, by=by, by_type=by_type,
                             total_label=total_label, total_type=total_type, psu=psu, strata=strata, level=level)
    return t.drop(columns="rule")


def choice_indicators(forms: pd.DataFrame, *, instrument, criterion: str) -> pd.DataFrame:
    """0/1 indicators for the multi-select items of ``criterion`` (e.g. needs 3.1); NaN if unanswered."""
    items = instrument.items
    ids = items.loc[items["criterion"] == criterion, "item"].tolist()
    out = {}
    for item in ids:
        v = pd.to_numeric(forms[item], errors="coerce").to_numpy(dtype=float)
        valid = np.isin(v, instrument.valid_codes(item))
        out[item] = np.where(valid, np.isin(v, instrument.positive_codes(item)).astype(float), np.nan)
    return pd.DataFrame(out, index=forms.index)


def estimate_shares(indicators: pd.DataFrame, *, rep: AnyReplicates, level: float = 0.95) -> pd.DataFrame:
    """Weighted share of 1s per column with replicate SE and logit CI (whole population).

    Returns ``id``, ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``df``, ``n``.
    """
    Yraw = indicators.to_numpy(dtype=float)
    R = (~np.isnan(Yraw)).astype(float)
    whole = np.zeros(len(indicators), dtype=np.int64)
    num, den = replicate_domain_totals(np.nan_to_num(Yraw), R, rep=rep, domain=whole, n_domains=1).totals(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        P = np.where(den > 0, num / den, np.nan)
    est = P[:, 0]
    se = np.sqrt(rep.variance(est, P[:, 1:]))
    lo, hi = logit_ci(est, se, df=rep.df, level=level)
    return pd.DataFrame({"id": list(indicators.columns), "estimate": est, "se": se, "ci_low": lo, "ci_high": hi,
                         "df": rep.df, "n": R.sum(axis=0).astype(int)})


def estimate_distribution(forms: pd.DataFrame, *, instrument, items: Sequence[str], rep: AnyReplicates,
                          level: float = 0.95) -> pd.DataFrame:
    """Weighted share of each answer category per item, among the item's valid answers, with CIs.

    The perception questions (criteria 1.1-1.8) and the priorities question are published as
    distributions, not as indices.  For item ``i`` and code ``c``::

        s_ic = sum_h w_h 1[x_hi = c] / sum_h w_h r_hi

    a ratio estimated like an item index (replicate SE, logit CI: R
    ``svyciprop(~I(x == c), design, method = "xlogit")`` on the respondents with a valid answer).

    Parameters
    ----------
    forms : DataFrame
        Cleaned forms (item columns hold codes), rows aligned with ``rep.weights``.
    instrument : Instrument
        Defines the items' valid codes.
    items : sequence of str
        Items to tabulate.
    rep : ReplicateWeights, CellReplicateWeights or PostStratifiedJKn
        Full-sample and replicate weights.
    level : float
        Confidence level.

    Returns
    -------
    DataFrame
        ``item``, ``code``, ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``df``, ``n`` (valid answers to the item).
    """
    cols: dict[str, np.ndarray] = {}
    keys: list[tuple[str, int]] = []
    for item in items:
        v = pd.to_numeric(forms[item], errors="coerce").to_numpy(dtype=float)
        codes = instrument.valid_codes(item)
        valid = np.isin(v, codes)
        for c in codes:
            cols[f"{item}\x1f{c}"] = np.where(valid, (v == c).astype(float), np.nan)
            keys.append((item, int(c)))
    if not keys:
        return pd.DataFrame(columns=["item", "code", "estimate", "se", "ci_low", "ci_high", "df", "n"])
    t = estimate_shares(pd.DataFrame(cols, index=forms.index), rep=rep, level=level)
    t.insert(0, "code", [c for _, c in keys])
    t.insert(0, "item", [i for i, _ in keys])
    return t.drop(columns="id")


def logit_ci(est: np.ndarray, se: np.ndarray, *, df: float, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """CI for a proportion built on the logit scale by the delta method.

    ``expit(logit(p) +- t_{df} * se / (p (1 - p)))`` — R ``svyciprop(method="xlogit")``,
    computed by :func:`sipas.estimation.propci.prop_interval` (tested against R there).  With a
    replicate SE of ``p`` this is not R's ``method="logit"``, which refits a
    quasi-binomial GLM under each replicate.
    """
    est = np.asarray(est, dtype=float)
    se = np.asarray(se, dtype=float)
    return prop_interval(est, se, level=level, df=np.broadcast_to(np.asarray(df, dtype=float), est.shape),
                         method="xlogit", n_rows=np.ones(est.shape))


#: Age groups of the report's breakdowns: (lowest age, highest age or None, label).
AGE_GROUPS: tuple[tuple[int, int | None, str], ...] = ((18, 29, "18-29"), (30, 44, "30-44"),
                                                       (45, 59, "45-59"), (60, None, "60+"))


def age_group(age: pd.Series) -> pd.Series:
    """Age group label (:data:`AGE_GROUPS`) per respondent; missing or under-18 ages give NaN."""
    a = pd.to_numeric(age, errors="coerce")
    out = pd.Series(np.nan, index=age.index, dtype=object)
    for low, high, label in AGE_GROUPS:
        m = (a >= low) if high is None else (a >= low) & (a <= high)
        out[m] = label
    return out


def urban_rural(commune_type: pd.Series) -> pd.Series:
    """``"urban"`` for Phường / Thị trấn, ``"rural"`` for Xã, NaN otherwise."""
    ct = commune_type.astype("string").str.strip()
    out = pd.Series(np.nan, index=commune_type.index, dtype=object)
    out[ct.isin(URBAN_TYPES).fillna(False).to_numpy(bool)] = "urban"
    out[ct.isin(RURAL_TYPES).fillna(False).to_numpy(bool)] = "rural"
    return out


def group_indices(indicators: pd.DataFrame, groups: pd.DataFrame, *, instrument, rep: AnyReplicates,
                  psu: pd.Series | None = None, strata: pd.Series | None = None,
                  levels: tuple[str, ...] = ("overall", "content", "aspect", "criterion"),
                  rule: IndexRule | None = None, level: float = 0.95) -> pd.DataFrame:
    """Indices by respondent group: one :func:`estimate_indices` domain analysis per column of ``groups``.

    Each group level is a domain of the full design (weights zeroed outside the
    domain, so SEs and CIs are design-based: Lumley 2010, *Complex Surveys*, §2.3);
    ``domain_type`` is the column name (e.g. ``sex``, ``age_group``), ``domain`` the
    level's code as text.  Rows with a missing group value belong to no domain of
    that column.  The whole-population rows are not repeated.

    Degrees of freedom: respondent groups are cross-classes spread over every stratum,
    so their CIs keep the design's df (R ``svyby``), unless ``psu`` and ``strata`` are
    given, in which case the domain rule of :func:`estimate_indices` applies
    (#PSUs - #strata among the group's rows).  That rule is not the default here: urban
    respondents live mostly in one commune per district (the administrative centre), which
    would leave 1 df and a t quantile of 12.7 for a domain of several hundred respondents.

    Returns
    -------
    DataFrame
        As :func:`estimate_indices`, restricted to ``levels``.
    """
    out = []
    for var in groups.columns:
        g = groups[var]
        g = g.where(g.isna(), g.astype(str).str.replace(r"\.0$", "", regex=True))
        t = estimate_indices(indicators, instrument=instrument, rep=rep, rule=rule, by=g, by_type=str(var),
                             psu=psu, strata=strata, level=level)
        out.append(t[(t["domain_type"] == str(var)) & t["level"].isin(levels)])
    if not out:
        return pd.DataFrame(columns=["domain_type", "domain", "level", "id", "estimate", "se", "ci_low", "ci_high",
                                     "df", "n", "note"])
    return pd.concat(out, ignore_index=True)

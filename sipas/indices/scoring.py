"""SIPAS indices from cleaned forms, driven by the instrument file.

Definitions (the instrument's ``index`` section and the methodology appendix;
Decision 1001/QĐ-BNV of 11/12/2023 and shared/METHODOLOGY.md "Index arithmetic"):

* item index ``p_i`` = weighted share of positive answers among valid answers::

      p_i = sum_h w_h r_hi y_hi / sum_h w_h r_hi

  where ``y_hi = 1`` if the code is one of the item's positive codes ("hài lòng",
  "rất hài lòng", or the favourable yes/no answer), ``r_hi = 1`` if household h gave
  a substantive answer (not skipped by routing, not "don't know", not blank);
* criterion index = mean of its item indices; aspect index = mean of its criterion
  indices; the overall SIPAS index = the index of the instrument's ``index.overall``
  aspect (satisfaction).  Perception criteria 1.1-1.8 are reported as their own indicators.

Every index is a smooth function of weighted totals, so its variance is estimated
by replication: the same function is evaluated under each replicate weight vector
(R survey's ``withReplicates``; JKn by default, Rust & Rao 1996) and
``v = scale * sum_r rscale_r (theta_r - theta)^2``.  Confidence intervals are built
on the logit scale by the delta method (R ``svyciprop(method="xlogit")``, see
:func:`sipas.estimation.propci.prop_interval`) with t quantiles on the design's degrees of freedom,
so they stay inside [0, 1].
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from sipas.errors import EstimationError
from sipas.estimation.propci import prop_interval
from sipas.estimation.replicate_weights import ReplicateWeights
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


def _index_tree(instrument) -> tuple[list[str], dict[str, list[str]], dict[str, list[str]], str]:
    items = instrument.items
    idx = items[items["index"] & items["criterion"].notna()]
    item_ids = idx["item"].tolist()
    crit_items = {c: g["item"].tolist() for c, g in idx.groupby("criterion", sort=True)}
    aspect_crits = {a: sorted(g["criterion"].unique()) for a, g in idx.groupby("aspect", sort=False)}
    return item_ids, crit_items, aspect_crits, instrument.raw.get("index", {}).get("overall", "satisfaction")


def _point_matrix(Y: np.ndarray, R: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Item shares for every weight column: (k items) x (m weight vectors), via matrix products."""
    num = (Y * R).T @ W
    den = R.T @ W
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def _combine(P: np.ndarray, item_ids, crit_items, aspect_crits, overall) -> tuple[list[tuple[str, str]], np.ndarray]:
    pos = {it: i for i, it in enumerate(item_ids)}
    labels = [("item", it) for it in item_ids]
    rows = [P[i] for i in range(len(item_ids))]
    crit_val = {}
    for c, its in crit_items.items():
        with warnings.catch_warnings():  # a criterion with no valid answer in a domain is NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            crit_val[c] = np.nanmean(np.vstack([P[pos[i]] for i in its]), axis=0)
        labels.append(("criterion", c))
        rows.append(crit_val[c])
    asp_val = {}
    for a, cs in aspect_crits.items():
        asp_val[a] = np.mean(np.vstack([crit_val[c] for c in cs]), axis=0)
        labels.append(("aspect", a))
        rows.append(asp_val[a])
    labels.append(("overall", overall))
    rows.append(asp_val[overall])
    return labels, np.vstack(rows)


def estimate_indices(indicators: pd.DataFrame, *, instrument, rep: ReplicateWeights,
                     by: pd.Series | None = None, by_type: str = "district", total_label: str = "",
                     psu: pd.Series | None = None, strata: pd.Series | None = None,
                     level: float = 0.95) -> pd.DataFrame:
    """Item, criterion, aspect and overall indices with replicate SEs and logit CIs.

    Parameters
    ----------
    indicators : DataFrame
        Output of :func:`positive_indicators` (rows aligned with ``rep.weights``).
    instrument : Instrument
        Defines which items form which criterion and aspect.
    rep : ReplicateWeights
        Full-sample and replicate weights.
    by : Series, optional
        Domain of each row (e.g. district, or a respondent group such as an age group);
        rows whose domain is missing belong to no domain.  The whole population is always included
        (``domain_type`` "province", ``domain`` = ``total_label``).  Domains use the full
        design (weights zeroed outside the domain), never a filtered copy.
    by_type : str
        Written in ``domain_type`` for the ``by`` domains.
    total_label : str
        Name of the whole population (e.g. the province's name).
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
        ``domain_type``, ``domain``, ``level`` (item, criterion, aspect, overall), ``id``, ``estimate``,
        ``se``, ``ci_low``, ``ci_high``, ``df``, ``n`` (respondents with at least one
        valid answer counted in the index).
    """
    item_ids, crit_items, aspect_crits, overall = _index_tree(instrument)
    Yraw = indicators[item_ids].to_numpy(dtype=float)
    R = (~np.isnan(Yraw)).astype(float)
    Y = np.nan_to_num(Yraw)
    W_all = np.column_stack([rep.weights, rep.replicates])
    domains = [("province", total_label, np.ones(len(indicators), dtype=bool))]
    if by is not None:
        dom = by.to_numpy(dtype=object)
        present = pd.Series(dom).dropna().unique()
        domains += [(by_type, d, np.asarray(dom == d, dtype=bool)) for d in sorted(present, key=_unit_order)]
    out = []
    for dtype, dname, mask in domains:
        W = W_all * mask[:, None]
        P = _point_matrix(Y, R, W)
        labels, T = _combine(P, item_ids, crit_items, aspect_crits, overall)
        est = T[:, 0]
        se = np.sqrt(rep.variance(est, T[:, 1:]))
        df = rep.df
        if dtype != "province" and psu is not None and strata is not None:
            df = float(max(1, pd.Series(psu.to_numpy()[mask]).nunique() - pd.Series(strata.to_numpy()[mask]).nunique()))
        lo, hi = logit_ci(est, se, df=df, level=level)
        n_item = (R * mask[:, None]).sum(axis=0)
        n_any = int(((R.sum(axis=1) > 0) & mask).sum())
        for j, (lvl, ident) in enumerate(labels):
            n = int(n_item[item_ids.index(ident)]) if lvl == "item" else n_any
            out.append({"domain_type": dtype, "domain": dname, "level": lvl, "id": ident, "estimate": est[j], "se": se[j],
                        "ci_low": lo[j], "ci_high": hi[j], "df": df, "n": n})
    return pd.DataFrame(out)


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


def estimate_shares(indicators: pd.DataFrame, *, rep: ReplicateWeights, level: float = 0.95) -> pd.DataFrame:
    """Weighted share of 1s per column with replicate SE and logit CI (whole population).

    Returns ``id``, ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``df``, ``n``.
    """
    Yraw = indicators.to_numpy(dtype=float)
    R = (~np.isnan(Yraw)).astype(float)
    P = _point_matrix(np.nan_to_num(Yraw), R, np.column_stack([rep.weights, rep.replicates]))
    est = P[:, 0]
    se = np.sqrt(rep.variance(est, P[:, 1:]))
    lo, hi = logit_ci(est, se, df=rep.df, level=level)
    return pd.DataFrame({"id": list(indicators.columns), "estimate": est, "se": se, "ci_low": lo, "ci_high": hi,
                         "df": rep.df, "n": R.sum(axis=0).astype(int)})


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


def group_indices(indicators: pd.DataFrame, groups: pd.DataFrame, *, instrument, rep: ReplicateWeights,
                  psu: pd.Series | None = None, strata: pd.Series | None = None,
                  levels: tuple[str, ...] = ("overall", "aspect", "criterion"),
                  level: float = 0.95) -> pd.DataFrame:
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
        t = estimate_indices(indicators, instrument=instrument, rep=rep, by=g, by_type=str(var),
                             psu=psu, strata=strata, level=level)
        out.append(t[(t["domain_type"] != "province") & t["level"].isin(levels)])
    if not out:
        return pd.DataFrame(columns=["domain_type", "domain", "level", "id", "estimate", "se", "ci_low", "ci_high",
                                     "df", "n"])
    return pd.concat(out, ignore_index=True)

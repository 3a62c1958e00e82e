"""The report's tables and paragraphs, built from the context; HTML tables and the XLSX workbook."""

from __future__ import annotations

from typing import Any

import datetime as _dt
import os
import subprocess
from pathlib import Path

import pandas as pd

from sipas import __version__
from sipas import io as sio
from sipas.indices.published import comparison_values
from sipas.report.blocks import md_escape
from sipas.report.context import (
    GROUP_VARS,
    ReportContext,
    _col,
    _idx,
    _labels,
    _published,
    benchmark,
    benchmark_difference,
    group_label,
    index_rule,
    overall,
    precision_rule,
)
from sipas.indices.rankings import imprecise
from sipas.text.collation import vi_sort_key
from sipas.text.labels import label_set


def summary_md(ctx: ReportContext) -> str:
    """Section 1: the summary for the council."""
    o = overall(ctx)
    rank = ctx.tables["ranking"]
    rank = rank[rank["rank"].notna()] if "rank" in rank.columns else rank   # units too small are not ranked
    rr = _response_rates(ctx)
    n_ret = int(rr["returned"].sum()) if rr is not None else len(ctx.tables["forms_clean"])
    n_dist = int(rr["distributed"].sum()) if rr is not None else n_ret
    parts = [f"## {ctx.tr('s_summary')}", ctx.md(
        "summary_text", province=ctx.province,
        year=ctx.cfg.year, overall=ctx.pct(o["estimate"]), lo=ctx.pct(o["ci_low"]), hi=ctx.pct(o["ci_high"]),
        n_valid=len(ctx.tables["forms_clean"]), n_returned=n_ret, rr=ctx.pct(n_ret / n_dist),
        top=rank.iloc[0]["domain"], top_val=ctx.pct(rank.iloc[0]["estimate"]),
        bottom=rank.iloc[-1]["domain"], bottom_val=ctx.pct(rank.iloc[-1]["estimate"]))]
    bd = benchmark_difference(ctx)
    if bd is not None:
        b = benchmark(ctx)
        parts.append(ctx.md("summary_benchmark", label=b["label"], value=ctx.pct(b["value"], 2),
                            direction=ctx.tr("direction_higher" if bd["diff"] >= 0 else "direction_lower"),
                            diff=ctx.num(100 * abs(bd["diff"])), lo=ctx.num(100 * bd["lo"]),
                            hi=ctx.num(100 * bd["hi"]), sig=ctx.tr("sig_yes" if bd["significant"] else "sig_no")))
    yoy = _published(ctx, "year_over_year")
    if yoy is not None:
        r = yoy[(yoy["domain_type"] == ctx.total) & (yoy["level"] == "overall")].iloc[0]
        parts.append(ctx.tr("summary_change", prev_year=ctx.cfg.year - 1, change=ctx.num(100 * r["change"]),
                            lo=ctx.num(100 * r["ci_low_change"]), hi=ctx.num(100 * r["ci_high_change"]),
                            sig=ctx.tr("sig_yes" if r["significant"] else "sig_no")))
    t = _idx(ctx)
    rule = index_rule(ctx)
    lab = _labels(ctx)
    contents = _content_values(ctx, rule)
    if contents:
        parts.append(ctx.md("summary_contents", contents="; ".join(f"{n} {v}" for n, v in contents)))
    parts.append(rule_md(ctx))
    sat = set(rule.criteria_below())
    c = t[(t["domain_type"] == ctx.total) & (t["level"] == "criterion") & t["id"].astype(str).isin(sat)]
    if len(c):
        c = c.sort_values("estimate", kind="stable")
        parts.append(ctx.md("summary_criteria", best=lab.get(str(c.iloc[-1]["id"]), c.iloc[-1]["id"]),
                            best_val=ctx.pct(c.iloc[-1]["estimate"]),
                            worst=lab.get(str(c.iloc[0]["id"]), c.iloc[0]["id"]), worst_val=ctx.pct(c.iloc[0]["estimate"])))
    if "synthetic" in str(ctx.cfg.extra.get("description", {})).lower() or "mô phỏng" in ctx.cfg.province["vi"]:
        parts.append(f"> {ctx.tr('synthetic_note')}")
    return "\n\n".join(parts)


def _content_values(ctx: ReportContext, rule) -> list[tuple[str, str]]:
    """``(label, "81,4% (78,1 – 84,4)")`` of each content of the rule, for the province, in the rule's order."""
    t = _idx(ctx)
    t = t[(t["domain_type"] == ctx.total) & (t["level"] != "criterion")].drop_duplicates("id").set_index("id")
    lab = _labels(ctx)
    return [(lab.get(c, c), f"{ctx.pct(t.at[c, 'estimate'])} ({ctx.ci(t.at[c, 'ci_low'], t.at[c, 'ci_high'])})")
            for c in rule.contents if c in t.index]


def key_figures_table(ctx: ReportContext) -> pd.DataFrame:
    """Table 1.1: the key figures of the summary."""
    o = overall(ctx)
    rows = [(ctx.tr("key.overall"), f"{ctx.pct(o['estimate'])} ({ctx.ci(o['ci_low'], o['ci_high'])})")]
    rule = index_rule(ctx)
    rows += _content_values(ctx, rule)
    rows.append((ctx.tr("key.rule"), f"{rule.label.get(ctx.lang, rule.label['vi'])} — "
                                     f"{ctx.tr('rule_confirmed' if rule.confirmed else 'rule_unconfirmed')}"))
    b = benchmark(ctx)
    if b is not None:
        rows.append((ctx.tr("key.benchmark"), f"{b['label']}: {ctx.pct(b['value'], 2)}"))
    yoy = _published(ctx, "year_over_year")
    if yoy is not None:
        r = yoy[(yoy["domain_type"] == ctx.total) & (yoy["level"] == "overall")].iloc[0]
        rows.append((ctx.tr("key.change"), f"{ctx.num(100 * r['change'])} "
                                           f"({ctx.ci(r['ci_low_change'], r['ci_high_change'])})"))
    rows.append((ctx.tr("key.n_valid"), str(len(ctx.tables["forms_clean"]))))
    rr = _response_rates(ctx)
    if rr is not None:
        rows.append((ctx.tr("key.return_rate"), ctx.pct(rr["returned"].sum() / rr["distributed"].sum())))
    rows.append((ctx.tr("key.units"), str(len(ctx.tables["ranking"]))))
    return pd.DataFrame(rows, columns=[ctx.tr("col.label"), ctx.tr("col.value")])


def _response_rates(ctx: ReportContext) -> pd.DataFrame | None:
    """``response_rates.csv`` without its total row (the row whose unit columns read ``Total``)."""
    rr = ctx.tables.get("response_rates")
    if rr is None:
        return None
    return rr[rr[ctx.cfg.design.unit_keys[0]] != "Total"]


def response_table(ctx: ReportContext) -> pd.DataFrame:
    """Table 2.1: distribution, return and valid forms by report unit (district or commune)."""
    rr = _response_rates(ctx)
    u = ctx.unit
    counts = ["distributed", "returned", "valid"] + (["substituted"] if "substituted" in rr.columns else [])
    g = rr.groupby(u, sort=False)[counts].sum().reset_index()
    tot = g[counts].sum()
    g = pd.concat([g, pd.DataFrame([{u: ctx.tr("legend_province"), **tot.to_dict()}])], ignore_index=True)
    g["return_rate"] = g["returned"] / g["distributed"]
    g["valid_rate"] = g["valid"] / g["returned"]
    out = pd.DataFrame({
        ctx.tr("col.district"): g[u],
        ctx.tr("col.distributed"): g["distributed"], ctx.tr("col.returned"): g["returned"],
        ctx.tr("col.valid"): g["valid"],
        ctx.tr("col.return_rate"): [ctx.num(100 * x) for x in g["return_rate"]],
        ctx.tr("col.valid_rate"): [ctx.num(100 * x) for x in g["valid_rate"]],
    })
    if "substituted" in g.columns:   # reserve households that replaced official ones (seed 000, 001)
        out[ctx.tr("col.substituted")] = g["substituted"].astype(int).to_numpy()
        out[ctx.tr("col.substitution_rate")] = [ctx.num(100 * s / v) if v else "—"
                                                for s, v in zip(g["substituted"], g["valid"])]
    return out


def design_md(ctx: ReportContext) -> str:
    """Section 2 text: the sample."""
    if ctx.cfg.design.element_psu:
        return unit_design_md(ctx)
    w = ctx.tables["weights"]
    rr = _response_rates(ctx)
    strata = ctx.cfg.design.strata
    keys = [k for k in ("district", "commune") if k in w.columns]
    per_commune = w.drop_duplicates(keys + ["village"]).groupby(keys).size()
    per_village = (ctx.cfg.extra.get("sampling") or {}).get("households_per_village")
    if per_village is None:   # not configured: what the sample list holds (drawn households per village)
        per_village = _count_range(ctx, w.groupby(keys + ["village"]).size())
    return "\n\n".join([f"## {ctx.tr('s_design')}", ctx.tr(
        "design_text", villages_per_commune=_count_range(ctx, per_commune), households_per_village=per_village,
        n_districts=w["district"].nunique() if "district" in w else 0,
        n_strata=w[strata].nunique() if strata in w else 0, n_communes=w["commune"].nunique(),
        n_villages=w[["commune", "village"]].drop_duplicates().shape[0],
        n_sampled=int(rr["distributed"].sum()) if rr is not None else len(w))])


def unit_design_md(ctx: ReportContext) -> str:
    """Section 2 text of a service-user survey: units, window, forms, and -- in exit mode -- what a desk's
    handing out of forms means for the results."""
    w = ctx.tables["weights"]
    cells = ctx.tables.get("weight_cells")
    samp = ctx.cfg.extra.get("sampling") or {}
    window = [_day(v) for v in (samp.get("window") or ["—", "—"])]
    rr = _response_rates(ctx)
    mode = str(samp.get("mode", "exit"))
    parts = [f"## {ctx.tr('s_design')}", ctx.tr(
        "unit_design_text", n_units=w["unit"].nunique(), first=window[0], last=window[1],
        n_transactions=ctx.num(float(cells["transactions"].sum()), 0) if cells is not None else "—",
        n_distributed=int(rr["distributed"].sum()) if rr is not None else len(w), n_valid=len(w))]
    parts.append(ctx.tr(f"unit_mode.{mode}") if ctx.has(f"unit_mode.{mode}") else mode)
    if mode == "exit":
        parts.append(f"> ⚠ {ctx.tr('unit_exit_warning')}")
    return "\n\n".join(parts)


def _day(v: object) -> str:
    """A date as Vietnamese documents write it (dd/mm/yyyy); other values as text."""
    import datetime as _dt

    try:
        d = v if isinstance(v, _dt.date) else _dt.date.fromisoformat(str(v))
    except ValueError:
        return str(v)
    return f"{d.day:02d}/{d.month:02d}/{d.year}"


def reward_table(ctx: ReportContext) -> pd.DataFrame | None:
    """Units against the area: difference, its CI, Holm-adjusted p-value and verdict (``unit_comparison``)."""
    c = ctx.tables.get("unit_comparison")
    if c is None or not len(c):
        return None
    c = c.sort_values("difference", ascending=False, kind="stable")
    return pd.DataFrame({
        ctx.tr("col.district"): [str(u) for u in c["domain"]],
        ctx.tr("col.estimate"): [ctx.num(100 * v) for v in c["estimate"]],
        ctx.tr("col.difference"): [ctx.num(100 * v) for v in c["difference"]],
        ctx.tr("col.ci"): [ctx.ci(a, b) for a, b in zip(c["ci_low_difference"], c["ci_high_difference"])],
        ctx.tr("col.p_adjusted"): [ctx.num(v, 3) for v in c["p_adjusted"]],
        ctx.tr("col.verdict"): [ctx.tr(f"verdict.{v}") for v in c["verdict"]],
    })


def _count_range(ctx: ReportContext, counts: pd.Series) -> str:
    """``"3"`` when every unit has the same count, else ``"2–3"`` (smallest to largest)."""
    if counts.empty:
        return "—"
    lo, hi = int(counts.min()), int(counts.max())
    return str(lo) if lo == hi else f"{lo}–{hi}"


def recheck_table(ctx: ReportContext) -> pd.DataFrame | None:
    """Table 2.2: agreement of original and recheck answers per item (``recheck_agreement.csv``)."""
    r = ctx.tables.get("recheck_agreement")
    if r is None:
        return None
    lab = _labels(ctx)
    return pd.DataFrame({
        ctx.tr("col.item"): [f"{i} — {lab[i]}" if i in lab else str(i) for i in r["item"]],
        ctx.tr("col.n"): r["n"],
        ctx.tr("col.agreement"): [ctx.num(100 * v) for v in r["agreement"]],
        ctx.tr("col.kappa"): [ctx.num(v, 2) for v in r["kappa"]],
    })


def recheck_failed_table(ctx: ReportContext) -> pd.DataFrame | None:
    """Table 2.3: rechecked forms that failed (``recheck_failed_forms.csv``; form numbers only)."""
    r = ctx.tables.get("recheck_failed_forms")
    if r is None:
        return None
    return pd.DataFrame({
        ctx.tr("col.form_id"): r["form_id"].astype(str),
        ctx.tr("col.items_disagreeing"): r["items_disagreeing"],
        ctx.tr("col.share_disagreeing"): [ctx.num(100 * v) for v in r["share_disagreeing"]],
    })


def double_entry_table(ctx: ReportContext, *, max_rows: int = 20) -> pd.DataFrame | None:
    """Table 2.4: cells differing between two entries; values of columns that are not
    questionnaire items or profile answers (possibly personal data) are masked."""
    d = ctx.tables.get("double_entry_discrepancies")
    if d is None:
        return None
    known = set(ctx.instrument.items["item"]) | {v["id"] for v in ctx.instrument.raw.get("profile", [])}
    mask = ~d["column"].isin(known)
    first = d["first"].astype("string").fillna("").where(~mask, "•••")
    second = d["second"].astype("string").fillna("").where(~mask, "•••")
    out = pd.DataFrame({ctx.tr("col.form_id"): d["form_id"].astype(str), ctx.tr("col.column"): d["column"],
                        ctx.tr("col.first"): first, ctx.tr("col.second"): second})
    return out.head(max_rows)


def cleaning_md(ctx: ReportContext) -> str:
    """Section 3 text."""
    n_valid = len(ctx.tables["forms_clean"])
    n_inv = len(ctx.tables.get("forms_invalid", pd.DataFrame()))
    return "\n\n".join([f"## {ctx.tr('s_cleaning')}",
                        ctx.tr("cleaning_text", n_in=n_valid + n_inv, n_valid=n_valid, n_invalid=n_inv)])


def cleaning_table(ctx: ReportContext) -> pd.DataFrame:
    """Table 3.1: forms and cells affected per cleaning rule, rules named in the report language."""
    s = ctx.tables["cleaning_summary"]
    out = pd.DataFrame({ctx.tr("col.rule"): [ctx.tr(f"rules.{r}") if ctx.has(f"rules.{r}") else str(r)
                                             for r in s["rule"]]})
    if "action" in s.columns:
        out[ctx.tr("col.action")] = [ctx.tr(f"actions.{a}") if ctx.has(f"actions.{a}") else str(a)
                                     for a in s["action"]]
    for c in ("forms_affected", "cells_changed"):
        if c in s.columns:
            out[ctx.tr(f"col.{c}")] = s[c].to_numpy()
    out[ctx.tr("col.code")] = s["rule"].to_numpy()
    return out


def reliability_table(ctx: ReportContext) -> pd.DataFrame:
    """Table 4.1: alpha with Feldt CI per criterion."""
    r = ctx.tables["reliability_criteria"]
    lab = _labels(ctx)
    return pd.DataFrame({
        ctx.tr("col.criterion"): [lab.get(str(c), str(c)) for c in r["criterion"]],
        ctx.tr("col.k"): r["k"], ctx.tr("col.n"): r["n"],
        ctx.tr("col.alpha"): [ctx.num(a, 3) for a in r["alpha"]],
        ctx.tr("col.ci"): [ctx.ci(a, b, scale=1, digits=3) for a, b in zip(r["ci_low"], r["ci_high"])],
        ctx.tr("col.weak_items"): r["weak_items"].astype("string").fillna("") if "weak_items" in r else "",
    })


def reliability_items_table(ctx: ReportContext) -> pd.DataFrame | None:
    """Table 4.2: flagged items (``reliability_items.csv`` rows with a flag)."""
    r = ctx.tables.get("reliability_items")
    if r is None or "flag" not in r.columns:
        return None
    r = r[r["flag"].notna() & (r["flag"].astype(str) != "")]
    lab = _labels(ctx)
    flags = label_set("reliability", lang=ctx.lang)["flags"]
    return pd.DataFrame({
        ctx.tr("col.criterion"): r["criterion"].astype(str).to_numpy(),
        ctx.tr("col.item"): [f"{i} — {lab.get(i, i)}" for i in r["item"]],
        ctx.tr("col.item_total_r"): [ctx.num(v, 3) for v in r["item_total_r"]],
        ctx.tr("col.alpha_if_deleted"): [ctx.num(v, 3) for v in r["alpha_if_deleted"]],
        ctx.tr("col.flag"): ["; ".join(flags.get(f.strip(), f.strip()) for f in str(x).split(";"))
                             for x in r["flag"]],
    })


def cfa_table(ctx: ReportContext) -> pd.DataFrame | None:
    """Table 4.3: CFA fit, one row per model (``cfa_fit.csv``: [model,] index, value, threshold, ok).

    Columns: the model (its respondents, in words), χ², df, p, then every index with a threshold
    (Hu & Bentler 1999: CFI, TLI, RMSEA, SRMR) and the indices that miss their threshold.  A model
    that could not be estimated shows "—".
    """
    c = ctx.tables.get("cfa_fit")
    if c is None:
        return None
    if "model" not in c.columns:
        c = c.assign(model="all")
    names = label_set("reliability", lang=ctx.lang)
    models = names["models"]
    rows = []
    for model, g in c.groupby("model", sort=False):
        v = dict(zip(g["index"].astype(str), g["value"]))
        ok = dict(zip(g["index"].astype(str), g["ok"]))
        thr = [i for i, t in zip(g["index"].astype(str), g["threshold"]) if isinstance(t, str) and t]
        label = names["model_join"].join(models.get(m, m) for m in str(model).split("+"))
        row = {ctx.tr("col.model"): label,
               "χ²": ctx.num(float(v.get("chi2", float("nan"))), 1),
               ctx.tr("col.fit_df"): ctx.num(float(v.get("df", float("nan"))), 0),
               ctx.tr("col.fit_p"): ctx.num(float(v.get("p_value", float("nan"))), 3)}
        for i in thr:
            row[i] = ctx.num(float(v[i]), 3)
        missed = [i for i in thr if str(ok.get(i)) == "False"]
        estimable = all(pd.notna(v.get(i)) for i in thr)
        row[ctx.tr("col.fit_missed")] = ", ".join(missed) if missed else ("—" if not estimable
                                                                         else ctx.tr("col.fit_none_missed"))
        rows.append(row)
    return pd.DataFrame(rows)


def weighting_md(ctx: ReportContext) -> str:
    s = ctx.tables["weight_summary"]
    fin = s[s["weights"] == "final"].iloc[0]
    return "\n\n".join([f"## {ctx.tr('s_weighting')}",
                        ctx.tr("weighting_text", deff=ctx.num(fin["kish_deff"], 2), neff=ctx.num(fin["n_eff"], 0))])


def weight_table(ctx: ReportContext) -> pd.DataFrame:
    s = ctx.tables["weight_summary"].copy()
    s["weights"] = [ctx.tr(f"weights_kind.{k}") if ctx.has(f"weights_kind.{k}") else str(k) for k in s["weights"]]
    num_cols = [c for c in s.columns if c != "weights"]
    out = s[["weights"] + num_cols].rename(columns={"weights": ctx.tr("col.weights")})
    for c in num_cols:
        out[c] = [ctx.num(v, 2) for v in out[c]]
    return out.rename(columns={c: _col(ctx, f"w_{c}") if ctx.has(f"col.w_{c}") else c for c in num_cols})


def margins_table(ctx: ReportContext) -> pd.DataFrame | None:
    """Table 5.2: margins before/after weighting (``weight_margins.csv``, columns shown as written)."""
    m = ctx.tables.get("weight_margins")
    if m is None:
        return None
    names = label_set("weighting", lang=ctx.lang)
    if "margin" in m.columns:   # the margin's name (a frame column such as commune_type) in words
        m = m.assign(margin=[names["margins"].get(x, x) for x in m["margin"].astype(str)])
    out = pd.DataFrame()
    for c in m.columns:
        v = m[c]
        if pd.api.types.is_float_dtype(v):
            share = v.dropna().between(0, 1).all()
            out[_col(ctx, c)] = [ctx.num(100 * x) if share else ctx.num(x, 1) for x in v]
        else:
            out[_col(ctx, c)] = v.astype(str)
    return out


def _fmt_index_rows(ctx: ReportContext, t: pd.DataFrame, label_col: str, labels: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({
        label_col: labels.to_numpy(),
        ctx.tr("col.estimate"): [ctx.num(100 * v) for v in t["estimate"]],
        ctx.tr("col.ci"): [ctx.ci(a, b) for a, b in zip(t["ci_low"], t["ci_high"])],
        ctx.tr("col.se"): [ctx.num(100 * v, 2) for v in t["se"]],
        ctx.tr("col.n"): t["n"].to_numpy(),
    })


def aspect_table(ctx: ReportContext) -> pd.DataFrame:
    """Table 6.1: overall, contents (or aspects) and criteria for the province, in the rule's order;
    a value missing or resting on fewer parts carries the reason (``note`` of the indices table)."""
    t = _idx(ctx)
    t = t[(t["domain_type"] == ctx.total) & (t["level"] != "item")]
    lab = _labels(ctx)
    order = {"overall": 0, "criterion": 2}
    t = t.assign(_o=t["level"].map(order).fillna(1)).sort_values(["_o"], kind="stable")
    names = pd.Series([lab.get(str(i), str(i)) + note_text(ctx, n) for i, n in zip(t["id"], _notes(t))])
    return _fmt_index_rows(ctx, t, ctx.tr("col.label"), names)


def _notes(t: pd.DataFrame) -> list[object]:
    """The ``note`` column of an indices table (empty notes where an older table has none)."""
    return t["note"].tolist() if "note" in t.columns else [""] * len(t)


def note_text(ctx: ReportContext, note: object) -> str:
    """Reader's text of an indices ``note`` (" (…)"), e.g. ``skipped:2B.5`` -> " (không tính tiêu chí 2B.5: …)"."""
    if not isinstance(note, str) or not note:
        return ""
    kind, _, ids = note.partition(":")
    return " (" + ctx.tr(f"notes.{kind}", ids=", ".join(ids.split(","))) + ")" if ctx.has(f"notes.{kind}") else ""


def rule_md(ctx: ReportContext) -> str:
    """One paragraph: the index rule used, its source and whether it is confirmed (a warning when not)."""
    r = index_rule(ctx)
    text = ctx.md("rule_text", label=r.label.get(ctx.lang, r.label["vi"]),
                  source=r.source.get(ctx.lang, r.source["vi"]),
                  confirmed=ctx.tr("rule_confirmed" if r.confirmed else "rule_unconfirmed"),
                  origin=ctx.tr(f"rule_origin.{'survey' if r.origin == 'survey.yml' else 'instrument'}"))
    return text if r.confirmed else f"> ⚠ {text} {ctx.tr('rule_warning')}"


def item_table(ctx: ReportContext) -> pd.DataFrame:
    """Table 6.2: item indices for the province."""
    t = _idx(ctx)
    t = t[(t["domain_type"] == ctx.total) & (t["level"] == "item")]
    lab = _labels(ctx)
    return _fmt_index_rows(ctx, t, ctx.tr("col.item"), pd.Series([f"{i} — {lab.get(i, i)}" for i in t["id"]]))


def district_table(ctx: ReportContext) -> pd.DataFrame:
    """Table 6.3: overall index per report unit, district or commune (small cells suppressed)."""
    t = _idx(ctx)
    t = t[(t["domain_type"] == ctx.unit) & (t["level"] == "overall")].sort_values("estimate", ascending=False)
    rule = precision_rule(ctx)
    mark = imprecise(t, max_ci_width=rule["max_ci_width"], min_df=rule["min_df"]).to_numpy()
    names = pd.Series([str(d) + note_text(ctx, n) + (" †" if m else "")
                       for d, n, m in zip(t["domain"], _notes(t), mark)])
    return _fmt_index_rows(ctx, t, ctx.tr("col.district"), names)


def precision_md(ctx: ReportContext) -> str | None:
    """The caution under the unit table: which units' estimates are too imprecise to compare, and the rule."""
    t = _idx(ctx)
    t = t[(t["domain_type"] == ctx.unit) & (t["level"] == "overall")]
    rule = precision_rule(ctx)
    bad = t[imprecise(t, max_ci_width=rule["max_ci_width"], min_df=rule["min_df"])]
    if bad.empty:
        return None
    return "† " + ctx.md("precision_note", units=", ".join(sorted(map(str, bad["domain"]), key=vi_sort_key)),
                         width=ctx.num(100 * rule["max_ci_width"], 0), df=ctx.num(rule["min_df"], 0))


#: Above this many report units, table 6.5 has units as rows and criterion ids as columns (fits A4).
WIDE_UNITS = 10


def district_criteria_table(ctx: ReportContext) -> pd.DataFrame:
    """Table 6.5: criterion × report unit indices in % (published: small cells shown as —).

    With more than :data:`WIDE_UNITS` units (e.g. communes of a two-tier survey) the table is
    transposed: one row per unit, one column per criterion id (labels are in table 6.1).
    """
    t = _idx(ctx)
    lab = _labels(ctx)
    parts = []
    for dtype in (ctx.total, ctx.unit):
        parts.append(t[(t["domain_type"] == dtype) & (t["level"] != "item")])
    t = pd.concat(parts)
    t = t.assign(_o=t["level"].map({"criterion": 0, "overall": 2}).fillna(1).astype(int))
    mat = t.pivot(index=["_o", "id"], columns="domain", values="estimate").sort_index()
    cols = [ctx.cfg.province["vi"]] + sorted([c for c in mat.columns if c != ctx.cfg.province["vi"]],
                                             key=vi_sort_key)
    mat = mat.reindex(columns=[c for c in cols if c in mat.columns])
    if mat.shape[1] > WIDE_UNITS + 1:
        rows = pd.DataFrame({ctx.tr("col.district"): [ctx.tr("legend_province") if c == ctx.cfg.province["vi"]
                                                      else str(c) for c in mat.columns]})
        for (o, i), vals in mat.iterrows():
            rows["SIPAS" if o == 2 else str(i)] = [ctx.num(100 * v) for v in vals]
        return rows
    out = pd.DataFrame({ctx.tr("col.criterion"): [lab.get(str(i), str(i)) for o, i in mat.index]})
    for c in mat.columns:
        name = ctx.tr("legend_province") if c == ctx.cfg.province["vi"] else str(c)
        out[name] = [ctx.num(100 * v) for v in mat[c]]
    return out


def group_table(ctx: ReportContext) -> pd.DataFrame | None:
    """Table 6.4: overall and aspect indices by respondent group (small cells suppressed)."""
    g = ctx.tables.get("indices_groups_published")
    if g is None or not len(g):
        return None
    lab = _labels(ctx)
    o = g[g["level"] == "overall"]
    mids = g[~g["level"].isin(["overall", "criterion", "item"])]
    aspects = list(dict.fromkeys(mids["id"]))
    rows = []
    for var in [v for v in GROUP_VARS if v in set(o["domain_type"])] + sorted(set(o["domain_type"]) - set(GROUP_VARS)):
        for _, r in o[o["domain_type"] == var].iterrows():
            row = {ctx.tr("col.group_var"): ctx.tr(f"groups.{var}") if ctx.has(f"groups.{var}") else var,
                   ctx.tr("col.group_level"): group_label(ctx, var, r["domain"]),
                   ctx.tr("col.n"): int(r["n"]),
                   "SIPAS (%)": ctx.num(100 * r["estimate"]),
                   ctx.tr("col.ci"): "—" if pd.isna(r["estimate"]) else ctx.ci(r["ci_low"], r["ci_high"])}
            for a in aspects:
                m = mids[(mids["domain_type"] == var) & (mids["domain"] == r["domain"]) & (mids["id"] == a)]
                row[f"{lab.get(a, a)} (%)"] = ctx.num(100 * m["estimate"].iloc[0]) if len(m) else "—"
            rows.append(row)
    return pd.DataFrame(rows)


def ranking_table(ctx: ReportContext) -> pd.DataFrame:
    """Table 7.1: rank, 95% rank interval and groups not distinguishable."""
    r = ctx.tables["ranking"]

    def whole(v: object) -> str:
        return "—" if pd.isna(v) else str(int(v))

    rule = precision_rule(ctx)
    mark = imprecise(r, max_ci_width=rule["max_ci_width"], min_df=rule["min_df"]).to_numpy()
    out = pd.DataFrame({
        ctx.tr("col.rank"): [whole(v) for v in r["rank"]],
        ctx.tr("col.district"): [str(d) + (" †" if m else "") for d, m in zip(r["domain"], mark)],
        ctx.tr("col.estimate"): [ctx.num(100 * v) for v in r["estimate"]],
        ctx.tr("col.ci"): ["—" if pd.isna(a) else ctx.ci(a, b) for a, b in zip(r["ci_low"], r["ci_high"])],
    })
    if {"rank_low", "rank_high"} <= set(r.columns):
        out[ctx.tr("col.rank_ci")] = ["—" if pd.isna(a) else f"{int(a)} – {int(b)}"
                                      for a, b in zip(r["rank_low"], r["rank_high"])]
    out[ctx.tr("col.group")] = [whole(v) for v in r["group"]]
    return out


def yoy_table(ctx: ReportContext) -> pd.DataFrame | None:
    y = _published(ctx, "year_over_year")
    if y is None:
        return None
    y = y[y["level"].isin(["overall"])].copy()
    return pd.DataFrame({
        ctx.tr("col.unit"): [ctx.tr("legend_province") if d == ctx.total else u
                             for d, u in zip(y["domain_type"], y["domain"])],
        ctx.tr("col.previous"): [ctx.num(100 * v) for v in y["estimate_prev"]],
        ctx.tr("col.estimate"): [ctx.num(100 * v) for v in y["estimate"]],
        ctx.tr("col.change"): [ctx.num(100 * v) for v in y["change"]],
        ctx.tr("col.ci"): [ctx.ci(a, b) for a, b in zip(y["ci_low_change"], y["ci_high_change"])],
        ctx.tr("col.significant"): [ctx.tr("col.answer_yes" if s else "col.answer_no") for s in y["significant"]],
    })


def needs_table(ctx: ReportContext) -> pd.DataFrame:
    """Table 9.1: priorities for improvement, ordered by the share of the top answer (the scale's
    positive code, e.g. "Rất nhiều"), with every answer's share when the question has more than two."""
    n = ctx.tables["needs"].sort_values("estimate", ascending=False, kind="stable")
    lab = _labels(ctx)
    out = pd.DataFrame({ctx.tr("col.label"): [lab.get(i, i) for i in n["id"]]})
    d = _published(ctx, "distributions")
    first = str(n["id"].iloc[0]) if len(n) else ""
    codes = ctx.instrument.labels(first, language=ctx.lang, with_missing=False) if first else {}
    if d is not None and len(codes) > 2 and first in set(d["item"]):
        top = ctx.instrument.positive_codes(first)
        for c, name in codes.items():
            vals = d[d["code"] == c].set_index("item")["estimate"]
            out[f"{name} (%)"] = [ctx.num(100 * vals.get(i, float("nan"))) for i in n["id"]]
            if c in top:
                out[f"{ctx.tr('col.ci')} ({name})"] = [ctx.ci(a, b) for a, b in zip(n["ci_low"], n["ci_high"])]
    else:
        out[ctx.tr("col.share")] = [ctx.num(100 * v) for v in n["estimate"]]
        out[ctx.tr("col.ci")] = [ctx.ci(a, b) for a, b in zip(n["ci_low"], n["ci_high"])]
    out[ctx.tr("col.n")] = n["n"].to_numpy()
    return out


def recommendations_table(ctx: ReportContext, *, k: int = 3) -> pd.DataFrame:
    """Table 10.1: the ``k`` lowest satisfaction criteria, with empty columns for the Department."""
    t = _idx(ctx)
    sat = set(index_rule(ctx).criteria_below())
    c = t[(t["domain_type"] == ctx.total) & (t["level"] == "criterion") & t["id"].astype(str).isin(sat)]
    c = c.sort_values("estimate", kind="stable").head(k)
    lab = _labels(ctx)
    rows = [{ctx.tr("recommend_cols.issue"): lab.get(str(i), str(i)),
             ctx.tr("recommend_cols.value"): ctx.num(100 * e)} for i, e in zip(c["id"], c["estimate"])]
    rows.append({ctx.tr("recommend_cols.issue"): "", ctx.tr("recommend_cols.value"): ""})
    out = pd.DataFrame(rows)
    for key in ("measure", "lead", "partners", "deadline"):
        out[ctx.tr(f"recommend_cols.{key}")] = ""
    return out


def provenance(ctx: ReportContext) -> tuple[str, pd.DataFrame]:
    """Provenance text (version, commit, seed, time) and the checksum table of inputs and processed tables.

    The time is ``SOURCE_DATE_EPOCH`` when set (reproducible builds), otherwise now.
    """
    root = (ctx.root or ctx.processed.parent.parent.parent).resolve()
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).resolve().parent,
                                capture_output=True, text=True, check=False).stdout.strip() or "?"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "sipas"],
                               cwd=Path(__file__).resolve().parent, capture_output=True, text=True,
                               check=False).stdout.strip()
        if dirty and commit != "?":
            commit += "+"
    except OSError:
        commit = "?"
    files = [ctx.cfg.path, *ctx.cfg.responses, *ctx.cfg.frames.values()]
    samp = (ctx.cfg.extra.get("sampling") or {}).get("sample_file")
    if samp:
        files.append(ctx.cfg.raw_path(samp))
    files += sorted(ctx.processed.glob("*.csv"))
    rows = []
    for f in files:
        try:
            rel = str(Path(f).resolve().relative_to(root))
        except ValueError:
            rel = Path(f).name
        rows.append({ctx.tr("col.file"): rel, ctx.tr("col.sha256"): sio.sha256_file(f)})
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (_dt.datetime.fromtimestamp(int(epoch), tz=_dt.timezone.utc) if epoch and epoch.isdigit()
            else _dt.datetime.now().astimezone())
    text = ctx.tr("provenance_text", version=__version__, commit=commit, survey_id=ctx.cfg.survey_id,
                  seed=ctx.cfg.seed, time=when.strftime("%Y-%m-%d %H:%M %Z").strip())
    return text, pd.DataFrame(rows)


def config_text(ctx: ReportContext) -> str:
    """The survey configuration file as written (it holds paths, never personal data)."""
    return Path(ctx.cfg.path).read_text(encoding="utf-8")


def methodology_md(ctx: ReportContext) -> str:
    """Appendix A: formulas and sources (the aggregation as the rule used says, with its status)."""
    r = index_rule(ctx)
    lab = _labels(ctx)
    kw = {"min_n": ctx.cfg.min_cell_size, "instrument": md_escape(ctx.instrument.path.name),
          "rule_label": md_escape(r.label.get(ctx.lang, r.label["vi"])),
          "rule_tree": md_escape(rule_tree_text(ctx, r, lab)),
          "rule_source": md_escape(r.source.get(ctx.lang, r.source["vi"])),
          "confirmed": ctx.tr("rule_confirmed" if r.confirmed else "rule_unconfirmed"),
          "empty": ctx.tr(f"rule_empty.{r.empty}")}
    items = [f"- {ctx.tr(f'method_list.{k}', **kw)}" for k in ctx.t["method_list"]]
    return "\n\n".join([f"## {ctx.tr('s_method')}",
                        ctx.tr("method_text", instrument=ctx.instrument.path.name),
                        f"### {ctx.tr('method_formulas')}", "\n".join(items)])


def rule_tree_text(ctx: ReportContext, rule, lab: dict[str, str]) -> str:
    """The rule's tree in words, root first: "SIPAS = trung bình cộng (A, B); A = ..."."""
    parts = []
    for n in reversed(rule.nodes):
        if n.level == "criterion":
            continue
        how = ctx.tr(f"combine.{n.combine}")
        if n.combine == "weights":
            kids = ", ".join(f"{lab.get(c, c)} × {ctx.num(w, 2)}" for c, w in (n.weights or {}).items())
        else:
            kids = ", ".join(c if c in {x.id for x in rule.nodes if x.level == "criterion"} else lab.get(c, c)
                             for c in n.children)
        parts.append(f"{lab.get(n.id, n.id)} = {how} ({kids})")
    crit = next((n.combine for n in rule.nodes if n.level == "criterion"), "mean")
    parts.append(ctx.tr("combine_criterion", how=ctx.tr(f"combine.{crit}")))
    return "; ".join(parts)


def sensitivity_table(ctx: ReportContext) -> pd.DataFrame | None:
    """Table A.1: the overall index and its CI under each index rule (``index_sensitivity_summary.csv``),
    the contents under each rule, the difference from the rule used and the units whose rank changes."""
    s = ctx.tables.get("index_sensitivity_summary")
    rules = ctx.tables.get("index_rules")
    sens = ctx.tables.get("index_sensitivity_published")
    if s is None or rules is None or sens is None:
        return None
    meta = rules.set_index("rule")
    lab = _labels(ctx)
    contents = index_rule(ctx).contents
    rows = []
    for _, r in s.iterrows():
        m = meta.loc[r["rule"]]
        used = f" ({ctx.tr('rule_used')})" if r["used"] else ""
        row = {ctx.tr("col.rule_name"): str(m[f"label_{ctx.lang}"]) + used,
               ctx.tr("col.confirmed"): ctx.tr("col.answer_yes" if str(m["confirmed"]) == "True" else "col.answer_no"),
               ctx.tr("col.estimate"): ctx.num(100 * r["estimate"]),
               ctx.tr("col.ci"): ctx.ci(r["ci_low"], r["ci_high"])}
        for cid in contents:
            v = sens[(sens["rule"] == r["rule"]) & (sens["domain_type"] == ctx.total) & (sens["id"] == cid)]
            row[f"{lab.get(cid, cid)} (%)"] = ctx.num(100 * v["estimate"].iloc[0]) if len(v) else "—"
        row[ctx.tr("col.diff_points")] = ctx.num(100 * r["diff"], 2)
        row[ctx.tr("col.max_unit_diff")] = "—" if pd.isna(r["max_unit_diff"]) else \
            f"{ctx.num(100 * r['max_unit_diff'], 2)}" + (f" ({r['max_unit']})" if isinstance(r["max_unit"], str)
                                                         and r["max_unit"] else "")
        row[ctx.tr("col.rank_changes")] = f"{int(r['rank_changes'])}/{int(r['units'])}"
        rows.append(row)
    return pd.DataFrame(rows)


def published_table(ctx: ReportContext) -> pd.DataFrame | None:
    """Table A.2: published SIPAS values near the survey year, each with the page it was read on."""
    t = comparison_values(year=ctx.cfg.year, province=ctx.cfg.province["vi"])
    if t.empty:
        return None
    return pd.DataFrame({
        ctx.tr("col.year"): t["year"].astype(str),
        ctx.tr("col.scope"): [ctx.tr("published_scope.country") if sc == "country" else p
                              for sc, p in zip(t["scope"], t["province"])],
        ctx.tr("col.indicator"): [ctx.tr(f"published_indicator.{i}") for i in t["indicator"]],
        ctx.tr("col.value"): [ctx.num(100 * v, 2) for v in t["value"]],
        ctx.tr("col.note"): t[f"note_{ctx.lang}"],
        ctx.tr("col.source"): t["url"],
    })


def distribution_table(ctx: ReportContext) -> pd.DataFrame | None:
    """Table 6.6: questions published as distributions (perception, criteria 1.1-1.8): the share of
    each answer with its 95% CI.  The priorities question has its own table (9.1)."""
    d = _published(ctx, "distributions")
    if d is None or d.empty:
        return None
    needs = ctx.tables.get("needs")
    if needs is not None and "criterion" in needs.columns:
        d = d[~d["criterion"].astype(str).isin(set(needs["criterion"].astype(str)))]
    if d.empty:
        return None
    lab = _labels(ctx)
    code_lab = {it: ctx.instrument.labels(it, language=ctx.lang) for it in dict.fromkeys(d["item"])}
    first = ~d["item"].duplicated()
    return pd.DataFrame({
        ctx.tr("col.criterion"): [lab.get(str(c), str(c)) if f else "" for c, f in zip(d["criterion"], first)],
        ctx.tr("col.item"): [lab.get(i, i) if f else "" for i, f in zip(d["item"], first)],
        ctx.tr("col.answer"): [code_lab[i].get(int(c), str(c)) for i, c in zip(d["item"], d["code"])],
        ctx.tr("col.share"): [ctx.num(100 * v) for v in d["estimate"]],
        ctx.tr("col.ci"): [ctx.ci(a, b) for a, b in zip(d["ci_low"], d["ci_high"])],
        ctx.tr("col.n"): d["n"].to_numpy(),
    })


#: Sections shown as appendices, with their letter (tables A.1, A.2, ...).
APPENDIX_LETTERS = {"methodology": "A", "provenance": "B"}


def report_tables(ctx: ReportContext) -> dict[str, pd.DataFrame]:
    """Every table of the report, keyed by its number (sheet name of the XLSX export).

    Only the sections the survey's kind renders (:attr:`sipas.kinds.SurveyKind.report_sections`) are
    asked for tables; a section's number is its place in the kind's order (appendices by letter).
    """
    specs: list[tuple[str, Any]] = [
        ("summary", lambda: key_figures_table(ctx)),
        ("design", lambda: response_table(ctx) if "response_rates" in ctx.tables else None),
        ("design", lambda: recheck_table(ctx)), ("design", lambda: recheck_failed_table(ctx)),
        ("design", lambda: double_entry_table(ctx)),
        ("cleaning", lambda: cleaning_table(ctx)),
        ("reliability", lambda: reliability_table(ctx) if "reliability_criteria" in ctx.tables else None),
        ("reliability", lambda: reliability_items_table(ctx)), ("reliability", lambda: cfa_table(ctx)),
        ("weighting", lambda: weight_table(ctx)), ("weighting", lambda: margins_table(ctx)),
        ("results", lambda: aspect_table(ctx)), ("results", lambda: district_table(ctx)),
        ("results", lambda: district_criteria_table(ctx)), ("results", lambda: group_table(ctx)),
        ("results", lambda: item_table(ctx)), ("results", lambda: distribution_table(ctx)),
        ("ranking", lambda: ranking_table(ctx)), ("reward", lambda: reward_table(ctx)),
        ("yoy", lambda: yoy_table(ctx)), ("needs", lambda: needs_table(ctx)),
        ("recommendations", lambda: recommendations_table(ctx)),
        ("methodology", lambda: sensitivity_table(ctx)), ("methodology", lambda: published_table(ctx)),
    ]
    kind = ctx.cfg.kind
    # numbered as shown: tables with nothing to show are left out and the rest renumbered
    out: dict[str, pd.DataFrame] = {}
    counts: dict[str, int] = {}
    for section, make in specs:
        if not kind.has_section(section):
            continue
        table = make()
        if table is None or not len(table):
            continue
        sec = APPENDIX_LETTERS.get(section, str(kind.report_sections.index(section) + 1))
        counts[sec] = counts.get(sec, 0) + 1
        out[f"{sec}.{counts[sec]}"] = table
    return out


def export_tables_xlsx(ctx: ReportContext, path: str | Path | None = None) -> Path:
    """The report's tables as one XLSX workbook for the Department (one sheet per table).

    Bytes are deterministic: :func:`sipas.io.xlsx_bytes` fixes the workbook properties
    (created, modified, creator) and the zip entry times.
    """
    import io

    from openpyxl.utils import get_column_letter

    path = Path(path) if path else ctx.reports / "tables.xlsx"
    with pd.ExcelWriter(io.BytesIO(), engine="openpyxl") as xw:
        for name, df in report_tables(ctx).items():
            df.to_excel(xw, sheet_name=name, index=False)
            ws = xw.sheets[name]
            for j, col in enumerate(df.columns, start=1):
                width = max([len(str(col))] + [len(str(v)) for v in df[col].head(200)])
                ws.column_dimensions[get_column_letter(j)].width = min(max(6, width + 2), 60)
            ws.freeze_panes = "A2"
        book = xw.book
    return sio.atomic_write_bytes(path, sio.xlsx_bytes(book))

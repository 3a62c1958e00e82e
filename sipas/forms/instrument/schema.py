"""Schema of instrument files: every rule an instrument YAML must satisfy.

:func:`validate_instrument` checks a parsed instrument and raises a
:class:`~sipas.errors.ConfigError` naming the file and the offending key (e.g.
``items[p1_5].filter``) at the first violation; :func:`instrument_problems`
returns all violations instead.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sipas.errors import ConfigError

REQUIRED_KEYS = ("id", "version", "title", "source", "scales", "aspects", "criteria", "items")
OPTIONAL_KEYS = ("confirmed", "sources", "index", "filters", "profile", "record", "respondent_min_age", "notes",
                 "methodology", "overall_item")
ITEM_KEYS = {"id", "criterion", "scale", "index", "filter", "text", "confirmed", "note", "required", "source_ref",
             "overall", "short"}
#: Item and column names usable in XLSForm, SPSS and Stata: a letter, then letters, digits or ``_``; max 32.
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")
RESERVED_NAMES = {"form_id", "respondent_key", "rule", "_row"}


def _is_text(v: Any) -> bool:
    return isinstance(v, dict) and isinstance(v.get("vi"), str) and bool(v["vi"].strip()) \
        and isinstance(v.get("en", ""), str)


def _int_key(k: Any) -> bool:
    return isinstance(k, int) and not isinstance(k, bool)


def instrument_problems(raw: Any) -> list[tuple[str, str]]:
    """All schema violations of a parsed instrument, as ``(key, message)`` pairs (empty if valid)."""
    out: list[tuple[str, str]] = []
    if not isinstance(raw, dict):
        return [("", "must be a YAML mapping")]
    for k in REQUIRED_KEYS:
        if k not in raw:
            out.append((k, "required key missing"))
    for k in sorted(set(raw) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS)):
        out.append((k, f"unknown key; allowed: {', '.join(REQUIRED_KEYS + OPTIONAL_KEYS)}"))
    if out:
        return out
    if not isinstance(raw["id"], str) or not re.fullmatch(r"[a-z][a-z0-9_]*", raw["id"]):
        out.append(("id", "must be lower-case letters, digits or '_'"))
    if not isinstance(raw["version"], str):
        out.append(("version", "must be a quoted text such as \"2023.1\""))
    if not _is_text(raw["title"]):
        out.append(("title", "must have a non-empty 'vi' text (and 'en')"))
    if "confirmed" in raw and not isinstance(raw["confirmed"], bool):
        out.append(("confirmed", "must be true or false"))

    scales = raw["scales"]
    if not isinstance(scales, dict) or not scales:
        out.append(("scales", "must be a non-empty mapping of scale name to scale"))
        scales = {}
    for name, sc in scales.items():
        key = f"scales[{name}]"
        if not isinstance(sc, dict) or not isinstance(sc.get("codes"), dict) or not sc["codes"]:
            out.append((key, "needs 'codes': a mapping of whole-number code to {vi, en} label"))
            continue
        codes = sc["codes"]
        for c, lab in codes.items():
            if not _int_key(c):
                out.append((f"{key}.codes[{c}]", "code must be a whole number"))
            if not _is_text(lab):
                out.append((f"{key}.codes[{c}]", "label must have a non-empty 'vi' text"))
        for k in sorted(set(sc) - {"codes", "positive", "missing", "missing_labels", "nominal"}):
            out.append((f"{key}.{k}", "unknown key; allowed: codes, positive, missing, missing_labels, nominal"))
        if "nominal" in sc and not isinstance(sc["nominal"], bool):
            out.append((f"{key}.nominal", "must be true or false"))
        pos = sc.get("positive")
        if sc.get("nominal") is True and pos is None:
            pass  # a nominal scale (channels, ways, yes/no experience) is tabulated, never scored
        elif not isinstance(pos, list) or not pos:
            out.append((f"{key}.positive", "must list the codes counted as positive ('satisfied'), "
                                           "or the scale must be 'nominal: true'"))
        else:
            for c in pos:
                if c not in codes:
                    out.append((f"{key}.positive", f"code {c!r} is not one of the scale's codes"))
        miss = sc.get("missing", [])
        if not isinstance(miss, list):
            out.append((f"{key}.missing", "must be a list of codes"))
            miss = []
        for c in miss:
            if not _int_key(c) or c in codes:
                out.append((f"{key}.missing", f"missing code {c!r} must be a whole number not among the codes"))
        for c, lab in (sc.get("missing_labels") or {}).items():
            if c not in miss:
                out.append((f"{key}.missing_labels[{c}]", "labels a code not listed in 'missing'"))
            if not _is_text(lab):
                out.append((f"{key}.missing_labels[{c}]", "label must have a non-empty 'vi' text"))

    aspects = set()
    for i, a in enumerate(raw["aspects"] or []):
        if not isinstance(a, dict) or "id" not in a or not _is_text(a.get("label")):
            out.append((f"aspects[{i}]", "needs 'id' and 'label' {vi, en}"))
            continue
        if a["id"] in aspects:
            out.append((f"aspects[{a['id']}]", "duplicate aspect id"))
        aspects.add(a["id"])
    criteria: dict[str, str] = {}
    for i, c in enumerate(raw["criteria"] or []):
        if not isinstance(c, dict) or "id" not in c or not _is_text(c.get("label")):
            out.append((f"criteria[{i}]", "needs 'id', 'aspect' and 'label' {vi, en}"))
            continue
        cid = str(c["id"])
        if cid in criteria:
            out.append((f"criteria[{cid}]", "duplicate criterion id"))
        if c.get("aspect") not in aspects:
            out.append((f"criteria[{cid}].aspect", f"unknown aspect {c.get('aspect')!r}"))
        criteria[cid] = c.get("aspect")

    filters = raw.get("filters") or {}
    items = raw["items"]
    if not isinstance(items, list) or not items:
        out.append(("items", "must be a non-empty list"))
        items = []
    seen: dict[str, int] = {}
    profile_ids = {p.get("id") for p in raw.get("profile") or [] if isinstance(p, dict)}
    for pos_i, it in enumerate(items):
        if not isinstance(it, dict) or "id" not in it:
            out.append((f"items[{pos_i}]", "needs an 'id'"))
            continue
        iid = it["id"]
        key = f"items[{iid}]"
        if not isinstance(iid, str) or not NAME_RE.match(iid) or iid in RESERVED_NAMES:
            out.append((key, "id must start with a letter, hold only letters, digits or '_', at most 32 characters"))
        if iid in seen:
            out.append((key, f"duplicate item id (also item {seen[iid] + 1})"))
        if iid in profile_ids:
            out.append((key, "id also used by a profile question"))
        seen[iid] = pos_i
        for k in sorted(set(it) - ITEM_KEYS):
            out.append((f"{key}.{k}", f"unknown item key; allowed: {', '.join(sorted(ITEM_KEYS))}"))
        if not _is_text(it.get("text")):
            out.append((f"{key}.text", "must have a non-empty 'vi' text (and 'en')"))
        if it.get("scale") not in scales:
            out.append((f"{key}.scale", f"unknown scale {it.get('scale')!r}"))
        crit = it.get("criterion")
        if crit is not None and str(crit) not in criteria:
            out.append((f"{key}.criterion", f"unknown criterion {crit!r}"))
        if "index" in it and not isinstance(it["index"], bool):
            out.append((f"{key}.index", "must be true or false"))
        if it.get("index") and crit is None:
            out.append((f"{key}.index", "an index item needs a criterion"))
        if it.get("index") and (scales.get(it.get("scale")) or {}).get("nominal") is True:
            out.append((f"{key}.index", "an item on a nominal scale cannot enter an index"))
        if "confirmed" in it and not isinstance(it["confirmed"], bool):
            out.append((f"{key}.confirmed", "must be true or false"))
        f = it.get("filter")
        if f is not None:
            if f not in filters:
                out.append((f"{key}.filter", f"unknown filter {f!r}"))
            else:
                cond = filters[f]
                src = cond.get("item") if isinstance(cond, dict) else None
                if src not in seen or src == iid:
                    out.append((f"{key}.filter", f"filter {f!r} depends on item {src!r}, which must come earlier"))
    for name, cond in filters.items():
        key = f"filters[{name}]"
        if not isinstance(cond, dict) or "item" not in cond or not ({"equals", "in", "not_equals"} & set(cond)):
            out.append((key, "needs 'item' and one of 'equals', 'in', 'not_equals'"))
            continue
        src = next((it for it in items if isinstance(it, dict) and it.get("id") == cond["item"]), None)
        if src is None:
            out.append((key, f"unknown item {cond['item']!r}"))
            continue
        codes = (scales.get(src.get("scale")) or {}).get("codes", {})
        vals = cond.get("in") or [cond.get("equals", cond.get("not_equals"))]
        for v in vals:
            if v not in codes:
                out.append((key, f"value {v!r} is not a code of item {cond['item']!r}"))
    from sipas.forms.instrument.rules import index_section_problems

    out += index_section_problems(raw)
    for i, p in enumerate(raw.get("profile") or []):
        if not isinstance(p, dict) or "id" not in p or not _is_text(p.get("text")):
            out.append((f"profile[{i}]", "needs 'id' and 'text' {vi, en}"))
            continue
        if not NAME_RE.match(str(p["id"])):
            out.append((f"profile[{p['id']}]", "id must be a valid column name"))
        if "codes" not in p and p.get("type") not in ("integer", "text", "date"):
            out.append((f"profile[{p['id']}]", "needs 'codes' or a 'type' of integer, text or date"))
        for c, lab in (p.get("codes") or {}).items():
            if not _int_key(c) or not _is_text(lab):
                out.append((f"profile[{p['id']}].codes[{c}]", "code must be a whole number with a {vi, en} label"))
    rec = raw.get("record")
    if rec is not None:
        if not isinstance(rec, dict):
            out.append(("record", "must be a mapping"))
        else:
            for i, c in enumerate(rec.get("context") or []):
                if not isinstance(c, dict) or "id" not in c or c.get("type", "string") not in ("string", "date",
                                                                                              "integer"):
                    out.append((f"record.context[{i}]", "needs 'id' and a 'type' of string, date or integer"))
                elif c["id"] in seen:
                    out.append((f"record.context[{c['id']}]", "id also used by an item"))
    return out


def validate_instrument(raw: Any, *, file: str | Path | None = None) -> None:
    """Raise :class:`ConfigError` naming ``file`` and the key of the first schema violation in ``raw``.

    Parameters
    ----------
    raw : dict
        The parsed instrument YAML.
    file : str or Path, optional
        The file it was read from (for the message).

    Raises
    ------
    ConfigError
    """
    problems = instrument_problems(raw)
    if problems:
        key, msg = problems[0]
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise ConfigError(msg + more, file=file, key=key or None)

"""Index rules as data: how item indices combine into criteria, contents and the overall index.

An instrument's ``index:`` section declares one or more *rules*.  A rule is a tree whose root is
the node ``overall``; each node names its ``level`` (``content``, ``aspect``, ...), how it
combines its children and the children themselves, which are other nodes of the rule or
criterion ids.  A criterion combines its index items by the rule's ``criteria`` method.
Every rule carries its ``source`` and whether it is ``confirmed`` against the published
method, so that a rule sipas had to guess never looks official::

    index:
      default: contents_mean
      missing: exclude        # an item index is over valid answers only
      empty: skip             # a child with no valid answer is left out of its parent (stated in the report)
      labels: {policy: {vi: ..., en: ...}, services: {vi: ..., en: ...}}
      rules:
        contents_mean:
          label: {vi: ..., en: ...}
          source: "..."
          confirmed: false
          criteria: mean
          nodes:
            - {id: overall, combine: mean, children: [policy, services]}
            - {id: policy, level: content, combine: mean, children: ["2A.1", "2A.2"]}
            - {id: services, level: content, combine: {weights: {"2B.1": 0.6, "2B.2": 0.4}}, children: ["2B.1", "2B.2"]}

Combination methods (:func:`sipas.indices.aggregation.evaluate_rule` computes them):

``mean``
    the equal-weight mean of the children's indices;
``{weights: {child: w}}``
    ``sum_j w_j I_j`` with weights that sum to 1;
``pooled``
    all positive answers below the node over all valid answers below it,
    ``sum_i sum_h w_h r_hi y_hi / sum_i sum_h w_h r_hi`` over the node's items ``i``.

Instruments written before rules existed (``index: {overall: <aspect>, aggregate: mean}``) get
the rule they implied, :func:`legacy_rule`, marked ``confirmed: false``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sipas.errors import ConfigError
from sipas.text.labels import label_text

#: Ways a node combines its children.
COMBINE_METHODS = ("mean", "weights", "pooled")
#: Ways an item treats answers that are not valid (only ``exclude`` is defined: over valid answers only).
MISSING_RULES = ("exclude",)
#: What a node does with a child that has no valid answer in a domain.
EMPTY_RULES = ("skip", "not_computable")
#: Id of every rule's root node.
ROOT = "overall"


@dataclass(frozen=True)
class RuleNode:
    """One node of an index rule.

    Attributes
    ----------
    id : str
        Node id (``overall``, a content id such as ``policy``, or a criterion id).
    level : str
        Level written in the indices table: ``overall``, ``content``, ``aspect`` or ``criterion``.
    combine : str
        ``mean``, ``weights`` or ``pooled``.
    children : tuple of str
        Child node ids; for a criterion, its item ids.
    weights : dict, optional
        Child id -> weight (summing to 1) when ``combine == "weights"``.
    """

    id: str
    level: str
    combine: str
    children: tuple[str, ...]
    weights: Mapping[str, float] | None = None


@dataclass(frozen=True)
class IndexRule:
    """A complete rule: nodes in evaluation order (children before parents), root last.

    Attributes
    ----------
    id : str
        Rule id (e.g. ``contents_mean``).
    label : dict
        ``{"vi": ..., "en": ...}`` name of the rule for the report.
    source : dict
        ``{"vi": ..., "en": ...}``: where the rule comes from (a published text, or why sipas chose it).
    confirmed : bool
        Whether the rule was checked against the published method.
    nodes : tuple of RuleNode
        Criterion nodes first, then the other nodes, the root ``overall`` last.
    missing, empty : str
        Handling of invalid answers (:data:`MISSING_RULES`) and of children without a valid
        answer (:data:`EMPTY_RULES`).
    labels : dict
        Node id -> ``{"vi", "en"}`` label of the non-criterion nodes.
    origin : str
        ``instrument`` or ``survey.yml``.
    """

    id: str
    label: Mapping[str, str]
    source: Mapping[str, str]
    confirmed: bool
    nodes: tuple[RuleNode, ...]
    missing: str = "exclude"
    empty: str = "skip"
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    origin: str = "instrument"

    def node(self, node_id: str) -> RuleNode:
        """The node with id ``node_id``."""
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(f"rule {self.id!r} has no node {node_id!r}")

    @property
    def items(self) -> list[str]:
        """Item ids the rule reads, in the order of its criteria."""
        return [c for n in self.nodes if n.level == "criterion" for c in n.children]

    def criteria_below(self, node_id: str = ROOT) -> list[str]:
        """Criterion ids below ``node_id`` (default: the root), in the rule's criterion order."""
        below: set[str] = set()

        def walk(v: str) -> None:
            n = self.node(v)
            if n.level == "criterion":
                below.add(n.id)
                return
            for c in n.children:
                walk(c)

        walk(node_id)
        return [n.id for n in self.nodes if n.level == "criterion" and n.id in below]

    @property
    def contents(self) -> list[str]:
        """Ids of the nodes directly below the root that are not criteria (e.g. ``policy``, ``services``);
        when the root combines criteria directly, the rule's other non-criterion nodes."""
        root = self.node(ROOT)
        direct = [c for c in root.children if self.node(c).level != "criterion"]
        if direct:
            return direct
        return [n.id for n in self.nodes if n.level not in ("criterion", ROOT)]

    def descendant_items(self, node_id: str) -> list[str]:
        """Distinct items below ``node_id`` (its own children for a criterion)."""
        n = self.node(node_id)
        if n.level == "criterion":
            return list(n.children)
        out: dict[str, None] = {}
        for c in n.children:
            out.update(dict.fromkeys(self.descendant_items(c)))
        return list(out)

    def describe(self, *, language: str = "vi") -> str:
        """The rule as one line of text, e.g. ``overall = mean(policy, services); policy = mean(2A.1, ...)``."""
        parts = []
        for n in reversed(self.nodes):
            if n.level == "criterion":
                continue
            how = n.combine if n.combine != "weights" else "weights(" + ", ".join(
                f"{k}: {v:g}" for k, v in (n.weights or {}).items()) + ")"
            parts.append(f"{n.id} = {how}({', '.join(n.children)})")
        crit = next((n.combine for n in self.nodes if n.level == "criterion"), "mean")
        parts.append(f"criterion = {crit}(items)")
        return "; ".join(parts)


def _text(v: Any) -> bool:
    return isinstance(v, dict) and isinstance(v.get("vi"), str) and bool(v["vi"].strip())


def _index_items_by_criterion(raw: Mapping[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {str(c["id"]): [] for c in raw.get("criteria") or [] if isinstance(c, dict)}
    for it in raw.get("items") or []:
        if isinstance(it, dict) and it.get("index") and it.get("criterion") is not None:
            out.setdefault(str(it["criterion"]), []).append(it["id"])
    return out


def rule_problems(rule: Any, *, instrument_raw: Mapping[str, Any], key: str,
                  section: Mapping[str, Any] | None = None) -> list[tuple[str, str]]:
    """Every violation in one rule's mapping, as ``(key, message)`` pairs (empty when valid).

    Parameters
    ----------
    rule : Any
        The rule as parsed from YAML.
    instrument_raw : mapping
        The instrument's parsed YAML (criteria and items the rule refers to).
    key : str
        Key of the rule in its file (e.g. ``index.rules.contents_mean`` or ``index_rule``).
    section : mapping, optional
        The instrument's ``index`` section (its ``missing``/``empty``/``labels`` are inherited).
    """
    out: list[tuple[str, str]] = []
    if not isinstance(rule, dict):
        return [(key, "must be a mapping with label, source, confirmed, criteria and nodes")]
    allowed = {"label", "source", "confirmed", "criteria", "nodes", "missing", "empty", "labels", "note"}
    for k in sorted(set(rule) - allowed):
        out.append((f"{key}.{k}", f"unknown key; allowed: {', '.join(sorted(allowed))}"))
    if not _text(rule.get("label")):
        out.append((f"{key}.label", "needs a non-empty 'vi' text (and 'en')"))
    src = rule.get("source")
    if not ((isinstance(src, str) and src.strip()) or _text(src)):
        out.append((f"{key}.source", "must say where the rule comes from (a text, or {vi, en})"))
    if not isinstance(rule.get("confirmed"), bool):
        out.append((f"{key}.confirmed", "must be true or false"))
    if rule.get("criteria", "mean") not in ("mean", "pooled"):
        out.append((f"{key}.criteria", "must be 'mean' or 'pooled' (how a criterion combines its items)"))
    sec = section or {}
    if rule.get("missing", sec.get("missing", "exclude")) not in MISSING_RULES:
        out.append((f"{key}.missing", f"must be one of {', '.join(MISSING_RULES)}"))
    if rule.get("empty", sec.get("empty", "skip")) not in EMPTY_RULES:
        out.append((f"{key}.empty", f"must be one of {', '.join(EMPTY_RULES)}"))
    crit_items = _index_items_by_criterion(instrument_raw)
    nodes = rule.get("nodes")
    if not isinstance(nodes, list) or not nodes:
        out.append((f"{key}.nodes", "must be a non-empty list of nodes"))
        return out
    ids: dict[str, dict[str, Any]] = {}
    for i, n in enumerate(nodes):
        nk = f"{key}.nodes[{i}]"
        if not isinstance(n, dict) or not isinstance(n.get("id"), str):
            out.append((nk, "needs an 'id', 'combine' and 'children'"))
            continue
        nk = f"{key}.nodes[{n['id']}]"
        if n["id"] in ids:
            out.append((nk, "duplicate node id"))
        if n["id"] in crit_items:
            out.append((nk, "a node id may not be a criterion id"))
        ids[n["id"]] = n
        for k in sorted(set(n) - {"id", "level", "combine", "children"}):
            out.append((f"{nk}.{k}", "unknown key; allowed: id, level, combine, children"))
        if n["id"] == ROOT and n.get("level", ROOT) != ROOT:
            out.append((f"{nk}.level", "the root's level is 'overall'"))
        if n["id"] != ROOT and not isinstance(n.get("level"), str):
            out.append((f"{nk}.level", "needs a level such as 'content' or 'aspect'"))
        ch = n.get("children")
        if not isinstance(ch, list) or not ch or not all(isinstance(c, str) for c in ch):
            out.append((f"{nk}.children", "must be a non-empty list of node or criterion ids (quoted)"))
            continue
        if len(set(ch)) != len(ch):
            out.append((f"{nk}.children", "lists a child twice"))
        comb = n.get("combine")
        if isinstance(comb, dict):
            w = comb.get("weights")
            if set(comb) != {"weights"} or not isinstance(w, dict):
                out.append((f"{nk}.combine", "a mapping combine must be {weights: {child: weight}}"))
            else:
                if set(map(str, w)) != set(ch):
                    out.append((f"{nk}.combine.weights", "must give one weight to each child, and only to them"))
                vals = list(w.values())
                if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in vals):
                    out.append((f"{nk}.combine.weights", "weights must be positive numbers"))
                elif not math.isclose(sum(vals), 1.0, abs_tol=1e-9):
                    out.append((f"{nk}.combine.weights", f"weights must sum to 1, got {sum(vals):g}"))
        elif comb not in ("mean", "pooled"):
            out.append((f"{nk}.combine", "must be 'mean', 'pooled' or {weights: {child: weight}}"))
    if ROOT not in ids:
        out.append((f"{key}.nodes", f"needs a root node with id '{ROOT}'"))
    for nid, n in ids.items():
        for c in n.get("children") or []:
            if not isinstance(c, str):
                continue
            if c not in ids and c not in crit_items:
                out.append((f"{key}.nodes[{nid}].children", f"unknown node or criterion {c!r}"))
            elif c in crit_items and not crit_items[c]:
                out.append((f"{key}.nodes[{nid}].children", f"criterion {c!r} has no index item"))
    # cycles
    state: dict[str, int] = {}

    def visit(v: str) -> bool:
        state[v] = 1
        for c in ids[v].get("children") or []:
            if c in ids and (state.get(c) == 1 or (state.get(c) is None and visit(c))):
                return True
        state[v] = 2
        return False

    for nid in ids:
        if state.get(nid) is None and visit(nid):
            out.append((f"{key}.nodes", f"the tree has a cycle through {nid!r}"))
            break
    labels = {**(sec.get("labels") or {}), **(rule.get("labels") or {})}
    for nid in ids:
        if nid != ROOT and not _text(labels.get(nid)):
            out.append((f"{key}.nodes[{nid}]", "needs a label {vi, en} in index.labels"))
    return out


def index_section_problems(raw: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Violations of an instrument's ``index`` section (new rule form or legacy ``overall``/``aggregate``)."""
    idx = raw.get("index")
    if idx is None:
        return []
    if not isinstance(idx, dict):
        return [("index", "must be a mapping")]
    if "rules" not in idx:
        out = []
        for k in sorted(set(idx) - {"overall", "aggregate"}):
            out.append((f"index.{k}", "unknown key; an index section has 'rules' and 'default' "
                                      "(or the older 'overall' and 'aggregate')"))
        aspects = {a.get("id") for a in raw.get("aspects") or [] if isinstance(a, dict)}
        if idx.get("overall") is not None and idx["overall"] not in aspects:
            out.append(("index.overall", f"unknown aspect {idx['overall']!r}"))
        if idx.get("aggregate", "mean") != "mean":
            out.append(("index.aggregate", "only 'mean' is defined"))
        return out
    out = []
    for k in sorted(set(idx) - {"default", "rules", "missing", "empty", "labels"}):
        out.append((f"index.{k}", "unknown key; allowed: default, rules, missing, empty, labels"))
    rules = idx.get("rules")
    if not isinstance(rules, dict) or not rules:
        return out + [("index.rules", "must be a mapping of rule id to rule")]
    if idx.get("default") not in rules:
        out.append(("index.default", f"must name one of the rules: {', '.join(map(str, rules))}"))
    for rid, r in rules.items():
        out += rule_problems(r, instrument_raw=raw, key=f"index.rules.{rid}", section=idx)
    return out


def build_rule(rule_id: str, rule: Mapping[str, Any], *, instrument_raw: Mapping[str, Any],
               section: Mapping[str, Any] | None = None, origin: str = "instrument") -> IndexRule:
    """An :class:`IndexRule` from a validated mapping (see :func:`rule_problems`)."""
    sec = section or {}
    crit_items = _index_items_by_criterion(instrument_raw)
    crit_order = [str(c["id"]) for c in instrument_raw.get("criteria") or []]
    declared = {n["id"]: n for n in rule["nodes"]}
    used_crit: set[str] = set()
    for n in declared.values():
        used_crit.update(c for c in n["children"] if c not in declared)
    crit_combine = rule.get("criteria", "mean")
    nodes = [RuleNode(id=c, level="criterion", combine=crit_combine, children=tuple(crit_items[c]))
             for c in crit_order if c in used_crit]
    # declared nodes, children before parents, root last (a stable depth-first order)
    done: dict[str, None] = {}

    def add(v: str) -> None:
        if v in done or v not in declared:
            return
        for c in declared[v]["children"]:
            add(c)
        done[v] = None

    for v in declared:
        if v != ROOT:
            add(v)
    add(ROOT)
    for v in done:
        n = declared[v]
        comb = n["combine"]
        weights = None
        if isinstance(comb, dict):
            weights = {str(k): float(w) for k, w in comb["weights"].items()}
            comb = "weights"
        nodes.append(RuleNode(id=v, level=ROOT if v == ROOT else str(n["level"]), combine=comb,
                              children=tuple(n["children"]), weights=weights))
    labels = {**(sec.get("labels") or {}), **(rule.get("labels") or {})}
    src = rule["source"]
    source = {"vi": src.strip(), "en": src.strip()} if isinstance(src, str) else \
        {"vi": src["vi"].strip(), "en": str(src.get("en", src["vi"])).strip()}
    return IndexRule(id=str(rule_id), label=dict(rule["label"]), source=source,
                     confirmed=bool(rule["confirmed"]), nodes=tuple(nodes),
                     missing=rule.get("missing", sec.get("missing", "exclude")),
                     empty=rule.get("empty", sec.get("empty", "skip")), labels=labels, origin=origin)


def legacy_rule(instrument_raw: Mapping[str, Any]) -> IndexRule:
    """The rule an instrument without ``index.rules`` implied: each aspect = mean of its criteria's
    indices, criterion = mean of its items, overall = the ``index.overall`` aspect; ``confirmed: false``.  Its
    label and source are ``labels.index_rules.legacy`` of ``resources/report_text.yml``."""
    idx = instrument_raw.get("index") or {}
    crit_items = _index_items_by_criterion(instrument_raw)
    aspects = [a for a in instrument_raw.get("aspects") or []]
    nodes = []
    labels = {}
    for a in aspects:
        crits = [str(c["id"]) for c in instrument_raw.get("criteria") or []
                 if c.get("aspect") == a["id"] and crit_items.get(str(c["id"]))]
        if crits:
            nodes.append({"id": a["id"], "level": "aspect", "combine": "mean", "children": crits})
            labels[a["id"]] = a["label"]
    overall = idx.get("overall", "satisfaction")
    nodes.append({"id": ROOT, "combine": "mean", "children": [overall]})
    instrument = f"{instrument_raw.get('id')}-{instrument_raw.get('version')}"
    rule = {"label": label_text("index_rules.legacy.label"),
            "source": label_text("index_rules.legacy.source", instrument=instrument),
            "confirmed": False, "criteria": "mean", "nodes": nodes, "labels": labels}
    return build_rule("legacy_mean", rule, instrument_raw=instrument_raw)


def instrument_rules(instrument_raw: Mapping[str, Any]) -> tuple[dict[str, IndexRule], str]:
    """Every rule an instrument declares, and the id of its default rule."""
    idx = instrument_raw.get("index") or {}
    if "rules" not in idx:
        r = legacy_rule(instrument_raw)
        return {r.id: r}, r.id
    rules = {str(rid): build_rule(str(rid), r, instrument_raw=instrument_raw, section=idx)
             for rid, r in idx["rules"].items()}
    return rules, str(idx["default"])


def resolve_rule(instrument_raw: Mapping[str, Any], override: Any = None, *,
                 file: str | Path | None = None) -> IndexRule:
    """The rule a survey uses: the instrument's default, or ``index_rule`` of survey.yml.

    Parameters
    ----------
    instrument_raw : mapping
        The instrument's parsed YAML.
    override : str or mapping, optional
        ``index_rule`` of survey.yml: the id of one of the instrument's rules, or a whole rule
        (label, source, confirmed, criteria, nodes) for a province that has the official text.
    file : path, optional
        survey.yml, for error messages.

    Raises
    ------
    ConfigError
        Naming ``index_rule`` (and the offending sub-key) when the override is unknown or invalid.
    """
    rules, default = instrument_rules(instrument_raw)
    if override is None:
        return rules[default]
    if isinstance(override, str):
        if override not in rules:
            raise ConfigError(f"unknown index rule {override!r}; the instrument declares: {', '.join(rules)}",
                              file=file, key="index_rule")
        return rules[override]
    if isinstance(override, dict):
        rid = override.get("id", "survey")
        body = {k: v for k, v in override.items() if k != "id"}
        section = instrument_raw.get("index") if isinstance(instrument_raw.get("index"), dict) else {}
        problems = rule_problems(body, instrument_raw=instrument_raw, key="index_rule", section=section)
        if problems:
            k, msg = problems[0]
            raise ConfigError(msg, file=file, key=k)
        return build_rule(str(rid), body, instrument_raw=instrument_raw, section=section, origin="survey.yml")
    raise ConfigError("must be the id of one of the instrument's rules or a rule mapping", file=file,
                      key="index_rule")

"""The report's context: a survey-year's processed tables, configuration and instrument, loaded once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sipas import io as sio
from sipas.config import SurveyConfig, find_survey, project_root
from sipas.errors import ConfigError
from sipas.forms.instrument import load_instrument
from sipas.forms.instrument.rules import IndexRule, resolve_rule
from sipas.indices.published import national_value
from sipas.report.blocks import Block, md_escape
from sipas.text.labels import fmt_num, fmt_pct, texts

#: Respondent-group variables in report order (see :mod:`sipas.stages.indices`).
GROUP_VARS = ("sex", "age_group", "ethnicity", "area")


@dataclass
class ReportContext:
    """Everything the report shows, read from ``data/processed/<survey-id>``."""

    cfg: SurveyConfig
    lang: str
    t: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    instrument: Any
    processed: Path
    reports: Path
    figures: dict[str, Path] = field(default_factory=dict)
    root: Path | None = None

    @property
    def total(self) -> str:
        """``domain_type`` of the whole area's rows (``province``; ``country`` in a national survey):
        :attr:`sipas.kinds.SurveyKind.total_domain`."""
        return self.cfg.kind.total_domain

    @property
    def unit(self) -> str:
        """The report unit (``district``, or ``commune`` in a two-tier survey): ``cfg.design.report_unit``."""
        return self.cfg.design.report_unit

    def tr(self, key: str, **kw: Any) -> str:
        """Text ``key`` in the report language with placeholders filled.

        ``by_unit.<report unit>.<key>`` of the texts is used in place of ``key`` when it exists
        (e.g. "Xã, phường" rather than "Huyện, thành phố" when the report unit is the commune).
        """
        node = self._unit_node(key)
        if node is None:
            node = self.t
            for part in key.split("."):
                node = node[part]
        return node.get(self.lang, node["vi"]).format(**kw)

    def _unit_node(self, key: str) -> dict[str, str] | None:
        node: Any = self.t.get("by_unit", {}).get(self.unit)
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node if isinstance(node, dict) and "vi" in node else None

    def md(self, key: str, **kw: Any) -> str:
        """:meth:`tr` for Markdown blocks: every text placeholder is escaped (:func:`md_escape`), so a unit or
        province name, a label or a source from survey.yml shows as typed and never becomes HTML or markup."""
        return self.tr(key, **{k: md_escape(v) if isinstance(v, str) else v for k, v in kw.items()})

    def has(self, key: str) -> bool:
        """Whether text ``key`` exists."""
        node = self.t
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return isinstance(node, dict) and "vi" in node

    def pct(self, p: float, digits: int = 1) -> str:
        return fmt_pct(p, digits=digits, lang=self.lang)

    def num(self, x: float, digits: int = 1) -> str:
        return fmt_num(x, digits=digits, lang=self.lang)

    def ci(self, lo: float, hi: float, *, scale: float = 100, digits: int = 1) -> str:
        """``lo – hi`` (en dash), e.g. a 95% CI in percent."""
        return f"{fmt_num(scale * lo, digits=digits, lang=self.lang)} – {fmt_num(scale * hi, digits=digits, lang=self.lang)}"

    @property
    def province(self) -> str:
        return self.cfg.province.get(self.lang, self.cfg.province["vi"])


def load_context(survey_id: str, *, root: str | Path | None = None) -> ReportContext:
    """Read a survey's processed tables for the report."""
    root = Path(root) if root else project_root()
    cfg = find_survey(survey_id, root=root)
    proc = cfg.processed_dir(root)
    tables = {}
    for f in sorted(proc.glob("*.csv")):
        # cell values compared as text (a blank cell must not turn the codes into floats "4.0")
        text_cols = {"first": str, "second": str} if f.stem == "double_entry_discrepancies" else None
        tables[f.stem] = sio.read_csv(f, dtype=text_cols, keep_default_na=text_cols is None)
    inst = load_instrument(cfg.instrument_id, cfg.instrument_version)
    return ReportContext(cfg=cfg, lang=cfg.language, t=texts(), tables=tables, instrument=inst, processed=proc,
                         reports=cfg.reports_dir(root), root=root)


def index_rule(ctx: ReportContext) -> IndexRule:
    """The index rule the survey used: ``index_rule`` of survey.yml, else the instrument's default."""
    return resolve_rule(ctx.instrument.raw, ctx.cfg.extra.get("index_rule"), file=ctx.cfg.path)


def _labels(ctx: ReportContext) -> dict[str, str]:
    lab = {}
    key = f"label_{ctx.lang}"
    for _, r in ctx.instrument.criteria.iterrows():
        lab[r["criterion"]] = f'{r["criterion"]} {r[key]}'
    for _, r in ctx.instrument.aspects.iterrows():
        lab[r["aspect"]] = r[key]
    for node, text in index_rule(ctx).labels.items():
        lab[node] = text.get(ctx.lang, text["vi"])
    lab["overall"] = ctx.tr("key.overall")
    for _, r in ctx.instrument.items.iterrows():
        lab[r["item"]] = r[f"text_{ctx.lang}"]
    return lab


def _idx(ctx: ReportContext, *, published: bool = True) -> pd.DataFrame:
    return ctx.tables["indices_published" if published else "indices"]


def _published(ctx: ReportContext, name: str) -> pd.DataFrame | None:
    """``<name>_published`` (small cells blanked) when the stage wrote it, else ``<name>``, else None."""
    t = ctx.tables.get(f"{name}_published")
    return t if t is not None else ctx.tables.get(name)


def _na(ctx: ReportContext, what: str) -> Block:
    return ("md", f"*{ctx.tr('not_available', what=ctx.tr(what))}*")


def _col(ctx: ReportContext, name: str) -> str:
    return ctx.tr(f"col.{name}") if ctx.has(f"col.{name}") else name


def group_label(ctx: ReportContext, var: str, level: Any) -> str:
    """Label of a respondent group level, e.g. ("sex", "2") -> "Nữ": ``group_levels`` of the report texts, else
    the instrument's label of that code of the profile question ``var`` (e.g. a coded ``age_group``)."""
    key = f"group_levels.{var}.{level}"
    if ctx.has(key):
        return ctx.tr(key)
    labels = ctx.instrument.profile_labels(var, language=ctx.lang) if ctx.instrument is not None else {}
    code = pd.to_numeric(pd.Series([level]), errors="coerce").iloc[0]
    if labels and pd.notna(code) and float(code).is_integer() and int(code) in labels:
        return labels[int(code)]
    return str(level)


def overall(ctx: ReportContext) -> pd.Series:
    """The whole area's overall index row (the province's; the country's in a national survey)."""
    t = _idx(ctx)
    return t[(t["domain_type"] == ctx.total) & (t["level"] == "overall")].iloc[0]


#: Defaults of ``report.precision`` in survey.yml: a unit is shown with a caution when its 95% CI is wider
#: than ``max_ci_width`` (a proportion: 0.20 = 20 points) or its degrees of freedom are below ``min_df``.
PRECISION_DEFAULTS = {"max_ci_width": 0.20, "min_df": 2}


def precision_rule(ctx: ReportContext) -> dict[str, float]:
    """``report.precision`` of survey.yml over :data:`PRECISION_DEFAULTS`.

    Raises
    ------
    ConfigError
        Naming ``report.precision.<key>`` for an unknown key or a value out of range.
    """
    raw = (ctx.cfg.extra.get("report") or {}).get("precision") or {}
    if not isinstance(raw, dict):
        raise ConfigError("must be a mapping with max_ci_width and/or min_df", file=ctx.cfg.path,
                          key="report.precision")
    out = dict(PRECISION_DEFAULTS)
    for k, v in raw.items():
        if k not in out:
            raise ConfigError(f"unknown key; allowed: {', '.join(out)}", file=ctx.cfg.path, key=f"report.precision.{k}")
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and (0 < v <= 1 if k == "max_ci_width" else v >= 1)
        if not ok:
            raise ConfigError("must be a proportion in (0, 1], e.g. 0.2" if k == "max_ci_width"
                              else "must be a number >= 1", file=ctx.cfg.path, key=f"report.precision.{k}")
        out[k] = float(v)
    return out


def benchmark(ctx: ReportContext) -> dict[str, Any] | None:
    """The published index to compare against.

    ``report.benchmark`` of survey.yml, ``{"label": {"vi": ..., "en": ...}, "value": 0.8266}``, gives
    ``{"label": <text in the report language>, "value": 0.8266}``; without it, the verified national
    value of the year before the survey (:func:`sipas.indices.published.national_value`), with its
    ``url``, when the survey's kind is measured like the national index
    (:attr:`sipas.kinds.SurveyKind.national_benchmark`); None otherwise.

    Raises
    ------
    ConfigError
        When the value is not a proportion in (0, 1] or the label is missing.
    """
    b = (ctx.cfg.extra.get("report") or {}).get("benchmark")
    if b is None:
        if not ctx.cfg.kind.national_benchmark:   # e.g. exit surveys: another method, not comparable
            return None
        nat = national_value(ctx.cfg.year - 1)
        if nat is None:
            return None
        return {"label": ctx.tr("benchmark_national", year=ctx.cfg.year - 1), "value": nat["value"],
                "url": nat["url"]}
    if not isinstance(b, dict) or "value" not in b or "label" not in b:
        raise ConfigError("must be a mapping with 'label' (vi, en) and 'value'", file=ctx.cfg.path,
                          key="report.benchmark")
    v = b["value"]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 1:
        raise ConfigError(f"value must be a proportion in (0, 1], e.g. 0.8266, got {v!r}", file=ctx.cfg.path,
                          key="report.benchmark.value")
    lab = b["label"]
    if isinstance(lab, dict):
        lab = lab.get(ctx.lang, lab.get("vi"))
    if not isinstance(lab, str) or not lab:
        raise ConfigError("label must be a text or a mapping with 'vi' and 'en'", file=ctx.cfg.path,
                          key="report.benchmark.label")
    return {"label": lab, "value": float(v)}


def benchmark_difference(ctx: ReportContext) -> dict[str, float] | None:
    """Overall index minus the benchmark, with the CI shifted by the (fixed) benchmark."""
    b = benchmark(ctx)
    if b is None:
        return None
    o = overall(ctx)
    lo, hi = o["ci_low"] - b["value"], o["ci_high"] - b["value"]
    return {"value": b["value"], "diff": o["estimate"] - b["value"], "lo": lo, "hi": hi,
            "significant": bool(lo > 0 or hi < 0)}

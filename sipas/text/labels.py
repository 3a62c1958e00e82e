"""Texts a reader sees, kept in data (``resources/report_text.yml``, vi and en), and number formatting.

pandas is imported only by the number formats, so that :mod:`sipas.kinds` (and through it
:mod:`sipas.config`) can name its labels here without loading it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from sipas.errors import ReportError


@lru_cache(maxsize=1)
def _texts() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when present (about 10x faster)
    text = (resources.files("sipas") / "resources" / "report_text.yml").read_text(encoding="utf-8")
    return yaml.load(text, Loader=loader)  # noqa: S506 -- a safe loader


def texts() -> dict[str, Any]:
    """The report's texts (``resources/report_text.yml``), parsed once per process.

    Each call returns its own copy, so a caller may change it without changing what the next caller reads.
    """
    return copy.deepcopy(_texts())


def label_set(section: str, *, lang: str = "vi") -> dict[str, Any]:
    """Labels ``labels.<section>`` of ``resources/report_text.yml`` in ``lang``.

    The same tree with every ``{vi: ..., en: ...}`` text replaced by its ``lang``
    version (Vietnamese where there is none); used by the stage notebooks' tables and
    charts (``sipas.stages.reliability``, ``sipas.report.weight_charts``).

    Raises
    ------
    ReportError
        When ``labels.<section>`` does not exist.
    """
    node = texts().get("labels", {}).get(section)
    if not isinstance(node, dict):
        raise ReportError(f"report_text.yml has no labels.{section}")

    def in_lang(n: Any) -> Any:
        if isinstance(n, dict) and "vi" in n:
            return n.get(lang, n["vi"])
        return {k: in_lang(v) for k, v in n.items()} if isinstance(n, dict) else n

    return in_lang(node)


def notebook_text(key: str, *, lang: str = "vi", **fields: Any) -> str:
    """Text ``notebooks.<key>`` of ``resources/report_text.yml`` in ``lang``, placeholders filled.

    The stage notebooks (``notebooks/01``–``04``) take the sentences they show from here, e.g.
    ``notebook_text("cleaning.no_recheck", lang=cfg.language)`` (``cfg.language`` is the survey's
    report language), and those that word the survey kind's design from :func:`kind_notebook_text`.
    A text without a version in ``lang`` falls back to Vietnamese, as
    :meth:`ReportContext.tr` does.

    Parameters
    ----------
    key : str
        Dotted key under ``notebooks:``, ``"<notebook>.<text>"``.
    lang : str
        ``"vi"`` or ``"en"``.
    **fields
        Values of the text's ``{placeholders}``, already formatted.

    Raises
    ------
    ReportError
        When the key does not name a text.
    """
    return _text_at(f"notebooks.{key}", lang=lang, **fields)


def kind_notebook_text(kind: str, key: str, *, lang: str = "vi", **fields: Any) -> str:
    """Text ``notebooks_by_kind.<kind>.<key>`` of ``resources/report_text.yml`` in ``lang``, placeholders filled.

    The stage notebooks' sentences that differ by survey kind (the design the weighting notebook
    describes, what the whole area is called, how the recheck sample is drawn): a notebook asks its
    survey's kind, ``cfg.kind.notebook_text("weighting.intro", lang=cfg.language)``
    (:meth:`sipas.kinds.SurveyKind.notebook_text`), which calls this with the kind's name.  Every kind has
    every text (``tests/test_notebooks.py``).  A text without a version in ``lang`` falls back to Vietnamese.

    Parameters
    ----------
    kind : str
        The kind's entry under ``notebooks_by_kind:`` (:attr:`sipas.kinds.SurveyKind.name`).
    key : str
        Dotted key under it, ``"<notebook>.<text>"``.
    lang : str
        ``"vi"`` or ``"en"``.
    **fields
        Values of the text's ``{placeholders}``, already formatted.

    Raises
    ------
    ReportError
        When the kind has no such text.
    """
    return _text_at(f"notebooks_by_kind.{kind}.{key}", lang=lang, **fields)


def _node_at(path: str) -> dict[str, Any]:
    """The ``{vi, en}`` node at dotted ``path`` of ``report_text.yml`` (not a copy: do not change it)."""
    node: Any = _texts()
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ReportError(f"report_text.yml has no text {path}")
        node = node[part]
    if not (isinstance(node, dict) and "vi" in node):
        raise ReportError(f"report_text.yml has no text {path}")
    return node


def _text_at(path: str, *, lang: str, **fields: Any) -> str:
    """The ``{vi, en}`` text at dotted ``path`` of ``report_text.yml`` in ``lang``, placeholders filled."""
    node = _node_at(path)
    return str(node.get(lang, node["vi"])).format(**fields)


def label_text(key: str, **fields: Any) -> dict[str, str]:
    """Label ``labels.<key>`` of ``resources/report_text.yml`` in both languages, placeholders filled.

    For values that carry their text in both languages, e.g. an index rule's ``label`` and ``source``
    (:func:`sipas.forms.instrument.rules.legacy_rule`): ``{"vi": ..., "en": ...}``, the English text
    being the Vietnamese one where there is none.

    Raises
    ------
    ReportError
        When the key does not name a text.
    """
    node = _node_at(f"labels.{key}")
    return {lang: str(node.get(lang, node["vi"])).format(**fields) for lang in ("vi", "en")}


class LabelText(Mapping[str, str]):
    """Label ``labels.<key>`` of ``resources/report_text.yml`` as a ``{"vi": ..., "en": ...}`` mapping,
    read when first used.

    Declarations made when a module is imported hold one, so that importing them reads no file:
    :mod:`sipas.kinds` (``SurveyKind.label``, ``FrameSpec.label``, ``DesignSpec.unit_labels``) and
    :data:`sipas.indices.merger.RESOLUTION`.  It compares equal to the dict of its texts
    (:func:`label_text`).
    """

    def __init__(self, key: str) -> None:
        self.key = key

    def _texts(self) -> dict[str, str]:
        return label_text(self.key)

    def __getitem__(self, lang: str) -> str:
        return self._texts()[lang]

    def __iter__(self) -> Iterator[str]:
        return iter(self._texts())

    def __len__(self) -> int:
        return len(self._texts())

    def __repr__(self) -> str:
        return f"LabelText({self.key!r})"


def fmt_num(x: float, *, digits: int = 1, lang: str = "vi") -> str:
    """A number with ``digits`` decimals; decimal comma and dot thousands in Vietnamese.

    Negative numbers take the minus sign U+2212, so that a range such as
    ``−3,2 – 3,9`` cannot be read as a dash between two numbers.
    """
    import pandas as pd

    if x is None or pd.isna(x):
        return "—"
    s = f"{x:,.{digits}f}"
    if lang == "vi":
        s = s.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")
    if s.startswith("-"):
        s = "\u2212" + s[1:] if s.strip("-0,.") else s[1:]  # "-0,0" is shown as "0,0"
    return s


def fmt_pct(p: float, *, digits: int = 1, lang: str = "vi") -> str:
    """A proportion as a percentage, e.g. 0.8254 -> "82,5%"."""
    import pandas as pd

    return "—" if p is None or pd.isna(p) else fmt_num(100 * p, digits=digits, lang=lang) + "%"

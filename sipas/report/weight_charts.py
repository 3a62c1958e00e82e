"""Charts of the survey weights for the weighting notebook (shared style of :mod:`sipas.report.charts`).

* :func:`weight_histogram` -- distribution of the design, nonresponse-adjusted and final weights;
* :func:`margins_chart` -- each calibration margin's weighted total before and after calibration
  against the population count;
* :func:`margins_display` -- the margin table with headings in the report language and the relative gaps;
* :func:`cells_display` -- a service-user survey's post-strata (``weight_cells.csv``) with headings in the
  report language;
* :func:`calibration_note` and :func:`margins_section` -- the notebook's sentence on the calibration
  and its margin table (or post-strata, or the note that there was none), texts from ``report_text.yml``.

Every function takes the tables the weighting stage writes (``weights.csv``,
``weight_margins.csv``, ``weight_cells.csv``) and returns a ``Figure``, a DataFrame or Markdown;
nothing is rounded here.
Titles, axis and legend labels and table headings are ``labels.weighting`` of ``report_text.yml``
in the language given as ``lang`` (``cfg.language``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib
import numpy as np
import pandas as pd

from sipas.report import charts


def _labels(lang: str) -> dict[str, Any]:
    """The weighting notebook's labels in ``lang`` (:func:`sipas.report.label_set` ``"weighting"``)."""
    from sipas.text.labels import label_set

    return label_set("weighting", lang=lang)


def weight_histogram(weights: pd.DataFrame, *, columns: tuple[str, ...] = ("w_design", "w_nr", "w_final"),
                     bins: int = 40, log: bool = True,
                     title: str | None = None, lang: str = "vi", kind: Any = None) -> matplotlib.figure.Figure:
    """Histograms of the weight columns, one panel each, on a shared (log) axis.

    Parameters
    ----------
    weights : DataFrame
        ``weights.csv`` of the weighting stage.
    columns : tuple of str
        Weight columns to draw.
    bins : int
        Number of bins (log-spaced when ``log``).
    log : bool
        Log scale for the weights (survey weights are right-skewed).
    title : str, optional
        Figure title; text ``labels.weighting.histogram_title`` when not given.
    lang : str
        Language of the title, panel titles and axis and legend labels (``cfg.language``).
    kind : SurveyKind, optional
        The survey's kind (``cfg.kind``): the weight axis says what a form represents in it (households;
        a service-user survey's transactions), text ``weighting.weight_axis(_log)`` of
        :meth:`sipas.kinds.SurveyKind.notebook_text`.  Without it, the households of ``labels.weighting``.
    """
    import matplotlib.pyplot as plt

    lab = _labels(lang)
    axis_key = "weight_axis_log" if log else "weight_axis"
    axis = lab[axis_key] if kind is None else kind.notebook_text(f"weighting.{axis_key}", lang=lang)
    vals = [weights[c].to_numpy(dtype=float) for c in columns]
    positive = np.concatenate([v[v > 0] for v in vals])
    lo, hi = float(positive.min()), float(positive.max())
    edges = np.geomspace(lo, hi, bins + 1) if log and lo > 0 else np.linspace(lo, hi, bins + 1)
    with charts.style():
        fig, axes = plt.subplots(len(columns), 1, figsize=(8, 2.2 * len(columns) + 0.8), sharex=True)
        axes = np.atleast_1d(axes)
        for ax, c, v in zip(axes, columns, vals):
            ax.hist(v, bins=edges, color="#4477aa", edgecolor="white", linewidth=0.4)
            ax.axvline(float(np.mean(v)), color="#cc3311", linewidth=1.2, label=lab["mean"])
            ax.set_title(lab["kinds"].get(c, c), loc="left", fontsize=10)
            ax.set_ylabel(lab["forms"])
            if log:
                ax.set_xscale("log")
        axes[0].legend(loc="upper right", fontsize=8)
        axes[-1].set_xlabel(axis)
        charts._title(fig, lab["histogram_title"] if title is None else title)
        fig.tight_layout(rect=(0, 0, 1, 0.93))
    return fig


def margins_display(margins: pd.DataFrame, *, lang: str = "vi") -> pd.DataFrame:
    """``weight_margins.csv`` with headings, margin and level names in ``lang`` (texts
    ``labels.weighting``) and the relative gap to the population (``before / population - 1`` and
    ``after / population - 1``)."""
    lab = _labels(lang)
    h = lab["table"]
    return pd.DataFrame({
        h["margin"]: [lab["margins"].get(m, m) for m in margins["margin"]],
        h["level"]: [lab["levels"].get(str(v), v) for v in margins["level"]],
        h["population"]: margins["population"].to_numpy(),
        h["before"]: margins["before"].to_numpy(),
        h["after"]: margins["after"].to_numpy(),
        h["gap_before"]: (100.0 * (margins["before"] / margins["population"] - 1.0)).to_numpy(),
        h["gap_after"]: (100.0 * (margins["after"] / margins["population"] - 1.0)).to_numpy(),
        h["n"]: margins["n"].to_numpy() if "n" in margins.columns else np.nan,
    })


def cells_display(cells: pd.DataFrame, *, lang: str = "vi") -> pd.DataFrame:
    """``weight_cells.csv`` of a service-user survey's weighting stage (one row per unit: transactions in the
    window, valid forms, sampling fraction, whether its post-strata are split by procedure field and why not)
    with headings, yes/no and reasons in ``lang`` (texts ``labels.weighting.cells``, ``cell_split`` and
    ``cell_reasons``; a reason without a text is shown as its code)."""
    lab = _labels(lang)
    h = lab["cells"]
    split = [lab["cell_split"]["true" if str(v).strip().lower() in ("true", "1") else "false"]
             for v in cells["by_field"]]
    reasons = ["" if pd.isna(r) or str(r) == "" else lab["cell_reasons"].get(str(r), str(r))
               for r in cells["reason"]]
    return pd.DataFrame({
        h["unit"]: cells["unit"].to_numpy(),
        h["transactions"]: cells["transactions"].to_numpy(),
        h["forms"]: cells["forms"].to_numpy(),
        h["sampling_fraction"]: cells["sampling_fraction"].to_numpy(),
        h["by_field"]: split,
        h["reason"]: reasons,
    })


def calibration_note(info: Mapping[str, Any], *, lang: str = "vi"):
    """The weighting notebook's sentence naming the calibration method and its margins (Markdown).

    Parameters
    ----------
    info : mapping
        ``StageResult.info`` of the weighting stage: ``calibration`` (method) and ``margins``
        (margin variables; absent or empty when there are none).
    lang : str
        Report language (``cfg.language``); texts ``notebooks.weighting.calibration`` and
        ``notebooks.weighting.no_margins``.
    """
    from IPython.display import Markdown

    from sipas.text.labels import notebook_text

    margins = ", ".join(info.get("margins", [])) or notebook_text("weighting.no_margins", lang=lang)
    return Markdown(notebook_text("weighting.calibration", lang=lang, method=info["calibration"], margins=margins))


def margins_section(tables: Mapping[str, pd.DataFrame], *, lang: str = "vi"):
    """The margin table of :func:`margins_display` when the weighting stage wrote
    ``weight_margins``; the post-strata of :func:`cells_display` when it wrote ``weight_cells``
    (a service-user survey: post-stratified to unit × procedure field, no margins); otherwise the note
    that the weights were not calibrated (Markdown, text ``notebooks.weighting.no_calibration``).

    Parameters
    ----------
    tables : mapping
        ``StageResult.tables`` of the weighting stage.
    lang : str
        Report language (``cfg.language``).
    """
    if "weight_margins" in tables:
        return margins_display(tables["weight_margins"], lang=lang)
    if "weight_cells" in tables:
        return cells_display(tables["weight_cells"], lang=lang)
    from IPython.display import Markdown

    from sipas.text.labels import notebook_text

    return Markdown(notebook_text("weighting.no_calibration", lang=lang))


def margins_chart(margins: pd.DataFrame, *,
                  title: str | None = None, lang: str = "vi") -> matplotlib.figure.Figure:
    """Horizontal bars of each margin level's weighted total before (light) and after (dark)
    calibration, with the population count as a marker; one panel per margin.  Title (text
    ``labels.weighting.margins_title`` when not given), panel, axis and legend labels in ``lang``."""
    import matplotlib.pyplot as plt

    lab = _labels(lang)
    groups = list(dict.fromkeys(margins["margin"]))
    sizes = [int((margins["margin"] == g).sum()) for g in groups]
    with charts.style():
        fig, axes = plt.subplots(len(groups), 1, figsize=(8, 0.45 * sum(sizes) + 1.2 * len(groups) + 0.6),
                                 gridspec_kw={"height_ratios": sizes}, squeeze=False)
        for ax, g in zip(axes[:, 0], groups):
            t = margins[margins["margin"] == g]
            y = np.arange(len(t))
            labels = [lab["levels"].get(str(v), str(v)) for v in t["level"]]
            ax.barh(y - 0.2, t["before"], height=0.38, color="#bbccee", label=lab["before"])
            ax.barh(y + 0.2, t["after"], height=0.38, color="#4477aa", label=lab["after"])
            ax.scatter(t["population"], y, marker="|", s=250, color="#cc3311", zorder=3,
                       label=lab["population"])
            ax.set_yticks(y, labels)
            ax.invert_yaxis()
            ax.set_title(lab["margins"].get(g, g), loc="left", fontsize=10)
        axes[0, 0].legend(loc="lower right", fontsize=8)
        axes[-1, 0].set_xlabel(lab["households"])
        charts._title(fig, lab["margins_title"] if title is None else title)
        fig.tight_layout(rect=(0, 0, 1, 0.94))
    return fig


def png(fig: matplotlib.figure.Figure, *, dpi: int = 110) -> bytes:
    """The figure as PNG bytes without a timestamp (for ``IPython.display.Image``); closes it."""
    import io

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()

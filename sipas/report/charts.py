"""Charts for the SIPAS report: one shared style, Vietnamese labels from data.

Every function takes a tidy table produced by :mod:`sipas.indices.scoring`, draws one
figure with the shared style (``resources/sipas.mplstyle``: DejaVu Sans, which
renders Vietnamese diacritics) and returns the ``Figure``.  :func:`save` writes
PNG and SVG deterministically (no timestamps in the metadata).
"""

from __future__ import annotations

from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Iterator

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sipas import io as sio  # noqa: E402

STYLE = str(resources.files("sipas") / "resources" / "sipas.mplstyle")


@contextmanager
def style() -> Iterator[None]:
    """Context in which figures use the sipas style."""
    with plt.style.context(STYLE):
        yield


def save(fig: matplotlib.figure.Figure, path_stem: str | Path) -> tuple[Path, Path]:
    """Save ``fig`` as ``<stem>.png`` and ``<stem>.svg`` atomically, without timestamps."""
    import io

    stem = Path(path_stem)
    out = []
    for ext, meta in (("png", {"Software": None}), ("svg", {"Date": None, "Creator": None})):
        buf = io.BytesIO()
        with style():  # svg.hashsalt and savefig settings apply at save time
            fig.savefig(buf, format=ext, metadata=meta)
        out.append(sio.atomic_write_bytes(stem.with_suffix(f".{ext}"), buf.getvalue()))
    return out[0], out[1]


def _title(fig: matplotlib.figure.Figure, title: str, *, fontsize: float = 12) -> None:
    """Figure title, left-aligned and wrapped to the figure's width (never clipped by the canvas)."""
    import textwrap

    width = max(20, int(fig.get_figwidth() * 72 / (0.62 * fontsize)))
    fig.suptitle(textwrap.fill(title, width=width), x=0.01, ha="left", fontsize=fontsize, fontweight="bold")


def index_by_unit(table: pd.DataFrame, *, unit: str, title: str, xlabel: str,
                  reference: float | None = None, reference_label: str | None = None,
                  benchmark: float | None = None, benchmark_label: str | None = None) -> matplotlib.figure.Figure:
    """Horizontal bars of an index (in %) per unit with 95% CI whiskers.

    ``table`` has columns ``unit``, ``estimate``, ``ci_low``, ``ci_high`` (proportions).
    ``reference`` (e.g. the province) is drawn as a dashed red line, ``benchmark`` (e.g. a
    published national average) as a dotted dark line; both are named in a legend below the plot.
    """
    t = table.sort_values("estimate", kind="stable")
    with style():
        fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(t) + 1.9))
        y = np.arange(len(t))
        est = 100 * t["estimate"].to_numpy()
        lo = 100 * t["ci_low"].to_numpy()
        hi = 100 * t["ci_high"].to_numpy()
        ax.barh(y, est, color="#1f5f8b", alpha=0.85, height=0.6)
        ax.errorbar(est, y, xerr=[est - lo, hi - est], fmt="none", ecolor="#222222", capsize=3, lw=1)
        for yi, e, h in zip(y, est, hi):
            ax.text(1.5, yi, f"{e:.1f}".replace(".", ","), fontsize=8, va="center", color="white",
                    fontweight="bold")  # inside the bar's base: never on a whisker
        ax.set_yticks(y, t[unit].tolist())
        ax.set_xlim(0, 100)
        ax.set_xlabel(xlabel)
        _title(fig, title)
        handles = []
        if reference is not None:
            handles.append(ax.axvline(100 * reference, color="#c0392b", ls="--", lw=1.2,
                                      label=reference_label or ""))
        if benchmark is not None:
            handles.append(ax.axvline(100 * benchmark, color="#222222", ls=":", lw=1.6,
                                      label=benchmark_label or ""))
        if handles and any(h.get_label() for h in handles):
            ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.14 - 0.6 / (len(t) + 3)),
                      ncol=len(handles), frameon=False, fontsize=8)
        fig.tight_layout()
    return fig


def criteria_profile(table: pd.DataFrame, *, title: str, xlabel: str) -> matplotlib.figure.Figure:
    """Dot-and-whisker profile of criterion indices (``label``, ``estimate``, ``ci_low``, ``ci_high``)."""
    t = table.iloc[::-1]
    with style():
        fig, ax = plt.subplots(figsize=(7.5, 0.42 * len(t) + 1.3))
        y = np.arange(len(t))
        est = 100 * t["estimate"].to_numpy()
        ax.errorbar(est, y, xerr=[est - 100 * t["ci_low"].to_numpy(), 100 * t["ci_high"].to_numpy() - est],
                    fmt="o", color="#1f5f8b", ecolor="#555555", capsize=3)
        ax.set_yticks(y, t["label"].tolist())
        ax.set_xlim(max(0, np.floor(np.nanmin(100 * t["ci_low"]) / 10) * 10 - 5), 100)
        ax.set_xlabel(xlabel)
        _title(fig, title)
        fig.tight_layout()
    return fig


def heatmap(matrix: pd.DataFrame, *, title: str, cbar_label: str) -> matplotlib.figure.Figure:
    """Heatmap of indices in % (rows e.g. criteria, columns e.g. districts); NaN cells left blank."""
    import seaborn as sns

    with style():
        fig, ax = plt.subplots(figsize=(1.0 * matrix.shape[1] + 3, 0.4 * matrix.shape[0] + 2))
        sns.heatmap(100 * matrix, annot=True, fmt=".0f", cmap="RdYlGn", vmin=40, vmax=100, ax=ax,
                    cbar_kws={"label": cbar_label}, linewidths=0.5, linecolor="white")
        _title(fig, title)
        ax.set_xlabel("")
        ax.set_ylabel("")
        plt.setp(ax.get_xticklabels(), rotation=35, ha="right")
        fig.tight_layout()
    return fig


def change_since_last_year(table: pd.DataFrame, *, title: str, xlabel: str) -> matplotlib.figure.Figure:
    """Bars of the change (percentage points) per unit with 95% CI (``unit``, ``change``, ``ci_low``, ``ci_high``)."""
    t = table.sort_values("change")
    with style():
        fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(t) + 1.4))
        y = np.arange(len(t))
        ch = 100 * t["change"].to_numpy()
        colors = np.where(ch >= 0, "#27ae60", "#c0392b")
        ax.barh(y, ch, color=colors, height=0.6)
        ax.errorbar(ch, y, xerr=[ch - 100 * t["ci_low"].to_numpy(), 100 * t["ci_high"].to_numpy() - ch],
                    fmt="none", ecolor="#222222", capsize=3, lw=1)
        ax.axvline(0, color="#222222", lw=0.8)
        ax.set_yticks(y, t["unit"].tolist())
        ax.set_xlabel(xlabel)
        _title(fig, title)
        fig.tight_layout()
    return fig


def response_profile(table: pd.DataFrame, *, title: str) -> matplotlib.figure.Figure:
    """Bars of respondents' shares per profile group (``variable_label``, ``level_label``, ``share``)."""
    with style():
        groups = list(dict.fromkeys(table["variable_label"]))
        fig, axes = plt.subplots(1, len(groups), figsize=(3.2 * len(groups), 3.2), squeeze=False)
        for ax, g in zip(axes[0], groups):
            t = table[table["variable_label"] == g]
            ax.bar(range(len(t)), 100 * t["share"].to_numpy(), color="#1f5f8b")
            ax.set_xticks(range(len(t)), t["level_label"].tolist(), rotation=30, ha="right", fontsize=8)
            ax.set_title(g, fontsize=10)
            ax.grid(axis="y", color="#dddddd")
            ax.set_ylim(0, 100)
        _title(fig, title)
        fig.tight_layout()
    return fig


def group_breakdown(table: pd.DataFrame, *, title: str, xlabel: str,
                    reference: float | None = None, reference_label: str | None = None) -> matplotlib.figure.Figure:
    """Dot-and-whisker chart of an index by respondent group, one band per grouping variable.

    ``table`` has ``variable_label``, ``level_label``, ``estimate``, ``ci_low``, ``ci_high``
    (proportions) in display order; rows with a missing estimate (suppressed cells) are
    listed but not drawn.
    """
    t = table.reset_index(drop=True)
    with style():
        labels, ys, y, sep = [], [], 0.0, []
        for i, (var, g) in enumerate(t.groupby("variable_label", sort=False)):
            if i:
                y += 0.6
                sep.append(y - 0.8)
            for _ in range(len(g)):
                ys.append(y)
                y += 1
        ys_arr = -np.asarray(ys)
        fig, ax = plt.subplots(figsize=(7.5, 0.38 * len(t) + 1.6))
        est = 100 * t["estimate"].to_numpy(dtype=float)
        lo = 100 * t["ci_low"].to_numpy(dtype=float)
        hi = 100 * t["ci_high"].to_numpy(dtype=float)
        ok = ~np.isnan(est)
        ax.errorbar(est[ok], ys_arr[ok], xerr=[est[ok] - lo[ok], hi[ok] - est[ok]], fmt="o", color="#1f5f8b",
                    ecolor="#555555", capsize=3)
        labels = [f"{v} · {lv}" for v, lv in zip(t["variable_label"], t["level_label"])]
        ax.set_yticks(ys_arr, labels)
        for s_ in sep:
            ax.axhline(-s_, color="#bbbbbb", lw=0.6)
        if reference is not None:
            ax.axvline(100 * reference, color="#c0392b", ls="--", lw=1.2, label=reference_label or "")
            if reference_label:
                ax.legend(loc="lower right", frameon=False, fontsize=8)
        low = np.nanmin(lo) if ok.any() else 50.0
        ax.set_xlim(max(0, np.floor(low / 10) * 10 - 5), 100)
        ax.set_xlabel(xlabel)
        _title(fig, title)
        fig.tight_layout()
    return fig


def rank_intervals_chart(table: pd.DataFrame, *, title: str, xlabel: str, top_k: int | None = None,
                         unit: str = "domain") -> matplotlib.figure.Figure:
    """Each unit's rank (dot) and 95% rank interval (line), best first; a dashed line after rank ``top_k``.

    ``table`` has ``unit``, ``rank``, ``rank_low``, ``rank_high`` (and optionally ``p_top_k``, written at
    the right).  Ranks run left (1) to right, units top to bottom.
    """
    t = table.sort_values("rank", kind="stable").reset_index(drop=True)
    n = len(t)
    fig, ax = plt.subplots(figsize=(8, max(3.0, 0.26 * n + 1.2)))
    y = np.arange(n)
    ax.hlines(y, t["rank_low"], t["rank_high"], color="#1f5f8b", linewidth=2.2)
    ax.plot(t["rank"], y, "o", color="#0b2e4a", markersize=4)
    if top_k is not None:
        ax.axvline(top_k + 0.5, color="#b03a2e", linestyle="--", linewidth=1)
    ax.set_yticks(y)
    ax.set_yticklabels(t[unit].astype(str), fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0.5, n + 0.5)
    ax.set_xlabel(xlabel)
    if "p_top_k" in t.columns:
        for yi, p in zip(y, t["p_top_k"]):
            ax.text(n + 0.7, yi, f"{100 * p:.0f}%", va="center", fontsize=7, clip_on=False)
    _title(fig, title)
    fig.tight_layout()
    return fig


def tile_map(table: pd.DataFrame, layout: pd.DataFrame, *, title: str, cbar_label: str,
             unit: str = "domain") -> matplotlib.figure.Figure:
    """A tile-grid map: one square per province at ``layout``'s ``row``/``col``, coloured by ``estimate``
    (in %), labelled with the province (without "Thành phố") and its value; provinces without a value grey."""
    import matplotlib.cm
    import matplotlib.colors
    import matplotlib.patches

    val = dict(zip(table[unit], 100 * table["estimate"].astype(float)))
    nr, nc = int(layout["row"].max()) + 1, int(layout["col"].max()) + 1
    fig, ax = plt.subplots(figsize=(1.25 * nc + 1.2, 0.62 * nr + 1.0))
    vals = [v for v in val.values() if np.isfinite(v)]
    norm = matplotlib.colors.Normalize(vmin=min(vals) if vals else 0, vmax=max(vals) if vals else 100)
    cmap = plt.get_cmap("viridis")
    for name, r, c in zip(layout["province"], layout["row"], layout["col"]):
        v = val.get(name, np.nan)
        colour = cmap(norm(v)) if np.isfinite(v) else "#cccccc"
        ax.add_patch(matplotlib.patches.Rectangle((c, -r), 0.95, 0.9, color=colour))
        short = str(name).replace("Thành phố ", "TP ")
        light = np.isfinite(v) and norm(v) < 0.55
        ax.text(c + 0.475, -r + 0.58, short, ha="center", va="center", fontsize=6.5,
                color="white" if light else "black")
        ax.text(c + 0.475, -r + 0.25, "—" if not np.isfinite(v) else f"{v:.1f}".replace(".", ","), ha="center",
                va="center", fontsize=7, fontweight="bold", color="white" if light else "black")
    ax.set_xlim(-0.1, nc + 0.05)
    ax.set_ylim(-nr + 0.85, 1.0)
    ax.set_aspect("auto")
    ax.axis("off")
    sm = matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=ax, fraction=0.04, pad=0.02, label=cbar_label)
    _title(fig, title)
    return fig

"""Variance components of a finished survey-year: strata, PSUs (communes), villages, households.

The estimator is the unweighted hierarchical analysis of variance (method of moments, "ANOVA
estimator") for an unbalanced nested random-effects model (Searle, Casella & McCulloch 1992,
*Variance Components*, §4.5; Sokal & Rohlf 1995 §10.3)::

    y_{hcvk} = mu + a_h + b_{hc} + c_{hcv} + e_{hcvk},   a ~ (0, s2_1), b ~ (0, s2_2), c ~ (0, s2_3), e ~ (0, s2_e)

For level ``A`` (with parent level ``P``; the parent of the top level is the whole sample) the sum of
squares ``SS_A = sum_a n_a (ybar_a - ybar_{P(a)})^2`` has ``df_A = #A - #P`` and expectation
``E[SS_A] = df_A s2_e + sum_{B <= A} s2_B (sum_a sum_{b in a} n_b^2 / n_a - sum_p sum_{b in p} n_b^2 / n_p)``
(``B`` running over ``A`` and the levels below it), and the equations are solved from the bottom up.
On balanced data the ANOVA estimates equal REML (R ``nlme::lme(y ~ 1, random = ~ 1 | s/c/v)``)
whenever they are positive; a negative estimate is reported as it is (``truncated`` tells which to
read as 0).  Weights are not used: the components describe the population's structure, which the
planning formulas combine with the design's weights separately (Kish's factorisation; Gabler, Häder &
Lahiri 1999).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sipas.errors import EstimationError


@dataclass(frozen=True)
class VarianceComponents:
    """Components of one variable (unrounded).

    Attributes
    ----------
    variable : str
        e.g. ``overall``, ``content:policy``, ``criterion:2A.1``.
    levels : tuple of str
        Grouping levels, top first (e.g. ``("district", "commune", "village")``).
    sigma2 : tuple of float
        One component per level, then the residual (households within villages).
    mean : float
        Unweighted mean of the variable.
    n : int
        Observations used.
    groups : tuple of int
        Number of groups per level.
    """

    variable: str
    levels: tuple[str, ...]
    sigma2: tuple[float, ...]
    mean: float
    n: int
    groups: tuple[int, ...]

    @property
    def within_strata(self) -> float:
        """Total variance within strata: the sum of every component but the top (strata) one."""
        return float(sum(max(s, 0.0) for s in self.sigma2[1:]))

    def icc(self, level: str) -> float:
        """Intraclass correlation within strata: the share of the within-strata variance shared by two
        households of the same ``level`` unit (the components of that level and the levels above it,
        strata excluded), with negative components taken as 0."""
        i = self.levels.index(level)
        shared = sum(max(s, 0.0) for s in self.sigma2[1:i + 1])
        tot = self.within_strata
        return float(shared / tot) if tot > 0 else float("nan")

    def to_frame(self) -> pd.DataFrame:
        """Tidy rows: ``variable``, ``component`` (level name or ``within``), ``sigma2``, ``share``, ``groups``."""
        names = list(self.levels) + ["within"]
        total = sum(max(s, 0.0) for s in self.sigma2)
        return pd.DataFrame({"variable": self.variable, "component": names,
                             "sigma2": list(self.sigma2),
                             "share": [max(s, 0.0) / total if total > 0 else np.nan for s in self.sigma2],
                             "truncated": [s < 0 for s in self.sigma2],
                             "groups": list(self.groups) + [self.n], "mean": self.mean})


def nested_components(data: pd.DataFrame, *, value: str, levels: Sequence[str],
                      variable: str | None = None) -> VarianceComponents:
    """ANOVA estimates of the variance components of a nested design (see the module docstring).

    Parameters
    ----------
    data : DataFrame
        One row per observation; rows where ``value`` is missing are dropped.
    value : str
        The variable's column.
    levels : sequence of str
        Grouping columns, outermost first; each level is nested in the previous one (the groups
        are the combinations of a level with all levels above it).
    variable : str, optional
        Name in the result (default ``value``).

    Returns
    -------
    VarianceComponents

    Raises
    ------
    EstimationError
        Fewer observations than groups at the lowest level, or a level with no degrees of freedom.
    """
    levels = list(levels)
    d = data.loc[data[value].notna(), levels + [value]].copy()
    y = d[value].to_numpy(dtype=float)
    n = len(y)
    if n == 0:
        raise EstimationError(f"no observations of {value!r}")
    L = len(levels)
    codes = []
    for i in range(L):
        key = d[levels[:i + 1]].astype(str).agg("\x1f".join, axis=1) if i else d[levels[0]].astype(str)
        codes.append(pd.factorize(key, sort=True)[0])
    # codes[-1] is the finest grouping; level L means the observations themselves
    counts = [np.bincount(c) for c in codes]
    groups = [len(c) for c in counts]

    def means(c: np.ndarray, k: int) -> np.ndarray:
        return np.bincount(c, weights=y, minlength=k) / np.bincount(c, minlength=k)

    gm = y.mean()
    ss, dfs = [], []
    for i in range(L):
        mi = means(codes[i], groups[i])[codes[i]]
        mp = means(codes[i - 1], groups[i - 1])[codes[i - 1]] if i else np.full(n, gm)
        ss.append(float(np.sum((mi - mp) ** 2)))
        dfs.append(groups[i] - (groups[i - 1] if i else 1))
    mf = means(codes[-1], groups[-1])[codes[-1]]
    ss.append(float(np.sum((y - mf) ** 2)))
    dfs.append(n - groups[-1])
    if any(df <= 0 for df in dfs):
        raise EstimationError(f"{value!r}: a level has no degrees of freedom (groups {groups}, n {n})")

    def sum_sq_over(b: int, a: int | None) -> float:
        """sum over groups of level a of (sum of n_b^2 over the level-b groups inside it) / n_a; a=None: whole sample."""
        nb = counts[b].astype(float)
        if a is None:
            return float(np.sum(nb ** 2) / n)
        # parent (level a) of each level-b group
        first = np.zeros(groups[b], dtype=np.int64)
        first[codes[b]] = codes[a]
        num = np.bincount(first, weights=nb ** 2, minlength=groups[a])
        return float(np.sum(num / counts[a]))

    # coefficient matrix: rows = levels 0..L-1 then residual; columns = components 0..L-1 then residual
    K = np.zeros((L + 1, L + 1))
    for i in range(L):
        K[i, L] = dfs[i]
        for b in range(i, L):
            upper = sum_sq_over(b, i) if b > i else float(n)
            lower = sum_sq_over(b, i - 1 if i else None)
            K[i, b] = upper - lower
    K[L, L] = dfs[L]
    sigma2 = np.linalg.solve(K, np.array(ss))
    return VarianceComponents(variable or value, tuple(levels), tuple(float(s) for s in sigma2), float(gm), n,
                              tuple(groups))


def household_scores(indicators: pd.DataFrame, *, rule) -> pd.DataFrame:
    """Each household's share of positive answers among its valid answers, for the overall index and each
    content and criterion of ``rule`` (columns ``overall``, ``content:<id>``, ``criterion:<id>``).

    The planning variable: the index is a (weighted) combination of item shares, and a household's score
    is its own contribution to them, so the components of the scores describe the clustering of the
    index (the item-level ``pooled`` rule is exactly the weighted mean of these scores with the
    households' valid-answer counts as extra weights).  NaN where a household has no valid answer.
    """
    out = {}
    targets = [("overall", "overall")] + [(f"content:{c}", c) for c in rule.contents] + \
        [(f"criterion:{n.id}", n.id) for n in rule.nodes if n.level == "criterion"]
    for name, node in targets:
        items = [i for i in rule.descendant_items(node) if i in indicators.columns]
        if not items:
            continue
        block = indicators[items]
        valid = block.notna().sum(axis=1)
        out[name] = (block.sum(axis=1, min_count=1) / valid.where(valid > 0)).astype(float)
    return pd.DataFrame(out, index=indicators.index)


def components_table(scores: pd.DataFrame, design: pd.DataFrame, *, levels: Sequence[str]) -> pd.DataFrame:
    """:func:`nested_components` of every column of ``scores`` (rows aligned with ``design``'s ``levels``
    columns), stacked as one tidy table with the ICCs of each level."""
    rows = []
    for col in scores.columns:
        vc = nested_components(pd.concat([design[list(levels)], scores[[col]]], axis=1), value=col, levels=levels,
                               variable=col)
        t = vc.to_frame()
        t["icc"] = [vc.icc(lv) if lv != levels[0] else np.nan for lv in levels] + [np.nan]
        rows.append(t)
    return pd.concat(rows, ignore_index=True)

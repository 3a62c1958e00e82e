"""Top-k and improved-rank probabilities (sipas.indices.rank_uncertainty) against exact values and a
direct per-draw simulation written independently of the library's vectorised code."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sipas.errors import EstimationError
from sipas.indices.rank_uncertainty import rank_probabilities, rank_uncertainty_table, simulate_ranks


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _mc_tol(p: float, n: int) -> float:
    """Four Monte Carlo standard errors (plus a floor for p near 0 or 1)."""
    return 4 * math.sqrt(max(p * (1 - p), 1e-4) / n) + 1e-9


def test_two_units_exact():
    """P(unit 1 ahead of unit 2) = Phi(delta / sqrt(s1^2 + s2^2)) on the logit scale, s = se / (p (1 - p))."""
    est, se = np.array([0.84, 0.82]), np.array([0.012, 0.010])
    s = se / (est * (1 - est))
    exact = stats.norm.cdf((_logit(est[0]) - _logit(est[1])) / math.sqrt((s ** 2).sum()))
    n = 200_000
    r = rank_probabilities(est, se, top_k=1, n_draws=n, seed=5)
    assert abs(r.p_top_k[0] - exact) < _mc_tol(exact, n)
    assert abs(r.p_top_k[1] - (1 - exact)) < _mc_tol(exact, n)


def test_improved_two_units_exact():
    """Two units, two independent years: P(rank 1 now and rank 2 last year) for unit 1 = p_now (1 - p_prev)."""
    est, se = np.array([0.84, 0.82]), np.array([0.012, 0.010])
    estp, sep = np.array([0.80, 0.83]), np.array([0.011, 0.013])

    def p_first(e, s_):
        s = s_ / (e * (1 - e))
        return stats.norm.cdf((_logit(e[0]) - _logit(e[1])) / math.sqrt((s ** 2).sum()))

    exact = p_first(est, se) * (1 - p_first(estp, sep))
    n = 200_000
    r = rank_probabilities(est, se, top_k=1, est_prev=estp, se_prev=sep, n_draws=n, seed=9)
    assert abs(r.p_improved[0] - exact) < _mc_tol(exact, n)


def test_top_k_and_improved_against_a_direct_simulation():
    """Six units, t draws: the library against a per-draw Python loop (its own generator and seed)."""
    est = np.array([0.86, 0.85, 0.83, 0.83, 0.80, 0.78])
    se = np.array([0.010, 0.015, 0.012, 0.020, 0.011, 0.018])
    df = np.array([20, 15, 30, 10, 25, 12], dtype=float)
    estp = np.array([0.84, 0.86, 0.80, np.nan, 0.82, 0.79])
    sep = np.array([0.012, 0.011, 0.013, np.nan, 0.010, 0.02])
    k = 3
    n = 100_000
    r = rank_probabilities(est, se, df=df, top_k=k, est_prev=estp, se_prev=sep, df_prev=df, n_draws=n, seed=1)

    rng = np.random.default_rng(12345)
    m = 40_000
    top = np.zeros(6)
    imp = np.zeros(6)
    have = [i for i in range(6) if not math.isnan(estp[i])]
    for _ in range(m):
        now = {i: _logit(est[i]) + rng.standard_t(df[i]) * se[i] / (est[i] * (1 - est[i])) for i in range(6)}
        before = {i: _logit(estp[i]) + rng.standard_t(df[i]) * sep[i] / (estp[i] * (1 - estp[i])) for i in have}
        order = sorted(range(6), key=lambda i: -now[i])
        for pos, i in enumerate(order):
            if pos < k:
                top[i] += 1
        now_h = sorted(have, key=lambda i: -now[i])
        before_h = sorted(have, key=lambda i: -before[i])
        for i in have:
            if now_h.index(i) < before_h.index(i):
                imp[i] += 1
    top /= m
    imp /= m
    for i in range(6):
        tol = _mc_tol(top[i], m) + _mc_tol(top[i], n)
        assert abs(r.p_top_k[i] - top[i]) < tol, (i, r.p_top_k[i], top[i])
    assert math.isnan(r.p_improved[3])
    for i in have:
        tol = _mc_tol(imp[i], m) + _mc_tol(imp[i], n)
        assert abs(r.p_improved[i] - imp[i]) < tol, (i, r.p_improved[i], imp[i])
    # top-k probabilities add up to k in every draw
    assert r.p_top_k.sum() == pytest.approx(k)


def test_deterministic_and_table():
    t = pd.DataFrame({"domain": list("abcd"), "estimate": [0.8, 0.85, 0.82, 0.79], "se": [0.01] * 4})
    prev = pd.DataFrame({"domain": list("abcd"), "estimate": [0.81, 0.80, 0.83, 0.70], "se": [0.01] * 4})
    a = rank_uncertainty_table(t, top_k=2, previous=prev, seed=3, n_draws=5000)
    b = rank_uncertainty_table(t, top_k=2, previous=prev, seed=3, n_draws=5000)
    pd.testing.assert_frame_equal(a, b)
    assert list(a["domain"]) == ["b", "c", "a", "d"]
    assert list(a["rank_prev"]) == [3, 1, 2, 4]
    assert (a["rank_low"] <= a["rank"]).all() and (a["rank"] <= a["rank_high"]).all()
    assert simulate_ranks(t["estimate"].to_numpy(), t["se"].to_numpy(), n_draws=10).shape == (10, 4)


def test_errors():
    with pytest.raises(EstimationError, match="top_k"):
        rank_probabilities(np.array([0.5, 0.6]), np.array([0.1, 0.1]), top_k=3)
    with pytest.raises(EstimationError, match="strictly between"):
        rank_probabilities(np.array([1.0, 0.6]), np.array([0.1, 0.1]), top_k=1)

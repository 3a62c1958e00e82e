"""sipas.planning against numbers PracTools printed (issue 18): BW2stagePPS/BW3stagePPS derived columns, clusOpt2.

The sources and the R command of every number are in tests/results/results_practools.py.
"""

from __future__ import annotations

import pytest

from results import results_practools as P
from sipas import planning
from sipas.planning.relvariance import ThreeStageComponents, TwoStageComponents


@pytest.mark.parametrize("row", P.BW2STAGEPPS_ROWS)
def test_bw2stage_derived_columns_equal_the_practools_vignette(row):
    B2, W2, V, BW, k, delta = row
    c = TwoStageComponents.from_components(B2, W2, V)
    # the vignette prints 7 significant digits of the smallest entry (more of the others): inputs and outputs
    # are rounded at <= 5e-7 relative, so the identities hold to rel 1e-6, not to machine precision
    assert c.B2 + c.W2 == pytest.approx(BW, rel=1e-6)
    assert c.k == pytest.approx(k, rel=1e-6)
    assert c.delta == pytest.approx(delta, rel=1e-6)


@pytest.mark.parametrize("row", P.BW3STAGEPPS_ROWS)
def test_bw3stage_derived_columns_equal_the_practools_vignette(row):
    B, W, W2, W3, V, k1, k2, d1, d2 = row
    c = ThreeStageComponents.from_components(B, W, W2, W3, V)
    assert [c.k1, c.k2, c.delta1, c.delta2] == pytest.approx([k1, k2, d1, d2], rel=1e-6)


@pytest.mark.parametrize("row", P.CLUSOPT2_CV_ROWS)
def test_clusopt2_cv_target_equals_printed_practools_output(row):
    c1, c2, delta, unit_rv, k, cv0, cost, m, n = row
    o = planning.clus_opt2(c1=c1, c2=c2, delta=delta, unit_rv=unit_rv, k=k, cv0=cv0)
    # printed to 7 significant digits (cost) and, as clusOpt2 rounds them, to 1 decimal (m.opt, n.opt)
    assert float(f"{o.cost:.7g}") == cost
    assert round(o.m, 1) == m
    assert round(o.n, 1) == n
    assert o.cv == cv0

"""Hadamard matrices for BRR/Fay replicates, built as R survey's ``brrweights`` builds them.

Sylvester (powers of 2), Paley I (primes 3 mod 4, with doubling) and the Plackett-Burman matrix of order 36.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sipas.errors import DesignError


# --------------------------------------------------------------------------- replicate weights
def _is_prime(m: int) -> bool:
    if m < 2:
        return False
    if m % 2 == 0:
        return m == 2
    f = 3
    while f * f <= m:
        if m % f == 0:
            return False
        f += 2
    return True


def _next_prime_3mod4(lo: int) -> int:
    """Smallest prime :math:`p \\ge` ``lo`` with :math:`p \\equiv 3 \\pmod 4`."""
    p = max(3, lo)
    while not (p % 4 == 3 and _is_prime(p)):
        p += 1
    return p


def _sylvester(order: int) -> np.ndarray:
    """Sylvester's matrix of order :math:`2^k`: :math:`H_1 = [1]`, :math:`H_{2m} = [[H_m, H_m], [H_m, -H_m]]`."""
    H = np.ones((1, 1))
    while H.shape[0] < order:
        H = np.block([[H, H], [H, -H]])
    return H


def _legendre(p: int) -> np.ndarray:
    """Quadratic character :math:`\\chi_p(x)` for :math:`x = 0..p-1` (0 at 0), ``p`` an odd prime."""
    chi = -np.ones(p)
    chi[0] = 0.0
    chi[(np.arange(1, p) ** 2) % p] = 1.0
    return chi


def _paley(p: int) -> np.ndarray:
    """Paley's construction I: order :math:`p+1` for a prime :math:`p \\equiv 3 \\pmod 4` (Paley 1933).

    A first row and column of +1 border the core :math:`H_{1+i,1+j} = -\\chi_p(i+j)`
    (:math:`i, j = 0..p-1`), which is -1 where :math:`i + j \\equiv 0`: the usual skew
    core :math:`\\chi_p(j-i) - I` with column :math:`j` moved to :math:`-j \\bmod p`, the
    layout R's ``paley()`` returns.
    """
    chi = _legendre(p)
    chi[0] = 1.0
    H = np.ones((p + 1, p + 1))
    H[1:, 1:] = -chi[np.add.outer(np.arange(p), np.arange(p)) % p]
    return H


def _plackett_burman36() -> np.ndarray:
    """Order 36 from Plackett & Burman's (1946) generator for 35 factors.

    The generator :math:`g_x` (:math:`x \\in Z_{35}`) is the ±1 sequence of the
    twin-prime difference set of :math:`Z_{5 \\cdot 7}` (Stanton & Sprott 1958):
    :math:`g_x = \\chi_5(x)\\chi_7(x)` for :math:`x` prime to 35, +1 for
    :math:`x \\equiv 0 \\pmod 5` (:math:`x \\not\\equiv 0 \\pmod 7`), -1 for
    :math:`x \\equiv 0 \\pmod 7`.  Rows 2..36 are its cyclic shifts,
    :math:`H_{1+i,j} = g_{i+j}` (:math:`j < 35`), bordered by a first row of +1 and a
    last column of -1.
    """
    x = np.arange(35)
    g = _legendre(5)[x % 5] * _legendre(7)[x % 7]
    g[x % 5 == 0] = 1.0
    g[x % 7 == 0] = -1.0
    H = np.ones((36, 36))
    H[1:, :35] = g[np.add.outer(np.arange(35), np.arange(35)) % 35]
    H[1:, 35] = -1.0
    return H


def _hadamard_plan(n: int, *, with_order_28: bool = True) -> tuple[str, int, int, int]:
    """The Hadamard matrix of order > ``n`` that R survey's ``hadamard(n)`` returns.

    Returns ``(kind, base, multiplier, order)``: the matrix is the Kronecker product of
    Sylvester's matrix of order ``multiplier`` with the base matrix, ``kind`` being
    ``"sylvester"`` (the whole matrix), ``"paley"`` (``base`` = the prime),
    ``"pb36"`` or ``"sloane28"`` (R's stored order-28 matrix).  The rule reproduces R
    survey 4.1-1's choice for every ``n`` from 1 to 600 (checked against R's output;
    ``tests/test_estimation_r_replicates.py`` keeps the check for 1 to 300).
    With :math:`N = 4\\lfloor n/4\\rfloor + 4`, the smallest multiple of 4 above ``n``:

    * A: Paley's matrix of order :math:`p+1`, :math:`p` the smallest prime
      :math:`\\equiv 3 \\pmod 4` with :math:`p+1 > n`;
    * B: the smallest order :math:`2^k m > n` (:math:`k \\ge 0`) with :math:`m` = 4
      (Sylvester), 28, 36, or :math:`p+1` for a prime :math:`p \\equiv 3 \\pmod 8`;
    * A when its order is below B's, or equal to it and above :math:`N`; otherwise B.
    """
    N = 4 * (n // 4) + 4
    p_a = _next_prime_3mod4(n)
    size_a = p_a + 1
    bases: list[tuple[int, str]] = [(4, "sylvester"), (36, "pb36")]
    if with_order_28:
        bases.append((28, "sloane28"))
    best = (0, "", 0, 0)
    for m, kind in bases:
        k = 1
        while m * k <= n:
            k *= 2
        if best[0] == 0 or m * k < best[0]:
            best = (m * k, kind, m, k)
    p = 11
    while p + 1 < best[0]:
        if _is_prime(p):
            k = 1
            while (p + 1) * k <= n:
                k *= 2
            if (p + 1) * k < best[0]:
                best = ((p + 1) * k, "paley", p + 1, k)
        p += 8
    size_b, kind, m, k = best
    if size_a < size_b or (size_a == size_b and size_a > N):
        return ("paley", p_a, 1, size_a)
    if kind == "paley":
        return ("paley", m - 1, k, size_b)
    return (kind, m, k, size_b)


def _hadamard(n: int) -> np.ndarray:
    """Hadamard matrix (entries ±1) of order greater than ``n``, as R's ``survey:::hadamard(n)``.

    R survey picks among Sylvester's matrices (Sylvester 1867), Paley's construction I
    (Paley 1933) expanded by Sylvester doubling :math:`[[H, H], [H, -H]]`, Plackett &
    Burman's order-36 matrix and an order-28 matrix stored from Sloane's library of
    Hadamard matrices, as :func:`_hadamard_plan` describes.  sipas builds the first three
    from their published definitions, which gives R's matrices exactly.  It does not
    ship the stored order-28 matrix: where R uses it or its doublings (24–27, 48–55,
    108–111, 220–223 and 444–447 strata) sipas takes the matrix R would choose without
    it (order 32, 60, 120, 224 and 456: more replicates and the same full orthogonal
    balance, so linear statistics have R's SEs but ratios and domain means do not).
    Give R's matrix as ``Design.replicate(hadamard=)`` to reproduce R there.

    References: Wolter (2007) *Introduction to Variance Estimation*, 2nd ed., §3.4 and
    appendix A; Plackett & Burman (1946) *Biometrika* 33:305–325; Hedayat & Wallis
    (1978) *Ann. Statist.* 6:1184–1238.
    """
    kind, base, mult, order = _hadamard_plan(n)
    if kind == "sloane28":
        kind, base, mult, order = _hadamard_plan(n, with_order_28=False)
    if kind == "sylvester":
        return _sylvester(order)
    core = _paley(base) if kind == "paley" else _plackett_burman36()
    return np.kron(_sylvester(mult), core)


def _as_hadamard(H: Any, n_strata: int) -> np.ndarray:
    """A given Hadamard matrix (R's ``hadamard.matrix=``) as ±1, checked."""
    H = np.asarray(H, dtype=float)
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise DesignError(f"hadamard must be a square matrix, got shape {H.shape}")
    vals = set(np.unique(H).tolist())
    if vals <= {0.0, 1.0}:
        H = 2.0 * H - 1.0
    elif not vals <= {-1.0, 1.0}:
        raise DesignError("hadamard entries must be all +1/-1 or all 1/0")
    m = H.shape[0]
    if m < n_strata + 1:
        raise DesignError(f"hadamard has order {m}; {n_strata} strata need at least {n_strata + 1}")
    if not np.array_equal(H @ H.T, m * np.eye(m)):
        raise DesignError("hadamard is not a Hadamard matrix: its rows are not orthogonal")
    return H

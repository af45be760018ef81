"""What M random ReLU features can capture of a single ReLU neuron on the sphere.

The target ``f*(x) = relu(<u*, x>)`` on ``S^{d-1}`` is zonal, so its spherical-harmonic expansion
has one term per degree k, ``f_k(x) = N(d, k) a_k P_k(<u*, x>)`` with
``a_k = E_x[relu(<u*, x>) P_k(<u*, x>)]`` and energy ``|f_k|^2 = N(d, k) a_k^2`` in ``L^2`` of the
uniform probability measure (Funk-Hecke; ``E[P_k(t)^2] = 1/N(d, k)``). ``N(d, k)`` and ``P_k`` are
those of :mod:`companion.theory.ntk`; in d = 2, ``P_k(cos th) = cos(k th)`` and ``N(2, k) = 2``.

Random-feature models ``sum_j r_j relu(<u_j, x>)`` with fixed random ``u_j`` behave like the kernel
``k(x, x') = E_u[relu(<u, x>) relu(<u, x'>)]``, whose eigenfunctions are the spherical harmonics
with eigenvalues decreasing in the degree (Bach 2017, Sec. 3; Ghorbani, Mei, Misiakiewicz &
Montanari 2021, Thm 1: with M features in the polynomial regime the model fits the harmonics of
degree at most l when ``M`` exceeds their number ``sum_{k <= l} N(d, k)``, and none above). The
predicted floor of the test error with M features is therefore ``|P_{>l(M)} f*|^2`` with
``l(M) = max{l : sum_{k <= l} N(d, k) <= M}``. Since ``N(d, k)`` grows like ``d^k / k!``, a fixed
M buys fewer degrees as d grows (Yehudai & Shamir 2019: approximating one neuron needs
``M = exp(Omega(d))`` random features; E, Ma & Wu 2019: the error falls like ``M^{-1/d}`` at
best).
"""

from __future__ import annotations

import numpy as np

from companion.theory.ntk import harmonic_dimension, legendre, sphere_area_ratio


def _legendre_any_d(d: int, k: int, theta: np.ndarray) -> np.ndarray:
    return np.cos(k * theta) if d == 2 else legendre(d, k, np.cos(theta))


def relu_harmonic_energies(d: int, max_degree: int) -> np.ndarray:
    """``|f_k|^2`` for ``k = 0..max_degree`` of ``relu(<u*, x>)`` on ``S^{d-1}``.

    ``a_k = (|S^{d-2}|/|S^{d-1}|) int_0^{pi/2} cos(th) P_k(cos th) sin(th)^{d-2} dth``: the ReLU
    vanishes for ``th > pi/2``, and on ``[0, pi/2]`` the integrand is smooth, so Gauss-Legendre
    quadrature converges fast.
    """
    if d < 2:
        raise ValueError(f"d: {d} must be >= 2")
    nodes, weights = np.polynomial.legendre.leggauss(4 * int(max_degree) + 200)
    theta = 0.25 * np.pi * (nodes + 1.0)
    base = 0.25 * np.pi * weights * np.cos(theta) * np.sin(theta) ** (d - 2)
    out = np.zeros(int(max_degree) + 1)
    for k in range(int(max_degree) + 1):
        a_k = sphere_area_ratio(d) * np.sum(base * _legendre_any_d(d, k, theta))
        out[k] = harmonic_dimension(d, k) * a_k * a_k
    return out


def relu_norm2(d: int) -> float:
    """``E relu(<u*, x>)^2 = E[t^2]/2 = 1/(2d)`` for x uniform on ``S^{d-1}``."""
    return 1.0 / (2.0 * d)


def degree_capacity(d: int, m: int) -> int:
    """``l(M)``: the largest degree l with ``sum_{k <= l} N(d, k) <= M`` (-1 when M < 1)."""
    total, ell = 0, -1
    while True:
        total += harmonic_dimension(d, ell + 1)
        if total > m:
            return ell
        ell += 1


def random_feature_floor(d: int, m: int) -> float:
    """The predicted relative test error ``|P_{>l(M)} f*|^2 / |f*|^2`` with M random features."""
    ell = degree_capacity(d, int(m))
    if ell < 0:
        return 1.0
    captured = relu_harmonic_energies(d, ell).sum() / relu_norm2(d)
    return float(max(0.0, 1.0 - captured))

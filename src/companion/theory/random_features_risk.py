"""Asymptotic test error of random-features ridge regression (Mei and Montanari 2019/2022).

Setting (Mei and Montanari, "The generalization error of random features regression: precise
asymptotics and double descent curve", CPAM 2022, Section 2): inputs ``x`` and feature directions
``theta_j`` uniform on the sphere of radius ``sqrt(d)``, features ``sigma(<theta_j, x> / sqrt(d))``,
``N`` features and ``n`` samples with ``psi1 = N / d``, ``psi2 = n / d`` fixed as ``d -> infinity``,
the target ``y = <beta1, x> + f_NL(x) + eps`` with ``||beta1||^2 = F1^2``, a nonlinear part of
power ``F*^2`` and noise variance ``tau^2``, and the ridge estimator

    a_hat = argmin_a  (1/n) sum_i (y_i - sum_j a_j sigma(<theta_j, x_i>/sqrt(d)))^2
                      + (N lambda / d) ||a||^2.

With ``mu0 = E sigma(G)``, ``mu1 = E G sigma(G)``, ``mu*^2 = E sigma(G)^2 - mu0^2 - mu1^2``
(``G ~ N(0, 1)``), ``zeta = mu1 / mu*`` and ``lambda_bar = lambda / mu*^2``, the test error
``E_x[(f(x) - f_hat(x))^2]`` tends to (Theorem 1, Definition 1)

    R = F1^2 B(zeta, psi1, psi2, lambda_bar) + (tau^2 + F*^2) V(...) + F*^2,

``B = E1 / E0``, ``V = E2 / E0``, polynomials in ``chi = nu1 nu2`` evaluated at
``xi = i sqrt(psi1 psi2 lambda_bar)``, where ``nu1, nu2`` solve the fixed-point equations
(their eq. (18))

    nu1 = psi1 (-xi - nu2 - zeta^2 nu2 / (1 - zeta^2 nu1 nu2))^{-1},
    nu2 = psi2 (-xi - nu1 - zeta^2 nu1 / (1 - zeta^2 nu1 nu2))^{-1}.

On the imaginary axis ``nu1 = i a``, ``nu2 = i b`` with real ``a, b > 0`` (see
:func:`fixed_point`), so everything is computed in real arithmetic. The ridgeless limit
``lambda -> 0+`` has ``chi`` in closed form (their Theorem 3); :func:`ridgeless_chi`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]


@functools.lru_cache(maxsize=16)
def hermite_coefficients(activation: Callable[[float], float]) -> tuple[float, float, float]:
    """``(mu0, mu1, mu_star)`` of an activation under ``G ~ N(0, 1)`` by adaptive quadrature
    (Mei and Montanari 2022, eq. (6)): ``mu0 = E sigma(G)``, ``mu1 = E G sigma(G)``,
    ``mu_star^2 = E sigma(G)^2 - mu0^2 - mu1^2``. The line is split at 0, where ReLU-like
    activations have their kink (a Gauss-Hermite rule across the kink is off in the third digit
    at 200 nodes)."""
    from scipy.integrate import quad

    def moment(g: Callable[[float], float]) -> float:
        def f(t: float) -> float:
            return g(t) * math.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)

        return quad(f, -math.inf, 0.0, epsabs=1e-13)[0] + quad(f, 0.0, math.inf, epsabs=1e-13)[0]

    mu0 = moment(activation)
    mu1 = moment(lambda t: t * activation(t))
    second = moment(lambda t: activation(t) ** 2)
    return mu0, mu1, math.sqrt(max(second - mu0**2 - mu1**2, 0.0))


def relu(t: float) -> float:
    return max(t, 0.0)


def relu_coefficients() -> tuple[float, float, float]:
    """ReLU's ``(mu0, mu1, mu_star)`` in closed form: ``1/sqrt(2 pi)``, ``1/2`` and
    ``sqrt(1/4 - 1/(2 pi))`` (``E relu(G)^2 = 1/2``)."""
    return 1.0 / math.sqrt(2.0 * math.pi), 0.5, math.sqrt(0.25 - 1.0 / (2.0 * math.pi))


def fixed_point(zeta: float, psi1: float, psi2: float, lam_bar: float,
                tol: float = 1e-13, max_iter: int = 200000) -> tuple[float, float]:
    """``(a, b)`` with ``nu1 = i a``, ``nu2 = i b`` at ``xi = i s``, ``s = sqrt(psi1 psi2 lam_bar)``
    (Mei and Montanari 2022, eq. (18)). Substituting, the equations become real:

        a = psi1 / (s + b + zeta^2 b / (1 + zeta^2 a b)),
        b = psi2 / (s + a + zeta^2 a / (1 + zeta^2 a b)),

    whose positive solution is the one continued analytically from ``Im xi -> infinity``
    (``a ~ psi1 / s``). Solved by damped iteration from that end, then polished by Newton."""
    if not lam_bar > 0:
        raise ValueError(f"lam_bar must be > 0 (the ridgeless limit: ridgeless_chi); got {lam_bar}")
    s = math.sqrt(psi1 * psi2 * lam_bar)
    z2 = zeta * zeta

    def update(a: float, b: float) -> tuple[float, float]:
        q = 1.0 + z2 * a * b
        return psi1 / (s + b + z2 * b / q), psi2 / (s + a + z2 * a / q)

    a, b = psi1 / (s + 1.0), psi2 / (s + 1.0)
    damping = 0.5
    for _ in range(max_iter):
        na, nb = update(a, b)
        na, nb = damping * na + (1 - damping) * a, damping * nb + (1 - damping) * b
        if abs(na - a) <= tol * max(1.0, a) and abs(nb - b) <= tol * max(1.0, b):
            a, b = na, nb
            break
        a, b = na, nb
    else:
        raise RuntimeError(f"fixed point did not converge at psi1={psi1}, psi2={psi2}, "
                           f"lam_bar={lam_bar}")
    return a, b


def ridgeless_chi(zeta: float, psi1: float, psi2: float) -> float:
    """``chi = lim_{lambda -> 0+} nu1 nu2`` (Mei and Montanari 2022, Theorem 3): with
    ``psi = min(psi1, psi2)``,
    ``chi = -[(psi zeta^2 - zeta^2 - 1) + sqrt((psi zeta^2 - zeta^2 - 1)^2 + 4 zeta^2 psi)]
    / (2 zeta^2)``."""
    psi = min(psi1, psi2)
    z2 = zeta * zeta
    c = psi * z2 - z2 - 1.0
    return -(c + math.sqrt(c * c + 4.0 * z2 * psi)) / (2.0 * z2)


def bias_variance_from_chi(chi: float, zeta: float, psi1: float,
                           psi2: float) -> tuple[float, float]:
    """``(B, V) = (E1 / E0, E2 / E0)`` of Mei and Montanari 2022, Definition 1 (eq. (19)-(21))."""
    z2, z4, z6 = zeta**2, zeta**4, zeta**6
    p = psi1 * psi2
    e0 = (-chi**5 * z6 + 3 * chi**4 * z4 + (p - psi2 - psi1 + 1) * chi**3 * z6
          - 2 * chi**3 * z4 - 3 * chi**3 * z2 + (psi1 + psi2 - 3 * p + 1) * chi**2 * z4
          + 2 * chi**2 * z2 + chi**2 + 3 * p * chi * z2 - p)
    e1 = psi2 * chi**3 * z4 - psi2 * chi**2 * z2 + p * chi * z2 - p
    e2 = (chi**5 * z6 - 3 * chi**4 * z4 + (psi1 - 1) * chi**3 * z6 + 2 * chi**3 * z4
          + 3 * chi**3 * z2 + (-psi1 - 1) * chi**2 * z4 - 2 * chi**2 * z2 - chi**2)
    return e1 / e0, e2 / e0


def chi(zeta: float, psi1: float, psi2: float, lam_bar: float) -> float:
    """``chi = nu1 nu2 = -a b`` at ``xi = i sqrt(psi1 psi2 lam_bar)``; the ridgeless limit at
    ``lam_bar = 0``."""
    if lam_bar == 0:
        return ridgeless_chi(zeta, psi1, psi2)
    a, b = fixed_point(zeta, psi1, psi2, lam_bar)
    return -a * b


def rf_risk(psi1: ArrayLike, psi2: float, lam: float, f1_sq: float, fstar_sq: float,
            tau2: float, coefficients: tuple[float, float, float] | None = None) -> Array:
    """Asymptotic test error ``R = F1^2 B + (tau^2 + F*^2) V + F*^2`` of random-features ridge
    regression at penalty ``lam`` (the ``N lambda / d`` scaling of the module doc; ``lam = 0``:
    the minimum-norm interpolator), Mei and Montanari 2022, Theorem 1 and 3. ``coefficients``
    are ``(mu0, mu1, mu_star)``, ReLU's (:func:`hermite_coefficients` of :func:`relu`) by
    default. At ``psi1 = psi2`` and ``lam = 0`` the risk is
    infinite."""
    _, mu1, mu_star = hermite_coefficients(relu) if coefficients is None else coefficients
    zeta, lam_bar = mu1 / mu_star, float(lam) / mu_star**2
    out = []
    for p1 in np.atleast_1d(np.asarray(psi1, dtype=float)):
        if lam_bar == 0 and math.isclose(p1, psi2, rel_tol=1e-12):
            out.append(math.inf)
            continue
        b, v = bias_variance_from_chi(chi(zeta, float(p1), float(psi2), lam_bar), zeta,
                                      float(p1), float(psi2))
        out.append(f1_sq * b + (tau2 + fstar_sq) * v + fstar_sq)
    return np.asarray(out, dtype=float)

"""Mei and Montanari's random-features risk: the ReLU coefficients, the fixed point and its
ridgeless limit, and the whole curve against a simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from companion.sampling import sphere
from companion.theory import random_features_risk as rf


def test_relu_coefficients_by_quadrature_match_the_closed_form() -> None:
    np.testing.assert_allclose(rf.hermite_coefficients(rf.relu), rf.relu_coefficients(),
                               rtol=1e-9)
    # A linear activation has no nonlinear part: mu0 = 0, mu1 = 1, mu_star = 0.
    np.testing.assert_allclose(rf.hermite_coefficients(lambda t: t), (0.0, 1.0, 0.0), atol=1e-7)


@pytest.mark.parametrize(("psi1", "psi2"), [(0.5, 3.0), (3.0, 3.0 * 1.5), (6.0, 3.0), (2.0, 0.7)])
def test_fixed_point_solves_the_equations_and_tends_to_the_ridgeless_chi(psi1: float,
                                                                          psi2: float) -> None:
    _, mu1, mu_star = rf.relu_coefficients()
    zeta = mu1 / mu_star
    for lam in (1e-2, 1e-5):
        a, b = rf.fixed_point(zeta, psi1, psi2, lam)
        s, z2 = math.sqrt(psi1 * psi2 * lam), zeta**2
        q = 1 + z2 * a * b
        assert a == pytest.approx(psi1 / (s + b + z2 * b / q), rel=1e-10)
        assert b == pytest.approx(psi2 / (s + a + z2 * a / q), rel=1e-10)
    assert rf.chi(zeta, psi1, psi2, 1e-9) == pytest.approx(rf.ridgeless_chi(zeta, psi1, psi2),
                                                           rel=1e-3)


def test_ridgeless_risk_diverges_at_the_threshold_only() -> None:
    psi2 = 3.0
    args = (1.0, 0.25, 0.25)
    near = rf.rf_risk([psi2 * 0.99, psi2 * 1.01], psi2, 0.0, *args)
    far = rf.rf_risk([psi2 * 0.3, psi2 * 3.0], psi2, 0.0, *args)
    assert near.min() > 10 * far.max()
    assert math.isinf(rf.rf_risk(psi2, psi2, 0.0, *args)[0])
    # Without noise and nonlinear part, many features interpolate a linear target almost freely.
    assert rf.rf_risk(1000.0, 30.0, 0.0, 1.0, 0.0, 0.0)[0] < 0.05


def _simulate(n: int, d: int, m: int, lam: float, reps: int, rng) -> float:
    f1, fs, tau2 = 1.0, 0.25, 0.25
    risks = []
    for _ in range(reps):
        x, x_test, theta = sphere(rng, n, d), sphere(rng, 2000, d), sphere(rng, m, d)
        beta = rng.standard_normal(d)
        beta *= math.sqrt(f1) / np.linalg.norm(beta)
        u = rng.standard_normal(d)
        u /= np.linalg.norm(u)
        c = math.sqrt(2 * (d - 1) / (d + 2))

        def f(z, beta=beta, u=u, c=c):
            return z @ beta + math.sqrt(fs) * ((z @ u) ** 2 - 1) / c

        y = f(x) + math.sqrt(tau2) * rng.standard_normal(n)
        z, z_test = (np.maximum(v @ theta.T / math.sqrt(d), 0) for v in (x, x_test))
        if lam == 0:
            a = np.linalg.lstsq(z, y, rcond=None)[0]
        else:
            a = np.linalg.solve(z.T @ z / n + m * lam / d * np.eye(m), z.T @ y / n)
        risks.append(np.mean((f(x_test) - z_test @ a) ** 2))
    return float(np.mean(risks))


@pytest.mark.parametrize(("ratio", "lam"), [(0.3, 0.0), (0.7, 0.0), (2.0, 0.0), (3.0, 0.0),
                                            (0.7, 0.05), (2.0, 0.05)])
def test_asymptotic_risk_matches_a_simulation(ratio: float, lam: float) -> None:
    n, d = 300, 100
    m = round(ratio * n)
    measured = _simulate(n, d, m, lam, reps=6, rng=np.random.default_rng(int(ratio * 10)))
    predicted = rf.rf_risk(m / d, n / d, lam, 1.0, 0.25, 0.25)[0]
    assert measured == pytest.approx(predicted, rel=0.08)

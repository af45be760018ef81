"""The parametric oracle risk: the ReLU teacher's parameter count from its Jacobian's rank, and
sigma^2 p / n against simulated least squares."""

from __future__ import annotations

import numpy as np
import pytest

from companion import sampling
from companion.theory import parametric


def _teacher(rng: np.random.Generator, m: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    w = sampling.sphere(rng, m, d, radius=1.0) * np.sqrt(d)
    return w, np.where(np.arange(m) % 2 == 0, 1.0, -1.0)


@pytest.mark.parametrize(("m", "d"), [(1, 2), (3, 5), (4, 3)])
def test_jacobian_rank_is_m_times_d(m: int, d: int) -> None:
    rng = np.random.default_rng([m, d])
    w, a = _teacher(rng, m, d)
    x = sampling.sphere(rng, 4000, d, radius=1.0)
    jac = parametric.relu_jacobian(x, w, a)
    assert jac.shape == (4000, m * d + m)
    sv = np.linalg.svd(jac / np.sqrt(len(x)), compute_uv=False)
    rank = int((sv > 1e-8 * sv[0]).sum())
    assert rank == parametric.relu_dimension(m, d) == m * d
    # The smallest retained singular value is far from zero: the m d directions are identifiable.
    assert sv[m * d - 1] > 1e-3 * sv[0]


def test_parallel_teacher_directions_lose_identifiability() -> None:
    rng = np.random.default_rng(3)
    w, a = _teacher(rng, 2, 4)
    w[1] = 2.0 * w[0]  # the same direction twice: the two neurons' u-vectors add
    x = sampling.sphere(rng, 3000, 4, radius=1.0)
    sv = np.linalg.svd(parametric.relu_jacobian(x, w, a), compute_uv=False)
    assert int((sv > 1e-8 * sv[0]).sum()) < parametric.relu_dimension(2, 4)


def test_jacobian_matches_finite_differences() -> None:
    rng = np.random.default_rng(5)
    w, a = _teacher(rng, 3, 4)
    x = sampling.sphere(rng, 50, 4, radius=1.0)
    jac = parametric.relu_jacobian(x, w, a)
    theta = np.concatenate([w.ravel(), a])
    h = 1e-6

    def f(t: np.ndarray) -> np.ndarray:
        return np.maximum(x @ t[:12].reshape(3, 4).T, 0.0) @ t[12:]

    for k in range(theta.size):
        e = np.zeros_like(theta)
        e[k] = h
        np.testing.assert_allclose((f(theta + e) - f(theta - e)) / (2 * h), jac[:, k],
                                   atol=1e-6)


def test_oracle_risk_matches_simulated_least_squares() -> None:
    """Linear least squares with Gaussian design: the exact mean excess risk is
    sigma^2 p / (n - p - 1), within 1.3% of sigma^2 p / n at n = 500, p = 5."""
    rng = np.random.default_rng(11)
    reps, n, p, sigma = 1500, 500, 5, 0.7
    x = rng.standard_normal((reps, n, p))
    beta = rng.standard_normal(p)
    y = x @ beta + sigma * rng.standard_normal((reps, n))
    fit = np.linalg.solve(np.einsum("rni,rnj->rij", x, x),
                          np.einsum("rni,rn->ri", x, y)[..., None])[..., 0]
    excess = ((fit - beta) ** 2).sum(axis=1)  # E (x^T (b_hat - b))^2 for x ~ N(0, I)
    expected = float(parametric.oracle_risk(sigma, p, n))
    assert expected == pytest.approx(sigma**2 * p / n)
    # Relative standard error of the mean: sqrt(2 / p) / sqrt(reps) = 1.6%.
    assert excess.mean() / expected == pytest.approx(n / (n - p - 1), rel=0.05)
    # A rate other than 1/n is far off: the risk at n = 500 is not sigma^2 p / sqrt(n).
    assert excess.mean() < 0.2 * sigma**2 * p / np.sqrt(n)


def test_oracle_risk_is_vectorised_and_rejects_bad_input() -> None:
    np.testing.assert_allclose(parametric.oracle_risk(0.5, 15, [64, 128]), [0.25 * 15 / 64,
                                                                           0.25 * 15 / 128])
    with pytest.raises(ValueError, match="positive"):
        parametric.oracle_risk(0.5, 15, [0, 64])
    with pytest.raises(ValueError, match="m >= 1"):
        parametric.relu_dimension(0, 5)
    with pytest.raises(ValueError, match="d >= 1"):
        parametric.relu_dimension(3, 0)

"""The deterministic equivalent of kernel ridge regression, the circle's spectrum and the
power-law fit with its standard error."""

from __future__ import annotations

import numpy as np
import pytest

from companion.theory import powerlaw
from companion.theory import scaling_law as th


def _basis(grid: int) -> np.ndarray:
    """The orthonormal Fourier basis on the grid, one column per mode (order of the spectrum)."""
    t = np.arange(grid) / grid
    cols = [np.ones(grid)]
    for k in range(1, (grid - 1) // 2 + 1):
        cols += [np.sqrt(2) * np.cos(2 * np.pi * k * t), np.sqrt(2) * np.sin(2 * np.pi * k * t)]
    return np.stack(cols, axis=1)


def test_basis_is_orthonormal_and_kernel_is_its_sum() -> None:
    grid, b = 27, 2.5
    phi = _basis(grid)
    np.testing.assert_allclose(phi.T @ phi / grid, np.eye(grid), atol=1e-12)
    mu = th.circle_spectrum(b, grid)
    k_grid = th.kernel_on_grid(mu, grid)
    np.testing.assert_allclose(k_grid, phi @ (mu * phi[0]), atol=1e-12)
    assert th.circle_frequencies(grid).tolist()[:5] == [0, 1, 1, 2, 2]
    with pytest.raises(ValueError, match="odd"):
        th.circle_frequencies(28)


def test_kappa_solves_the_self_consistent_equation() -> None:
    mu = th.circle_spectrum(2.0, 2187)
    for n, lam in ((10, 1e-2), (300, 1e-4), (2000, 1e-6)):
        kappa = th.effective_regularisation(mu, n, lam)
        assert lam < kappa
        assert np.sum(mu / (mu + kappa)) + n * lam / kappa == pytest.approx(n, rel=1e-10)


def test_equivalent_matches_a_direct_average_on_a_small_case() -> None:
    """Bias and variance of kernel ridge computed directly in the eigenbasis (explicit feature
    matrices, averaged over many data sets) against the deterministic equivalent. Its error is
    O(1/n) (at n = 32 the variance came out 11% low in the experiment, at n = 256 0.6%), so the
    case has n in the hundreds."""
    grid, b, r, n, sigma2 = 243, 2.0, 0.75, 160, 0.05
    lam = float(th.cdv_lambda(n, b, r, 0.1))
    mu = th.circle_spectrum(b, grid)
    c2 = th.source_coefficients(b, r, grid)
    coef = np.sqrt(c2)
    phi = _basis(grid)
    rng = np.random.default_rng(0)
    bias, var = [], []
    for _ in range(300):
        feats = phi[rng.integers(0, grid, n)]           # (n, modes)
        gram = (feats * mu) @ feats.T
        smoother = mu[:, None] * feats.T @ np.linalg.inv(gram + n * lam * np.eye(n))
        # coefficients of f_hat = smoother @ y; bias from y = f*(X), variance from the noise.
        bias.append(np.sum((smoother @ (feats @ coef) - coef) ** 2))
        var.append(sigma2 * np.sum(smoother**2))
    bias_de, var_de = th.deterministic_equivalent(mu, c2, n, lam, sigma2)
    assert np.mean(var) == pytest.approx(var_de, rel=0.03)
    assert np.mean(bias) == pytest.approx(bias_de, rel=0.1)  # measured +4.5%
    assert np.mean(bias) + np.mean(var) == pytest.approx(bias_de + var_de, rel=0.03)


def test_equivalent_limits() -> None:
    """A huge penalty learns nothing (bias = |f*|^2, no variance); a tiny one at n far beyond the
    modes learns everything."""
    grid = 27
    mu = th.circle_spectrum(2.0, grid)
    c2 = th.source_coefficients(2.0, 0.5, grid)
    bias, var = th.deterministic_equivalent(mu, c2, 10, 1e8, 1.0)
    assert bias == pytest.approx(1.0, rel=1e-6) and var < 1e-8
    bias, var = th.deterministic_equivalent(mu, c2, 100000, 1e-12, 1.0)
    assert bias < 1e-8 and var == pytest.approx(grid / 100000, rel=1e-3)


def test_rate_constants() -> None:
    assert th.cdv_exponent(2.0, 0.5) == pytest.approx(-2 / 3)
    assert th.cdv_lambda(4.0, 2.0, 0.5, 1.0) == pytest.approx(4.0 ** (-2 / 3))
    assert th.source_coefficients(2.0, 0.75, 81).sum() == pytest.approx(1.0)


def test_slope_standard_error_matches_its_spread() -> None:
    """On a synthetic power law with lognormal noise of known size, the fitted slope is unbiased
    and its reported standard error equals the spread of the slope over many draws."""
    rng = np.random.default_rng(1)
    x = np.geomspace(10, 10000, 8)
    noise = 0.2
    lx = np.log(x)
    exact_se = noise / np.sqrt(np.sum((lx - lx.mean()) ** 2))
    fits = [powerlaw.loglog_fit(x, 3.0 * x**-0.7 * np.exp(noise * rng.standard_normal(x.size)))
            for _ in range(4000)]
    slopes = np.array([s for s, _ in fits])
    ses = np.array([se for _, se in fits])
    assert slopes.mean() == pytest.approx(-0.7, abs=0.01)
    assert slopes.std() == pytest.approx(exact_se, rel=0.05)
    assert np.sqrt(np.mean(ses**2)) == pytest.approx(exact_se, rel=0.05)
    assert powerlaw.loglog_fit([1, 2], [1, 4]) == (pytest.approx(2.0), None)
    slope, se = powerlaw.loglog_fit(x, x**1.5)
    assert slope == pytest.approx(1.5) and se == pytest.approx(0.0, abs=1e-12)

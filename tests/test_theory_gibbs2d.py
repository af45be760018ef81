"""The 2-D Gibbs quadrature, the confinement test, minima, basins and the overshoot radius."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from companion.theory import gibbs2d

# L = 1/2 z^T H z + b^T z with H = [[2, 0.6], [0.6, 1]], b = (0.3, -0.2): a correlated Gaussian.
H = np.array([[2.0, 0.6], [0.6, 1.0]])
B = np.array([0.3, -0.2])
QUADRATIC = [[0.0, -0.2, 0.5], [0.3, 0.6, 0.0], [1.0, 0.0, 0.0]]
EDGES = np.linspace(-2.5, 2.5, 31)
FOUR_WELLS = [[0.0, 0.04, -0.5, 0.0, 0.25], [0.1, -0.03, 0, 0, 0], [-0.5, 0, 0, 0, 0],
              [0, 0, 0, 0, 0], [0.25, 0, 0, 0, 0]]


@pytest.mark.parametrize("beta", [1.0, 3.0, 20.0])
def test_gibbs_quadrature_of_a_gaussian(beta: float) -> None:
    law = gibbs2d.GibbsLaw2D.of(QUADRATIC, beta, EDGES)
    mean = -np.linalg.solve(H, B)
    cov = np.linalg.inv(H) / beta
    # Z = int exp(-beta L) = 2 pi / (beta sqrt(det H)) exp(beta b^T H^-1 b / 2)
    log_z = np.log(2 * np.pi / (beta * np.sqrt(np.linalg.det(H)))) + beta * B @ -mean / 2
    assert law.log_normaliser == pytest.approx(log_z, abs=1e-6)
    np.testing.assert_allclose(law.mean, mean, atol=1e-6)
    np.testing.assert_allclose(law.covariance, cov, atol=2e-4 * cov.max())
    masses = law.bin_masses()
    assert masses.sum() == pytest.approx(1.0, abs=1e-12)
    # One bin's mass against the Gaussian's rectangle probability.
    gauss = multivariate_normal(mean, cov)
    i, j = 14, 16
    lo, hi = EDGES[[i, j]], EDGES[[i + 1, j + 1]]
    exact = (gauss.cdf(hi) - gauss.cdf([lo[0], hi[1]]) - gauss.cdf([hi[0], lo[1]])
             + gauss.cdf(lo))
    assert masses[i * 30 + j] == pytest.approx(exact, rel=1e-3)


def test_confinement() -> None:
    assert gibbs2d.confining_problem(QUADRATIC) is None
    assert gibbs2d.confining_problem(FOUR_WELLS) is None
    assert "not positive" in gibbs2d.confining_problem([[0, 0, 1], [0, 0, 0], [-1, 0, 0]])
    # x^4 alone does not confine y.
    assert "not positive" in gibbs2d.confining_problem([[0, 0, 0, 0, 0], [0] * 5, [0] * 5,
                                                        [0] * 5, [1, 0, 0, 0, 0]])
    assert "even" in gibbs2d.confining_problem([[0, 1], [1, 0]])


def test_four_wells_minima_and_basins() -> None:
    minima = gibbs2d.local_minima(FOUR_WELLS, 3.0)
    assert minima.shape == (4, 2)
    values = gibbs2d.potential(FOUR_WELLS, minima[:, 0], minima[:, 1])
    assert np.all(np.diff(values) > 0)  # deepest first, all depths distinct
    gx, gy = gibbs2d.gradient(FOUR_WELLS, minima[:, 0], minima[:, 1])
    assert np.abs(gx).max() < 1e-10 and np.abs(gy).max() < 1e-10
    assert np.all(minima[0] < 0)  # the global minimum in the lower-left quadrant
    labels = gibbs2d.basin_labels(FOUR_WELLS, minima, np.array([-1.5, 1.5]), np.array([-1.5, 1.5]))
    assert labels.tolist() == [0, int(np.argmin(np.linalg.norm(minima - 1.0, axis=1)))]


def test_overshoot_radius_of_a_quadratic_and_a_quartic() -> None:
    # A quadratic: eta <x, Hx> >= 2 |x|^2 iff eta lambda >= 2, which eta = 0.1 never reaches.
    assert gibbs2d.euler_overshoot_radius(QUADRATIC, 0.1) == np.inf
    # Separable x^4/4 + y^4/4: along an axis eta r^4 >= 2 r^2 from r = sqrt(2 / eta).
    quartic = np.zeros((5, 5))
    quartic[4, 0] = quartic[0, 4] = 0.25
    r = gibbs2d.euler_overshoot_radius(quartic, 0.1)
    assert r == pytest.approx(np.sqrt(20.0), rel=1e-2)  # a geometric grid of radii, 0.9 % apart
    law = gibbs2d.GibbsLaw2D.of(quartic, 1.0, EDGES)
    assert gibbs2d.euler_overshoot_probability(law, quartic, 0.1) < 1e-9
    assert gibbs2d.euler_overshoot_probability(law, quartic, 1.5) > 1e-3

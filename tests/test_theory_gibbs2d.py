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


# --- the discrete chain's stationary law (Nyström) ------------------------------------------------

def test_quadratic_closed_form_solves_the_discrete_lyapunov_equation() -> None:
    from scipy.linalg import solve_discrete_lyapunov

    beta, eta = 2.0, 0.3
    m = np.eye(2) - eta * H
    s = gibbs2d.euler_quadratic_stationary_covariance(H, beta, eta)
    np.testing.assert_allclose(s, solve_discrete_lyapunov(m, 2 * eta / beta * np.eye(2)),
                               rtol=1e-12)
    # eta -> 0: the Gibbs covariance H^-1 / beta, with a relative bias of order eta.
    small = gibbs2d.euler_quadratic_stationary_covariance(H, beta, 1e-6)
    np.testing.assert_allclose(small, np.linalg.inv(H) / beta, rtol=1e-5)
    with pytest.raises(ValueError, match="no stationary law"):
        gibbs2d.euler_quadratic_stationary_covariance(H, beta, 0.9)  # eta lambda_max = 2.05


@pytest.mark.parametrize(("beta", "eta"), [(1.0, 0.1), (4.0, 0.6), (20.0, 0.05)])
def test_nystrom_law_of_a_quadratic_is_the_vector_ar1(beta: float, eta: float) -> None:
    # The chain X' = (I - eta H) X - eta b + sqrt(2 eta / beta) xi is Gaussian AR(1): its law is
    # N(-H^-1 b, S) with S of the closed form, and its slowest mode decays like the largest
    # eigenvalue 1 - eta lambda_min(H) of I - eta H. Stated tolerances: 1e-6 relative on the
    # covariance and the relaxation time, 1e-8 on the mean, 1e-6 relative on a bin's mass.
    law = gibbs2d.euler_stationary_law_2d(QUADRATIC, beta, eta, relaxation=True)
    mean = -np.linalg.solve(H, B)
    cov = gibbs2d.euler_quadratic_stationary_covariance(H, beta, eta)
    np.testing.assert_allclose(law.mean, mean, atol=1e-8)
    np.testing.assert_allclose(law.covariance, cov, rtol=1e-6)
    mu = 1.0 - eta * np.linalg.eigvalsh(H)
    assert law.relaxation_time == pytest.approx(-eta / np.log(np.abs(mu).max()), rel=1e-6)
    assert law.weights.sum() == pytest.approx(1.0, abs=1e-12) and law.weights.min() >= 0
    masses = law.bin_masses(EDGES)
    assert masses.sum() == pytest.approx(1.0, abs=1e-12) and masses.min() >= 0
    gauss = multivariate_normal(mean, cov, abseps=1e-12, releps=1e-12)
    i, j = 14, 16
    lo, hi = EDGES[[i, j]], EDGES[[i + 1, j + 1]]
    exact = (gauss.cdf(hi) - gauss.cdf([lo[0], hi[1]]) - gauss.cdf([hi[0], lo[1]])
             + gauss.cdf(lo))
    assert masses[i * 30 + j] == pytest.approx(exact, rel=1e-6)


def test_nystrom_law_of_four_wells_is_converged_in_its_grid() -> None:
    # Twice as many points per kernel width and a kernel cut at 8 widths instead of 6 change
    # the moments and the bin masses by less than 1e-7: the default grid's error is far below
    # the chains' standard errors (~1e-3).
    beta, eta = 2.0, 0.12
    coarse = gibbs2d.euler_stationary_law_2d(FOUR_WELLS, beta, eta)
    fine = gibbs2d.euler_stationary_law_2d(FOUR_WELLS, beta, eta, points_per_sigma=3.0,
                                           kernel_sigmas=8.0)
    assert fine.weights.size > 3 * coarse.weights.size
    np.testing.assert_allclose(coarse.mean, fine.mean, atol=1e-7)
    np.testing.assert_allclose(coarse.covariance, fine.covariance, atol=1e-7)
    np.testing.assert_allclose(coarse.bin_masses(EDGES), fine.bin_masses(EDGES), atol=1e-7)
    # pi_eta is within O(eta) of the Gibbs law, not equal to it.
    gibbs = gibbs2d.GibbsLaw2D.of(FOUR_WELLS, beta, EDGES)
    gap = np.abs(coarse.covariance - gibbs.covariance).max()
    assert 1e-3 < gap < 0.1


def test_sublevel_box_of_a_quadratic() -> None:
    # {L - min L <= c} is the ellipse (z - m)^T H (z - m) <= 2 c: half-widths sqrt(2 c H^-1_kk).
    level = 3.0
    x_lo, x_hi, y_lo, y_hi = gibbs2d.sublevel_box(QUADRATIC, level)
    mean = -np.linalg.solve(H, B)
    half = np.sqrt(2 * level * np.diag(np.linalg.inv(H)))
    cell = 2 * gibbs2d._escape_radius(QUADRATIC, level) / (gibbs2d._BOX_GRID - 1)
    for got, want in ((x_lo, mean[0] - half[0]), (y_lo, mean[1] - half[1])):
        assert want - 2 * cell <= got <= want
    for got, want in ((x_hi, mean[0] + half[0]), (y_hi, mean[1] + half[1])):
        assert want <= got <= want + 2 * cell


def test_the_grid_stays_inside_the_overshoot_radius() -> None:
    quartic = np.zeros((5, 5))
    quartic[4, 0] = quartic[0, 4] = 0.25
    x, y = gibbs2d.chain_grid(quartic, 0.5, 0.3)
    r = gibbs2d.euler_overshoot_radius(quartic, 0.3)
    assert max(abs(x[0]), x[-1], abs(y[0]), y[-1]) <= 0.99 * r + (x[1] - x[0])
    assert gibbs2d.chain_grid_nodes(quartic, 0.5, 0.3) == len(x) * len(y)
    # At most 2 (ceil(6 x 1.5) + 1) + 1 = 21 entries per axis (the ceiling of 9 + round-off).
    assert gibbs2d.kernel_entries_per_node() == 21 ** 2
    *_, kernel = gibbs2d.euler_transition_matrix_2d(quartic, 0.5, 0.3)
    assert kernel.nnz <= gibbs2d.kernel_entries_per_node() * kernel.shape[0]

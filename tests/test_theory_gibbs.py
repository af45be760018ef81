"""The Gibbs law by quadrature, the Euler chain's stationary law, and the binned KL tools."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from companion.nn.langevin import LangevinChains, polynomial_gradient
from companion.theory import gibbs

DOUBLE_WELL = [0.0, 0.15, -0.5, 0.0, 0.25]




@pytest.mark.parametrize(("a", "b", "beta"), [(2.0, 0.0, 1.0), (0.5, 0.3, 4.0), (3.0, -1.0, 0.7)])
def test_quadrature_matches_the_gaussian_closed_form(a: float, b: float, beta: float) -> None:
    # L = a x^2 / 2 + b x: pi = N(-b/a, 1/(beta a)), Z = sqrt(2 pi / (beta a)) exp(beta b^2 / 2a).
    law = gibbs.gibbs_law([0.0, b, a / 2], beta)
    var = 1.0 / (beta * a)
    assert law.mean == pytest.approx(-b / a, abs=1e-8)
    assert law.variance == pytest.approx(var, rel=1e-7)
    log_z = 0.5 * math.log(2 * math.pi / (beta * a)) + beta * b * b / (2 * a)
    assert law.log_normaliser == pytest.approx(log_z, abs=1e-7)
    edges = np.linspace(-2.0, 2.0, 11)
    exact = np.diff(stats.norm.cdf(np.concatenate([[-np.inf], edges, [np.inf]]),
                                   loc=-b / a, scale=math.sqrt(var)))
    np.testing.assert_allclose(law.bin_masses(edges), exact, atol=1e-9)
    assert law.bin_masses(edges).sum() == pytest.approx(1.0, abs=1e-12)


def test_quadrature_is_stable_at_large_beta() -> None:
    law = gibbs.gibbs_law(DOUBLE_WELL, 500.0)
    x_star, lo, hi = gibbs.global_basin(DOUBLE_WELL)
    assert np.isfinite(law.log_normaliser)
    assert law.mean == pytest.approx(x_star, abs=0.01)
    assert law.mass(lo, hi) == pytest.approx(1.0, abs=1e-12)


def test_global_basin_of_the_tilted_double_well() -> None:
    x_star, lo, hi = gibbs.global_basin(DOUBLE_WELL)
    # Critical points solve x^3 - x + 0.15 = 0; the deeper well is the left one.
    assert x_star == pytest.approx(-1.0679, abs=1e-3)
    assert lo == -np.inf
    assert hi == pytest.approx(0.1536, abs=1e-3)
    assert gibbs.gradient(DOUBLE_WELL, x_star) == pytest.approx(0.0, abs=1e-10)


@pytest.mark.parametrize(("coeffs", "bad"), [
    ([0.0, 1.0, 0.0, 1.0], True),      # odd degree
    ([0.0, 0.0, -1.0], True),          # negative leading coefficient
    ([1.0, 2.0], True),                # linear
    ([0.0, 0.0, 1.0, 0.0, 0.0], False),  # trailing zeros do not count
    (DOUBLE_WELL, False),
])
def test_confining(coeffs: list[float], bad: bool) -> None:
    assert (gibbs.confining_problem(coeffs) is not None) == bad


@pytest.mark.parametrize(("a", "beta", "eta"), [(2.0, 1.0, 0.01), (2.0, 3.0, 0.25),
                                                (1.0, 10.0, 1.0), (2.0, 2.0, 0.9)])
def test_nystrom_stationary_law_matches_the_ar1_closed_form(a: float, beta: float,
                                                            eta: float) -> None:
    law = gibbs.euler_stationary_law([0.0, 0.0, a / 2], beta, eta)
    assert law.mean == pytest.approx(0.0, abs=1e-9)
    assert law.variance == pytest.approx(gibbs.euler_quadratic_stationary_variance(a, beta, eta),
                                         rel=1e-6)


def test_ar1_closed_form_limits() -> None:
    assert gibbs.euler_quadratic_stationary_variance(2.0, 3.0, 1e-9) == pytest.approx(1 / 6)
    assert gibbs.euler_quadratic_stationary_variance(1.0, 1.0, 1.0) == pytest.approx(2.0)
    with pytest.raises(ValueError):
        gibbs.euler_quadratic_stationary_variance(2.0, 1.0, 1.0)  # eta a = 2: no stationary law


def test_euler_law_tends_to_gibbs_with_an_order_eta_bias() -> None:
    edges = np.linspace(-2.5, 2.5, 51)
    q = gibbs.gibbs_law(DOUBLE_WELL, 4.0).bin_masses(edges)
    kls = [float(gibbs.binned_kl(gibbs.euler_stationary_law(DOUBLE_WELL, 4.0, eta)
                                 .bin_masses(edges), q)) for eta in (0.01, 0.02, 0.04)]
    # Distances O(eta) give a KL O(eta^2): halving eta quarters it.
    assert kls[0] < kls[1] < kls[2]
    assert kls[2] / kls[1] == pytest.approx(4.0, rel=0.2)
    assert kls[1] / kls[0] == pytest.approx(4.0, rel=0.2)


def test_batched_gld_matches_the_discrete_stationary_variance() -> None:
    # Four (beta, eta) rows on L = a x^2 / 2, started at the continuous-time law N(0, 1/(beta a)).
    a = 2.0
    betas = torch.tensor([1.0, 1.0, 4.0, 4.0], dtype=torch.float64)
    etas = torch.tensor([0.05, 0.5, 0.1, 0.75], dtype=torch.float64)
    n = 20_000
    gen = torch.Generator().manual_seed(1)
    x0 = torch.randn(4, n, generator=gen, dtype=torch.float64) / torch.sqrt(betas * a)[:, None]
    chains = LangevinChains(x0, polynomial_gradient([0.0, 0.0, a / 2]), eta=etas, beta=betas,
                            generator=gen)
    for _ in range(100):  # |1 - eta a|^100 < 1e-4 for every row: the start is forgotten
        chains.step()
    var = chains.x.var(dim=1).numpy()
    predicted = np.array([gibbs.euler_quadratic_stationary_variance(a, float(b), float(e))
                          for b, e in zip(betas, etas, strict=True)])
    continuous = 1.0 / (betas.numpy() * a)
    se = predicted * math.sqrt(2.0 / n)  # sampling error of a Gaussian sample variance
    assert np.all(np.abs(var - predicted) < 4 * se)
    # The bias is real where eta a is large: the continuous-time value is many errors away.
    big = etas.numpy() * a >= 1.0
    assert np.all(np.abs(var[big] - continuous[big]) > 10 * se[big])


def test_binned_kl_basics() -> None:
    q = gibbs.gibbs_law(DOUBLE_WELL, 2.0).bin_masses(np.linspace(-2.5, 2.5, 21))
    assert float(gibbs.binned_kl(q, q)) == pytest.approx(0.0, abs=1e-14)
    assert float(gibbs.binned_kl(1e6 * q, q)) == pytest.approx(0.0, abs=1e-12)  # counts work
    # Empty empirical bins contribute nothing; all mass in one bin gives -log q_i.
    one = np.zeros_like(q)
    one[10] = 7
    assert float(gibbs.binned_kl(one, q)) == pytest.approx(-math.log(q[10]), rel=1e-9)
    # A bin with zero reference mass costs a large but finite amount.
    q0 = q.copy()
    q0[0] = 0.0
    q0 /= q0.sum()
    hit = np.zeros_like(q)
    hit[0] = 1
    value = float(gibbs.binned_kl(hit, q0))
    assert np.isfinite(value) and value > 20
    # Leading axes broadcast.
    assert gibbs.binned_kl(np.stack([q, one]), q).shape == (2,)


def test_plugin_bias_and_its_jackknife() -> None:
    rng = np.random.default_rng(0)
    q = gibbs.gibbs_law(DOUBLE_WELL, 2.0).bin_masses(np.linspace(-2.5, 2.5, 31))
    n, groups, reps = 2000, 4, 400
    counts = rng.multinomial(n // groups, q, size=(reps, groups))
    plugin = gibbs.binned_kl(counts.sum(axis=1), q)
    expected = gibbs.expected_plugin_kl(q, q, n)
    effective_bins = int((q * n > 1).sum())
    assert expected == pytest.approx((effective_bins - 1) / (2 * n), rel=0.3)
    assert plugin.mean() == pytest.approx(expected, rel=0.1)
    jack = np.array([gibbs.jackknife_kl(c, q)[0] for c in counts])
    # The jackknife removes the 1/n bias: its mean is far closer to the true KL (0).
    assert abs(jack.mean()) < 0.15 * plugin.mean()
    assert abs(jack.mean()) < 3 * jack.std() / math.sqrt(reps)


@pytest.mark.parametrize("p", [1e-5, 0.01, 0.3, 0.9])
def test_binomial_pmf_matches_scipy_stats(p: float) -> None:
    n = 12288
    k = np.arange(0, n + 1, dtype=float)
    np.testing.assert_allclose(gibbs._binomial_pmf(k, n, p), stats.binom.pmf(k, n, p),
                               rtol=1e-9, atol=1e-300)


def test_expected_plugin_kl_with_a_biased_law() -> None:
    rng = np.random.default_rng(1)
    edges = np.linspace(-2.5, 2.5, 31)
    q = gibbs.gibbs_law(DOUBLE_WELL, 2.0).bin_masses(edges)
    p = gibbs.euler_stationary_law(DOUBLE_WELL, 2.0, 0.1).bin_masses(edges)
    n = 1000
    simulated = gibbs.binned_kl(rng.multinomial(n, p, size=2000), q).mean()
    assert gibbs.expected_plugin_kl(p, q, n) == pytest.approx(simulated, rel=0.03)
    assert gibbs.expected_plugin_kl(p, q, n) > float(gibbs.binned_kl(p, q))


def test_overshoot_region() -> None:
    # L = x^4 / 4: eta x L' = eta x^4 >= 2 x^2 beyond sqrt(2 / eta).
    lo, hi = gibbs.euler_overshoot_region([0.0, 0.0, 0.0, 0.0, 0.25], 0.5)
    assert hi == pytest.approx(2.0) and lo == pytest.approx(-2.0)
    assert gibbs.euler_overshoot_region([0.0, 0.0, 1.0], 0.5) == (-np.inf, np.inf)
    assert gibbs.euler_overshoot_region([0.0, 0.0, 1.0], 1.0) == (0.0, 0.0)
    small = gibbs.euler_overshoot_probability(DOUBLE_WELL, 2.0, 0.05)
    large = gibbs.euler_overshoot_probability(DOUBLE_WELL, 2.0, 0.2)
    assert 0.0 <= small < 1e-50 and 1e-9 < large < 1e-4


@pytest.mark.parametrize(("a", "beta", "eta"), [(1.0, 2.0, 0.05), (2.0, 5.0, 0.2)])
def test_relaxation_time_matches_the_ar1_autocorrelation(a: float, beta: float,
                                                         eta: float) -> None:
    # For L = a x^2 / 2 the chain is AR(1) with coefficient 1 - eta a: that is its lambda_2.
    expected = -eta / np.log(1.0 - eta * a)
    assert gibbs.euler_relaxation_time([0.0, 0.0, a / 2], beta, eta) == pytest.approx(
        expected, rel=1e-6)


def test_chain_law_basin_mass_does_not_depend_on_the_grid() -> None:
    coeffs = [0.0, 0.15, -0.5, 0.0, 0.25]
    _, lo, hi = gibbs.global_basin(coeffs)
    masses = [gibbs.euler_stationary_law(coeffs, 2.0, 0.1, points_per_sigma=pps).mass(lo, hi)
              for pps in (8, 16, 32)]
    assert max(masses) - min(masses) < 1e-5


def test_jackknife_standard_error_is_the_textbook_formula() -> None:
    rng = np.random.default_rng(11)
    q = np.array([0.1, 0.2, 0.3, 0.4])
    groups = rng.multinomial(200, [0.12, 0.18, 0.3, 0.4], size=5)
    g = len(groups)
    loo = np.array([gibbs.binned_kl(groups.sum(0) - groups[i], q) for i in range(g)])
    full = gibbs.binned_kl(groups.sum(0), q)
    # Quenouille / Tukey: theta_J = G theta - (G-1) mean(theta_-g);
    # se^2 = (G-1)/G sum (theta_-g - mean)^2.
    estimate, stderr = gibbs.jackknife_kl(groups, q)
    assert estimate == pytest.approx(g * full - (g - 1) * loo.mean(), rel=1e-12)
    assert stderr == pytest.approx(math.sqrt((g - 1) / g * ((loo - loo.mean()) ** 2).sum()),
                                   rel=1e-12)
    with pytest.raises(ValueError, match="at least two groups"):
        gibbs.jackknife_kl(groups[:1], q)


def test_overshoot_probability_equals_one_simulated_step_from_the_gibbs_law() -> None:
    # L = x^4/4 - x^3/4 (asymmetric, so each tail counts) at a step where overshooting is common.
    coeffs, beta, eta = [0.0, 0.0, 0.0, -0.25, 0.25], 0.5, 0.5
    lo, hi = gibbs.euler_overshoot_region(coeffs, eta)
    rng = np.random.default_rng(2)
    grid = np.linspace(-6.0, 6.0, 200_001)
    weights = np.exp(-beta * gibbs.potential(coeffs, grid))
    x = rng.choice(grid, size=400_000, p=weights / weights.sum())
    y = x - eta * gibbs.gradient(coeffs, x) + math.sqrt(2 * eta / beta) * rng.standard_normal(
        x.size)
    left, right = np.mean(y < lo), np.mean(y > hi)
    assert left > 0.01 and right > 0.01  # both tails matter here
    simulated = left + right
    se = math.sqrt(simulated * (1 - simulated) / x.size)
    assert gibbs.euler_overshoot_probability(coeffs, beta, eta) == pytest.approx(simulated,
                                                                                 abs=5 * se)


def test_overshoot_probability_is_zero_where_no_region_exists() -> None:
    # Quadratic L with eta L'' < 2: the Euler map contracts everywhere.
    assert gibbs.euler_overshoot_probability([0.0, 0.0, 1.0], 2.0, 0.5) == 0.0


def test_jackknife_works_from_two_groups() -> None:
    q = np.array([0.25, 0.25, 0.5])
    groups = np.array([[30, 20, 50], [22, 28, 50]])
    estimate, stderr = gibbs.jackknife_kl(groups, q)
    loo = np.array([gibbs.binned_kl(groups[1], q), gibbs.binned_kl(groups[0], q)])
    assert estimate == pytest.approx(2 * gibbs.binned_kl(groups.sum(0), q) - loo.mean())
    assert stderr == pytest.approx(math.sqrt(0.5 * ((loo - loo.mean()) ** 2).sum()))


def test_gaussian_kernel_rows_are_normalised_and_centred() -> None:
    grid = np.linspace(-3.0, 3.0, 121)
    centres = np.array([0.013, -2.96, 1.5])
    cols, vals, valid = gibbs.gaussian_kernel_rows(grid, centres, 0.1, 6.0)
    # 6 widths of 2 nodes each on either side (the ceiling of 12 + round-off may add one).
    assert cols.shape == vals.shape == valid.shape and cols.shape[1] in (25, 27)
    np.testing.assert_allclose(vals.sum(axis=1), 1.0, rtol=1e-14)
    # Inside the grid the kernel's discrete mean and variance are the Gaussian's: the trapezoid
    # rule on a Gaussian sampled at half its width errs by ~exp(-2 pi^2 4), the cut at about 6
    # widths (around the nearest node, so not quite symmetric) by ~1e-9.
    for k in (0, 2):
        mean = vals[k] @ grid[cols[k]]
        assert mean == pytest.approx(centres[k], abs=1e-9)
        assert vals[k] @ (grid[cols[k]] - mean) ** 2 == pytest.approx(0.01, rel=1e-6)
    # Near the edge the nodes off the grid get no weight.
    assert not valid[1].all() and np.all(vals[1][~valid[1]] == 0.0)


def test_stationary_vector_refuses_a_solve_that_did_not_converge() -> None:
    _, kernel = gibbs.euler_transition_matrix([0.0, 0.0, 0.5], 1.0, 0.1)
    start = np.ones(kernel.shape[0])
    p, moduli = gibbs.stationary_vector(kernel, start, n_eigenvalues=2)
    assert p.sum() == pytest.approx(1.0) and moduli[0] == pytest.approx(1.0, abs=1e-10)
    assert moduli[1] == pytest.approx(1.0 - 0.1, rel=1e-6)  # the AR(1) coefficient 1 - eta a
    with pytest.raises(ValueError, match="did not converge"):
        gibbs.stationary_vector(kernel, start, max_residual=0.0)

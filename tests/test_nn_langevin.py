"""The batched GLD step: shapes, per-row parameters, reproducibility, the noiseless limit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from companion.nn.langevin import (
    LangevinChains,
    gld_step,
    noise_scale,
    per_row,
    polynomial_gradient,
)


def test_polynomial_gradient_matches_numpy() -> None:
    coeffs = [0.3, 0.15, -0.5, 0.2, 0.25]
    x = torch.linspace(-3, 3, 101, dtype=torch.float64).reshape(1, -1)
    expected = np.polynomial.polynomial.polyval(
        x.numpy(), np.polynomial.polynomial.polyder(coeffs))
    np.testing.assert_allclose(polynomial_gradient(coeffs)(x).numpy(), expected, rtol=1e-12)
    assert torch.equal(polynomial_gradient([5.0])(x), torch.zeros_like(x))


def test_per_row_shapes() -> None:
    x = torch.zeros(3, 5, 2)
    assert per_row(torch.tensor([1.0, 2.0, 3.0]), x).shape == (3, 1, 1)
    assert per_row(0.5, x).shape == ()
    with pytest.raises(ValueError):
        per_row(torch.tensor([1.0, 2.0]), x)


def test_step_uses_each_rows_eta_and_beta() -> None:
    # With the noise drawn from the same generator state, one step equals the formula row-wise.
    x = torch.randn(3, 1000, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    eta = torch.tensor([0.01, 0.1, 0.5], dtype=torch.float64)
    beta = torch.tensor([1.0, 5.0, 100.0], dtype=torch.float64)
    grad = polynomial_gradient([0.0, 0.0, 0.5, 0.0, 0.25])
    out = gld_step(x, grad, per_row(eta, x), noise_scale(per_row(eta, x), per_row(beta, x)),
                   torch.Generator().manual_seed(7))
    xi = torch.randn(x.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    manual = x - eta[:, None] * grad(x) + torch.sqrt(2 * eta / beta)[:, None] * xi
    torch.testing.assert_close(out, manual)
    assert not torch.equal(out, x)


def test_reproducible_from_the_seed() -> None:
    def run(seed: int) -> torch.Tensor:
        chains = LangevinChains(torch.ones(2, 100), polynomial_gradient([0.0, 0.0, 1.0]),
                                eta=torch.tensor([0.1, 0.2]), beta=torch.tensor([1.0, 2.0]),
                                generator=torch.Generator().manual_seed(seed))
        for _ in range(10):
            chains.step()
        return chains.x

    assert torch.equal(run(3), run(3))
    assert not torch.equal(run(3), run(4))


def test_noiseless_limit_is_gradient_descent() -> None:
    chains = LangevinChains(torch.full((1, 4), 2.0, dtype=torch.float64),
                            polynomial_gradient([0.0, 0.0, 0.5]), eta=0.1, beta=1e30,
                            generator=torch.Generator().manual_seed(0))
    for _ in range(5):
        chains.step()
    torch.testing.assert_close(chains.x, torch.full((1, 4), 2.0 * 0.9 ** 5, dtype=torch.float64))
    assert chains.steps == 5


def test_rejects_nonpositive_parameters() -> None:
    with pytest.raises(ValueError):
        LangevinChains(torch.zeros(2, 3), polynomial_gradient([0.0, 0.0, 1.0]),
                       eta=torch.tensor([0.1, 0.0]), beta=1.0, generator=torch.Generator())


# --- mean-field Langevin dynamics ---------------------------------------------------------------

def test_mfld_step_matches_a_hand_computation() -> None:
    from companion.nn.langevin import mfld_step

    # Two particles in R^1, first-variation gradient g(theta) = theta^3 (any callable would do).
    theta = torch.tensor([[0.5], [-1.0]], dtype=torch.float64)
    eta, lam1, lam2 = 0.1, 0.2, 0.05
    gen = torch.Generator().manual_seed(3)
    xi = torch.randn(theta.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    out = mfld_step(theta, lambda t: t**3, eta, lam1, lam2, gen)
    # 0.5 - 0.1 (0.125 + 2 * 0.2 * 0.5) + sqrt(2 * 0.1 * 0.05) xi = 0.4675 + 0.1 xi
    expected = torch.tensor([[0.4675], [-1.0 - 0.1 * (-1.0 - 0.4)]], dtype=torch.float64)
    np.testing.assert_allclose(out.numpy(), (expected + 0.1 * xi).numpy(), rtol=1e-12)
    assert torch.equal(theta, torch.tensor([[0.5], [-1.0]], dtype=torch.float64))
    # lam2 = 0 is noiseless mean-field gradient descent.
    quiet = mfld_step(theta, lambda t: t**3, eta, lam1, 0.0, gen)
    np.testing.assert_allclose(quiet.numpy(), expected.numpy(), rtol=1e-12)
    with pytest.raises(ValueError):
        mfld_step(theta, lambda t: t, eta, lam1, -1.0, gen)


def test_tanh_mean_field_gradient_is_n_times_the_particle_gradient() -> None:
    from companion.nn.langevin import TanhMeanFieldNet
    from companion.nn.losses import logistic, logistic_grad

    g = torch.Generator().manual_seed(0)
    n, d, n_particles = 7, 4, 5
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.sign(torch.randn(n, generator=g, dtype=torch.float64))
    theta = torch.randn(n_particles, d + 2, generator=g, dtype=torch.float64).requires_grad_()
    net = TanhMeanFieldNet(scale=3.0)
    loss = logistic(net.output(theta, x), y)
    (autograd,) = torch.autograd.grad(loss, theta)
    with torch.no_grad():
        closed = net.first_variation_grad(theta, x, logistic_grad(net.output(theta, x), y))
    # The first variation's gradient at a particle is N times d(loss)/d(particle).
    np.testing.assert_allclose(closed.numpy(), n_particles * autograd.numpy(), rtol=1e-10)


def test_svrg_gradient_is_unbiased_and_exact_at_the_anchor() -> None:
    from companion.nn.langevin import svrg_gradient

    g = torch.Generator().manual_seed(1)
    n, p = 6, 3
    a = torch.randn(n, p, generator=g, dtype=torch.float64)
    b = torch.randn(n, generator=g, dtype=torch.float64)

    def batch_grad(theta: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        # Samples l_i(theta) = (a_i . theta - b_i)^4 / 4: a nonlinear gradient, so unbiasedness is
        # not an accident of linearity.
        r = a[idx] @ theta - b[idx]
        return (r**3)[:, None].mul(a[idx]).mean(dim=0)

    theta = torch.randn(p, generator=g, dtype=torch.float64)
    anchor = torch.randn(p, generator=g, dtype=torch.float64)
    full = batch_grad(theta, torch.arange(n))
    anchor_full = batch_grad(anchor, torch.arange(n))
    # The mean over every single-sample batch is the full gradient (an exact expectation).
    estimates = torch.stack([svrg_gradient(batch_grad, theta, anchor, anchor_full,
                                           torch.tensor([i])) for i in range(n)])
    np.testing.assert_allclose(estimates.mean(dim=0).numpy(), full.numpy(), rtol=1e-12)
    assert not torch.allclose(estimates[0], full)  # one batch alone is noisy
    # At the anchor every batch gives the full gradient: the variance is gone.
    at_anchor = svrg_gradient(batch_grad, anchor, anchor, anchor_full, torch.tensor([2]))
    np.testing.assert_allclose(at_anchor.numpy(), anchor_full.numpy(), rtol=1e-12)


def _quadratic_problem():
    g = torch.Generator().manual_seed(3)
    n, n_particles, p = 8, 5, 2
    a = torch.randn(n, p, generator=g, dtype=torch.float64)

    def batch_grad(theta: torch.Tensor, idx: torch.Tensor | None) -> torch.Tensor:
        # Particle j's gradient mean_i (a_i . theta_j - 1) a_i: depends on the batch, not linear
        # in it through the particles' mean (enough to tell the variants apart).
        rows = a if idx is None else a[idx]
        r = theta @ rows.T - 1.0 + theta.mean()
        return (r @ rows) / rows.shape[0]

    theta0 = torch.randn(n_particles, p, generator=g, dtype=torch.float64)
    return n, batch_grad, theta0


def _run(variant: str, batch: int, inner: int, lam2: float = 0.0, steps: int = 6):
    from companion.nn.langevin import mfld_run

    n, batch_grad, theta0 = _quadratic_problem()
    seen: list[tuple[int, int]] = []
    out = mfld_run(theta0, batch_grad, n, variant, steps, 0.1, 0.05, lam2,
                   torch.Generator().manual_seed(0), batch, inner, 2,
                   lambda step, evals, th: seen.append((step, evals)))
    return out, seen, batch_grad, theta0


def test_mfld_run_full_batch_is_regularised_gradient_descent_without_noise() -> None:
    out, seen, batch_grad, theta = _run("full", 8, 1)
    for _ in range(6):
        theta = theta - 0.1 * (batch_grad(theta, None) + 2 * 0.05 * theta)
    np.testing.assert_allclose(out.numpy(), theta.numpy(), rtol=1e-12)
    assert seen == [(0, 0), (2, 16), (4, 32), (6, 48)]


def test_mfld_run_stochastic_variants_reduce_to_full_batch() -> None:
    full, *_ = _run("full", 8, 1)
    # A batch of all samples, and an anchor refreshed every step, give the full gradient.
    sgd_all, seen_sgd, *_ = _run("sgd", 8, 1)
    svrg_every, seen_svrg, *_ = _run("svrg", 2, 1)
    np.testing.assert_allclose(sgd_all.numpy(), full.numpy(), rtol=1e-10)
    np.testing.assert_allclose(svrg_every.numpy(), full.numpy(), rtol=1e-10)
    # Evaluation counts: b a step for SGD; n per anchor plus 2b a step for SVRG.
    assert seen_sgd[-1] == (6, 48)
    assert seen_svrg[-1] == (6, 6 * (8 + 4))
    _, seen_svrg3, *_ = _run("svrg", 2, 3)
    assert seen_svrg3[-1] == (6, 2 * 8 + 6 * 4)
    sgd_small, *_ = _run("sgd", 2, 1)
    assert not torch.allclose(sgd_small, full)


def test_mfld_run_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="unknown MFLD variant"):
        _run("adam", 2, 1)
    with pytest.raises(ValueError, match="batch_size"):
        _run("sgd", 9, 1)


def test_polynomial2d_gradient_matches_numpy() -> None:
    from companion.nn.langevin import polynomial2d_gradient
    from companion.theory import gibbs2d

    coeffs = [[0.0, 0.04, -0.5, 0.0, 0.25], [0.1, -0.03, 0.0], [-0.5, 0.2], [0.0], [0.25]]
    width = max(len(r) for r in coeffs)
    square = [list(r) + [0.0] * (width - len(r)) for r in coeffs]
    state = torch.tensor(np.random.default_rng(0).normal(size=(3, 5, 2)), dtype=torch.float64)
    got = polynomial2d_gradient(square)(state).numpy()
    gx, gy = gibbs2d.gradient(square, state[..., 0].numpy(), state[..., 1].numpy())
    np.testing.assert_allclose(got[..., 0], gx, rtol=1e-12)
    np.testing.assert_allclose(got[..., 1], gy, rtol=1e-12)


def test_tanh_mean_field_systems_are_independent_nets_in_one_tensor() -> None:
    from companion.nn.langevin import TanhMeanFieldNet, TanhMeanFieldSystems
    from companion.nn.losses import squared_grad

    g = torch.Generator().manual_seed(4)
    n, d, sizes, replicas = 9, 3, (2, 5, 3), 4
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.randn(n, generator=g, dtype=torch.float64)
    theta = torch.randn(replicas, sum(sizes), d + 2, generator=g, dtype=torch.float64)
    systems = TanhMeanFieldSystems(3.0, sizes)
    net = TanhMeanFieldNet(3.0)
    x1 = systems.with_ones(x)
    out = systems.output(theta, x1)
    grad = systems.squared_loss_grad(theta, x1, y)
    assert out.shape == (replicas, n, len(sizes)) and grad.shape == theta.shape
    # Each (replica, system) block is the single net of its own rows, nothing shared.
    for r in range(replicas):
        for k, s in enumerate(systems.slices):
            z = theta[r, s]
            f = net.output(z, x)
            np.testing.assert_allclose(out[r, :, k].numpy(), f.numpy(), rtol=1e-12)
            np.testing.assert_allclose(grad[r, s].numpy(),
                                       net.first_variation_grad(z, x, squared_grad(f, y)).numpy(),
                                       rtol=1e-10, atol=1e-14)
    with pytest.raises(ValueError, match="at least one system"):
        TanhMeanFieldSystems(1.0, [3, 0])


def test_tanh_mean_field_net_batches_and_zero_padding_are_exact() -> None:
    from companion.nn.langevin import TanhMeanFieldNet
    from companion.nn.losses import logistic_grad

    g = torch.Generator().manual_seed(2)
    net = TanhMeanFieldNet(scale=2.0)
    n, n_particles, dims = 6, 4, (3, 5)
    xs = [torch.randn(n, d, generator=g, dtype=torch.float64) for d in dims]
    y = torch.sign(torch.randn(n, generator=g, dtype=torch.float64))
    thetas = [torch.randn(n_particles, d + 2, generator=g, dtype=torch.float64) for d in dims]
    # Pad the d = 3 net to d = 5 with zero inputs and arbitrary (here nonzero) spare weights.
    xb = torch.zeros(2, n, 5, dtype=torch.float64)
    tb = torch.randn(2, n_particles, 7, generator=g, dtype=torch.float64)
    for b, (x, th) in enumerate(zip(xs, thetas, strict=True)):
        d = x.shape[1]
        xb[b, :, :d] = x
        tb[b, :, :d], tb[b, :, -2:] = th[:, :d], th[:, -2:]
    f, grad = net.output_and_first_variation_grad(tb, xb, lambda out: logistic_grad(out, y))
    for b, (x, th) in enumerate(zip(xs, thetas, strict=True)):
        d = x.shape[1]
        alone = net.output(th, x)
        np.testing.assert_allclose(f[b].numpy(), alone.numpy(), rtol=1e-12)
        want = net.first_variation_grad(th, x, logistic_grad(alone, y))
        np.testing.assert_allclose(grad[b, :, :d].numpy(), want[:, :d].numpy(), rtol=1e-12)
        np.testing.assert_allclose(grad[b, :, -2:].numpy(), want[:, -2:].numpy(), rtol=1e-12)
        # The spare coordinates of a padded net get no loss gradient.
        assert torch.all(grad[b, :, d:5] == 0)

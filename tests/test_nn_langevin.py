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

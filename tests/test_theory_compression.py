"""Degrees of freedom and spectral pruning: known spectra, exact reconstruction of a layer with
duplicated units, the greedy residual against the closed-form reconstruction error."""

from __future__ import annotations

import numpy as np
import pytest

from companion import relu_net
from companion.experiments import compression as b4
from companion.theory import compression as cp


def test_degrees_of_freedom_of_known_spectra() -> None:
    assert cp.degrees_of_freedom([1.0, 1.0, 1.0], 1.0) == pytest.approx(1.5)
    assert cp.degrees_of_freedom([4.0, 0.0], 4.0) == pytest.approx(0.5)
    # Far below the eigenvalues N(lambda) counts them; far above it vanishes.
    assert cp.degrees_of_freedom([5.0, 3.0, 1.0], 1e-9) == pytest.approx(3.0)
    assert cp.degrees_of_freedom([5.0, 3.0, 1.0], 1e9) < 1e-8
    assert cp.compressed_size([5.0, 3.0, 1.0], 1e-9) == 3
    assert cp.compressed_size([1e-3], 1.0) == 1


def test_greedy_selection_lowers_the_closed_form_error_and_keeps_the_best_first_unit() -> None:
    rng = np.random.default_rng(0)
    h = rng.standard_normal((400, 6)) * np.array([3.0, 1.0, 1.0, 0.5, 0.2, 0.1])
    sigma = cp.covariance(h)
    lam = 0.01
    errors = [cp.reconstruction_error(sigma, cp.spectral_prune(sigma, k, lam)[0], lam)
              for k in range(1, 7)]
    assert all(a > b for a, b in zip(errors, errors[1:], strict=False))
    first = cp.spectral_prune(sigma, 1, lam)[0][0]
    singles = [cp.reconstruction_error(sigma, [j], lam) for j in range(6)]
    assert first == int(np.argmin(singles))


def test_pruning_a_layer_of_duplicated_units_keeps_the_function_exactly() -> None:
    rng = np.random.default_rng(1)
    d, half = 5, 7
    v = rng.standard_normal((half, d))
    u = rng.standard_normal((1, half))
    # Every unit twice; the output weights split between the copies: the same function.
    layers = [np.vstack([v, v]), np.hstack([u, u]) / 2]
    x = rng.standard_normal((300, d))
    # lambda far above round-off (1e-15) and far below the distinct units' eigenvalues.
    result = b4.prune_network(layers, x, lam_rel=1e-9)
    assert result["kept"] == [half]  # N(lambda) counts the distinct units
    np.testing.assert_allclose(relu_net.outputs(result["layers"], x), relu_net.outputs(layers, x),
                               atol=1e-6)
    kept_rows = result["layers"][0]
    assert len({tuple(np.round(r, 9)) for r in kept_rows}) == half  # one copy of each


def test_pruning_to_fewer_units_than_the_rank_changes_the_function() -> None:
    rng = np.random.default_rng(2)
    layers = [rng.standard_normal((12, 6)), rng.standard_normal((1, 12))]
    x = rng.standard_normal((300, 6))
    result = b4.prune_network(layers, x, lam_rel=1e-12, sizes=[3])
    gap = np.abs(relu_net.outputs(result["layers"], x) - relu_net.outputs(layers, x)).mean()
    assert gap > 1e-2


def test_relu_net_matches_torch_modules_of_the_ensemble() -> None:
    torch = pytest.importorskip("torch")
    from companion.nn.ensemble import MLPEnsemble

    model = MLPEnsemble(4, [6, 6], depth=2, parameterisation="standard", seed=3,
                        dtype=torch.float64)
    x = np.random.default_rng(3).standard_normal((10, 4))
    for e in range(2):
        layers = [w.numpy() for w, _ in model.effective_layers(e)]
        expected = model(torch.as_tensor(x))[e].detach().numpy()
        np.testing.assert_allclose(relu_net.outputs(layers, x), expected, rtol=1e-10)


def test_balanced_lambda_solves_the_balance_on_a_flat_spectrum_in_closed_form() -> None:
    # p_j = 1/m: N(r) = m / (1 + m r), and r = fan N(r) / n is m r^2 + r - fan m / n = 0.
    m, fan, n = 16, 20.0, 1000
    r = cp.balanced_lambda(np.full(m, 3.0), fan, n)
    assert r == pytest.approx((-1 + np.sqrt(1 + 4 * m * m * fan / n)) / (2 * m), rel=1e-10)
    assert np.sqrt(r) == pytest.approx(np.sqrt(fan * cp.relative_dof(np.full(m, 3.0), r) / n))


def test_balanced_lambda_falls_with_n_and_rises_with_the_fan_in() -> None:
    s = 1.0 / np.arange(1, 65) ** 2  # eigenvalues decaying as j^-2, N(r) ~ r^(-1/2)
    rs = [cp.balanced_lambda(s, 10.0, n) for n in (100, 1000, 10000)]
    assert rs[0] > rs[1] > rs[2]
    for n, r in zip((100, 1000, 10000), rs, strict=True):
        assert r == pytest.approx(10.0 * cp.relative_dof(s, r) / n, rel=1e-9)
    assert cp.balanced_lambda(s, 40.0, 1000) > rs[1]
    # The scale of a layer drops out.
    assert cp.balanced_lambda(7.0 * s, 10.0, 1000) == pytest.approx(rs[1], rel=1e-10)
    # With r ~ N(r) fan / n and N(r) ~ c r^(-1/2), r ~ (c fan / n)^(2/3): a tenfold n gives
    # about a 10^(2/3) smaller r once N(r) is in its power-law range.
    assert rs[1] / rs[2] == pytest.approx(10 ** (2 / 3), rel=0.15)


def test_balanced_lambda_edge_cases() -> None:
    assert cp.balanced_lambda(np.zeros(5), 3.0, 100) == 0.0
    assert cp.relative_dof(np.zeros(5), 0.1) == 0.0
    with pytest.raises(ValueError, match="positive"):
        cp.balanced_lambda(np.ones(3), 0.0, 100)
    # One live unit: N(r) = 1 / (1 + r), r (1 + r) = fan / n.
    r = cp.balanced_lambda([2.0, 0.0, 0.0], 5.0, 100)
    assert r * (1 + r) == pytest.approx(0.05, rel=1e-10)


def test_bound_terms_count_the_weights_of_the_compressed_net() -> None:
    bias, est = cp.bound_terms([0.01, 0.04], [5, 3], d=10, n=200)
    assert bias == pytest.approx(0.1 + 0.2)
    assert est == pytest.approx(np.sqrt((10 * 5 + 5 * 3 + 3 * 1) / 200))


def test_compressed_size_at_and_just_above_a_whole_number_of_degrees_of_freedom() -> None:
    # N(lambda) = 4 / 2 = 2 exactly: two units suffice; a hair more needs a third.
    assert cp.degrees_of_freedom([1.0, 1.0, 1.0, 1.0], 1.0) == 2.0
    assert cp.compressed_size([1.0, 1.0, 1.0, 1.0], 1.0) == 2
    assert cp.compressed_size([1.0, 1.0, 1.0, 1.0], 0.999) == 3


def _scaled_units(rng: np.random.Generator) -> np.ndarray:
    # The strongest units are not first in index order, so a selection in index order fails;
    # unit 3 follows unit 1, so the best next unit depends on those kept.
    h = rng.standard_normal((500, 6)) * np.array([0.2, 3.0, 0.5, 1.0, 0.1, 2.0])
    h[:, 3] += 0.8 * h[:, 1]
    return h


def _anticorrelated_units(rng: np.random.Generator) -> np.ndarray:
    # Unit 0 has the largest variance, but unit 1 explains units 2 and 3 (its negatives) too: a
    # gain that let negative covariances cancel would pick unit 0 first.
    w, z = rng.standard_normal((2, 500))
    e = 0.1 * rng.standard_normal((2, 500))
    return np.stack([1.5 * w, z, -z + e[0], -z + e[1]], axis=1)


@pytest.mark.parametrize("units", [_scaled_units, _anticorrelated_units])
def test_every_greedy_step_takes_the_unit_that_lowers_the_error_most(units) -> None:
    sigma = cp.covariance(units(np.random.default_rng(3)))
    m = sigma.shape[0]
    lam = 0.05
    chosen = list(cp.spectral_prune(sigma, m - 1, lam)[0])
    for k in range(m - 1):
        rest = [j for j in range(m) if j not in chosen[:k]]
        errors = {j: cp.reconstruction_error(sigma, chosen[:k] + [j], lam) for j in rest}
        assert chosen[k] == min(errors, key=errors.get), (k, chosen, errors)


def test_units_already_reconstructed_exactly_are_still_kept_when_asked_for() -> None:
    # Two identical units: after the first, the second's residual variance is exactly 0 (no gain
    # to rank by); asked for both, the selection still returns each unit once.
    sigma = np.array([[1.0, 1.0], [1.0, 1.0]])
    subset, recon = cp.spectral_prune(sigma, 2, 0.0)
    assert sorted(subset.tolist()) == [0, 1]
    np.testing.assert_allclose(recon @ sigma[subset, :], sigma, atol=1e-12)

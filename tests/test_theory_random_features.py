"""The harmonic expansion of a ReLU neuron on the sphere and the random-feature floor."""

from __future__ import annotations

import math

import numpy as np
import pytest

from companion.theory import random_features as rf
from companion.theory.ntk import harmonic_dimension


def test_circle_energies_match_the_fourier_series_of_the_clipped_cosine() -> None:
    # max(cos th, 0) = 1/pi + cos(th)/2 + sum_{k>=2} -2 cos(k pi/2) / (pi (k^2 - 1)) cos(k th).
    k = np.arange(2, 12)
    c = np.concatenate([[1 / math.pi, 0.5], -2 * np.cos(k * math.pi / 2) / (math.pi * (k**2 - 1))])
    expected = np.concatenate([[c[0] ** 2], c[1:] ** 2 / 2])
    np.testing.assert_allclose(rf.relu_harmonic_energies(2, 11), expected, atol=1e-14)


@pytest.mark.parametrize("d", [2, 3, 5, 16])
def test_energies_sum_to_the_norm_and_odd_degrees_vanish(d: int) -> None:
    e = rf.relu_harmonic_energies(d, 120)
    assert e.sum() == pytest.approx(rf.relu_norm2(d), rel=2e-3)
    assert np.all(e[3::2] < 1e-12 * e[0])
    assert e[1] == pytest.approx(1 / (4 * d), rel=1e-10)  # E[relu(t) t]^2 d = d (1/(2d))^2


def test_monte_carlo_energy_of_degree_two() -> None:
    d, n = 5, 400_000
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    t = x[:, 0]
    from companion.theory.ntk import legendre

    a2 = np.mean(np.maximum(t, 0) * legendre(d, 2, t))
    mc = harmonic_dimension(d, 2) * a2**2
    assert mc == pytest.approx(rf.relu_harmonic_energies(d, 2)[2], rel=0.02)


def test_degree_capacity_and_floor() -> None:
    assert rf.degree_capacity(8, 1) == 0
    assert rf.degree_capacity(8, 8) == 0 and rf.degree_capacity(8, 9) == 1
    assert rf.degree_capacity(2, 7) == 3  # 1 + 2 + 2 + 2
    floors = [rf.random_feature_floor(d, 128) for d in (2, 4, 8, 16, 32)]
    assert all(b > a for a, b in zip(floors, floors[1:], strict=False))
    # In d = 32, 32 features are one short of the 1 + 32 harmonics of degree <= 1: only the
    # constant is captured.
    e0 = rf.relu_harmonic_energies(32, 0)[0]
    assert rf.random_feature_floor(32, 32) == pytest.approx(1 - e0 / rf.relu_norm2(32))
    assert rf.random_feature_floor(32, 33) < rf.random_feature_floor(32, 32) - 0.4

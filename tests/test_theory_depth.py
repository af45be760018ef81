"""The sawtooth construction and the exact region counter against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from companion.nn import regions
from companion.theory import depth


@pytest.mark.parametrize("L", [1, 2, 3, 5, 8, 12, 16, 18])
def test_sawtooth_has_exactly_two_to_the_L_pieces(L: int) -> None:
    layers = depth.tent_layers(L)
    n_regions, n_pieces = regions.count_line_pieces(layers, np.zeros(1), np.ones(1), 0.0, 1.0)
    assert n_pieces == depth.sawtooth_pieces(L) == 2**L
    assert n_regions == 2**L
    knots, slope, intercept = regions.line_intervals(layers, np.zeros(1), np.ones(1), 0.0, 1.0)
    # Knots at k 2^-L, slopes alternating +-2^L: the closed form of T^L.
    np.testing.assert_array_equal(knots, np.arange(2**L + 1) / 2**L)
    np.testing.assert_array_equal(np.abs(slope), 2.0**L)
    assert np.all(slope[::2] > 0) and np.all(slope[1::2] < 0)


def test_tent_layers_compute_the_tent_power() -> None:
    x = np.linspace(0, 1, 1001)
    for L in (1, 4, 7):
        h = x[:, None]
        layers = depth.tent_layers(L)
        for w, b in layers[:-1]:
            h = np.maximum(h @ w.T + b, 0)
        w, b = layers[-1]
        np.testing.assert_allclose((h @ w.T + b)[:, 0], depth.tent_power(x, L), atol=1e-12)


def test_counter_finds_closed_form_breakpoints_a_grid_would_miss() -> None:
    # f(x) = sum_j a_j relu(x - c_j): breakpoints exactly at the c_j, two of them 1e-9 apart.
    c = np.array([-0.7, -0.2, 0.1, 0.1 + 1e-9, 0.55])
    a = np.array([1.0, -2.0, 1.5, 3.0, -0.5])
    layers = [(np.ones((5, 1)), -c), (a[None, :], np.zeros(1))]
    knots, slope, _ = regions.line_intervals(layers, np.zeros(1), np.ones(1), -1.0, 1.0)
    np.testing.assert_allclose(knots[1:-1], np.sort(c), atol=1e-15)
    np.testing.assert_allclose(slope, np.concatenate([[0.0], np.cumsum(a)]), atol=1e-12)
    assert regions.count_line_pieces(layers, np.zeros(1), np.ones(1), -1.0, 1.0) == (6, 6)
    # A unit whose output weight is 0 changes the pattern but not the function.
    a0 = a.copy()
    a0[2] = 0.0
    layers0 = [layers[0], (a0[None, :], np.zeros(1))]
    assert regions.count_line_pieces(layers0, np.zeros(1), np.ones(1), -1.0, 1.0) == (6, 5)


def test_counter_on_a_line_in_higher_dimension() -> None:
    # relu(<w_j, x> + b_j) along x = p + t v breaks where <w_j, p + t v> + b_j = 0.
    rng = np.random.default_rng(0)
    w, b = rng.standard_normal((6, 3)), rng.standard_normal(6)
    p, v = rng.standard_normal(3), rng.standard_normal(3)
    roots = -(w @ p + b) / (w @ v)
    inside = np.sort(roots[np.abs(roots) < 2.0])
    layers = [(w, b), (rng.standard_normal((1, 6)), np.zeros(1))]
    knots, _, _ = regions.line_intervals(layers, p, v, -2.0, 2.0)
    np.testing.assert_allclose(knots[1:-1], inside, rtol=1e-12)


def test_slice_patterns_of_axis_aligned_units() -> None:
    # Units relu(x_1 - c) for c in {-0.5, 0, 0.5} and relu(x_2): 4 x 2 = 8 regions in the square.
    w = np.array([[1.0, 0], [1.0, 0], [1.0, 0], [0, 1.0]])
    b = np.array([0.5, 0.0, -0.5, 0.0])
    layers = [(w, b), (np.ones((1, 4)), np.zeros(1))]
    count = regions.count_slice_regions(layers, np.zeros(2), np.array([1.0, 0]),
                                        np.array([0, 1.0]), 1.0, 101)
    assert count == 8


def test_width_for_params_and_shallow_bounds() -> None:
    assert depth.relu_net_params(4, 10, 1) == 4 * 10 + 10 + 10 + 1
    assert depth.relu_net_params(4, 10, 3) == 61 + 2 * 110
    for L in (1, 3, 8):
        n = depth.width_for_params(4, L, 3000)
        assert depth.relu_net_params(4, n, L) <= 3000 < depth.relu_net_params(4, n + 1, L)
    assert depth.shallow_max_pieces(7) == 8 == depth.sawtooth_pieces(3)
    assert depth.shallow_width_for_sawtooth(3) == 7

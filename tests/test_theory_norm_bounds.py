"""Each generalisation bound of the lecture's table on matrices whose norms are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from companion.theory import norm_bounds as nb


def test_norms_of_known_matrices() -> None:
    w = np.diag([3.0, 4.0])  # singular values 3, 4; rows of norm 3 and 4
    assert nb.spectral_norm(w) == pytest.approx(4.0)
    assert nb.frobenius_norm(w) == pytest.approx(5.0)
    assert nb.two_one_norm(w) == pytest.approx(7.0)
    rank_one = np.outer([1.0, 2.0, 2.0], [0.6, 0.8])  # ||u|| = 3, ||v|| = 1
    assert nb.spectral_norm(rank_one) == pytest.approx(3.0)
    assert nb.frobenius_norm(rank_one) == pytest.approx(3.0)
    assert nb.two_one_norm(rank_one) == pytest.approx(5.0)  # rows of norm 1, 2, 2


def _net(width: int, d: int = 4) -> list[np.ndarray]:
    """A net whose first layer is a scaled partial isometry and second a constant row: every
    norm is known in closed form."""
    w1 = np.zeros((width, d))
    w1[np.arange(width), np.arange(width) % d] = 2.0  # each row one entry 2
    w2 = np.full((1, width), 1.0 / width)
    return [w1, w2]


def test_bounds_on_a_net_with_known_norms() -> None:
    width, d, n, margin = 8, 4, 100, 0.5
    layers = _net(width, d)
    # W1: columns each hold width/d entries of 2, so W1^T W1 = 4 (width/d) I: ||W1||_2 = 2 sqrt(2),
    # ||W1||_F = 2 sqrt(8), ||W1^T||_{2,1} = 8 * 2; W2: all three norms 1/sqrt(8).
    s1, f1, t1 = 2 * math.sqrt(2), 2 * math.sqrt(8), 16.0
    s2 = f2 = t2 = 1 / math.sqrt(8)
    spectral = s1 * s2 * ((t1 / s1) ** (2 / 3) + (t2 / s2) ** (2 / 3)) ** 1.5 / (margin * 10)
    assert nb.bartlett_spectral_bound(layers, n, margin) == pytest.approx(spectral)
    pac = s1 * s2 * math.sqrt(4 * width * ((f1 / s1) ** 2 + (f2 / s2) ** 2) / n) / margin
    assert nb.neyshabur_pac_bayes_bound(layers, n, margin) == pytest.approx(pac)
    frob = f1 * f2 * min(n ** -0.25, math.sqrt(2 / n)) / margin
    assert nb.golowich_frobenius_bound(layers, n, margin) == pytest.approx(frob)
    p = width * d + width
    assert nb.parameter_count(layers) == p
    assert nb.vc_bound(layers, n) == pytest.approx(math.sqrt(p * 2 * math.log(p) / n))


def test_margin_normalised_bounds_are_invariant_to_rescaling_a_relu_net() -> None:
    rng = np.random.default_rng(0)
    layers = [rng.standard_normal((16, 5)), rng.standard_normal((1, 16))]
    base = nb.all_bounds(layers, 200, 1.0)
    # ReLU is positively homogeneous: scaling W1 by 3 and W2 by 2 scales f, hence the margin, by 6.
    scaled = nb.all_bounds([3 * layers[0], 2 * layers[1]], 200, 6.0)
    for name in ("spectral", "pac_bayes", "frobenius"):
        assert scaled[name] == pytest.approx(base[name]), name
    assert scaled["vc"] == base["vc"]


def test_only_the_vc_bound_and_pac_bayes_see_the_width_explicitly() -> None:
    # Duplicating every unit (halving the output weights) leaves the function and the margin
    # unchanged; ||W1||_F grows by sqrt(2) and ||W2||_F falls by sqrt(2), so their product stays.
    rng = np.random.default_rng(1)
    w1, w2 = rng.standard_normal((6, 3)), rng.standard_normal((1, 6))
    wide = [np.vstack([w1, w1]), np.hstack([w2, w2]) / 2]
    a, b = nb.all_bounds([w1, w2], 50, 1.0), nb.all_bounds(wide, 50, 1.0)
    assert b["frobenius"] == pytest.approx(a["frobenius"])
    assert b["vc"] > a["vc"]
    assert b["pac_bayes"] > a["pac_bayes"]


def test_lipschitz_and_sparsity_factors_of_a_known_net() -> None:
    layers = _net(8, 4)
    # ||W1||_2 = 2 sqrt(2), ||W2||_2 = 1/sqrt(8): the product is 1.
    assert nb.lipschitz_constant(layers) == pytest.approx(1.0)
    # R_{2->1}/R_2 = 16 / (2 sqrt 2) = 4 sqrt 2 for W1 and 1 for the single row W2.
    assert nb.sparsity_factor(layers) == pytest.approx(((4 * math.sqrt(2)) ** (2 / 3) + 1) ** 1.5)
    # The spectral bound is their product over gamma sqrt(n).
    assert nb.bartlett_spectral_bound(layers, 100, 0.5) == pytest.approx(
        nb.lipschitz_constant(layers) * nb.sparsity_factor(layers) / (0.5 * 10))


def test_sparsity_factor_of_a_dense_layer_grows_like_the_square_root_of_its_width() -> None:
    # m equal rows in one direction: R_2 = R_F = sqrt(m), R_{2->1} = m, a ratio sqrt(m); a single
    # nonzero row (the sparsest layer) has ratio 1 at any width.
    for m in (4, 64, 1024):
        dense = [np.ones((m, 1)) @ np.array([[1.0, 0.0]]), np.ones((1, m)) / m]
        assert nb.sparsity_factor(dense) == pytest.approx((m ** (1 / 3) + 1) ** 1.5)
        sparse = np.zeros((m, 2))
        sparse[0, 0] = 1.0
        assert nb.sparsity_factor([sparse, np.ones((1, m))]) == pytest.approx(2 ** 1.5)

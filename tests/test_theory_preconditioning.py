"""Preconditioned interpolators: they interpolate, plain gradient descent's is the minimum-norm
one, natural gradient's variance is the inverse-Wishart trace and the smallest for every X."""

from __future__ import annotations

import numpy as np
import pytest

from companion.theory import double_descent as dd
from companion.theory import preconditioning as pc


def _data(rng, b=3, n=8, d=20, condition=10.0):
    s = condition ** (-np.arange(d) / (d - 1))
    return rng.standard_normal((b, n, d)) * np.sqrt(s), s


def test_interpolators_interpolate_and_gd_is_the_pseudo_inverse() -> None:
    rng = np.random.default_rng(0)
    x, s = _data(rng)
    for p in (np.ones_like(s), 1 / s, pc.additive_family(s, 0.3)):
        m = pc.interpolator_map(x, p)
        np.testing.assert_allclose(x @ m, np.broadcast_to(np.eye(8), (3, 8, 8)), atol=1e-10)
    m_gd = pc.interpolator_map(x, np.ones_like(s))
    for k in range(3):
        np.testing.assert_allclose(m_gd[k], np.linalg.pinv(x[k]), atol=1e-10)


def test_natural_gradient_variance_is_the_inverse_wishart_trace_and_smallest() -> None:
    rng = np.random.default_rng(1)
    x, s = _data(rng, b=400, n=10, d=25)
    beta = rng.standard_normal((400, 25))
    _, v_ngd = pc.bias_variance(x, 1 / s, s, beta, 0.5)
    z = x / np.sqrt(s)
    np.testing.assert_allclose(v_ngd, 0.5 * np.trace(np.linalg.inv(z @ np.swapaxes(z, 1, 2)),
                                                     axis1=1, axis2=2), rtol=1e-9)
    assert v_ngd.mean() == pytest.approx(dd.minnorm_variance_finite(10, 25.0, 0.5), rel=0.1)
    for p in (np.ones_like(s), pc.geometric_family(s, 0.5), rng.uniform(0.1, 10, 25)):
        _, v = pc.bias_variance(x, p, s, beta, 0.5)
        assert np.all(v >= v_ngd * (1 - 1e-10))  # for every X, not only on average


def test_bias_is_zero_for_a_target_in_the_row_space_and_families_meet_at_the_ends() -> None:
    rng = np.random.default_rng(2)
    x, s = _data(rng, b=2)
    beta = np.einsum("bnd,bn->bd", x, rng.standard_normal((2, 8)))  # GD's interpolator is exact
    bias, _ = pc.bias_variance(x, np.ones_like(s), s, beta, 1.0)
    np.testing.assert_allclose(bias, 0.0, atol=1e-18)
    np.testing.assert_allclose(pc.geometric_family(s, 0.0), pc.additive_family(s, 0.0))
    np.testing.assert_allclose(pc.geometric_family(s, 1.0), pc.additive_family(s, 1.0))
    assert pc.ngd_variance_limit(3.0, 0.5) == pytest.approx(0.25)

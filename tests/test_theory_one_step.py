"""Hermite moments by quadrature against closed forms, the spike limits, the bulk edge."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from companion.theory import one_step


def _gauss_quad(fn) -> float:
    dens = lambda z: fn(z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    return integrate.quad(dens, -np.inf, np.inf, epsabs=1e-14, epsrel=1e-13)[0]


def test_erf_moments_match_closed_forms():
    m = one_step.moments("erf")
    # E[z erf(z)] = E[erf'(z)] = (2/sqrt(pi)) E[exp(-z^2)] = 2 / sqrt(3 pi);
    # E[erf(z)^2] = (2/pi) arcsin(2/3) (the arcsine kernel at equal inputs).
    assert m.mean == pytest.approx(0.0, abs=1e-14)
    assert m.mu1 == pytest.approx(2.0 / math.sqrt(3.0 * math.pi), rel=1e-12)
    assert m.second == pytest.approx(2.0 / math.pi * math.asin(2.0 / 3.0), rel=1e-12)
    assert m.nonlinear == pytest.approx(m.second - m.mu1**2, rel=1e-12)


def test_tanh_moments_match_adaptive_quadrature():
    m = one_step.moments("tanh")
    assert m.mean == pytest.approx(0.0, abs=1e-14)
    assert m.mu1 == pytest.approx(_gauss_quad(lambda z: z * math.tanh(z)), rel=1e-10)
    # Stein's lemma: E[z tanh(z)] = E[1 - tanh(z)^2].
    assert m.mu1 == pytest.approx(1.0 - m.second, rel=1e-10)
    assert m.second == pytest.approx(_gauss_quad(lambda z: math.tanh(z) ** 2), rel=1e-10)


def test_limits_at_the_catalog_example():
    # d -> inf at psi1 = 3, psi2 = 1.5, tanh/tanh, eta = 6: the limits the catalog quotes.
    t1, t2 = one_step.thetas(6.0, "tanh", "tanh", 3.0)
    assert float(one_step.alignment_limit(t1, t2, 1.5)) == pytest.approx(0.617, abs=5e-4)
    assert float(one_step.sigma1_limit(t1, 1.5)) == pytest.approx(3.05, abs=5e-3)


@pytest.mark.parametrize("psi2", [0.5, 1.0, 1.5, 4.0])
def test_limits_are_continuous_at_the_threshold(psi2: float):
    # At theta1 = psi2^{1/4} the outlier meets the bulk edge and the alignment reaches 0: the
    # formulas above the threshold must join the ones below it.
    t = one_step.threshold(psi2)
    above = t * (1 + 1e-9)
    assert float(one_step.sigma1_limit(above, psi2)) == pytest.approx(one_step.mp_edge(psi2),
                                                                       rel=1e-7)
    assert float(one_step.alignment_limit(above, 0.7 * above, psi2)) == pytest.approx(0.0,
                                                                                       abs=1e-7)
    below = t * 0.9
    assert float(one_step.sigma1_limit(below, psi2)) == one_step.mp_edge(psi2)
    assert float(one_step.alignment_limit(below, 0.7 * below, psi2)) == 0.0


def test_alignment_tends_to_the_squared_cosine_of_the_spike():
    # A very strong spike is its own singular vector: the alignment tends to theta2^2 / theta1^2.
    t1, t2 = one_step.thetas(1e4, "erf", "tanh", 2.0)
    assert float(one_step.alignment_limit(t1, t2, 2.0)) == pytest.approx(
        float(t2**2 / t1**2), rel=1e-6)


def test_threshold_eta_gives_theta1_at_the_threshold():
    eta = one_step.threshold_eta("tanh", "erf", 3.0, 1.5)
    t1, _ = one_step.thetas(eta, "tanh", "erf", 3.0)
    assert float(t1) == pytest.approx(1.5**0.25, rel=1e-12)


def test_mp_edge_matches_a_large_random_matrix():
    d, width = 1500, 2250
    w = np.random.default_rng(0).standard_normal((d, width)) / math.sqrt(d)
    top = np.linalg.svd(w, compute_uv=False)[0]
    # Tracy-Widom fluctuations are O(d^{-2/3}): well inside 1%.
    assert top == pytest.approx(one_step.mp_edge(width / d), rel=0.01)


def test_unknown_function_names_the_choices():
    with pytest.raises(ValueError, match="tanh, erf"):
        one_step.moments("relu")

"""The step construction's bound and the Gaussian bump's Barron constant."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special

from companion.theory import approximation as ap


def test_modulus_bound_dominates_the_measured_modulus() -> None:
    x = np.linspace(0, 1, 20001)
    f = ap.kink_wave(x, 0.4, 0.3, 3.0)
    for delta in (0.5, 0.1, 0.01, 0.002):
        k = int(round(delta * (x.size - 1)))
        measured = max(np.max(np.abs(f[j:] - f[:-j])) for j in range(1, k + 1))
        assert measured <= ap.kink_wave_modulus(delta, 0.3, 3.0) + 1e-12


@pytest.mark.parametrize("kappa", [2.0, 6.0, 20.0])
def test_step_construction_stays_under_its_bound(kappa: float) -> None:
    x = np.linspace(0, 1, 8001)
    f = ap.kink_wave(x, 0.4, 0.3, 3.0)
    errors = []
    for n in (2, 4, 16, 64, 256):
        grid = np.linspace(0, 1, n + 1)
        g = ap.step_construction(x, ap.kink_wave(grid, 0.4, 0.3, 3.0), kappa)
        err = np.max(np.abs(f - g))
        assert err <= ap.step_construction_bound(n, kappa, 0.3, 3.0)
        errors.append(err)
    assert errors[-1] < errors[0] / 20  # and it converges


def test_step_construction_of_a_step_is_a_sigmoid() -> None:
    g = ap.step_construction(np.array([0.25, 0.5, 0.75]), np.array([0.0, 1.0]), 4.0)
    np.testing.assert_allclose(g, special.expit(4.0 * np.array([-0.25, 0.0, 0.25])))


def _fourier_radial(f, d: int, rho: float, width: float) -> float:
    """F(rho) = (2 pi)^-d int f(|x|) e^{-i <w, x>} dx for radial f, by the Hankel transform:
    (2 pi)^{-d/2} rho^{1 - d/2} int_0^inf f(r) J_{d/2-1}(rho r) r^{d/2} dr."""
    nu = d / 2 - 1
    val = integrate.quad(lambda r: f(r) * special.jv(nu, rho * r) * r ** (d / 2), 0, 12 * width,
                         limit=400)[0]
    return (2 * math.pi) ** (-d / 2) * rho ** (1 - d / 2) * val


@pytest.mark.parametrize("d", [1, 2, 3, 8])
def test_barron_constant_matches_integrated_fourier_transform(d: int) -> None:
    width = 0.5
    bump = lambda r: math.exp(-r * r / (2 * width * width))  # noqa: E731
    sphere = 2 * math.pi ** (d / 2) / math.gamma(d / 2)  # surface of S^{d-1}
    cf = integrate.quad(lambda rho: rho * abs(_fourier_radial(bump, d, rho, width)) * sphere
                        * rho ** (d - 1), 1e-9, 12 / width, limit=200)[0]
    assert cf == pytest.approx(ap.gaussian_bump_barron_constant(d, width), rel=1e-4)
    # The transform is the N(0, width^-2 I) density, so it integrates to f(0) = 1.
    mass = integrate.quad(lambda rho: abs(_fourier_radial(bump, d, rho, width)) * sphere
                          * rho ** (d - 1), 1e-9, 12 / width, limit=200)[0]
    assert mass == pytest.approx(1.0, rel=1e-4)


def test_barron_bound_rate() -> None:
    b = ap.barron_bound(np.array([1, 4, 16]), 2.0, 1.5)
    np.testing.assert_allclose(b, [6.0, 3.0, 1.5])

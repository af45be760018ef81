"""Universal approximation by two-layer sigmoid nets: the step construction and Barron's rate.

- Cybenko (1989), proof idea: a steep sigmoid ``sigma(s (x - m))`` approximates the step
  ``1{x > m}``; the staircase ``f(x_0) + sum_i (f(x_i) - f(x_{i-1})) 1{x > m_i}`` on the grid
  ``x_i = i/N`` with midpoints ``m_i = (i - 1/2)/N`` equals ``f`` at the nearest grid point, so
  replacing the steps by sigmoids of slope ``s = kappa N`` gives

      sup |f - g_N| <= omega_f(1/(2N)) + omega_f(1/N) (1 + 2 / (e^kappa - 1)),

  with ``omega_f`` the modulus of continuity: the first term is the staircase's error, the second
  bounds ``sum_i |Delta_i| sigma(-s |x - m_i|)`` (at most two midpoints within 1/N of any x, each
  contributing at most 1/2; the others at distance ``k/N`` contribute at most ``e^{-kappa k}``).
- Barron (1993), Theorem 1: for ``f(x) = int e^{i <w, x>} F(dw)`` with
  ``C_f = int |w| |F|(dw) < infinity``, every probability measure mu on the ball ``B_r`` and
  every N there is ``f_N(x) = sum_{k=1}^N c_k sigma(<a_k, x> + b_k) + c_0`` with
  ``|f - f_N|_{L2(mu)} <= 2 r C_f / sqrt(N)``. Convention: the Fourier transform without
  ``2 pi`` in the exponent, ``F(w) = (2 pi)^-d int f(x) e^{-i <w, x>} dx``.
- The Gaussian bump ``f(x) = exp(-|x|^2 / (2 s^2))`` has ``F`` = the density of ``N(0, s^-2 I_d)``,
  so ``C_f = E|w| = (sqrt 2 / s) Gamma((d + 1)/2) / Gamma(d/2)``, finite in every dimension.
"""

from __future__ import annotations

import math

import numpy as np


def kink_wave(x: np.ndarray, kink: float, amplitude: float, frequency: float) -> np.ndarray:
    """The 1-D target ``|x - kink| + amplitude sin(2 pi frequency x)``: a kink and an
    oscillation."""
    x = np.asarray(x, dtype=float)
    return np.abs(x - kink) + amplitude * np.sin(2.0 * np.pi * frequency * x)


def kink_wave_modulus(delta: float | np.ndarray, amplitude: float,
                      frequency: float) -> np.ndarray:
    """An upper bound on the modulus of continuity of :func:`kink_wave`:
    ``omega(delta) <= delta + |amplitude| min(2 pi frequency delta, 2)`` (triangle inequality:
    ``|x - k|`` is 1-Lipschitz, the sine is ``2 pi frequency``-Lipschitz and has range 2)."""
    delta = np.asarray(delta, dtype=float)
    return delta + abs(amplitude) * np.minimum(2.0 * np.pi * abs(frequency) * delta, 2.0)


def step_construction(x: np.ndarray, values: np.ndarray, steepness: float) -> np.ndarray:
    """``g_N(x) = f(x_0) + sum_{i=1}^N (f(x_i) - f(x_{i-1})) sigma(kappa N (x - m_i))``, from the
    values ``f(x_i)`` on the uniform grid ``x_i = i/N`` of [0, 1] (N + 1 values)."""
    values = np.asarray(values, dtype=float)
    n = values.size - 1
    mid = (np.arange(1, n + 1) - 0.5) / n
    jumps = np.diff(values)
    z = steepness * n * (np.asarray(x, dtype=float)[:, None] - mid[None, :])
    from scipy.special import expit  # here: the workflow imports this module at every parse

    return values[0] + expit(z) @ jumps


def step_construction_bound(n: int | np.ndarray, steepness: float, amplitude: float,
                            frequency: float) -> np.ndarray:
    """The sup-error bound of the module docstring for :func:`kink_wave`, N units, ``kappa``."""
    n = np.asarray(n, dtype=float)
    tail = 1.0 + 2.0 / math.expm1(steepness)
    return (kink_wave_modulus(0.5 / n, amplitude, frequency)
            + kink_wave_modulus(1.0 / n, amplitude, frequency) * tail)


def gaussian_bump(x: np.ndarray, width: float) -> np.ndarray:
    """``exp(-|x|^2 / (2 width^2))`` for points ``x`` of shape (n, d)."""
    x = np.asarray(x, dtype=float)
    return np.exp(-np.sum(x * x, axis=-1) / (2.0 * width * width))


def gaussian_bump_barron_constant(d: int, width: float) -> float:
    """``C_f = int |w| F(w) dw`` of the Gaussian bump in dimension d (module docstring)."""
    return float(math.sqrt(2.0) / width * math.exp(math.lgamma((d + 1) / 2) - math.lgamma(d / 2)))


def barron_bound(n: int | np.ndarray, radius: float, barron_constant: float) -> np.ndarray:
    """Barron's (1993, Thm 1) L2(mu) error bound ``2 r C_f / sqrt(N)`` for N sigmoid units."""
    return 2.0 * radius * barron_constant / np.sqrt(np.asarray(n, dtype=float))

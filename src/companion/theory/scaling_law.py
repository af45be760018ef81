"""Kernel ridge regression with power-law spectra: the Caponnetto–De Vito rate and the
deterministic equivalent of the risk.

The setting (Caponnetto & De Vito 2007, "Optimal rates for the regularized least-squares
algorithm", Found. Comput. Math. 7): a kernel with eigenvalues ``mu_j ~ j^{-b}`` (``b > 1``) in
L2 of the input law, a target ``f* = T^r h`` (``T`` the kernel's integral operator, ``h`` in L2,
``1/2 <= r <= 1``) and ridge regression ``min (1/n) sum_i (f(x_i) - y_i)^2 + lam |f|_H^2`` with
``lam_n ~ n^{-b/(2rb+1)}``. Their Theorem 1 gives the excess risk
``E |f_hat - f*|^2_{L2} ~ n^{-2rb/(2rb+1)}``, and it is minimax over the class.

The deterministic equivalent (Bordelon, Canatar & Pehlevan 2020, eqs. 4-5; Simon, Dickens, Karkada
& DeWeese 2021, "The eigenlearning framework", eqs. 6-9; also Jacot et al. 2020, "Kernel
alignment risk estimator") gives the risk at finite n: the effective regularisation ``kappa``
solves

    n = sum_j mu_j / (mu_j + kappa) + n lam / kappa,

each eigenmode is learned to the fraction ``L_j = mu_j / (mu_j + kappa)``, and with
``E0 = n / (n - sum_j L_j^2)``

    bias     = E0 sum_j (1 - L_j)^2 c_j^2,       variance = E0 sigma^2 sum_j L_j^2 / n,

where ``c_j`` are the target's coefficients in the kernel's orthonormal eigenbasis.

The spectrum used here is the circle's: inputs uniform on the ``N``-point grid ``{m / N}`` of
[0, 1) (``N`` odd), the orthonormal Fourier basis ``1, sqrt(2) cos(2 pi k x), sqrt(2) sin(2 pi k
x)`` for ``k = 1 .. (N - 1) / 2``, which is exactly orthonormal for that discrete law, so the finite
sums above are the whole spectrum, not a truncation.
"""

from __future__ import annotations

import math

import numpy as np


def cdv_exponent(b: float, r: float) -> float:
    """The exponent ``-2rb / (2rb + 1)`` of the excess risk in n (Caponnetto–De Vito, Thm 1)."""
    return -2.0 * r * b / (2.0 * r * b + 1.0)


def cdv_lambda(n, b: float, r: float, lam0: float) -> np.ndarray:
    """The theory's penalty ``lam_n = lam0 n^{-b/(2rb+1)}`` (Caponnetto–De Vito, Thm 1)."""
    return lam0 * np.asarray(n, dtype=float) ** (-b / (2.0 * r * b + 1.0))


def circle_frequencies(grid_size: int) -> np.ndarray:
    """The frequency of each basis function, in the order ``[0, 1, 1, 2, 2, ...]`` (cos, sin)."""
    if grid_size < 3 or grid_size % 2 == 0:
        raise ValueError(f"grid_size: need an odd number >= 3, got {grid_size}")
    k = np.arange(1, (grid_size - 1) // 2 + 1, dtype=float)
    return np.concatenate([[0.0], np.repeat(k, 2)])


def circle_spectrum(b: float, grid_size: int) -> np.ndarray:
    """Eigenvalues ``mu``: 1 for the constant, ``k^{-b}`` for the cos and sin of frequency k, so
    the j-th largest decays as ``(j / 2)^{-b}``."""
    freq = circle_frequencies(grid_size)
    return np.where(freq == 0, 1.0, np.maximum(freq, 1.0) ** (-float(b)))


def source_coefficients(b: float, r: float, grid_size: int) -> np.ndarray:
    """Squared target coefficients ``c^2 = mu^{2r} h^2`` with ``h^2 ~ 1/j`` (frequency k: index
    ``j ~ 2k``), normalised to ``|f*|^2 = 1``; no constant term.

    ``h^2 ~ 1/j`` is the slowest decay for which the bias is ``~ lam^{2r}`` (a faster-decaying h
    would make the target smoother than ``T^r`` and the rate faster than the theorem's); on the
    finite grid ``|h|`` is finite.
    """
    freq = circle_frequencies(grid_size)
    mu = circle_spectrum(b, grid_size)
    h2 = np.where(freq == 0, 0.0, 1.0 / (2.0 * np.maximum(freq, 1.0)))
    c2 = mu ** (2.0 * r) * h2
    return c2 / c2.sum()


def kernel_on_grid(mu: np.ndarray, grid_size: int) -> np.ndarray:
    """``k(m / N)`` for ``m = 0 .. N-1``: ``k(x, x') = sum_j mu_j phi_j(x) phi_j(x')`` depends on
    ``x - x'`` only, ``k(t) = mu_0 + 2 sum_k mu_k cos(2 pi k t)`` (an inverse DFT)."""
    half = (grid_size - 1) // 2
    spectrum = np.zeros(grid_size)
    spectrum[0] = mu[0]
    spectrum[1:half + 1] = mu[1::2]
    spectrum[half + 1:] = mu[1::2][::-1]
    return np.real(np.fft.fft(spectrum))


def effective_regularisation(mu: np.ndarray, n: int, lam: float) -> float:
    """``kappa > 0`` solving ``n = sum_j mu_j / (mu_j + kappa) + n lam / kappa`` (Simon et al.
    2021, eq. 6). The right side falls strictly in kappa, so the root is unique; it lies in
    ``[lam, lam + sum(mu) / n]``."""
    mu = np.asarray(mu, dtype=float)
    if not (lam > 0 and n >= 1):
        raise ValueError(f"effective_regularisation: need lam > 0 and n >= 1, got {lam}, {n}")

    def excess(log_kappa: float) -> float:
        kappa = math.exp(log_kappa)
        return float(np.sum(mu / (mu + kappa)) + n * lam / kappa - n)

    lo, hi = math.log(lam), math.log(lam + mu.sum() / n)
    if hi - lo < 1e-15:
        return math.exp(hi)
    from scipy.optimize import brentq  # here: the workflow imports this module at every parse

    return math.exp(brentq(excess, lo - 1e-12, hi + 1e-12, xtol=1e-14, rtol=1e-13))


def deterministic_equivalent(mu: np.ndarray, c2: np.ndarray, n: int, lam: float,
                             sigma2: float) -> tuple[float, float]:
    """``(bias, variance)`` of kernel ridge regression's excess risk at sample size n (see the
    module docstring; Simon et al. 2021, eqs. 8-9)."""
    mu = np.asarray(mu, dtype=float)
    kappa = effective_regularisation(mu, n, lam)
    learn = mu / (mu + kappa)
    e0 = n / (n - np.sum(learn**2))
    bias = e0 * float(np.sum((1.0 - learn) ** 2 * np.asarray(c2, dtype=float)))
    variance = e0 * float(sigma2) * float(np.sum(learn**2)) / n
    return bias, variance

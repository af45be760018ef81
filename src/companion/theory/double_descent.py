"""Asymptotic risk of least squares in the proportional limit, isotropic Gaussian features.

Model: ``y = x^T beta* + eps`` with ``x ~ N(0, I_d)``, ``||beta*||^2 = r2``, ``Var(eps) = sigma2``,
``n`` samples and ``d, n -> infinity`` with ``d / n -> gamma``. The excess (prediction) risk of an
estimator is ``E_x[(x^T (beta_hat - beta*))^2 | X] = ||beta_hat - beta*||^2``, averaged over the
noise. Every function is vectorised over ``gamma`` (and ``lam``), NumPy broadcasting rules.

Minimum-norm interpolator ``beta_hat = (X^T X)^+ X^T y``: Hastie, Montanari, Rosset and
Tibshirani, "Surprises in high-dimensional ridgeless least squares interpolation", Ann. Statist.
50(2), 2022, Theorem 1 (isotropic features)::

    R(gamma) = sigma2 * gamma / (1 - gamma)                       gamma < 1   (variance only)
    R(gamma) = r2 * (1 - 1/gamma)  +  sigma2 / (gamma - 1)         gamma > 1   (bias + variance)

Ridge ``beta_hat_lam = (X^T X / n + lam I)^{-1} X^T y / n`` (their normalisation): with ``m`` the
Stieltjes transform of the Marchenko-Pastur law of ratio ``gamma`` (the limit of
``tr((X^T X / n - z I)^{-1}) / d``), the bias and variance are (Dobriban and Wager,
"High-dimensional asymptotics of prediction: ridge regression and classification", Ann. Statist.
46(1), 2018, Theorem 2.1; Hastie et al. 2022, the section on ridge regularisation)::

    B(lam) = r2 * lam^2 * m'(-lam)
    V(lam) = sigma2 * gamma * (m(-lam) - lam * m'(-lam))

Both follow from ``beta_hat_lam - beta* = -lam (S + lam)^{-1} beta* + (S + lam)^{-1} X^T eps / n``
with ``S = X^T X / n``, the rotational invariance of the Gaussian design (only ``||beta*||``
matters), ``tr((S + lam)^{-1}) / d -> m(-lam)`` and ``tr((S + lam)^{-2}) / d -> m'(-lam)``. The
optimal penalty is ``lam* = sigma2 * gamma / r2`` (ridge is then the posterior mean under the
prior ``beta* ~ N(0, r2/d I)``; Dobriban-Wager's ``gamma sigma^2 / alpha^2``); substituting it,
the ``m'`` terms cancel::

    R_ridge*(gamma) = sigma2 * gamma * m(-lam*)

Equivalently ``sigma2 / (lam* v(-lam*)) - sigma2`` with ``v(z) = gamma m(z) - (1 - gamma) / z`` the
companion transform: the optimal prediction error minus the noise floor.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]


def minnorm_bias(gamma: ArrayLike, r2: float) -> Array:
    """Bias part of the min-norm interpolator's risk: 0 for gamma < 1, r2 (1 - 1/gamma) above.

    Hastie et al. (2022), Theorem 1. At gamma > 1 the interpolator only sees beta*'s projection on
    the n-dimensional row space of X, so it misses the fraction 1 - n/d of ||beta*||^2.
    """
    g = np.asarray(gamma, dtype=float)
    return np.where(g > 1.0, r2 * (1.0 - 1.0 / g), 0.0)


def minnorm_variance(gamma: ArrayLike, sigma2: float) -> Array:
    """Variance part: sigma2 gamma / (1 - gamma) below 1, sigma2 / (gamma - 1) above, inf at 1.

    Hastie et al. (2022), Theorem 1; it is sigma2 times the limit of tr((X^T X)^+), a
    Marchenko-Pastur integral of 1/s over the non-zero spectrum.
    """
    g = np.asarray(gamma, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.where(g < 1.0, sigma2 * g / (1.0 - g), sigma2 / (g - 1.0))
    return np.where(g == 1.0, np.inf, var)


def minnorm_bias_finite(n: int, d: ArrayLike, r2: float) -> Array:
    """Exact mean bias at finite ``n``, ``d``: 0 for ``d <= n``, ``r2 (1 - n/d)`` above.

    For isotropic Gaussian ``X`` the row space of ``X`` is a uniformly random n-dimensional
    subspace, so the mean squared norm of beta*'s projection off it is ``r2 (d - n) / d`` exactly
    (Hastie et al. 2022, Sec. 3; the limit is :func:`minnorm_bias`).
    """
    d = np.asarray(d, dtype=float)
    return np.where(d > n, r2 * (1.0 - n / d), 0.0)


def minnorm_variance_finite(n: int, d: ArrayLike, sigma2: float) -> Array:
    """Exact mean variance at finite ``n``, ``d``: ``sigma2 E tr((X^T X)^+)``.

    ``X^T X`` (``d < n``) or ``X X^T`` (``d > n``) is Wishart, and the mean of an inverse Wishart
    ``W_p(m, I)^{-1}`` is ``I / (m - p - 1)``: ``sigma2 d / (n - d - 1)`` below the threshold and
    ``sigma2 n / (d - n - 1)`` above (Hastie et al. 2022, proof of Theorem 1; Muirhead 1982,
    Thm. 3.2.12). Infinite for ``|d - n| <= 1``, where the mean does not exist.
    """
    d = np.asarray(d, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.where(d < n, sigma2 * d / (n - d - 1.0), sigma2 * n / (d - n - 1.0))
    return np.where(np.abs(d - n) <= 1.0, np.inf, var)


def minnorm_risk(gamma: ArrayLike, r2: float, sigma2: float) -> Array:
    """Asymptotic excess risk R(gamma) of the minimum-norm interpolator (bias + variance).

    Hastie, Montanari, Rosset and Tibshirani (2022), Theorem 1, isotropic features. Diverges at the
    interpolation threshold gamma = 1.
    """
    return minnorm_bias(gamma, r2) + minnorm_variance(gamma, sigma2)


def mp_stieltjes(lam: ArrayLike, gamma: ArrayLike) -> Array:
    """m(-lam) for lam > 0: the Marchenko-Pastur Stieltjes transform on the negative real axis.

    ``m(z) = lim tr((X^T X / n - z I)^{-1}) / d`` solves ``gamma z m^2 - (1 - gamma - z) m + 1 = 0``
    (Marchenko and Pastur 1967; Bai and Silverstein 2010, Chapter 3). At ``z = -lam``,
    with ``b = 1 - gamma + lam``, the positive root is ``(-b + sqrt(b^2 + 4 gamma lam)) / (2 gamma
    lam)``; it is evaluated in whichever algebraically equal form has no cancellation.
    """
    lam_a = np.asarray(lam, dtype=float)
    g = np.asarray(gamma, dtype=float)
    b = 1.0 - g + lam_a
    root = np.sqrt(b * b + 4.0 * g * lam_a)
    with np.errstate(divide="ignore", invalid="ignore"):
        plus = 2.0 / (b + root)  # exact for b >= 0
        minus = (root - b) / (2.0 * g * lam_a)  # exact for b < 0
    return np.where(b >= 0.0, plus, minus)


def mp_stieltjes_derivative(lam: ArrayLike, gamma: ArrayLike) -> Array:
    """m'(z) at z = -lam, i.e. lim tr((X^T X / n + lam I)^{-2}) / d.

    Implicit differentiation of ``gamma z m^2 - (1 - gamma - z) m + 1 = 0`` gives
    ``m' = (gamma m^2 + m) / ((1 - gamma - z) - 2 gamma z m)``.
    """
    lam_a = np.asarray(lam, dtype=float)
    g = np.asarray(gamma, dtype=float)
    m = mp_stieltjes(lam_a, g)
    return (g * m * m + m) / ((1.0 - g + lam_a) + 2.0 * g * lam_a * m)


def ridge_bias(gamma: ArrayLike, lam: ArrayLike, r2: float) -> Array:
    """Asymptotic ridge bias r2 lam^2 m'(-lam) at penalty ``lam`` (Dobriban-Wager 2018, Thm 2.1)."""
    lam_a = np.asarray(lam, dtype=float)
    return r2 * lam_a**2 * mp_stieltjes_derivative(lam_a, gamma)


def ridge_variance(gamma: ArrayLike, lam: ArrayLike, sigma2: float) -> Array:
    """Asymptotic ridge variance sigma2 gamma (m - lam m') at -lam (Dobriban-Wager, Thm 2.1)."""
    lam_a = np.asarray(lam, dtype=float)
    g = np.asarray(gamma, dtype=float)
    m = mp_stieltjes(lam_a, g)
    dm = mp_stieltjes_derivative(lam_a, g)
    return sigma2 * g * (m - lam_a * dm)


def ridge_risk(gamma: ArrayLike, lam: ArrayLike, r2: float, sigma2: float) -> Array:
    """Asymptotic excess risk of ridge at penalty ``lam``: bias + variance."""
    return ridge_bias(gamma, lam, r2) + ridge_variance(gamma, lam, sigma2)


def optimal_ridge_lambda(gamma: ArrayLike, r2: float, sigma2: float) -> Array:
    """The risk-minimising penalty lam* = sigma2 gamma / r2 (Dobriban and Wager 2018, Thm 2.1)."""
    return sigma2 * np.asarray(gamma, dtype=float) / r2


def optimal_ridge_risk(gamma: ArrayLike, r2: float, sigma2: float) -> Array:
    """Excess risk of optimally tuned ridge, sigma2 gamma m(-lam*), with lam* = sigma2 gamma / r2.

    Equal to ``ridge_risk(gamma, lam*, r2, sigma2)``: at lam* the terms in m' cancel. It rises
    monotonically from 0 (gamma -> 0) to the null risk r2 (gamma -> infinity), with no peak.
    """
    g = np.asarray(gamma, dtype=float)
    lam = optimal_ridge_lambda(g, r2, sigma2)
    return sigma2 * g * mp_stieltjes(lam, g)

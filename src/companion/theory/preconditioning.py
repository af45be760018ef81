"""Interpolators of preconditioned gradient descent in over-parameterised linear regression
(Amari, Ba, Grosse, Li, Nitanda, Suzuki, Wu and Xu 2021, "When does preconditioning help or hurt
generalization?", ICLR).

With ``d > n``, inputs ``x ~ N(0, Sigma)`` and a fixed preconditioner ``P``, gradient descent
``beta <- beta - eta P X^T (X beta - y) / n`` from 0 converges to the interpolator
(their eq. (3))

    beta_P = M_P y,   M_P = P X^T (X P X^T)^{-1},

so given ``X`` its excess risk ``E||beta_P - beta*||_Sigma^2`` splits exactly into

    bias      B_P = ||(I - M_P X) beta*||_Sigma^2,
    variance  V_P = sigma^2 tr(M_P^T Sigma M_P).

Among all interpolating linear maps (``X M = I_n``), ``tr(M^T Sigma M)`` is smallest for the
``Sigma^{-1}``-weighted minimum-norm solution, i.e. natural gradient ``P = Sigma^{-1}`` (their
Theorem 3): its variance is ``sigma^2 tr((Z Z^T)^{-1})`` with ``Z = X Sigma^{-1/2}`` isotropic,
``sigma^2 n / (d - n - 1)`` in expectation (inverse Wishart) and ``sigma^2 / (gamma - 1)`` as
``d / n -> gamma``, whatever ``Sigma``. The bias depends on how ``beta*`` aligns with ``Sigma``:
for ``beta* ~ N(0, Sigma_beta)`` the expected bias is smallest at ``P = Sigma_beta`` (their
Theorem 4), so plain gradient descent wins for an isotropic ``beta*`` and natural gradient for
``Sigma_beta = Sigma^{-1}``.

Preconditioners here are diagonal in the eigenbasis of a diagonal ``Sigma`` (every family
below is a function of ``Sigma``), passed as their diagonals.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]


def ngd_variance_limit(gamma: ArrayLike, sigma2: float) -> Array:
    """``sigma^2 / (gamma - 1)``: natural gradient's asymptotic variance (Amari et al. 2021,
    Theorem 3), for ``gamma = d / n > 1``."""
    return sigma2 / (np.asarray(gamma, dtype=float) - 1.0)


def geometric_family(sigma_diag: ArrayLike, alpha: float) -> Array:
    """``P = Sigma^{-alpha}``: gradient descent at 0, natural gradient at 1 (their Section 5)."""
    return np.asarray(sigma_diag, dtype=float) ** (-float(alpha))


def additive_family(sigma_diag: ArrayLike, alpha: float) -> Array:
    """``P = (1 - alpha) I + alpha Sigma^{-1}`` (their Section 5)."""
    s = np.asarray(sigma_diag, dtype=float)
    return (1.0 - alpha) + alpha / s


def interpolator_map(x: ArrayLike, p_diag: ArrayLike) -> Array:
    """``M_P = P X^T (X P X^T)^{-1}`` (``(d, n)``) for a diagonal ``P``; the data sets of a
    batch ``(b, n, d)`` at once."""
    x = np.asarray(x, dtype=float)
    p = np.asarray(p_diag, dtype=float)
    px_t = np.swapaxes(x * p, -1, -2)  # P X^T
    gram = x @ px_t  # X P X^T
    return np.swapaxes(np.linalg.solve(gram, np.swapaxes(px_t, -1, -2)), -1, -2)


def bias_variance(x: ArrayLike, p_diag: ArrayLike, sigma_diag: ArrayLike, beta: ArrayLike,
                  sigma2: float) -> tuple[Array, Array]:
    """Exact bias ``||(I - M_P X) beta*||_Sigma^2`` and variance ``sigma^2 tr(M_P^T Sigma M_P)``
    given ``X`` (module doc); ``x`` ``(b, n, d)``, ``beta`` ``(b, d)``, results ``(b,)``."""
    x = np.asarray(x, dtype=float)
    s = np.asarray(sigma_diag, dtype=float)
    beta = np.asarray(beta, dtype=float)
    m = interpolator_map(x, p_diag)
    resid = beta - np.einsum("bdn,bn->bd", m, np.einsum("bnd,bd->bn", x, beta))
    bias = np.einsum("bd,d,bd->b", resid, s, resid)
    variance = sigma2 * np.einsum("bdn,d,bdn->b", m, s, m)
    return bias, variance

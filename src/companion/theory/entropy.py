"""Differential entropy: the Kozachenko–Leonenko nearest-neighbour estimate and Gaussian values.

Mean-field Langevin dynamics minimises an objective with the term ``lam2 E_q log q = -lam2 H(q)``,
where ``q`` is the law of one neuron's parameters. The particles are samples of ``q`` and carry no
density, so ``H(q)`` has to be estimated from them; the Kozachenko–Leonenko estimator does it from
the distances to the k-th nearest neighbour (Kozachenko and Leonenko 1987; Kraskov, Stögbauer and
Grassberger 2004, eq. (20)):

    H_hat = psi(N) - psi(k) + log V_p + (p / N) sum_i log eps_i,

with ``eps_i`` the Euclidean distance from sample ``i`` to its k-th nearest neighbour among the
others, ``V_p = pi^{p/2} / Gamma(p/2 + 1)`` the volume of the unit ball in ``R^p`` and ``psi``
the digamma function. It is consistent for bounded-below densities; its bias at finite ``N`` is
of order ``N^{-1/p}`` up to logarithms for smooth densities, which is why the tests check it on
Gaussians whose entropy is known in closed form.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma, gammaln


def log_unit_ball_volume(p: int) -> float:
    """``log V_p = (p/2) log pi - log Gamma(p/2 + 1)``."""
    return 0.5 * p * np.log(np.pi) - float(gammaln(0.5 * p + 1.0))


def knn_entropy(samples: np.ndarray, k: int = 1) -> float:
    """Kozachenko–Leonenko estimate of the differential entropy (nats) of the law of ``samples``
    (``(N, p)``, rows the draws); see the module docstring for the formula.

    Duplicate samples (distance 0) would give ``-inf``; they are floored at the smallest positive
    distance found, a tie that has probability zero for continuous laws.
    """
    x = np.asarray(samples, dtype=float)
    if x.ndim != 2 or x.shape[0] <= k:
        raise ValueError(f"need a (N, p) array with N > k = {k}, got shape {x.shape}")
    n, p = x.shape
    dist, _ = cKDTree(x).query(x, k=k + 1)  # the first neighbour is the point itself
    eps = dist[:, k]
    positive = eps[eps > 0]
    if positive.size == 0:
        raise ValueError("all samples coincide: no entropy estimate")
    eps = np.maximum(eps, positive.min())
    return float(digamma(n) - digamma(k) + log_unit_ball_volume(p) + p * np.mean(np.log(eps)))


def gaussian_entropy(cov: np.ndarray) -> float:
    """``(1/2) log det(2 pi e Sigma)``: the entropy of ``N(m, Sigma)`` in nats."""
    c = np.atleast_2d(np.asarray(cov, dtype=float))
    sign, logdet = np.linalg.slogdet(2.0 * np.pi * np.e * c)
    if sign <= 0:
        raise ValueError("covariance must be positive definite")
    return 0.5 * float(logdet)

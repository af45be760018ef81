"""One gradient step on the first layer of a two-layer net: Hermite moments and the spike limits.

The setting of Ba, Erdogdu, Suzuki, Wang, Wu and Yang (2022), "High-dimensional asymptotics of
feature learning: how one gradient step improves the representation", Sec. 2: a single-index
target ``f*(x) = sigma*(<x, beta*>)`` with ``x ~ N(0, I_d)`` and ``||beta*|| = 1``, ``n = psi1 d``
samples, a net ``f(x) = (1/sqrt(N)) a^T sigma(W^T x)`` of width ``N = psi2 d`` with
``W_ij ~ N(0, 1/d)`` and ``a_i ~ N(0, 1/N)``, and one full-batch gradient step
``W_1 = W_0 + eta sqrt(N) G`` on the squared loss, ``G`` the negative gradient.

The first gradient is close to the rank-one matrix ``(mu1 / sqrt(N)) (X^T y / n) a^T``
(their Prop. 2); ``X^T y / n`` has a component ``mu1*`` along ``beta*`` and a noise part of norm
``sqrt(mubar^2 / psi1)`` (that of ``d`` coordinates of variance ``E[y^2] / n``). So ``W_1`` is
the random matrix ``W_0`` plus a rank-one spike of strength ``theta1`` whose left direction
makes the squared cosine ``theta2^2 / theta1^2`` with ``beta*``; the limits below are those of a
rank-one perturbation of a rectangular Gaussian matrix (Benaych-Georges and Nadakuditi 2012,
Sec. 3.1) in the normalisation where ``W_0``'s singular values fill ``[|1 - sqrt(psi2)|,
1 + sqrt(psi2)]`` (Marchenko-Pastur with aspect ratio ``psi2 = N/d`` and entries of variance
``1/d``) and the spike's right factor ``a`` has norm 1. The quantities

- ``mu1 = E[z sigma(z)]``, ``mu1* = E[z sigma*(z)]``, ``mubar^2 = E[sigma*(z)^2] = ||f*||^2``,
- ``theta1 = sqrt(mubar^2 / psi1 + mu1*^2) mu1 eta``, ``theta2 = mu1 mu1* eta``,

and, above the threshold ``theta1 > psi2^{1/4}``,

- ``|<u1, beta*>|^2 -> (theta2^2 / theta1^2) (1 - (psi2 + theta1^2) / (theta1^2 (theta1^2 + 1)))``,
- ``sigma1(W_1) -> sqrt((1 + theta1^2)(psi2 + theta1^2)) / theta1``;

below it the alignment tends to 0 and ``sigma1`` sticks to the bulk edge ``1 + sqrt(psi2)``.
(The target is noiseless here, so ``mubar^2`` carries no noise variance.)

Gaussian expectations are by Gauss-Hermite quadrature (probabilists' weight), exact for
polynomials of degree below ``2 * nodes`` and accurate to ~1e-12 for the smooth functions used.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special

Fn = Callable[[np.ndarray], np.ndarray]

# Mean-zero activations with E[z sigma(z)] != 0: the setting of the theorem.
FUNCTIONS: dict[str, Fn] = {"tanh": np.tanh, "erf": special.erf}

_NODES = 200


def gauss_expectation(fn: Fn, nodes: int = _NODES) -> float:
    """``E[fn(z)]`` for ``z ~ N(0, 1)`` by Gauss-Hermite quadrature (weight ``exp(-z^2/2)``)."""
    z, w = np.polynomial.hermite_e.hermegauss(nodes)
    return float(np.sum(w * fn(z)) / math.sqrt(2.0 * math.pi))


def function(name: str) -> Fn:
    """The numpy function called ``name`` (one of :data:`FUNCTIONS`)."""
    try:
        return FUNCTIONS[name]
    except KeyError:
        raise ValueError(f"{name!r} is not one of {', '.join(FUNCTIONS)}") from None


@dataclass(frozen=True)
class Moments:
    """The Gaussian moments of one function: ``E[s(z)]``, ``mu1 = E[z s(z)]``, ``E[s(z)^2]``."""

    mean: float
    mu1: float
    second: float

    @property
    def mu2(self) -> float:
        """``sqrt(E[s^2] - mu1^2)`` when the mean is 0: the Gaussian-equivalent noise level."""
        return math.sqrt(max(self.second - self.mean**2 - self.mu1**2, 0.0))

    @property
    def nonlinear(self) -> float:
        """``||P_{>1} s||^2 = E[s^2] - E[s]^2 - mu1^2``: the energy beyond the degree-1 Hermite
        component (what no model linear in ``x`` can fit)."""
        return max(self.second - self.mean**2 - self.mu1**2, 0.0)


def moments(name: str) -> Moments:
    """The :class:`Moments` of the function called ``name``."""
    fn = function(name)
    return Moments(mean=gauss_expectation(fn), mu1=gauss_expectation(lambda z: z * fn(z)),
                   second=gauss_expectation(lambda z: fn(z) ** 2))


def thetas(eta, activation: str, target: str, psi1: float) -> tuple[np.ndarray, np.ndarray]:
    """``(theta1, theta2)`` for step sizes ``eta`` (module doc; Ba et al. 2022, Thm. 3)."""
    act, tgt = moments(activation), moments(target)
    eta = np.asarray(eta, dtype=float)
    theta1 = math.sqrt(tgt.second / float(psi1) + tgt.mu1**2) * act.mu1 * eta
    theta2 = act.mu1 * tgt.mu1 * eta
    return np.abs(theta1), theta2


def threshold(psi2: float) -> float:
    """The spike appears when ``theta1 > psi2^{1/4}``."""
    return float(psi2) ** 0.25


def threshold_eta(activation: str, target: str, psi1: float, psi2: float) -> float:
    """The step size at which ``theta1`` crosses :func:`threshold`."""
    per_eta = float(thetas(1.0, activation, target, psi1)[0])
    return threshold(psi2) / per_eta if per_eta > 0 else math.inf


def mp_edge(psi2: float) -> float:
    """The top edge ``1 + sqrt(psi2)`` of the singular values of a ``d x N`` matrix of
    ``N(0, 1/d)`` entries, ``N / d -> psi2`` (Marchenko and Pastur 1967)."""
    return 1.0 + math.sqrt(float(psi2))


def alignment_limit(theta1, theta2, psi2: float) -> np.ndarray:
    """Limit of ``|<u1, beta*>|^2``: 0 below the threshold, the module doc's formula above."""
    t1 = np.asarray(theta1, dtype=float)
    t2 = np.asarray(theta2, dtype=float)
    above = t1 > threshold(psi2)
    safe = np.where(above, t1, 1.0)
    inner = 1.0 - (psi2 + safe**2) / (safe**2 * (safe**2 + 1.0))
    return np.where(above, (t2**2 / safe**2) * inner, 0.0)


def sigma1_limit(theta1, psi2: float) -> np.ndarray:
    """Limit of the top singular value of ``W_1``: the bulk edge below the threshold, the spike's
    outlier ``sqrt((1 + theta1^2)(psi2 + theta1^2)) / theta1`` above."""
    t1 = np.asarray(theta1, dtype=float)
    above = t1 > threshold(psi2)
    safe = np.where(above, t1, 1.0)
    outlier = np.sqrt((1.0 + safe**2) * (psi2 + safe**2)) / safe
    return np.where(above, outlier, mp_edge(psi2))

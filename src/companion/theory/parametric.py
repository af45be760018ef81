"""The parametric oracle risk of a ReLU teacher: ``sigma^2 m d / n``.

For a correctly specified regression model ``y = f_theta(x) + sigma eps`` with ``p`` locally
identifiable parameters, the least-squares estimator satisfies
``sqrt(n) (theta_hat - theta) -> N(0, sigma^2 F^{-1})`` with ``F = E[grad f grad f^T]``
(van der Vaart 1998, *Asymptotic Statistics*, Thm. 5.23: the criterion ``(y - f_theta(x))^2``
is Lipschitz in ``theta`` with a square-integrable constant and its mean is twice differentiable
at ``theta``, with second derivative ``V = 2F`` and score covariance ``4 sigma^2 F``, so the
sandwich ``V^{-1} (4 sigma^2 F) V^{-1}`` is ``sigma^2 F^{-1}``). The excess risk is the quadratic
form ``E (f_theta_hat - f_theta)^2 = (theta_hat - theta)^T F (theta_hat - theta) + o(1/n)``,
whose mean is ``sigma^2 tr(F^{-1} F) / n = sigma^2 p / n``: the classical parametric rate, and
the rate ``O(1/n)`` Akiyama and Suzuki (2021, ICML, Thm. 1) prove for the two-phase student.

The count ``p`` for ``f(x) = sum_{j<=m} a_j relu(<w_j, x>)`` with ``w_j`` in ``R^d`` is ``m d``,
not ``m (d + 1)``: relu is positively homogeneous, so ``(a_j, w_j) -> (a_j / c, c w_j)``
(``c > 0``) leaves ``f`` unchanged and each neuron is the sign of ``a_j`` and one vector
``u_j = |a_j| w_j``. In the coordinates ``u_j`` the model is locally identifiable when no two
teacher directions are parallel, and ``F`` has full rank ``m d``; in the coordinates
``(w_j, a_j)`` it has rank ``m d`` too (``d/da_j f = relu(<w_j, x>) = <w_j, d/dw_j f> / a_j``
lies in the span of the neuron's other derivatives). :func:`relu_jacobian` gives those
derivatives, so the rank can be checked numerically. The ReLU model is not differentiable where
``<w_j, x> = 0``, a null set for inputs with a density (uniform on the sphere here), which is
all Thm. 5.23 needs.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def relu_dimension(m: int, d: int) -> int:
    """``m d``: the number of locally identifiable parameters of ``sum_{j<=m} a_j relu(<w_j, x>)``
    with ``w_j`` in ``R^d`` (one rescaling per neuron removed; see the module docstring)."""
    if int(m) < 1 or int(d) < 1:
        raise ValueError(f"relu_dimension: need m >= 1 and d >= 1, got m = {m}, d = {d}")
    return int(m) * int(d)


def oracle_risk(sigma: float, dim: int, n: ArrayLike) -> NDArray[np.float64]:
    """``sigma^2 dim / n``: the asymptotic excess risk ``E (f_hat - f)^2`` of least squares in a
    correctly specified model with ``dim`` identifiable parameters and noise sd ``sigma``
    (van der Vaart 1998, Thm. 5.23; see the module docstring), for every ``n``."""
    n_arr = np.asarray(n, dtype=float)
    if (n_arr <= 0).any():
        raise ValueError("oracle_risk: sample sizes must be positive")
    return float(sigma) ** 2 * float(dim) / n_arr


def relu_jacobian(x: ArrayLike, w: ArrayLike, a: ArrayLike) -> NDArray[np.float64]:
    """Derivatives of ``f(x) = sum_j a_j relu(<w_j, x>)`` in ``(w_1, ..., w_m, a)`` at the rows of
    ``x`` ``(n, d)``: shape ``(n, m d + m)``, columns ``w_1`` (d), ..., ``w_m`` (d), then ``a``."""
    x, w, a = (np.asarray(v, dtype=float) for v in (x, w, a))
    u = x @ w.T  # (n, m)
    gate = (u > 0).astype(float) * a  # d f / d w_j = a_j 1{<w_j, x> > 0} x
    dw = (gate[:, :, None] * x[:, None, :]).reshape(len(x), -1)
    return np.concatenate([dw, np.maximum(u, 0.0)], axis=1)

"""Kernel ridge regression with its bandwidth and penalty chosen on held-out data: the fair
linear baseline of the Part 1 comparisons (deep nets against every linear estimator).

For a kernel ``k_h`` and penalty ``lam`` the estimator is
``f(x) = sum_i alpha_i k_h(x, x_i)``, ``alpha = (K + n lam I)^{-1} y``, the minimiser of
``(1/n) sum_i (f(x_i) - y_i)^2 + lam |f|_H^2`` (e.g. Steinwart & Christmann 2008, Thm 5.5 and
eq. 5.11). It is linear in y, so it is among the linear estimators whose minimax rate over Besov
classes with p < 2 is slower than the adaptive one (Donoho & Johnstone 1998).

:func:`fit_select` fits every ``(bandwidth, lam)`` pair on a training split with one Cholesky
factorisation per pair (shared by all target columns of ``y``: the inputs are the same), scores
each on a validation split, and keeps, per column, the pair with the smallest validation error.
The test set is never used to choose. One factorisation per pair costs ``n^3 / 3``; an
eigendecomposition per bandwidth would serve every lam but costs about ten times as much per
matrix on a CPU, and the grids here have few lams per bandwidth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

KERNELS = ("gaussian", "laplace")


def distances(a: np.ndarray, b: np.ndarray):
    """``|a_i - b_j|`` as a float64 torch tensor; ``a`` (m, d) or (m,), ``b`` likewise."""
    import torch

    ta = torch.as_tensor(np.asarray(a, dtype=float).reshape(len(a), -1))
    tb = torch.as_tensor(np.asarray(b, dtype=float).reshape(len(b), -1))
    return torch.cdist(ta, tb)


def kernel_of_distances(dist, kernel: str, bandwidth: float):
    """The kernel as a function of the distance: Gaussian ``exp(-r^2 / (2 h^2))`` or Laplace
    ``exp(-r / h)``."""
    import torch

    if kernel == "gaussian":
        return torch.exp(-0.5 * (dist / bandwidth) ** 2)
    if kernel == "laplace":
        return torch.exp(-dist / bandwidth)
    raise ValueError(f"kernel: {kernel!r} is not one of {', '.join(KERNELS)}")


def kernel_matrix(a: np.ndarray, b: np.ndarray, kernel: str, bandwidth: float):
    """``k_h(a_i, b_j)`` as a float64 torch tensor: Gaussian ``exp(-|a - b|^2 / (2 h^2))`` or
    Laplace ``exp(-|a - b| / h)``; ``a`` (m, d) or (m,), ``b`` likewise."""
    return kernel_of_distances(distances(a, b), kernel, bandwidth)


@dataclass
class Selection:
    """Per target column: the chosen bandwidth and lam, the validation MSE there, the test
    predictions of that fit ``(columns, n_test)``."""

    bandwidth: np.ndarray
    lam: np.ndarray
    val_mse: np.ndarray
    test_pred: np.ndarray


def fit_select(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
               x_test: np.ndarray, kernel: str, bandwidths: Sequence[float],
               lams: Sequence[float], dists: tuple | None = None) -> Selection:
    """Kernel ridge on ``(x_train, y_train)`` for every ``(bandwidth, lam)``, chosen per column
    of ``y`` (shape ``(n_train, columns)`` or ``(n_train,)``) by the MSE on ``(x_val, y_val)``.

    ``dists``: the train-train, validation-train and test-train :func:`distances`, when the
    caller has them (several kernels on the same points share them; the result is the same).
    """
    import torch

    y_tr = torch.as_tensor(np.asarray(y_train, dtype=float).reshape(len(x_train), -1))
    y_va = torch.as_tensor(np.asarray(y_val, dtype=float).reshape(len(x_val), -1))
    n, cols = y_tr.shape
    best = np.full(cols, np.inf)
    best_h, best_lam = np.zeros(cols), np.zeros(cols)
    best_pred = np.zeros((cols, len(x_test)))
    eye = torch.eye(n, dtype=torch.float64)
    if dists is None:
        dists = (distances(x_train, x_train), distances(x_val, x_train), None)
    d_train, d_val, d_test = dists
    for h in bandwidths:
        gram = kernel_of_distances(d_train, kernel, float(h))
        k_val = kernel_of_distances(d_val, kernel, float(h))
        k_test = None
        for lam in lams:
            chol, info = torch.linalg.cholesky_ex(gram + n * float(lam) * eye)
            if int(info) != 0:  # numerically singular at this lam: not a candidate
                continue
            alpha = torch.cholesky_solve(y_tr, chol)
            mse = ((k_val @ alpha - y_va) ** 2).mean(dim=0).numpy()
            better = mse < best
            if better.any():
                if k_test is None:
                    if d_test is None:  # at the first winning pair
                        d_test = distances(x_test, x_train)
                    k_test = kernel_of_distances(d_test, kernel, float(h))
                pred = (k_test @ alpha).numpy().T
                best[better], best_h[better], best_lam[better] = mse[better], h, lam
                best_pred[better] = pred[better]
    if not np.isfinite(best).all():
        raise ValueError("fit_select: no (bandwidth, lam) pair gave a positive definite system")
    return Selection(best_h, best_lam, best, best_pred)

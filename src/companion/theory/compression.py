"""Effective degrees of freedom and spectral pruning of a layer (Suzuki et al. 2020).

For a hidden layer with (uncentred) covariance ``Sigma = E[h h^T]`` of its ``m`` unit outputs
``h``, Suzuki, Abe, Murata, Horiuchi, Ito, Wachi, Hirai, Yukishima and Nishimura, "Spectral
pruning: compressing deep neural networks via spectral analysis and its generalization error"
(IJCAI 2020), measure its size by the degrees of freedom

    N(lambda) = tr[Sigma (Sigma + lambda I)^{-1}] = sum_j s_j / (s_j + lambda)

(their eq. (4); ``s_j`` the eigenvalues) and compress it to a subset ``J`` of its units whose
outputs reconstruct the whole layer's in the covariance sense (their eq. (2), the input-aware
criterion):

    L(J) = min_A E||h - A h_J||^2 + lambda ||A||_F^2
         = tr[Sigma - Sigma_{:,J} (Sigma_{J,J} + lambda I)^{-1} Sigma_{J,:}],
    A_J  = Sigma_{:,J} (Sigma_{J,J} + lambda I)^{-1}.

The next layer then reads ``W_next A_J h_J`` instead of ``W_next h``. ``J`` is chosen greedily
(their Section 3 selects by a discrete optimisation; forward selection is the standard
approximation): adding unit ``j`` lowers ``L`` by ``||R_{:,j}||^2 / (R_jj + lambda)`` where
``R = Sigma - Sigma_{:,J}(Sigma_{J,J} + lambda I)^{-1} Sigma_{J,:}`` (block inversion), and
``R`` takes the rank-one update ``R - R_{:,j} R_{j,:} / (R_jj + lambda)``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray


def covariance(h: ArrayLike) -> NDArray[np.float64]:
    """``E[h h^T]`` over the rows of ``h`` (``(n, m)``), uncentred as in Suzuki et al."""
    h = np.asarray(h, dtype=float)
    return h.T @ h / h.shape[0]


def degrees_of_freedom(eigenvalues: ArrayLike, lam: float) -> float:
    """``N(lambda) = sum_j s_j / (s_j + lambda)`` (Suzuki et al. 2020, eq. (4))."""
    s = np.clip(np.asarray(eigenvalues, dtype=float), 0.0, None)
    return float(np.sum(s / (s + lam)))


def compressed_size(eigenvalues: ArrayLike, lam: float) -> int:
    """The number of units kept: ``ceil(N(lambda))``, at least 1."""
    return max(1, math.ceil(degrees_of_freedom(eigenvalues, lam) - 1e-9))


def reconstruction_error(sigma: ArrayLike, subset: ArrayLike, lam: float) -> float:
    """``L(J) = tr[Sigma - Sigma_{:,J} (Sigma_{J,J} + lambda I)^{-1} Sigma_{J,:}]``."""
    sigma = np.asarray(sigma, dtype=float)
    j = np.asarray(subset, dtype=int)
    cross = sigma[:, j]
    kept = np.linalg.solve(sigma[np.ix_(j, j)] + lam * np.eye(j.size), cross.T)
    return float(np.trace(sigma) - np.sum(cross * kept.T))


def spectral_prune(sigma: ArrayLike, size: int, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """``(J, A_J)``: ``size`` units chosen by greedy forward selection on ``L(J)`` and the
    reconstruction matrix ``A_J = Sigma_{:,J} (Sigma_{J,J} + lambda I)^{-1}`` (``(m, size)``); see
    the module doc. ``lam`` may be 0 when the kept block stays nonsingular."""
    sigma = np.asarray(sigma, dtype=float)
    m = sigma.shape[0]
    if not 1 <= size <= m:
        raise ValueError(f"size: {size} must lie in [1, {m}]")
    resid = sigma.copy()
    chosen: list[int] = []
    free = np.ones(m, dtype=bool)
    for _ in range(size):
        denom = np.diag(resid) + lam
        with np.errstate(divide="ignore", invalid="ignore"):
            gain = np.where(free & (denom > 0), np.sum(resid**2, axis=0) / denom, -np.inf)
        j = int(np.argmax(gain))
        if not np.isfinite(gain[j]):  # every remaining unit is exactly reconstructed already
            j = int(np.flatnonzero(free)[0])
        chosen.append(j)
        free[j] = False
        if denom[j] > 0:
            col = resid[:, j].copy()
            resid -= np.outer(col, col) / denom[j]
    subset = np.asarray(chosen)
    block = sigma[np.ix_(subset, subset)] + lam * np.eye(size)
    recon = np.linalg.lstsq(block, sigma[subset, :], rcond=None)[0].T
    return subset, recon

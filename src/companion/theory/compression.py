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

The penalty of each layer is chosen by :func:`balanced_lambda` from the compression-based bound
(:func:`bound_terms`) before any pruning is seen.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq


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
    try:  # a Cholesky solve when lambda > 0 keeps the block positive definite (the usual case)
        recon = np.linalg.solve(block, sigma[subset, :]).T
    except np.linalg.LinAlgError:  # lam = 0 on a rank-deficient block: the least-squares A_J
        recon = np.linalg.lstsq(block, sigma[subset, :], rcond=None)[0].T
    return subset, recon


def relative_dof(eigenvalues: ArrayLike, lam_rel: float) -> float:
    """``N(lambda)`` at ``lambda = lam_rel tr(Sigma)``: ``sum_j p_j / (p_j + lam_rel)`` with
    ``p = s / sum(s)``; 0 for a layer without variance."""
    s = np.clip(np.asarray(eigenvalues, dtype=float), 0.0, None)
    total = float(s.sum())
    return 0.0 if total <= 0.0 else degrees_of_freedom(s / total, lam_rel)


def bound_terms(lams_rel: Sequence[float], sizes: Sequence[float], d: int,
                n: int) -> tuple[float, float]:
    """The two terms of the bound on the compressed network's generalisation error of Suzuki et
    al. (2020; arXiv:1808.08558, whose abstract names the bias-variance trade-off the compression
    induces), in the form the lecture's table of generalisation bounds quotes it (row "Suzuki et
    al. (2018)"), constants and log factors set to one as in that table:

        bias = sum_l sqrt(lambda_l),   estimation = sqrt(sum_l m#_{l+1} m#_l / n),

    the sums over the hidden layers and over the weight matrices, ``m#_1 = d`` (the input),
    ``m#_{L+1} = 1`` (the output) and ``m#_l`` the compressed sizes (``sizes``) in between.
    ``lambda_l`` is measured relative to ``tr(Sigma_l)`` (``lams_rel``), so that ``sqrt(lambda)``
    is the error of the best unit-norm read-out of the layer relative to the layer's RMS norm
    (Bach's bound ``sup_w inf_w' E[(w^T h - w'^T h_J)^2] <~ lambda``); a layer's scale then drops
    out, as it does from a bias-free ReLU net's function under ``W_l -> c W_l``,
    ``W_{l+1} -> W_{l+1} / c``."""
    dims = [float(d), *(float(m) for m in sizes), 1.0]
    bias = float(np.sum(np.sqrt(np.asarray(lams_rel, dtype=float))))
    params = sum(a * b for a, b in zip(dims[:-1], dims[1:], strict=True))
    return bias, math.sqrt(params / n)


def balanced_lambda(eigenvalues: ArrayLike, fan: float, n: int) -> float:
    """The relative penalty ``r = lambda / tr(Sigma)`` at which one layer's two terms of
    :func:`bound_terms` balance: the bias its truncation adds, ``sqrt(r)``, against the estimation
    term of the weights its kept units carry, ``sqrt(fan N(r) / n)``, where ``fan`` is the number
    of units feeding the layer after their own compression (the input dimension for the first
    layer; one more for the last hidden layer, whose units also carry the output weights, so that
    the layers' shares add up to ``sum_l m#_{l+1} m#_l``) and ``N(r)`` the degrees of freedom
    (:func:`relative_dof`; the continuous ``N`` rather than its ceiling, so the root is unique):

        r = fan N(r) / n.

    ``r - fan N(r) / n`` increases strictly from ``-fan rank / n`` at ``r = 0`` and is positive at
    ``r = fan m / n`` (``N < m``), so one root lies in between. At the root the layer's share of the
    bound is within a factor two of its smallest value over ``r``: both terms equal some ``v``
    there, and at any other ``r`` one of them (the bias above the root, the estimation term below
    it) is at least ``v``."""
    s = np.clip(np.asarray(eigenvalues, dtype=float), 0.0, None)
    if fan <= 0 or n <= 0:
        raise ValueError(f"fan and n must be positive; got fan={fan}, n={n}")
    if float(s.sum()) <= 0.0:  # a dead layer: nothing to balance, the smallest penalty
        return 0.0
    hi = fan * s.size / n

    def gap(r: float) -> float:
        return r - fan * relative_dof(s, r) / n

    # The bracket starts just above 0, where N(0) = rank would need 0/0 for null eigenvalues.
    return float(brentq(gap, np.finfo(float).tiny, hi, xtol=1e-15, rtol=1e-12))

"""The two-layer ReLU neural tangent kernel in closed form, and its spectrum on the sphere.

The network is ``f(x) = M^{-1/2} sum_j a_j relu(<w_j, x>)`` with ``a_j, w_j ~ N(0, 1)`` and both
layers trained by gradient descent with the same step (the NTK parameterisation of Jacot, Gabriel
& Hongler 2018). As M -> infinity its tangent kernel is deterministic (Jacot et al. 2018, Thm 1):

    K(x, y) = E_w[relu(<w,x>) relu(<w,y>)] + <x, y> E_w[1{<w,x> > 0} 1{<w,y> > 0}],

the sum of the second layer's kernel and the first layer's. Both expectations are arc-cosine
kernels (Cho & Saul 2009, eq. (6)): with ``cos(theta) = <x,y>/(|x||y|)``,

    E[1{<w,x>>0} 1{<w,y>>0}] = (pi - theta) / (2 pi)                     = k_0 / 2,
    E[relu(<w,x>) relu(<w,y>)] = |x||y| (sin(theta) + (pi - theta) cos(theta)) / (2 pi) = k_1 / 2.

On the unit sphere S^{d-1} the kernel depends on ``t = <x, y>`` only, so by the Funk-Hecke formula
the spherical harmonics of degree k are its eigenfunctions (Bietti & Mairal 2019, Sec. 3), with
eigenvalue (w.r.t. the uniform probability measure on the sphere)

    mu_k = (|S^{d-2}| / |S^{d-1}|) int_{-1}^{1} K(t) P_k(t) (1 - t^2)^{(d-3)/2} dt,

where ``P_k = C_k^{(d-2)/2} / C_k^{(d-2)/2}(1)`` is the Gegenbauer (Legendre) polynomial of degree k
in dimension d, and multiplicity ``N(d, k)``. Bietti & Mairal (2019, Prop. 5) show
``mu_k ~ C(d) k^{-d}`` for even k and ``mu_k = 0`` for odd ``k >= 3``: the odd part of K is
exactly linear in t (see :func:`relu_ntk`), so it is orthogonal to every odd harmonic of degree 3
or more. We evaluate the integral in the angle ``theta`` (``t = cos theta``), where K is analytic,
so Gauss-Legendre quadrature converges exponentially.
"""

from __future__ import annotations

import numpy as np
from scipy import special

# ----------------------------------------------------------------------------- kernels


def arccos_kernel(order: int, t: np.ndarray) -> np.ndarray:
    """The normalised arc-cosine kernel ``k_order`` of Cho & Saul (2009, eq. (6)) for unit vectors.

    ``k_0(t) = 1 - theta/pi`` and ``k_1(t) = (sin theta + (pi - theta) cos theta) / pi`` with
    ``theta = arccos t``. ``E_w[relu(<w,x>)^n relu(<w,y>)^n]`` for ``w ~ N(0, I)`` is
    ``|x|^n |y|^n k_n / 2``.
    """
    t = np.clip(np.asarray(t, dtype=float), -1.0, 1.0)
    theta = np.arccos(t)
    if order == 0:
        return 1.0 - theta / np.pi
    if order == 1:
        return (np.sqrt(1.0 - t * t) + (np.pi - theta) * t) / np.pi
    raise ValueError(f"order: {order} is not 0 or 1")


def relu_ntk(t: np.ndarray) -> np.ndarray:
    """The infinite-width two-layer ReLU NTK on the unit sphere as a function of ``t = <x, y>``.

    ``K(t) = (k_1(t) + t k_0(t)) / 2 = (sqrt(1 - t^2) + 2 t (pi - arccos t)) / (2 pi)``.
    Writing ``arccos t = pi/2 - arcsin t`` gives
    ``K(t) = (sqrt(1-t^2) + 2 t arcsin t)/(2 pi) + t/2``: an even function plus a linear one,
    which is why the odd degrees >= 3 have zero eigenvalue.
    """
    return 0.5 * (arccos_kernel(1, t) + np.asarray(t, dtype=float) * arccos_kernel(0, t))


def relu_ntk_gram(x: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
    """The infinite-width NTK Gram matrix ``K(x_i, y_j)`` for inputs of any norm.

    ``K(x, y) = |x||y| k_1 / 2 + <x, y> k_0 / 2`` (the two terms of the module docstring); rows
    of ``x`` and ``y`` are the points, already multiplied by the first layer's scale (1/sqrt(d) in
    the NTK parameterisation).
    """
    y = x if y is None else y
    nx = np.linalg.norm(x, axis=1)
    ny = np.linalg.norm(y, axis=1)
    inner = x @ y.T
    denom = np.outer(nx, ny)
    t = np.divide(inner, denom, out=np.zeros_like(inner), where=denom > 0)
    return 0.5 * (denom * arccos_kernel(1, t) + inner * arccos_kernel(0, t))


# ----------------------------------------------------------------------------- spherical harmonics


def harmonic_dimension(d: int, k: int) -> int:
    """``N(d, k)``: the dimension of the degree-k spherical harmonics on ``S^{d-1}``.

    ``N(d, 0) = 1`` and ``N(d, k) = (2k + d - 2)/k * binom(k + d - 3, d - 2)`` (Atkinson & Han 2012,
    eq. (2.10)).
    """
    if k == 0:
        return 1
    return int(round((2 * k + d - 2) / k * special.comb(k + d - 3, d - 2, exact=True)))


def legendre(d: int, k: int, t: np.ndarray) -> np.ndarray:
    """The Legendre polynomial of degree k in dimension d, ``P_k(1) = 1`` (Gegenbauer index
    (d-2)/2).

    For ``d >= 3`` it is ``C_k^{(d-2)/2}(t) / C_k^{(d-2)/2}(1)``. By the addition theorem,
    ``sum_j Y_kj(x) Y_kj(y) = N(d, k) P_k(<x, y>)`` for an orthonormal basis of degree-k harmonics
    in ``L^2`` of the uniform probability measure.
    """
    if d < 3:
        raise ValueError(f"d: {d} must be >= 3")
    alpha = (d - 2) / 2.0
    return special.eval_gegenbauer(k, alpha, t) / special.eval_gegenbauer(k, alpha, 1.0)


def sphere_area_ratio(d: int) -> float:
    """``|S^{d-2}| / |S^{d-1}| = Gamma(d/2) / (sqrt(pi) Gamma((d-1)/2))``."""
    return float(np.exp(special.gammaln(d / 2) - special.gammaln((d - 1) / 2)) / np.sqrt(np.pi))


def funk_hecke_eigenvalues(kernel, d: int, degrees, n_nodes: int | None = None) -> np.ndarray:
    """Eigenvalues ``mu_k`` of a zonal kernel ``kernel(t)`` on ``S^{d-1}`` by Funk-Hecke quadrature.

    ``mu_k = (|S^{d-2}|/|S^{d-1}|) int_0^pi kernel(cos th) P_k(cos th) sin(th)^{d-2} dth`` (the
    formula of the module docstring after ``t = cos th``), by Gauss-Legendre quadrature in ``th``
    with enough nodes to resolve the oscillation of ``P_k``.
    """
    degrees = np.asarray(degrees, dtype=int)
    if n_nodes is None:
        n_nodes = 4 * int(degrees.max(initial=0)) + 4 * d + 200
    nodes, weights = np.polynomial.legendre.leggauss(n_nodes)
    theta = 0.5 * np.pi * (nodes + 1.0)
    weights = 0.5 * np.pi * weights
    t = np.cos(theta)
    base = weights * kernel(t) * np.sin(theta) ** (d - 2)
    return np.array([sphere_area_ratio(d) * np.sum(base * legendre(d, int(k), t))
                     for k in degrees])


# Odd-degree (k >= 3) eigenvalues whose quadrature value is below this share of the largest are
# round-off of an exact zero (Bietti & Mairal 2019, Prop. 5) and are set to 0.
ROUND_OFF = 1e-12


def relu_ntk_eigenvalues(d: int, degrees) -> np.ndarray:
    """``mu_k`` of the two-layer ReLU NTK (:func:`relu_ntk`) on ``S^{d-1}`` (Bietti & Mairal
    2019), with the odd degrees >= 3 exactly 0 where the quadrature gives round-off (~1e-17).

    A value above ``ROUND_OFF`` times the largest is kept as computed, so a wrong kernel or
    quadrature still shows; :func:`funk_hecke_eigenvalues` gives the raw values.
    """
    degrees = np.asarray(degrees, dtype=int)
    mu = funk_hecke_eigenvalues(relu_ntk, d, degrees)
    odd = (degrees >= 3) & (degrees % 2 == 1)
    scale = np.max(np.abs(mu)) if mu.size else 0.0
    return np.where(odd & (np.abs(mu) <= ROUND_OFF * scale), 0.0, mu)


def spectrum_with_multiplicity(d: int, mu: np.ndarray, degrees) -> tuple[np.ndarray, np.ndarray]:
    """The operator's eigenvalues sorted in decreasing order, each ``mu_k`` repeated ``N(d, k)``
    times, with the degree each came from; degrees with ``mu_k <= 0`` are left out."""
    values, origin = [], []
    for k, m in zip(degrees, mu, strict=True):
        if m > 0:
            n = harmonic_dimension(d, int(k))
            values.append(np.full(n, m))
            origin.append(np.full(n, int(k)))
    values = np.concatenate(values)
    origin = np.concatenate(origin)
    order = np.argsort(-values, kind="stable")
    return values[order], origin[order]


def zonal_harmonic(d: int, k: int, x: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """A unit-norm degree-k harmonic: ``sqrt(N(d,k)) P_k(<x, v>)`` for unit rows x and unit v.

    ``||P_k(<., v>)||^2 = 1/N(d, k)`` in ``L^2`` of the uniform probability measure (addition
    theorem at x = y), so the factor makes the function have unit norm.
    """
    return np.sqrt(harmonic_dimension(d, k)) * legendre(d, k, x @ direction)


# ----------------------------------------------------------------------------- gradient descent


def linearised_residuals(gram: np.ndarray, r0: np.ndarray, lr: float,
                         steps: np.ndarray) -> np.ndarray:
    """Residuals of gradient descent on the linearised model at the given step counts.

    For the loss ``(1/2n) sum_i (f(x_i) - y_i)^2`` and a fixed tangent kernel K, one step maps the
    residual r to ``(I - lr K / n) r`` (Jacot et al. 2018; Lee et al. 2019, eq. (9), discrete
    time); the result has shape ``(len(steps), n)``.
    """
    n = gram.shape[0]
    evals, evecs = np.linalg.eigh(gram / n)
    coef = evecs.T @ r0
    factors = (1.0 - lr * evals)[None, :] ** np.asarray(steps, dtype=float)[:, None]
    return (factors * coef[None, :]) @ evecs.T


def lambda_min_bound(loss0: float, lam_min: float, lam_max: float, lr: float,
                     steps: np.ndarray) -> np.ndarray:
    """The linear-convergence envelope ``L_t <= rho^{2t} L_0`` of the linearised dynamics.

    ``rho = max(|1 - lr lam_min|, |1 - lr lam_max|)`` over the eigenvalues of ``K/n``; it is the
    discrete-time form of ``exp(-2 lam_min t)`` (Du et al. 2019, Thm 4.1) and equals
    ``1 - lr lam_min`` whenever ``lr lam_max <= 1``.
    """
    rho = max(abs(1.0 - lr * lam_min), abs(1.0 - lr * lam_max))
    return loss0 * rho ** (2.0 * np.asarray(steps, dtype=float))


def loss_decay_rate(lam_min: float, lam_max: float, lr: float) -> float:
    """Late-time decay rate per step of ``log L_t`` under the linearised dynamics: ``-2 log rho``.

    The residual's component along the eigenvector of ``K/n`` with eigenvalue ``lam`` shrinks by
    ``|1 - lr lam|`` per step, so once the slowest component dominates ``log L_t`` falls by
    ``-2 log rho`` per step, ``rho`` as in :func:`lambda_min_bound`; ``~ 2 lr lam_min`` for a small
    step (Du et al. 2019, Thm 4.1, the exponent of ``exp(-lam_min t)`` in discrete time).
    """
    rho = max(abs(1.0 - lr * lam_min), abs(1.0 - lr * lam_max))
    return float(-2.0 * np.log(rho))


def fit_time(mu: float, lr: float, threshold: float) -> float:
    """Steps until a kernel eigen-component shrinks to ``threshold`` of itself under gradient
    descent: ``(1 - lr mu)^t = threshold``, i.e. ``t = log(threshold) / log(1 - lr mu)``."""
    if not 0.0 < lr * mu < 1.0:
        return float("inf") if lr * mu <= 0 else 1.0
    return float(np.log(threshold) / np.log1p(-lr * mu))


def fit_time_with_floor(mu: float, lr: float, threshold: float, floor: float) -> float:
    """Steps until a component's test-set residual falls to ``threshold`` when it decays at the
    population rate towards a floor instead of 0: ``floor + (1 - floor)(1 - lr mu)^t =
    threshold``, i.e. :func:`fit_time` at the threshold ``(threshold - floor) / (1 - floor)``;
    ``inf`` when ``floor >= threshold``. With ``n`` training points, kernel gradient descent
    recovers only part of a high-degree component on fresh points (its limit, the kernel
    interpolant, leaves the share ``floor`` of it), which the population prediction
    ``(1 - lr mu_k)^t -> 0`` ignores."""
    if floor >= threshold:
        return float("inf")
    return fit_time(mu, lr, (threshold - max(floor, 0.0)) / (1.0 - max(floor, 0.0)))


def kernel_gd_predictions(k_eval_train: np.ndarray, k_train: np.ndarray, y: np.ndarray,
                          lr: float, steps: np.ndarray) -> np.ndarray:
    """Predictions of kernel gradient descent started at f = 0, at the given step counts.

    With residual ``r_t = (I - lr K/n)^t (-y)`` on the training set, the function at any point x
    is ``f_t(x) = K(x, X)/n * V diag((1 - (1 - lr lam)^t) / lam) V^T y`` where ``K/n = V diag(lam)
    V^T`` (the discrete-time form of Lee et al. 2019, eq. (10)); ``lam -> 0`` gives ``lr t``. The
    result has shape ``(len(steps), n_eval)``.
    """
    n = k_train.shape[0]
    lam, vecs = np.linalg.eigh(k_train / n)
    lam = np.clip(lam, 0.0, None)
    coef = vecs.T @ y
    t = np.asarray(steps, dtype=float)[:, None]
    decay = (1.0 - lr * lam)[None, :] ** t
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = np.where(lam > 1e-14, (1.0 - decay) / np.where(lam > 1e-14, lam, 1.0), lr * t)
    return (gain * coef[None, :]) @ (k_eval_train @ vecs).T / n

"""The Gibbs law of a 2-D polynomial potential, by quadrature on a grid aligned with histogram bins.

For ``L(x, y) = sum_{i,j} c[i][j] x^i y^j`` (``c`` in numpy's ``polyval2d`` layout) the Gibbs law
``pi ∝ exp(-beta L)`` of gradient Langevin dynamics (Raginsky, Rakhlin and Telgarsky 2017,
eq. (1.2)) has no closed form; it is tabulated here by the midpoint rule on a uniform grid whose
cells subdivide the histogram's bins, so the bin masses are exact sums of cells and the mass
outside the histogram's range is what the rest of the grid holds. The grid reaches
``beta (L - min L) = TAIL_NATS`` in every direction (:data:`companion.theory.gibbs.TAIL_NATS`).

Also: a sufficient test of confinement (a positive leading form), the local minima and the basins
of attraction of the gradient flow on the bins' centres, and the radius beyond which the Euler
step overshoots (where the unadjusted Langevin algorithm diverges; Mattingly, Stuart and Higham
2002), with the expected number of chain-steps that reach it.

The discrete GLD chain's own stationary law ``pi_eta`` (whose distance to ``pi`` is the O(eta)
discretisation bias; Vempala and Wibisono 2019, Thm. 1) as in 1-D
(:func:`companion.theory.gibbs.euler_stationary_law`): a Nyström discretisation of its Gaussian
transition kernel on a 2-D tensor grid, the stationary vector by Arnoldi iteration, moments and
bin masses from the Nyström interpolant; its closed form for a quadratic potential (a vector
AR(1) process) is the test. Pure numpy/scipy.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.polynomial import polynomial as npoly

from companion.theory.gibbs import TAIL_NATS

Coefficients = Sequence[Sequence[float]]

# Angles on which the leading form's positivity and the overshoot radius are checked.
_ANGLES = 720


def _c(coeffs: Coefficients) -> np.ndarray:
    return np.atleast_2d(np.asarray(coeffs, dtype=float))


def potential(coeffs: Coefficients, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``L(x, y)``."""
    return npoly.polyval2d(x, y, _c(coeffs))


def gradient(coeffs: Coefficients, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(dL/dx, dL/dy)``."""
    c = _c(coeffs)
    return (npoly.polyval2d(x, y, npoly.polyder(c, axis=0)),
            npoly.polyval2d(x, y, npoly.polyder(c, axis=1)))


def degree(coeffs: Coefficients) -> int:
    c = _c(coeffs)
    i, j = np.nonzero(c)
    return int((i + j).max()) if i.size else 0


def _leading_form(coeffs: Coefficients, theta: np.ndarray) -> np.ndarray:
    """The top-degree homogeneous part of ``L`` on the unit circle."""
    c = _c(coeffs)
    top = degree(coeffs)
    value = np.zeros_like(theta)
    for i, j in zip(*np.nonzero(c), strict=True):
        if i + j == top:
            value += c[i, j] * np.cos(theta) ** i * np.sin(theta) ** j
    return value


def confining_problem(coeffs: Coefficients) -> str | None:
    """Why ``L`` fails the confinement test, or ``None`` when it passes.

    Sufficient condition: the leading homogeneous form ``P_D`` (``D`` the total degree) is positive
    on the unit circle, so ``L(r u) >= r^D min P_D - O(r^(D-1))`` grows without bound in every
    direction and ``exp(-beta L)`` is integrable. ``D`` must then be even and at least 2.
    """
    top = degree(coeffs)
    if top < 2 or top % 2:
        return f"its total degree is {top}; it must be even and at least 2"
    form = _leading_form(coeffs, np.linspace(0.0, 2 * np.pi, _ANGLES, endpoint=False))
    scale = float(np.abs(_c(coeffs)).max())
    if form.min() <= 1e-9 * scale:
        return (f"its degree-{top} part is not positive in every direction (its minimum on the "
                f"unit circle is {form.min():.3g})")
    return None


def _escape_radius(coeffs: Coefficients, level: float) -> float:
    """A radius beyond which ``L - L(0) > level`` in every direction (doubling search)."""
    theta = np.linspace(0.0, 2 * np.pi, _ANGLES, endpoint=False)
    l0 = float(potential(coeffs, np.array(0.0), np.array(0.0)))
    r = 1.0
    while r < 1e6:
        radii = np.linspace(r, 2 * r, 64)[:, None]
        values = potential(coeffs, radii * np.cos(theta), radii * np.sin(theta)) - l0
        if values.min() > level:
            return r
        r *= 2.0
    raise ValueError("the potential does not grow within |x| < 1e6")


def local_minima(coeffs: Coefficients, extent: float, n_grid: int = 401) -> np.ndarray:
    """``(m, 2)`` local minimisers inside the square ``[-extent, extent]^2``, deepest first.

    Grid points lower than their eight neighbours, polished by Newton's method on the gradient.
    """
    t = np.linspace(-extent, extent, n_grid)
    xx, yy = np.meshgrid(t, t, indexing="ij")
    v = potential(coeffs, xx, yy)
    inner = v[1:-1, 1:-1]
    is_min = np.ones_like(inner, dtype=bool)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                is_min &= inner < v[1 + di:n_grid - 1 + di, 1 + dj:n_grid - 1 + dj]
    i, j = np.nonzero(is_min)
    points = np.stack([t[i + 1], t[j + 1]], axis=1)
    c = _c(coeffs)
    cxx, cyy = npoly.polyder(c, 2, axis=0), npoly.polyder(c, 2, axis=1)
    cxy = npoly.polyder(npoly.polyder(c, axis=0), axis=1)
    for _ in range(20):
        gx, gy = gradient(coeffs, points[:, 0], points[:, 1])
        hxx = npoly.polyval2d(points[:, 0], points[:, 1], cxx)
        hyy = npoly.polyval2d(points[:, 0], points[:, 1], cyy)
        hxy = npoly.polyval2d(points[:, 0], points[:, 1], cxy)
        det = hxx * hyy - hxy ** 2
        points = points - np.stack([(hyy * gx - hxy * gy) / det,
                                    (hxx * gy - hxy * gx) / det], axis=1)
    values = potential(coeffs, points[:, 0], points[:, 1])
    return points[np.argsort(values)]


def basin_labels(coeffs: Coefficients, minima: np.ndarray, x: np.ndarray,
                 y: np.ndarray, steps: int = 400, step: float = 0.05) -> np.ndarray:
    """Index into ``minima`` of the minimum that the gradient flow from each ``(x, y)`` reaches.

    Explicit gradient descent with the step capped at ``step`` in length (so far-out points of a
    steep potential do not overshoot), then the nearest minimum.
    """
    p = np.stack([np.ravel(x), np.ravel(y)], axis=1).astype(float)
    for _ in range(steps):
        gx, gy = gradient(coeffs, p[:, 0], p[:, 1])
        g = np.stack([gx, gy], axis=1)
        norm = np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1.0)
        p = p - step * g / norm
    dist = np.linalg.norm(p[:, None, :] - minima[None, :, :], axis=-1)
    return dist.argmin(axis=1).reshape(np.shape(x))


def quadrature_points(coeffs: Coefficients, beta: float, edges: np.ndarray, sub: int) -> int:
    """Grid points per axis that :meth:`GibbsLaw2D.of` will use (its cost is their square)."""
    edges = np.asarray(edges, dtype=float)
    h = (edges[1] - edges[0]) / sub
    extent = _escape_radius(coeffs, TAIL_NATS / beta)
    below = max(0, int(np.ceil((edges[0] + extent) / h)))
    above = max(0, int(np.ceil((extent - edges[-1]) / h)))
    return below + (len(edges) - 1) * sub + above


@dataclass(frozen=True)
class GibbsLaw2D:
    """``pi ∝ exp(-beta L)`` on the cells of a uniform grid (midpoint rule).

    ``x`` and ``y`` are the cells' centres, ``weights`` the cells' masses (summing to 1) and
    ``h`` the cell width; the grid is aligned with the histogram's bin edges ``edges``
    (``sub`` cells per bin and axis).
    """

    beta: float
    x: np.ndarray
    y: np.ndarray
    weights: np.ndarray  # (len(x), len(y))
    h: float
    edges: np.ndarray
    sub: int
    log_normaliser: float

    @classmethod
    def of(cls, coeffs: Coefficients, beta: float, edges: np.ndarray, sub: int = 8) -> GibbsLaw2D:
        edges = np.asarray(edges, dtype=float)
        h = (edges[1] - edges[0]) / sub
        extent = _escape_radius(coeffs, TAIL_NATS / beta)
        # Whole cells outwards from the bin range until the grid covers the tail box.
        below = max(0, int(np.ceil((edges[0] + extent) / h)))
        above = max(0, int(np.ceil((extent - edges[-1]) / h)))
        n_inner = (len(edges) - 1) * sub
        t = edges[0] + h * (np.arange(-below, n_inner + above) + 0.5)
        xx, yy = np.meshgrid(t, t, indexing="ij")
        log_w = -beta * potential(coeffs, xx, yy)
        shift = float(log_w.max())
        w = np.exp(log_w - shift)
        total = float(w.sum())
        return cls(beta=float(beta), x=t, y=t, weights=w / total, h=float(h), edges=edges,
                   sub=int(sub), log_normaliser=float(np.log(total * h * h) + shift))

    @property
    def _offset(self) -> int:
        return int(round((self.edges[0] - (self.x[0] - self.h / 2)) / self.h))

    def expect(self, values: np.ndarray) -> float:
        """``E_pi[f]`` for ``values = f(X, Y)`` on the ``(x, y)`` mesh."""
        return float(np.sum(values * self.weights))

    @property
    def mean(self) -> np.ndarray:
        return np.array([self.weights.sum(1) @ self.x, self.weights.sum(0) @ self.y])

    @property
    def covariance(self) -> np.ndarray:
        xx, yy = np.meshgrid(self.x - self.mean[0], self.y - self.mean[1], indexing="ij")
        cxy = self.expect(xx * yy)
        return np.array([[self.expect(xx ** 2), cxy], [cxy, self.expect(yy ** 2)]])

    def bin_masses(self) -> np.ndarray:
        """Masses of the ``B^2`` bins (row-major: bin ``(i, j)`` at ``i B + j``) and, last, of
        everything outside the histogram's range."""
        b = len(self.edges) - 1
        o, s = self._offset, self.sub
        inside = self.weights[o:o + b * s, o:o + b * s].reshape(b, s, b, s).sum(axis=(1, 3))
        flat = inside.ravel()
        return np.concatenate([flat, [max(0.0, 1.0 - float(flat.sum()))]])

    def density_on_bins(self) -> np.ndarray:
        """The density averaged over every bin, ``(B, B)``."""
        b = len(self.edges) - 1
        width = self.edges[1] - self.edges[0]
        return self.bin_masses()[:-1].reshape(b, b) / width ** 2


def _key(coeffs: Coefficients) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(v) for v in row) for row in np.atleast_2d(_c(coeffs)))


@functools.lru_cache(maxsize=8)
def _radial_gradient(key: tuple[tuple[float, ...], ...],
                     r_max: float) -> tuple[np.ndarray, np.ndarray]:
    """``<x, grad L(x)>`` on the polar grid of :func:`euler_overshoot_radius`, once per potential:
    ``check()`` asks for several step sizes of the same potential at every workflow parse."""
    theta = np.linspace(0.0, 2 * np.pi, _ANGLES // 2, endpoint=False)
    radii = np.geomspace(1e-3, r_max, 1500)
    x, y = radii[:, None] * np.cos(theta), radii[:, None] * np.sin(theta)
    gx, gy = gradient(np.asarray(key), x, y)
    radial = x * gx + y * gy
    radii.flags.writeable = radial.flags.writeable = False
    return radii, radial


def euler_overshoot_radius(coeffs: Coefficients, eta: float, r_max: float = 1e3) -> float:
    """The radius beyond which, in some direction, the Euler map throws every point past the
    origin and further out.

    That is where ``eta <x, grad L(x)> >= 2 |x|^2`` (the radial component of ``x - eta grad L``
    is ``<= -|x|``), the 2-D form of the region where the scheme diverges for a potential growing
    faster than quadratically (:func:`companion.theory.gibbs.euler_overshoot_region`). Per
    direction the outer region starts after the last radius where the condition fails (a linear
    tilt satisfies it in a tiny, harmless disc around the origin); the smallest such radius over
    the directions is returned (on a geometric grid of radii 0.9 % apart), ``inf`` when no
    direction overshoots within ``r_max``.
    """
    radii, radial = _radial_gradient(_key(coeffs), float(r_max))
    over = eta * radial >= 2 * radii[:, None] ** 2  # (radii, angles)
    outer = over[-1]
    if not outer.any():
        return float("inf")
    # Index of the last radius at which each overshooting direction does not overshoot.
    last_ok = len(radii) - 1 - np.argmax(~over[::-1, outer], axis=0)
    return float(radii[np.minimum(last_ok + 1, len(radii) - 1)].min())


def euler_overshoot_probability(law: GibbsLaw2D, coeffs: Coefficients, eta: float) -> float:
    """Probability that one GLD step from a Gibbs-distributed state lands beyond the overshoot
    radius: ``E_{x ~ pi} P(|x - eta grad L(x) + sqrt(2 eta / beta) xi| >= r)``, a noncentral
    chi-square tail (the Gibbs law standing in for the chain's own).

    The tail is ``1 - chndtr``: its absolute error (~1e-16) is far below any count of overshoots
    that matters over ``1e7``-odd chain steps, and ``scipy.special`` loads in a fraction of the
    time ``scipy.stats`` takes; this runs in ``check()``, at every parse of the workflow."""
    from scipy.special import chndtr

    r = euler_overshoot_radius(coeffs, eta)
    if not np.isfinite(r):
        return 0.0
    sigma2 = 2.0 * eta / law.beta
    xx, yy = np.meshgrid(law.x, law.y, indexing="ij")
    # Cells below 1e-30 of mass cannot contribute a visible probability: skip their tails.
    live = law.weights > 1e-30
    gx, gy = gradient(coeffs, xx[live], yy[live])
    centre2 = (xx[live] - eta * gx) ** 2 + (yy[live] - eta * gy) ** 2
    tail = np.clip(1.0 - chndtr(r ** 2 / sigma2, 2, centre2 / sigma2), 0.0, 1.0)
    return float(np.sum(tail * law.weights[live]))


# --- the discretised chain's stationary law ----------------------------------------------------

# Grid spacing of the chain's kernel, in kernel widths, and where the kernel is cut. The
# trapezoid rule on a Gaussian of width sigma sampled at spacing h errs by about
# exp(-2 pi^2 sigma^2 / h^2) (Poisson summation; Trefethen and Weideman 2014, SIAM Rev. 56, Thm.
# 5.1), and the integrand p(x) K(x, y) of the Nyström step is at least that smooth on the scale
# sigma / sqrt(2): 1.5 points per width leaves ~1e-10, against ~1e-3 for the chains' standard
# errors (the tests compare with 3 points per width and with the closed form). The Gaussian
# beyond 6 widths holds ~2e-9 of its mass.
CHAIN_POINTS_PER_SIGMA = 1.5
CHAIN_KERNEL_SIGMAS = 6.0
# Points per axis of the coarse grid on which the sublevel box is located.
_BOX_GRID = 401


def euler_quadratic_stationary_covariance(hessian: np.ndarray, beta: float,
                                          eta: float) -> np.ndarray:
    """Stationary covariance of the Euler chain for ``L = x^T A x / 2 - b^T x``:
    ``(A (I - eta A / 2))^(-1) / beta``.

    The chain is the vector AR(1) process ``X' = (I - eta A) X + eta b + sqrt(2 eta / beta) xi``;
    with ``M = I - eta A`` symmetric, the stationary covariance solves ``S = M S M + (2 eta /
    beta) I``, so ``S = (2 eta / beta) (I - M^2)^(-1)``, stationary iff every eigenvalue of ``eta
    A`` lies in ``(0, 2)``; its mean is ``A^(-1) b`` whatever eta. The 2-D form of
    :func:`companion.theory.gibbs.euler_quadratic_stationary_variance` (the O(eta) bias of the
    unadjusted Langevin algorithm in the Gaussian case; Vempala and Wibisono 2019, Sec. 3.2).
    """
    a = np.asarray(hessian, dtype=float)
    eig = np.linalg.eigvalsh(a)
    if not (beta > 0 and eig.min() > 0 and eta * eig.max() < 2):
        raise ValueError(f"no stationary law: need beta > 0 and every eigenvalue of eta A in "
                         f"(0, 2) (eigenvalues {eig}, beta={beta}, eta={eta})")
    return np.linalg.inv(a @ (np.eye(len(a)) - eta * a / 2.0)) / beta


def sublevel_box(coeffs: Coefficients, level: float) -> tuple[float, float, float, float]:
    """``(x_lo, x_hi, y_lo, y_hi)``: a box containing ``{L - min L <= level}`` (``level > 0``).

    The set lies inside ``{L - L(0) <= level}``, hence inside the escape radius
    (:func:`_escape_radius`); it is located on a coarse grid there and padded by one of its cells.
    """
    r = _escape_radius(coeffs, level)
    t = np.linspace(-r, r, _BOX_GRID)
    xx, yy = np.meshgrid(t, t, indexing="ij")
    v = potential(coeffs, xx, yy)
    inside = v - v.min() <= level
    i, j = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    d = t[1] - t[0]
    return float(t[i[0]] - d), float(t[i[-1]] + d), float(t[j[0]] - d), float(t[j[-1]] + d)


def chain_grid(coeffs: Coefficients, beta: float, eta: float,
               points_per_sigma: float = CHAIN_POINTS_PER_SIGMA,
               kernel_sigmas: float = CHAIN_KERNEL_SIGMAS) -> tuple[np.ndarray, np.ndarray]:
    """The nodes ``(x, y)`` per axis of :func:`euler_transition_matrix_2d`: spacing
    ``sigma / points_per_sigma`` (``sigma = sqrt(2 eta / beta)``) over the box where
    ``beta (L - min L) <= TAIL_NATS``, widened by ``kernel_sigmas`` kernel widths (the chain's
    law is wider than pi by O(eta)) but kept inside the overshoot radius
    (:func:`euler_overshoot_radius`), beyond which the scheme diverges."""
    sigma = float(np.sqrt(2.0 * eta / beta))
    h = sigma / points_per_sigma
    x_lo, x_hi, y_lo, y_hi = sublevel_box(coeffs, TAIL_NATS / beta)
    cap = 0.99 * euler_overshoot_radius(coeffs, eta)
    axes = []
    for lo, hi in ((x_lo, x_hi), (y_lo, y_hi)):
        lo = max(lo - kernel_sigmas * sigma, -cap)
        hi = min(hi + kernel_sigmas * sigma, cap)
        axes.append(lo + h * np.arange(int(np.ceil((hi - lo) / h)) + 1))
    return axes[0], axes[1]


def chain_grid_nodes(coeffs: Coefficients, beta: float, eta: float) -> int:
    """Nodes of :func:`chain_grid` (the kernel stores :func:`kernel_entries_per_node` entries per
    node): what the memory estimate is made from."""
    x, y = chain_grid(coeffs, beta, eta)
    return len(x) * len(y)


def kernel_entries_per_node(points_per_sigma: float = CHAIN_POINTS_PER_SIGMA,
                            kernel_sigmas: float = CHAIN_KERNEL_SIGMAS) -> int:
    """At most this many entries per row of :func:`euler_transition_matrix_2d`: ``2 half + 1``
    per axis with ``half = ceil(kernel_sigmas points_per_sigma)``, plus one for the round-off of
    the grid spacing (which can lift the ceiling of a whole number)."""
    return (2 * (int(np.ceil(kernel_sigmas * points_per_sigma)) + 1) + 1) ** 2


def euler_transition_matrix_2d(coeffs: Coefficients, beta: float, eta: float,
                               points_per_sigma: float = CHAIN_POINTS_PER_SIGMA,
                               kernel_sigmas: float = CHAIN_KERNEL_SIGMAS
                               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, object]:
    """``(x, y, targets, K)``: the GLD chain's Gaussian kernel discretised on a 2-D tensor grid.

    A Nyström discretisation (Nyström 1930; Atkinson 1997, The Numerical Solution of Integral
    Equations of the Second Kind, Sec. 4.1) of ``y ~ N(x - eta grad L(x), (2 eta / beta) I)``
    on the nodes of :func:`chain_grid`: row ``i x n_y + j`` of the sparse row-stochastic ``K``
    holds the kernel from node ``(x_i, y_j)``, which factorises over the axes, so it is the outer
    product of the two 1-D rows of :func:`companion.theory.gibbs.gaussian_kernel_rows` (each cut
    at ``kernel_sigmas`` widths and renormalised). ``targets`` are the drifts ``x - eta grad L``
    per node ``(n_x n_y, 2)``, clipped into the grid like the 1-D ones (nodes where the Euler map
    overshoots carry no visible mass).
    """
    from scipy import sparse

    from companion.theory.gibbs import gaussian_kernel_rows

    sigma = float(np.sqrt(2.0 * eta / beta))
    x, y = chain_grid(coeffs, beta, eta, points_per_sigma, kernel_sigmas)
    xx, yy = np.meshgrid(x, y, indexing="ij")
    gx, gy = gradient(coeffs, xx, yy)
    tx = np.clip(xx - eta * gx, x[0], x[-1]).ravel()
    ty = np.clip(yy - eta * gy, y[0], y[-1]).ravel()
    cols_x, vals_x, _ = gaussian_kernel_rows(x, tx, sigma, kernel_sigmas)
    cols_y, vals_y, _ = gaussian_kernel_rows(y, ty, sigma, kernel_sigmas)
    n = len(x) * len(y)
    width = cols_x.shape[1] * cols_y.shape[1]
    # Entries off the grid have the value 0 and a clipped (repeated) index: harmless in products.
    cols = (cols_x[:, :, None] * len(y) + cols_y[:, None, :]).astype(np.int32).reshape(-1)
    vals = (vals_x[:, :, None] * vals_y[:, None, :]).reshape(-1)
    indptr = np.arange(0, n * width + 1, width, dtype=np.int64)
    kernel = sparse.csr_matrix((vals, cols, indptr), shape=(n, n))
    return x, y, np.stack([tx, ty], axis=1), kernel


@dataclass(frozen=True)
class ChainLaw2D:
    """The stationary law ``pi_eta`` of the 2-D GLD chain, as its Nyström interpolant.

    ``weights[i, j]`` is the stationary mass of node ``(x_i, y_j)`` of the discretised chain;
    one more step of the chain spreads it into the continuous density
    ``p(z) = sum_ij weights[i, j] N(z; targets[i n_y + j], sigma^2 I)`` (Nyström's natural
    interpolation), a probability density whose moments and bin masses are exact sums over the
    nodes (Gaussian distribution functions per axis).
    """

    beta: float
    eta: float
    x: np.ndarray
    y: np.ndarray
    weights: np.ndarray  # (len(x), len(y))
    targets: np.ndarray  # (len(x) len(y), 2)
    sigma: float
    # -eta / log |lambda_2| of the discretised kernel in time units k eta (nan if not computed):
    # the slowest decay of any initial law's distance to pi_eta.
    relaxation_time: float = float("nan")

    @property
    def mean(self) -> np.ndarray:
        return self.weights.ravel() @ self.targets

    @property
    def covariance(self) -> np.ndarray:
        d = self.targets - self.mean
        w = self.weights.ravel()
        return (d * w[:, None]).T @ d + self.sigma ** 2 * np.eye(2)

    def bin_masses(self, edges: np.ndarray) -> np.ndarray:
        """Masses of the ``B^2`` bins of ``edges`` on both axes (row-major: bin ``(i, j)`` at
        ``i B + j``, as :meth:`GibbsLaw2D.bin_masses`) and, last, of everything outside."""
        from scipy.special import ndtr

        edges = np.asarray(edges, dtype=float)
        w = self.weights.ravel()
        live = w > 0
        t = self.targets[live]
        px = np.diff(ndtr((edges[None, :] - t[:, :1]) / self.sigma), axis=1)  # (nodes, B)
        py = np.diff(ndtr((edges[None, :] - t[:, 1:]) / self.sigma), axis=1)
        inside = ((px * w[live][:, None]).T @ py).ravel()
        return np.concatenate([inside, [max(0.0, 1.0 - float(inside.sum()))]])


def euler_stationary_law_2d(coeffs: Coefficients, beta: float, eta: float,
                            points_per_sigma: float = CHAIN_POINTS_PER_SIGMA,
                            kernel_sigmas: float = CHAIN_KERNEL_SIGMAS,
                            relaxation: bool = False) -> ChainLaw2D:
    """The stationary law ``pi_eta`` of the 2-D GLD (Euler–Maruyama) chain, numerically.

    ``pi_eta(z) = ∫ pi_eta(x) N(z; x - eta grad L(x), (2 eta / beta) I) dx``: on the grid of
    :func:`euler_transition_matrix_2d` the left Perron vector of ``K``
    (:func:`companion.theory.gibbs.stationary_vector`, Arnoldi iteration started from the Gibbs
    law at the nodes), the 2-D counterpart of
    :func:`companion.theory.gibbs.euler_stationary_law`. A few tenths of a second for the
    configured pairs (1e4 nodes). With ``relaxation`` the relaxation time ``-eta / log
    |lambda_2|`` of the same kernel (the 2-D form of
    :func:`companion.theory.gibbs.euler_relaxation_time`) is stored too, from the same Arnoldi
    run.
    """
    from companion.theory.gibbs import stationary_vector

    x, y, targets, kernel = euler_transition_matrix_2d(coeffs, beta, eta, points_per_sigma,
                                                       kernel_sigmas)
    xx, yy = np.meshgrid(x, y, indexing="ij")
    log_g = -beta * potential(coeffs, xx, yy)
    start = np.exp(log_g - log_g.max()).ravel()
    # Three eigenvalues, not two: ARPACK converges in fewer products so (138 against 252 at
    # beta = 8, eta = 0.03 on D1's default potential).
    p, moduli = stationary_vector(kernel, start, n_eigenvalues=3 if relaxation else 1)
    return ChainLaw2D(beta=float(beta), eta=float(eta), x=x, y=y,
                      weights=p.reshape(len(x), len(y)), targets=targets,
                      sigma=float(np.sqrt(2.0 * eta / beta)),
                      relaxation_time=(float(-eta / np.log(moduli[1])) if relaxation
                                       else float("nan")))


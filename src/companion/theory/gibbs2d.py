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
2002), with the expected number of chain-steps that reach it. Pure numpy/scipy.
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

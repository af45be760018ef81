"""The Gibbs law of a 1-D polynomial potential and the stationary law of its Euler–Maruyama chain.

Gradient Langevin dynamics ``dX = -L'(X) dt + sqrt(2/beta) dB`` has the stationary (Gibbs) law
``pi(x) ∝ exp(-beta L(x))`` (Raginsky, Rakhlin and Telgarsky 2017, eq. (1.2); Vempala and
Wibisono 2019, Sec. 2). Its Euler–Maruyama discretisation, the GLD chain

    X_{k+1} = X_k - eta L'(X_k) + sqrt(2 eta / beta) xi_k,     xi_k ~ N(0, 1),

has a different stationary law ``pi_eta`` whose distance to ``pi`` is O(eta) (Vempala and
Wibisono 2019, Thm. 1 and Sec. 3.2: the "bias" of the unadjusted Langevin algorithm). This module
computes, for ``L(x) = sum_k c_k x^k``:

- ``pi`` by quadrature on a fine grid (normaliser, moments, bin masses, basin masses), with
  ``beta (L - min L)`` subtracted before exponentiating so nothing overflows;
- ``pi_eta`` in closed form for a quadratic potential (an AR(1) process) and numerically for any
  potential by a Nyström discretisation of the chain's Gaussian transition kernel;
- the binned KL divergence between an empirical histogram and bin masses, its delete-one-group
  jackknife (which removes the plug-in estimator's O(1/n) sampling bias), and the exact expected
  plug-in KL of ``n`` independent draws (the sampling-noise level a histogram of ``n`` chains
  cannot go below).

Pure numpy/scipy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.polynomial import polynomial as npoly

# scipy is imported inside the functions that need it: the workflow imports every experiment
# module (and so this one) when it parses, and scipy.stats/sparse take seconds to import.

# How far into the tails the quadrature grid reaches: beta (L - min L) <= TAIL_NATS there, so the
# mass left out is below exp(-TAIL_NATS) relative to the mode.
TAIL_NATS = 60.0
# Gibbs bin masses below this are raised to it (and renormalised) before a KL is taken, so a
# chain in a bin whose Gibbs mass underflows gives a large but finite divergence.
MASS_FLOOR = 1e-12


# --- the potential -------------------------------------------------------------------------------

def potential(coeffs: Sequence[float], x: np.ndarray | float) -> np.ndarray:
    """``L(x) = sum_k coeffs[k] x^k``."""
    return npoly.polyval(x, np.asarray(coeffs, dtype=float))


def gradient(coeffs: Sequence[float], x: np.ndarray | float) -> np.ndarray:
    """``L'(x)``."""
    return npoly.polyval(x, npoly.polyder(np.asarray(coeffs, dtype=float)))


def confining_problem(coeffs: Sequence[float]) -> str | None:
    """Why ``L`` is not confining (``exp(-beta L)`` not integrable), or ``None`` when it is.

    A polynomial is confining iff its degree is even and at least 2 and its leading coefficient is
    positive; trailing zeros in ``coeffs`` are ignored.
    """
    c = np.trim_zeros(np.asarray(coeffs, dtype=float), "b")
    degree = len(c) - 1
    if degree < 2 or degree % 2 == 1:
        return f"its degree is {max(degree, 0)}; it must be even and at least 2"
    if c[-1] <= 0:
        return f"its leading coefficient is {c[-1]:g}; it must be positive"
    return None


def critical_points(coeffs: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted real local minimisers and local maximisers of ``L``."""
    d1 = npoly.polyder(np.asarray(coeffs, dtype=float))
    roots = npoly.polyroots(d1)
    real = np.sort(roots[np.abs(roots.imag) < 1e-9].real)
    curvature = npoly.polyval(real, npoly.polyder(d1))
    return real[curvature > 0], real[curvature < 0]


def global_basin(coeffs: Sequence[float]) -> tuple[float, float, float]:
    """``(x_star, lo, hi)``: the global minimiser and its basin of attraction under ``-L'``.

    The basin is the interval between the local maxima on either side of ``x_star`` (``±inf`` where
    there is none).
    """
    minima, maxima = critical_points(coeffs)
    x_star = float(minima[np.argmin(potential(coeffs, minima))])
    below = maxima[maxima < x_star]
    above = maxima[maxima > x_star]
    lo = float(below.max()) if below.size else -np.inf
    hi = float(above.min()) if above.size else np.inf
    return x_star, lo, hi


def min_potential(coeffs: Sequence[float]) -> float:
    minima, _ = critical_points(coeffs)
    return float(potential(coeffs, minima).min())


def sublevel_extent(coeffs: Sequence[float], level: float) -> tuple[float, float]:
    """The smallest interval containing ``{x : L(x) - min L <= level}`` (``level > 0``)."""
    c = np.asarray(coeffs, dtype=float).copy()
    c[0] -= min_potential(coeffs) + level
    roots = npoly.polyroots(c)
    real = roots[np.abs(roots.imag) < 1e-9].real
    return float(real.min()), float(real.max())


# --- the Gibbs law by quadrature ------------------------------------------------------------------

@dataclass(frozen=True)
class GibbsLaw:
    """``pi ∝ exp(-beta L)`` tabulated on a fine uniform grid (trapezoid quadrature).

    ``cdf`` is the cumulative trapezoid integral of the normalised density, so bin masses are
    differences of it; the grid reaches ``beta (L - min L) = TAIL_NATS`` on both sides.
    """

    beta: float
    x: np.ndarray
    density: np.ndarray
    cdf: np.ndarray
    log_normaliser: float  # log of Z = integral of exp(-beta L)

    @classmethod
    def of(cls, coeffs: Sequence[float], beta: float, n_grid: int = 200_001) -> GibbsLaw:
        lo, hi = sublevel_extent(coeffs, TAIL_NATS / beta)
        x = np.linspace(lo, hi, n_grid)
        l_min = min_potential(coeffs)
        # Subtract beta * min L before exponentiating: the largest weight is exp(0) = 1.
        weight = np.exp(-beta * (potential(coeffs, x) - l_min))
        h = x[1] - x[0]
        cumulative = np.concatenate([[0.0], np.cumsum((weight[1:] + weight[:-1]) * h / 2)])
        z_shifted = cumulative[-1]
        return cls(beta=float(beta), x=x, density=weight / z_shifted, cdf=cumulative / z_shifted,
                   log_normaliser=float(np.log(z_shifted) - beta * l_min))

    def expect(self, values: np.ndarray) -> float:
        """``E_pi[f]`` for ``values = f(self.x)`` (trapezoid rule)."""
        integrand = values * self.density
        h = self.x[1] - self.x[0]
        return float(np.sum((integrand[1:] + integrand[:-1]) * h / 2))

    @property
    def mean(self) -> float:
        return self.expect(self.x)

    @property
    def variance(self) -> float:
        m = self.mean
        return self.expect((self.x - m) ** 2)

    def mass(self, lo: float, hi: float) -> float:
        """``pi([lo, hi])``."""
        return float(np.diff(np.interp([lo, hi], self.x, self.cdf, left=0.0, right=1.0))[0])

    def bin_masses(self, edges: np.ndarray) -> np.ndarray:
        """Masses of the ``len(edges) + 1`` bins ``(-inf, e_0), [e_0, e_1), ..., [e_last, inf)``."""
        inner = np.interp(np.asarray(edges, dtype=float), self.x, self.cdf, left=0.0, right=1.0)
        return np.diff(np.concatenate([[0.0], inner, [1.0]]))


def gibbs_law(coeffs: Sequence[float], beta: float) -> GibbsLaw:
    """The Gibbs law ``pi ∝ exp(-beta L)`` of the potential with coefficients ``coeffs``."""
    return GibbsLaw.of(coeffs, beta)


# --- the discretised chain's stationary law -------------------------------------------------------

def euler_quadratic_stationary_variance(a: float, beta: float, eta: float) -> float:
    """Stationary variance of the Euler chain for ``L = a x^2 / 2``: ``1/(beta a (1 - eta a/2))``.

    The chain is the AR(1) process ``X' = (1 - eta a) X + sqrt(2 eta / beta) xi``, stationary iff
    ``|1 - eta a| < 1``, with variance ``(2 eta / beta) / (1 - (1 - eta a)^2)``. The continuous-time
    value ``1 / (beta a)`` is recovered as ``eta -> 0``; the relative bias ``eta a / 2 + O(eta^2)``
    is the O(eta) discretisation bias of the unadjusted Langevin algorithm in its simplest form
    (cf. Vempala and Wibisono 2019, Sec. 3.2 on the Gaussian case).
    """
    if not (a > 0 and beta > 0 and 0 < eta * a < 2):
        raise ValueError(f"no stationary law: need a > 0, beta > 0 and 0 < eta a < 2 "
                         f"(a={a}, beta={beta}, eta={eta})")
    return 1.0 / (beta * a * (1.0 - eta * a / 2.0))


def euler_overshoot_region(coeffs: Sequence[float], eta: float) -> tuple[float, float]:
    """``(r_minus, r_plus)``: outside it the Euler map overshoots, ``|x - eta L'(x)| >= |x|``.

    That is where ``eta x L'(x) >= 2 x^2``; for a confining ``L`` of degree > 2 the polynomial
    ``eta x L'(x) - 2 x^2`` is positive outside its extreme real roots, and a chain that lands
    there is thrown further out at each step (the unadjusted Langevin algorithm is transient for
    superlinearly growing gradients; Mattingly, Stuart and Higham 2002, Roberts and Tweedie 1996).
    For a quadratic ``L`` with ``eta L'' < 2`` there is no such region: ``(-inf, inf)``.
    """
    c = np.trim_zeros(np.asarray(coeffs, dtype=float), "b")
    if len(c) - 1 <= 2:
        # Linear drift: the AR(1) chain is stable everywhere iff eta L'' < 2, unstable everywhere
        # otherwise.
        curvature = 2.0 * c[2] if len(c) == 3 else 0.0
        return (-np.inf, np.inf) if eta * curvature < 2.0 else (0.0, 0.0)
    poly = npoly.polysub(eta * npoly.polymulx(npoly.polyder(c)), [0.0, 0.0, 2.0])
    roots = npoly.polyroots(poly)  # x = 0 is always one, so the real roots are never empty
    real = roots[np.abs(roots.imag) < 1e-9].real
    return float(real.min()), float(real.max())


def euler_overshoot_probability(coeffs: Sequence[float], beta: float, eta: float) -> float:
    """Probability that one GLD step from a Gibbs-distributed state lands in the overshoot region.

    ``E_{x ~ pi}[P(|x - eta L'(x) + sqrt(2 eta / beta) xi| beyond (r_minus, r_plus))]``, with
    ``pi`` the Gibbs law standing in for the chain's own law. Times the number of chain-steps it is
    the expected number of chains that reach the region where the scheme diverges: the Gaussian
    step reaches it long before the Gibbs weight there would suggest.
    """
    from scipy.special import ndtr

    r_minus, r_plus = euler_overshoot_region(coeffs, eta)
    if not np.isfinite(r_plus):
        return 0.0
    law = GibbsLaw.of(coeffs, beta, n_grid=4001)  # plenty for a tail probability's size
    sigma = np.sqrt(2.0 * eta / beta)
    drift_to = law.x - eta * gradient(coeffs, law.x)
    tail = ndtr((drift_to - r_plus) / sigma) + ndtr((r_minus - drift_to) / sigma)
    return law.expect(tail)


@dataclass(frozen=True)
class ChainLaw:
    """A law tabulated on a uniform grid as point masses ``weights`` (summing to 1)."""

    x: np.ndarray
    weights: np.ndarray

    @property
    def mean(self) -> float:
        return float(self.weights @ self.x)

    @property
    def variance(self) -> float:
        return float(self.weights @ (self.x - self.mean) ** 2)

    def mass(self, lo: float, hi: float) -> float:
        """``pi_eta([lo, hi))``, each node's mass spread uniformly over its cell (as in
        :meth:`bin_masses`), so the value does not jump with the grid's resolution."""
        inner = self.bin_masses(np.array([lo, hi]))
        return float(inner[1])

    def bin_masses(self, edges: np.ndarray) -> np.ndarray:
        """Masses of the bins ``(-inf, e_0), ..., [e_last, inf)``; each grid node's mass is spread
        uniformly over its cell ``[x - h/2, x + h/2)`` so bin edges between nodes are honoured."""
        h = self.x[1] - self.x[0]
        cell_cdf = np.concatenate([[0.0], np.cumsum(self.weights)])
        cell_edges = np.concatenate([self.x - h / 2, [self.x[-1] + h / 2]])
        inner = np.interp(np.asarray(edges, dtype=float), cell_edges, cell_cdf)
        return np.diff(np.concatenate([[0.0], inner, [1.0]]))


def gaussian_kernel_rows(grid: np.ndarray, centres: np.ndarray, sigma: float,
                         kernel_sigmas: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(cols, vals, valid)``: the Gaussian ``N(centre, sigma^2)`` sampled on a uniform grid.

    One row per centre: the ``2 half + 1`` grid nodes nearest to it (``half`` covering
    ``kernel_sigmas`` widths), their indices ``cols`` (clipped into the grid), the kernel's values
    there renormalised to sum to 1 (``vals``, 0 where the node would fall off the grid) and the
    mask ``valid`` of the nodes that lie on it. The rows of the Nyström discretisation of the
    chain's transition kernel, in 1-D (:func:`euler_transition_matrix`) and per axis in 2-D
    (:func:`companion.theory.gibbs2d.euler_transition_matrix_2d`).
    """
    n = len(grid)
    h = grid[1] - grid[0]
    half = int(np.ceil(kernel_sigmas * sigma / h))
    offsets = np.arange(-half, half + 1)
    centre = np.rint((centres - grid[0]) / h).astype(np.int64)
    cols = centre[:, None] + offsets[None, :]  # (len(centres), 2 half + 1)
    valid = (cols >= 0) & (cols < n)
    cols_c = np.clip(cols, 0, n - 1)
    vals = np.where(valid, np.exp(-0.5 * ((grid[cols_c] - centres[:, None]) / sigma) ** 2), 0.0)
    return cols_c, vals / vals.sum(axis=1, keepdims=True), valid


def stationary_vector(kernel: object, start: np.ndarray, n_eigenvalues: int = 1,
                      tol: float = 1e-12,
                      max_residual: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """``(p, moduli)``: the stationary law ``p = K^T p`` (``sum p = 1``) of a row-stochastic
    sparse ``K``, and the moduli of its ``n_eigenvalues`` leading eigenvalues, largest first.

    The left Perron vector, by implicitly restarted Arnoldi iteration on ``K^T`` (ARPACK;
    Lehoucq, Sorensen and Yang 1998, ARPACK Users' Guide, ch. 4), started from ``start`` (a
    guess such as the Gibbs law at the nodes; a fixed start also makes the result the same in
    every run). Unlike the power iteration, whose error falls like ``|lambda_2|^k`` (thousands of
    steps for a chain that crosses a barrier slowly), the Krylov space separates the eigenvalue 1
    from ``lambda_2`` in tens of products; asking for ``lambda_2`` too (``n_eigenvalues >= 2``,
    the spectral gap of :func:`euler_relaxation_time`) costs about half as many again. Raises
    ``ValueError`` when ``|K^T p - p|_1`` exceeds ``max_residual``.
    """
    from scipy.sparse.linalg import eigs

    kernel_t = kernel.T  # CSC view of a CSR matrix: its products need no copy
    start = np.asarray(start, dtype=float)
    values, vectors = eigs(kernel_t, k=n_eigenvalues, which="LM", v0=start / start.sum(),
                           tol=tol, ncv=min(30, kernel_t.shape[0] - 1), maxiter=2000)
    order = np.argsort(-np.abs(values))
    p = np.real(vectors[:, order[0]])
    p = np.clip(p / p.sum(), 0.0, None)
    p = p / p.sum()
    residual = float(np.abs(kernel_t @ p - p).sum())
    if not residual <= max_residual:
        raise ValueError(f"the stationary vector did not converge: |K^T p - p|_1 = "
                         f"{residual:.3g} > {max_residual:g}")
    return p, np.abs(values[order])


def euler_transition_matrix(coeffs: Sequence[float], beta: float, eta: float,
                            points_per_sigma: float = 8.0, kernel_sigmas: float = 10.0,
                            max_points: int = 20_001) -> tuple[np.ndarray, object]:
    """``(x, K)``: the GLD chain's Gaussian transition kernel discretised on a uniform grid.

    A Nyström discretisation of ``y ~ N(x - eta L'(x), 2 eta / beta)``: the grid has spacing
    ``h = sigma / points_per_sigma`` (``sigma = sqrt(2 eta / beta)``, the kernel's width) and
    ``K`` is the banded row-stochastic sparse matrix whose rows are the kernel at the grid nodes
    (cut at ``kernel_sigmas`` widths, renormalised). With ``h`` a fraction of ``sigma`` the
    trapezoid rule on the Gaussian kernel is accurate to many digits (checked against
    :func:`euler_quadratic_stationary_variance` in the tests). The grid covers
    ``beta (L - min L) <= TAIL_NATS`` and ``kernel_sigmas`` kernel widths beyond, but stays inside
    the overshoot region (:func:`euler_overshoot_region`): beyond it the scheme diverges, so for a
    potential growing faster than quadratically the chain has no stationary law on all of R and
    what is described is the chain kept where it is stable (the quasi-stationary chain its
    samples follow for as long as none escapes). Mass the kernel would send off the grid is kept
    inside by the row normalisation, which changes nothing visible while that mass is negligible.
    """
    from scipy import sparse

    sigma = float(np.sqrt(2.0 * eta / beta))
    lo, hi = sublevel_extent(coeffs, TAIL_NATS / beta)
    # The chain's law is wider than pi (by O(eta)); a margin of kernel widths keeps its tails.
    r_minus, r_plus = euler_overshoot_region(coeffs, eta)
    lo = max(lo - kernel_sigmas * sigma, 0.99 * r_minus)
    hi = min(hi + kernel_sigmas * sigma, 0.99 * r_plus)
    n = int(min(max_points, np.ceil((hi - lo) / sigma * points_per_sigma) + 1))
    x = np.linspace(lo, hi, n)
    # Where the chain is unstable (far tails, where eta L'' > 2) the drift overshoots the grid;
    # such nodes carry no visible mass, so their drift is clipped to the grid's ends instead.
    drift_to = np.clip(x - eta * gradient(coeffs, x), lo, hi)
    cols_c, vals, valid = gaussian_kernel_rows(x, drift_to, sigma, kernel_sigmas)
    rows = np.broadcast_to(np.arange(n)[:, None], cols_c.shape)
    kernel = sparse.csr_matrix((vals[valid], (rows[valid], cols_c[valid])), shape=(n, n))
    return x, kernel


def euler_stationary_law(coeffs: Sequence[float], beta: float, eta: float,
                         points_per_sigma: float = 8.0, kernel_sigmas: float = 10.0,
                         max_points: int = 20_001) -> ChainLaw:
    """The stationary law ``pi_eta`` of the GLD (Euler–Maruyama) chain, numerically.

    ``pi_eta`` solves ``pi_eta(y) = ∫ pi_eta(x) N(y; x - eta L'(x), 2 eta / beta) dx``; on the
    grid of :func:`euler_transition_matrix` it is the left null vector of ``K - I``, found by one
    sparse solve.
    """
    from scipy import sparse
    from scipy.sparse.linalg import spsolve

    x, kernel = euler_transition_matrix(coeffs, beta, eta, points_per_sigma, kernel_sigmas,
                                        max_points)
    n = len(x)
    # Solve (K^T - I) p = 0 with sum(p) = 1: replace the last equation by the normalisation.
    system = (kernel.T - sparse.identity(n, format="csr")).tolil()
    system[n - 1, :] = np.ones(n)
    rhs = np.zeros(n)
    rhs[-1] = 1.0
    p = spsolve(system.tocsc(), rhs)
    p = np.clip(p, 0.0, None)
    return ChainLaw(x=x, weights=p / p.sum())


def euler_relaxation_time(coeffs: Sequence[float], beta: float, eta: float,
                          points_per_sigma: float = 8.0) -> float:
    """Relaxation time of the GLD chain in time units ``k eta``: ``-eta / log |lambda_2|``.

    ``lambda_2`` is the transition matrix's eigenvalue of second-largest modulus (the largest is 1,
    the stationary law); ``1 - |lambda_2|`` is the chain's spectral gap, and every initial law's
    distance to ``pi_eta`` (here: the excess mass in the shallow well) decays like
    ``|lambda_2|^k`` once the faster modes have died out. As ``eta -> 0`` it tends to the inverse
    spectral gap of the Langevin generator, the rate of the exponential convergence that the
    log-Sobolev / Poincaré inequality guarantees (Vempala and Wibisono 2019, Thm. 1; for a
    double well, the Eyring–Kramers time of crossing the barrier).
    """
    from scipy.sparse.linalg import eigs

    _, kernel = euler_transition_matrix(coeffs, beta, eta, points_per_sigma)
    # A fixed starting vector: ARPACK's default is random, which made the relaxation time (and
    # every metrics file built from it) differ in the last digits from one run to the next.
    start = np.random.default_rng(0).random(kernel.shape[0])
    values = eigs(kernel.T.tocsc(), k=3, which="LM", return_eigenvectors=False, tol=1e-10,
                  v0=start)
    moduli = np.sort(np.abs(values))[::-1]
    return float(-eta / np.log(moduli[1]))


# --- divergences between histograms and bin masses ------------------------------------------------

def _floored(masses: np.ndarray) -> np.ndarray:
    q = np.maximum(np.asarray(masses, dtype=float), MASS_FLOOR)
    return q / q.sum(axis=-1, keepdims=True)


def binned_kl(counts: np.ndarray, masses: np.ndarray) -> np.ndarray:
    """``KL(p_hat || q) = sum_i p_hat_i log(p_hat_i / q_i)`` over the last axis.

    ``p_hat`` is the histogram ``counts`` normalised. Empty empirical bins contribute 0 (the
    convention 0 log 0 = 0), so no pseudo-count is needed on that side; ``q`` is floored at
    ``MASS_FLOOR`` and renormalised, so a bin the chains reach but the reference (nearly) never does
    costs a large finite amount instead of infinity. Leading axes broadcast.
    """
    counts = np.asarray(counts, dtype=float)
    q = _floored(masses)
    total = counts.sum(axis=-1, keepdims=True)
    p = counts / np.where(total > 0, total, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p / q), 0.0)
    return terms.sum(axis=-1)


def jackknife_kl(group_counts: np.ndarray, masses: np.ndarray) -> tuple[float, float]:
    """Delete-one-group jackknife of the plug-in binned KL: ``(estimate, standard error)``.

    ``group_counts`` has shape ``(G, B)``: histograms of ``G`` independent groups of samples (for
    chains, disjoint sets of chains). The plug-in KL of ``n`` samples is biased upwards by about
    ``(B_eff - 1) / (2 n)`` (Miller 1955; Paninski 2003); with ``KL_all`` from all groups and
    ``KL_{-g}`` with group ``g`` left out, ``G KL_all - (G - 1) mean_g KL_{-g}`` cancels that
    1/n term whatever the samples' correlation within a group (Quenouille's jackknife). What remains
    estimates the KL between the sampled law and ``q`` itself - here the discretisation bias.
    """
    group_counts = np.asarray(group_counts, dtype=float)
    g = group_counts.shape[0]
    if g < 2:
        raise ValueError("the jackknife needs at least two groups")
    total = group_counts.sum(axis=0)
    full = float(binned_kl(total, masses))
    loo = binned_kl(total[None, :] - group_counts, masses)
    estimate = g * full - (g - 1) * float(loo.mean())
    stderr = float(np.sqrt((g - 1) / g * np.sum((loo - loo.mean()) ** 2)))
    return estimate, stderr


def _binomial_pmf(k: np.ndarray, n: int, p: float) -> np.ndarray:
    """Binomial(n, p) mass at ``k`` from log-gamma: within about 3e-11 of scipy.stats.binom.pmf
    at n ~ 10^4, without importing scipy.stats (over a second per job)."""
    from scipy import special

    log_pmf = (special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
               + special.xlogy(k, p) + special.xlog1py(n - k, -p))
    return np.exp(log_pmf)


def expected_plugin_kl(p: np.ndarray, q: np.ndarray, n: int) -> float:
    """``E[KL(p_hat || q)]`` for ``p_hat`` the histogram of ``n`` independent draws from ``p``.

    Exact: each count is Binomial(n, p_i), so ``E[p_hat_i log p_hat_i]`` is a finite sum over the
    binomial law, and ``E[sum p_hat_i log q_i] = sum p_i log q_i``. With ``p = q`` this is the
    sampling-noise level alone, about ``(B_eff - 1) / (2 n)``.
    """
    p = np.clip(np.asarray(p, dtype=float), 0.0, None)
    p = p / p.sum()
    q = _floored(q)
    entropy_part = 0.0
    for p_i in p[p > 0]:
        # The binomial's mass lies within a few standard deviations of n p_i: sum only there.
        sd = np.sqrt(n * p_i * (1 - p_i))
        k = np.arange(max(0, int(n * p_i - 12 * sd) - 2), min(n, int(n * p_i + 12 * sd) + 3) + 1,
                      dtype=float)
        frac = k / n
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(frac > 0, frac * np.log(frac), 0.0)
        entropy_part += float(_binomial_pmf(k, n, p_i) @ f)
    return entropy_part - float(p @ np.log(q))

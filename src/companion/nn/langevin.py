"""Gradient Langevin dynamics (GLD), batched: many chains for many (beta, eta) pairs in one tensor.

The GLD step is the Euler–Maruyama discretisation of ``dX = -grad L(X) dt + sqrt(2/beta) dB``,

    X_{k+1} = X_k - eta grad L(X_k) + sqrt(2 eta / beta) xi_k,     xi_k ~ N(0, I)

(Raginsky, Rakhlin and Telgarsky 2017, eq. (1.3); Vempala and Wibisono 2019, eq. (3), the
"unadjusted Langevin algorithm"). Its continuous-time limit has the Gibbs law ``∝ exp(-beta L)`` as
stationary law; the discrete chain's stationary law differs by O(eta).

Batching: the state ``x`` has shape ``(P, n, ...)`` - ``P`` rows (one per hyperparameter setting,
e.g. a (beta, eta) pair), ``n`` chains per row, any trailing shape per chain. ``eta`` and ``beta``
are per-row tensors of shape ``(P,)`` (or scalars) and are broadcast over the rest, so the whole
sweep advances in one tensor operation. The gradient is any callable ``x -> grad L(x)`` of the
same shape, so the step serves plain GLD, SGLD (a callable that draws a minibatch) and mean-field
Langevin dynamics (a callable whose value depends on all particles) alike.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

Gradient = Callable[[torch.Tensor], torch.Tensor]


def per_row(values: torch.Tensor | float, like: torch.Tensor) -> torch.Tensor:
    """Shape per-row ``values`` (``(P,)`` or a scalar) to broadcast against ``like``."""
    t = torch.as_tensor(values, dtype=like.dtype, device=like.device)
    if t.ndim == 0:
        return t
    if t.ndim != 1 or t.shape[0] != like.shape[0]:
        raise ValueError(f"per-row values of shape {tuple(t.shape)} do not match "
                         f"{like.shape[0]} rows")
    return t.reshape((-1,) + (1,) * (like.ndim - 1))


def noise_scale(eta: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """``sqrt(2 eta / beta)``: the standard deviation of the GLD step's Gaussian increment."""
    return torch.sqrt(2.0 * eta / beta)


def gld_step(x: torch.Tensor, grad: Gradient, eta: torch.Tensor, scale: torch.Tensor,
             generator: torch.Generator) -> torch.Tensor:
    """One GLD step ``x - eta grad(x) + scale xi`` for a batch of chains; returns the new state.

    ``eta`` and ``scale`` (``= noise_scale(eta, beta)``, computed once by the caller) are already
    shaped with :func:`per_row`. The noise comes from ``generator`` alone, so a run is reproducible
    from its seed on a given device. Works in place on a fresh tensor: ``x`` itself is not modified.
    """
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    out = torch.addcmul(x, eta, grad(x), value=-1.0)
    return out.addcmul_(scale, noise)


class LangevinChains:
    """``P x n`` GLD chains advanced together: rows share nothing but the tensor.

    >>> chains = LangevinChains(x0, grad, eta=etas, beta=betas, generator=g)  # doctest: +SKIP
    >>> for _ in range(n_steps):  # doctest: +SKIP
    ...     chains.step()
    """

    def __init__(self, x0: torch.Tensor, grad: Gradient, eta: torch.Tensor | float,
                 beta: torch.Tensor | float, generator: torch.Generator) -> None:
        self.x = x0.clone()
        self.grad = grad
        self.eta = per_row(eta, self.x)
        self.beta = per_row(beta, self.x)
        if bool((self.eta <= 0).any()) or bool((self.beta <= 0).any()):
            raise ValueError("eta and beta must be positive")
        self.scale = noise_scale(self.eta, self.beta)
        self.generator = generator
        self.steps = 0

    def step(self) -> torch.Tensor:
        self.x = gld_step(self.x, self.grad, self.eta, self.scale, self.generator)
        self.steps += 1
        return self.x


def polynomial_gradient(coeffs: list[float] | tuple[float, ...]) -> Gradient:
    """``x -> L'(x)`` for ``L(x) = sum_k coeffs[k] x^k``, by Horner's rule on the derivative.

    Elementwise, so it serves any batch shape (a 1-D potential per coordinate).
    """
    deriv = [k * float(c) for k, c in enumerate(coeffs)][1:] or [0.0]
    while len(deriv) > 1 and deriv[-1] == 0.0:
        deriv.pop()

    def grad(x: torch.Tensor) -> torch.Tensor:
        if len(deriv) == 1:
            return torch.full_like(x, deriv[0])
        # The same products and sums as Horner's rule from full(deriv[-1]), bit for bit, in two
        # passes fewer: the first product allocates, and adding a zero coefficient is skipped.
        g = x * deriv[-1]
        for k, c in enumerate(reversed(deriv[:-1])):
            if c != 0.0:
                g.add_(c)
            if k < len(deriv) - 2:
                g.mul_(x)
        return g

    return grad


def polynomial2d_gradient(coeffs: list[list[float]]) -> Gradient:
    """``x -> grad L(x)`` for ``L(x, y) = sum_{i,j} coeffs[i][j] x^i y^j`` (numpy's ``polyval2d``
    layout), on states whose last axis holds ``(x, y)``.

    The partial derivatives ``sum i c_ij x^(i-1) y^j`` and ``sum j c_ij x^i y^(j-1)`` are summed
    over their nonzero terms only, from the powers of both coordinates computed once per call:
    the potentials used here have a handful of terms, and the step's cost is this gradient.
    """
    c = np.atleast_2d(np.asarray(coeffs, dtype=float))
    terms = [[(float(d[i, j]), i, j) for i, j in zip(*np.nonzero(d), strict=True)]
             for d in (np.polynomial.polynomial.polyder(c, axis=0),
                       np.polynomial.polynomial.polyder(c, axis=1))]
    # Only the powers some term uses: x^4 of a quartic potential never enters its gradient.
    top_x = max((i for axis_terms in terms for _, i, _ in axis_terms), default=0)
    top_y = max((j for axis_terms in terms for _, _, j in axis_terms), default=0)

    def powers(v: torch.Tensor, top: int) -> list[torch.Tensor | None]:
        out: list[torch.Tensor | None] = [None, v]
        for _ in range(2, top + 1):
            out.append(out[-1] * v)
        return out

    def grad(state: torch.Tensor) -> torch.Tensor:
        px, py = powers(state[..., 0], top_x), powers(state[..., 1], top_y)
        out = torch.zeros_like(state)
        for axis, axis_terms in enumerate(terms):
            g = out[..., axis]
            for coef, i, j in axis_terms:
                if i and j:
                    g.addcmul_(px[i], py[j], value=coef)
                elif i or j:
                    g.add_(px[i] if i else py[j], alpha=coef)
                else:
                    g.add_(coef)
        return out

    return grad


# --- mean-field Langevin dynamics -----------------------------------------------------------------

def mfld_step(theta: torch.Tensor, first_variation_grad: Gradient, eta: float, lam1: float,
              lam2: float, generator: torch.Generator) -> torch.Tensor:
    """One step of the (finite-particle, time-discretised) mean-field Langevin dynamics.

    For the objective ``F(q) = L(q) + lam1 E_q |theta|^2 + lam2 E_q log q`` over laws ``q`` of one
    neuron's parameters, represented by ``N`` particles ``theta_j`` (rows of ``theta``,
    shape ``(..., N, p)``), the step is

        theta_j <- theta_j - eta (grad (dL/dq)(theta_j) + 2 lam1 theta_j) + sqrt(2 eta lam2) xi_j

    (Mei, Montanari and Nguyen 2018; Nitanda, Wu and Suzuki 2022, eq. (4); Chizat 2022, Sec. 2).
    ``first_variation_grad(theta)`` returns the gradient of ``L``'s first variation at every
    particle (for ``L(q) = (1/n) sum_i loss(E_q h_theta(x_i), y_i)``:
    ``(1/n) sum_i loss'(f(x_i), y_i) grad_theta h_theta(x_i)``, i.e. ``N`` times the gradient of
    the particles' empirical loss). It is GLD on every particle with inverse temperature
    ``1 / lam2``; ``lam2 = 0`` is noiseless mean-field gradient descent.
    """
    if eta <= 0 or lam1 < 0 or lam2 < 0:
        raise ValueError(f"need eta > 0, lam1 >= 0, lam2 >= 0 (eta={eta}, lam1={lam1}, "
                         f"lam2={lam2})")

    def grad(x: torch.Tensor) -> torch.Tensor:
        return first_variation_grad(x).add_(x, alpha=2.0 * lam1)

    scale = torch.tensor(float(np.sqrt(2.0 * eta * lam2)), dtype=theta.dtype, device=theta.device)
    return gld_step(theta, grad, torch.tensor(eta, dtype=theta.dtype, device=theta.device), scale,
                    generator)


class TanhMeanFieldNet:
    """The mean-field two-layer net ``f(x) = (1/N) sum_j h_{z_j}(x)`` with the bounded neuron
    ``h_z(x) = R [tanh(<x, z_1> + z_2) + z_3] / 2`` (Suzuki, Wu, Oko and Nitanda 2023, Sec. 2, the
    neuron with the output scale ``R`` outside the parameters; ``z_3`` a learned offset).

    A particle is one row ``z = (z_1, z_2, z_3)`` of ``theta`` (``(N, d + 2)``). The first-variation
    gradient is computed in closed form: two matrix products of the ``(n, N)`` activations.

    Batches: ``theta`` may carry leading axes ``(..., N, d + 2)``, one net per leading index, with
    ``x`` of shape ``(..., n, d)`` (broadcast against them) and ``dloss`` ``(..., n)``; many nets
    then train as one tensor program. Nets of different ``d`` share a batch when their inputs are
    padded with zero coordinates: a zero coordinate reaches neither the output nor the gradient
    of the other coordinates, so each net trains as it would alone.
    """

    def __init__(self, scale: float) -> None:
        self.scale = float(scale)

    def _activations(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        # In place on the fresh product: the (n, N) arrays dominate the step's cost.
        return (x @ theta[..., :-2].mT).add_(theta[..., -2].unsqueeze(-2)).tanh_()

    def _output(self, theta: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return 0.5 * self.scale * (t.mean(dim=-1) + theta[..., -1].mean(dim=-1, keepdim=True))

    def output(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``f(x_i)`` for the rows of ``x`` (``(..., n, d)``): shape ``(..., n)``."""
        return self._output(theta, self._activations(theta, x))

    def _grad(self, theta: torch.Tensor, x: torch.Tensor, t: torch.Tensor,
              dloss: torch.Tensor) -> torch.Tensor:
        # (0.5 R) dloss_i (1 - t^2), (..., n, N), in place on one fresh array (same rounding).
        a = (t * t).neg_().add_(1.0).mul_((0.5 * self.scale) * dloss.unsqueeze(-1))
        # a's leading axes already broadcast theta's, x's and dloss's.
        out = torch.empty(a.shape[:-2] + theta.shape[-2:], dtype=theta.dtype, device=theta.device)
        out[..., :-2] = a.mT @ x
        out[..., -2] = a.sum(dim=-2)
        out[..., -1] = 0.5 * self.scale * dloss.sum(dim=-1, keepdim=True)
        return out

    def first_variation_grad(self, theta: torch.Tensor, x: torch.Tensor,
                             dloss: torch.Tensor) -> torch.Tensor:
        """``sum_i dloss_i grad_z h_z(x_i)`` at every particle, for ``dloss_i`` the derivative of
        the empirical loss with respect to ``f(x_i)`` (it carries the 1/n)."""
        return self._grad(theta, x, self._activations(theta, x), dloss)

    def output_and_first_variation_grad(
            self, theta: torch.Tensor, x: torch.Tensor,
            loss_grad: Callable[[torch.Tensor], torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``f(x_i)`` and :meth:`first_variation_grad` at ``dloss = loss_grad(f)`` from one pass
        over the activations (which a separate :meth:`output` call would compute twice)."""
        t = self._activations(theta, x)
        f = self._output(theta, t)
        return f, self._grad(theta, x, t, loss_grad(f))


class TanhMeanFieldSystems:
    """Many independent nets of :class:`TanhMeanFieldNet`'s neuron, of several sizes, in one
    tensor: ``theta`` has shape ``(R, M, p)``, ``R`` replicas of ``K`` systems whose particles lie
    side by side, ``sizes[0]`` rows for the first system, then ``sizes[1]``, ...
    (``M = sum(sizes)``). System ``k`` of replica ``r`` is the net ``f(x) = (1/N_k) sum_j
    h_{z_j}(x)`` over its own rows. The systems share nothing but the tensor, so one MFLD step
    (:func:`mfld_step`, whose noise has ``theta``'s shape) advances them all at once; inside the
    gradient each system is a contiguous view, batched over the replicas.
    """

    def __init__(self, scale: float, sizes: list[int] | tuple[int, ...]) -> None:
        self.scale = float(scale)
        self.sizes = tuple(int(v) for v in sizes)
        if not self.sizes or min(self.sizes) < 1:
            raise ValueError(f"need at least one system of at least one particle, got {sizes}")
        edges = np.concatenate([[0], np.cumsum(self.sizes)])
        self.slices = tuple(slice(int(lo), int(hi)) for lo, hi in zip(edges, edges[1:],
                                                                       strict=False))

    @staticmethod
    def with_ones(x: torch.Tensor) -> torch.Tensor:
        """``[x, 1]``: the inputs with a column of ones, so that one matrix product gives the
        pre-activations ``<x_i, z_1> + z_2`` and, transposed, the gradient in ``(z_1, z_2)``."""
        return torch.cat([x, torch.ones_like(x[:, :1])], dim=1)

    def output(self, theta: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        """``f_{r,k}(x_i)`` for the rows of ``x1 = with_ones(x)``: shape ``(R, n, K)``."""
        return torch.stack([self._output(theta[..., s, :], x1)[0] for s in self.slices], dim=-1)

    def _output(self, z: torch.Tensor, x1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One system's ``(f, tanh activations)``: ``(R, n)`` and ``(R, n, N)``."""
        t = torch.matmul(x1, z[..., :-1].transpose(-1, -2)).tanh_()
        return (0.5 * self.scale) * (t.mean(dim=-1) + z[..., None, :, -1].mean(dim=-1)), t

    def squared_loss_grad(self, theta: torch.Tensor, x1: torch.Tensor,
                          y: torch.Tensor) -> torch.Tensor:
        """The first-variation gradient of every system's squared loss
        ``(1/2n) sum_i (f(x_i) - y_i)^2`` at each of its particles (shape of ``theta``):
        ``sum_i (f(x_i) - y_i) / n * grad_z h_z(x_i)``, as
        :meth:`TanhMeanFieldNet.first_variation_grad` gives it for one system. The activations
        are computed once and reused in place: the step is bound by passes over the
        ``(R, n, N)`` tensors."""
        out = torch.empty_like(theta)
        n = x1.shape[0]
        for s in self.slices:
            z = theta[..., s, :]
            f, t = self._output(z, x1)
            half = ((0.5 * self.scale / n) * (f - y))[..., None]  # (R, n, 1)
            a = torch.addcmul(half, half, t.square_(), value=-1.0)  # R/2 dloss (1 - tanh^2)
            out[..., s, :-1] = (x1.T @ a).transpose(-1, -2)  # (n,4)^T (R,n,N): fast in BLAS
            out[..., s, -1] = half.sum(dim=-2)
        return out


# --- stochastic gradients for SGD-MFLD and SVRG-MFLD ---------------------------------------------

BatchGradient = Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]


def svrg_gradient(batch_grad: BatchGradient, theta: torch.Tensor, anchor: torch.Tensor,
                  anchor_full: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
    """The SVRG estimate ``g_B(theta) - g_B(anchor) + g(anchor)`` of the full gradient at ``theta``.

    ``batch_grad(theta, idx)`` is the gradient averaged over the samples ``idx``; ``anchor`` is the
    snapshot, ``anchor_full`` its full-batch gradient (computed once per epoch). For a batch drawn
    uniformly the estimate is unbiased, ``E_B = g(theta)``, and its variance vanishes as
    ``theta -> anchor`` (Johnson and Zhang 2013; the SVRG-MFLD of Suzuki, Wu and Nitanda 2023,
    Alg. 2, applies it to every particle's first-variation gradient).
    """
    return batch_grad(theta, batch) - batch_grad(anchor, batch) + anchor_full


# --- the MFLD variants: full batch, SGD-MFLD, SVRG-MFLD ------------------------------------------

MFLD_VARIANTS = ("full", "sgd", "svrg")
Recorder = Callable[[int, int, torch.Tensor], None]


def mfld_run(theta: torch.Tensor, batch_grad: BatchGradient, n_samples: int, variant: str,
             steps: int, eta: float, lam1: float, lam2: float, generator: torch.Generator,
             batch_size: int, inner_steps: int, record_every: int,
             record: Recorder) -> torch.Tensor:
    """``steps`` MFLD steps (:func:`mfld_step`) with the first-variation gradient of ``variant``:

    - ``"full"``: the full-batch gradient (``n_samples`` per-sample gradient evaluations a step);
    - ``"sgd"``: SGD-MFLD, the mean over ``batch_size`` samples drawn uniformly without
      replacement each step (``batch_size`` evaluations; Suzuki, Wu and Nitanda 2023, Sec. 3.1);
    - ``"svrg"``: SVRG-MFLD, :func:`svrg_gradient` with the anchor refreshed every
      ``inner_steps`` steps (``n_samples`` evaluations at a refresh, ``2 batch_size`` a step;
      ibid., Sec. 3.2).

    ``batch_grad(theta, idx)`` is the first-variation gradient averaged over the samples ``idx``
    (``None``: all of them). ``record(step, evaluations, theta)`` is called at step 0 and every
    ``record_every`` steps (and at the last step) with the per-sample gradient evaluations spent
    so far. Returns the
    final particles.
    """
    if variant not in MFLD_VARIANTS:
        raise ValueError(f"unknown MFLD variant {variant!r}; known: {', '.join(MFLD_VARIANTS)}")
    if not 1 <= batch_size <= n_samples or inner_steps < 1 or record_every < 1:
        raise ValueError(f"need 1 <= batch_size <= n_samples, inner_steps >= 1, record_every >= 1 "
                         f"(got {batch_size}, {n_samples}, {inner_steps}, {record_every})")
    evals = 0
    anchor = anchor_full = None

    def draw() -> torch.Tensor:
        perm = torch.randperm(n_samples, generator=generator, device=generator.device)
        return perm[:batch_size]

    record(0, 0, theta)
    for step in range(1, steps + 1):
        if variant == "full":
            def grad(th: torch.Tensor) -> torch.Tensor:
                return batch_grad(th, None)
            evals += n_samples
        elif variant == "sgd":
            idx = draw()

            def grad(th: torch.Tensor, idx: torch.Tensor = idx) -> torch.Tensor:
                return batch_grad(th, idx)
            evals += batch_size
        else:
            if (step - 1) % inner_steps == 0:
                anchor, anchor_full = theta.clone(), batch_grad(theta, None)
                evals += n_samples
            idx = draw()

            def grad(th: torch.Tensor, idx: torch.Tensor = idx, anchor: torch.Tensor = anchor,
                     anchor_full: torch.Tensor = anchor_full) -> torch.Tensor:
                return svrg_gradient(batch_grad, th, anchor, anchor_full, idx)
            evals += 2 * batch_size
        theta = mfld_step(theta, grad, eta, lam1, lam2, generator)
        if step % record_every == 0 or step == steps:
            record(step, evals, theta)
    return theta

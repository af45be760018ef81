"""Optimisers that step every model of an ensemble at once, each with its own step size.

A parameter tensor has a leading model axis ``E``; the step for model e and parameter p is
``lr[e] * lr_scale_p[e]``, where ``lr`` is the per-model step size and ``lr_scale_p`` the
parameterisation's width-dependent factor (:mod:`companion.nn.parameterisation`). Updates are
in-place tensor operations with no host synchronisation, so they run asynchronously on a GPU.

Every optimiser implements ``step(grads, generator)``. The generator is the fit's own random
stream; plain gradient methods ignore it. It is there for the Langevin family, which belongs in
this module as further :class:`Optimiser` implementations registered in :data:`OPTIMISERS`:
gradient Langevin dynamics (add ``sqrt(2 lr / beta) * N(0, I)`` to each gradient step, inverse
temperature beta; Raginsky, Rakhlin & Telgarsky 2017), noisy mean-field Langevin dynamics (an L2
term ``lambda_1`` and entropy temperature ``lambda_2``; Mei, Montanari & Nguyen 2018, Nitanda,
Wu & Suzuki 2022) and their minibatch and SVRG variants. Noise must be masked for padded units
(multiply by ``(p != 0)`` of the initial weights, or by the ensemble's mask) so padding stays inert.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import torch


class Optimiser(Protocol):
    def step(self, grads: Sequence[torch.Tensor], generator: torch.Generator | None) -> None:
        """Update the parameters in place from their gradients."""


def _per_param(lr: torch.Tensor, scale: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    # (E,) -> (E, 1, ..., 1) so it broadcasts over the parameter's own axes.
    return (lr * scale).reshape(-1, *([1] * (like.dim() - 1))).to(like.dtype)


class GD:
    """Gradient descent ``p <- p - lr[e] s_p[e] (grad + weight_decay p)``; with minibatches this is
    SGD (the fit draws the batches). ``weight_decay`` is an L2 penalty ``(wd/2)|p|^2``."""

    def __init__(self, params: Sequence[torch.Tensor], lr: torch.Tensor,
                 lr_scales: Sequence[torch.Tensor], weight_decay: float = 0.0) -> None:
        self.params = list(params)
        self.steps = [_per_param(lr, s, p) for p, s in zip(self.params, lr_scales, strict=True)]
        self.weight_decay = float(weight_decay)

    @torch.no_grad()
    def step(self, grads: Sequence[torch.Tensor], generator: torch.Generator | None = None) -> None:
        for p, g, s in zip(self.params, grads, self.steps, strict=True):
            if self.weight_decay:
                g = g.add(p, alpha=self.weight_decay)
            p.addcmul_(g, s, value=-1.0)


class Adam:
    """Adam (Kingma & Ba 2015, Algorithm 1) with per-model step sizes: the step on model e's
    parameter p is ``lr[e] s_p[e] m_hat / (sqrt(v_hat) + eps)``."""

    def __init__(self, params: Sequence[torch.Tensor], lr: torch.Tensor,
                 lr_scales: Sequence[torch.Tensor], betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self.params = list(params)
        self.steps = [_per_param(lr, s, p) for p, s in zip(self.params, lr_scales, strict=True)]
        self.betas = betas
        self.eps = eps
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = 0

    @torch.no_grad()
    def step(self, grads: Sequence[torch.Tensor], generator: torch.Generator | None = None) -> None:
        self.t += 1
        b1, b2 = self.betas
        c1 = 1.0 - b1**self.t
        c2 = 1.0 - b2**self.t
        for p, g, m, v, s in zip(self.params, grads, self.m, self.v, self.steps, strict=True):
            m.mul_(b1).add_(g, alpha=1.0 - b1)
            v.mul_(b2).addcmul_(g, g, value=1.0 - b2)
            denom = (v / c2).sqrt_().add_(self.eps)
            p.addcdiv_(m * s, denom, value=-1.0 / c1)


# Name -> constructor ``(params, lr, lr_scales, **options)``. The Langevin family registers here.
OPTIMISERS = {"gd": GD, "sgd": GD, "adam": Adam}


def make_optimiser(name: str, params: Sequence[torch.Tensor], lr: torch.Tensor,
                   lr_scales: Sequence[torch.Tensor], **options) -> Optimiser:
    """Build the optimiser called ``name`` for an ensemble's ``params`` and ``lr_scales``."""
    try:
        cls = OPTIMISERS[name]
    except KeyError:
        raise ValueError(f"optimiser: {name!r} is not one of {', '.join(OPTIMISERS)}") from None
    return cls(params, lr, lr_scales, **options)

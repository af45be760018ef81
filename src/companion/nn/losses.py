"""Per-model losses: the mean over samples, one value per model of the ensemble.

``f`` and ``y`` have shape ``(E, n)`` (``y`` may also be ``(n,)``, shared by every model); the
result has shape ``(E,)``. Summing it over models gives a scalar whose gradient with respect to
each model's parameters is that model's own gradient, since the models share no parameters.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def squared(f: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``(1/2n) sum_i (f_i - y_i)^2``: the half makes the gradient flow ``df/dt = -K (f - y) / n``
    with K the tangent kernel, the convention of the NTK convergence analysis (Du et al. 2019)."""
    return 0.5 * (f - y).pow(2).mean(dim=-1)


def logistic(f: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``(1/n) sum_i log(1 + exp(-y_i f_i))`` for labels ``y_i`` in ``{-1, +1}``."""
    return F.softplus(-y * f).mean(dim=-1)


LOSSES: dict[str, LossFn] = {"squared": squared, "logistic": logistic}


def squared_grad(f: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``d squared / d f_i = (f_i - y_i) / n``."""
    return (f - y) / f.shape[-1]


def logistic_grad(f: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``d logistic / d f_i = -y_i sigmoid(-y_i f_i) / n``."""
    return -y * torch.sigmoid(-y * f) / f.shape[-1]


# The derivative of each loss with respect to the outputs, for the closed-form backward pass.
LOSS_GRADS: dict[str, LossFn] = {"squared": squared_grad, "logistic": logistic_grad}


def loss_fn(name: str) -> LossFn:
    """The loss called ``name`` (one of :data:`LOSSES`)."""
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"loss: {name!r} is not one of {', '.join(LOSSES)}") from None

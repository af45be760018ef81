"""Pointwise activations and their derivatives, by name.

The derivative is needed in closed form by the empirical NTK (:mod:`companion.nn.ntk`); training
itself uses autograd. ReLU's derivative at 0 is taken as 0, as autograd does.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

Fn = Callable[[torch.Tensor], torch.Tensor]

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _relu_prime(z: torch.Tensor) -> torch.Tensor:
    return (z > 0).to(z.dtype)


def _tanh_prime(z: torch.Tensor) -> torch.Tensor:
    return 1.0 - torch.tanh(z) ** 2


def _erf_prime(z: torch.Tensor) -> torch.Tensor:
    return _TWO_OVER_SQRT_PI * torch.exp(-z * z)


def _sigmoid_prime(z: torch.Tensor) -> torch.Tensor:
    s = torch.sigmoid(z)
    return s * (1.0 - s)


_TABLE: dict[str, tuple[Fn, Fn]] = {
    "relu": (torch.relu, _relu_prime),
    "tanh": (torch.tanh, _tanh_prime),
    "erf": (torch.erf, _erf_prime),
    "sigmoid": (torch.sigmoid, _sigmoid_prime),
}

ACTIVATIONS: tuple[str, ...] = tuple(_TABLE)


def activation(name: str) -> Fn:
    """The activation ``sigma`` called ``name`` (one of :data:`ACTIVATIONS`)."""
    return _lookup(name)[0]


def derivative(name: str) -> Fn:
    """Its derivative ``sigma'``."""
    return _lookup(name)[1]


def _lookup(name: str) -> tuple[Fn, Fn]:
    try:
        return _TABLE[name]
    except KeyError:
        raise ValueError(f"activation: {name!r} is not one of {', '.join(ACTIVATIONS)}") from None

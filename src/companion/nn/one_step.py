"""The first full-batch gradient step of a two-layer net on a single-index target.

The setting of Ba, Erdogdu, Suzuki, Wang, Wu and Yang (2022), Sec. 2 (:mod:`companion.theory.
one_step`): inputs ``x ~ N(0, I_d)``, labels ``y = sigma*(<x, beta*>)``, the net
``f(x) = (1/sqrt(N)) a^T sigma(W^T x)`` in the ``one_step`` parameterisation of the batched engine
(:mod:`companion.nn.parameterisation`) and its exact gradient of the squared loss
(:func:`companion.nn.backprop.two_layer_loss_and_grads`, the prediction at initialisation
included). Shared by C1 (the spike of ``W_1``) and C2 (ridge regression on its features).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from companion.nn.activations import activation
from companion.nn.backprop import two_layer_loss_and_grads
from companion.nn.ensemble import MLPEnsemble


def single_index_data(n: int, beta_star: torch.Tensor, target: str,
                      generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` inputs ``x ~ N(0, I_d)`` (float64, on ``beta_star``'s device) and their noiseless
    labels ``sigma*(<x, beta*>)``."""
    x = torch.randn(n, beta_star.shape[0], generator=generator, dtype=beta_star.dtype,
                    device=beta_star.device)
    return x, activation(target)(x @ beta_star)


def first_step(d: int, n: int, width: int, activation_name: str, target: str,
               beta_star: np.ndarray, streams: Sequence[int], device: Any
               ) -> tuple[MLPEnsemble, torch.Tensor]:
    """The net at initialisation (one model of width ``width``, seeded by ``streams[1]``) and the
    negative gradient ``G`` (d, width) of its squared loss on ``n`` fresh samples drawn from
    ``streams[0]``, so that ``W_1 = W_0 + eta sqrt(N) G`` (:func:`stepped_weights`)."""
    gen = torch.Generator(device=device)
    gen.manual_seed(int(streams[0]))
    beta = torch.as_tensor(beta_star, dtype=torch.float64, device=device)
    if beta.shape[0] != d:
        raise ValueError(f"beta_star has {beta.shape[0]} entries, not d = {d}")
    x, y = single_index_data(n, beta, target, gen)
    model = MLPEnsemble(d, [width], activation_name=activation_name,
                        parameterisation="one_step", seed=int(streams[1]), device=device,
                        dtype=torch.float64)
    _, grads = two_layer_loss_and_grads(model, x, y, "squared")
    return model, -grads[0][0]


def initial_weights(model: MLPEnsemble) -> torch.Tensor:
    """``W_0`` (d, N) of the single model."""
    return model.weights[0][0].detach()


def stepped_weights(model: MLPEnsemble, grad: torch.Tensor, eta: float) -> torch.Tensor:
    """``W_1 = W_0 + eta sqrt(N) G``: the ``one_step`` parameterisation's step scale is sqrt(N)."""
    return initial_weights(model) + float(eta) * model.lr_scales[0][0] * grad

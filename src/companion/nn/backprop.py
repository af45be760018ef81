"""The gradient of a two-layer ensemble in closed form: one forward and one backward pass with
two matrix products each, instead of autograd's graph.

For ``z = m_1 x W_1 + b``, ``h = sigma(z)``, ``f = m_2 h a`` and per-model loss ``L(f)`` with
``g = dL/df`` (shape ``(E, n)``):

    dL/da   = m_2 h^T g,
    G       = m_2 (g a^T) * sigma'(z)            (E, n, M),
    dL/dW_1 = m_1 x^T G,        dL/db = sum_i G_i.

Autograd computes the same numbers (the tests compare both with torch.nn), but on a CPU its
per-operation overhead and its outer product ``g a^T`` as a batched matrix product with inner
dimension 1 made it about twice as slow for the small nets the sweeps train.
"""

from __future__ import annotations

import torch

from companion.nn.ensemble import MLPEnsemble
from companion.nn.losses import LOSS_GRADS, LOSSES


@torch.no_grad()
def two_layer_loss_and_grads(model: MLPEnsemble, x: torch.Tensor, y: torch.Tensor,
                             loss: str) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Per-model losses ``(E,)`` and the gradients of their sum, in ``model.params`` order."""
    if model.depth != 1:
        raise ValueError(f"two_layer_loss_and_grads: the model has depth {model.depth}, not 1")
    w1, w2 = model.weights
    m1, m2 = model.multipliers
    z = model.preactivation(x, 0)
    h = model.masked_activation(z)
    f = torch.matmul(h, w2).squeeze(-1) * m2[:, :, 0]
    value = LOSSES[loss](f, y)
    g = LOSS_GRADS[loss](f, y) * m2[:, :, 0]  # (E, n), includes m_2
    grad_w2 = torch.matmul(h.transpose(-1, -2), g[:, :, None])
    big = model.activation_derivative(z).mul_(g[:, :, None]).mul_(w2.transpose(-1, -2))
    xt = x.transpose(-1, -2)
    grad_w1 = torch.matmul(xt, big).mul_(m1)
    grads = [grad_w1, grad_w2]
    if model.bias:
        grads.append(big.sum(dim=1, keepdim=True))
    return value, grads

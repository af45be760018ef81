"""The gradient of a two-layer ensemble in closed form: the forward pass and the backward pass
as a handful of batched products and elementwise passes, instead of autograd's graph.

For ``z = m_1 x W_1 + b``, ``h = sigma(z)``, ``f = m_2 h a`` and per-model loss ``L(f)`` with
``g = dL/df`` (shape ``(E, n)``):

    dL/da   = m_2 h^T g,
    G       = m_2 (g a^T) * sigma'(z)            (E, n, M),
    dL/dW_1 = m_1 x^T G,        dL/db = sum_i G_i,        dL/dc = sum_i g_i
(``c`` the output bias, when the ensemble has one).

Autograd computes the same numbers (the tests compare both, and both with torch.nn). On a CPU the
step is bound by memory traffic over the ``(E, n, M)`` arrays, so the order of operations here is
chosen to pass over them as few times as possible and to write into memory already in use (on
the machine this was tuned on, writing a fresh array cost four times an in-place pass): the
multipliers are applied to the small weight tensors; for ReLU and the sigmoid one buffer holds
z, then ``h = sigma(z)`` and finally ``G = sigma'(z) * m_2 g a^T`` with ``sigma'`` computed from
h (``1{h > 0}``, ``h (1 - h)``), all in place; and the two
matrix-vector products are written as row-vector products, which the BLAS ran several times
faster than batched ``(n x M)(M x 1)`` products.
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
    relu = model.activation_name == "relu"
    # For ReLU and the sigmoid, sigma'(z) is a function of h = sigma(z), so z is not needed again.
    from_output = relu or model.activation_name == "sigmoid"
    z = torch.matmul(x, w1 * m1)  # (E, n, M)
    if model.bias:
        z += model.biases[0]
    if from_output:
        h = z.clamp_min_(0.0) if relu else z.sigmoid_()
        if model.mask is not None:
            h.mul_(model.mask)
    else:
        h = model.masked_activation(z)
    a = w2 * m2  # (E, M, 1)
    f = torch.matmul(a.transpose(1, 2), h.transpose(1, 2))[:, 0, :]  # (E, n)
    if model.output_bias:
        f = f + model.out_biases[0]
    value = LOSSES[loss](f, y)
    g = LOSS_GRADS[loss](f, y)  # (E, n)
    grad_w2 = torch.matmul(g[:, None, :], h).transpose(1, 2).mul_(m2)
    if from_output:
        # h is not needed again either: overwrite it with G = sigma'(z) * (m_2 g a^T), in place,
        # from sigma' = 1{h > 0} (ReLU) or h (1 - h) (sigmoid; a padded unit's h = 0 stays 0).
        prime = h.sign_() if relu else h.addcmul_(h, h, value=-1.0)
        big = prime.mul_(g[:, :, None]).mul_(a.transpose(1, 2))
    else:
        big = model.activation_derivative(z).mul_(g[:, :, None]).mul_(a.transpose(1, 2))
    grad_w1 = torch.matmul(x.transpose(-1, -2), big).mul_(m1)
    grads = [grad_w1, grad_w2]
    if model.bias:
        grads.append(big.sum(dim=1, keepdim=True))
    if model.output_bias:
        grads.append(g.sum(dim=1, keepdim=True))  # dL/dc = sum_i g_i
    return value, grads

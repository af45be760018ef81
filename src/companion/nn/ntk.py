"""Empirical neural tangent kernels of two-layer ensembles, in closed form per layer, batched.

For ``f(x) = m_2 sum_j a_j sigma(m_1 <w_j, x> + b_j)`` the tangent kernel of gradient descent
that steps each parameter group p with scale ``s_p`` is ``K = sum_p s_p J_p J_p^T`` (Jacot,
Gabriel & Hongler 2018, Sec. 4; the scales come from :mod:`companion.nn.parameterisation`).
Its per-layer terms are

    K_a(x, y) = s_a m_2^2 sum_j sigma(z_j(x)) sigma(z_j(y)),
    K_w(x, y) = s_w m_1^2 m_2^2 <x, y> sum_j a_j^2 sigma'(z_j(x)) sigma'(z_j(y)),
    K_b(x, y) = s_b m_2^2 sum_j a_j^2 sigma'(z_j(x)) sigma'(z_j(y)),

with ``z_j(x) = m_1 <w_j, x> + b_j``: two matrix products per layer instead of an n x P Jacobian.
With ``s_p = 1`` (``weighted=False``) these are the plain Jacobian Gram matrices.
"""

from __future__ import annotations

import torch

from companion.nn.ensemble import MLPEnsemble


@torch.no_grad()
def two_layer_ntk(model: MLPEnsemble, x: torch.Tensor, y: torch.Tensor | None = None, *,
                  weighted: bool = True) -> dict[str, torch.Tensor]:
    """Per-layer empirical NTK Gram matrices ``(E, n_x, n_y)`` of a two-layer ensemble.

    Keys are the parameter names (``"W1"``, ``"W2"`` and ``"b1"`` with biases); their sum is the
    full kernel (:func:`total`). ``x`` and ``y`` are ``(n, d)`` or ``(E, n, d)``; ``y`` defaults
    to ``x``.
    """
    if model.depth != 1:
        raise ValueError(f"two_layer_ntk: the model has depth {model.depth}, not 1")
    y = x if y is None else y
    zx = model.preactivation(x, 0)
    zy = zx if y is x else model.preactivation(y, 0)
    ax, ay = model.masked_activation(zx), model.masked_activation(zy)
    sx, sy = model.activation_derivative(zx), model.activation_derivative(zy)
    a2 = model.weights[1][..., 0].pow(2)[:, None, :]  # (E, 1, M)
    m1 = model.multipliers[0][:, 0, 0]
    m2 = model.multipliers[1][:, 0, 0]
    ones = torch.ones_like(m1)
    s = model.lr_scales if weighted else [ones] * len(model.lr_scales)

    def coef(c: torch.Tensor) -> torch.Tensor:
        return c[:, None, None]

    shared = torch.matmul(sx * a2, sy.transpose(-1, -2))  # sum_j a_j^2 s'(z_j(x)) s'(z_j(y))
    inner = torch.matmul(x, y.transpose(-1, -2))
    kernels = {
        "W1": coef(s[0] * m1**2 * m2**2) * inner * shared,
        "W2": coef(s[1] * m2**2) * torch.matmul(ax, ay.transpose(-1, -2)),
    }
    if model.bias:
        kernels["b1"] = coef(s[2] * m2**2) * shared
    return kernels


def total(kernels: dict[str, torch.Tensor]) -> torch.Tensor:
    """The full tangent kernel: the sum of the per-layer terms."""
    return sum(kernels.values())

"""An ensemble of nets ``g(P^T x)``: a learned linear map to a few units, then an MLP.

This is the model class of Suzuki & Nitanda (2021, "Deep learning is adaptive to intrinsic
dimensionality of model smoothness in anisotropic Besov space", NeurIPS, Sec. 2): a first layer
without activation that can find the few directions a target depends on, followed by an
ordinary deep net on the projected coordinates. :class:`ProjectedEnsemble` wraps an
:class:`~companion.nn.ensemble.MLPEnsemble` on ``k`` inputs with a per-model map ``P`` of shape
``(E, d, k)`` and offers what :func:`companion.nn.train.fit` uses (``params``, ``lr_scales``,
``snapshot``, a call), so it trains with the same optimisers and autograd.

Models may see inputs of different dimension: ``input_dims[e]`` rows of model e's ``P`` are real,
the rest start at 0 and, fed zero-padded inputs, keep a zero gradient (Adam then leaves them at 0),
so padding changes nothing. ``P`` starts as ``N(0, 1/d_e)``, like a standard first layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from companion.nn.ensemble import MLPEnsemble


class ProjectedEnsemble:
    """E nets ``x -> MLP(P_e^T x)``; see the module docstring."""

    def __init__(self, input_dims: Sequence[int], k: int, width: int, *, depth: int = 2,
                 activation_name: str = "relu", seed: int = 0,
                 device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> None:
        dims = np.asarray(input_dims, dtype=int)
        if dims.ndim != 1 or dims.size == 0 or dims.min() < 1 or k < 1:
            raise ValueError(f"input_dims, k: need positive sizes, got {input_dims}, {k}")
        self.n_models = int(dims.size)
        self.d_in = int(dims.max())
        self.input_dims = dims
        self.k = int(k)
        gen = torch.Generator().manual_seed(seed)
        rows = torch.arange(self.d_in)[None, :, None] < torch.as_tensor(dims)[:, None, None]
        std = torch.as_tensor(1.0 / np.sqrt(dims), dtype=dtype)[:, None, None]
        proj = torch.randn(self.n_models, self.d_in, self.k, generator=gen, dtype=dtype) * std
        self.projection = (proj * rows.to(dtype)).to(device).requires_grad_(True)
        self.inner = MLPEnsemble(self.k, [int(width)] * self.n_models, depth=depth,
                                 activation_name=activation_name, bias=True,
                                 parameterisation="standard", seed=gen, device=device,
                                 dtype=dtype)
        self.device = self.inner.device
        self.dtype = dtype
        # fit() takes its closed-form two-layer path only for depth 1; this net is deeper.
        self.depth = self.inner.depth + 1
        self.lr_scales = [torch.ones(self.n_models, dtype=dtype, device=self.device)]
        self.lr_scales += self.inner.lr_scales

    @property
    def params(self) -> list[torch.Tensor]:
        return [self.projection] + self.inner.params

    @property
    def param_names(self) -> list[str]:
        return ["P"] + self.inner.param_names

    def snapshot(self) -> list[torch.Tensor]:
        return [p.detach().clone() for p in self.params]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs ``(E, n)`` for inputs ``(n, d)`` or ``(E, n, d)`` (d = the largest dimension)."""
        return self.inner(torch.matmul(x, self.projection))

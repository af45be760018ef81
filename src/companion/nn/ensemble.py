"""Many MLPs held as one set of stacked tensors, so a whole sweep trains as one tensor program.

An :class:`MLPEnsemble` is E independent fully connected nets ``d -> n_e -> ... -> n_e -> 1``
(``depth`` hidden layers) whose weights live in tensors with a leading model axis: layer l's
weight has shape ``(E, n_in, n_out)``, so one ``torch.matmul`` runs the layer for every model.
Models share the input dimension and depth; they may differ in width, parameterisation (per-model
multipliers and step scales) and initial seed.

Widths that differ are padded to the largest and masked: a padded unit's activation is multiplied
by 0, so it contributes nothing to the output and receives a zero gradient, and its weights are
initialised to 0 so norms and movements count only real units. Padding costs flops in proportion
to ``E * max(n) / sum(n)``; for a geometric width sweep that is large, so sweeps are split into
groups of equal (or nearly equal) width by :func:`companion.nn.sweep.plan_groups`, which the
benchmark (``python -m companion bench --sweep``) measured to be faster than padding the
whole sweep into one ensemble.

Initial weights are drawn on the CPU from a ``torch.Generator`` and then moved to the device, so a
seed gives the same network on every device.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from companion.nn.activations import activation, derivative
from companion.nn.parameterisation import PARAMETERISATIONS, LayerScale, layer_scales


class MLPEnsemble:
    """E stacked MLPs; see the module docstring.

    ``parameterisation`` is one name for all models or one name per model. ``output_bias`` adds a
    trained constant ``c`` to every model's output (initialised to 0, step scale 1): the ``c_0`` of
    Barron's (1993) approximants and of any fit to a target with a nonzero mean. With ``symmetric``
    (two-layer nets of even width only) the second half of each model's units copies the first
    half's input weights with negated output weights, so every model computes f = 0 at
    initialisation while its tangent kernel keeps the distribution of an ordinary one
    (Chizat, Oyallon & Bach 2019, Sec. 2.2, the "doubling trick"). ``init_scale`` multiplies
    every initial weight (a small initialisation: the neurons first turn, then grow; Maennel,
    Bousquet & Gelly 2018).
    """

    def __init__(self, d_in: int, widths: Sequence[int], *, depth: int = 1,
                 activation_name: str = "relu", parameterisation: str | Sequence[str] = "ntk",
                 bias: bool = False, bias_std: float = 1.0, output_bias: bool = False,
                 symmetric: bool = False, init_scale: float = 1.0,
                 seed: int | torch.Generator = 0, device: torch.device | str = "cpu",
                 dtype: torch.dtype = torch.float32) -> None:
        widths_np = np.asarray(widths, dtype=int)
        if widths_np.ndim != 1 or widths_np.size == 0 or widths_np.min() < 1:
            raise ValueError(f"widths: expected a non-empty list of positive ints, got {widths}")
        self.n_models = int(widths_np.size)
        self.d_in = int(d_in)
        self.depth = int(depth)
        self.widths = widths_np
        self.width = int(widths_np.max())
        self.activation_name = activation_name
        self.bias = bool(bias)
        self.device = torch.device(device)
        self.dtype = dtype
        self._act = activation(activation_name)
        self._act_prime = derivative(activation_name)
        names = ([parameterisation] * self.n_models if isinstance(parameterisation, str)
                 else list(parameterisation))
        if len(names) != self.n_models:
            raise ValueError(f"parameterisation: {len(names)} names for {self.n_models} models")
        self.parameterisations = names
        scales = self._scales(names)
        gen = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(seed)

        dims = [self.d_in] + [self.width] * self.depth + [1]
        # Hidden-unit mask (E, 1, width); None when every model has the full width.
        self.mask = None
        if (widths_np != self.width).any():
            units = torch.arange(self.width)[None, :] < torch.as_tensor(widths_np)[:, None]
            self.mask = units.to(dtype)[:, None, :]

        self.weights: list[torch.Tensor] = []
        self.multipliers: list[torch.Tensor] = []
        self.lr_scales: list[torch.Tensor] = []
        for layer, (n_in, n_out) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
            std = init_scale * torch.as_tensor(scales[layer].init_std, dtype=dtype)[:, None, None]
            w = torch.randn(self.n_models, n_in, n_out, generator=gen, dtype=dtype) * std
            if self.mask is not None:
                if layer > 0:
                    w = w * self.mask.transpose(1, 2)
                if layer < self.depth:
                    w = w * self.mask
            self.weights.append(w)
            self.multipliers.append(
                torch.as_tensor(scales[layer].multiplier, dtype=dtype)[:, None, None])
            self.lr_scales.append(torch.as_tensor(scales[layer].lr_scale, dtype=dtype))
        self.biases: list[torch.Tensor] = []
        if self.bias:
            for layer in range(self.depth):
                b = torch.randn(self.n_models, 1, self.width, generator=gen, dtype=dtype) * bias_std
                self.biases.append(b if self.mask is None else b * self.mask)
                self.lr_scales.append(torch.as_tensor(scales[layer].lr_scale, dtype=dtype))
        self.output_bias = bool(output_bias)
        self.out_biases: list[torch.Tensor] = []
        if self.output_bias:
            self.out_biases.append(torch.zeros(self.n_models, 1, dtype=dtype))
            self.lr_scales.append(torch.ones(self.n_models, dtype=dtype))
        if symmetric:
            self._symmetrise()
        self._to_device()

    # ------------------------------------------------------------------ construction helpers

    def _scales(self, names: list[str]) -> list[LayerScale]:
        per_name = {}
        for name in set(names):
            if name not in PARAMETERISATIONS:
                raise ValueError(f"parameterisation: {name!r} is not one of "
                                 f"{', '.join(PARAMETERISATIONS)}")
            per_name[name] = layer_scales(name, self.d_in, self.widths, self.depth)
        # Pick, for every layer and model, the scale of that model's parameterisation.
        out = []
        for layer in range(self.depth + 1):
            pick = {f: np.array([getattr(per_name[n][layer], f)[e] for e, n in enumerate(names)])
                    for f in ("multiplier", "init_std", "lr_scale")}
            out.append(LayerScale(**pick))
        return out

    def _symmetrise(self) -> None:
        if self.depth != 1:
            raise ValueError("symmetric: only two-layer nets (depth 1) can be symmetrised")
        if (self.widths % 2).any():
            raise ValueError(f"symmetric: every width must be even, got {self.widths.tolist()}")
        # For model e of width m, unit j >= m/2 is the twin of unit j - m/2.
        j = torch.arange(self.width)[None, :]
        half = torch.as_tensor(self.widths // 2)[:, None]
        twin = torch.where(j >= half, j - half, j)
        sign = torch.where(j >= half, -1.0, 1.0).to(self.dtype)
        first, last = self.weights
        self.weights[0] = torch.gather(first, 2, twin[:, None, :].expand_as(first))
        self.weights[1] = torch.gather(last, 1, twin[:, :, None]) * sign[:, :, None]
        if self.bias:
            self.biases[0] = torch.gather(self.biases[0], 2, twin[:, None, :])
        if self.mask is not None:
            self.weights[0] = self.weights[0] * self.mask
            self.weights[1] = self.weights[1] * self.mask.transpose(1, 2)
            if self.bias:
                self.biases[0] = self.biases[0] * self.mask

    def _to_device(self) -> None:
        move = lambda t: t.to(self.device).contiguous()  # noqa: E731
        self.weights = [move(w).requires_grad_(True) for w in self.weights]
        self.biases = [move(b).requires_grad_(True) for b in self.biases]
        self.out_biases = [move(c).requires_grad_(True) for c in self.out_biases]
        self.multipliers = [move(m) for m in self.multipliers]
        self.lr_scales = [move(s) for s in self.lr_scales]
        if self.mask is not None:
            self.mask = move(self.mask)

    # ------------------------------------------------------------------ the model

    @property
    def params(self) -> list[torch.Tensor]:
        """The trained tensors: the weights (input to output), the hidden biases, then the output
        bias when there is one."""
        return self.weights + self.biases + self.out_biases

    @property
    def param_names(self) -> list[str]:
        names = [f"W{layer + 1}" for layer in range(self.depth + 1)]
        names += [f"b{layer + 1}" for layer in range(len(self.biases))]
        return names + ["c"] * len(self.out_biases)

    def preactivation(self, h: torch.Tensor, layer: int) -> torch.Tensor:
        """Layer ``layer``'s pre-activation for inputs ``h`` of shape ``(n, n_in)`` or
        ``(E, n, n_in)``; the result has shape ``(E, n, n_out)``."""
        w, m = self.weights[layer], self.multipliers[layer]
        # Scale whichever of the weight and the output is smaller: one pass fewer over the big one.
        if w.shape[-2] <= h.shape[-2]:
            z = torch.matmul(h, w * m)
        else:
            z = torch.matmul(h, w) * m
        if self.bias and layer < self.depth:
            z = z + self.biases[layer]
        return z

    def hidden(self, x: torch.Tensor, layer: int | None = None) -> torch.Tensor:
        """The activations after hidden layer ``layer`` (default: the last), masked."""
        last = self.depth - 1 if layer is None else layer
        h = x
        for ell in range(last + 1):
            h = self._act(self.preactivation(h, ell))
            if self.mask is not None:
                h = h * self.mask
        return h

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs ``(E, n)`` for inputs ``(n, d)`` shared by all models or ``(E, n, d)``."""
        f = self.preactivation(self.hidden(x), self.depth).squeeze(-1)
        return f + self.out_biases[0] if self.output_bias else f

    def activation_derivative(self, z: torch.Tensor) -> torch.Tensor:
        """``sigma'(z)``, masked like the activations."""
        s = self._act_prime(z)
        return s if self.mask is None else s * self.mask

    def masked_activation(self, z: torch.Tensor) -> torch.Tensor:
        h = self._act(z)
        return h if self.mask is None else h * self.mask

    # ------------------------------------------------------------------ interop

    def snapshot(self) -> list[torch.Tensor]:
        """Detached copies of the parameters (e.g. the initial ones, for weight movement)."""
        return [p.detach().clone() for p in self.params]

    def effective_layers(self, model: int, params: Sequence[torch.Tensor] | None = None
                         ) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
        """Model ``model``'s layers as ``(weight, bias)`` in ``torch.nn.Linear`` layout
        (``weight`` is ``(n_out, n_in)``, multipliers applied, padding removed); of the current
        parameters, or of ``params`` (a copy in :attr:`params` order, e.g. a :meth:`snapshot`)."""
        m = int(self.widths[model])
        dims = [self.d_in] + [m] * self.depth + [1]
        params = self.params if params is None else list(params)
        weights, biases = params[: len(self.weights)], params[len(self.weights):]
        out = []
        for layer, w in enumerate(weights):
            eff = (w[model] * self.multipliers[layer][model]).detach()
            eff = eff[: dims[layer], : dims[layer + 1]].T.contiguous()
            b = biases[layer][model, 0, :m].detach().clone() if (
                self.bias and layer < self.depth) else None
            if layer == self.depth and self.output_bias:
                b = self.out_biases[0][model].detach().clone()
            out.append((eff, b))
        return out

    def torch_module(self, model: int) -> torch.nn.Sequential:
        """Model ``model`` as a standard ``torch.nn.Sequential`` of ``Linear`` layers with the same
        function (the effective weights), for comparisons with ordinary torch training."""
        layers: list[torch.nn.Module] = []
        act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}
        for layer, (w, b) in enumerate(self.effective_layers(model)):
            lin = torch.nn.Linear(w.shape[1], w.shape[0], bias=b is not None,
                                  device=w.device, dtype=w.dtype)
            with torch.no_grad():
                lin.weight.copy_(w)
                if b is not None:
                    lin.bias.copy_(b)
            layers.append(lin)
            if layer < self.depth:
                layers.append(act[self.activation_name]() if self.activation_name in act
                              else _Erf())
        return torch.nn.Sequential(*layers)


class _Erf(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return torch.erf(x)

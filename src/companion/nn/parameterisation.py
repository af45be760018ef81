"""How a network's weights scale with its width: multiplier, initial spread and step size per layer.

Every layer's weight used in the forward pass is ``multiplier * w`` where the trained parameter
``w`` starts as ``N(0, init_std^2)`` and gradient descent moves it with step ``lr * lr_scale``.
This is the abc-parameterisation of Yang & Hu (2021, Def. 3.1): ``W = n^{-a} w``,
``w ~ N(0, n^{-2b})``, step ``eta n^{-c}``. The input dimension d is divided out of the first
layer (``1/sqrt(d)``) so that pre-activations are O(1) for inputs with O(1) coordinates.

For a net ``d -> n -> ... -> n -> 1`` of width n:

=============  =========================  =========================  ============================
name           input layer                hidden layers              output layer
=============  =========================  =========================  ============================
``standard``   1, N(0, 1/d), step 1       1, N(0, 1/n), step 1       1, N(0, 1/n), step 1
``ntk``        1/sqrt(d), N(0,1), step 1  1/sqrt(n), N(0,1), step 1  1/sqrt(n), N(0,1), step 1
``mean_field`` 1/sqrt(d), N(0,1), step n  (two-layer only)           1/n, N(0,1), step n
``mup``        sqrt(n/d), N(0,1/n), 1     1, N(0,1/n), step 1        1/sqrt(n), N(0,1/n), step 1
``one_step``   1, N(0, 1/d), step sqrt(n) (two-layer only)           1/sqrt(n), N(0,1/n), step 1
=============  =========================  =========================  ============================

- ``standard``: LeCun-normal initialisation, no multipliers; a width-independent step.
- ``ntk``: Jacot, Gabriel & Hongler (2018), eq. (1): the tangent kernel converges to a
  deterministic limit and stays fixed during training as n -> infinity (lazy training).
- ``mean_field``: Mei, Montanari & Nguyen (2018), eq. (1); Chizat & Bach (2018): ``f = (1/n)
  sum_j a_j sigma(<w_j, x>)`` with O(1) weights; the step is scaled by n (``c = -1``) so every
  neuron moves O(1) in O(1) time. Defined for two-layer nets only (use ``mup`` for deeper ones).
- ``mup``: the maximal-update parameterisation, Yang & Hu (2021), Table 3 (SGD column:
  ``a = (-1/2, 0, ..., 0, 1/2)``, ``b = 1/2``, ``c = 0``). For one hidden layer it coincides with
  ``mean_field`` up to the symmetry of Yang & Hu's eq. (5).

- ``one_step``: Ba, Erdogdu, Suzuki, Wang, Wu & Yang (2022), Sec. 2: ``f = (1/sqrt(n)) a^T
  sigma(W^T x)`` with ``W_ij ~ N(0, 1/d)``, ``a_i ~ N(0, 1/n)`` (so f is O(1/sqrt(n)) at
  initialisation, a mean-field-sized output), and the first layer stepped by ``eta sqrt(n)``:
  one step of that size moves W by O(1) in operator norm (:mod:`companion.theory.one_step`).
  Defined for two-layer nets only.

Hidden-layer biases (when used) enter as ``b`` with multiplier 1, ``N(0, bias_std^2)`` and the
layer's step scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PARAMETERISATIONS: tuple[str, ...] = ("standard", "ntk", "mean_field", "mup", "one_step")


@dataclass(frozen=True)
class LayerScale:
    """One layer's scales, one entry per model (models may differ in width)."""

    multiplier: np.ndarray
    init_std: np.ndarray
    lr_scale: np.ndarray


def layer_scales(name: str, d_in: int, widths: np.ndarray, depth: int) -> list[LayerScale]:
    """The scales of the ``depth + 1`` weight matrices of nets ``d_in -> width^depth -> 1``.

    ``widths`` holds each model's hidden width; the result lists the layers from input to output.
    """
    if name not in PARAMETERISATIONS:
        raise ValueError(f"parameterisation: {name!r} is not one of {', '.join(PARAMETERISATIONS)}")
    if depth < 1:
        raise ValueError(f"depth: {depth} must be >= 1")
    if name in ("mean_field", "one_step") and depth != 1:
        raise ValueError(f"parameterisation: {name!r} is defined for two-layer nets (depth 1); "
                         "use 'mup' for deeper ones")
    n = np.asarray(widths, dtype=float)
    one = np.ones_like(n)
    d = float(d_in)

    def scale(mult, std, lr) -> LayerScale:
        return LayerScale(mult * one, std * one, lr * one)

    if name == "standard":
        first = scale(1.0, 1.0 / np.sqrt(d), 1.0)
        hidden = scale(1.0, 1.0 / np.sqrt(n), 1.0)
        last = scale(1.0, 1.0 / np.sqrt(n), 1.0)
    elif name == "ntk":
        first = scale(1.0 / np.sqrt(d), 1.0, 1.0)
        hidden = scale(1.0 / np.sqrt(n), 1.0, 1.0)
        last = scale(1.0 / np.sqrt(n), 1.0, 1.0)
    elif name == "mean_field":
        first = scale(1.0 / np.sqrt(d), 1.0, n)
        hidden = first  # unused: depth is 1
        last = scale(1.0 / n, 1.0, n)
    elif name == "one_step":
        first = scale(1.0, 1.0 / np.sqrt(d), np.sqrt(n))
        hidden = first  # unused: depth is 1
        last = scale(1.0 / np.sqrt(n), 1.0 / np.sqrt(n), 1.0)
    else:  # mup
        first = scale(np.sqrt(n / d), 1.0 / np.sqrt(n), 1.0)
        hidden = scale(1.0, 1.0 / np.sqrt(n), 1.0)
        last = scale(1.0 / np.sqrt(n), 1.0 / np.sqrt(n), 1.0)
    return [first] + [hidden] * (depth - 1) + [last]

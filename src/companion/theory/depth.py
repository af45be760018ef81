"""Depth and the number of linear pieces: the sawtooth construction and the counting bounds.

- The tent map ``T(x) = 2 relu(x) - 4 relu(x - 1/2)`` maps [0, 1] onto itself with two linear
  pieces; composed L times it is the sawtooth with ``2^L`` pieces of slopes ``+-2^L``, realised by
  a ReLU net with L hidden layers of width 2 (Telgarsky 2016, "Benefits of depth in neural
  networks", Lemma 2.4 / the "mirror map"; Montufar et al. 2014, Sec. 3).
- A one-hidden-layer ReLU net of width n on the line is ``sum_j a_j relu(w_j x + b_j) + c``: at most
  n breakpoints, so at most ``n + 1`` linear pieces; matching ``2^L`` pieces needs
  ``n >= 2^L - 1`` units (Telgarsky 2016, Lemma 2.1 in one dimension).
- Parameter count of a fully connected net ``d -> n^L -> 1`` with biases:
  ``d n + n + (L - 1)(n^2 + n) + n + 1``.
"""

from __future__ import annotations

import numpy as np


def tent_layers(depth: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The sawtooth ``T^depth`` as ReLU layers (``torch.nn.Linear`` layout), input in [0, 1].

    Each hidden layer computes ``(relu(u), relu(u - 1/2))`` of the previous tent value u; the
    combination ``2 h_1 - 4 h_2`` that forms the next tent value is folded into the next layer.
    """
    if depth < 1:
        raise ValueError(f"depth: {depth} must be >= 1")
    combine = np.array([[2.0, -4.0]])
    first = (np.array([[1.0], [1.0]]), np.array([0.0, -0.5]))
    hidden = (np.array([[1.0], [1.0]]) @ combine, np.array([0.0, -0.5]))
    return [first] + [hidden] * (depth - 1) + [(combine, np.zeros(1))]


def tent_power(x: np.ndarray, depth: int) -> np.ndarray:
    """``T^depth(x)`` directly, ``T(x) = 1 - |2x - 1|`` on [0, 1]."""
    u = np.asarray(x, dtype=float)
    for _ in range(depth):
        u = 1.0 - np.abs(2.0 * u - 1.0)
    return u


def sawtooth_pieces(depth: int) -> int:
    """The number of linear pieces of ``T^depth`` on [0, 1]: ``2^depth``."""
    return 2 ** int(depth)


def shallow_max_pieces(width: int) -> int:
    """The most linear pieces a one-hidden-layer ReLU net of ``width`` units has on a line."""
    return int(width) + 1


def shallow_width_for_sawtooth(depth: int) -> int:
    """The fewest one-hidden-layer units that can represent ``T^depth`` exactly: ``2^depth - 1``."""
    return 2 ** int(depth) - 1


def relu_net_params(d_in: int, width: int, depth: int) -> int:
    """Weights and biases of ``d_in -> width^depth -> 1``."""
    n = int(width)
    return int(d_in) * n + n + (int(depth) - 1) * (n * n + n) + n + 1


def width_for_params(d_in: int, depth: int, budget: int) -> int:
    """The largest width whose net of ``depth`` hidden layers has at most ``budget`` parameters
    (at least 1)."""
    n = 1
    while relu_net_params(d_in, n + 1, depth) <= budget:
        n += 1
    return n

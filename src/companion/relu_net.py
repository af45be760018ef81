"""A bias-free ReLU MLP evaluated in plain numpy from its weight matrices (float64), for the
measurements made after training (bounds, pruning) on the effective weights of
:meth:`companion.nn.ensemble.MLPEnsemble.effective_layers`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def hidden(layers: Sequence[np.ndarray], x: np.ndarray, upto: int) -> np.ndarray:
    """The outputs of hidden layer ``upto`` (0-based) for the rows of ``x``: ``relu(W h)``
    applied ``upto + 1`` times, weights in ``torch.nn.Linear`` layout ``(n_out, n_in)``."""
    h = np.asarray(x, dtype=float)
    for w in layers[: upto + 1]:
        h = np.maximum(h @ np.asarray(w, dtype=float).T, 0.0)
    return h


def outputs(layers: Sequence[np.ndarray], x: np.ndarray) -> np.ndarray:
    """``W_L relu(... relu(W_1 x))`` for the rows of ``x``; a one-unit output layer, ``(n,)``."""
    h = hidden(layers, x, len(layers) - 2) if len(layers) > 1 else np.asarray(x, dtype=float)
    return (h @ np.asarray(layers[-1], dtype=float).T)[:, 0]

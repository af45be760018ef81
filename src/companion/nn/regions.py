"""Linear regions of ReLU networks: exact along a line, by activation patterns in a plane.

A ReLU net is given as its layers ``[(W_1, b_1), ..., (W_{L+1}, b_{L+1})]`` in ``torch.nn.Linear``
layout (``W`` is ``(n_out, n_in)``); every layer but the last is followed by ReLU. This is what
:meth:`companion.nn.ensemble.MLPEnsemble.effective_layers` returns, as numpy arrays.

Along a segment ``x(t) = p + t v``, ``t in [t0, t1]``, the net is piecewise affine in t. The exact
counter walks the layers: on every current interval each unit's pre-activation is an affine
function of t, so the points where it changes sign are found in closed form and split the
interval; after the last hidden layer every interval carries one activation pattern
(Hanin & Rolnick 2019, "Complexity of linear regions in deep networks", Sec. 2 - the regions
of the input space where the pattern is constant). No sampling is involved: a pattern change that
a grid would miss between two samples is still found.

A split needs a strict sign change: a pre-activation that only touches zero at an end of an
interval (the sawtooth's valleys touch zero exactly) changes no pattern inside it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Layers = Sequence[tuple[np.ndarray, np.ndarray]]

# Roots closer than this (relative to the segment) to an interval's end are that end.
_EDGE = 1e-12


def line_intervals(layers: Layers, p: np.ndarray, v: np.ndarray, t0: float,
                   t1: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The activation regions of the net along ``p + t v`` on ``[t0, t1]``.

    Returns ``(knots, slope, intercept)``: ``knots`` (K + 1,) ascending from t0 to t1 bound the K
    regions, and on region k the output is ``slope[k] * t + intercept[k]``.
    """
    if not t1 > t0:
        raise ValueError(f"line_intervals: need t1 > t0, got [{t0}, {t1}]")
    span = t1 - t0
    p = np.asarray(p, dtype=float)
    v = np.asarray(v, dtype=float)
    knots = np.array([t0, t1], dtype=float)
    a = v[None, :]  # per interval: the current layer's input is a * t + c
    c = p[None, :]
    for w, b in layers[:-1]:
        w = np.asarray(w, dtype=float)
        b = np.asarray(b, dtype=float)
        za, zc = a @ w.T, c @ w.T + b
        start, end = knots[:-1, None], knots[1:, None]
        z_start, z_end = za * start + zc, za * end + zc
        crossing = (z_start * z_end) < 0
        with np.errstate(divide="ignore", invalid="ignore"):
            root = -zc / za
        crossing &= (root > start + _EDGE * span) & (root < end - _EDGE * span)
        if crossing.any():
            old = knots
            knots = np.union1d(knots, root[crossing])
            # Each new interval inherits the affine map of the old interval it lies in.
            parent = np.searchsorted(old, 0.5 * (knots[:-1] + knots[1:]), side="right") - 1
            parent = np.clip(parent, 0, old.size - 2)
            za, zc = za[parent], zc[parent]
        mid = 0.5 * (knots[:-1] + knots[1:])
        active = (za * mid[:, None] + zc) > 0
        a, c = za * active, zc * active
    w, b = layers[-1]
    w = np.asarray(w, dtype=float)
    out_a, out_c = a @ w.T, c @ w.T + np.asarray(b, dtype=float)
    return knots, out_a[:, 0], out_c[:, 0]


def count_line_pieces(layers: Layers, p: np.ndarray, v: np.ndarray, t0: float, t1: float,
                      rtol: float = 1e-9) -> tuple[int, int]:
    """``(activation regions, linear pieces)`` of the net along ``p + t v`` on ``[t0, t1]``.

    Linear pieces are maximal intervals on which the output is one affine function: neighbouring
    regions whose slopes agree (to ``rtol`` of the largest slope) are one piece, since the output
    is continuous.
    """
    knots, slope, _ = line_intervals(layers, p, v, t0, t1)
    scale = max(float(np.max(np.abs(slope))), 1e-300)
    changes = np.abs(np.diff(slope)) > rtol * scale
    return int(knots.size - 1), int(1 + changes.sum())


def activation_patterns(layers: Layers, x: np.ndarray) -> np.ndarray:
    """Every hidden unit's on/off state at the points ``x`` (n, d), as bytes per point (n,)."""
    h = np.asarray(x, dtype=float)
    bits = []
    for w, b in layers[:-1]:
        z = h @ np.asarray(w, dtype=float).T + np.asarray(b, dtype=float)
        on = z > 0
        bits.append(on)
        h = z * on
    packed = np.packbits(np.concatenate(bits, axis=1), axis=1)
    return packed.view(np.dtype((np.void, packed.shape[1])))[:, 0]


def count_slice_regions(layers: Layers, origin: np.ndarray, e1: np.ndarray, e2: np.ndarray,
                        extent: float, resolution: int) -> int:
    """Distinct activation patterns on a ``resolution x resolution`` grid of the square
    ``origin + s e1 + u e2``, ``|s|, |u| <= extent``: a lower estimate of the number of linear
    regions meeting the square (regions smaller than a grid cell can be missed)."""
    grid = np.linspace(-extent, extent, int(resolution))
    s, u = np.meshgrid(grid, grid, indexing="ij")
    x = (np.asarray(origin, float)[None, :] + s.reshape(-1, 1) * np.asarray(e1, float)[None, :]
         + u.reshape(-1, 1) * np.asarray(e2, float)[None, :])
    return int(np.unique(activation_patterns(layers, x)).size)

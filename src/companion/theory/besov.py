"""Spatially inhomogeneous 1-D targets and the rates of adaptive and linear estimators on the
Besov classes they stand for.

For ``f`` in a ball of ``B^s_{p,q}([0, 1])`` (``s > 1/p``; ``s = 1/p = 1`` is the bounded
variation case, with the same two rates) and n noisy samples:

- the minimax rate of the squared L2 error is ``n^{-2s/(2s+1)}`` (Donoho & Johnstone 1998,
  "Minimax estimation via wavelet shrinkage", Ann. Statist. 26, Thm 1), attained by wavelet
  thresholding and, up to log factors, by deep ReLU nets (Suzuki 2019, "Adaptivity of deep ReLU
  network for learning in Besov and mixed smooth Besov spaces", ICLR, Thm 2);
- every linear estimator (kernel ridge regression included) is limited to ``n^{-2s'/(2s'+1)}``
  with ``s' = s - 1/p + 1/2`` when ``p < 2`` (Donoho & Johnstone 1998, Thm 2; Suzuki 2019,
  Sec. 4.1), which is slower.

The targets are normalised to unit mean square on [0, 1]; each comes with the class ``(s, p)``
we take it to represent (a single function lies in many classes; these are the ones its
features - narrow bumps, jumps, a chirp - are the textbook examples of), which sets the
reference slopes drawn beside the measurements. The verdicts compare measured slopes only.
"""

from __future__ import annotations

import numpy as np

# Donoho & Johnstone's "bumps" shape, with widths spanning 1.5 decades.
_BUMP_POS = np.array([0.12, 0.3, 0.5, 0.72, 0.88])
_BUMP_WIDTH = np.array([0.006, 0.015, 0.05, 0.12, 0.025])
_BUMP_HEIGHT = np.array([4.0, 3.0, 2.0, 2.5, -3.0])
_JUMPS = np.array([0.23, 0.47, 0.71])
_JUMP_SIZE = np.array([1.5, -2.5, 2.0])


def _bumps(x: np.ndarray) -> np.ndarray:
    t = (x[:, None] - _BUMP_POS) / _BUMP_WIDTH
    return (_BUMP_HEIGHT / (1.0 + np.abs(t) ** 4)).sum(axis=1)


def _jumps(x: np.ndarray) -> np.ndarray:
    smooth = np.sin(2 * np.pi * x) + 0.5 * np.cos(5 * np.pi * x)
    return smooth + (_JUMP_SIZE * (x[:, None] >= _JUMPS)).sum(axis=1)


def _doppler(x: np.ndarray) -> np.ndarray:
    # Donoho & Johnstone (1994), Table 1 with eps = 0.05: oscillations faster towards x = 0.
    return np.sqrt(x * (1 - x)) * np.sin(2.1 * np.pi / (x + 0.05))


_RAW = {"bumps": _bumps, "jumps": _jumps, "doppler": _doppler}
# (s, p) of the Besov class each target stands for; see the module docstring.
CLASSES: dict[str, tuple[float, float]] = {"bumps": (2.0, 1.0), "jumps": (1.0, 1.0),
                                           "doppler": (1.0, 1.0)}
TARGETS: tuple[str, ...] = tuple(_RAW)
_GRID = np.linspace(0.0, 1.0, 200001)
_SCALE = {name: 1.0 / np.sqrt(np.mean(f(_GRID) ** 2)) for name, f in _RAW.items()}


def target(name: str, x: np.ndarray) -> np.ndarray:
    """Target ``name`` at points ``x`` in [0, 1], scaled to unit mean square."""
    if name not in _RAW:
        raise ValueError(f"target: {name!r} is not one of {', '.join(TARGETS)}")
    x = np.asarray(x, dtype=float)
    return _SCALE[name] * _RAW[name](x)


def minimax_exponent(s: float) -> float:
    """``-2s/(2s+1)``: the minimax (and deep-net) rate exponent on ``B^s_{p,q}``, d = 1."""
    return -2.0 * s / (2.0 * s + 1.0)


def linear_exponent(s: float, p: float) -> float:
    """The best linear estimator's exponent ``-2s'/(2s'+1)``, ``s' = s - 1/p + 1/2`` for p < 2
    (``s' = s`` for p >= 2, where linear estimators are minimax)."""
    s_lin = s - 1.0 / p + 0.5 if p < 2 else s
    return -2.0 * s_lin / (2.0 * s_lin + 1.0)

"""Small statistics helpers shared by the experiments' verdicts."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray


def mean_and_se(values: np.ndarray) -> tuple[np.ndarray, list[float | None]]:
    """Mean over seeds (axis 0) and its standard error (unbiased variance, ``ddof = 1``);
    ``None`` errors when there is one seed, which has no spread to estimate."""
    mean = values.mean(axis=0)
    if values.shape[0] < 2:
        return mean, [None] * mean.size
    se = values.std(axis=0, ddof=1) / math.sqrt(values.shape[0])
    return mean, [float(v) for v in se]


def normal_equivalent_z(t: ArrayLike, dof: ArrayLike) -> NDArray[np.float64]:
    """``|t|`` on ``dof`` degrees of freedom mapped to the ``|z|`` with the same two-sided p-value.

    A mean's standard error estimated from few replicates makes ``(mean - mu) / se`` a Student t
    variable, whose tails are heavier than the normal's; judging it against a normal threshold
    would reject a true ``mu`` too often. ``dof`` broadcasts against ``t``; ``inf`` stays ``inf``.
    """
    # scipy.special's Student t CDF and normal quantile are what scipy.stats' t.sf and norm.isf
    # evaluate, without scipy.stats' import (over a second, paid by each metrics job calling it).
    from scipy import special

    t = np.abs(np.asarray(t, dtype=float))
    dof = np.asarray(dof, dtype=float)
    return np.abs(special.ndtri(special.stdtr(dof, -t)))


# Censoring flags of :func:`log_crossing`.
BELOW_AT_START = -1  # already below the level at the first grid point: the value is an upper bound
CROSSED = 0          # interpolated between the two grid points that bracket the crossing
NEVER_BELOW = 1      # never below the level on the grid: the value is a lower bound


def log_crossing(x: ArrayLike, y: ArrayLike, level: float
                 ) -> tuple[NDArray[np.float64], NDArray[np.int8]]:
    """Where each curve ``y`` over the increasing grid ``x`` first falls below ``level``,
    interpolated linearly in ``log x`` between the two grid points that bracket it.

    ``y`` has shape ``(..., len(x))``, one curve per leading index. With ``j`` the first index
    where ``y_j < level`` (strictly) and ``j >= 1``, ``y_{j-1} >= level > y_j`` and the crossing
    is ``log x* = log x_{j-1} + t (log x_j - log x_{j-1})``, ``t = (y_{j-1} - level) /
    (y_{j-1} - y_j)`` in ``[0, 1)``: the grid point itself where ``y_{j-1} == level``. A curve
    below the level from the start is censored on the left (flag :data:`BELOW_AT_START`, value
    ``x_0``, an upper bound on the crossing); one never below it on the right (flag
    :data:`NEVER_BELOW`, value ``x_{-1}``, a lower bound). Neither is dropped: the caller decides
    what a bound may stand for. Returns ``(values, flags)`` of shape ``y.shape[:-1]``.

    Reading off the first grid point below the level instead moves the crossing by up to one grid
    step, which on a grid of two points per doubling is a factor of about 1.4 in x.
    """
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    if xs.ndim != 1 or xs.size < 1 or ys.shape[-1:] != xs.shape:
        raise ValueError(f"log_crossing: need a 1-D grid and curves of shape (..., {xs.size}), "
                         f"got {xs.shape} and {ys.shape}")
    if not (np.all(xs > 0) and np.all(np.diff(xs) > 0)):
        raise ValueError("log_crossing: the grid must be positive and strictly increasing")
    if not np.all(np.isfinite(ys)) or not np.isfinite(level):
        raise ValueError("log_crossing: the curves and the level must be finite")
    below = ys < level
    hit = below.any(axis=-1)
    j = np.argmax(below, axis=-1)  # first True; 0 where none
    flags = np.where(~hit, NEVER_BELOW, np.where(j == 0, BELOW_AT_START, CROSSED)).astype(np.int8)
    lx = np.log(xs)
    prev = np.clip(j - 1, 0, None)
    y_prev = np.take_along_axis(ys, prev[..., None], axis=-1)[..., 0]
    y_hit = np.take_along_axis(ys, j[..., None], axis=-1)[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(flags == CROSSED, (y_prev - level) / (y_prev - y_hit), 0.0)
    values = np.where(flags == CROSSED, np.exp(lx[prev] + t * (lx[j] - lx[prev])),
                      np.where(flags == NEVER_BELOW, xs[-1], xs[0]))
    return values, flags

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
    from scipy import stats

    t = np.abs(np.asarray(t, dtype=float))
    dof = np.asarray(dof, dtype=float)
    return np.abs(stats.norm.isf(stats.t.sf(t, dof)))

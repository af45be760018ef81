"""Fitting power laws ``y ~ C x^s`` by least squares in log-log coordinates."""

from __future__ import annotations

import numpy as np


def loglog_slope(x, y) -> float:
    """The least-squares slope s of ``log y = log C + s log x`` (positive x and y).

    NaN when some y is NaN (a diverged run's measurement: no slope, and no crash).
    """
    lx, ly = np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float))
    if np.isnan(ly).any() and lx.size >= 2:
        return float("nan")
    if lx.size < 2 or not (np.isfinite(lx).all() and np.isfinite(ly).all()):
        raise ValueError("loglog_slope: need at least two positive, finite points")
    return float(np.polyfit(lx, ly, 1)[0])

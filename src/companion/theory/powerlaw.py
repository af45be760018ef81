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


def loglog_fit(x, y) -> tuple[float, float | None]:
    """Slope ``s`` of ``log y = log C + s log x`` by ordinary least squares, and its standard
    error ``sqrt(RSS / (m - 2) / sum (log x - mean)^2)`` (m points; ``None`` for m = 2, where
    the residuals say nothing).

    The standard error treats the points' deviations from a power law as independent noise of
    one size in log y, which is what it measures for a synthetic law with lognormal noise.
    NaN slope (and ``None``) when some y is NaN, as :func:`loglog_slope`.
    """
    slope = loglog_slope(x, y)
    lx, ly = np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float))
    if not np.isfinite(slope) or lx.size < 3:
        return slope, None
    intercept = ly.mean() - slope * lx.mean()
    rss = float(np.sum((ly - intercept - slope * lx) ** 2))
    sxx = float(np.sum((lx - lx.mean()) ** 2))
    return slope, float(np.sqrt(rss / (lx.size - 2) / sxx))


def asymptotic_exponent(x, y, corrections: int = 2) -> float:
    """The exponent p of ``y ~ C x^{-p} (1 + a_1/x + a_2/x^2 + ...)`` as ``x -> infinity``.

    Least squares of ``log y = log C - p log x + sum_{j=1..corrections} b_j x^{-j}``: the
    corrections absorb the approach to the asymptotic law, which a plain log-log slope over a
    finite range mistakes for a smaller exponent (for the ReLU NTK's ``mu_k ~ k^{-d}`` the local
    slope is still 0.15 short of d = 5 at k = 32..64). Needs ``corrections + 2`` points.
    """
    lx = np.log(np.asarray(x, dtype=float))
    ly = np.log(np.asarray(y, dtype=float))
    if lx.size < corrections + 2 or not (np.isfinite(lx).all() and np.isfinite(ly).all()):
        raise ValueError(f"asymptotic_exponent: need at least {corrections + 2} positive, finite "
                         "points")
    inv = np.exp(-lx)
    design = np.stack([np.ones_like(lx), -lx] + [inv**j for j in range(1, corrections + 1)],
                      axis=1)
    return float(np.linalg.lstsq(design, ly, rcond=None)[0][1])

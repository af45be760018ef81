"""Random inputs shared by several experiments."""

from __future__ import annotations

import numpy as np


def sphere(rng: np.random.Generator, n: int, d: int, radius: float | None = None) -> np.ndarray:
    """``n`` points uniform on the sphere of radius ``radius`` (default ``sqrt(d)``, so that
    ``E[x x^T] = I_d``) in ``R^d``: normalised standard Gaussians, shape ``(n, d)``."""
    x = rng.standard_normal((n, d))
    r = np.sqrt(d) if radius is None else float(radius)
    return x * (r / np.linalg.norm(x, axis=1, keepdims=True))

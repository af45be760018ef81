"""Random inputs shared by several experiments."""

from __future__ import annotations

import numpy as np


def sphere(rng: np.random.Generator, n: int, d: int, radius: float | None = None) -> np.ndarray:
    """``n`` points uniform on the sphere of radius ``radius`` (default ``sqrt(d)``, so that
    ``E[x x^T] = I_d``) in ``R^d``: normalised standard Gaussians, shape ``(n, d)``."""
    x = rng.standard_normal((n, d))
    r = np.sqrt(d) if radius is None else float(radius)
    return x * (r / np.linalg.norm(x, axis=1, keepdims=True))


def gapped_sign_task(rng: np.random.Generator, count: int, teacher: np.ndarray,
                     gap: float) -> tuple[np.ndarray, np.ndarray]:
    """A separable classification task with a margin: ``count`` points of ``N(0, I_d)`` with
    ``|<w_k, x>| >= gap`` for every row ``w_k`` of ``teacher`` (``(k, d)``, unit rows; rejection
    sampling) and their labels ``prod_k sign(<w_k, x>)`` (one row: a half-space; two: an XOR)."""
    teacher = np.atleast_2d(np.asarray(teacher, dtype=float))
    xs: list[np.ndarray] = []
    have = 0
    while have < count:
        x = rng.standard_normal((2 * (count - have) + 16, teacher.shape[1]))
        x = x[np.all(np.abs(x @ teacher.T) >= gap, axis=1)]
        xs.append(x)
        have += len(x)
    x = np.concatenate(xs)[:count]
    return x, np.prod(np.sign(x @ teacher.T), axis=1)

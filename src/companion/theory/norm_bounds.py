"""Generalisation bounds of deep networks as the lecture tabulates them (constants and log factors
dropped, as in its table "深層学習の汎化誤差バウンド").

For a net ``f(x) = W_L eta(W_{L-1} eta(... W_1 x))`` with weight matrices ``W_l`` of shape
``(m_l, m_{l-1})`` (``torch.nn.Linear`` layout: rows are the units a layer feeds), ``n`` training
points and a margin ``gamma`` (the bounds on the margin loss scale as ``1/gamma``; the VC bound
does not see the margin):

- ``R_{l,2} = ||W_l||_2``, the largest singular value;
- ``R_{l,F} = ||W_l||_F``;
- ``R_{l,2->1} = ||W_l^T||_{2,1} = sum_j ||W_l[j, :]||_2``, the sum of the units' incoming weight
  norms (Bartlett, Foster and Telgarsky 2017, with reference matrices 0).

Each function takes the list of weight matrices (numpy arrays) and returns the bound's value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Weights = Sequence[np.ndarray]


def spectral_norm(w: np.ndarray) -> float:
    """``R_2 = ||W||_2``, the largest singular value."""
    return float(np.linalg.norm(np.asarray(w, dtype=float), 2))


def frobenius_norm(w: np.ndarray) -> float:
    """``R_F = ||W||_F``."""
    return float(np.linalg.norm(np.asarray(w, dtype=float)))


def two_one_norm(w: np.ndarray) -> float:
    """``R_{2->1} = ||W^T||_{2,1}``: the sum over rows (units) of their Euclidean norms."""
    return float(np.linalg.norm(np.asarray(w, dtype=float), axis=1).sum())


def lipschitz_constant(weights: Weights) -> float:
    """``prod_l R_{l,2}``: an upper bound on the Lipschitz constant of the net in its input for
    1-Lipschitz activations such as ReLU, the first factor of Bartlett, Foster and Telgarsky 2017,
    Theorem 1.1; the factor through which Nagarajan and Kolter 2019 (Section 3) see the bounds
    grow with the training-set size."""
    return float(np.prod([spectral_norm(w) for w in weights]))


def sparsity_factor(weights: Weights) -> float:
    """``(sum_l (R_{l,2->1} / R_{l,2})^{2/3})^{3/2}``: the second factor of Bartlett, Foster and
    Telgarsky 2017, Theorem 1.1 (reference matrices 0). Each ratio lies between 1 and
    ``sqrt(m_l)``: a layer of ``m_l`` rows of equal norm has ``R_{2->1} = sqrt(m_l) R_F
    >= sqrt(m_l) R_2``, so the factor carries the width although no width appears in it."""
    return float(sum((two_one_norm(w) / spectral_norm(w)) ** (2.0 / 3.0) for w in weights) ** 1.5)


def parameter_count(weights: Weights) -> int:
    """``sum_l m_l m_{l-1}``, the number of weights (the lecture's "Naive bound (VC-次元)")."""
    return int(sum(np.asarray(w).size for w in weights))


def vc_bound(weights: Weights, n: int) -> float:
    """``sqrt(p L log p / n)`` with ``p`` the parameter count and ``L`` the depth: the uniform
    bound through the VC dimension of ReLU nets, ``Theta(p L log p)`` (Harvey, Liaw and Mehrabian
    2017, Theorem 6; Bartlett, Harvey, Liaw and Mehrabian 2019). It grows with the width whatever
    the weights are."""
    p, depth = parameter_count(weights), len(weights)
    return math.sqrt(p * depth * math.log(max(p, 2)) / n)


def bartlett_spectral_bound(weights: Weights, n: int, margin: float) -> float:
    """``prod_l R_{l,2} (sum_l (R_{l,2->1} / R_{l,2})^{2/3})^{3/2} / (gamma sqrt(n))``:
    Bartlett, Foster and Telgarsky 2017, Theorem 1.1 (spectrally normalised margin bound, reference
    matrices 0, inputs of unit scale)."""
    return lipschitz_constant(weights) * sparsity_factor(weights) / (margin * math.sqrt(n))


def neyshabur_pac_bayes_bound(weights: Weights, n: int, margin: float) -> float:
    """``prod_l R_{l,2} sqrt(L^2 W sum_l R_{l,F}^2 / R_{l,2}^2 / n) / gamma`` with ``W`` the
    largest number of units a layer outputs (``max_l m_l``): Neyshabur, Bhojanapalli, McAllester
    and Srebro 2018 (ICLR), Theorem 1. The lecture's table writes the squared ratio as here; a
    later slide drops the squares, where the paper has ``||W||_F^2 / ||W||_2^2``."""
    spec = [spectral_norm(w) for w in weights]
    depth = len(weights)
    width = max(np.asarray(w).shape[0] for w in weights)
    stable = sum((frobenius_norm(w) / s) ** 2 for w, s in zip(weights, spec, strict=True))
    return float(np.prod(spec)) * math.sqrt(depth**2 * width * stable / n) / margin


def golowich_frobenius_bound(weights: Weights, n: int, margin: float) -> float:
    """``prod_l R_{l,F} min(n^{-1/4}, sqrt(L / n)) / gamma``: Golowich, Rakhlin and Shamir 2018,
    Theorems 1 and 3 (size-independent: no width appears)."""
    depth = len(weights)
    frob = float(np.prod([frobenius_norm(w) for w in weights]))
    return frob * min(n ** -0.25, math.sqrt(depth / n)) / margin


BOUNDS = ("vc", "spectral", "pac_bayes", "frobenius")


def all_bounds(weights: Weights, n: int, margin: float) -> dict[str, float]:
    """Every bound of the module for one net, keyed as :data:`BOUNDS`."""
    return {"vc": vc_bound(weights, n),
            "spectral": bartlett_spectral_bound(weights, n, margin),
            "pac_bayes": neyshabur_pac_bayes_bound(weights, n, margin),
            "frobenius": golowich_frobenius_bound(weights, n, margin)}

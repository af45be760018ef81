"""Ridge regression on a feature map with the penalty chosen on held-out data.

For features ``Phi`` (n, p) and labels ``y`` the estimator of Ba et al. (2022), Sec. 4 (and of
the random-features literature, e.g. Mei and Montanari 2022, eq. (4)) is

    a_hat(lam) = argmin_a (1/n) ||y - Phi a||^2 + (lam / p) ||a||^2
               = (Phi^T Phi / n + (lam / p) I)^{-1} Phi^T y / n.

One eigendecomposition of ``Phi^T Phi / n`` (p x p) gives the whole path of penalties at the cost
of one fit; the penalty with the smallest mean squared error on a validation set is kept and
its error on a separate test set reported, so neither the fit nor the choice of the penalty sees
the test points. Everything stays on the device of the inputs, in their dtype.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class RidgeResult:
    """The held-out choice: its penalty, validation and test errors, and the validation path."""

    lam: float
    val_mse: float
    test_mse: float
    val_path: list[float]


def ridge_heldout(train: tuple[torch.Tensor, torch.Tensor], val: tuple[torch.Tensor, torch.Tensor],
                  test: tuple[torch.Tensor, torch.Tensor], lams: Sequence[float]) -> RidgeResult:
    """Fit ``(Phi, y)`` of ``train`` for every penalty in ``lams`` (module doc), pick the one with
    the smallest validation error and return its test error. Non-finite features give NaN
    errors rather than an exception (a diverged run is a result)."""
    (phi, y), (phi_val, y_val), (phi_test, y_test) = train, val, test
    n, p = phi.shape
    lam_t = torch.as_tensor(list(lams), dtype=phi.dtype, device=phi.device)
    if not (torch.isfinite(phi).all() and torch.isfinite(phi_val).all()
            and torch.isfinite(phi_test).all()):
        nan = float("nan")
        return RidgeResult(nan, nan, nan, [nan] * len(lams))
    evals, evecs = torch.linalg.eigh(phi.T @ phi / n)
    proj = evecs.T @ (phi.T @ y) / n  # (p,)
    coef = proj[:, None] / (evals.clamp_min(0.0)[:, None] + lam_t[None, :] / p)  # (p, L)
    val_pred = (phi_val @ evecs) @ coef  # (n_val, L)
    val_mse = (val_pred - y_val[:, None]).pow(2).mean(0)
    best = int(torch.argmin(val_mse))
    a_hat = evecs @ coef[:, best]
    test_mse = float((phi_test @ a_hat - y_test).pow(2).mean())
    return RidgeResult(float(lam_t[best]), float(val_mse[best]), test_mse, val_mse.tolist())

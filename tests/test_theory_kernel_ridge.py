"""Kernel ridge with held-out selection against a brute-force fit of every pair."""

from __future__ import annotations

import numpy as np
import pytest

from companion.theory import kernel_ridge as kr


def _brute(x_tr, y_tr, x_va, y_va, x_te, kernel, hs, lams):
    """Every (h, lam) solved with numpy, per column; the validation-best fit's test predictions."""
    def k(a, b, h):
        d = np.abs(a[:, None] - b[None, :])
        return np.exp(-0.5 * (d / h) ** 2) if kernel == "gaussian" else np.exp(-d / h)

    n = len(x_tr)
    out = []
    for col in range(y_tr.shape[1]):
        scored = []
        for h in hs:
            for lam in lams:
                alpha = np.linalg.solve(k(x_tr, x_tr, h) + n * lam * np.eye(n), y_tr[:, col])
                mse = np.mean((k(x_va, x_tr, h) @ alpha - y_va[:, col]) ** 2)
                scored.append((mse, h, lam, k(x_te, x_tr, h) @ alpha))
        out.append(min(scored, key=lambda s: s[0]))
    return out


@pytest.mark.parametrize("kernel", kr.KERNELS)
def test_selection_equals_brute_force(kernel: str) -> None:
    rng = np.random.default_rng(0)
    x_tr, x_va, x_te = rng.uniform(size=40), rng.uniform(size=15), np.linspace(0, 1, 50)
    f = [lambda x: np.sin(6 * x), lambda x: np.abs(x - 0.4), lambda x: (x > 0.5) * 1.0]
    y_tr = np.stack([g(x_tr) for g in f], 1) + 0.1 * rng.standard_normal((40, 3))
    y_va = np.stack([g(x_va) for g in f], 1) + 0.1 * rng.standard_normal((15, 3))
    hs, lams = [0.03, 0.1, 0.3], [1e-5, 1e-3, 1e-1]
    got = kr.fit_select(x_tr, y_tr, x_va, y_va, x_te, kernel, hs, lams)
    want = _brute(x_tr, y_tr, x_va, y_va, x_te, kernel, hs, lams)
    for col, (mse, h, lam, pred) in enumerate(want):
        assert got.bandwidth[col] == h and got.lam[col] == lam
        assert got.val_mse[col] == pytest.approx(mse, rel=1e-8)
        np.testing.assert_allclose(got.test_pred[col], pred, rtol=1e-6, atol=1e-9)
    # The three targets want different pairs: the choice is per column, not shared.
    assert len({(h, lam) for _, h, lam, _ in want}) > 1


def test_unknown_kernel_is_named() -> None:
    with pytest.raises(ValueError, match="kernel: 'cosine'"):
        kr.kernel_matrix(np.zeros(2), np.zeros(2), "cosine", 1.0)


@pytest.mark.parametrize("kernel", kr.KERNELS)
def test_precomputed_distances_give_the_same_fit(kernel: str) -> None:
    rng = np.random.default_rng(1)
    x = rng.choice([-1.0, 1.0], size=(30, 6))
    x_te = rng.choice([-1.0, 1.0], size=(20, 6))
    y = x[:, 0] * x[:, 1]
    plain = kr.fit_select(x[:24], y[:24], x[24:], y[24:], x_te, kernel, [1.0, 2.0], [1e-3, 1e-1])
    # Blocks of the all-points distances, as a caller sharing them between kernels passes them.
    d_all, d_te = kr.distances(x, x), kr.distances(x_te, x)
    shared = kr.fit_select(x[:24], y[:24], x[24:], y[24:], x_te, kernel, [1.0, 2.0],
                           [1e-3, 1e-1], dists=(d_all[:24, :24], d_all[24:, :24], d_te[:, :24]))
    assert shared.bandwidth == plain.bandwidth and shared.lam == plain.lam
    np.testing.assert_allclose(shared.test_pred, plain.test_pred, rtol=1e-12, atol=1e-12)

"""The nearest-neighbour entropy estimate against Gaussians and a uniform law of known entropy."""

from __future__ import annotations

import numpy as np
import pytest

from companion.theory.entropy import gaussian_entropy, knn_entropy, log_unit_ball_volume


def test_unit_ball_volumes() -> None:
    assert np.exp(log_unit_ball_volume(1)) == pytest.approx(2.0)
    assert np.exp(log_unit_ball_volume(2)) == pytest.approx(np.pi)
    assert np.exp(log_unit_ball_volume(3)) == pytest.approx(4.0 / 3.0 * np.pi)


def test_gaussian_entropy_closed_form() -> None:
    assert gaussian_entropy(np.eye(1)) == pytest.approx(0.5 * np.log(2 * np.pi * np.e))
    cov = np.diag([0.5, 2.0, 3.0])
    assert gaussian_entropy(cov) == pytest.approx(1.5 * np.log(2 * np.pi * np.e)
                                                  + 0.5 * np.log(3.0))


@pytest.mark.parametrize(("p", "n"), [(1, 2000), (3, 2000), (5, 4000)])
def test_knn_entropy_on_correlated_gaussians(p: int, n: int) -> None:
    rng = np.random.default_rng(p)
    a = rng.normal(size=(p, p)) / np.sqrt(p) + np.eye(p)
    cov = a @ a.T
    estimates = [knn_entropy(rng.multivariate_normal(np.zeros(p), cov, size=n))
                 for _ in range(5)]
    # The error of one estimate at these N is a few hundredths of a nat per dimension; a wrong
    # constant (log V_p, the digamma terms, the factor p) is off by far more.
    assert np.mean(estimates) == pytest.approx(gaussian_entropy(cov), abs=0.03 * p + 0.02)


def test_knn_entropy_scales_with_the_law() -> None:
    # H(aX) = H(X) + p log a, exactly for the estimator too (distances scale by a).
    x = np.random.default_rng(0).normal(size=(500, 3))
    assert knn_entropy(2.0 * x) == pytest.approx(knn_entropy(x) + 3 * np.log(2.0))


def test_knn_entropy_on_a_uniform_cube() -> None:
    x = np.random.default_rng(1).uniform(0.0, 2.0, size=(4000, 2))
    assert knn_entropy(x, k=3) == pytest.approx(2 * np.log(2.0), abs=0.05)


def test_knn_entropy_rejects_too_few_samples() -> None:
    with pytest.raises(ValueError):
        knn_entropy(np.zeros((1, 2)))

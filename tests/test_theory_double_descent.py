"""Asymptotic least-squares risk (companion.theory.double_descent) against simulation, an
independent Marchenko-Pastur integral, and its known limits."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate

from companion.theory import double_descent as dd

R2, SIGMA2 = 1.0, 0.25


def _conditional_risks(n: int, d: int, lam: float, reps: int, seed: int,
                       r2: float = R2) -> np.ndarray:
    """E_eps[||beta_hat - beta*||^2 | X] of min-norm (column 0) and ridge at lam (column 1).

    Exact given X through the eigenvalues of X^T X (numpy only, independent of the experiment's
    torch code), averaged over beta* uniform on the sphere of squared radius R2: then every
    eigen-direction carries E(v_j^T beta*)^2 = R2 / d, which leaves only the design random.
    """
    rng = np.random.default_rng(seed)
    out = np.empty((reps, 2))
    for r in range(reps):
        X = rng.standard_normal((n, d))
        s2 = np.linalg.eigvalsh(X.T @ X)
        vb2 = np.full(d, r2 / d)
        seen = s2 > 1e-8 * s2.max()  # min-norm ignores the null space of X
        out[r, 0] = vb2[~seen].sum() + SIGMA2 * np.sum(1.0 / s2[seen])
        mu = n * lam
        out[r, 1] = (np.sum((mu / (s2 + mu)) ** 2 * vb2)
                     + SIGMA2 * np.sum(s2 / (s2 + mu) ** 2))
    return out


@pytest.mark.parametrize(("gamma", "n", "r2"), [(0.5, 300, R2), (2.0, 150, R2), (4.0, 100, R2),
                                                (2.0, 150, 2.5), (0.5, 300, 2.5)])
def test_minnorm_and_tuned_ridge_match_simulation(gamma: float, n: int, r2: float) -> None:
    d = round(gamma * n)
    lam = float(dd.optimal_ridge_lambda(gamma, r2, SIGMA2))
    sim = _conditional_risks(n, d, lam, reps=3, seed=1, r2=r2).mean(axis=0)
    assert sim[0] == pytest.approx(dd.minnorm_risk(gamma, r2, SIGMA2), rel=0.03)
    assert sim[1] == pytest.approx(dd.optimal_ridge_risk(gamma, r2, SIGMA2), rel=0.03)
    # Tuned ridge beats the interpolator; the simulation must see that too.
    assert sim[1] < sim[0]


def test_ridge_at_the_threshold_is_finite_and_matches_simulation() -> None:
    lam = float(dd.optimal_ridge_lambda(1.0, R2, SIGMA2))
    sim = _conditional_risks(300, 300, lam, reps=3, seed=2).mean(axis=0)
    assert sim[1] == pytest.approx(dd.optimal_ridge_risk(1.0, R2, SIGMA2), rel=0.03)
    assert np.isinf(dd.minnorm_risk(1.0, R2, SIGMA2))
    assert sim[0] > 10 * sim[1]  # the interpolator's peak is real


def test_ridge_at_a_non_optimal_penalty_matches_simulation() -> None:
    sim = _conditional_risks(150, 300, 0.05, reps=3, seed=3).mean(axis=0)
    bias, var = dd.ridge_bias(2.0, 0.05, R2), dd.ridge_variance(2.0, 0.05, SIGMA2)
    assert sim[1] == pytest.approx(bias + var, rel=0.03)
    assert dd.ridge_risk(2.0, 0.05, R2, SIGMA2) > dd.optimal_ridge_risk(2.0, R2, SIGMA2)


def _mp_integral(lam: float, gamma: float, power: int) -> float:
    """int (s + lam)^-power dMP_gamma(s), the Marchenko-Pastur law of X^T X / n incl. its atom."""
    a, b = (1 - np.sqrt(gamma)) ** 2, (1 + np.sqrt(gamma)) ** 2

    def density(s: float) -> float:
        return np.sqrt((b - s) * (s - a)) / (2 * np.pi * gamma * s)

    value, _ = integrate.quad(lambda s: density(s) / (s + lam) ** power, a, b, limit=200)
    atom = max(0.0, 1.0 - 1.0 / gamma)  # a fraction 1 - n/d of eigenvalues is zero
    return value + atom / lam**power


@pytest.mark.parametrize("gamma", [0.3, 0.9, 1.0, 2.5])
@pytest.mark.parametrize("lam", [0.05, 0.7])
def test_stieltjes_transform_matches_the_mp_density(gamma: float, lam: float) -> None:
    assert dd.mp_stieltjes(lam, gamma) == pytest.approx(_mp_integral(lam, gamma, 1), rel=1e-6)
    assert dd.mp_stieltjes_derivative(lam, gamma) == pytest.approx(
        _mp_integral(lam, gamma, 2), rel=1e-6)


def test_optimal_lambda_minimises_the_ridge_risk() -> None:
    lams = np.geomspace(1e-3, 10.0, 4001)
    for gamma in (0.3, 1.0, 3.0):
        risk = dd.ridge_risk(gamma, lams, R2, SIGMA2)
        best = lams[np.argmin(risk)]
        assert best == pytest.approx(dd.optimal_ridge_lambda(gamma, R2, SIGMA2), rel=0.01)
        assert risk.min() == pytest.approx(dd.optimal_ridge_risk(gamma, R2, SIGMA2), rel=1e-6)


def test_limits() -> None:
    small, large = np.array([1e-4, 1e-3]), np.array([1e4, 1e5])
    # gamma -> 0: n >> d, both estimators reach the parametric risk sigma2 d / n.
    np.testing.assert_allclose(dd.minnorm_risk(small, R2, SIGMA2) / (SIGMA2 * small), 1, rtol=2e-3)
    np.testing.assert_allclose(dd.optimal_ridge_risk(small, R2, SIGMA2) / (SIGMA2 * small), 1,
                               rtol=2e-3)
    # gamma -> infinity: nothing is learned, the risk is that of beta_hat = 0.
    np.testing.assert_allclose(dd.minnorm_risk(large, R2, SIGMA2), R2, rtol=2e-3)
    np.testing.assert_allclose(dd.optimal_ridge_risk(large, R2, SIGMA2), R2, rtol=2e-3)
    # lam -> 0: ridge becomes the min-norm interpolator on both sides of the threshold.
    g = np.array([0.4, 0.8, 1.5, 5.0])
    np.testing.assert_allclose(dd.ridge_risk(g, 1e-9, R2, SIGMA2), dd.minnorm_risk(g, R2, SIGMA2),
                               rtol=1e-6)
    np.testing.assert_allclose(dd.ridge_bias(g, 1e-9, R2), dd.minnorm_bias(g, R2), atol=1e-7)


def test_bias_variance_split_and_shapes() -> None:
    g = np.array([[0.5, 2.0], [4.0, 0.25]])
    np.testing.assert_allclose(dd.minnorm_bias(g, R2), [[0, 0.5], [0.75, 0]])
    np.testing.assert_allclose(dd.minnorm_variance(g, SIGMA2),
                               [[0.25, 0.25], [0.25 / 3, 0.25 / 3]])
    assert dd.optimal_ridge_risk(g, R2, SIGMA2).shape == (2, 2)
    lam = dd.optimal_ridge_lambda(g, R2, SIGMA2)
    np.testing.assert_allclose(dd.ridge_risk(g, lam, R2, SIGMA2),
                               dd.optimal_ridge_risk(g, R2, SIGMA2), rtol=1e-12)


def test_tuned_ridge_has_no_peak_and_the_interpolator_has_one() -> None:
    g = np.geomspace(0.05, 50, 2001)
    ridge = dd.optimal_ridge_risk(g, R2, SIGMA2)
    assert np.all(np.diff(ridge) > 0)
    assert np.all(ridge <= dd.minnorm_risk(g, R2, SIGMA2) + 1e-12)
    above = g > 1
    # Beyond the threshold the interpolator's risk first falls (the second descent).
    assert np.any(np.diff(dd.minnorm_risk(g[above], R2, SIGMA2)) < 0)


# ---- signal strength r^2 != 1: every r^2 dependence of the formulas ----
STRONG_R2, NOISE2 = 2.5, 0.3


@pytest.mark.parametrize("gamma", [0.4, 1.7, 4.0])
def test_optimal_lambda_minimises_the_ridge_risk_at_any_signal(gamma: float) -> None:
    from scipy.optimize import minimize_scalar

    def risk(log_lam: float) -> float:
        return float(dd.ridge_risk(gamma, np.exp(log_lam), STRONG_R2, NOISE2))

    best = minimize_scalar(risk, bounds=(-8.0, 4.0), method="bounded", options={"xatol": 1e-10})
    lam = float(dd.optimal_ridge_lambda(gamma, STRONG_R2, NOISE2))
    assert lam == pytest.approx(np.exp(best.x), rel=1e-3)
    tuned = float(dd.optimal_ridge_risk(gamma, STRONG_R2, NOISE2))
    assert tuned == pytest.approx(best.fun, rel=1e-9)


@pytest.mark.parametrize("gamma", [1.5, 3.0])
def test_ridge_bias_tends_to_the_minnorm_bias_and_scales_with_the_signal(gamma: float) -> None:
    # lam -> 0 recovers the interpolator; both are r^2 times a function of gamma alone.
    assert float(dd.ridge_bias(gamma, 1e-7, STRONG_R2)) == pytest.approx(
        float(dd.minnorm_bias(gamma, STRONG_R2)), rel=1e-5)
    expected = STRONG_R2 * (1 - 1 / gamma)
    assert float(dd.minnorm_bias(gamma, STRONG_R2)) == pytest.approx(expected, rel=1e-12)
    for lam in (0.1, 1.0):
        assert float(dd.ridge_bias(gamma, lam, STRONG_R2)) == pytest.approx(
            STRONG_R2 * float(dd.ridge_bias(gamma, lam, 1.0)), rel=1e-12)


def test_minnorm_bias_finite_is_the_mean_missed_projection() -> None:
    # ||(I - P_rowspace(X)) beta*||^2 with ||beta*||^2 = r^2, averaged over Gaussian X.
    rng = np.random.default_rng(5)
    n, d, reps = 12, 30, 400
    beta = rng.standard_normal(d)
    beta *= np.sqrt(STRONG_R2) / np.linalg.norm(beta)
    missed = []
    for _ in range(reps):
        x = rng.standard_normal((n, d))
        proj = np.linalg.pinv(x) @ x
        missed.append(float(np.sum((beta - proj @ beta) ** 2)))
    se = np.std(missed) / np.sqrt(reps)
    exact = float(dd.minnorm_bias_finite(n, d, STRONG_R2))
    assert exact == pytest.approx(np.mean(missed), abs=4 * se)
    assert float(dd.minnorm_bias_finite(n, 10, STRONG_R2)) == 0.0


@pytest.mark.parametrize(("n", "d"), [(20, 5), (5, 20)])
def test_minnorm_variance_finite_is_the_mean_trace_of_the_pseudo_inverse(n: int, d: int) -> None:
    # sigma2 E tr((X^T X)^+) over Gaussian X, by simulation (inverse-Wishart means otherwise).
    rng = np.random.default_rng(n * 100 + d)
    traces = []
    for _ in range(4000):
        s2 = np.linalg.svd(rng.standard_normal((n, d)), compute_uv=False) ** 2
        traces.append(float(np.sum(1.0 / s2)))
    se = np.std(traces) / np.sqrt(len(traces))
    exact = float(dd.minnorm_variance_finite(n, d, NOISE2))
    assert exact == pytest.approx(NOISE2 * np.mean(traces), abs=5 * NOISE2 * se)


def test_minnorm_variance_finite_is_infinite_only_within_one_of_the_threshold() -> None:
    n = 30
    values = dd.minnorm_variance_finite(n, np.array([28, 29, 30, 31, 32]), NOISE2)
    np.testing.assert_array_equal(np.isinf(values), [False, True, True, True, False])
    np.testing.assert_allclose(values[[0, 4]], [NOISE2 * 28 / 1, NOISE2 * 30 / 1])


@pytest.mark.parametrize(("lam", "gamma"), [(1e-10, 0.5), (1e-9, 0.25)])
def test_stieltjes_transform_keeps_its_digits_at_a_tiny_penalty(lam: float, gamma: float) -> None:
    # m(-lam) -> 1 / (1 - gamma) for gamma < 1 as lam -> 0 (MP law without an atom at 0); the
    # form with (root - b) would lose half of its digits to cancellation here.
    m0 = 1.0 / (1.0 - gamma)
    slope = 1.0 / (1.0 - gamma) ** 3  # the MP law's mean of 1/s^2: minus d m(-lam) / d lam
    assert float(dd.mp_stieltjes(lam, gamma)) == pytest.approx(m0 - slope * lam, rel=1e-12)

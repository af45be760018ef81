"""The closed-form ReLU NTK and its spherical spectrum against quadrature and Monte Carlo."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from companion.theory import ntk
from companion.theory.powerlaw import loglog_slope


def _relu_moment_by_quadrature(order: int, theta: float) -> float:
    """E[relu(w.x)^n relu(w.y)^n] for w ~ N(0, I_2), unit x, y at angle theta, in polar
    coordinates: (1/2pi) int_0^inf r^{2n+1} e^{-r^2/2} dr * int_0^{2pi} c(phi)^n c(phi-theta)^n
    1{both > 0} dphi, with c = cos."""
    radial = integrate.quad(lambda r: r ** (2 * order + 1) * math.exp(-r * r / 2), 0, np.inf)[0]

    def angular(phi: float) -> float:
        a, b = math.cos(phi), math.cos(phi - theta)
        return (a * b) ** order if (a > 0 and b > 0) else 0.0

    breaks = sorted({(p % (2 * math.pi)) for p in (math.pi / 2, 3 * math.pi / 2,
                                                   theta + math.pi / 2, theta + 3 * math.pi / 2)})
    ang = integrate.quad(angular, 0, 2 * math.pi, points=breaks, limit=200, epsabs=1e-13)[0]
    return radial * ang / (2 * math.pi)


@pytest.mark.parametrize("theta", [0.0, 0.3, 1.2, math.pi / 2, 2.5, math.pi - 0.01])
def test_arccos_kernels_equal_quadrature(theta: float) -> None:
    t = math.cos(theta)
    for order in (0, 1):
        expected = _relu_moment_by_quadrature(order, theta)
        assert ntk.arccos_kernel(order, t) / 2 == pytest.approx(expected, rel=1e-8, abs=1e-12)


def test_relu_ntk_gram_equals_monte_carlo_over_weights() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3)) * np.array([[0.5], [1.0], [2.0], [1.3]])
    w = rng.standard_normal((400_000, 3))
    pre = x @ w.T  # (4, S)
    relu, step = np.maximum(pre, 0), (pre > 0).astype(float)
    samples = relu[:, None, :] * relu[None, :, :] + (x @ x.T)[:, :, None] * (
        step[:, None, :] * step[None, :, :])
    mc, se = samples.mean(-1), samples.std(-1) / math.sqrt(w.shape[0])
    exact = ntk.relu_ntk_gram(x)
    assert np.all(np.abs(exact - mc) <= 5 * se + 1e-12)
    # On the unit sphere the Gram matrix is the zonal function relu_ntk(<x, y>).
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    np.testing.assert_allclose(ntk.relu_ntk_gram(unit), ntk.relu_ntk(unit @ unit.T), rtol=1e-7)


def test_harmonic_dimensions() -> None:
    assert [ntk.harmonic_dimension(3, k) for k in range(6)] == [1, 3, 5, 7, 9, 11]
    assert [ntk.harmonic_dimension(4, k) for k in range(5)] == [1, 4, 9, 16, 25]
    assert all(ntk.harmonic_dimension(d, 1) == d for d in range(3, 12))
    # N(d, 2) = d(d+1)/2 - 1: the traceless symmetric matrices.
    assert all(ntk.harmonic_dimension(d, 2) == d * (d + 1) // 2 - 1 for d in range(3, 12))


def _uniform_sphere(rng, n, d):
    v = rng.standard_normal((n, d))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("d", [3, 5, 8])
def test_funk_hecke_eigenvalues_equal_monte_carlo(d: int) -> None:
    # mu_k = E_{x,y uniform}[kappa(<x,y>) P_k(<x,y>)], by the addition theorem.
    rng = np.random.default_rng(d)
    n = 400_000
    t = np.sum(_uniform_sphere(rng, n, d) * _uniform_sphere(rng, n, d), axis=1)
    degrees = np.arange(7)
    mu = ntk.relu_ntk_eigenvalues(d, degrees)
    for k in degrees:
        samples = ntk.relu_ntk(t) * ntk.legendre(d, int(k), t)
        se = samples.std() / math.sqrt(n)
        assert abs(samples.mean() - mu[k]) <= 5 * se, (k, samples.mean(), mu[k], se)


@pytest.mark.parametrize("d", [3, 4, 6, 10])
def test_exact_values_and_vanishing_odd_degrees(d: int) -> None:
    degrees = np.arange(40)
    mu = ntk.relu_ntk_eigenvalues(d, degrees)
    assert mu[1] == pytest.approx(1.0 / (2 * d), rel=1e-12)  # only the linear part t/2 is odd
    assert mu[0] == pytest.approx(integrate.quad(
        lambda th: ntk.relu_ntk(math.cos(th)) * math.sin(th) ** (d - 2), 0, math.pi)[0]
        * ntk.sphere_area_ratio(d), rel=1e-10)
    odd = degrees[(degrees >= 3) & (degrees % 2 == 1)]
    even = degrees[degrees % 2 == 0]
    assert np.max(np.abs(mu[odd])) < 1e-14 * mu[0]
    assert np.all(mu[even] > 0) and np.all(np.diff(mu[even]) < 0)


def test_mercer_trace_sums_to_kernel_at_one() -> None:
    # sum_k N(d,k) mu_k = kappa(1) = 1; the tail after degree K is O(1/K) in d = 3.
    degrees = np.arange(401)
    mu = ntk.relu_ntk_eigenvalues(3, degrees)
    partial = np.cumsum([ntk.harmonic_dimension(3, int(k)) * m for k, m in zip(degrees, mu,
                                                                                 strict=True)])
    assert ntk.relu_ntk(1.0) == pytest.approx(1.0)
    assert 0.99 < partial[-1] <= 1.0 + 1e-9
    assert np.all(np.diff(partial) >= -1e-12)  # odd degrees add round-off only


def test_decay_exponent_approaches_d() -> None:
    # Bietti & Mairal (2019): mu_k ~ k^-d for even k; the local slope tends to -d.
    for d in (3, 5):
        k = np.array([60, 80, 100, 120])
        mu = ntk.relu_ntk_eigenvalues(d, k)
        assert loglog_slope(k, mu) == pytest.approx(-d, abs=0.1 * d)


def test_zonal_harmonics_are_orthonormal() -> None:
    rng = np.random.default_rng(1)
    d, n = 5, 200_000
    x = _uniform_sphere(rng, n, d)
    v = _uniform_sphere(rng, 3, d)
    phis = np.stack([ntk.zonal_harmonic(d, k, x, v[i]) for i, k in enumerate((1, 2, 4))])
    gram = phis @ phis.T / n
    np.testing.assert_allclose(gram, np.eye(3), atol=0.03)


def test_linearised_dynamics_and_envelope() -> None:
    rng = np.random.default_rng(2)
    a = rng.standard_normal((6, 6))
    gram = a @ a.T + 0.5 * np.eye(6)
    n = 6
    lam = np.linalg.eigvalsh(gram / n)
    lr = 1.0 / lam[-1]
    r0 = rng.standard_normal(6)
    steps = np.array([0, 1, 2, 5, 20])
    res = ntk.linearised_residuals(gram, r0, lr, steps)
    r = r0.copy()
    direct = {0: r0.copy()}
    for t in range(1, 21):
        r = r - lr * gram @ r / n
        direct[t] = r.copy()
    np.testing.assert_allclose(res, np.stack([direct[int(t)] for t in steps]), atol=1e-12)
    loss = 0.5 * np.mean(res**2, axis=1)
    bound = ntk.lambda_min_bound(loss[0], lam[0], lam[-1], lr, steps)
    assert np.all(loss <= bound * (1 + 1e-12))
    # Kernel gradient descent from f = 0 on the training points leaves residual (I - lr K/n)^t y.
    y = rng.standard_normal(6)
    pred = ntk.kernel_gd_predictions(gram, gram, y, lr, steps)
    np.testing.assert_allclose(y - pred, ntk.linearised_residuals(gram, y, lr, steps), atol=1e-10)


def test_fit_time() -> None:
    t = ntk.fit_time(0.01, 2.0, 0.5)
    assert (1 - 0.02) ** t == pytest.approx(0.5)
    assert ntk.fit_time(0.0, 1.0, 0.5) == np.inf


def test_loglog_slope() -> None:
    x = np.array([1.0, 2.0, 4.0, 8.0])
    assert loglog_slope(x, 3 * x**-0.5) == pytest.approx(-0.5)
    with pytest.raises(ValueError):
        loglog_slope([1.0], [1.0])


# ---- the closed forms the B6/B7 verdicts compare with, each against the dynamics it solves ----

@pytest.mark.parametrize(("lam_min", "lam_max", "lr"), [(0.2, 0.5, 0.8), (0.1, 2.5, 0.9)])
def test_lambda_min_bound_is_attained_by_the_slowest_mode(lam_min: float, lam_max: float,
                                                          lr: float) -> None:
    # Linearised GD on K/n = diag(lam_min, lam_max): r <- (I - lr K/n) r, loss |r|^2. Started
    # along the mode with the largest |1 - lr lam|, the loss equals the envelope; started
    # elsewhere it stays below it. The second case has lr lam_max > 1, where lam_max decides.
    factors = np.abs(1.0 - lr * np.array([lam_min, lam_max]))
    steps = np.arange(6)
    for start in (np.eye(2)[int(np.argmax(factors))], np.array([0.6, 0.8])):
        r, losses = start.copy(), []
        for _ in steps:
            losses.append(float(r @ r))
            r = (1.0 - lr * np.array([lam_min, lam_max])) * r
        bound = ntk.lambda_min_bound(float(start @ start), lam_min, lam_max, lr, steps)
        assert np.all(np.array(losses) <= bound * (1 + 1e-12))
    np.testing.assert_allclose(bound, factors.max() ** (2 * steps), rtol=1e-12)
    r = np.eye(2)[int(np.argmax(factors))]
    attained = [float(((1.0 - lr * np.array([lam_min, lam_max])) ** t * r) @
                      ((1.0 - lr * np.array([lam_min, lam_max])) ** t * r)) for t in steps]
    np.testing.assert_allclose(ntk.lambda_min_bound(1.0, lam_min, lam_max, lr, steps), attained,
                               rtol=1e-12)


@pytest.mark.parametrize(("mu", "lr", "threshold", "steps"), [
    (0.2, 0.5, 0.1, math.log(0.1) / math.log(0.9)),  # (1 - 0.1)^t = 0.1
    (2.0, 0.5, 0.1, 1.0),   # lr mu = 1: one step removes the component
    (3.0, 0.5, 0.1, 1.0),   # lr mu > 1: one step overshoots past it
    (0.0, 0.5, 0.1, math.inf),
    (-1.0, 0.5, 0.1, math.inf),
])
def test_fit_time_in_every_branch(mu: float, lr: float, threshold: float, steps: float) -> None:
    assert ntk.fit_time(mu, lr, threshold) == pytest.approx(steps, rel=1e-12)


def _kernel_gd_by_iteration(k_eval: np.ndarray, k_train: np.ndarray, y: np.ndarray, lr: float,
                            steps: int) -> np.ndarray:
    # f <- f - lr/n K(., X) (f(X) - y), from f = 0: the functional gradient step itself.
    n = len(y)
    f_train, f_eval, out = np.zeros(n), np.zeros(k_eval.shape[0]), []
    for _ in range(steps + 1):
        out.append(f_eval.copy())
        residual = f_train - y
        f_train = f_train - lr / n * k_train @ residual
        f_eval = f_eval - lr / n * k_eval @ residual
    return np.array(out)


@pytest.mark.parametrize("duplicate", [False, True])
def test_kernel_gd_predictions_off_the_training_points(duplicate: bool) -> None:
    rng = np.random.default_rng(4)
    x = rng.standard_normal((7, 3))
    if duplicate:  # a repeated training point makes K singular: a zero eigenvalue
        x[6] = x[5]
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    x_eval = rng.standard_normal((5, 3))
    x_eval /= np.linalg.norm(x_eval, axis=1, keepdims=True)
    y = rng.standard_normal(7)
    if duplicate:
        y[6] = y[5]
    k_train, k_eval = ntk.relu_ntk_gram(x), ntk.relu_ntk_gram(x_eval, x)
    expected = _kernel_gd_by_iteration(k_eval, k_train, y, 0.7, 40)
    got = ntk.kernel_gd_predictions(k_eval, k_train, y, 0.7, np.arange(41))
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-10)
    if duplicate:
        assert np.linalg.eigvalsh(k_train / 7).min() < 1e-12


def test_kernel_gd_zero_eigenvalue_component_grows_linearly() -> None:
    # K/n = 0 on a direction: its gain is lr t (the limit of (1 - (1 - lr lam)^t) / lam).
    k_train = np.diag([2.0, 0.0])
    k_eval = np.array([[1.0, 3.0]])
    got = ntk.kernel_gd_predictions(k_eval, k_train, np.array([1.0, 1.0]), 0.25, np.array([4]))
    gain = np.array([(1 - (1 - 0.25 * 1.0) ** 4) / 1.0, 0.25 * 4])
    assert got[0, 0] == pytest.approx(float(k_eval[0] @ gain) / 2, rel=1e-12)


def test_spectrum_with_multiplicity_drops_non_positive_eigenvalues() -> None:
    values, origin = ntk.spectrum_with_multiplicity(4, np.array([1.0, 0.0, -1e-17, 0.25]),
                                                    [0, 1, 2, 3])
    assert set(origin) == {0, 3}
    assert np.all(values > 0)
    assert len(values) == ntk.harmonic_dimension(4, 0) + ntk.harmonic_dimension(4, 3)
    assert np.all(np.diff(values) <= 0)


def test_fit_time_with_floor_solves_the_floored_decay() -> None:
    mu, lr, thr = 0.01, 2.0, 0.5
    assert ntk.fit_time_with_floor(mu, lr, thr, 0.0) == ntk.fit_time(mu, lr, thr)
    t = ntk.fit_time_with_floor(mu, lr, thr, 0.2)
    assert 0.2 + 0.8 * (1 - lr * mu) ** t == pytest.approx(thr)
    assert t > ntk.fit_time(mu, lr, thr)  # a floor delays the crossing
    assert ntk.fit_time_with_floor(mu, lr, thr, 0.5) == float("inf")

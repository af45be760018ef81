"""B1 double_descent_linear: the tiny preset end to end, the estimators against plain NumPy, the
verdicts on synthetic runs, and the configuration checks."""

from __future__ import annotations

import copy

import jsonschema
import numpy as np
import pytest

from companion import config, pipeline
from companion.config import ConfigError, experiment_section, load_config
from companion.experiments import double_descent_linear as b1
from companion.theory import double_descent as dd

from experiment_helpers import run_tiny, tiny_section

SERIES = ("gamma", "d", "risk", "bias", "variance", "risk_theory", "risk_se", "risk_test",
          "risk_ridge", "risk_ridge_se", "risk_ridge_theory", "bias_ridge", "variance_ridge",
          "excluded", "datasets")


@pytest.fixture(scope="module")
def tiny() -> dict:
    return tiny_section(b1)


def test_tiny_preset_end_to_end(tiny: dict, tmp_path) -> None:
    metrics = run_tiny(b1, tiny, tmp_path)
    s = metrics["series"]
    n_gammas = len(tiny["gammas"])
    for key in SERIES:
        assert len(s[key]) == n_gammas, key
    np.testing.assert_allclose(s["gamma"], np.round(np.sort(tiny["gammas"]) * tiny["n"])
                               / tiny["n"])
    # Bias + variance is E_eps[risk | X]; its average tracks the realised risk.
    np.testing.assert_allclose(np.add(s["bias"], s["variance"]), s["risk"], rtol=0.3)
    below = np.asarray(s["gamma"]) < 1
    assert np.all(np.asarray(s["bias"])[below] < 1e-10)  # the interpolator is unbiased for d < n
    assert np.all(np.asarray(s["risk_ridge"]) < np.asarray(s["risk"]))
    # E_x[(x^T delta)^2] = |delta|^2: the test-set risk estimates the same number, to about
    # sqrt(2 / n_test) = 14% at n_test = 100.
    np.testing.assert_allclose(s["risk_test"], s["risk"], rtol=0.5)
    ids = [c["id"] for c in metrics["claims"]]
    assert ids == ["B1.risk_matches_theory", "B1.risk_matches_finite_n",
                   "B1.bias_matches_finite_n", "B1.variance_matches_finite_n",
                   "B1.ridge_matches_theory", "B1.ridge_removes_peak"]
    assert all(c["relation"] == "<=" and isinstance(c["detail"], str) for c in metrics["claims"])


def test_same_seed_same_numbers(tiny: dict, tmp_path) -> None:
    small = {**tiny, "gammas": [0.5, 2.0], "reps": 2}
    runs = []
    for out in ("a", "b"):
        pipeline.run_data(b1.ID, small, 3, tmp_path / out / "d.npz")
        pipeline.run_train(b1.ID, small, 3, tmp_path / out / "d.npz", "cpu", 1,
                           tmp_path / out / "r.npz", tmp_path / out / "r.json", log=lambda _: None)
        runs.append(np.load(tmp_path / out / "r.npz")["risk"])
    np.testing.assert_array_equal(runs[0], runs[1])


@pytest.mark.parametrize(("n", "d"), [(12, 5), (8, 20)])
def test_fit_matches_pinv_and_explicit_ridge(n: int, d: int) -> None:
    torch = pytest.importorskip("torch")
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(3, n, d, generator=gen, dtype=torch.float64)
    beta = torch.randn(d, generator=gen, dtype=torch.float64)
    y = X @ beta + 0.5 * torch.randn(3, n, generator=gen, dtype=torch.float64)
    mu = 0.7
    fits = b1._fit(X, y, beta, 0.25, mu)
    Xn, yn, bn = X.numpy(), y.numpy(), beta.numpy()
    for k in range(3):
        pinv = np.linalg.pinv(Xn[k])
        smooth = np.linalg.solve(Xn[k].T @ Xn[k] + mu * np.eye(d), Xn[k].T)
        for name, A in (("minnorm", pinv), ("ridge", smooth)):
            fit = fits[name]
            np.testing.assert_allclose(fit["delta"][k].numpy() + bn, A @ yn[k], atol=1e-10)
            bias = np.sum(((np.eye(d) - A @ Xn[k]) @ bn) ** 2)
            np.testing.assert_allclose(float(fit["bias"][k]), bias, atol=1e-10)
            np.testing.assert_allclose(float(fit["variance"][k]), 0.25 * np.trace(A @ A.T),
                                       rtol=1e-9)


def _fake_runs(cfg: dict, scale: float = 1.0, ridge_bump: float = 0.0, bias_scale: float = 1.0,
               variance_scale: float = 1.0, ridge_scale: float = 1.0, sets: int = 16) -> list:
    """Runs whose per-data-set numbers scatter (5%) around the exact finite-n means of the
    min-norm estimator (times the given scales) and the ridge theory."""
    dims, gammas = b1._grid(cfg)
    n = int(cfg["n"])
    rng = np.random.default_rng(0)
    lams = dd.optimal_ridge_lambda(gammas, cfg["r2"], cfg["sigma2"])
    ridge = ridge_scale * dd.optimal_ridge_risk(gammas, cfg["r2"], cfg["sigma2"])
    ridge = ridge + ridge_bump * np.exp(-np.log(gammas) ** 2 / 0.01)  # a peak at gamma = 1
    bias = bias_scale * dd.minnorm_bias_finite(n, dims, cfg["r2"])
    variance = variance_scale * dd.minnorm_variance_finite(n, dims, cfg["sigma2"])
    base = {"risk": scale * (bias + variance), "bias": bias, "variance": variance,
            "risk_ridge": ridge, "bias_ridge": dd.ridge_bias(gammas, lams, cfg["r2"]),
            "variance_ridge": dd.ridge_variance(gammas, lams, cfg["sigma2"])}
    base["risk_test"], base["risk_test_ridge"] = base["risk"], base["risk_ridge"]
    runs = []
    for _ in cfg["seeds"]:
        arrays = {k: v[:, None] * (1 + 0.05 * rng.standard_normal((len(v), sets)))
                  for k, v in base.items()}
        arrays.update(gamma=gammas, d=dims, lam=lams)
        runs.append((arrays, {}))
    return runs


def _verdicts(summary: dict) -> dict[str, bool]:
    return {c["id"]: c["passed"] for c in summary["claims"]}


def test_verdicts_follow_the_numbers() -> None:
    cfg = experiment_section(load_config(), b1.ID)
    good = b1.summarize(cfg, _fake_runs(cfg))
    assert all(_verdicts(good).values()), _verdicts(good)
    assert good["claims"][0]["measured"] < 0.05
    off = b1.summarize(cfg, _fake_runs(cfg, 1.2))
    assert off["claims"][0]["passed"] is False and off["claims"][0]["measured"] > 0.15
    assert not _verdicts(off)["B1.risk_matches_finite_n"]
    peaked = b1.summarize(cfg, _fake_runs(cfg, ridge_bump=0.5))
    assert not _verdicts(peaked)["B1.ridge_removes_peak"]


def test_a_few_percent_off_the_exact_finite_n_means_fails_the_z_tests() -> None:
    cfg = experiment_section(load_config(), b1.ID)
    # 4% is within the 10% bar against the n -> infinity limit, but many standard errors off.
    for key, kwargs in (("B1.risk_matches_finite_n", {"scale": 1.04}),
                        ("B1.bias_matches_finite_n", {"bias_scale": 1.04}),
                        ("B1.variance_matches_finite_n", {"variance_scale": 1.04})):
        verdicts = _verdicts(b1.summarize(cfg, _fake_runs(cfg, **kwargs)))
        assert not verdicts[key], key
    verdicts = _verdicts(b1.summarize(cfg, _fake_runs(cfg, scale=1.04)))
    assert verdicts["B1.risk_matches_theory"] and verdicts["B1.bias_matches_finite_n"]


def test_tuned_ridge_off_its_theory_fails() -> None:
    cfg = experiment_section(load_config(), b1.ID)
    verdicts = _verdicts(b1.summarize(cfg, _fake_runs(cfg, ridge_scale=1.15)))
    assert not verdicts["B1.ridge_matches_theory"] and verdicts["B1.ridge_removes_peak"]


def test_exact_finite_n_means_tend_to_the_limit() -> None:
    gamma = np.array([0.5, 2.0])
    for n in (100, 10_000):
        d = gamma * n
        exact = dd.minnorm_bias_finite(n, d, 1.0) + dd.minnorm_variance_finite(n, d, 0.25)
        err = np.max(np.abs(exact / dd.minnorm_risk(gamma, 1.0, 0.25) - 1))
        assert err < 3.0 / n  # the finite-n correction is O(1/n)
    assert np.isinf(dd.minnorm_variance_finite(100, np.array([99.0, 101.0]), 0.25)).all()


def test_sections_satisfy_the_schema() -> None:
    section_schema = config.schema()["properties"]["experiments"]["properties"][b1.ID]
    for preset in ("default", "tiny", "full"):
        section = experiment_section(load_config(preset), b1.ID)
        jsonschema.validate(section, section_schema)
        b1.check(section)
    bad = {**experiment_section(load_config(), b1.ID), "n": 1}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, section_schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**bad, "n": 10, "extra": 1}, section_schema)


@pytest.mark.parametrize(("key", "value", "match"), [
    ("gammas", [0.5, -1.0, 2.0], r"gammas: every value must be > 0"),
    ("gammas", [0.5, 1.0, 2.0], r"gammas: \[1\.0\] give d = n"),
    ("gammas", [0.5, 0.501, 2.0], r"gammas: two values give the same d"),
    ("gammas", [0.9, 1.1, 1.2], r"gammas: no value lies outside exclude_window"),
    ("exclude_window", [1.2, 0.8], r"exclude_window: must be \[lo, hi\] with lo < 1 < hi"),
])
def test_check_names_the_bad_key(tiny: dict, key: str, value: object, match: str) -> None:
    cfg = copy.deepcopy(tiny)
    cfg[key] = value
    with pytest.raises(ConfigError, match=r"experiments\.double_descent_linear\." + match):
        b1.check(cfg)


def test_data_of_a_gamma_do_not_depend_on_the_rest_of_the_grid(tiny: dict) -> None:
    whole = b1.generate(tiny, 4)
    part = b1.generate({**tiny, "gammas": tiny["gammas"][2:]}, 4)
    assert list(whole["stream"][2:]) == list(part["stream"])
    start = whole["offsets"][2]
    np.testing.assert_array_equal(whole["beta_star"][start:], part["beta_star"])
    assert not np.array_equal(b1.generate(tiny, 5)["stream"], whole["stream"])
    norms = [np.linalg.norm(whole["beta_star"][a:b]) ** 2
             for a, b in zip(whole["offsets"][:-1], whole["offsets"][1:], strict=True)]
    np.testing.assert_allclose(norms, tiny["r2"])


def test_ridge_is_fitted_at_the_tuned_penalty(tiny: dict, monkeypatch) -> None:
    seen = []
    fit = b1._fit

    def recording_fit(X, y, beta, sigma2, n_lam):
        seen.append(n_lam)
        return fit(X, y, beta, sigma2, n_lam)

    monkeypatch.setattr(b1, "_fit", recording_fit)
    data = b1.generate(tiny, 0)
    arrays, _ = b1.train(tiny, data, 0, "cpu", lambda _: None)
    lam_star = dd.optimal_ridge_lambda(data["gamma"], tiny["r2"], tiny["sigma2"])
    np.testing.assert_allclose(arrays["lam"], lam_star, rtol=1e-12)
    assert sorted(set(seen)) == pytest.approx(sorted(tiny["n"] * lam_star), rel=1e-12)


def test_mean_se_is_the_sample_standard_error_over_present_data_sets() -> None:
    samples = np.array([[1.0, 2.0, 4.0, np.nan], [3.0, 3.0, 5.0, 9.0]])
    mean, se = b1._mean_se(samples)
    for row, m, e in zip(samples, mean, se, strict=True):
        present = row[~np.isnan(row)]
        assert m == pytest.approx(present.mean())
        assert e == pytest.approx(np.std(present, ddof=1) / np.sqrt(present.size))


def test_risk_inside_the_excluded_window_does_not_decide_the_limit_claim() -> None:
    cfg = experiment_section(load_config(), b1.ID)
    runs = _fake_runs(cfg)
    lo, hi = cfg["exclude_window"]
    for arrays, _ in runs:
        inside = (arrays["gamma"] >= lo) & (arrays["gamma"] <= hi)
        assert inside.any()
        arrays["risk"][inside] *= 3.0  # far off R(gamma), where R diverges anyway
    claim = b1.summarize(cfg, runs)["claims"][0]
    assert claim["id"] == "B1.risk_matches_theory" and claim["passed"], claim["detail"]
    assert claim["measured"] < 0.05


def test_a_ridge_curve_above_the_interpolator_peak_fails_even_without_a_fall() -> None:
    cfg = experiment_section(load_config(), b1.ID)
    runs = _fake_runs(cfg)
    top = max(np.nanmax(arrays["risk"]) for arrays, _ in runs)
    for arrays, _ in runs:
        # Rising everywhere (no fall between neighbours), but higher than min-norm's peak.
        arrays["risk_ridge"] = arrays["risk_ridge"] + 2 * top * np.arange(
            len(arrays["gamma"]))[:, None]
    claims = {c["id"]: c for c in b1.summarize(cfg, runs)["claims"]}
    assert claims["B1.ridge_removes_peak"]["measured"] < 0
    assert not claims["B1.ridge_removes_peak"]["passed"]

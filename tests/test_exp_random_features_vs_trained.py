"""A2 random_features_vs_trained: the tiny preset end to end, ridge against a direct solve, the
verdicts on synthetic runs (each claim fails when its rule is violated), the configuration
checks."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from companion import config, sampling
from companion.config import ConfigError, load_config
from companion.experiments import random_features_vs_trained as a2

from experiment_helpers import run_tiny, tiny_section

CLAIMS = ["A2.rf_error_grows_with_d", "A2.trained_below_half_rf", "A2.rf_slope_flattens"]


@pytest.fixture(scope="module")
def tiny() -> dict:
    return tiny_section(a2)


def test_tiny_preset_end_to_end(tiny: dict, tmp_path) -> None:
    metrics = run_tiny(a2, tiny, tmp_path)
    s = metrics["series"]
    pairs = len(tiny["dims"]) * len(tiny["widths"])
    for key in ("d", "M", "error_rf", "error_trained", "floor_rf_theory"):
        assert len(s[key]) == pairs, key
    assert s["d"][: len(tiny["widths"])] == [float(tiny["dims"][0])] * len(tiny["widths"])
    assert len(s["slope_rf"]) == len(tiny["dims"])
    assert [c["id"] for c in metrics["claims"]] == CLAIMS


def test_target_has_unit_norm_and_ridge_matches_a_direct_solve() -> None:
    rng = np.random.default_rng(0)
    x = sampling.sphere(rng, 200_000, 6, radius=1.0)
    u = np.eye(6)[0]
    assert np.mean(a2.target(x, u) ** 2) == pytest.approx(1.0, rel=0.01)
    phi, y = rng.standard_normal((50, 8)), rng.standard_normal(50)
    lambdas = np.array([1e-3, 0.5])
    coef = a2.ridge_path(phi, y, lambdas)
    for lam, c in zip(lambdas, coef, strict=True):
        direct = np.linalg.solve(phi.T @ phi / 50 + lam * np.eye(8), phi.T @ y / 50)
        np.testing.assert_allclose(c, direct, rtol=1e-9)


def _synthetic_run(dims=(2, 8, 32), widths=(8, 32, 128), rf_top=(0.001, 0.02, 0.1),
                   nn_factor=0.1, slopes=(-2.0, -1.0, -0.5)):
    widths = np.asarray(widths, dtype=float)
    rf = np.array([top * (widths / widths[-1]) ** s for top, s in zip(rf_top, slopes,
                                                                        strict=True)])
    return {"dims": np.asarray(dims), "widths": widths.astype(int), "error_rf": rf,
            "error_trained": nn_factor * rf, "lambda_rf": np.ones_like(rf)}, {}


def _passed(tiny, **kw):
    return [c["passed"] for c in a2.summarize(tiny, [_synthetic_run(**kw)])["claims"]]


def test_verdicts_follow_the_numbers(tiny: dict) -> None:
    assert _passed(tiny) == [True, True, True]
    assert _passed(tiny, rf_top=(0.001, 0.1, 0.09)) == [False, True, True]
    assert _passed(tiny, nn_factor=0.51) == [True, False, True]
    # The d = 2 pair is not judged by the trained claim: only d > 2 counts.
    run, _ = _synthetic_run()
    run["error_trained"][0] = 10 * run["error_rf"][0]
    assert [c["passed"] for c in a2.summarize(tiny, [(run, {})])["claims"]][1]
    assert _passed(tiny, slopes=(-2.0, -0.5, -0.6)) == [True, True, False]
    assert _passed(tiny, slopes=(-2.0, -0.5, -0.54)) == [True, True, True]  # within tolerance
    # Non-finite errors (a diverged fit) fail the claims that use them, without a crash.
    run, _ = _synthetic_run()
    run["error_trained"][:, -1] = np.nan
    claims = a2.summarize(tiny, [(run, {})])["claims"]
    assert not claims[1]["passed"] and np.isfinite(claims[1]["measured"])


def test_check_schema_and_memory(tiny: dict) -> None:
    with pytest.raises(ConfigError, match=r"random_features_vs_trained\.dims"):
        a2.check({**tiny, "dims": [8, 2]})
    with pytest.raises(ConfigError, match=r"random_features_vs_trained\.n_rf"):
        a2.check({**tiny, "n_rf": 100})
    full = load_config("tiny")
    config.validate(full)
    for key, value in (("dims", [1, 4]), ("n_rf", 10**8), ("ridge_grid", [0.0])):
        broken = copy.deepcopy(full)
        broken["experiments"][a2.ID][key] = value
        with pytest.raises(ConfigError, match=key):
            config.validate(broken)
    mem = a2.peak_memory_mb(tiny)
    assert set(mem) == {"data", "train", "metrics"}
    assert a2.peak_memory_mb({**tiny, "n_rf": 10**6})["train"][1] == "n_rf"

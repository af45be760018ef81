"""D3 mfld_convergence: the tiny preset end to end, the estimated objective, the verdicts on
synthetic runs (each claim can fail), one-seed summaries and the configuration checks."""

from __future__ import annotations

import copy

import jsonschema
import numpy as np
import pytest

from companion import config
from companion.config import ConfigError, experiment_section, load_config
from companion.experiments import mfld_convergence as d3
from companion.theory.entropy import gaussian_entropy

from experiment_helpers import run_tiny, tiny_section


@pytest.fixture(scope="module")
def tiny() -> dict:
    return tiny_section(d3)


def test_tiny_preset_end_to_end(tiny: dict, tmp_path) -> None:
    metrics = run_tiny(d3, tiny, tmp_path)
    assert [c["id"] for c in metrics["claims"]] == ["D3.linear_phase", "D3.variance_one_over_n",
                                                    "D3.svrg_fewer_evaluations"]
    s = metrics["series"]
    big = tiny["particles"][-1]
    # The objective falls from its start; SGD spends (at least) SVRG's evaluation budget.
    assert s[f"objective_full_{big}"][-1] < 0.6 * s[f"objective_full_{big}"][0]
    assert s[f"evals_sgd_{big}"][-1] >= s[f"evals_svrg_{big}"][-1]
    # The variance runs: one positive variance per N, both at the start and after training.
    assert s["variance_particles"] == tiny["variance_particles"]
    assert len(s["prediction_variance"]) == len(tiny["variance_particles"])
    assert min(s["prediction_variance"] + s["prediction_variance_start"]) > 0


def test_objective_of_gaussian_particles() -> None:
    # Particles N(0, s^2 I_p): the L2 term is p s^2 and the entropy the Gaussian one.
    rng = np.random.default_rng(0)
    p, s = 4, 0.5
    theta = s * rng.normal(size=(4000, p))
    f, h = d3.objective(0.3, theta, 0.1, 0.02)
    assert h == pytest.approx(gaussian_entropy(s * s * np.eye(p)), abs=0.1)
    assert f == pytest.approx(0.3 + 0.1 * p * s * s - 0.02 * gaussian_entropy(s * s * np.eye(p)),
                              abs=0.01)


def test_linear_phase_fit() -> None:
    t = np.arange(0, 100, 5, dtype=float)
    rate, r2 = d3.linear_phase(t, 1.0 + 0.5 * np.exp(-0.05 * t), 1.0, [0, 60])
    assert rate == pytest.approx(0.05) and r2 == pytest.approx(1.0)
    # A power law is not a straight line in log(F - F_end) against t.
    rate_pl, r2_pl = d3.linear_phase(t, 1.0 + 1.0 / (1.0 + t), 1.0, [0, 60])
    assert r2_pl < 0.95
    # Dipping to F_end inside the window: no fit.
    assert d3.linear_phase(t, np.ones_like(t), 1.0, [0, 60]) == (None, None)


def test_inverse_n_fit_recovers_the_limit() -> None:
    ns = [64, 256, 1024]
    f_star, c = d3.inverse_n_fit(ns, [2.0 + 3.0 / n for n in ns])
    assert f_star == pytest.approx(2.0) and c == pytest.approx(3.0)


def _predictions(vns, variance, replicas: int = 2, inputs: int = 3,
                 rng: np.random.Generator | None = None) -> np.ndarray:
    """``(replicas, inputs, len(vns))`` predictions whose variance over replicas (ddof 1) at every
    input is ``variance(N)``: exactly (two replicas at ``m +- sqrt(v/2)``) without ``rng``, as
    Gaussian draws with it."""
    v = np.asarray([variance(n) for n in vns], dtype=float)
    mean = np.linspace(-0.5, 0.5, inputs)[:, None]
    if rng is None:
        assert replicas == 2
        sign = np.array([1.0, -1.0])[:, None, None]
        return mean[None] + sign * np.sqrt(v / 2.0)[None, None, :] * np.ones((1, inputs, 1))
    return mean[None] + np.sqrt(v)[None, None, :] * rng.normal(size=(replicas, inputs, len(vns)))


def _runs(cfg: dict, end_by_n, sgd_floor: float, svrg_floor: float, rate: float = 0.05,
          seeds: int = 2, variance=lambda n: 0.08 / n) -> list:
    """Synthetic records: every curve decays exponentially in the step to its floor; the
    variance runs' predictions have variance ``variance(N)`` after training (exactly) and a flat
    one at the start (which no verdict reads)."""
    ns = [int(v) for v in cfg["particles"]]
    vns = [int(v) for v in cfg["variance_particles"]]
    steps = np.arange(0, int(cfg["steps"]) + 1, int(cfg["record_every"]), dtype=float)
    out = []
    for s in range(seeds):
        arrays: dict[str, np.ndarray] = {
            "particles": np.asarray(ns), "variance_particles": np.asarray(vns),
            "prediction_end": _predictions(vns, variance),
            "prediction_start": _predictions(vns, lambda n: 0.3)}
        for n_p, end in zip(ns, end_by_n, strict=True):
            for variant, floor, cost in (("full", end, 200.0), ("sgd", sgd_floor, 4.0),
                                         ("svrg", svrg_floor, 12.0)):
                arrays[f"step_{variant}_{n_p}"] = steps
                arrays[f"evals_{variant}_{n_p}"] = cost * steps
                arrays[f"objective_{variant}_{n_p}"] = (floor + 0.4 * np.exp(-rate * steps)
                                                        + 1e-6 * s)
        out.append((arrays, {}))
    return out


def test_verdicts_follow_the_numbers() -> None:
    cfg = experiment_section(load_config(), d3.ID)
    good = d3.summarize(cfg, _runs(cfg, [0.165, 0.162, 0.160], 0.20, 0.161))
    assert [c["passed"] for c in good["claims"]] == [True, True, True]
    assert good["claims"][0]["context"]["rate_per_step"] == pytest.approx(0.05, rel=1e-3)
    assert good["claims"][1]["measured"] == pytest.approx(-1.0, abs=1e-12)
    # The final objective rising between two N is shown, not judged: every claim still holds.
    up = d3.summarize(cfg, _runs(cfg, [0.165, 0.160, 0.1601], 0.20, 0.161))
    assert [c["passed"] for c in up["claims"]] == [True, True, True]
    assert up["claims"][1]["context"]["final_objective"] == pytest.approx([0.165, 0.160, 0.1601],
                                                                          abs=1e-5)
    # A variance falling like 1/sqrt(N), or not at all, fails the variance claim only.
    for law, slope in ((lambda n: 0.08 / np.sqrt(n), -0.5), (lambda n: 0.01, 0.0)):
        bad = d3.summarize(cfg, _runs(cfg, [0.165, 0.162, 0.160], 0.20, 0.161, variance=law))
        assert [c["passed"] for c in bad["claims"]] == [True, False, True]
        assert bad["claims"][1]["measured"] == pytest.approx(slope, abs=1e-12)
    # SGD as good as SVRG per evaluation (its floor low): it reaches the target first.
    sgd_good = d3.summarize(cfg, _runs(cfg, [0.165, 0.162, 0.160], 0.1605, 0.161))
    assert sgd_good["claims"][2]["passed"] is False
    assert sgd_good["claims"][2]["measured"] > 1.0
    # SVRG never reaching the target fails it too.
    svrg_bad = d3.summarize(cfg, _runs(cfg, [0.165, 0.162, 0.160], 0.20, 0.19))
    assert svrg_bad["claims"][2]["passed"] is False
    # No linear phase: a slow power-law decay fails the R^2 threshold.
    slow = _runs(cfg, [0.165, 0.162, 0.160], 0.20, 0.161)
    for arrays, _ in slow:
        t = arrays["step_full_1024"]
        arrays["objective_full_1024"] = 0.160 + 0.4 / (1.0 + t) ** 0.5
    assert d3.summarize(cfg, slow)["claims"][0]["passed"] is False


def test_r2_threshold_is_the_configured_one() -> None:
    cfg = experiment_section(load_config(), d3.ID)
    runs = _runs(cfg, [0.165, 0.162, 0.160], 0.20, 0.161)
    for arrays, _ in runs:
        t = arrays["step_full_1024"]
        wobble = 1.0 + 0.3 * np.sin(t / 7.0)
        arrays["objective_full_1024"] = 0.160 + 0.4 * np.exp(-0.05 * t) * wobble
    r2 = d3.summarize(cfg, runs)["claims"][0]["measured"]
    assert 0.0 < r2 < 1.0
    assert d3.summarize({**cfg, "r2_min": r2 - 1e-6}, runs)["claims"][0]["passed"] is True
    assert d3.summarize({**cfg, "r2_min": r2 + 1e-6}, runs)["claims"][0]["passed"] is False


def test_one_seed_summary_has_no_nan() -> None:
    cfg = experiment_section(load_config(), d3.ID)
    one = d3.summarize(cfg, _runs(cfg, [0.165, 0.162, 0.160], 0.20, 0.161, seeds=1))
    assert not d3.POOLED_ONLY
    assert one["series"]["final_objective_sd"] == [None] * 3
    assert one["claims"][1]["passed"] is True and one["claims"][1]["context"]["runs"] == 1
    assert all(isinstance(c["passed"], bool) for c in one["claims"])


def test_sections_satisfy_the_schema() -> None:
    section_schema = config.schema()["properties"]["experiments"]["properties"][d3.ID]
    for preset in ("default", "tiny", "full"):
        section = experiment_section(load_config(preset), d3.ID)
        jsonschema.validate(section, section_schema)
        d3.check(section)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**experiment_section(load_config(), d3.ID), "r2_min": 1.5},
                            section_schema)


@pytest.mark.parametrize(("key", "value", "match"), [
    ("particles", [64, 32], r"particles: must be strictly increasing"),
    ("batch", 60, r"batch: 60 must be below n = 60"),
    ("rate_window", [0, 10], r"rate_window: \[0, 10\] must lie in"),
    ("rate_window", [0, 90], r"rate_window: ends at 90, inside the last end_frac"),
    ("variance_particles", [16, 64, 64], r"variance_particles: must be strictly increasing"),
    ("variance_n", 61, r"variance_n: 61 must be at most n = 60"),
])
def test_check_names_the_bad_key(tiny: dict, key: str, value: object, match: str) -> None:
    cfg = copy.deepcopy(tiny)
    cfg[key] = value
    with pytest.raises(ConfigError, match=r"experiments\.mfld_convergence\." + match):
        d3.check(cfg)


def test_inverse_n_fit_is_only_the_curves_reference() -> None:
    cfg = experiment_section(load_config(), d3.ID)
    s = d3.summarize(cfg, _runs(cfg, [2.0 + 3.0 / 64, 2.0 + 3.0 / 256, 2.0 + 3.0 / 1024], 2.2,
                                2.001))["series"]
    assert s["f_star_fit"] == pytest.approx(2.0, abs=1e-5)
    assert s["inverse_n_coefficient"] == pytest.approx(3.0, rel=1e-3)
    assert s["final_objective"] == pytest.approx([2.0 + 3.0 / n for n in (64, 256, 1024)],
                                                 abs=1e-5)


def test_prediction_variance_is_over_replicas_then_mean_over_inputs() -> None:
    # Two inputs, two sizes, three replicas: variances (ddof 1) by hand.
    pred = np.array([[[0.0, 1.0], [2.0, 0.0]],
                     [[1.0, 1.0], [4.0, 0.0]],
                     [[2.0, 4.0], [0.0, 3.0]]])
    v = d3.prediction_variance(pred)
    assert v == pytest.approx([(1.0 + 4.0) / 2, (3.0 + 3.0) / 2])


def test_variance_claim_on_a_noisy_one_over_n_law() -> None:
    cfg = experiment_section(load_config(), d3.ID)
    vns = [int(v) for v in cfg["variance_particles"]]
    rng = np.random.default_rng(7)
    runs = _runs(cfg, [0.165, 0.162, 0.160], 0.20, 0.161)
    for arrays, _ in runs:
        arrays["prediction_end"] = _predictions(vns, lambda n: 0.08 / n, replicas=8, inputs=16,
                                                rng=rng)
    out = d3.summarize(cfg, runs)
    claim, s = out["claims"][1], out["series"]
    assert claim["passed"] is True
    assert claim["measured"] == pytest.approx(-1.00341419, abs=1e-6)
    assert claim["context"]["slope_se"] == pytest.approx(0.02016726, abs=1e-6)
    assert claim["tolerance"] == 0.15 and claim["expected"] == -1.0 and claim["relation"] == "~="
    pooled = np.mean([d3.prediction_variance(a["prediction_end"]) for a, _ in runs], axis=0)
    assert s["prediction_variance"] == pytest.approx(pooled.tolist(), rel=1e-12)
    assert claim["context"]["n_times_variance"] == pytest.approx((np.asarray(vns) * pooled)
                                                                 .tolist(), rel=1e-12)
    # The start (a flat variance in these runs) is shown beside it, not judged.
    assert claim["context"]["slope_at_start"] == pytest.approx(0.0, abs=1e-12)
    assert s["prediction_variance_start"] == pytest.approx([0.3] * len(vns))
    assert claim["context"]["replicas"] == 8 and claim["context"]["runs"] == 2
    # The same law at 1/N^0.5 is far outside the tolerance.
    for arrays, _ in runs:
        arrays["prediction_end"] = _predictions(vns, lambda n: 0.08 / np.sqrt(n), replicas=8,
                                                inputs=16, rng=rng)
    half = d3.summarize(cfg, runs)["claims"][1]
    assert half["passed"] is False and half["measured"] == pytest.approx(-0.5, abs=0.1)


@pytest.mark.parametrize(("exponent", "passed"), [
    (-1.1499, True), (-1.1501, False), (-0.8501, True), (-0.8499, False), (-1.0, True)])
def test_variance_slope_tolerance_boundaries(exponent: float, passed: bool) -> None:
    cfg = experiment_section(load_config(), d3.ID)
    runs = _runs(cfg, [0.165, 0.162, 0.160], 0.20, 0.161, variance=lambda n: 0.5 * n**exponent)
    claim = d3.summarize(cfg, runs)["claims"][1]
    assert claim["measured"] == pytest.approx(exponent, abs=1e-9)
    assert claim["context"]["slope_se"] == pytest.approx(0.0, abs=1e-9)
    assert claim["passed"] is passed
    # The tolerance is the configured one.
    wider = d3.summarize({**cfg, "slope_tolerance": 0.2}, runs)["claims"][1]
    assert wider["passed"] is True and wider["tolerance"] == 0.2


def test_variance_claim_without_a_slope_fails() -> None:
    cfg = experiment_section(load_config(), d3.ID)
    # Replicas that coincide (zero variance) or a diverged replica (NaN): no slope, a failure.
    for spoil in (lambda p: p.__setitem__((slice(None), slice(None), 2), 0.25),
                  lambda p: p.__setitem__((0, 0, 1), np.nan)):
        runs = _runs(cfg, [0.165, 0.162, 0.160], 0.20, 0.161)
        for arrays, _ in runs:
            spoil(arrays["prediction_end"])
        claim = d3.summarize(cfg, runs)["claims"][1]
        assert claim["passed"] is False and claim["measured"] == 1e9
        assert claim["context"]["slope_se"] is None
        assert "slope none" in claim["detail"]


def test_target_met_at_the_first_record() -> None:
    cfg = experiment_section(load_config(), d3.ID)
    # Floors far below the full-batch end: both stochastic runs start below the target.
    both = d3.summarize(cfg, _runs(cfg, [2.0, 2.0, 2.0], 0.2, 0.2))["claims"][2]
    assert both["passed"] is False and both["measured"] == 1.0
    assert both["context"]["evaluations_sgd"] == 0.0 == both["context"]["evaluations_svrg"]
    # SGD there at once (its curve starts below the target), SVRG later: SVRG needs more.
    runs = _runs(cfg, [0.165, 0.162, 0.160], -0.5, 0.161)
    sgd_first = d3.summarize(cfg, runs)["claims"][2]
    assert sgd_first["passed"] is False and sgd_first["measured"] == 1e9

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
    assert [c["id"] for c in metrics["claims"]] == ["D3.linear_phase", "D3.gap_shrinks_with_n",
                                                    "D3.svrg_fewer_evaluations"]
    s = metrics["series"]
    big = tiny["particles"][-1]
    # The objective falls from its start; SGD spends (at least) SVRG's evaluation budget.
    assert s[f"objective_full_{big}"][-1] < 0.6 * s[f"objective_full_{big}"][0]
    assert s[f"evals_sgd_{big}"][-1] >= s[f"evals_svrg_{big}"][-1]


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


def _runs(cfg: dict, end_by_n, sgd_floor: float, svrg_floor: float, rate: float = 0.05,
          seeds: int = 2) -> list:
    """Synthetic records: every curve decays exponentially in the step to its floor."""
    ns = [int(v) for v in cfg["particles"]]
    steps = np.arange(0, int(cfg["steps"]) + 1, int(cfg["record_every"]), dtype=float)
    out = []
    for s in range(seeds):
        arrays: dict[str, np.ndarray] = {"particles": np.asarray(ns)}
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
    # The final objective rising between two N fails the N claim only.
    up = d3.summarize(cfg, _runs(cfg, [0.165, 0.160, 0.1601], 0.20, 0.161))
    assert [c["passed"] for c in up["claims"]] == [True, False, True]
    assert up["claims"][1]["measured"] == 1.0
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
])
def test_check_names_the_bad_key(tiny: dict, key: str, value: object, match: str) -> None:
    cfg = copy.deepcopy(tiny)
    cfg[key] = value
    with pytest.raises(ConfigError, match=r"experiments\.mfld_convergence\." + match):
        d3.check(cfg)

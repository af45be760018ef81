"""A4 adaptivity_besov: the tiny preset end to end, the targets and reference rates, the
verdicts on synthetic runs (a flipped comparison or a dropped standard error is caught), one-seed
summaries and the configuration checks."""

from __future__ import annotations

import copy

import jsonschema
import numpy as np
import pytest

from companion import config
from companion.config import ConfigError, experiment_section, load_config
from companion.experiments import adaptivity_besov as a4
from companion.theory import besov

from experiment_helpers import run_tiny, tiny_section


@pytest.fixture(scope="module")
def tiny() -> dict:
    return tiny_section(a4)


def test_tiny_preset_end_to_end(tiny: dict, tmp_path) -> None:
    metrics = run_tiny(a4, tiny, tmp_path)
    s = metrics["series"]
    assert s["n"] == [float(n) for n in tiny["ns"]]
    for name in tiny["targets"]:
        for est in ("dnn", "kernel"):
            assert len(s[f"mse_{est}_{name}"]) == len(tiny["ns"])
            assert all(v > 0 for v in s[f"mse_{est}_{name}"])
    assert [c["id"] for c in metrics["claims"]] == [f"A4.dnn_beats_kernel_{t}"
                                                    for t in tiny["targets"]]
    # The kernel reported is one of the two tuned kernels at every n.
    for name in tiny["targets"]:
        best = np.minimum(s[f"mse_gaussian_{name}"], s[f"mse_laplace_{name}"])
        worst = np.maximum(s[f"mse_gaussian_{name}"], s[f"mse_laplace_{name}"])
        assert np.all(best <= np.asarray(s[f"mse_kernel_{name}"]) + 1e-15)
        assert np.all(np.asarray(s[f"mse_kernel_{name}"]) <= worst + 1e-15)


def test_targets_and_rates() -> None:
    x = np.linspace(0, 1, 100001)
    for name in besov.TARGETS:
        assert np.mean(besov.target(name, x) ** 2) == pytest.approx(1.0, rel=1e-3)
        s, p = besov.CLASSES[name]
        # p < 2: the linear estimators' exponent is strictly shallower than the minimax one.
        assert besov.linear_exponent(s, p) > besov.minimax_exponent(s)
    jumps = besov.target("jumps", np.array([0.47 - 1e-9, 0.47]))
    assert abs(jumps[1] - jumps[0]) > 1.0  # a jump, not a steep slope
    assert besov.minimax_exponent(1.0) == pytest.approx(-2 / 3)
    assert besov.linear_exponent(1.0, 1.0) == pytest.approx(-0.5)
    assert besov.linear_exponent(1.0, 2.0) == besov.minimax_exponent(1.0)
    with pytest.raises(ValueError, match="target: 'sine'"):
        besov.target("sine", x)


def _fake_runs(cfg: dict, dnn_slope: float, kernel_slope: float, dnn_scale: float = 1.0,
               seeds: int = 2, noise: float = 0.02, wiggle: float = 0.0) -> list:
    ns = np.asarray(cfg["ns"], dtype=float)
    rng = np.random.default_rng(0)
    runs = []
    shape = (len(cfg["targets"]), ns.size)

    def jitter() -> np.ndarray:
        return np.exp(noise * rng.standard_normal(shape))

    for _ in range(seeds):
        kernel = 0.05 * (ns / ns[0]) ** kernel_slope * jitter()
        zigzag = np.exp(wiggle * (-1.0) ** np.arange(ns.size))  # off a power law: a large SE
        dnn = dnn_scale * 0.05 * (ns / ns[0]) ** dnn_slope * zigzag * jitter()
        runs.append(({"n": ns.astype(int), "mse_dnn": dnn, "mse_kernel": kernel,
                      "mse_gaussian": kernel, "mse_laplace": 1.5 * kernel,
                      "pred_dnn_largest": np.zeros((len(cfg["targets"]), int(cfg["n_test"])))},
                     {}))
    return runs


def test_verdicts_follow_the_numbers() -> None:
    cfg = experiment_section(load_config(), a4.ID)
    win = a4.summarize(cfg, _fake_runs(cfg, -1.2, -0.9))
    assert all(c["passed"] for c in win["claims"])
    assert win["claims"][0]["measured"] == pytest.approx(0.3, abs=0.05)
    # Equal slopes: not steeper, whatever the level.
    tie = a4.summarize(cfg, _fake_runs(cfg, -0.9, -0.9, dnn_scale=0.5))
    assert not any(c["passed"] for c in tie["claims"])
    # Steeper, but still above the kernel at the largest n: fails on the second condition.
    high = a4.summarize(cfg, _fake_runs(cfg, -1.0, -0.9, dnn_scale=2.0))
    assert all(c["measured"] > c["expected"] for c in high["claims"])
    assert not any(c["passed"] for c in high["claims"])
    # Steeper by 0.1 and lower, but the net's points zigzag around their line: the slope's
    # standard error exceeds the difference, so it is no win.
    noisy = a4.summarize(cfg, _fake_runs(cfg, -1.0, -0.9, dnn_scale=0.5, wiggle=0.3))
    for claim in noisy["claims"]:
        assert 0.05 < claim["measured"] < claim["expected"]
        assert claim["passed"] is False


def test_one_seed_summary_has_no_nan() -> None:
    cfg = experiment_section(load_config(), a4.ID)
    one = a4.summarize(cfg, _fake_runs(cfg, -1.2, -0.9, seeds=1))
    assert not a4.POOLED_ONLY
    assert all(c["passed"] for c in one["claims"])
    assert one["series"]["mse_dnn_bumps_sd"] == [None] * len(cfg["ns"])
    assert all(np.isfinite(c["expected"]) for c in one["claims"])


def test_sections_satisfy_the_schema() -> None:
    section_schema = config.schema()["properties"]["experiments"]["properties"][a4.ID]
    for preset in ("default", "tiny", "full"):
        section = experiment_section(load_config(preset), a4.ID)
        jsonschema.validate(section, section_schema)
        a4.check(section)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**experiment_section(load_config(), a4.ID), "targets": ["sine"]},
                            section_schema)


@pytest.mark.parametrize(("key", "value", "match"), [
    ("ns", [40, 80], r"ns: need at least 3"),
    ("ns", [80, 40, 160], r"ns: need at least 3 strictly increasing"),
    ("val_frac", 0.01, r"val_frac: n = 40 splits into 40 training and 0 validation"),
])
def test_check_names_the_bad_key(tiny: dict, key: str, value: object, match: str) -> None:
    cfg = copy.deepcopy(tiny)
    cfg[key] = value
    with pytest.raises(ConfigError, match=r"experiments\.adaptivity_besov\." + match):
        a4.check(cfg)


def test_data_are_nested_and_per_target(tiny: dict) -> None:
    whole = a4.generate(tiny, 1)
    fewer = a4.generate({**tiny, "targets": ["jumps"]}, 1)
    np.testing.assert_array_equal(whole["y_train_jumps"], fewer["y_train_jumps"])
    smaller = a4.generate({**tiny, "ns": tiny["ns"][:2]}, 1)
    k = len(smaller["x_train"])
    np.testing.assert_array_equal(whole["x_train"][:k], smaller["x_train"])

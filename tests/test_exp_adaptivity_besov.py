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
                                                    for t in tiny["targets"]] + [
        "A4.nets_converged"]
    # Each net was kept at a held-out check: the steps are checks, and every curve is finite.
    assert len(s["val_steps"]) == tiny["val_checks"] + 1 and s["val_steps"][-1] == tiny["steps"]
    for name in tiny["targets"]:
        assert all(0 <= t <= tiny["steps"] for t in s[f"best_step_{name}"])
        assert np.all(np.isfinite(s[f"val_curve_{name}"]))
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


def _curve(steps: np.ndarray, power: float) -> np.ndarray:
    """A held-out MSE curve ``0.01 (1 + t)^-power``: power 0 is flat, 0.5 still falls about
    12% over the last 20% of the steps."""
    return 0.01 * (1.0 + steps) ** -power


def _fake_runs(cfg: dict, dnn_slope: float, kernel_slope: float, dnn_scale: float = 1.0,
               seeds: int = 2, noise: float = 0.02, wiggle: float = 0.0,
               curve_power: float = 0.0) -> list:
    ns = np.asarray(cfg["ns"], dtype=float)
    val_steps = np.arange(0, int(cfg["steps"]) + 1, a4._val_every(cfg))
    curves = np.broadcast_to(_curve(val_steps, curve_power),
                             (len(cfg["targets"]), ns.size, val_steps.size))
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
                      "pred_dnn_largest": np.zeros((len(cfg["targets"]), int(cfg["n_test"]))),
                      "val_steps": val_steps, "val_curve": curves,
                      "best_step": np.full(shape, 0.9 * val_steps[-1])},
                     {}))
    return runs


def _beats(metrics: dict) -> list[dict]:
    return [c for c in metrics["claims"] if "dnn_beats_kernel" in c["id"]]


def _converged(metrics: dict) -> dict:
    (claim,) = [c for c in metrics["claims"] if c["id"] == "A4.nets_converged"]
    return claim


def test_verdicts_follow_the_numbers() -> None:
    cfg = experiment_section(load_config(), a4.ID)
    win = a4.summarize(cfg, _fake_runs(cfg, -1.2, -0.9))
    assert all(c["passed"] for c in win["claims"])
    assert [c["id"] for c in win["claims"]] == [
        f"A4.dnn_beats_kernel_{t}" for t in cfg["targets"]] + ["A4.nets_converged"]
    assert win["claims"][0]["measured"] == pytest.approx(0.3, abs=0.05)
    # Equal slopes: not steeper, whatever the level.
    tie = a4.summarize(cfg, _fake_runs(cfg, -0.9, -0.9, dnn_scale=0.5))
    assert not any(c["passed"] for c in _beats(tie))
    # Steeper, but still above the kernel at the largest n: fails on the second condition.
    high = a4.summarize(cfg, _fake_runs(cfg, -1.0, -0.9, dnn_scale=2.0))
    assert all(c["measured"] > c["expected"] for c in _beats(high))
    assert not any(c["passed"] for c in _beats(high))
    # Steeper by 0.1 and lower, but the net's points zigzag around their line: the slope's
    # standard error exceeds the difference, so it is no win.
    noisy = a4.summarize(cfg, _fake_runs(cfg, -1.0, -0.9, dnn_scale=0.5, wiggle=0.3))
    for claim in _beats(noisy):
        assert 0.05 < claim["measured"] < claim["expected"]
        assert claim["passed"] is False


def test_converged_claim_fails_a_still_falling_curve() -> None:
    """A flat held-out curve passes; one still falling ~11% over the last 20% of the steps
    (power 0.5) fails at the 2% tolerance; the fall is measured from the first check at 80%."""
    cfg = experiment_section(load_config(), a4.ID)
    flat = _converged(a4.summarize(cfg, _fake_runs(cfg, -1.2, -0.9)))
    assert flat["passed"] and flat["measured"] == pytest.approx(0.0, abs=1e-12)
    assert flat["relation"] == "<=" and flat["expected"] == cfg["flat_tol"]
    assert flat["context"]["best_step_median"] == pytest.approx(0.9)
    assert flat["context"]["window"] == 0.2 and flat["context"]["steps"] == cfg["steps"]
    falling = _converged(a4.summarize(cfg, _fake_runs(cfg, -1.2, -0.9, curve_power=0.5)))
    steps = np.arange(0, int(cfg["steps"]) + 1, a4._val_every(cfg))
    start = int(np.searchsorted(steps, 0.8 * steps[-1]))
    want = _curve(steps[start], 0.5) / _curve(steps[-1], 0.5) - 1.0
    assert falling["measured"] == pytest.approx(want, rel=1e-9) and 0.05 < want < 0.2
    assert falling["passed"] is False
    # The beat claims do not depend on the curves.
    assert [c["passed"] for c in _beats(a4.summarize(cfg, _fake_runs(cfg, -1.2, -0.9,
                                                                       curve_power=0.5)))] == [
        True] * len(cfg["targets"])
    # The worst (target, n) decides: one falling curve among flat ones fails.
    runs = _fake_runs(cfg, -1.2, -0.9)
    for arrays, _ in runs:
        arrays["val_curve"] = np.array(arrays["val_curve"])
        arrays["val_curve"][1, 2] = _curve(steps, 0.5)
    one_bad = _converged(a4.summarize(cfg, runs))
    assert one_bad["passed"] is False and one_bad["context"]["worst_n"] == cfg["ns"][2]


def test_converged_boundary_is_inclusive() -> None:
    """A fall exactly at the tolerance passes (``<=``), just above fails: binary-exact numbers."""
    cfg = {**experiment_section(load_config(), a4.ID), "flat_tol": 0.25}
    steps = np.arange(0, int(cfg["steps"]) + 1, a4._val_every(cfg))
    start = int(np.searchsorted(steps, 0.8 * steps[-1]))
    for top, passed in ((1.25, True), (1.25 + 2.0 ** -20, False)):
        curve = np.ones(steps.size)
        curve[start] = top
        runs = _fake_runs(cfg, -1.2, -0.9)
        for arrays, _ in runs:
            arrays["val_curve"] = np.broadcast_to(curve, np.shape(arrays["val_curve"]))
        claim = _converged(a4.summarize(cfg, runs))
        assert claim["measured"] == top - 1.0 and claim["passed"] is passed
    # Only checks from 80% of the steps on count: a fall before the window is no fall.
    curve = np.ones(steps.size)
    curve[start - 1] = 10.0
    assert a4.held_out_fall(steps, curve) == 0.0


def test_beat_boundaries_are_strict(monkeypatch: pytest.MonkeyPatch) -> None:
    """Steeper by exactly the combined standard error is not steeper (``>``); an error equal to
    the kernel's at the largest n is not lower (``<``)."""
    cfg = experiment_section(load_config(), a4.ID)
    runs = _fake_runs(cfg, -1.2, -0.9, seeds=1, noise=0.0)
    for arrays, _ in runs:
        arrays["mse_dnn"] = np.full_like(arrays["mse_dnn"], 0.001)
        arrays["mse_kernel"] = np.full_like(arrays["mse_kernel"], 0.002)
    # Binary-exact slopes: gap 1 - 0.375 = 0.625 = hypot(0.375, 0.5).
    fits = {0.001: (-1.0, 0.375), 0.002: (-0.375, 0.5)}
    for kernel_se, passed in ((0.5, False), (0.5 - 2.0 ** -20, True)):
        fits[0.002] = (-0.375, kernel_se)
        monkeypatch.setattr(a4, "loglog_fit", lambda n, m: fits.get(float(m[0]), (-0.5, 0.1)))
        for claim in _beats(a4.summarize(cfg, runs)):
            assert claim["measured"] == 0.625 and claim["passed"] is passed
    monkeypatch.undo()
    # Steeper, and equal (not lower) at the largest n: the net's curve pivots on its last point.
    ns = np.asarray(cfg["ns"], dtype=float)
    for lower, passed in ((1.0, False), (1.0 - 2.0 ** -20, True)):
        runs = _fake_runs(cfg, -0.9, -0.9, seeds=2)
        for arrays, _ in runs:
            arrays["mse_dnn"] = arrays["mse_kernel"] * (ns / ns[-1]) ** -0.5 * lower
        for claim in _beats(a4.summarize(cfg, runs)):
            assert claim["measured"] == pytest.approx(0.5) and claim["passed"] is passed
            # The detail says which of the two conditions held, in the words the report shows.
            assert ": steeper)" in claim["detail"]
            assert ("(lower)" if passed else "(not lower)") in claim["detail"]


def test_crossing_n_follows_the_rates() -> None:
    """At the theory's exponents the errors meet where ratio * (n / n_max)^(a - b) = 1."""
    a, b = besov.minimax_exponent(1.0), besov.linear_exponent(1.0, 1.0)
    n = a4.crossing_n(1600.0, 2.0, a, b)
    assert n == pytest.approx(1600.0 * 2.0 ** 6)
    assert 2.0 * (n / 1600.0) ** (a - b) == pytest.approx(1.0)
    assert a4.crossing_n(1600.0, 0.5, a, b) == 1600.0
    assert a4.crossing_n(1600.0, 1.0, a, b) == 1600.0
    cfg = experiment_section(load_config(), a4.ID)
    high = a4.summarize(cfg, _fake_runs(cfg, -1.0, -0.9, dnn_scale=2.0, noise=0.0))
    for claim in _beats(high):
        ctx = claim["context"]
        assert ctx["n_cross"] == pytest.approx(a4.crossing_n(
            ctx["n_max"], ctx["mse_dnn"] / ctx["mse_kernel"], ctx["slope_minimax"],
            ctx["slope_linear"]))
        assert ctx["n_cross"] > ctx["n_max"] and ctx["class_p"] < 2


def test_seed_spreads_and_the_single_seed_branch() -> None:
    """Two or three seeds give the sample sd (ddof 1) per n; one seed gives None, and its
    verdicts are those of the same numbers pooled (pipeline.run_metrics' per-seed call)."""
    cfg = experiment_section(load_config(), a4.ID)
    for seeds in (2, 3):
        runs = _fake_runs(cfg, -1.2, -0.9, seeds=seeds, noise=0.1)
        s = a4.summarize(cfg, runs)["series"]
        per_seed = np.stack([a["mse_dnn"][0] for a, _ in runs])
        np.testing.assert_allclose(s["mse_dnn_bumps_sd"], per_seed.std(axis=0, ddof=1))
        np.testing.assert_allclose(s["mse_dnn_bumps"], per_seed.mean(axis=0))
    runs = _fake_runs(cfg, -1.2, -0.9, seeds=2, noise=0.1)
    for run in runs:
        one = a4.summarize(cfg, [run])
        assert one["series"]["mse_kernel_jumps_sd"] == [None] * len(cfg["ns"])
        np.testing.assert_allclose(one["series"]["mse_dnn_jumps"], run[0]["mse_dnn"][1])
        assert all(isinstance(c["passed"], bool) and np.isfinite(c["measured"])
                   for c in one["claims"])


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
    ("val_checks", 301, r"val_checks: 301 checks need at least as many steps"),
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

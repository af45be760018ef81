"""C2 ck_ridge_after_step: the tiny preset end to end, verdicts that can fail, the checks."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from companion.config import ConfigError
from companion.experiments import ck_ridge_after_step as c2
from companion.theory import one_step as theory

from experiment_helpers import run_tiny, tiny_section


@pytest.fixture(scope="module")
def tiny() -> dict:
    return tiny_section(c2)


def test_tiny_preset_end_to_end(tiny: dict, tmp_path) -> None:
    metrics = run_tiny(c2, tiny, tmp_path)
    s = metrics["series"]
    assert [c["id"] for c in metrics["claims"]] == ["C2.step_beats_init", "C2.ge_tracks_ck",
                                                    "C2.large_step_below_floor"]
    for key in ("alpha", "eta", "risk_ck1", "risk_ge1"):
        assert len(s[key]) == len(tiny["alphas"]), key
    assert s["level_nonlinear"] == pytest.approx(theory.moments(tiny["target"]).nonlinear)
    # Every model beats predicting 0, whose risk is ||f*||^2.
    assert max(s["risk_ck1"] + s["risk_ck0"]) < s["target_energy"]


def _runs(cfg: dict, ck0: float = 0.08, ge_gap: float = 0.0, last: str | None = None,
          seeds: int = 1):
    """Synthetic runs: CK risks falling from below ck0 to ``last`` (default: half the level)."""
    alphas = np.asarray(cfg["alphas"], dtype=float)
    level = theory.moments(cfg["target"]).nonlinear
    end = {None: 0.5 * level, "just above": 1.01 * level}[last]
    ck1 = np.linspace(0.9 * ck0, end, alphas.size)
    arrays = {"alpha": alphas, "eta": 768.0 ** alphas, "risk_ck1": ck1,
              "risk_ge1": ck1 * (1.0 + ge_gap), "risk_ck0": np.array([ck0]),
              "risk_ge0": np.array([ck0 * (1.0 + ge_gap)])}
    return [(arrays, {})] * seeds


@pytest.mark.parametrize(("kwargs", "passes"), [
    ({}, (True, True, True)),
    ({"ge_gap": 0.09}, (True, True, True)),
    ({"ge_gap": -0.11}, (True, False, True)),
    ({"ck0": 0.01}, (False, True, True)),  # the first step does not beat the initial risk
    ({"last": "just above"}, (True, True, False)),
])
def test_verdicts_follow_the_thresholds(tiny: dict, kwargs: dict, passes: tuple) -> None:
    summary = c2.summarize(tiny, _runs(tiny, **kwargs))
    assert tuple(c["passed"] for c in summary["claims"]) == passes


def test_summarize_on_one_seed_and_on_several(tiny: dict) -> None:
    assert c2.summarize(tiny, _runs(tiny))["series"]["risk_ck1_se"] == [None] * 2
    assert c2.summarize(tiny, _runs(tiny, seeds=2))["series"]["risk_ck1_se"] == [0.0, 0.0]
    assert c2.POOLED_ONLY == {}


def test_nonfinite_risks_fail_without_crashing(tiny: dict) -> None:
    runs = _runs(tiny)
    runs[0][0]["risk_ck1"] = runs[0][0]["risk_ck1"] * np.nan
    assert not any(c["passed"] for c in c2.summarize(tiny, runs)["claims"][::2])


@pytest.mark.parametrize(("change", "match"), [
    ({"alphas": [0.1, 0.5]}, "must contain 0"),
    ({"alphas": [0.0, 0.25]}, "must contain 0"),
    ({"lambda_min": 10.0, "lambda_max": 1.0}, "lambda_min: must be below"),
])
def test_check_rejects_bad_values(tiny: dict, change: dict, match: str) -> None:
    cfg = copy.deepcopy(tiny)
    cfg.update(change)
    with pytest.raises(ConfigError, match=match):
        c2.check(cfg)


def test_memory_estimate_grows_with_the_test_set(tiny: dict) -> None:
    small = c2.peak_memory_mb(tiny)["train"][0]
    big, key = c2.peak_memory_mb({**tiny, "n_test": 1_000_000})["train"]
    assert big > 10 * small and key == "n_test"

"""B7 ntk_spectrum_spectral_bias: the tiny preset end to end, the verdicts on synthetic runs, and
the configuration checks."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from companion import config
from companion.config import ConfigError, load_config
from companion.experiments import ntk_spectrum_spectral_bias as b7
from companion.theory import ntk as theory

from experiment_helpers import run_tiny, tiny_section

CLAIMS = ["B7.decay_exponent", "B7.odd_degrees_vanish", "B7.empirical_spectrum",
          "B7.learned_in_degree_order", "B7.fit_times_match_eigenvalues"]


@pytest.fixture(scope="module")
def tiny() -> dict:
    return tiny_section(b7)


def test_tiny_preset_end_to_end(tiny: dict, tmp_path) -> None:
    metrics = run_tiny(b7, tiny, tmp_path)
    s = metrics["series"]
    assert s["degree"] == list(range(tiny["max_degree"] + 1))
    assert len(s["mu"]) == len(s["degree"]) and len(s["fitted_exponent"]) == 1
    assert len(s["block_empirical"]) == len(tiny["spectrum_degrees"])
    for k in tiny["target_degrees"]:
        assert len(s[f"coef_{k}"]) == len(s["bias_step"]) == len(s[f"coef_kernel_{k}"])
        assert abs(s[f"coef_{k}"][0] - 1.0) < 1e-3  # symmetric start: nothing fitted at t = 0
    assert [c["id"] for c in metrics["claims"]] == CLAIMS
    assert all(isinstance(c["detail"], str) for c in metrics["claims"])


def _synthetic_run(cfg: dict, order=None):
    """A run file with exact (1 - lr mu_k)^t component curves and the exact spectrum."""
    d = cfg["d"]
    lr = 2.0
    steps = np.unique(np.round(np.geomspace(1, 4000, 60))).astype(int)
    steps = np.concatenate([[0], steps])
    targets = cfg["target_degrees"]
    mu = theory.relu_ntk_eigenvalues(d, np.arange(cfg["max_degree"] + 1))
    curves = np.stack([(1 - lr * mu[k]) ** steps for k in (order or targets)], axis=1)
    spectrum, _ = theory.spectrum_with_multiplicity(d, mu, np.arange(cfg["max_degree"] + 1))
    spectrum = spectrum[: cfg["n_gram"]]
    arrays = {"spectrum_empirical": spectrum, "spectrum_infinite": spectrum, "steps": steps,
              "coef": curves[:, None, :], "coef_kernel": curves,
              "train_loss": np.zeros((steps.size, 1))}
    return arrays, {"lr": lr, "lam_max_train": 0.2, "n_gram": cfg["n_gram"]}


def test_verdicts_follow_the_numbers(tiny: dict) -> None:
    cfg = {**tiny, "target_degrees": [1, 2, 4], "max_degree": 40}
    good = b7.summarize(cfg, [_synthetic_run(cfg)])
    passed = {c["id"]: c["passed"] for c in good["claims"]}
    assert passed["B7.odd_degrees_vanish"] and passed["B7.empirical_spectrum"]
    assert passed["B7.learned_in_degree_order"] and passed["B7.fit_times_match_eigenvalues"]
    assert good["claims"][0]["measured"] == pytest.approx(
        -np.polyfit(np.log([1, *range(2, 41, 2)]),
                    np.log(theory.relu_ntk_eigenvalues(5, [1, *range(2, 41, 2)])), 1)[0])
    # Components learned out of order fail both timing claims.
    bad = b7.summarize(cfg, [_synthetic_run(cfg, order=[2, 1, 4])])
    passed = {c["id"]: c["passed"] for c in bad["claims"]}
    assert not passed["B7.learned_in_degree_order"]
    assert not passed["B7.fit_times_match_eigenvalues"]
    # A spectrum off by 30% in one block fails the spectrum claim.
    arrays, scalars = _synthetic_run(cfg)
    arrays["spectrum_empirical"] = arrays["spectrum_empirical"] * np.where(
        np.arange(arrays["spectrum_empirical"].size) < 1, 1.3, 1.0)
    assert not {c["id"]: c["passed"] for c in b7.summarize(cfg, [(arrays, scalars)])["claims"]}[
        "B7.empirical_spectrum"]


def test_check_and_schema(tiny: dict) -> None:
    with pytest.raises(ConfigError, match=r"ntk_spectrum_spectral_bias\.target_degrees"):
        b7.check({**tiny, "target_degrees": [1, 3]})
    with pytest.raises(ConfigError, match=r"ntk_spectrum_spectral_bias\.n_gram"):
        b7.check({**tiny, "n_gram": 30, "spectrum_degrees": [0, 1, 2]})
    with pytest.raises(ConfigError, match=r"ntk_spectrum_spectral_bias\.width"):
        b7.check({**tiny, "width": 255})
    full = load_config("tiny")
    broken = copy.deepcopy(full)
    broken["experiments"][b7.ID]["d"] = 2
    with pytest.raises(ConfigError, match="d"):
        config.validate(broken)
    broken = copy.deepcopy(full)
    broken["experiments"][b7.ID]["degree"] = 3
    with pytest.raises(ConfigError, match="unknown key"):
        config.validate(broken)

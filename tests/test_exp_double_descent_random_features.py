"""B2 double_descent_random_features: the tiny preset end to end, the fits against plain NumPy,
the verdicts on synthetic runs (each claim's mutant fails), and the configuration checks."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from companion.config import ConfigError, experiment_section, load_config
from companion.experiments import double_descent_random_features as b2

from experiment_helpers import run_tiny, tiny_section

SERIES = ("ratio", "N", "risk_ridgeless", "risk_ridge", "risk_theory_ridgeless",
          "risk_theory_ridge", "condition_number")


@pytest.fixture(scope="module")
def tiny() -> dict:
    return tiny_section(b2)


def test_tiny_preset_end_to_end(tiny: dict, tmp_path) -> None:
    metrics = run_tiny(b2, tiny, tmp_path)
    s = metrics["series"]
    for key in SERIES:
        assert len(s[key]) == len(tiny["ratios"]), key
    assert [c["id"] for c in metrics["claims"]] == [
        "B2.ridgeless_peak_at_threshold", "B2.ridge_removes_peak", "B2.ridgeless_matches_theory",
        "B2.ridge_matches_theory"]
    # Tuned ridge never does worse than the ridgeless fit by much (it can choose a tiny penalty).
    assert np.all(np.asarray(s["risk_ridge"]) < 1.1 * np.asarray(s["risk_ridgeless"]))
    # Z is worst conditioned next to N = n.
    cond, ratio = np.asarray(s["condition_number"]), np.asarray(s["ratio"])
    assert abs(np.log(ratio[np.argmax(cond)])) < 0.2


def test_fit_is_the_pseudo_inverse_and_ridge_tends_to_it(tiny: dict) -> None:
    cfg = {**tiny, "lambdas": [1e-9, 1.0]}
    for m in (18, 90):  # below and above the threshold (n = 60)
        fit = b2.fit_data_set(cfg, m, stream=7)
        assert fit["risk_grid"][0] == pytest.approx(fit["risk_ridgeless"], rel=1e-4)
        assert fit["risk_grid"][1] != pytest.approx(fit["risk_ridgeless"], rel=1e-2)
        assert fit["condition_number"] >= 1.0


def test_condition_number_is_that_of_the_feature_matrix(tiny: dict) -> None:
    rng = np.random.default_rng(7)
    b2._target(rng, tiny["d"], tiny["f1_sq"], tiny["fstar_sq"])
    theta = b2.sphere(rng, 54, tiny["d"])
    x = b2.sphere(rng, tiny["n"], tiny["d"])
    expected = np.linalg.cond(b2._relu_features(x, theta))
    assert b2.fit_data_set(tiny, 54, stream=7)["condition_number"] == pytest.approx(expected,
                                                                                    rel=1e-8)


def _fake_runs(cfg: dict, scale: float = 1.0, peak_at: float | None = None,
               ridge_bump: float = 0.0, sets: int = 8) -> list:
    """Runs scattering (3%) around the asymptotic curves, optionally distorted."""
    counts = b2._features(cfg)
    ratios = counts / int(cfg["n"])
    curves = b2.theory_curves(cfg, ratios)
    ridgeless = scale * curves["ridgeless"]
    if peak_at is not None:  # a ridgeless curve whose maximum sits elsewhere
        ridgeless = ridgeless + 5 * ridgeless.max() * np.exp(-np.log(ratios / peak_at) ** 2 / 0.01)
    ridge = curves["ridge"] + ridge_bump * np.exp(-np.log(ratios) ** 2 / 0.01)
    rng = np.random.default_rng(0)
    runs = []
    for _ in cfg["seeds"]:
        def noisy(v):
            return v[:, None] * (1 + 0.03 * rng.standard_normal((len(v), sets)))
        arrays = {"ratio": ratios, "N": counts, "risk_ridgeless": noisy(ridgeless),
                  "risk_ridge": noisy(ridge), "lam_selected": np.full((len(ratios), sets), 0.1),
                  "condition_number": np.full((len(ratios), sets), 10.0)}
        runs.append((arrays, {}))
    return runs


def _verdicts(summary: dict) -> dict[str, bool]:
    return {c["id"]: c["passed"] for c in summary["claims"]}


def test_verdicts_follow_the_numbers() -> None:
    cfg = experiment_section(load_config(), b2.ID)
    good = _verdicts(b2.summarize(cfg, _fake_runs(cfg)))
    assert all(good.values()), good
    off = _verdicts(b2.summarize(cfg, _fake_runs(cfg, scale=1.25)))
    assert not off["B2.ridgeless_matches_theory"] and off["B2.ridgeless_peak_at_threshold"]
    shifted = _verdicts(b2.summarize(cfg, _fake_runs(cfg, peak_at=2.0)))
    assert not shifted["B2.ridgeless_peak_at_threshold"]
    peaked = b2.summarize(cfg, _fake_runs(cfg, ridge_bump=0.3))
    assert not _verdicts(peaked)["B2.ridge_removes_peak"]
    assert not _verdicts(peaked)["B2.ridge_matches_theory"]
    # One seed alone still decides every claim.
    single = b2.summarize(cfg, _fake_runs(cfg)[:1])
    assert all(isinstance(c["passed"], bool) for c in single["claims"])


@pytest.mark.parametrize(("change", "message"), [
    ({"ratios": [0.5, 1.0, 2.0]}, "N = n"),
    ({"ratios": [0.5, 0.501, 2.0]}, "same N"),
    ({"ratios": [0.5, 2.0]}, "inside peak_window"),
    ({"ratios": [0.9, 1.1]}, "outside peak_window"),
    ({"peak_window": [1.1, 1.3]}, "lo < 1 < hi"),
    ({"ratios": [0.001, 0.9, 2.0]}, ">= 1"),
])
def test_check_rejects(tiny: dict, change: dict, message: str) -> None:
    cfg = copy.deepcopy(tiny)
    cfg.update(change)
    with pytest.raises(ConfigError, match=message):
        b2.check(cfg)

"""C1 one_step_spike: the tiny preset end to end, the rank-one gradient, verdicts that can fail,
and the configuration checks."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from companion.config import ConfigError
from companion.experiments import one_step_spike as c1
from companion.nn.one_step import first_step
from companion.theory import one_step as theory

from experiment_helpers import run_tiny, tiny_section


@pytest.fixture(scope="module")
def tiny() -> dict:
    return tiny_section(c1)


def test_tiny_preset_end_to_end(tiny: dict, tmp_path) -> None:
    metrics = run_tiny(c1, tiny, tmp_path)
    s = metrics["series"]
    for key in ("eta", "theta1", "alignment", "alignment_theory", "sigma1", "sigma1_theory"):
        assert len(s[key]) == len(tiny["etas"]), key
    assert [c["id"] for c in metrics["claims"]] == ["C1.alignment_matches_limit",
                                                    "C1.sigma1_matches_limit"]
    d, _, width = c1.sizes(tiny)
    assert len(s["singular_values"][0]) == min(d, width)
    # Below the threshold nothing leaves the bulk; above it the outlier does.
    above = np.asarray(s["above_threshold"], dtype=bool)
    assert above.any() and (~above).any()
    sigma1 = np.asarray(s["sigma1"])
    assert np.all(sigma1[~above] < 1.02 * s["mp_edge"])
    assert np.all(sigma1[above] > 1.1 * s["mp_edge"])


def test_first_gradient_is_almost_rank_one_and_points_at_the_index(tiny: dict) -> None:
    cfg = {**tiny, "d": 200}
    data = c1.generate(cfg, 3)
    d, n, width = c1.sizes(cfg)
    _, grad = first_step(d, n, width, cfg["activation"], cfg["target"], data["beta_star"],
                         data["streams"], "cpu")
    u, sv, _ = torch.linalg.svd(grad, full_matrices=False)
    assert sv[1] / sv[0] < 0.15
    # Its left factor is X^T y / n, whose cosine^2 with beta* is mu1*^2 / (mu1*^2 + mubar^2/psi1).
    tgt = theory.moments(cfg["target"])
    expected = tgt.mu1**2 / (tgt.mu1**2 + tgt.second / cfg["psi1"])
    beta = torch.as_tensor(data["beta_star"])
    assert float((u[:, 0] @ beta) ** 2) == pytest.approx(expected, abs=0.1)


def _synthetic_runs(cfg: dict, alignment_shift: float = 0.0, sigma1_factor: float = 1.0,
                    below_alignment: float = 0.0, seeds: int = 1):
    """Runs whose measurements sit exactly on the limits, then moved by the given amounts."""
    psi1, psi2 = c1.realised_ratios(cfg)
    etas = np.asarray(cfg["etas"], dtype=float)
    t1, t2 = theory.thetas(etas, cfg["activation"], cfg["target"], psi1)
    above = t1 > theory.threshold(psi2)
    align = theory.alignment_limit(t1, t2, psi2) + np.where(above, alignment_shift,
                                                             below_alignment)
    sigma1 = theory.sigma1_limit(t1, psi2) * sigma1_factor
    arrays = {"eta": etas, "alignment": align, "sigma1": sigma1, "sigma2": 0.0 * sigma1 + 2.0,
              "singular_values": np.tile(np.linspace(0.2, 2.2, 8), (etas.size, 1))}
    return [(arrays, {"grad_sv_ratio": 0.03})] * seeds


@pytest.mark.parametrize(("kwargs", "passes"), [
    ({}, (True, True)),
    ({"alignment_shift": 0.045}, (True, True)),
    ({"alignment_shift": -0.055}, (False, True)),
    ({"below_alignment": 0.06}, (False, True)),  # "no alignment below the threshold" is tested
    ({"sigma1_factor": 1.045}, (True, True)),
    ({"sigma1_factor": 0.94}, (True, False)),
])
def test_verdicts_follow_the_tolerances(tiny: dict, kwargs: dict, passes: tuple) -> None:
    cfg = {**tiny, "etas": [0.5, 1.0, 6.0, 10.0]}
    summary = c1.summarize(cfg, _synthetic_runs(cfg, **kwargs))
    assert tuple(c["passed"] for c in summary["claims"]) == passes


def test_summarize_on_one_seed_and_on_several(tiny: dict) -> None:
    one = c1.summarize(tiny, _synthetic_runs(tiny))
    assert one["series"]["alignment_se"] == [None] * len(tiny["etas"])
    two = c1.summarize(tiny, _synthetic_runs(tiny, seeds=2))
    assert all(v == 0.0 for v in two["series"]["alignment_se"])
    assert c1.POOLED_ONLY == {}


def test_nonfinite_measurements_fail_without_crashing(tiny: dict) -> None:
    runs = _synthetic_runs(tiny)
    runs[0][0]["alignment"] = runs[0][0]["alignment"] * np.nan
    summary = c1.summarize(tiny, runs)
    assert summary["claims"][0]["passed"] is False


@pytest.mark.parametrize(("change", "match"), [
    ({"etas": [0.5, 1.0]}, "both sides of the threshold"),
    ({"etas": [8.0, 10.0]}, "both sides of the threshold"),
    ({"etas": [1.0, 2.6, 6.0]}, r"\[2\.6\] lie within threshold_margin"),
    ({"psi2": 0.05, "d": 8}, "must round to >= 1"),
])
def test_check_rejects_bad_sweeps(tiny: dict, change: dict, match: str) -> None:
    cfg = copy.deepcopy(tiny)
    cfg.update(change)
    with pytest.raises(ConfigError, match=match):
        c1.check(cfg)


def test_memory_estimate_grows_with_d(tiny: dict) -> None:
    small = c1.peak_memory_mb(tiny)["train"][0]
    big, key = c1.peak_memory_mb({**tiny, "d": 8192})["train"]
    assert big > 10 * small and key in ("d", "psi1")

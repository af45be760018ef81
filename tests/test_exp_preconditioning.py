"""B5 preconditioning: the tiny preset end to end, the verdicts on synthetic runs (each claim's
mutant fails) and the configuration checks."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from companion.config import ConfigError, experiment_section, load_config
from companion.experiments import preconditioning as b5

from experiment_helpers import run_tiny, tiny_section

IDS = ["B5.ngd_variance_matches", "B5.ngd_variance_smallest", "B5.bias_order_isotropic",
       "B5.bias_order_misaligned"]


@pytest.fixture(scope="module")
def tiny() -> dict:
    return tiny_section(b5)


def test_tiny_preset_end_to_end(tiny: dict, tmp_path) -> None:
    metrics = run_tiny(b5, tiny, tmp_path)
    assert [c["id"] for c in metrics["claims"]] == IDS
    s = metrics["series"]
    assert np.all(np.asarray(s["variance_gd"]) > np.asarray(s["variance_ngd"]))


def _fake_runs(cfg: dict, ngd_scale: float = 1.0, swap_iso: bool = False,
               swap_mis: bool = False) -> list:
    data = b5.generate(cfg, 0)
    family = b5.preconditioners(cfg)
    gammas = data["gamma"]
    reps = 4
    limit = cfg["sigma2"] / (gammas - 1)
    runs = []
    for _ in cfg["seeds"]:
        shape = (len(gammas), len(family), reps)
        # Variance grows away from NGD (alpha = 1); isotropic bias grows with alpha, misaligned
        # bias falls with it.
        alpha = np.array([a for _, a in family])[None, :, None]
        var = limit[:, None, None] * (1 + 0.4 * (1 - alpha)) * np.ones(shape)
        ngd = family.index(("geometric", 1.0))
        var[:, ngd] *= ngd_scale
        iso = (0.3 + 0.1 * (alpha if not swap_iso else 1 - alpha)) * np.ones(shape)
        mis = (0.3 + 0.1 * ((1 - alpha) if not swap_mis else alpha)) * np.ones(shape)
        runs.append(({"gamma": gammas, "d": data["d"], "variance": var, "bias_isotropic": iso,
                      "bias_misaligned": mis}, {}))
    return runs


def _verdicts(cfg: dict, **kw) -> dict[str, bool]:
    return {c["id"]: c["passed"] for c in b5.summarize(cfg, _fake_runs(cfg, **kw))["claims"]}


def test_verdicts_follow_the_numbers() -> None:
    cfg = experiment_section(load_config(), b5.ID)
    assert all(_verdicts(cfg).values())
    assert not _verdicts(cfg, ngd_scale=1.15)["B5.ngd_variance_matches"]
    assert not _verdicts(cfg, ngd_scale=1.5)["B5.ngd_variance_smallest"]
    assert not _verdicts(cfg, swap_iso=True)["B5.bias_order_isotropic"]
    assert not _verdicts(cfg, swap_mis=True)["B5.bias_order_misaligned"]


@pytest.mark.parametrize(("change", "message"), [
    ({"gammas": [1.01, 2.0]}, "d <= n"),
    ({"alphas": [0.0, 0.5]}, "must contain 0"),
    ({"gammas": [2.0, 2.001]}, "same d"),
])
def test_check_rejects(tiny: dict, change: dict, message: str) -> None:
    cfg = copy.deepcopy(tiny)
    cfg.update(change)
    with pytest.raises(ConfigError, match=message):
        b5.check(cfg)

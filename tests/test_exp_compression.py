"""B4 compression: the tiny preset end to end, the verdicts on synthetic runs (each claim's mutant
fails) and the configuration checks."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from companion.config import ConfigError, experiment_section, load_config
from companion.experiments import compression as b4

from experiment_helpers import run_tiny, tiny_section


@pytest.fixture(scope="module")
def tiny() -> dict:
    return tiny_section(b4)


def test_tiny_preset_end_to_end(tiny: dict, tmp_path) -> None:
    metrics = run_tiny(b4, tiny, tmp_path)
    assert [c["id"] for c in metrics["claims"]] == ["B4.compressible_size_small",
                                                    "B4.accuracy_kept"]
    table = metrics["table"]
    assert table["columns"] == ["layer", "original", "compressible", "dof"]
    assert [r[0] for r in table["rows"]] == list(range(1, tiny["depth"] + 1))
    for _, original, kept, dof in table["rows"]:
        assert 1 <= kept <= original and dof <= kept  # kept = ceil(N(lambda)) <= width
    cov = np.asarray(metrics["series"]["cov_spectrum"])
    assert np.all(np.diff(cov, axis=1) <= 1e-12)  # eigenvalues in decreasing order


def _fake_runs(cfg: dict, kept_frac: float = 0.2, drop: float = 0.0) -> list:
    width, depth, nets = int(cfg["width"]), int(cfg["depth"]), 2
    runs = []
    for _ in cfg["seeds"]:
        kept = np.full((nets, depth), round(kept_frac * width), dtype=float)
        spectrum = np.tile(1.0 / np.arange(1, width + 1) ** 2, (nets, depth, 1))
        runs.append(({"kept": kept, "dof": kept - 0.5, "acc_before": np.full(nets, 0.95),
                      "acc_after": np.full(nets, 0.95 - drop), "train_loss": np.full(nets, 1e-3),
                      "cov_eigs": spectrum, "weight_svals": spectrum}, {}))
    return runs


def _verdicts(cfg: dict, **kw) -> dict[str, bool]:
    return {c["id"]: c["passed"] for c in b4.summarize(cfg, _fake_runs(cfg, **kw))["claims"]}


def test_verdicts_follow_the_numbers() -> None:
    cfg = experiment_section(load_config(), b4.ID)
    assert all(_verdicts(cfg).values())
    big = _verdicts(cfg, kept_frac=0.6)
    assert not big["B4.compressible_size_small"] and big["B4.accuracy_kept"]
    lossy = _verdicts(cfg, drop=0.02)
    assert not lossy["B4.accuracy_kept"] and lossy["B4.compressible_size_small"]
    assert _verdicts(cfg, drop=0.005)["B4.accuracy_kept"]


@pytest.mark.parametrize(("change", "message"), [
    ({"teacher_directions": 3, "d": 2}, "orthonormal"),
    ({"parameterisation": "mean_field", "depth": 2}, "mean_field"),
])
def test_check_rejects(tiny: dict, change: dict, message: str) -> None:
    cfg = copy.deepcopy(tiny)
    cfg.update(change)
    with pytest.raises(ConfigError, match=message):
        b4.check(cfg)

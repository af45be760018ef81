"""Per-seed verdicts: every claim decided again on each seed's runs alone by the experiment's own
summarize, or marked pooled-only with a reason."""

from __future__ import annotations

import sys
import types
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest

from companion import pipeline


def _fake_module(pooled_only: Mapping[str, str] | None = None,
                 drop_on_one_seed: bool = False) -> types.ModuleType:
    """An experiment whose claim 'mean_small' passes when the mean of the runs' values is
    below 1, and 'spread' needs two seeds."""
    module = types.ModuleType("fake_experiment")
    module.ID = "fake"

    def summarize(cfg: Mapping[str, Any],
                  runs: Sequence[tuple[Mapping[str, np.ndarray], Mapping[str, Any]]]) -> dict:
        values = np.asarray([r[0]["value"] for r in runs], dtype=float)
        mean = float(values.mean())
        claims = [{"id": "F.mean_small", "passed": bool(mean < 1.0), "measured": mean,
                   "expected": 1.0, "relation": "<"}]
        if not (drop_on_one_seed and len(runs) == 1):
            spread = float(values.std(ddof=1)) if len(runs) > 1 else float("nan")
            claims.append({"id": "F.spread", "passed": bool(spread < 1.0), "measured": spread,
                           "expected": 1.0, "relation": "<"})
        assert len(cfg["seeds"]) == len(runs)  # the section names the seeds it was given
        return {"claims": claims}

    module.summarize = summarize
    if pooled_only is not None:
        module.POOLED_ONLY = dict(pooled_only)
    return module


def _records(seeds: Sequence[int]) -> list[dict]:
    return [{"seed": seed} for seed in seeds]


def _runs(values: Sequence[float]) -> list[tuple[dict, dict]]:
    return [({"value": np.asarray(v)}, {}) for v in values]


def test_a_claim_passing_pooled_can_fail_on_one_seed() -> None:
    module = _fake_module(pooled_only={"F.spread": "a standard deviation over seeds"})
    runs = _runs([0.2, 0.4, 1.9])  # pooled mean 0.83 < 1, but seed 2 alone fails
    pooled = module.summarize({"seeds": [0, 1, 2]}, runs)["claims"]
    out = pipeline.per_seed_verdicts(module, {"seeds": [0, 1, 2]}, _records([0, 1, 2]), runs,
                                     pooled)
    assert pooled[0]["passed"]
    assert out["F.mean_small"]["per_seed"] == [
        {"seed": 0, "passed": True, "measured": 0.2},
        {"seed": 1, "passed": True, "measured": 0.4},
        {"seed": 2, "passed": False, "measured": 1.9},
    ]
    assert out["F.spread"] == {"per_seed": None,
                               "per_seed_reason": "a standard deviation over seeds"}


def test_a_claim_missing_on_one_seed_is_a_broken_contract() -> None:
    module = _fake_module(drop_on_one_seed=True)
    runs = _runs([0.2, 0.4])
    pooled = module.summarize({"seeds": [0, 1]}, runs)["claims"]
    with pytest.raises(ValueError, match="F.spread.*POOLED_ONLY"):
        pipeline.per_seed_verdicts(module, {"seeds": [0, 1]}, _records([0, 1]), runs, pooled)


def test_run_metrics_writes_per_seed_into_every_claim(tmp_path, monkeypatch) -> None:
    module = _fake_module(pooled_only={"F.spread": "needs two seeds"})
    module.CATALOG, module.PART = "F", 2
    monkeypatch.setitem(sys.modules, "companion.experiments.fake", module)
    monkeypatch.setattr(pipeline.experiments, "EXPERIMENTS",
                        (*pipeline.experiments.EXPERIMENTS, "fake"))
    paths = []
    for seed, value in enumerate([0.5, 3.0]):
        npz = tmp_path / f"seed{seed}.npz"
        pipeline.write_npz(npz, {"value": np.asarray(value)})
        pipeline.write_json(npz.with_suffix(".json"), {
            "seed": seed, "device": "cpu", "wall_s": 0.1, "versions": {}, "scalars": {}})
        paths.append(npz)
    metrics = pipeline.run_metrics("fake", {"seeds": [0, 1]}, paths, tmp_path / "m.json")
    by_id = {c["id"]: c for c in metrics["claims"]}
    assert [p["passed"] for p in by_id["F.mean_small"]["per_seed"]] == [True, False]
    assert by_id["F.spread"]["per_seed"] is None
    assert by_id["F.spread"]["per_seed_reason"] == "needs two seeds"

"""Every number, word and verdict of each experiment's metrics, pinned on fixed runs.

``tests/fixtures/tiny_runs/<id>/`` holds the real tiny-preset train outputs of each seed and the
metrics the metrics stage made of them (``python scripts/tiny_fixtures.py <id>`` writes both).
Here the metrics stage runs again on the stored runs, so training's randomness is out of the
picture and any change to ``summarize``, the per-seed pass or the theory they call shows up as a
changed value: a series entry, a claim's measured or expected value, its verdict, detail or
context, a table cell. The claim-level verdict tests of each experiment say whether a verdict is
right; this says that none moved unnoticed.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from companion import experiments, pipeline
from companion.io import read_json

RUNS = Path(__file__).parent / "fixtures" / "tiny_runs"


def differences(got: Any, want: Any, where: str = "") -> list[str]:
    """Where ``got`` and ``want`` (JSON values) differ; floats to 1e-9 relative."""
    if isinstance(want, dict) and isinstance(got, dict):
        out = ([f"{where}: keys {sorted(set(got) ^ set(want))} differ"]
               if set(got) != set(want) else [])
        for key in want.keys() & got.keys():
            out += differences(got[key], want[key], f"{where}.{key}")
        return out
    if isinstance(want, list) and isinstance(got, list):
        if len(got) != len(want):
            return [f"{where}: {len(got)} items, fixture has {len(want)}"]
        return [d for i, (g, w) in enumerate(zip(got, want, strict=True))
                for d in differences(g, w, f"{where}[{i}]")]
    if (isinstance(want, float) and isinstance(got, (int, float)) and not isinstance(got, bool)
            and not isinstance(want, bool)):
        return [] if math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12) else \
            [f"{where}: {got!r} != {want!r}"]
    if type(got) is not type(want) or got != want:
        return [f"{where}: {got!r} != {want!r}"]
    return []


def test_differences_sees_each_kind_of_change() -> None:
    base = {"a": [1.0, 2], "b": {"c": "x", "d": True}, "e": None}
    assert differences(base, base) == []
    assert differences({"a": [1.0 + 1e-12, 2], "b": {"c": "x", "d": True}, "e": None}, base) == []
    for changed in ({"a": [1.001, 2], "b": {"c": "x", "d": True}, "e": None},
                    {"a": [1.0, 3], "b": {"c": "x", "d": True}, "e": None},
                    {"a": [1.0], "b": {"c": "x", "d": True}, "e": None},
                    {"a": [1.0, 2], "b": {"c": "y", "d": True}, "e": None},
                    {"a": [1.0, 2], "b": {"c": "x", "d": False}, "e": None},
                    {"a": [1.0, 2], "b": {"c": "x", "d": 1}, "e": None},
                    {"a": [1.0, 2], "b": {"c": "x", "d": True}, "e": 0.0},
                    {"a": [1.0, 2], "b": {"C": "x", "d": True}, "e": None}):
        assert differences(changed, base), changed


@pytest.mark.parametrize("exp_id", experiments.EXPERIMENTS)
def test_metrics_of_stored_runs_are_pinned(exp_id: str, tmp_path: Path) -> None:
    folder = RUNS / exp_id
    want = read_json(folder / "metrics.json")
    runs = [folder / f"seed{seed}.npz" for seed in want["seeds"]]
    pipeline.run_metrics(exp_id, want["config"], runs, tmp_path / "metrics.json")
    got = read_json(tmp_path / "metrics.json")
    found = differences(got, want)
    assert not found, (f"{len(found)} values changed, e.g. " + "; ".join(found[:5]) +
                       f" — if meant, regenerate: python scripts/tiny_fixtures.py {exp_id}")

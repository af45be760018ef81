"""Running one experiment's tiny preset and checking what every experiment promises."""

from __future__ import annotations

import atexit
import json
import math
import shutil
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

from markupsafe import Markup

from companion import pipeline
from companion.config import experiment_section, load_config
from companion.io import read_json, read_npz
from companion.report import decision
from companion.report import text as textmod

RELATIONS = ("<=", ">=", "<", ">", "~=")


def tiny_section(module: ModuleType) -> dict[str, Any]:
    return experiment_section(load_config("tiny"), module.ID)


# The session's runs, by (experiment, section, languages): a pristine copy of each run's folder.
# Each experiment's tiny run is computed once per session, for its own tests and for the
# "try it" tests' baselines (tests/test_lecture.py).
_RUNS: dict[tuple[str, str, tuple[str, ...]], Path] = {}
_RUNS_ROOT: list[Path] = []


atexit.register(lambda: [shutil.rmtree(p, ignore_errors=True) for p in _RUNS_ROOT])


def _run_key(exp_id: str, section: dict[str, Any], langs: tuple[str, ...]
             ) -> tuple[str, str, tuple[str, ...]]:
    return exp_id, json.dumps(section, sort_keys=True, default=str), tuple(langs)


def cached_metrics(exp_id: str, section: dict[str, Any]) -> dict[str, Any] | None:
    """The metrics of a run of ``section`` made earlier in this session (any languages)."""
    for (e, cfg, _), folder in _RUNS.items():
        if (e, cfg) == _run_key(exp_id, section, ())[:2]:
            return read_json(folder / "metrics.json")
    return None


def _run_once(module: ModuleType, section: dict[str, Any], out: Path,
              langs: tuple[str, ...]) -> dict[str, Any]:
    """``pipeline.run_all`` into ``out``, or a copy of this session's earlier identical run."""
    key = _run_key(module.ID, section, langs)
    if key in _RUNS:
        shutil.copytree(_RUNS[key], out, dirs_exist_ok=True)
        return read_json(out / "metrics.json")
    metrics = pipeline.run_all(module.ID, section, section["seeds"], "cpu", 1, out, langs=langs)
    if not _RUNS_ROOT:
        _RUNS_ROOT.append(Path(tempfile.mkdtemp(prefix="tiny-runs-")))
    _RUNS[key] = _RUNS_ROOT[0] / f"{len(_RUNS)}-{module.ID}"
    shutil.copytree(out, _RUNS[key])
    return metrics


def run_tiny(module: ModuleType, section: dict[str, Any], out: Path,
             langs: tuple[str, ...] = ("ja", "en")) -> dict[str, Any]:
    """data -> train -> metrics -> figures at ``section`` (one thread, CPU), then the contract
    every metrics file keeps: claims with computed verdicts (pooled and per seed), a rectangular
    table, every figure drawn in every language, plain JSON. A run of the same section made
    earlier in the session is copied, not computed again; the checks run either way."""
    module.check(section)
    metrics = _run_once(module, section, Path(out), tuple(langs))
    assert metrics["claims"], module.ID
    # The tiny preset is a valid, finite run: a "diverged" here is a false alarm of the check.
    assert "divergence" not in metrics, metrics.get("divergence")
    assert not any(c.get("reason") == "diverged" for c in metrics["claims"]), module.ID
    for claim in metrics["claims"]:
        assert claim["id"].startswith(f"{module.CATALOG}."), claim["id"]
        assert isinstance(claim["passed"], bool), claim["id"]
        assert claim["relation"] in RELATIONS, claim["id"]
        assert math.isfinite(claim["measured"]) and math.isfinite(claim["expected"]), claim
        # Decided again on each seed alone, or a reason why it cannot be.
        if claim["per_seed"] is None:
            assert claim["per_seed_reason"].strip(), claim["id"]
        else:
            assert [p["seed"] for p in claim["per_seed"]] == list(section["seeds"]), claim["id"]
    # The pipeline wraps per-seed verdicts in bool(); what summarize itself returns on one seed
    # must already be a verdict (not a NumPy bool or a number) and agree with the record.
    seed = section["seeds"][0]
    run = out / "runs" / f"seed{seed}.npz"
    one = module.summarize(dict(section, seeds=[seed]),
                           [(read_npz(run), read_json(run.with_suffix(".json"))["scalars"])])
    recorded = {c["id"]: c["per_seed"] for c in metrics["claims"]}
    for claim in one["claims"]:
        assert isinstance(claim["passed"], bool), claim["id"]
        if recorded[claim["id"]] is not None:
            assert recorded[claim["id"]][0]["passed"] == claim["passed"], claim["id"]
    _check_decision_fields(module.ID, metrics["claims"], langs)
    table = metrics["table"]
    assert table["rows"] and all(len(r) == len(table["columns"]) for r in table["rows"])
    for lang in langs:
        for name in module.FIGURES:
            svg = out / "figures" / lang / f"{name}.svg"
            assert svg.stat().st_size > 1000 and svg.read_text().lstrip().startswith("<?xml")
    json.dumps(metrics, allow_nan=False)
    return metrics


def _is_context_value(value: Any) -> bool:
    if isinstance(value, list):
        return all(v is None or isinstance(v, (int, float)) for v in value)
    return value is None or isinstance(value, (bool, int, float))


def _check_decision_fields(exp_id: str, claims: list[dict[str, Any]],
                           langs: tuple[str, ...]) -> None:
    """The fields the report's decision line is written from: a tolerance (or interval) on every
    ``~=`` claim, a ``context`` of numbers, and a label for the quantity and for every context
    key in every language (``decision`` raises on a missing one)."""
    for claim in claims:
        if claim["relation"] == "~=":
            assert any(claim.get(k) is not None for k in ("tolerance", "tolerance_rel",
                                                           "interval")), claim["id"]
        assert claim.get("context"), claim["id"]
        assert all(_is_context_value(v) for v in claim["context"].values()), claim["id"]
    for lang in langs:
        own = textmod.load_experiment(lang, exp_id)
        shared = textmod.load_main(lang)["context"]
        for claim in claims:
            decision.quantity(claim["id"], own["quantities"], exp_id)
            decision.context_line(claim, own["context"], shared, "; ", lambda v: Markup(str(v)),
                                  exp_id)

"""Write the tiny-preset metrics and runs of every experiment as test fixtures.

``tiny_metrics/<id>.json`` (the metrics without their series): the ledger and metrics.tsv tests
render the report from these real metrics; a test fails when a module's claims drift from them.
``tiny_runs/<id>/``: the train outputs of each seed and the whole metrics the metrics stage made
of them; ``tests/test_summaries_pinned.py`` runs the metrics stage on those runs again and needs
every number, word and verdict back. Regenerate after changing what an experiment computes or
says (and read the diff: it is the change a reader of the report will see):

    python scripts/tiny_fixtures.py            # every experiment
    python scripts/tiny_fixtures.py gld_gibbs  # one
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from companion import experiments, pipeline
from companion.config import experiment_section, load_config

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "tiny_metrics"
RUNS = FIXTURES.parent / "tiny_runs"


def main(ids: list[str]) -> None:
    config = load_config("tiny")
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for exp_id in ids or list(experiments.EXPERIMENTS):
        section = experiment_section(config, exp_id)
        with tempfile.TemporaryDirectory() as tmp:
            metrics = pipeline.run_all(exp_id, section, section["seeds"], "cpu", 1, tmp)
            runs = RUNS / exp_id
            shutil.rmtree(runs, ignore_errors=True)
            runs.mkdir(parents=True)
            for seed in section["seeds"]:
                for suffix in (".npz", ".json"):
                    shutil.copy(Path(tmp) / "runs" / f"seed{seed}{suffix}", runs)
            shutil.copy(Path(tmp) / "metrics.json", runs / "metrics.json")
        metrics.pop("series", None)
        out = FIXTURES / f"{exp_id}.json"
        out.write_text(json.dumps(metrics, indent=1, ensure_ascii=False, allow_nan=False) + "\n",
                       encoding="utf-8")
        print(f"wrote {out.name}: {len(metrics['claims'])} claims")


if __name__ == "__main__":
    main(sys.argv[1:])

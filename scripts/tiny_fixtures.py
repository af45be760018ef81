"""Write the tiny-preset metrics of every experiment (without their series) as test fixtures.

The ledger and metrics.tsv tests render the report from these real metrics; a test fails when a
module's claims drift from its fixture. Regenerate after changing an experiment's claims:

    python scripts/tiny_fixtures.py            # every experiment
    python scripts/tiny_fixtures.py gld_gibbs  # one
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from companion import experiments, pipeline
from companion.config import experiment_section, load_config

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "tiny_metrics"


def main(ids: list[str]) -> None:
    config = load_config("tiny")
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for exp_id in ids or list(experiments.EXPERIMENTS):
        section = experiment_section(config, exp_id)
        with tempfile.TemporaryDirectory() as tmp:
            metrics = pipeline.run_all(exp_id, section, section["seeds"], "cpu", 1, tmp)
        metrics.pop("series", None)
        out = FIXTURES / f"{exp_id}.json"
        out.write_text(json.dumps(metrics, indent=1, ensure_ascii=False, allow_nan=False) + "\n",
                       encoding="utf-8")
        print(f"wrote {out.name}: {len(metrics['claims'])} claims")


if __name__ == "__main__":
    main(sys.argv[1:])

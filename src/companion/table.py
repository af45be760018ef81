"""``results/metrics.tsv``: every experiment's claims in one long table."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from companion.io import read_json, write_text

COLUMNS = ("experiment", "catalog_id", "claim", "passed", "measured", "relation", "expected",
           "config_hash", "seeds")


def write_claims_table(metrics_paths: Sequence[str | Path], out: str | Path) -> None:
    """One row per claim, in the order the metrics files are given."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow(COLUMNS)
    for path in metrics_paths:
        metrics = read_json(path)
        for claim in metrics.get("claims", []):
            writer.writerow([
                metrics["experiment"], metrics["catalog_id"], claim["id"],
                str(bool(claim["passed"])).lower(), claim["measured"], claim.get("relation", ""),
                claim["expected"], metrics["config_hash"],
                ",".join(str(s) for s in metrics["seeds"]),
            ])
    write_text(out, buffer.getvalue())

"""Train every experiment of a preset on one device and record times and verdicts.

For checking a GPU machine (or timing a laptop) without Snakemake:

    PYTHONPATH=src python scripts/device_check.py --preset full --device cuda --out full_cuda.json
    PYTHONPATH=src python scripts/device_check.py --compare full_cuda.json other.json

The JSON holds, per experiment, the wall time of the whole chain, the training time per seed, the
device and every claim's verdict with its measured value. It is rewritten after each experiment,
so an interrupted check keeps what it finished. ``--compare`` prints where two such files (or a
file and a workflow's ``results/metrics``) disagree in their verdicts.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from companion import experiments, pipeline  # noqa: E402
from companion.config import load_config  # noqa: E402
from companion.io import read_json, write_json  # noqa: E402


def check(preset: str, device: str, threads: int, only: list[str], out: Path,
          max_seeds: int | None = None) -> dict:
    config = load_config(preset)
    report: dict = {"preset": preset, "device": device, "max_seeds": max_seeds,
                    "experiments": {}}
    for exp_id in experiments.EXPERIMENTS:
        if exp_id not in config["experiments"] or (only and exp_id not in only):
            continue
        section = dict(config["experiments"][exp_id])
        section["seeds"] = section["seeds"][:max_seeds] if max_seeds else section["seeds"]
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            metrics = pipeline.run_all(exp_id, section, section["seeds"], device, threads, tmp)
        wall = time.perf_counter() - start
        report["experiments"][exp_id] = {
            "wall_s": wall,
            "train_wall_s": metrics["provenance"]["train_wall_s"],
            "devices": metrics["provenance"]["devices"],
            "claims": {c["id"]: {"passed": bool(c["passed"]), "measured": c["measured"],
                                 "expected": c["expected"]} for c in metrics["claims"]},
        }
        print(f"{exp_id}: {wall:.1f} s on {metrics['provenance']['devices']}", flush=True)
        for cid, claim in report["experiments"][exp_id]["claims"].items():
            print(f"  {'PASS' if claim['passed'] else 'FAIL'} {cid}: {claim['measured']}",
                  flush=True)
        write_json(out, report)
    return report


def _verdicts(path: Path) -> dict[str, bool]:
    if path.is_dir():  # a workflow's results/metrics
        return {c["id"]: bool(c["passed"]) for p in sorted(path.glob("*.json"))
                for c in read_json(p)["claims"]}
    return {cid: c["passed"] for exp in read_json(path)["experiments"].values()
            for cid, c in exp["claims"].items()}


def compare(a: Path, b: Path) -> int:
    va, vb = _verdicts(a), _verdicts(b)
    common = sorted(set(va) & set(vb))
    differ = [cid for cid in common if va[cid] != vb[cid]]
    print(f"{len(common)} claims in both, {len(differ)} with different verdicts")
    for cid in differ:
        print(f"  {cid}: {a.name}={va[cid]} {b.name}={vb[cid]}")
    return 1 if differ else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="full")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--only", nargs="*", default=[], help="these experiments only")
    parser.add_argument("--max-seeds", type=int, help="run only the first K seeds of each")
    parser.add_argument("--out", type=Path, default=Path("device_check.json"))
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"))
    args = parser.parse_args(argv)
    if args.compare:
        return compare(*args.compare)
    check(args.preset, args.device, args.threads, args.only, args.out, args.max_seeds)
    return 0


if __name__ == "__main__":
    sys.exit(main())

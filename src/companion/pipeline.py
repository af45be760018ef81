"""The stages every experiment goes through, shared by the workflow rules and ``companion run``.

data -> train -> metrics -> figures. Each stage reads its inputs from files and writes its
outputs atomically; the experiment module supplies the science, this module the bookkeeping
(what every run and metrics file records besides the numbers: config, seeds, device, wall time,
library versions).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from companion import divergence, experiments
from companion.config import config_hash
from companion.io import library_versions, read_json, read_npz, write_json, write_npz

Log = Callable[[str], None]


def stderr_log(message: str) -> None:
    """Progress lines go to stderr, which the workflow sends to the rule's log file."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_data(exp_id: str, cfg: Mapping[str, Any], seed: int, out: str | Path) -> None:
    module = experiments.get(exp_id)
    arrays = module.generate(dict(cfg), int(seed))
    write_npz(out, arrays)


def run_train(exp_id: str, cfg: Mapping[str, Any], seed: int, data_path: str | Path,
              device_name: str, threads: int, out_npz: str | Path, out_json: str | Path,
              log: Log = stderr_log) -> None:
    from companion.device import resolve_device, set_threads

    set_threads(threads)
    device = resolve_device(device_name)
    module = experiments.get(exp_id)
    data = read_npz(data_path)
    log(f"{exp_id} seed {seed}: training on {device} with {threads} thread(s)")
    start = time.perf_counter()
    arrays, scalars = module.train(dict(cfg), data, int(seed), device, log)
    wall = time.perf_counter() - start
    diverged = scalars.pop("divergence", None) or divergence.scan(arrays)
    if diverged:
        log(f"{exp_id} {divergence.describe(diverged, int(seed))}: its claims will fail")
    log(f"{exp_id} seed {seed}: done in {wall:.1f} s")
    record = {
        "experiment": exp_id,
        "seed": int(seed),
        "config_hash": config_hash(dict(cfg)),
        "device": str(device),
        "threads": int(threads),
        "wall_s": wall,
        "versions": library_versions(),
        "scalars": scalars,
        "divergence": diverged,
    }
    write_npz(out_npz, arrays)
    write_json(out_json, record)


def run_metrics(exp_id: str, cfg: Mapping[str, Any], run_npz: Sequence[str | Path],
                out: str | Path) -> dict[str, Any]:
    module = experiments.get(exp_id)
    runs = []
    records = []
    for npz in run_npz:
        npz = Path(npz)
        record = read_json(npz.with_suffix(".json"))
        records.append(record)
        runs.append((read_npz(npz), record["scalars"]))
    diverged = [divergence.describe(r["divergence"], r["seed"]) for r in records
                if r.get("divergence")]
    if diverged:
        # Summaries of non-finite runs are numbers of no meaning: computed quietly, then failed.
        with np.errstate(all="ignore"):
            summary = module.summarize(dict(cfg), runs)
        divergence.mark_claims(summary.get("claims", []), diverged)
        summary["divergence"] = {"reason": divergence.REASON, "runs": diverged}
    else:
        summary = module.summarize(dict(cfg), runs)
    metrics = {
        "experiment": exp_id,
        "catalog_id": module.CATALOG,
        "part": module.PART,
        "config": dict(cfg),
        "config_hash": config_hash(dict(cfg)),
        "seeds": [r["seed"] for r in records],
        "provenance": {
            "devices": sorted({r["device"] for r in records}),
            "train_wall_s": [r["wall_s"] for r in records],
            "versions": records[0]["versions"] if records else library_versions(),
        },
        **summary,
    }
    for claim in metrics.get("claims", []):
        missing = {"id", "passed", "measured", "expected"} - set(claim)
        if missing:
            raise ValueError(f"{exp_id}: claim {claim.get('id')!r} lacks {sorted(missing)}")
    write_json(out, metrics)
    return metrics


def run_figures(exp_id: str, metrics_path: str | Path, lang: str, outdir: str | Path) -> list[Path]:
    module = experiments.get(exp_id)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    metrics = read_json(metrics_path)
    if metrics.get("divergence"):
        from companion.plots.style import placeholder_figure

        # A diverged run has no curves worth drawing; each figure says so instead.
        note = "; ".join(metrics["divergence"]["runs"])
        written = [placeholder_figure(outdir / f"{name}.svg", lang, note)
                   for name in module.FIGURES]
    else:
        written = [Path(p) for p in module.figures(metrics, lang, outdir)]
    expected = {outdir / f"{name}.svg" for name in module.FIGURES}
    if not expected <= set(written):
        raise RuntimeError(f"{exp_id}: figures() did not write {sorted(expected - set(written))}")
    return written


def run_all(exp_id: str, cfg: Mapping[str, Any], seeds: Sequence[int], device_name: str,
            threads: int, outdir: str | Path, langs: Sequence[str] = ()) -> dict[str, Any]:
    """data -> train -> metrics (-> figures) for one experiment, without Snakemake."""
    outdir = Path(outdir)
    run_files = []
    for seed in seeds:
        data = outdir / "data" / f"seed{seed}.npz"
        run = outdir / "runs" / f"seed{seed}.npz"
        run_data(exp_id, cfg, seed, data)
        run_train(exp_id, cfg, seed, data, device_name, threads, run, run.with_suffix(".json"))
        run_files.append(run)
    metrics = run_metrics(exp_id, cfg, run_files, outdir / "metrics.json")
    for lang in langs:
        run_figures(exp_id, outdir / "metrics.json", lang, outdir / "figures" / lang)
    return metrics

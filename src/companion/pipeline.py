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
    # A module that reports its own divergence (None: it checked and found none) knows which of
    # its values are meant to be NaN (padding, masks); otherwise every float array is scanned.
    diverged = scalars.pop("divergence") if "divergence" in scalars else divergence.scan(arrays)
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
    summary = decide(module, cfg, runs, records)
    # Checked before the per-seed pass, which would otherwise fail first with a bare KeyError.
    for claim in summary.get("claims", []):
        missing = {"id", "passed", "measured", "expected"} - set(claim)
        if missing:
            raise ValueError(f"{exp_id}: claim {claim.get('id')!r} lacks {sorted(missing)}")
    seeds = [int(r["seed"]) for r in records]
    per_seed = per_seed_verdicts(module, cfg, records, runs, summary.get("claims", []))
    metrics = {
        "experiment": exp_id,
        "catalog_id": module.CATALOG,
        "part": module.PART,
        "config": dict(cfg),
        "config_hash": config_hash(dict(cfg)),
        "seeds": seeds,
        "provenance": {
            "devices": sorted({r["device"] for r in records}),
            "train_wall_s": [r["wall_s"] for r in records],
            "versions": records[0]["versions"] if records else library_versions(),
        },
        **summary,
    }
    for claim in metrics.get("claims", []):
        claim.update(per_seed[claim["id"]])
    write_json(out, metrics)
    return metrics


def decide(module: Any, cfg: Mapping[str, Any],
           runs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
           records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The module's ``summarize`` of ``runs``; when any run diverged, every claim fails as such."""
    diverged = [divergence.describe(r["divergence"], r["seed"]) for r in records
                if r.get("divergence")]
    if not diverged:
        return module.summarize(dict(cfg), list(runs))
    # Summaries of non-finite runs are numbers of no meaning: computed quietly, then failed.
    with np.errstate(all="ignore"):
        summary = module.summarize(dict(cfg), list(runs))
    divergence.mark_claims(summary.get("claims", []), diverged)
    # The English lines for the command line; the records for the report's own language.
    summary["divergence"] = {"reason": divergence.REASON, "runs": diverged,
                             "records": [{"seed": int(r["seed"]), **r["divergence"]}
                                         for r in records if r.get("divergence")]}
    return summary


def per_seed_verdicts(module: Any, cfg: Mapping[str, Any], records: Sequence[Mapping[str, Any]],
                      runs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
                      pooled_claims: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each pooled claim decided again on every seed's runs alone, by the same ``summarize``.

    A seed whose run diverged fails every claim on that seed, as the pooled verdict does.
    Returns, per claim id, ``{"per_seed": [{seed, passed, measured}, ...]}`` in seed order, or
    ``{"per_seed": None, "per_seed_reason": ...}`` for the claims the module's ``POOLED_ONLY``
    names (they need the pooled data, e.g. a spread over seeds). A claim that ``summarize`` on one
    seed does not produce is a broken contract, not a silent gap, so it raises.
    """
    pooled_only: Mapping[str, str] = getattr(module, "POOLED_ONLY", {})
    out: dict[str, dict[str, Any]] = {}
    decided = [c["id"] for c in pooled_claims if c["id"] not in pooled_only]
    for cid in (c["id"] for c in pooled_claims):
        if cid in pooled_only:
            out[cid] = {"per_seed": None, "per_seed_reason": str(pooled_only[cid])}
        else:
            out[cid] = {"per_seed": []}
    if not decided:
        return out
    for record, run in zip(records, runs, strict=True):
        seed = int(record["seed"])
        one = dict(cfg, seeds=[seed]) if "seeds" in cfg else dict(cfg)
        claims = {c["id"]: c for c in decide(module, one, [run], [record]).get("claims", [])}
        for cid in decided:
            if cid not in claims:
                raise ValueError(f"{module.ID}: summarize on seed {seed} alone gives no claim "
                                 f"{cid!r}; decide it per seed or name it in POOLED_ONLY")
            out[cid]["per_seed"].append({"seed": int(seed),
                                         "passed": bool(claims[cid]["passed"]),
                                         "measured": claims[cid]["measured"]})
    return out


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

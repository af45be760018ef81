"""``python -m companion <command>``: the one entry point every workflow rule calls.

Stage commands (``data``, ``train``, ``metrics``, ``figures``, ``table``, ``html``, ``pdf``) take
their inputs and outputs as paths and their config slice as JSON, exactly as the rules pass them.
``run`` chains data -> train -> metrics (-> figures) for one experiment without Snakemake;
``validate`` checks a configuration; ``list`` prints the experiments.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from companion import experiments, pipeline
from companion.config import (
    ConfigError,
    apply_overrides,
    deep_merge,
    experiment_section,
    load_config,
    load_yaml,
)
from companion.device import check_device
from companion.io import DirectoryLocked, directory_lock, read_json
from companion.workflow import check_config


def _cfg(text: str) -> dict:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise SystemExit("--cfg must be a JSON object (an experiment's config section)")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m companion", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("data", help="generate one seed's data set")
    p.add_argument("experiment")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--cfg", type=_cfg, required=True, help="the experiment's section, as JSON")
    p.add_argument("--out", required=True)

    p = sub.add_parser("train", help="train one seed's models")
    p.add_argument("experiment")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--cfg", type=_cfg, required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out-npz", required=True)
    p.add_argument("--out-json", required=True)

    p = sub.add_parser("metrics", help="aggregate the seeds, fit, compare with theory, decide")
    p.add_argument("experiment")
    p.add_argument("--cfg", type=_cfg, required=True)
    p.add_argument("--runs", nargs="+", required=True, help="the seeds' run .npz files")
    p.add_argument("--out", required=True)

    p = sub.add_parser("figures", help="draw one experiment's figures in one language")
    p.add_argument("experiment")
    p.add_argument("--metrics", required=True)
    p.add_argument("--lang", required=True, choices=("ja", "en"))
    p.add_argument("--outdir", required=True)

    p = sub.add_parser("table", help="gather every experiment's claims into one TSV")
    p.add_argument("--metrics", nargs="+", required=True)
    p.add_argument("--out", required=True)

    p = sub.add_parser("html", help="render one language's report as HTML")
    p.add_argument("--lang", required=True, choices=("ja", "en"))
    p.add_argument("--metrics", nargs="+", required=True)
    p.add_argument("--figures-root", required=True)
    p.add_argument("--benchmarks", nargs="*", default=[])
    p.add_argument("--meta", type=_cfg, required=True, help="preset, config hash, commit, ...")
    p.add_argument("--bench", help="the engine benchmark's JSON, for the appendix")
    p.add_argument("--audit", nargs="*", default=[],
                   help="the audit's metrics files: post-hoc tolerances on fresh seeds")
    p.add_argument("--out", required=True)

    p = sub.add_parser("pdf", help="typeset an HTML report as PDF")
    p.add_argument("--html", required=True)
    p.add_argument("--out", required=True)

    p = sub.add_parser("run", help="run one experiment without Snakemake")
    p.add_argument("experiment", choices=experiments.EXPERIMENTS)
    p.add_argument("--preset", default="default")
    p.add_argument("--configfile", help="a config file merged over config.yaml and the preset")
    p.add_argument("--set", dest="assignments", action="append", default=[], metavar="KEY=VALUE",
                   help="override a key of the experiment's section (value parsed as YAML)")
    p.add_argument("--seeds", type=int, help="use seeds 0..K-1 instead of the section's seeds")
    p.add_argument("--device", help="auto, cpu or cuda (default: the config's)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--figures", action="store_true", help="also draw the figures (ja and en)")
    p.add_argument("--out", required=True)

    p = sub.add_parser("validate", help="validate a configuration (preset + config files)")
    p.add_argument("--preset", default="default")
    p.add_argument("--configfile", action="append", default=[])

    sub.add_parser("bench", help="benchmark the batched training engine against a loop "
                   "(`bench --help` for its options)", add_help=False)

    sub.add_parser("list", help="list the experiments")
    return parser


def _run(args: argparse.Namespace) -> int:
    config = load_config(args.preset)
    if args.configfile:
        config = deep_merge(config, load_yaml(args.configfile))
    where = f"experiments.{args.experiment}"
    section = experiment_section(config, args.experiment)
    section = apply_overrides(section, args.assignments, where)
    if args.seeds is not None:
        if args.seeds < 1:
            raise ConfigError(f"--seeds: {args.seeds} must be >= 1")
        section["seeds"] = list(range(args.seeds))
    if args.device:
        config["device"] = args.device
    config["experiments"][args.experiment] = section
    # `run` decides the claims on the seeds it is given and runs no audit, so the audit pool's
    # seeds are free to use here (e.g. to repeat the audit by hand).
    config["audit"] = {"seeds": []}
    check_config(config)
    check_device(config["device"])
    try:
        with directory_lock(args.out):
            metrics = pipeline.run_all(args.experiment, section, section["seeds"],
                                       config["device"], args.threads, args.out,
                                       langs=("ja", "en") if args.figures else ())
    except DirectoryLocked as err:
        raise ConfigError(str(err)) from None
    for claim in metrics.get("claims", []):
        mark = "PASS" if claim["passed"] else "FAIL"
        print(f"{mark}  {claim['id']}: measured {_number(claim['measured'], claim)}, required "
              f"{claim.get('relation', 'vs')} {_number(claim['expected'], claim)}")
    for line in metrics.get("divergence", {}).get("runs", []):
        print(f"diverged: {line}")
    print(f"wrote {Path(args.out) / 'metrics.json'}")
    return 0


def _number(value, claim) -> str:
    if value is None:
        return claim.get("reason") or "none"
    return f"{value:.4g}"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:  # the benchmark parses its own options
        from companion.bench import main as bench_main

        return bench_main(argv[1:])
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    cmd = args.command
    if cmd == "data":
        pipeline.run_data(args.experiment, args.cfg, args.seed, args.out)
    elif cmd == "train":
        check_device(args.device)
        pipeline.run_train(args.experiment, args.cfg, args.seed, args.data, args.device,
                           args.threads, args.out_npz, args.out_json)
    elif cmd == "metrics":
        pipeline.run_metrics(args.experiment, args.cfg, args.runs, args.out)
    elif cmd == "figures":
        pipeline.run_figures(args.experiment, args.metrics, args.lang, args.outdir)
    elif cmd == "table":
        from companion.table import write_claims_table

        write_claims_table(args.metrics, args.out)
    elif cmd == "html":
        from companion.report.render import render_html

        # The build date is when the report is rendered, not a rule parameter: as a parameter it
        # would make every report stale each morning.
        meta = {"build_date": datetime.date.today().isoformat(), **args.meta}
        if args.bench:
            meta["engine_benchmark"] = read_json(args.bench)
        render_html(args.lang, [Path(p) for p in args.metrics], Path(args.figures_root),
                    [Path(p) for p in args.benchmarks], meta, Path(args.out),
                    audit_paths=[Path(p) for p in args.audit])
    elif cmd == "pdf":
        from companion.report.pdf import html_to_pdf

        html_to_pdf(Path(args.html), Path(args.out))
    elif cmd == "run":
        return _run(args)
    elif cmd == "validate":
        config = load_config(args.preset)
        for path in args.configfile:
            config = deep_merge(config, load_yaml(path))
        check_config(config)
        files = ", ".join(["config.yaml", *([f"presets/{args.preset}.yaml"]
                                           if args.preset != "default" else []),
                           *args.configfile])
        print(f"configuration is valid ({files})")
    elif cmd == "list":
        for exp_id in experiments.EXPERIMENTS:
            print(exp_id)
    return 0

# Configuration checks and the helpers every stage uses.
#
# Each rule receives exactly its own slice of the config through params (never the whole config)
# and lists the source files it runs as inputs: Snakemake sees neither config read inside code
# nor edits to imported modules, so this is what makes "only stale steps rerun" true.

import json
import os
import subprocess
import sys
from pathlib import Path

# Jobs run this checkout's code whatever is installed: the rules' `python -m companion` finds the
# package through PYTHONPATH, which local and cluster jobs inherit.
_SRC_ROOT = str(Path(workflow.basedir) / "src")
sys.path.insert(0, _SRC_ROOT)
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (_SRC_ROOT, os.environ.get("PYTHONPATH", "")) if p
)

from companion import experiments as _registry
from companion.config import ConfigError, config_hash, validate as _validate


def _check_config(config):
    try:
        _validate(config)
        for exp in config["experiments"]:
            check = getattr(_registry.get(exp), "check", None)
            if check is not None:
                check(config["experiments"][exp])
    except ConfigError as err:
        raise WorkflowError(f"{err}\n(no job was started)")


_check_config(config)

SRC = "src/companion"
ENV = "../../envs/companion.yaml"
EXPS = [e for e in _registry.EXPERIMENTS if e in config["experiments"]]
LANGS = list(config["report"]["languages"])


wildcard_constraints:
    exp="|".join(EXPS),
    seed=r"\d+",
    lang="|".join(LANGS),


def section(exp, keep_seeds=True):
    """The experiment's config section; without its seed list for per-seed jobs, so adding a
    seed does not make the existing seeds' jobs stale."""
    cfg = dict(config["experiments"][exp])
    if not keep_seeds:
        cfg.pop("seeds", None)
    return cfg


def section_json(keep_seeds):
    return lambda w: json.dumps(section(w.exp, keep_seeds), sort_keys=True)


def seeds(exp):
    return [int(s) for s in config["experiments"][exp]["seeds"]]


def experiment_sources(w):
    """The code an experiment's stages run: its module, what it imports, and the stage driver."""
    exp_module = _registry.get(w.exp)
    files = [f"{SRC}/experiments/{w.exp}.py", f"{SRC}/pipeline.py"]
    files += [f"{SRC}/{path}" for path in getattr(exp_module, "SOURCES", ())]
    return sorted(set(files))


# Every job pins its thread pools to its `threads:` (small kernels were seen running erratically
# slowly when torch and BLAS chose for themselves).
THREAD_ENV = (
    "OMP_NUM_THREADS={threads} OPENBLAS_NUM_THREADS={threads} MKL_NUM_THREADS={threads} "
    "OMP_WAIT_POLICY=PASSIVE"
)


def res(stage, key, default=None):
    return config["resources"][stage].get(key, default)


def git_commit():
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=workflow.basedir,
                             capture_output=True, text=True, timeout=5)
        return out.stdout.strip() if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


# What the title page states about the whole build: the hash covers what changes results.
REPORT_META = {
    "preset": config["preset"],
    "config_hash": config_hash({"device": config["device"], "experiments": config["experiments"]}),
    "commit": git_commit(),
    "languages": LANGS,
    "experiments": EXPS,
}

# Configuration checks and the helpers every stage uses.
#
# Each rule receives exactly its own slice of the config through params (never the whole config)
# and lists the source files it runs as inputs: Snakemake sees neither config read inside code
# nor edits to imported modules, so this is what makes "only stale steps rerun" true.

import json
import sys
from glob import glob
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from companion import experiments as _registry
from companion.audit import audit_section, audit_seeds, audited
from companion.config import config_hash
from companion.workflow import ConfigError, check_config, export_source_path, git_commit



def _mem_overrides():
    """``--set-resources RULE:mem_mb=N`` values, so the memory check sees what jobs will get."""
    found = {}
    try:
        overrides = workflow.resource_settings.overwrite_resources
        for rule_name, mapping in overrides.items():
            value = mapping.get("mem_mb") if hasattr(mapping, "get") else None
            value = getattr(value, "value", value)
            if isinstance(value, (int, float)):
                found[rule_name] = float(value)
    except AttributeError:  # another Snakemake version: the config's mem_mb alone is checked
        pass
    return found


try:
    check_config(config, _mem_overrides())
except ConfigError as err:
    raise WorkflowError(f"{err}\n(no job was started)")

# Jobs run this checkout's code whatever is installed (`python -m companion` finds it).
export_source_path(Path(workflow.basedir) / "src")

SRC = "src/companion"
ENV = "../../envs/companion.yaml"
EXPS = [e for e in _registry.EXPERIMENTS if e in config["experiments"]]
LANGS = list(config["report"]["languages"])
# The experiments whose post-hoc tolerances are decided again on the audit's fresh seeds.
AUDITED = audited(config)


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


def audit_json(w):
    """The section as the audit's metrics job decides it: on the fresh seeds."""
    return json.dumps(audit_section(section(w.exp), audit_seeds(config, w.exp)), sort_keys=True)


def fresh_seeds(exp):
    """The audit's fresh seeds for one experiment."""
    return audit_seeds(config, exp)


def experiment_sources(w):
    """The code an experiment's stages run: its module, what it imports, and the stage driver."""
    exp_module = _registry.get(w.exp)
    files = [f"{SRC}/experiments/{w.exp}.py", f"{SRC}/pipeline.py", f"{SRC}/divergence.py"]
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


# What the title page states about the whole build: the hash covers what changes results.
REPORT_META = {
    "preset": config["preset"],
    "config_hash": config_hash({"device": config["device"], "experiments": config["experiments"]}),
    "commit": git_commit(workflow.basedir),
    "languages": LANGS,
    "experiments": EXPS,
}


# The report's inputs besides the results.
REPORT_CODE = sorted(glob(f"{SRC}/report/*.py"))


def report_text(w):
    """The text one language's report reads: its own prose, and the shared formulas and
    lecture references (slides, try-it commands)."""
    files = [f"report/text/{w.lang}/main.yaml"]
    files += [f"report/text/{w.lang}/experiments/{e}.yaml" for e in EXPS]
    files += [f"report/text/formulas/{e}.yaml" for e in EXPS]
    files += [f"report/text/lecture/{e}.yaml" for e in EXPS]
    return files


def stage_benchmarks(w):
    """The benchmark files of every job before the report, for the appendix's run times."""
    files = []
    for exp in EXPS:
        for seed in seeds(exp):
            files.append(rules.data.benchmark.format(exp=exp, seed=seed))
            files.append(rules.train.benchmark.format(exp=exp, seed=seed))
        files.append(rules.metrics.benchmark.format(exp=exp))
        files += [rules.figures.benchmark.format(exp=exp, lang=lang) for lang in LANGS]
    return files + [rules.claims_table.benchmark, rules.bench.benchmark]

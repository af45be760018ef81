"""The workflow through a real SLURM: the slurm profile on a single-node cluster started here.

A single-node SLURM (munged, slurmctld, slurmd; tests/slurm_cluster.py) runs the tiny preset's
computations for a subset of the experiments (``SUBSET``: every rule and every kind of job the
cluster path has, see there) - their data, train, metrics and audit jobs and the claims table -
through ``--profile workflow/profiles/slurm``, while the session's local tiny build
(``tiny_build``, tests/conftest.py) runs beside it in another copy and serves as the reference.
The tests check that every job was a SLURM job, that SLURM was asked for the resources the
configuration (and the command line's overrides) name, and that both builds give the same
metrics. Needs root; elsewhere the cluster tests are skipped with what is missing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from companion.audit import audit_seeds, audited
from companion.config import load_config

import slurm_cluster
from workflow_helpers import REPO, TINY, copy_workflow, keep_experiments

TARGET = "results/metrics.tsv"
# The cluster path is the same for every experiment (one rule per stage, resources per stage,
# the same job script), so a subset covers it: B1 has two seeds at the tiny preset (two train
# jobs of one experiment, gathered by one metrics job), A1 trains through the shared torch
# engine, and the first experiment with post-hoc tolerances adds the audit rule (its train jobs
# on the fresh seeds and the audit's metrics job). All twenty experiments' jobs run through the
# local Snakemake in tests/test_workflow.py; building them all here too took four minutes.
SUBSET = ("universal_approx", "double_descent_linear", *audited(load_config("tiny"))[:1])
PROFILE = "workflow/profiles/slurm"
# The plugin waits 40 s before its first status check and 10 s longer after every check that
# finds nothing finished; the tiny jobs last seconds.
POLL = ("--slurm-init-seconds-before-status-checks", "2", "--seconds-between-status-checks", "1")
# Overrides that change what SLURM is asked for but not the numbers (threads would; the tiny
# preset trains on the CPU whatever it is given).
OVERRIDES = ("--set-resources", "train:runtime=45", "metrics:mem_mb=1500", "train:gpu=1",
             "data:gpu=0")
OVERRIDDEN = {("train", "runtime"): 45, ("metrics", "mem_mb"): 1500, ("train", "gpu"): 1,
              ("data", "gpu"): 0}
# Rules whose threads, mem_mb and runtime come from the configuration's resources.<stage>; the
# others get one thread and the slurm profile's default-resources.
STAGE = {"data": "default", "train": "train", "metrics": "default", "audit": "default",
         "claims_table": "default"}
# A Snakemake waiting on jobs ignores SIGTERM: only SIGKILL ends a hung run.
KILL_AFTER_S = 420
# The node advertises more CPUs than the machine has so that the tiny jobs run side by side,
# and stand-in GPUs so that GPU requests are scheduled for real.
NODE_CPUS = 8
NODE_GPUS = 4
SUBMITTED = re.compile(r"Job \d+ has been submitted with SLURM jobid (\d+) \(log: (\S+)\)")
FINISHED = re.compile(r"Finished jobid: \d+ \(Rule: (\w+)\)")
TIMING_KEY = re.compile(r"^provenance$|wall|elapsed|seconds|duration|_time$|^time_")


@dataclass(frozen=True)
class Build:
    workdir: Path
    output: str
    seconds: float


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    reason = slurm_cluster.unavailable_reason()
    if reason is not None:
        pytest.skip(f"no single-node SLURM: {reason}")
    try:
        with slurm_cluster.running(tmp_path_factory.mktemp("slurm"), NODE_CPUS, NODE_GPUS) as c:
            yield c
    except slurm_cluster.ClusterUnavailable as err:
        pytest.skip(f"no single-node SLURM: {err}")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # Jobs run `python` and `snakemake` from this interpreter's environment, as a user's
    # activated .venv would provide.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.pop("PYTHONPATH", None)
    return env


def _targets() -> tuple[str, ...]:
    """The claims table of the subset, and the audit of its audited experiment."""
    return (TARGET, *(f"results/audit/{e}.json" for e in SUBSET
                      if e in audited(load_config("tiny"))))


def _start(workdir: Path, log: Path, *args: str) -> subprocess.Popen[bytes]:
    cmd = ["timeout", "-s", "KILL", str(KILL_AFTER_S), sys.executable, "-m", "snakemake",
           *_targets(), *TINY, *args]
    with open(log, "wb") as out:
        return subprocess.Popen(cmd, cwd=workdir, env=_env(), stdout=out,
                                stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def builds(cluster: slurm_cluster.SlurmCluster, tmp_path_factory: pytest.TempPathFactory,
           request: pytest.FixtureRequest) -> dict[str, Build]:
    """The subset's target built through SLURM, and the session's local tiny build (every
    experiment) as the reference, built at the same time when it is not there yet (the cluster
    build spends most of its time waiting)."""
    root = tmp_path_factory.mktemp("builds")
    started = time.monotonic()
    workdir = keep_experiments(copy_workflow(root / "slurm"), SUBSET)
    log = root / "slurm.out"
    proc = _start(workdir, log, "--profile", PROFILE, *POLL, *OVERRIDES,
                  "--slurm-keep-successful-logs")
    try:
        local = request.getfixturevalue("tiny_build")
    except BaseException:
        proc.kill()
        raise
    local_s = time.monotonic() - started
    code = proc.wait()
    output = log.read_text(errors="replace")
    if code != 0:
        killed = f" (killed after {KILL_AFTER_S} s)" if code in (-9, 137) else ""
        pytest.fail(f"slurm build failed with {code}{killed}:\n{output[-6000:]}\n"
                    f"{cluster.logs()}")
    return {"slurm": Build(workdir, output, time.monotonic() - started),
            "local": Build(local, "", local_s)}


def _expected_jobs() -> Counter[str]:
    """The jobs of the subset's targets: data and train per seed (and per fresh seed of an
    audited experiment), metrics per experiment, the audit, the claims table."""
    config = load_config("tiny")
    fresh = set(audited(config))
    jobs: Counter[str] = Counter({"claims_table": 1})
    for exp_id in SUBSET:
        n = len(config["experiments"][exp_id]["seeds"])
        n += len(audit_seeds(config, exp_id)) if exp_id in fresh else 0
        jobs.update({"data": n, "train": n, "metrics": 1})
        if exp_id in fresh:
            jobs["audit"] += 1
    return jobs


def _submitted(build: Build) -> dict[str, str]:
    """``{SLURM job id: rule}`` from Snakemake's own report of each submission."""
    jobs = {}
    for job_id, log in SUBMITTED.findall(build.output):
        rule = next(p[len("rule_"):] for p in Path(log).parts if p.startswith("rule_"))
        jobs[job_id] = rule
    return jobs


def _scontrol(jobs: dict[str, str]) -> dict[str, dict[str, str]]:
    """``scontrol show job`` fields of the given jobs (SLURM keeps finished ones for MinJobAge)."""
    out = subprocess.run([slurm_cluster.which("scontrol"), "--oneliner", "show", "job"],
                         capture_output=True, text=True, check=True, timeout=20).stdout
    shown = {}
    for line in out.splitlines():
        fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
        if fields.get("JobId") in jobs:
            shown[fields["JobId"]] = fields
    return shown


def _overhead_s(build: Build, jobs: dict[str, str]) -> list[float]:
    """Per job: its run time in SLURM less the time its command took (its benchmark file)."""
    benchmarks = {}
    for path in build.workdir.glob("results/benchmarks/*/*.tsv"):
        # the plugin's log folder names a job by its wildcards joined with "_"
        key = "" if path.parent.name == "claims_table" else path.stem.replace("-seed", "_")
        benchmarks[(path.parent.name, key)] = float(path.read_text().splitlines()[1].split()[0])
    overhead = []
    for job_id, fields in _scontrol(jobs).items():
        folder = Path(fields["StdOut"]).parent.name
        key = "" if folder == f"rule_{jobs[job_id]}" else folder
        overhead.append(_minutes(fields["RunTime"], seconds=True) - benchmarks[(jobs[job_id], key)])
    return overhead


def _minutes(limit: str, seconds: bool = False) -> int:
    """SLURM's duration ``[D-]H:MM:SS`` or ``M:SS`` in minutes (or seconds)."""
    days, _, clock = limit.rpartition("-")
    parts = [int(p) for p in clock.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    total_s = int(days or 0) * 86400 + parts[0] * 3600 + parts[1] * 60 + parts[2]
    return total_s if seconds else total_s // 60


def _mb(amount: str) -> int:
    """SLURM's memory amount (``4000M``, ``2G``) in MB."""
    scale = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 ** 2}
    return round(float(amount[:-1]) * scale[amount[-1]]) if amount[-1] in scale else int(amount)


def _expected_resources(workdir: Path, rule: str) -> dict[str, int]:
    """What the configuration (tiny preset), the profile and the overrides ask for ``rule``."""
    config = yaml.safe_load((workdir / "config.yaml").read_text())["resources"]
    tiny = yaml.safe_load((workdir / "presets" / "tiny.yaml").read_text()).get("resources", {})
    resources = {stage: {**config[stage], **tiny.get(stage, {})} for stage in config}
    profile = yaml.safe_load((workdir / PROFILE / "config.yaml").read_text())
    stage = STAGE.get(rule)
    if stage is None:
        want = {"threads": 1, **profile["default-resources"]}
    else:
        want = dict(resources[stage])
    for (r, key), value in OVERRIDDEN.items():
        if r == rule:
            want[key] = value
    return {"cpus": want["threads"], "mem_mb": want["mem_mb"], "runtime": want["runtime"],
            "gpus": want.get("gpu", 0)}


def _without_timing(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _without_timing(v) for k, v in obj.items() if not TIMING_KEY.search(k)}
    if isinstance(obj, list):
        return [_without_timing(v) for v in obj]
    return obj


@pytest.mark.cluster
def test_every_job_ran_as_a_slurm_job(cluster: slurm_cluster.SlurmCluster,
                                      builds: dict[str, Build]) -> None:
    slurm = builds["slurm"]
    jobs = _submitted(slurm)
    assert Counter(jobs.values()) == _expected_jobs(), slurm.output[-4000:]
    assert Counter(FINISHED.findall(slurm.output)) == _expected_jobs()
    assert {"data", "train", "metrics", "claims_table"} <= set(jobs.values())
    if len(SUBSET) > 2:  # an audited experiment is in the subset
        assert "audit" in set(jobs.values())
    built = sorted(p.stem for p in (slurm.workdir / "results" / "metrics").glob("*.json"))
    assert built == sorted(SUBSET)
    states = cluster.jobs(list(jobs))
    assert set(states) == set(jobs), f"SLURM does not know jobs {set(jobs) - set(states)}"
    assert {state for state, _ in states.values()} == {"COMPLETED"}, states
    assert len({name for _, name in states.values()}) == 1  # one run's jobs, named by its id
    for job_id, log in SUBMITTED.findall(slurm.output):
        assert Path(log).name == f"{job_id}.log" and Path(log).exists(), log
    overhead = _overhead_s(slurm, jobs)
    print(f"\ncluster build {slurm.seconds:.0f} s ({', '.join(SUBSET)}); "
          f"{len(jobs)} SLURM jobs, each {min(overhead):.0f}-{max(overhead):.0f} s longer in "
          "SLURM than its own benchmark")


@pytest.mark.cluster
def test_slurm_was_asked_for_the_configured_resources(builds: dict[str, Build]) -> None:
    """threads, mem_mb and runtime from the configuration (or the command line's overrides);
    a GPU only for the jobs whose ``gpu`` resource is > 0 (train here; data has gpu=0)."""
    slurm = builds["slurm"]
    jobs = _submitted(slurm)
    shown = _scontrol(jobs)
    for job_id, rule in jobs.items():
        fields = shown[job_id]
        gpus = re.search(r"gpu:(\d+)", fields.get("TresPerJob", ""))
        got = {"cpus": int(fields["NumCPUs"]),
               "mem_mb": _mb(fields["MinMemoryNode"]),
               "runtime": _minutes(fields["TimeLimit"]),
               "gpus": int(gpus.group(1)) if gpus else 0}
        assert got == _expected_resources(slurm.workdir, rule), (rule, job_id, fields)
    assert {rule for job_id, rule in jobs.items()
            if "gpu" in shown[job_id].get("TresPerJob", "")} == {"train"}


@pytest.mark.cluster
def test_cluster_metrics_equal_the_local_build(builds: dict[str, Build]) -> None:
    slurm, local = builds["slurm"].workdir, builds["local"].workdir
    names = sorted(p.name for p in (slurm / "results" / "metrics").glob("*.json"))
    assert names == sorted(f"{e}.json" for e in SUBSET)
    for name in names:
        ours = json.loads((slurm / "results" / "metrics" / name).read_text())
        theirs = json.loads((local / "results" / "metrics" / name).read_text())
        for part in ("claims", "series", "table"):
            assert _without_timing(ours.get(part)) == _without_timing(theirs.get(part)), (
                name, part)
        assert _without_timing(ours) == _without_timing(theirs), name
    # The local table has every experiment's rows; the subset's are the same lines.
    header, *rows = (slurm / TARGET).read_text(encoding="utf-8").splitlines()
    local_header, *local_rows = (local / TARGET).read_text(encoding="utf-8").splitlines()
    assert header == local_header and rows
    assert rows == [r for r in local_rows if r.split("\t", 1)[0] in SUBSET]
    for audit in sorted((slurm / "results" / "audit").glob("*.json")):
        theirs = json.loads((local / "results" / "audit" / audit.name).read_text())
        assert _without_timing(json.loads(audit.read_text())) == _without_timing(theirs), audit


def test_slurm_profile_leaves_gpus_and_the_site_to_the_plugin() -> None:
    """No flag in the profile that the plugin manages itself (it refuses --gres/--gpus etc. in
    slurm_extra); job status by squeue, which needs no accounting database."""
    from snakemake_executor_plugin_slurm.validation import get_forbidden_slurm_options

    profile = yaml.safe_load((REPO / PROFILE / "config.yaml").read_text())
    assert profile["executor"] == "slurm"
    assert profile["slurm-status-command"] == "squeue"
    extras = [str(v) for k, v in (profile.get("default-resources") or {}).items()
              if k == "slurm_extra"]
    for rule_resources in (profile.get("set-resources") or {}).values():
        extras += [str(v) for k, v in rule_resources.items() if k == "slurm_extra"]
    for extra in extras:
        for pattern, what in get_forbidden_slurm_options().items():
            assert not re.search(pattern, extra), f"slurm_extra sets the {what}: {extra}"
    default = yaml.safe_load((REPO / "workflow/profiles/default/config.yaml").read_text())
    assert default.get("executor", "local") == "local"

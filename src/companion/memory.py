"""Peak-memory bounds: each experiment's estimate of its jobs, checked before any job runs.

An experiment module may define ``peak_memory_mb(cfg) -> {job: (MB, key)}`` for its ``data``,
``train`` and ``metrics`` jobs: the estimated peak resident memory of that job and the config
key that drives it. :func:`check_memory` compares each estimate with the ``mem_mb`` the job asks
a scheduler for (``resources.train`` for training, ``resources.default`` otherwise, or a
``--set-resources RULE:mem_mb=...`` override) and rejects the configuration naming the key, the
estimate and the limit, so a size that would need terabytes fails at once instead of hours later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from companion.config import ConfigError

# Resident memory of a job before it allocates anything: the interpreter with numpy/scipy, and
# with torch for training (measured with /usr/bin/time -f %M: about 60 MB and 250 MB), plus
# what the theory code allocates (D1's quadrature: about 80 MB).
BASE_MB = {"data": 100.0, "train": 350.0, "metrics": 150.0}
# The config section whose mem_mb each job (rule) asks for.
JOB_RESOURCES = {"data": "default", "train": "train", "metrics": "default"}

MemoryEstimate = dict[str, tuple[float, str]]


def job_mb(job: str, n_bytes: float) -> float:
    """``n_bytes`` of arrays on top of the job's baseline, in MB."""
    return BASE_MB[job] + float(n_bytes) / 2**20


def dominant(job: str, terms: Mapping[str, float]) -> tuple[float, str]:
    """``(MB, key)`` of a job whose arrays are ``terms`` (bytes per driving key): their sum on top
    of the baseline, and the key whose term is the largest."""
    key = max(terms, key=lambda k: terms[k])
    return job_mb(job, sum(terms.values())), key


def mem_limits(config: Mapping[str, Any],
               overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """Each job's ``mem_mb``: from the config's resources, or a per-rule override."""
    limits = {job: float(config["resources"][stage]["mem_mb"])
              for job, stage in JOB_RESOURCES.items()}
    for job, value in (overrides or {}).items():
        if job in limits:
            limits[job] = float(value)
    return limits


def check_memory(config: Mapping[str, Any], modules: Mapping[str, Any],
                 overrides: Mapping[str, float] | None = None) -> None:
    """Raise :class:`ConfigError` for every job whose estimated peak exceeds its ``mem_mb``.

    ``modules`` maps each configured experiment id to its module; ``overrides`` maps a job
    (rule) name to a ``mem_mb`` given on the command line.
    """
    limits = mem_limits(config, overrides)
    problems = []
    for exp_id, module in modules.items():
        estimate = getattr(module, "peak_memory_mb", None)
        if estimate is None:
            continue
        for job, (need, key) in estimate(config["experiments"][exp_id]).items():
            limit = limits[job]
            if need > limit:
                stage = JOB_RESOURCES[job]
                problems.append(
                    f"experiments.{exp_id}.{key}: the {job} job would need about {need:,.0f} MB, "
                    f"more than its mem_mb = {limit:,.0f} MB (resources.{stage}.mem_mb); use a "
                    f"smaller {key} or more memory "
                    f"(--set-resources {job}:mem_mb={_round_up(need)})")
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise ConfigError(f"invalid configuration:\n{lines}")


def _round_up(mb: float) -> int:
    step = 1000 if mb < 100_000 else 100_000
    return int(-(-mb // step) * step)

"""What the Snakefile needs from Python beyond its rules: config checks, job environment, commit."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from companion import experiments
from companion.audit import check_audit
from companion.config import ConfigError, validate
from companion.memory import check_memory


def check_config(config: Mapping[str, Any],
                 mem_overrides: Mapping[str, float] | None = None) -> None:
    """Finite numbers and the schema, each configured experiment's own ``check``, then every
    job's estimated peak memory against its ``mem_mb`` (``mem_overrides``: per-rule values from
    the command line), and that the audit's fresh seeds are fresh (:mod:`companion.audit`);
    raises :class:`ConfigError` naming the key."""
    validate(config)
    modules = {exp_id: experiments.get(exp_id) for exp_id in config["experiments"]}
    for exp_id, section in config["experiments"].items():
        check = getattr(modules[exp_id], "check", None)
        if check is not None:
            check(section)
    check_audit(config, modules)
    check_memory(config, modules, mem_overrides)


def export_source_path(src_root: str | os.PathLike[str]) -> None:
    """Put ``src_root`` first on the ``PYTHONPATH`` jobs inherit, so every job (local or on a
    cluster) runs this checkout's code, whatever is installed."""
    parts = [str(src_root)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(parts))


def git_commit(root: str | os.PathLike[str]) -> str:
    """The checkout's commit (12 hex digits), or ``unknown`` outside a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=Path(root),
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"


__all__ = ["ConfigError", "check_config", "export_source_path", "git_commit"]

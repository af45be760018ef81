"""Running real Snakemake on a temporary copy of the workflow, and reading its plan."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
COPIED = ("Snakefile", "config.yaml", "presets", "workflow", "src", "report", "envs",
          "requirements.txt", "pyproject.toml")
TINY = ("--configfile", "presets/tiny.yaml")


def copy_workflow(dest: Path) -> Path:
    """A copy of the workflow's files (no results, no git, no virtual environment)."""
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in COPIED:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        else:
            shutil.copy2(src, dest / name)
    return dest


def keep_experiments(workdir: Path, keep: tuple[str, ...]) -> Path:
    """Remove every other experiment's section from the copy's configuration and presets (a
    removed section removes the experiment from the build)."""
    for path in (workdir / "config.yaml", *sorted((workdir / "presets").glob("*.yaml"))):
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        sections = config.get("experiments") or {}
        config["experiments"] = {e: s for e, s in sections.items() if e in keep}
        path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True),
                        encoding="utf-8")
    return workdir


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # The rules call `python`: make it this interpreter's environment.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.pop("PYTHONPATH", None)
    return env


def snakemake(workdir: Path, *args: str, targets: tuple[str, ...] = (), timeout: float = 600,
              check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``snakemake <targets> --cores 2 <tiny preset> *args`` in ``workdir``.

    Targets come first: ``--configfile`` and ``--forcerun`` take several values and would
    swallow a target that follows them.
    """
    cmd = [sys.executable, "-m", "snakemake", *targets, "--cores", "2", *TINY, *args]
    proc = subprocess.run(cmd, cwd=workdir, env=_env(), capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n"
                             f"{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}")
    return proc


@dataclass(frozen=True)
class PlannedFile:
    path: str
    rule: str
    status: str
    plan: str


def plan(workdir: Path, *args: str, targets: tuple[str, ...] = ()) -> list[PlannedFile]:
    """Snakemake's own ``--summary``: every output file with its rule, status and plan."""
    out = snakemake(workdir, "--summary", *args, targets=targets).stdout
    rows = []
    lines = [ln for ln in out.splitlines() if ln.strip()]
    header_at = next(i for i, ln in enumerate(lines) if ln.startswith("output_file"))
    header = lines[header_at].split("\t")
    for line in lines[header_at + 1:]:
        cells = dict(zip(header, line.split("\t"), strict=False))
        if "plan" not in cells:
            continue
        rows.append(PlannedFile(cells["output_file"], cells["rule"], cells["status"],
                                cells["plan"]))
    return rows


def pending(workdir: Path, *args: str, targets: tuple[str, ...] = ()) -> list[PlannedFile]:
    """The output files the next run would (re)create."""
    return [f for f in plan(workdir, *args, targets=targets) if f.plan != "no update"]

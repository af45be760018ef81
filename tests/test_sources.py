"""Every file an experiment's stages import is declared, so the workflow reruns it on edits.

Snakemake does not see a module that a rule's command imports; the rules list each experiment's
``SOURCES`` as inputs instead. This test reads the imports (at any depth, function-level ones
included) and fails when a module an experiment uses is missing from its ``SOURCES``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from companion import experiments

SRC = Path(experiments.__file__).resolve().parents[1]
# The stage driver and the framework around it: inputs of every rule or deliberately not inputs
# (README, "Staleness, precisely").
FRAMEWORK = {"io.py", "config.py", "device.py", "pipeline.py", "cli.py", "__init__.py",
             "divergence.py", "memory.py"}


def _imports(path: Path) -> set[str]:
    """Files under src/companion/ that ``path`` imports, as paths relative to it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("companion"):
            # ``from companion import x`` names the package itself: only ``x`` is a file.
            names = ([node.module] if node.module != "companion" else []) + [
                f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.startswith("companion")]
        for name in names:
            rel = Path(*name.split(".")[1:])
            for candidate in (rel.with_suffix(".py"), rel / "__init__.py"):
                if (SRC / candidate).is_file():
                    found.add(candidate.as_posix())
    return found


def _closure(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        rel = todo.pop()
        if rel in seen:
            continue
        seen.add(rel)
        todo.extend(_imports(SRC / rel) - seen)
    return seen


@pytest.mark.parametrize("exp_id", experiments.EXPERIMENTS)
def test_sources_cover_every_imported_module(exp_id: str) -> None:
    module_file = f"experiments/{exp_id}.py"
    used = {p for p in _closure(module_file) - {module_file}
            if Path(p).name not in FRAMEWORK and not p.startswith("experiments/")}
    declared = set(experiments.get(exp_id).SOURCES)
    assert used <= declared, f"{exp_id}: SOURCES lacks {sorted(used - declared)}"
    assert all((SRC / p).is_file() for p in declared), f"{exp_id}: SOURCES names missing files"

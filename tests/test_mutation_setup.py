"""`make mutants`' own rules: which tests the mutants run against, and which survivors are set
aside as equivalent (each rule must match only the change it names)."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("mutants_script", ROOT / "scripts" / "mutants.py")
mutants = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mutants)


def test_every_test_of_decision_code_runs_against_the_mutants() -> None:
    selection = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"][
        "pytest_add_cli_args_test_selection"])
    wanted = {f"tests/{p.name}" for pattern in ("test_exp_*.py", "test_theory_*.py")
              for p in (ROOT / "tests").glob(pattern)}
    wanted |= {"tests/test_audit.py", "tests/test_report_context.py", "tests/test_report_text.py",
               "tests/test_verdict_boundaries.py", "tests/test_summaries_pinned.py"}
    assert sorted(wanted - selection) == []
    assert all((ROOT / path).exists() for path in selection)


def test_a_float_cast_removed_from_one_of_two_arguments_is_equivalent() -> None:
    line = "lx, ly = (np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float)))"
    first = "lx, ly = (np.log(np.asarray(x, dtype=None)), np.log(np.asarray(y, dtype=float)))"
    second = "lx, ly = (np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y)))"
    assert mutants.equivalence([line], [first]) is not None
    assert mutants.equivalence([line], [second]) is not None
    # Changing anything else on the line is not set aside.
    other = "lx, ly = (np.log(np.asarray(x, dtype=float)), np.log1p(np.asarray(y, dtype=float)))"
    assert mutants.equivalence([line], [other]) is None
    assert mutants.equivalence([line, line], [first, first]) is None


def test_a_comparison_flip_is_never_set_aside_by_a_rule() -> None:
    assert mutants.equivalence(["if gap < tol:"], ["if gap <= tol:"]) is None
    assert mutants.equivalence(["passed = bool(z < z_max)"], ["passed = bool(z <= z_max)"]) \
        is None

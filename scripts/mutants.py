"""``make mutants``: mutation testing of the code where numbers become verdicts and printed results.

Runs mutmut (configured in ``pyproject.toml``: which files, which fast tests) on the decision and
display code, then prints the mutation score and every surviving mutant. A mutant is "killed" when
some test fails (or times out) with it applied, "survived" when every test still passes, "no
tests" when no selected test reaches the mutated function (counted as survived: nothing guards
it). mutmut has no notion of an equivalent mutant; lines whose mutants are equivalent or harmless
carry ``# pragma: no mutate`` with the reason beside it, so they are never generated.

Usage: ``python scripts/mutants.py [--jobs N] [PATTERN ...]``; patterns are mutmut mutant-name
globs (e.g. ``'companion.theory.gibbs.*'``), by default the decision and display code below.
``mutmut show NAME`` prints one survivor's diff.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Each experiment's decision code is its summarize, its check and their private helpers; train,
# generate and the figures are tested against references elsewhere and are slow to mutate.
EXPERIMENTS = ("double_descent_linear", "ntk_lazy_vs_meanfield", "ntk_spectrum_spectral_bias",
               "gld_gibbs")
DEFAULT_PATTERNS = (
    "companion.theory.*",
    "companion.nn.parameterisation.*",
    "companion.report.context.*",
    "companion.table.*",
    *(f"companion.experiments.{e}.x_{f}__mutmut_*" for e in EXPERIMENTS
      for f in ("summarize", "check", "_*")),
)
KILLED = {1, 3, 36, 24, -24, 152, 255, 37}
SURVIVED = {0, 5, 33}


def results(patterns: tuple[str, ...]) -> dict[str, int | None]:
    """Exit code per mutant name matching ``patterns``, from mutmut's metadata files."""
    out: dict[str, int | None] = {}
    for meta in (ROOT / "mutants" / "src").rglob("*.meta"):
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if any(fnmatch.fnmatch(name, p) for p in patterns):
                out[name] = code
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1, help="mutmut worker processes")
    parser.add_argument("patterns", nargs="*", default=list(DEFAULT_PATTERNS))
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # mutmut sets the path
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    start = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children",
                          str(args.jobs), *args.patterns], cwd=ROOT, env=env,
                         stdout=subprocess.DEVNULL)
    minutes = (time.monotonic() - start) / 60
    codes = results(tuple(args.patterns))
    killed = sorted(n for n, c in codes.items() if c in KILLED)
    survived = sorted(n for n, c in codes.items() if c in SURVIVED)
    other = sorted(n for n, c in codes.items() if c not in KILLED | SURVIVED)
    for name in survived:
        print(f"survived: {name}")
    for name in other:
        print(f"not decided ({codes[name]}): {name}")
    decided = len(killed) + len(survived)
    score = 100 * len(killed) / decided if decided else float("nan")
    print(f"mutation score: {score:.1f}% ({len(killed)} killed, {len(survived)} survived, "
          f"{len(other)} not decided) in {minutes:.1f} min")
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())

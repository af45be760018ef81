"""``make mutants``: mutation testing of the code where numbers become verdicts and printed results.

Runs mutmut (configured in ``pyproject.toml``: which files, which fast tests) on the decision and
display code, then prints the mutation score and every surviving mutant. A mutant is "killed" when
some test fails (or times out) with it applied, "survived" when every test still passes, "no
tests" when no selected test reaches the mutated function (counted as survived: nothing guards
it). mutmut has no notion of an equivalent mutant (one that changes no result). Survivors whose
only change matches a rule of ``EQUIVALENT`` below (each with its reason) are listed apart and
left out of the score; every other survivor counts against it and is printed with its diff.

Usage: ``python scripts/mutants.py [--jobs N] [--sample F] [PATTERN ...]``; patterns are mutmut
mutant-name globs (e.g. ``'companion.theory.gibbs.*'``), by default the decision and display code
below. ``--sample F`` runs a fixed share F of each module's mutants (chosen by a hash of the
mutant's name, so the same mutants on every run) and prints the score with its binomial standard
error: the whole set takes hours. ``mutmut show NAME`` prints one survivor's diff.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import fnmatch
import hashlib
import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Each experiment's decision code is its summarize, its check and the module's private helpers
# they call (directly or through one another); train, generate and the figures are tested
# against references elsewhere and are slow to mutate.
EXPERIMENT_DIR = ROOT / "src" / "companion" / "experiments"
EXPERIMENTS = tuple(sorted(p.stem for p in EXPERIMENT_DIR.glob("*.py") if p.stem != "__init__"))


def decision_functions(source: str) -> list[str]:
    """``summarize``, ``check`` and the module-level functions they reach by name."""
    tree = ast.parse(source)
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    seen: set[str] = set()
    todo = [f for f in ("summarize", "check") if f in defs]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += [n.id for n in ast.walk(defs[name]) if isinstance(n, ast.Name) and n.id in defs]
    return sorted(seen)


DEFAULT_PATTERNS = (
    "companion.theory.*",
    "companion.nn.parameterisation.*",
    "companion.report.context.*",
    "companion.table.*",
    *(f"companion.experiments.{e}.x_{f}__mutmut_*" for e in EXPERIMENTS
      for f in decision_functions((EXPERIMENT_DIR / f"{e}.py").read_text(encoding="utf-8"))),
)
# (pattern the removed line matches, pattern the added line matches, why no result changes).
EQUIVALENT: tuple[tuple[str, str, str], ...] = (
    (r"np\.errstate\(", r"np\.errstate\(",
     "which floating-point warnings are silenced: warnings only, no value changes"),
    (r"np\.asarray\([^()]*, dtype=float\)$", r"np\.asarray\([^(),]*(, dtype=None)?\)$",
     "the float cast of an input that the formulas' true division makes float anyway"),
    (r"raise \w+\(|ConfigError\(|ValueError\(", r"raise \w+\(|ConfigError\(|ValueError\(",
     "the wording of an error message, not whether the error is raised"),
)
# Arguments whose removal or change alters no value for the inputs the code receives:
# (the argument as written, its mutants' spellings, why).
EQUIVALENT_ARGUMENTS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (", dtype=float", ("", ", dtype=None"),
     "a float cast where the arithmetic that follows is float anyway"),
    (", dtype=int", ("", ", dtype=None"),
     "an int cast of grid values that the runs store as integers already"),
    (", strict=True", ("", ", strict=None", ", strict=False"),
     "zip's length check: raises only on unequal lengths, which no caller passes"),
    (", kind='stable'", ("", ", kind=None", ", kind='STABLE'"),
     "the sort's tie rule: no two degrees share an eigenvalue"),
    ("claim.get('relation', '')", ("claim.get('relation', None)", "claim.get('relation')"),
     "the csv module writes None as an empty field"),
    (", n_grid=4001", ("", ", n_grid=4002"),
     "the grid of a tail probability's quadrature: 4001, 4002 and 200001 nodes agree to 1e-13"),
)
# Single mutants, by their exact change (so renumbering does not matter), each checked by hand.
_AT_ONE = "at the boundary both branches give the same value"
EQUIVALENT_CHANGES: dict[tuple[str, str], str] = {
    ("return np.where(g > 1.0, r2 * (1.0 - 1.0 / g), 0.0)",
     "return np.where(g >= 1.0, r2 * (1.0 - 1.0 / g), 0.0)"): _AT_ONE + ": r2 (1 - 1/1) = 0",
    ("return np.where(d > n, r2 * (1.0 - n / d), 0.0)",
     "return np.where(d >= n, r2 * (1.0 - n / d), 0.0)"): _AT_ONE + ": r2 (1 - n/n) = 0",
    ("var = np.where(g < 1.0, sigma2 * g / (1.0 - g), sigma2 / (g - 1.0))",
     "var = np.where(g <= 1.0, sigma2 * g / (1.0 - g), sigma2 / (g - 1.0))"):
        "gamma = 1 is set to inf on the next line whichever branch is taken",
    ("return np.where(g == 1.0, np.inf, var)", "return np.where(None, np.inf, var)"):
        "at gamma = 1 the variance formula already divides by zero: inf",
    ("var = np.where(d < n, sigma2 * d / (n - d - 1.0), sigma2 * n / (d - n - 1.0))",
     "var = np.where(d <= n, sigma2 * d / (n - d - 1.0), sigma2 * n / (d - n - 1.0))"):
        "d = n is set to inf on the next line whichever branch is taken",
    ("return np.where(np.abs(d - n) <= 1.0, np.inf, var)",
     "return np.where(np.abs(d - n) < 1.0, np.inf, var)"):
        "at |d - n| = 1 the formula divides by zero: inf either way",
    ("return LayerScale(mult * one, std * one, lr * one)",
     "return LayerScale(mult / one, std * one, lr * one)"): "one is an array of ones",
    ("return LayerScale(mult * one, std * one, lr * one)",
     "return LayerScale(mult * one, std / one, lr * one)"): "one is an array of ones",
    ("return LayerScale(mult * one, std * one, lr * one)",
     "return LayerScale(mult * one, std * one, lr / one)"): "one is an array of ones",
    ("hidden = first", "hidden = None"): "mean_field has depth 1: no hidden layer is listed",
    ("return float('inf') if lr * mu <= 0 else 1.0",
     "return float('INF') if lr * mu <= 0 else 1.0"): "float() reads 'INF' as inf",
    ("if not 0.0 < lr * mu < 1.0:", "if not 0.0 <= lr * mu < 1.0:"):
        "at lr mu = 0 the formula gives log(threshold) / log1p(-0.0) = +inf, the branch's value",
    ("n = k_train.shape[0]", "n = k_train.shape[1]"): "the training Gram matrix is square",
    ("gain = np.where(lam > 1e-14, (1.0 - decay) / np.where(lam > 1e-14, lam, 1.0), lr * t)",
     "gain = np.where(lam >= 1e-14, (1.0 - decay) / np.where(lam > 1e-14, lam, 1.0), lr * t)"):
        "an eigenvalue of exactly 1e-14: both branches agree to round-off",
    ("gain = np.where(lam > 1e-14, (1.0 - decay) / np.where(lam > 1e-14, lam, 1.0), lr * t)",
     "gain = np.where(lam > 1e-14, (1.0 - decay) / np.where(lam >= 1e-14, lam, 1.0), lr * t)"):
        "the inner placeholder only guards a division the outer where discards",
    ("gain = np.where(lam > 1e-14, (1.0 - decay) / np.where(lam > 1e-14, lam, 1.0), lr * t)",
     "gain = np.where(lam > 1e-14, (1.0 - decay) / np.where(lam > 1e-14, lam, 2.0), lr * t)"):
        "the inner placeholder only guards a division the outer where discards",
    ("return np.where(b >= 0.0, plus, minus)", "return np.where(b > 0.0, plus, minus)"):
        "at b = 0 both forms are 1 / sqrt(gamma lam)",
    ("lam = np.clip(lam, 0.0, None)", "lam = np.clip(lam, None, None)"):
        "negative round-off eigenvalues (> -1e-14) take the lam -> 0 branch either way",
}
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


def sampled(names: list[str], share: float) -> list[str]:
    """The names whose hash falls in the first ``share`` of the range: the same set on every run,
    about ``share`` of each module's mutants (a stratified sample)."""
    if share >= 1.0:
        return sorted(names)
    return sorted(n for n in names
                  if int(hashlib.sha256(n.encode()).hexdigest()[:8], 16) < share * 16 ** 8)


def _generate() -> None:
    """Let mutmut write mutants/ (the mutated copy and its metadata) without testing any mutant."""
    subprocess.run([sys.executable, "-c", "import mutmut.__main__ as m; m._run(['¤'], 1)"],
                   cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _functions(path: Path, wanted: set[str]) -> dict[str, str]:
    """The bodies of the ``wanted`` functions of mutmut's copy of a module (only those: a
    module's copy holds thousands of mutant functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in wanted:
            out[node.name] = ast.unparse(node).split("\n", 1)[1]  # the body: names differ
    return out


def _module(name: str) -> str:
    return name.split(".x")[0]


def diffs(names: list[str]) -> dict[str, tuple[list[str], list[str]]]:
    """Removed and added source lines of each mutant, from mutmut's copy of the sources."""
    by_file: dict[Path, list[str]] = {}
    for name in names:
        module = name.split(".x")[0].split(".xǁ")[0]
        by_file.setdefault(ROOT / "mutants" / "src" / (module.replace(".", "/") + ".py"),
                           []).append(name)
    out = {}
    for path, group in by_file.items():
        locals_ = {n.rsplit(".", 1)[-1] for n in group}
        bodies = _functions(path, locals_ | {x.rsplit("__mutmut_", 1)[0] + "__mutmut_orig"
                                             for x in locals_})
        for name in group:
            local = name.rsplit(".", 1)[-1]
            orig = bodies.get(local.rsplit("__mutmut_", 1)[0] + "__mutmut_orig", "")
            lines = list(difflib.unified_diff(orig.splitlines(), bodies.get(local, "").splitlines(),
                                              lineterm="", n=0))
            out[name] = ([x[1:].strip() for x in lines if x.startswith("-") and
                          not x.startswith("---")],
                         [x[1:].strip() for x in lines if x.startswith("+") and
                          not x.startswith("+++")])
    return out


def _each_replacement(line: str, old: str, new: str) -> list[str]:
    """``line`` with one occurrence of ``old`` replaced by ``new``, for each occurrence (a
    mutant changes one argument of a line that may repeat it)."""
    out, start = [], line.find(old)
    while start >= 0:
        out.append(line[:start] + new + line[start + len(old):])
        start = line.find(old, start + 1)
    return out


def equivalence(removed: list[str], added: list[str]) -> str | None:
    """The reason of the ``EQUIVALENT`` rule this one-line change matches, if any."""
    if len(removed) != 1 or len(added) != 1:
        return None
    if (removed[0], added[0]) in EQUIVALENT_CHANGES:
        return EQUIVALENT_CHANGES[(removed[0], added[0])]
    for argument, spellings, reason in EQUIVALENT_ARGUMENTS:
        if any(variant == added[0] for other in spellings
               for variant in _each_replacement(removed[0], argument, other)):
            return reason
    for old, new, reason in EQUIVALENT:
        if re.search(old, removed[0]) and re.search(new, added[0]):
            return reason
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1, help="mutmut worker processes")
    parser.add_argument("patterns", nargs="*", default=list(DEFAULT_PATTERNS))
    parser.add_argument("--sample", type=float, default=1.0,
                        help="share of each module's mutants to run (default: all)")
    parser.add_argument("--report-only", action="store_true",
                        help="print the last run's results without running mutmut")
    args = parser.parse_args()
    if args.report_only:
        return summary(tuple(args.patterns), 0.0, 0, args.sample)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # mutmut sets the path
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    start = time.monotonic()
    targets = list(args.patterns)
    if args.sample < 1.0:
        if not results(tuple(args.patterns)):
            _generate()
        codes = results(tuple(args.patterns))
        # A killed mutant stays killed when only tests are added; mutmut itself resets the
        # results of a function whose source changed. Survivors run again.
        targets = [n for n in sampled(list(codes), args.sample) if codes[n] not in KILLED]
        print(f"running {len(targets)} sampled mutants ({args.sample:.0%} of each module)")
        if not targets:
            return summary(tuple(args.patterns), 0.0, 0, args.sample)
    run = subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children",
                          str(args.jobs), *targets], cwd=ROOT, env=env,
                         stdout=subprocess.DEVNULL)
    return summary(tuple(args.patterns), (time.monotonic() - start) / 60, run.returncode,
                   args.sample)


def summary(patterns: tuple[str, ...], minutes: float, returncode: int,
            share: float = 1.0) -> int:
    """Print equivalents, survivors (with their diffs) and the score of ``patterns``' mutants
    (of the sampled ones when ``share`` < 1), per module and over all."""
    codes = results(patterns)
    if share < 1.0:
        codes = {n: codes[n] for n in sampled(list(codes), share)}
    killed = sorted(n for n, c in codes.items() if c in KILLED)
    survivors = sorted(n for n, c in codes.items() if c in SURVIVED)
    other = sorted(n for n, c in codes.items() if c not in KILLED | SURVIVED)
    changes = diffs(survivors)
    equivalent = {n: r for n in survivors if (r := equivalence(*changes[n])) is not None}
    survived = [n for n in survivors if n not in equivalent]
    for name, reason in equivalent.items():
        print(f"equivalent: {name} ({reason})")
    for name in survived:
        removed, added = changes[name]
        print(f"survived: {name}\n    - " + "\n    - ".join(removed) + "\n    + "
              + "\n    + ".join(added))
    for name in other:
        print(f"not decided ({codes[name]}): {name}")
    for module in sorted({_module(n) for n in codes}):
        k = sum(_module(n) == module for n in killed)
        s = sum(_module(n) == module for n in survived)
        print(f"  {module}: {k} killed, {s} survived"
              + (f" ({100 * k / (k + s):.1f}%)" if k + s else ""))
    decided = len(killed) + len(survived)
    score = 100 * len(killed) / decided if decided else float("nan")
    # Binomial standard error of a sampled score; none when every mutant ran.
    error = (f" ± {100 * math.sqrt(score / 100 * (1 - score / 100) / decided):.1f}"
             if share < 1.0 and decided else "")
    print(f"mutation score: {score:.1f}%{error} ({len(killed)} killed, {len(survived)} survived, "
          f"{len(equivalent)} equivalent, {len(other)} not decided) in {minutes:.1f} min"
          + (f", a {share:.0%} sample of each module" if share < 1.0 else ""))
    return returncode


if __name__ == "__main__":
    sys.exit(main())

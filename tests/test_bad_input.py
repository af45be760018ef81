"""Bad input never reaches a job: generated from the schemas, plus the cases seen by users.

The property test walks every numeric key of the top-level schema and of every experiment's
schema (scalars and array items) and checks that NaN, +-inf, a negative value (where the schema's
lower bound is >= 0), zero (where excluded) and an absurdly large value are each rejected by
:func:`companion.workflow.check_config` - what the workflow runs at parse time, before any job -
with the key's full path in the message. A new experiment's schema is covered without new cases.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from typing import Any

import pytest

from companion.config import ConfigError, load_config, schema
from companion.workflow import check_config

TINY = load_config("tiny")
HUGE = 10**15


def _numeric_keys(node: dict[str, Any], path: tuple[str, ...]) -> Iterator[tuple[tuple, dict]]:
    """``(path, numeric schema)`` of every number or integer under ``node``; ``"*"`` marks an
    array's items."""
    kind = node.get("type")
    if kind in ("number", "integer"):
        yield path, node
    elif kind == "array" and isinstance(node.get("items"), dict):
        yield from _numeric_keys(node["items"], (*path, "*"))
    elif kind == "object":
        for key, sub in node.get("properties", {}).items():
            yield from _numeric_keys(sub, (*path, key))


def _bad_values(spec: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    integer = spec["type"] == "integer"
    yield "nan", math.nan
    yield "inf", math.inf
    yield "-inf", -math.inf
    low = spec.get("minimum", spec.get("exclusiveMinimum"))
    if low is not None and low >= 0:
        yield "negative", -1 if integer else -1.0
    if ("exclusiveMinimum" in spec and spec["exclusiveMinimum"] >= 0) or (
            "minimum" in spec and spec["minimum"] > 0):
        yield "zero", 0 if integer else 0.0
    yield "huge", HUGE if integer else float(HUGE)


def _cases() -> list[tuple[tuple, str, Any]]:
    cases = []
    for path, spec in _numeric_keys(schema(), ()):
        concrete = path if path[0] != "experiments" or path[1] in TINY["experiments"] else None
        if concrete is None:
            continue
        for name, value in _bad_values(spec):
            cases.append((path, name, value))
    return cases


CASES = _cases()


def _set(config: dict[str, Any], path: tuple, value: Any) -> str:
    """Put ``value`` at ``path`` (the last element for ``"*"``); return the dotted key path."""
    node, dotted = config, []
    for i, part in enumerate(path):
        last = i == len(path) - 1
        if part == "*":
            part = len(node) - 1
        dotted.append(str(part))
        if last:
            node[part] = value
        else:
            node = node[part]
    return ".".join(dotted)


def test_the_property_test_covers_every_experiment() -> None:
    covered = {p[1] for p, _, _ in CASES if p[0] == "experiments"}
    assert covered == set(TINY["experiments"])
    assert len(CASES) > 300


@pytest.mark.parametrize(("path", "name", "value"), CASES,
                         ids=[f"{'.'.join(p)}={n}" for p, n, _ in CASES])
def test_bad_number_is_rejected_naming_its_key(path: tuple, name: str, value: Any) -> None:
    config = copy.deepcopy(TINY)
    key = _set(config, path, value)
    with pytest.raises(ConfigError) as err:
        check_config(config)
    # The element's own path, or (for a cross-key check on a list) the list's.
    assert key in str(err.value) or key.rsplit(".", 1)[0] in str(err.value), str(err.value)


# ---------------------------------------------------------------- the cases users hit


def _rejected(exp: str, **values: Any) -> str:
    config = copy.deepcopy(TINY)
    config["experiments"][exp].update(values)
    with pytest.raises(ConfigError) as err:
        check_config(config)
    return str(err.value)


@pytest.mark.parametrize(("exp", "values", "named"), [
    ("double_descent_linear", {"r2": math.nan}, "double_descent_linear.r2: nan"),
    ("double_descent_linear", {"sigma2": math.inf}, "double_descent_linear.sigma2: inf"),
    ("double_descent_linear", {"gammas": [0.5, math.inf]}, "double_descent_linear.gammas.1"),
    ("gld_gibbs", {"potential": [0.0, math.nan, -0.5, 0.0, 0.25]}, "gld_gibbs.potential.1"),
    ("gld_gibbs", {"betas": [2.0, math.inf]}, "gld_gibbs.betas.1"),
    ("gld_gibbs", {"init_std": math.nan}, "gld_gibbs.init_std: nan"),
    ("gld_gibbs", {"kl_decay_factor": math.nan}, "gld_gibbs.kl_decay_factor"),
    ("ntk_lazy_vs_meanfield", {"lr": math.nan}, "ntk_lazy_vs_meanfield.lr"),
    ("ntk_lazy_vs_meanfield", {"lr": 2.0}, "ntk_lazy_vs_meanfield.lr"),
    ("ntk_spectrum_spectral_bias", {"lr": math.nan}, "ntk_spectrum_spectral_bias.lr"),
    ("ntk_spectrum_spectral_bias", {"odd_tol": math.nan}, "ntk_spectrum_spectral_bias.odd_tol"),
    ("double_descent_linear", {"rel_tol": math.inf}, "double_descent_linear.rel_tol"),
    ("ntk_lazy_vs_meanfield", {"widths": [32, 64, 10**9]}, "ntk_lazy_vs_meanfield.widths"),
    ("double_descent_linear", {"n": 10**7}, "double_descent_linear.n"),
    ("ntk_spectrum_spectral_bias", {"n_gram": 10**7}, "ntk_spectrum_spectral_bias.n_gram"),
    ("gld_gibbs", {"n_bins": 10**9}, "gld_gibbs.n_bins"),
    ("gld_gibbs", {"potential": [0.0, 0.0, 1e-300]}, "gld_gibbs.potential"),
])
def test_reported_cases_are_rejected_naming_the_key(exp: str, values: dict, named: str) -> None:
    assert named in _rejected(exp, **values)


def test_memory_bound_names_key_estimate_limit_and_fix() -> None:
    msg = _rejected("ntk_lazy_vs_meanfield", widths=[32, 64, 4_000_000])
    assert "experiments.ntk_lazy_vs_meanfield.widths: the train job would need about" in msg
    assert "mem_mb = 2,000 MB" in msg and "--set-resources train:mem_mb=" in msg
    config = copy.deepcopy(TINY)
    config["experiments"]["ntk_lazy_vs_meanfield"]["widths"] = [32, 64, 4_000_000]
    check_config(config, {"train": 100_000})  # enough memory given on the command line


def test_memory_estimates_fit_every_preset() -> None:
    for preset in ("tiny", "default", "full"):
        check_config(load_config(preset))


def test_number_written_as_yaml_string_gets_a_hint() -> None:
    msg = _rejected("gld_gibbs", relax_tol="1e-3")
    assert "gld_gibbs.relax_tol: '1e-3' is not of type number (YAML reads '1e-3'" in msg
    assert "1.0e-3" in msg


@pytest.mark.workflow
@pytest.mark.parametrize(("yaml_text", "named"), [
    ("experiments:\n  double_descent_linear: {r2: .nan}\n",
     "experiments.double_descent_linear.r2: nan is not a finite number"),
    ("experiments:\n  ntk_lazy_vs_meanfield: {widths: [32, 64, 4000000]}\n",
     "experiments.ntk_lazy_vs_meanfield.widths: the train job would need about"),
])
def test_the_workflow_rejects_before_any_job(tmp_path, yaml_text: str, named: str) -> None:
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml_text)
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1",
                           "--directory", str(tmp_path), "--snakefile", str(repo / "Snakefile"),
                           "--configfile",
                           str(repo / "config.yaml"), str(repo / "presets" / "tiny.yaml"),
                           str(bad)],
                          cwd=repo, capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and named in out and "(no job was started)" in out, out

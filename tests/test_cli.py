"""``python -m companion``: one experiment without Snakemake, and clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from companion.experiments import EXPERIMENTS

REPO = Path(__file__).resolve().parents[1]


def companion(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "companion", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def test_run_one_experiment_with_overrides(tmp_path: Path) -> None:
    proc = companion("run", "double_descent_linear", "--preset", "tiny", "--seeds", "1",
                     "--set", "gammas=[0.5, 2.0]", "--threads", "1", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["experiment"] == "double_descent_linear"
    assert metrics["config"]["gammas"] == [0.5, 2.0]
    assert metrics["seeds"] == [0]
    assert metrics["series"]["gamma"] == [0.5, 2.0]
    for claim in metrics["claims"]:
        assert {"id", "passed", "measured", "expected"} <= set(claim)
        assert f"{claim['id']}:" in proc.stdout


def test_run_may_use_the_audit_pools_seeds(tmp_path: Path) -> None:
    """`run` runs no audit: an audited experiment can be run by hand on the fresh seeds."""
    from companion import cli
    from companion.audit import audit_pool, audited
    from companion.config import load_config

    config = load_config("tiny")
    exp_id = audited(config)[0]
    seed = audit_pool(config)[0]
    assert cli.main(["run", exp_id, "--preset", "tiny", "--set", f"seeds=[{seed}]",
                     "--threads", "1", "--out", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "metrics.json").read_text())["seeds"] == [seed]


def test_unknown_override_key_is_named(tmp_path: Path) -> None:
    proc = companion("run", "gld_gibbs", "--preset", "tiny", "--set", "betta=[1.0]",
                     "--out", str(tmp_path))
    assert proc.returncode == 2
    assert "experiments.gld_gibbs.betta: unknown key; allowed:" in proc.stderr
    assert not (tmp_path / "metrics.json").exists()


def test_invalid_override_value_is_rejected_before_running(tmp_path: Path) -> None:
    proc = companion("run", "gld_gibbs", "--preset", "tiny", "--set", "n_chains=-3",
                     "--out", str(tmp_path))
    assert proc.returncode == 2
    assert "experiments.gld_gibbs.n_chains: -3 is out of range" in proc.stderr
    assert not any(tmp_path.iterdir())


def test_list_and_validate() -> None:
    assert companion("list").stdout.split() == list(EXPERIMENTS)
    proc = companion("validate", "--preset", "full")
    assert proc.returncode == 0 and "valid" in proc.stdout


def test_experiment_checks_run_outside_the_workflow_too(tmp_path: Path) -> None:
    # A constraint the schema cannot express (D1 records its chains in 8 groups).
    proc = companion("run", "gld_gibbs", "--preset", "tiny", "--set", "n_chains=1001",
                     "--out", str(tmp_path / "d1"))
    assert proc.returncode == 2
    assert "experiments.gld_gibbs.n_chains: must be a multiple of 16" in proc.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("experiments:\n  gld_gibbs:\n    n_chains: 1001\n")
    proc = companion("validate", "--preset", "tiny", "--configfile", str(bad))
    assert proc.returncode == 2 and "must be a multiple of 16" in proc.stderr

"""No stray files, one writer per --out, divergence as a failed verdict, clear CLI errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from companion import divergence, pipeline
from companion.config import load_config
from companion.io import DirectoryLocked, directory_lock, write_text

REPO = Path(__file__).resolve().parents[1]

_WRITER = """
import sys, time
from companion.io import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    tmp.write_text("half")
    print("writing", flush=True)
    time.sleep(60)
"""


def test_sigterm_mid_write_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "seed0.npz"
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(target)], stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert proc.stdout.readline().strip() == "writing"
    assert len(list(tmp_path.iterdir())) == 1  # the temporary exists while writing
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == -signal.SIGTERM
    assert list(tmp_path.iterdir()) == []


def test_stale_temporaries_of_a_killed_writer_are_removed(tmp_path: Path) -> None:
    stale = tmp_path / ".metrics.json.abc123.json"
    stale.write_text("left by SIGKILL")
    other = tmp_path / ".other.json.x.json"
    other.write_text("someone else's")
    write_text(tmp_path / "metrics.json", "{}")
    assert not stale.exists() and other.exists()
    assert (tmp_path / "metrics.json").read_text() == "{}"


def test_a_second_run_into_the_same_out_is_refused(tmp_path: Path) -> None:
    with directory_lock(tmp_path):
        with pytest.raises(DirectoryLocked, match=f"--out {tmp_path}: another run"):
            with directory_lock(tmp_path):
                pass
    with directory_lock(tmp_path):  # released with its holder
        pass


def test_first_nonfinite_says_where_and_how_many() -> None:
    loss = np.ones((4, 2, 4))  # (records, scalings, widths)
    loss[2:, 1, 3] = np.nan
    div = divergence.first_nonfinite(loss, [0, 10, 20, 30], "training loss")
    assert div == {"step": 20, "share": 0.125, "what": "training loss"}
    assert divergence.first_nonfinite(np.ones((3, 2)), [0, 1, 2], "x") is None


def test_b6_near_its_step_limit_fails_as_diverged(tmp_path: Path) -> None:
    cfg = load_config("tiny")["experiments"]["ntk_lazy_vs_meanfield"]
    cfg["lr"] = 1.8  # valid (< 2), but a finite-width net overshoots
    metrics = pipeline.run_all("ntk_lazy_vs_meanfield", cfg, [0], "cpu", 1, tmp_path,
                               langs=("en",))
    assert metrics["divergence"]["reason"] == "diverged"
    assert "training loss non-finite from step" in metrics["divergence"]["runs"][0]
    assert metrics["claims"] and all(not c["passed"] and c["reason"] == "diverged"
                                     for c in metrics["claims"])
    text = (tmp_path / "metrics.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert (tmp_path / "figures" / "en" / "movement.svg").exists()


def test_d1_chains_that_blow_up_fail_as_diverged(tmp_path: Path) -> None:
    cfg = load_config("tiny")["experiments"]["gld_gibbs"]
    cfg.update(etas=[0.05, 1.5], init_std=1.0, n_steps=200, record_every=10)  # past check()
    metrics = pipeline.run_all("gld_gibbs", cfg, [0], "cpu", 1, tmp_path)
    assert "chain state non-finite" in metrics["divergence"]["runs"][0]
    assert all(c["reason"] == "diverged" and not c["passed"] for c in metrics["claims"])
    json.loads((tmp_path / "metrics.json").read_text())


def _companion(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "companion", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_cli_errors_are_one_line_not_tracebacks(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("experiments:\n  gld_gibbs: {n_bins: [1,\n")
    cases = {
        ("--configfile", str(tmp_path / "missing.yaml")): "missing.yaml: no such file",
        ("--configfile", str(bad)): f"{bad}, line 3",
        ("--set", "betas=[1,"): "--set 'betas=[1,', line 1",
        ("--set", "n_bins=1e9"): "YAML reads '1e9' as a string",
    }
    for extra, expected in cases.items():
        proc = _companion("run", "gld_gibbs", "--preset", "tiny", *extra,
                          "--out", str(tmp_path / "out"))
        assert proc.returncode == 2, proc.stderr
        assert expected in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_cuda_asked_for_but_absent_names_device_and_what_was_found(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    proc = _companion("run", "gld_gibbs", "--preset", "tiny", "--device", "cuda",
                      "--out", str(tmp_path))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"device: 'cuda' was asked for, but torch {torch.__version__}" in proc.stderr


def test_lock_is_released_after_a_run(tmp_path: Path) -> None:
    start = time.monotonic()
    proc = _companion("run", "ntk_lazy_vs_meanfield", "--preset", "tiny", "--threads", "1",
                      "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    with directory_lock(tmp_path):
        pass
    assert time.monotonic() - start < 60


def test_conda_env_lists_exactly_the_pinned_requirements() -> None:
    import yaml

    env = yaml.safe_load((REPO / "envs" / "companion.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pinned = [line.strip() for line in (REPO / "requirements.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    assert pip == pinned

"""Code no other test reached: the registry's and the pipeline's errors, the device helpers and
the benchmark (a tiny run: the batched engine and the loop must reach the same losses)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from companion import bench, experiments, pipeline
from companion.config import ConfigError
from companion.device import check_device, resolve_device, set_threads
from companion.io import write_json, write_npz


def test_unknown_experiment_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="unknown experiment 'nope'; known: universal_approx, "):
        experiments.get("nope")
    assert experiments.get("gld_gibbs").ID == "gld_gibbs"


def _one_run(tmp_path: Path) -> Path:
    run = tmp_path / "runs" / "seed0.npz"
    write_npz(run, {"x": np.zeros(2)})
    write_json(run.with_suffix(".json"), {"seed": 0, "device": "cpu", "wall_s": 0.1,
                                          "versions": {}, "scalars": {}, "divergence": None})
    return run


def test_run_metrics_refuses_a_claim_without_its_verdict(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    module = experiments.get("gld_gibbs")
    monkeypatch.setattr(module, "summarize", lambda cfg, runs: {
        "claims": [{"id": "D1.x", "measured": 1.0, "expected": 1.0}]})
    with pytest.raises(ValueError, match=r"claim 'D1.x' lacks \['passed'\]"):
        pipeline.run_metrics("gld_gibbs", {}, [_one_run(tmp_path)], tmp_path / "m.json")


def test_run_figures_refuses_a_missing_figure(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    module = experiments.get("gld_gibbs")
    first, *rest = module.FIGURES
    write_json(tmp_path / "m.json", {"claims": []})

    def draw_all_but_first(metrics, lang, outdir):
        return [Path(outdir) / f"{name}.svg" for name in rest]

    monkeypatch.setattr(module, "figures", draw_all_but_first)
    with pytest.raises(RuntimeError, match=f"did not write .*{first}.svg"):
        pipeline.run_figures("gld_gibbs", tmp_path / "m.json", "en", tmp_path / "fig")


def test_device_helpers(monkeypatch: pytest.MonkeyPatch) -> None:
    before = torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    set_threads(0)  # below one means one
    assert os.environ["OMP_NUM_THREADS"] == "1" and torch.get_num_threads() == 1
    torch.set_num_threads(before)
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="'tpu' is not one of auto, cpu, cuda"):
        resolve_device("tpu")
    with pytest.raises(ConfigError, match="'tpu' is not one of"):
        check_device("tpu")
    check_device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="sees no CUDA device"):
            check_device("cuda")
        with pytest.raises(RuntimeError, match="sees no CUDA device"):
            resolve_device("cuda")


def test_step_kernel_flops_are_two_m_k_n_per_model() -> None:
    kernels = bench.step_kernels(models=3, n=5, d=7, width=11)
    assert [k["flops"] for k in kernels] == [2 * 3 * 5 * 7 * 11, 2 * 3 * 5 * 11, 2 * 3 * 5 * 11,
                                             2 * 3 * 5 * 7 * 11]


def test_a_tiny_benchmark_agrees_and_reports(tmp_path: Path, capsys) -> None:
    out = tmp_path / "bench.json"
    assert bench.main(["--", "--models", "3", "--width", "8", "--n", "16", "--d", "3",
                       "--steps", "5", "--threads", "1", "--peak-size", "64",
                       "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    # The engine and the per-model loop train the same nets from the same weights.
    assert result["max_final_loss_rel_diff"] < 1e-4
    assert result["autograd_vs_closed_form_loss_diff"] < 1e-5
    assert result["ratio"] == pytest.approx(result["loop_s"] / result["batched_s"])
    assert result["step_matmul_flops"] == sum(k["flops"] for k in bench.step_kernels(3, 16, 3, 8))
    printed = capsys.readouterr().out
    assert "ratio loop / batched" in printed and f"wrote {out}" in printed
    text = bench.report(dict(result, ratio=bench.TARGET_RATIO - 1))
    assert "BELOW target" in text.splitlines()[5]
    assert "meets target" in bench.report(dict(result, ratio=bench.TARGET_RATIO)).splitlines()[5]


def test_sweep_section_is_reported() -> None:
    args = SimpleNamespace(models=2, width=4, n=8, d=2, steps=2, threads=1, device="cpu",
                           peak_size=32, sweep=False)
    result = bench.run_benchmark(args)
    result["sweep"] = {"widths": [4, 64], "models_per_width": 2, "steps": 3,
                       "padded_ensembles": 1, "padded_s": 1.0, "grouped_ensembles": 2,
                       "grouped_s": 0.5, "padded_over_grouped": 2.0}
    assert "padded/grouped 2.00" in bench.report(result)

"""B4 compression: the tiny preset end to end, the verdicts on synthetic runs (each claim's mutant
fails) and the configuration checks."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from companion.config import ConfigError, experiment_section, load_config
from companion.experiments import compression as b4
from companion.theory import compression as cp

from experiment_helpers import run_tiny, tiny_section


@pytest.fixture(scope="module")
def tiny() -> dict:
    return tiny_section(b4)


def test_tiny_preset_end_to_end(tiny: dict, tmp_path) -> None:
    metrics = run_tiny(b4, tiny, tmp_path)
    assert [c["id"] for c in metrics["claims"]] == ["B4.compressible_size_small",
                                                    "B4.accuracy_kept"]
    table = metrics["table"]
    assert table["columns"] == ["layer", "original", "compressible", "dof", "lam"]
    assert [r[0] for r in table["rows"]] == list(range(1, tiny["depth"] + 1))
    for _, original, kept, dof, lam in table["rows"]:
        assert 1 <= kept <= original and dof <= kept  # kept = ceil(N(lambda)) <= width
        assert 0 < lam < 1
    series = metrics["series"]
    cov = np.asarray(series["cov_spectrum"])
    assert np.all(np.diff(cov, axis=1) <= 1e-12)  # eigenvalues in decreasing order
    # Along the grid a larger penalty keeps fewer units and the bias term grows.
    assert np.all(np.diff(series["grid_fraction"]) <= 0)
    assert np.all(np.diff(series["grid_bias"]) > 0)
    assert np.all(np.diff(series["grid_estimation"]) <= 0)


def test_the_rule_balances_every_layer_on_the_units_below_it() -> None:
    rng = np.random.default_rng(4)
    d, width, n = 6, 24, 400
    layers = [rng.standard_normal((width, d)), rng.standard_normal((width, width)) / 5,
              rng.standard_normal((1, width))]
    x = rng.standard_normal((n, d))
    result = b4.prune_network(layers, x)
    fans = [d, result["kept"][0] + 1]  # the last hidden layer also carries the output weights
    h = np.maximum(x @ layers[0].T, 0.0)
    eigs = np.linalg.eigvalsh(cp.covariance(h))
    assert result["lam_rel"][0] == pytest.approx(cp.balanced_lambda(eigs, fans[0], n), rel=1e-12)
    assert result["kept"][0] == cp.compressed_size(eigs / eigs.sum(), result["lam_rel"][0])
    # The balance itself: sqrt(r) = sqrt(fan N(r) / n) in both layers.
    for ell in range(2):
        r, dof = result["lam_rel"][ell], result["dof"][ell]
        assert r == pytest.approx(fans[ell] * dof / n, rel=1e-9)
    scaled = b4.prune_network(layers, x, lam_scale=10.0)
    assert scaled["lam_rel"][0] == pytest.approx(10 * result["lam_rel"][0], rel=1e-12)
    assert scaled["kept"][0] <= result["kept"][0]
    fixed = b4.prune_network(layers, x, lam_rel=1e-3, spectra=False)
    assert fixed["lam_rel"] == [1e-3, 1e-3] and fixed["cov_eigs"] == []


def _fake_runs(cfg: dict, kept_frac: float = 0.2, drop: float = 0.0) -> list:
    """Runs of the law the claims state (sizes ``kept_frac`` of the width, accuracy falls by
    ``drop``) on a grid whose sizes halve and whose drops double at every step."""
    width, depth, nets = int(cfg["width"]), int(cfg["depth"]), 2
    grid = len(cfg["lam_grid"])
    runs = []
    for _ in cfg["seeds"]:
        kept = np.full((nets, depth), round(kept_frac * width), dtype=float)
        spectrum = np.tile(1.0 / np.arange(1, width + 1) ** 2, (nets, depth, 1))
        grid_kept = np.tile(np.maximum(1, width // 2 ** np.arange(grid))[None, :, None],
                            (nets, 1, depth)).astype(float)
        grid_after = 0.95 - np.tile(1e-3 * 2.0 ** np.arange(grid), (nets, 1))
        runs.append(({"kept": kept, "dof": kept - 0.5, "lam_rel": np.full((nets, depth), 0.01),
                      "acc_before": np.full(nets, 0.95), "acc_after": np.full(nets, 0.95 - drop),
                      "train_acc_before": np.ones(nets), "train_acc_after": np.full(nets, 0.9),
                      "train_loss": np.full(nets, 1e-3), "cov_eigs": spectrum,
                      "weight_svals": spectrum, "grid_kept": grid_kept,
                      "grid_acc_after": grid_after}, {}))
    return runs


def _claims(cfg: dict, **kw) -> dict[str, dict]:
    return {c["id"]: c for c in b4.summarize(cfg, _fake_runs(cfg, **kw))["claims"]}


def _verdicts(cfg: dict, **kw) -> dict[str, bool]:
    return {k: c["passed"] for k, c in _claims(cfg, **kw).items()}


def test_verdicts_follow_the_numbers() -> None:
    cfg = experiment_section(load_config(), b4.ID)
    assert all(_verdicts(cfg).values())
    big = _verdicts(cfg, kept_frac=0.6)
    assert not big["B4.compressible_size_small"] and big["B4.accuracy_kept"]
    lossy = _verdicts(cfg, drop=0.02)
    assert not lossy["B4.accuracy_kept"] and lossy["B4.compressible_size_small"]
    assert _verdicts(cfg, drop=0.005)["B4.accuracy_kept"]
    # At the limits themselves both claims hold (<=).
    at_limit = _verdicts(cfg, kept_frac=0.5, drop=0.01)
    assert at_limit["B4.compressible_size_small"]


def test_measured_values_and_context_are_pinned() -> None:
    cfg = experiment_section(load_config(), b4.ID)
    width, depth, d, n = (int(cfg[k]) for k in ("width", "depth", "d", "n"))
    claims = _claims(cfg, kept_frac=0.6, drop=0.02)
    size, acc = claims["B4.compressible_size_small"], claims["B4.accuracy_kept"]
    kept = round(0.6 * width)
    assert size["measured"] == pytest.approx(kept / width, rel=1e-12)
    assert (size["expected"], size["relation"]) == (cfg["max_fraction"], "<=")
    assert size["context"]["kept_worst"] == kept and size["context"]["layer_worst"] == 1
    assert size["context"]["nets"] == 2 * len(cfg["seeds"])
    assert size["context"]["lam_per_layer"] == pytest.approx([0.01] * depth)
    assert size["context"]["dof_per_layer"] == pytest.approx([kept - 0.5] * depth)
    assert size["context"]["weights_per_point"] == pytest.approx(
        (d * width + (depth - 1) * width**2 + width) / n)
    assert acc["measured"] == pytest.approx(0.02, rel=1e-9)
    assert (acc["expected"], acc["relation"]) == (cfg["max_drop"], "<=")
    assert acc["context"]["acc_after_mean"] == pytest.approx(0.93)
    assert acc["context"]["train_acc_before_min"] == 1.0
    dims = [d] + [kept] * depth + [1]
    est = np.sqrt(sum(a * b for a, b in zip(dims[:-1], dims[1:], strict=False)) / n)
    assert acc["context"]["bound_estimation"] == pytest.approx(est, rel=1e-12)
    assert acc["context"]["bound_bias"] == pytest.approx(depth * 0.1, rel=1e-12)


def test_the_curve_is_the_claims_statistics_over_the_grid() -> None:
    cfg = experiment_section(load_config(), b4.ID)
    width, grid = int(cfg["width"]), len(cfg["lam_grid"])
    out = b4.summarize(cfg, _fake_runs(cfg))["series"]
    assert out["lam_grid"] == pytest.approx(cfg["lam_grid"])
    np.testing.assert_allclose(out["grid_fraction"],
                               np.maximum(1, width // 2 ** np.arange(grid)) / width)
    np.testing.assert_allclose(out["grid_drop"], 1e-3 * 2.0 ** np.arange(grid), rtol=1e-9)
    np.testing.assert_allclose(out["grid_drop_mean"], out["grid_drop"], rtol=1e-9)
    np.testing.assert_allclose(out["grid_bias"],
                               int(cfg["depth"]) * np.sqrt(cfg["lam_grid"]), rtol=1e-12)
    assert out["train_acc_after"] == pytest.approx(0.9)


@pytest.mark.parametrize(("change", "message"), [
    ({"teacher_directions": 3, "d": 2}, "orthonormal"),
    ({"parameterisation": "mean_field", "depth": 2}, "mean_field"),
    ({"lam_grid": [1e-3, 1e-4]}, "lam_grid"),
    ({"lam_grid": [1e-3, 1e-3]}, "strictly increasing"),
])
def test_check_rejects(tiny: dict, change: dict, message: str) -> None:
    cfg = copy.deepcopy(tiny)
    cfg.update(change)
    with pytest.raises(ConfigError, match=message):
        b4.check(cfg)


def test_check_accepts_as_many_teacher_directions_as_dimensions(tiny: dict) -> None:
    cfg = copy.deepcopy(tiny)
    cfg.update({"teacher_directions": 2, "d": 2})
    b4.check(cfg)  # d orthonormal directions exist in d dimensions
    data = b4.generate(cfg, 0)
    assert all(np.all(np.isfinite(np.asarray(v, dtype=float))) for v in data.values()
               if np.asarray(v).dtype.kind in "fi")

"""A5 anisotropic_lowdim: the tiny preset end to end, the target, the verdicts on synthetic runs
(each claim can fail), one-seed summaries and the configuration checks."""

from __future__ import annotations

import copy

import jsonschema
import numpy as np
import pytest

from companion import config
from companion.config import ConfigError, experiment_section, load_config
from companion.experiments import anisotropic_lowdim as a5

from experiment_helpers import run_tiny, tiny_section


@pytest.fixture(scope="module")
def tiny() -> dict:
    return tiny_section(a5)


def test_tiny_preset_end_to_end(tiny: dict, tmp_path) -> None:
    metrics = run_tiny(a5, tiny, tmp_path)
    s = metrics["series"]
    for key in ("mse_lowdim", "mse_mlp", "mse_kernel", "ratio_kernel_lowdim"):
        assert len(s[key]) == len(tiny["dims"]), key
    assert [c["id"] for c in metrics["claims"]] == ["A5.kernel_ratio_grows",
                                                    "A5.lowdim_error_flat"]
    # Kernel ridge pays for every direction: its error rises with d even at this size.
    assert s["mse_kernel"][-1] > 5 * s["mse_kernel"][0]


@pytest.mark.parametrize("rank", [1, 2])
def test_target_has_unit_variance_and_depends_on_w_only(tiny: dict, rank: int) -> None:
    cfg = {**tiny, "rank": rank, "n": 20000, "sigma": 0.0, "dims": [3, 6, 9]}
    data = a5.generate(cfg, 0)
    assert np.var(data["y_6"]) == pytest.approx(1.0, abs=0.05)
    w = data["W_6"]
    np.testing.assert_allclose(w @ w.T, np.eye(rank), atol=1e-12)
    x = data["x_6"][:5]
    shifted = x + 3.0 * np.linalg.svd(w)[2][-1]  # a direction orthogonal to W's rows
    np.testing.assert_allclose(a5.link(shifted @ w.T), a5.link(x @ w.T), atol=1e-12)


def _fake_runs(dims, lowdim, kernel, mlp=None, seeds: int = 2) -> list:
    rng = np.random.default_rng(0)
    runs = []
    for _ in range(seeds):
        jitter = lambda: np.exp(0.02 * rng.standard_normal(len(dims)))  # noqa: E731
        runs.append(({"d": np.asarray(dims), "mse_lowdim": np.asarray(lowdim) * jitter(),
                      "mse_kernel": np.asarray(kernel) * jitter(),
                      "mse_mlp": np.asarray(mlp if mlp is not None else kernel) * jitter()}, {}))
    return runs


def test_verdicts_follow_the_numbers() -> None:
    cfg = experiment_section(load_config(), a5.ID)
    dims = [2, 4, 8, 16, 32]
    flat = [1e-3, 1.2e-3, 1.5e-3, 2e-3, 2.7e-3]
    growing = [1e-3 * d**1.5 for d in dims]
    good = a5.summarize(cfg, _fake_runs(dims, flat, growing))
    assert [c["passed"] for c in good["claims"]] == [True, True]
    # A kernel that degrades exactly as fast as the net: the ratio does not grow.
    same = a5.summarize(cfg, _fake_runs(dims, growing, [3 * v for v in growing]))
    assert same["claims"][0]["passed"] is False
    assert abs(same["claims"][0]["measured"]) < 0.05
    # The low-dim net's error growing 20x fails the flatness claim (the limit is 5).
    steep = a5.summarize(cfg, _fake_runs(dims, [1e-3 * 20 ** (k / 4) for k in range(5)],
                                         [1e-3 * d**3 for d in dims]))
    assert steep["claims"][0]["passed"] is True
    assert steep["claims"][1]["passed"] is False
    assert steep["claims"][1]["measured"] == pytest.approx(20, rel=0.1)


def test_one_seed_summary_has_no_nan() -> None:
    cfg = experiment_section(load_config(), a5.ID)
    dims = [2, 4, 8]
    one = a5.summarize(cfg, _fake_runs(dims, [1e-3] * 3, [1e-3, 1e-2, 1e-1], seeds=1))
    assert not a5.POOLED_ONLY
    assert one["series"]["mse_lowdim_sd"] == [None] * 3
    assert all(isinstance(c["passed"], bool) for c in one["claims"])


def test_sections_satisfy_the_schema() -> None:
    section_schema = config.schema()["properties"]["experiments"]["properties"][a5.ID]
    for preset in ("default", "tiny", "full"):
        section = experiment_section(load_config(preset), a5.ID)
        jsonschema.validate(section, section_schema)
        a5.check(section)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**experiment_section(load_config(), a5.ID), "rank": 3},
                            section_schema)


@pytest.mark.parametrize(("key", "value", "match"), [
    ("dims", [2, 4], r"dims: need at least 3"),
    ("dims", [4, 2, 8], r"dims: need at least 3 strictly increasing"),
    ("rank", 2, None),
    ("val_frac", 0.001, r"val_frac: n = 300 splits into 300 training and 0 validation"),
])
def test_check_names_the_bad_key(tiny: dict, key: str, value: object, match: str | None) -> None:
    cfg = copy.deepcopy(tiny)
    cfg[key] = value
    if match is None:  # rank 2 is valid with the smallest d = 2
        a5.check(cfg)
        cfg["dims"] = [1, 4, 8]
        match = r"dims: the smallest d = 1 is below rank = 2"
    with pytest.raises(ConfigError, match=r"experiments\.anisotropic_lowdim\." + match):
        a5.check(cfg)


def test_the_smallest_split_is_two_training_and_one_validation_point(tiny: dict) -> None:
    cfg = copy.deepcopy(tiny)
    cfg.update(n=3, val_frac=1 / 3)  # 2 + 1: the least a fit and its held-out check need
    try:
        a5.check(cfg)
    except ConfigError as err:  # only the split is under test here
        assert "val_frac" not in str(err), err
    cfg.update(n=2, val_frac=0.5)  # 1 + 1
    with pytest.raises(ConfigError, match=r"val_frac: n = 2 splits into 1 training and 1 "):
        a5.check(cfg)

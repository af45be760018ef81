"""A3 depth_regions: the tiny preset end to end, the verdicts on synthetic runs (each claim fails
when its rule is violated), and the configuration checks."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from companion import config
from companion.config import ConfigError, load_config
from companion.experiments import depth_regions as a3

from experiment_helpers import run_tiny, tiny_section

CLAIMS = ["A3.sawtooth_exact", "A3.random_regions_track_neurons", "A3.shallow_pieces_bound",
          "A3.shallow_error_lower_bound"]


@pytest.fixture(scope="module")
def tiny() -> dict:
    return tiny_section(a3)


def test_tiny_preset_end_to_end(tiny: dict, tmp_path) -> None:
    metrics = run_tiny(a3, tiny, tmp_path)
    s = metrics["series"]
    assert s["depth"] == [float(L) for L in tiny["depths"]]
    assert s["sawtooth_pieces"] == [float(2**L) for L in tiny["depths"]]
    assert len(s["regions_mean"]) == len(s["regions_std"]) == len(tiny["random_depths"])
    assert all(v is not None and v >= 0 for v in s["regions_std"])
    assert [c["id"] for c in metrics["claims"]] == CLAIMS
    by_id = {c["id"]: c for c in metrics["claims"]}
    assert by_id["A3.sawtooth_exact"]["passed"] and by_id["A3.shallow_pieces_bound"]["passed"]
    assert by_id["A3.shallow_error_lower_bound"]["passed"]


def _synthetic_run(tiny, growth=1.0, saw_error=0, extra_piece=0, few_sup=0.5, nets=3, seed=0):
    depths = np.asarray(tiny["depths"])
    rdepth = np.asarray([1, 2, 4, 8])
    rwidth = np.asarray([100, 30, 20, 14])
    neurons = rdepth * rwidth
    rng = np.random.default_rng(seed)
    mean = 0.8 * neurons * growth ** (rdepth - 1)
    line = mean[:, None] + rng.normal(0, 2, (rdepth.size, nets))
    widths = np.asarray([2, 3, 7, 12])
    saw = 2.0**depths
    saw[-1] += saw_error
    pieces = np.repeat((widths + 1)[:, None], 2, axis=1).astype(float)
    pieces[1, 0] += extra_piece
    sup = np.array([[few_sup, 0.6], [few_sup + 0.01, 0.7], [0.3, 0.4], [0.01, 0.2]])
    arrays = {
        "depth": depths, "sawtooth_regions": saw, "sawtooth_pieces": saw,
        "random_depth": rdepth, "random_width": rwidth, "line_regions": line,
        "slice_regions": 10 * line, "slice_regions_coarse": 8 * line,
        "fit_width": widths, "fit_sup": sup, "fit_mse": sup**2 / 3, "fit_pieces": pieces,
    }
    return arrays, {}


def _passed(tiny, runs):
    return [c["passed"] for c in a3.summarize(tiny, runs)["claims"]]


def test_verdicts_follow_the_numbers(tiny: dict) -> None:
    good = [_synthetic_run(tiny, seed=s) for s in (0, 1)]
    assert _passed(tiny, good) == [True, True, True, True]
    # Each violation fails exactly its own claim.
    assert _passed(tiny, [_synthetic_run(tiny, saw_error=1)]) == [False, True, True, True]
    assert _passed(tiny, [_synthetic_run(tiny, saw_error=-1)]) == [False, True, True, True]
    # Regions doubling per layer (exponential in depth) are not proportional to neurons.
    assert _passed(tiny, [_synthetic_run(tiny, growth=2.0)]) == [True, False, True, True]
    assert _passed(tiny, [_synthetic_run(tiny, extra_piece=1)]) == [True, True, False, True]
    assert _passed(tiny, [_synthetic_run(tiny, few_sup=0.49)]) == [True, True, True, False]
    # The ratio spread is the measured value, compared with the configured limit.
    claim = a3.summarize({**tiny, "ratio_spread_max": 1.0},
                         [_synthetic_run(tiny, nets=1)])["claims"][1]
    assert not claim["passed"] and claim["measured"] > 1.0 and claim["expected"] == 1.0


def test_diverged_fits_fail_without_breaking_the_json(tiny: dict) -> None:
    import json

    arrays, scalars = _synthetic_run(tiny)
    arrays["fit_sup"] = np.full_like(arrays["fit_sup"], np.nan)
    arrays["line_regions"] = np.zeros_like(arrays["line_regions"])
    summary = a3.summarize(tiny, [(arrays, scalars)])
    passed = {c["id"]: c["passed"] for c in summary["claims"]}
    assert not passed["A3.random_regions_track_neurons"]
    assert not passed["A3.shallow_error_lower_bound"]
    json.dumps(summary, allow_nan=False)


def test_one_seed_one_net_has_no_spread_and_no_crash(tiny: dict) -> None:
    summary = a3.summarize(tiny, [_synthetic_run(tiny, nets=1)])
    assert summary["series"]["regions_std"] == [None] * 4
    assert all(isinstance(c["passed"], bool) for c in summary["claims"])
    assert a3.POOLED_ONLY == {}


def test_check_schema_and_memory(tiny: dict) -> None:
    with pytest.raises(ConfigError, match=r"depth_regions\.depths"):
        a3.check({**tiny, "depths": [4, 2]})
    with pytest.raises(ConfigError, match=r"depth_regions\.params"):
        a3.check({**tiny, "params": 20, "random_depths": [1, 8]})
    full = load_config("tiny")
    config.validate(full)
    for key, value in (("slice_resolution", 10**6), ("depths", [1, 40]), ("fit_lr", -1.0)):
        broken = copy.deepcopy(full)
        broken["experiments"][a3.ID][key] = value
        with pytest.raises(ConfigError, match=key):
            config.validate(broken)
    mem = a3.peak_memory_mb(tiny)
    assert set(mem) == {"data", "train", "metrics"}
    big = a3.peak_memory_mb({**tiny, "slice_resolution": 2000})
    assert big["train"][0] > mem["train"][0] and big["train"][1] == "slice_resolution"

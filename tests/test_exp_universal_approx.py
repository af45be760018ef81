"""A1 universal_approx: the tiny preset end to end, the verdicts on synthetic runs (each claim fails
when its rule is violated), and the configuration checks."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from companion import config
from companion.config import ConfigError, load_config
from companion.experiments import universal_approx as a1
from companion.theory import approximation as theory

from experiment_helpers import run_tiny, tiny_section

CLAIMS = ["A1.construction_under_bound", "A1.trained_error_below_eps",
          "A1.trained_error_decreases", "A1.barron_under_bound", "A1.barron_rate_dimension_free"]


@pytest.fixture(scope="module")
def tiny() -> dict:
    return tiny_section(a1)


def test_tiny_preset_end_to_end(tiny: dict, tmp_path) -> None:
    metrics = run_tiny(a1, tiny, tmp_path)
    s = metrics["series"]
    assert s["width"] == [float(n) for n in tiny["widths"]]
    assert [c["id"] for c in metrics["claims"]] == CLAIMS
    # The construction check is exact: it holds at every configuration.
    assert metrics["claims"][0]["passed"]
    assert all(len(s[f"barron_l2_{d}"]) == len(tiny["barron_widths"]) for d in tiny["barron_dims"])


def _synthetic_run(tiny, rate=-0.5, barron_rate=-0.5, construct_factor=0.5, final=0.01,
                   barron_scale=0.05):
    widths = np.asarray(tiny["widths"], dtype=float)
    bound = theory.step_construction_bound(widths, tiny["steepness"], tiny["amplitude"],
                                           tiny["frequency"])
    bw = np.asarray(tiny["barron_widths"], dtype=float)
    curve = final * (widths / widths[-1]) ** rate
    x = np.linspace(0, 1, 9)
    arrays = {"width": widths, "x_eval": x, "f_eval": x, "barron_width": bw,
              "construction_sup": construct_factor * bound}
    for act in a1.ACTIVATIONS:
        arrays[f"sup_{act}"] = curve
        arrays[f"l2_{act}"] = curve / 3
        arrays[f"fit_{act}"] = np.tile(x, (widths.size, 1))
    for d in tiny["barron_dims"]:
        arrays[f"barron_l2_{d}"] = barron_scale * bw**barron_rate
    return arrays, {}


def _passed(tiny, **kw):
    return [c["passed"] for c in a1.summarize(tiny, [_synthetic_run(tiny, **kw)])["claims"]]


def test_verdicts_follow_the_numbers(tiny: dict) -> None:
    assert _passed(tiny) == [True] * 5
    assert _passed(tiny, construct_factor=1.01) == [False, True, True, True, True]
    assert _passed(tiny, final=tiny["eps"] * 1.01, rate=-0.5) == [True, False, True, True, True]
    assert _passed(tiny, rate=0.05) == [True, True, False, True, True]
    assert _passed(tiny, barron_scale=20.0) == [True, True, True, False, True]
    # A rate that degrades (slope -0.3 > -0.4) fails the dimension-free claim only.
    assert _passed(tiny, barron_rate=-0.3) == [True, True, True, True, False]
    # A diverged fit (non-finite errors) fails and stays plain JSON.
    arrays, scalars = _synthetic_run(tiny)
    arrays["sup_relu"] = np.full_like(arrays["sup_relu"], np.nan)
    arrays["l2_relu"] = np.full_like(arrays["l2_relu"], np.nan)
    claims = a1.summarize(tiny, [(arrays, scalars)])["claims"]
    assert not claims[1]["passed"] and not claims[2]["passed"]
    assert all(np.isfinite(c["measured"]) for c in claims)


def test_worst_seed_decides(tiny: dict) -> None:
    good = _synthetic_run(tiny)
    bad = _synthetic_run(tiny, barron_scale=20.0)
    assert [c["passed"] for c in a1.summarize(tiny, [good, bad])["claims"]][3] is False


def test_check_schema_and_memory(tiny: dict) -> None:
    with pytest.raises(ConfigError, match=r"universal_approx\.widths"):
        a1.check({**tiny, "widths": [8, 4]})
    with pytest.raises(ConfigError, match=r"universal_approx\.barron_widths"):
        a1.check({**tiny, "barron_widths": [4]})
    full = load_config("tiny")
    config.validate(full)
    for key, value in (("steepness", 0), ("n_train", 10**8), ("slope_max", 0.5)):
        broken = copy.deepcopy(full)
        broken["experiments"][a1.ID][key] = value
        with pytest.raises(ConfigError, match=key):
            config.validate(broken)
    mem = a1.peak_memory_mb(tiny)
    assert set(mem) == {"data", "train", "metrics"}
    assert a1.peak_memory_mb({**tiny, "barron_n_train": 10**7})["train"][1] == "barron_n_train"

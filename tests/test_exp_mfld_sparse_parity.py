"""D4 mfld_sparse_parity: the tiny preset end to end, the data, the verdicts on synthetic runs
(each claim can fail), one-seed summaries and the configuration checks."""

from __future__ import annotations

import copy

import jsonschema
import numpy as np
import pytest

from companion import config
from companion.config import ConfigError, experiment_section, load_config
from companion.experiments import mfld_sparse_parity as d4

from experiment_helpers import run_tiny, tiny_section


@pytest.fixture(scope="module")
def tiny() -> dict:
    return tiny_section(d4)


def test_tiny_preset_end_to_end(tiny: dict, tmp_path) -> None:
    metrics = run_tiny(d4, tiny, tmp_path)
    s = metrics["series"]
    assert np.asarray(s["error_mfld"]).shape == (len(tiny["dims"]), len(tiny["ns"]))
    assert [c["id"] for c in metrics["claims"]] == ["D4.mfld_needs_fewer_samples",
                                                    "D4.kernel_n_grows_faster"]
    # Both learn the parity at the largest n of the tiny sweep; MFLD does at n = 100 already.
    assert max(s["error_mfld"][i][-1] for i in range(len(tiny["dims"]))) < 0.05
    assert max(s["error_mfld"][i][2] for i in range(len(tiny["dims"]))) < 0.1


def test_labels_are_the_parity_of_the_first_k_coordinates(tiny: dict) -> None:
    data = d4.generate({**tiny, "k": 2}, 0)
    x, y = data["x_8_50"], data["y_8_50"]
    assert set(np.unique(x)) == {-1.0, 1.0}
    np.testing.assert_array_equal(y, x[:, 0] * x[:, 1])
    assert abs(y.mean()) < 0.4  # balanced classes


def test_monomial_count() -> None:
    assert [d4.monomial_count(d, 3) for d in (12, 16, 20)] == [299, 697, 1351]


def _runs(ns, err_mfld, err_kernel, seeds: int = 2) -> list:
    dims = [10, 13, 16]
    out = []
    for s in range(seeds):
        jitter = 0.002 * s
        out.append(({"d": np.asarray(dims), "n": np.asarray(ns),
                     "error_mfld": np.asarray(err_mfld) + jitter,
                     "error_gaussian": np.asarray(err_kernel) + jitter,
                     "error_laplace": np.asarray(err_kernel) + 0.1}, {}))
    return out


def _step(ns, at):
    """Error rows that drop from 0.4 to 0 at the given n per d."""
    return [[0.4 if n < a else 0.0 for n in ns] for a in at]


NS = [50, 100, 200, 400, 800]


def test_verdicts_follow_the_numbers() -> None:
    cfg = experiment_section(load_config(), d4.ID)
    good = d4.summarize(cfg, _runs(NS, _step(NS, [50, 50, 100]), _step(NS, [200, 400, 800])))
    assert [c["passed"] for c in good["claims"]] == [True, True]
    assert good["series"]["required_n_kernel"] == [200.0, 400.0, 800.0]
    # The kernel first at one d: claim 1 fails there.
    tie = d4.summarize(cfg, _runs(NS, _step(NS, [50, 200, 100]), _step(NS, [200, 200, 800])))
    assert tie["claims"][0]["passed"] is False
    assert tie["claims"][0]["measured"] == 2.0
    # Both grow alike (slopes equal): claim 2 fails, claim 1 still holds.
    alike = d4.summarize(cfg, _runs(NS, _step(NS, [50, 100, 200]), _step(NS, [100, 200, 400])))
    assert [c["passed"] for c in alike["claims"]] == [True, False]
    assert alike["claims"][1]["measured"] == pytest.approx(0.0, abs=1e-9)
    # A slope gap just below the configured one fails (the kernel's n grows like d^0.996, MFLD's
    # is flat), and the same run passes a gap of 0.99: the comparison is >=, against the config.
    grid = [50, 100, 127, 160, 400]
    runs = _runs(grid, _step(grid, [100, 100, 100]), _step(grid, [100, 127, 160]))
    near = d4.summarize({**cfg, "slope_gap_min": 1.0}, runs)
    assert near["claims"][1]["measured"] == pytest.approx(0.996, abs=1e-3)
    assert near["claims"][1]["passed"] is False
    assert d4.summarize({**cfg, "slope_gap_min": 0.99}, runs)["claims"][1]["passed"] is True


def test_kernel_never_reaching_the_target() -> None:
    cfg = experiment_section(load_config(), d4.ID)
    # Not reached at the largest d only: a lower bound there, the claims can still pass.
    runs = _runs(NS, _step(NS, [50, 50, 100]), _step(NS, [100, 400, 10**6]))
    out = d4.summarize(cfg, runs)
    assert out["series"]["required_n_kernel"] == [100.0, 400.0, None]
    assert [c["passed"] for c in out["claims"]] == [True, True]
    assert out["claims"][1]["context"]["kernel_lower_bound"] is True
    # MFLD never reaching it at some d fails both claims.
    bad = d4.summarize(cfg, _runs(NS, _step(NS, [50, 10**6, 100]), _step(NS, [100, 400, 800])))
    assert [c["passed"] for c in bad["claims"]] == [False, False]


def test_the_better_kernel_is_reported() -> None:
    cfg = experiment_section(load_config(), d4.ID)
    runs = _runs(NS, _step(NS, [50, 50, 100]), _step(NS, [200, 400, 800]))
    for arrays, _ in runs:  # the Laplace kernel better at d = 10
        arrays["error_laplace"] = np.asarray(_step(NS, [100, 10**6, 10**6]), dtype=float)
    out = d4.summarize(cfg, runs)
    assert out["series"]["required_n_kernel"][0] == 100.0
    assert out["series"]["kernel_choice"][0][1] == "laplace"


def test_one_seed_summary_has_no_nan() -> None:
    cfg = experiment_section(load_config(), d4.ID)
    one = d4.summarize(cfg, _runs(NS, _step(NS, [50, 50, 100]), _step(NS, [200, 400, 800]),
                                  seeds=1))
    assert not d4.POOLED_ONLY
    assert one["series"]["error_mfld_sd"][0] == [None] * len(NS)
    assert all(isinstance(c["passed"], bool) for c in one["claims"])


def test_sections_satisfy_the_schema() -> None:
    section_schema = config.schema()["properties"]["experiments"]["properties"][d4.ID]
    for preset in ("default", "tiny", "full"):
        section = experiment_section(load_config(preset), d4.ID)
        jsonschema.validate(section, section_schema)
        d4.check(section)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**experiment_section(load_config(), d4.ID), "error_target": 0.7},
                            section_schema)


@pytest.mark.parametrize(("key", "value", "match"), [
    ("dims", [10, 8], r"dims: must be strictly increasing"),
    ("ns", [50, 25], r"ns: must be strictly increasing"),
    ("k", 9, r"k: the parity's order k = 9 exceeds the smallest d = 8"),
    ("val_frac", 0.01, r"val_frac: the smallest n = 25 splits into 25 training and 0"),
])
def test_check_names_the_bad_key(tiny: dict, key: str, value: object, match: str) -> None:
    cfg = copy.deepcopy(tiny)
    cfg[key] = value
    with pytest.raises(ConfigError, match=r"experiments\.mfld_sparse_parity\." + match):
        d4.check(cfg)

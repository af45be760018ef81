"""B3 norm_bounds: the tiny preset end to end, the data, the verdicts on synthetic runs (each
claim's mutant fails) and the configuration checks."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from companion.config import ConfigError, experiment_section, load_config
from companion.experiments import norm_bounds as b3
from companion.theory import norm_bounds as nb

from experiment_helpers import run_tiny, tiny_section

IDS = ["B3.criterion_reached", "B3.vc_grows_with_width", "B3.spectral_flat_in_width",
       "B3.pac_bayes_width_only_explicit", "B3.frobenius_flat_in_width",
       "B3.test_error_falls_with_n", "B3.spectral_grows_while_error_falls"]


@pytest.fixture(scope="module")
def tiny() -> dict:
    return tiny_section(b3)


def test_tiny_preset_end_to_end(tiny: dict, tmp_path) -> None:
    metrics = run_tiny(b3, tiny, tmp_path)
    assert [c["id"] for c in metrics["claims"]] == IDS
    s = metrics["series"]
    # Every net was measured at the criterion: its smallest training margin is at least the target.
    assert min(s["width_margin"] + s["n_margin"]) >= tiny["margin_target"]
    assert len(s["width_spectral"]) == len(tiny["widths"]) and len(s["n_vc"]) == len(tiny["ns"])


def test_data_are_separated_by_the_gap(tiny: dict) -> None:
    data = b3.generate(tiny, 0)
    proj = data["x"] @ data["teacher"].T
    assert np.abs(proj).min() >= tiny["gap"]
    np.testing.assert_array_equal(data["y"], np.prod(np.sign(proj), axis=1))
    assert 0.3 < (data["y"] > 0).mean() < 0.7
    # The size sweep's pool has its own band: none at the preset, so points come closer to the
    # teacher's hyperplanes than the width sweep's band allows.
    proj_n = data["x_n"] @ data["teacher"].T
    assert len(data["y_n"]) == max(tiny["ns"]) and len(data["y_test_n"]) == tiny["n_test"]
    np.testing.assert_array_equal(data["y_n"], np.prod(np.sign(proj_n), axis=1))
    assert tiny["gap_n"] == 0.0 and np.abs(proj_n).min() < tiny["gap"]
    banded = b3.generate({**tiny, "gap_n": 0.3}, 0)
    assert np.abs(banded["x_test_n"] @ banded["teacher"].T).min() >= 0.3
    # The width sweep's data do not depend on the size sweep's band.
    np.testing.assert_array_equal(banded["x"], data["x"])


def _fake_runs(cfg: dict, spectral_width_slope: float = 0.0, spectral_n_slope: float = 0.3,
               error_n_slope: float = -1.0, reached: float = 1.0, pac_width_slope: float = 0.5,
               lipschitz_n_slope: float = 0.8) -> list:
    """Runs whose every quantity follows a power law of the width or of n (2 % noise): by
    default the laws the claims state (norm bounds flat in the width, the PAC-Bayes bound like
    sqrt(W), the spectral bound and the Lipschitz constant per margin rising in n, the error
    falling)."""
    widths = np.asarray(sorted(cfg["widths"]), float)
    ns = np.asarray(sorted(cfg["ns"]), float)
    rng = np.random.default_rng(0)
    reps = 2

    def per_point(x, slope, scale=1.0):
        v = scale * (x / x[0]) ** slope
        return v[:, None] * np.exp(0.02 * rng.standard_normal((len(x), reps)))

    runs = []
    for _ in cfg["seeds"]:
        arrays = {"widths": widths, "ns": ns}
        for sweep, x in (("width", widths), ("n", ns)):
            slopes = {"vc": 0.5 if sweep == "width" else -0.5,
                      "spectral": spectral_width_slope if sweep == "width" else spectral_n_slope,
                      "pac_bayes": pac_width_slope if sweep == "width" else 0.0,
                      "frobenius": 0.0}
            arrays[f"{sweep}_bounds"] = np.stack([per_point(x, slopes[b]) for b in nb.BOUNDS], -1)
            err_slope = error_n_slope if sweep == "n" else 0.0
            arrays[f"{sweep}_test_error"] = per_point(x, err_slope, 0.2)
            arrays[f"{sweep}_margin"] = np.full((len(x), reps), 1.1)
            arrays[f"{sweep}_lipschitz"] = per_point(x, lipschitz_n_slope if sweep == "n" else 0.0,
                                                     11.0)
            arrays[f"{sweep}_sparsity"] = per_point(x, 0.5 if sweep == "width" else -0.2, 20.0)
            arrays[f"{sweep}_steps"] = np.full((len(x), reps), 100.0)
            arrays[f"{sweep}_reached"] = np.full((len(x), reps), 1.0)
        arrays["width_reached"][0, 0] = reached
        runs.append((arrays, {}))
    return runs


def _claims(cfg: dict, **kw) -> dict[str, dict]:
    return {c["id"]: c for c in b3.summarize(cfg, _fake_runs(cfg, **kw))["claims"]}


def _verdicts(cfg: dict, **kw) -> dict[str, bool]:
    return {k: c["passed"] for k, c in _claims(cfg, **kw).items()}


def test_verdicts_follow_the_numbers() -> None:
    cfg = experiment_section(load_config(), b3.ID)
    good = _verdicts(cfg)
    assert all(good.values()), good
    # A spectral bound growing like sqrt(width) over 32..1024 (a factor 5.7) is not flat.
    assert not _verdicts(cfg, spectral_width_slope=0.5)["B3.spectral_flat_in_width"]
    # Falling bounds, or a test error that does not fall, are no Nagarajan-Kolter observation.
    assert not _verdicts(cfg, spectral_n_slope=-0.2)["B3.spectral_grows_while_error_falls"]
    rising = _verdicts(cfg, error_n_slope=0.2)
    assert not rising["B3.test_error_falls_with_n"]
    assert not rising["B3.spectral_grows_while_error_falls"]
    # A bound that rises while the Lipschitz constant per margin grows no faster than sqrt(n)
    # rises through something else than the lecture's cause.
    assert not _verdicts(cfg, lipschitz_n_slope=0.45)["B3.spectral_grows_while_error_falls"]
    assert _verdicts(cfg, lipschitz_n_slope=0.55)["B3.spectral_grows_while_error_falls"]
    assert not _verdicts(cfg, reached=0.0)["B3.criterion_reached"]
    narrow = {**cfg, "widths": [32, 40]}  # VC barely grows over a narrow sweep
    assert not {c["id"]: c["passed"] for c in b3.summarize(
        narrow, _fake_runs(narrow))["claims"]}["B3.vc_grows_with_width"]


def test_pac_bayes_must_grow_by_its_explicit_width_factor_and_no_more() -> None:
    cfg = experiment_section(load_config(), b3.ID)
    # Over widths 32..1024, sqrt(W) grows by sqrt(32) = 5.66: a bound like W^0.5 divided by it
    # stays flat; one flat in the width falls by 5.66 once divided, one like W rises by it.
    good = _claims(cfg)["B3.pac_bayes_width_only_explicit"]
    assert good["passed"] and good["measured"] == pytest.approx(1.0, abs=0.1)
    assert good["context"]["sqrt_width_growth"] == pytest.approx(math.sqrt(32))
    for slope in (0.0, 1.0):
        bad = _claims(cfg, pac_width_slope=slope)["B3.pac_bayes_width_only_explicit"]
        assert not bad["passed"] and bad["measured"] == pytest.approx(math.sqrt(32), rel=0.1)
    assert _verdicts(cfg, pac_width_slope=0.75)["B3.pac_bayes_width_only_explicit"]  # 32^0.25


def test_the_spectral_factors_are_reported() -> None:
    cfg = experiment_section(load_config(), b3.ID)
    claims = _claims(cfg, lipschitz_n_slope=0.7)
    flat = claims["B3.spectral_flat_in_width"]["context"]
    assert flat["lipschitz_growth"] == pytest.approx(1.0, abs=0.1)
    assert flat["sparsity_growth"] == pytest.approx(math.sqrt(32), rel=0.1)
    grows = claims["B3.spectral_grows_while_error_falls"]["context"]
    assert grows["slope_lipschitz"] == pytest.approx(0.7, abs=0.05)
    assert grows["slope_sparsity"] == pytest.approx(-0.2, abs=0.05)
    assert grows["gap_n"] == cfg["gap_n"]


@pytest.mark.parametrize(("change", "message"), [
    ({"widths": [64]}, "two distinct widths"),
    ({"ns": [100]}, "two distinct sizes"),
    ({"teacher_directions": 3, "d": 2}, "orthonormal"),
    ({"depth": 2}, "mean_field"),
])
def test_check_rejects(tiny: dict, change: dict, message: str) -> None:
    cfg = copy.deepcopy(tiny)
    cfg.update(change)
    with pytest.raises(ConfigError, match=message):
        b3.check(cfg)

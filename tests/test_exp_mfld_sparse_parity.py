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
    assert np.asarray(s["control_error_mfld"]).shape == (len(tiny["dims"]),
                                                         len(tiny["control_ns"]))
    assert np.asarray(s["crossing_mfld"]).shape == (len(tiny["seeds"]), len(tiny["dims"]))
    assert [c["id"] for c in metrics["claims"]] == ["D4.mfld_needs_fewer_samples",
                                                    "D4.kernel_n_grows_faster",
                                                    "D4.control_gap_smaller",
                                                    "D4.control_separation_smaller"]
    # Both learn the parity at the largest n of the tiny sweep; MFLD does at n = 100 already.
    assert max(s["error_mfld"][i][-1] for i in range(len(tiny["dims"]))) < 0.05
    assert max(s["error_mfld"][i][2] for i in range(len(tiny["dims"]))) < 0.1
    assert set(d4.POST_HOC) <= {c["id"] for c in metrics["claims"]}


def test_labels_are_the_parity_of_the_first_k_coordinates(tiny: dict) -> None:
    data = d4.generate({**tiny, "k": 3, "control_k": 2}, 0)
    for k in (2, 3):
        x, y = data[f"x_k{k}_d8_n50"], data[f"y_k{k}_d8_n50"]
        assert set(np.unique(x)) == {-1.0, 1.0}
        np.testing.assert_array_equal(y, x[:, :k].prod(axis=1))
        assert abs(y.mean()) < 0.4  # balanced classes
    assert data["x_test_k2_d10"].shape == (tiny["n_test"], 10)
    # The two orders see independent inputs.
    assert not np.array_equal(data["x_k2_d8_n50"], data["x_k3_d8_n50"])


def test_monomial_count() -> None:
    assert [d4.monomial_count(d, 3) for d in (12, 16, 20)] == [299, 697, 1351]
    assert [d4.monomial_count(d, 2) for d in (10, 16)] == [56, 137]


DIMS = [10, 13, 16]
NS = [25, 35, 50, 71, 100, 141, 200, 283, 400, 566, 800]
CONTROL_NS = [12, 17, 25, 35, 50, 71, 100, 141, 200, 283, 400]
# Per seed and d, a factor on every crossing of the law: seeds scatter about the power law.
SCATTER = np.exp(np.array([[0.05, -0.03, 0.02], [-0.04, 0.06, -0.01], [0.0, 0.01, -0.02]]))
NEVER = 1e9  # a crossing beyond every grid: the error never falls below the target


def _curve(ns, at: float) -> list[float]:
    """Test error falling linearly in log n through the target 0.1 at n = ``at`` (0.05 per
    e-fold, clipped to [0, 0.5]): the interpolation on log n recovers ``at`` exactly."""
    return [float(np.clip(0.1 - 0.05 * np.log(n / at), 0.0, 0.5)) for n in ns]


def _law(c: float, a: float, seeds: int) -> np.ndarray:
    """Crossings ``c d^a`` per (seed, d), scattered per seed by ``SCATTER``."""
    return c * np.asarray(DIMS, dtype=float) ** a * SCATTER[:seeds]


def _runs(mfld, kernel, control_mfld, control_kernel) -> list:
    """Runs whose errors cross the target at the given ``(seeds, dims)`` crossings."""
    out = []
    for s in range(len(mfld)):
        arrays = {"d": np.asarray(DIMS), "n": np.asarray(NS), "control_n": np.asarray(CONTROL_NS)}
        for prefix, ns, m, k in (("", NS, mfld, kernel),
                                 ("control_", CONTROL_NS, control_mfld, control_kernel)):
            arrays[f"{prefix}error_mfld"] = np.asarray([_curve(ns, a) for a in m[s]])
            arrays[f"{prefix}error_gaussian"] = np.asarray([_curve(ns, a) for a in k[s]])
            arrays[f"{prefix}error_laplace"] = np.minimum(
                arrays[f"{prefix}error_gaussian"] + 0.1, 0.5)
        out.append((arrays, {"seed": 10 + s}))
    return out


def _theory(seeds: int = 2) -> dict[str, np.ndarray]:
    """The law the claims state: MFLD's n ~ d, the kernel's ~ d^k (k = 3) and ~ d^2 for the
    control, with constants that put every crossing inside its grid."""
    return {"mfld": _law(6.0, 1.0, seeds), "kernel": _law(0.15, 3.0, seeds),
            "control_mfld": _law(4.0, 1.0, seeds), "control_kernel": _law(0.4, 2.0, seeds)}


def _summarize(law: dict[str, np.ndarray], **cfg_over) -> dict:
    cfg = {**experiment_section(load_config(), d4.ID), **cfg_over}
    return d4.summarize(cfg, _runs(law["mfld"], law["kernel"], law["control_mfld"],
                                   law["control_kernel"]))


def _slope_se(values: np.ndarray) -> tuple[float, float]:
    from companion.theory.powerlaw import loglog_fit

    return loglog_fit(np.broadcast_to(DIMS, values.shape).ravel(), values.ravel())


def test_crossings_are_each_seeds_interpolated_on_log_n() -> None:
    law = _theory()
    out = _summarize(law)
    s = out["series"]
    np.testing.assert_allclose(s["crossing_mfld"], law["mfld"], rtol=1e-9)
    np.testing.assert_allclose(s["crossing_kernel"], law["kernel"], rtol=1e-9)
    np.testing.assert_allclose(s["control_crossing_kernel"], law["control_kernel"], rtol=1e-9)
    assert s["crossing_mfld_censored"] == [[0, 0, 0], [0, 0, 0]]
    # Pooled: the geometric mean over seeds; the spread: the geometric standard deviation.
    np.testing.assert_allclose(s["required_n_mfld"], np.exp(np.log(law["mfld"]).mean(axis=0)))
    np.testing.assert_allclose(s["crossing_kernel_gsd"],
                               np.exp(np.log(law["kernel"]).std(axis=0, ddof=1)))
    table = out["table"]
    assert table["columns"] == ["k", "d", "seed", "crossing_mfld", "crossing_kernel"]
    assert table["rows"][0][:3] == [3, 10, 10] and table["rows"][1][:3] == [3, 10, 11]
    assert table["rows"][6][:3] == [2, 10, 10]
    assert table["rows"][1][3] == pytest.approx(law["mfld"][1, 0])


def test_the_theory_law_passes_with_its_numbers() -> None:
    law = _theory()
    out = _summarize(law)
    fewer, growth, gap, ratio = out["claims"]
    assert [c["passed"] for c in out["claims"]] == [True, True, True, True]
    assert fewer["measured"] == 3.0
    slope_k, se_k = _slope_se(law["kernel"])
    slope_m, se_m = _slope_se(law["mfld"])
    assert growth["measured"] == pytest.approx(slope_k - slope_m, rel=1e-9)
    assert growth["measured"] == pytest.approx(2.0, abs=0.2)
    assert growth["context"]["slope_gap_se"] == pytest.approx(np.hypot(se_k, se_m), rel=1e-9)
    assert growth["context"]["bounds_in_fit"] == 0
    c_k, _ = _slope_se(law["control_kernel"])
    c_m, _ = _slope_se(law["control_mfld"])
    assert gap["measured"] == pytest.approx((slope_k - slope_m) - (c_k - c_m), rel=1e-9)
    assert gap["measured"] == pytest.approx(1.0, abs=0.3)
    assert ratio["measured"] == 3.0
    pooled = {m: np.exp(np.log(law[m]).mean(axis=0)) for m in law}
    np.testing.assert_allclose(ratio["context"]["ratio"], pooled["kernel"] / pooled["mfld"])
    np.testing.assert_allclose(ratio["context"]["control_ratio"],
                               pooled["control_kernel"] / pooled["control_mfld"])


def test_each_claim_fails_on_a_law_that_violates_it() -> None:
    # (1) The kernel below MFLD at d = 13.
    law = _theory()
    law["kernel"][:, 1] = law["mfld"][:, 1] / 1.5
    out = _summarize(law)
    assert out["claims"][0]["passed"] is False and out["claims"][0]["measured"] == 2.0
    # (2) Both grow like d: no gap.
    law = _theory()
    law["kernel"] = law["mfld"] * 4.0
    out = _summarize(law)
    assert out["claims"][1]["passed"] is False
    assert out["claims"][1]["measured"] == pytest.approx(0.0, abs=1e-9)
    # (3) The control's kernel grows like d^3 too: its gap is not smaller.
    law = _theory()
    law["control_kernel"] = _law(0.03, 3.0, 2)
    out = _summarize(law)
    assert out["claims"][2]["passed"] is False
    assert out["claims"][2]["measured"] == pytest.approx(0.0, abs=1e-9)
    # (4) The control separates more than the order k at d = 16.
    law = _theory()
    law["control_kernel"][:, 2] = 20 * law["control_mfld"][:, 2]
    out = _summarize(law)
    assert out["claims"][3]["passed"] is False and out["claims"][3]["measured"] == 2.0


def test_boundaries_of_the_relations() -> None:
    # (1) MFLD's crossing equal to the kernel's is not smaller: strict.
    law = _theory()
    law["kernel"][:, 0] = law["mfld"][:, 0]
    assert _summarize(law)["claims"][0]["measured"] == 2.0
    law["kernel"][:, 0] = law["mfld"][:, 0] * (1 + 1e-6)
    assert _summarize(law)["claims"][0]["measured"] == 3.0
    # (2) A gap equal to slope_gap_min passes (>=), one just above it fails.
    law = _theory()
    measured = _summarize(law)["claims"][1]["measured"]
    assert _summarize(law, slope_gap_min=measured)["claims"][1]["passed"] is True
    above = float(np.nextafter(measured, np.inf))
    assert _summarize(law, slope_gap_min=above)["claims"][1]["passed"] is False
    # (3), (4) A control identical to the order-k sweep: equal gaps and ratios fail (strict).
    law = _theory()
    law["control_mfld"], law["control_kernel"] = law["mfld"] / 2, law["kernel"] / 2
    same = _summarize(law)
    assert same["claims"][2]["measured"] == pytest.approx(0.0, abs=1e-12)
    assert same["claims"][2]["passed"] is False
    law["control_kernel"] = law["kernel"] / 2 * (1 - 1e-6)  # ratios just below: (4) holds
    assert _summarize(law)["claims"][3]["measured"] == 3.0
    law["control_kernel"] = law["kernel"] / 2
    # Equal ratios to rounding: not smaller at any d where they tie exactly.
    tie = _summarize(law)["claims"][3]
    ctx = tie["context"]
    assert tie["measured"] == float(sum(c < m for c, m in zip(ctx["control_ratio"], ctx["ratio"],
                                                              strict=True)))
    assert tie["passed"] is False


def test_a_kernel_that_never_reaches_the_target() -> None:
    # At the largest d only: its crossing is at least the largest n, a lower bound where the
    # slope's weight is positive, which can only understate the gap: it enters the fit.
    law = _theory()
    law["kernel"][:, 2] = NEVER
    out = _summarize(law)
    assert out["series"]["crossing_kernel_censored"] == [[0, 0, 1], [0, 0, 1]]
    assert out["series"]["crossing_kernel"][0][2] == 800.0
    fewer, growth = out["claims"][:2]
    assert fewer["passed"] is True and fewer["measured"] == 3.0  # the kernel is larger there
    bounded = law["kernel"].copy()
    bounded[:, 2] = 800.0
    want = _slope_se(bounded)[0] - _slope_se(law["mfld"])[0]
    assert growth["measured"] == pytest.approx(want, rel=1e-9)
    assert growth["context"]["bounds_in_fit"] == 2
    assert growth["passed"] is (want >= 1.0)
    assert out["table"]["rows"][4][4] == "≥ 800"
    # At the smallest d: a lower bound there would widen the gap, so the kernel has no slope.
    law = _theory()
    law["kernel"][:, 0] = NEVER
    out = _summarize(law)
    assert out["claims"][0]["passed"] is True
    assert out["claims"][1]["passed"] is False and out["claims"][1]["measured"] == -1.0
    assert out["claims"][1]["context"]["slope_kernel"] is None
    assert out["claims"][2]["passed"] is False and out["claims"][2]["measured"] == -1.0
    # Nowhere: claim (1) still holds (MFLD reaches the target everywhere), (2) has no slope.
    law = _theory()
    law["kernel"][:] = NEVER
    out = _summarize(law)
    assert [c["passed"] for c in out["claims"][:2]] == [True, False]
    assert out["claims"][3]["context"]["ratio"] == [pytest.approx(800.0 / v) for v in
                                                    np.exp(np.log(law["mfld"]).mean(axis=0))]
    # In the control, at the largest d: a lower bound would understate the control's gap,
    # which (3) must not do, so the control has no gap and (3) fails; (4) has no upper end there.
    law = _theory()
    law["control_kernel"][:, 2] = NEVER
    out = _summarize(law)
    assert out["claims"][2]["passed"] is False
    assert out["claims"][2]["context"]["control_slope_kernel"] is None
    assert out["claims"][3]["context"]["control_ratio"][2] is None
    assert out["claims"][3]["measured"] == 2.0


def test_mfld_censored_on_either_side() -> None:
    # MFLD never below the target at d = 13: (1) fails there, and its lower bound in the middle
    # (weight > 0 for d = 10, 13, 16) could widen the gap: no MFLD slope.
    law = _theory()
    law["mfld"][:, 1] = NEVER
    out = _summarize(law)
    assert out["claims"][0]["measured"] == 2.0
    assert out["claims"][1]["passed"] is False and out["claims"][1]["context"]["slope_mfld"] is None
    # Below the target already at the smallest n, at the largest d: an upper bound where the
    # weight is positive can only raise MFLD's slope (shrink the gap): it enters the fit.
    law = _theory()
    law["mfld"][:, 2] = 10.0
    out = _summarize(law)
    assert out["series"]["crossing_mfld_censored"] == [[0, 0, -1], [0, 0, -1]]
    bounded = law["mfld"].copy()
    bounded[:, 2] = 25.0
    want = _slope_se(law["kernel"])[0] - _slope_se(bounded)[0]
    assert out["claims"][1]["measured"] == pytest.approx(want, rel=1e-9)
    assert out["table"]["rows"][4][3] == "≤ 25"
    # The same at the smallest d would lower MFLD's slope (widen the gap): no slope.
    law = _theory()
    law["mfld"][:, 0] = 10.0
    out = _summarize(law)
    assert out["claims"][1]["measured"] == -1.0
    assert out["claims"][0]["passed"] is True  # at most 25 is still below the kernel's


def test_the_better_kernel_is_reported() -> None:
    law = _theory()
    runs = _runs(law["mfld"], law["kernel"], law["control_mfld"], law["control_kernel"])
    for arrays, _ in runs:  # the Laplace kernel better at d = 10: crossing at 100
        arrays["error_laplace"][0] = _curve(NS, 100.0)
    out = d4.summarize(experiment_section(load_config(), d4.ID), runs)
    assert out["series"]["crossing_kernel"][0][0] == pytest.approx(100.0)
    assert out["series"]["kernel_choice"][0][-1] == "laplace"


def test_one_seed_summary_has_no_nan() -> None:
    one = _summarize(_theory(seeds=1))
    assert not d4.POOLED_ONLY
    assert one["series"]["error_mfld_sd"][0] == [None] * len(NS)
    assert one["series"]["crossing_mfld_gsd"] == [None, None, None]
    assert all(isinstance(c["passed"], bool) for c in one["claims"])
    assert [c["passed"] for c in one["claims"]] == [True, True, True, True]
    # Three points per fit: a standard error on one degree of freedom.
    assert one["claims"][1]["context"]["slope_gap_se"] is not None


def test_sections_satisfy_the_schema() -> None:
    section_schema = config.schema()["properties"]["experiments"]["properties"][d4.ID]
    for preset in ("default", "tiny", "full"):
        section = experiment_section(load_config(preset), d4.ID)
        jsonschema.validate(section, section_schema)
        d4.check(section)
    for key, bad in (("error_target", 0.7), ("control_k", 0), ("control_k", 8),
                     ("control_ns", []), ("control_ns", [2, 10])):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**experiment_section(load_config(), d4.ID), key: bad},
                                section_schema)


@pytest.mark.parametrize(("key", "value", "match"), [
    ("dims", [10, 8], r"dims: must be strictly increasing"),
    ("ns", [50, 25], r"ns: must be strictly increasing"),
    ("control_ns", [50, 25], r"control_ns: must be strictly increasing"),
    ("k", 9, r"k: the parity's order k = 9 exceeds the smallest d = 8"),
    ("control_k", 3, r"control_k: the control's order must be below k = 3 .*allowed: 1 to 2"),
    ("val_frac", 0.01, r"val_frac: the smallest n = 25 of ns splits into 25 training and 0"),
])
def test_check_names_the_bad_key(tiny: dict, key: str, value: object, match: str) -> None:
    cfg = copy.deepcopy(tiny)
    cfg[key] = value
    with pytest.raises(ConfigError, match=r"experiments\.mfld_sparse_parity\." + match):
        d4.check(cfg)


def test_check_names_the_control_sweep_whose_split_is_unusable(tiny: dict) -> None:
    cfg = {**copy.deepcopy(tiny), "val_frac": 0.1, "control_ns": [4, 25]}
    with pytest.raises(ConfigError, match=r"mfld_sparse_parity\.val_frac: the smallest n = 4 of "
                                          r"control_ns splits into 4 training and 0"):
        d4.check(cfg)

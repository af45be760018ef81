"""C3 meanfield_trajectories: the tiny preset end to end, the measures, verdicts that can fail."""

from __future__ import annotations

import numpy as np
import pytest

from companion.config import ConfigError
from companion.experiments import meanfield_trajectories as c3

from experiment_helpers import run_tiny, tiny_section


@pytest.fixture(scope="module")
def tiny() -> dict:
    return tiny_section(c3)


def test_tiny_preset_end_to_end(tiny: dict, tmp_path) -> None:
    metrics = run_tiny(c3, tiny, tmp_path)
    s = metrics["series"]
    assert [c["id"] for c in metrics["claims"]] == ["C3.mf_mass_near_teacher",
                                                    "C3.ntk_share_stays"]
    for key in ("time", "share_mf", "share_ntk", "alignment_mf", "alignment_ntk"):
        assert len(s[key]) == len(s["steps"]), key
    assert s["steps"][0] == 0 and s["steps"][-1] == tiny["steps"]
    assert np.asarray(s["angle_mf"]).shape == (len(s["steps"]), tiny["width"])
    # Both students fitted the data; only the mean-field one changed its kernel much.
    assert s["loss_mf"][-1] < 0.05 * s["loss_mf"][0]
    assert s["loss_ntk"][-1] < 0.05 * s["loss_ntk"][0]
    gain_mf = s["alignment_mf"][-1] - s["alignment_mf"][0]
    gain_ntk = s["alignment_ntk"][-1] - s["alignment_ntk"][0]
    assert gain_mf > 2 * abs(gain_ntk)


def test_share_counts_mass_within_the_angle_across_the_wrap() -> None:
    angle = np.array([44.0, -46.0, 179.0, 0.0])
    mass = np.array([1.0, 2.0, 3.0, 4.0])
    # Teacher at +-45 deg: the first two are within 10 deg; 179 is near -175 across +-180.
    assert c3.share_near(angle, mass, [45.0, -45.0], 10.0) == pytest.approx(0.3)
    assert c3.share_near(angle, mass, [-175.0], 10.0) == pytest.approx(0.3)


def test_neuron_state_and_kernel_alignment() -> None:
    w1 = np.array([[[1.0, 0.0], [0.0, -2.0]]])  # (1, 2, M=2): columns are neurons
    w2 = np.array([[[3.0], [-1.0]]])
    angle, mass = c3.neuron_state(w1, w2)
    np.testing.assert_allclose(angle, [[0.0, -90.0]])
    np.testing.assert_allclose(mass, [[3.0, 2.0]])
    y = np.array([1.0, 2.0, -1.0])
    # Features equal to y: K = y y^T, alignment 1; orthogonal features: alignment 0.
    assert float(c3.kernel_alignment(y[:, None], y)) == pytest.approx(1.0)
    assert float(c3.kernel_alignment(np.array([[1.0], [0.0], [1.0]]), y)) == pytest.approx(0.0)


def _runs(tiny: dict, mf_end: float, ntk_drift: float, seeds: int = 1):
    """Synthetic runs: all mass of neuron 0 (at a teacher angle) vs neuron 1 (far away),
    shares set through the masses."""
    teacher = c3.teacher_directions(tiny["teacher_angle"])
    t_deg = float(np.degrees(np.arctan2(teacher[0, 1], teacher[0, 0])))
    steps = np.array([0, 10, 100])
    angle = np.zeros((3, 2, 2))
    angle[..., 0], angle[..., 1] = t_deg, t_deg + 90.0
    share = np.zeros((3, 2))
    share[:, 0] = [0.1, 0.5, mf_end]
    share[:, 1] = [0.2, 0.2, 0.2 + ntk_drift]
    mass = np.stack([share, 1.0 - share], axis=-1)
    arrays = {"steps": steps, "angle": angle, "mass": mass, "alignment": np.full((3, 2), 0.5),
              "loss": np.full((3, 2), 0.1)}
    return [(arrays, {})] * seeds


@pytest.mark.parametrize(("mf_end", "ntk_drift", "passes"), [
    (0.9, 0.05, (True, True)),
    (0.79, 0.05, (False, True)),
    (0.9, 0.16, (True, False)),
    (0.9, -0.16, (True, False)),
])
def test_verdicts_follow_the_thresholds(tiny: dict, mf_end, ntk_drift, passes) -> None:
    summary = c3.summarize(tiny, _runs(tiny, mf_end, ntk_drift))
    assert tuple(c["passed"] for c in summary["claims"]) == passes
    assert summary["series"]["share_mf"][-1] == pytest.approx(mf_end)


def test_nonfinite_masses_fail_without_crashing(tiny: dict) -> None:
    runs = _runs(tiny, 0.9, 0.0, seeds=2)
    runs[0][0]["mass"] = runs[0][0]["mass"] * np.nan
    assert not any(c["passed"] for c in c3.summarize(tiny, runs)["claims"])


def test_check_rejects_more_records_than_steps(tiny: dict) -> None:
    with pytest.raises(ConfigError, match="records: at most steps"):
        c3.check({**tiny, "steps": 5, "records": 10})

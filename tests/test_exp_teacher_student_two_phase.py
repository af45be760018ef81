"""D2 teacher_student_two_phase: the tiny preset end to end, the teacher, the verdicts on
synthetic runs (each claim can fail), one-seed summaries and the configuration checks."""

from __future__ import annotations

import copy

import jsonschema
import numpy as np
import pytest

from companion import config
from companion.config import ConfigError, experiment_section, load_config
from companion.experiments import teacher_student_two_phase as d2

from experiment_helpers import run_tiny, tiny_section


@pytest.fixture(scope="module")
def tiny() -> dict:
    return tiny_section(d2)


def test_tiny_preset_end_to_end(tiny: dict, tmp_path) -> None:
    metrics = run_tiny(d2, tiny, tmp_path)
    s = metrics["series"]
    assert [c["id"] for c in metrics["claims"]] == ["D2.student_steeper_than_kernel",
                                                    "D2.student_rate_one_over_n"]
    steps = s["record_steps"]
    total = tiny["phase1_steps"] + tiny["phase2_steps"]
    assert steps[0] == 0 and steps[-1] == total and tiny["phase1_steps"] in steps
    assert np.asarray(s["trajectory"]).shape == (len(tiny["ns"]), len(steps))
    # Training helps: every student ends below its risk at initialisation.
    traj = np.asarray(s["trajectory"])
    assert (traj[:, -1] < traj[:, 0]).all()


def test_teacher_and_data(tiny: dict) -> None:
    data = d2.generate({**tiny, "sigma": 0.0}, 0)
    np.testing.assert_allclose(np.linalg.norm(data["x"], axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(data["w_teacher"], axis=1), np.sqrt(tiny["d"]))
    np.testing.assert_allclose(data["y"], d2.teacher(data["x"], data["w_teacher"],
                                                     data["a_teacher"]))
    assert d2.linear_rate(2) == pytest.approx(-2 / 3)


def _runs(ns, student_rate, kernel_rate, seeds: int = 2, noise: float = 0.03) -> list:
    rng = np.random.default_rng(1)
    runs = []
    ns = np.asarray(ns, dtype=float)
    for _ in range(seeds):
        stu = 5.0 * ns**student_rate * np.exp(noise * rng.standard_normal(ns.size))
        ker = 2.0 * ns**kernel_rate * np.exp(noise * rng.standard_normal(ns.size))
        runs.append(({"n": ns.astype(int), "record_steps": np.array([0, 5, 10]),
                      "trajectory": np.stack([np.ones(ns.size), 2 * stu, stu]),
                      "risk_student": stu, "risk_phase1": 2 * stu, "risk_kernel": ker}, {}))
    return runs


NS = [64, 128, 256, 512, 1024]


def test_verdicts_follow_the_numbers() -> None:
    cfg = experiment_section(load_config(), d2.ID)
    good = d2.summarize(cfg, _runs(NS, -1.0, -0.55))
    assert [c["passed"] for c in good["claims"]] == [True, True]
    assert good["claims"][1]["measured"] == pytest.approx(-1.0, abs=0.05)
    # A student no faster than the kernel fails the first claim.
    same = d2.summarize(cfg, _runs(NS, -0.55, -0.55))
    assert [c["passed"] for c in same["claims"]] == [False, False]
    # Steeper than the kernel but far from -1 (slope -1.4, tolerance 0.25): only the second fails.
    steep = d2.summarize(cfg, _runs(NS, -1.4, -0.55))
    assert [c["passed"] for c in steep["claims"]] == [True, False]
    # A gap within the combined standard error fails: noisy points, slopes 0.1 apart.
    noisy = d2.summarize(cfg, _runs(NS, -0.65, -0.55, noise=0.4))
    claim = noisy["claims"][0]
    assert claim["expected"] > 0.1 and claim["passed"] is (claim["measured"] > claim["expected"])


def test_one_seed_summary_has_no_nan() -> None:
    cfg = experiment_section(load_config(), d2.ID)
    one = d2.summarize(cfg, _runs(NS, -1.0, -0.55, seeds=1))
    assert not d2.POOLED_ONLY
    assert one["series"]["risk_student_sd"] == [None] * len(NS)
    assert all(isinstance(c["passed"], bool) for c in one["claims"])


def test_sections_satisfy_the_schema() -> None:
    section_schema = config.schema()["properties"]["experiments"]["properties"][d2.ID]
    for preset in ("default", "tiny", "full"):
        section = experiment_section(load_config(preset), d2.ID)
        jsonschema.validate(section, section_schema)
        d2.check(section)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**experiment_section(load_config(), d2.ID), "eta": 0.0},
                            section_schema)


@pytest.mark.parametrize(("key", "value", "match"), [
    ("ns", [32, 64], r"ns: need at least 3"),
    ("ns", [64, 32, 128], r"ns: need at least 3 strictly increasing"),
    ("record_every", 10**6, r"record_every: must be <="),
])
def test_check_names_the_bad_key(tiny: dict, key: str, value: object, match: str) -> None:
    cfg = copy.deepcopy(tiny)
    cfg[key] = value
    with pytest.raises(ConfigError, match=r"experiments\.teacher_student_two_phase\." + match):
        d2.check(cfg)

"""D2 teacher_student_two_phase: the tiny preset end to end, the teacher, the verdicts on
synthetic runs (each claim can fail; the rate's median, regime and boundaries), one-seed
summaries and the configuration checks."""

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
    runs = sorted((tmp_path / "runs").glob("*.npz"))
    with np.load(runs[0]) as arrays:
        # The reference runs start at the teacher itself (zero excess risk) and move away only
        # as far as the noise in their n points takes them: about the oracle risk.
        phase2 = int(np.sum(arrays["record_steps"] >= tiny["phase1_steps"]))
        assert arrays["ref_trajectory"].shape == (phase2, len(tiny["ns"]))
        assert (arrays["ref_trajectory"][0] < 1e-20).all()
        oracle = d2.parametric.oracle_risk(tiny["sigma"], tiny["m"] * tiny["d"], tiny["ns"])
        assert (arrays["risk_ref"] < 5 * oracle).all()
        assert (arrays["risk_ref"] > 0.05 * oracle).all()
        # The student's distance to the reference is the recorded gap.
        np.testing.assert_allclose(arrays["gap_ref"], arrays["gap_trajectory"][-1])
        assert arrays["theta"].shape == (len(tiny["ns"]), tiny["m"], tiny["d"] + 1)
    context = metrics["claims"][1]["context"]
    assert context["students"] == len(tiny["ns"]) * len(tiny["seeds"])


def test_teacher_and_data(tiny: dict) -> None:
    data = d2.generate({**tiny, "sigma": 0.0}, 0)
    np.testing.assert_allclose(np.linalg.norm(data["x"], axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(data["w_teacher"], axis=1), np.sqrt(tiny["d"]))
    np.testing.assert_allclose(data["y"], d2.teacher(data["x"], data["w_teacher"],
                                                     data["a_teacher"]))
    assert d2.linear_rate(2) == pytest.approx(-2 / 3)


NS = [64, 128, 256, 512, 1024]
SIGMA, M, D = 0.5, 3, 5  # the default preset's; oracle risk 3.75 / n


def _oracle(ns) -> np.ndarray:
    return SIGMA**2 * M * D / np.asarray(ns, dtype=float)


def _run(ns, student_rate: float, kernel_rate: float, rng: np.random.Generator, seed: int,
         noise: float, gap: float = 0.1, ratio: float = 1.5) -> tuple[dict, dict]:
    """One seed: student risk ``ratio * oracle(ns[0]) * (n / ns[0])^rate`` (lognormal noise), the
    teacher-started run at the oracle risk, the student's squared distance to it ``gap`` oracle
    risks (in the basin below 1)."""
    n = np.asarray(ns, dtype=float)
    stu = ratio * _oracle(ns)[0] * (n / n[0]) ** student_rate * np.exp(
        noise * rng.standard_normal(n.size))
    ker = 2.0 * n**kernel_rate * np.exp(noise * rng.standard_normal(n.size))
    return ({"n": n.astype(int), "seed": np.int64(seed), "record_steps": np.array([0, 5, 10]),
             "trajectory": np.stack([np.ones(n.size), 2 * stu, stu]),
             "risk_student": stu, "risk_phase1": 2 * stu, "risk_ref": _oracle(ns),
             "gap_ref": gap * _oracle(ns), "risk_kernel": ker}, {})


def _runs(ns, student_rate, kernel_rate, seeds: int = 6, noise: float = 0.03) -> list:
    rng = np.random.default_rng(1)
    return [_run(ns, student_rate, kernel_rate, rng, seed, noise) for seed in range(seeds)]


@pytest.fixture(scope="module")
def cfg() -> dict:
    section = experiment_section(load_config(), d2.ID)
    assert (section["sigma"], section["m"], section["d"], section["slope_tol"]) == (
        SIGMA, M, D, 0.25)
    return section


def _rate(summary: dict) -> dict:
    claim = summary["claims"][1]
    assert claim["id"] == "D2.student_rate_one_over_n"
    return claim


def test_verdicts_follow_the_numbers(cfg: dict) -> None:
    good = d2.summarize(cfg, _runs(NS, -1.0, -0.55))
    assert [c["passed"] for c in good["claims"]] == [True, True]
    rate = _rate(good)
    assert rate["measured"] == pytest.approx(-1.0, abs=0.05)
    ctx = rate["context"]
    assert (ctx["students_in_basin"], ctx["students"], ctx["stuck_seeds"]) == (30, 30, [])
    assert ctx["slope_median_basin"] == pytest.approx(rate["measured"])
    assert ctx["slope_ref_median"] == pytest.approx(-1.0)
    assert ctx["ratio_oracle_ref_median"] == pytest.approx(1.0)
    assert ctx["ratio_oracle_median"] == pytest.approx(1.5, rel=0.1)
    lo, hi = ctx["slope_range"]
    assert lo <= rate["measured"] <= hi and hi - lo < 0.2
    assert good["series"]["oracle_risk"] == pytest.approx(list(_oracle(NS)))
    assert good["series"]["oracle_dim"] == 15
    # Rate 1/2 (the law of a student that never leaves a nonparametric regime) fails; so does a
    # student no faster than the kernel.
    half = d2.summarize(cfg, _runs(NS, -0.5, -0.55))
    assert [c["passed"] for c in half["claims"]] == [False, False]
    assert _rate(half)["measured"] == pytest.approx(-0.5, abs=0.05)
    # Steeper than the kernel but far from -1 (slope -1.4, tolerance 0.25): only the rate fails.
    steep = d2.summarize(cfg, _runs(NS, -1.4, -0.55))
    assert [c["passed"] for c in steep["claims"]] == [True, False]
    # A gap within the combined standard error fails: noisy points, slopes 0.1 apart.
    noisy = d2.summarize(cfg, _runs(NS, -0.65, -0.55, seeds=2, noise=0.4))
    claim = noisy["claims"][0]
    assert claim["expected"] > 0.1 and claim["passed"] is (claim["measured"] > claim["expected"])


def test_one_stuck_seed_is_reported_but_does_not_flip_the_median(cfg: dict) -> None:
    runs = _runs(NS, -1.0, -0.55)
    # Seed 5 stays in a local minimum at every n: flat risk, far from the teacher-started run.
    stuck = runs[5][0]
    stuck["risk_student"] = np.full(len(NS), 0.05)
    stuck["gap_ref"] = 3.0 * _oracle(NS)
    summary = d2.summarize(cfg, runs)
    rate = _rate(summary)
    clean = d2.summarize(cfg, runs[:5])
    assert rate["passed"] is True
    assert rate["measured"] == pytest.approx(-1.0, abs=0.05)
    assert abs(rate["measured"] - _rate(clean)["measured"]) < 0.05
    ctx = rate["context"]
    assert ctx["stuck_seeds"] == [5] and isinstance(ctx["stuck_seeds"][0], int)  # shown as "5"
    assert (ctx["students_in_basin"], ctx["students"]) == (25, 30)
    assert ctx["slope_range"][1] == pytest.approx(0.0, abs=1e-9)  # the stuck seed's flat slope
    assert ctx["slope_median_basin"] == pytest.approx(_rate(clean)["measured"])
    assert "5 (n = 64, 128, 256, 512, 1024)" in rate["detail"]
    assert summary["series"]["stuck_seeds"] == [5]
    assert summary["series"]["in_basin"][5] == [0] * len(NS)
    # The mean over seeds that the pooled slope fits is pulled by the stuck seed; the median
    # is not: the pooled mean-risk slope moves by more than the median does.
    assert abs(summary["series"]["slope_student"] - clean["series"]["slope_student"]) > \
        abs(rate["measured"] - _rate(clean)["measured"])


def _exact(slopes: list[float], gaps: list[float] | None = None) -> list:
    """Noise-free runs, one per slope (``gaps``: each seed's distance to the reference, in
    oracle risks, at every n)."""
    rng = np.random.default_rng(0)
    gaps = gaps or [0.0] * len(slopes)
    return [_run(NS, s, -0.55, rng, i, 0.0, gap=g) for i, (s, g) in enumerate(zip(slopes, gaps,
                                                                          strict=True))]


@pytest.mark.parametrize(("slope", "passed"), [(-1.25 + 1e-6, True), (-1.25 - 1e-6, False),
                                               (-0.75 - 1e-6, True), (-0.75 + 1e-6, False)])
def test_rate_tolerance_boundary(cfg: dict, slope: float, passed: bool) -> None:
    rate = _rate(d2.summarize(cfg, _exact([slope] * 6)))
    assert rate["measured"] == pytest.approx(slope, abs=1e-9)
    assert rate["passed"] is passed
    assert rate["tolerance"] == 0.25 and rate["expected"] == -1.0


def test_median_of_an_even_number_of_seeds(cfg: dict) -> None:
    rate = _rate(d2.summarize(cfg, _exact([-0.6, -1.4, -0.9, -1.3, -1.1, -0.7])))
    assert rate["measured"] == pytest.approx(-1.0, abs=1e-9)
    assert rate["context"]["slope_range"] == pytest.approx([-1.4, -0.6])
    assert rate["passed"] is True
    # Five seeds: the middle one.
    assert _rate(d2.summarize(cfg, _exact([-0.6, -1.4, -0.9, -1.3, -0.7])))["measured"] == \
        pytest.approx(-0.9, abs=1e-9)


def test_the_regime_needs_half_the_students_in_the_basin(cfg: dict) -> None:
    # Three of six seeds outside the basin at every n: 15 of 30 students in it - enough.
    half = _rate(d2.summarize(cfg, _exact([-1.0] * 6, gaps=[0.0, 0.5, 1.0, 1.0 + 1e-6, 2.0, 9.0])))
    assert (half["context"]["students_in_basin"], half["passed"]) == (15, True)
    assert half["context"]["stuck_seeds"] == [3, 4, 5]
    # Four of six: 10 of 30 - the slope is the exploration's, not the basin's; the claim fails
    # although every slope is exactly -1.
    few = _rate(d2.summarize(cfg, _exact([-1.0] * 6, gaps=[0.0, 0.5, 1.1, 1.5, 2.0, 9.0])))
    assert few["measured"] == pytest.approx(-1.0, abs=1e-9)
    assert (few["context"]["students_in_basin"], few["passed"]) == (10, False)
    assert few["context"]["slope_median_basin"] == pytest.approx(-1.0)
    # No seed in the basin: no median over basin seeds.
    none = _rate(d2.summarize(cfg, _exact([-1.0] * 2, gaps=[2.0, 3.0])))
    assert none["context"]["slope_median_basin"] is None and none["passed"] is False


def test_a_diverged_seed_fails_the_rate(cfg: dict) -> None:
    runs = _exact([-1.0] * 6)
    runs[2][0]["risk_student"] = np.full(len(NS), np.nan)
    runs[2][0]["gap_ref"] = np.full(len(NS), np.nan)
    rate = _rate(d2.summarize(cfg, runs))
    assert rate["passed"] is False and rate["measured"] == 0.0
    assert rate["context"]["stuck_seeds"] == [2]


def test_one_seed_summary_has_no_nan(cfg: dict) -> None:
    one = d2.summarize(cfg, _runs(NS, -1.0, -0.55, seeds=1))
    assert not d2.POOLED_ONLY
    assert one["series"]["risk_student_sd"] == [None] * len(NS)
    assert all(isinstance(c["passed"], bool) for c in one["claims"])
    rate = _rate(one)
    assert rate["passed"] is True and rate["context"]["students"] == len(NS)
    assert rate["context"]["slope_range"] == [rate["measured"]] * 2
    stuck = _rate(d2.summarize(cfg, _exact([-1.0], gaps=[2.0])))
    assert stuck["passed"] is False and stuck["context"]["slope_median_basin"] is None


def test_sections_satisfy_the_schema() -> None:
    section_schema = config.schema()["properties"]["experiments"]["properties"][d2.ID]
    for preset in ("default", "tiny", "full"):
        section = experiment_section(load_config(preset), d2.ID)
        jsonschema.validate(section, section_schema)
        d2.check(section)
    for key, value in (("eta", 0.0), ("sigma", 0.0)):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**experiment_section(load_config(), d2.ID), key: value},
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


def test_post_hoc_names_both_claims_in_both_languages() -> None:
    from companion.report import text as textmod

    ids = ["D2.student_steeper_than_kernel", "D2.student_rate_one_over_n"]
    assert sorted(d2.POST_HOC) == sorted(ids)
    assert all("init_a = 1" in v and "eta = 0.1" in v for v in d2.POST_HOC.values())
    for lang in ("en", "ja"):
        prose = textmod.load_experiment(lang, d2.ID)
        assert sorted(prose["post_hoc"]) == sorted(ids), lang


def test_a_seed_with_one_student_outside_is_flagged(cfg: dict) -> None:
    rng = np.random.default_rng(0)
    runs = [_run(NS, s, -0.55, rng, seed, 0.0, gap=np.asarray(g))
            for seed, s, g in ((7, -1.0, [0.0] * 5), (8, -1.2, [2.0, 0, 0, 0, 0]),
                               (9, -0.8, [0.0] * 5))]
    rate = _rate(d2.summarize(cfg, runs))
    ctx = rate["context"]
    assert ctx["stuck_seeds"] == [8] and ctx["students_in_basin"] == 14
    # The seeds with every student in the basin: 7 and 9.
    assert ctx["slope_median_basin"] == pytest.approx(-0.9, abs=1e-9)
    assert rate["measured"] == pytest.approx(-1.0, abs=1e-9)
    assert "8 (n = 64)" in rate["detail"] and rate["passed"] is True

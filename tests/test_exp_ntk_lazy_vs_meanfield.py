"""B6 ntk_lazy_vs_meanfield: the tiny preset end to end, the verdicts on synthetic runs, and the
configuration checks."""

from __future__ import annotations

import copy

import jsonschema
import numpy as np
import pytest

from companion import config
from companion.config import ConfigError, load_config
from companion.experiments import ntk_lazy_vs_meanfield as b6

from experiment_helpers import run_tiny, tiny_section

SERIES = ("width", "rel_change_ntk", "rel_change_mf", "gram_change_ntk", "gram_change_mf",
          "lam_min_ntk")
CLAIMS = ["B6.ntk_movement_slope", "B6.mf_movement_order_one", "B6.ntk_gram_change_bound",
          "B6.mf_kernel_moves", "B6.ntk_loss_rate", "B6.ntk_linearised_loss"]


@pytest.fixture(scope="module")
def tiny() -> dict:
    return tiny_section(b6)


def test_tiny_preset_end_to_end(tiny: dict, tmp_path) -> None:
    metrics = run_tiny(b6, tiny, tmp_path)
    s = metrics["series"]
    for key in SERIES:
        assert len(s[key]) == len(tiny["widths"]), key
    assert s["width"] == [float(m) for m in tiny["widths"]]
    # Mean-field features move far more than NTK ones at every width.
    assert np.all(np.asarray(s["rel_change_mf"]) > 3 * np.asarray(s["rel_change_ntk"]))
    assert len(s["loss_ntk"]) == len(s["loss_step"]) == len(s["loss_envelope"])
    assert s["loss_ntk"][-1] < s["loss_ntk"][0]
    assert [c["id"] for c in metrics["claims"]] == CLAIMS
    assert all(isinstance(c["detail"], str) for c in metrics["claims"])
    table = metrics["table"]
    assert len(table["rows"]) == len(tiny["widths"])
    assert all(len(r) == len(table["columns"]) for r in table["rows"])


def _synthetic_run(widths, ntk_slope, mf_slope, gram_slope, seed=0, mf_gram_slope=0.0):
    """A run file as train() writes it, with power laws of chosen slopes and a linear-model loss."""
    rng = np.random.default_rng(seed)
    m = np.asarray(widths, dtype=float)
    n, steps = 8, np.array([0, 1, 5, 20, 50, 100, 150, 200])
    a = rng.standard_normal((n, n))
    gram0 = (a @ a.T + n * np.eye(n)) / n / n
    y = rng.standard_normal(n)
    lam = np.linalg.eigvalsh(gram0)
    lr = 0.5 / lam[-1]
    from companion.theory import ntk as theory

    loss = 0.5 * np.mean(theory.linearised_residuals(gram0 * n, -y, lr, steps) ** 2, axis=1)
    arrays = {
        "width": m, "steps": steps, "y": y, "f0_widest_ntk": np.zeros(n), "gram0_widest_ntk": gram0,
        "rel_change_w1": np.stack([0.9 * m**ntk_slope, 0.7 * m**mf_slope]),
        "rel_change_w2": np.stack([m**-0.5, m**0.0]),
        "gram_change": np.stack([m**gram_slope, 3.0 * (m / m[0])**mf_gram_slope]),
        "lam_min0": np.full((2, m.size), lam[0]), "lam_max0": np.full((2, m.size), lam[-1]),
        "lam_min_t": np.full((2, m.size), lam[0]),
        "loss": np.broadcast_to(loss, (2, m.size, steps.size)).copy(),
    }
    return arrays, {"lr": lr, "lam_min_inf": lam[0], "lam_max_inf": lam[-1]}


def _passed(summary: dict) -> dict[str, bool]:
    return {c["id"]: c["passed"] for c in summary["claims"]}


def test_verdicts_follow_the_numbers(tiny: dict) -> None:
    widths = [64, 128, 256, 512]
    good = b6.summarize(tiny, [_synthetic_run(widths, -0.5, 0.0, -0.8)])
    assert list(_passed(good).values()) == [True] * len(CLAIMS)
    assert good["claims"][0]["measured"] == pytest.approx(-0.5)
    assert "one seed" in good["claims"][0]["detail"]  # no spread from a single seed
    bad = b6.summarize(tiny, [_synthetic_run(widths, -0.25, -0.3, -0.2)])
    assert [c["passed"] for c in bad["claims"]][:3] == [False, False, False]
    assert bad["claims"][1]["measured"] == pytest.approx(-0.3)


def test_a_mean_field_kernel_that_settles_fails_the_contrast(tiny: dict) -> None:
    widths = [64, 128, 256, 512]
    settles = b6.summarize(tiny, [_synthetic_run(widths, -0.5, 0.0, -0.8, mf_gram_slope=-0.5)])
    assert not _passed(settles)["B6.mf_kernel_moves"]
    assert _passed(settles)["B6.ntk_movement_slope"]


def test_a_loss_decaying_at_another_rate_fails_the_rate(tiny: dict) -> None:
    widths = [64, 128, 256, 512]
    arrays, scalars = _synthetic_run(widths, -0.5, 0.0, -0.8)
    steps = arrays["steps"].astype(float)
    loss = arrays["loss"][0, -1].copy()
    for factor in (0.6, 1.5):
        # Same start, log L bent so its late slope is `factor` times the linearised one.
        late = steps >= steps[-1] / 2
        slope = np.polyfit(steps[late], np.log(loss[late]), 1)[0]
        bent = loss * np.exp((factor - 1.0) * slope * steps)
        arrays["loss"][0, -1] = bent
        verdicts = _passed(b6.summarize(tiny, [(arrays, scalars)]))
        assert not verdicts["B6.ntk_loss_rate"], factor
        assert not verdicts["B6.ntk_linearised_loss"], factor
    # A loss off the linearised curve by a constant factor of 3 keeps its rate, not its curve.
    arrays["loss"][0, -1] = 3.0 * loss
    verdicts = _passed(b6.summarize(tiny, [(arrays, scalars)]))
    assert verdicts["B6.ntk_loss_rate"] and not verdicts["B6.ntk_linearised_loss"]


def test_seed_spread_is_unbiased() -> None:
    assert b6._seed_sd([1.0, 3.0]) == pytest.approx(np.sqrt(2.0))
    assert b6._seed_sd([1.0]) is None


def test_check_and_schema(tiny: dict) -> None:
    with pytest.raises(ConfigError, match=r"ntk_lazy_vs_meanfield\.widths"):
        b6.check({**tiny, "widths": [64, 32, 128]})
    with pytest.raises(ConfigError, match=r"ntk_lazy_vs_meanfield\.records"):
        b6.check({**tiny, "records": tiny["steps"] + 5})
    full = load_config("tiny")
    config.validate(full)
    broken = copy.deepcopy(full)
    broken["experiments"][b6.ID]["width"] = 3
    with pytest.raises(ConfigError, match="width"):
        config.validate(broken)
    broken = copy.deepcopy(full)
    broken["experiments"][b6.ID]["lr"] = -1.0
    with pytest.raises(ConfigError, match="lr"):
        config.validate(broken)
    jsonschema.Draft202012Validator.check_schema(config.schema())  # the schema itself is valid


def test_training_step_is_lr_over_the_limit_kernels_top_eigenvalue(tiny: dict,
                                                                   monkeypatch) -> None:
    import companion.nn.train as train_mod
    from companion.theory.ntk import relu_ntk_gram

    used = []
    fit = train_mod.fit

    def recording_fit(*args, **kwargs):
        used.append(kwargs["lr"])
        return fit(*args, **kwargs)

    monkeypatch.setattr(train_mod, "fit", recording_fit)
    section = dict(tiny, widths=tiny["widths"][:1], steps=4)
    data = b6.generate(section, 0)
    _, scalars = b6.train(section, data, 0, "cpu", lambda _: None)
    x = np.asarray(data["x"])
    n, d = x.shape
    lam_max = np.linalg.eigvalsh(relu_ntk_gram(x / np.sqrt(d)) / n).max()
    assert used and all(lr == pytest.approx(section["lr"] / lam_max, rel=1e-9) for lr in used)
    assert scalars["lr"] == pytest.approx(section["lr"] / lam_max, rel=1e-9)

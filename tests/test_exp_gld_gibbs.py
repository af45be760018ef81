"""D1 gld_gibbs: the tiny preset end to end, and the configuration checks."""

from __future__ import annotations

import copy
import json

import pytest

from companion import pipeline
from companion.config import ConfigError
from companion.experiments import gld_gibbs

from experiment_helpers import run_tiny, tiny_section


@pytest.fixture(scope="module")
def tiny() -> dict:
    return tiny_section(gld_gibbs)


def test_tiny_preset_end_to_end(tiny: dict, tmp_path) -> None:
    metrics = run_tiny(gld_gibbs, tiny, tmp_path)
    n_pairs = len(tiny["betas"]) * len(tiny["etas"])
    s = metrics["series"]
    for key in ("beta", "eta", "kl_final", "mean_chains", "var_chains", "mean_gibbs",
                "var_gibbs", "kl_curves", "basin_chains", "basin_gibbs"):
        assert len(s[key]) == n_pairs, key
    assert len(s["iterations"]) == len(s["kl_curves"][0])
    assert s["iterations"][0] == 0 and s["iterations"][-1] == tiny["n_steps"]
    ids = [c["id"] for c in metrics["claims"]]
    assert ids == ["D1.moments_match_gibbs", "D1.kl_decays", "D1.floor_grows_with_eta",
                   "D1.mass_at_global_min"]
    # The chains really moved from the shallow well towards the Gibbs law.
    for p in range(n_pairs):
        assert s["kl_curves"][p][-1] < 0.1 * s["kl_curves"][p][0]
        assert abs(s["mean_chains"][p] - s["mean_gibbs"][p]) < 0.1
    assert all(v == 0 for v in s["nonfinite"])
    table = metrics["table"]
    assert len(table["rows"]) == n_pairs and len(table["rows"][0]) == len(table["columns"])
    json.dumps(metrics)  # plain JSON throughout


def test_same_seed_same_numbers(tiny: dict, tmp_path) -> None:
    small = {**tiny, "n_steps": 200, "record_every": 20, "n_chains": 64}
    for out in ("a", "b"):
        pipeline.run_data("gld_gibbs", small, 5, tmp_path / out / "d.npz")
        pipeline.run_train("gld_gibbs", small, 5, tmp_path / out / "d.npz", "cpu", 1,
                           tmp_path / out / "r.npz", tmp_path / out / "r.json",
                           log=lambda _: None)
    a = json.loads((tmp_path / "a" / "r.json").read_text())["scalars"]
    b = json.loads((tmp_path / "b" / "r.json").read_text())["scalars"]
    assert a["final_mean"] == b["final_mean"]


@pytest.mark.parametrize("potential", [[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 1.0, 0.0, -0.25], [1.0]])
def test_check_rejects_a_non_confining_potential(tiny: dict, potential: list[float]) -> None:
    cfg = copy.deepcopy(tiny)
    cfg["potential"] = potential
    with pytest.raises(ConfigError, match=r"experiments\.gld_gibbs\.potential: .*even degree"):
        gld_gibbs.check(cfg)


def test_check_rejects_a_step_size_that_diverges(tiny: dict) -> None:
    cfg = copy.deepcopy(tiny)
    cfg["etas"] = [0.05, 0.3]
    with pytest.raises(ConfigError, match=r"experiments\.gld_gibbs\.etas: with eta = 0\.3"):
        gld_gibbs.check(cfg)


@pytest.mark.parametrize(("key", "value", "match"), [
    ("n_chains", 2047, "n_chains: must be a multiple of 8"),
    ("bin_range", [1.0, -1.0], "bin_range"),
    ("betas", [2.0, -1.0], "betas: every value must be > 0"),
    ("window_frac", 0.001, "window_frac"),
])
def test_check_rejects_other_bad_values(tiny: dict, key: str, value, match: str) -> None:
    cfg = copy.deepcopy(tiny)
    cfg[key] = value
    with pytest.raises(ConfigError, match=match):
        gld_gibbs.check(cfg)

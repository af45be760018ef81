"""D1 gld_gibbs: the tiny preset end to end, and the configuration checks."""

from __future__ import annotations

import copy
import json

import numpy as np
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
    assert ids == ["D1.moments_match_chain_law", "D1.relaxation_rate", "D1.floor_grows_with_eta",
                   "D1.floor_order", "D1.mass_at_global_min",
                   "D1.moments_2d_match_chain_law", "D1.floor_grows_with_eta_2d",
                   "D1.floor_order_2d", "D1.mass_at_global_min_2d"]
    # The 2-D chains moved from the shallowest well towards the Gibbs law too.
    n_pairs_2d = len(tiny["betas_2d"]) * len(tiny["etas_2d"])
    assert len(s["kl_curves_2d"]) == n_pairs_2d
    for p in range(n_pairs_2d):
        assert s["kl_curves_2d"][p][-1] < 0.1 * s["kl_curves_2d"][p][0]
        assert s["basin_curves_2d"][p][0] == 0.0 and s["basin_chains_2d"][p] > 0.2
    assert all(v == 0 for v in s["nonfinite_2d"])
    for claim in metrics["claims"][5:]:
        assert claim["context"], claim["id"]
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
    ("n_chains", 2047, "n_chains: must be a multiple of 16"),
    ("bin_range", [1.0, -1.0], "bin_range"),
    ("betas", [2.0, -1.0], "betas: every value must be > 0"),
    ("window_frac", 0.001, "window_frac"),
])
def test_check_rejects_other_bad_values(tiny: dict, key: str, value, match: str) -> None:
    cfg = copy.deepcopy(tiny)
    cfg[key] = value
    with pytest.raises(ConfigError, match=match):
        gld_gibbs.check(cfg)


# --- verdicts on runs built by hand from the discrete chain's exact law ---------------------------

def _synthetic_cfg(tiny: dict) -> dict:
    return {**tiny, "seeds": [0], "betas": [2.0, 4.0], "etas": [0.03, 0.07, 0.15],
            "n_chains": 8192, "n_steps": 1500, "record_every": 10, "window_frac": 0.4}


def _synthetic_run(cfg: dict, seed: int, tau_factor: float = 1.0, mean_shift: float = 0.0,
                   law_eta=lambda eta: eta) -> tuple[dict, dict]:
    """One seed's run whose chains are independent draws, at every record, from the mixture
    ``w(t) start + (1 - w(t)) pi_eta`` with ``w(t) = exp(-t / (tau_factor tau_gap))``: the exact
    law with the exact relaxation (``tau_factor = 1``) or a perturbed one. ``law_eta`` picks the
    step size whose chain law is sampled (the identity for the exact law), ``mean_shift`` moves
    every sample by that many Gibbs standard deviations."""
    from companion.theory import gibbs as theory

    rng = np.random.default_rng(seed)
    betas, etas = gld_gibbs._pairs(cfg)
    steps = gld_gibbs._record_steps(cfg)
    edges = gld_gibbs._edges(cfg)
    coeffs = cfg["potential"]
    _, lo, hi = theory.global_basin(coeffs)
    g, n = gld_gibbs.GROUPS, cfg["n_chains"] // gld_gibbs.GROUPS
    n_rec, n_pairs = len(steps), len(betas)
    counts = np.zeros((n_rec, n_pairs, g, len(edges) + 1), dtype=np.int32)
    moments = np.zeros((n_rec, n_pairs, g, 2))
    in_basin = np.zeros((n_rec, n_pairs, g), dtype=np.int64)
    for p, (beta, eta) in enumerate(zip(betas, etas, strict=True)):
        law = theory.euler_stationary_law(coeffs, beta, law_eta(eta))
        h = law.x[1] - law.x[0]
        sd = np.sqrt(theory.gibbs_law(coeffs, beta).variance)
        tau = tau_factor * theory.euler_relaxation_time(coeffs, beta, eta)
        for r, k in enumerate(steps):
            w = np.exp(-k * eta / tau)
            start = rng.random((g, n)) < w
            x = rng.choice(law.x, size=(g, n), p=law.weights) + h * (rng.random((g, n)) - 0.5)
            x = np.where(start, rng.normal(cfg["init_mean"], cfg["init_std"], (g, n)), x)
            x = x + mean_shift * sd
            cell = np.searchsorted(edges, x, side="left")
            for j in range(g):
                counts[r, p, j] = np.bincount(cell[j], minlength=len(edges) + 1)
            moments[r, p, :, 0] = x.sum(-1)
            moments[r, p, :, 1] = (x ** 2).sum(-1)
            in_basin[r, p] = ((x >= lo) & (x < hi)).sum(-1)
    arrays = {"steps": steps, "beta": betas, "eta": etas, "counts": counts, "moments": moments,
              "in_basin": in_basin, "nonfinite": np.zeros_like(in_basin)}
    scalars = {"n_chains": cfg["n_chains"], "n_steps": cfg["n_steps"], "nonfinite_final": 0,
               "final_mean": moments[-1, :, :, 0].sum(-1) / cfg["n_chains"],
               "final_var": np.ones(n_pairs)}
    return arrays, scalars


def _verdicts(cfg: dict, runs: list) -> dict[str, dict]:
    """The 1-D claims (the 2-D ones have synthetic runs of their own below)."""
    return {c["id"]: c for c in gld_gibbs._summarize_1d(cfg, runs)[1]}


@pytest.fixture(scope="module")
def synthetic(tiny: dict) -> tuple[dict, dict]:
    cfg = _synthetic_cfg(tiny)
    return cfg, _verdicts(cfg, [_synthetic_run(cfg, 0)])


def test_the_exact_chain_law_passes_every_verdict(synthetic) -> None:
    _, claims = synthetic
    failed = {k: c["detail"] for k, c in claims.items() if not c["passed"]}
    assert not failed, failed


def test_a_relaxation_twice_too_slow_fails_the_rate(synthetic) -> None:
    cfg, exact = synthetic
    claims = _verdicts(cfg, [_synthetic_run(cfg, 0, tau_factor=2.0)])
    assert not claims["D1.relaxation_rate"]["passed"]
    assert claims["D1.relaxation_rate"]["measured"] > 0.5
    assert exact["D1.relaxation_rate"]["measured"] < float(cfg["relax_tol"])


def test_a_mean_off_by_a_percent_of_a_standard_deviation_fails_the_z_tests(synthetic) -> None:
    cfg, _ = synthetic
    claims = _verdicts(cfg, [_synthetic_run(cfg, 0, mean_shift=0.01)])
    assert not claims["D1.moments_match_chain_law"]["passed"]


def test_a_floor_of_order_eta_fails_the_order(synthetic) -> None:
    # Sampling the chain law of step sqrt(0.02 eta) gives KL ~ eta^1.1 instead of eta^2.2.
    cfg, _ = synthetic
    claims = _verdicts(cfg, [_synthetic_run(cfg, 0, law_eta=lambda eta: np.sqrt(0.02 * eta))])
    assert not claims["D1.floor_order"]["passed"]
    assert claims["D1.floor_order"]["measured"] > 0.5


def test_relaxation_fit_recovers_an_exponential() -> None:
    t = np.arange(0.0, 30.0, 0.5)
    tau, used = gld_gibbs.relaxation_fit(t, 0.8 * np.exp(-t / 3.0), (0.03, 0.5), 4)
    assert tau == pytest.approx(3.0, rel=1e-9) and used >= 4
    tau, used = gld_gibbs.relaxation_fit(t[:3], 0.8 * np.exp(-t[:3] / 3.0), (0.03, 0.5), 4)
    assert np.isnan(tau)


# --- the 2-D verdicts on runs built by hand from the 2-D chain's exact law ---------------------

def _synthetic_cfg_2d(tiny: dict) -> dict:
    return {**tiny, "seeds": [0], "betas_2d": [2.0, 8.0], "etas_2d": [0.03, 0.06, 0.12],
            "n_chains_2d": 65536, "n_steps": 200, "record_every": 20, "window_frac": 0.5}


def _synthetic_run_2d(cfg: dict, seed: int, law_eta=lambda eta: eta, mean_shift: float = 0.0,
                      start_share: float = 0.0, gibbs: bool = False) -> dict:
    """2-D arrays whose chains are, at every record, independent draws from the discrete chain's
    exact stationary law pi_eta (its Nyström interpolant: a node by its weight, then one Gaussian
    step from it) at the step size ``law_eta(eta)`` (the identity for the exact law), moved by
    ``mean_shift`` along x; with ``gibbs`` from the Gibbs law instead (uniform in its quadrature
    cells). A share ``start_share`` of the chains instead sits at the initial well. Only the
    window's records enter the verdicts: the records before it repeat the first one's draws."""
    from companion.theory import gibbs2d

    rng = np.random.default_rng(seed)
    betas, etas = gld_gibbs._pairs_2d(cfg)
    steps = gld_gibbs._record_steps(cfg)
    window = set(gld_gibbs._window(cfg).tolist())
    edges = gld_gibbs._edges_2d(cfg)
    key = gld_gibbs._key_2d(gld_gibbs._square(cfg["potential_2d"]))
    b = len(edges) - 1
    g, n = gld_gibbs.GROUPS, cfg["n_chains_2d"] // gld_gibbs.GROUPS
    n_rec, n_pairs = len(steps), len(betas)
    curve = np.zeros((n_rec, n_pairs, b * b + 1), dtype=np.int64)
    win = np.zeros((n_pairs, g, b * b + 1), dtype=np.int64)
    moments = np.zeros((n_rec, n_pairs, g, 5))
    for p, (beta, eta) in enumerate(zip(betas, etas, strict=True)):
        if gibbs:
            law = gibbs2d.GibbsLaw2D.of(key, float(beta), edges, sub=4)
            xx, yy = np.meshgrid(law.x, law.y, indexing="ij")
            centres = np.stack([xx.ravel(), yy.ravel()], 1)
        else:
            law = gld_gibbs._chain_law_2d(key, float(beta), float(law_eta(eta)))
            centres = law.targets
        w = law.weights.ravel()
        for r in range(n_rec):
            if 0 < r < min(window):
                curve[r, p], moments[r, p] = curve[0, p], moments[0, p]
                continue
            nodes = rng.choice(w.size, size=g * n, p=w)
            if gibbs:  # uniform in the cell
                x = centres[nodes] + law.h * (rng.random((g * n, 2)) - 0.5)
            else:  # one Gaussian step from the node
                x = centres[nodes] + law.sigma * rng.normal(size=(g * n, 2))
            x[:, 0] += mean_shift
            stuck = rng.random(g * n) < start_share
            at_start = np.asarray(cfg["init_2d"]) + 0.1 * rng.normal(size=x.shape)
            x = np.where(stuck[:, None], at_start, x)
            ix = np.searchsorted(edges, x[:, 0], side="right") - 1
            iy = np.searchsorted(edges, x[:, 1], side="right") - 1
            inside = (ix >= 0) & (ix < b) & (iy >= 0) & (iy < b)
            cell = np.where(inside, ix * b + iy, b * b).reshape(g, n)
            for j in range(g):
                hist = np.bincount(cell[j], minlength=b * b + 1)
                curve[r, p] += hist
                if r in window:
                    win[p, j] += hist
            xg = x.reshape(g, n, 2)
            moments[r, p] = np.stack([xg[..., 0].sum(-1), xg[..., 1].sum(-1),
                                      (xg[..., 0] ** 2).sum(-1), (xg[..., 1] ** 2).sum(-1),
                                      (xg[..., 0] * xg[..., 1]).sum(-1)], -1)
    return {"beta_2d": betas, "eta_2d": etas, "curve_2d": curve, "window_counts_2d": win,
            "moments_2d": moments, "nonfinite_2d": np.zeros((n_rec, n_pairs, g))}


def _series_2d(cfg: dict, arrays: dict) -> dict:
    return gld_gibbs._summarize_2d(cfg, [(arrays, {})], gld_gibbs._window(cfg))


def _verdicts_2d(cfg: dict, arrays: dict) -> dict[str, dict]:
    return {c["id"]: c for c in gld_gibbs._claims_2d(cfg, _series_2d(cfg, arrays))}


@pytest.fixture(scope="module")
def synthetic_2d(tiny: dict) -> tuple[dict, dict, dict]:
    cfg = _synthetic_cfg_2d(tiny)
    series = _series_2d(cfg, _synthetic_run_2d(cfg, 0))
    return cfg, series, {c["id"]: c for c in gld_gibbs._claims_2d(cfg, series)}


def test_the_exact_2d_chain_law_passes_every_2d_verdict(synthetic_2d) -> None:
    _, _, claims = synthetic_2d
    assert set(claims) == {"D1.moments_2d_match_chain_law", "D1.floor_grows_with_eta_2d",
                           "D1.floor_order_2d", "D1.mass_at_global_min_2d"}
    failed = {k: c["detail"] for k, c in claims.items() if not c["passed"]}
    assert not failed, failed
    # The floor's slopes are those of the exact law, a little above the asymptotic 2.
    slopes = claims["D1.floor_order_2d"]["context"]["slope_theory"]
    assert all(2.0 < t < 2.5 for t in slopes), slopes


def test_a_mean_off_by_a_twentieth_fails_the_2d_moments(synthetic_2d) -> None:
    cfg, _, _ = synthetic_2d
    claims = _verdicts_2d(cfg, _synthetic_run_2d(cfg, 1, mean_shift=0.05))
    assert not claims["D1.moments_2d_match_chain_law"]["passed"]
    assert "(mean_x at beta" in claims["D1.moments_2d_match_chain_law"]["detail"]


@pytest.fixture(scope="module")
def gibbs_2d(synthetic_2d) -> tuple[dict, dict]:
    """Chains drawn from the Gibbs law itself (the eta -> 0 limit) instead of pi_eta."""
    cfg, _, _ = synthetic_2d
    return cfg, _series_2d(cfg, _synthetic_run_2d(cfg, 2, gibbs=True))


def test_the_gibbs_law_instead_of_the_chain_law_fails_the_2d_moments(gibbs_2d) -> None:
    # The O(eta) bias of pi_eta is what the chains must show: the Gibbs law lacks it.
    cfg, s = gibbs_2d
    claims = {c["id"]: c for c in gld_gibbs._claims_2d(cfg, s)}
    assert not claims["D1.moments_2d_match_chain_law"]["passed"]


def test_a_floor_of_order_eta_fails_the_2d_order(synthetic_2d) -> None:
    # The two smaller steps sample the same chain law (eta = 0.06): over eta = 0.03, 0.06, 0.12
    # the fitted slope is then about half the exact one.
    cfg, _, _ = synthetic_2d
    claims = _verdicts_2d(cfg, _synthetic_run_2d(cfg, 3, law_eta=lambda eta: max(eta, 0.06)))
    assert not claims["D1.floor_order_2d"]["passed"]
    assert claims["D1.floor_order_2d"]["measured"] > 0.5


def test_a_floor_falling_with_eta_fails_the_2d_growth(synthetic_2d) -> None:
    # The step sizes' chain laws in reverse order.
    cfg, _, _ = synthetic_2d
    claims = _verdicts_2d(cfg, _synthetic_run_2d(cfg, 4, law_eta=lambda eta: 0.0036 / eta))
    assert not claims["D1.floor_grows_with_eta_2d"]["passed"]


def test_chains_left_in_the_start_well_fail_the_2d_basin(synthetic_2d) -> None:
    cfg, _, _ = synthetic_2d
    claims = _verdicts_2d(cfg, _synthetic_run_2d(cfg, 5, start_share=0.1))
    assert not claims["D1.mass_at_global_min_2d"]["passed"]


def _decide_2d(cfg: dict, s: dict, **changes) -> dict[str, dict]:
    s = {k: np.array(v, dtype=float, copy=True) if isinstance(v, np.ndarray) else v
         for k, v in s.items()}
    for key, (index, value) in changes.items():
        s[key][index] = value
    return {c["id"]: c for c in gld_gibbs._claims_2d(cfg, s)}


def test_a_2d_moment_just_beyond_the_bar_fails(synthetic_2d) -> None:
    cfg, s, _ = synthetic_2d
    z_max = float(cfg["z_max"])
    for stat in ("mean_y", "var_x", "cov_xy"):
        # 1.5 z_max standard errors off at one pair (t on 15 d.o.f. makes |z| a little smaller).
        off = s[f"{stat}_euler_2d"][4] + 1.5 * z_max * s[f"{stat}_chains_2d_se"][4]
        claim = _decide_2d(cfg, s, **{f"{stat}_chains_2d": (4, off)})[
            "D1.moments_2d_match_chain_law"]
        assert not claim["passed"] and z_max < claim["measured"] < 1.5 * z_max, stat
        assert f"({stat} at beta = 8, eta = 0.06" in claim["detail"], claim["detail"]


def test_the_2d_basin_claim_compares_with_the_chain_law_and_needs_a_majority(synthetic_2d) -> None:
    cfg, s, _ = synthetic_2d
    p = 3  # beta = 8, eta = 0.03
    se = s["basin_chains_2d_se"][p]
    agree = _decide_2d(cfg, s, basin_chains_2d=(p, 0.6), basin_euler_2d=(p, 0.6),
                       basin_gibbs_2d=(p, 0.9))
    assert agree["D1.mass_at_global_min_2d"]["passed"]
    off = _decide_2d(cfg, s, basin_chains_2d=(p, 0.6), basin_euler_2d=(p, 0.6 + 10 * se),
                     basin_gibbs_2d=(p, 0.6))
    assert not off["D1.mass_at_global_min_2d"]["passed"]
    minority = _decide_2d(cfg, s, basin_chains_2d=(p, 0.45), basin_euler_2d=(p, 0.45))
    assert not minority["D1.mass_at_global_min_2d"]["passed"]


def test_a_2d_floor_that_stops_growing_at_one_beta_fails(synthetic_2d) -> None:
    cfg, s, _ = synthetic_2d
    claim = _decide_2d(cfg, s, kl_stationary_2d=(2, s["kl_stationary_2d"][1]))
    assert not claim["D1.floor_grows_with_eta_2d"]["passed"]
    assert claim["D1.floor_grows_with_eta_2d"]["measured"] == pytest.approx(0.5)


def test_the_2d_floor_order_is_judged_against_the_exact_slope(synthetic_2d) -> None:
    cfg, s, _ = synthetic_2d
    tol = float(cfg["floor_slope_tol"])
    exact = s["floor_slope_theory_2d"]
    # Within the tolerance of the exact slope passes, beyond it fails, whichever side.
    inside = _decide_2d(cfg, s, floor_slope_2d=(0, exact[0] - 0.9 * tol))["D1.floor_order_2d"]
    assert inside["passed"] and inside["measured"] == pytest.approx(0.9 * tol)
    outside = _decide_2d(cfg, s, floor_slope_2d=(1, exact[1] + 1.1 * tol))["D1.floor_order_2d"]
    assert not outside["passed"] and outside["measured"] == pytest.approx(1.1 * tol)
    # An unresolved beta is left out; the other still decides.
    one = _decide_2d(cfg, s, floor_slope_2d=(0, np.nan))["D1.floor_order_2d"]
    assert one["passed"] and one["measured"] == pytest.approx(abs(s["floor_slope_2d"][1]
                                                                  - exact[1]))
    assert one["context"]["slope"][0] is None


def test_no_resolved_floor_fails_the_order_in_1d_and_2d(synthetic_2d, exact_series) -> None:
    # Every floor within 2 se of zero: no slope is fitted, the order is not shown.
    cfg, s, _ = synthetic_2d
    claim = _decide_2d(cfg, s, floor_slope_2d=(slice(None), np.nan))["D1.floor_order_2d"]
    assert not claim["passed"] and claim["measured"] == 1e9
    assert "unresolved" in claim["detail"]
    cfg1, s1 = exact_series
    claim = _decide(cfg1, s1, floor_slope=(slice(None), np.nan))["D1.floor_order"]
    assert not claim["passed"] and claim["measured"] == 1e9
    assert "unresolved" in claim["detail"]


def test_chains_at_the_gibbs_law_leave_the_2d_floor_unresolved(gibbs_2d) -> None:
    # Drawn from the Gibbs law itself the stationary KLs are ~0 within their errors: the
    # summary fits no slope, takes the exact slope over all etas, and the order claim fails on
    # its fallback.
    cfg, s = gibbs_2d
    assert np.all(s["kl_stationary_2d"] < 2 * s["kl_stationary_2d_se"])
    assert np.isnan(s["floor_slope_2d"]).all() and np.isnan(s["floor_slope_2d_se"]).all()
    betas, etas = np.asarray(s["beta_2d"]), np.asarray(s["eta_2d"])
    for i, b in enumerate(s["betas_2d"]):
        idx = betas == b
        exact = np.polyfit(np.log(etas[idx]), np.log(s["kl_euler_2d"][idx]), 1)[0]
        assert s["floor_slope_theory_2d"][i] == pytest.approx(exact, rel=1e-12)
    claim = {c["id"]: c for c in gld_gibbs._claims_2d(cfg, s)}["D1.floor_order_2d"]
    assert not claim["passed"] and claim["measured"] == 1e9


def test_check_rejects_a_2d_potential_that_does_not_confine(tiny: dict) -> None:
    cfg = copy.deepcopy(tiny)
    cfg["potential_2d"] = [[0.0, 0.0, 0.0, 0.0, 0.25], [0.0], [-0.5], [0.0], [0.0]]
    with pytest.raises(ConfigError, match=r"potential_2d: .*not positive in every direction"):
        gld_gibbs.check(cfg)


def test_check_rejects_a_2d_step_size_that_diverges(tiny: dict) -> None:
    cfg = copy.deepcopy(tiny)
    cfg["etas_2d"] = [0.05, 0.4]
    with pytest.raises(ConfigError, match=r"etas_2d: with eta = 0\.4"):
        gld_gibbs.check(cfg)


def test_the_slope_helper_is_the_unweighted_fit_with_a_delta_method_error() -> None:
    x = np.array([0.1, 0.2, 0.4])
    slope, _ = gld_gibbs.loglog_slope(x, 3.0 * x ** 2, np.full(3, 1e-3))
    assert slope == pytest.approx(2.0)
    # As np.polyfit (the 1-D case's fit), whatever the standard errors.
    y, y_se = np.array([1.0, 4.5, 14.0]), np.array([0.01, 0.5, 0.2])
    slope, se = gld_gibbs.loglog_slope(x, y, y_se)
    assert slope == pytest.approx(np.polyfit(np.log(x), np.log(y), 1)[0], rel=1e-12)
    d = np.log(x) - np.log(x).mean()
    assert se == pytest.approx(np.sqrt(np.sum(d ** 2 * (y_se / y) ** 2)) / np.sum(d ** 2))
    # Two points with relative errors r1, r2: se = sqrt(r1^2 + r2^2) / log(x2 / x1).
    slope, se = gld_gibbs.loglog_slope(np.array([1.0, 2.0]), np.array([1.0, 4.0]),
                                       np.array([0.1, 0.2]))
    assert slope == pytest.approx(2.0) and se == pytest.approx(np.sqrt(0.01 + 0.0025) / np.log(2))


def test_check_rejects_a_2d_law_too_wide_for_the_quadrature(tiny: dict) -> None:
    cfg = copy.deepcopy(tiny)
    cfg["potential_2d"] = [[0.0, 0.0, 0.0, 0.0, 1e-4], [0.0], [0.0], [0.0], [1e-4]]
    with pytest.raises(ConfigError, match=r"potential_2d: at beta = .* quadrature points"):
        gld_gibbs.check(cfg)


# --- each rule of _claims on the exact law's summary, one number changed at a time -----------

@pytest.fixture(scope="module")
def exact_series(tiny: dict) -> tuple[dict, dict]:
    cfg = _synthetic_cfg(tiny)
    series = gld_gibbs._summarize_1d(cfg, [_synthetic_run(cfg, 0)])[0]
    return cfg, {key: np.asarray(_nan_for_null(value), dtype=float)
                 for key, value in series.items()}


def _nan_for_null(value):
    # The metrics' JSON form writes NaN as null; _claims works on the arrays.
    if isinstance(value, list):
        return [_nan_for_null(v) for v in value]
    return np.nan if value is None else value


def _decide(cfg: dict, s: dict, **changes) -> dict[str, dict]:
    s = {k: v.copy() for k, v in s.items()}
    for key, (index, value) in changes.items():
        s[key][index] = value
    return {c["id"]: c for c in gld_gibbs._claims(cfg, s, cfg["n_chains"], 1)}


def _basin_pair(s: dict) -> int:
    return int(np.flatnonzero((s["beta"] == s["beta"].max()) & (s["eta"] == s["eta"].min()))[0])


def test_exact_series_pass_and_a_moment_just_beyond_the_bar_fails(exact_series) -> None:
    cfg, s = exact_series
    assert all(c["passed"] for c in _decide(cfg, s).values())
    z_max = float(cfg["z_max"])
    for moment in ("mean", "var"):
        # 1.5 z_max standard errors off at one pair (t on 7 d.o.f. makes |z| a little smaller).
        off = s[f"{moment}_euler"][2] + 1.5 * z_max * s[f"{moment}_chains_se"][2]
        claim = _decide(cfg, s, **{f"{moment}_chains": (2, off)})["D1.moments_match_chain_law"]
        assert not claim["passed"] and z_max < claim["measured"] < 1.5 * z_max, moment


def test_one_pair_relaxing_at_the_wrong_rate_fails_the_rate(exact_series) -> None:
    cfg, s = exact_series
    resolved = np.flatnonzero(np.isfinite(s["relax_time"]))
    assert resolved.size >= 2
    j = int(resolved[0])
    claim = _decide(cfg, s, relax_time=(j, 2.0 * s["relax_time_theory"][j]))
    assert not claim["D1.relaxation_rate"]["passed"]
    assert claim["D1.relaxation_rate"]["measured"] == pytest.approx(1.0, abs=0.01)


def test_a_floor_that_stops_growing_at_one_beta_fails(exact_series) -> None:
    cfg, s = exact_series
    idx = np.flatnonzero(s["beta"] == s["beta"].min())
    idx = idx[np.argsort(s["eta"][idx])]
    claim = _decide(cfg, s, kl_stationary=(idx[-1], s["kl_stationary"][idx[-2]]))
    assert not claim["D1.floor_grows_with_eta"]["passed"]
    assert claim["D1.floor_grows_with_eta"]["measured"] == pytest.approx(0.5)


def test_the_basin_claim_compares_with_the_chain_law_and_needs_a_majority(exact_series) -> None:
    cfg, s = exact_series
    p = _basin_pair(s)
    se = s["basin_chains_se"][p]
    # Chains and pi_eta agree, the Gibbs law (eta -> 0) does not: the claim is about pi_eta.
    agree = _decide(cfg, s, basin_chains=(p, 0.6), basin_euler=(p, 0.6), basin_gibbs=(p, 0.9))
    assert agree["D1.mass_at_global_min"]["passed"]
    off = _decide(cfg, s, basin_chains=(p, 0.6), basin_euler=(p, 0.6 + 10 * se),
                  basin_gibbs=(p, 0.6))
    assert not off["D1.mass_at_global_min"]["passed"]
    minority = _decide(cfg, s, basin_chains=(p, 0.45), basin_euler=(p, 0.45),
                       basin_gibbs=(p, 0.45))
    assert not minority["D1.mass_at_global_min"]["passed"]


def test_standard_errors_are_calibrated_on_the_exact_law(exact_series) -> None:
    # Drawn from pi_eta itself, (measured - exact) / se of the mean, the variance and the
    # stationary KL are about N(0, 1) at every pair: their mean square is near 1, far from the
    # ~0.1 of errors three times too large or the ~10 of errors three times too small.
    _, s = exact_series
    z = np.concatenate([(s["mean_chains"] - s["mean_euler"]) / s["mean_chains_se"],
                        (s["var_chains"] - s["var_euler"]) / s["var_chains_se"],
                        (s["kl_stationary"] - s["kl_euler"]) / s["kl_stationary_se"]])
    assert 0.3 < float(np.mean(z ** 2)) < 3.0, z


def test_moment_errors_are_the_spread_of_the_group_replicates(tiny: dict) -> None:
    cfg = _synthetic_cfg(tiny)
    arrays, scalars = _synthetic_run(cfg, 3)
    series = gld_gibbs._summarize_1d(cfg, [(arrays, scalars)])[0]
    window = gld_gibbs._window(cfg)
    m = arrays["moments"][window].sum(axis=0)  # (P, G, 2)
    n = arrays["counts"][window].sum(axis=(0, -1))  # (P, G)
    group_mean, group_sq = m[..., 0] / n, m[..., 1] / n
    g = group_mean.shape[1]
    np.testing.assert_allclose(series["mean_chains_se"],
                               group_mean.std(axis=1, ddof=1) / np.sqrt(g), rtol=1e-9)
    np.testing.assert_allclose(series["var_chains_se"],
                               (group_sq - group_mean ** 2).std(axis=1, ddof=1) / np.sqrt(g),
                               rtol=1e-9)
    share = arrays["in_basin"][window].sum(axis=0) / n
    np.testing.assert_allclose(series["basin_chains_se"], share.std(axis=1, ddof=1) / np.sqrt(g),
                               rtol=1e-9)


def test_the_stationary_kl_is_jackknifed(tiny: dict) -> None:
    # Few chains drawing from (nearly) the Gibbs law itself: the true KL is ~0, the plug-in
    # estimate is biased up by about (B - 1) / (2 N); the jackknife removes that bias.
    cfg = {**_synthetic_cfg(tiny), "n_chains": 256}
    series = gld_gibbs._summarize_1d(cfg, [_synthetic_run(cfg, 1, law_eta=lambda eta: 1e-3)])[0]
    from companion.theory import gibbs as theory

    edges = gld_gibbs._edges(cfg)
    betas, _ = gld_gibbs._pairs(cfg)
    sampled = [theory.euler_stationary_law(cfg["potential"], b, 1e-3) for b in betas]
    truth = np.array([float(theory.binned_kl(law.bin_masses(edges),
                                             theory.gibbs_law(cfg["potential"], b).bin_masses(
                                                 edges)))
                      for law, b in zip(sampled, betas, strict=True)])
    z = (np.asarray(series["kl_stationary"]) - truth) / np.asarray(series["kl_stationary_se"])
    assert abs(float(np.mean(z))) < 2.0 and float(np.max(np.abs(z))) < 4.0, z


def test_the_memory_estimate_counts_the_2d_kernel(tiny: dict) -> None:
    # The exact 2-D law's kernel grows like (beta / eta) (its grid spacing is a fraction of
    # sqrt(2 eta / beta)): a tiny step makes it the metrics job's largest term, named etas_2d.
    small, _ = gld_gibbs.peak_memory_mb(tiny)["metrics"]
    big, key = gld_gibbs.peak_memory_mb({**tiny, "etas_2d": [0.001, 0.1]})["metrics"]
    assert key == "etas_2d" and big > 2000 > 500 > small

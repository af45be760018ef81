"""Each verdict at its own boundary: a measured value exactly at the limit decides the claim the
way its relation says (``<=``, ``>=`` and ``~=`` include the limit, ``<`` and ``>`` do not), and
just beyond the limit it fails.

The stored tiny-preset runs (``tests/fixtures/tiny_runs/<id>/``) are summarised again with the
claim's limit (a key of the experiment's section) set to the value the claim measured, so a
comparison written ``<`` where the claim says ``<=`` (or the reverse) is caught, which runs that
land near a limit only by chance never show.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from companion import experiments
from companion.io import read_json, read_npz

RUNS = Path(__file__).parent / "fixtures" / "tiny_runs"
INCLUSIVE = {"<=": True, ">=": True, "~=": True, "<": False, ">": False}
# Claim id -> the key of its experiment's section that holds its limit (its expected value, or
# the tolerance of an "~=" claim).
LIMIT_KEY = {
    "A1.trained_error_below_eps": "eps",
    "A1.barron_rate_dimension_free": "slope_max",
    "A3.random_regions_track_neurons": "ratio_spread_max",
    "A5.lowdim_error_flat": "lowdim_growth_max",
    "A6.exponent_matches_rate": "exponent_tol",
    "A6.risk_matches_equivalent": "risk_rel_tol",
    "B1.risk_matches_theory": "rel_tol",
    "B1.risk_matches_finite_n": "z_max",
    "B1.bias_matches_finite_n": "z_max",
    "B1.variance_matches_finite_n": "z_max",
    "B1.ridge_matches_theory": "ridge_rel_tol",
    "B1.ridge_removes_peak": "ridge_drop_z",
    "B2.ridge_removes_peak": "rise_z",
    "B2.ridgeless_matches_theory": "rel_tol",
    "B2.ridge_matches_theory": "rel_tol",
    "B3.vc_grows_with_width": "width_factor",
    "B3.spectral_flat_in_width": "width_factor",
    "B3.pac_bayes_width_only_explicit": "width_factor",
    "B3.frobenius_flat_in_width": "width_factor",
    "B4.compressible_size_small": "max_fraction",
    "B4.accuracy_kept": "max_drop",
    "B5.ngd_variance_matches": "variance_rel_tol",
    "B6.ntk_movement_slope": "slope_tol",
    "B6.mf_movement_order_one": "slope_tol",
    "B6.mf_kernel_moves": "slope_tol",
    "B6.ntk_loss_rate": "rate_tol",
    "B6.ntk_linearised_loss": "linearised_tol",
    "B7.odd_degrees_vanish": "odd_tol",
    "B7.empirical_spectrum": "spectrum_rel_tol",
    "B7.sample_spectrum": "sample_spectrum_rel_tol",
    "B7.lazy_regime": "max_kernel_change",
    "B7.fit_times_match_kernel": "kernel_fit_time_rel_tol",
    "B7.fit_times_match_eigenvalues": "fit_time_rel_tol",
    "B7.fit_times_match_eigenvalues_finite_n": "fit_time_rel_tol",
    "C1.alignment_matches_limit": "alignment_tol",
    "C1.sigma1_matches_limit": "sigma1_tol",
    "C2.ge_tracks_ck": "ge_rel_tol",
    "C3.mf_mass_near_teacher": "share_min_mf",
    "C3.ntk_share_stays": "ntk_share_tol",
    "D1.moments_match_chain_law": "z_max",
    "D1.relaxation_rate": "relax_tol",
    "D1.floor_order": "floor_slope_tol",
    "D1.mass_at_global_min": "z_max",
    "D1.moments_2d_match_chain_law": "z_max",
    "D1.floor_order_2d": "floor_slope_tol",
    "D1.mass_at_global_min_2d": "z_max",
    "D3.linear_phase": "r2_min",
    "D4.kernel_n_grows_faster": "slope_gap_min",
}
_LOADED: dict[str, tuple[dict[str, Any], list[Any]]] = {}


def _stored(exp_id: str) -> tuple[dict[str, Any], list[Any]]:
    if exp_id not in _LOADED:
        folder = RUNS / exp_id
        want = read_json(folder / "metrics.json")
        runs = [(read_npz(folder / f"seed{s}.npz"),
                 read_json(folder / f"seed{s}.json")["scalars"]) for s in want["seeds"]]
        _LOADED[exp_id] = (want["config"], runs)
    return _LOADED[exp_id]


def _claim(exp_id: str, cfg: dict[str, Any], runs: list[Any], claim_id: str) -> dict[str, Any]:
    out = experiments.get(exp_id).summarize(cfg, runs)
    return next(c for c in out["claims"] if c["id"] == claim_id)


def _exp_id(claim_id: str) -> str:
    catalog = claim_id.split(".")[0]
    return next(e for e in experiments.EXPERIMENTS if experiments.get(e).CATALOG == catalog)


@pytest.mark.parametrize("claim_id", sorted(LIMIT_KEY))
def test_a_value_at_the_limit_is_decided_by_the_relation(claim_id: str) -> None:
    exp_id, key = _exp_id(claim_id), LIMIT_KEY[claim_id]
    cfg, runs = _stored(exp_id)
    claim = _claim(exp_id, cfg, runs, claim_id)
    relation = claim["relation"]
    limit = claim["tolerance"] if relation == "~=" else claim["expected"]
    assert limit == cfg[key], (claim_id, key, limit, cfg[key])
    at = abs(claim["measured"] - claim["expected"]) if relation == "~=" else claim["measured"]
    assert math.isfinite(at) and at != 0, (claim_id, at)
    on_edge = _claim(exp_id, dict(cfg, **{key: at}), runs, claim_id)
    assert on_edge["measured"] == claim["measured"]  # the limit does not move the measurement
    assert on_edge["passed"] is INCLUSIVE[relation], (claim_id, relation, at)
    # A hair beyond the limit, on the failing side, the claim fails.
    below = relation in ("<=", "<", "~=")
    beyond = at * (1 - 1e-6) if (below == (at > 0)) else at * (1 + 1e-6)
    assert _claim(exp_id, dict(cfg, **{key: beyond}), runs, claim_id)["passed"] is False

"""D1: gradient Langevin dynamics samples the Gibbs law, up to a bias that grows with the step size.

Claim (Raginsky, Rakhlin and Telgarsky 2017; Vempala and Wibisono 2019, Thm. 1): the GLD chain
``X_{k+1} = X_k - eta L'(X_k) + sqrt(2 eta / beta) xi_k`` forgets its start geometrically fast
(the potential's Gibbs law satisfies a log-Sobolev inequality) and settles at a law within O(eta)
of ``pi ∝ exp(-beta L)``; for large ``beta`` that law puts its mass at the global minimum even when
``L`` is not convex.

Setup: a tilted double well ``L(x) = sum_k c_k x^k`` (``potential``), every chain started near the
shallower well (``init_mean``, ``init_std``), ``n_chains`` chains for every pair in
``betas x etas``, all advanced as one ``(pairs, n_chains)`` tensor for ``n_steps`` steps. Every
pair gets the same number of steps, so the x-axis of every curve is the iteration count ``k`` and
the bound's two terms are both visible: the transient ``exp(-c k eta)`` (fast for large eta) and
the floor (low for small eta: the density of the chain's law is off by O(eta), so its KL to
``pi`` is O(eta^2), which the fitted slope of the floor tests). ``n_steps * min(etas)`` must be
several relaxation times of the slowest pair (largest beta) for the smallest step to equilibrate.

Stages:

- ``generate``: the initial states ``(pairs, n_chains)``, the bin edges and the basin of the global
  minimum.
- ``train``: GLD steps; every ``record_every`` steps, on the device and without a host sync, the
  histogram of every pair's chains on the bins (two overflow bins included), split into
  ``GROUPS`` disjoint groups of chains (for the jackknife and the standard errors); the sums of
  ``x`` and ``x^2``; the count in the global minimum's basin; the count of non-finite states.
  Moved to the host once, at the end.
- ``summarize``: per pair, the relaxation time of the excess mass in the shallow well against the
  spectral gap of the discretised transition kernel; mean, variance and basin mass against the
  discrete chain's exact law in z-scores; the binned KL between the chains' histogram and the Gibbs
  bin masses at every record (its curve), the plateau (``kl_final``: its mean over the last
  ``window_frac`` of the run), and the *stationary* KL from the window's pooled histograms with the
  sampling bias removed by a delete-one-group jackknife over (seed, group) groups. The plain plateau
  of ``n`` chains cannot go below the sampling level ``~ (bins - 1) / (2 n)``; the jackknifed value
  is what separates the discretisation bias from that noise. Theory beside it: the Gibbs law by
  quadrature and the discretised chain's own stationary law ``pi_eta`` (Nyström;
  :mod:`companion.theory.gibbs`), whose KL to ``pi`` is the bias the chains should show, and the
  exact expected plateau ``E KL(p_hat || pi)`` of ``n_chains`` independent draws from ``pi_eta``.

2-D: the same chains on ``L(x, y) = sum c_ij x^i y^j`` (``potential_2d``, four wells of different
depths by default), ``n_chains_2d`` chains for every pair in ``betas_2d x etas_2d``, started at the
shallowest well (``init_2d``), the same steps and records. The Gibbs law by quadrature on cells
subdividing the 2-D histogram's bins (:mod:`companion.theory.gibbs2d`); the KL curve on the 2-D
histogram, its jackknifed stationary value, and the window's means, variances, covariance and
global-basin share per (seed, group). The discrete 2-D chain's own stationary law ``pi_eta`` is
computed as in 1-D, by a Nyström discretisation of its Gaussian kernel on a 2-D tensor grid
(:func:`companion.theory.gibbs2d.euler_stationary_law_2d`), and the 2-D verdicts are the 1-D ones:
the statistics against ``pi_eta`` in z-scores, the floor's log-log slope against the exact
``KL(pi_eta || pi)``'s within ``floor_slope_tol``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from companion import divergence, memory
from companion.io import jsonable
from companion.stats import normal_equivalent_z
from companion.theory import gibbs as theory

ID = "gld_gibbs"
CATALOG = "D1"
PART = 4
SOURCES = ["stats.py", "theory/gibbs.py", "theory/gibbs2d.py", "nn/binning.py",
           "nn/langevin.py", "plots/style.py"]
FIGURES = ("kl_vs_iteration", "floor_vs_eta", "moments", "densities", "densities_2d")

_SECTION = f"experiments.{ID}"
# The chains must not reach the region where the Euler map overshoots (|x - eta L'(x)| >= |x|,
# where the scheme diverges): the expected number of chain-steps landing there over one seed's
# run (theory.euler_overshoot_probability x n_chains x n_steps) may not exceed this.
MAX_EXPECTED_OVERSHOOTS = 0.01
# Smallest leading coefficient of the potential accepted (see check()).
MIN_LEADING_COEFFICIENT = 1e-6
# The relaxation time is fitted where the shallow well's excess mass is within this band of its
# initial value (earlier the start's faster modes, later the sampling noise), on at least this
# many records.
_RELAX_BAND = (0.03, 0.5)
_RELAX_MIN_RECORDS = 4
# ... and where the excess is at least this many standard errors of one record's basin share.
_RELAX_NOISE_SIGMAS = 5.0
# Points of the theory's eta grid between the smallest and largest configured step size.
_ETA_GRID = 9
# Every seed's chains are recorded in this many disjoint groups: independent replicates for the
# jackknife of the stationary KL and for the standard errors of the window averages.
GROUPS = 16


# --------------------------------------------------------------------------------------------
# configuration


def _check_chains_and_range(cfg: Mapping[str, Any], chains_key: str, range_key: str) -> None:
    """The chains split evenly into the recording groups, and the histogram range is ordered."""
    from companion.config import ConfigError

    if int(cfg[chains_key]) % GROUPS:
        raise ConfigError(f"{_SECTION}.{chains_key}: must be a multiple of {GROUPS} (the chains "
                          f"are recorded in {GROUPS} groups); got {cfg[chains_key]}")
    lo, hi = (float(v) for v in cfg[range_key])
    if not lo < hi:
        raise ConfigError(f"{_SECTION}.{range_key}: must be [lo, hi] with lo < hi; got {[lo, hi]}")


def check(cfg: Mapping[str, Any]) -> None:
    """What the JSON Schema cannot say: a confining potential, stable steps, a usable window."""
    from companion.config import ConfigError

    coeffs = [float(c) for c in cfg["potential"]]
    problem = theory.confining_problem(coeffs)
    if problem is not None:
        raise ConfigError(
            f"{_SECTION}.potential: L(x) = sum_k c_k x^k with coefficients {coeffs} (lowest "
            f"degree first) is not confining, so exp(-beta L) has no Gibbs law: {problem}. "
            "Allowed: an even degree >= 2 with a positive leading coefficient, e.g. "
            "[0, 0.15, -0.5, 0, 0.25]")
    leading = float(np.trim_zeros(np.asarray(coeffs), "b")[-1])
    if leading < MIN_LEADING_COEFFICIENT:
        # The Gibbs law then spreads over |x| ~ (beta c)^(-1/degree), far beyond any histogram
        # range, and its quadrature is singular.
        raise ConfigError(f"{_SECTION}.potential: the leading coefficient {leading:g} is below "
                          f"{MIN_LEADING_COEFFICIENT:g}; the Gibbs law would not be confined to a "
                          "range the chains and the quadrature can resolve")
    betas = [float(b) for b in cfg["betas"]]
    etas = [float(e) for e in cfg["etas"]]
    for key, values in (("betas", betas), ("etas", etas)):
        bad = [v for v in values if not v > 0]
        if bad:
            raise ConfigError(f"{_SECTION}.{key}: every value must be > 0; got {bad}")
    init_lo = float(cfg["init_mean"]) - 5 * float(cfg["init_std"])
    init_hi = float(cfg["init_mean"]) + 5 * float(cfg["init_std"])
    chain_steps = int(cfg["n_chains"]) * int(cfg["n_steps"])
    for eta in etas:
        r_minus, r_plus = theory.euler_overshoot_region(coeffs, eta)
        if not (r_minus < init_lo and init_hi < r_plus):
            raise ConfigError(f"{_SECTION}.etas: with eta = {eta:g} the Euler step overshoots "
                              f"(and diverges) outside [{r_minus:.3g}, {r_plus:.3g}], which the "
                              "initial states (init_mean +- 5 init_std) reach; use a smaller eta")
        for beta in betas:
            expected = theory.euler_overshoot_probability(coeffs, beta, eta) * chain_steps
            if expected > MAX_EXPECTED_OVERSHOOTS:
                raise ConfigError(
                    f"{_SECTION}.etas: with eta = {eta:g} and beta = {beta:g} about "
                    f"{expected:.2g} of the n_chains x n_steps chain-steps would land outside "
                    f"[{r_minus:.3g}, {r_plus:.3g}], where the Euler step overshoots and the "
                    f"chain diverges (at most {MAX_EXPECTED_OVERSHOOTS:g} allowed); use a smaller "
                    "eta or a larger beta")
    _check_chains_and_range(cfg, "n_chains", "bin_range")
    if int(cfg["record_every"]) > int(cfg["n_steps"]):
        raise ConfigError(f"{_SECTION}.record_every: must be <= n_steps = {cfg['n_steps']}")
    if len(_window(cfg)) < 2:
        raise ConfigError(f"{_SECTION}.window_frac: the last {cfg['window_frac']} of the run holds "
                          "fewer than 2 records; raise it or lower record_every")
    _check_2d(cfg)


def peak_memory_mb(cfg: Mapping[str, Any]) -> dict[str, tuple[float, str]]:
    """Estimated peak memory per job (:mod:`companion.memory`): the chains ``(pairs, n_chains)``
    (float64 draws and the float32 states in data; in train the state, its noise and gradient and
    the int64 histogram indices) and the recorded histograms ``(records, pairs, 8, n_bins + 3)``
    (int64 in train; every seed's, converted to float64, in metrics)."""
    pairs = len(cfg["betas"]) * len(cfg["etas"])
    chains = float(pairs) * int(cfg["n_chains"])
    records = int(cfg["n_steps"]) // int(cfg["record_every"]) + 1
    cells = float(records) * pairs * GROUPS * (int(cfg["n_bins"]) + 3)
    # The 2-D part: chains (pairs_2d, n_chains_2d, 2) and the per-record pooled histograms
    # (records, pairs_2d, n_bins_2d^2 + 1) with the window's per-group ones.
    pairs_2d = len(cfg["betas_2d"]) * len(cfg["etas_2d"])
    chains_2d = 2.0 * pairs_2d * int(cfg["n_chains_2d"])
    cells_2d = float(pairs_2d) * (records + GROUPS) * (int(cfg["n_bins_2d"]) ** 2 + 1)
    # The largest pair's discretised 2-D kernel (one at a time): its entries and their int64
    # indices while it is built, then the CSR matrix (float64 values, int32 indices); 32 bytes
    # per entry bounds it (measured: ~15 per entry of kernel_entries_per_node).
    kernel_2d = 32.0 * _chain_kernel_entries_2d(cfg)
    return {
        "data": memory.dominant("data", {"n_chains": 8.0 * 2 * chains,
                                         "n_chains_2d": 8.0 * 2 * chains_2d}),
        "train": memory.dominant("train", {"n_chains": (4 * 4 + 8 * 4) * chains,
                                           "n_bins": 8.0 * 2 * cells,
                                           "n_chains_2d": (4 * 8 + 8 * 6) * chains_2d,
                                           "n_bins_2d": 8.0 * 2 * cells_2d}),
        "metrics": memory.dominant("metrics", {"n_bins": 8.0 * 4 * cells * len(cfg["seeds"]),
                                               "n_bins_2d": 8.0 * 2 * cells_2d
                                               * len(cfg["seeds"]),
                                               "etas_2d": kernel_2d}),
    }


def _chain_kernel_entries_2d(cfg: Mapping[str, Any]) -> float:
    """Stored entries of the largest pair's discretised 2-D transition kernel (smaller steps
    need finer grids: the spacing is a fraction of the kernel width sqrt(2 eta / beta))."""
    from companion.theory import gibbs2d

    coeffs = _square(cfg["potential_2d"])
    nodes = max(gibbs2d.chain_grid_nodes(coeffs, float(b), float(e))
                for b in cfg["betas_2d"] for e in cfg["etas_2d"])
    return float(nodes) * gibbs2d.kernel_entries_per_node()


def _pairs(cfg: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Per-pair beta and eta, beta-major: pair ``i * len(etas) + j`` is ``(betas[i], etas[j])``."""
    betas = np.asarray(cfg["betas"], dtype=float)
    etas = np.asarray(cfg["etas"], dtype=float)
    return np.repeat(betas, len(etas)), np.tile(etas, len(betas))


def _record_steps(cfg: Mapping[str, Any]) -> np.ndarray:
    return np.arange(0, int(cfg["n_steps"]) + 1, int(cfg["record_every"]))


def _window(cfg: Mapping[str, Any]) -> np.ndarray:
    """Indices of the records in the final ``window_frac`` of the run (the stationary window)."""
    steps = _record_steps(cfg)
    start = (1.0 - float(cfg["window_frac"])) * int(cfg["n_steps"])
    return np.flatnonzero(steps >= start)


def _edges(cfg: Mapping[str, Any]) -> np.ndarray:
    lo, hi = (float(v) for v in cfg["bin_range"])
    return np.linspace(lo, hi, int(cfg["n_bins"]) + 1)


# --------------------------------------------------------------------------------------------
# data


def generate(cfg: Mapping[str, Any], seed: int) -> dict[str, np.ndarray]:
    """Initial states ``(pairs, n_chains)`` near the shallower well, bin edges, the global basin."""
    betas, etas = _pairs(cfg)
    rng = np.random.default_rng([seed, 0xD1])
    x0 = rng.normal(float(cfg["init_mean"]), float(cfg["init_std"]),
                    size=(len(betas), int(cfg["n_chains"])))
    coeffs = np.asarray(cfg["potential"], dtype=float)
    x_star, lo, hi = theory.global_basin(coeffs)
    return {
        "x0": x0.astype(np.float32),
        "beta": betas,
        "eta": etas,
        "potential": coeffs,
        "edges": _edges(cfg),
        "basin": np.array([x_star, lo, hi]),
        **_generate_2d(cfg, seed),
    }


# --------------------------------------------------------------------------------------------
# training


def train(cfg: Mapping[str, Any], data: Mapping[str, np.ndarray], seed: int, device: Any,
          log: Callable[[str], None]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Run every (beta, eta) pair's chains as one tensor and record histograms on the device."""
    import torch

    from companion.nn.binning import uniform_bucketize
    from companion.nn.langevin import LangevinChains, polynomial_gradient

    dtype = torch.float32
    x0 = torch.as_tensor(data["x0"], dtype=dtype, device=device)
    n_pairs, n_chains = x0.shape
    edges = torch.as_tensor(data["edges"], dtype=dtype, device=device)
    n_cells = edges.numel() + 1  # the inner bins and one overflow bin on each side
    _, basin_lo, basin_hi = (float(v) for v in data["basin"])
    steps = _record_steps(cfg)
    n_steps = int(cfg["n_steps"])

    gen = torch.Generator(device=device)
    gen.manual_seed(int(np.random.SeedSequence([seed, 0xD1, 1]).generate_state(1)[0]))
    chains = LangevinChains(x0, polynomial_gradient([float(c) for c in data["potential"]]),
                            eta=torch.as_tensor(data["eta"], device=device),
                            beta=torch.as_tensor(data["beta"], device=device), generator=gen)

    # Everything recorded stays on the device until the end: no host sync inside the loop.
    n_rec = len(steps)
    counts = torch.zeros(n_rec, n_pairs, GROUPS, n_cells, dtype=torch.int64, device=device)
    moments = torch.zeros(n_rec, n_pairs, GROUPS, 2, dtype=torch.float64, device=device)
    in_basin = torch.zeros(n_rec, n_pairs, GROUPS, dtype=torch.int64, device=device)
    nonfinite = torch.zeros(n_rec, n_pairs, GROUPS, dtype=torch.int64, device=device)
    group = torch.arange(n_chains, device=device) // (n_chains // GROUPS)
    # Flat histogram index of chain j of pair p before its bin is added: (p, group(j)) * n_cells.
    base = (torch.arange(n_pairs, device=device)[:, None] * GROUPS + group[None, :]) * n_cells
    ones = torch.ones(n_pairs * n_chains, dtype=torch.int64, device=device)

    def record(r: int, x: torch.Tensor) -> None:
        finite = torch.isfinite(x)
        # A diverged chain counts in the upper overflow bin, where the Gibbs mass is ~0.
        x_safe = torch.where(finite, x, torch.full_like(x, float("inf")))
        cell = uniform_bucketize(x_safe, edges)  # 0 .. n_cells - 1
        counts[r].view(-1).scatter_add_(0, (base + cell).view(-1), ones)
        xv = torch.where(finite, x, torch.zeros_like(x)).double().view(n_pairs, GROUPS, -1)
        moments[r, :, :, 0] = xv.sum(-1)
        moments[r, :, :, 1] = xv.square().sum(-1)
        inside = ((x >= basin_lo) & (x < basin_hi)).view(n_pairs, GROUPS, -1)
        in_basin[r] = inside.sum(-1)
        nonfinite[r] = (~finite).view(n_pairs, GROUPS, -1).sum(-1)

    record(0, chains.x)
    next_rec = 1
    report_every = max(1, n_steps // 10)
    for k in range(1, n_steps + 1):
        chains.step()
        if next_rec < n_rec and k == steps[next_rec]:
            record(next_rec, chains.x)
            next_rec += 1
        if k % report_every == 0:
            log(f"step {k}/{n_steps} ({n_pairs} pairs x {n_chains} chains)")

    arrays = {
        "steps": steps,
        "beta": data["beta"],
        "eta": data["eta"],
        "counts": counts.to(torch.int32).cpu().numpy(),
        "moments": moments.cpu().numpy(),
        "in_basin": in_basin.cpu().numpy(),
        "nonfinite": nonfinite.cpu().numpy(),
    }
    x_final = chains.x.double()
    n_bad = int((~torch.isfinite(chains.x)).sum())
    # Moments of the chains that stayed finite: a NaN here would reach the metrics file as null.
    finite = torch.isfinite(x_final)
    n_ok = finite.sum(-1).clamp(min=1)
    x_ok = torch.where(finite, x_final, torch.zeros_like(x_final))
    mean = x_ok.sum(-1) / n_ok
    var = torch.where(finite, x_final - mean[:, None], torch.zeros_like(x_final)).square().sum(-1)
    var = var / (n_ok - 1).clamp(min=1)
    scalars = {
        "n_chains": int(n_chains),
        "n_steps": n_steps,
        "nonfinite_final": n_bad,
        "final_mean": mean.cpu().numpy().tolist(),
        "final_var": var.cpu().numpy().tolist(),
    }
    arrays.update(_train_2d(cfg, data, seed, device, steps, _window(cfg)))
    n_bad_2d = int(arrays["nonfinite_2d"][-1].sum())
    scalars["nonfinite_final_2d"] = n_bad_2d
    if n_bad or n_bad_2d:
        bad_records = np.flatnonzero(arrays["nonfinite"].reshape(n_rec, -1).sum(-1)
                                     + arrays["nonfinite_2d"].reshape(n_rec, -1).sum(-1) > 0)
        first = int(steps[bad_records[0]]) if bad_records.size else n_steps
        share = max(n_bad / (n_pairs * n_chains), n_bad_2d / arrays["nonfinite_2d"][-1].size
                    / (int(cfg["n_chains_2d"]) // GROUPS))
        scalars["divergence"] = divergence.record(first, share, "chain state")
    return arrays, scalars


# --------------------------------------------------------------------------------------------
# metrics


def _increasing(values: np.ndarray) -> bool:
    return bool(np.all(np.diff(values) > 0))


def summarize(cfg: Mapping[str, Any],
              runs: Sequence[tuple[Mapping[str, np.ndarray], Mapping[str, Any]]]) -> dict[str, Any]:
    """KL curves, stationary KL (jackknifed), moments and basin mass against theory, in 1-D and
    in 2-D; the claims."""
    s, claims, rows, columns = _summarize_1d(cfg, runs)
    s2 = _summarize_2d(cfg, runs, _window(cfg))
    claims += _claims_2d(cfg, s2)
    s.update(s2)
    return {
        "series": {k: jsonable(np.asarray(v).tolist()) for k, v in s.items()},
        "claims": claims,
        "table": {"columns": columns, "rows": rows},
        "chains_per_pair": int(runs[0][1]["n_chains"]) * len(runs),
    }


# The theory of the 1-D and the 2-D chain, once per process: the metrics job calls summarize on
# the pooled seeds and again on every seed alone, with the same (beta, eta) pairs.
@functools.lru_cache(maxsize=64)
def _gibbs_law(coeffs: tuple[float, ...], beta: float) -> theory.GibbsLaw:
    return theory.gibbs_law(coeffs, beta)


@functools.lru_cache(maxsize=256)
def _chain_law(coeffs: tuple[float, ...], beta: float, eta: float) -> theory.ChainLaw:
    return theory.euler_stationary_law(coeffs, beta, eta)


@functools.lru_cache(maxsize=256)
def _relaxation_time(coeffs: tuple[float, ...], beta: float, eta: float) -> float:
    return theory.euler_relaxation_time(coeffs, beta, eta)


def _summarize_1d(cfg: Mapping[str, Any],
                  runs: Sequence[tuple[Mapping[str, np.ndarray], Mapping[str, Any]]]
                  ) -> tuple[dict[str, Any], list[dict[str, Any]], list[list[Any]], list[str]]:
    """The 1-D double well's series, claims and table rows and columns."""
    coeffs = [float(c) for c in cfg["potential"]]
    betas, etas = _pairs(cfg)
    beta_list = [float(b) for b in cfg["betas"]]
    eta_list = [float(e) for e in cfg["etas"]]
    edges = _edges(cfg)
    _, basin_lo, basin_hi = theory.global_basin(coeffs)
    window = _window(cfg)
    steps = np.asarray(runs[0][0]["steps"])
    n_chains = int(runs[0][1]["n_chains"])
    n_pairs = len(betas)

    counts = np.stack([np.asarray(a["counts"], dtype=float) for a, _ in runs])  # (S, R, P, G, C)
    moments = np.stack([np.asarray(a["moments"], dtype=float) for a, _ in runs])  # (S, R, P, G, 2)
    in_basin = np.stack([np.asarray(a["in_basin"], dtype=float) for a, _ in runs])  # (S, R, P, G)
    nonfinite = np.stack([np.asarray(a["nonfinite"], dtype=float) for a, _ in runs])  # (S,R,P,G)
    n_seeds = counts.shape[0]

    key = tuple(coeffs)
    gibbs = {b: _gibbs_law(key, b) for b in beta_list}
    q = np.stack([gibbs[b].bin_masses(edges) for b in betas])  # (P, C)
    euler = [_chain_law(key, float(b), float(e)) for b, e in zip(betas, etas, strict=True)]
    q_eta = np.stack([law.bin_masses(edges) for law in euler])

    s: dict[str, Any] = {"beta": betas, "eta": etas, "iterations": steps}
    s["mean_gibbs"] = np.array([gibbs[b].mean for b in betas])
    s["var_gibbs"] = np.array([gibbs[b].variance for b in betas])
    s["basin_gibbs"] = np.array([gibbs[b].mass(basin_lo, basin_hi) for b in betas])
    s["mean_euler"] = np.array([law.mean for law in euler])
    s["var_euler"] = np.array([law.variance for law in euler])
    s["basin_euler"] = np.array([law.mass(basin_lo, basin_hi) for law in euler])

    # KL of the chains' histogram at every record, per seed, then the mean over seeds.
    per_seed_curves = theory.binned_kl(counts.sum(axis=3), q[None, None])  # (S, R, P)
    curves = per_seed_curves.mean(axis=0).T  # (P, R)
    s["kl_curves"] = curves
    s["kl_initial"] = curves[:, 0]
    s["kl_final"] = curves[:, window].mean(axis=1)
    s["kl_plateau_theory"] = np.array([theory.expected_plugin_kl(q_eta[p], q[p], n_chains)
                                       for p in range(n_pairs)])
    s["kl_noise_level"] = np.array([theory.expected_plugin_kl(q[p], q[p], n_chains)
                                    for p in range(n_pairs)])
    s["kl_euler"] = theory.binned_kl(q_eta, q)

    # Stationary KL: the window's histograms pooled per (seed, group), jackknifed.
    groups = counts[:, window].sum(axis=1)  # (S, P, G, C)
    kl_stat, kl_stat_se = [], []
    for p in range(n_pairs):
        g = groups[:, p].reshape(n_seeds * GROUPS, -1)
        est, se = theory.jackknife_kl(g, q[p])
        kl_stat.append(est)
        kl_stat_se.append(se)
    s["kl_stationary"] = np.array(kl_stat)
    s["kl_stationary_se"] = np.array(kl_stat_se)

    # Moments and basin mass over the window (all records, chains and seeds); their standard
    # errors from the spread of the independent (seed, group) replicates.
    win_m = moments[:, window].sum(axis=1)  # (S, P, G, 2)
    # Chains per (seed, pair, group) summed over the window; diverged chains have no moments.
    win_n = (counts[:, window].sum(axis=-1) - nonfinite[:, window]).sum(axis=1)  # (S, P, G)
    group_mean = (win_m[..., 0] / win_n).transpose(1, 0, 2).reshape(n_pairs, -1)  # (P, G)
    group_sq = (win_m[..., 1] / win_n).transpose(1, 0, 2).reshape(n_pairs, -1)
    total_n = win_n.sum(axis=(0, 2))
    mean_c = win_m[..., 0].sum(axis=(0, 2)) / total_n
    var_c = win_m[..., 1].sum(axis=(0, 2)) / total_n - mean_c ** 2
    n_groups = group_mean.shape[1]
    group_var = group_sq - group_mean ** 2
    s["mean_chains"] = mean_c
    s["var_chains"] = var_c
    s["mean_chains_se"] = group_mean.std(axis=1, ddof=1) / math.sqrt(n_groups)
    s["var_chains_se"] = group_var.std(axis=1, ddof=1) / math.sqrt(n_groups)
    sd_g = np.sqrt(s["var_gibbs"])
    s["mean_err"] = (mean_c - s["mean_gibbs"]) / sd_g  # in units of the Gibbs standard deviation
    s["var_err"] = var_c / s["var_gibbs"] - 1.0
    s["mean_err_euler"] = (s["mean_euler"] - s["mean_gibbs"]) / sd_g
    s["var_err_euler"] = s["var_euler"] / s["var_gibbs"] - 1.0
    basin_group = (in_basin[:, window].sum(axis=1) / win_n).transpose(1, 0, 2).reshape(n_pairs, -1)
    s["basin_chains"] = in_basin[:, window].sum(axis=(0, 1, 3)) / total_n
    s["basin_chains_se"] = basin_group.std(axis=1, ddof=1) / math.sqrt(n_groups)
    s["basin_curves"] = (in_basin.sum(axis=(0, 3)) / (n_seeds * n_chains)).T  # (P, R)
    s["mean_final"] = np.mean([r[1]["final_mean"] for r in runs], axis=0)
    s["var_final"] = np.mean([r[1]["final_var"] for r in runs], axis=0)
    s["nonfinite"] = nonfinite[:, -1].sum(axis=(0, 2))

    # Densities for the figure: Gibbs on a grid, the window histogram of every pair.
    width = np.diff(edges)
    pooled = groups.sum(axis=(0, 2))  # (P, C)
    s["bin_edges"] = edges
    s["hist_density"] = pooled[:, 1:-1] / pooled.sum(axis=1, keepdims=True) / width
    grid = np.linspace(edges[0], edges[-1], 401)
    s["density_x"] = grid
    s["gibbs_density"] = np.stack([np.interp(grid, gibbs[b].x, gibbs[b].density)
                                   for b in beta_list])
    s["potential_values"] = theory.potential(coeffs, grid)

    # The theory on a finer eta grid, for the curves in the figures.
    eta_grid = np.unique(np.concatenate([np.geomspace(min(eta_list), max(eta_list), _ETA_GRID),
                                         eta_list]))
    s["eta_grid"] = eta_grid
    grid_laws = [[_chain_law(key, b, float(e)) for e in eta_grid] for b in beta_list]
    s["kl_euler_grid"] = np.array([[float(theory.binned_kl(law.bin_masses(edges),
                                                           gibbs[b].bin_masses(edges)))
                                    for law in laws] for b, laws in zip(beta_list, grid_laws,
                                                                         strict=True)])
    s["mean_err_euler_grid"] = np.array(
        [[(law.mean - gibbs[b].mean) / math.sqrt(gibbs[b].variance) for law in laws]
         for b, laws in zip(beta_list, grid_laws, strict=True)])
    s["var_err_euler_grid"] = np.array(
        [[law.variance / gibbs[b].variance - 1.0 for law in laws]
         for b, laws in zip(beta_list, grid_laws, strict=True)])
    s["betas"] = np.array(beta_list)
    s["etas"] = np.array(eta_list)

    # Relaxation: the excess mass outside the global basin over its stationary (window) value,
    # against time k eta, vs the discrete chain's spectral gap.
    times = steps[None, :] * etas[:, None]
    excess = np.asarray(s["basin_chains"])[:, None] - s["basin_curves"]  # (P, R)
    # One record's basin share is a binomial proportion of independent chains.
    b_stat = np.clip(np.asarray(s["basin_chains"]), 0.0, 1.0)
    noise = np.sqrt(b_stat * (1.0 - b_stat) / (n_chains * n_seeds))
    fits = [relaxation_fit(times[p], excess[p], _RELAX_BAND, _RELAX_MIN_RECORDS, noise[p])
            for p in range(n_pairs)]
    s["relax_time"] = np.array([f[0] for f in fits])
    s["relax_records"] = np.array([f[1] for f in fits])
    s["relax_time_theory"] = np.array([_relaxation_time(key, float(b), float(e))
                                       for b, e in zip(betas, etas, strict=True)])

    # The floor's order: log-log slope of the stationary KL in eta per beta, over the pairs whose
    # floor is resolved (> 2 standard errors), and the exact law's slope over the same etas.
    slopes, slopes_th = [], []
    for b in beta_list:
        idx = np.flatnonzero(betas == b)
        ok = idx[s["kl_stationary"][idx] > 2 * s["kl_stationary_se"][idx]]
        if ok.size >= 2:
            slopes.append(float(np.polyfit(np.log(etas[ok]), np.log(s["kl_stationary"][ok]), 1)[0]))
            slopes_th.append(float(np.polyfit(np.log(etas[ok]), np.log(s["kl_euler"][ok]), 1)[0]))
        else:
            slopes.append(float("nan"))
            slopes_th.append(float(np.polyfit(np.log(etas[idx]), np.log(s["kl_euler"][idx]),
                                              1)[0]))
    s["floor_slope"] = np.array(slopes)
    s["floor_slope_theory"] = np.array(slopes_th)

    claims = _claims(cfg, s, n_chains, n_seeds)
    columns = ["beta", "eta", "mean_chains", "mean_gibbs", "var_chains", "var_gibbs",
               "basin_chains", "basin_gibbs", "kl_final", "kl_stationary", "kl_euler"]
    columns += ["relax_time", "relax_time_theory"]
    rows = [[jsonable(s[c][p]) for c in columns] for p in range(n_pairs)]
    return s, claims, rows, columns


def relaxation_fit(times: np.ndarray, excess: np.ndarray, band: tuple[float, float],
                   min_records: int, noise: float = 0.0) -> tuple[float, int]:
    """``(tau, records used)``: the relaxation time fitted to ``log excess ~ -t / tau``.

    Only records whose excess lies in ``band`` times the initial excess enter: above the band the
    faster modes of the start have not died out, below it the sampling noise dominates. ``tau`` is
    ``nan`` when fewer than ``min_records`` records fall in the band (the relaxation is not
    resolved by the record spacing). ``noise`` (the standard error of one record's excess) raises
    the band's lower edge to ``_RELAX_NOISE_SIGMAS`` times it.
    """
    times = np.asarray(times, dtype=float)
    excess = np.asarray(excess, dtype=float)
    lo, hi = band
    first = excess[0]
    floor = max(lo * first, _RELAX_NOISE_SIGMAS * noise)
    sel = np.flatnonzero((excess > floor) & (excess < hi * first))
    # Only the first contiguous run: a noisy excess that comes back into the band late is noise.
    if sel.size:
        breaks = np.flatnonzero(np.diff(sel) > 1)
        sel = sel[: breaks[0] + 1] if breaks.size else sel
    if sel.size < min_records or not first > 0:
        return float("nan"), int(sel.size)
    # Weighted least squares: log(excess) has standard error noise / excess.
    weights = excess[sel] / noise if noise > 0 else None
    slope = np.polyfit(times[sel], np.log(excess[sel]), 1, w=weights)[0]
    return (float(-1.0 / slope) if slope < 0 else float("inf")), int(sel.size)


def _claims(cfg: Mapping[str, Any], s: Mapping[str, Any], n_chains: int,
            n_seeds: int) -> list[dict[str, Any]]:
    betas, etas = np.asarray(s["beta"]), np.asarray(s["eta"])
    beta_list = sorted(set(betas.tolist()))
    eta_min, beta_max = float(etas.min()), float(betas.max())
    z_max = float(cfg["z_max"])
    claims = []
    n_rep = n_seeds * GROUPS
    dof = n_rep - 1

    # 1. Mean and variance at every pair agree with the discrete chain's exact stationary law
    # pi_eta, in z-scores from the spread of the (seed, group) replicates. The Gibbs law (the
    # eta -> 0 limit the lecture states) is shown beside it.
    z_mean = normal_equivalent_z((s["mean_chains"] - s["mean_euler"]) / s["mean_chains_se"], dof)
    z_var = normal_equivalent_z((s["var_chains"] - s["var_euler"]) / s["var_chains_se"], dof)
    z_mom = np.maximum(z_mean, z_var)
    worst = int(np.nanargmax(z_mom)) if np.isfinite(z_mom).any() else 0
    worst_z = float(np.nanmax(z_mom)) if np.isfinite(z_mom).any() else float("inf")
    sel = np.flatnonzero(etas == eta_min)
    gibbs_gap = float(np.max(np.maximum(np.abs(s["mean_err"][sel]), np.abs(s["var_err"][sel]))))
    claims.append({
        "id": f"{CATALOG}.moments_match_chain_law",
        "passed": bool(worst_z <= z_max),
        "measured": worst_z,
        "expected": z_max,
        "relation": "<=",
        "context": {"beta_at": float(betas[worst]), "eta_at": float(etas[worst]),
                    "n_pairs": len(betas), "dof": int(dof), "gibbs_gap": gibbs_gap},
        "detail": (f"largest |z| of mean and variance against pi_eta over {len(betas)} pairs = "
                   f"{worst_z:.2f} at beta = {betas[worst]:g}, eta = {etas[worst]:g} (mean "
                   f"{s['mean_chains'][worst]:.5f} +- {s['mean_chains_se'][worst]:.5f} vs "
                   f"{s['mean_euler'][worst]:.5f}; var {s['var_chains'][worst]:.5f} +- "
                   f"{s['var_chains_se'][worst]:.5f} vs {s['var_euler'][worst]:.5f}); z from t "
                   f"on {dof} d.o.f. ({n_rep} replicates); vs Gibbs at eta = {eta_min:g}: worst "
                   f"|mean error| / sd and |var / var_Gibbs - 1| = {gibbs_gap:.4f}"),
    })

    # 2. The excess mass in the shallow well decays at the rate of the chain's spectral gap.
    tau = np.asarray(s["relax_time"], dtype=float)
    tau_th = np.asarray(s["relax_time_theory"], dtype=float)
    resolved = np.flatnonzero(np.isfinite(tau))
    rel = np.abs(tau[resolved] / tau_th[resolved] - 1.0)
    tol = float(cfg["relax_tol"])
    if resolved.size:
        k = int(resolved[np.argmax(rel)])
        worst_rel = float(rel.max())
        parts = ", ".join(f"beta {betas[p]:g} eta {etas[p]:g}: {tau[p]:.2f} vs {tau_th[p]:.2f}"
                          for p in resolved)
        detail = (f"largest |tau / tau_gap - 1| over {resolved.size} resolved pairs = "
                  f"{worst_rel:.3f} at beta = {betas[k]:g}, eta = {etas[k]:g}; {parts}")
    else:
        worst_rel = float("inf")
        detail = "no pair's relaxation is resolved by the record spacing"
    unresolved = len(betas) - resolved.size
    claims.append({
        "id": f"{CATALOG}.relaxation_rate",
        "passed": bool(resolved.size > 0 and worst_rel <= tol),
        "measured": worst_rel if np.isfinite(worst_rel) else 1e9,
        "expected": tol,
        "relation": "<=",
        "context": ({"beta_at": float(betas[k]), "eta_at": float(etas[k])} if resolved.size
                    else {}) | {"n_resolved": int(resolved.size), "n_unresolved": int(unresolved)},
        "detail": (detail + f" (time units k eta; fit where the excess is "
                   f"{_RELAX_BAND[0]:g}-{_RELAX_BAND[1]:g} of its start and above "
                   f"{_RELAX_NOISE_SIGMAS:g} standard errors, >= {_RELAX_MIN_RECORDS} records; "
                   f"{unresolved} pair(s) too fast for the record spacing)"),
    })

    # 3. The stationary (jackknifed, sampling bias removed) KL grows with eta at every beta.
    increasing = []
    parts = []
    for b in beta_list:
        idx = np.flatnonzero(betas == b)
        idx = idx[np.argsort(etas[idx])]
        values = np.asarray(s["kl_stationary"])[idx]
        increasing.append(_increasing(values))
        parts.append(f"beta {b:g}: " + ", ".join(
            f"{v:.2e}({t:.2e})" for v, t in zip(values, np.asarray(s["kl_euler"])[idx],
                                                strict=True)))
    share = float(np.mean(increasing))
    claims.append({
        "id": f"{CATALOG}.floor_grows_with_eta",
        "passed": bool(share >= 1.0),
        "measured": share,
        "expected": 1.0,
        "relation": ">=",
        "context": {"n_betas": len(beta_list)},
        "detail": (f"share of betas whose jackknifed stationary KL increases strictly with eta "
                   f"= {share:.2f}; per beta, eta ascending {sorted(set(etas.tolist()))}, "
                   f"measured(theory KL(pi_eta || pi)): " + "; ".join(parts)),
    })

    # 4. The floor's order in eta: the log-log slope of the stationary KL against eta, per beta,
    # against the slope of the exact KL(pi_eta || pi) over the same etas (-> 2 as eta -> 0: the
    # density error is O(eta), so the KL is O(eta^2)).
    slopes = np.asarray(s["floor_slope"], dtype=float)
    slopes_th = np.asarray(s["floor_slope_theory"], dtype=float)
    fitted = np.isfinite(slopes)
    diff = np.abs(slopes - slopes_th)
    slope_tol = float(cfg["floor_slope_tol"])
    worst_d = float(np.max(diff[fitted])) if fitted.any() else float("inf")
    claims.append({
        "id": f"{CATALOG}.floor_order",
        "passed": bool(fitted.any() and worst_d <= slope_tol),
        "measured": worst_d if np.isfinite(worst_d) else 1e9,
        "expected": slope_tol,
        "relation": "<=",
        "context": {"slope": [float(m) if np.isfinite(m) else None for m in slopes],
                    "slope_theory": [float(t) for t in slopes_th]},
        "detail": ("fitted log-log slope of the stationary KL in eta vs the exact chain law's, "
                   "per beta: " + "; ".join(
                       f"beta {b:g}: {m:.2f} vs {t:.2f}" if np.isfinite(m) else
                       f"beta {b:g}: unresolved (a floor <= 2 se)" for b, m, t in
                       zip(beta_list, slopes, slopes_th, strict=True))
                   + "; the asymptotic order is 2"),
    })

    # 5. At the largest beta (and the smallest eta) the chains' share in the global minimum's
    # basin matches pi_eta's (z-score), and that basin holds the majority, although every chain
    # started in the other one.
    p = int(np.flatnonzero((betas == beta_max) & (etas == eta_min))[0])
    share_c, share_e = float(s["basin_chains"][p]), float(s["basin_euler"][p])
    z_basin = float(normal_equivalent_z((share_c - share_e) / s["basin_chains_se"][p], dof))
    claims.append({
        "id": f"{CATALOG}.mass_at_global_min",
        "passed": bool(z_basin <= z_max and share_c > 0.5),
        "measured": z_basin,
        "expected": z_max,
        "relation": "<=",
        "context": {"beta_at": float(beta_max), "eta_at": float(eta_min),
                    "basin_share": share_c, "basin_share_chain_law": share_e,
                    "basin_share_gibbs": float(s["basin_gibbs"][p])},
        "detail": (f"beta = {beta_max:g}, eta = {eta_min:g}: share of chains in the global "
                   f"minimum's basin {share_c:.4f} +- {s['basin_chains_se'][p]:.4f} vs pi_eta "
                   f"{share_e:.4f} (|z| = {z_basin:.2f}, must also exceed 0.5); Gibbs "
                   f"{float(s['basin_gibbs'][p]):.4f}; start: {s['basin_curves'][p][0]:.4f}"),
    })
    return claims


# --------------------------------------------------------------------------------------------
# figures


def _arr(values: Any) -> np.ndarray:
    return np.asarray([[np.nan if v is None else v for v in row] if isinstance(row, list)
                       else (np.nan if row is None else row) for row in values], dtype=float)


def figures(metrics: Mapping[str, Any], lang: str, outdir: str | Path) -> list[Path]:
    """KL against iterations, the stationary KL and moment errors against eta, the densities."""
    from companion.plots import style

    outdir = Path(outdir)
    s = {k: _arr(v) if isinstance(v, list) else v for k, v in metrics["series"].items()}
    betas, etas = s["beta"], s["eta"]
    beta_list, eta_list = s["betas"], s["etas"]
    theory_label = style.tr(lang, "theory", "理論")
    written = []

    # 1. KL(chains || Gibbs) against the iteration, one panel per beta, one curve per eta.
    fig, axes = style.new_figure(ncols=len(beta_list), width=2.2 * len(beta_list) + 0.8)
    axes = np.atleast_1d(axes).ravel()
    it = s["iterations"]
    window_start = it[-1] * (1.0 - float(metrics["config"]["window_frac"]))
    for ax, b in zip(axes, beta_list, strict=True):
        colour = style.colours()
        for p in np.flatnonzero(betas == b)[np.argsort(etas[betas == b])]:
            c = next(colour)
            ax.plot(it, s["kl_curves"][p], color=c, lw=1.1, label=rf"$\eta = {etas[p]:g}$")
            ax.plot([window_start, it[-1]], [s["kl_plateau_theory"][p]] * 2,
                    **style.THEORY_STYLE)
        ax.set_yscale("log")
        ax.set_title(rf"$\beta = {b:g}$")
        ax.set_xlabel(style.tr(lang, "iteration $k$", "反復回数 $k$"))
    axes[-1].plot([], [], **style.THEORY_STYLE,
                  label=style.tr(lang, "theory: plateau", "理論: 到達水準"))
    axes[0].set_ylabel(style.tr(lang, "binned KL to the Gibbs law", "ギブス分布とのKL (ビン化)"))
    axes[-1].legend(loc="upper right")
    written.append(style.save(fig, outdir / "kl_vs_iteration.svg"))

    # 2. Stationary KL (sampling bias removed) against eta, theory KL(pi_eta || pi) overlaid.
    fig, ax = style.new_figure()
    colour = style.colours()
    for i, b in enumerate(beta_list):
        c = next(colour)
        idx = np.flatnonzero(betas == b)
        idx = idx[np.argsort(etas[idx])]
        # One theory curve per beta: dashed, in the colour of that beta's points.
        ax.plot(s["eta_grid"], s["kl_euler_grid"][i], **{**style.THEORY_STYLE, "color": c})
        ax.errorbar(etas[idx], s["kl_stationary"][idx], yerr=2 * s["kl_stationary_se"][idx],
                    fmt="o", color=c, ms=4, capsize=2, lw=1, label=rf"$\beta = {b:g}$",
                    zorder=6)
        ax.plot(etas[idx], s["kl_final"][idx], linestyle="none", marker="o", mfc="none",
                color=c, ms=5)
    ax.plot([], [], linestyle="none", marker="o", mfc="none", color="0.4",
            label=style.tr(lang, "plateau of the raw curve", "生の曲線の到達水準"))
    ax.plot([], [], **style.THEORY_STYLE, label=theory_label + r": $\mathrm{KL}(\pi_\eta \| \pi)$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    positive = s["kl_stationary"][s["kl_stationary"] > 0]
    lower = min(np.nanmin(s["kl_euler_grid"]), positive.min() if positive.size else 1.0)
    ax.set_ylim(bottom=0.3 * lower)
    ax.set_xlabel(r"$\eta$")
    ax.set_ylabel(style.tr(lang, "stationary binned KL", "定常状態のKL (ビン化)"))
    ax.legend(loc="lower right")
    written.append(style.save(fig, outdir / "floor_vs_eta.svg"))

    # 3. Mean and variance errors against eta, with the discretised chain's exact values.
    fig, axes = style.new_figure(ncols=2)
    axes = np.atleast_1d(axes).ravel()
    panels = (("mean_err", "mean_err_euler_grid", r"$(m - m_\pi) / \sigma_\pi$"),
              ("var_err", "var_err_euler_grid", r"$v / v_\pi - 1$"))
    for ax, (key, theory_key, ylabel) in zip(axes, panels, strict=True):
        colour = style.colours()
        ax.axhline(0.0, color="0.5", lw=0.8)
        se_key = "mean_chains_se" if key == "mean_err" else "var_chains_se"
        for i, b in enumerate(beta_list):
            c = next(colour)
            idx = np.flatnonzero(betas == b)
            idx = idx[np.argsort(etas[idx])]
            scale = (np.sqrt(s["var_gibbs"][idx]) if key == "mean_err" else s["var_gibbs"][idx])
            ax.plot(s["eta_grid"], s[theory_key][i], **style.THEORY_STYLE,
                    label=theory_label if i == 0 else None)
            ax.errorbar(etas[idx], s[key][idx], yerr=2 * s[se_key][idx] / scale, fmt="o",
                        color=c, ms=4, capsize=2, lw=1, label=rf"$\beta = {b:g}$", zorder=6)
        ax.set_xscale("log")
        ax.set_xlabel(r"$\eta$")
        ax.set_ylabel(ylabel)
    axes[0].legend(loc="best")
    written.append(style.save(fig, outdir / "moments.svg"))

    # 4. Gibbs densities and the chains' stationary histograms (smallest and largest eta).
    fig, axes = style.new_figure(ncols=len(beta_list), width=2.2 * len(beta_list) + 0.8)
    axes = np.atleast_1d(axes).ravel()
    edges = s["bin_edges"]
    for i, (ax, b) in enumerate(zip(axes, beta_list, strict=True)):
        colour = style.colours()
        for e in (eta_list.min(), eta_list.max()):
            p = int(np.flatnonzero((betas == b) & (etas == e))[0])
            ax.stairs(s["hist_density"][p], edges, color=next(colour), lw=1.1,
                      label=rf"$\eta = {e:g}$")
        ax.plot(s["density_x"], s["gibbs_density"][i], **style.THEORY_STYLE,
                label=style.tr(lang, r"Gibbs $\pi \propto e^{-\beta L}$",
                               r"ギブス分布 $\pi \propto e^{-\beta L}$"))
        ax.set_title(rf"$\beta = {b:g}$")
        ax.set_xlabel("$x$")
    axes[0].set_ylabel(style.tr(lang, "density", "密度"))
    axes[-1].legend(loc="center right")
    written.append(style.save(fig, outdir / "densities.svg"))
    written.append(_figure_2d(s, lang, outdir))
    return written


# --------------------------------------------------------------------------------------------
# the 2-D potential: the same chain on L(x, y) = sum c_ij x^i y^j with several minima
#
# The verdicts are those of the 1-D case, against the discrete chain's exact stationary law
# pi_eta, here from a Nyström solve of its Gaussian kernel on a 2-D tensor grid
# (companion.theory.gibbs2d.euler_stationary_law_2d, a fraction of a second per pair): moments
# and the basin share in z-scores, the floor's log-log slope against the exact law's.

# Statistics of the 2-D chains per (seed, group): the five moment sums and the global basin.
_STATS_2D = ("mean_x", "mean_y", "var_x", "var_y", "cov_xy")
# Quadrature cells per bin and axis for the 2-D Gibbs law, and the most grid points per axis
# accepted (the metrics job holds a few arrays of their square).
_QUADRATURE_SUB_2D = 8
MAX_QUADRATURE_POINTS_2D = 2000
_ASYMPTOTIC_FLOOR_ORDER = 2.0


def _pairs_2d(cfg: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    betas = np.asarray(cfg["betas_2d"], dtype=float)
    etas = np.asarray(cfg["etas_2d"], dtype=float)
    return np.repeat(betas, len(etas)), np.tile(etas, len(betas))


def _edges_2d(cfg: Mapping[str, Any]) -> np.ndarray:
    lo, hi = (float(v) for v in cfg["bin_range_2d"])
    return np.linspace(lo, hi, int(cfg["n_bins_2d"]) + 1)


def _square(coeffs: Sequence[Sequence[float]]) -> list[list[float]]:
    """The coefficient rows padded with zeros to a rectangle (``polyval2d`` layout)."""
    width = max(len(r) for r in coeffs)
    return [[float(v) for v in r] + [0.0] * (width - len(r)) for r in coeffs]


def _check_2d(cfg: Mapping[str, Any]) -> None:
    from companion.config import ConfigError
    from companion.theory import gibbs2d

    coeffs = _square(cfg["potential_2d"])
    problem = gibbs2d.confining_problem(coeffs)
    if problem is not None:
        raise ConfigError(
            f"{_SECTION}.potential_2d: L(x, y) = sum c[i][j] x^i y^j is not known to be "
            f"confining: {problem}. Allowed: an even total degree whose top-degree part is "
            "positive in every direction, e.g. x^4/4 + y^4/4 + lower terms")
    for key in ("betas_2d", "etas_2d"):
        bad = [v for v in cfg[key] if not float(v) > 0]
        if bad:
            raise ConfigError(f"{_SECTION}.{key}: every value must be > 0; got {bad}")
    _check_chains_and_range(cfg, "n_chains_2d", "bin_range_2d")
    start = np.asarray(cfg["init_2d"], dtype=float)
    reach = float(np.linalg.norm(start)) + 5 * float(cfg["init_std"])
    edges = _edges_2d(cfg)
    chain_steps = int(cfg["n_chains_2d"]) * int(cfg["n_steps"])
    for beta in (float(b) for b in cfg["betas_2d"]):
        try:
            points = gibbs2d.quadrature_points(coeffs, beta, edges, _QUADRATURE_SUB_2D)
        except ValueError:
            points = math.inf
        if points > MAX_QUADRATURE_POINTS_2D:
            raise ConfigError(
                f"{_SECTION}.potential_2d: at beta = {beta:g} the Gibbs law spreads over a square "
                f"that needs {points} quadrature points per axis at the bins' resolution (at "
                f"most {MAX_QUADRATURE_POINTS_2D}); raise the leading coefficients or beta, or "
                "use wider bins")
    laws = {float(b): gibbs2d.GibbsLaw2D.of(coeffs, float(b), edges, sub=2)
            for b in cfg["betas_2d"]}
    for eta in (float(e) for e in cfg["etas_2d"]):
        radius = gibbs2d.euler_overshoot_radius(coeffs, eta)
        if reach >= radius:
            raise ConfigError(f"{_SECTION}.etas_2d: with eta = {eta:g} the Euler step "
                              f"overshoots beyond |x| = {radius:.3g}, which the initial states "
                              "(init_2d +- 5 init_std) reach; use a smaller eta")
        for beta in (float(b) for b in cfg["betas_2d"]):
            expected = gibbs2d.euler_overshoot_probability(laws[beta], coeffs, eta) * chain_steps
            if expected > MAX_EXPECTED_OVERSHOOTS:
                raise ConfigError(
                    f"{_SECTION}.etas_2d: with eta = {eta:g} and beta = {beta:g} about "
                    f"{expected:.2g} chain-steps would land beyond |x| = {radius:.3g}, where the "
                    f"Euler step overshoots (at most {MAX_EXPECTED_OVERSHOOTS:g} allowed)")


def _basin_bins_2d(coeffs: list[list[float]], edges: np.ndarray) -> np.ndarray:
    """``(B^2,)`` booleans: the bins whose centre the gradient flow takes to the global minimum."""
    from companion.theory import gibbs2d

    extent = float(np.abs(edges).max()) + 1.0
    minima = gibbs2d.local_minima(coeffs, extent)
    centres = (edges[1:] + edges[:-1]) / 2
    xx, yy = np.meshgrid(centres, centres, indexing="ij")
    return (gibbs2d.basin_labels(coeffs, minima, xx, yy) == 0).ravel()


def _generate_2d(cfg: Mapping[str, Any], seed: int) -> dict[str, np.ndarray]:
    betas, etas = _pairs_2d(cfg)
    rng = np.random.default_rng([seed, 0xD1, 2])
    x0 = np.asarray(cfg["init_2d"], dtype=float) + float(cfg["init_std"]) * rng.normal(
        size=(len(betas), int(cfg["n_chains_2d"]), 2))
    return {"x0_2d": x0.astype(np.float32), "beta_2d": betas, "eta_2d": etas,
            "edges_2d": _edges_2d(cfg)}


def _train_2d(cfg: Mapping[str, Any], data: Mapping[str, np.ndarray], seed: int, device: Any,
              steps: np.ndarray, window: np.ndarray) -> dict[str, np.ndarray]:
    """The 2-D chains: per record the pooled 2-D histogram (for the KL curve) and the moment sums
    per group; over the stationary window the histograms per group (for the jackknife)."""
    import torch

    from companion.nn.binning import uniform_bucketize
    from companion.nn.langevin import LangevinChains, polynomial2d_gradient

    dtype = torch.float32
    x0 = torch.as_tensor(data["x0_2d"], dtype=dtype, device=device)
    n_pairs, n_chains, _ = x0.shape
    edges = torch.as_tensor(data["edges_2d"], dtype=dtype, device=device)
    n_bins = edges.numel() - 1
    n_cells = n_bins * n_bins + 1  # the bins, row-major, and one cell for everything outside
    gen = torch.Generator(device=device)
    gen.manual_seed(int(np.random.SeedSequence([seed, 0xD1, 3]).generate_state(1)[0]))
    chains = LangevinChains(x0, polynomial2d_gradient(_square(cfg["potential_2d"])),
                            eta=torch.as_tensor(data["eta_2d"], device=device),
                            beta=torch.as_tensor(data["beta_2d"], device=device), generator=gen)
    n_rec = len(steps)
    curve = torch.zeros(n_rec, n_pairs, n_cells, dtype=torch.int64, device=device)
    win_counts = torch.zeros(n_pairs, GROUPS, n_cells, dtype=torch.int64, device=device)
    moments = torch.zeros(n_rec, n_pairs, GROUPS, len(_STATS_2D), dtype=torch.float64,
                          device=device)
    nonfinite = torch.zeros(n_rec, n_pairs, GROUPS, dtype=torch.int64, device=device)
    group = torch.arange(n_chains, device=device) // (n_chains // GROUPS)
    pair_base = torch.arange(n_pairs, device=device)[:, None] * n_cells
    group_base = (torch.arange(n_pairs, device=device)[:, None] * GROUPS + group[None, :]) * n_cells
    ones = torch.ones(n_pairs * n_chains, dtype=torch.int64, device=device)
    in_window = set(int(r) for r in window)

    def record(r: int, x: torch.Tensor) -> None:
        finite = torch.isfinite(x).all(-1)
        ix = uniform_bucketize(x[..., 0], edges, right=True) - 1
        iy = uniform_bucketize(x[..., 1], edges, right=True) - 1
        inside = finite & (ix >= 0) & (ix < n_bins) & (iy >= 0) & (iy < n_bins)
        cell = torch.where(inside, ix * n_bins + iy, torch.full_like(ix, n_cells - 1))
        curve[r].view(-1).scatter_add_(0, (pair_base + cell).view(-1), ones)
        if r in in_window:
            win_counts.view(-1).scatter_add_(0, (group_base + cell).view(-1), ones)
        xv = torch.where(finite[..., None], x, torch.zeros_like(x)).double()
        px, py = xv[..., 0], xv[..., 1]
        sums = torch.stack([px, py, px * px, py * py, px * py], dim=-1)
        moments[r] = sums.view(n_pairs, GROUPS, -1, len(_STATS_2D)).sum(2)
        nonfinite[r] = (~finite).view(n_pairs, GROUPS, -1).sum(-1)

    record(0, chains.x)
    next_rec = 1
    for k in range(1, int(cfg["n_steps"]) + 1):
        chains.step()
        if next_rec < n_rec and k == steps[next_rec]:
            record(next_rec, chains.x)
            next_rec += 1
    return {"beta_2d": data["beta_2d"], "eta_2d": data["eta_2d"],
            "curve_2d": curve.to(torch.int32).cpu().numpy(),
            "window_counts_2d": win_counts.to(torch.int32).cpu().numpy(),
            "moments_2d": moments.cpu().numpy(), "nonfinite_2d": nonfinite.cpu().numpy()}


def _group_stats_2d(window_moments: np.ndarray, n: np.ndarray) -> np.ndarray:
    """``(..., 5)`` mean x, mean y, var x, var y, cov xy from the five moment sums over ``n``."""
    m = window_moments / n[..., None]
    return np.stack([m[..., 0], m[..., 1], m[..., 2] - m[..., 0] ** 2, m[..., 3] - m[..., 1] ** 2,
                     m[..., 4] - m[..., 0] * m[..., 1]], axis=-1)


def _key_2d(coeffs: Sequence[Sequence[float]]) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(v) for v in row) for row in coeffs)


@functools.lru_cache(maxsize=64)
def _chain_law_2d(coeffs: tuple[tuple[float, ...], ...], beta: float, eta: float) -> Any:
    """The 2-D chain's exact law with its relaxation time, once per process (as the 1-D ones)."""
    from companion.theory import gibbs2d

    return gibbs2d.euler_stationary_law_2d(coeffs, beta, eta, relaxation=True)


def _summarize_2d(cfg: Mapping[str, Any], runs: Sequence[tuple[Mapping[str, np.ndarray],
                                                                Mapping[str, Any]]],
                  window: np.ndarray) -> dict[str, Any]:
    from companion.theory import gibbs2d

    coeffs = _square(cfg["potential_2d"])
    betas, etas = _pairs_2d(cfg)
    beta_list = [float(b) for b in cfg["betas_2d"]]
    edges = _edges_2d(cfg)
    n_bins = len(edges) - 1
    n_pairs = len(betas)
    basin = np.concatenate([_basin_bins_2d(coeffs, edges), [False]])
    laws = {b: gibbs2d.GibbsLaw2D.of(coeffs, b, edges, sub=_QUADRATURE_SUB_2D) for b in beta_list}
    q = np.stack([laws[b].bin_masses() for b in betas])  # (P, C)
    # The discrete chain's own stationary law pi_eta per pair (Nyström), with its relaxation time.
    chain_laws = [_chain_law_2d(_key_2d(coeffs), float(b), float(e))
                  for b, e in zip(betas, etas, strict=True)]
    q_eta = np.stack([law.bin_masses(edges) for law in chain_laws])  # (P, C)

    curve = np.stack([np.asarray(a["curve_2d"], dtype=float) for a, _ in runs])  # (S, R, P, C)
    win = np.stack([np.asarray(a["window_counts_2d"], dtype=float) for a, _ in runs])  # S,P,G,C
    mom = np.stack([np.asarray(a["moments_2d"], dtype=float) for a, _ in runs])  # (S,R,P,G,5)
    bad = np.stack([np.asarray(a["nonfinite_2d"], dtype=float) for a, _ in runs])  # (S,R,P,G)
    n_seeds = curve.shape[0]

    s: dict[str, Any] = {"beta_2d": betas, "eta_2d": etas, "betas_2d": np.array(beta_list)}
    s["kl_curves_2d"] = theory.binned_kl(curve, q[None, None]).mean(axis=0).T  # (P, R)
    stat, stat_se = [], []
    for p in range(n_pairs):
        est, se = theory.jackknife_kl(win[:, p].reshape(n_seeds * GROUPS, -1), q[p])
        stat.append(est)
        stat_se.append(se)
    s["kl_stationary_2d"] = np.array(stat)
    s["kl_stationary_2d_se"] = np.array(stat_se)
    s["kl_euler_2d"] = theory.binned_kl(q_eta, q)
    s["relax_time_theory_2d"] = np.array([law.relaxation_time for law in chain_laws])
    # Time k eta from the start to the window's first record, in relaxation times of the pair.
    first = int(_record_steps(cfg)[window[0]])
    s["window_start_relax_2d"] = first * etas / s["relax_time_theory_2d"]

    # Window statistics per independent (seed, group) replicate, then their mean and its se.
    n_win = win.sum(-1) - bad[:, window].sum(1)  # (S, P, G)
    groups = _group_stats_2d(mom[:, window].sum(1), n_win)  # (S, P, G, 5)
    basin_share = (win[..., basin].sum(-1) / win.sum(-1))[..., None]  # (S, P, G, 1)
    groups = np.concatenate([groups, basin_share], axis=-1).transpose(1, 0, 2, 3)
    groups = groups.reshape(n_pairs, n_seeds * GROUPS, -1)  # (P, replicates, 6)
    names = (*_STATS_2D, "basin")
    chains = groups.mean(axis=1)
    chains_se = groups.std(axis=1, ddof=1) / math.sqrt(groups.shape[1])

    def values(law: Any, masses: np.ndarray) -> list[float]:
        cov = law.covariance
        return [*law.mean, cov[0, 0], cov[1, 1], cov[0, 1], float(masses[basin].sum())]

    gibbs_values = np.array([values(laws[b], laws[b].bin_masses()) for b in betas])
    euler_values = np.array([values(law, q_eta[p]) for p, law in enumerate(chain_laws)])
    for i, name in enumerate(names):
        s[f"{name}_chains_2d"] = chains[:, i]
        s[f"{name}_chains_2d_se"] = chains_se[:, i]
        s[f"{name}_gibbs_2d"] = gibbs_values[:, i]
        s[f"{name}_euler_2d"] = euler_values[:, i]
    s["basin_curves_2d"] = (curve[..., basin].sum(-1) / curve.sum(-1)).mean(0).T  # (P, R)

    # The floor's order as in 1-D: the log-log slope of the stationary KL in eta per beta over
    # the resolved pairs (> 2 se), and the exact law's slope over the same etas.
    slopes, slopes_se, slopes_th = [], [], []
    kl, kl_se, kl_th = s["kl_stationary_2d"], s["kl_stationary_2d_se"], s["kl_euler_2d"]
    for b in beta_list:
        idx = np.flatnonzero(betas == b)
        ok = idx[kl[idx] > 2 * kl_se[idx]]
        if ok.size >= 2:
            slope, se = loglog_slope(etas[ok], kl[ok], kl_se[ok])
            slope_th = loglog_slope(etas[ok], kl_th[ok], np.ones(ok.size))[0]
        else:
            slope, se = float("nan"), float("nan")
            slope_th = loglog_slope(etas[idx], kl_th[idx], np.ones(idx.size))[0]
        slopes.append(slope)
        slopes_se.append(se)
        slopes_th.append(slope_th)
    s["floor_slope_2d"] = np.array(slopes)
    s["floor_slope_2d_se"] = np.array(slopes_se)
    s["floor_slope_theory_2d"] = np.array(slopes_th)

    # The figure: bin densities of the Gibbs law and of the chains (smallest eta) per beta.
    e1 = float(etas.min())
    width = edges[1] - edges[0]
    s["bin_edges_2d"] = edges
    s["gibbs_density_2d"] = np.stack([laws[b].density_on_bins() for b in beta_list])
    hist = []
    for b in beta_list:
        p = int(np.flatnonzero((betas == b) & (etas == e1))[0])
        pooled = win[:, p].sum(axis=(0, 1))
        hist.append(pooled[:-1].reshape(n_bins, n_bins) / pooled.sum() / width ** 2)
    s["hist_density_2d"] = np.stack(hist)
    s["potential_2d_values"] = gibbs2d.potential(
        coeffs, *np.meshgrid((edges[1:] + edges[:-1]) / 2, (edges[1:] + edges[:-1]) / 2,
                             indexing="ij"))
    s["minima_2d"] = gibbs2d.local_minima(coeffs, float(np.abs(edges).max()) + 1.0)
    s["nonfinite_2d"] = bad[:, -1].sum(axis=(0, 2))
    s["replicates_2d"] = n_seeds * GROUPS
    return s


def loglog_slope(x: np.ndarray, y: np.ndarray, y_se: np.ndarray) -> tuple[float, float]:
    """Least-squares slope of ``log y`` on ``log x`` (unweighted, as ``np.polyfit`` in the 1-D
    case) and its standard error by the delta method, the standard error of ``log y`` being
    ``y_se / y``: ``se = sqrt(sum (u - u_bar)^2 (y_se / y)^2) / sum (u - u_bar)^2``."""
    u, v = np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float))
    r = np.asarray(y_se, dtype=float) / np.asarray(y, dtype=float)
    d = u - u.mean()
    sxx = float(np.sum(d ** 2))
    return float(np.sum(d * v) / sxx), float(np.sqrt(np.sum(d ** 2 * r ** 2)) / sxx)


def _claims_2d(cfg: Mapping[str, Any], s: Mapping[str, Any]) -> list[dict[str, Any]]:
    betas, etas = np.asarray(s["beta_2d"]), np.asarray(s["eta_2d"])
    beta_list = [float(b) for b in s["betas_2d"]]
    names = [*_STATS_2D, "basin"]
    z_max = float(cfg["z_max"])
    dof = int(s["replicates_2d"]) - 1
    eta_min, beta_max = float(etas.min()), float(betas.max())
    claims = []

    # 6. At every pair the chains' means, variances and covariance agree with the discrete
    # chain's exact stationary law pi_eta in z-scores (as in 1-D); the Gibbs law beside it.
    chains = np.stack([np.asarray(s[f"{n}_chains_2d"], dtype=float) for n in _STATS_2D], -1)
    chains_se = np.stack([np.asarray(s[f"{n}_chains_2d_se"], dtype=float) for n in _STATS_2D],
                         -1)
    euler = np.stack([np.asarray(s[f"{n}_euler_2d"], dtype=float) for n in _STATS_2D], -1)
    gibbs = np.stack([np.asarray(s[f"{n}_gibbs_2d"], dtype=float) for n in _STATS_2D], -1)
    z = normal_equivalent_z((chains - euler) / chains_se, dof)  # (P, 5)
    finite = np.isfinite(z).any()
    p, k = np.unravel_index(int(np.nanargmax(z)), z.shape) if finite else (0, 0)
    worst_z = float(z[p, k]) if finite else float("inf")
    # The gap to the Gibbs law at the smallest eta: means in Gibbs standard deviations, variances
    # relative, the covariance over the product of the standard deviations.
    sd = np.sqrt(gibbs[:, 2:4])
    scale = np.stack([sd[:, 0], sd[:, 1], gibbs[:, 2], gibbs[:, 3], sd[:, 0] * sd[:, 1]], -1)
    sel = np.flatnonzero(etas == eta_min)
    gibbs_gap = float(np.max(np.abs(chains - gibbs)[sel] / scale[sel]))
    regime = float(np.min(s["window_start_relax_2d"]))
    claims.append({
        "id": f"{CATALOG}.moments_2d_match_chain_law",
        "passed": bool(worst_z <= z_max),
        "measured": worst_z if np.isfinite(worst_z) else 1e9,
        "expected": z_max,
        "relation": "<=",
        "context": {"beta_at": float(betas[p]), "eta_at": float(etas[p]),
                    "n_pairs": len(betas), "dof": dof, "gibbs_gap": gibbs_gap,
                    "window_start_relax": regime},
        "detail": (f"2-D potential: largest |z| of the chains' mean, variance and covariance "
                   f"against pi_eta over {len(betas)} pairs = {worst_z:.2f} ({names[k]} at beta "
                   f"= {betas[p]:g}, eta = {etas[p]:g}: {chains[p, k]:.5f} +- "
                   f"{chains_se[p, k]:.5f} vs {euler[p, k]:.5f}); z from t on {dof} d.o.f.; "
                   f"vs Gibbs at eta = {eta_min:g}: worst scaled gap {gibbs_gap:.4f}; the window "
                   f"starts after >= {regime:.1f} relaxation times of the chain's kernel"),
    })

    # 7. The stationary (jackknifed) KL on the 2-D histogram grows with eta at every beta.
    increasing, parts = [], []
    for b in beta_list:
        idx = np.flatnonzero(betas == b)
        idx = idx[np.argsort(etas[idx])]
        values = np.asarray(s["kl_stationary_2d"])[idx]
        increasing.append(_increasing(values))
        parts.append(f"beta {b:g}: " + ", ".join(
            f"{v:.2e}({t:.2e})" for v, t in zip(values, np.asarray(s["kl_euler_2d"])[idx],
                                                strict=True)))
    share = float(np.mean(increasing))
    claims.append({
        "id": f"{CATALOG}.floor_grows_with_eta_2d",
        "passed": bool(share >= 1.0),
        "measured": share,
        "expected": 1.0,
        "relation": ">=",
        "context": {"etas": sorted(set(etas.tolist())), "betas": beta_list,
                    "kl_stationary": [float(v) for v in s["kl_stationary_2d"]],
                    "kl_chain_law": [float(v) for v in s["kl_euler_2d"]]},
        "detail": ("2-D potential: share of betas whose jackknifed stationary KL increases "
                   f"strictly with eta = {share:.2f}; measured(theory KL(pi_eta || pi)): "
                   + "; ".join(parts)),
    })

    # 8. The floor's order, as in 1-D: every resolved log-log slope of the stationary KL in eta
    # within floor_slope_tol of the exact chain law's slope over the same etas.
    slopes = np.asarray(s["floor_slope_2d"], dtype=float)
    slopes_se = np.asarray(s["floor_slope_2d_se"], dtype=float)
    slopes_th = np.asarray(s["floor_slope_theory_2d"], dtype=float)
    tol = float(cfg["floor_slope_tol"])
    fitted = np.isfinite(slopes)
    worst_d = float(np.max(np.abs(slopes - slopes_th)[fitted])) if fitted.any() else float("inf")
    claims.append({
        "id": f"{CATALOG}.floor_order_2d",
        "passed": bool(fitted.any() and worst_d <= tol),
        "measured": worst_d if np.isfinite(worst_d) else 1e9,
        "expected": tol,
        "relation": "<=",
        "context": {"slope": [float(m) if np.isfinite(m) else None for m in slopes],
                    "slope_theory": [float(t) for t in slopes_th],
                    "slopes_se": [float(e) if np.isfinite(e) else None for e in slopes_se],
                    "betas": beta_list},
        "detail": ("2-D potential: fitted log-log slope of the stationary KL in eta vs the exact "
                   "chain law's, per beta: " + "; ".join(
                       f"beta {b:g}: {m:.2f} +- {e:.2f} vs {t:.2f}" if np.isfinite(m) else
                       f"beta {b:g}: unresolved (a floor <= 2 se)" for b, m, e, t in
                       zip(beta_list, slopes, slopes_se, slopes_th, strict=True))
                   + f"; |slope - exact| must be <= {tol:g}; the asymptotic order is "
                   f"{_ASYMPTOTIC_FLOOR_ORDER:g}"),
    })

    # 9. At the largest beta and the smallest eta the global minimum's basin holds the majority,
    # and its share matches pi_eta's (z-score), although every chain started in the shallowest
    # well.
    p = int(np.flatnonzero((betas == beta_max) & (etas == eta_min))[0])
    share_c, share_e = float(s["basin_chains_2d"][p]), float(s["basin_euler_2d"][p])
    se_b = float(s["basin_chains_2d_se"][p])
    z_b = float(normal_equivalent_z((share_c - share_e) / se_b, dof))
    start = float(s["basin_curves_2d"][p][0])
    claims.append({
        "id": f"{CATALOG}.mass_at_global_min_2d",
        "passed": bool(z_b <= z_max and share_c > 0.5),
        "measured": z_b,
        "expected": z_max,
        "relation": "<=",
        "context": {"beta": beta_max, "eta": eta_min, "share_chains": share_c,
                    "share_chain_law": share_e, "share_gibbs": float(s["basin_gibbs_2d"][p]),
                    "share_start": start},
        "detail": (f"2-D potential, beta = {beta_max:g}, eta = {eta_min:g}: share in the global "
                   f"minimum's basin {share_c:.4f} +- {se_b:.4f} vs pi_eta {share_e:.4f} (|z| = "
                   f"{z_b:.2f}, must also exceed 0.5); Gibbs "
                   f"{float(s['basin_gibbs_2d'][p]):.4f}; start: {start:.4f}"),
    })
    return claims


def _figure_2d(s: Mapping[str, Any], lang: str, outdir: Path) -> Path:
    """The chains' stationary 2-D histogram (smallest eta) beside Gibbs contours, per beta."""
    from companion.plots import style

    beta_list = np.asarray(s["betas_2d"], dtype=float)
    edges = np.asarray(s["bin_edges_2d"], dtype=float)
    centres = (edges[1:] + edges[:-1]) / 2
    fig, axes = style.new_figure(ncols=len(beta_list), width=2.6 * len(beta_list) + 0.6)
    axes = np.atleast_1d(axes).ravel()
    minima = np.asarray(s["minima_2d"], dtype=float)
    for i, (ax, b) in enumerate(zip(axes, beta_list, strict=True)):
        hist = np.asarray(s["hist_density_2d"][i], dtype=float)
        gibbs = np.asarray(s["gibbs_density_2d"][i], dtype=float)
        ax.pcolormesh(edges, edges, hist.T, cmap="Greys", shading="flat")
        top = float(np.nanmax(gibbs))
        ax.contour(centres, centres, gibbs.T, levels=top * np.array([0.05, 0.2, 0.5, 0.8]),
                   colors="C1", linewidths=0.9, linestyles="--")
        ax.plot(minima[1:, 0], minima[1:, 1], "x", color="C0", ms=5)
        ax.plot(minima[:1, 0], minima[:1, 1], "*", color="C3", ms=8)
        ax.set_aspect("equal")
        ax.set_title(rf"$\beta = {b:g}$")
        ax.set_xlabel("$x$")
    axes[0].set_ylabel("$y$")
    axes[-1].plot([], [], color="C1", linestyle="--",
                  label=style.tr(lang, "Gibbs (contours)", "ギブス分布 (等高線)"))
    axes[-1].plot([], [], "*", color="C3", label=style.tr(lang, "global minimum", "大域的最小点"))
    axes[-1].legend(loc="upper right", fontsize="small")
    return style.save(fig, outdir / "densities_2d.svg")

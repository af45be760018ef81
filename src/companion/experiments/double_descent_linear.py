"""B1: double descent of the minimum-norm interpolator in linear regression, and tuned ridge.

Claim (Hastie, Montanari, Rosset and Tibshirani 2022, Theorem 1): with isotropic Gaussian
features, ``||beta*||^2 = r2``, noise variance ``sigma2`` and ``gamma = d / n``, the min-norm
interpolator's excess risk tends to ``R(gamma)``
(:func:`companion.theory.double_descent.minnorm_risk`), which diverges at the interpolation
threshold ``gamma = 1`` and falls again beyond it; ridge at the optimal penalty
``lam* = sigma2 gamma / r2`` has no such peak.

Stages:

- ``generate``: for every ``gamma`` in the grid, ``d = round(gamma n)``, a teacher ``beta*`` drawn
  uniformly on the sphere of radius ``sqrt(r2)`` and the seeds of that gamma's random streams. The
  training and test sets themselves are drawn in ``train`` on the device from those streams: stored,
  they would be ``n * sum(d) * reps`` numbers per seed (gigabytes at the full preset).
- ``train``: per gamma, fresh data sets ``X ~ N(0, I_d)^n``, ``y = X beta* + eps`` in one batch
  (float64): ``reps`` of them where ``d <= n`` and ``ceil(reps n / d)`` where ``d > n``. The work
  per data set grows like ``n^2 d`` above the threshold while the realised risk fluctuates less (it
  averages over more directions), so this spends about equal work on every gamma at comparable
  error bars. Both estimators are solved through the Cholesky factor of the smaller Gram matrix
  (see :func:`_fit`). Measured per data set: the excess risk ``||beta_hat - beta*||^2`` (equal to
  ``E_x[(x^T(beta_hat - beta*))^2]`` for isotropic x), its bias and variance exact given ``X`` (the
  noise averaged out analytically, so bias + variance is ``E_eps[risk | X]``) and, as a check, the
  mean of ``(x^T(beta_hat - beta*))^2`` over ``n_test`` fresh test points.
- ``summarize``: all seeds' data sets pooled per gamma; means, standard errors, the theory at the
  realised ratio ``d / n``, and the two claims.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from companion import divergence, memory
from companion.stats import normal_equivalent_z
from companion.theory import double_descent as theory

ID = "double_descent_linear"
CATALOG = "B1"
PART = 2
SOURCES = ["stats.py", "theory/double_descent.py", "plots/style.py"]
FIGURES = ("risk_vs_gamma", "bias_variance")

# One batch holds at most this many entries of X (float64: 64 MiB); larger sweeps split the reps.
_BATCH_ELEMENTS = 1 << 23

# Per data set, per estimator: what train() measures (arrays of shape (len(gammas), reps), NaN
# where a gamma has fewer data sets than reps).
_MEASURES = ("risk", "bias", "variance", "risk_test")
_ESTIMATORS = {"minnorm": "", "ridge": "_ridge"}

_SECTION = f"experiments.{ID}"


# --------------------------------------------------------------------------------------------
# configuration


def check(cfg: Mapping[str, Any]) -> None:
    """What the JSON Schema cannot say: a positive grid away from gamma = 1, an ordered window."""
    from companion.config import ConfigError

    n = int(cfg["n"])
    gammas = [float(g) for g in cfg["gammas"]]
    bad = [g for g in gammas if not g > 0]
    if bad:
        raise ConfigError(f"{_SECTION}.gammas: every value must be > 0; got {bad}")
    dims = [round(g * n) for g in gammas]
    if min(dims) < 1:
        raise ConfigError(f"{_SECTION}.gammas: round(gamma * n) must be >= 1; "
                          f"{min(gammas)} * {n} rounds to 0")
    at_threshold = [g for g, d in zip(gammas, dims, strict=True) if d == n]
    if at_threshold:
        raise ConfigError(f"{_SECTION}.gammas: {at_threshold} give d = n = {n}, where the "
                          "theoretical risk is infinite; move them off gamma = 1")
    if len(set(dims)) != len(dims):
        raise ConfigError(f"{_SECTION}.gammas: two values give the same d = round(gamma * n) "
                          f"with n = {n}; d = {dims}")
    lo, hi = (float(v) for v in cfg["exclude_window"])
    if not lo < 1.0 < hi:
        raise ConfigError(f"{_SECTION}.exclude_window: must be [lo, hi] with lo < 1 < hi; "
                          f"got {[lo, hi]}")
    outside = [g for g in gammas if g < lo or g > hi]
    if not outside:
        raise ConfigError(f"{_SECTION}.gammas: no value lies outside exclude_window {[lo, hi]}, "
                          "so the risk claim would test nothing")


def peak_memory_mb(cfg: Mapping[str, Any]) -> dict[str, tuple[float, str]]:
    """Estimated peak memory per job (:mod:`companion.memory`), in float64: training holds a batch
    of data sets ``(b, n, d)`` (as batched by :func:`train`) with its Gram matrix,
    Cholesky factor and inverse (``b m^2 <= b n d``, ``m = min(n, d)``), a few copies in all, the
    test set ``(n_test, d)`` and the test predictions ``(b, n_test)``."""
    n, reps, n_test = int(cfg["n"]), int(cfg["reps"]), int(cfg["n_test"])
    dims = [round(float(g) * n) for g in cfg["gammas"]]
    d_max = max(dims)
    batch = max(min(_datasets(n, d, reps), max(1, _BATCH_ELEMENTS // (n * d))) * n * d
                for d in dims if d > 0)
    train = memory.dominant("train", {"n": 8.0 * 6 * batch,
                                      "n_test": 8.0 * (n_test * d_max + 2 * reps * n_test)})
    pooled = 8.0 * 16 * len(cfg["gammas"]) * reps * len(cfg["seeds"])
    return {"train": train, "metrics": memory.dominant("metrics", {"reps": pooled})}


def _grid(cfg: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Dimensions d = round(gamma n), sorted, and the realised ratios d / n used for the theory."""
    n = int(cfg["n"])
    dims = np.array(sorted(round(float(g) * n) for g in cfg["gammas"]), dtype=np.int64)
    return dims, dims / n


# --------------------------------------------------------------------------------------------
# data


def generate(cfg: Mapping[str, Any], seed: int) -> dict[str, np.ndarray]:
    """Per gamma: a teacher beta* (uniform on the sphere, norm sqrt(r2)) and two stream seeds."""
    dims, gammas = _grid(cfg)
    teachers, streams = [], []
    for d in (int(v) for v in dims):
        # Keyed by (seed, d), so adding or removing a gamma leaves the other gammas' data alone;
        # training and test sets get separate streams, so n_test does not change the training data.
        g = np.random.default_rng([seed, 0xB1, d, 0]).standard_normal(d)
        teachers.append(math.sqrt(float(cfg["r2"])) * g / np.linalg.norm(g))
        streams.append([_stream_seed(seed, d, k) for k in (1, 2)])
    streams_arr = np.array(streams, dtype=np.int64)
    return {
        "gamma": gammas,
        "d": dims,
        "offsets": np.concatenate([[0], np.cumsum(dims)]),
        "beta_star": np.concatenate(teachers),
        "stream": streams_arr[:, 0],
        "test_stream": streams_arr[:, 1],
    }


def _stream_seed(seed: int, d: int, k: int) -> int:
    state = np.random.SeedSequence([seed, 0xB1, d, k]).generate_state(1, dtype=np.uint64)
    return int(state[0] >> np.uint64(1))  # fits torch's int64 seed


# --------------------------------------------------------------------------------------------
# training


def _fit(X, y, beta, sigma2: float, n_lam: float) -> dict[str, dict[str, Any]]:
    """Min-norm and ridge fits of a batch, with their bias and variance exact given X.

    X: (b, n, d), y: (b, n), beta: (d,); ``n_lam`` = n * lam, the penalty on ``||X b - y||^2``.
    Everything goes through the smaller Gram matrix ``G`` (``X^T X`` if d <= n, else ``X X^T``)
    and ``M = G + mu I`` with ``mu = 0`` (min-norm: ``X^+ y``, full rank almost surely) or
    ``mu = n lam`` (ridge), via Cholesky: with ``S = X^T M^{-1} X`` (d > n) or ``M^{-1} X^T X``
    the estimator's smoothing of beta*,

    - bias ``||(I - S) beta*||^2`` (``||mu M^{-1} beta*||^2`` when d <= n),
    - variance ``sigma2 tr(X^T M^{-2} X) = sigma2 (tr M^{-1} - mu tr M^{-2})`` (as G = M - mu I).

    Returns, per estimator, ``delta = beta_hat - beta*`` (b, d) and bias and variance (b,).
    """
    import torch

    _, n, d = X.shape
    wide = d > n
    gram = X @ X.mT if wide else X.mT @ X
    eye = torch.eye(gram.shape[-1], dtype=gram.dtype, device=gram.device)
    out: dict[str, dict[str, Any]] = {}
    for name, mu in (("minnorm", 0.0), ("ridge", n_lam)):
        chol = torch.linalg.cholesky(gram + mu * eye)
        m_inv = torch.cholesky_inverse(chol)
        if wide:
            # beta_hat = X^T (X X^T + mu)^{-1} y; beta* - S beta* = beta* - X^T M^{-1} X beta*.
            beta_hat = (X.mT @ torch.cholesky_solve(y.unsqueeze(-1), chol)).squeeze(-1)
            smooth = (X.mT @ torch.cholesky_solve((X @ beta).unsqueeze(-1), chol)).squeeze(-1)
            bias = (beta - smooth).pow(2).sum(-1)
        else:
            # beta_hat = (X^T X + mu)^{-1} X^T y; beta* - S beta* = mu M^{-1} beta*.
            beta_hat = torch.cholesky_solve((X.mT @ y.unsqueeze(-1)), chol).squeeze(-1)
            bias = (mu * (m_inv @ beta)).pow(2).sum(-1)
        trace = m_inv.diagonal(dim1=-2, dim2=-1).sum(-1)
        variance = sigma2 * (trace - mu * m_inv.pow(2).sum((-2, -1)))
        out[name] = {"delta": beta_hat - beta, "bias": bias, "variance": variance}
    return out


def _datasets(n: int, d: int, reps: int) -> int:
    """Data sets at dimension d: reps up to the threshold, then ~reps n / d (equal work each)."""
    return reps if d <= n else max(2, math.ceil(reps * n / d))


def _divergence(results: Mapping[str, np.ndarray], dims: np.ndarray, n: int,
                reps: int) -> dict[str, Any] | None:
    """Non-finite values among the fitted data sets; the unused slots of each row are NaN by
    design (fewer data sets above the threshold), so they are left out."""
    counts = np.asarray([_datasets(n, int(d), reps) for d in dims])
    filled = np.arange(reps)[None, :] < counts[:, None]
    bad = {name: ~np.isfinite(v[filled]) for name, v in results.items()}
    names = sorted(name for name, b in bad.items() if b.any())
    if not names:
        return None
    share = float(np.any([bad[name] for name in names], axis=0).mean())
    return divergence.record(None, share, ", ".join(names))


def train(cfg: Mapping[str, Any], data: Mapping[str, np.ndarray], seed: int, device: Any,
          log: Callable[[str], None]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Fit both estimators on fresh data sets at every gamma, batched; see the module doc."""
    import torch

    n, reps, n_test = int(cfg["n"]), int(cfg["reps"]), int(cfg["n_test"])
    r2, sigma2 = float(cfg["r2"]), float(cfg["sigma2"])
    dims, offsets = data["d"], data["offsets"]
    gammas = data["gamma"]
    lams = theory.optimal_ridge_lambda(gammas, r2, sigma2)
    f64 = torch.float64
    results = {f"{m}{suffix}": np.full((len(dims), reps), np.nan)
               for m in _MEASURES for suffix in _ESTIMATORS.values()}
    for i, d in enumerate(int(v) for v in dims):
        gen = torch.Generator(device=device)
        gen.manual_seed(int(data["stream"][i]))
        test_gen = torch.Generator(device=device)
        test_gen.manual_seed(int(data["test_stream"][i]))
        beta = torch.as_tensor(data["beta_star"][offsets[i]:offsets[i + 1]], dtype=f64,
                               device=device)
        # One test set per gamma, shared by its data sets: a check of E_x[(x^T delta)^2] whose
        # error (about sqrt(2 / n_test) relative) is common to them.
        X_test = torch.randn(n_test, d, generator=test_gen, dtype=f64, device=device)
        count = _datasets(n, d, reps)
        batch = max(1, min(count, _BATCH_ELEMENTS // (n * d)))
        for start in range(0, count, batch):
            b = min(batch, count - start)
            X = torch.randn(b, n, d, generator=gen, dtype=f64, device=device)
            eps = math.sqrt(sigma2) * torch.randn(b, n, generator=gen, dtype=f64, device=device)
            y = (X @ beta) + eps
            fits = _fit(X, y, beta, sigma2, n * float(lams[i]))
            for est, suffix in _ESTIMATORS.items():
                fit = fits[est]
                delta = fit["delta"]
                measured = {
                    "risk": delta.pow(2).sum(-1),
                    "bias": fit["bias"],
                    "variance": fit["variance"],
                    "risk_test": (delta @ X_test.mT).pow(2).mean(-1),
                }
                for m, value in measured.items():
                    results[f"{m}{suffix}"][i, start:start + b] = value.cpu().numpy()
        log(f"gamma={gammas[i]:.3g} (d={d}, {count} data sets): min-norm risk "
            f"{np.nanmean(results['risk'][i]):.4g}, "
            f"ridge {np.nanmean(results['risk_ridge'][i]):.4g}")
    arrays = {"gamma": gammas, "d": dims, "lam": lams, **results}
    scalars = {"n": n, "reps": reps, "n_test": n_test,
               "divergence": _divergence(results, dims, n, reps)}
    return arrays, scalars


# --------------------------------------------------------------------------------------------
# metrics


def _pool(runs: Sequence[tuple[Mapping[str, np.ndarray], Mapping[str, Any]]],
          key: str) -> np.ndarray:
    """All seeds' data sets side by side: (len(gammas), seeds * reps), NaN where unused."""
    return np.concatenate([np.asarray(arrays[key], dtype=float) for arrays, _ in runs], axis=1)


def _mean_se(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-gamma mean and its standard error over the data sets present."""
    count = np.sum(~np.isnan(samples), axis=1)
    mean = np.nanmean(samples, axis=1)
    resid = np.where(np.isnan(samples), 0.0, samples - mean[:, None])
    sd = np.sqrt((resid**2).sum(axis=1) / np.maximum(count - 1, 1))
    return mean, sd / np.sqrt(count)


def _z_scores(mean: np.ndarray, se: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """(mean - exact) / se; where the standard error is 0 (a bias that is exactly 0 below the
    threshold) the z-score is 0 if the mean is exact and inf otherwise."""
    diff = np.asarray(mean, dtype=float) - np.asarray(exact, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = diff / np.asarray(se, dtype=float)
    exact_zero = np.isclose(diff, 0.0, atol=1e-12)
    return np.where(np.asarray(se) > 0, z, np.where(exact_zero, 0.0, np.inf))


def _table_rows(gammas: np.ndarray, outside: np.ndarray) -> list[int]:
    """A few representative grid points: both ends, either side of the window, and gamma ~ 2, 4."""
    idx = np.flatnonzero(outside)
    below, above = idx[gammas[idx] < 1.0], idx[gammas[idx] > 1.0]
    picks = {int(idx[0]), int(idx[-1])}
    if below.size:
        picks.add(int(below[-1]))
    if above.size:
        picks.add(int(above[0]))
        for target in (2.0, 4.0):
            picks.add(int(above[np.argmin(np.abs(np.log(gammas[above] / target)))]))
    return sorted(picks)


def summarize(cfg: Mapping[str, Any],
              runs: Sequence[tuple[Mapping[str, np.ndarray], Mapping[str, Any]]]) -> dict[str, Any]:
    """Pool the seeds, put the theory (the n -> infinity limit and the exact finite-n means)
    beside the measurements and decide the claims."""
    r2, sigma2 = float(cfg["r2"]), float(cfg["sigma2"])
    lo, hi = (float(v) for v in cfg["exclude_window"])
    rel_tol, z_tol = float(cfg["rel_tol"]), float(cfg["ridge_drop_z"])
    first = runs[0][0]
    gammas = np.asarray(first["gamma"], dtype=float)
    lams = np.asarray(first["lam"], dtype=float)
    counts = np.sum(~np.isnan(_pool(runs, "risk")), axis=1)

    series: dict[str, Any] = {"gamma": gammas, "d": np.asarray(first["d"]), "lam": lams,
                              "datasets": counts}
    for m in _MEASURES:
        for suffix in _ESTIMATORS.values():
            mean, se = _mean_se(_pool(runs, f"{m}{suffix}"))
            series[f"{m}{suffix}"], series[f"{m}{suffix}_se"] = mean, se
    series["risk_theory"] = theory.minnorm_risk(gammas, r2, sigma2)
    series["bias_theory"] = theory.minnorm_bias(gammas, r2)
    series["variance_theory"] = theory.minnorm_variance(gammas, sigma2)
    series["risk_ridge_theory"] = theory.optimal_ridge_risk(gammas, r2, sigma2)
    series["bias_ridge_theory"] = theory.ridge_bias(gammas, lams, r2)
    series["variance_ridge_theory"] = theory.ridge_variance(gammas, lams, sigma2)
    series["rel_error"] = series["risk"] / series["risk_theory"] - 1.0
    series["rel_error_ridge"] = series["risk_ridge"] / series["risk_ridge_theory"] - 1.0
    outside = (gammas < lo) | (gammas > hi)
    series["excluded"] = (~outside).astype(int)

    # Claim 1: the measured min-norm risk follows R(gamma) away from the threshold.
    rel = np.abs(series["rel_error"])
    worst = int(np.flatnonzero(outside)[np.argmax(rel[outside])])
    max_rel = float(rel[worst])
    claim_risk = {
        "id": f"{CATALOG}.risk_matches_theory",
        "passed": bool(max_rel <= rel_tol),
        "measured": max_rel,
        "expected": rel_tol,
        "relation": "<=",
        "detail": (f"max |risk/R(gamma) - 1| = {max_rel:.4f} at gamma = {gammas[worst]:.4g} "
                   f"(measured {series['risk'][worst]:.4g}, theory "
                   f"{series['risk_theory'][worst]:.4g}) over {int(outside.sum())} gammas "
                   f"outside [{lo:g}, {hi:g}]; n = {int(cfg['n'])}, {counts[worst]} data sets "
                   f"there "
                   f"({counts.min()}-{counts.max()} per gamma)"),
    }

    # Claim 2: tuned ridge has no peak. Its mean risk never falls from one grid point to the next
    # by more than ridge_drop_z standard errors of the difference (a peak would show as a fall
    # after gamma = 1), and its highest value stays below the min-norm curve's highest value.
    ridge, ridge_se = series["risk_ridge"], series["risk_ridge_se"]
    drop_z = (ridge[:-1] - ridge[1:]) / np.sqrt(ridge_se[:-1] ** 2 + ridge_se[1:] ** 2)
    k = int(np.argmax(drop_z))
    z_max = float(drop_z[k])
    ridge_peak, minnorm_peak = float(ridge.max()), float(series["risk"].max())
    ridge_rel = float(np.max(np.abs(series["rel_error_ridge"])))
    claim_ridge = {
        "id": f"{CATALOG}.ridge_removes_peak",
        "passed": bool(z_max <= z_tol and ridge_peak < minnorm_peak),
        "measured": z_max,
        "expected": z_tol,
        "relation": "<=",
        "detail": (f"largest fall of the tuned-ridge risk between neighbouring gammas = "
                   f"{z_max:.2f} standard errors (gamma {gammas[k]:.4g} -> {gammas[k + 1]:.4g}; "
                   f"negative = rises everywhere); max ridge risk {ridge_peak:.4g} vs min-norm "
                   f"peak {minnorm_peak:.4g}; max |ridge/theory - 1| = {ridge_rel:.4f}"),
    }

    # Claims 3-5: the exact finite-n means (inverse-Wishart moments) in z-scores, wherever the
    # per-data-set variance has a finite variance itself (|d - n| > 3), so the standard error
    # means something; that window is set by the theory, not by the data.
    n = int(cfg["n"])
    d_arr = np.asarray(series["d"], dtype=float)
    z_tol_exact = float(cfg["z_max"])
    series["bias_finite"] = theory.minnorm_bias_finite(n, d_arr, r2)
    series["variance_finite"] = theory.minnorm_variance_finite(n, d_arr, sigma2)
    series["risk_finite"] = series["bias_finite"] + series["variance_finite"]
    testable = np.abs(d_arr - n) > 3
    claims_exact = []
    for measure in ("risk", "bias", "variance"):
        t = _z_scores(series[measure], series[f"{measure}_se"], series[f"{measure}_finite"])
        # Few data sets per gamma at large gamma: t quantiles on count - 1 d.o.f.
        z = normal_equivalent_z(t, np.maximum(counts - 1, 1))
        series[f"{measure}_z"] = z
        idx = np.flatnonzero(testable)
        k = int(idx[np.argmax(z[idx])])
        worst_z = float(np.abs(z[k]))
        claims_exact.append({
            "id": f"{CATALOG}.{measure}_matches_finite_n",
            "passed": bool(worst_z <= z_tol_exact),
            "measured": worst_z,
            "expected": z_tol_exact,
            "relation": "<=",
            "detail": (f"max |mean - exact finite-n mean| / standard error of the {measure} = "
                       f"{worst_z:.2f} at gamma = {gammas[k]:.4g} (d = {int(d_arr[k])}: measured "
                       f"{series[measure][k]:.4g} +- {series[f'{measure}_se'][k]:.2g}, exact "
                       f"{series[f'{measure}_finite'][k]:.4g}) over {idx.size} gammas with "
                       f"|d - n| > 3, z from t on the data sets' d.o.f.; n = {n}"),
        })

    # Claim 6: tuned ridge against its (asymptotic) theory, at every gamma.
    ridge_tol = float(cfg["ridge_rel_tol"])
    k_r = int(np.argmax(np.abs(series["rel_error_ridge"])))
    claim_ridge_theory = {
        "id": f"{CATALOG}.ridge_matches_theory",
        "passed": bool(ridge_rel <= ridge_tol),
        "measured": ridge_rel,
        "expected": ridge_tol,
        "relation": "<=",
        "detail": (f"max |ridge risk / theory - 1| = {ridge_rel:.4f} at gamma = "
                   f"{gammas[k_r]:.4g} (measured {series['risk_ridge'][k_r]:.4g}, theory "
                   f"{series['risk_ridge_theory'][k_r]:.4g}) over all {gammas.size} gammas"),
    }

    columns = ["gamma", "d", "risk", "risk_theory", "risk_finite", "rel_error", "risk_test",
               "risk_ridge", "risk_ridge_theory"]
    rows = [[float(series[c][i]) if c != "d" else int(series[c][i]) for c in columns]
            for i in _table_rows(gammas, outside)]
    return {
        "series": {k: np.asarray(v).tolist() for k, v in series.items()},
        "claims": [claim_risk, *claims_exact, claim_ridge_theory, claim_ridge],
        "table": {"columns": columns, "rows": rows},
    }


# --------------------------------------------------------------------------------------------
# figures


def _theory_pieces(gmin: float, gmax: float) -> list[np.ndarray]:
    """Fine gamma grids either side of the threshold (the curves diverge at 1, never join them)."""
    grid = np.geomspace(gmin, gmax, 600)
    return [p for p in (grid[grid < 0.999], grid[grid > 1.001]) if p.size]


def _errorbars(ax, x: np.ndarray, y: np.ndarray, se: np.ndarray, top: float, colour: str,
               marker: str, label: str) -> None:
    """Means with +-2 standard errors; points above the axis are marked at its top edge."""
    on = y <= top
    ax.errorbar(x[on], y[on], yerr=2.0 * se[on], fmt=marker, color=colour, ms=4, capsize=2,
                lw=1, label=label, zorder=6)
    if (~on).any():
        ax.plot(x[~on], np.full((~on).sum(), top), linestyle="none", marker="^", color=colour,
                ms=5, clip_on=False, zorder=6)


def figures(metrics: Mapping[str, Any], lang: str, outdir: str | Path) -> list[Path]:
    """``risk_vs_gamma`` (double descent vs tuned ridge) and ``bias_variance``, theory overlaid."""
    from companion.plots import style

    outdir = Path(outdir)
    cfg, s = metrics["config"], metrics["series"]
    r2, sigma2 = float(cfg["r2"]), float(cfg["sigma2"])
    lo, hi = (float(v) for v in cfg["exclude_window"])
    g = np.asarray(s["gamma"], dtype=float)
    outside = np.asarray(s["excluded"]) == 0
    arr = {k: np.asarray([np.nan if v is None else v for v in vals], dtype=float)
           for k, vals in s.items()}
    pieces = _theory_pieces(g.min() / 1.1, g.max() * 1.1)
    # The peak diverges: scale the axis to what is seen outside the window, with room to show
    # the flanks of the peak.
    top = 2.2 * max(r2, np.nanmax(arr["risk_theory"][outside]), np.nanmax(arr["risk"][outside]))
    theory_label = style.tr(lang, "theory", "理論")
    window_label = style.tr(lang, "excluded from the check", "判定から除外")
    minnorm_label = style.tr(lang, "min-norm interpolator", "最小ノルム補間推定量")
    ridge_label = style.tr(lang, r"ridge, optimal $\lambda$", r"リッジ回帰 (最適な $\lambda$)")
    written = []

    fig, ax = style.new_figure()
    colour = style.colours()
    ax.axvspan(lo, hi, color="0.85", alpha=0.6, lw=0, label=window_label)
    for j, p in enumerate(pieces):
        ax.plot(p, theory.minnorm_risk(p, r2, sigma2), **style.THEORY_STYLE,
                label=f"{theory_label}: $R(\\gamma)$" if j == 0 else None)
    fine = np.geomspace(g.min() / 1.1, g.max() * 1.1, 600)
    ax.plot(fine, theory.optimal_ridge_risk(fine, r2, sigma2),
            **{**style.THEORY_STYLE, "linestyle": ":"},
            label=style.tr(lang, "theory: tuned ridge", "理論: 最適リッジ"))
    _errorbars(ax, g, arr["risk"], arr["risk_se"], top, next(colour), "o", minnorm_label)
    _errorbars(ax, g, arr["risk_ridge"], arr["risk_ridge_se"], top, next(colour), "s",
               ridge_label)
    ax.axhline(r2, color="0.5", lw=0.8, linestyle="-.",
               label=style.tr(lang, r"risk of $\hat{\beta} = 0$: $r^2$",
                              r"$\hat{\beta} = 0$ のリスク $r^2$"))
    ax.set_xscale("log")
    ax.set_ylim(0.0, top)
    ax.set_xlabel(r"$\gamma = d/n$")
    ax.set_ylabel(style.tr(lang, "excess risk", "余剰誤差"))
    ax.legend(loc="upper left")  # the empty corner: low gamma, high risk
    written.append(style.save(fig, outdir / "risk_vs_gamma.svg"))

    fig, axes = style.new_figure(ncols=2)
    axes = axes.ravel()
    for ax, suffix, title in ((axes[0], "", minnorm_label), (axes[1], "_ridge", ridge_label)):
        colour = style.colours()
        if not suffix:  # the window only concerns the min-norm claim
            ax.axvspan(lo, hi, color="0.85", alpha=0.6, lw=0)
        if suffix:
            lam = theory.optimal_ridge_lambda(fine, r2, sigma2)
            curves = [(fine, theory.ridge_bias(fine, lam, r2), theory.ridge_variance(fine, lam,
                                                                                     sigma2))]
        else:
            curves = [(p, theory.minnorm_bias(p, r2), theory.minnorm_variance(p, sigma2))
                      for p in pieces]
        for j, (p, bias, var) in enumerate(curves):
            ax.plot(p, bias, **style.THEORY_STYLE,
                    label=f"{theory_label}: " + style.tr(lang, "bias", "バイアス") if j == 0
                    else None)
            ax.plot(p, var, **{**style.THEORY_STYLE, "linestyle": "-."},
                    label=f"{theory_label}: " + style.tr(lang, "variance", "バリアンス") if j == 0
                    else None)
        # Tuned ridge stays below r2 everywhere; its panel needs no room for a peak.
        panel_top = top if not suffix else 1.15 * max(
            r2, np.nanmax(arr["bias_ridge"]), np.nanmax(arr["variance_ridge"]))
        _errorbars(ax, g, arr[f"bias{suffix}"], arr[f"bias{suffix}_se"], panel_top, next(colour),
                   "o", style.tr(lang, "bias", "バイアス"))
        _errorbars(ax, g, arr[f"variance{suffix}"], arr[f"variance{suffix}_se"], panel_top,
                   next(colour), "s", style.tr(lang, "variance", "バリアンス"))
        ax.set_xscale("log")
        ax.set_ylim(0.0, panel_top)
        ax.set_title(title)
        ax.set_xlabel(r"$\gamma = d/n$")
    axes[0].set_ylabel(style.tr(lang, "excess risk", "余剰誤差"))
    axes[0].legend(loc="upper right")
    written.append(style.save(fig, outdir / "bias_variance.svg"))
    return written

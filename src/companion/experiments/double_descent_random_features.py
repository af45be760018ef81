"""B2: double descent of random-features regression in N/n, and tuned ridge.

Claim (Mei and Montanari 2022, Theorem 1 and 3; :mod:`companion.theory.random_features_risk`): with
``x`` and the feature directions uniform on the sphere of radius ``sqrt(d)``, ``N`` ReLU random
features and ``n`` samples, the minimum-norm (ridgeless) fit's test error diverges at the
interpolation threshold ``N = n`` and falls again beyond it; ridge with a tuned penalty has no
such peak. The whole curve is predicted as a function of ``psi1 = N / d``, ``psi2 = n / d`` and
the penalty.

Stages:

- ``generate``: for every ratio ``N / n`` in the grid, ``N = round(ratio n)`` and one stream seed
  per data set; the data themselves are drawn in ``train`` from those streams (stored they would be
  ``(n + n_val + n_test) d + N d`` numbers per data set).
- ``train``: per ratio, ``reps`` independent data sets, each with its own features ``theta_j``,
  teacher and training, validation and test sets. The target is ``f(x) = <beta1, x> + f_NL(x)``
  with ``||beta1||^2 = f1_sq`` and ``f_NL(x) = sqrt(fstar_sq) He_2(<u, x>)`` normalised to power
  ``fstar_sq`` on the sphere (a degree-2 part the features cannot learn at ``N, n ~ d``: it acts as
  noise, the ``F*^2`` of the theory), plus Gaussian noise of variance ``tau2``. One SVD of the
  feature matrix ``Z`` gives the minimum-norm fit (the pseudo-inverse on the numerically nonzero
  singular values: stable at ``N ~ n``, where ``Z^T Z`` is nearly singular), its condition number,
  and the ridge fit at every ``lambda`` of the grid; the penalty with the smallest validation
  error is kept. Measured: ``E_x[(f(x) - f_hat(x))^2]`` on ``n_test`` fresh points.
- ``summarize``: means and standard errors over the data sets, the asymptotic curves at the
  realised ``psi1 = N / d``, and the claims.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from companion import divergence, memory
from companion.sampling import sphere
from companion.theory import random_features_risk as theory

ID = "double_descent_random_features"
CATALOG = "B2"
PART = 2
SOURCES = ["sampling.py", "theory/random_features_risk.py", "plots/style.py"]
FIGURES = ("risk_vs_ratio", "condition_number")

_SECTION = f"experiments.{ID}"
_MEASURES = ("risk_ridgeless", "risk_ridge", "lam_selected", "condition_number")


# --------------------------------------------------------------------------------------------
# configuration


def _features(cfg: Mapping[str, Any]) -> np.ndarray:
    """Feature counts N = round(ratio n), in the order of increasing N."""
    n = int(cfg["n"])
    return np.array(sorted(round(float(r) * n) for r in cfg["ratios"]), dtype=np.int64)


def check(cfg: Mapping[str, Any]) -> None:
    """What the JSON Schema cannot say: N >= 1 and N != n for every ratio, distinct N, a window
    around 1 with grid points inside (for the peak) and outside (for the theory claim)."""
    from companion.config import ConfigError

    n = int(cfg["n"])
    ratios = [float(r) for r in cfg["ratios"]]
    counts = [round(r * n) for r in ratios]
    if min(counts) < 1:
        raise ConfigError(f"{_SECTION}.ratios: round(ratio * n) must be >= 1; "
                          f"{min(ratios)} * {n} rounds to 0")
    at_threshold = [r for r, m in zip(ratios, counts, strict=True) if m == n]
    if at_threshold:
        raise ConfigError(f"{_SECTION}.ratios: {at_threshold} give N = n = {n}, where the "
                          "ridgeless risk is infinite; move them off N/n = 1")
    if len(set(counts)) != len(counts):
        raise ConfigError(f"{_SECTION}.ratios: two values give the same N = round(ratio * n) "
                          f"with n = {n}; N = {counts}")
    lo, hi = (float(v) for v in cfg["peak_window"])
    if not lo < 1.0 < hi:
        raise ConfigError(f"{_SECTION}.peak_window: must be [lo, hi] with lo < 1 < hi; "
                          f"got {[lo, hi]}")
    realised = [m / n for m in counts]
    if not any(lo <= r <= hi for r in realised):
        raise ConfigError(f"{_SECTION}.ratios: none lies inside peak_window {[lo, hi]}, so the "
                          "ridgeless curve could not peak there")
    if not any(r < lo or r > hi for r in realised):
        raise ConfigError(f"{_SECTION}.ratios: none lies outside peak_window {[lo, hi]}, so the "
                          "comparison with the asymptotic curve would test nothing")


def peak_memory_mb(cfg: Mapping[str, Any]) -> dict[str, tuple[float, str]]:
    """Estimated peak memory per job (:mod:`companion.memory`), float64: one data set at a time,
    its largest feature matrices (train, validation and test, ``(n + n_val + n_test) N_max``) and
    their projections on the singular vectors, the SVD factors ``(n + N) min(n, N)`` and the
    validation and test predictions for every penalty."""
    n, n_val, n_test, d = (int(cfg[k]) for k in ("n", "n_val", "n_test", "d"))
    n_max = int(_features(cfg).max())
    lams = len(cfg["lambdas"])
    rank = min(n, n_max)
    terms = {"n_test": 8.0 * (2 * n_test * n_max + n_test * (d + lams)),
             "n": 8.0 * (2 * (n + n_val) * n_max + (n + n_max) * rank + n_val * lams),
             "ratios": 8.0 * (n_max * d)}
    pooled = 8.0 * len(_MEASURES) * len(cfg["ratios"]) * int(cfg["reps"]) * len(cfg["seeds"])
    return {"train": memory.dominant("train", terms),
            "metrics": memory.dominant("metrics", {"reps": pooled})}


# --------------------------------------------------------------------------------------------
# data


def _stream_seed(seed: int, m: int, rep: int) -> int:
    state = np.random.SeedSequence([seed, 0xB2, m, rep]).generate_state(1, dtype=np.uint64)
    return int(state[0] >> np.uint64(1))


def generate(cfg: Mapping[str, Any], seed: int) -> dict[str, np.ndarray]:
    """Per ratio: N and one stream seed per data set, keyed by (seed, N, rep) so that adding a
    ratio or a rep leaves the other data sets alone."""
    n, reps = int(cfg["n"]), int(cfg["reps"])
    counts = _features(cfg)
    streams = np.array([[_stream_seed(seed, int(m), r) for r in range(reps)] for m in counts],
                       dtype=np.int64)
    return {"ratio": counts / n, "N": counts, "stream": streams}


# --------------------------------------------------------------------------------------------
# training


def _target(rng: np.random.Generator, d: int, f1_sq: float,
            fstar_sq: float) -> Callable[[np.ndarray], np.ndarray]:
    """``f(x) = <beta1, x> + sqrt(fstar_sq) (<u, x>^2 - 1) / c`` with ``||beta1||^2 = f1_sq``,
    ``u`` a unit vector and ``c^2 = Var <u, x>^2 = 2 (d - 1) / (d + 2)`` on the sphere of radius
    ``sqrt(d)`` (``E <u, x>^4 = 3 d / (d + 2)``), so the nonlinear part has mean 0 and power
    ``fstar_sq`` exactly."""
    beta = rng.standard_normal(d)
    beta *= math.sqrt(f1_sq) / np.linalg.norm(beta)
    u = rng.standard_normal(d)
    u /= np.linalg.norm(u)
    scale = math.sqrt(fstar_sq) / math.sqrt(2.0 * (d - 1) / (d + 2)) if d > 1 else 0.0

    def f(x: np.ndarray) -> np.ndarray:
        return x @ beta + scale * ((x @ u) ** 2 - 1.0)

    return f


def _relu_features(x: np.ndarray, theta: np.ndarray) -> np.ndarray:
    return np.maximum(x @ theta.T / math.sqrt(x.shape[1]), 0.0)


def fit_data_set(cfg: Mapping[str, Any], m: int, stream: int) -> dict[str, Any]:
    """One data set with ``m`` features: the minimum-norm and the validation-tuned ridge fits'
    test errors, the selected penalty, the condition number of ``Z`` and the test error at every
    penalty of the grid (see the module doc)."""
    n, d = int(cfg["n"]), int(cfg["d"])
    n_val, n_test = int(cfg["n_val"]), int(cfg["n_test"])
    rng = np.random.default_rng(stream)
    f = _target(rng, d, float(cfg["f1_sq"]), float(cfg["fstar_sq"]))
    noise = math.sqrt(float(cfg["tau2"]))
    theta = sphere(rng, m, d)
    x, x_val, x_test = sphere(rng, n, d), sphere(rng, n_val, d), sphere(rng, n_test, d)
    y = f(x) + noise * rng.standard_normal(n)
    y_val = f(x_val) + noise * rng.standard_normal(n_val)  # tuned as in practice: noisy labels
    f_test = f(x_test)

    u, s, vt = np.linalg.svd(_relu_features(x, theta), full_matrices=False)
    # Numerically nonzero singular values (the rule of numpy's matrix_rank): the pseudo-inverse
    # on them is the minimum-norm interpolator, stable however close N is to n.
    keep = s > s[0] * max(n, m) * np.finfo(float).eps
    u, s, vt = u[:, keep], s[keep], vt[keep]
    uy = u.T @ y
    proj_val = _relu_features(x_val, theta) @ vt.T
    proj_test = _relu_features(x_test, theta) @ vt.T
    # Ridge in the paper's scaling: (Z^T Z / n + (N lam / d) I) a = Z^T y / n, i.e. a filter
    # s / (s^2 + kappa) on the singular directions with kappa = n N lam / d; kappa = 0 is 1 / s.
    kappa = n * m * np.asarray(cfg["lambdas"], dtype=float) / d
    filters = s[:, None] / (s[:, None] ** 2 + kappa[None, :])  # (rank, lambdas)
    coef = filters * uy[:, None]
    val_error = np.mean((y_val[:, None] - proj_val @ coef) ** 2, axis=0)
    test_error = np.mean((f_test[:, None] - proj_test @ coef) ** 2, axis=0)
    best = int(np.argmin(val_error))
    ridgeless = float(np.mean((f_test - proj_test @ (uy / s)) ** 2))
    return {"risk_ridgeless": ridgeless, "risk_ridge": float(test_error[best]),
            "lam_selected": float(cfg["lambdas"][best]),
            "condition_number": float(s[0] / s[-1]), "risk_grid": test_error}


def train(cfg: Mapping[str, Any], data: Mapping[str, np.ndarray], seed: int, device: Any,
          log: Callable[[str], None]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Fit every data set of every ratio (float64 on the CPU: one SVD of at most a few thousand
    columns each, where a device would only add transfers); see the module doc."""
    counts, streams = data["N"], data["stream"]
    reps, n_lams = streams.shape[1], len(cfg["lambdas"])
    out = {k: np.zeros((len(counts), reps)) for k in _MEASURES}
    out["risk_grid"] = np.zeros((len(counts), reps, n_lams))
    for i, m in enumerate(int(v) for v in counts):
        for r in range(reps):
            fit = fit_data_set(cfg, m, int(streams[i, r]))
            for k in (*_MEASURES, "risk_grid"):
                out[k][i, r] = fit[k]
        log(f"N/n={data['ratio'][i]:.3g} (N={m}): ridgeless "
            f"{out['risk_ridgeless'][i].mean():.4g}, ridge {out['risk_ridge'][i].mean():.4g}, "
            f"cond {np.median(out['condition_number'][i]):.3g}")
    bad = sorted(k for k, v in out.items() if not np.all(np.isfinite(v)))
    diverged = None
    if bad:
        broken = np.zeros((len(counts), reps), dtype=bool)
        for k in bad:
            broken |= ~np.isfinite(out[k].reshape(len(counts), reps, -1)).all(-1)
        diverged = divergence.record(None, float(broken.mean()), ", ".join(bad))
    arrays = {"ratio": data["ratio"], "N": counts, **out}
    return arrays, {"divergence": diverged}


# --------------------------------------------------------------------------------------------
# metrics


def _pool(runs: Sequence[tuple[Mapping[str, np.ndarray], Mapping[str, Any]]],
          key: str) -> np.ndarray:
    """All seeds' data sets side by side along axis 1."""
    return np.concatenate([np.asarray(arrays[key], dtype=float) for arrays, _ in runs], axis=1)


def _mean_se(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    count = samples.shape[1]
    sd = samples.std(axis=1, ddof=1) if count > 1 else np.zeros(samples.shape[0])
    return samples.mean(axis=1), sd / math.sqrt(count)


def theory_curves(cfg: Mapping[str, Any], ratios: np.ndarray) -> dict[str, np.ndarray]:
    """The asymptotic ridgeless risk at ``psi1 = ratio n / d`` and the tuned-ridge risk, the
    smallest asymptotic risk over the configured penalty grid (the oracle the validation set
    approximates), with that penalty."""
    n, d = int(cfg["n"]), int(cfg["d"])
    args = (float(cfg["f1_sq"]), float(cfg["fstar_sq"]), float(cfg["tau2"]))
    psi1, psi2 = np.asarray(ratios, dtype=float) * n / d, n / d
    ridgeless = theory.rf_risk(psi1, psi2, 0.0, *args)
    grid = np.stack([theory.rf_risk(psi1, psi2, float(lam), *args) for lam in cfg["lambdas"]])
    best = np.argmin(grid, axis=0)
    return {"ridgeless": ridgeless, "ridge": grid[best, np.arange(len(psi1))],
            "lam": np.asarray(cfg["lambdas"], dtype=float)[best]}


def summarize(cfg: Mapping[str, Any],
              runs: Sequence[tuple[Mapping[str, np.ndarray], Mapping[str, Any]]]) -> dict[str, Any]:
    """Pool the seeds, put the asymptotic curves beside the measurements and decide the claims."""
    lo, hi = (float(v) for v in cfg["peak_window"])
    rel_tol, rise_tol = float(cfg["rel_tol"]), float(cfg["rise_z"])
    first = runs[0][0]
    ratios = np.asarray(first["ratio"], dtype=float)
    series: dict[str, Any] = {"ratio": ratios, "N": np.asarray(first["N"])}
    for key in ("risk_ridgeless", "risk_ridge"):
        series[key], series[f"{key}_se"] = _mean_se(_pool(runs, key))
    cond = _pool(runs, "condition_number")
    series["condition_number"] = np.exp(np.log(cond).mean(axis=1))  # geometric mean
    series["condition_number_max"] = cond.max(axis=1)
    series["lam_selected"] = np.exp(np.log(_pool(runs, "lam_selected")).mean(axis=1))
    curves = theory_curves(cfg, ratios)
    series["risk_theory_ridgeless"] = curves["ridgeless"]
    series["risk_theory_ridge"] = curves["ridge"]
    series["lam_theory"] = curves["lam"]
    inside = (ratios >= lo) & (ratios <= hi)
    series["in_window"] = inside.astype(int)
    sets = cond.shape[1]

    # Claim 1: the ridgeless curve peaks at the threshold.
    ridgeless = series["risk_ridgeless"]
    k_peak = int(np.argmax(ridgeless))
    peak = float(ratios[k_peak])
    claim_peak = {
        "id": f"{CATALOG}.ridgeless_peak_at_threshold",
        "passed": bool(lo <= peak <= hi),
        "measured": peak,
        "expected": 1.0,
        "relation": "~=",
        "detail": (f"the mean ridgeless risk is largest at N/n = {peak:.4g} (risk "
                   f"{ridgeless[k_peak]:.4g} +- {series['risk_ridgeless_se'][k_peak]:.2g}, "
                   f"condition number of Z {series['condition_number'][k_peak]:.3g}); required "
                   f"in [{lo:g}, {hi:g}]; {sets} data sets per ratio"),
    }

    # Claim 2: tuned ridge has no peak: it never rises above its running minimum (in the order
    # of increasing N) by more than rise_z standard errors of the difference.
    ridge, ridge_se = series["risk_ridge"], series["risk_ridge_se"]
    rise = np.zeros(len(ratios))
    for k in range(1, len(ratios)):
        j = int(np.argmin(ridge[:k]))
        spread = math.hypot(ridge_se[k], ridge_se[j])
        diff = ridge[k] - ridge[j]
        rise[k] = diff / spread if spread > 0 else (0.0 if diff <= 0 else math.inf)
    k_rise = int(np.argmax(rise))
    z_rise = float(rise[k_rise])
    claim_ridge = {
        "id": f"{CATALOG}.ridge_removes_peak",
        "passed": bool(z_rise <= rise_tol),
        "measured": z_rise,
        "expected": rise_tol,
        "relation": "<=",
        "detail": (f"largest rise of the tuned-ridge risk above its running minimum = "
                   f"{z_rise:.2f} standard errors (at N/n = {ratios[k_rise]:.4g}; 0 = never "
                   f"above it); tuned ridge at the ridgeless peak N/n = {peak:.4g}: "
                   f"{ridge[k_peak]:.4g} vs ridgeless {ridgeless[k_peak]:.4g}"),
    }

    # Claim 3: the ridgeless risk follows the asymptotic curve outside the window.
    rel = np.abs(ridgeless / series["risk_theory_ridgeless"] - 1.0)
    series["rel_error_ridgeless"] = ridgeless / series["risk_theory_ridgeless"] - 1.0
    outside = np.flatnonzero(~inside)
    worst = int(outside[np.argmax(rel[outside])])
    claim_theory = {
        "id": f"{CATALOG}.ridgeless_matches_theory",
        "passed": bool(rel[worst] <= rel_tol),
        "measured": float(rel[worst]),
        "expected": rel_tol,
        "relation": "<=",
        "detail": (f"max |ridgeless risk / asymptotic risk - 1| = {rel[worst]:.4f} at N/n = "
                   f"{ratios[worst]:.4g} (measured {ridgeless[worst]:.4g} +- "
                   f"{series['risk_ridgeless_se'][worst]:.2g}, theory "
                   f"{series['risk_theory_ridgeless'][worst]:.4g}) over {outside.size} ratios "
                   f"outside [{lo:g}, {hi:g}]; n = {int(cfg['n'])}, d = {int(cfg['d'])}"),
    }

    # Claim 4: validation-tuned ridge against the asymptotic oracle over the same penalty grid.
    rel_ridge = ridge / series["risk_theory_ridge"] - 1.0
    series["rel_error_ridge"] = rel_ridge
    k_r = int(np.argmax(np.abs(rel_ridge)))
    claim_ridge_theory = {
        "id": f"{CATALOG}.ridge_matches_theory",
        "passed": bool(abs(rel_ridge[k_r]) <= rel_tol),
        "measured": float(abs(rel_ridge[k_r])),
        "expected": rel_tol,
        "relation": "<=",
        "detail": (f"max |tuned-ridge risk / asymptotic oracle risk - 1| = "
                   f"{abs(rel_ridge[k_r]):.4f} at N/n = {ratios[k_r]:.4g} (measured "
                   f"{ridge[k_r]:.4g}, theory "
                   f"{series['risk_theory_ridge'][k_r]:.4g}) over all {ratios.size} ratios"),
    }

    columns = ["ratio", "N", "risk_ridgeless", "risk_theory_ridgeless", "risk_ridge",
               "risk_theory_ridge", "condition_number"]
    rows = [[int(series[c][i]) if c == "N" else float(series[c][i]) for c in columns]
            for i in range(len(ratios))]
    return {
        "series": {k: np.asarray(v).tolist() for k, v in series.items()},
        "claims": [claim_peak, claim_ridge, claim_theory, claim_ridge_theory],
        "table": {"columns": columns, "rows": rows},
    }


# --------------------------------------------------------------------------------------------
# figures


def figures(metrics: Mapping[str, Any], lang: str, outdir: str | Path) -> list[Path]:
    """``risk_vs_ratio`` (both estimators with the asymptotic curves) and ``condition_number``."""
    from companion.plots import style

    outdir = Path(outdir)
    cfg, s = metrics["config"], metrics["series"]
    n, d = int(cfg["n"]), int(cfg["d"])
    lo, hi = (float(v) for v in cfg["peak_window"])
    arr = {k: np.asarray(v, dtype=float) for k, v in s.items()}
    r = arr["ratio"]
    args = (float(cfg["f1_sq"]), float(cfg["fstar_sq"]), float(cfg["tau2"]))
    fine = np.geomspace(r.min() / 1.1, r.max() * 1.1, 300)
    pieces = [p for p in (fine[fine < 0.99], fine[fine > 1.01]) if p.size]
    outside = arr["in_window"] == 0
    top = 2.5 * max(np.nanmax(arr["risk_theory_ridgeless"][outside]),
                    np.nanmax(arr["risk_ridgeless"][outside]))
    written = []

    fig, ax = style.new_figure()
    colour = style.colours()
    ax.axvspan(lo, hi, color="0.85", alpha=0.6, lw=0,
               label=style.tr(lang, "window of the peak", "ピークの許容範囲"))
    for j, p in enumerate(pieces):
        ax.plot(p, theory.rf_risk(p * n / d, n / d, 0.0, *args), **style.THEORY_STYLE,
                label=style.tr(lang, "theory: ridgeless", "理論: リッジレス") if j == 0 else None)
    ax.plot(r, arr["risk_theory_ridge"], **{**style.THEORY_STYLE, "linestyle": ":"},
            label=style.tr(lang, "theory: tuned ridge", "理論: 最適リッジ"))
    for key, marker, label in (("risk_ridgeless", "o", style.tr(lang, "ridgeless (min-norm)",
                                                                 "リッジレス (最小ノルム)")),
                               ("risk_ridge", "s", style.tr(lang, "ridge, tuned on held-out data",
                                                            "リッジ回帰 (検証データで調整)"))):
        y, se = arr[key], arr[f"{key}_se"]
        c = next(colour)
        on = y <= top
        ax.errorbar(r[on], y[on], yerr=2 * se[on], fmt=marker, color=c, ms=4, capsize=2, lw=1,
                    label=label, zorder=6)
        if (~on).any():
            ax.plot(r[~on], np.full((~on).sum(), top), linestyle="none", marker="^", color=c,
                    ms=5, clip_on=False, zorder=6)
    ax.set_xscale("log")
    ax.set_ylim(0.0, top)
    ax.set_xlabel(r"$N/n$")
    ax.set_ylabel(style.tr(lang, "test error", "テスト誤差"))
    ax.legend(loc="upper right", fontsize=7)
    written.append(style.save(fig, outdir / "risk_vs_ratio.svg"))

    fig, ax = style.new_figure()
    c = next(style.colours())
    ax.axvspan(lo, hi, color="0.85", alpha=0.6, lw=0)
    ax.plot(r, arr["condition_number"], "o-", color=c, ms=4,
            label=style.tr(lang, "geometric mean", "幾何平均"))
    ax.plot(r, arr["condition_number_max"], "^", color=c, ms=4, mfc="none",
            label=style.tr(lang, "largest", "最大値"))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$N/n$")
    ax.set_ylabel(style.tr(lang, r"condition number of $Z$", r"$Z$ の条件数"))
    ax.legend(loc="upper right")
    written.append(style.save(fig, outdir / "condition_number.svg"))
    return written

"""A2: random features against a trained first layer, for one ReLU neuron on the sphere.

Claim (Yehudai & Shamir 2019; E, Ma & Wu 2019): random ReLU features need a number of units
exponential in d to approximate even a single neuron, while an M-unit network whose first layer
is trained does not.

- ``generate``: for every d in ``dims`` a unit teacher ``u*`` and points uniform on ``S^{d-1}``:
  random-feature training, validation and test sets and the network's training set. The target
  is ``f*(x) = sqrt(2d) relu(<u*, x>)``, scaled so that ``|f*|_{L2} = 1``: every error below is a
  relative mean squared error, comparable across d.
- ``train``: random features ``relu(<u_j, x>)``, ``u_j`` uniform on the sphere, nested in M (the
  first M of the largest set), output layer by ridge regression with lambda chosen on the
  validation set from ``ridge_grid``; and M-unit two-layer ReLU nets with both layers trained
  (full-batch Adam, :func:`companion.nn.train.fit`, ``restarts`` initialisations, the best on
  the validation set kept).
- ``summarize``: means over seeds per (d, M), log-log slopes in M of the random-feature error, the
  predicted floor ``|P_{>l(M)} f*|^2`` (:mod:`companion.theory.random_features`), the claims.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from companion import sampling
from companion.theory import random_features as theory
from companion.theory.powerlaw import loglog_slope

ID = "random_features_vs_trained"
CATALOG = "A2"
PART = 1
SOURCES = [
    "sampling.py", "theory/random_features.py", "theory/ntk.py", "theory/powerlaw.py",
    "nn/activations.py",
    "nn/backprop.py", "nn/ensemble.py", "nn/losses.py", "nn/optim.py", "nn/parameterisation.py",
    "nn/sweep.py", "nn/train.py", "plots/style.py",
]
FIGURES = ("error_vs_width", "error_vs_dim")
POOLED_ONLY: dict[str, str] = {}

_SECTION = f"experiments.{ID}"
_SETS = ("rf_train", "val", "test", "nn_train")


def check(cfg: Mapping[str, Any]) -> None:
    """dims and widths strictly increasing, at least two of each (slopes and trends need them)."""
    from companion.config import ConfigError

    for key in ("dims", "widths"):
        vals = [int(v) for v in cfg[key]]
        if len(vals) < 2:
            raise ConfigError(f"{_SECTION}.{key}: need at least 2 values, got {vals}")
        if any(b <= a for a, b in zip(vals, vals[1:], strict=False)):
            raise ConfigError(f"{_SECTION}.{key}: must be strictly increasing, got {vals}")
    if int(cfg["n_rf"]) < 2 * max(int(m) for m in cfg["widths"]):
        raise ConfigError(f"{_SECTION}.n_rf: {cfg['n_rf']} is fewer than twice the largest width; "
                          "the ridge fit would be limited by the samples, not the features")


def peak_memory_mb(cfg: Mapping[str, Any]) -> dict[str, tuple[float, str]]:
    """The feature matrix (n_rf x max M) and the trained nets' (restarts, n_nn, M) arrays."""
    m = max(int(v) for v in cfg["widths"])
    d = max(int(v) for v in cfg["dims"])
    n_total = sum(int(cfg[f"n_{s}"]) for s in ("rf", "val", "test", "nn"))
    feats = 3 * 8 * (int(cfg["n_rf"]) + int(cfg["n_val"]) + int(cfg["n_test"])) * m / 2**20
    nets = 6 * 4 * int(cfg["restarts"]) * int(cfg["n_nn"]) * m / 2**20
    data = 8 * n_total * d * len(cfg["dims"]) / 2**20
    return {"data": (50.0 + 2 * data, "n_rf"),
            "train": (250.0 + data + max(feats, nets), "n_rf" if feats >= nets else "n_nn"),
            "metrics": (50.0, "widths")}


# --------------------------------------------------------------------------------------------
# data and training



def target(x: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``sqrt(2d) relu(<u, x>)``: unit L2 norm on the sphere (``E relu(t)^2 = 1/(2d)``)."""
    d = x.shape[-1]
    return np.sqrt(2.0 * d) * np.maximum(x @ u, 0.0)


def generate(cfg: Mapping[str, Any], seed: int) -> dict[str, np.ndarray]:
    """Per d: the teacher and the four point sets (see the module docstring)."""
    out = {}
    sizes = {"rf_train": cfg["n_rf"], "val": cfg["n_val"], "test": cfg["n_test"],
             "nn_train": cfg["n_nn"]}
    for d in cfg["dims"]:
        rng = np.random.default_rng([seed, 2, int(d)])
        out[f"u_{d}"] = sampling.sphere(rng, 1, int(d), radius=1.0)[0]
        for name in _SETS:
            out[f"x_{name}_{d}"] = sampling.sphere(rng, int(sizes[name]), int(d), radius=1.0)
    return out


def ridge_path(phi: np.ndarray, y: np.ndarray, lambdas: np.ndarray) -> np.ndarray:
    """Ridge coefficients ``(Phi^T Phi / n + lambda I)^{-1} Phi^T y / n`` for every lambda, from one
    eigendecomposition; shape ``(len(lambdas), M)``."""
    n = phi.shape[0]
    evals, evecs = np.linalg.eigh(phi.T @ phi / n)
    proj = evecs.T @ (phi.T @ y / n)
    return (proj[None, :] / (np.maximum(evals, 0.0)[None, :] + lambdas[:, None])) @ evecs.T


def _random_features(cfg: Mapping[str, Any], data: Mapping[str, np.ndarray], d: int,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Test error and chosen lambda per width."""
    widths = np.asarray(cfg["widths"], dtype=int)
    rng = np.random.default_rng([seed, 20, d])
    feats = sampling.sphere(rng, int(widths.max()), d, radius=1.0)
    u = data[f"u_{d}"]
    sets = {s: np.asarray(data[f"x_{s}_{d}"]) for s in ("rf_train", "val", "test")}
    phi = {s: np.maximum(x @ feats.T, 0.0) for s, x in sets.items()}
    y = {s: target(x, u) for s, x in sets.items()}
    errors, chosen = np.zeros(widths.size), np.zeros(widths.size)
    for i, m in enumerate(widths):
        gram_scale = np.mean(np.sum(phi["rf_train"][:, :m] ** 2, axis=1)) / m
        lambdas = gram_scale * np.asarray(cfg["ridge_grid"], dtype=float)
        coef = ridge_path(phi["rf_train"][:, :m], y["rf_train"], lambdas)
        val = np.mean((phi["val"][:, :m] @ coef.T - y["val"][:, None]) ** 2, axis=0)
        best = int(np.argmin(val))
        errors[i] = np.mean((phi["test"][:, :m] @ coef[best] - y["test"]) ** 2)
        chosen[i] = lambdas[best]
    return errors, chosen


def _trained(cfg: Mapping[str, Any], data: Mapping[str, np.ndarray], d: int, seed: int,
             device: Any) -> np.ndarray:
    """Test error per width of the best (on validation) of ``restarts`` trained nets."""
    import torch

    from companion.nn.ensemble import MLPEnsemble
    from companion.nn.sweep import plan_groups
    from companion.nn.train import fit

    widths = np.asarray(cfg["widths"], dtype=int)
    restarts = int(cfg["restarts"])
    u = data[f"u_{d}"]
    tens = lambda a: torch.as_tensor(a, dtype=torch.float32, device=device)  # noqa: E731
    x_tr = np.asarray(data[f"x_nn_train_{d}"])
    x_val, x_te = np.asarray(data[f"x_val_{d}"]), np.asarray(data[f"x_test_{d}"])
    xt, yt = tens(x_tr), tens(target(x_tr, u))
    model_widths = np.repeat(widths, restarts)
    val_err = np.zeros(model_widths.size)
    test_err = np.zeros(model_widths.size)
    steps = int(cfg["steps"])
    for g, group in enumerate(plan_groups(model_widths)):
        init_seed = int(np.random.SeedSequence([seed, 21, d, g]).generate_state(1)[0])
        model = MLPEnsemble(d, model_widths[group], activation_name="relu",
                            parameterisation="standard", seed=init_seed, device=device)
        fit(model, xt, yt, steps=steps, lr=float(cfg["lr"]), optimiser="adam",
            record_at=[0, steps])
        with torch.no_grad():
            val_err[group] = (model(tens(x_val)).double().cpu().numpy()
                              - target(x_val, u)).__pow__(2).mean(axis=1)
            test_err[group] = (model(tens(x_te)).double().cpu().numpy()
                               - target(x_te, u)).__pow__(2).mean(axis=1)
    val_err = np.nan_to_num(val_err.reshape(widths.size, restarts), nan=np.inf)
    best = np.argmin(val_err, axis=1)
    return test_err.reshape(widths.size, restarts)[np.arange(widths.size), best]


def train(cfg: Mapping[str, Any], data: Mapping[str, np.ndarray], seed: int, device: Any,
          log) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Random features and trained nets for every (d, M); see the module docstring."""
    dims = np.asarray(cfg["dims"], dtype=int)
    widths = np.asarray(cfg["widths"], dtype=int)
    rf_err = np.zeros((dims.size, widths.size))
    lam = np.zeros_like(rf_err)
    nn_err = np.zeros_like(rf_err)
    for i, d in enumerate(dims):
        rf_err[i], lam[i] = _random_features(cfg, data, int(d), seed)
        nn_err[i] = _trained(cfg, data, int(d), seed, device)
        log(f"d = {d}: random features {rf_err[i].round(4)}, trained {nn_err[i].round(4)}")
    return {"dims": dims, "widths": widths, "error_rf": rf_err, "error_trained": nn_err,
            "lambda_rf": lam}, {}


# --------------------------------------------------------------------------------------------
# metrics


def _slope(x: np.ndarray, y: np.ndarray) -> float:
    if not (np.all(np.isfinite(y)) and np.all(y > 0)):
        return float("nan")
    return loglog_slope(x, y)


def summarize(cfg: Mapping[str, Any],
              runs: Sequence[tuple[Mapping[str, np.ndarray], Mapping[str, Any]]]) -> dict[str, Any]:
    """Means over seeds per (d, M), slopes per d, the harmonic floor, the three claims."""
    first = runs[0][0]
    dims = np.asarray(first["dims"], dtype=int)
    widths = np.asarray(first["widths"], dtype=int)
    rf = np.mean([np.asarray(a["error_rf"], dtype=float) for a, _ in runs], axis=0)
    nn = np.mean([np.asarray(a["error_trained"], dtype=float) for a, _ in runs], axis=0)
    floor = np.array([[theory.random_feature_floor(int(d), int(m)) for m in widths] for d in dims])
    slopes = np.array([_slope(widths, rf[i]) for i in range(dims.size)])
    nn_slopes = np.array([_slope(widths, nn[i]) for i in range(dims.size)])

    top = rf[:, -1]
    growth = top[1:] / top[:-1]
    min_growth = float(np.min(growth)) if np.all(np.isfinite(growth)) else float("nan")
    above2 = dims > 2
    ratio = nn[above2, -1] / rf[above2, -1]
    worst_ratio = float(np.max(ratio)) if above2.any() else float("nan")
    flatten = np.diff(slopes)
    slope_tol = float(cfg["slope_tol"])
    min_flatten = float(np.min(flatten)) if np.all(np.isfinite(flatten)) else float("nan")
    nseeds = len(runs)
    where = f"M = {int(widths[-1])}, {nseeds} seed(s)"

    def ok(value: float, passed: bool) -> bool:
        return bool(np.isfinite(value) and passed)

    big = float(np.finfo(float).max)
    fin = lambda v: v if np.isfinite(v) else big  # noqa: E731 - a diverged run: plain JSON
    claims = [
        {
            "id": f"{CATALOG}.rf_error_grows_with_d",
            "passed": ok(min_growth, min_growth > 1.0),
            "measured": fin(min_growth),
            "expected": 1.0,
            "relation": ">",
            "detail": (f"smallest ratio of the random-feature error between neighbouring d at "
                       f"{where}: {min_growth:.3f}; errors "
                       + ", ".join(f"{top[i]:.4g} (d = {d})" for i, d in enumerate(dims))),
        },
        {
            "id": f"{CATALOG}.trained_below_half_rf",
            "passed": ok(worst_ratio, worst_ratio <= 0.5),
            "measured": fin(worst_ratio),
            "expected": 0.5,
            "relation": "<=",
            "detail": (f"largest error_trained / error_rf over d > 2 at {where}: "
                       f"{worst_ratio:.4f}; trained errors "
                       + ", ".join(f"{nn[i, -1]:.3g} (d = {d})" for i, d in enumerate(dims))),
        },
        {
            "id": f"{CATALOG}.rf_slope_flattens",
            "passed": ok(min_flatten, min_flatten >= -slope_tol),
            "measured": fin(min_flatten),
            "expected": -slope_tol,
            "relation": ">=",
            "detail": ("smallest change of the random-feature log-log slope in M from one d to "
                       f"the next: {min_flatten:.3f} (tolerance {slope_tol:g}); slopes "
                       + ", ".join(f"{slopes[i]:.3f} (d = {d})" for i, d in enumerate(dims))
                       + f"; M = {int(widths[0])}..{int(widths[-1])}, {nseeds} seed(s)"),
        },
    ]

    pairs = [(i, j) for i in range(dims.size) for j in range(widths.size)]
    clean = lambda v: None if not np.isfinite(v) else float(v)  # noqa: E731
    series = {
        "d": [float(dims[i]) for i, _ in pairs],
        "M": [float(widths[j]) for _, j in pairs],
        "error_rf": [clean(rf[i, j]) for i, j in pairs],
        "error_trained": [clean(nn[i, j]) for i, j in pairs],
        "floor_rf_theory": [clean(floor[i, j]) for i, j in pairs],
        "slope_d": [float(d) for d in dims],
        "slope_rf": [clean(s) for s in slopes],
        "slope_trained": [clean(s) for s in nn_slopes],
    }
    rows = [[int(dims[i]), int(widths[j]), clean(rf[i, j]), clean(floor[i, j]),
             clean(nn[i, j])] for i, j in pairs]
    return {
        "series": series,
        "claims": claims,
        "table": {"columns": ["d", "M", "error_rf", "floor_rf_theory", "error_trained"],
                  "rows": rows},
    }


# --------------------------------------------------------------------------------------------
# figures


def figures(metrics: Mapping[str, Any], lang: str, outdir: str | Path) -> list[Path]:
    """``error_vs_width`` (both errors and the harmonic floor vs M, one colour per d) and
    ``error_vs_dim`` (errors at the largest M vs d)."""
    from companion.plots import style

    outdir = Path(outdir)
    s = {k: np.asarray([np.nan if v is None else v for v in vals], dtype=float)
         for k, vals in metrics["series"].items()}
    dims = s["slope_d"].astype(int)
    written = []

    fig, ax = style.new_figure()
    colour = style.colours()
    for d in dims:
        c = next(colour)
        sel = s["d"] == d
        ax.plot(s["M"][sel], s["error_rf"][sel], "o-", color=c, ms=4,
                label=style.tr(lang, f"random features, d = {d}", f"ランダム特徴量, d = {d}"))
        ax.plot(s["M"][sel], s["error_trained"][sel], "s:", color=c, ms=4,
                label=style.tr(lang, f"trained, d = {d}", f"学習, d = {d}"))
        ax.plot(s["M"][sel], s["floor_rf_theory"][sel], color=c, ls="--", lw=1.0, alpha=0.8)
    ax.plot([], [], **style.THEORY_STYLE,
            label=style.tr(lang, r"theory: floor $\|P_{>\ell(M)} f^*\|^2$",
                           r"理論: 下限 $\|P_{>\ell(M)} f^*\|^2$"))
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel(style.tr(lang, "units $M$", "ユニット数 $M$"))
    ax.set_ylabel(style.tr(lang, r"test error $\|\hat f - f^*\|^2 / \|f^*\|^2$",
                           r"テスト誤差 $\|\hat f - f^*\|^2 / \|f^*\|^2$"))
    ax.legend(loc="lower left", fontsize="x-small", ncol=2)
    written.append(style.save(fig, outdir / "error_vs_width.svg"))

    fig, ax = style.new_figure()
    colour = style.colours()
    top = s["M"] == s["M"].max()
    ax.plot(s["d"][top], s["error_rf"][top], "o-", color=next(colour), ms=5,
            label=style.tr(lang, "random features", "ランダム特徴量"))
    ax.plot(s["d"][top], s["error_trained"][top], "s-", color=next(colour), ms=5,
            label=style.tr(lang, "first layer trained", "第 1 層も学習"))
    ax.plot(s["d"][top], s["floor_rf_theory"][top], **style.THEORY_STYLE,
            label=style.tr(lang, "theory: random-feature floor", "理論: ランダム特徴量の下限"))
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel(style.tr(lang, f"dimension $d$ (M = {int(s['M'].max())})",
                           f"次元 $d$ (M = {int(s['M'].max())})"))
    ax.set_ylabel(style.tr(lang, "relative test error", "相対テスト誤差"))
    ax.legend(loc="best")
    written.append(style.save(fig, outdir / "error_vs_dim.svg"))
    return written

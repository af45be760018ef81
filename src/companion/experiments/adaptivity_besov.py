"""A4: deep ReLU nets adapt to spatially inhomogeneous smoothness; kernel ridge does not.

Claim (Suzuki 2019, Thm 2; Hayakawa & Suzuki 2020; Donoho & Johnstone 1998): on Besov classes
``B^s_{p,q}`` with ``p < 2`` (narrow bumps, jumps, chirps) least-squares deep ReLU nets reach the
minimax rate ``n^{-2s/(2s+1)}`` up to logs, while every linear estimator, kernel ridge regression
included, is limited to the slower ``n^{-2s'/(2s'+1)}``, ``s' = s - 1/p + 1/2``
(:mod:`companion.theory.besov`). Verdict per target: the net's fitted slope of test MSE against
n is steeper than the tuned kernel's by more than their combined standard error, and its error
is lower at the largest n.

Stages:

- ``generate``: uniform inputs on [0, 1], nested in n (the data at n are the first points of the
  data at the largest n, so the sweep measures the estimators, not fresh draws), a training pool
  and a validation pool (``val_frac`` of each n), Gaussian noise of sd ``sigma`` per target.
- ``train``: per n, kernel ridge with a Gaussian and a Laplace kernel, bandwidth and penalty
  chosen on the validation split (:func:`companion.theory.kernel_ridge.fit_select`), the kernel
  with the lower validation error reported; the nets, one ensemble for every (target, n, step
  size): ReLU MLPs ``depth x width`` with biases (the first layer's breakpoints start uniform on
  the input interval), Adam on minibatches for ``steps`` steps decayed
  geometrically to ``final_lr_fraction``, each model drawing from its own n
  (:func:`companion.nn.train.fit` with ``sample_sizes``), checked on its own validation split
  ``val_checks`` times and kept at its best check (early stopping); per (target, n) the step
  size with the lowest validation error is kept. Both estimators see the same training split;
  the test error is the mean squared distance to f° on a fixed grid of ``n_test`` points,
  never used to choose.
- ``summarize``: per target, mean test MSE over seeds per n, log-log slopes with standard
  errors (:func:`companion.theory.powerlaw.loglog_fit`), one claim per target, and the claim
  that the nets converged: the seed-mean held-out loss of every chosen net falls by at most
  ``flat_tol`` (relative) over the last 20% of the steps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from companion import memory
from companion.theory import besov
from companion.theory.kernel_ridge import fit_select
from companion.theory.powerlaw import loglog_fit

ID = "adaptivity_besov"
CATALOG = "A4"
PART = 1
SOURCES = [
    "theory/besov.py", "theory/kernel_ridge.py", "theory/powerlaw.py", "nn/activations.py",
    "nn/backprop.py", "nn/ensemble.py", "nn/losses.py", "nn/optim.py", "nn/parameterisation.py",
    "nn/train.py", "plots/style.py",
]
FIGURES = ("mse_vs_n", "fits")
POOLED_ONLY: dict[str, str] = {}
KERNELS = ("gaussian", "laplace")
# The convergence claim looks at the held-out loss over this last share of the steps.
FLAT_WINDOW = 0.2

_SECTION = f"experiments.{ID}"


# --------------------------------------------------------------------------------------------
# configuration


def check(cfg: Mapping[str, Any]) -> None:
    """Known targets, at least three increasing n, a validation split of every n non-empty, no
    more held-out checks than steps."""
    from companion.config import ConfigError

    unknown = [t for t in cfg["targets"] if t not in besov.TARGETS]
    if unknown:
        raise ConfigError(f"{_SECTION}.targets: {unknown} unknown; known: "
                          f"{', '.join(besov.TARGETS)}")
    ns = [int(n) for n in cfg["ns"]]
    if len(ns) < 3 or any(b <= a for a, b in zip(ns, ns[1:], strict=False)):
        raise ConfigError(f"{_SECTION}.ns: need at least 3 strictly increasing sizes to fit a "
                          f"slope with a standard error, got {ns}")
    if int(cfg["val_checks"]) > int(cfg["steps"]):
        raise ConfigError(f"{_SECTION}.val_checks: {cfg['val_checks']} checks need at least as "
                          f"many steps, got steps = {cfg['steps']}")
    for n in ns:
        n_tr, n_va = _split(n, float(cfg["val_frac"]))
        if n_tr < 2 or n_va < 1:
            raise ConfigError(f"{_SECTION}.val_frac: n = {n} splits into {n_tr} training and "
                              f"{n_va} validation points; need at least 2 and 1")


def _split(n: int, val_frac: float) -> tuple[int, int]:
    n_val = int(round(val_frac * n))
    return n - n_val, n_val


def _models(cfg: Mapping[str, Any]) -> int:
    return len(cfg["targets"]) * len(cfg["ns"]) * len(cfg["lrs"])


def peak_memory_mb(cfg: Mapping[str, Any]) -> dict[str, tuple[float, str]]:
    """Estimated peak memory per job (:mod:`companion.memory`): kernel ridge's Gram matrix, its
    factor and the test and validation kernels at the largest n (float64); the ensemble's padded
    data ``(E, n, 1)``, activations ``(E, batch, width)`` per layer with gradients, weights with
    Adam's moments ``(E, width, width)`` per layer, and test outputs ``(E, n_test)`` (float32)."""
    n, n_test = max(int(v) for v in cfg["ns"]), int(cfg["n_test"])
    e, width, depth = _models(cfg), int(cfg["width"]), int(cfg["depth"])
    terms = {"ns": 8.0 * (3 * n * n + 2 * n * n_test) + 4.0 * 4 * e * n,
             "width": 4.0 * e * depth * (6 * width * width + 4 * int(cfg["batch_size"]) * width
                                         + 2 * n_test * width),
             "n_test": 4.0 * e * n_test * 2}
    return {"train": memory.dominant("train", terms)}


# --------------------------------------------------------------------------------------------
# data


def test_points(cfg: Mapping[str, Any]) -> np.ndarray:
    """The fixed test grid: midpoints of ``n_test`` equal cells of [0, 1]."""
    m = int(cfg["n_test"])
    return (np.arange(m) + 0.5) / m


def generate(cfg: Mapping[str, Any], seed: int) -> dict[str, np.ndarray]:
    """Nested training and validation pools and their noisy labels, one noise stream per target
    (adding a target leaves the others' data alone)."""
    n_max = max(int(v) for v in cfg["ns"])
    n_tr, n_va = _split(n_max, float(cfg["val_frac"]))
    rng = np.random.default_rng([seed, 0xA4, 0])
    x_tr, x_va = rng.uniform(size=n_tr), rng.uniform(size=n_va)
    sigma = float(cfg["sigma"])
    out: dict[str, np.ndarray] = {"x_train": x_tr, "x_val": x_va}
    for name in cfg["targets"]:
        noise = np.random.default_rng([seed, 0xA4, 1 + besov.TARGETS.index(name)])
        out[f"y_train_{name}"] = besov.target(name, x_tr) + sigma * noise.standard_normal(n_tr)
        out[f"y_val_{name}"] = besov.target(name, x_va) + sigma * noise.standard_normal(n_va)
    return out


# --------------------------------------------------------------------------------------------
# training


def _kernel_errors(cfg, data, x_test, f_test) -> dict[str, np.ndarray]:
    """Per kernel: test MSE ``(targets, ns)`` of the validation-chosen fit, and its validation
    MSE, bandwidth and penalty."""
    targets, ns = list(cfg["targets"]), [int(v) for v in cfg["ns"]]
    frac = float(cfg["val_frac"])
    out = {f"{key}_{k}": np.zeros((len(targets), len(ns))) for k in KERNELS
           for key in ("mse", "val", "bandwidth", "lam")}
    for j, n in enumerate(ns):
        n_tr, n_va = _split(n, frac)
        y_tr = np.stack([data[f"y_train_{t}"][:n_tr] for t in targets], axis=1)
        y_va = np.stack([data[f"y_val_{t}"][:n_va] for t in targets], axis=1)
        for k in KERNELS:
            sel = fit_select(data["x_train"][:n_tr], y_tr, data["x_val"][:n_va], y_va, x_test,
                             k, cfg[f"bandwidths_{k}"], cfg["lams"])
            out[f"mse_{k}"][:, j] = np.mean((sel.test_pred - f_test) ** 2, axis=1)
            out[f"val_{k}"][:, j] = sel.val_mse
            out[f"bandwidth_{k}"][:, j] = sel.bandwidth
            out[f"lam_{k}"][:, j] = sel.lam
    return out


def _net_errors(cfg, data, x_test, f_test, seed: int, device: Any) -> dict[str, np.ndarray]:
    """One ensemble for every (target, n, step size), each model checked on its own validation
    split every ``val_every`` steps and kept at its best check (early stopping); per (target, n)
    the validation-best step size's test MSE ``(targets, ns)``, its index in ``lrs``, the step
    it was kept at and its held-out loss curve ``(targets, ns, checks)``."""
    import torch

    from companion.nn.ensemble import MLPEnsemble
    from companion.nn.train import fit

    targets, ns, lrs = list(cfg["targets"]), [int(v) for v in cfg["ns"]], list(cfg["lrs"])
    frac = float(cfg["val_frac"])
    grid = [(t, j, lr) for t in range(len(targets)) for j in range(len(ns)) for lr in lrs]
    n_pad, n_va_pad = _split(ns[-1], frac)
    x_rows, y_rows, sizes, yv_rows, wv_rows = [], [], [], [], []
    for t, j, _ in grid:
        n_tr, n_va = _split(ns[j], frac)
        # Pad by repeating the model's own samples: minibatches only draw from the first n_tr.
        rows = np.resize(np.arange(n_tr), n_pad)
        x_rows.append(data["x_train"][rows])
        y_rows.append(data[f"y_train_{targets[t]}"][rows])
        sizes.append(n_tr)
        # Validation: the largest n's pool for every model, weight 1 on its own first n_va.
        yv_rows.append(data[f"y_val_{targets[t]}"])
        wv_rows.append(np.arange(n_va_pad) < n_va)
    f32 = torch.float32
    as_input = lambda x: torch.as_tensor(2.0 * np.asarray(x) - 1.0, dtype=f32,  # noqa: E731
                                         device=device)[..., None]
    as_tensor = lambda a: torch.as_tensor(np.stack(a), dtype=f32, device=device)  # noqa: E731
    x, y = as_input(np.stack(x_rows)), as_tensor(y_rows)
    validation = (as_input(data["x_val"]), as_tensor(yv_rows), as_tensor(wv_rows))
    init_seed = int(np.random.SeedSequence([seed, 0xA4, 7]).generate_state(1)[0])
    model = MLPEnsemble(1, [int(cfg["width"])] * len(grid), depth=int(cfg["depth"]), bias=True,
                        bias_std=1.0, parameterisation="standard", seed=init_seed,
                        device=device, dtype=f32)
    with torch.no_grad():
        # First-layer breakpoints -b/w uniform on the input interval [-1, 1], not Cauchy-spread
        # as with independent Gaussian w and b: every part of [0, 1] starts with kinks to move
        # (in a trial at n = 1280 this cut the bumps error 0.053 -> 0.004).
        spots = torch.rand(model.biases[0].shape, generator=torch.Generator().manual_seed(
            init_seed + 2), dtype=f32).to(device)
        model.biases[0].copy_(-(2.0 * spots - 1.0) * model.weights[0])
    gen = torch.Generator(device=device).manual_seed(init_seed + 1)
    steps = int(cfg["steps"])
    hist = fit(model, x, y, steps=steps, lr=[lr for *_, lr in grid], optimiser="adam",
               batch_size=int(cfg["batch_size"]), generator=gen, sample_sizes=sizes,
               record_at=[], final_lr_fraction=float(cfg["final_lr_fraction"]),
               validation=validation, val_every=_val_every(cfg), keep_best=True)
    with torch.no_grad():
        pred_test = model(as_input(x_test)).cpu().numpy().astype(float)
        pred_val = model(as_input(data["x_val"])).cpu().numpy().astype(float)
    shape = (len(targets), len(ns), len(lrs))
    test_mse = np.zeros(shape)
    val_mse = np.zeros(shape)
    for e, (t, j, _) in enumerate(grid):
        n_va = _split(ns[j], frac)[1]
        k = e % len(lrs)
        test_mse[t, j, k] = np.mean((pred_test[e] - f_test[t]) ** 2)
        val_mse[t, j, k] = np.mean((pred_val[e, :n_va] - data[f"y_val_{targets[t]}"][:n_va]) ** 2)
    # A step size whose run went non-finite is no candidate; all of them non-finite is a result.
    scored = np.where(np.isfinite(val_mse), val_mse, np.inf)
    pick = np.argmin(scored, axis=2)
    chosen = lambda a: np.take_along_axis(  # noqa: E731
        a.reshape(shape + a.shape[1:]), pick.reshape(pick.shape + (1,) * (a.ndim)), axis=2
    )[:, :, 0]
    # The fit's held-out loss is half the MSE; the curves are reported as MSE.
    curves = 2.0 * hist.val_loss.T.astype(float)  # (models, checks)
    return {"mse_dnn": chosen(test_mse.reshape(-1)), "val_dnn": chosen(val_mse.reshape(-1)),
            "lr_index": pick, "best_step": chosen(hist.best_step.astype(float)),
            "val_curve": chosen(curves), "val_steps": hist.val_steps.astype(np.int64),
            "pred_dnn_largest": chosen(pred_test)[:, -1]}


def _val_every(cfg: Mapping[str, Any]) -> int:
    """Steps between held-out checks: ``val_checks`` checks over the run (at least 1 step)."""
    return max(1, int(cfg["steps"]) // int(cfg["val_checks"]))


def train(cfg: Mapping[str, Any], data: Mapping[str, np.ndarray], seed: int, device: Any,
          log: Callable[[str], None]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Tuned kernel ridge (two kernels) and the nets at every n; see the module docstring."""
    x_test = test_points(cfg)
    f_test = np.stack([besov.target(t, x_test) for t in cfg["targets"]])
    kern = _kernel_errors(cfg, data, x_test, f_test)
    log("kernel ridge done: " + ", ".join(
        f"{t} {min(kern['mse_gaussian'][i, -1], kern['mse_laplace'][i, -1]):.3g}"
        for i, t in enumerate(cfg["targets"])))
    nets = _net_errors(cfg, data, x_test, f_test, seed, device)
    log("nets done: " + ", ".join(f"{t} {nets['mse_dnn'][i, -1]:.3g}"
                                  for i, t in enumerate(cfg["targets"])))
    # The kernel reported is the one with the lower validation error, per (target, n).
    laplace_better = kern["val_laplace"] < kern["val_gaussian"]
    mse_kernel = np.where(laplace_better, kern["mse_laplace"], kern["mse_gaussian"])
    arrays = {"n": np.asarray(cfg["ns"], dtype=np.int64), "mse_kernel": mse_kernel,
              "kernel_laplace": laplace_better.astype(np.int64), **kern, **nets}
    return arrays, {}


# --------------------------------------------------------------------------------------------
# metrics


def crossing_n(n_max: float, ratio: float, minimax: float, linear: float) -> float:
    """The n at which the net's error would meet the kernel's if, from ``n_max`` on, each fell
    at its theoretical rate: ``ratio (n / n_max)^(minimax - linear) = 1`` with ``ratio`` the
    net's error over the kernel's at ``n_max`` (Donoho & Johnstone 1998, Thms 1-2: exponents
    ``-2s/(2s+1)`` and ``-2s'/(2s'+1)``). ``n_max`` itself when the net is already lower."""
    if ratio <= 1.0:
        return float(n_max)
    return float(n_max * ratio ** (1.0 / (linear - minimax)))


def held_out_fall(steps: np.ndarray, curve: np.ndarray, window: float = FLAT_WINDOW) -> float:
    """The held-out loss's relative fall over the last ``window`` of the steps,
    ``(L(t_0) - L(T)) / L(T)`` with ``t_0`` the first check at or after ``(1 - window) T``;
    negative when it rose (more steps would not help either)."""
    steps = np.asarray(steps, dtype=float)
    curve = np.asarray(curve, dtype=float)
    start = int(np.searchsorted(steps, (1.0 - window) * steps[-1]))
    return float((curve[start] - curve[-1]) / curve[-1])


def summarize(cfg: Mapping[str, Any],
              runs: Sequence[tuple[Mapping[str, np.ndarray], Mapping[str, Any]]]) -> dict[str, Any]:
    """Mean test MSE over seeds, slopes with standard errors, one claim per target, and the
    claim that the nets' training has converged."""
    targets = list(cfg["targets"])
    ns = np.asarray(runs[0][0]["n"], dtype=float)
    stack = {key: np.stack([np.asarray(a[key], dtype=float) for a, _ in runs])
             for key in ("mse_dnn", "mse_kernel", "mse_gaussian", "mse_laplace", "val_curve",
                         "best_step")}
    val_steps = np.asarray(runs[0][0]["val_steps"], dtype=float)
    series: dict[str, Any] = {"n": ns.tolist(), "val_steps": val_steps.tolist()}
    claims, rows = [], []
    for i, name in enumerate(targets):
        s_cls, p_cls = besov.CLASSES[name]
        minimax, linear = besov.minimax_exponent(s_cls), besov.linear_exponent(s_cls, p_cls)
        slopes = {}
        for est in ("dnn", "kernel", "gaussian", "laplace"):
            per_seed = stack[f"mse_{est}"][:, i, :]
            mean = per_seed.mean(axis=0)
            series[f"mse_{est}_{name}"] = mean.tolist()
            series[f"mse_{est}_{name}_sd"] = (per_seed.std(axis=0, ddof=1).tolist()
                                             if len(runs) > 1 else [None] * ns.size)
            slopes[est] = loglog_fit(ns, mean)
        (s_d, se_d), (s_k, se_k) = slopes["dnn"], slopes["kernel"]
        for est in ("dnn", "kernel"):
            series[f"slope_{est}_{name}"], series[f"slope_{est}_{name}_se"] = slopes[est]
        series[f"slope_minimax_{name}"] = minimax
        series[f"slope_linear_{name}"] = linear
        series[f"val_curve_{name}"] = stack["val_curve"][:, i].mean(axis=0).tolist()
        series[f"best_step_{name}"] = stack["best_step"][:, i].mean(axis=0).tolist()
        combined = float(np.hypot(se_d or 0.0, se_k or 0.0))
        gap = float(s_k - s_d)  # > 0: the net's error falls faster
        mse_d, mse_k = series[f"mse_dnn_{name}"][-1], series[f"mse_kernel_{name}"][-1]
        steeper, lower = gap > combined, mse_d < mse_k
        n_cross = crossing_n(float(ns[-1]), mse_d / mse_k, minimax, linear)
        series[f"n_cross_{name}"] = n_cross
        claims.append({
            "id": f"{CATALOG}.dnn_beats_kernel_{name}",
            "passed": bool(steeper and lower),
            "measured": gap,
            "expected": combined,
            "relation": ">",
            "context": {"slope_dnn": float(s_d), "slope_dnn_se": se_d,
                        "slope_kernel": float(s_k), "slope_kernel_se": se_k,
                        "n_max": int(ns[-1]), "mse_dnn": float(mse_d),
                        "mse_kernel": float(mse_k), "slope_minimax": float(minimax),
                        "slope_linear": float(linear), "class_p": float(p_cls),
                        "n_cross": n_cross},
            "detail": (f"{name}: slope net {s_d:.3f} +- {se_d or 0.0:.3f} vs kernel ridge "
                       f"{s_k:.3f} +- {se_k or 0.0:.3f} (difference {gap:.3f}, combined standard "
                       f"error {combined:.3f}: {'steeper' if steeper else 'not steeper'}); test "
                       f"MSE at n = {int(ns[-1])}: net {mse_d:.3g}, kernel {mse_k:.3g} "
                       f"({'lower' if lower else 'not lower'}); reference slopes minimax "
                       f"{minimax:.3f}, linear {linear:.3f} (class p = {p_cls:g} < 2); at "
                       f"those rates the errors meet at n = {n_cross:.3g}"),
        })
        rows.append([name, s_d, s_k, minimax, linear, mse_d, mse_k])
    # Convergence: per (target, n) the seed-mean held-out curve of the chosen nets.
    falls = np.array([[held_out_fall(val_steps, series[f"val_curve_{name}"][j])
                       for j in range(ns.size)] for name in targets])
    series["held_out_fall"] = falls.tolist()
    worst = np.unravel_index(int(np.argmax(falls)), falls.shape)
    tol = float(cfg["flat_tol"])
    steps = float(val_steps[-1])
    claims.append({
        "id": f"{CATALOG}.nets_converged",
        "passed": bool(falls.max() <= tol),
        "measured": float(falls.max()),
        "expected": tol,
        "relation": "<=",
        "context": {"window": FLAT_WINDOW, "steps": int(steps),
                    "worst_n": int(ns[worst[1]]),
                    "best_step_median": float(np.median(stack["best_step"]) / steps)},
        "detail": (f"largest relative fall of the nets' held-out loss over the last "
                   f"{FLAT_WINDOW:.0%} of {int(steps)} steps: {falls.max():.4f} "
                   f"({targets[worst[0]]}, n = {int(ns[worst[1]])}; tolerance {tol:g}); "
                   f"median kept step {np.median(stack['best_step']) / steps:.2f} of the run"),
    })
    columns = ["target", "slope_dnn", "slope_kernel", "slope_minimax", "slope_linear",
               "mse_dnn_largest", "mse_kernel_largest"]
    series["pred_dnn_largest"] = {name: np.asarray(runs[0][0]["pred_dnn_largest"][i])[::8].tolist()
                                  for i, name in enumerate(targets)}
    return {"series": series, "claims": claims, "table": {"columns": columns, "rows": rows}}


# --------------------------------------------------------------------------------------------
# figures


def figures(metrics: Mapping[str, Any], lang: str, outdir: str | Path) -> list[Path]:
    """``mse_vs_n`` (one panel per target, reference slopes) and ``fits`` (the targets and the
    net's fit at the largest n, seed 0)."""
    from companion.plots import style

    outdir = Path(outdir)
    cfg, s = metrics["config"], metrics["series"]
    targets = list(cfg["targets"])
    ns = np.asarray(s["n"], dtype=float)
    written = []
    fig, axes = style.new_figure(ncols=len(targets))
    axes = np.atleast_1d(axes).ravel()
    for ax, name in zip(axes, targets, strict=True):
        colour = style.colours()
        for est, marker, en, ja in (("dnn", "o", "deep ReLU net", "深層 ReLU ネット"),
                                    ("kernel", "s", "kernel ridge (tuned)",
                                     "カーネルリッジ回帰 (調整済み)")):
            mse = np.asarray(s[f"mse_{est}_{name}"], dtype=float)
            slope = s[f"slope_{est}_{name}"]
            ax.plot(ns, mse, marker=marker, color=next(colour), ms=4, lw=1,
                    label=f"{style.tr(lang, en, ja)} ({slope:.2f})")
        base = float(np.asarray(s[f"mse_kernel_{name}"], dtype=float)[0])
        for key, ls, en, ja in (("minimax", "--", "minimax rate", "ミニマックスレート"),
                                ("linear", ":", "linear-estimator rate", "線形推定量のレート")):
            rate = float(s[f"slope_{key}_{name}"])
            ax.plot(ns, base * (ns / ns[0]) ** rate, color="black", linestyle=ls, lw=1.0,
                    label=f"{style.tr(lang, en, ja)} ({rate:.2f})")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("$n$")
        ax.legend(loc="lower left", fontsize="x-small")
    axes[0].set_ylabel(style.tr(lang, "test MSE", "テスト誤差 (MSE)"))
    written.append(style.save(fig, outdir / "mse_vs_n.svg"))

    fig, axes = style.new_figure(ncols=len(targets))
    axes = np.atleast_1d(axes).ravel()
    x = test_points(cfg)[::8]
    fine = np.linspace(0.0, 1.0, 2000)
    for ax, name in zip(axes, targets, strict=True):
        ax.plot(fine, besov.target(name, fine), color="black", lw=1.0,
                label=style.tr(lang, "target", "真の関数"))
        ax.plot(x, s["pred_dnn_largest"][name], color=style.MEASURED_COLOURS[0], lw=0.9,
                label=style.tr(lang, f"net, n = {int(ns[-1])}", f"ネット (n = {int(ns[-1])})"))
        ax.set_title(name)
        ax.set_xlabel("$x$")
    axes[0].legend(loc="upper right", fontsize="x-small")
    written.append(style.save(fig, outdir / "fits.svg"))
    return written

"""A5: when f° depends on a few directions, a net with a learned linear first layer avoids the
curse of dimensionality; kernel ridge does not.

Claim (Suzuki & Nitanda 2021, NeurIPS, Thm 2 and Sec. 4): for ``f°(x) = g(W x)`` with ``W`` of
rank D, least-squares deep nets of the class ``g(P^T x + b)`` attain a rate set by D and the
smoothness of g, not by the input dimension d, while a kernel method with a rotation-invariant
kernel pays for all d directions. Measured at fixed n against d: (i) a net whose first layer is
a learned linear map to ``bottleneck`` units followed by an MLP
(:class:`companion.nn.projected.ProjectedEnsemble`), (ii) a plain MLP of similar size, (iii)
Gaussian kernel ridge regression with bandwidth and penalty chosen on held-out data. Verdicts:
the kernel/(i) error ratio grows with d (its log-log slope in d exceeds its standard error) and
(i)'s error grows by at most ``lowdim_growth_max`` from the smallest to the largest d. (ii) is
shown beside them: the architecture is part of the claim.

Stages:

- ``generate``: per d, Gaussian inputs ``N(0, I_d)``, a random ``W`` with orthonormal rows (D =
  ``rank``), labels ``g(W x) + noise``; ``g_1(z) = sin 2z``, ``g_2(z) = sin 2z_1 + sin 2z_2 +
  z_1 z_2``, scaled to unit variance. Training, validation and test sets per d; each d has its own
  random stream.
- ``train``: kernel ridge per d (:func:`companion.theory.kernel_ridge.fit_select`, bandwidths in
  units of ``sqrt(d)``, the typical distance of Gaussian points); both nets for every (d, step
  size) as two batched programs, inputs zero-padded to the largest d (inert, see the
  projected ensemble and the input scaling in :func:`_train_nets`); the step size picked per d on
  the validation set. The test error is the mean squared distance to f° on the test inputs.
- ``summarize``: means over seeds per d, the ratio and its slope with standard error, the claims.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from companion import memory
from companion.theory.kernel_ridge import fit_select
from companion.theory.powerlaw import loglog_fit

ID = "anisotropic_lowdim"
CATALOG = "A5"
PART = 1
SOURCES = [
    "theory/kernel_ridge.py", "theory/powerlaw.py", "nn/activations.py", "nn/backprop.py",
    "nn/ensemble.py", "nn/losses.py", "nn/optim.py", "nn/parameterisation.py", "nn/projected.py",
    "nn/train.py", "plots/style.py",
]
FIGURES = ("mse_vs_d",)
POOLED_ONLY: dict[str, str] = {}
ESTIMATORS = ("lowdim", "mlp", "kernel")

_SECTION = f"experiments.{ID}"
# Var sin(2z) for z ~ N(0, 1): (1 - e^{-8}) / 2; z_1 z_2 has variance 1 and is uncorrelated with
# the sines.
_VAR_SIN = 0.5 * (1.0 - np.exp(-8.0))


# --------------------------------------------------------------------------------------------
# configuration


def check(cfg: Mapping[str, Any]) -> None:
    """At least three increasing dimensions, each at least the rank; a usable split."""
    from companion.config import ConfigError

    dims = [int(d) for d in cfg["dims"]]
    if len(dims) < 3 or any(b <= a for a, b in zip(dims, dims[1:], strict=False)):
        raise ConfigError(f"{_SECTION}.dims: need at least 3 strictly increasing dimensions to "
                          f"fit a slope with a standard error, got {dims}")
    if dims[0] < int(cfg["rank"]):
        raise ConfigError(f"{_SECTION}.dims: the smallest d = {dims[0]} is below rank = "
                          f"{cfg['rank']} (W has rank D <= d)")
    n_tr, n_va = _split(int(cfg["n"]), float(cfg["val_frac"]))
    if n_tr < 2 or n_va < 1:
        raise ConfigError(f"{_SECTION}.val_frac: n = {cfg['n']} splits into {n_tr} training and "
                          f"{n_va} validation points; need at least 2 and 1")


def _split(n: int, val_frac: float) -> tuple[int, int]:
    n_val = int(round(val_frac * n))
    return n - n_val, n_val


def peak_memory_mb(cfg: Mapping[str, Any]) -> dict[str, tuple[float, str]]:
    """Estimated peak memory per job (:mod:`companion.memory`): kernel ridge's Gram matrix, its
    factor and the validation and test kernels (float64, n^2 each); the nets' padded data
    ``(E, n, d_max)`` twice and their activations and weights (float32)."""
    n, n_test = int(cfg["n"]), int(cfg["n_test"])
    d_max, width = max(int(d) for d in cfg["dims"]), int(cfg["width"])
    e = len(cfg["dims"]) * len(cfg["lrs"])
    terms = {"n": 8.0 * (3 * n * n + n * n_test),
             "dims": 4.0 * 2 * e * (n + n_test) * d_max,
             "width": 4.0 * 2 * e * int(cfg["depth"]) * (6 * width * width
                                                        + 4 * int(cfg["batch_size"]) * width)}
    return {"train": memory.dominant("train", terms)}


# --------------------------------------------------------------------------------------------
# data


def link(z: np.ndarray) -> np.ndarray:
    """g of the projected inputs ``z`` (m, D), unit variance under ``z ~ N(0, I_D)``."""
    if z.shape[1] == 1:
        return np.sin(2 * z[:, 0]) / np.sqrt(_VAR_SIN)
    value = np.sin(2 * z[:, 0]) + np.sin(2 * z[:, 1]) + z[:, 0] * z[:, 1]
    return value / np.sqrt(2 * _VAR_SIN + 1.0)


def generate(cfg: Mapping[str, Any], seed: int) -> dict[str, np.ndarray]:
    """Per d: W, training, validation and test inputs, noisy labels and the clean test values."""
    n, n_test, rank = int(cfg["n"]), int(cfg["n_test"]), int(cfg["rank"])
    sigma = float(cfg["sigma"])
    out: dict[str, np.ndarray] = {}
    for d in (int(v) for v in cfg["dims"]):
        rng = np.random.default_rng([seed, 0xA5, d])
        w = np.linalg.qr(rng.standard_normal((d, rank)))[0].T  # (rank, d), orthonormal rows
        x = rng.standard_normal((n, d))
        x_test = rng.standard_normal((n_test, d))
        out[f"W_{d}"] = w
        out[f"x_{d}"] = x
        out[f"y_{d}"] = link(x @ w.T) + sigma * rng.standard_normal(n)
        out[f"x_test_{d}"] = x_test
        out[f"f_test_{d}"] = link(x_test @ w.T)
    return out


# --------------------------------------------------------------------------------------------
# training


def _train_nets(cfg, data, seed: int, device: Any) -> dict[str, np.ndarray]:
    """Both nets at every (d, step size), one program each; per d the validation-best step
    size's test MSE."""
    import torch

    from companion.nn.ensemble import MLPEnsemble
    from companion.nn.projected import ProjectedEnsemble
    from companion.nn.train import fit

    dims, lrs = [int(v) for v in cfg["dims"]], [float(v) for v in cfg["lrs"]]
    n_tr, n_va = _split(int(cfg["n"]), float(cfg["val_frac"]))
    d_max = max(dims)
    grid = [(i, lr) for i in range(len(dims)) for lr in lrs]
    f32 = torch.float32

    def padded(x: np.ndarray, d: int, scale: float) -> np.ndarray:
        out = np.zeros((x.shape[0], d_max))
        out[:, :d] = scale * x
        return out

    def stack(key: str, scale: Callable[[int], float]) -> torch.Tensor:
        return torch.as_tensor(np.stack([padded(data[f"{key}_{dims[i]}"], dims[i],
                                                scale(dims[i])) for i, _ in grid]),
                               dtype=f32, device=device)

    y = torch.as_tensor(np.stack([data[f"y_{dims[i]}"][:n_tr] for i, _ in grid]), dtype=f32,
                        device=device)
    init = int(np.random.SeedSequence([seed, 0xA5, 9]).generate_state(1)[0])
    results = {}
    for name in ("lowdim", "mlp"):
        if name == "lowdim":
            model = ProjectedEnsemble([dims[i] for i, _ in grid], int(cfg["bottleneck"]),
                                      int(cfg["width"]), depth=int(cfg["depth"]), seed=init,
                                      device=device, dtype=f32)
            scale = lambda d: 1.0  # noqa: E731  (P is initialised with 1/sqrt(d) itself)
        else:
            # The standard first layer draws N(0, 1/d_max); inputs scaled by sqrt(d_max / d)
            # give the pre-activations of an N(0, 1/d) layer on the d real inputs.
            model = MLPEnsemble(d_max, [int(cfg["width"])] * len(grid),
                                depth=int(cfg["depth"]) + 1, bias=True,
                                parameterisation="standard", seed=init + 1, device=device,
                                dtype=f32)
            scale = lambda d: float(np.sqrt(d_max / d))  # noqa: E731
        x_all = stack("x", scale)
        x_test = stack("x_test", scale)
        gen = torch.Generator(device=device).manual_seed(init + 2)
        fit(model, x_all[:, :n_tr], y, steps=int(cfg["steps"]), lr=[lr for _, lr in grid],
            optimiser="adam", batch_size=int(cfg["batch_size"]), generator=gen, record_at=[],
            final_lr_fraction=float(cfg["final_lr_fraction"]))
        with torch.no_grad():
            pred_val = model(x_all[:, n_tr:]).cpu().numpy().astype(float)
            pred_test = model(x_test).cpu().numpy().astype(float)
        val = np.array([np.mean((pred_val[e] - data[f"y_{dims[i]}"][n_tr:]) ** 2)
                        for e, (i, _) in enumerate(grid)]).reshape(len(dims), len(lrs))
        test = np.array([np.mean((pred_test[e] - data[f"f_test_{dims[i]}"]) ** 2)
                         for e, (i, _) in enumerate(grid)]).reshape(len(dims), len(lrs))
        # A step size whose run went non-finite is no candidate; all of them is a result.
        pick = np.argmin(np.where(np.isfinite(val), val, np.inf), axis=1)
        results[f"mse_{name}"] = test[np.arange(len(dims)), pick]
        results[f"lr_index_{name}"] = pick
    del n_va
    return results


def train(cfg: Mapping[str, Any], data: Mapping[str, np.ndarray], seed: int, device: Any,
          log: Callable[[str], None]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Kernel ridge and both nets at every d; see the module docstring."""
    dims = [int(v) for v in cfg["dims"]]
    n_tr, _ = _split(int(cfg["n"]), float(cfg["val_frac"]))
    mse_kernel, bandwidth, lam = (np.zeros(len(dims)) for _ in range(3))
    for i, d in enumerate(dims):
        x, y = data[f"x_{d}"], data[f"y_{d}"]
        sel = fit_select(x[:n_tr], y[:n_tr], x[n_tr:], y[n_tr:], data[f"x_test_{d}"], "gaussian",
                         [float(b) * np.sqrt(d) for b in cfg["bandwidths"]], cfg["lams"])
        mse_kernel[i] = np.mean((sel.test_pred[0] - data[f"f_test_{d}"]) ** 2)
        bandwidth[i], lam[i] = sel.bandwidth[0], sel.lam[0]
    log("kernel ridge: " + ", ".join(f"d={d} {m:.3g}" for d, m in zip(dims, mse_kernel,
                                                                      strict=True)))
    nets = _train_nets(cfg, data, seed, device)
    log("nets: " + ", ".join(f"d={d} lowdim {a:.3g} mlp {b:.3g}" for d, a, b in
                             zip(dims, nets["mse_lowdim"], nets["mse_mlp"], strict=True)))
    arrays = {"d": np.asarray(dims, dtype=np.int64), "mse_kernel": mse_kernel,
              "bandwidth_kernel": bandwidth, "lam_kernel": lam, **nets}
    return arrays, {}


# --------------------------------------------------------------------------------------------
# metrics


def summarize(cfg: Mapping[str, Any],
              runs: Sequence[tuple[Mapping[str, np.ndarray], Mapping[str, Any]]]) -> dict[str, Any]:
    """Means over seeds per d, the kernel/(i) ratio's slope in d, and the two claims."""
    dims = np.asarray(runs[0][0]["d"], dtype=float)
    series: dict[str, Any] = {"d": dims.tolist()}
    for est in ESTIMATORS:
        per_seed = np.stack([np.asarray(a[f"mse_{est}"], dtype=float) for a, _ in runs])
        series[f"mse_{est}"] = per_seed.mean(axis=0).tolist()
        series[f"mse_{est}_sd"] = (per_seed.std(axis=0, ddof=1).tolist() if len(runs) > 1
                                   else [None] * dims.size)
    lowdim, kernel = np.asarray(series["mse_lowdim"]), np.asarray(series["mse_kernel"])
    mlp = np.asarray(series["mse_mlp"])
    ratio = kernel / lowdim
    series["ratio_kernel_lowdim"] = ratio.tolist()
    slope, se = loglog_fit(dims, ratio)
    series["ratio_slope"], series["ratio_slope_se"] = slope, se
    claim_ratio = {
        "id": f"{CATALOG}.kernel_ratio_grows",
        "passed": bool(slope > (se or 0.0)),
        "measured": float(slope),
        "expected": float(se or 0.0),
        "relation": ">",
        "detail": (f"log-log slope in d of MSE(kernel) / MSE(low-dim net) = {slope:.3f} +- "
                   f"{se or 0.0:.3f}; ratio {ratio[0]:.3g} at d = {int(dims[0])}, "
                   f"{ratio[-1]:.3g} at d = {int(dims[-1])}; plain MLP / low-dim net "
                   f"{mlp[0] / lowdim[0]:.3g} -> {mlp[-1] / lowdim[-1]:.3g}"),
    }
    growth = float(lowdim[-1] / lowdim[0])
    limit = float(cfg["lowdim_growth_max"])
    claim_flat = {
        "id": f"{CATALOG}.lowdim_error_flat",
        "passed": bool(growth <= limit),
        "measured": growth,
        "expected": limit,
        "relation": "<=",
        "detail": (f"MSE of the low-dim net {lowdim[0]:.3g} at d = {int(dims[0])} -> "
                   f"{lowdim[-1]:.3g} at d = {int(dims[-1])} (x{growth:.3g}); plain MLP "
                   f"{mlp[0]:.3g} -> {mlp[-1]:.3g} (x{mlp[-1] / mlp[0]:.3g}); kernel ridge "
                   f"{kernel[0]:.3g} -> {kernel[-1]:.3g} (x{kernel[-1] / kernel[0]:.3g})"),
    }
    columns = ["d", "mse_lowdim", "mse_mlp", "mse_kernel", "ratio_kernel_lowdim"]
    rows = [[int(dims[i])] + [float(series[c][i]) for c in columns[1:]]
            for i in range(dims.size)]
    return {"series": series, "claims": [claim_ratio, claim_flat],
            "table": {"columns": columns, "rows": rows}}


# --------------------------------------------------------------------------------------------
# figures


def figures(metrics: Mapping[str, Any], lang: str, outdir: str | Path) -> list[Path]:
    """``mse_vs_d``: test MSE of the three estimators against d (log-log)."""
    from companion.plots import style

    outdir = Path(outdir)
    s = metrics["series"]
    dims = np.asarray(s["d"], dtype=float)
    fig, ax = style.new_figure()
    colour = style.colours()
    labels = {"lowdim": ("net with a learned linear first layer", "線形の第1層を学習するネット"),
              "mlp": ("plain MLP", "通常の多層パーセプトロン"),
              "kernel": ("Gaussian kernel ridge (tuned)", "ガウスカーネルリッジ回帰 (調整済み)")}
    for est, marker in zip(ESTIMATORS, ("o", "^", "s"), strict=True):
        mean = np.asarray(s[f"mse_{est}"], dtype=float)
        sd = np.asarray([0.0 if v is None else v for v in s[f"mse_{est}_sd"]], dtype=float)
        ax.errorbar(dims, mean, yerr=sd, fmt=marker + "-", color=next(colour), ms=4, lw=1,
                    capsize=2, label=style.tr(lang, *labels[est]))
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel(style.tr(lang, "input dimension $d$", "入力次元 $d$"))
    ax.set_ylabel(style.tr(lang, "test MSE", "テスト誤差 (MSE)"))
    ax.legend(loc="upper left")
    return [style.save(fig, outdir / "mse_vs_d.svg")]

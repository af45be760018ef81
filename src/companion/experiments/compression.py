"""B4: trained networks are compressible: spectra, degrees of freedom and spectral pruning.

Claim (Suzuki et al. 2020, "Spectral pruning", IJCAI; the lecture's compression-based bounds and
its table "layer, original size, compressible size"): in a trained over-parameterised network the
hidden layers' covariance spectra decay fast, their degrees of freedom
``N(lambda) = tr[Sigma (Sigma + lambda I)^{-1}]`` are far below the width, and pruning each
layer to ``ceil(N(lambda))`` units chosen by spectral pruning
(:func:`companion.theory.compression.spectral_prune`) keeps the accuracy.

Stages:

- ``generate``: the classification task of B3 (:func:`companion.sampling.gapped_sign_task`):
  ``x ~ N(0, I_d)``, ``y = prod_k sign(<w*_k, x>)``, a gap around the teacher hyperplanes;
  training and test sets.
- ``train``: ``reps`` MLPs of ``depth`` hidden ReLU layers of width ``width`` (one ensemble,
  :class:`companion.nn.ensemble.MLPEnsemble`, ``parameterisation``), Adam on the logistic loss
  for ``steps`` steps. Then per net, layer by layer from the input: the covariance of the layer's
  outputs on the training set in the already pruned net, its eigenvalues, the singular values
  of the layer's weight matrix, the penalty ``lambda = r tr(Sigma)`` at which the
  compression-based bound balances the layer's truncation bias against the estimation term of
  its kept weights (:func:`companion.theory.compression.balanced_lambda`, the same rule in every
  layer, times ``lam_scale``), ``N(lambda)``, the subset and reconstruction matrix of spectral
  pruning, folded into the next layer's weights. Test accuracy before and after. The same
  pruning with one ``r`` from ``lam_grid`` in every layer traces the size-accuracy curve.
- ``summarize``: per layer the original and compressible sizes, the balanced penalties and the
  spectra (averaged over nets), accuracies, the curve and the bound's terms, and the claims
  (decided at the balance).
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from companion import memory, relu_net
from companion.sampling import gapped_sign_task
from companion.theory import compression as theory

ID = "compression"
CATALOG = "B4"
PART = 2
SOURCES = [
    "relu_net.py", "sampling.py", "theory/compression.py", "nn/activations.py", "nn/backprop.py",
    "nn/ensemble.py", "nn/losses.py", "nn/optim.py", "nn/parameterisation.py", "nn/train.py",
    "plots/style.py",
]
FIGURES = ("curve", "spectra", "sizes")

_SECTION = f"experiments.{ID}"


def check(cfg: Mapping[str, Any]) -> None:
    """Teacher directions that fit in R^d; mean-field scaling only for one hidden layer; a
    strictly increasing penalty grid (the curve is drawn in its order)."""
    from companion.config import ConfigError

    if int(cfg["teacher_directions"]) > int(cfg["d"]):
        raise ConfigError(f"{_SECTION}.teacher_directions: at most d = {cfg['d']} orthonormal "
                          f"directions exist; got {cfg['teacher_directions']}")
    if cfg["parameterisation"] == "mean_field" and int(cfg["depth"]) != 1:
        raise ConfigError(f"{_SECTION}.parameterisation: mean_field is defined for depth 1")
    grid = [float(v) for v in cfg["lam_grid"]]
    if any(b <= a for a, b in zip(grid, grid[1:], strict=False)):
        raise ConfigError(f"{_SECTION}.lam_grid: must be strictly increasing, got {grid}")


def peak_memory_mb(cfg: Mapping[str, Any]) -> dict[str, tuple[float, str]]:
    """float32 training: activations and their gradients, ``reps * n * width`` per layer a few
    times over; pruning in float64: activations ``n * width`` and a few ``width^2`` matrices."""
    reps, n, width, depth = (int(cfg[k]) for k in ("reps", "n", "width", "depth"))
    terms = {"n": 4.0 * 4 * reps * n * width * depth + 8.0 * 3 * (n + int(cfg["n_test"])) * width,
             "width": 4.0 * 4 * reps * width * width * depth + 8.0 * 6 * width * width}
    return {"train": memory.dominant("train", terms)}


# --------------------------------------------------------------------------------------------
# data


def generate(cfg: Mapping[str, Any], seed: int) -> dict[str, np.ndarray]:
    """Orthonormal teacher directions, a training and a test set."""
    d, k, gap = int(cfg["d"]), int(cfg["teacher_directions"]), float(cfg["gap"])
    rng = np.random.default_rng([seed, 0xB4])
    teacher = np.linalg.qr(rng.standard_normal((d, k)))[0].T
    x, y = gapped_sign_task(rng, int(cfg["n"]), teacher, gap)
    x_test, y_test = gapped_sign_task(rng, int(cfg["n_test"]), teacher, gap)
    return {"x": x, "y": y, "x_test": x_test, "y_test": y_test}


# --------------------------------------------------------------------------------------------
# pruning


def prune_network(layers: Sequence[np.ndarray], x: np.ndarray, lam_rel: float | None = None,
                  sizes: Sequence[int] | None = None, lam_scale: float = 1.0,
                  spectra: bool = True) -> dict[str, Any]:
    """Spectral pruning of every hidden layer in turn (module doc). Each layer's penalty is
    ``lambda = r tr(Sigma)`` with ``r = lam_scale * theory.balanced_lambda(eigenvalues, fan, n)``
    (the bound's balance; ``fan`` the kept size of the layer below, ``d`` for the first, plus one
    for the last hidden layer; ``n`` the rows of ``x``), or ``r = lam_rel`` in every layer when
    ``lam_rel`` is given. ``sizes`` fixes the kept counts; by default each is
    ``ceil(N(lambda))``. Returns the pruned layers and per layer the covariance eigenvalues and
    weight singular values (only with ``spectra``), ``r``, ``N(lambda)`` and the kept size."""
    pruned = [np.asarray(w, dtype=float).copy() for w in layers]
    h = np.asarray(x, dtype=float)
    n, hidden = h.shape[0], len(pruned) - 1
    fan_in = h.shape[1]
    out: dict[str, Any] = {"cov_eigs": [], "weight_svals": [], "dof": [], "kept": [],
                           "lam_rel": []}
    for ell in range(hidden):
        if spectra:
            out["weight_svals"].append(np.linalg.svd(np.asarray(layers[ell], float),
                                                     compute_uv=False))
        h = np.maximum(h @ pruned[ell].T, 0.0)
        sigma = theory.covariance(h)
        eigs = np.sort(np.linalg.eigvalsh(sigma))[::-1]
        if lam_rel is None:
            fan = fan_in + (1 if ell == hidden - 1 else 0)
            r = lam_scale * theory.balanced_lambda(eigs, fan, n)
        else:
            r = float(lam_rel)
        lam = r * float(np.trace(sigma))
        dof = theory.degrees_of_freedom(eigs, lam)
        size = theory.compressed_size(eigs, lam) if sizes is None else int(sizes[ell])
        size = min(size, sigma.shape[0])
        subset, recon = theory.spectral_prune(sigma, size, lam)
        pruned[ell] = pruned[ell][subset]
        pruned[ell + 1] = pruned[ell + 1] @ recon
        h = h[:, subset]
        fan_in = size
        if spectra:
            out["cov_eigs"].append(eigs)
        out["dof"].append(dof)
        out["kept"].append(size)
        out["lam_rel"].append(r)
    out["layers"] = pruned
    return out


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """numpy's OpenBLAS on one thread for the duration, restored after. Pruning makes hundreds of
    small BLAS calls (``width x width`` solves, ``n x width`` products), and on a loaded two-core
    machine each of them waited for a descheduled second thread (seen: a 128-unit solve taking
    40 ms instead of 1 ms). A no-op where numpy's BLAS has no such entry point."""
    lib, names = None, ("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_")
    libs = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    for path in sorted(libs.glob("libscipy_openblas*.so*")):
        with contextlib.suppress(OSError):
            candidate = ctypes.CDLL(str(path))  # the copy numpy already loaded
            if all(hasattr(candidate, name) for name in names):
                lib = candidate
                break
    if lib is None:
        yield
        return
    before = int(getattr(lib, names[1])())
    getattr(lib, names[0])(1)
    try:
        yield
    finally:
        getattr(lib, names[0])(before)


# --------------------------------------------------------------------------------------------
# training


def train(cfg: Mapping[str, Any], data: Mapping[str, np.ndarray], seed: int, device: Any,
          log: Callable[[str], None]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Train the nets, then prune each; see the module doc."""
    import torch

    from companion.nn.ensemble import MLPEnsemble
    from companion.nn.train import fit

    reps, width, depth = int(cfg["reps"]), int(cfg["width"]), int(cfg["depth"])
    x, y = data["x"], data["y"]
    gen = torch.Generator().manual_seed(int(seed) * 7919 + 0xB4)
    model = MLPEnsemble(x.shape[1], [width] * reps, depth=depth,
                        parameterisation=cfg["parameterisation"], seed=gen, device=device)
    xt = torch.as_tensor(x, dtype=torch.float32, device=device)
    yt = torch.as_tensor(y, dtype=torch.float32, device=device)
    hist = fit(model, xt, yt, steps=int(cfg["steps"]), lr=float(cfg["lr"]), optimiser="adam",
               loss="logistic", record_at=[int(cfg["steps"])])
    arrays: dict[str, list] = {k: [] for k in ("acc_before", "acc_after", "train_acc_before",
                                               "train_acc_after", "dof", "kept", "lam_rel",
                                               "cov_eigs", "weight_svals", "grid_kept",
                                               "grid_acc_after")}
    grid = [float(v) for v in cfg["lam_grid"]]
    for e in range(reps):
        layers = [w.double().cpu().numpy() for w, _ in model.effective_layers(e)]
        with _one_blas_thread():
            _prune_and_sweep(cfg, layers, data, grid, arrays)
        log(f"net {e}: train loss {float(hist.loss[-1, e]):.3g}, penalty / tr(Sigma) "
            f"{', '.join(f'{r:.2g}' for r in arrays['lam_rel'][-1])}, kept "
            f"{arrays['kept'][-1]} of {width}, test accuracy {arrays['acc_before'][-1]:.4f} -> "
            f"{arrays['acc_after'][-1]:.4f}")
    out = {k: np.asarray(v, dtype=float) for k, v in arrays.items()}
    out["train_loss"] = np.asarray(hist.loss[-1], dtype=float)
    return out, {}


def _prune_and_sweep(cfg: Mapping[str, Any], layers: list[np.ndarray],
                     data: Mapping[str, np.ndarray], grid: Sequence[float],
                     arrays: dict[str, list]) -> None:
    """One net: pruned at the bound's balance, then at every grid penalty; appends to
    ``arrays``."""
    width = int(cfg["width"])
    x, y, x_test, y_test = data["x"], data["y"], data["x_test"], data["y_test"]

    def accuracy(net: Sequence[np.ndarray], xs: np.ndarray, ys: np.ndarray) -> float:
        return float(np.mean(np.sign(relu_net.outputs(net, xs)) == ys))

    result = prune_network(layers, x, lam_scale=float(cfg["lam_scale"]))
    for tag, net in (("before", layers), ("after", result["layers"])):
        arrays[f"acc_{tag}"].append(accuracy(net, x_test, y_test))
        arrays[f"train_acc_{tag}"].append(accuracy(net, x, y))
    for key in ("dof", "kept", "lam_rel"):
        arrays[key].append(result[key])
    arrays["cov_eigs"].append(np.stack(result["cov_eigs"]))
    arrays["weight_svals"].append(np.stack([np.pad(s, (0, width - s.size)) for s in
                                            result["weight_svals"]]))
    # The size-accuracy curve: one relative penalty for every layer, over the grid.
    swept = [prune_network(layers, x, lam_rel=r, spectra=False) for r in grid]
    arrays["grid_kept"].append([g["kept"] for g in swept])
    arrays["grid_acc_after"].append([accuracy(g["layers"], x_test, y_test) for g in swept])


# --------------------------------------------------------------------------------------------
# metrics


def summarize(cfg: Mapping[str, Any],
              runs: Sequence[tuple[Mapping[str, np.ndarray], Mapping[str, Any]]]) -> dict[str, Any]:
    """Pool the nets of all seeds: per-layer sizes, spectra, accuracies, the size-accuracy curve
    over the penalty grid, the bound's terms and the claims (decided at the bound's balance)."""
    frac, max_drop = float(cfg["max_fraction"]), float(cfg["max_drop"])
    width, d, n = int(cfg["width"]), int(cfg["d"]), int(cfg["n"])

    def pool(key: str) -> np.ndarray:
        return np.concatenate([np.asarray(a[key], dtype=float) for a, _ in runs], axis=0)

    kept, dof, lam = pool("kept"), pool("dof"), pool("lam_rel")  # (nets, layers)
    before, after = pool("acc_before"), pool("acc_after")
    nets, depth = kept.shape
    eigs = pool("cov_eigs")  # (nets, layers, width)
    svals = pool("weight_svals")
    grid = np.asarray(cfg["lam_grid"], dtype=float)
    grid_kept = pool("grid_kept")  # (nets, grid, layers)
    grid_drop = before[:, None] - pool("grid_acc_after")  # (nets, grid)
    rule_terms = np.array([theory.bound_terms(lam[i], kept[i], d, n) for i in range(nets)])
    grid_terms = np.array([[theory.bound_terms(np.full(depth, r), grid_kept[i, g], d, n)
                            for g, r in enumerate(grid)] for i in range(nets)])
    series: dict[str, Any] = {
        "layer": np.arange(1, depth + 1),
        "original": np.full(depth, width),
        "compressible": kept.max(axis=0),
        "compressible_mean": kept.mean(axis=0),
        "dof": dof.mean(axis=0),
        "lam_rule": lam.mean(axis=0),
        "acc_before": float(before.mean()), "acc_after": float(after.mean()),
        "train_acc_before": float(pool("train_acc_before").mean()),
        "train_acc_after": float(pool("train_acc_after").mean()),
        "train_loss": float(pool("train_loss").mean()),
        "cov_spectrum": (eigs / eigs[:, :, :1]).mean(axis=0),
        "weight_spectrum": (svals / svals[:, :, :1]).mean(axis=0),
        "lam_grid": grid,
        # Per grid point the claims' own statistics: the worst layer of the worst net.
        "grid_fraction": grid_kept.max(axis=(0, 2)) / width,
        "grid_drop": grid_drop.max(axis=0),
        "grid_drop_mean": grid_drop.mean(axis=0),
        "grid_bias": grid_terms[:, :, 0].mean(axis=0),
        "grid_estimation": grid_terms[:, :, 1].mean(axis=0),
        "rule_bias": float(rule_terms[:, 0].mean()),
        "rule_estimation": float(rule_terms[:, 1].mean()),
    }
    worst_frac = float(kept.max() / width)
    # The regime the claims assume: far more weights than training points.
    weights = d * width + (depth - 1) * width * width + width
    layer_worst = int(np.argmax(kept.max(axis=0)))
    lam_text = ", ".join(f"{v:.3g}" for v in series["lam_rule"])
    claim_size = {
        "id": f"{CATALOG}.compressible_size_small",
        "passed": bool(worst_frac <= frac),
        "measured": worst_frac,
        "expected": frac,
        "relation": "<=",
        "context": {"layer_worst": layer_worst + 1,
                    "kept_worst": int(kept.max(axis=0)[layer_worst]), "width": width,
                    "layers": int(depth), "nets": int(nets),
                    "weights_per_point": weights / n,
                    "dof_per_layer": [float(v) for v in series["dof"]],
                    "lam_per_layer": [float(v) for v in series["lam_rule"]],
                    "lam_scale": float(cfg["lam_scale"])},
        "detail": (f"largest compressible size / width over {depth} layers and {nets} nets = "
                   f"{worst_frac:.3f} (layer {layer_worst + 1}: "
                   f"{int(kept.max(axis=0)[layer_worst])} of {width}); N(lambda) per layer (mean) "
                   f"{', '.join(f'{v:.1f}' for v in series['dof'])}; lambda / tr(Sigma) per "
                   f"layer (mean) {lam_text}, {float(cfg['lam_scale']):g} x the bound's balance"),
    }
    drops = before - after
    worst = int(np.argmax(drops))
    claim_acc = {
        "id": f"{CATALOG}.accuracy_kept",
        "passed": bool(drops[worst] <= max_drop),
        "measured": float(drops[worst]),
        "expected": max_drop,
        "relation": "<=",
        "context": {"acc_before_worst": float(before[worst]),
                    "acc_after_worst": float(after[worst]),
                    "acc_before_mean": float(before.mean()), "acc_after_mean": float(after.mean()),
                    "train_acc_before_min": float(pool("train_acc_before").min()),
                    "nets": int(nets), "n_test": int(cfg["n_test"]),
                    "bound_bias": series["rule_bias"],
                    "bound_estimation": series["rule_estimation"]},
        "detail": (f"largest fall in test accuracy over {nets} nets = {drops[worst]:.4f} "
                   f"({before[worst]:.4f} -> {after[worst]:.4f}); mean {before.mean():.4f} -> "
                   f"{after.mean():.4f} on {int(cfg['n_test'])} test points; bound terms at the "
                   f"balance (mean): bias {series['rule_bias']:.3f}, estimation "
                   f"{series['rule_estimation']:.3f}"),
    }
    columns = ["layer", "original", "compressible", "dof", "lam"]
    rows = [[int(series["layer"][i]), width, int(series["compressible"][i]),
             float(series["dof"][i]), float(series["lam_rule"][i])] for i in range(depth)]
    return {
        "series": {k: np.asarray(v).tolist() for k, v in series.items()},
        "claims": [claim_size, claim_acc],
        "table": {"columns": columns, "rows": rows},
    }


# --------------------------------------------------------------------------------------------
# figures


def figures(metrics: Mapping[str, Any], lang: str, outdir: str | Path) -> list[Path]:
    """``curve``: the claims' two statistics over the penalty grid (the size-accuracy curve) with
    the verdict's point at the bound's balance, and the bound's two terms over the grid;
    ``spectra``: covariance and weight spectra per layer; ``sizes``: original, N(lambda) and kept
    sizes per layer."""
    from companion.plots import style

    outdir = Path(outdir)
    s = metrics["series"]
    written = [_curve_figure(metrics, lang, outdir / "curve.svg")]
    cov, wsv = np.asarray(s["cov_spectrum"], float), np.asarray(s["weight_spectrum"], float)
    fig, axes = style.new_figure(ncols=2)
    left, right = axes.ravel()
    colour = style.colours()
    for ell in range(cov.shape[0]):
        c = next(colour)
        label = style.tr(lang, f"layer {ell + 1}", f"第 {ell + 1} 層")
        k = np.arange(1, cov.shape[1] + 1)
        left.plot(k, np.maximum(cov[ell], 1e-12), color=c, label=label)
        right.plot(k, np.maximum(wsv[ell], 1e-12), color=c, label=label)
    for ax, title in ((left, style.tr(lang, "covariance eigenvalues", "共分散行列の固有値")),
                      (right, style.tr(lang, "weight singular values", "重み行列の特異値"))):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(style.tr(lang, "index", "順位"))
        ax.set_title(title)
    left.set_ylabel(style.tr(lang, "relative to the largest", "最大値との比"))
    left.legend()
    written.append(style.save(fig, outdir / "spectra.svg"))

    fig, ax = style.new_figure()
    layer = np.asarray(s["layer"], dtype=float)
    ax.bar(layer - 0.25, s["original"], width=0.25, color="0.7",
           label=style.tr(lang, "original size", "元のサイズ"))
    ax.bar(layer, s["dof"], width=0.25, color=style.MEASURED_COLOURS[0],
           label=style.tr(lang, r"$N(\lambda)$ (mean)", r"$N(\lambda)$ (平均)"))
    ax.bar(layer + 0.25, s["compressible"], width=0.25, color=style.MEASURED_COLOURS[1],
           label=style.tr(lang, "compressible size (largest)", "圧縮後のサイズ (最大)"))
    ax.set_xticks(layer)
    ax.set_xlabel(style.tr(lang, "layer", "層"))
    ax.set_ylabel(style.tr(lang, "units", "ユニット数"))
    ax.set_yscale("log")
    ax.legend()
    written.append(style.save(fig, outdir / "sizes.svg"))
    return written


def _curve_figure(metrics: Mapping[str, Any], lang: str, path: Path) -> Path:
    """Left: largest size / width against the largest accuracy drop, one point per grid penalty
    (the same in every layer), the claims' limits as lines and the verdict's point at the
    bound's balance. Right: the bound's bias and estimation terms over the grid (mean over nets),
    the balance's per-layer penalties as ticks."""
    from companion.plots import style

    s = metrics["series"]
    claims = {c["id"]: c for c in metrics["claims"]}
    size_claim, acc_claim = (claims[f"{CATALOG}.compressible_size_small"],
                             claims[f"{CATALOG}.accuracy_kept"])
    grid = np.asarray(s["lam_grid"], float)
    frac, drop = np.asarray(s["grid_fraction"], float), 100 * np.asarray(s["grid_drop"], float)
    fig, axes = style.new_figure(ncols=2)
    left, right = axes.ravel()
    c0, c1 = style.MEASURED_COLOURS[0], style.MEASURED_COLOURS[1]
    left.plot(frac, drop, "o-", color=c0,
              label=style.tr(lang, r"one $\lambda / \mathrm{tr}(\Sigma)$ for all layers",
                             r"全層で共通の $\lambda / \mathrm{tr}(\Sigma)$"))
    for r, x_, y_ in list(zip(grid, frac, drop, strict=True))[::2]:  # every other: legible
        left.annotate(f"{r:.0e}", (x_, y_), textcoords="offset points", xytext=(4, 4),
                      fontsize="x-small", color=c0)
    left.plot([size_claim["measured"]], [100 * acc_claim["measured"]], "*", color=c1,
              markersize=14, zorder=6,
              label=style.tr(lang, "balance of the bound (verdict)", "バウンドの釣り合い (判定)"))
    left.axvline(size_claim["expected"], **style.THEORY_STYLE)
    left.axhline(100 * acc_claim["expected"], **style.THEORY_STYLE,
                 label=style.tr(lang, "limits of the claims", "主張の上限"))
    left.set_xlabel(style.tr(lang, "compressible size / width (largest)",
                             "圧縮後のサイズと横幅の比 (最大)"))
    left.set_ylabel(style.tr(lang, "fall in test accuracy (points, largest)",
                             "テスト精度の低下 (ポイント、最大)"))
    left.legend()
    bias, est = np.asarray(s["grid_bias"], float), np.asarray(s["grid_estimation"], float)
    right.plot(grid, bias, "o-", color=c0, label=style.tr(lang, "bias", "バイアス項"))
    right.plot(grid, est, "s-", color=c1, label=style.tr(lang, "estimation", "推定誤差項"))
    right.plot(grid, bias + est, "^-", color=style.MEASURED_COLOURS[2],
               label=style.tr(lang, "sum", "和"))
    for r in s["lam_rule"]:
        right.axvline(float(r), color="0.5", linestyle=":", linewidth=1.0)
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel(r"$\lambda / \mathrm{tr}(\Sigma)$")
    right.set_title(style.tr(lang, "bound terms (dotted: balances)",
                             "バウンドの各項 (点線: 層ごとの釣り合い)"))
    right.legend()
    return style.save(fig, path)

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
  of the layer's weight matrix, ``N(lambda)`` with ``lambda = lam_rel tr(Sigma)``, the subset
  and reconstruction matrix of spectral pruning, folded into the next layer's weights. Test
  accuracy before and after.
- ``summarize``: per layer the original and compressible sizes and the spectra (averaged over
  nets), accuracies, and the claims.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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
FIGURES = ("spectra", "sizes")

_SECTION = f"experiments.{ID}"


def check(cfg: Mapping[str, Any]) -> None:
    """Teacher directions that fit in R^d; mean-field scaling only for one hidden layer."""
    from companion.config import ConfigError

    if int(cfg["teacher_directions"]) > int(cfg["d"]):
        raise ConfigError(f"{_SECTION}.teacher_directions: at most d = {cfg['d']} orthonormal "
                          f"directions exist; got {cfg['teacher_directions']}")
    if cfg["parameterisation"] == "mean_field" and int(cfg["depth"]) != 1:
        raise ConfigError(f"{_SECTION}.parameterisation: mean_field is defined for depth 1")


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


def prune_network(layers: Sequence[np.ndarray], x: np.ndarray, lam_rel: float,
                  sizes: Sequence[int] | None = None) -> dict[str, Any]:
    """Spectral pruning of every hidden layer in turn (module doc). ``sizes`` fixes the kept
    counts; by default each is ``ceil(N(lambda))`` with ``lambda = lam_rel tr(Sigma)``. Returns
    the pruned layers and per layer the covariance eigenvalues, weight singular values,
    ``N(lambda)`` and the kept size."""
    pruned = [np.asarray(w, dtype=float).copy() for w in layers]
    h = np.asarray(x, dtype=float)
    out: dict[str, Any] = {"cov_eigs": [], "weight_svals": [], "dof": [], "kept": []}
    for ell in range(len(pruned) - 1):
        out["weight_svals"].append(np.linalg.svd(np.asarray(layers[ell], float), compute_uv=False))
        h = np.maximum(h @ pruned[ell].T, 0.0)
        sigma = theory.covariance(h)
        eigs = np.sort(np.linalg.eigvalsh(sigma))[::-1]
        lam = lam_rel * float(np.trace(sigma))
        dof = theory.degrees_of_freedom(eigs, lam)
        size = theory.compressed_size(eigs, lam) if sizes is None else int(sizes[ell])
        size = min(size, sigma.shape[0])
        subset, recon = theory.spectral_prune(sigma, size, lam)
        pruned[ell] = pruned[ell][subset]
        pruned[ell + 1] = pruned[ell + 1] @ recon
        h = h[:, subset]
        out["cov_eigs"].append(eigs)
        out["dof"].append(dof)
        out["kept"].append(size)
    out["layers"] = pruned
    return out


# --------------------------------------------------------------------------------------------
# training


def train(cfg: Mapping[str, Any], data: Mapping[str, np.ndarray], seed: int, device: Any,
          log: Callable[[str], None]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Train the nets, then prune each; see the module doc."""
    import torch

    from companion.nn.ensemble import MLPEnsemble
    from companion.nn.train import fit

    reps, width, depth = int(cfg["reps"]), int(cfg["width"]), int(cfg["depth"])
    x, y, x_test, y_test = data["x"], data["y"], data["x_test"], data["y_test"]
    gen = torch.Generator().manual_seed(int(seed) * 7919 + 0xB4)
    model = MLPEnsemble(x.shape[1], [width] * reps, depth=depth,
                        parameterisation=cfg["parameterisation"], seed=gen, device=device)
    xt = torch.as_tensor(x, dtype=torch.float32, device=device)
    yt = torch.as_tensor(y, dtype=torch.float32, device=device)
    hist = fit(model, xt, yt, steps=int(cfg["steps"]), lr=float(cfg["lr"]), optimiser="adam",
               loss="logistic", record_at=[int(cfg["steps"])])
    arrays: dict[str, list] = {k: [] for k in ("acc_before", "acc_after", "train_acc_before",
                                               "train_acc_after", "dof", "kept", "cov_eigs",
                                               "weight_svals")}
    for e in range(reps):
        layers = [w.double().cpu().numpy() for w, _ in model.effective_layers(e)]
        result = prune_network(layers, x, float(cfg["lam_rel"]))
        for tag, net in (("before", layers), ("after", result["layers"])):
            for key, (xs, ys) in ((f"acc_{tag}", (x_test, y_test)),
                                  (f"train_acc_{tag}", (x, y))):
                arrays[key].append(float(np.mean(np.sign(relu_net.outputs(net, xs)) == ys)))
        arrays["dof"].append(result["dof"])
        arrays["kept"].append(result["kept"])
        arrays["cov_eigs"].append(np.stack(result["cov_eigs"]))
        arrays["weight_svals"].append(np.stack([np.pad(s, (0, width - s.size)) for s in
                                                result["weight_svals"]]))
        log(f"net {e}: train loss {float(hist.loss[-1, e]):.3g}, kept {result['kept']} of "
            f"{width}, test accuracy {arrays['acc_before'][-1]:.4f} -> "
            f"{arrays['acc_after'][-1]:.4f}")
    out = {k: np.asarray(v, dtype=float) for k, v in arrays.items()}
    out["train_loss"] = np.asarray(hist.loss[-1], dtype=float)
    return out, {}


# --------------------------------------------------------------------------------------------
# metrics


def summarize(cfg: Mapping[str, Any],
              runs: Sequence[tuple[Mapping[str, np.ndarray], Mapping[str, Any]]]) -> dict[str, Any]:
    """Pool the nets of all seeds: per-layer sizes, spectra, accuracies and the claims."""
    frac, max_drop = float(cfg["max_fraction"]), float(cfg["max_drop"])
    width = int(cfg["width"])

    def pool(key: str) -> np.ndarray:
        return np.concatenate([np.asarray(a[key], dtype=float) for a, _ in runs], axis=0)

    kept, dof = pool("kept"), pool("dof")  # (nets, layers)
    before, after = pool("acc_before"), pool("acc_after")
    nets, depth = kept.shape
    eigs = pool("cov_eigs")  # (nets, layers, width)
    svals = pool("weight_svals")
    series: dict[str, Any] = {
        "layer": np.arange(1, depth + 1),
        "original": np.full(depth, width),
        "compressible": kept.max(axis=0),
        "compressible_mean": kept.mean(axis=0),
        "dof": dof.mean(axis=0),
        "acc_before": float(before.mean()), "acc_after": float(after.mean()),
        "train_loss": float(pool("train_loss").mean()),
        "cov_spectrum": (eigs / eigs[:, :, :1]).mean(axis=0),
        "weight_spectrum": (svals / svals[:, :, :1]).mean(axis=0),
    }
    worst_frac = float(kept.max() / width)
    layer_worst = int(np.argmax(kept.max(axis=0)))
    claim_size = {
        "id": f"{CATALOG}.compressible_size_small",
        "passed": bool(worst_frac <= frac),
        "measured": worst_frac,
        "expected": frac,
        "relation": "<=",
        "detail": (f"largest compressible size / width over {depth} layers and {nets} nets = "
                   f"{worst_frac:.3f} (layer {layer_worst + 1}: "
                   f"{int(kept.max(axis=0)[layer_worst])} of {width}); N(lambda) per layer (mean) "
                   f"{', '.join(f'{v:.1f}' for v in series['dof'])}; lambda = "
                   f"{float(cfg['lam_rel']):g} tr(Sigma)"),
    }
    drops = before - after
    worst = int(np.argmax(drops))
    claim_acc = {
        "id": f"{CATALOG}.accuracy_kept",
        "passed": bool(drops[worst] <= max_drop),
        "measured": float(drops[worst]),
        "expected": max_drop,
        "relation": "<=",
        "detail": (f"largest fall in test accuracy over {nets} nets = {drops[worst]:.4f} "
                   f"({before[worst]:.4f} -> {after[worst]:.4f}); mean {before.mean():.4f} -> "
                   f"{after.mean():.4f} on {int(cfg['n_test'])} test points"),
    }
    columns = ["layer", "original", "compressible", "dof"]
    rows = [[int(series["layer"][i]), width, int(series["compressible"][i]),
             float(series["dof"][i])] for i in range(depth)]
    return {
        "series": {k: np.asarray(v).tolist() for k, v in series.items()},
        "claims": [claim_size, claim_acc],
        "table": {"columns": columns, "rows": rows},
    }


# --------------------------------------------------------------------------------------------
# figures


def figures(metrics: Mapping[str, Any], lang: str, outdir: str | Path) -> list[Path]:
    """``spectra``: covariance and weight spectra per layer; ``sizes``: original, N(lambda) and
    kept sizes per layer."""
    from companion.plots import style

    outdir = Path(outdir)
    s = metrics["series"]
    cov, wsv = np.asarray(s["cov_spectrum"], float), np.asarray(s["weight_spectrum"], float)
    written = []
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

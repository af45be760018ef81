"""A3: depth and the number of linear regions of ReLU networks.

Claims (Montufar, Pascanu, Cho & Bengio 2014; Telgarsky 2016; Hanin & Rolnick 2019):

- (a) the tent map composed L times, a ReLU net of L hidden layers of width 2, is the sawtooth
  with exactly ``2^L`` linear pieces on [0, 1] (:mod:`companion.theory.depth`); counted exactly
  from its activation-pattern changes (:func:`companion.nn.regions.count_line_pieces`);
- (b) at random initialisation the number of regions does not grow exponentially with depth:
  along a line it is about proportional to the number of neurons (Hanin & Rolnick 2019,
  Thm 1: the expected density of region boundaries along a line is bounded by a constant times
  the number of neurons); nets of equal parameter count and depths ``random_depths``;
- (c) a one-hidden-layer net has at most width + 1 pieces on a line, so it needs ``2^L - 1``
  units to be the L-fold sawtooth; with fewer than ``2^(L-1)`` units one tooth of the sawtooth
  holds no breakpoint and the sup error is at least 1/2 (an affine function on a tooth
  ``[a, b]`` with value 1 at the midpoint and 0 at the ends misses one of the three by 1/2).

Stages: ``generate`` the fitting grid and the sawtooth on it; ``train`` counts the sawtooth,
draws and counts the random nets, and trains the shallow nets (one batched ensemble,
``restarts`` initialisations per width, Adam); ``summarize`` aggregates over seeds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from companion.nn import regions
from companion.theory import depth as theory

ID = "depth_regions"
CATALOG = "A3"
PART = 1
SOURCES = [
    "nn/regions.py", "theory/depth.py", "nn/activations.py", "nn/backprop.py",
    "nn/ensemble.py", "nn/losses.py", "nn/optim.py", "nn/parameterisation.py", "nn/train.py",
    "plots/style.py",
]
FIGURES = ("sawtooth_pieces", "random_regions", "shallow_fit")

# Claims whose tolerance or setting was chosen after seeing data (companion.audit): the
# workflow decides them again on fresh seeds.
POST_HOC = {
    "A3.random_regions_track_neurons": (
        "factor 2.0 (ratio_spread_max) allowed for the max/min over depths of regions per "
        "neuron, chosen after a first run on seeds 0-1 gave 1.3"
    ),
}

# Every claim is decided on one seed as well as on the pooled runs.
POOLED_ONLY: dict[str, str] = {}

_SECTION = f"experiments.{ID}"


def check(cfg: Mapping[str, Any]) -> None:
    """Sorted, distinct depths and widths; a fitting grid that contains the sawtooth's knots."""
    from companion.config import ConfigError

    for key in ("depths", "random_depths", "fit_widths"):
        vals = [int(v) for v in cfg[key]]
        if any(b <= a for a, b in zip(vals, vals[1:], strict=False)):
            raise ConfigError(f"{_SECTION}.{key}: must be strictly increasing, got {vals}")
    if len(cfg["random_depths"]) < 2:
        raise ConfigError(f"{_SECTION}.random_depths: need at least 2 depths to compare")
    for depth in cfg["random_depths"]:
        if theory.relu_net_params(int(cfg["d_in"]), 1, int(depth)) > int(cfg["params"]):
            raise ConfigError(f"{_SECTION}.params: {cfg['params']} is too few for a net of depth "
                              f"{depth} in d_in = {cfg['d_in']}")


def peak_memory_mb(cfg: Mapping[str, Any]) -> dict[str, tuple[float, str]]:
    """The 2-D slice (resolution^2 points x all neurons, float64) and the sawtooth's 2^L
    intervals dominate."""
    neurons = max(int(d) * theory.width_for_params(int(cfg["d_in"]), int(d), int(cfg["params"]))
                  for d in cfg["random_depths"])
    slice_mb = 3 * 8 * int(cfg["slice_resolution"]) ** 2 * neurons / 2**20
    saw_mb = 40 * 8 * 2 ** max(int(L) for L in cfg["depths"]) / 2**20
    train = 200.0 + max(slice_mb, saw_mb)
    key = "slice_resolution" if slice_mb >= saw_mb else "depths"
    return {"data": (50.0, "fit_points"), "train": (train, key), "metrics": (50.0, "depths")}


# --------------------------------------------------------------------------------------------
# data and training


def fit_grid(cfg: Mapping[str, Any]) -> np.ndarray:
    """``fit_points`` intervals per sawtooth tooth-half: every knot ``k 2^-L`` is a grid point, so
    the grid's sup error sees the values the 1/2 lower bound is about."""
    per_piece = max(1, int(cfg["fit_points"]) // theory.sawtooth_pieces(int(cfg["fit_depth"])))
    return np.linspace(0.0, 1.0, per_piece * theory.sawtooth_pieces(int(cfg["fit_depth"])) + 1)


def generate(cfg: Mapping[str, Any], seed: int) -> dict[str, np.ndarray]:
    """The fitting grid on [0, 1] and the sawtooth ``T^fit_depth`` on it (no noise)."""
    x = fit_grid(cfg)
    return {"x": x, "y": theory.tent_power(x, int(cfg["fit_depth"]))}


def random_relu_layers(rng: np.random.Generator, d_in: int, width: int, depth: int,
                       bias_std: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """He-initialised layers (``W ~ N(0, 2/fan_in)``, ``b ~ N(0, bias_std^2)``), the
    initialisation Hanin & Rolnick (2019) analyse."""
    dims = [d_in] + [width] * depth + [1]
    layers = []
    for k, (n_in, n_out) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
        w = rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in)
        b = rng.standard_normal(n_out) * bias_std if k < depth else np.zeros(n_out)
        layers.append((w, b))
    return layers


def _random_counts(cfg: Mapping[str, Any], seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([seed, 3])
    d_in, nets = int(cfg["d_in"]), int(cfg["nets"])
    depths = [int(v) for v in cfg["random_depths"]]
    res = int(cfg["slice_resolution"])
    line = np.zeros((len(depths), nets))
    slice_fine = np.zeros((len(depths), nets))
    slice_coarse = np.zeros((len(depths), nets))
    widths = np.array([theory.width_for_params(d_in, L, int(cfg["params"])) for L in depths])
    for i, L in enumerate(depths):
        for k in range(nets):
            layers = random_relu_layers(rng, d_in, int(widths[i]), L, float(cfg["bias_std"]))
            v = rng.standard_normal(d_in)
            v /= np.linalg.norm(v)
            e2 = rng.standard_normal(d_in)
            e2 -= (e2 @ v) * v
            e2 /= np.linalg.norm(e2)
            ext = float(cfg["line_extent"])
            line[i, k] = regions.count_line_pieces(layers, np.zeros(d_in), v, -ext, ext)[0]
            sl = float(cfg["slice_extent"])
            slice_fine[i, k] = regions.count_slice_regions(layers, np.zeros(d_in), v, e2, sl, res)
            slice_coarse[i, k] = regions.count_slice_regions(layers, np.zeros(d_in), v, e2, sl,
                                                             max(2, res // 2))
    return {"random_depth": np.asarray(depths), "random_width": widths,
            "line_regions": line, "slice_regions": slice_fine,
            "slice_regions_coarse": slice_coarse}


def _shallow_fit(cfg: Mapping[str, Any], data: Mapping[str, np.ndarray], seed: int,
                 device: Any) -> dict[str, np.ndarray]:
    import torch

    from companion.nn.ensemble import MLPEnsemble
    from companion.nn.train import fit

    widths = np.asarray(cfg["fit_widths"], dtype=int)
    restarts = int(cfg["restarts"])
    x_np, y_np = np.asarray(data["x"]), np.asarray(data["y"])
    # Centred inputs: the initial breakpoints -b/w then fall inside the interval.
    xc = torch.as_tensor(2.0 * x_np - 1.0, dtype=torch.float64, device=device)[:, None]
    y = torch.as_tensor(y_np, dtype=torch.float64, device=device)
    model_widths = np.repeat(widths, restarts)
    init_seed = int(np.random.SeedSequence([seed, 33]).generate_state(1)[0])
    # Widths are small: one padded ensemble is cheaper than one program per width.
    model = MLPEnsemble(1, model_widths, bias=True, output_bias=True, bias_std=0.5,
                        parameterisation="standard", seed=init_seed, device=device,
                        dtype=torch.float64)
    steps = int(cfg["fit_steps"])
    fit(model, xc, y, steps=steps, lr=float(cfg["fit_lr"]), optimiser="adam",
        record_at=[0, steps])
    with torch.no_grad():
        f = model(xc).cpu().numpy()
    sup = np.abs(f - y_np).max(axis=1).reshape(widths.size, restarts)
    mse = np.mean((f - y_np) ** 2, axis=1).reshape(widths.size, restarts)
    pieces = np.zeros(model_widths.size)
    for e in range(model_widths.size):
        layers = [(w.cpu().numpy(), np.zeros(w.shape[0]) if b is None else b.cpu().numpy())
                  for w, b in model.effective_layers(e)]
        pieces[e] = regions.count_line_pieces(layers, np.zeros(1), np.ones(1), -1.0, 1.0)[1]
    return {"fit_width": widths, "fit_sup": sup, "fit_mse": mse,
            "fit_pieces": pieces.reshape(widths.size, restarts)}


def train(cfg: Mapping[str, Any], data: Mapping[str, np.ndarray], seed: int, device: Any,
          log) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Sawtooth counts, random-init counts and the shallow fits; see the module docstring."""
    depths = np.asarray(cfg["depths"], dtype=int)
    saw = np.array([regions.count_line_pieces(theory.tent_layers(int(L)), np.zeros(1),
                                              np.ones(1), 0.0, 1.0) for L in depths])
    log(f"sawtooth pieces {saw[:, 1].tolist()} for L = {depths.tolist()}")
    out = {"depth": depths, "sawtooth_regions": saw[:, 0], "sawtooth_pieces": saw[:, 1]}
    out.update(_random_counts(cfg, seed))
    log(f"random-init line regions (mean per depth) {out['line_regions'].mean(axis=1).round(1)}")
    out.update(_shallow_fit(cfg, data, seed, device))
    log(f"shallow fit: best sup error per width {out['fit_sup'].min(axis=1).round(3)}")
    return out, {}


# --------------------------------------------------------------------------------------------
# metrics


def summarize(cfg: Mapping[str, Any],
              runs: Sequence[tuple[Mapping[str, np.ndarray], Mapping[str, Any]]]) -> dict[str, Any]:
    """Exact sawtooth counts, random-init counts per neuron with their spread, shallow-fit errors
    against the width bounds; the claims."""
    first = runs[0][0]
    depths = np.asarray(first["depth"], dtype=int)
    expected = np.array([theory.sawtooth_pieces(int(L)) for L in depths])
    saw = np.asarray(first["sawtooth_pieces"], dtype=float)
    saw_dev = float(np.max(np.abs(saw - expected)))

    rdepth = np.asarray(first["random_depth"], dtype=int)
    rwidth = np.asarray(first["random_width"], dtype=int)
    neurons = rdepth * rwidth
    line = np.concatenate([np.asarray(a["line_regions"]) for a, _ in runs], axis=1)
    fine = np.concatenate([np.asarray(a["slice_regions"]) for a, _ in runs], axis=1)
    coarse = np.concatenate([np.asarray(a["slice_regions_coarse"]) for a, _ in runs], axis=1)
    regions_mean = line.mean(axis=1)
    # The spread is over every net (nets x seeds); with a single net there is none.
    regions_std = line.std(axis=1, ddof=1) if line.shape[1] > 1 else None
    per_neuron = regions_mean / neurons
    spread = float(per_neuron.max() / per_neuron.min()) if np.all(per_neuron > 0) else float("inf")
    spread_max = float(cfg["ratio_spread_max"])
    resolution_error = 1.0 - coarse.mean(axis=1) / np.maximum(fine.mean(axis=1), 1.0)

    fit_width = np.asarray(first["fit_width"], dtype=int)
    # Best restart, worst seed; a diverged restart (non-finite error) counts as infinitely bad.
    best = lambda key: np.min(np.nan_to_num(  # noqa: E731
        np.stack([np.asarray(a[key], dtype=float) for a, _ in runs]), nan=np.inf),
        axis=2).max(axis=0)
    fit_sup, fit_mse = best("fit_sup"), best("fit_mse")
    pieces = np.stack([np.asarray(a["fit_pieces"]) for a, _ in runs])
    excess = float(np.max(pieces - (fit_width[None, :, None] + 1)))
    L = int(cfg["fit_depth"])
    few = fit_width < 2 ** (L - 1)
    few_sup = float(fit_sup[few].min()) if few.any() else None
    nseeds = len(runs)

    big = float(np.finfo(float).max)
    fin = lambda v: v if np.isfinite(v) else big  # noqa: E731 - plain JSON for a diverged run
    claims = [
        {
            "id": f"{CATALOG}.sawtooth_exact",
            "passed": bool(saw_dev == 0),
            "measured": saw_dev,
            "expected": 0.0,
            "relation": "<=",
            "context": {"depth_min": int(depths.min()), "depth_max": int(depths.max()),
                        "pieces": saw.astype(int).tolist()},
            "detail": (f"max over L = {depths.min()}..{depths.max()} of |pieces - 2^L| = "
                       f"{saw_dev:g}; pieces {saw.astype(int).tolist()}"),
        },
        {
            "id": f"{CATALOG}.random_regions_track_neurons",
            "passed": bool(spread <= spread_max),
            "measured": fin(spread),
            "expected": spread_max,
            "relation": "<=",
            "context": {"depth_min": int(rdepth.min()), "depth_max": int(rdepth.max()),
                        "per_neuron": [float(v) for v in per_neuron],
                        "neurons": neurons.tolist(), "params": int(cfg["params"]),
                        "nets_per_depth": int(line.shape[1])},
            "detail": (f"regions along a line of length {2 * float(cfg['line_extent']):g} per "
                       f"neuron, max/min over depths {rdepth.min()}..{rdepth.max()} = {spread:.3f} "
                       f"(per neuron {np.round(per_neuron, 3).tolist()}; neurons "
                       f"{neurons.tolist()}; mean regions {np.round(regions_mean, 1).tolist()}); "
                       f"equal parameter count {int(cfg['params'])}; {line.shape[1]} nets per "
                       f"depth over {nseeds} seed(s)"),
        },
        {
            "id": f"{CATALOG}.shallow_pieces_bound",
            "passed": bool(excess <= 0),
            "measured": excess,
            "expected": 0.0,
            "relation": "<=",
            "context": {"widths": fit_width.tolist()},
            "detail": (f"max over trained one-hidden-layer nets of pieces - (width + 1) = "
                       f"{excess:g}; widths {fit_width.tolist()}"),
        },
    ]
    if few_sup is not None:
        claims.append({
            "id": f"{CATALOG}.shallow_error_lower_bound",
            # A diverged fit is no evidence for the bound: it fails rather than "misses by inf".
            "passed": bool(np.isfinite(few_sup) and few_sup >= 0.5),
            "measured": fin(few_sup),
            "expected": 0.5,
            "relation": ">=",
            "context": {"fit_depth": L, "width_limit": 2 ** (L - 1),
                        "widths_below": fit_width[few].tolist()},
            "detail": (f"smallest sup error on the grid among widths < 2^(L-1) = "
                       f"{2 ** (L - 1)} (L = {L}): {few_sup:.4f}"),
        })

    rows = [[int(rdepth[i]), int(rwidth[i]), int(neurons[i]), float(regions_mean[i]),
             None if regions_std is None else float(regions_std[i]), float(per_neuron[i]),
             float(fine[i].mean()), float(resolution_error[i])] for i in range(rdepth.size)]
    series = {
        "depth": depths, "sawtooth_pieces": saw, "sawtooth_expected": expected,
        "random_depth": rdepth, "random_width": rwidth, "neurons": neurons,
        "regions_mean": regions_mean,
        "regions_std": [None] * rdepth.size if regions_std is None else regions_std,
        "regions_per_neuron": per_neuron,
        "slice_regions_mean": fine.mean(axis=1), "slice_resolution_error": resolution_error,
        "fit_width": fit_width, "fit_sup_error": np.where(np.isfinite(fit_sup), fit_sup, np.nan),
        "fit_mse": np.where(np.isfinite(fit_mse), fit_mse, np.nan),
        "fit_pieces_max": pieces.max(axis=(0, 2)),
    }
    return {
        "series": {k: [None if v is None or not np.isfinite(v) else float(v) for v in vals]
                   for k, vals in series.items()},
        "claims": claims,
        "table": {"columns": ["depth", "width", "neurons", "regions_mean", "regions_std",
                              "regions_per_neuron", "slice_regions", "slice_resolution_error"],
                  "rows": rows},
        "fit_depth": L,
        "min_exact_width": theory.shallow_width_for_sawtooth(L),
    }


# --------------------------------------------------------------------------------------------
# figures


def figures(metrics: Mapping[str, Any], lang: str, outdir: str | Path) -> list[Path]:
    """``sawtooth_pieces`` (log2 pieces vs L), ``random_regions`` (regions and neurons vs
    depth), ``shallow_fit`` (sup error vs width with the 2^L - 1 mark)."""
    from companion.plots import style

    outdir = Path(outdir)
    s = {k: np.asarray([np.nan if v is None else v for v in vals], dtype=float)
         for k, vals in metrics["series"].items()}
    written = []

    fig, ax = style.new_figure()
    colour = style.colours()
    ax.plot(s["depth"], s["sawtooth_expected"], **style.THEORY_STYLE,
            label=style.tr(lang, "theory: $2^L$", "理論: $2^L$"))
    ax.plot(s["depth"], s["sawtooth_pieces"], "o", color=next(colour), ms=5,
            label=style.tr(lang, "counted pieces of $T^L$", "$T^L$ の線形区間の数 (計数)"))
    ax.set_yscale("log", base=2)
    ax.set_xlabel(style.tr(lang, "depth $L$ (hidden layers of width 2)",
                           "深さ $L$ (横幅 2 の中間層の数)"))
    ax.set_ylabel(style.tr(lang, "linear pieces on [0, 1]", "[0, 1] 上の線形区間の数"))
    ax.legend(loc="upper left")
    written.append(style.save(fig, outdir / "sawtooth_pieces.svg"))

    fig, ax = style.new_figure()
    colour = style.colours()
    std = np.nan_to_num(s["regions_std"])
    ax.errorbar(s["random_depth"], s["regions_mean"], yerr=std, fmt="o-", ms=4, capsize=3,
                color=next(colour),
                label=style.tr(lang, "regions along a line (mean ± sd)",
                               "直線上の領域数 (平均 ± 標準偏差)"))
    ax.plot(s["random_depth"], s["neurons"], "s--", color=next(colour), ms=4,
            label=style.tr(lang, "number of neurons", "ニューロン数"))
    ax.plot(s["random_depth"], 2.0 ** s["random_depth"], **style.THEORY_STYLE,
            label=style.tr(lang, "$2^L$ (exponential in depth)", "$2^L$ (深さに指数的)"))
    ax.set_yscale("log")
    ax.set_xlabel(style.tr(lang, "depth $L$ (equal parameter count)",
                           "深さ $L$ (パラメータ数は共通)"))
    ax.set_ylabel(style.tr(lang, "count at initialisation", "初期化での個数"))
    ax.legend(loc="best")
    written.append(style.save(fig, outdir / "random_regions.svg"))

    fig, ax = style.new_figure()
    colour = style.colours()
    ax.plot(s["fit_width"], s["fit_sup_error"], "o-", color=next(colour), ms=4,
            label=style.tr(lang, "sup error (best restart)", "一様誤差 (最良の初期値)"))
    ax.plot(s["fit_width"], np.sqrt(s["fit_mse"]), "s-", color=next(colour), ms=4,
            label=style.tr(lang, "RMS error (best restart)", "二乗平均平方根誤差 (最良の初期値)"))
    exact = metrics["min_exact_width"]
    ax.axvline(exact, **style.THEORY_STYLE,
               label=style.tr(lang, f"$2^L - 1 = {exact}$ units (exact representation)",
                              f"$2^L - 1 = {exact}$ 個 (厳密な表現)"))
    ax.axhline(0.5, color="grey", lw=1.0, ls=":",
               label=style.tr(lang, "1/2: lower bound below $2^{L-1}$ units",
                              "1/2: $2^{L-1}$ 個未満での下界"))
    ax.set_yscale("symlog", linthresh=1e-3)
    ax.set_xlabel(style.tr(lang, "width of the one-hidden-layer net",
                           "中間層 1 層のネットワークの横幅"))
    ax.set_ylabel(style.tr(lang, f"error against $T^{{{metrics['fit_depth']}}}$",
                           f"$T^{{{metrics['fit_depth']}}}$ に対する誤差"))
    ax.legend(loc="best")
    written.append(style.save(fig, outdir / "shallow_fit.svg"))
    return written

"""A1: universal approximation by two-layer networks, and Barron's dimension-free rate.

Claims (Cybenko 1989; Barron 1993):

- (a) in 1-D, for the continuous target ``|x - kink| + amplitude sin(2 pi frequency x)`` on
  [0, 1], the step construction with N steep sigmoids stays under its sup-error bound
  ``omega_f(1/(2N)) + omega_f(1/N)(1 + 2/(e^kappa - 1))`` at every N
  (:mod:`companion.theory.approximation`), and trained two-layer sigmoid and ReLU nets reach a
  sup error below ``eps`` at the largest width, their error decreasing with N;
- (b) for the Gaussian bump in ``barron_dims`` dimensions (finite Barron constant ``C_f`` in
  closed form) on the ball of radius r, trained sigmoid nets of width N have L2 error below
  ``2 r C_f / sqrt(N)`` at every N, and the fitted log-log slope of the error in N is at most
  ``slope_max`` (-0.4: the N^{-1/2} rate, with room for the fit) in every dimension.

Stages: ``generate`` the training and evaluation points; ``train`` one batched ensemble per
(activation or dimension, width) with ``restarts`` initialisations each, full-batch Adam
(:func:`companion.nn.train.fit`); the best restart's errors are kept. ``summarize``: worst seed per
width, slopes, claims.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from companion.theory import approximation as theory
from companion.theory.powerlaw import loglog_slope

ID = "universal_approx"
CATALOG = "A1"
PART = 1
SOURCES = [
    "theory/approximation.py", "theory/powerlaw.py", "nn/activations.py", "nn/backprop.py",
    "nn/ensemble.py", "nn/losses.py", "nn/optim.py", "nn/parameterisation.py", "nn/sweep.py",
    "nn/train.py", "plots/style.py",
]
FIGURES = ("target_fits", "error_vs_width", "barron_rate")
ACTIVATIONS = ("sigmoid", "relu")
POOLED_ONLY: dict[str, str] = {}

_SECTION = f"experiments.{ID}"


def check(cfg: Mapping[str, Any]) -> None:
    """Widths strictly increasing, at least two of them (a slope needs a spread)."""
    from companion.config import ConfigError

    for key in ("widths", "barron_widths"):
        vals = [int(v) for v in cfg[key]]
        if len(vals) < 2:
            raise ConfigError(f"{_SECTION}.{key}: need at least 2 widths to fit a slope")
        if any(b <= a for a, b in zip(vals, vals[1:], strict=False)):
            raise ConfigError(f"{_SECTION}.{key}: must be strictly increasing, got {vals}")


def peak_memory_mb(cfg: Mapping[str, Any]) -> dict[str, tuple[float, str]]:
    """Training holds a few (models, points, width) float32 arrays per ensemble; the step
    construction an (evaluation points, N) float64 array."""
    r = int(cfg["restarts"])
    one_d = 4 * 4 * r * int(cfg["n_train"]) * max(cfg["widths"]) / 2**20
    barron = 4 * 4 * r * int(cfg["barron_n_train"]) * max(cfg["barron_widths"]) / 2**20
    construct = 3 * 8 * int(cfg["n_eval"]) * max(cfg["widths"]) / 2**20
    key = "barron_n_train" if barron > one_d else "n_train"
    return {"data": (50.0 + 8e-6 * int(cfg["barron_n_test"]) * max(cfg["barron_dims"]),
                     "barron_n_test"),
            "train": (250.0 + max(one_d, barron, construct), key),
            "metrics": (50.0, "n_eval")}


# --------------------------------------------------------------------------------------------
# data and training


def _target(cfg: Mapping[str, Any], x: np.ndarray) -> np.ndarray:
    return theory.kink_wave(x, float(cfg["kink"]), float(cfg["amplitude"]),
                            float(cfg["frequency"]))


def _ball(rng: np.random.Generator, n: int, d: int, radius: float) -> np.ndarray:
    """Uniform on the ball: a uniform direction times ``radius U^{1/d}``."""
    g = rng.standard_normal((n, d))
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    return g * radius * rng.random(n)[:, None] ** (1.0 / d)


def generate(cfg: Mapping[str, Any], seed: int) -> dict[str, np.ndarray]:
    """The dense 1-D training grid and finer evaluation grid; Barron's points per dimension."""
    rng = np.random.default_rng([seed, 1])
    out = {"x": np.linspace(0.0, 1.0, int(cfg["n_train"])),
           "x_eval": np.linspace(0.0, 1.0, int(cfg["n_eval"]))}
    for d in cfg["barron_dims"]:
        r = float(cfg["barron_radius"])
        out[f"barron_x_{d}"] = _ball(rng, int(cfg["barron_n_train"]), int(d), r)
        out[f"barron_x_test_{d}"] = _ball(rng, int(cfg["barron_n_test"]), int(d), r)
    return out


def _train_sweep(x: np.ndarray, y: np.ndarray, x_eval: np.ndarray, widths: np.ndarray,
                 activation: str, cfg: Mapping[str, Any], steps: int, input_scale: float,
                 seed: int, device: Any) -> np.ndarray:
    """Predictions ``(widths, restarts, n_eval)`` of two-layer nets trained on ``(x, y)``."""
    import torch

    from companion.nn.ensemble import MLPEnsemble
    from companion.nn.sweep import plan_groups
    from companion.nn.train import fit

    restarts = int(cfg["restarts"])
    xt = torch.as_tensor(input_scale * x, dtype=torch.float32, device=device)
    xe = torch.as_tensor(input_scale * x_eval, dtype=torch.float32, device=device)
    yt = torch.as_tensor(y, dtype=torch.float32, device=device)
    model_widths = np.repeat(widths, restarts)
    pred = np.zeros((model_widths.size, x_eval.shape[0]))
    # Small nets cost mostly fixed per-step overhead: padding a few widths into one ensemble
    # (at most twice the useful work) runs fewer programs.
    for g, group in enumerate(plan_groups(model_widths, max_waste=2.0)):
        init_seed = int(np.random.SeedSequence([seed, g, len(x_eval)]).generate_state(1)[0])
        # Biases spread like the scaled inputs, so initial breakpoints cover the domain.
        model = MLPEnsemble(x.shape[1], model_widths[group], bias=True, output_bias=True,
                            bias_std=input_scale, activation_name=activation,
                            parameterisation="standard", seed=init_seed, device=device)
        fit(model, xt, yt, steps=steps, lr=float(cfg["lr"]), optimiser="adam",
            record_at=[0, steps])
        with torch.no_grad():
            pred[group] = model(xe).double().cpu().numpy()
    return pred.reshape(widths.size, restarts, -1)


def train(cfg: Mapping[str, Any], data: Mapping[str, np.ndarray], seed: int, device: Any,
          log) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The step construction, the 1-D sweeps and Barron's sweeps; see the module docstring."""
    widths = np.asarray(cfg["widths"], dtype=int)
    x, x_eval = np.asarray(data["x"]), np.asarray(data["x_eval"])
    f_eval = _target(cfg, x_eval)
    kappa = float(cfg["steepness"])
    out: dict[str, np.ndarray] = {"width": widths, "x_eval": x_eval, "f_eval": f_eval}
    construct = np.array([np.max(np.abs(f_eval - theory.step_construction(
        x_eval, _target(cfg, np.linspace(0, 1, int(n) + 1)), kappa))) for n in widths])
    out["construction_sup"] = construct
    centred = lambda v: (2.0 * v - 1.0)[:, None]  # noqa: E731 - [0, 1] -> [-1, 1]
    scale = float(cfg["input_scale"])
    for act in ACTIVATIONS:
        pred = _train_sweep(centred(x), _target(cfg, x), centred(x_eval), widths, act, cfg,
                            int(cfg["steps"]), scale, seed, device)
        err = pred - f_eval
        sup, l2 = np.abs(err).max(axis=2), np.sqrt(np.mean(err**2, axis=2))
        best = np.argmin(sup, axis=1)
        out[f"sup_{act}"] = sup.min(axis=1)
        out[f"l2_{act}"] = l2.min(axis=1)
        out[f"fit_{act}"] = pred[np.arange(widths.size), best]  # best restart per width
        log(f"1-D {act}: sup error per width {out[f'sup_{act}'].round(4)}")

    bwidths = np.asarray(cfg["barron_widths"], dtype=int)
    out["barron_width"] = bwidths
    for d in cfg["barron_dims"]:
        xb, xb_test = np.asarray(data[f"barron_x_{d}"]), np.asarray(data[f"barron_x_test_{d}"])
        width = float(cfg["bump_width"])
        pred = _train_sweep(xb, theory.gaussian_bump(xb, width), xb_test, bwidths, "sigmoid",
                            cfg, int(cfg["barron_steps"]),
                            float(cfg["barron_input_scale"]) / float(cfg["barron_radius"]),
                            seed, device)
        err = pred - theory.gaussian_bump(xb_test, width)
        out[f"barron_l2_{d}"] = np.sqrt(np.mean(err**2, axis=2)).min(axis=1)
        log(f"Barron d = {d}: L2 error per width {out[f'barron_l2_{d}'].round(4)}")
    return out, {}


# --------------------------------------------------------------------------------------------
# metrics


def _safe_slope(x: np.ndarray, y: np.ndarray) -> float:
    """The log-log slope, +inf when an error is not positive and finite (no decrease shown)."""
    if not (np.all(np.isfinite(y)) and np.all(y > 0)):
        return float("inf")
    return loglog_slope(x, y)


def summarize(cfg: Mapping[str, Any],
              runs: Sequence[tuple[Mapping[str, np.ndarray], Mapping[str, Any]]]) -> dict[str, Any]:
    """Worst seed per width; the construction against its bound, the trained errors against eps
    and Barron's bound, the slopes; the claims."""
    first = runs[0][0]
    widths = np.asarray(first["width"], dtype=float)
    worst = lambda key: np.max([np.asarray(a[key], dtype=float) for a, _ in runs],  # noqa: E731
                               axis=0)
    kappa, amp, freq = float(cfg["steepness"]), float(cfg["amplitude"]), float(cfg["frequency"])
    bound = theory.step_construction_bound(widths, kappa, amp, freq)
    construct = worst("construction_sup")
    construct_ratio = float(np.max(construct / bound))
    eps = float(cfg["eps"])
    sup = {act: worst(f"sup_{act}") for act in ACTIVATIONS}
    l2 = {act: worst(f"l2_{act}") for act in ACTIVATIONS}
    final_sup = float(max(np.nan_to_num(sup[a][-1], nan=np.inf) for a in ACTIVATIONS))
    slopes_1d = {a: _safe_slope(widths, l2[a]) for a in ACTIVATIONS}

    bwidths = np.asarray(first["barron_width"], dtype=float)
    dims = [int(d) for d in cfg["barron_dims"]]
    radius, bump = float(cfg["barron_radius"]), float(cfg["bump_width"])
    cf = {d: theory.gaussian_bump_barron_constant(d, bump) for d in dims}
    bbound = {d: theory.barron_bound(bwidths, radius, cf[d]) for d in dims}
    berr = {d: worst(f"barron_l2_{d}") for d in dims}
    bratio = float(max(np.max(np.nan_to_num(berr[d], nan=np.inf) / bbound[d]) for d in dims))
    bslopes = {d: _safe_slope(bwidths, berr[d]) for d in dims}
    slope_max = float(cfg["slope_max"])
    worst_bslope = float(max(bslopes.values()))
    nseeds = len(runs)
    where = f"{nseeds} seed(s), worst seed per width"

    claims = [
        {
            "id": f"{CATALOG}.construction_under_bound",
            "passed": bool(construct_ratio <= 1.0),
            "measured": construct_ratio,
            "expected": 1.0,
            "relation": "<=",
            "detail": (f"max over N = {int(widths[0])}..{int(widths[-1])} of sup|f - g_N| / bound "
                       f"= {construct_ratio:.3f} (steepness kappa = {kappa:g}; sup error at the "
                       f"largest N {construct[-1]:.3g} vs bound {bound[-1]:.3g})"),
        },
        {
            "id": f"{CATALOG}.trained_error_below_eps",
            "passed": bool(final_sup <= eps),
            "measured": final_sup,
            "expected": eps,
            "relation": "<=",
            "detail": (f"sup error at N = {int(widths[-1])}, worse of sigmoid "
                       f"{sup['sigmoid'][-1]:.4g} and ReLU {sup['relu'][-1]:.4g}; {where}"),
        },
        {
            "id": f"{CATALOG}.trained_error_decreases",
            "passed": bool(max(slopes_1d.values()) < 0.0),
            "measured": float(max(slopes_1d.values())),
            "expected": 0.0,
            "relation": "<",
            "detail": (f"log-log slope of the 1-D L2 error in N: sigmoid "
                       f"{slopes_1d['sigmoid']:.3f}, ReLU {slopes_1d['relu']:.3f}; {where}"),
        },
        {
            "id": f"{CATALOG}.barron_under_bound",
            "passed": bool(bratio <= 1.0),
            "measured": bratio,
            "expected": 1.0,
            "relation": "<=",
            "detail": (f"max over N and d in {dims} of L2 error / (2 r C_f / sqrt(N)) = "
                       f"{bratio:.4f}; C_f = "
                       + ", ".join(f"{cf[d]:.3f} (d = {d})" for d in dims)
                       + f"; r = {radius:g}; {where}"),
        },
        {
            "id": f"{CATALOG}.barron_rate_dimension_free",
            "passed": bool(worst_bslope <= slope_max),
            "measured": worst_bslope,
            "expected": slope_max,
            "relation": "<=",
            "detail": ("log-log slope of the L2 error in N: "
                       + ", ".join(f"{bslopes[d]:.3f} (d = {d})" for d in dims)
                       + f"; N = {int(bwidths[0])}..{int(bwidths[-1])}; {where}"),
        },
    ]

    columns = ["width", "construction_sup", "construction_bound", "sup_sigmoid", "sup_relu",
               "l2_sigmoid", "l2_relu"]
    rows = [[int(widths[i]), float(construct[i]), float(bound[i]), float(sup["sigmoid"][i]),
             float(sup["relu"][i]), float(l2["sigmoid"][i]), float(l2["relu"][i])]
            for i in range(widths.size)]
    series = {
        "width": widths, "construction_sup": construct, "construction_bound": bound,
        **{f"sup_{a}": sup[a] for a in ACTIVATIONS}, **{f"l2_{a}": l2[a] for a in ACTIVATIONS},
        **{f"slope_{a}": [slopes_1d[a]] for a in ACTIVATIONS},
        "x_eval": np.asarray(first["x_eval"])[:: max(1, len(first["x_eval"]) // 400)],
        "f_eval": np.asarray(first["f_eval"])[:: max(1, len(first["f_eval"]) // 400)],
        "barron_width": bwidths, "barron_dims": dims,
        **{f"barron_l2_{d}": berr[d] for d in dims},
        **{f"barron_bound_{d}": bbound[d] for d in dims},
        **{f"barron_slope_{d}": [bslopes[d]] for d in dims},
    }
    step = max(1, len(first["x_eval"]) // 400)
    for a in ACTIVATIONS:
        # The first seed's best fits at the smallest, a middle and the largest width.
        picks = sorted({0, widths.size // 2, widths.size - 1})
        for i in picks:
            series[f"fit_{a}_{int(widths[i])}"] = np.asarray(first[f"fit_{a}"])[i, ::step]
    clean = lambda v: None if not np.isfinite(v) else float(v)  # noqa: E731
    return {
        "series": {k: [clean(v) for v in np.asarray(vals, dtype=float).ravel()]
                   for k, vals in series.items()},
        # A non-finite measurement (a diverged fit) fails its claim; it is stored as the largest
        # float so the metrics stay plain JSON.
        "claims": [{**c, "measured": c["measured"] if np.isfinite(c["measured"])
                    else float(np.finfo(float).max)} for c in claims],
        "table": {"columns": columns, "rows": rows},
        "barron_constants": {str(d): cf[d] for d in dims},
    }


# --------------------------------------------------------------------------------------------
# figures


def figures(metrics: Mapping[str, Any], lang: str, outdir: str | Path) -> list[Path]:
    """``target_fits`` (the target and trained fits), ``error_vs_width`` (1-D errors and the
    construction with its bound), ``barron_rate`` (L2 error with Barron's bound per d)."""
    from companion.plots import style

    outdir = Path(outdir)
    s = {k: np.asarray([np.nan if v is None else v for v in vals], dtype=float)
         for k, vals in metrics["series"].items()}
    written = []

    fig, axes = style.new_figure(ncols=2)
    for ax, act, name in zip(axes.ravel(), ACTIVATIONS, ("sigmoid", "ReLU"), strict=True):
        ax.plot(s["x_eval"], s["f_eval"], color="black", lw=2.0,
                label=style.tr(lang, "target $f$", "目標関数 $f$"))
        colour = style.colours()
        for key in sorted((k for k in s if k.startswith(f"fit_{act}_")),
                          key=lambda k: int(k.rsplit("_", 1)[1])):
            n = key.rsplit("_", 1)[1]
            ax.plot(s["x_eval"], s[key], color=next(colour), lw=1.1, label=f"N = {n}")
        ax.set_title(style.tr(lang, f"{name} nets", f"{name} ネットワーク"))
        ax.set_xlabel("$x$")
        ax.legend(loc="best", fontsize="small")
    written.append(style.save(fig, outdir / "target_fits.svg"))

    fig, ax = style.new_figure()
    colour = style.colours()
    w = s["width"]
    for act, name in zip(ACTIVATIONS, ("sigmoid", "ReLU"), strict=True):
        c = next(colour)
        ax.plot(w, s[f"sup_{act}"], "o-", color=c, ms=4,
                label=style.tr(lang, f"trained {name}: sup error", f"学習した {name}: 一様誤差"))
        ax.plot(w, s[f"l2_{act}"], "s:", color=c, ms=4,
                label=style.tr(lang, f"trained {name}: $L_2$ error",
                               f"学習した {name}: $L_2$ 誤差"))
    ax.plot(w, s["construction_sup"], "^-", color=next(colour), ms=4,
            label=style.tr(lang, "step construction: sup error", "階段関数による構成: 一様誤差"))
    ax.plot(w, s["construction_bound"], **style.THEORY_STYLE,
            label=style.tr(lang, r"theory: bound $\omega_f(1/2N) + \omega_f(1/N)\,T_\kappa$",
                           r"理論: 上界 $\omega_f(1/2N) + \omega_f(1/N)\,T_\kappa$"))
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel(style.tr(lang, "width $N$", "横幅 $N$"))
    ax.set_ylabel(style.tr(lang, "error on [0, 1]", "[0, 1] 上の誤差"))
    ax.legend(loc="lower left", fontsize="small")
    written.append(style.save(fig, outdir / "error_vs_width.svg"))

    fig, ax = style.new_figure()
    colour = style.colours()
    bw = s["barron_width"]
    for d in s["barron_dims"].astype(int):
        c = next(colour)
        ax.plot(bw, s[f"barron_l2_{d}"], "o-", color=c, ms=4,
                label=style.tr(lang, f"trained, d = {d}", f"学習, d = {d}"))
        ax.plot(bw, s[f"barron_bound_{d}"], color=c, ls="--", lw=1.2,
                label=style.tr(lang, f"theory: $2 r C_f/\\sqrt{{N}}$, d = {d}",
                               f"理論: $2 r C_f/\\sqrt{{N}}$, d = {d}"))
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel(style.tr(lang, "width $N$", "横幅 $N$"))
    ax.set_ylabel(style.tr(lang, "$L_2$ error on the ball", "球上の $L_2$ 誤差"))
    ax.legend(loc="best", fontsize="small")
    written.append(style.save(fig, outdir / "barron_rate.svg"))
    return written

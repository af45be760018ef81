"""B3: parameter counting against norm-based generalisation bounds, in width and in n.

Claims, as the lecture states them (its table of generalisation bounds and the slides
"ノルム型バウンド", "ノルム型バウンド(2)", "ノルム型バウンドは大きすぎる."; Bartlett, Foster and
Telgarsky 2017; Neyshabur, Bhojanapalli, McAllester and Srebro 2018; Golowich, Rakhlin and Shamir
2018; Nagarajan and Kolter 2019): the VC-type bound grows with the number of parameters; the
spectral bound of Bartlett et al. and the Frobenius bound of Golowich et al. have no width in
them ("横幅に依存しない"), so normalised by the margin they stay flat across the widths of nets
trained to the same margin; the PAC-Bayes bound of Neyshabur et al. trades the 2->1 norms for
Frobenius norms at the price of an explicit ``sqrt(W)`` ("横幅 m_l も出てきている"), so it grows by
that factor and no more; and the spectral bound grows with ``n`` while the test error falls,
because the Lipschitz constant ``prod_l R_{l,2}`` grows ("リプシッツ定数が大きくなることによる").

Stages:

- ``generate``: a separable task: ``x ~ N(0, I_d)``, ``y = prod_k sign(<w*_k, x>)`` over
  ``teacher_directions`` orthonormal directions (1: a half-space, 2: an XOR of two); for the
  width sweep a training pool and a test set with the points within ``gap`` of a teacher
  hyperplane rejected, for the size sweep a nested pool (the first ``n`` points form the
  training set of size ``n``) and a test set with band ``gap_n``.
- ``train``: two-layer ReLU nets without biases (``parameterisation``, batched by
  :class:`companion.nn.ensemble.MLPEnsemble`), ``reps`` per point, trained by full-batch gradient
  descent on the logistic loss until every training margin ``y_i f(x_i)`` is at least
  ``margin_target`` (:func:`companion.nn.train.fit_until`): the same criterion for every net.
  (a) widths ``widths`` at ``n_width`` points; (b) sizes ``ns`` at width ``width_n``. Per net:
  each bound from its weights at the stopping point with the margin ``gamma = min_i y_i f(x_i)``,
  the spectral bound's two factors (Lipschitz constant and sparsity factor), the test error, the
  steps taken.
- ``summarize``: geometric means over nets per point, the growth factors across widths, log-log
  slopes in ``n``, and the claims.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from companion import memory, relu_net
from companion.sampling import gapped_sign_task
from companion.theory import norm_bounds as bounds
from companion.theory.powerlaw import loglog_slope

ID = "norm_bounds"
CATALOG = "B3"
PART = 2
SOURCES = [
    "relu_net.py", "sampling.py", "theory/norm_bounds.py", "theory/powerlaw.py",
    "nn/activations.py", "nn/backprop.py", "nn/ensemble.py", "nn/losses.py", "nn/optim.py",
    "nn/parameterisation.py", "nn/sweep.py", "nn/train.py", "plots/style.py",
]
FIGURES = ("bounds_vs_width", "bounds_vs_n")

_SECTION = f"experiments.{ID}"

POST_HOC: dict[str, str] = {
    f"{CATALOG}.spectral_grows_while_error_falls": (
        "the size sweep's task without a band (gap_n = 0) in place of the width sweep's band "
        "0.1 (spectral slope -0.065 there), chosen after seeing seeds 0-2 on both; slope "
        "thresholds 0 (bound, error) and 0.5 (Lipschitz constant / margin) frozen"),
}


def check(cfg: Mapping[str, Any]) -> None:
    """Enough points for a trend, teacher directions that fit in R^d."""
    from companion.config import ConfigError

    if int(cfg["teacher_directions"]) > int(cfg["d"]):
        raise ConfigError(f"{_SECTION}.teacher_directions: at most d = {cfg['d']} orthonormal "
                          f"directions exist; got {cfg['teacher_directions']}")

    if len(set(int(w) for w in cfg["widths"])) < 2:
        raise ConfigError(f"{_SECTION}.widths: at least two distinct widths are needed")
    if len(set(int(n) for n in cfg["ns"])) < 2:
        raise ConfigError(f"{_SECTION}.ns: at least two distinct sizes are needed")
    if cfg["parameterisation"] == "mean_field" and int(cfg.get("depth", 1)) != 1:
        raise ConfigError(f"{_SECTION}.parameterisation: mean_field is defined for depth 1")


def peak_memory_mb(cfg: Mapping[str, Any]) -> dict[str, tuple[float, str]]:
    """float32 training: per ensemble the hidden activations and their gradient on the training
    set, ``reps * n * width`` a few times over; the test forward pass in float64."""
    reps, d = int(cfg["reps"]), int(cfg["d"])
    n_pool = max(int(cfg["n_width"]), *(int(n) for n in cfg["ns"]))
    w_max = max(int(cfg["width_n"]), *(int(w) for w in cfg["widths"]))
    terms = {"widths": 4.0 * 6 * reps * n_pool * w_max + 4.0 * 4 * reps * w_max * d,
             "n_test": 8.0 * 3 * int(cfg["n_test"]) * w_max}
    return {"train": memory.dominant("train", terms),
            "data": memory.dominant("data", {"n_test": 8.0 * 2 * (n_pool + max(
                int(n) for n in cfg["ns"]) + 2 * int(cfg["n_test"])) * d})}


# --------------------------------------------------------------------------------------------
# data


def generate(cfg: Mapping[str, Any], seed: int) -> dict[str, np.ndarray]:
    """Orthonormal teacher directions; a training pool and a test set with band ``gap`` (the
    width sweep); then a nested pool and a test set with band ``gap_n`` (the size sweep)."""
    d, gap, k = int(cfg["d"]), float(cfg["gap"]), int(cfg["teacher_directions"])
    rng = np.random.default_rng([seed, 0xB3])
    teacher = np.linalg.qr(rng.standard_normal((d, k)))[0].T  # (k, d), orthonormal rows
    n_pool = max(int(cfg["n_width"]), *(int(n) for n in cfg["ns"]))
    x, y = gapped_sign_task(rng, n_pool, teacher, gap)
    x_test, y_test = gapped_sign_task(rng, int(cfg["n_test"]), teacher, gap)
    # Drawn after the width sweep's data, so those stay as they were without the size sweep's.
    x_n, y_n = gapped_sign_task(rng, max(int(n) for n in cfg["ns"]), teacher, float(cfg["gap_n"]))
    x_test_n, y_test_n = gapped_sign_task(rng, int(cfg["n_test"]), teacher, float(cfg["gap_n"]))
    return {"x": x, "y": y, "x_test": x_test, "y_test": y_test, "teacher": teacher,
            "x_n": x_n, "y_n": y_n, "x_test_n": x_test_n, "y_test_n": y_test_n}


# --------------------------------------------------------------------------------------------
# training


def train_group(cfg: Mapping[str, Any], widths: Sequence[int], x: np.ndarray, y: np.ndarray,
                x_test: np.ndarray, y_test: np.ndarray, seed: int, device: Any) -> dict[str, Any]:
    """Train ``reps`` nets per width in ``widths`` to the margin criterion on ``(x, y)``; return
    per net (``len(widths) * reps``, widths-major) the bounds, margin, test error and steps."""
    import torch

    from companion.nn.ensemble import MLPEnsemble
    from companion.nn.sweep import plan_groups
    from companion.nn.train import fit_until

    reps, target = int(cfg["reps"]), float(cfg["margin_target"])
    all_widths = np.repeat(np.asarray(widths, dtype=int), reps)
    xt = torch.as_tensor(x, dtype=torch.float32, device=device)
    yt = torch.as_tensor(y, dtype=torch.float32, device=device)
    n = len(y)
    out = {"bounds": np.zeros((all_widths.size, len(bounds.BOUNDS))),
           "margin": np.zeros(all_widths.size), "lipschitz": np.zeros(all_widths.size),
           "sparsity": np.zeros(all_widths.size), "test_error": np.zeros(all_widths.size),
           "steps": np.zeros(all_widths.size), "reached": np.zeros(all_widths.size)}
    for group in plan_groups(all_widths):
        gen = torch.Generator().manual_seed(int(seed) * 100003 + int(group[0]) * 7919 + n)
        model = MLPEnsemble(x.shape[1], all_widths[group], depth=int(cfg["depth"]),
                            parameterisation=cfg["parameterisation"], seed=gen, device=device)

        def done(m: MLPEnsemble) -> torch.Tensor:
            return (yt * m(xt)).min(dim=1).values >= target

        stop = fit_until(model, xt, yt, done=done, lr=float(cfg["lr"]),
                         max_steps=int(cfg["max_steps"]), check_every=int(cfg["check_every"]),
                         loss="logistic")
        for k, e in enumerate(group):
            layers = [w.double().cpu().numpy() for w, _ in model.effective_layers(k, stop.params)]
            margin = float(np.min(y * relu_net.outputs(layers, x)))
            values = bounds.all_bounds(layers, n, max(margin, 1e-12))
            out["bounds"][e] = [values[b] for b in bounds.BOUNDS]
            out["margin"][e] = margin
            out["lipschitz"][e] = bounds.lipschitz_constant(layers)
            out["sparsity"][e] = bounds.sparsity_factor(layers)
            predicted = np.sign(relu_net.outputs(layers, x_test))
            out["test_error"][e] = float(np.mean(predicted != y_test))
            out["steps"][e] = stop.steps[k]
            out["reached"][e] = float(stop.reached[k])
    return {k: v.reshape(len(widths), reps, *v.shape[1:]) for k, v in out.items()}


def train(cfg: Mapping[str, Any], data: Mapping[str, np.ndarray], seed: int, device: Any,
          log: Callable[[str], None]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The width sweep at ``n_width`` points, then the size sweep at ``width_n`` on its own pool."""
    widths = sorted(int(w) for w in cfg["widths"])
    ns = sorted(int(n) for n in cfg["ns"])
    x, y = data["x"], data["y"]
    n_w = int(cfg["n_width"])
    sweep = train_group(cfg, widths, x[:n_w], y[:n_w], data["x_test"], data["y_test"], seed,
                        device)
    log(f"width sweep (n={n_w}): test error {sweep['test_error'].mean(1).round(3).tolist()}, "
        f"steps {sweep['steps'].mean(1).astype(int).tolist()}")
    x_n, y_n = data["x_n"], data["y_n"]
    per_n = [train_group(cfg, [int(cfg["width_n"])], x_n[:m], y_n[:m], data["x_test_n"],
                         data["y_test_n"], seed, device) for m in ns]
    by_n = {k: np.concatenate([p[k] for p in per_n]) for k in sweep}
    log(f"size sweep (width={cfg['width_n']}, gap {cfg['gap_n']}): test error "
        f"{by_n['test_error'].mean(1).round(3).tolist()}")
    arrays = {"widths": np.asarray(widths), "ns": np.asarray(ns),
              **{f"width_{k}": v for k, v in sweep.items()},
              **{f"n_{k}": v for k, v in by_n.items()}}
    return arrays, {}


# --------------------------------------------------------------------------------------------
# metrics


def _pool(runs: Sequence[tuple[Mapping[str, np.ndarray], Mapping[str, Any]]],
          key: str) -> np.ndarray:
    return np.concatenate([np.asarray(a[key], dtype=float) for a, _ in runs], axis=1)


def summarize(cfg: Mapping[str, Any],
              runs: Sequence[tuple[Mapping[str, np.ndarray], Mapping[str, Any]]]) -> dict[str, Any]:
    """Geometric means per point, growth across widths, slopes in n, and the claims."""
    factor = float(cfg["width_factor"])
    first = runs[0][0]
    widths, ns = np.asarray(first["widths"], float), np.asarray(first["ns"], float)
    series: dict[str, Any] = {"width": widths, "n": ns}
    for sweep in ("width", "n"):
        b = _pool(runs, f"{sweep}_bounds")  # (points, nets, bounds)
        for j, name in enumerate(bounds.BOUNDS):
            series[f"{sweep}_{name}"] = np.exp(np.log(b[:, :, j]).mean(axis=1))
        for key in ("test_error", "margin", "steps"):
            series[f"{sweep}_{key}"] = _pool(runs, f"{sweep}_{key}").mean(axis=1)
        # The spectral bound's two factors: the Lipschitz constant per unit of margin (invariant
        # to rescaling the layers, as the bounds are) and the sparsity factor.
        lip = _pool(runs, f"{sweep}_lipschitz") / _pool(runs, f"{sweep}_margin")
        series[f"{sweep}_lipschitz"] = np.exp(np.log(lip).mean(axis=1))
        series[f"{sweep}_sparsity"] = np.exp(np.log(_pool(runs, f"{sweep}_sparsity")).mean(axis=1))
    reached = np.concatenate([_pool(runs, "width_reached").ravel(),
                              _pool(runs, "n_reached").ravel()])
    nets = reached.size
    claims = []
    share = float(reached.mean())
    claims.append({
        "id": f"{CATALOG}.criterion_reached",
        "passed": bool(share >= 1.0),
        "measured": share,
        "expected": 1.0,
        "relation": ">=",
        "context": {"nets_reached": int(reached.sum()), "nets": int(nets),
                    "margin_target": float(cfg["margin_target"]),
                    "max_steps": int(cfg["max_steps"]),
                    "steps_min": float(series["width_steps"].min()),
                    "steps_max": float(series["width_steps"].max())},
        "detail": (f"{int(reached.sum())} of {nets} nets reached every training margin >= "
                   f"{float(cfg['margin_target']):g} within {int(cfg['max_steps'])} steps; "
                   f"steps taken {series['width_steps'].min():.0f}-"
                   f"{series['width_steps'].max():.0f} (width sweep, means)"),
    })
    factors = ("lipschitz", "sparsity")
    growth = {name: float(series[f"width_{name}"].max() / series[f"width_{name}"].min())
              for name in (*bounds.BOUNDS, *factors)}
    slopes_w = {name: loglog_slope(widths, series[f"width_{name}"])
                for name in (*bounds.BOUNDS, *factors)}
    vc_growth = float(series["width_vc"][-1] / series["width_vc"][0])
    claims.append({
        "id": f"{CATALOG}.vc_grows_with_width",
        "passed": bool(vc_growth > factor),
        "measured": vc_growth,
        "expected": factor,
        "relation": ">",
        "context": {"width_from": int(widths[0]), "width_to": int(widths[-1]),
                    "slope_width": slopes_w["vc"]},
        "detail": (f"VC-type bound at width {widths[-1]:.0f} / at width {widths[0]:.0f} = "
                   f"{vc_growth:.3g} (log-log slope {slopes_w['vc']:.2f}); the norm bounds may "
                   f"vary by at most {factor:g}"),
    })

    def flat(name: str, extra: dict[str, float], why: str) -> dict[str, Any]:
        return {
            "id": f"{CATALOG}.{name}_flat_in_width",
            "passed": bool(growth[name] <= factor),
            "measured": growth[name],
            "expected": factor,
            "relation": "<=",
            "context": {"width_from": int(widths[0]), "width_to": int(widths[-1]),
                        "slope_width": slopes_w[name],
                        "bound_narrowest": float(series[f"width_{name}"][0]),
                        "bound_widest": float(series[f"width_{name}"][-1]), **extra},
            "detail": (f"max / min over widths {widths[0]:.0f}-{widths[-1]:.0f} of the {name} "
                       f"bound (geometric mean over nets) = {growth[name]:.3g}; log-log slope "
                       f"{slopes_w[name]:.2f}; at the narrowest "
                       f"{series[f'width_{name}'][0]:.3g}, the widest "
                       f"{series[f'width_{name}'][-1]:.3g}{why}"),
        }

    # Bartlett et al.: no width in the formula ("横幅に依存しない"). Its factors say where a
    # growth comes from: the Lipschitz constant per margin, or the 2->1 / spectral ratios.
    claims.append(flat("spectral", {"lipschitz_growth": growth["lipschitz"],
                                    "sparsity_growth": growth["sparsity"]},
                       f"; its factors grow by {growth['lipschitz']:.3g} (Lipschitz constant / "
                       f"margin) and {growth['sparsity']:.3g} (sparsity factor)"))
    # Neyshabur et al.: Frobenius norms in place of 2->1 norms, at the price of an explicit
    # sqrt(W) ("その代わり, 横幅 m_l も出てきている"): the bound over sqrt(W) stays flat, so the
    # bound grows by the explicit factor and no more (a bound flat in the width fails too).
    explicit = series["width_pac_bayes"] / np.sqrt(widths)
    series["width_pac_bayes_per_sqrt_width"] = explicit
    explicit_growth = float(explicit.max() / explicit.min())
    claims.append({
        "id": f"{CATALOG}.pac_bayes_width_only_explicit",
        "passed": bool(explicit_growth <= factor),
        "measured": explicit_growth,
        "expected": factor,
        "relation": "<=",
        "context": {"width_from": int(widths[0]), "width_to": int(widths[-1]),
                    "bound_growth": growth["pac_bayes"],
                    "sqrt_width_growth": float(np.sqrt(widths.max() / widths.min())),
                    "slope_width": slopes_w["pac_bayes"]},
        "detail": (f"max / min over widths {widths[0]:.0f}-{widths[-1]:.0f} of the PAC-Bayes "
                   f"bound / sqrt(width) = {explicit_growth:.3g}; the bound itself grows by "
                   f"{growth['pac_bayes']:.3g} (log-log slope {slopes_w['pac_bayes']:.2f}), "
                   f"its explicit factor sqrt(W) by {np.sqrt(widths.max() / widths.min()):.3g}"),
    })
    claims.append(flat("frobenius", {}, ""))

    # In n: test error should fall; Nagarajan and Kolter's observation is a bound that rises,
    # through the Lipschitz constant ("リプシッツ定数が大きくなることによる").
    err = np.maximum(series["n_test_error"], 0.5 / float(cfg["n_test"]))
    slope_err = loglog_slope(ns, err)
    slopes_n = {name: loglog_slope(ns, series[f"n_{name}"])
                for name in (*bounds.BOUNDS, *factors)}
    series["slope_n"] = [slopes_n[name] for name in bounds.BOUNDS]
    listed = ", ".join(f"{name} {slopes_n[name]:+.2f}" for name in bounds.BOUNDS)
    claims.append({
        "id": f"{CATALOG}.test_error_falls_with_n",
        "passed": bool(slope_err < 0),
        "measured": slope_err,
        "expected": 0.0,
        "relation": "<",
        "context": {"width": int(cfg["width_n"]), "n_from": int(ns[0]), "n_to": int(ns[-1]),
                    "error_first": float(series["n_test_error"][0]),
                    "error_last": float(series["n_test_error"][-1])},
        "detail": (f"log-log slope of the test error in n (width {int(cfg['width_n'])}) = "
                   f"{slope_err:+.2f}; error {series['n_test_error'][0]:.3g} at n = {ns[0]:.0f}, "
                   f"{series['n_test_error'][-1]:.3g} at n = {ns[-1]:.0f}"),
    })
    # The bound is (Lipschitz / margin) x sparsity / sqrt(n): it grows through the Lipschitz
    # constant when that grows faster than sqrt(n) does.
    lipschitz_drives = slopes_n["lipschitz"] > 0.5
    claims.append({
        "id": f"{CATALOG}.spectral_grows_while_error_falls",
        "passed": bool(slopes_n["spectral"] > 0 and slope_err < 0 and lipschitz_drives),
        "measured": slopes_n["spectral"],
        "expected": 0.0,
        "relation": ">",
        # All three decide: a bound rising while the error falls, through the Lipschitz factor.
        "context": {"slope_error": slope_err, "slope_lipschitz": slopes_n["lipschitz"],
                    "slope_sparsity": slopes_n["sparsity"], "gap_n": float(cfg["gap_n"]),
                    "slope_vc": slopes_n["vc"], "slope_pac_bayes": slopes_n["pac_bayes"],
                    "slope_frobenius": slopes_n["frobenius"]},
        "detail": (f"log-log slopes in n (band {float(cfg['gap_n']):g}): test error "
                   f"{slope_err:+.2f}; bounds: {listed}; Lipschitz constant / margin "
                   f"{slopes_n['lipschitz']:+.2f} (above +0.5 it outgrows sqrt(n)), sparsity "
                   f"factor {slopes_n['sparsity']:+.2f} (a positive bound slope with a negative "
                   f"error slope is the Nagarajan-Kolter observation)"),
    })
    series["growth_width"] = [growth[name] for name in bounds.BOUNDS]
    series["slope_width"] = [slopes_w[name] for name in bounds.BOUNDS]

    columns = ["bound", "growth_width", "slope_width", "slope_n"]
    rows = [[name, growth[name], slopes_w[name], slopes_n[name]]
            for name in (*bounds.BOUNDS, *factors)]
    rows.append(["test_error", float(series["width_test_error"].max()
                                     / max(series["width_test_error"].min(), 1e-12)),
                 loglog_slope(widths, np.maximum(series["width_test_error"],
                                                 0.5 / float(cfg["n_test"]))), slope_err])
    return {
        "series": {k: np.asarray(v).tolist() for k, v in series.items()},
        "claims": claims,
        "table": {"columns": columns, "rows": rows},
    }


# --------------------------------------------------------------------------------------------
# figures


_LABELS = {"vc": ("VC (parameter count)", "VC (パラメータ数)"),
           "spectral": ("spectral (Bartlett et al.)", "スペクトル (Bartlett ら)"),
           "pac_bayes": ("PAC-Bayes (Neyshabur et al.)", "PAC-Bayes (Neyshabur ら)"),
           "frobenius": ("Frobenius (Golowich et al.)", "Frobenius (Golowich ら)"),
           "test_error": ("test error", "テスト誤差")}


def figures(metrics: Mapping[str, Any], lang: str, outdir: str | Path) -> list[Path]:
    """Each bound (left, log-log) and the test error (right) against width and against n."""
    from companion.plots import style

    outdir = Path(outdir)
    s = metrics["series"]
    written = []
    for sweep, name, xlabel in (("width", "bounds_vs_width", style.tr(lang, "width", "横幅")),
                                ("n", "bounds_vs_n", style.tr(lang, "training samples $n$",
                                                              "訓練サンプル数 $n$"))):
        x = np.asarray(s[sweep], dtype=float)
        fig, axes = style.new_figure(ncols=2)
        left, right = axes.ravel()
        colour = style.colours()
        for b in bounds.BOUNDS:
            left.plot(x, s[f"{sweep}_{b}"], "o-", color=next(colour), ms=4,
                      label=style.tr(lang, *_LABELS[b]))
        left.set_xscale("log")
        left.set_yscale("log")
        left.set_xlabel(xlabel)
        left.set_ylabel(style.tr(lang, "bound (constants dropped)", "バウンド (定数を除く)"))
        left.legend(fontsize=7)
        err = np.asarray(s[f"{sweep}_test_error"], dtype=float)
        right.plot(x, np.maximum(err, 1e-4), "s-", color="black", ms=4)
        right.set_xscale("log")
        right.set_yscale("log")
        right.set_xlabel(xlabel)
        right.set_ylabel(style.tr(lang, *_LABELS["test_error"]))
        written.append(style.save(fig, outdir / f"{name}.svg"))
    return written

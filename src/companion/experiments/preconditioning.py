"""B5: preconditioned gradient descent's interpolators: the variance of natural gradient and the
bias that depends on how the target aligns with the input covariance.

Claim (Amari et al. 2021, Theorems 3 and 4; :mod:`companion.theory.preconditioning`): in
over-parameterised linear regression (``d = gamma n > n``) with an anisotropic input covariance
``Sigma``, the interpolator reached by gradient descent preconditioned with ``P`` has the
smallest variance for natural gradient ``P = Sigma^{-1}``, where it equals
``sigma^2 / (gamma - 1)`` in the limit whatever ``Sigma`` is; which ``P`` has the smallest bias
depends on the target: plain gradient descent for an isotropic ``beta*``, natural gradient for
``beta* ~ N(0, Sigma^{-1})``.

Stages:

- ``generate``: per ratio, ``d = round(gamma n)``, the diagonal of ``Sigma`` (a geometric
  spectrum with condition number ``condition`` and mean 1) and a stream seed; the data sets are
  drawn in ``train``.
- ``train``: per ratio, ``reps`` data sets ``X = Z Sigma^{1/2}``, ``Z`` standard normal, with two
  targets each (isotropic, and drawn from ``N(0, Sigma^{-1})``; both scaled to
  ``||beta*||_Sigma^2 = r2``). For every preconditioner of the two families ``Sigma^{-alpha}`` and
  ``(1 - alpha) I + alpha Sigma^{-1}`` (``alpha`` in ``alphas``) the interpolator's bias for both
  targets and its variance, exact given ``X``. The limit of gradient descent is computed in
  closed form: gradient descent from 0 with a fixed ``P`` converges to it (the theory's eq. (3)).
- ``summarize``: means over data sets, the limit ``sigma^2 / (gamma - 1)`` and the exact finite-n
  mean ``sigma^2 n / (d - n - 1)`` of natural gradient's variance, and the claims.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from companion import memory
from companion.theory import double_descent as dd
from companion.theory import preconditioning as theory

ID = "preconditioning"
CATALOG = "B5"
PART = 2
SOURCES = ["theory/preconditioning.py", "theory/double_descent.py", "plots/style.py"]
FIGURES = ("bias_variance",)

_SECTION = f"experiments.{ID}"
_TARGETS = ("isotropic", "misaligned")


def check(cfg: Mapping[str, Any]) -> None:
    """Over-parameterised ratios (d > n + 1, so natural gradient's mean variance is finite),
    distinct d, and both ends of the families among the alphas."""
    from companion.config import ConfigError

    n = int(cfg["n"])
    dims = [round(float(g) * n) for g in cfg["gammas"]]
    low = [g for g, d in zip(cfg["gammas"], dims, strict=True) if d <= n + 1]
    if low:
        raise ConfigError(f"{_SECTION}.gammas: {low} give d <= n + 1 = {n + 1}; the interpolators "
                          "need d > n, and natural gradient's mean variance d > n + 1")
    if len(set(dims)) != len(dims):
        raise ConfigError(f"{_SECTION}.gammas: two values give the same d = round(gamma n): {dims}")
    alphas = [float(a) for a in cfg["alphas"]]
    if 0.0 not in alphas or 1.0 not in alphas:
        raise ConfigError(f"{_SECTION}.alphas: must contain 0 (gradient descent) and 1 (natural "
                          f"gradient); got {alphas}")


def peak_memory_mb(cfg: Mapping[str, Any]) -> dict[str, tuple[float, str]]:
    """float64: a batch of ``reps`` data sets ``(reps, n, d_max)`` and the interpolator maps of the
    same size, a few copies."""
    n, reps = int(cfg["n"]), int(cfg["reps"])
    d_max = max(round(float(g) * n) for g in cfg["gammas"])
    return {"train": memory.dominant("train", {"reps": 8.0 * 5 * reps * n * d_max})}


def preconditioners(cfg: Mapping[str, Any]) -> list[tuple[str, float]]:
    """``(family, alpha)``: the geometric family at every alpha, the additive one at the alphas
    strictly between 0 and 1 (at 0 and 1 both are gradient descent and natural gradient)."""
    alphas = sorted(float(a) for a in cfg["alphas"])
    return ([("geometric", a) for a in alphas]
            + [("additive", a) for a in alphas if 0.0 < a < 1.0])


def covariance_diagonal(d: int, condition: float) -> np.ndarray:
    """Eigenvalues ``condition^{-j/(d-1)}``, ``j = 0..d-1``, rescaled to mean 1
    (``tr Sigma = d``)."""
    s = float(condition) ** (-np.arange(d) / max(d - 1, 1))
    return s * d / s.sum()


def generate(cfg: Mapping[str, Any], seed: int) -> dict[str, np.ndarray]:
    """Per ratio: d, the realised gamma = d / n and a stream seed (keyed by seed and d)."""
    n = int(cfg["n"])
    dims = np.array(sorted(round(float(g) * n) for g in cfg["gammas"]), dtype=np.int64)
    streams = np.array([int(np.random.SeedSequence([seed, 0xB5, int(d)]).generate_state(1)[0])
                        for d in dims], dtype=np.int64)
    return {"d": dims, "gamma": dims / n, "stream": streams}


def _targets(rng: np.random.Generator, reps: int, s: np.ndarray, r2: float) -> dict[str, Any]:
    """``reps`` isotropic targets and ``reps`` from ``N(0, Sigma^{-1})``, each scaled to
    ``||beta||_Sigma^2 = r2``."""
    out = {}
    for name, scale in (("isotropic", np.ones_like(s)), ("misaligned", 1.0 / np.sqrt(s))):
        beta = rng.standard_normal((reps, s.size)) * scale
        beta *= np.sqrt(r2 / np.einsum("bd,d,bd->b", beta, s, beta))[:, None]
        out[name] = beta
    return out


def train(cfg: Mapping[str, Any], data: Mapping[str, np.ndarray], seed: int, device: Any,
          log: Callable[[str], None]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Exact bias and variance of every preconditioner's interpolator on every data set (float64
    linear algebra on the CPU: ``n x n`` systems, where a device would only add transfers)."""
    n, reps = int(cfg["n"]), int(cfg["reps"])
    sigma2, r2 = float(cfg["sigma2"]), float(cfg["r2"])
    family = preconditioners(cfg)
    shape = (len(data["d"]), len(family), reps)
    out = {"variance": np.zeros(shape), **{f"bias_{t}": np.zeros(shape) for t in _TARGETS}}
    for i, d in enumerate(int(v) for v in data["d"]):
        rng = np.random.default_rng(int(data["stream"][i]))
        s = covariance_diagonal(d, float(cfg["condition"]))
        x = rng.standard_normal((reps, n, d)) * np.sqrt(s)
        betas = _targets(rng, reps, s, r2)
        for j, (name, alpha) in enumerate(family):
            p = (theory.geometric_family if name == "geometric" else theory.additive_family)(
                s, alpha)
            for t in _TARGETS:
                bias, variance = theory.bias_variance(x, p, s, betas[t], sigma2)
                out[f"bias_{t}"][i, j] = bias
            out["variance"][i, j] = variance
        ngd = family.index(("geometric", 1.0))
        log(f"gamma={data['gamma'][i]:.3g} (d={d}): variance GD "
            f"{out['variance'][i, 0].mean():.4g}, NGD {out['variance'][i, ngd].mean():.4g}")
    arrays = {"gamma": data["gamma"], "d": data["d"], **out}
    return arrays, {}


def _pool(runs: Sequence[tuple[Mapping[str, np.ndarray], Mapping[str, Any]]],
          key: str) -> np.ndarray:
    return np.concatenate([np.asarray(a[key], dtype=float) for a, _ in runs], axis=2)


def summarize(cfg: Mapping[str, Any],
              runs: Sequence[tuple[Mapping[str, np.ndarray], Mapping[str, Any]]]) -> dict[str, Any]:
    """Means over data sets, natural gradient's variance against its limit, and the claims."""
    n, sigma2 = int(cfg["n"]), float(cfg["sigma2"])
    tol = float(cfg["variance_rel_tol"])
    first = runs[0][0]
    gammas, dims = np.asarray(first["gamma"], float), np.asarray(first["d"], float)
    family = preconditioners(cfg)
    gd = family.index(("geometric", 0.0))
    ngd = family.index(("geometric", 1.0))
    var = _pool(runs, "variance").mean(axis=2)  # (gammas, preconditioners)
    bias = {t: _pool(runs, f"bias_{t}").mean(axis=2) for t in _TARGETS}
    sets = _pool(runs, "variance").shape[2]
    limit = theory.ngd_variance_limit(gammas, sigma2)
    finite = dd.minnorm_variance_finite(n, dims, sigma2)
    series: dict[str, Any] = {"gamma": gammas, "d": dims, "variance_limit": limit,
                              "variance_finite_n": finite,
                              "family": [f for f, _ in family], "alpha": [a for _, a in family]}
    for j, (name, alpha) in enumerate(family):
        key = f"{name}_{alpha:g}"
        series[f"variance_{key}"] = var[:, j]
        for t in _TARGETS:
            series[f"bias_{t}_{key}"] = bias[t][:, j]
    series["variance_ngd"], series["variance_gd"] = var[:, ngd], var[:, gd]

    rel = np.abs(var[:, ngd] / limit - 1.0)
    k = int(np.argmax(rel))
    claim_var = {
        "id": f"{CATALOG}.ngd_variance_matches",
        "passed": bool(rel[k] <= tol),
        "measured": float(rel[k]),
        "expected": tol,
        "relation": "<=",
        "detail": (f"max over gamma of |NGD variance / (sigma^2/(gamma - 1)) - 1| = {rel[k]:.4f} "
                   f"at gamma = {gammas[k]:.3g} (measured {var[k, ngd]:.4g}, limit {limit[k]:.4g},"
                   f" exact finite-n mean {finite[k]:.4g}); {sets} data sets per gamma; "
                   f"condition number of Sigma {float(cfg['condition']):g}"),
    }
    others = [j for j in range(len(family)) if j != ngd]
    ratio = var[:, others] / var[:, [ngd]]
    gi, oj = np.unravel_index(int(np.argmin(ratio)), ratio.shape)
    runner = family[others[oj]]
    claim_smallest = {
        "id": f"{CATALOG}.ngd_variance_smallest",
        "passed": bool(ratio.min() > 1.0),
        "measured": float(ratio.min()),
        "expected": 1.0,
        "relation": ">",
        "detail": (f"smallest ratio of another preconditioner's mean variance to NGD's = "
                   f"{ratio.min():.4f} ({runner[0]} alpha = {runner[1]:g} at gamma = "
                   f"{gammas[gi]:.3g}); GD / NGD at the gammas: "
                   f"{', '.join(f'{v:.3g}' for v in var[:, gd] / var[:, ngd])}"),
    }
    claims = [claim_var, claim_smallest]
    for t, best, worst, words in (("isotropic", gd, ngd, "GD below NGD"),
                                  ("misaligned", ngd, gd, "NGD below GD")):
        r = bias[t][:, best] / bias[t][:, worst]
        k = int(np.argmax(r))
        claims.append({
            "id": f"{CATALOG}.bias_order_{t}",
            "passed": bool(r.max() < 1.0),
            "measured": float(r.max()),
            "expected": 1.0,
            "relation": "<",
            "detail": (f"{t} target: largest ratio of mean biases ({words} expected) = "
                       f"{r.max():.4f} at gamma = {gammas[k]:.3g}; GD bias "
                       f"{', '.join(f'{v:.3g}' for v in bias[t][:, gd])}, NGD bias "
                       f"{', '.join(f'{v:.3g}' for v in bias[t][:, ngd])} over the gammas"),
        })
    columns = ["gamma", "d", "variance_gd", "variance_ngd", "variance_limit",
               "bias_isotropic_gd", "bias_isotropic_ngd", "bias_misaligned_gd",
               "bias_misaligned_ngd"]
    rows = [[float(gammas[i]), int(dims[i]), float(var[i, gd]), float(var[i, ngd]),
             float(limit[i]), float(bias["isotropic"][i, gd]), float(bias["isotropic"][i, ngd]),
             float(bias["misaligned"][i, gd]), float(bias["misaligned"][i, ngd])]
            for i in range(len(gammas))]
    return {
        "series": {k: np.asarray(v).tolist() for k, v in series.items()},
        "claims": claims,
        "table": {"columns": columns, "rows": rows},
    }


def figures(metrics: Mapping[str, Any], lang: str, outdir: str | Path) -> list[Path]:
    """``bias_variance``: variance and the two biases against alpha for both families, one
    colour per gamma, with natural gradient's limiting variance."""
    from companion.plots import style

    outdir = Path(outdir)
    s = metrics["series"]
    gammas = np.asarray(s["gamma"], dtype=float)
    family = list(zip(s["family"], s["alpha"], strict=True))
    fig, axes = style.new_figure(ncols=3, width=10.0)
    panels = (("variance", style.tr(lang, "variance", "バリアンス")),
              ("bias_isotropic", style.tr(lang, r"bias, isotropic $\beta^*$",
                                          r"バイアス (等方的な $\beta^*$)")),
              ("bias_misaligned", style.tr(lang, r"bias, $\beta^* \sim N(0, \Sigma^{-1})$",
                                           r"バイアス ($\beta^* \sim N(0, \Sigma^{-1})$)")))
    for ax, (key, title) in zip(axes.ravel(), panels, strict=True):
        colour = style.colours()
        for i, g in enumerate(gammas):
            c = next(colour)
            for name, ls in (("geometric", "-"), ("additive", "--")):
                pts = sorted((a, s[f"{key}_{fam}_{a:g}"][i]) for fam, a in family
                             if fam == name or (name == "additive" and a in (0.0, 1.0)))
                ax.plot([p[0] for p in pts], [p[1] for p in pts], ls, color=c, marker="o", ms=3,
                        label=(f"$\\gamma = {g:.3g}$" if name == "geometric" else None))
            if key == "variance":
                ax.plot([1.0], [s["variance_limit"][i]], marker="*", ms=9, color="black",
                        linestyle="none", zorder=7,
                        label=(style.tr(lang, r"$\sigma^2/(\gamma-1)$", r"$\sigma^2/(\gamma-1)$")
                               if i == 0 else None))
        ax.set_yscale("log")
        ax.set_xlabel(style.tr(lang, r"$\alpha$ (0: GD, 1: NGD)", r"$\alpha$ (0: GD、1: NGD)"))
        ax.set_title(title)
    axes.ravel()[0].legend(fontsize=7)
    return [style.save(fig, outdir / "bias_variance.svg")]

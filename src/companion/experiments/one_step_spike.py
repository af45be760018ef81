"""C1: one large gradient step on the first layer creates a spike aligned with the target's index.

Claim (Ba, Erdogdu, Suzuki, Wang, Wu and Yang 2022, Thm. 3): in the proportional limit
``n = psi1 d``, ``N = psi2 d``, one full-batch gradient step ``W_1 = W_0 + eta sqrt(N) G`` on the
first layer of ``f(x) = (1/sqrt(N)) a^T sigma(W^T x)`` adds to ``W_0`` a rank-one spike. Above the
threshold ``theta1 > psi2^{1/4}`` the top singular value of ``W_1`` leaves the Marchenko-Pastur
bulk and its left singular vector ``u1`` makes a non-trivial angle with the target's index
``beta*``; below it neither happens (limits in :mod:`companion.theory.one_step`).

Stages:

- ``generate``: the index ``beta*`` (uniform on the unit sphere) and the seeds of the data and
  initialisation streams; the ``n x d`` inputs are drawn in ``train`` from them.
- ``train``: ``x ~ N(0, I_d)``, ``y = sigma*(<x, beta*>)`` (noiseless); a two-layer net in the
  ``one_step`` parameterisation of the batched engine and its exact full-batch gradient of the
  squared loss (:mod:`companion.nn.one_step`, the prediction at initialisation included) and,
  for every ``eta``,
  ``W_1``'s singular values and ``|<u1, beta*>|^2``, all in float64. The gradient does not depend
  on ``eta``, so one gradient serves the whole sweep and every ``eta`` shares ``W_0``.
- ``summarize``: means over seeds beside the limits at the realised ratios ``n / d``, ``N / d``,
  and the two claims.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from companion import memory
from companion.stats import mean_and_se
from companion.theory import one_step as theory

ID = "one_step_spike"
CATALOG = "C1"
PART = 3
SOURCES = ["stats.py", "theory/one_step.py", "nn/one_step.py", "nn/ensemble.py", "nn/backprop.py",
           "nn/parameterisation.py", "nn/activations.py", "nn/losses.py", "plots/style.py"]
FIGURES = ("spike_vs_eta", "singular_values")

# Every claim is decided on one seed's runs as well as on the pooled ones.
POOLED_ONLY: dict[str, str] = {}

_SECTION = f"experiments.{ID}"


# --------------------------------------------------------------------------------------------
# configuration


def sizes(cfg: Mapping[str, Any]) -> tuple[int, int, int]:
    """``(d, n, N)``: input dimension, ``n = round(psi1 d)`` samples, width ``round(psi2 d)``."""
    d = int(cfg["d"])
    return d, round(float(cfg["psi1"]) * d), round(float(cfg["psi2"]) * d)


def realised_ratios(cfg: Mapping[str, Any]) -> tuple[float, float]:
    """``(n / d, N / d)`` after rounding: the ratios the limits are evaluated at."""
    d, n, width = sizes(cfg)
    return n / d, width / d


def check(cfg: Mapping[str, Any]) -> None:
    """What the schema cannot say: functions of the theorem's kind, sizes that round to >= 1, and
    step sizes on both sides of the threshold, none within ``threshold_margin`` of it."""
    from companion.config import ConfigError

    d, n, width = sizes(cfg)
    if n < 1 or width < 1:
        raise ConfigError(f"{_SECTION}: psi1 * d and psi2 * d must round to >= 1; "
                          f"got n = {n}, N = {width}")
    for key in ("activation", "target"):
        m = theory.moments(str(cfg[key]))
        if abs(m.mean) > 1e-9:
            raise ConfigError(f"{_SECTION}.{key}: {cfg[key]!r} has mean {m.mean:.3g}; the theorem "
                              "needs a mean-zero function")
    if abs(theory.moments(str(cfg["activation"])).mu1) < 1e-6:
        raise ConfigError(f"{_SECTION}.activation: E[z sigma(z)] = 0, so no spike can form")
    psi1, psi2 = realised_ratios(cfg)
    theta1, _ = theory.thetas(cfg["etas"], cfg["activation"], cfg["target"], psi1)
    ratio = theta1 / theory.threshold(psi2)
    margin = float(cfg["threshold_margin"])
    close = [float(e) for e, r in zip(cfg["etas"], ratio, strict=True)
             if 1.0 / (1.0 + margin) <= r <= 1.0 + margin]
    if close:
        eta_star = theory.threshold_eta(cfg["activation"], cfg["target"], psi1, psi2)
        raise ConfigError(f"{_SECTION}.etas: {close} lie within threshold_margin = {margin:g} of "
                          f"the threshold eta = {eta_star:.4g}, where finite-d spikes converge too "
                          "slowly to be compared with the limit")
    if not (ratio < 1.0).any() or not (ratio > 1.0).any():
        eta_star = theory.threshold_eta(cfg["activation"], cfg["target"], psi1, psi2)
        raise ConfigError(f"{_SECTION}.etas: need step sizes on both sides of the threshold "
                          f"eta = {eta_star:.4g}; got {list(cfg['etas'])}")


def peak_memory_mb(cfg: Mapping[str, Any]) -> dict[str, tuple[float, str]]:
    """Estimated peak memory per job (:mod:`companion.memory`), float64: training holds the inputs
    ``(n, d)``, three ``(n, N)`` arrays of the forward and backward pass, about six ``(d, N)``
    weight-sized arrays and the ``(m, m)`` Gram matrix of ``W_1`` with its eigenvectors,
    ``m = min(d, N)``."""
    d, n, width = sizes(cfg)
    m = min(d, width)
    train = memory.dominant("train", {"psi1": 8.0 * (n * d + 3 * n * width),
                                      "d": 8.0 * (6 * d * width + 4 * m * m)})
    metrics = 8.0 * 4 * len(cfg["etas"]) * m * len(cfg["seeds"])
    return {"data": memory.dominant("data", {"d": 8.0 * d}),
            "train": train, "metrics": memory.dominant("metrics", {"etas": metrics})}


# --------------------------------------------------------------------------------------------
# data


def _stream_seed(seed: int, k: int) -> int:
    state = np.random.SeedSequence([seed, 0xC1, k]).generate_state(1, dtype=np.uint64)
    return int(state[0] >> np.uint64(1))  # fits torch's int64 seed


def generate(cfg: Mapping[str, Any], seed: int) -> dict[str, np.ndarray]:
    """The unit index ``beta*`` and the seeds of the input and initialisation streams."""
    d = int(cfg["d"])
    g = np.random.default_rng([seed, 0xC1, d]).standard_normal(d)
    return {"beta_star": g / np.linalg.norm(g),
            "streams": np.array([_stream_seed(seed, 1), _stream_seed(seed, 2)], dtype=np.int64)}


# --------------------------------------------------------------------------------------------
# training


def _spectrum(w1, beta) -> tuple[np.ndarray, float]:
    """Singular values of ``W_1`` (descending) and ``|<u1, beta*>|^2`` for its top left singular
    vector, through the eigendecomposition of the smaller Gram matrix."""
    import torch

    d, width = w1.shape
    if d <= width:
        evals, evecs = torch.linalg.eigh(w1 @ w1.T)
        u1 = evecs[:, -1]
    else:
        evals, evecs = torch.linalg.eigh(w1.T @ w1)
        u1 = w1 @ evecs[:, -1]
        u1 = u1 / u1.norm()
    sv = evals.clamp_min(0.0).sqrt().flip(0)
    return sv.cpu().numpy(), float((u1 @ beta) ** 2)


def train(cfg: Mapping[str, Any], data: Mapping[str, np.ndarray], seed: int, device: Any,
          log: Callable[[str], None]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """One gradient, then ``W_1``'s spectrum and alignment for every step size (module doc)."""
    import torch

    from companion.nn.one_step import first_step, initial_weights, stepped_weights

    etas = np.asarray(cfg["etas"], dtype=float)
    d, n, width = sizes(cfg)
    model, grad = first_step(d, n, width, str(cfg["activation"]), str(cfg["target"]),
                             data["beta_star"], data["streams"], device)
    beta = torch.as_tensor(data["beta_star"], dtype=torch.float64, device=device)
    grad_sv = torch.linalg.svdvals(grad).cpu().numpy()
    singular_values, alignment = [], []
    for eta in etas:
        sv, align = _spectrum(stepped_weights(model, grad, eta), beta)
        singular_values.append(sv)
        alignment.append(align)
        log(f"eta={eta:g}: sigma1(W1) = {sv[0]:.4f}, sigma2 = {sv[1]:.4f}, "
            f"|<u1, beta*>|^2 = {align:.4f}")
    sv0 = torch.linalg.svdvals(initial_weights(model)).cpu().numpy()
    arrays = {
        "eta": etas,
        "alignment": np.asarray(alignment),
        "singular_values": np.stack(singular_values),
        "sigma1": np.array([s[0] for s in singular_values]),
        "sigma2": np.array([s[1] for s in singular_values]),
        "sigma1_w0": np.array([sv0[0]]),
        "grad_sv": grad_sv[:2],
    }
    scalars = {"grad_sv_ratio": float(grad_sv[1] / grad_sv[0]) if grad_sv[0] > 0 else None}
    return arrays, scalars


# --------------------------------------------------------------------------------------------
# metrics



def summarize(cfg: Mapping[str, Any],
              runs: Sequence[tuple[Mapping[str, np.ndarray], Mapping[str, Any]]]) -> dict[str, Any]:
    """Average the seeds, put the limits beside them and decide the two claims."""
    psi1, psi2 = realised_ratios(cfg)
    etas = np.asarray(runs[0][0]["eta"], dtype=float)
    theta1, theta2 = theory.thetas(etas, cfg["activation"], cfg["target"], psi1)
    align_th = theory.alignment_limit(theta1, theta2, psi2)
    sigma1_th = theory.sigma1_limit(theta1, psi2)
    def stacked(key: str) -> np.ndarray:
        return np.stack([np.asarray(a[key], dtype=float) for a, _ in runs])

    align, align_se = mean_and_se(stacked("alignment"))
    sigma1, sigma1_se = mean_and_se(stacked("sigma1"))
    sigma2, _ = mean_and_se(stacked("sigma2"))
    ratio = [float(s.get("grad_sv_ratio") or 0.0) for _, s in runs]
    above = theta1 > theory.threshold(psi2)

    align_err = np.abs(align - align_th)
    sigma1_err = np.abs(sigma1 / sigma1_th - 1.0)
    a_tol, s_tol = float(cfg["alignment_tol"]), float(cfg["sigma1_tol"])

    def worst(err: np.ndarray) -> int:
        # NaN (a diverged run) counts as the worst point rather than being skipped.
        return int(np.argmax(np.where(np.isnan(err), np.inf, err)))

    ka, ks = worst(align_err), worst(sigma1_err)
    sides = f"{int(above.sum())} of {etas.size} step sizes above the threshold"
    claim_align = {
        "id": f"{CATALOG}.alignment_matches_limit",
        "passed": bool(np.all(align_err <= a_tol)),
        "measured": float(align_err[ka]),
        "expected": a_tol,
        "relation": "<=",
        "context": {"eta_worst": float(etas[ka]), "measured_at": float(align[ka]),
                    "theory_at": float(align_th[ka]), "n_above": int(above.sum()),
                    "n_etas": int(etas.size), "d": int(cfg["d"]), "psi1": float(psi1),
                    "psi2": float(psi2)},
        "detail": (f"max |alignment - limit| = {align_err[ka]:.4f} at eta = {etas[ka]:g} "
                   f"(measured {align[ka]:.4f}, limit {align_th[ka]:.4f}); {sides}; "
                   f"d = {int(cfg['d'])}, psi1 = {psi1:.4g}, psi2 = {psi2:.4g}"),
    }
    claim_sigma1 = {
        "id": f"{CATALOG}.sigma1_matches_limit",
        "passed": bool(np.all(sigma1_err <= s_tol)),
        "measured": float(sigma1_err[ks]),
        "expected": s_tol,
        "relation": "<=",
        "context": {"eta_worst": float(etas[ks]), "measured_at": float(sigma1[ks]),
                    "theory_at": float(sigma1_th[ks]), "bulk_edge": float(theory.mp_edge(psi2)),
                    "n_above": int(above.sum()), "n_etas": int(etas.size),
                    "grad_sv_ratio": float(max(ratio))},
        "detail": (f"max |sigma1 / limit - 1| = {sigma1_err[ks]:.4f} at eta = {etas[ks]:g} "
                   f"(measured {sigma1[ks]:.4f}, limit {sigma1_th[ks]:.4f}; bulk edge "
                   f"{theory.mp_edge(psi2):.4f}); {sides}; second singular value of the "
                   f"gradient / first = {max(ratio):.3f} at most"),
    }
    series = {
        "eta": etas.tolist(),
        "theta1": theta1.tolist(),
        "theta2": theta2.tolist(),
        "above_threshold": above.astype(int).tolist(),
        "alignment": align.tolist(),
        "alignment_se": align_se,
        "alignment_theory": align_th.tolist(),
        "sigma1": sigma1.tolist(),
        "sigma1_se": sigma1_se,
        "sigma1_theory": sigma1_th.tolist(),
        "sigma2": sigma2.tolist(),
        # One seed's full spectra, for the histogram figure.
        "singular_values": np.asarray(runs[0][0]["singular_values"], dtype=float).tolist(),
        "mp_edge": theory.mp_edge(psi2),
        "threshold_eta": theory.threshold_eta(cfg["activation"], cfg["target"], psi1, psi2),
        "grad_sv_ratio": ratio,
    }
    columns = ["eta", "theta1", "alignment", "alignment_theory", "sigma1", "sigma1_theory",
               "sigma2"]
    rows = [[float(series[c][i]) for c in columns] for i in range(etas.size)]
    return {"series": series, "claims": [claim_align, claim_sigma1],
            "table": {"columns": columns, "rows": rows}}


# --------------------------------------------------------------------------------------------
# figures


def figures(metrics: Mapping[str, Any], lang: str, outdir: str | Path) -> list[Path]:
    """``spike_vs_eta`` (alignment and sigma1 against eta, limits overlaid) and
    ``singular_values`` (histograms of W_1's spectrum below and above the threshold)."""
    from companion.plots import style

    outdir = Path(outdir)
    cfg, s = metrics["config"], metrics["series"]
    psi1, psi2 = realised_ratios(cfg)
    etas = np.asarray(s["eta"], dtype=float)
    eta_star = float(s["threshold_eta"])
    fine = np.linspace(0.0, 1.1 * etas.max(), 600)[1:]
    t1, t2 = theory.thetas(fine, cfg["activation"], cfg["target"], psi1)
    theory_label = style.tr(lang, "limit", "極限")
    thr_label = style.tr(lang, "threshold", "しきい値")
    written = []

    fig, axes = style.new_figure(ncols=2)
    axes = axes.ravel()
    colour = style.colours()
    c = next(colour)
    for ax, key, curve, ylabel in (
            (axes[0], "alignment", theory.alignment_limit(t1, t2, psi2),
             r"$|\langle u_1, \beta^* \rangle|^2$"),
            (axes[1], "sigma1", theory.sigma1_limit(t1, psi2), r"$\sigma_1(W_1)$")):
        ax.plot(fine, curve, **style.THEORY_STYLE, label=theory_label)
        se = np.asarray([0.0 if v is None else v for v in s[f"{key}_se"]], dtype=float)
        ax.errorbar(etas, s[key], yerr=2.0 * se, fmt="o", color=c, ms=4, capsize=2,
                    label=style.tr(lang, "measured", "測定値"), zorder=6)
        ax.axvline(eta_star, color="0.5", lw=0.8, linestyle=":", label=thr_label)
        ax.set_xlabel(r"$\eta$")
        ax.set_ylabel(ylabel)
    axes[1].axhline(float(s["mp_edge"]), color="0.5", lw=0.8, linestyle="-.",
                    label=style.tr(lang, r"bulk edge $1 + \sqrt{\psi_2}$",
                                   r"バルクの端 $1 + \sqrt{\psi_2}$"))
    axes[0].legend(loc="upper left")
    axes[1].legend(loc="upper left")
    written.append(style.save(fig, outdir / "spike_vs_eta.svg"))

    below = np.flatnonzero(np.asarray(s["above_threshold"]) == 0)
    above = np.flatnonzero(np.asarray(s["above_threshold"]) == 1)
    picks = [int(below[-1]) if below.size else 0, int(above[-1]) if above.size else -1]
    fig, axes = style.new_figure(ncols=2)
    axes = axes.ravel()
    for ax, k in zip(axes, picks, strict=True):
        sv = np.asarray(s["singular_values"][k], dtype=float)
        ax.hist(sv, bins=60, color=style.MEASURED_COLOURS[0], alpha=0.8)
        ax.axvline(float(s["mp_edge"]), color="0.5", lw=0.9, linestyle="-.",
                   label=style.tr(lang, "MP bulk edge", "MP分布の端"))
        ax.axvline(float(s["sigma1_theory"][k]), **style.THEORY_STYLE,
                   label=style.tr(lang, r"limit of $\sigma_1$", r"$\sigma_1$ の極限"))
        ax.set_yscale("log")
        ax.set_title(rf"$\eta = {etas[k]:g}$, $\theta_1 = {s['theta1'][k]:.2f}$")
        ax.set_xlabel(style.tr(lang, r"singular value of $W_1$", r"$W_1$ の特異値"))
    axes[0].set_ylabel(style.tr(lang, "count", "個数"))
    axes[1].legend(loc="center right")
    written.append(style.save(fig, outdir / "singular_values.svg"))
    return written

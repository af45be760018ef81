"""A6: power-law scaling of kernel ridge regression's risk (classical learning theory).

Claim (Caponnetto & De Vito 2007, Thm 1): for a kernel with eigenvalues ``mu_j ~ j^{-b}``, a
target satisfying the source condition ``f* = T^r h`` (``1/2 <= r <= 1``) and the penalty
``lam_n = lam0 n^{-b/(2rb+1)}``, the excess risk falls as ``n^{-2rb/(2rb+1)}``. At every finite n
the risk is close to its deterministic equivalent (Bordelon, Canatar & Pehlevan 2020; Simon et
al. 2021), a sum over the eigenvalues of a bias and a variance term
(:mod:`companion.theory.scaling_law`).

Stages:

- ``generate``: the target's signs (its coefficient magnitudes are the theory's, see
  :func:`companion.theory.scaling_law.source_coefficients`) and, per sample size and data set,
  the training inputs (indices on the ``grid_size``-point grid of the circle, uniform) and the
  noise. Each (n, data set) has its own random stream, so the grid of n does not change the
  data of any one n. The largest n gets ``reps`` data sets, a smaller n about
  ``reps * max(ns) / n`` (at most ``64 reps``): at small n the bias is heavy-tailed (a sample
  that leaves a gap on the circle misses a whole stretch of f*), a few data sets do not estimate
  its mean, and small data sets cost next to nothing (a fit costs ~n^3).
- ``train``: kernel ridge regression ``alpha = (K + n lam I)^{-1} y`` (one Cholesky factor per
  data set), in float64. Measured per data set, with the noise averaged out exactly given X:
  the bias ``|S f* - f*|^2`` (``S`` the smoother) and the variance
  ``sigma2 tr(A^{-1} K2 A^{-1})`` (``A = K + n lam I``, ``K2`` the kernel with squared
  eigenvalues, so ``alpha^T K2 alpha`` is ``|f_alpha|^2_{L2}``), and as a check the realised
  excess risk with the drawn noise. Functions are evaluated on the whole grid by FFT
  convolution, so every L2 norm is exact for the grid's law.
- ``summarize``: means (and standard errors) over all data sets per n, the deterministic
  equivalent, the fitted exponent with its standard error, and the two claims.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from companion import memory
from companion.theory import scaling_law as theory
from companion.theory.powerlaw import loglog_fit

ID = "scaling_law"
CATALOG = "A6"
PART = 1
SOURCES = ["theory/scaling_law.py", "theory/powerlaw.py", "plots/style.py"]
FIGURES = ("risk_vs_n", "bias_variance")
# Every claim is decided on one seed's runs as well as on the pooled ones.
POOLED_ONLY: dict[str, str] = {}

_SECTION = f"experiments.{ID}"
# Caponnetto–De Vito's range of the source exponent: below 1/2 the target leaves the RKHS (their
# proof needs f* in H), above 1 ridge regression saturates and the rate stops improving.
R_RANGE = (0.5, 1.0)


# --------------------------------------------------------------------------------------------
# configuration


def check(cfg: Mapping[str, Any]) -> None:
    """The theory's range of r, b > 1, an odd grid, at least three increasing sample sizes."""
    from companion.config import ConfigError

    r, b = float(cfg["r"]), float(cfg["b"])
    if not R_RANGE[0] <= r <= R_RANGE[1]:
        raise ConfigError(f"{_SECTION}.r: {r} is outside [{R_RANGE[0]}, {R_RANGE[1]}], the range "
                          "of the source condition where Caponnetto-De Vito's rate holds for "
                          "ridge regression (below 1/2 f* leaves the RKHS, above 1 ridge "
                          "saturates)")
    if not b > 1.0:
        raise ConfigError(f"{_SECTION}.b: {b} must be > 1 (a trace-class kernel: sum mu_j finite)")
    if int(cfg["grid_size"]) % 2 == 0:
        raise ConfigError(f"{_SECTION}.grid_size: {cfg['grid_size']} must be odd (then the "
                          "Fourier basis is exactly orthonormal on the grid)")
    ns = [int(n) for n in cfg["ns"]]
    if len(ns) < 3 or any(b2 <= a for a, b2 in zip(ns, ns[1:], strict=False)):
        raise ConfigError(f"{_SECTION}.ns: need at least 3 strictly increasing sizes to fit an "
                          f"exponent with a standard error, got {ns}")


def peak_memory_mb(cfg: Mapping[str, Any]) -> dict[str, tuple[float, str]]:
    """Estimated peak memory per job (:mod:`companion.memory`), float64: the largest data set's
    kernel, penalised kernel and its Cholesky factor, inverse, ``K2`` and one product
    (``6 n^2``), and the grid's FFT buffers (a few complex ``grid_size`` arrays)."""
    n = max(int(v) for v in cfg["ns"])
    terms = {"ns": 8.0 * 6 * n * n, "grid_size": 16.0 * 8 * int(cfg["grid_size"])}
    return {"train": memory.dominant("train", terms)}


# --------------------------------------------------------------------------------------------
# data


def datasets(cfg: Mapping[str, Any], n: int) -> int:
    """Data sets per seed at sample size n: ``reps`` at the largest n, ``~reps max(ns) / n``
    below it (at most ``64 reps``); see the module docstring."""
    reps, n_max = int(cfg["reps"]), max(int(v) for v in cfg["ns"])
    return reps * min(64, -(-n_max // int(n)))


def generate(cfg: Mapping[str, Any], seed: int) -> dict[str, np.ndarray]:
    """Target signs, and per (n, repetition) inputs on the grid and noise, concatenated."""
    grid, sigma = int(cfg["grid_size"]), float(cfg["sigma2"]) ** 0.5
    signs = np.random.default_rng([seed, 0xA6, 0]).choice([-1.0, 1.0], size=grid)
    idx, noise = [], []
    for n in (int(v) for v in cfg["ns"]):
        for rep in range(datasets(cfg, n)):
            rng = np.random.default_rng([seed, 0xA6, n, rep + 1])
            idx.append(rng.integers(0, grid, size=n))
            noise.append(sigma * rng.standard_normal(n))
    return {"signs": signs, "ns": np.asarray(cfg["ns"], dtype=np.int64),
            "idx": np.concatenate(idx), "noise": np.concatenate(noise)}


# --------------------------------------------------------------------------------------------
# training


def target_on_grid(cfg: Mapping[str, Any], signs: np.ndarray) -> np.ndarray:
    """f* at the grid points: ``sum_j c_j phi_j`` with ``|c_j|`` from the source condition."""
    grid = int(cfg["grid_size"])
    coef = signs * np.sqrt(theory.source_coefficients(float(cfg["b"]), float(cfg["r"]), grid))
    return _synthesise(coef, grid)


def _synthesise(coef: np.ndarray, grid: int) -> np.ndarray:
    """``sum_j coef_j phi_j(m / N)`` for the basis ``1, sqrt2 cos, sqrt2 sin`` (an inverse DFT)."""
    half = (grid - 1) // 2
    spec = np.zeros(grid, dtype=complex)
    spec[0] = coef[0]
    # sqrt2 (a cos + b sin)(2 pi k t) = sqrt2 Re((a - i b) e^{2 pi i k t}).
    z = (coef[1::2] - 1j * coef[2::2]) / np.sqrt(2.0)
    spec[1:half + 1] = z
    spec[half + 1:] = np.conj(z[::-1])
    return np.real(np.fft.ifft(spec)) * grid


def _on_grid(alpha: np.ndarray, idx: np.ndarray, kernel_fft: np.ndarray) -> np.ndarray:
    """``sum_i alpha_i k(g - x_i)`` at every grid point g: a circular convolution (FFT)."""
    spikes = np.zeros(kernel_fft.size)
    np.add.at(spikes, idx, alpha)
    return np.real(np.fft.ifft(np.fft.fft(spikes) * kernel_fft))


def fit_one(idx: np.ndarray, noise: np.ndarray, f_star: np.ndarray, k_grid: np.ndarray,
            k2_grid: np.ndarray, lam: float, sigma2: float) -> dict[str, float]:
    """Kernel ridge on one data set: bias and variance given X (noise averaged exactly) and the
    realised excess risk, all as L2 norms over the grid's law."""
    import torch

    n, grid = idx.size, k_grid.size
    diff = (idx[:, None] - idx[None, :]) % grid
    f64 = torch.float64
    gram = torch.as_tensor(k_grid[diff], dtype=f64)
    gram2 = torch.as_tensor(k2_grid[diff], dtype=f64)
    chol = torch.linalg.cholesky(gram + n * lam * torch.eye(n, dtype=f64))
    clean = torch.as_tensor(f_star[idx], dtype=f64)[:, None]
    rhs = torch.cat([clean, clean + torch.as_tensor(noise, dtype=f64)[:, None]], dim=1)
    alphas = torch.cholesky_solve(rhs, chol).numpy()
    a_inv = torch.cholesky_inverse(chol)
    variance = sigma2 * float((a_inv * (gram2 @ a_inv)).sum())
    kernel_fft = np.fft.fft(k_grid)
    bias = float(np.mean((_on_grid(alphas[:, 0], idx, kernel_fft) - f_star) ** 2))
    realised = float(np.mean((_on_grid(alphas[:, 1], idx, kernel_fft) - f_star) ** 2))
    return {"bias": bias, "variance": variance, "risk_realised": realised}


def train(cfg: Mapping[str, Any], data: Mapping[str, np.ndarray], seed: int, device: Any,
          log: Callable[[str], None]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Kernel ridge at every n and repetition; see the module docstring. Runs on the CPU: the
    work is a few Cholesky factorisations per data set, and float64 is needed there."""
    grid = int(cfg["grid_size"])
    b, r, sigma2 = float(cfg["b"]), float(cfg["r"]), float(cfg["sigma2"])
    ns = np.asarray(data["ns"], dtype=int)
    lams = theory.cdv_lambda(ns, b, r, float(cfg["lam0"]))
    mu = theory.circle_spectrum(b, grid)
    k_grid = theory.kernel_on_grid(mu, grid)
    k2_grid = theory.kernel_on_grid(mu**2, grid)
    f_star = target_on_grid(cfg, np.asarray(data["signs"]))
    counts = [datasets(cfg, int(n)) for n in ns]
    # One entry per data set, all n one after the other; ``n_index`` says whose it is (no NaN
    # padding: a NaN would read as a diverged run).
    n_index = np.repeat(np.arange(ns.size), counts)
    out = {key: np.zeros(n_index.size) for key in ("bias", "variance", "risk_realised")}
    start, k = 0, 0
    for i, n in enumerate(ns):
        for _ in range(counts[i]):
            idx = np.asarray(data["idx"][start:start + n])
            noise = np.asarray(data["noise"][start:start + n])
            start += n
            for key, value in fit_one(idx, noise, f_star, k_grid, k2_grid, float(lams[i]),
                                      sigma2).items():
                out[key][k] = value
            k += 1
        mine = n_index == i
        log(f"n={n} ({counts[i]} data sets): bias {out['bias'][mine].mean():.4g}, "
            f"variance {out['variance'][mine].mean():.4g}")
    return {"n": ns, "lam": lams, "n_index": n_index, **out}, {"datasets": counts}


# --------------------------------------------------------------------------------------------
# metrics


def _mean_se(samples: np.ndarray, n_index: np.ndarray,
             size: int) -> tuple[np.ndarray, list[float | None]]:
    """Per-n mean over its data sets and the standard error of that mean (``None`` with one)."""
    mean, se = np.zeros(size), []
    for i in range(size):
        mine = samples[n_index == i]
        mean[i] = mine.mean()
        se.append(float(mine.std(ddof=1) / np.sqrt(mine.size)) if mine.size >= 2 else None)
    return mean, se


def theory_curves(cfg: Mapping[str, Any], ns: np.ndarray) -> dict[str, np.ndarray]:
    """The deterministic equivalent's bias, variance and risk at each n (with lam_n)."""
    b, r, grid = float(cfg["b"]), float(cfg["r"]), int(cfg["grid_size"])
    mu = theory.circle_spectrum(b, grid)
    c2 = theory.source_coefficients(b, r, grid)
    lams = theory.cdv_lambda(ns, b, r, float(cfg["lam0"]))
    pairs = np.array([theory.deterministic_equivalent(mu, c2, int(n), float(lam),
                                                      float(cfg["sigma2"]))
                      for n, lam in zip(ns, lams, strict=True)])
    return {"bias_theory": pairs[:, 0], "variance_theory": pairs[:, 1],
            "risk_theory": pairs.sum(axis=1)}


def summarize(cfg: Mapping[str, Any],
              runs: Sequence[tuple[Mapping[str, np.ndarray], Mapping[str, Any]]]) -> dict[str, Any]:
    """Pool the data sets of all seeds per n, put the theory beside them, decide the claims."""
    b, r = float(cfg["b"]), float(cfg["r"])
    exp_tol, rel_tol = float(cfg["exponent_tol"]), float(cfg["risk_rel_tol"])
    ns = np.asarray(runs[0][0]["n"], dtype=float)
    pooled = {key: np.concatenate([np.asarray(a[key], dtype=float) for a, _ in runs])
              for key in ("bias", "variance", "risk_realised")}
    pooled["risk"] = pooled["bias"] + pooled["variance"]
    n_index = np.concatenate([np.asarray(a["n_index"], dtype=int) for a, _ in runs])
    series: dict[str, Any] = {"n": ns, "lam": np.asarray(runs[0][0]["lam"], dtype=float),
                              "datasets": np.bincount(n_index, minlength=ns.size)}
    for key, samples in pooled.items():
        series[key], series[f"{key}_se"] = _mean_se(samples, n_index, ns.size)
    series.update(theory_curves(cfg, ns))
    series["rel_error"] = series["risk"] / series["risk_theory"] - 1.0
    slope, slope_se = loglog_fit(ns, series["risk"])
    theory_slope, _ = loglog_fit(ns, series["risk_theory"])
    expected = theory.cdv_exponent(b, r)
    series["exponent"] = slope
    series["exponent_se"] = slope_se
    series["exponent_theory"] = expected
    series["exponent_equivalent"] = theory_slope

    gap = abs(slope - expected)
    se_text = "n/a" if slope_se is None else f"{slope_se:.3f}"
    claim_exponent = {
        "id": f"{CATALOG}.exponent_matches_rate",
        "passed": bool(gap <= exp_tol),
        "measured": float(gap),
        "expected": exp_tol,
        "relation": "<=",
        "detail": (f"fitted exponent {slope:.3f} (standard error {se_text}) vs "
                   f"-2rb/(2rb+1) = {expected:.3f} (b = {b:g}, r = {r:g}); the deterministic "
                   f"equivalent's own slope over the same n is {theory_slope:.3f}; "
                   f"n = {int(ns[0])}..{int(ns[-1])}"),
    }
    rel = np.abs(series["rel_error"])
    worst = int(np.argmax(rel))
    claim_equivalent = {
        "id": f"{CATALOG}.risk_matches_equivalent",
        "passed": bool(rel[worst] <= rel_tol),
        "measured": float(rel[worst]),
        "expected": rel_tol,
        "relation": "<=",
        "detail": (f"max |risk / equivalent - 1| = {rel[worst]:.4f} at n = {int(ns[worst])} "
                   f"(measured {series['risk'][worst]:.4g}, equivalent "
                   f"{series['risk_theory'][worst]:.4g}, "
                   f"{int(series['datasets'][worst])} data sets there)"),
    }

    columns = ["n", "lam", "bias", "bias_theory", "variance", "variance_theory", "risk",
               "risk_theory", "rel_error"]
    rows = [[int(ns[i])] + [float(series[c][i]) for c in columns[1:]] for i in range(ns.size)]
    return {
        "series": {k: (np.asarray(v).tolist() if isinstance(v, np.ndarray) else v)
                   for k, v in series.items()},
        "claims": [claim_exponent, claim_equivalent],
        "table": {"columns": columns, "rows": rows},
    }


# --------------------------------------------------------------------------------------------
# figures


def _arr(values: Sequence[Any]) -> np.ndarray:
    return np.asarray([np.nan if v is None else v for v in values], dtype=float)


def figures(metrics: Mapping[str, Any], lang: str, outdir: str | Path) -> list[Path]:
    """``risk_vs_n`` (measured risk, deterministic equivalent, the rate) and ``bias_variance``."""
    from companion.plots import style

    outdir = Path(outdir)
    s = metrics["series"]
    ns = _arr(s["n"])
    theory_label = style.tr(lang, "deterministic equivalent", "決定論的等価")
    written = []

    fig, ax = style.new_figure()
    colour = style.colours()
    risk, se = _arr(s["risk"]), _arr(s["risk_se"])
    ax.errorbar(ns, risk, yerr=2.0 * np.nan_to_num(se), fmt="o", color=next(colour), ms=4,
                capsize=2, lw=1, label=style.tr(lang, "measured risk", "測定したリスク"),
                zorder=6)
    ax.plot(ns, _arr(s["risk_theory"]), **style.THEORY_STYLE, label=theory_label)
    rate = float(s["exponent_theory"])
    ref = risk[0] * (ns / ns[0]) ** rate
    ax.plot(ns, ref, color="0.5", lw=1.0, linestyle=":",
            label=style.tr(lang, f"rate $n^{{{rate:.3f}}}$", f"レート $n^{{{rate:.3f}}}$"))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("$n$")
    ax.set_ylabel(style.tr(lang, "excess risk", "余剰誤差"))
    ax.legend(loc="upper right")
    written.append(style.save(fig, outdir / "risk_vs_n.svg"))

    fig, ax = style.new_figure()
    colour = style.colours()
    for key, marker, en, ja in (("bias", "o", "bias", "バイアス"),
                                ("variance", "s", "variance", "バリアンス")):
        c = next(colour)
        ax.errorbar(ns, _arr(s[key]), yerr=2.0 * np.nan_to_num(_arr(s[f"{key}_se"])),
                    fmt=marker, color=c, ms=4, capsize=2, lw=1,
                    label=style.tr(lang, en, ja), zorder=6)
        ax.plot(ns, _arr(s[f"{key}_theory"]), color=c, linestyle="--", lw=1.2,
                label=f"{theory_label}: " + style.tr(lang, en, ja))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("$n$")
    ax.set_ylabel(style.tr(lang, "excess risk", "余剰誤差"))
    ax.legend(loc="lower left")
    written.append(style.save(fig, outdir / "bias_variance.svg"))
    return written

"""D4: mean-field Langevin dynamics learns a k-sparse parity from far fewer samples than a kernel.

Claim (Suzuki, Wu, Oko and Nitanda 2023, "Feature learning via mean-field Langevin dynamics:
classifying sparse parities and beyond", Thm. 1 and Sec. 4): for ``x`` uniform on
``{-1, 1}^d`` and ``y = x_{i_1} ... x_{i_k}``, a two-layer net trained by MFLD on the logistic
loss classifies correctly from ``n = O(d)`` samples (up to logarithms, k fixed), while any
kernel method (fixed features) needs ``n`` of the order of the number of monomials it must
resolve, ``sum_{l <= k} C(d, l) ~ d^k / k!`` (Ghorbani et al. 2021; a rotation-invariant kernel
on the cube cannot single out the k relevant coordinates).

Setup: for every ``d`` in ``dims`` and ``n`` in ``ns``, ``n`` training points and ``n_test``
test points; the relevant coordinates are the first ``k`` (the problem is invariant under
permuting coordinates, and neither method is told which). MFLD: ``particles`` neurons
``h_z(x) = R [tanh(<x, z_1> + z_2) + z_3] / 2`` (:class:`companion.nn.langevin.TanhMeanFieldNet`)
for ``steps`` full-batch steps of :func:`companion.nn.langevin.mfld_step` with ``eta``, L2
strength ``lam1`` and entropy temperature ``lam2``. The kernel: Gaussian and Laplace kernel ridge
on the +-1 labels, bandwidth and penalty chosen on a held-out ``val_frac`` of the ``n`` points,
then refit on all ``n`` with the chosen pair; the better of the two kernels at each (d, n) by
test error is reported (a choice in the kernel's favour, so the comparison is conservative).

Verdicts: the required ``n`` of a method at ``d`` is the smallest ``n`` of the sweep whose mean
test error is below ``error_target``. (1) At every ``d`` MFLD's required ``n`` is smaller than the
kernel's (a kernel never below the target counts as larger than every ``n`` of the sweep).
(2) The kernel's required ``n`` grows faster with ``d`` than MFLD's: the difference of their
log-log slopes in ``d`` is at least ``slope_gap_min`` (the theory's gap is ``k - 1``: ``d^k``
against ``d``). A method that never reaches the target at some ``d`` gives no slope, and (2)
then fails, except for a kernel that misses only at the largest ``d``: its required ``n`` there is
then at least the largest ``n`` of the sweep, a lower bound that can only understate its growth.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from math import comb
from pathlib import Path
from typing import Any

import numpy as np

from companion import memory
from companion.theory.kernel_ridge import fit_select
from companion.theory.powerlaw import loglog_slope

ID = "mfld_sparse_parity"
CATALOG = "D4"
PART = 4
SOURCES = ["theory/kernel_ridge.py", "theory/powerlaw.py", "nn/langevin.py", "nn/losses.py",
           "plots/style.py"]
FIGURES = ("error_vs_n", "required_n_vs_d")
POOLED_ONLY: dict[str, str] = {}
METHODS = ("mfld", "kernel")
KERNELS = ("gaussian", "laplace")

_SECTION = f"experiments.{ID}"


# --------------------------------------------------------------------------------------------
# configuration


def check(cfg: Mapping[str, Any]) -> None:
    """Increasing sweeps, k at most the smallest d, a usable held-out split at the smallest n."""
    from companion.config import ConfigError

    for key in ("dims", "ns"):
        values = [int(v) for v in cfg[key]]
        if any(b <= a for a, b in zip(values, values[1:], strict=False)):
            raise ConfigError(f"{_SECTION}.{key}: must be strictly increasing, got {values}")
    if len(cfg["dims"]) < 2:
        raise ConfigError(f"{_SECTION}.dims: need at least 2 dimensions to compare growth in d")
    if int(cfg["k"]) > int(cfg["dims"][0]):
        raise ConfigError(f"{_SECTION}.k: the parity's order k = {cfg['k']} exceeds the smallest "
                          f"d = {cfg['dims'][0]}")
    n_tr, n_va = _split(int(cfg["ns"][0]), float(cfg["val_frac"]))
    if n_tr < 2 or n_va < 1:
        raise ConfigError(f"{_SECTION}.val_frac: the smallest n = {cfg['ns'][0]} splits into "
                          f"{n_tr} training and {n_va} validation points; need at least 2 and 1")


def _split(n: int, val_frac: float) -> tuple[int, int]:
    n_val = int(round(val_frac * n))
    return n - n_val, n_val


def peak_memory_mb(cfg: Mapping[str, Any]) -> dict[str, tuple[float, str]]:
    """Estimated peak memory of the train job (:mod:`companion.memory`): kernel ridge's Gram
    matrix, factor and test kernel at the largest n (float64); MFLD's ``(n, N)`` activations
    (a few float32 copies) and the test kernel ``(n_test, n)``."""
    n, n_test = max(int(v) for v in cfg["ns"]), int(cfg["n_test"])
    terms = {"ns": 8.0 * (3 * n * n + 2 * n * n_test),
             "particles": 4.0 * 4 * max(n, n_test) * int(cfg["particles"])}
    return {"train": memory.dominant("train", terms)}


def monomial_count(d: int, k: int) -> int:
    """``sum_{l <= k} C(d, l)``: the monomials of degree at most k on ``{-1, 1}^d``, the number
    of coefficients a kernel method must resolve to represent a degree-k parity."""
    return sum(comb(d, level) for level in range(k + 1))


# --------------------------------------------------------------------------------------------
# data


def generate(cfg: Mapping[str, Any], seed: int) -> dict[str, np.ndarray]:
    """Per (d, n): training inputs and labels; per d: test inputs and labels."""
    k, n_test = int(cfg["k"]), int(cfg["n_test"])
    out: dict[str, np.ndarray] = {}
    for d in (int(v) for v in cfg["dims"]):
        rng = np.random.default_rng([seed, 0xD4, d])
        x_test = rng.choice([-1.0, 1.0], size=(n_test, d))
        out[f"x_test_{d}"], out[f"y_test_{d}"] = x_test, x_test[:, :k].prod(axis=1)
        for n in (int(v) for v in cfg["ns"]):
            x = rng.choice([-1.0, 1.0], size=(n, d))
            out[f"x_{d}_{n}"], out[f"y_{d}_{n}"] = x, x[:, :k].prod(axis=1)
    return out


# --------------------------------------------------------------------------------------------
# training


def train_mfld(cfg: Mapping[str, Any], x: np.ndarray, y: np.ndarray, x_test: np.ndarray,
               y_test: np.ndarray, seed: int, device: Any) -> tuple[float, float]:
    """MFLD on the logistic loss; ``(test error, training loss)`` at the end.

    Initialisation as in the prototype that learned d <= 20: ``z_1, z_2 ~ N(0, 1/d)``,
    ``z_3 ~ N(0, 0.01)``.
    """
    import torch

    from companion.nn.langevin import TanhMeanFieldNet, mfld_step
    from companion.nn.losses import logistic, logistic_grad

    d = x.shape[1]
    gen = torch.Generator(device=device).manual_seed(
        int(np.random.SeedSequence([seed, 0xD4, d, len(x)]).generate_state(1)[0]))
    n_particles = int(cfg["particles"])
    theta = torch.randn((n_particles, d + 2), generator=gen, device=device) / np.sqrt(d)
    theta[:, -1] = 0.1 * torch.randn(n_particles, generator=gen, device=device)
    net = TanhMeanFieldNet(float(cfg["scale"]))
    tx = torch.as_tensor(x, dtype=torch.float32, device=device)
    ty = torch.as_tensor(y, dtype=torch.float32, device=device)
    eta, lam1, lam2 = float(cfg["eta"]), float(cfg["lam1"]), float(cfg["lam2"])

    def fv_grad(th: torch.Tensor) -> torch.Tensor:
        return net.first_variation_grad(th, tx, logistic_grad(net.output(th, tx), ty))

    with torch.no_grad():
        for _ in range(int(cfg["steps"])):
            theta = mfld_step(theta, fv_grad, eta, lam1, lam2, gen)
        pred = net.output(theta, torch.as_tensor(x_test, dtype=torch.float32, device=device))
        error = float((torch.sign(pred).cpu().numpy() != y_test).mean())
        loss = float(logistic(net.output(theta, tx), ty))
    return error, loss


def train_kernel(cfg: Mapping[str, Any], x: np.ndarray, y: np.ndarray, x_test: np.ndarray,
                 y_test: np.ndarray) -> dict[str, float]:
    """Gaussian and Laplace kernel ridge tuned on a held-out split, refit on all points; the test
    error of each and the chosen bandwidths (in units of sqrt(d)) and penalties."""
    d = x.shape[1]
    n_tr, _ = _split(len(x), float(cfg["val_frac"]))
    bandwidths = [float(b) * np.sqrt(d) for b in cfg["bandwidths"]]
    out: dict[str, float] = {}
    for kernel in KERNELS:
        sel = fit_select(x[:n_tr], y[:n_tr], x[n_tr:], y[n_tr:], x_test, kernel, bandwidths,
                         cfg["lams"])
        h, lam = float(sel.bandwidth[0]), float(sel.lam[0])
        # Refit on all n points with the chosen pair: the kernel sees as many labels as MFLD.
        refit = fit_select(x, y, x[n_tr:], y[n_tr:], x_test, kernel, [h], [lam])
        out[f"error_{kernel}"] = float(np.mean(np.sign(refit.test_pred[0]) != y_test))
        out[f"bandwidth_{kernel}"], out[f"lam_{kernel}"] = h / np.sqrt(d), lam
    return out


def train(cfg: Mapping[str, Any], data: Mapping[str, np.ndarray], seed: int, device: Any,
          log: Callable[[str], None]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """MFLD and both kernels at every (d, n); arrays of shape ``(len(dims), len(ns))``."""
    dims, ns = [int(v) for v in cfg["dims"]], [int(v) for v in cfg["ns"]]
    shape = (len(dims), len(ns))
    arrays = {name: np.zeros(shape) for name in
              ("error_mfld", "loss_mfld", *(f"{p}_{k}" for p in ("error", "bandwidth", "lam")
                                             for k in KERNELS))}
    for i, d in enumerate(dims):
        x_test, y_test = data[f"x_test_{d}"], data[f"y_test_{d}"]
        for j, n in enumerate(ns):
            x, y = data[f"x_{d}_{n}"], data[f"y_{d}_{n}"]
            arrays["error_mfld"][i, j], arrays["loss_mfld"][i, j] = train_mfld(
                cfg, x, y, x_test, y_test, seed, device)
            for key, value in train_kernel(cfg, x, y, x_test, y_test).items():
                arrays[key][i, j] = value
        log(f"d={d}: MFLD " + " ".join(f"{e:.3f}" for e in arrays["error_mfld"][i])
            + " | kernel " + " ".join(f"{min(a, b):.3f}" for a, b in
                                      zip(arrays["error_gaussian"][i], arrays["error_laplace"][i],
                                          strict=True)))
    arrays["d"] = np.asarray(dims, dtype=np.int64)
    arrays["n"] = np.asarray(ns, dtype=np.int64)
    return arrays, {}


# --------------------------------------------------------------------------------------------
# metrics


def required_n(ns: Sequence[float], errors: np.ndarray, target: float) -> list[float | None]:
    """Per row of ``errors`` (``(dims, ns)``): the smallest n whose error is below ``target``,
    ``None`` where no n of the sweep reaches it."""
    out: list[float | None] = []
    for row in np.atleast_2d(errors):
        hits = np.flatnonzero(np.asarray(row) < target)
        out.append(float(ns[hits[0]]) if hits.size else None)
    return out


def summarize(cfg: Mapping[str, Any],
              runs: Sequence[tuple[Mapping[str, np.ndarray], Mapping[str, Any]]]) -> dict[str, Any]:
    """Means over seeds per (d, n), the required n per method and d, and the two claims."""
    dims = [int(v) for v in runs[0][0]["d"]]
    ns = [int(v) for v in runs[0][0]["n"]]
    target, k = float(cfg["error_target"]), int(cfg["k"])
    stacked = {
        "mfld": np.stack([np.asarray(a["error_mfld"], dtype=float) for a, _ in runs]),
        # The better kernel at each (d, n), per seed: the comparison is in the kernel's favour.
        "kernel": np.stack([np.minimum(np.asarray(a["error_gaussian"], dtype=float),
                                       np.asarray(a["error_laplace"], dtype=float))
                            for a, _ in runs]),
    }
    series: dict[str, Any] = {"d": dims, "n": ns}
    mean: dict[str, np.ndarray] = {}
    for method in METHODS:
        mean[method] = stacked[method].mean(axis=0)
        series[f"error_{method}"] = mean[method].tolist()
        series[f"error_{method}_sd"] = (stacked[method].std(axis=0, ddof=1).tolist()
                                        if len(runs) > 1 else [[None] * len(ns)] * len(dims))
    gauss = np.mean([np.asarray(a["error_gaussian"], dtype=float) for a, _ in runs], axis=0)
    laplace = np.mean([np.asarray(a["error_laplace"], dtype=float) for a, _ in runs], axis=0)
    series["kernel_choice"] = [["gaussian" if g <= lp else "laplace" for g, lp in zip(gr, lr,
                                                                                      strict=True)]
                               for gr, lr in zip(gauss, laplace, strict=True)]
    req = {m: required_n(ns, mean[m], target) for m in METHODS}
    series["required_n_mfld"], series["required_n_kernel"] = req["mfld"], req["kernel"]
    series["monomials"] = [monomial_count(d, k) for d in dims]

    # (1) MFLD below the target at a smaller n than the kernel, at every d.
    def earlier(m: float | None, kern: float | None) -> bool:
        return m is not None and (kern is None or m < kern)

    wins = [earlier(m, kern) for m, kern in zip(req["mfld"], req["kernel"], strict=True)]
    claim_fewer = {
        "id": f"{CATALOG}.mfld_needs_fewer_samples",
        "passed": bool(all(wins)),
        "measured": float(sum(wins)),
        "expected": float(len(dims)),
        "relation": ">=",
        "context": {"dims": dims, "required_n_mfld": req["mfld"],
                    "required_n_kernel": req["kernel"], "error_target": target},
        "detail": (f"dimensions where MFLD is below {target:g} test error at a smaller n than "
                   f"the kernel: {sum(wins)} of {len(dims)}; required n per d = {dims}: MFLD "
                   f"{req['mfld']}, kernel {req['kernel']} (None: not reached up to n = "
                   f"{ns[-1]})"),
    }

    # (2) The kernel's required n grows faster in d, by at least slope_gap_min powers of d.
    kernel_n = list(req["kernel"])
    bounded = False
    if kernel_n[-1] is None and all(v is not None for v in kernel_n[:-1]):
        kernel_n[-1] = float(ns[-1])  # a lower bound: understates the kernel's growth
        bounded = True
    slopes: dict[str, float | None] = {}
    for method, values in (("mfld", req["mfld"]), ("kernel", kernel_n)):
        slopes[method] = (loglog_slope(dims, values) if all(v is not None for v in values)
                          else None)
    gap = (slopes["kernel"] - slopes["mfld"]
           if slopes["kernel"] is not None and slopes["mfld"] is not None else None)
    gap_min = float(cfg["slope_gap_min"])
    theory_slope = loglog_slope(dims, series["monomials"])
    claim_growth = {
        "id": f"{CATALOG}.kernel_n_grows_faster",
        "passed": bool(gap is not None and gap >= gap_min),
        "measured": float(gap) if gap is not None else -1.0,
        "expected": gap_min,
        "relation": ">=",
        "context": {"slope_kernel": slopes["kernel"], "slope_mfld": slopes["mfld"],
                    "slope_monomials": theory_slope, "kernel_lower_bound": bounded},
        "detail": (f"log-log slope in d of the required n: kernel "
                   f"{_fmt(slopes['kernel'])}{' (lower bound at the largest d)' if bounded else ''}"
                   f", MFLD {_fmt(slopes['mfld'])}, difference {_fmt(gap)} (needs >= "
                   f"{gap_min:g}; the monomial count sum_(l<=k) C(d, l) has slope "
                   f"{theory_slope:.2f}); a method that misses the target at some d has no slope "
                   "(measured -1)"),
    }
    columns = ["d", "n", "error_mfld", "error_kernel"]
    rows = [[dims[i], ns[j], float(mean["mfld"][i, j]), float(mean["kernel"][i, j])]
            for i in range(len(dims)) for j in range(len(ns))]
    return {"series": series, "claims": [claim_fewer, claim_growth],
            "table": {"columns": columns, "rows": rows}}


def _fmt(value: float | None) -> str:
    return "none" if value is None else f"{value:.2f}"


# --------------------------------------------------------------------------------------------
# figures


def figures(metrics: Mapping[str, Any], lang: str, outdir: str | Path) -> list[Path]:
    """``error_vs_n``: test error against n per d, MFLD and kernel; ``required_n_vs_d``: the
    required n against d beside the monomial count."""
    from companion.plots import style

    outdir = Path(outdir)
    s = metrics["series"]
    ns = np.asarray(s["n"], dtype=float)
    fig, ax = style.new_figure()
    colour = style.colours()
    for i, d in enumerate(s["d"]):
        c = next(colour)
        for method, marker, ls in (("mfld", "o", "-"), ("kernel", "s", "--")):
            mean = np.asarray(s[f"error_{method}"][i], dtype=float)
            sd = np.asarray([0.0 if v is None else v for v in s[f"error_{method}_sd"][i]])
            name = style.tr(lang, "MFLD" if method == "mfld" else "kernel ridge",
                            "MFLD" if method == "mfld" else "カーネルリッジ回帰")
            ax.errorbar(ns, mean, yerr=sd, fmt=marker, ls=ls, color=c, ms=4, lw=1, capsize=2,
                        label=f"{name}, $d = {d}$")
    ax.axhline(float(metrics["config"]["error_target"]),
               color="0.5", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel(style.tr(lang, "training samples $n$", "訓練データ数 $n$"))
    ax.set_ylabel(style.tr(lang, "test classification error", "テスト分類誤差"))
    ax.legend(fontsize="small", ncol=2)
    paths = [style.save(fig, outdir / "error_vs_n.svg")]

    fig, ax = style.new_figure()
    colour = style.colours()
    dims = np.asarray(s["d"], dtype=float)
    for key, marker, label in (
            ("required_n_mfld", "o", ("MFLD", "MFLD")),
            ("required_n_kernel", "s", ("kernel ridge", "カーネルリッジ回帰")),
            ("monomials", "^", (r"$\sum_{l \leq k} \binom{d}{l}$",
                                r"$\sum_{l \leq k} \binom{d}{l}$"))):
        values = np.asarray([np.nan if v is None else v for v in s[key]], dtype=float)
        ax.plot(dims, values, marker + "-", color=next(colour), ms=4, lw=1,
                label=style.tr(lang, *label))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(style.tr(lang, "input dimension $d$", "入力次元 $d$"))
    ax.set_ylabel(style.tr(lang, "smallest $n$ below the target error",
                           "目標誤差を下回る最小の $n$"))
    ax.legend()
    paths.append(style.save(fig, outdir / "required_n_vs_d.svg"))
    return paths

"""D4: mean-field Langevin dynamics learns a k-sparse parity from far fewer samples than a kernel.

Claim (Suzuki, Wu, Oko and Nitanda 2023, "Feature learning via mean-field Langevin dynamics:
classifying sparse parities and beyond", Thm. 1 and Sec. 4): for ``x`` uniform on
``{-1, 1}^d`` and ``y = x_{i_1} ... x_{i_k}``, a two-layer net trained by MFLD on the logistic
loss classifies correctly from ``n = O(d)`` samples (up to logarithms, k fixed), while any
kernel method (fixed features) needs ``n`` of the order of the number of monomials it must
resolve, ``sum_{l <= k} C(d, l) ~ d^k / k!`` (Ghorbani et al. 2021; a rotation-invariant kernel
on the cube cannot single out the k relevant coordinates).

Setup: two sweeps, the parity of order ``k`` over the sample sizes ``ns`` and a control of the
smaller order ``control_k`` over ``control_ns``, both at every ``d`` in ``dims``: ``n``
training points and ``n_test`` test points; the relevant coordinates are the first ``k`` (the
problem is invariant under permuting coordinates, and neither method is told which). MFLD:
``particles`` neurons ``h_z(x) = R [tanh(<x, z_1> + z_2) + z_3] / 2``
(:class:`companion.nn.langevin.TanhMeanFieldNet`) for ``steps`` full-batch steps of
:func:`companion.nn.langevin.mfld_step` with ``eta``, L2 strength ``lam1`` and entropy
temperature ``lam2``; all nets of one seed with the same ``n`` (every d, both orders) train as
one tensor program. The kernel: Gaussian and Laplace kernel ridge on the +-1 labels, bandwidth
and penalty chosen on a held-out ``val_frac`` of the ``n`` points, then refit on all ``n`` with
the chosen pair; the better of the two kernels at each (d, n) by test error is reported (a
choice in the kernel's favour, so the comparison is conservative).

The required ``n`` of a method at ``d`` in one seed is where its test error first falls below
``error_target``, interpolated linearly in ``log n`` between the two sample sizes of the sweep
that bracket it (:func:`companion.stats.log_crossing`). A seed whose error is below the target at
the smallest ``n`` is censored on the left (the crossing is at most that ``n``), one never below
it on the right (at least the largest ``n``); both are kept as bounds. Pooled over seeds, the
required ``n`` at ``d`` is the geometric mean of the seeds' crossings, an interval where some are
bounds.

Verdicts, on the order-k sweep: (1) at every ``d`` MFLD's required ``n`` is smaller than the
kernel's (MFLD's upper end below the kernel's lower end; a kernel never below the target counts as
larger than every ``n``). (2) The kernel's required ``n`` grows faster with ``d`` than MFLD's:
the difference of their log-log slopes in ``d`` (least squares over every seed's crossings,
:func:`companion.theory.powerlaw.loglog_fit`, with standard errors) is at least ``slope_gap_min``
(the theory's gap is ``k - 1``: ``d^k`` against ``d``). A bound enters a slope only where it can
understate the gap (a lower bound on the kernel's ``n`` at a ``d`` above the mean log d, an upper
bound below it, and the reverse for MFLD); any other censored crossing leaves that method without
a slope and (2) fails. On the control (theory: the gap is ``control_k - 1``, and at small ``d``
the kernel's ``sum_{l <= control_k} C(d, l)`` is small, so no large separation): (3) its slope gap
is smaller than the order-k gap (bounds enter the control's gap only where they overstate it);
(4) at every ``d`` its ratio of the kernel's to MFLD's required ``n`` is smaller than the order-k
ratio (the control's upper end below the order-k lower end).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from math import comb
from pathlib import Path
from typing import Any

import numpy as np

from companion import memory
from companion.stats import BELOW_AT_START, CROSSED, NEVER_BELOW, log_crossing
from companion.theory.kernel_ridge import fit_select
from companion.theory.powerlaw import loglog_fit, loglog_slope

ID = "mfld_sparse_parity"
CATALOG = "D4"
PART = 4
SOURCES = ["stats.py", "theory/kernel_ridge.py", "theory/powerlaw.py", "nn/langevin.py",
           "nn/losses.py", "plots/style.py"]
FIGURES = ("error_vs_n", "required_n_vs_d")
POOLED_ONLY: dict[str, str] = {}
POST_HOC: dict[str, str] = {
    "D4.kernel_n_grows_faster": (
        "gap threshold slope_gap_min = 1.0 (one power of d, half the theory's k - 1 = 2), chosen "
        "with a prototype's numbers and the default seeds 0-1 known"),
}
METHODS = ("mfld", "kernel")
KERNELS = ("gaussian", "laplace")
# The two sweeps: the array names' prefix and the config keys of their order and sample sizes.
SWEEPS = (("", "k", "ns"), ("control_", "control_k", "control_ns"))

_SECTION = f"experiments.{ID}"


# --------------------------------------------------------------------------------------------
# configuration


def check(cfg: Mapping[str, Any]) -> None:
    """Increasing sweeps, k at most the smallest d, the control's order below k, a usable
    held-out split at the smallest n of each sweep."""
    from companion.config import ConfigError

    for key in ("dims", "ns", "control_ns"):
        values = [int(v) for v in cfg[key]]
        if any(b <= a for a, b in zip(values, values[1:], strict=False)):
            raise ConfigError(f"{_SECTION}.{key}: must be strictly increasing, got {values}")
    if len(cfg["dims"]) < 2:
        raise ConfigError(f"{_SECTION}.dims: need at least 2 dimensions to compare growth in d")
    if int(cfg["k"]) > int(cfg["dims"][0]):
        raise ConfigError(f"{_SECTION}.k: the parity's order k = {cfg['k']} exceeds the smallest "
                          f"d = {cfg['dims'][0]}")
    if int(cfg["control_k"]) >= int(cfg["k"]):
        raise ConfigError(f"{_SECTION}.control_k: the control's order must be below k = "
                          f"{cfg['k']} (its claims compare a smaller order with k), got "
                          f"{cfg['control_k']}; allowed: 1 to {int(cfg['k']) - 1}")
    for key in ("ns", "control_ns"):
        n_tr, n_va = _split(int(cfg[key][0]), float(cfg["val_frac"]))
        if n_tr < 2 or n_va < 1:
            raise ConfigError(f"{_SECTION}.val_frac: the smallest n = {cfg[key][0]} of {key} "
                              f"splits into {n_tr} training and {n_va} validation points; need "
                              "at least 2 and 1")


def _split(n: int, val_frac: float) -> tuple[int, int]:
    n_val = int(round(val_frac * n))
    return n - n_val, n_val


def _models(cfg: Mapping[str, Any]) -> list[tuple[str, int, int, int]]:
    """Every trained model of one seed: ``(prefix, k, d, n)``."""
    return [(prefix, int(cfg[k_key]), int(d), int(n))
            for prefix, k_key, ns_key in SWEEPS for d in cfg["dims"] for n in cfg[ns_key]]


def peak_memory_mb(cfg: Mapping[str, Any]) -> dict[str, tuple[float, str]]:
    """Estimated peak memory of the train job (:mod:`companion.memory`): kernel ridge's Gram
    matrix, factor and test kernel at the largest n (float64); MFLD's ``(B, n, N)`` activations
    (a few float32 copies) for the ``B`` nets of one n, and the test activations
    ``(B, n_test, N)``."""
    models = _models(cfg)
    n, n_test = max(m[3] for m in models), int(cfg["n_test"])
    batch = max(sum(1 for m in models if m[3] == size) for size in {m[3] for m in models})
    terms = {"ns": 8.0 * (3 * n * n + 2 * n * n_test),
             "particles": 4.0 * 4 * batch * max(n, n_test) * int(cfg["particles"])}
    return {"train": memory.dominant("train", terms)}


def monomial_count(d: int, k: int) -> int:
    """``sum_{l <= k} C(d, l)``: the monomials of degree at most k on ``{-1, 1}^d``, the number
    of coefficients a kernel method must resolve to represent a degree-k parity."""
    return sum(comb(d, level) for level in range(k + 1))


# --------------------------------------------------------------------------------------------
# data


def generate(cfg: Mapping[str, Any], seed: int) -> dict[str, np.ndarray]:
    """Per sweep (order k) and d: test inputs and labels; per (k, d, n): training inputs and
    labels (keys ``x_k{k}_d{d}_n{n}``, ``x_test_k{k}_d{d}``)."""
    n_test = int(cfg["n_test"])
    out: dict[str, np.ndarray] = {}
    for _, k_key, ns_key in SWEEPS:
        k = int(cfg[k_key])
        for d in (int(v) for v in cfg["dims"]):
            rng = np.random.default_rng([seed, 0xD4, k, d])
            x_test = rng.choice([-1.0, 1.0], size=(n_test, d))
            out[f"x_test_k{k}_d{d}"] = x_test
            out[f"y_test_k{k}_d{d}"] = x_test[:, :k].prod(axis=1)
            for n in (int(v) for v in cfg[ns_key]):
                x = rng.choice([-1.0, 1.0], size=(n, d))
                out[f"x_k{k}_d{d}_n{n}"], out[f"y_k{k}_d{d}_n{n}"] = x, x[:, :k].prod(axis=1)
    return out


# --------------------------------------------------------------------------------------------
# training


def train_mfld(cfg: Mapping[str, Any], xs: Sequence[np.ndarray], ys: Sequence[np.ndarray],
               x_tests: Sequence[np.ndarray], y_tests: Sequence[np.ndarray], seed: int,
               device: Any) -> tuple[np.ndarray, np.ndarray]:
    """MFLD on the logistic loss for nets with the same ``n`` (any d), as one tensor program;
    per net ``(test error, training loss)`` at the end.

    Initialisation as in the prototype that learned d <= 20: ``z_1, z_2 ~ N(0, 1/d)``,
    ``z_3 ~ N(0, 0.01)``. Nets of smaller d are padded with zero input coordinates (exact, see
    :class:`~companion.nn.langevin.TanhMeanFieldNet`).
    """
    import torch

    from companion.nn.langevin import TanhMeanFieldNet, mfld_step
    from companion.nn.losses import logistic, logistic_grad

    n = len(xs[0])
    if any(len(x) != n for x in xs):
        raise ValueError("train_mfld: the nets of one batch share n")
    dims = [x.shape[1] for x in xs]
    d_max, batch, n_particles = max(dims), len(xs), int(cfg["particles"])
    gen = torch.Generator(device=device).manual_seed(
        int(np.random.SeedSequence([seed, 0xD4, n]).generate_state(1)[0]))
    theta = torch.zeros((batch, n_particles, d_max + 2), device=device)
    tx = torch.zeros((batch, n, d_max), device=device)
    tx_test = torch.zeros((batch, max(len(x) for x in x_tests), d_max), device=device)
    for b, d in enumerate(dims):
        init = torch.randn((n_particles, d + 2), generator=gen, device=device) / np.sqrt(d)
        theta[b, :, :d], theta[b, :, -2] = init[:, :d], init[:, d]
        theta[b, :, -1] = 0.1 * torch.randn(n_particles, generator=gen, device=device)
        tx[b, :, :d] = torch.as_tensor(xs[b], dtype=torch.float32, device=device)
        tx_test[b, :len(x_tests[b]), :d] = torch.as_tensor(x_tests[b], dtype=torch.float32,
                                                          device=device)
    ty = torch.as_tensor(np.stack(ys), dtype=torch.float32, device=device)
    net = TanhMeanFieldNet(float(cfg["scale"]))
    eta, lam1, lam2 = float(cfg["eta"]), float(cfg["lam1"]), float(cfg["lam2"])

    def fv_grad(th: torch.Tensor) -> torch.Tensor:
        return net.output_and_first_variation_grad(th, tx, lambda f: logistic_grad(f, ty))[1]

    with torch.no_grad():
        for _ in range(int(cfg["steps"])):
            theta = mfld_step(theta, fv_grad, eta, lam1, lam2, gen)
        pred = np.sign(net.output(theta, tx_test).cpu().numpy())
        errors = np.asarray([float(np.mean(pred[b, :len(y)] != y)) for b, y in enumerate(y_tests)])
        losses = logistic(net.output(theta, tx), ty).cpu().numpy().astype(float)
    return errors, losses


def train_kernel(cfg: Mapping[str, Any], x: np.ndarray, y: np.ndarray, x_test: np.ndarray,
                 y_test: np.ndarray) -> dict[str, float]:
    """Gaussian and Laplace kernel ridge tuned on a held-out split, refit on all points; the test
    error of each and the chosen bandwidths (in units of sqrt(d)) and penalties."""
    from companion.theory.kernel_ridge import distances

    d = x.shape[1]
    n_tr, _ = _split(len(x), float(cfg["val_frac"]))
    bandwidths = [float(b) * np.sqrt(d) for b in cfg["bandwidths"]]
    # Both kernels and every bandwidth are functions of the same distances: computed once.
    d_all, d_test = distances(x, x), distances(x_test, x)
    split = (d_all[:n_tr, :n_tr], d_all[n_tr:, :n_tr], d_test[:, :n_tr])
    out: dict[str, float] = {}
    for kernel in KERNELS:
        sel = fit_select(x[:n_tr], y[:n_tr], x[n_tr:], y[n_tr:], x_test, kernel, bandwidths,
                         cfg["lams"], dists=split)
        h, lam = float(sel.bandwidth[0]), float(sel.lam[0])
        # Refit on all n points with the chosen pair: the kernel sees as many labels as MFLD.
        refit = fit_select(x, y, x[n_tr:], y[n_tr:], x_test, kernel, [h], [lam],
                           dists=(d_all, d_all[n_tr:], d_test))
        out[f"error_{kernel}"] = float(np.mean(np.sign(refit.test_pred[0]) != y_test))
        out[f"bandwidth_{kernel}"], out[f"lam_{kernel}"] = h / np.sqrt(d), lam
    return out


_ARRAYS = ("error_mfld", "loss_mfld",
           *(f"{p}_{k}" for p in ("error", "bandwidth", "lam") for k in KERNELS))


def train(cfg: Mapping[str, Any], data: Mapping[str, np.ndarray], seed: int, device: Any,
          log: Callable[[str], None]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """MFLD and both kernels at every (d, n) of both sweeps; per sweep arrays of shape
    ``(len(dims), len(ns))`` (the control's names prefixed ``control_``)."""
    dims = [int(v) for v in cfg["dims"]]
    arrays: dict[str, np.ndarray] = {}
    for prefix, _, ns_key in SWEEPS:
        shape = (len(dims), len(cfg[ns_key]))
        arrays.update({prefix + name: np.zeros(shape) for name in _ARRAYS})
        arrays[f"{prefix}n"] = np.asarray([int(v) for v in cfg[ns_key]], dtype=np.int64)
    models = _models(cfg)
    index = {(p, d, n): (dims.index(d), [int(v) for v in cfg[ns_key]].index(n))
             for p, _, ns_key in SWEEPS for d in dims for n in cfg[ns_key]}
    for n in sorted({m[3] for m in models}):
        group = [m for m in models if m[3] == n]
        keys = [(f"x_k{k}_d{d}_n{n}", f"y_k{k}_d{d}_n{n}", f"x_test_k{k}_d{d}",
                 f"y_test_k{k}_d{d}") for _, k, d, _ in group]
        errors, losses = train_mfld(cfg, [data[a] for a, _, _, _ in keys],
                                    [data[b] for _, b, _, _ in keys],
                                    [data[c] for _, _, c, _ in keys],
                                    [data[e] for _, _, _, e in keys], seed, device)
        for (prefix, _, d, _), key, err, loss in zip(group, keys, errors, losses, strict=True):
            i, j = index[(prefix, d, n)]
            arrays[f"{prefix}error_mfld"][i, j], arrays[f"{prefix}loss_mfld"][i, j] = err, loss
            for name, value in train_kernel(cfg, data[key[0]], data[key[1]], data[key[2]],
                                            data[key[3]]).items():
                arrays[prefix + name][i, j] = value
        log(f"n={n}: " + " ".join(
            f"k={k} d={d} MFLD {err:.3f} kernel "
            f"{min(arrays[p + 'error_gaussian'][index[(p, d, n)]], arrays[p + 'error_laplace'][index[(p, d, n)]]):.3f}"  # noqa: E501
            for (p, k, d, _), err in zip(group, errors, strict=True)))
    arrays["d"] = np.asarray(dims, dtype=np.int64)
    return arrays, {"seed": int(seed)}  # the seed names each crossing in the report's table


# --------------------------------------------------------------------------------------------
# metrics


def _intervals(values: np.ndarray, flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per crossing the interval it is known to lie in: ``[v, v]``, ``(0, x_0]`` on the left,
    ``[x_last, inf)`` on the right."""
    lo = np.where(flags == BELOW_AT_START, 0.0, values)
    hi = np.where(flags == NEVER_BELOW, np.inf, values)
    return lo, hi


def _geomean(values: np.ndarray) -> np.ndarray:
    """Geometric mean over axis 0 (seeds); 0 or inf where a value is."""
    with np.errstate(divide="ignore"):
        return np.exp(np.log(values).mean(axis=0))


def _slope(dims: Sequence[int], values: np.ndarray, flags: np.ndarray, understate: bool
           ) -> tuple[float | None, float | None, int]:
    """Log-log slope in d (least squares over every seed's crossings, with its standard error)
    and the number of bounds used; ``(None, None, bounds)`` where a censored crossing would move
    the slope the wrong way.

    The slope is linear in ``log n`` with weight ``log d - mean log d`` per point, so replacing a
    crossing by a lower bound lowers the slope where that weight is positive and raises it where
    it is negative (an upper bound the reverse). ``understate``: bounds may only lower the
    slope; otherwise they may only raise it.
    """
    w = np.log(np.asarray(dims, dtype=float))
    w = np.broadcast_to(w - w.mean(), flags.shape)
    lowers = ((flags == NEVER_BELOW) & (w >= 0)) | ((flags == BELOW_AT_START) & (w <= 0))
    raises = ((flags == NEVER_BELOW) & (w <= 0)) | ((flags == BELOW_AT_START) & (w >= 0))
    allowed = lowers if understate else raises
    censored = flags != CROSSED
    bounds = int(censored.sum())
    if np.any(censored & ~allowed):
        return None, None, bounds
    x = np.broadcast_to(np.asarray(dims, dtype=float), flags.shape).ravel()
    slope, se = loglog_fit(x, values.ravel())
    return float(slope), se, bounds


def _sweep(runs: Sequence[tuple[Mapping[str, np.ndarray], Mapping[str, Any]]], prefix: str,
           target: float) -> dict[str, Any]:
    """One sweep's mean errors and per-seed and pooled crossings of the target."""
    ns = [int(v) for v in runs[0][0][f"{prefix}n"]]
    stacked = {
        "mfld": np.stack([np.asarray(a[f"{prefix}error_mfld"], dtype=float) for a, _ in runs]),
        # The better kernel at each (d, n), per seed: the comparison is in the kernel's favour.
        "kernel": np.stack([np.minimum(np.asarray(a[f"{prefix}error_gaussian"], dtype=float),
                                       np.asarray(a[f"{prefix}error_laplace"], dtype=float))
                            for a, _ in runs]),
    }
    out: dict[str, Any] = {"ns": ns, "errors": stacked}
    for method in METHODS:
        values, flags = log_crossing(ns, stacked[method], target)  # (seeds, dims)
        lo, hi = _intervals(values, flags)
        gsd = (np.exp(np.log(values).std(axis=0, ddof=1)) if len(runs) > 1
               else np.full(values.shape[1], np.nan))
        out[method] = {"values": values, "flags": flags, "lo": _geomean(lo), "hi": _geomean(hi),
                       "point": _geomean(values), "gsd": gsd}
    return out


def _gap(dims: Sequence[int], sweep: Mapping[str, Any], understate: bool) -> dict[str, Any]:
    """Kernel minus MFLD slope: each method's bounds may only move the gap in one direction
    (``understate``: only shrink it)."""
    fits = {m: _slope(dims, sweep[m]["values"], sweep[m]["flags"],
                      understate if m == "kernel" else not understate) for m in METHODS}
    slope_k, se_k, bounds_k = fits["kernel"]
    slope_m, se_m, bounds_m = fits["mfld"]
    gap = slope_k - slope_m if slope_k is not None and slope_m is not None else None
    se = (float(np.hypot(se_k, se_m)) if gap is not None and se_k is not None and se_m is not None
          else None)
    return {"gap": gap, "se": se, "kernel": slope_k, "kernel_se": se_k, "mfld": slope_m,
            "mfld_se": se_m, "bounds": bounds_k + bounds_m}


def _list(values: np.ndarray) -> list:
    return [None if not np.isfinite(v) else float(v) for v in np.asarray(values, dtype=float)]


def summarize(cfg: Mapping[str, Any],
              runs: Sequence[tuple[Mapping[str, np.ndarray], Mapping[str, Any]]]) -> dict[str, Any]:
    """Means over seeds per (d, n), the crossings per seed, method and d, and the claims."""
    dims = [int(v) for v in runs[0][0]["d"]]
    target = float(cfg["error_target"])
    k, k_c = int(cfg["k"]), int(cfg["control_k"])
    main, ctrl = _sweep(runs, "", target), _sweep(runs, "control_", target)
    series: dict[str, Any] = {"d": dims}
    for prefix, order, sweep in (("", k, main), ("control_", k_c, ctrl)):
        series[f"{prefix}n"] = sweep["ns"]
        for method in METHODS:
            errs, crossing = sweep["errors"][method], sweep[method]
            series[f"{prefix}error_{method}"] = errs.mean(axis=0).tolist()
            series[f"{prefix}error_{method}_sd"] = (
                errs.std(axis=0, ddof=1).tolist() if len(runs) > 1
                else [[None] * len(sweep["ns"])] * len(dims))
            series[f"{prefix}crossing_{method}"] = crossing["values"].tolist()
            series[f"{prefix}crossing_{method}_censored"] = crossing["flags"].astype(int).tolist()
            series[f"{prefix}required_n_{method}"] = _list(crossing["point"])
            series[f"{prefix}crossing_{method}_gsd"] = _list(crossing["gsd"])
        series[f"{prefix}monomials"] = [monomial_count(d, order) for d in dims]
    gauss = np.mean([np.asarray(a["error_gaussian"], dtype=float) for a, _ in runs], axis=0)
    laplace = np.mean([np.asarray(a["error_laplace"], dtype=float) for a, _ in runs], axis=0)
    series["kernel_choice"] = [["gaussian" if g <= lp else "laplace" for g, lp in zip(gr, lr,
                                                                                      strict=True)]
                               for gr, lr in zip(gauss, laplace, strict=True)]
    ns = main["ns"]

    # (1) MFLD's required n below the kernel's at every d: MFLD's upper end below the kernel's
    # lower end (a kernel never below the target is at least the largest n).
    wins = [bool(h < lo) for h, lo in zip(main["mfld"]["hi"], main["kernel"]["lo"], strict=True)]
    claim_fewer = {
        "id": f"{CATALOG}.mfld_needs_fewer_samples",
        "passed": bool(all(wins)),
        "measured": float(sum(wins)),
        "expected": float(len(dims)),
        "relation": ">=",
        "context": {"dims": dims, "required_n_mfld": series["required_n_mfld"],
                    "required_n_kernel": series["required_n_kernel"],
                    "spread_mfld": series["crossing_mfld_gsd"],
                    "spread_kernel": series["crossing_kernel_gsd"], "error_target": target},
        "detail": (f"dimensions where MFLD's test error falls below {target:g} at a smaller n "
                   f"than the kernel's: {sum(wins)} of {len(dims)}; required n per d = {dims} "
                   f"(geometric mean over seeds of the crossing interpolated on log n): MFLD "
                   f"{_fmts(series['required_n_mfld'])}, kernel "
                   f"{_fmts(series['required_n_kernel'])}; censored crossings: MFLD "
                   f"{_censored(main['mfld']['flags'])}, kernel "
                   f"{_censored(main['kernel']['flags'])} (on the grid {ns[0]}..{ns[-1]})"),
    }

    # (2) The kernel's required n grows faster in d, by at least slope_gap_min powers of d.
    gap = _gap(dims, main, understate=True)
    gap_min = float(cfg["slope_gap_min"])
    theory_slope = loglog_slope(dims, series["monomials"])
    claim_growth = {
        "id": f"{CATALOG}.kernel_n_grows_faster",
        "passed": bool(gap["gap"] is not None and gap["gap"] >= gap_min),
        "measured": float(gap["gap"]) if gap["gap"] is not None else -1.0,
        "expected": gap_min,
        "relation": ">=",
        "context": {"slope_kernel": gap["kernel"], "slope_kernel_se": gap["kernel_se"],
                    "slope_mfld": gap["mfld"], "slope_mfld_se": gap["mfld_se"],
                    "slope_gap_se": gap["se"], "slope_monomials": theory_slope,
                    "bounds_in_fit": gap["bounds"]},
        "detail": (f"log-log slope in d of the seeds' crossings: kernel {_fmt(gap['kernel'])} "
                   f"± {_fmt(gap['kernel_se'])}, MFLD {_fmt(gap['mfld'])} ± "
                   f"{_fmt(gap['mfld_se'])}, difference {_fmt(gap['gap'])} ± {_fmt(gap['se'])} "
                   f"(needs >= {gap_min:g}; the monomial count sum_(l<=k) C(d, l) has slope "
                   f"{theory_slope:.2f}); {gap['bounds']} censored crossing(s) entered as bounds "
                   "that can only shrink the gap; a censored crossing that could widen it leaves "
                   "no slope (measured -1)"),
    }

    # (3) The control's gap is smaller than the order-k gap (its bounds may only widen it).
    gap_c = _gap(dims, ctrl, understate=False)
    both = gap["gap"] is not None and gap_c["gap"] is not None
    diff = gap["gap"] - gap_c["gap"] if both else None
    control_slope = loglog_slope(dims, series["control_monomials"])
    claim_control_gap = {
        "id": f"{CATALOG}.control_gap_smaller",
        "passed": bool(diff is not None and diff > 0.0),
        "measured": float(diff) if diff is not None else -1.0,
        "expected": 0.0,
        "relation": ">",
        "context": {"control_k": k_c, "slope_gap": gap["gap"], "slope_gap_se": gap["se"],
                    "control_slope_gap": gap_c["gap"], "control_slope_gap_se": gap_c["se"],
                    "control_slope_kernel": gap_c["kernel"], "control_slope_mfld": gap_c["mfld"],
                    "slope_monomials": theory_slope, "control_slope_monomials": control_slope},
        "detail": (f"kernel minus MFLD slope in d: order k = {k} {_fmt(gap['gap'])} ± "
                   f"{_fmt(gap['se'])}, control k = {k_c} {_fmt(gap_c['gap'])} ± "
                   f"{_fmt(gap_c['se'])} (kernel {_fmt(gap_c['kernel'])}, MFLD "
                   f"{_fmt(gap_c['mfld'])}); difference {_fmt(diff)} (needs > 0; theory "
                   f"{k - k_c}, the monomial counts' slopes differ by "
                   f"{theory_slope - control_slope:.2f}); measured -1 where a sweep has no gap"),
    }

    # (4) At every d the control's kernel-to-MFLD ratio is below the order-k ratio: the control's
    # upper end (kernel's upper over MFLD's lower) below the order-k lower end.
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio_lo = main["kernel"]["lo"] / main["mfld"]["hi"]
        ratio_c_hi = ctrl["kernel"]["hi"] / ctrl["mfld"]["lo"]
    # 0/0 or inf/inf: nothing known, the least favourable end for the claim.
    ratio_lo = np.where(np.isnan(ratio_lo), 0.0, ratio_lo)
    ratio_c_hi = np.where(np.isnan(ratio_c_hi), np.inf, ratio_c_hi)
    smaller = [bool(c < m) for c, m in zip(ratio_c_hi, ratio_lo, strict=True)]
    claim_control_ratio = {
        "id": f"{CATALOG}.control_separation_smaller",
        "passed": bool(all(smaller)),
        "measured": float(sum(smaller)),
        "expected": float(len(dims)),
        "relation": ">=",
        "context": {"dims": dims, "control_k": k_c, "ratio": _list(ratio_lo),
                    "control_ratio": _list(ratio_c_hi),
                    "control_required_n_mfld": series["control_required_n_mfld"],
                    "control_required_n_kernel": series["control_required_n_kernel"]},
        "detail": (f"dimensions where the kernel's required n over MFLD's is smaller for the "
                   f"control k = {k_c} than for k = {k}: {sum(smaller)} of {len(dims)}; ratio "
                   f"per d = {dims}: k = {k} at least {_fmts(_list(ratio_lo))}, k = {k_c} at "
                   f"most {_fmts(_list(ratio_c_hi))} (none: unbounded); control required n: "
                   f"MFLD {_fmts(series['control_required_n_mfld'])}, kernel "
                   f"{_fmts(series['control_required_n_kernel'])}; censored crossings: MFLD "
                   f"{_censored(ctrl['mfld']['flags'])}, kernel "
                   f"{_censored(ctrl['kernel']['flags'])}"),
    }

    columns = ["k", "d", "seed", "crossing_mfld", "crossing_kernel"]
    seeds = [int(s.get("seed", i)) for i, (_, s) in enumerate(runs)]
    rows = [[order, dims[i], seeds[s], _cell(sweep["mfld"], s, i), _cell(sweep["kernel"], s, i)]
            for order, sweep in ((k, main), (k_c, ctrl))
            for i in range(len(dims)) for s in range(len(runs))]
    return {"series": series,
            "claims": [claim_fewer, claim_growth, claim_control_gap, claim_control_ratio],
            "table": {"columns": columns, "rows": rows}}


def _cell(crossing: Mapping[str, np.ndarray], s: int, i: int) -> float | str:
    """A table cell: the crossing, or its bound marked ``≤`` / ``≥`` where censored."""
    value, flag = float(crossing["values"][s, i]), int(crossing["flags"][s, i])
    if flag == BELOW_AT_START:
        return f"≤ {value:g}"
    if flag == NEVER_BELOW:
        return f"≥ {value:g}"
    return value


def _censored(flags: np.ndarray) -> str:
    left, right = int((flags == BELOW_AT_START).sum()), int((flags == NEVER_BELOW).sum())
    return f"{left} below the target at the smallest n, {right} never below it"


def _fmt(value: float | None) -> str:
    return "none" if value is None else f"{value:.2f}"


def _fmts(values: Sequence[float | None]) -> str:
    return "[" + ", ".join("none" if v is None else f"{v:.0f}" for v in values) + "]"


# --------------------------------------------------------------------------------------------
# figures


def figures(metrics: Mapping[str, Any], lang: str, outdir: str | Path) -> list[Path]:
    """``error_vs_n``: test error against n per d, MFLD and kernel (order k); ``required_n_vs_d``:
    the required n against d (geometric mean over seeds, each seed's crossing beside it) for both
    orders, beside the monomial counts."""
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
    orders = {"": metrics["config"]["k"], "control_": metrics["config"]["control_k"]}
    for prefix, ls in (("", "-"), ("control_", "--")):
        k = orders[prefix]
        for key, marker, label in (
                ("required_n_mfld", "o", ("MFLD", "MFLD")),
                ("required_n_kernel", "s", ("kernel ridge", "カーネルリッジ回帰")),
                ("monomials", "^", (r"$\sum_{l \leq k} \binom{d}{l}$",
                                    r"$\sum_{l \leq k} \binom{d}{l}$"))):
            c = next(colour)
            values = np.asarray([np.nan if v is None else v for v in s[prefix + key]],
                                dtype=float)
            ax.plot(dims, values, marker + ls, color=c, ms=4, lw=1,
                    label=f"{style.tr(lang, *label)}, $k = {k}$")
            seeds = key.replace("required_n", "crossing")
            if seeds != key and prefix + seeds in s:  # each seed's crossing, small and pale
                for row in s[prefix + seeds]:
                    ax.plot(dims, row, marker, color=c, ms=2.5, alpha=0.45)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(style.tr(lang, "input dimension $d$", "入力次元 $d$"))
    ax.set_ylabel(style.tr(lang, "sample size where the error crosses the target",
                           "誤差が目標を下回るサンプル数"))
    ax.legend(fontsize="small", ncol=2)
    paths.append(style.save(fig, outdir / "required_n_vs_d.svg"))
    return paths

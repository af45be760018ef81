"""D2: a student of the teacher's width, trained by GLD then by GD, reaches the teacher at rate 1/n.

Claim (Akiyama and Suzuki 2021, ICML, Thm. 1 and Sec. 4; 2022): for a ReLU teacher
``f°(x) = sum_{j<=m} a°_j relu(<w°_j, x>)`` with ``x`` uniform on ``S^{d-1}`` and noisy labels, a
student of the same width trained in two phases - gradient Langevin dynamics on the
L2-regularised empirical loss (phase 1: exploration, reaching the teacher's neighbourhood), then
noiseless unregularised gradient descent (phase 2: local convergence) - has excess risk
``O(1/n)`` (up to logarithms), while every linear estimator, kernel ridge included, is limited to
``n^{-(d+2)/(2d+2)}`` on this class (the lecture's minimax lower bound for linear estimators).

Setup: one teacher per seed (directions uniform, norm ``sqrt(d)`` so ``<w°, x> ~ N(0, 1)``
roughly, signs ``a° = +-1``), labels with noise ``sigma``; for every ``n`` in ``ns`` a student
trained on the first ``n`` points of one sample, all ``n`` as the rows of one batched program
(the loss of row ``p`` is averaged over its own ``n_p`` points). Phase 1: ``phase1_steps``
GLD steps (:class:`companion.nn.langevin.LangevinChains`) with step ``eta``, inverse temperature
``beta`` and L2 strength ``lam``; phase 2: ``phase2_steps`` GD steps on the plain loss. The excess
risk ``E (f - f°)^2`` on ``n_test`` fresh inputs is recorded every ``record_every`` steps. The
linear baseline: Gaussian and Laplace kernel ridge with bandwidth and penalty chosen on
``n_val`` held-out points (:func:`companion.theory.kernel_ridge.fit_select`).

Verdict: the log-log slope of the final excess risk in ``n`` (:func:`loglog_fit`, with standard
error) is steeper for the student than for the kernel by more than their combined standard error,
and within ``slope_tol`` of -1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from companion import memory, sampling
from companion.theory.kernel_ridge import fit_select
from companion.theory.powerlaw import loglog_fit

ID = "teacher_student_two_phase"
CATALOG = "D2"
PART = 4
SOURCES = ["sampling.py", "theory/kernel_ridge.py", "theory/powerlaw.py", "nn/langevin.py",
           "plots/style.py"]
FIGURES = ("risk_trajectory", "risk_vs_n")
POOLED_ONLY: dict[str, str] = {}
KERNELS = ("gaussian", "laplace")

_SECTION = f"experiments.{ID}"


def check(cfg: Mapping[str, Any]) -> None:
    """At least three increasing sample sizes (a slope with a standard error)."""
    from companion.config import ConfigError

    ns = [int(v) for v in cfg["ns"]]
    if len(ns) < 3 or any(b <= a for a, b in zip(ns, ns[1:], strict=False)):
        raise ConfigError(f"{_SECTION}.ns: need at least 3 strictly increasing sample sizes to "
                          f"fit a slope with a standard error, got {ns}")
    total = int(cfg["phase1_steps"]) + int(cfg["phase2_steps"])
    if int(cfg["record_every"]) > total:
        raise ConfigError(f"{_SECTION}.record_every: must be <= phase1_steps + phase2_steps = "
                          f"{total}")


def peak_memory_mb(cfg: Mapping[str, Any]) -> dict[str, tuple[float, str]]:
    """Estimated peak memory of the train job (:mod:`companion.memory`): kernel ridge's Gram
    matrix and factor at the largest n (float64); the students' padded data and activations
    ``(len(ns), n_max, m)`` (float64, a few copies)."""
    n = max(int(v) for v in cfg["ns"])
    n_eval = int(cfg["n_test"]) + int(cfg["n_val"])
    terms = {"ns": 8.0 * (3 * n * n + n * n_eval),
             "n_test": 8.0 * 6 * len(cfg["ns"]) * max(n, int(cfg["n_test"]))
             * (int(cfg["m"]) + int(cfg["d"]))}
    return {"train": memory.dominant("train", terms)}


def linear_rate(d: int) -> float:
    """``-(d + 2) / (2d + 2)``: the exponent of the linear estimators' lower bound on the
    teacher class in dimension ``d`` (Akiyama and Suzuki 2021, the slide's comparison)."""
    return -(d + 2.0) / (2.0 * d + 2.0)


# --------------------------------------------------------------------------------------------
# data



def teacher(x: np.ndarray, w: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``sum_j a_j relu(<w_j, x>)`` for the rows of ``x``."""
    return np.maximum(x @ w.T, 0.0) @ a


def generate(cfg: Mapping[str, Any], seed: int) -> dict[str, np.ndarray]:
    """The teacher, one training sample of the largest n, validation and test inputs."""
    d, m = int(cfg["d"]), int(cfg["m"])
    rng = np.random.default_rng([seed, 0xD2])
    w = sampling.sphere(rng, m, d, radius=1.0) * np.sqrt(d)
    a = np.where(np.arange(m) % 2 == 0, 1.0, -1.0)
    n_max = max(int(v) for v in cfg["ns"])
    x, x_val, x_test = (sampling.sphere(rng, size, d, radius=1.0) for size in
                        (n_max, int(cfg["n_val"]), int(cfg["n_test"])))
    sigma = float(cfg["sigma"])
    return {"w_teacher": w, "a_teacher": a, "x": x,
            "y": teacher(x, w, a) + sigma * rng.standard_normal(n_max),
            "x_val": x_val, "y_val": teacher(x_val, w, a) + sigma * rng.standard_normal(len(x_val)),
            "x_test": x_test, "f_test": teacher(x_test, w, a)}


# --------------------------------------------------------------------------------------------
# training


def _students(cfg: Mapping[str, Any], data: Mapping[str, np.ndarray], seed: int,
              device: Any) -> tuple[np.ndarray, np.ndarray]:
    """All students as one program; ``(trajectory (records, len(ns)), record steps)``."""
    import torch

    from companion.nn.langevin import LangevinChains, gld_step

    ns = [int(v) for v in cfg["ns"]]
    d, m = int(cfg["d"]), int(cfg["m"])
    p, n_max = len(ns), max(ns)
    f64 = torch.float64
    x = torch.as_tensor(data["x"], dtype=f64, device=device)
    y = torch.as_tensor(data["y"], dtype=f64, device=device)
    x_test = torch.as_tensor(data["x_test"], dtype=f64, device=device)
    f_test = torch.as_tensor(data["f_test"], dtype=f64, device=device)
    # Row p averages its loss over its own first n_p points.
    weight = torch.zeros((p, n_max), dtype=f64, device=device)
    for row, n in enumerate(ns):
        weight[row, :n] = 1.0 / n
    gen = torch.Generator(device=device).manual_seed(
        int(np.random.SeedSequence([seed, 0xD2, 1]).generate_state(1)[0]))
    # A particle per row: (m, d + 1), the first d columns w_j, the last a_j.
    theta = torch.randn((p, m, d + 1), generator=gen, dtype=f64, device=device)
    theta[..., -1] *= float(cfg["init_a"])

    def output(th: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        return torch.relu(inputs @ th[..., :d].transpose(1, 2)) @ th[..., -1:]

    def loss_grad(th: torch.Tensor) -> torch.Tensor:
        """Gradient of (1/2n_p) sum_i (f(x_i) - y_i)^2 per row, in closed form."""
        u = x @ th[..., :d].transpose(1, 2)  # (p, n_max, m)
        act = torch.relu(u)
        r = ((act @ th[..., -1:]).squeeze(-1) - y) * weight  # (p, n_max)
        out = torch.empty_like(th)
        out[..., -1] = (r.unsqueeze(1) @ act).squeeze(1)
        gate = (u > 0).to(f64) * r.unsqueeze(-1)  # (p, n_max, m)
        out[..., :d] = (gate.transpose(1, 2) @ x) * th[..., -1:]
        return out

    def excess(th: torch.Tensor) -> np.ndarray:
        return ((output(th, x_test).squeeze(-1) - f_test) ** 2).mean(dim=1).cpu().numpy()

    lam = float(cfg["lam"])
    chains = LangevinChains(theta, lambda th: loss_grad(th).add_(th, alpha=2.0 * lam),
                            eta=float(cfg["eta"]), beta=float(cfg["beta"]), generator=gen)
    every = int(cfg["record_every"])
    records, steps = [excess(theta)], [0]
    with torch.no_grad():
        for k in range(1, int(cfg["phase1_steps"]) + 1):
            chains.step()
            if k % every == 0:
                records.append(excess(chains.x))
                steps.append(k)
        theta = chains.x
        eta = torch.tensor(float(cfg["eta"]), dtype=f64, device=device)
        zero = torch.zeros((), dtype=f64, device=device)
        start = int(cfg["phase1_steps"])
        for k in range(1, int(cfg["phase2_steps"]) + 1):
            theta = gld_step(theta, loss_grad, eta, zero, gen)
            if k % every == 0 or k == int(cfg["phase2_steps"]):
                records.append(excess(theta))
                steps.append(start + k)
    return np.stack(records), np.asarray(steps, dtype=np.int64)


def _kernel(cfg: Mapping[str, Any], data: Mapping[str, np.ndarray]) -> np.ndarray:
    """Per n: the excess risk of the kernel (of the two) with the smaller validation error."""
    ns = [int(v) for v in cfg["ns"]]
    out = np.zeros(len(ns))
    for i, n in enumerate(ns):
        best = (np.inf, np.nan)
        for kernel in KERNELS:
            sel = fit_select(data["x"][:n], data["y"][:n], data["x_val"], data["y_val"],
                             data["x_test"], kernel, cfg["bandwidths"], cfg["lams"])
            if sel.val_mse[0] < best[0]:
                best = (float(sel.val_mse[0]),
                        float(np.mean((sel.test_pred[0] - data["f_test"]) ** 2)))
        out[i] = best[1]
    return out


def train(cfg: Mapping[str, Any], data: Mapping[str, np.ndarray], seed: int, device: Any,
          log: Callable[[str], None]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Students (two phases) and the kernel baseline at every n."""
    trajectory, steps = _students(cfg, data, seed, device)
    kernel = _kernel(cfg, data)
    log("final excess risk: student " + " ".join(f"{v:.3g}" for v in trajectory[-1])
        + " | kernel " + " ".join(f"{v:.3g}" for v in kernel))
    return {"n": np.asarray(cfg["ns"], dtype=np.int64), "trajectory": trajectory,
            "record_steps": steps, "risk_student": trajectory[-1],
            "risk_phase1": trajectory[np.flatnonzero(steps == int(cfg["phase1_steps"]))[0]],
            "risk_kernel": kernel}, {}


# --------------------------------------------------------------------------------------------
# metrics


def summarize(cfg: Mapping[str, Any],
              runs: Sequence[tuple[Mapping[str, np.ndarray], Mapping[str, Any]]]) -> dict[str, Any]:
    """Means over seeds per n, both slopes with standard errors, the claims."""
    ns = np.asarray(runs[0][0]["n"], dtype=float)
    series: dict[str, Any] = {"n": ns.tolist(),
                              "record_steps": np.asarray(runs[0][0]["record_steps"]).tolist(),
                              "phase1_steps": int(cfg["phase1_steps"])}
    for key in ("risk_student", "risk_phase1", "risk_kernel"):
        per_seed = np.stack([np.asarray(a[key], dtype=float) for a, _ in runs])
        series[key] = per_seed.mean(axis=0).tolist()
        series[f"{key}_sd"] = (per_seed.std(axis=0, ddof=1).tolist() if len(runs) > 1
                               else [None] * ns.size)
    series["trajectory"] = np.mean([np.asarray(a["trajectory"], dtype=float) for a, _ in runs],
                                   axis=0).T.tolist()  # (ns, records)
    d = int(cfg["d"])
    s_stu, se_stu = loglog_fit(ns, series["risk_student"])
    s_ker, se_ker = loglog_fit(ns, series["risk_kernel"])
    combined = float(np.hypot(se_stu or 0.0, se_ker or 0.0))
    series.update({"slope_student": s_stu, "slope_student_se": se_stu, "slope_kernel": s_ker,
                   "slope_kernel_se": se_ker, "linear_rate": linear_rate(d)})
    steeper = s_ker - s_stu
    finite = bool(np.isfinite(s_stu) and np.isfinite(s_ker))
    claim_steeper = {
        "id": f"{CATALOG}.student_steeper_than_kernel",
        "passed": bool(finite and steeper > combined),
        "measured": float(steeper) if finite else -1.0,
        "expected": combined,
        "relation": ">",
        "context": {"slope_student": s_stu, "slope_student_se": se_stu, "slope_kernel": s_ker,
                    "slope_kernel_se": se_ker, "linear_rate": linear_rate(d)},
        "detail": (f"log-log slope of the final excess risk in n: student {s_stu:.3f} +- "
                   f"{se_stu or 0.0:.3f}, kernel {s_ker:.3f} +- {se_ker or 0.0:.3f}; the kernel's "
                   f"minus the student's = {steeper:.3f}, needs > the combined standard error "
                   f"{combined:.3f} (linear estimators' rate {linear_rate(d):.3f})"),
    }
    tol = float(cfg["slope_tol"])
    claim_rate = {
        "id": f"{CATALOG}.student_rate_one_over_n",
        "passed": bool(np.isfinite(s_stu) and abs(s_stu + 1.0) <= tol),
        "measured": float(s_stu) if np.isfinite(s_stu) else 0.0,
        "expected": -1.0,
        "relation": "~=",
        "tolerance": tol,
        "context": {"slope_student_se": se_stu,
                    "risk_largest_n": float(series["risk_student"][-1])},
        "detail": (f"student slope {s_stu:.3f} +- {se_stu or 0.0:.3f}, needs within {tol:g} of "
                   f"-1; excess risk {series['risk_student'][0]:.3g} at n = {int(ns[0])}, "
                   f"{series['risk_student'][-1]:.3g} at n = {int(ns[-1])}"),
    }
    columns = ["n", "risk_phase1", "risk_student", "risk_kernel"]
    rows = [[int(ns[i])] + [float(series[c][i]) for c in columns[1:]] for i in range(ns.size)]
    return {"series": series, "claims": [claim_steeper, claim_rate],
            "table": {"columns": columns, "rows": rows}}


# --------------------------------------------------------------------------------------------
# figures


def figures(metrics: Mapping[str, Any], lang: str, outdir: str | Path) -> list[Path]:
    """``risk_trajectory``: excess risk over the steps of both phases per n; ``risk_vs_n``: final
    excess risk against n for student and kernel with the reference rates."""
    from companion.plots import style

    outdir = Path(outdir)
    s = metrics["series"]
    fig, ax = style.new_figure()
    colour = style.colours()
    steps = np.asarray(s["record_steps"], dtype=float)
    for n, traj in zip(s["n"], s["trajectory"], strict=True):
        ax.plot(steps, traj, color=next(colour), lw=1, label=f"$n = {int(n)}$")
    ax.axvline(s["phase1_steps"], color="0.4", lw=0.8, ls="--")
    ax.set_yscale("log")
    ax.set_xlabel(style.tr(lang, "step (GLD, then GD after the dashed line)",
                           "ステップ (破線まで GLD、その後 GD)"))
    ax.set_ylabel(style.tr(lang, "excess risk", "余剰リスク"))
    ax.legend(fontsize="small", ncol=2)
    paths = [style.save(fig, outdir / "risk_trajectory.svg")]

    fig, ax = style.new_figure()
    colour = style.colours()
    ns = np.asarray(s["n"], dtype=float)
    for key, marker, label in (("risk_student", "o", ("student (GLD + GD)", "生徒 (GLD + GD)")),
                               ("risk_kernel", "s", ("kernel ridge (tuned)",
                                                     "カーネルリッジ回帰 (調整済み)"))):
        mean = np.asarray(s[key], dtype=float)
        sd = np.asarray([0.0 if v is None else v for v in s[f"{key}_sd"]], dtype=float)
        ax.errorbar(ns, mean, yerr=sd, fmt=marker + "-", color=next(colour), ms=4, lw=1,
                    capsize=2, label=style.tr(lang, *label))
    anchor = float(s["risk_kernel"][0])
    for rate, ls in ((-1.0, ":"), (float(s["linear_rate"]), "--")):
        ax.plot(ns, anchor * (ns / ns[0]) ** rate, color="0.5", lw=0.8, ls=ls,
                label=f"$n^{{{rate:.2f}}}$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(style.tr(lang, "training samples $n$", "訓練データ数 $n$"))
    ax.set_ylabel(style.tr(lang, "final excess risk", "最終的な余剰リスク"))
    ax.legend(fontsize="small")
    paths.append(style.save(fig, outdir / "risk_vs_n.svg"))
    return paths

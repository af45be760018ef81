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
``beta`` and L2 strength ``lam``; phase 2: ``phase2_steps`` GD steps on the plain loss. Beside
the students in phase 2, the same GD runs on the same data from the teacher's own parameters:
it ends at the least-squares estimate of the teacher's basin, whose risk the parametric theory
predicts to be the oracle risk ``sigma^2 m d / n`` (:mod:`companion.theory.parametric`). The
excess risk ``E (f - f°)^2`` on ``n_test`` fresh inputs is recorded every ``record_every`` steps.
The linear baseline: Gaussian and Laplace kernel ridge with bandwidth and penalty chosen on
``n_val`` held-out points (:func:`companion.theory.kernel_ridge.fit_select`).

Verdicts: (1) the log-log slope of the seeds' mean final excess risk in ``n``
(:func:`loglog_fit`, with standard error) is steeper for the student than for the kernel by more
than their combined standard error. (2) The rate: the median over seeds of each seed's own
slope is within ``slope_tol`` of -1 - a median, so that one seed whose exploration failed, or
whose sample is unlucky, neither makes nor breaks it - and the run is in the claim's regime: at
least half of the students ended in the teacher's basin (squared test distance to the
teacher-started run at most the oracle risk). Seeds with a student outside the basin are listed,
with the median over the others, the teacher-started runs' median slope and the risks in units of
the oracle risk beside it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from companion import memory, sampling
from companion.theory import parametric
from companion.theory.kernel_ridge import distances, fit_select
from companion.theory.powerlaw import loglog_fit

ID = "teacher_student_two_phase"
CATALOG = "D2"
PART = 4
SOURCES = ["sampling.py", "theory/kernel_ridge.py", "theory/parametric.py", "theory/powerlaw.py",
           "nn/langevin.py", "plots/style.py"]
FIGURES = ("risk_trajectory", "risk_vs_n")
POOLED_ONLY: dict[str, str] = {}
# Settings chosen after seeing data, frozen here and decided again on fresh seeds.
_CHOSEN = ("init_a = 1 and eta = 0.1 (with beta = 1000 and phase1_steps = 10000) chosen after "
           "seeing seeds 0-1 stall at init_a = 0.1, eta = 0.05; phase2_steps = 10000 chosen "
           "after seeing seeds 0-5 converge (3000 had not)")
POST_HOC: dict[str, str] = {
    f"{CATALOG}.student_steeper_than_kernel": f"{_CHOSEN}; frozen",
    f"{CATALOG}.student_rate_one_over_n": (
        f"{_CHOSEN}; the basin test (squared distance to teacher-started GD <= sigma^2 m d / n) "
        "and the median over seeds chosen after seeing seeds 0-5; slope tolerance 0.25 and "
        "half the students in the basin frozen"),
}
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
    matrix and factor at the largest n (float64); the padded data and activations
    ``(2 len(ns), n_max, m)`` of the students and the teacher-started runs beside them in
    phase 2 (float64, a few copies)."""
    n = max(int(v) for v in cfg["ns"])
    n_eval = int(cfg["n_test"]) + int(cfg["n_val"])
    terms = {"ns": 8.0 * (3 * n * n + n * n_eval),
             "n_test": 8.0 * 12 * len(cfg["ns"]) * max(n, int(cfg["n_test"]))
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


@contextlib.contextmanager
def _one_thread(device: Any, enabled: bool = True) -> Iterator[None]:
    """Run a block on one CPU thread, then restore the job's thread count. Measured on two cores
    shared with other jobs (default preset, one seed): the students' steps (tensors of a few
    thousand numbers, too small to split) took 3.2 s on one thread and 7.7-35 s on two; the
    kernel fits (Cholesky factors of n <= 1024) 1.2 s on one thread quiet and 1.9 s at load 4,
    on two 0.8 s quiet and 6.5-8.4 s at load 4. No effect on CUDA or when ``enabled`` is false."""
    import torch

    if not enabled or str(device).startswith("cuda"):
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# Up to this many training points a kernel fit is cheaper on one thread than on two contended
# ones (see _one_thread); beyond it the factorisations are large enough to share.
_ONE_THREAD_KERNEL_N = 1024


def _students(cfg: Mapping[str, Any], data: Mapping[str, np.ndarray], seed: int,
              device: Any) -> dict[str, np.ndarray]:
    """All students as one program, and beside them in phase 2 the reference runs: plain GD on
    the same data started at the teacher itself, which end at the least-squares estimate of the
    teacher's basin (the estimator whose risk the parametric theory predicts).

    Returns the excess risk and the training loss at every record ``(records, len(ns))``, the
    record steps, the final parameters ``(len(ns), m, d + 1)``, and the reference runs' excess
    risk, training loss and squared distance to the student on the test inputs over phase 2's
    records ``(phase-2 records, len(ns))``."""
    import torch

    from companion.nn.langevin import LangevinChains

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

    x_t = x.T.contiguous()

    def output(th: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """``(rows, len(inputs))``: every row's net on the same inputs."""
        rows = th.shape[0]
        u = (th[..., :d].reshape(rows * m, d) @ inputs.T).view(rows, m, -1)
        return (th[..., d:].transpose(1, 2) @ torch.relu(u)).squeeze(1)

    def loss_grad(th: torch.Tensor, wt: torch.Tensor) -> torch.Tensor:
        """Gradient of (1/2n_p) sum_i (f(x_i) - y_i)^2 per row (row weights ``wt``), in closed
        form. The input weights of all rows meet the data in one matrix product each way
        ((rows m, d) against (d, n_max)), half the time of a batched product per row."""
        rows = th.shape[0]
        w, a = th[..., :d], th[..., d:]  # (rows, m, d), (rows, m, 1)
        act = torch.mm(w.reshape(rows * m, d), x_t).relu_().view(rows, m, n_max)
        # r = (f - y) * weight, shape (rows, 1, n_max)
        r = torch.baddbmm(y.expand(rows, 1, n_max), a.transpose(1, 2), act,
                          beta=-1.0).mul_(wt.unsqueeze(1))
        grad_a = torch.bmm(act, r.transpose(1, 2))  # (rows, m, 1)
        # 1{<w_j, x> > 0} r, without the a_j yet: relu(u) > 0 exactly where u > 0, so the
        # activations' sign is the gate (in place: the step's cost is its few small kernels).
        gate = act.sign_().mul_(r)
        grad_w = torch.mm(gate.view(rows * m, n_max), x).view(rows, m, d).mul_(a)
        return torch.cat([grad_w, grad_a], dim=-1)

    def record(th: torch.Tensor, wt: torch.Tensor) -> tuple[np.ndarray, ...]:
        pred = output(th, x_test)
        risk = ((pred - f_test) ** 2).mean(dim=1)
        loss = 0.5 * (((output(th, x) - y) ** 2) * wt).sum(dim=1)
        # Squared test distance between a student row and its reference row (phase 2 only).
        gap = ((pred[:p] - pred[p:]) ** 2).mean(dim=1) if len(th) == 2 * p else None
        return risk.cpu().numpy(), loss.cpu().numpy(), None if gap is None else gap.cpu().numpy()

    lam = float(cfg["lam"])
    chains = LangevinChains(theta, lambda th: loss_grad(th, weight).add_(th, alpha=2.0 * lam),
                            eta=float(cfg["eta"]), beta=float(cfg["beta"]), generator=gen)
    every = int(cfg["record_every"])
    records, steps = [record(theta, weight)], [0]
    with torch.no_grad(), _one_thread(device):
        for k in range(1, int(cfg["phase1_steps"]) + 1):
            chains.step()
            if k % every == 0:
                records.append(record(chains.x, weight))
                steps.append(k)
        # Phase 2: the students (rows < p) and the teacher-started references (rows >= p).
        start_ref = torch.empty_like(chains.x)
        start_ref[..., :d] = torch.as_tensor(data["w_teacher"], dtype=f64, device=device)
        start_ref[..., -1] = torch.as_tensor(data["a_teacher"], dtype=f64, device=device)
        theta = torch.cat([chains.x, start_ref])
        both = torch.cat([weight, weight])
        ref: list[tuple[np.ndarray, ...]] = [record(theta, both)]
        eta = torch.tensor(float(cfg["eta"]), dtype=f64, device=device)
        start = int(cfg["phase1_steps"])
        for k in range(1, int(cfg["phase2_steps"]) + 1):
            # Plain GD: the GLD step at zero temperature, without drawing noise it would scale
            # by zero.
            theta = torch.addcmul(theta, eta, loss_grad(theta, both), value=-1.0)
            if k % every == 0 or k == int(cfg["phase2_steps"]):
                rec = record(theta, both)
                records.append((rec[0][:p], rec[1][:p]))
                ref.append(rec)
                steps.append(start + k)
    return {"trajectory": np.stack([r[0] for r in records]),
            "loss_trajectory": np.stack([r[1] for r in records]),
            "record_steps": np.asarray(steps, dtype=np.int64),
            "theta": theta[:p].cpu().numpy(),
            "ref_trajectory": np.stack([r[0][p:] for r in ref]),
            "ref_loss_trajectory": np.stack([r[1][p:] for r in ref]),
            "gap_trajectory": np.stack([r[2] for r in ref])}


def _kernel(cfg: Mapping[str, Any], data: Mapping[str, np.ndarray]) -> np.ndarray:
    """Per n: the excess risk of the kernel (of the two) with the smaller validation error."""
    ns = [int(v) for v in cfg["ns"]]
    out = np.zeros(len(ns))
    for i, n in enumerate(ns):
        best = (np.inf, np.nan)
        x_n = data["x"][:n]
        # Both kernels are functions of the same distances: computed once per n.
        dists = (distances(x_n, x_n), distances(data["x_val"], x_n),
                 distances(data["x_test"], x_n))
        for kernel in KERNELS:
            sel = fit_select(x_n, data["y"][:n], data["x_val"], data["y_val"],
                             data["x_test"], kernel, cfg["bandwidths"], cfg["lams"], dists)
            if sel.val_mse[0] < best[0]:
                best = (float(sel.val_mse[0]),
                        float(np.mean((sel.test_pred[0] - data["f_test"]) ** 2)))
        out[i] = best[1]
    return out


def train(cfg: Mapping[str, Any], data: Mapping[str, np.ndarray], seed: int, device: Any,
          log: Callable[[str], None]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Students (two phases) and the kernel baseline at every n; the teacher's own training loss
    at every n (the bar a student in the teacher's basin reaches)."""
    out = _students(cfg, data, seed, device)
    trajectory, steps = out["trajectory"], out["record_steps"]
    with _one_thread("cpu", max(int(v) for v in cfg["ns"]) <= _ONE_THREAD_KERNEL_N):
        kernel = _kernel(cfg, data)
    ns = [int(v) for v in cfg["ns"]]
    sq = (teacher(data["x"], data["w_teacher"], data["a_teacher"]) - data["y"]) ** 2
    loss_teacher = np.array([0.5 * sq[:n].mean() for n in ns])
    log("final excess risk: student " + " ".join(f"{v:.3g}" for v in trajectory[-1])
        + " | kernel " + " ".join(f"{v:.3g}" for v in kernel))
    return {"n": np.asarray(ns, dtype=np.int64), "seed": np.int64(seed), "trajectory": trajectory,
            "loss_trajectory": out["loss_trajectory"], "theta": out["theta"],
            "record_steps": steps, "risk_student": trajectory[-1],
            "risk_phase1": trajectory[np.flatnonzero(steps == int(cfg["phase1_steps"]))[0]],
            "loss_student": out["loss_trajectory"][-1], "loss_teacher": loss_teacher,
            "ref_trajectory": out["ref_trajectory"], "ref_loss_trajectory":
            out["ref_loss_trajectory"], "gap_trajectory": out["gap_trajectory"],
            "risk_ref": out["ref_trajectory"][-1], "gap_ref": out["gap_trajectory"][-1],
            "risk_kernel": kernel}, {}


# --------------------------------------------------------------------------------------------
# metrics


def _per_seed(arrays: Mapping[str, np.ndarray], oracle: np.ndarray) -> dict[str, Any]:
    """One seed's slopes (student and teacher-started reference) and which of its students
    reached the teacher's basin: a student is there when its squared test distance to the
    reference run on the same data is at most the oracle risk, the statistical error of the
    basin's own estimate (two estimates of the same basin differ by less than either differs
    from the teacher); a student in another local minimum is farther."""
    ns = np.asarray(arrays["n"], dtype=float)
    slope, se = loglog_fit(ns, np.asarray(arrays["risk_student"], dtype=float))
    slope_ref, _ = loglog_fit(ns, np.asarray(arrays["risk_ref"], dtype=float))
    gap = np.asarray(arrays["gap_ref"], dtype=float)
    # NaN (a diverged run) compares False: not in the basin.
    in_basin = gap <= oracle
    return {"slope": slope, "slope_se": se, "slope_ref": slope_ref, "in_basin": in_basin,
            "gap_over_oracle": gap / oracle}


def summarize(cfg: Mapping[str, Any],
              runs: Sequence[tuple[Mapping[str, np.ndarray], Mapping[str, Any]]]) -> dict[str, Any]:
    """Means over seeds per n and the pooled slopes with standard errors (the comparison with
    the kernel); per seed the student's slope, the teacher-started reference's slope and which
    students reached the teacher's basin (the rate claim: the median over seeds, its spread and
    the regime), the claims."""
    ns = np.asarray(runs[0][0]["n"], dtype=float)
    d, m, sigma = int(cfg["d"]), int(cfg["m"]), float(cfg["sigma"])
    dim = parametric.relu_dimension(m, d)
    oracle = parametric.oracle_risk(sigma, dim, ns)
    series: dict[str, Any] = {"n": ns.tolist(),
                              "record_steps": np.asarray(runs[0][0]["record_steps"]).tolist(),
                              "phase1_steps": int(cfg["phase1_steps"]),
                              "oracle_risk": oracle.tolist(), "oracle_dim": dim}
    for key in ("risk_student", "risk_phase1", "risk_ref", "risk_kernel"):
        per_seed = np.stack([np.asarray(a[key], dtype=float) for a, _ in runs])
        series[key] = per_seed.mean(axis=0).tolist()
        series[f"{key}_sd"] = (per_seed.std(axis=0, ddof=1).tolist() if len(runs) > 1
                               else [None] * ns.size)
    series["trajectory"] = np.mean([np.asarray(a["trajectory"], dtype=float) for a, _ in runs],
                                   axis=0).T.tolist()  # (ns, records)
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

    seeds = [int(a["seed"]) if "seed" in a else i for i, (a, _) in enumerate(runs)]
    each = [_per_seed(a, oracle) for a, _ in runs]
    slopes = np.array([e["slope"] for e in each])
    slopes_ref = np.array([e["slope_ref"] for e in each])
    basin = np.stack([e["in_basin"] for e in each])  # (seeds, ns)
    stuck = [seed for seed, row in zip(seeds, basin, strict=True) if not row.all()]
    clean = basin.all(axis=1)
    # A NaN slope (a diverged seed) makes the median NaN: the claim fails, as it should.
    median = float(np.median(slopes))
    median_clean = float(np.median(slopes[clean])) if clean.any() else None
    ratio = np.stack([np.asarray(a["risk_student"], dtype=float) / oracle for a, _ in runs])
    ratio_ref = np.stack([np.asarray(a["risk_ref"], dtype=float) / oracle for a, _ in runs])
    in_basin, students = int(basin.sum()), int(basin.size)
    # The claim's regime: most students reached the teacher's basin (otherwise the slope
    # measures the exploration's failures, not the basin's rate).
    regime = 2 * in_basin >= students
    tol = float(cfg["slope_tol"])
    spread = [float(np.min(slopes)), float(np.max(slopes))]
    series.update({"seeds": seeds, "slope_per_seed": slopes.tolist(),
                   "slope_ref_per_seed": slopes_ref.tolist(),
                   "slope_se_per_seed": [e["slope_se"] for e in each],
                   "in_basin": basin.astype(int).tolist(),
                   "gap_over_oracle": np.stack([e["gap_over_oracle"] for e in each]).tolist(),
                   "ratio_oracle": ratio.tolist(), "ratio_oracle_ref": ratio_ref.tolist(),
                   "stuck_seeds": stuck})
    good = bool(np.isfinite(median) and abs(median + 1.0) <= tol and regime)
    stuck_words = (", ".join(f"{seed} (n = " + ", ".join(
        str(int(n)) for n, ok in zip(ns, row, strict=True) if not ok) + ")"
        for seed, row in zip(seeds, basin, strict=True) if not row.all()) or "none")
    claim_rate = {
        "id": f"{CATALOG}.student_rate_one_over_n",
        "passed": good,
        "measured": median if np.isfinite(median) else 0.0,
        "expected": -1.0,
        "relation": "~=",
        "tolerance": tol,
        "context": {"slope_range": spread, "slope_median_basin": median_clean,
                    "slope_ref_median": float(np.median(slopes_ref)),
                    "students_in_basin": in_basin, "students": students,
                    "stuck_seeds": [int(seed) for seed in stuck],
                    "ratio_oracle_median": float(np.median(ratio)),
                    "ratio_oracle_ref_median": float(np.median(ratio_ref)),
                    "risk_largest_n": float(series["risk_student"][-1])},
        "detail": (f"median over {len(seeds)} seed(s) of the per-seed log-log slope "
                   f"{median:.3f} (range {spread[0]:.3f} to {spread[1]:.3f}), needs within "
                   f"{tol:g} of -1 and at least half of the students in the teacher's basin: "
                   f"{in_basin}/{students} are (squared distance to teacher-started GD <= the "
                   f"oracle risk sigma^2 m d / n = {oracle[0]:.3g} at n = {int(ns[0])}); seeds "
                   f"with a student outside: {stuck_words}; teacher-started GD's median slope "
                   f"{float(np.median(slopes_ref)):.3f}; median risk / oracle risk: student "
                   f"{float(np.median(ratio)):.2f}, teacher-started GD "
                   f"{float(np.median(ratio_ref)):.2f}"),
    }
    columns = ["n", "risk_phase1", "risk_student", "risk_ref", "oracle_risk", "risk_kernel"]
    rows = [[int(ns[i])] + [float(series[c][i]) for c in columns[1:]] for i in range(ns.size)]
    return {"series": series, "claims": [claim_steeper, claim_rate],
            "table": {"columns": columns, "rows": rows}}


# --------------------------------------------------------------------------------------------
# figures


def figures(metrics: Mapping[str, Any], lang: str, outdir: str | Path) -> list[Path]:
    """``risk_trajectory``: excess risk over the steps of both phases per n; ``risk_vs_n``: final
    excess risk against n for the student, GD started at the teacher and the kernel, with the
    oracle risk and the reference rates."""
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
                               ("risk_ref", "^", ("GD started at the teacher",
                                                  "教師から始めた GD")),
                               ("risk_kernel", "s", ("kernel ridge (tuned)",
                                                     "カーネルリッジ回帰 (調整済み)"))):
        mean = np.asarray(s[key], dtype=float)
        sd = np.asarray([0.0 if v is None else v for v in s[f"{key}_sd"]], dtype=float)
        ax.errorbar(ns, mean, yerr=sd, fmt=marker + "-", color=next(colour), ms=4, lw=1,
                    capsize=2, label=style.tr(lang, *label))
    ax.plot(ns, s["oracle_risk"], color="k", lw=0.8, ls="-.",
            label=style.tr(lang, r"oracle $\sigma^2 m d / n$", r"オラクル $\sigma^2 m d / n$"))
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

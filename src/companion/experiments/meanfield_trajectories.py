"""C3: in mean-field scaling the neurons travel to the teacher's directions; in NTK scaling not.

Claim (Chizat and Bach 2018; Mei, Montanari and Nguyen 2018; the lecture's figure of neurons
in the plane): a two-layer ReLU student ``f(x) = (1/M) sum_j a_j relu(<w_j, x>)`` trained by
gradient descent on data from a teacher made of two ReLU neurons moves its neurons, each an
O(1) particle, to the teacher's directions: the measure of the neurons concentrates there. The
same student in NTK scaling (``1/sqrt(M)`` instead of ``1/M``) fits the data while every neuron
stays near its start (lazy training, Chizat, Oyallon and Bach 2019), so the distribution of the
neurons' directions hardly changes.

Stages:

- ``generate``: ``n`` inputs ``x ~ N(0, I_2)``, the teacher's unit directions ``v_1, v_2`` at
  ``teacher_angle`` degrees (symmetric about the first axis) and labels
  ``y = relu(<v_1, x>) + relu(<v_2, x>)``.
- ``train``: one student per scaling (``mean_field`` and ``ntk`` of the batched engine), trained
  together as one ensemble on the same data by full-batch gradient descent; at ``records``
  log-spaced steps every neuron's parameters are recorded, and from them its direction, its mass
  ``|a_j| ||w_j||`` (the size of a ReLU neuron's contribution, invariant under the rescaling
  ``(a, w) -> (a / c, c w)``) and the conjugate kernel's alignment with the labels.
- ``summarize``: the mass share within ``near_deg`` of a teacher direction and the alignment,
  averaged over seeds, and the two claims.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from companion import divergence, memory

ID = "meanfield_trajectories"
CATALOG = "C3"
PART = 3
SOURCES = ["nn/ensemble.py", "nn/train.py", "nn/backprop.py", "nn/parameterisation.py",
           "nn/activations.py", "nn/losses.py", "nn/optim.py", "plots/style.py"]
FIGURES = ("trajectories", "share_and_alignment")

# Claims whose tolerance or setting was chosen after seeing data (companion.audit): the
# workflow decides them again on fresh seeds.
POST_HOC = {
    "C3.mf_mass_near_teacher": (
        "small initialisation init_scale_mf = 0.1 of the mean-field student, chosen after "
        "first trials on seeds 0-3 with init_scale_mf = 1 gave shares 0.68-0.78, below the "
        "required 0.8"
    ),
    "C3.ntk_share_stays": (
        "tolerance 0.15 (ntk_share_tol) on the largest |final - initial| NTK mass share "
        "near the teacher over seeds, chosen after a first trial on seeds 0-3 showed "
        "0.08-0.10"
    ),
}

# Every claim is decided on one seed's runs as well as on the pooled ones.
POOLED_ONLY: dict[str, str] = {}

SCALINGS = ("mean_field", "ntk")
_SHORT = {"mean_field": "mf", "ntk": "ntk"}
_SECTION = f"experiments.{ID}"


# --------------------------------------------------------------------------------------------
# configuration


def check(cfg: Mapping[str, Any]) -> None:
    """What the schema cannot say: more records than steps are impossible."""
    from companion.config import ConfigError

    if int(cfg["records"]) > int(cfg["steps"]) + 1:
        raise ConfigError(f"{_SECTION}.records: at most steps + 1 = {int(cfg['steps']) + 1}; "
                          f"got {cfg['records']}")


def peak_memory_mb(cfg: Mapping[str, Any]) -> dict[str, tuple[float, str]]:
    """Estimated peak memory per job (:mod:`companion.memory`), float64: the recorded parameters
    ``records x 2 x 3 width``, the forward pass ``2 x n x width`` a few times, and the conjugate
    kernel ``n x n`` at each record."""
    n, width, records = int(cfg["n"]), int(cfg["width"]), int(cfg["records"])
    train = memory.dominant("train", {"records": 8.0 * records * 2 * 3 * width,
                                      "n": 8.0 * (6 * n * width + 3 * n * n)})
    metrics = 8.0 * 4 * records * 2 * width * len(cfg["seeds"])
    return {"data": memory.dominant("data", {"n": 8.0 * 3 * n}), "train": train,
            "metrics": memory.dominant("metrics", {"records": metrics})}


def teacher_directions(angle_deg: float) -> np.ndarray:
    """The teacher's two unit directions (rows), ``angle_deg`` apart, symmetric about axis 1."""
    half = math.radians(float(angle_deg)) / 2.0
    return np.array([[math.cos(half), math.sin(half)], [math.cos(half), -math.sin(half)]])


# --------------------------------------------------------------------------------------------
# data


def generate(cfg: Mapping[str, Any], seed: int) -> dict[str, np.ndarray]:
    """Gaussian inputs in the plane and the two-neuron ReLU teacher's labels."""
    rng = np.random.default_rng([seed, 0xC3])
    x = rng.standard_normal((int(cfg["n"]), 2))
    v = teacher_directions(float(cfg["teacher_angle"]))
    return {"x": x, "y": np.maximum(x @ v.T, 0.0).sum(axis=1), "teacher": v}


# --------------------------------------------------------------------------------------------
# training


def neuron_state(w1: np.ndarray, w2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Angles (degrees, in (-180, 180]) and masses ``|a_j| ||w_j||`` of the neurons, from input
    weights ``(..., 2, M)`` and output weights ``(..., M, 1)``."""
    angle = np.degrees(np.arctan2(w1[..., 1, :], w1[..., 0, :]))
    mass = np.abs(w2[..., 0]) * np.linalg.norm(w1, axis=-2)
    return angle, mass


def share_near(angle: np.ndarray, mass: np.ndarray, teacher_deg: Sequence[float],
               near_deg: float) -> np.ndarray:
    """The share of the mass (last axis: neurons) within ``near_deg`` of any teacher angle."""
    gaps = [np.abs((angle - t + 180.0) % 360.0 - 180.0) for t in teacher_deg]
    near = np.min(gaps, axis=0) <= near_deg
    total = mass.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (mass * near).sum(axis=-1) / total


def kernel_alignment(features: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``y^T K y / (||K||_F ||y||^2)`` for the conjugate kernel ``K = Phi Phi^T`` of the features
    ``Phi`` (..., n, M) (Cristianini et al. 2002, the alignment of K with ``y y^T``)."""
    gram = features @ np.swapaxes(features, -1, -2)
    num = np.einsum("i,...ij,j->...", y, gram, y)
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / (np.linalg.norm(gram, axis=(-2, -1)) * float(y @ y))


def train(cfg: Mapping[str, Any], data: Mapping[str, np.ndarray], seed: int, device: Any,
          log: Callable[[str], None]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Both scalings as one ensemble on the same data; neurons recorded on a log schedule."""
    import torch

    from companion.nn.ensemble import MLPEnsemble
    from companion.nn.train import fit, log_schedule

    width, steps = int(cfg["width"]), int(cfg["steps"])
    f64 = torch.float64
    x = torch.as_tensor(data["x"], dtype=f64, device=device)
    y = torch.as_tensor(data["y"], dtype=f64, device=device)
    model = MLPEnsemble(2, [width] * len(SCALINGS), activation_name="relu",
                        parameterisation=list(SCALINGS), seed=int(seed) + 0xC3, device=device,
                        dtype=f64)
    with torch.no_grad():
        # A small initialisation for the mean-field student only (see the caveats): its neurons
        # first turn towards the teacher, then grow. NTK scaling keeps the standard one.
        for w in model.weights:
            w[0].mul_(float(cfg["init_scale_mf"]))
    schedule = log_schedule(steps, int(cfg["records"]))
    hist = fit(model, x, y, steps=steps, lr=float(cfg["lr"]), record_at=schedule,
               record_params=True)
    w1, w2 = hist.params["W1"], hist.params["W2"]  # (T, E, 2, M), (T, E, M, 1)
    angle, mass = neuron_state(w1, w2)
    features = np.maximum(np.einsum("nd,tedm->tenm", data["x"], w1), 0.0)
    align = kernel_alignment(features, np.asarray(data["y"], dtype=float))
    loss = hist.loss
    for e, name in enumerate(SCALINGS):
        log(f"{name}: loss {loss[0, e]:.4g} -> {loss[-1, e]:.4g}, CK alignment "
            f"{align[0, e]:.3f} -> {align[-1, e]:.3f}")
    arrays = {"steps": hist.steps, "loss": loss, "angle": angle, "mass": mass,
              "alignment": align}
    scalars = {"divergence": divergence.first_nonfinite(loss, hist.steps, "loss")}
    return arrays, scalars


# --------------------------------------------------------------------------------------------
# metrics


def summarize(cfg: Mapping[str, Any],
              runs: Sequence[tuple[Mapping[str, np.ndarray], Mapping[str, Any]]]) -> dict[str, Any]:
    """Mass shares near the teacher and CK alignments over time, averaged over seeds."""
    near = float(cfg["near_deg"])
    teacher = teacher_directions(float(cfg["teacher_angle"]))
    teacher_deg = np.degrees(np.arctan2(teacher[:, 1], teacher[:, 0]))
    steps = np.asarray(runs[0][0]["steps"], dtype=float)
    share = np.stack([share_near(np.asarray(a["angle"]), np.asarray(a["mass"]), teacher_deg, near)
                      for a, _ in runs])  # (seeds, T, E)
    align = np.stack([np.asarray(a["alignment"], dtype=float) for a, _ in runs])
    loss = np.stack([np.asarray(a["loss"], dtype=float) for a, _ in runs])
    share_mean, align_mean, loss_mean = share.mean(0), align.mean(0), loss.mean(0)
    series: dict[str, Any] = {"time": (steps * float(cfg["lr"])).tolist(),
                              "steps": steps.tolist(), "teacher_deg": teacher_deg.tolist()}
    for e, name in enumerate(SCALINGS):
        short = _SHORT[name]
        series[f"share_{short}"] = share_mean[:, e].tolist()
        series[f"alignment_{short}"] = align_mean[:, e].tolist()
        series[f"loss_{short}"] = loss_mean[:, e].tolist()
        # One seed's neurons for the trajectory figure.
        series[f"angle_{short}"] = np.asarray(runs[0][0]["angle"])[:, e].tolist()
        series[f"mass_{short}"] = np.asarray(runs[0][0]["mass"])[:, e].tolist()

    mf_end = float(share_mean[-1, 0])
    need = float(cfg["share_min_mf"])
    claim_mf = {
        "id": f"{CATALOG}.mf_mass_near_teacher",
        "passed": bool(mf_end > need),
        "measured": mf_end,
        "expected": need,
        "relation": ">",
        "context": {"near_deg": near, "share_start": float(share_mean[0, 0]),
                    "steps": int(steps[-1]),
                    "share_per_seed": [float(v) for v in share[:, -1, 0]],
                    "loss_end": float(loss_mean[-1, 0]),
                    "alignment_start": float(align_mean[0, 0]),
                    "alignment_end": float(align_mean[-1, 0])},
        "detail": (f"mean-field: share of the mass |a_j| ||w_j|| within {near:g} deg of a teacher "
                   f"direction {share_mean[0, 0]:.3f} at the start, {mf_end:.3f} after "
                   f"{int(steps[-1])} steps (per seed {np.round(share[:, -1, 0], 3).tolist()}); "
                   f"loss {loss_mean[-1, 0]:.3g}; CK alignment {align_mean[0, 0]:.3f} -> "
                   f"{align_mean[-1, 0]:.3f}"),
    }
    change = np.abs(share[:, -1, 1] - share[:, 0, 1])
    worst = float(np.nan if np.isnan(change).any() else change.max())
    tol = float(cfg["ntk_share_tol"])
    claim_ntk = {
        "id": f"{CATALOG}.ntk_share_stays",
        "passed": bool(worst <= tol),
        "measured": worst,
        "expected": tol,
        "relation": "<=",
        "context": {"share_start": float(share_mean[0, 1]),
                    "share_end": float(share_mean[-1, 1]), "steps": int(steps[-1]),
                    "loss_end": float(loss_mean[-1, 1]),
                    "alignment_start": float(align_mean[0, 1]),
                    "alignment_end": float(align_mean[-1, 1])},
        "detail": (f"NTK scaling: largest |share(end) - share(start)| over seeds = {worst:.3f} "
                   f"(mean share {share_mean[0, 1]:.3f} -> {share_mean[-1, 1]:.3f}); loss "
                   f"{loss_mean[-1, 1]:.3g}; CK alignment {align_mean[0, 1]:.3f} -> "
                   f"{align_mean[-1, 1]:.3f}"),
    }
    columns = ["scaling", "share_start", "share_end", "alignment_start", "alignment_end",
               "loss_end"]
    rows = [[_SHORT[name].upper(), float(share_mean[0, e]), float(share_mean[-1, e]),
             float(align_mean[0, e]), float(align_mean[-1, e]), float(loss_mean[-1, e])]
            for e, name in enumerate(SCALINGS)]
    return {"series": series, "claims": [claim_mf, claim_ntk],
            "table": {"columns": columns, "rows": rows}}


# --------------------------------------------------------------------------------------------
# figures


def figures(metrics: Mapping[str, Any], lang: str, outdir: str | Path) -> list[Path]:
    """``trajectories`` (every neuron's angle over time, both scalings side by side, teacher
    directions dashed) and ``share_and_alignment`` (the mass share near the teacher and the CK
    alignment over time)."""
    from companion.plots import style

    outdir = Path(outdir)
    s = metrics["series"]
    steps = np.asarray(s["steps"], dtype=float)
    t = np.maximum(steps, 0.5)  # the first record (step 0) drawn at the axis' left edge
    titles = {"mf": style.tr(lang, "mean-field scaling", "平均場スケール"),
              "ntk": style.tr(lang, "NTK scaling", "NTKスケール")}
    written = []

    fig, axes = style.new_figure(ncols=2, height=3.4)
    axes = axes.ravel()
    for ax, short in zip(axes, ("mf", "ntk"), strict=True):
        angle = np.asarray(s[f"angle_{short}"], dtype=float)  # (T, M)
        mass = np.asarray(s[f"mass_{short}"], dtype=float)
        weight = mass[-1] / max(float(mass[-1].max()), 1e-300)
        for j in range(angle.shape[1]):
            # Unwrap so a neuron crossing +-180 deg draws a continuous line.
            path = np.degrees(np.unwrap(np.radians(angle[:, j])))
            ax.plot(t, path, color=style.MEASURED_COLOURS[0], lw=0.7,
                    alpha=0.15 + 0.85 * float(weight[j]))
        for k, deg in enumerate(s["teacher_deg"]):
            ax.axhline(deg, **style.THEORY_STYLE,
                       label=style.tr(lang, "teacher directions", "教師の方向") if k == 0 else None)
        ax.set_xscale("log")
        ax.set_ylim(-200, 200)
        ax.set_title(titles[short])
        ax.set_xlabel(style.tr(lang, "step", "ステップ"))
    axes[0].set_ylabel(style.tr(lang, "neuron direction (degrees)", "ニューロンの方向 (度)"))
    axes[0].legend(loc="lower left")
    written.append(style.save(fig, outdir / "trajectories.svg"))

    fig, axes = style.new_figure(ncols=2)
    axes = axes.ravel()
    colour = style.colours()
    for short in ("mf", "ntk"):
        c = next(colour)
        axes[0].plot(t, s[f"share_{short}"], "o-", color=c, ms=3, lw=1, label=titles[short])
        axes[1].plot(t, s[f"alignment_{short}"], "o-", color=c, ms=3, lw=1, label=titles[short])
    axes[0].axhline(float(metrics["config"]["share_min_mf"]), color="0.5", lw=0.8, linestyle=":",
                    label=style.tr(lang, "required (mean-field)", "要求値 (平均場)"))
    near = float(metrics["config"]["near_deg"])
    axes[0].set_ylabel(style.tr(lang, f"mass share within {near:g}° of the teacher",
                                f"教師の方向から{near:g}°以内の質量の割合"))
    axes[1].set_ylabel(style.tr(lang, "kernel alignment of the CK", "CKのカーネルアラインメント"))
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel(style.tr(lang, "step", "ステップ"))
    axes[0].set_ylim(0.0, 1.02)
    axes[0].legend(loc="upper left")
    written.append(style.save(fig, outdir / "share_and_alignment.svg"))
    return written

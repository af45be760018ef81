"""Training an ensemble, recording per-model metrics on a schedule without a host sync per step.

:func:`fit` runs gradient steps for every model of an :class:`~companion.nn.ensemble.MLPEnsemble`
at once. At the steps listed in ``record_at`` it writes each model's training loss, the movement
``|p_t - p_0|_F`` and norm ``|p_t|_F`` of every parameter tensor, and optionally the outputs on
probe inputs, into preallocated tensors on the device; they are copied to the host once, at the
end. Nothing in the loop reads a device value on the host, so on a GPU the steps queue up
asynchronously.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from companion.nn.backprop import two_layer_loss_and_grads
from companion.nn.ensemble import MLPEnsemble
from companion.nn.losses import loss_fn
from companion.nn.optim import make_optimiser


@dataclass
class History:
    """What :func:`fit` recorded; arrays have a leading axis over ``steps``, then models."""

    steps: np.ndarray
    loss: np.ndarray
    movement: dict[str, np.ndarray]
    norm: dict[str, np.ndarray]
    probe: np.ndarray | None = None
    params: dict[str, np.ndarray] | None = None
    # Held-out checks (``validation``): the steps checked, the loss there ``(checks, E)``, and
    # per model the step whose parameters were kept (``keep_best``; else the last step).
    val_steps: np.ndarray | None = None
    val_loss: np.ndarray | None = None
    best_step: np.ndarray | None = None


def log_schedule(steps: int, count: int) -> np.ndarray:
    """About ``count`` distinct integer steps from 0 to ``steps``, evenly spaced in log(1 + t)."""
    grid = np.unique(np.round(np.expm1(np.linspace(0.0, np.log1p(steps), count))).astype(int))
    return np.union1d(grid, [0, steps])


def _as_lr(lr: float | Sequence[float] | torch.Tensor, model: MLPEnsemble) -> torch.Tensor:
    lr_t = torch.as_tensor(lr, dtype=model.dtype, device=model.device)
    if lr_t.dim() == 0:
        lr_t = lr_t.expand(model.n_models)
    if lr_t.shape != (model.n_models,):
        raise ValueError(f"lr: expected a scalar or {model.n_models} values, "
                         f"got {tuple(lr_t.shape)}")
    return lr_t.clone()


def _batch(x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor) -> tuple[torch.Tensor, ...]:
    # idx: (E, B) sample indices per model.
    if x.dim() == 2:
        xb = x[idx]
    else:
        xb = torch.gather(x, 1, idx[:, :, None].expand(-1, -1, x.shape[-1]))
    yb = y[idx] if y.dim() == 1 else torch.gather(y, 1, idx)
    return xb, yb


def fit(model: MLPEnsemble, x: torch.Tensor, y: torch.Tensor, *, steps: int,
        lr: float | Sequence[float] | torch.Tensor, optimiser: str = "gd",
        loss: str = "squared", record_at: Sequence[int] | np.ndarray | None = None,
        batch_size: int | None = None, generator: torch.Generator | None = None,
        probe: torch.Tensor | None = None, optimiser_options: dict | None = None,
        closed_form: bool = True, sample_sizes: Sequence[int] | np.ndarray | None = None,
        final_lr_fraction: float = 1.0, record_params: bool = False,
        validation: tuple[torch.Tensor, torch.Tensor, torch.Tensor | None] | None = None,
        val_every: int = 0, keep_best: bool = False) -> History:
    """Train every model of ``model`` for ``steps`` steps and return what was recorded.

    ``x`` is ``(n, d)`` (shared by all models) or ``(E, n, d)``; ``y`` is ``(n,)`` or ``(E, n)``.
    ``lr`` is one step size or one per model. With ``batch_size`` each model draws its own
    minibatch (with replacement) each step from ``generator``; otherwise the step is full-batch
    gradient descent. The recorded loss is always the full training loss. A record at step t
    describes the parameters after t updates. Two-layer nets use the closed-form gradient of
    :mod:`companion.nn.backprop` unless ``closed_form`` is false (then autograd, as deeper nets).

    ``sample_sizes`` (with ``batch_size``; per-model data ``(E, n, d)``) lets model e draw its
    minibatches from its first ``sample_sizes[e]`` rows only, so models trained on different
    sample sizes share one program: the caller pads each model's rows up to n (the recorded
    "full" loss then runs over the padded rows; pad by repeating the model's own samples to keep
    it meaningful). ``final_lr_fraction`` decays every step size geometrically, by the same
    factor each step, to that fraction of its start at the last step.
    With ``record_params`` every parameter tensor itself is copied at each record (into
    ``History.params``, by name, shape ``(records, E, ...)``): for trajectories of small nets.

    ``validation = (x_val, y_val, weights)`` is held-out data (``x_val`` ``(m, d)`` or
    ``(E, m, d)``, ``y_val`` ``(m,)`` or ``(E, m)``, ``weights`` ``(E, m)`` or None): every
    ``val_every`` steps, and at steps 0 and ``steps``, each model's loss on it (the
    ``weights``-weighted mean of the pointwise loss, e.g. 0/1 weights for held-out sets of
    different sizes padded to m) goes into ``History.val_loss``, on the device, without a host
    sync. With ``keep_best`` each model ends with its parameters from the check of lowest
    held-out loss (early stopping as model selection, e.g. Prechelt 1998; the later check wins
    no tie), and ``History.best_step`` says which.
    """
    record_at = log_schedule(steps, 30) if record_at is None else np.asarray(record_at, int)
    if record_at.size and (record_at.min() < 0 or record_at.max() > steps):
        raise ValueError(f"record_at: steps must lie in [0, {steps}]")
    slots = {int(t): k for k, t in enumerate(record_at)}
    params = model.params
    names = model.param_names
    objective = loss_fn(loss)
    opt = make_optimiser(optimiser, params, _as_lr(lr, model), model.lr_scales,
                         **(optimiser_options or {}))
    if batch_size is not None and generator is None:
        raise ValueError("batch_size: minibatches need a generator (seeded)")

    n = x.shape[-2]
    dev = model.device
    sizes = None
    if sample_sizes is not None:
        if batch_size is None or x.dim() != 3:
            raise ValueError("sample_sizes: needs minibatches (batch_size) and per-model data")
        sizes = torch.as_tensor(np.asarray(sample_sizes), dtype=torch.float64)
        if sizes.shape != (model.n_models,) or sizes.min() < 1 or sizes.max() > n:
            raise ValueError(f"sample_sizes: need {model.n_models} sizes in [1, {n}]")
        sizes = sizes.to(generator.device)[:, None]
    if not 0.0 < final_lr_fraction <= 1.0:
        raise ValueError(f"final_lr_fraction: {final_lr_fraction} must lie in (0, 1]")
    decay = final_lr_fraction ** (1.0 / max(steps - 1, 1))
    if decay != 1.0 and not isinstance(getattr(opt, "steps", None), list):
        # GD and Adam keep their per-parameter step tensors in ``steps``; others have no decay.
        raise ValueError(f"final_lr_fraction: the {optimiser!r} optimiser has no step decay")
    rec_loss = torch.zeros(len(record_at), model.n_models, device=dev, dtype=model.dtype)
    rec_move = torch.zeros(len(record_at), len(params), model.n_models, device=dev,
                           dtype=model.dtype)
    rec_norm = torch.zeros_like(rec_move)
    rec_probe = None
    if probe is not None:
        rec_probe = torch.zeros(len(record_at), model.n_models, probe.shape[-2], device=dev,
                                dtype=model.dtype)
    start = model.snapshot()
    val_at: np.ndarray = np.zeros(0, dtype=int)
    if validation is not None:
        if val_every < 1:
            raise ValueError(f"val_every: {val_every} must be a positive number of steps")
        val_at = np.union1d(np.arange(0, steps + 1, val_every), [steps])
        x_val, y_val, w_val = validation
        if w_val is None:
            w_val = torch.ones(model.n_models, y_val.shape[-1], device=dev, dtype=model.dtype)
        if w_val.shape != (model.n_models, y_val.shape[-1]) or (w_val.sum(dim=1) <= 0).any():
            raise ValueError(f"validation: weights must be ({model.n_models}, "
                             f"{y_val.shape[-1]}) with a positive sum per model")
        w_val = w_val / w_val.sum(dim=1, keepdim=True)
    elif keep_best:
        raise ValueError("keep_best: needs validation data")
    val_slots = {int(t): k for k, t in enumerate(val_at)}
    rec_val = torch.zeros(len(val_at), model.n_models, device=dev, dtype=model.dtype)
    best_val = torch.full((model.n_models,), float("inf"), device=dev, dtype=model.dtype)
    best_at = torch.zeros(model.n_models, device=dev, dtype=torch.int64)
    kept = model.snapshot() if keep_best else []

    @torch.no_grad()
    def check(k: int, t: int) -> None:
        # Pointwise loss: the per-model objective over a trailing axis of length 1.
        f = model(x_val)
        point = objective(f[..., None], y_val.expand_as(f)[..., None])
        rec_val[k] = (point * w_val).sum(dim=1)
        if keep_best:
            # A non-finite held-out loss is never the best.
            better = torch.isfinite(rec_val[k]) & (rec_val[k] < best_val)
            best_val.copy_(torch.where(better, rec_val[k], best_val))
            best_at.copy_(torch.where(better, t, best_at))
            for buf, p in zip(kept, params, strict=True):
                buf.copy_(torch.where(better.reshape(-1, *([1] * (p.dim() - 1))), p, buf))

    rec_params = ([torch.zeros(len(record_at), *p.shape, device=dev, dtype=model.dtype)
                   for p in params] if record_params else None)

    @torch.no_grad()
    def record(k: int, full_loss: torch.Tensor | None) -> None:
        rec_loss[k] = full_loss if full_loss is not None else objective(model(x), y)
        for i, (p, p0) in enumerate(zip(params, start, strict=True)):
            rec_move[k, i] = (p - p0).flatten(1).norm(dim=1)
            rec_norm[k, i] = p.flatten(1).norm(dim=1)
        if rec_probe is not None:
            rec_probe[k] = model(probe)
        if rec_params is not None:
            for buf, p in zip(rec_params, params, strict=True):
                buf[k] = p

    for t in range(steps):
        if t in val_slots:
            check(val_slots[t], t)
        if batch_size is None:
            xb, yb = x, y
        else:
            if sizes is None:
                idx = torch.randint(0, n, (model.n_models, batch_size), generator=generator,
                                    device=generator.device)
            else:
                u = torch.rand(model.n_models, batch_size, generator=generator,
                               dtype=torch.float64, device=generator.device)
                idx = (u * sizes).long()
            xb, yb = _batch(x, y, idx.to(dev))
        if model.depth == 1 and closed_form:
            per_model, grads = two_layer_loss_and_grads(model, xb, yb, loss)
        else:
            per_model = objective(model(xb), yb)
            grads = torch.autograd.grad(per_model.sum(), params)
        if t in slots:
            record(slots[t], per_model.detach() if batch_size is None else None)
        opt.step(grads, generator)
        if decay != 1.0:
            for step_size in opt.steps:
                step_size.mul_(decay)
    if steps in slots:
        record(slots[steps], None)
    if steps in val_slots:
        check(val_slots[steps], steps)
    if keep_best:
        with torch.no_grad():
            for p, buf in zip(params, kept, strict=True):
                p.copy_(buf)

    to_np = lambda a: a.detach().cpu().numpy()  # noqa: E731
    move, norm = to_np(rec_move), to_np(rec_norm)
    return History(steps=np.asarray(record_at),
                   loss=to_np(rec_loss),
                   movement={name: move[:, i] for i, name in enumerate(names)},
                   norm={name: norm[:, i] for i, name in enumerate(names)},
                   probe=None if rec_probe is None else to_np(rec_probe),
                   params=None if rec_params is None else
                   {name: to_np(buf) for name, buf in zip(names, rec_params, strict=True)},
                   val_steps=None if validation is None else val_at,
                   val_loss=None if validation is None else to_np(rec_val),
                   best_step=None if validation is None else (
                       to_np(best_at) if keep_best else np.full(model.n_models, steps)))


@dataclass
class Stopped:
    """What :func:`fit_until` returns: each model's parameters when it first met the criterion
    (or at the end, if it never did), the number of steps taken until then, and whether it met
    the criterion."""

    params: list[torch.Tensor]
    steps: np.ndarray
    reached: np.ndarray


def fit_until(model: MLPEnsemble, x: torch.Tensor, y: torch.Tensor, *,
              done: Callable[[MLPEnsemble], torch.Tensor], lr: float | Sequence[float],
              max_steps: int, check_every: int, loss: str = "squared") -> Stopped:
    """Full-batch gradient descent until every model meets ``done`` (a boolean per model) or
    ``max_steps``; the criterion is checked every ``check_every`` steps, and a model's parameters
    are kept from the first check it passes, so every model is compared at the same criterion
    (e.g. a training margin) however long it took. Models keep training after they are done
    (the ensemble is one tensor program); their kept copy does not change."""
    kept = model.snapshot()
    steps = np.full(model.n_models, -1, dtype=np.int64)
    taken = 0

    def collect() -> bool:
        with torch.no_grad():
            new = done(model).cpu().numpy() & (steps < 0)
        if new.any():
            idx = torch.as_tensor(np.flatnonzero(new), device=model.device)
            for k, p in zip(kept, model.params, strict=True):
                k[idx] = p.detach()[idx]
            steps[new] = taken
        return bool((steps >= 0).all())

    finished = collect()
    while not finished and taken < max_steps:
        chunk = min(check_every, max_steps - taken)
        fit(model, x, y, steps=chunk, lr=lr, optimiser="gd", loss=loss, record_at=[])
        taken += chunk
        finished = collect()
    reached = steps >= 0
    if not reached.all():  # the rest are kept as they are at the end
        idx = torch.as_tensor(np.flatnonzero(~reached), device=model.device)
        for k, p in zip(kept, model.params, strict=True):
            k[idx] = p.detach()[idx]
        steps[~reached] = taken
    return Stopped(params=kept, steps=steps, reached=reached)

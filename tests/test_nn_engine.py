"""The batched engine against ordinary per-model torch.nn training, and the NTK closed form
against autograd Jacobians."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from companion.nn.ensemble import MLPEnsemble
from companion.nn.ntk import total, two_layer_ntk
from companion.nn.parameterisation import PARAMETERISATIONS
from companion.nn.sweep import plan_groups
from companion.nn.train import fit, log_schedule

DT = torch.float64


def _data(n=12, d=5, seed=0, classes=False):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=DT)
    y = torch.randn(n, generator=g, dtype=DT)
    return x, (torch.sign(y) if classes else y)


def _param_groups(model: MLPEnsemble, e: int, module: torch.nn.Sequential, lr: float,
                  optimiser: str, eps: float = 1e-8):
    """torch.optim groups that make training the effective weights equal training the raw ones:
    with W = m w, a GD step s*lr on w is a step s*lr*m^2 on W; for Adam it is lr s m with eps/m."""
    linears = [mod for mod in module if isinstance(mod, torch.nn.Linear)]
    groups = []
    for layer, lin in enumerate(linears):
        m = float(model.multipliers[layer][e])
        s = float(model.lr_scales[layer][e])
        if optimiser == "adam":
            groups.append({"params": [lin.weight], "lr": lr * s * m, "eps": eps / m})
        else:
            groups.append({"params": [lin.weight], "lr": lr * s * m * m})
    for layer in range(len(model.biases)):
        s = float(model.lr_scales[len(model.weights) + layer][e])
        groups.append({"params": [linears[layer].bias], "lr": lr * s, "eps": eps})
    return groups


def _loop_losses(model, x, y, lr, steps, optimiser, loss, batches=None):
    """Train each model alone as a torch.nn.Sequential; full-batch loss before each step + final."""
    out = []
    for e in range(model.n_models):
        module = model.torch_module(e)
        groups = _param_groups(model, e, module, float(lr[e]), optimiser)
        opt = (torch.optim.Adam(groups, betas=(0.9, 0.999)) if optimiser == "adam"
               else torch.optim.SGD(groups))

        def objective(xb, yb, module=module):
            f = module(xb).squeeze(-1)
            if loss == "logistic":
                return torch.nn.functional.softplus(-yb * f).mean()
            return 0.5 * (f - yb).pow(2).mean()

        hist = []
        for t in range(steps):
            with torch.no_grad():
                hist.append(float(objective(x, y)))
            xb, yb = (x, y) if batches is None else (x[batches[t][e]], y[batches[t][e]])
            opt.zero_grad()
            objective(xb, yb).backward()
            opt.step()
        with torch.no_grad():
            hist.append(float(objective(x, y)))
        out.append(hist)
    return np.array(out).T  # (steps + 1, E)


CASES = [(p, o) for p in PARAMETERISATIONS for o in ("gd", "adam")]


@pytest.mark.parametrize("parameterisation,optimiser", CASES)
def test_batched_equals_torch_nn_loop(parameterisation, optimiser):
    x, y = _data()
    widths = [6, 10, 10]  # unequal: exercises the padding mask
    model = MLPEnsemble(5, widths, activation_name="tanh", parameterisation=parameterisation,
                        seed=3, dtype=DT, bias=parameterisation != "mean_field")
    lr = np.array([0.05, 0.1, 0.02]) * (0.1 if optimiser == "adam" else 1.0)
    steps = 6
    # The loop copies the initial weights, so build it before the batched fit changes them.
    reference_model = MLPEnsemble(5, widths, activation_name="tanh",
                                  parameterisation=parameterisation, seed=3, dtype=DT,
                                  bias=parameterisation != "mean_field")
    hist = fit(model, x, y, steps=steps, lr=torch.tensor(lr, dtype=DT), optimiser=optimiser,
               record_at=np.arange(steps + 1))
    expected = _loop_losses(reference_model, x, y, lr, steps, optimiser, "squared")
    np.testing.assert_allclose(hist.loss, expected, rtol=1e-9, atol=1e-12)
    assert np.all(hist.loss[-1] < hist.loss[0])  # every model trained


@pytest.mark.parametrize("parameterisation", ["standard", "ntk", "mup"])
def test_deep_sgd_logistic_equals_torch_nn_loop(parameterisation):
    x, y = _data(n=16, classes=True)
    widths = [7, 7]
    make = lambda: MLPEnsemble(5, widths, depth=3, activation_name="relu",  # noqa: E731
                               parameterisation=parameterisation, seed=1, dtype=DT, bias=True)
    model, reference_model = make(), make()
    steps, batch = 5, 4
    lr = np.array([0.1, 0.3])
    hist = fit(model, x, y, steps=steps, lr=torch.tensor(lr, dtype=DT), loss="logistic",
               batch_size=batch, generator=torch.Generator().manual_seed(11),
               record_at=np.arange(steps + 1))
    replay = torch.Generator().manual_seed(11)
    batches = [torch.randint(0, 16, (2, batch), generator=replay) for _ in range(steps)]
    expected = _loop_losses(reference_model, x, y, lr, steps, "gd", "logistic", batches)
    np.testing.assert_allclose(hist.loss, expected, rtol=1e-9, atol=1e-12)


def test_recorded_movement_and_probe_match_direct_computation():
    x, y = _data()
    model = MLPEnsemble(5, [8, 8], parameterisation="ntk", seed=0, dtype=DT)
    w0 = [p.detach().clone() for p in model.params]
    hist = fit(model, x, y, steps=7, lr=0.5, record_at=[0, 3, 7], probe=x[:4])
    for name, p, p0 in zip(model.param_names, model.params, w0, strict=True):
        direct = (p.detach() - p0).flatten(1).norm(dim=1).numpy()
        np.testing.assert_allclose(hist.movement[name][-1], direct, rtol=1e-12)
        np.testing.assert_allclose(hist.movement[name][0], 0.0)
    with torch.no_grad():
        np.testing.assert_allclose(hist.probe[-1], model(x[:4]).numpy(), rtol=1e-12)


def test_per_model_data_and_seed_reproducibility():
    g = torch.Generator().manual_seed(5)
    x = torch.randn(3, 10, 4, generator=g, dtype=DT)
    y = torch.randn(3, 10, generator=g, dtype=DT)
    runs = []
    for _ in range(2):
        model = MLPEnsemble(4, [6, 6, 6], parameterisation="standard", seed=9, dtype=DT)
        runs.append(fit(model, x, y, steps=4, lr=0.1, batch_size=5,
                        generator=torch.Generator().manual_seed(2)).loss)
    np.testing.assert_array_equal(runs[0], runs[1])
    # Different data per model gives different losses at initialisation.
    assert len(set(np.round(runs[0][0], 12))) == 3


def test_symmetric_initialisation_outputs_zero():
    x, _ = _data()
    model = MLPEnsemble(5, [4, 8, 12], parameterisation="ntk", symmetric=True, seed=0, dtype=DT,
                        bias=True)
    with torch.no_grad():
        assert model(x).abs().max() < 1e-12
    with pytest.raises(ValueError, match="even"):
        MLPEnsemble(5, [3, 4], symmetric=True)


def _jacobian_gram(model: MLPEnsemble, e: int, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The tangent kernel of model e from autograd: sum_p s_p J_p J_p^T."""
    grams = {}
    for i, name in enumerate(model.param_names):
        rows = []
        for k in range(x.shape[0]):
            g = torch.autograd.grad(model(x[k:k + 1])[e, 0], model.params[i])[0][e]
            rows.append(g.flatten())
        jac = torch.stack(rows)
        grams[name] = float(model.lr_scales[i][e]) * jac @ jac.T
    return grams


@pytest.mark.parametrize("act", ["relu", "tanh", "erf", "sigmoid"])
@pytest.mark.parametrize("parameterisation", PARAMETERISATIONS)
def test_ntk_closed_form_equals_autograd_jacobians(act, parameterisation):
    x, _ = _data(n=7)
    model = MLPEnsemble(5, [5, 9], activation_name=act, parameterisation=parameterisation,
                        seed=2, dtype=DT, bias=True)
    kernels = two_layer_ntk(model, x)
    for e in range(2):
        reference = _jacobian_gram(model, e, x)
        assert set(reference) == set(kernels)
        for name, k in reference.items():
            torch.testing.assert_close(kernels[name][e], k, rtol=1e-10, atol=1e-12)
    cross = total(two_layer_ntk(model, x[:3], x[3:]))
    torch.testing.assert_close(cross, total(kernels)[:, :3, 3:])


def test_plan_groups():
    widths = [64, 128, 64, 256, 128, 64]
    groups = plan_groups(widths, max_waste=1.0)
    assert [sorted(np.asarray(widths)[g].tolist()) for g in groups] == [
        [64, 64, 64], [128, 128], [256]]
    assert len(plan_groups(widths, max_waste=np.inf)) == 1
    assert sorted(np.concatenate(groups).tolist()) == list(range(6))


def test_log_schedule():
    s = log_schedule(1000, 20)
    assert s[0] == 0 and s[-1] == 1000 and np.all(np.diff(s) > 0)


@pytest.mark.parametrize("parameterisation", ["mean_field", "one_step"])
def test_two_layer_parameterisations_reject_depth(parameterisation):
    with pytest.raises(ValueError, match="two-layer"):
        MLPEnsemble(3, [4], depth=2, parameterisation=parameterisation)


def test_one_step_scales_follow_ba_et_al():
    # W_ij ~ N(0, 1/d), output (1/sqrt(N)) a with a_i ~ N(0, 1/N), first-layer step sqrt(N).
    d, width = 400, 900
    model = MLPEnsemble(d, [width], parameterisation="one_step", seed=0, dtype=DT)
    w, a = (p.detach() for p in model.weights)
    assert w.var().item() == pytest.approx(1.0 / d, rel=0.02)
    assert a.var().item() == pytest.approx(1.0 / width, rel=0.15)
    assert model.multipliers[1].item() == pytest.approx(width ** -0.5)
    assert model.lr_scales[0].item() == pytest.approx(width ** 0.5)
    assert model.multipliers[0].item() == 1.0


@pytest.mark.parametrize("loss", ["squared", "logistic"])
@pytest.mark.parametrize("act", ["relu", "erf", "sigmoid"])
def test_closed_form_two_layer_gradient_equals_autograd(loss, act):
    x, y = _data(classes=loss == "logistic")
    make = lambda: MLPEnsemble(5, [6, 9], activation_name=act,  # noqa: E731
                               parameterisation=["mup", "standard"], bias=True, seed=4, dtype=DT)
    runs = [fit(make(), x, y, steps=5, lr=0.3, loss=loss, closed_form=c,
                record_at=np.arange(6)) for c in (True, False)]
    np.testing.assert_allclose(runs[0].loss, runs[1].loss, rtol=1e-11)
    for name in runs[0].movement:
        np.testing.assert_allclose(runs[0].movement[name], runs[1].movement[name], rtol=1e-9,
                                   atol=1e-13)


def test_fit_until_keeps_each_model_at_its_first_passing_check() -> None:
    import torch

    from companion.nn.ensemble import MLPEnsemble
    from companion.nn.train import fit_until

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(40, 3, generator=gen)
    y = torch.sign(x[:, 0])
    model = MLPEnsemble(3, [8, 8, 64], parameterisation="mean_field", seed=1)
    target = 0.5

    def done(m):
        return (y * m(x)).min(dim=1).values >= target

    stop = fit_until(model, x, y, done=done, lr=1.0, max_steps=4000, check_every=20,
                     loss="logistic")
    assert stop.reached.all() and (stop.steps % 20 == 0).all() and (stop.steps > 0).all()
    for k in range(3):
        layers = model.effective_layers(k, stop.params)
        f = torch.relu(x @ layers[0][0].T) @ layers[1][0].T
        margin = float((y * f[:, 0]).min())
        assert margin >= target  # kept where the criterion held ...
        if stop.steps[k] < stop.steps.max():  # ... not where training ended
            now = model.effective_layers(k)
            assert not torch.equal(now[0][0], layers[0][0])
    # A criterion never met keeps the final parameters and says so.
    never = fit_until(MLPEnsemble(3, [4], seed=2), x, y, done=lambda m: torch.zeros(1, dtype=bool),
                      lr=0.1, max_steps=30, check_every=20, loss="logistic")
    assert not never.reached.any() and never.steps.tolist() == [30]


def test_sample_sizes_limit_each_models_minibatches():
    """A model told to use its first k rows never sees the rest: rows beyond k hold a huge label
    that would wreck its fit, and its fit is the same as on the k rows alone."""
    gen0 = torch.Generator().manual_seed(0)
    x = torch.randn(2, 10, 3, generator=gen0)
    y = torch.randn(2, 10, generator=gen0)
    y_poisoned = y.clone()
    y_poisoned[:, 4:] = 1e6
    finals = []
    for labels in (y, y_poisoned):
        model = MLPEnsemble(3, [8, 8], depth=2, bias=True, parameterisation="standard", seed=1)
        fit(model, x, labels, steps=30, lr=1e-2, optimiser="adam", batch_size=5,
            generator=torch.Generator().manual_seed(2), sample_sizes=[4, 10], record_at=[])
        finals.append(model(x).detach())
    torch.testing.assert_close(finals[0][0], finals[1][0])
    assert not torch.allclose(finals[0][1], finals[1][1])
    with pytest.raises(ValueError, match="sample_sizes"):
        fit(MLPEnsemble(3, [8, 8], seed=1), x, y, steps=1, lr=0.1, batch_size=5,
            generator=torch.Generator(), sample_sizes=[4, 11])


def test_final_lr_fraction_decays_the_step_geometrically():
    """Full-batch GD is stateless: T decayed steps equal T one-step fits at lr * decay^t."""
    x = torch.randn(6, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = torch.randn(6, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    steps, lr, fraction = 5, 0.3, 0.01
    decayed = MLPEnsemble(2, [4], seed=0, dtype=torch.float64)
    fit(decayed, x, y, steps=steps, lr=lr, final_lr_fraction=fraction, record_at=[])
    stepped = MLPEnsemble(2, [4], seed=0, dtype=torch.float64)
    for t in range(steps):
        fit(stepped, x, y, steps=1, lr=lr * fraction ** (t / (steps - 1)), record_at=[])
    for a, b in zip(decayed.params, stepped.params, strict=True):
        torch.testing.assert_close(a, b)
    plain = MLPEnsemble(2, [4], seed=0, dtype=torch.float64)
    fit(plain, x, y, steps=steps, lr=lr, record_at=[])
    assert not torch.allclose(plain.params[0], decayed.params[0])
    with pytest.raises(ValueError, match="final_lr_fraction"):
        fit(plain, x, y, steps=2, lr=0.1, final_lr_fraction=0.0)


def test_validation_checks_and_keep_best_select_the_lowest_heldout_loss():
    """The held-out losses equal a direct computation (the weights restrict a model to its own
    points), and keep_best leaves each model at its check of lowest held-out loss: the same
    parameters as a run stopped at that step."""
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(12, 2, generator=g, dtype=DT), torch.randn(12, generator=g, dtype=DT)
    x_val, y_val = torch.randn(6, 2, generator=g, dtype=DT), torch.randn(6, generator=g, dtype=DT)
    weights = torch.tensor([[1.0] * 6, [1.0] * 3 + [0.0] * 3], dtype=DT)
    steps, every = 40, 5

    def build() -> MLPEnsemble:
        return MLPEnsemble(2, [16, 16], depth=2, bias=True, parameterisation="standard",
                           seed=3, dtype=DT)

    # A large step overfits 12 noise labels, so the held-out loss has an interior minimum.
    free = build()
    hist = fit(free, x, y, steps=steps, lr=[0.05, 0.2], optimiser="adam", record_at=[],
               validation=(x_val, y_val, weights), val_every=every)
    assert hist.val_steps.tolist() == list(range(0, steps + 1, every))
    assert hist.best_step.tolist() == [steps, steps]
    for e, m in enumerate((6, 3)):
        direct = 0.5 * (free(x_val).detach()[e, :m] - y_val[:m]).pow(2).mean()
        assert hist.val_loss[-1, e] == pytest.approx(float(direct), rel=1e-10)
    best = build()
    kept = fit(best, x, y, steps=steps, lr=[0.05, 0.2], optimiser="adam", record_at=[],
               validation=(x_val, y_val, weights), val_every=every, keep_best=True)
    np.testing.assert_allclose(kept.val_loss, hist.val_loss)
    want = hist.val_steps[np.argmin(hist.val_loss, axis=0)]
    assert kept.best_step.tolist() == want.tolist() and want.min() < steps
    for e in range(2):
        stopped = build()
        fit(stopped, x, y, steps=int(want[e]), lr=[0.05, 0.2], optimiser="adam", record_at=[])
        for a, b in zip(best.params, stopped.params, strict=True):
            torch.testing.assert_close(a[e], b[e])
    with pytest.raises(ValueError, match="keep_best"):
        fit(build(), x, y, steps=2, lr=0.1, keep_best=True)
    with pytest.raises(ValueError, match="val_every"):
        fit(build(), x, y, steps=2, lr=0.1, validation=(x_val, y_val, None))
    with pytest.raises(ValueError, match="validation: weights"):
        fit(build(), x, y, steps=2, lr=0.1, validation=(x_val, y_val, weights[:1]), val_every=1)


def test_projected_ensemble_trains_and_padding_is_inert():
    """A model on d = 2 padded to 5 inputs computes and trains exactly like one built on d = 2."""
    from companion.nn.projected import ProjectedEnsemble

    gen = torch.Generator().manual_seed(0)
    x2 = torch.randn(2, 30, 2, generator=gen)
    x5 = torch.cat([x2, torch.zeros(2, 30, 3)], dim=-1)
    x5[1] = torch.randn(30, 5, generator=gen)  # model 1 really has 5 inputs
    y = torch.sin(2 * x2[..., 0])
    padded = ProjectedEnsemble([2, 5], k=2, width=8, seed=3)
    before = padded(x5).detach()
    hist = fit(padded, x5, y, steps=40, lr=1e-2, optimiser="adam", batch_size=10,
               generator=torch.Generator().manual_seed(1), record_at=[0, 40])
    assert hist.loss[-1, 0] < hist.loss[0, 0]
    assert torch.count_nonzero(padded.projection[0, 2:]) == 0
    assert not torch.allclose(padded(x5).detach(), before)
    # The same model-0 net built alone on d = 2 from the same start gives the same outputs.
    alone = ProjectedEnsemble([2, 5], k=2, width=8, seed=3)
    with torch.no_grad():
        start = alone.projection[0, :2].clone()
    torch.testing.assert_close(start, ProjectedEnsemble([2, 5], k=2, width=8,
                                                        seed=3).projection[0, :2])
    torch.testing.assert_close(before[0], (alone.inner(x2[0] @ start))[0].detach())


def test_ridge_heldout_matches_a_direct_solve_and_picks_the_best_penalty():
    from companion.nn.ridge import ridge_heldout

    g = torch.Generator().manual_seed(0)
    n, p = 80, 30
    beta = torch.randn(p, generator=g, dtype=DT)
    sets = []
    for size in (n, 200, 300):
        phi = torch.randn(size, p, generator=g, dtype=DT)
        sets.append((phi, phi @ beta + 2.0 * torch.randn(size, generator=g, dtype=DT)))
    lams = [1e-3, 1e-1, 1.0, 10.0, 1e3]
    res = ridge_heldout(sets[0], sets[1], sets[2], lams)
    phi, y = sets[0]
    direct = []
    for lam in lams:
        a = torch.linalg.solve(phi.T @ phi / n + lam / p * torch.eye(p, dtype=DT), phi.T @ y / n)
        direct.append(float((sets[1][0] @ a - sets[1][1]).pow(2).mean()))
    np.testing.assert_allclose(res.val_path, direct, rtol=1e-9)
    assert res.lam == lams[int(np.argmin(direct))]
    # Noisy labels: neither the smallest nor the largest penalty is the best one.
    assert res.lam not in (lams[0], lams[-1])
    bad = (torch.full_like(phi, float("nan")), y)
    assert np.isnan(ridge_heldout(bad, sets[1], sets[2], lams).test_mse)


def test_recorded_parameters_and_initial_scale():
    x, y = _data()
    big = MLPEnsemble(5, [8, 8], parameterisation="mean_field", seed=0, dtype=DT)
    small = MLPEnsemble(5, [8, 8], parameterisation="mean_field", seed=0, dtype=DT,
                        init_scale=0.1)
    for p, q in zip(big.params, small.params, strict=True):
        np.testing.assert_allclose(q.detach().numpy(), 0.1 * p.detach().numpy(), rtol=1e-12)
    w0 = [p.detach().clone() for p in small.params]
    hist = fit(small, x, y, steps=5, lr=0.3, record_at=[0, 2, 5], record_params=True)
    for name, p, p0 in zip(small.param_names, small.params, w0, strict=True):
        rec = hist.params[name]
        assert rec.shape == (3, *p.shape)
        np.testing.assert_allclose(rec[0], p0.numpy(), rtol=1e-12)
        np.testing.assert_allclose(rec[-1], p.detach().numpy(), rtol=1e-12)
        # The movement recorded by fit is the distance between the recorded parameters.
        np.testing.assert_allclose(np.linalg.norm((rec[1] - rec[0]).reshape(2, -1), axis=1),
                                   hist.movement[name][1], rtol=1e-10)


@pytest.mark.parametrize("act", ["relu", "sigmoid"])
def test_output_bias_closed_form_equals_autograd_and_torch_module(act):
    x, y = _data()
    y = y + 3.0  # a target with a large mean: the output bias must move
    make = lambda: MLPEnsemble(5, [6, 9], activation_name=act, parameterisation="standard",  # noqa: E731
                               bias=True, output_bias=True, seed=4, dtype=DT)
    models = [make(), make()]
    runs = [fit(m, x, y, steps=5, lr=0.3, closed_form=c, record_at=np.arange(6))
            for m, c in zip(models, (True, False), strict=True)]
    np.testing.assert_allclose(runs[0].loss, runs[1].loss, rtol=1e-11)
    assert "c" in runs[0].movement and np.all(runs[0].movement["c"][-1] > 0.1)
    np.testing.assert_allclose(runs[0].movement["c"], runs[1].movement["c"], rtol=1e-9)
    with torch.no_grad():
        for e in range(2):
            module_out = models[0].torch_module(e)(x)[:, 0]
            torch.testing.assert_close(module_out, models[0](x)[e], rtol=1e-12, atol=1e-12)

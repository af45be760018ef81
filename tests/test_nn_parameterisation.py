"""The parameterisation table pinned against its docstring, and what a wide net's initial weights
and a weight-decayed step actually are.

The engine tests compare the batched engine with a reference that takes its scales from
``layer_scales`` itself, so a wrong entry of the table passes them; these tests state the table
independently (Yang & Hu 2021, Def. 3.1 and Table 3; Jacot et al. 2018, eq. (1); Mei et al. 2018,
eq. (1)).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from companion.nn.ensemble import MLPEnsemble
from companion.nn.optim import GD
from companion.nn.parameterisation import PARAMETERISATIONS, layer_scales

D = 5.0
N = np.array([4.0, 64.0])
TWO_LAYER_ONLY = ("mean_field", "one_step")


def _table(name: str, D: float = D, N: np.ndarray = N) -> list[tuple[np.ndarray, ...]]:
    """(multiplier, init std, step scale) per layer (input, hidden, output), as documented."""
    one = np.ones_like(N)
    if name == "standard":
        return [(one, one / np.sqrt(D), one), (one, 1 / np.sqrt(N), one),
                (one, 1 / np.sqrt(N), one)]
    if name == "ntk":
        return [(one / np.sqrt(D), one, one), (1 / np.sqrt(N), one, one),
                (1 / np.sqrt(N), one, one)]
    if name == "mean_field":
        return [(one / np.sqrt(D), one, N), (1 / N, one, N)]
    if name == "one_step":
        return [(one, one / np.sqrt(D), np.sqrt(N)), (1 / np.sqrt(N), 1 / np.sqrt(N), one)]
    return [(np.sqrt(N / D), 1 / np.sqrt(N), one), (one, 1 / np.sqrt(N), one),
            (1 / np.sqrt(N), 1 / np.sqrt(N), one)]


@pytest.mark.parametrize("name", PARAMETERISATIONS)
def test_layer_scales_are_the_documented_table(name: str) -> None:
    depth = 1 if name in TWO_LAYER_ONLY else 2
    expected = _table(name)
    got = layer_scales(name, int(D), N, depth)
    assert len(got) == depth + 1
    for layer, (scale, (mult, std, lr)) in enumerate(zip(got, expected, strict=True)):
        np.testing.assert_allclose(scale.multiplier, mult, rtol=1e-12, err_msg=f"{name} {layer}")
        np.testing.assert_allclose(scale.init_std, std, rtol=1e-12, err_msg=f"{name} {layer}")
        np.testing.assert_allclose(scale.lr_scale, lr, rtol=1e-12, err_msg=f"{name} {layer}")


@pytest.mark.parametrize("depth", [1, 3])
def test_depth_repeats_the_hidden_layer(depth: int) -> None:
    scales = layer_scales("ntk", 3, np.array([16.0]), depth)
    assert len(scales) == depth + 1
    hidden = [s.multiplier[0] for s in scales[1:-1]]
    assert hidden == [pytest.approx(0.25)] * (depth - 1)


@pytest.mark.parametrize(("args", "match"), [
    (("sgd", 3, N, 1), "parameterisation: 'sgd' is not one of standard, ntk"),
    (("ntk", 3, N, 0), "depth: 0 must be >= 1"),
    (("mean_field", 3, N, 2), "defined for two-layer nets"),
])
def test_bad_arguments_are_refused(args, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        layer_scales(*args)


@pytest.mark.parametrize("name", PARAMETERISATIONS)
def test_initial_weights_of_a_wide_net_have_the_table_spread(name: str) -> None:
    depth = 1 if name in TWO_LAYER_ONLY else 2
    d, n = 8, 512
    net = MLPEnsemble(d, [n], depth=depth, parameterisation=name, seed=3, dtype=torch.float64)
    table = _table(name, float(d), np.array([float(n)]))
    for layer, (w, (_, std, _)) in enumerate(zip(net.weights, table, strict=True)):
        sample = w.detach().flatten().numpy()
        std = float(std[0])
        # n_in * n_out >= 512 draws: the sample std is within 15% of its law's with room to spare.
        assert np.std(sample) == pytest.approx(std, rel=0.15), (name, layer)
        assert abs(np.mean(sample)) < 0.2 * std, (name, layer)


def test_weight_decay_pulls_weights_towards_zero() -> None:
    p = torch.tensor([[2.0, -1.0]])
    opt = GD([p], torch.tensor([0.1]), [torch.tensor([1.0])], weight_decay=0.5)
    opt.step([torch.zeros_like(p)])
    # p <- p - lr (0 + wd p): each coordinate shrinks by lr * wd = 5%.
    torch.testing.assert_close(p, torch.tensor([[1.9, -0.95]]))

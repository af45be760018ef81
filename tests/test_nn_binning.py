"""The bin index on evenly spaced edges against torch.bucketize, at and around every edge."""

from __future__ import annotations

import pytest
import torch

from companion.nn.binning import uniform_bucketize


def _probes(edges: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Every edge, one ulp either side of it, random points beyond both ends, and the
    non-finite values."""
    up = torch.nextafter(edges, torch.full_like(edges, float("inf")))
    down = torch.nextafter(edges, torch.full_like(edges, -float("inf")))
    span = float(edges[-1] - edges[0])
    rand = (torch.rand(4000, generator=generator, dtype=edges.dtype) * 1.4 - 0.2) * span
    special = torch.tensor([float("nan"), float("inf"), -float("inf"), 1e30, -1e30, 0.0, -0.0],
                           dtype=edges.dtype)
    return torch.cat([edges, up, down, rand + edges[0], special])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("right", [False, True])
@pytest.mark.parametrize(("lo", "hi", "count"), [(-2.5, 2.5, 51), (-2.5, 2.5, 26), (0.0, 1.0, 2),
                                                  (-3.7, 11.3, 97), (1e-3, 2e-3, 8)])
def test_equals_bucketize(dtype: torch.dtype, right: bool, lo: float, hi: float,
                          count: int) -> None:
    edges = torch.linspace(lo, hi, count, dtype=dtype)
    x = _probes(edges, torch.Generator().manual_seed(count))
    got = uniform_bucketize(x, edges, right=right)
    want = torch.bucketize(x, edges, right=right)
    assert got.dtype == torch.int64 and got.shape == x.shape
    assert torch.equal(got, want), x[got != want]


def test_keeps_the_shape_and_leaves_the_input_alone() -> None:
    edges = torch.linspace(-1.0, 1.0, 11)
    x = torch.randn(3, 5, 7, generator=torch.Generator().manual_seed(0))
    before = x.clone()
    assert torch.equal(uniform_bucketize(x, edges), torch.bucketize(x, edges))
    assert torch.equal(x, before)
    # A strided view (one coordinate of 2-D states) works as a contiguous one does.
    pairs = torch.randn(4, 6, 2, generator=torch.Generator().manual_seed(1))
    assert torch.equal(uniform_bucketize(pairs[..., 1], edges, right=True),
                       torch.bucketize(pairs[..., 1].contiguous(), edges, right=True))


def test_needs_two_edges() -> None:
    with pytest.raises(ValueError, match="at least 2 edges"):
        uniform_bucketize(torch.zeros(3), torch.zeros(1))

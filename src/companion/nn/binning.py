"""Bin indices on uniformly spaced edges: ``torch.bucketize``'s result, exactly, in fewer passes.

``torch.bucketize`` runs a binary search per element (about 30 ns an element on one CPU thread
for 51 edges, measured on the D1 chains' records). For edges spaced evenly, the index is almost
``ceil((x - e_0) / h)``; the arithmetic guess is off by at most one where rounding puts ``x``
next to an edge, and one comparison with the neighbouring edge on each side corrects it. The
result is the same integer ``torch.bucketize`` gives for every input, ``nan`` and ``±inf``
included (the tests compare both on values at the edges and one ulp either side).
"""

from __future__ import annotations

import torch


def uniform_bucketize(x: torch.Tensor, edges: torch.Tensor, right: bool = False) -> torch.Tensor:
    """``torch.bucketize(x, edges, right=right)`` for increasing, evenly spaced ``edges``
    (``edges.numel() >= 2``, e.g. a ``linspace``): the number of edges below ``x`` (at or
    below it with ``right``), an int64 tensor shaped like ``x``; ``nan`` counts as above all."""
    m = edges.numel()
    if m < 2:
        raise ValueError(f"uniform_bucketize: need at least 2 edges, got {m}")
    guess = (x - edges[0]).mul_((m - 1) / (edges[-1] - edges[0]))
    guess = guess.floor_().add_(1.0) if right else guess.ceil_()
    idx = torch.nan_to_num_(guess, nan=float(m)).clamp_(0, m).long()
    # ext[j] is edge j - 1, with -inf and +inf beyond the ends, so both neighbours of any guess
    # in 0..m exist.
    inf = torch.full((1,), float("inf"), dtype=edges.dtype, device=edges.device)
    ext = torch.cat([-inf, edges, inf])
    below, above = ext[idx], ext[idx + 1]
    if right:
        idx -= (below > x).long()
        idx += (above <= x).long()
    else:
        idx -= (below >= x).long()
        idx += (above < x).long()
    return idx.clamp_(0, m)

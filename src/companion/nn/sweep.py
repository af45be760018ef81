"""Splitting a sweep of models into ensembles: equal widths together, padding only where cheap.

Models of different widths can share one :class:`~companion.nn.ensemble.MLPEnsemble` by padding,
at the price of ``E * max(n) / sum(n)`` times the useful flops; separate ensembles cost one more
program (a few dozen tensor operations per step) each. :func:`plan_groups` sorts the widths and
merges neighbours while the padded cost of a group stays within ``max_waste`` times its useful
cost. ``max_waste = 1`` groups by exact shape, ``inf`` pads everything into one ensemble.

Measured with ``python -m companion bench --sweep`` on 2 CPU cores (a geometric sweep of widths
64..4096 in factors of 2, 8 models per width, 100 steps): seven ensembles grouped by shape took
1.6 s, one padded ensemble 7.3 s (it spends most of its time on zeros), so 1.0 is the default.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def plan_groups(widths: Sequence[int], max_waste: float = 1.0) -> list[np.ndarray]:
    """Indices into ``widths``, one array per ensemble, widths ascending within and across."""
    widths = np.asarray(widths, dtype=int)
    order = np.argsort(widths, kind="stable")
    groups: list[list[int]] = []
    for i in order:
        if groups:
            trial = groups[-1] + [int(i)]
            padded = len(trial) * widths[trial].max()
            if padded <= max_waste * widths[trial].sum() + 1e-9:
                groups[-1] = trial
                continue
        groups.append([int(i)])
    return [np.asarray(g) for g in groups]

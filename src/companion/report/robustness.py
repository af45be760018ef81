"""How a pooled verdict holds up seed by seed, read from a claim's ``per_seed`` record.

:func:`companion.pipeline.run_metrics` decides every claim twice: on all seeds' runs pooled (the
verdict) and on each seed's runs alone (``per_seed``), or records why a claim needs the pooled
data (``per_seed: null`` and ``per_seed_reason``). Here the two become one of four statuses:

- ``robust``: reproduced pooled, and in at least half of the single seeds;
- ``fragile``: reproduced pooled, but in fewer than half of the single seeds;
- ``pooled_only``: reproduced pooled; it cannot be decided on one seed;
- ``failed``: not reproduced pooled (``seeds_passed`` may still be > 0: it then holds in some).

Nothing is decided here that the metrics file does not already say.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

STATUSES = ("robust", "fragile", "pooled_only", "failed")


class MissingPerSeed(ValueError):
    """A claim lacks its per-seed record (a metrics file older than the per-seed contract)."""


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def seed_robustness(claim: Mapping[str, Any]) -> dict[str, Any]:
    """``{status, seeds_passed, seeds_total, pooled_only, reason, spread}`` of one claim.

    ``spread`` is ``(smallest, largest)`` of the finite single-seed measured values when at
    least two seeds were decided, else ``None``.
    """
    if "per_seed" not in claim:
        raise MissingPerSeed(f"claim {claim.get('id')!r} has no 'per_seed' (rerun its metrics)")
    passed = bool(claim["passed"])
    per_seed = claim["per_seed"]
    if per_seed is None:
        return {"status": "pooled_only" if passed else "failed", "seeds_passed": None,
                "seeds_total": None, "pooled_only": True,
                "reason": str(claim.get("per_seed_reason") or ""), "spread": None}
    k = sum(bool(s["passed"]) for s in per_seed)
    n = len(per_seed)
    if not passed:
        status = "failed"
    elif 2 * k < n:
        status = "fragile"
    else:
        status = "robust"
    values = [v for v in (_finite(s.get("measured")) for s in per_seed) if v is not None]
    spread = (min(values), max(values)) if n >= 2 and values else None
    return {"status": status, "seeds_passed": k, "seeds_total": n, "pooled_only": False,
            "reason": "", "spread": spread}


def count_statuses(records: list[Mapping[str, Any]]) -> dict[str, int]:
    """How many claims have each status (every status present, zeros included)."""
    counts = dict.fromkeys(STATUSES, 0)
    for record in records:
        counts[record["status"]] += 1
    return counts

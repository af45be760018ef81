"""Divergence as a result: a run whose loss or state goes non-finite fails its claims.

A training stage may say where its run diverged by returning ``scalars["divergence"]`` (see
:func:`record`); otherwise :func:`scan` finds non-finite values in the run's float arrays. The
pipeline stores the record with the run, and :func:`mark_claims` turns the metrics of diverged
runs into failed claims with reason ``"diverged"`` and no non-finite number, so metrics, figures
and the report show "diverged" instead of NaN or a crash.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

REASON = "diverged"


def record(step: int | None, share: float, what: str) -> dict[str, Any]:
    """Where a run diverged: the first step with a non-finite value, the share of the run's models
    or chains that diverged, and which quantity."""
    return {"step": None if step is None else int(step), "share": float(share), "what": what}


def first_nonfinite(values: np.ndarray, steps: Sequence[int], what: str) -> dict[str, Any] | None:
    """The divergence of ``values`` recorded at ``steps`` (axis 0), one column per model (the
    remaining axes, flattened), or ``None`` when every value is finite."""
    values = np.asarray(values, dtype=float)
    bad = ~np.isfinite(values.reshape(values.shape[0], -1))
    if not bad.any():
        return None
    first = int(np.flatnonzero(bad.any(axis=1))[0])
    return record(int(steps[first]), float(bad.any(axis=0).mean()), what)


def scan(arrays: Mapping[str, Any]) -> dict[str, Any] | None:
    """A generic record for a run that gave none: which float arrays hold non-finite values."""
    names = [name for name, value in arrays.items()
             if np.asarray(value).dtype.kind == "f" and not np.isfinite(value).all()]
    if not names:
        return None
    return record(None, float("nan"), ", ".join(sorted(names)))


def describe(div: Mapping[str, Any], seed: int | None = None) -> str:
    """One line: ``seed 0: loss non-finite from step 120 in 25% of the models``."""
    parts = [f"seed {seed}: " if seed is not None else "", f"{div['what']} non-finite"]
    if div.get("step") is not None:
        parts.append(f" from step {div['step']}")
    share = div.get("share")
    if share is not None and math.isfinite(share):
        parts.append(f" in {100 * share:.3g}% of the models or chains")
    return "".join(parts)


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, (float, np.floating)) and not math.isfinite(float(value)):
        return None
    return value


def mark_claims(claims: list[dict[str, Any]], lines: Sequence[str]) -> None:
    """Fail every claim of diverged runs, in place: ``reason`` "diverged", where in ``detail``,
    non-finite measured/expected values as ``None``."""
    where = "; ".join(lines)
    for claim in claims:
        claim["passed"] = False
        claim["reason"] = REASON
        claim["measured"] = _finite_or_none(claim.get("measured"))
        claim["expected"] = _finite_or_none(claim.get("expected"))
        detail = claim.get("detail", "")
        claim["detail"] = f"diverged ({where})" + (f"; {detail}" if detail else "")

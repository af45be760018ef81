"""Tolerances chosen after seeing data, decided again on fresh seeds.

A tolerance (or a threshold, or a setting a verdict depends on) that was picked after looking at
the preset's seeds may hold on those seeds only. An experiment module names such claims in
``POST_HOC: dict[str, str]`` (claim id -> what was chosen, on which seeds, and the frozen value).
The workflow then runs the experiment's whole chain again on fresh seeds, the first k of the
configuration's pool ``audit.seeds`` (seeds no tolerance was chosen on; 100-109 at the default
preset) where k is the number of the experiment's own seeds, so the second trial has the power
of the first one and no more (which also keeps the build's cost at most twice), and writes
``results/audit/<id>.json``, a metrics file of the same form; the report prints, per listed
claim, the value on the preset's seeds, the value on the fresh seeds and the fresh verdict. A
claim whose tolerance fails on the fresh seeds is not reproduced, whatever the preset's seeds say.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

from companion import experiments
from companion.config import ConfigError


def post_hoc(module: ModuleType) -> dict[str, str]:
    """The module's ``POST_HOC`` mapping (claim id -> what was chosen after seeing data)."""
    found = getattr(module, "POST_HOC", None) or {}
    if not isinstance(found, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in found.items()):
        raise TypeError(f"{module.__name__}.POST_HOC must map claim ids to non-empty strings")
    return dict(found)


def audit_pool(config: Mapping[str, Any]) -> list[int]:
    """The pool of fresh seeds of the configuration's ``audit`` section (none: no audit)."""
    return [int(s) for s in (config.get("audit") or {}).get("seeds", [])]


def audit_seeds(config: Mapping[str, Any], exp_id: str) -> list[int]:
    """The fresh seeds one experiment's audit runs on: the first k of the pool, k being the
    number of the experiment's own seeds."""
    return audit_pool(config)[:len(config["experiments"][exp_id]["seeds"])]


def audited(config: Mapping[str, Any], modules: Mapping[str, ModuleType] | None = None
            ) -> list[str]:
    """The configured experiments, in catalog order, whose verdicts the audit decides again:
    those with a ``POST_HOC`` entry, when ``audit.seeds`` is not empty."""
    if not audit_pool(config):
        return []
    found = []
    for exp_id in experiments.EXPERIMENTS:
        if exp_id not in config["experiments"]:
            continue
        module = modules[exp_id] if modules is not None else experiments.get(exp_id)
        if post_hoc(module):
            found.append(exp_id)
    return found


def check_audit(config: Mapping[str, Any], modules: Mapping[str, ModuleType]) -> None:
    """Fresh seeds must be fresh and enough: none of ``audit.seeds`` may be a seed of an audited
    experiment, and the pool must hold as many seeds as each audited experiment has; raises
    :class:`ConfigError` naming both keys."""
    pool = audit_pool(config)
    fresh = set(pool)
    for exp_id in audited(config, modules):
        wanted = len(config["experiments"][exp_id]["seeds"])
        if wanted > len(pool):
            raise ConfigError(
                f"audit.seeds: {len(pool)} seed(s), but experiments.{exp_id}.seeds has {wanted}; "
                f"the audit repeats each audited experiment on as many fresh seeds as it has "
                f"(give audit.seeds at least {wanted} seeds)")
        shared = sorted(fresh & {int(s) for s in config["experiments"][exp_id]["seeds"]})
        if shared:
            raise ConfigError(
                f"audit.seeds: seed(s) {', '.join(map(str, shared))} are also in "
                f"experiments.{exp_id}.seeds; the audit needs seeds no tolerance was chosen on "
                "(use seeds outside every audited experiment's seeds, e.g. 100-104)")


def audit_section(section: Mapping[str, Any], seeds: list[int]) -> dict[str, Any]:
    """The experiment's section with its seeds replaced by the audit's fresh seeds."""
    return dict(section, seeds=list(seeds))

"""The experiment registry: one module per catalog id.

Every experiment module defines

- ``ID`` (the catalog id used in rule, file and claim names), ``CATALOG`` (e.g. ``"B1"``) and
  ``PART`` (1-4, the lecture part whose chapter shows it);
- ``SOURCES``: the files under ``src/companion/`` its stages import beyond the module itself
  (theory, shared nn code, plot helpers), so the workflow can declare them as inputs and rerun
  the experiment's chain when they change;
- ``FIGURES``: the names of the figures ``figures`` draws (``<name>.svg`` each);
- ``generate(cfg, seed) -> dict[str, ndarray]``: the data stage;
- ``train(cfg, data, seed, device, log) -> (arrays, scalars)``: the training stage;
- ``summarize(cfg, runs) -> dict``: seeds aggregated into ``series``, ``claims`` (each
  ``{id, passed, measured, expected, relation, detail, ...}``, with ``tolerance``,
  ``tolerance_rel`` or ``interval`` (an asymmetric ``[lo, hi]``) for ``~=`` and the verdict's
  numbers as ``context: {key: value}``, which the report labels in each language; see
  :mod:`companion.report.decision`), ``table`` and anything else the report shows. It
  must also work on one seed's runs alone (no crash, no NaN verdict; spreads that need two seeds
  become ``None``): :func:`companion.pipeline.run_metrics` calls it once per seed to record each
  claim's ``per_seed`` verdicts;
- optionally ``POOLED_ONLY: dict[str, str]``: claim id -> why that claim cannot be decided on
  one seed (it then gets ``per_seed: null`` and this ``per_seed_reason``);
- ``figures(metrics, lang, outdir) -> list[Path]``: the figures, drawn from the metrics alone;
- optionally ``check(cfg)``: constraints the JSON Schema cannot express, raising
  :class:`companion.config.ConfigError` naming the key; run before any job starts.

Modules import only numpy/scipy at top level (torch and matplotlib inside the functions that need
them): the workflow imports every module when it parses, and a no-op run must stay fast.

Beside the module, ``report/text/lecture/<id>.yaml`` names the slides it reproduces and its
"try it" commands (see :mod:`companion.report.lecture`).

Nothing outside the module knows its internals.

Its tests build runs by hand from the law each claim states (the claim passes) and from perturbed
laws (it fails), so that no mutant of ``summarize`` survives them (``make mutants``).
"""

from __future__ import annotations

import importlib
from types import ModuleType

# Catalog order: the report lists experiments (and their claims) in this order.
EXPERIMENTS: tuple[str, ...] = (
    "universal_approx",
    "random_features_vs_trained",
    "depth_regions",
    "adaptivity_besov",
    "anisotropic_lowdim",
    "scaling_law",
    "double_descent_linear",
    "double_descent_random_features",
    "norm_bounds",
    "compression",
    "preconditioning",
    "ntk_lazy_vs_meanfield",
    "ntk_spectrum_spectral_bias",
    "one_step_spike",
    "ck_ridge_after_step",
    "meanfield_trajectories",
    "gld_gibbs",
    "teacher_student_two_phase",
    "mfld_convergence",
    "mfld_sparse_parity",
)


def get(exp_id: str) -> ModuleType:
    """Import the module of experiment ``exp_id``; unknown ids name the allowed ones."""
    if exp_id not in EXPERIMENTS:
        raise KeyError(f"unknown experiment {exp_id!r}; known: {', '.join(EXPERIMENTS)}")
    return importlib.import_module(f"companion.experiments.{exp_id}")

"""Loading, merging and validating the configuration.

The configuration is ``config.yaml`` (the default preset) with a preset file from ``presets/``
merged over it. It is validated against ``workflow/schemas/config.schema.yaml`` with each
experiment's own schema (``workflow/schemas/experiments/<id>.schema.yaml``) inserted under
``experiments.<id>``, before any job runs. Errors name the offending key and what is allowed.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "workflow" / "schemas"
PRESET_DIR = ROOT / "presets"
DEFAULT_CONFIG = ROOT / "config.yaml"


class ConfigError(ValueError):
    """A configuration value is missing, unknown or out of range."""


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into a copy of ``base``: mappings recursively, anything else replaced.

    This is the rule Snakemake applies to ``--configfile``, so the CLI and the workflow agree.
    """
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def preset_names() -> list[str]:
    return ["default"] + sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def load_yaml(path: str | Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    return data


def load_config(preset: str | None = None) -> dict[str, Any]:
    """``config.yaml`` with preset ``preset`` (``None``/``"default"``: none) merged over it."""
    config = load_yaml(DEFAULT_CONFIG)
    if preset and preset != "default":
        path = PRESET_DIR / f"{preset}.yaml"
        if not path.exists():
            raise ConfigError(f"preset: {preset!r} is not one of {', '.join(preset_names())}")
        config = deep_merge(config, load_yaml(path))
    return config


def schema() -> dict[str, Any]:
    """The full JSON Schema: the top-level schema with every experiment's section schema in it."""
    top = load_yaml(SCHEMA_DIR / "config.schema.yaml")
    sections = top["properties"]["experiments"]["properties"]
    for path in sorted((SCHEMA_DIR / "experiments").glob("*.schema.yaml")):
        section = load_yaml(path)
        sections[path.name.removesuffix(".schema.yaml")] = _inline_defs(section, top["$defs"])
    return top


def _inline_defs(node: Any, defs: Mapping[str, Any]) -> Any:
    # Section schemas may say {$ref: "#/$defs/seeds"}; inline them so refs resolve anywhere.
    if isinstance(node, Mapping):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and ref[8:] in defs:
            return copy.deepcopy(defs[ref[8:]])
        return {k: _inline_defs(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline_defs(v, defs) for v in node]
    return node


def _key_path(error) -> str:
    parts = [str(p) for p in error.absolute_path]
    return ".".join(parts) if parts else "(top level)"


def _describe(error) -> str:
    """One line for a ``jsonschema.ValidationError``: the key, the value, what is allowed."""
    key = _key_path(error)
    validator, expected = error.validator, error.validator_value
    if validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        where = f"{key}: " if error.absolute_path else ""
        return (f"{where}unknown key{'s' if len(extra) > 1 else ''} "
                f"{', '.join(map(repr, extra))}; allowed: {', '.join(allowed) or 'none'}")
    if validator == "enum":
        return f"{key}: {error.instance!r} is not one of {', '.join(map(str, expected))}"
    if validator == "type":
        return f"{key}: {error.instance!r} is not of type {expected}"
    if validator in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        rel = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=",
               "exclusiveMaximum": "<"}[validator]
        return f"{key}: {error.instance!r} is out of range; it must be {rel} {expected}"
    if validator == "required":
        return f"{key}: {error.message}"
    return f"{key}: {error.message}"


def validate(config: Mapping[str, Any]) -> None:
    """Check ``config`` against the schema; raise :class:`ConfigError` listing every problem."""
    import jsonschema  # here, not at the top: running experiments needs no schema library

    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = "\n".join(f"  - {_describe(e)}" for e in errors)
        raise ConfigError(f"invalid configuration:\n{lines}")


def experiment_section(config: Mapping[str, Any], exp_id: str) -> dict[str, Any]:
    try:
        return dict(config["experiments"][exp_id])
    except KeyError:
        known = ", ".join(config.get("experiments", {}))
        raise ConfigError(f"experiments.{exp_id}: not configured; configured: {known}") from None


def config_hash(obj: Any) -> str:
    """A short, stable hash of a config (section): SHA-256 of its canonical JSON, 10 hex digits."""
    canonical = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:10]


def apply_overrides(section: Mapping[str, Any], assignments: Sequence[str],
                    where: str) -> dict[str, Any]:
    """Apply ``key=value`` strings (values parsed as YAML) to a copy of ``section``.

    Only keys the section already has may be set; dotted keys reach into nested mappings.
    """
    result = copy.deepcopy(dict(section))
    for item in assignments:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key=value")
        key, raw = item.split("=", 1)
        value = yaml.safe_load(raw)
        node = result
        parts = key.strip().split(".")
        for depth, part in enumerate(parts):
            if not isinstance(node, dict) or part not in node:
                allowed = ", ".join(sorted(node)) if isinstance(node, dict) else "none"
                full = ".".join([where, *parts[: depth + 1]])
                raise ConfigError(f"{full}: unknown key; allowed: {allowed}")
            if depth == len(parts) - 1:
                node[part] = value
            else:
                node = node[part]
    return result

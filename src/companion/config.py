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
import math
import re
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


_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str, where: str) -> Any:
    """``yaml.safe_load``; a syntax error becomes a :class:`ConfigError` naming the line.

    libyaml's loader when PyYAML has it (the same safe subset, several times faster): every
    workflow parse reads the config, the presets and every schema."""
    try:
        return yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError:
        pass
    # Parsed again by the pure-Python loader, whose marks point where a person looks (libyaml
    # puts an unclosed bracket on the line after a one-line --set value).
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"{where}{line}: not valid YAML: {problem}") from None


def load_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML mapping from ``path``; a missing file or bad YAML is a :class:`ConfigError`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot be read as a config file ({err})") from None
    data = parse_yaml(text, str(path)) or {}
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
        hint = ""
        if isinstance(error.instance, str) and _NUMBER_LIKE.fullmatch(error.instance.strip()):
            hint = (f" (YAML reads {error.instance!r} as a string: write an exponent with a dot "
                    "and a signed exponent, e.g. 1.0e-3, or 0.001)")
        return f"{key}: {error.instance!r} is not of type {expected}{hint}"
    if validator in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        rel = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=",
               "exclusiveMaximum": "<"}[validator]
        return f"{key}: {error.instance!r} is out of range; it must be {rel} {expected}"
    if validator == "required":
        return f"{key}: {error.message}"
    return f"{key}: {error.message}"


# What a number looks like to a person but YAML 1.1 reads as a string (``1e-3``, ``2E5``).
_NUMBER_LIKE = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def nonfinite_paths(node: Any, path: tuple[str, ...] = ()) -> list[str]:
    """The dotted paths of every NaN or +-inf float in ``node`` (mappings and lists walked)."""
    if isinstance(node, float):
        return [] if math.isfinite(node) else [".".join(path) or "(top level)"]
    if isinstance(node, Mapping):
        return [p for k, v in node.items() for p in nonfinite_paths(v, (*path, str(k)))]
    if isinstance(node, (list, tuple)):
        return [p for i, v in enumerate(node) for p in nonfinite_paths(v, (*path, str(i)))]
    return []


def check_finite(config: Mapping[str, Any]) -> None:
    """Reject NaN and +-inf anywhere in the configuration, naming each key's full path.

    JSON Schema cannot: ``minimum``/``maximum`` never reject NaN and ``type: number`` accepts
    inf, so this runs first, before the schema and before any experiment's check sees a value.
    """
    bad = nonfinite_paths(config)
    if bad:
        lines = "\n".join(f"  - {p}: {_value_at(config, p)} is not a finite number" for p in bad)
        raise ConfigError(f"invalid configuration:\n{lines}")


def _value_at(config: Mapping[str, Any], dotted: str) -> Any:
    node: Any = config
    for part in dotted.split("."):
        node = node[int(part)] if isinstance(node, (list, tuple)) else node[part]
    return node


_VALIDATOR = None


def _validator():
    # Built once per process: parsing the schemas again for every check would slow the
    # workflow's parse, which runs this on every snakemake call.
    global _VALIDATOR
    if _VALIDATOR is None:
        import jsonschema  # here, not at the top: running experiments needs no schema library

        _VALIDATOR = jsonschema.Draft202012Validator(schema())
    return _VALIDATOR


def validate(config: Mapping[str, Any]) -> None:
    """Check ``config`` for non-finite numbers, then against the schema; raise
    :class:`ConfigError` listing every problem."""
    check_finite(config)
    validator = _validator()
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
        value = parse_yaml(raw, f"--set {item!r}")
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

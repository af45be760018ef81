"""The configuration: presets load and validate; bad values are rejected naming the key."""

from __future__ import annotations

import copy

import pytest

from companion.config import (
    ConfigError,
    apply_overrides,
    config_hash,
    deep_merge,
    load_config,
    preset_names,
    validate,
)


@pytest.mark.parametrize("preset", ["default", "tiny", "full"])
def test_presets_are_valid(preset: str) -> None:
    config = load_config(preset)
    validate(config)
    assert config["preset"] == preset


def test_presets_list() -> None:
    assert {"default", "tiny", "full"} <= set(preset_names())


def test_unknown_preset_names_the_allowed_ones() -> None:
    with pytest.raises(ConfigError, match=r"preset: 'huge' is not one of .*tiny"):
        load_config("huge")


def _broken(mutate) -> str:
    config = copy.deepcopy(load_config("tiny"))
    mutate(config)
    with pytest.raises(ConfigError) as err:
        validate(config)
    return str(err.value)


def test_unknown_device_is_rejected_with_allowed_values() -> None:
    msg = _broken(lambda c: c.update(device="gpu"))
    assert "device: 'gpu' is not one of auto, cpu, cuda" in msg


def test_unknown_experiment_is_rejected() -> None:
    msg = _broken(lambda c: c["experiments"].update(no_such_experiment={"seeds": [0]}))
    assert "unknown key 'no_such_experiment'" in msg
    assert "double_descent_linear" in msg  # the allowed ids are listed


def test_unknown_key_in_a_section_is_rejected() -> None:
    msg = _broken(lambda c: c["experiments"]["gld_gibbs"].update(betta=[1.0]))
    assert "experiments.gld_gibbs: unknown key 'betta'" in msg


def test_negative_size_is_rejected() -> None:
    msg = _broken(lambda c: c["experiments"]["double_descent_linear"].update(n=-5))
    assert "experiments.double_descent_linear.n: -5 is out of range" in msg


def test_wrong_type_is_rejected() -> None:
    msg = _broken(lambda c: c["resources"]["train"].update(threads="two"))
    assert "resources.train.threads: 'two' is not of type integer" in msg


def test_deep_merge_replaces_lists_and_merges_mappings() -> None:
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 2}
    merged = deep_merge(base, {"a": {"y": [3]}, "c": 4})
    assert merged == {"a": {"x": 1, "y": [3]}, "b": 2, "c": 4}
    assert base["a"]["y"] == [1, 2]


def test_overrides_parse_yaml_and_reject_unknown_keys() -> None:
    section = {"gammas": [0.5], "n": 10}
    assert apply_overrides(section, ["gammas=[0.5, 2.0]", "n=20"], "x") == {
        "gammas": [0.5, 2.0], "n": 20}
    with pytest.raises(ConfigError, match=r"x.m: unknown key; allowed: gammas, n"):
        apply_overrides(section, ["m=1"], "x")


def test_config_hash_is_stable_and_order_free() -> None:
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})

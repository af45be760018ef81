"""The audit of post-hoc tolerances: fresh seeds are fresh, every listed claim is shown with its
value on both seed sets, and a claim that fails on the fresh seeds is not reproduced."""

from __future__ import annotations

import copy
import types
from pathlib import Path

import pytest

from companion import experiments
from companion.audit import (
    audit_pool,
    audit_section,
    audit_seeds,
    audited,
    check_audit,
    post_hoc,
)
from companion.config import ConfigError, load_config, preset_names
from companion.report import text as textmod
from companion.report.context import ReportInputError, build_context
from companion.workflow import check_config

import report_helpers as helpers

TINY = load_config("tiny")


def _module(name: str, post: object) -> types.ModuleType:
    module = types.ModuleType(f"companion.experiments.{name}")
    module.POST_HOC = post
    return module


def _modules(config: dict, audited_ids: tuple[str, ...]) -> dict[str, types.ModuleType]:
    return {e: _module(e, {f"{e}.claim": "chosen on seeds 0-1"} if e in audited_ids else {})
            for e in config["experiments"]}


def test_post_hoc_reads_the_module_mapping_and_rejects_empty_reasons() -> None:
    assert post_hoc(_module("x", {"X.a": "tolerance 0.1 after seeds 0-1"})) == {
        "X.a": "tolerance 0.1 after seeds 0-1"}
    assert post_hoc(types.ModuleType("y")) == {}
    for bad in ({"X.a": ""}, {"X.a": 3}, ["X.a"]):
        with pytest.raises(TypeError, match="POST_HOC"):
            post_hoc(_module("x", bad))


def test_audited_lists_post_hoc_experiments_in_catalog_order_only_with_seeds() -> None:
    config = copy.deepcopy(TINY)
    ids = ("mfld_sparse_parity", "depth_regions")
    modules = _modules(config, ids)
    assert audited(config, modules) == ["depth_regions", "mfld_sparse_parity"]
    config["audit"] = {"seeds": []}
    assert audited(config, modules) == []
    del config["audit"]
    assert audit_pool(config) == [] and audited(config, modules) == []


def test_audit_seeds_must_not_be_an_audited_experiments_seed() -> None:
    config = copy.deepcopy(TINY)
    config["audit"] = {"seeds": [0, 100]}
    modules = _modules(config, ("depth_regions",))
    with pytest.raises(ConfigError) as err:
        check_audit(config, modules)
    message = str(err.value)
    assert "audit.seeds" in message and "experiments.depth_regions.seeds" in message
    assert "seed(s) 0 " in message
    # The same seeds in an experiment that has nothing to audit are fine.
    check_audit(config, _modules(config, ()))
    config["audit"] = {"seeds": [100]}
    check_audit(config, modules)


def test_each_experiment_is_audited_on_as_many_fresh_seeds_as_it_has() -> None:
    config = copy.deepcopy(TINY)
    config["audit"] = {"seeds": [100, 101, 102]}
    config["experiments"]["depth_regions"]["seeds"] = [0, 1]
    config["experiments"]["gld_gibbs"]["seeds"] = [0]
    assert audit_seeds(config, "depth_regions") == [100, 101]
    assert audit_seeds(config, "gld_gibbs") == [100]
    config["experiments"]["depth_regions"]["seeds"] = [0, 1, 2, 3]
    modules = _modules(config, ("depth_regions",))
    with pytest.raises(ConfigError) as err:
        check_audit(config, modules)
    message = str(err.value)
    assert "audit.seeds: 3 seed(s)" in message
    assert "experiments.depth_regions.seeds has 4" in message
    config["audit"]["seeds"].append(103)
    check_audit(config, modules)


def test_every_preset_has_a_pool_long_enough_for_every_experiment() -> None:
    for preset in ("default", *preset_names()):
        config = load_config(preset)
        pool = set(audit_pool(config))
        assert pool, preset
        for exp_id, section in config["experiments"].items():
            assert len(section["seeds"]) <= len(pool), (preset, exp_id)
            assert not pool & set(section["seeds"]), (preset, exp_id)


def test_check_config_runs_the_audit_check(monkeypatch: pytest.MonkeyPatch) -> None:
    config = copy.deepcopy(TINY)
    exp_id = "depth_regions"
    config["audit"] = {"seeds": list(config["experiments"][exp_id]["seeds"])}
    monkeypatch.setattr(experiments.get(exp_id), "POST_HOC",
                        {"A3.some_claim": "chosen on seed 0"}, raising=False)
    with pytest.raises(ConfigError, match="audit.seeds"):
        check_config(config)


def test_audit_section_replaces_the_seeds_only() -> None:
    section = {"seeds": [0, 1], "n": 5}
    assert audit_section(section, [100, 101]) == {"seeds": [100, 101], "n": 5}
    assert section["seeds"] == [0, 1]


def test_every_post_hoc_claim_is_a_claim_with_its_reason_in_both_languages() -> None:
    tiny_root = Path(__file__).parent / "fixtures" / "tiny_metrics"
    for exp_id in experiments.EXPERIMENTS:
        listed = post_hoc(experiments.get(exp_id))
        for lang in ("ja", "en"):
            prose = textmod.load_experiment(lang, exp_id)
            assert set(prose.get("post_hoc") or {}) == set(listed), (exp_id, lang)
        if listed and (tiny_root / f"{exp_id}.json").exists():
            import json

            claims = {c["id"] for c in json.loads((tiny_root / f"{exp_id}.json").read_text())[
                "claims"]}
            assert set(listed) <= claims, exp_id


def _context(tmp_path: Path, lang: str, audit: bool = True, **extra) -> dict:
    inputs = helpers.build(tmp_path, audit=audit)
    kwargs = dict(inputs.kwargs(), **extra)
    return build_context(lang, inputs.metrics, inputs.figures_root, inputs.benchmarks,
                         inputs.meta, tmp_path / "html", **kwargs)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_audit_rows_show_both_seed_sets_and_a_fresh_failure_fails_the_claim(
        tmp_path: Path, lang: str) -> None:
    context = _context(tmp_path, lang)
    t = context["t"]
    b1 = next(e for e in context["experiments"] if e["id"] == "double_descent_linear")
    rows = {row["id"]: row for row in b1["audit"]}
    assert list(rows) == ["B1.risk_matches_theory", "B1.ridge_removes_peak"]
    held, failed = rows["B1.risk_matches_theory"], rows["B1.ridge_removes_peak"]
    assert (str(held["preset_measured"]), str(held["fresh_measured"])) == ("0.0412", "0.0521")
    assert (held["preset_seeds"], held["fresh_seeds"]) == ("0–2", "100, 101")
    assert (held["fresh_passed"], held["fresh_mark"]) == (True, "✓")
    assert held["fresh_per_seed"] == t["ledger"]["seeds"].format(k=2, n=2)
    assert (failed["fresh_passed"], failed["fresh_mark"], failed["fresh_word"]) == \
           (False, "✗", t["verdict"]["failed"])
    assert failed["preset_passed"] is True and failed["fresh_per_seed"] == \
           t["ledger"]["seeds"].format(k=1, n=2)
    assert str(failed["chosen"]) == helpers.POST_HOC_PROSE[lang]["B1.ridge_removes_peak"]
    # Held only on the seeds its tolerance was chosen on: not reproduced, in the ledger too.
    row = next(r for r in context["ledger"]["rows"] if r["id"] == "B1.ridge_removes_peak")
    assert (row["passed"], row["status"], row["mark"], row["word"]) == \
           (False, "failed", "✗", t["verdict"]["failed_fresh"])
    assert row["seeds_short"] == t["ledger"]["failed_fresh"]
    kept = next(r for r in context["ledger"]["rows"] if r["id"] == "B1.risk_matches_theory")
    assert (kept["passed"], kept["status"]) == (True, "robust")
    assert context["ledger"]["counts"] == {"robust": 1, "fragile": 0, "pooled_only": 1,
                                           "failed": 2}
    assert context["ledger"]["summary"].endswith(
        t["ledger"]["summary_audit"].format(total=2, decided=2, held=1))
    assert context["ledger"]["passed"] == 2


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_post_hoc_claims_without_an_audit_are_shown_as_not_decided(tmp_path: Path,
                                                                   lang: str) -> None:
    context = _context(tmp_path, lang, audit_paths=[])
    t = context["t"]
    b1 = next(e for e in context["experiments"] if e["id"] == "double_descent_linear")
    assert [r["audited"] for r in b1["audit"]] == [False, False]
    assert all(r["fresh_word"] == t["audit"]["not_run"] for r in b1["audit"])
    # Nothing was decided on fresh seeds, so nothing is failed for it: the fragile claim stays.
    row = next(r for r in context["ledger"]["rows"] if r["id"] == "B1.ridge_removes_peak")
    assert row["status"] == "fragile"
    assert context["ledger"]["summary"].endswith(
        t["ledger"]["summary_audit"].format(total=2, decided=0, held=0))


def test_audit_inputs_must_match_claims_and_metrics(tmp_path: Path) -> None:
    with pytest.raises(ReportInputError, match="not one of its claims"):
        _context(tmp_path / "a", "en", post_hoc_claims=lambda e: (
            {"B1.nonexistent": "x"} if e == "double_descent_linear" else {}))
    inputs = helpers.build(tmp_path / "b", audit=True)
    gld = next(p for p in inputs.metrics if "gld_gibbs" in p.name)
    with pytest.raises(ReportInputError, match="post_hoc"):
        build_context("en", inputs.metrics, inputs.figures_root, inputs.benchmarks, inputs.meta,
                      tmp_path / "html", **dict(inputs.kwargs(), post_hoc_claims=lambda e: (
                          {"D1.kl_decays": "x"} if e == "gld_gibbs" else {})))
    with pytest.raises(ReportInputError, match="audit metrics for gld_gibbs, which has no"):
        build_context("en", [p for p in inputs.metrics if p != gld], inputs.figures_root,
                      inputs.benchmarks, dict(inputs.meta, experiments=["double_descent_linear"]),
                      tmp_path / "html", **dict(inputs.kwargs(), audit_paths=[gld]))

"""The claims ledger and ``metrics.tsv`` say, row by row, what the metrics files say.

Fixtures are the real modules' tiny-preset metrics (``tests/fixtures/tiny_metrics/``; the last
test checks they still carry the claims the modules produce), so the report's real prose, lecture
files and figure names apply. Every row of the rendered HTML is parsed and compared with its claim:
the mark and verdict word of its status, the measured value, the relation and the theory's value;
then the summary's counts. Labels are read from the real ``main.yaml``, so the tests survive a
change of wording.
"""

from __future__ import annotations

import copy
import csv
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from companion import audit, experiments, pipeline
from companion.config import experiment_section, load_config
from companion.io import write_json, write_text
from companion.report import text as textmod
from companion.report.context import format_number
from companion.report.render import render_html
from companion.table import COLUMNS, write_claims_table

FIXTURES = Path(__file__).parent / "fixtures" / "tiny_metrics"
# What the ledger prints for each relation and status, stated here rather than imported.
SYMBOL = {"<=": "≤", ">=": "≥", "<": "<", ">": ">", "~=": "≈"}
MARK = {"robust": "✓", "pooled_only": "✓", "fragile": "△", "failed": "✗"}
SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="10pt" height="10pt" viewBox="0 0 10 10">'
       '<path d="M 0 0 L 10 10" stroke="black"/></svg>\n')


def tiny_metrics() -> dict[str, dict[str, Any]]:
    missing = [e for e in experiments.EXPERIMENTS if not (FIXTURES / f"{e}.json").exists()]
    assert not missing, (f"no tiny metrics fixture for {missing}: write the claims, table and "
                         "header of `companion run <id> --preset tiny` there")
    return {e: json.loads((FIXTURES / f"{e}.json").read_text()) for e in experiments.EXPERIMENTS}


def with_every_status(metrics: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The real claims, their verdicts rewritten in turn to robust, fragile, failed with some
    seeds passing, failed on every seed and pooled only, so every status is rendered (seed
    records repeated so that "half of the seeds" can be met exactly)."""
    out = copy.deepcopy(metrics)
    claims = [c for m in out.values() for c in m["claims"]]
    for i, claim in enumerate(claims):
        kind = i % 5
        seeds = claim["per_seed"] or [{"seed": 0, "passed": True, "measured": claim["measured"]}]
        claim["passed"] = kind in (0, 1, 4)
        # Robust rows hold in exactly half of the seeds: the boundary of "at least half".
        claim["per_seed"] = [dict(s, passed=((kind == 0 and j % 2 == 0) or
                                             (kind in (1, 2) and j == 0)))
                             for j, s in enumerate(seeds * 4)]
        if kind == 4:
            claim["per_seed"], claim["per_seed_reason"] = None, "needs the pooled seeds"
    return out


def expected_status(claim: dict[str, Any]) -> str:
    if not claim["passed"]:
        return "failed"
    if claim["per_seed"] is None:
        return "pooled_only"
    k = sum(s["passed"] for s in claim["per_seed"])
    return "robust" if 2 * k >= len(claim["per_seed"]) else "fragile"


class _Rows(HTMLParser):
    """Each ledger row's ``data-claim``, its cells' text, and the summary paragraph's text."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, Any]] = {}
        self.summary = ""
        self._row: dict[str, Any] | None = None
        self._where: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "tr" and "data-claim" in a:
            self._row = {"cells": [], "mark": ""}
            self.rows[str(a["data-claim"])] = self._row
        elif tag == "td" and self._row is not None:
            self._row["cells"].append("")
            self._where = "cell"
        elif tag == "span" and "mark" in classes and self._row is not None:
            self._where = "mark"
        elif tag == "p" and "ledger-summary" in classes:
            self._where = "summary"
        elif tag == "br" and self._where == "cell" and self._row is not None:
            self._row["cells"][-1] += "\n"

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self._row = None
        if tag in ("td", "p"):
            self._where = None
        if tag == "span" and self._where == "mark":
            self._where = "cell"

    def handle_data(self, data: str) -> None:
        if self._where == "summary":
            self.summary += data
        elif self._row is not None and self._where in ("cell", "mark"):
            if self._where == "mark":
                self._row["mark"] += data
            self._row["cells"][-1] += data


def render(tmp_path: Path, metrics: dict[str, dict[str, Any]], lang: str) -> _Rows:
    paths = []
    for exp_id, m in metrics.items():
        paths.append(tmp_path / "metrics" / f"{exp_id}.json")
        write_json(paths[-1], m)
        for name in experiments.get(exp_id).FIGURES:
            write_text(tmp_path / "figures" / exp_id / lang / f"{name}.svg", SVG)
    meta = {"preset": "tiny", "config_hash": "0" * 10, "commit": "0" * 12,
            "build_date": "2025-01-31", "languages": [lang], "experiments": list(metrics)}
    out = render_html(lang, paths, tmp_path / "figures", [], meta, tmp_path / f"{lang}.html")
    parser = _Rows()
    parser.feed(out.read_text(encoding="utf-8"))
    return parser


def _plain(markup: Any) -> str:
    return re.sub(r"<[^>]+>", "", str(markup)).replace("&#x2009;", "\u2009").strip()


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("variant", ["as_run", "every_status"])
def test_every_ledger_row_says_what_its_claim_says(tmp_path: Path, lang: str,
                                                   variant: str) -> None:
    metrics = tiny_metrics() if variant == "as_run" else with_every_status(tiny_metrics())
    t = textmod.load_main(lang)
    parsed = render(tmp_path, metrics, lang)
    claims = [c for m in metrics.values() for c in m["claims"]]
    assert list(parsed.rows) == [c["id"] for c in claims]
    statuses = []
    for claim in claims:
        row = parsed.rows[claim["id"]]
        status = expected_status(claim)
        statuses.append(status)
        word = t["verdict"]["fragile" if status == "fragile" else
                            "passed" if claim["passed"] else "failed"]
        verdict_cell = next(c for c in row["cells"] if row["mark"] and row["mark"] in c)
        assert row["mark"].strip() == MARK[status], claim["id"]
        assert verdict_cell.split("\n")[0].strip() == f"{MARK[status]} {word}", claim["id"]
        theory = f"{SYMBOL[claim['relation']]}\u2009{_plain(format_number(claim['expected']))}"

        def is_criterion(cell: str, theory: str = theory) -> bool:
            # "≤ 0.100", or with the tolerance or interval of an "≈" claim after a thin space.
            return cell.strip() == theory or cell.strip().startswith(theory + "\u2009")

        assert any(is_criterion(c) for c in row["cells"]), (claim["id"], row["cells"])
        measured = _plain(format_number(claim["measured"]))
        assert any(c.split("\n")[0].strip() == measured for c in row["cells"]
                   if not is_criterion(c)), (claim["id"], row["cells"])
    counts = {s: statuses.count(s) for s in MARK}
    summary = textmod.fill(t["ledger"]["summary"], passed=sum(c["passed"] for c in claims),
                           total=len(claims), robust=counts["robust"] + counts["pooled_only"],
                           fragile=counts["fragile"], failed=counts["failed"])
    if counts["pooled_only"]:
        summary += " " + textmod.fill(t["ledger"]["summary_pooled"], pooled=counts["pooled_only"])
    # No audit metrics are given here: the post-hoc claims are counted, none decided again.
    post_hoc = sum(len(audit.post_hoc(experiments.get(e))) for e in metrics)
    if post_hoc:
        summary += " " + textmod.fill(t["ledger"]["summary_audit"], total=post_hoc, decided=0,
                                      held=0)
    assert " ".join(parsed.summary.split()) == " ".join(summary.split())
    if variant == "every_status":
        assert all(counts[s] for s in MARK), counts


def test_metrics_tsv_has_one_faithful_row_per_claim(tmp_path: Path) -> None:
    metrics = with_every_status(tiny_metrics())
    paths = []
    for exp_id, m in metrics.items():
        paths.append(tmp_path / f"{exp_id}.json")
        write_json(paths[-1], m)
    write_claims_table(paths, tmp_path / "metrics.tsv")
    with (tmp_path / "metrics.tsv").open() as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert tuple(rows[0]) == COLUMNS
    expected = [(m, c) for m in metrics.values() for c in m["claims"]]
    assert len(rows) == len(expected)
    for row, (m, claim) in zip(rows, expected, strict=True):
        assert row["experiment"] == m["experiment"] and row["catalog_id"] == m["catalog_id"]
        assert row["claim"] == claim["id"]
        assert row["passed"] == ("true" if claim["passed"] else "false"), claim["id"]
        assert float(row["measured"]) == pytest.approx(claim["measured"], rel=1e-12)
        assert float(row["expected"]) == pytest.approx(claim["expected"], rel=1e-12)
        assert row["relation"] == claim["relation"]
        assert row["config_hash"] == m["config_hash"]
        assert row["seeds"] == ",".join(str(s) for s in m["seeds"])


@pytest.mark.parametrize("exp_id", experiments.EXPERIMENTS)
def test_fixtures_carry_the_claims_the_modules_make(exp_id: str, tmp_path: Path) -> None:
    section = experiment_section(load_config("tiny"), exp_id)
    fresh = pipeline.run_all(exp_id, section, section["seeds"], "cpu", 1, tmp_path)
    fixture = tiny_metrics()[exp_id]
    assert [c["id"] for c in fixture["claims"]] == [c["id"] for c in fresh["claims"]], (
        "regenerate tests/fixtures/tiny_metrics/ from `companion run <id> --preset tiny`")
    assert [c["relation"] for c in fixture["claims"]] == [c["relation"] for c in fresh["claims"]]


def test_metrics_tsv_without_claims_or_relation(tmp_path: Path) -> None:
    base = {"experiment": "gld_gibbs", "catalog_id": "D1", "config_hash": "abc", "seeds": [0, 1]}
    write_json(tmp_path / "none.json", base)
    write_json(tmp_path / "bare.json", dict(base, claims=[
        {"id": "D1.x", "passed": True, "measured": 1.5, "expected": 2.0}]))
    write_claims_table([tmp_path / "none.json", tmp_path / "bare.json"], tmp_path / "m.tsv")
    raw = (tmp_path / "m.tsv").read_bytes()
    assert b"\r" not in raw  # plain newlines: one claim a line for grep and diff
    assert raw.decode().splitlines()[1:] == ["gld_gibbs\tD1\tD1.x\ttrue\t1.5\t\t2.0\tabc\t0,1"]

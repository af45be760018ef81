"""The workflow on the tiny preset, for real: build, only-stale reruns, targeted reruns, errors.

One tiny build in a temporary copy (the session fixture ``tiny_build``) serves every test here;
each test that edits something restores the file (content and mtime) afterwards, so the copy is
up to date again.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import report_style
from companion.experiments import EXPERIMENTS
from companion.report import layout as layoutmod
from companion.report import lecture as lecturemod
from companion.report import pdf as pdfmod
from companion.report import text as textmod

from workflow_helpers import pending, snakemake

pytestmark = pytest.mark.workflow

B1, D1 = "double_descent_linear", "gld_gibbs"


@pytest.fixture
def built(tiny_build: Path) -> Path:
    """The session's tiny build (tests/conftest.py)."""
    return tiny_build


@contextlib.contextmanager
def edited(path: Path, edit) -> Iterator[None]:
    """Edit ``path`` for the duration of the block, then restore its bytes and times."""
    original, stat = path.read_bytes(), path.stat()
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    try:
        yield
    finally:
        path.write_bytes(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def rules_by_experiment(files) -> dict[str, set[str]]:
    """Which rules the plan would run, keyed by the experiment (or 'report') they belong to."""
    grouped: dict[str, set[str]] = {}
    for f in files:
        key = next((e for e in EXPERIMENTS if f"/{e}/" in f.path or f"/{e}." in f.path
                    or f"/{e}-" in f.path), "all")
        grouped.setdefault(key, set()).add(f.rule)
    return grouped


def test_build_produces_both_pdfs_and_the_table(built: Path) -> None:
    for lang in ("ja", "en"):
        pdf = built / "results" / "report" / f"companion_{lang}.pdf"
        assert pdf.stat().st_size > 20_000
        assert (built / "results" / "report" / f"companion_{lang}.html").exists()
    table = (built / "results" / "metrics.tsv").read_text(encoding="utf-8").splitlines()
    assert table[0].startswith("experiment\tcatalog_id\tclaim\tpassed")
    assert any(row.startswith(f"{B1}\tB1\tB1.") for row in table)
    assert any(row.startswith(f"{D1}\tD1\tD1.") for row in table)


def test_every_job_wrote_a_log_and_a_benchmark(built: Path) -> None:
    logs = list((built / "results" / "logs").rglob("*.log"))
    benchmarks = list((built / "results" / "benchmarks").rglob("*.tsv"))
    assert len(logs) == len(benchmarks) >= 10
    train_log = (built / "results" / "logs" / "train" / D1 / "seed0.log").read_text()
    assert "training on cpu" in train_log  # progress goes to the log


def test_second_run_has_nothing_to_do(built: Path) -> None:
    assert pending(built) == []
    proc = snakemake(built, "-n")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_config_change_reruns_that_experiment_and_the_report_only(built: Path,
                                                                  tmp_path: Path) -> None:
    override = tmp_path / "override.yaml"
    seeds = "[0, 1]"
    override.write_text(f"experiments:\n  {B1}:\n    seeds: {seeds}\n    sigma2: 0.3\n")
    todo = rules_by_experiment(pending(built, "--configfile", "presets/tiny.yaml", str(override)))
    assert todo.get(B1) == {"data", "train", "metrics", "figures"}
    assert set(todo) == {B1, "all"}  # no other experiment's job
    assert todo["all"] == {"claims_table", "html", "pdf"}


def test_module_edit_reruns_that_experiments_chain_only(built: Path) -> None:
    module = built / "src" / "companion" / "experiments" / f"{B1}.py"
    with edited(module, lambda s: s + "\n# an edit\n"):
        todo = rules_by_experiment(pending(built))
    assert todo.get(B1) == {"data", "train", "metrics", "figures"}
    assert set(todo) == {B1, "all"}
    assert pending(built) == []  # restored


def test_japanese_text_edit_rerenders_only_the_japanese_report(built: Path) -> None:
    text = built / "report" / "text" / "ja" / "main.yaml"
    with edited(text, lambda s: s + "\n# 編集\n"):
        files = pending(built)
    assert {(f.rule, Path(f.path).name) for f in files} == {
        ("html", "companion_ja.html"), ("pdf", "companion_ja.pdf")}


def test_lecture_file_edit_rerenders_both_reports_only(built: Path) -> None:
    lecture = built / "report" / "text" / "lecture" / f"{D1}.yaml"
    with edited(lecture, lambda s: s + "\n# an edit\n"):
        files = pending(built)
    assert {(f.rule, Path(f.path).name) for f in files} == {
        (rule, f"companion_{lang}.{rule}") for rule in ("html", "pdf") for lang in ("ja", "en")}


def test_deleted_run_file_is_rebuilt_with_its_dependents(built: Path, tmp_path: Path) -> None:
    run = built / "results" / "runs" / D1 / "seed0.npz"
    saved = tmp_path / "seed0.npz"
    shutil.copy2(run, saved)
    run.unlink()
    try:
        todo = rules_by_experiment(pending(built))
        assert todo.get(D1) == {"train", "metrics", "figures"}
        assert set(todo) == {D1, "all"}
        assert todo["all"] == {"claims_table", "html", "pdf"}
    finally:
        shutil.copy2(saved, run)
    assert pending(built) == []


def test_targeted_and_forced_reruns(built: Path) -> None:
    target = f"results/metrics/{D1}.json"
    forced = pending(built, "--forcerun", "train", targets=(target,))
    assert {f.rule for f in forced} == {"train", "metrics"}
    assert all(D1 in f.path for f in forced)
    one_language = pending(built, "--forcerun", "pdf",
                           targets=("results/report/companion_en.pdf",))
    assert [(f.rule, Path(f.path).name) for f in one_language] == [("pdf", "companion_en.pdf")]


def test_invalid_config_fails_before_any_job(built: Path) -> None:
    proc = snakemake(built, "-n", "--config", "device=gpu", check=False)
    assert proc.returncode != 0
    assert "device: 'gpu' is not one of auto, cpu, cuda" in proc.stderr + proc.stdout
    proc = snakemake(built, "-n", "--config", "preset=huge", check=False)
    assert "preset: 'huge' is not one of" in proc.stderr + proc.stdout


def test_lint_is_clean(built: Path) -> None:
    proc = snakemake(built, "--lint", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_pdf_text_names_every_claim(built: Path) -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (Debian package poppler-utils) is not installed")
    claims = [row.split("\t")[2] for row in
              (built / "results" / "metrics.tsv").read_text().splitlines()[1:]]
    for lang in ("ja", "en"):
        pdf = built / "results" / "report" / f"companion_{lang}.pdf"
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                              text=True, check=True).stdout
        for claim in claims:
            assert claim in text, (lang, claim)
        flat = "".join(text.split())
        for exp_id in EXPERIMENTS:  # each section cites its slides and has its try-it box
            first = lecturemod.load_lecture(exp_id, built / "report" / "text")["lecture"][0]
            assert "".join(first["ja"].split()) in flat, (lang, exp_id)
            assert f"companionrun{exp_id}--presettiny" in flat, (lang, exp_id)


def test_metrics_record_per_seed_verdicts(built: Path) -> None:
    for exp_id in EXPERIMENTS:
        metrics = json.loads((built / "results" / "metrics" / f"{exp_id}.json").read_text())
        for claim in metrics["claims"]:
            if claim["per_seed"] is None:
                assert claim["per_seed_reason"], claim["id"]
            else:
                assert [s["seed"] for s in claim["per_seed"]] == metrics["seeds"], claim["id"]


def test_snakemake_report_collects_the_figures(built: Path) -> None:
    snakemake(built, "--report", "report.zip")
    with zipfile.ZipFile(built / "report.zip") as archive:
        names = archive.namelist()
    assert any(n.endswith("report.html") for n in names)
    assert any(n.endswith(".svg") for n in names)


def test_japanese_pdf_reads_as_japanese(built: Path) -> None:
    """No です/ます, no banned terms, and decision lines without English words (math is drawn
    as images, so pdftotext shows only the words around it)."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (Debian package poppler-utils) is not installed")
    pdf = built / "results" / "report" / "companion_ja.pdf"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert report_style.polite_endings(text) == []
    assert report_style.banned_terms(text) == []
    main = textmod.load_main("ja")
    label = main["labels"]["detail"]
    # A detail line ends at the next verdict mark, the caveats heading or the audit table (whose
    # first column is the claim's id, set in code type like the id on the verdict line).
    audit_title = re.escape(main["audit"]["title"][:12])
    details = re.findall(rf"{label}:(.*?)(?=[✓✗△]|注意点|{audit_title})", text, re.S)
    assert len(details) >= len(EXPERIMENTS)
    assert [w for d in details for w in report_style.english_words(d)] == []


def test_no_table_splits_after_fewer_than_three_rows(built: Path) -> None:
    for lang in ("ja", "en"):
        document, _ = pdfmod.layout(built / "results" / "report" / f"companion_{lang}.html")
        assert layoutmod.tables_split_early(document) == [], lang


def test_post_hoc_claims_are_decided_again_on_fresh_seeds(built: Path) -> None:
    from companion import experiments as registry
    from companion.audit import audit_seeds, audited, post_hoc
    from companion.config import load_config

    config = load_config("tiny")
    names = audited(config)
    if not names:
        pytest.skip("no experiment declares a post-hoc tolerance")
    html = (built / "results" / "report" / "companion_en.html").read_text(encoding="utf-8")
    shown = dict(re.findall(r'data-audit-claim="([^"]+)" data-fresh="([^"]+)"', html))
    for exp_id in names:
        fresh = json.loads((built / "results" / "audit" / f"{exp_id}.json").read_text())
        assert fresh["seeds"] == audit_seeds(config, exp_id)
        assert not set(fresh["seeds"]) & set(config["experiments"][exp_id]["seeds"])
        verdicts = {c["id"]: c["passed"] for c in fresh["claims"]}
        for claim_id in post_hoc(registry.get(exp_id)):
            assert shown[claim_id] == ("pass" if verdicts[claim_id] else "fail"), claim_id

"""The report renders to PDF in both languages from synthetic inputs, with every claim, verdict
and part in the text, no missing glyph, no leftover LaTeX, nothing fetched from the network, and
the same structure in Japanese and English."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from markupsafe import escape

from companion.report import pdf as pdfmod
from companion.report.context import ReportInputError
from companion.report.render import render_html, report_sources
from companion.report.text import TEXT_ROOT, TextError

import report_helpers as helpers

pytestmark = pytest.mark.report
needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                   reason="poppler-utils (pdftotext) not installed")


def _out(inputs: helpers.ReportInputs, lang: str) -> Path:
    return inputs.root / "results" / "report" / f"companion_{lang}.html"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    inputs = helpers.build(tmp_path_factory.mktemp("report"), audit=True)
    html, pdfs, warnings = {}, {}, {}
    for lang in helpers.LANGS:
        html[lang] = render_html(lang, inputs.metrics, inputs.figures_root, inputs.benchmarks,
                                 inputs.meta, _out(inputs, lang), **inputs.kwargs())
        pdfs[lang] = html[lang].with_suffix(".pdf")
        warnings[lang] = pdfmod.html_to_pdf(html[lang], pdfs[lang])
    return {"inputs": inputs, "html": html, "pdf": pdfs, "warnings": warnings}


def _pdftext(path: Path) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _main(lang: str) -> dict[str, Any]:
    return yaml.safe_load((TEXT_ROOT / lang / "main.yaml").read_text(encoding="utf-8"))


def test_no_warnings(built: dict[str, Any]) -> None:
    assert built["warnings"] == {"ja": [], "en": []}


@needs_poppler
@pytest.mark.parametrize("lang", helpers.LANGS)
def test_pdf_text_has_title_claims_verdicts_and_parts(built: dict[str, Any], lang: str) -> None:
    text = _pdftext(built["pdf"][lang])
    flat = _squash(text)
    main = _main(lang)
    assert _squash(main["title"]) in flat
    for metrics in helpers.METRICS.values():
        for claim in metrics["claims"]:
            # Each claim id appears in the ledger and in its experiment's verdict list.
            assert flat.count(claim["id"]) >= 2, claim["id"]
    assert "✓" in text and "✗" in text
    assert _squash(main["verdict"]["passed"]) in flat and _squash(main["verdict"]["failed"]) in flat
    for part in main["parts"].values():
        assert _squash(part["title"]) in flat
    assert flat.count(_squash(main["not_built"])) == 2  # parts 1 and 3 have no experiment
    for label in ("build_date", "commit", "config_hash", "devices", "preset"):
        assert _squash(main["labels"][label]) in flat
    for value in ("2025-01-31", "0123abcd4567", "fedcba9876", "tiny", "cpu"):
        assert value in text
    assert "1.23×10" in text  # scientific notation from the results table
    assert "\\" not in text, "a LaTeX macro leaked into the PDF text"


@needs_poppler
def test_pdf_metadata_and_fonts(built: dict[str, Any]) -> None:
    for lang in helpers.LANGS:
        path = built["pdf"][lang]
        info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True,
                              text=True).stdout
        assert re.search(r"^Title:\s+" + re.escape(_main(lang)["title"]), info, re.M)
        assert f"/Lang ({lang})".encode() in _inflated(path.read_bytes())
        fonts = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True,
                               text=True).stdout.splitlines()[2:]
        names = {line.split()[0].split("+")[-1] for line in fonts if line.strip()}
        # Only the packaged fonts: nothing fell back to whatever the machine has installed.
        assert names and all(re.fullmatch(r"Companion-(Serif|Sans|Mono|Gothic)(-\w+)?", n)
                             for n in names), names
    assert "Companion-Gothic" in subprocess.run(
        ["pdffonts", str(built["pdf"]["ja"])], capture_output=True, text=True).stdout


def _inflated(data: bytes) -> bytes:
    """The PDF with its compressed streams appended in clear (the catalog may be in one)."""
    out = [data]
    for match in re.finditer(rb"stream\r?\n", data):
        end = data.find(b"endstream", match.end())
        try:
            out.append(zlib.decompress(data[match.end():end]))
        except zlib.error:
            continue
    return b"".join(out)


def _structure(html: str) -> dict[str, list[str]]:
    return {
        "sections": re.findall(r'<(?:section|nav) id="([^"]+)"', html),
        "figures": re.findall(r'<figure id="[^"]+" data-figure="([^"]+)"', html),
        "images": re.findall(r'<img src="([^"]+)"', html),
        "claims": re.findall(r'data-claim="([^"]+)"', html),
        "parts": re.findall(r'data-part="([^"]+)"', html),
    }


def test_languages_have_the_same_structure(built: dict[str, Any]) -> None:
    ja, en = (_structure(built["html"][lang].read_text(encoding="utf-8"))
              for lang in helpers.LANGS)
    assert ja["sections"] == en["sections"]
    assert ja["figures"] == en["figures"] == ["risk_curve", "bias_variance", "kl_decay"]
    assert ja["claims"] == en["claims"]
    ids = [c["id"] for m in helpers.METRICS.values() for c in m["claims"]]
    assert en["claims"] == ids + ids  # the ledger, then the experiments, in registry order
    assert en["parts"] == ["1", "2", "3", "4"]
    assert [p.replace("/ja/", "/") for p in ja["images"]] == \
           [p.replace("/en/", "/") for p in en["images"]]
    # Figures are referenced relative to the HTML's directory.
    assert en["images"][0] == "../figures/double_descent_linear/en/risk_curve.svg"


def test_html_is_escaped_and_offline(built: dict[str, Any]) -> None:
    html = built["html"]["en"].read_text(encoding="utf-8")
    assert "&amp; falls beyond &lt;it&gt;." in html
    assert not re.search(r"""(?:src|href)=["']?https?:""", html)
    assert "<svg" not in html  # formulas are data-URI images, not inline SVG


def test_http_resources_are_refused_not_fetched(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> None:
        attempts.append(args)
        raise OSError("network access during a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    page = tmp_path / "remote.html"
    page.write_text('<html lang="en"><head><title>t</title>'
                    '<link rel="stylesheet" href="https://example.com/style.css"></head>'
                    '<body><p>text</p><img src="http://example.com/x.png"></body></html>',
                    encoding="utf-8")
    with pytest.raises(pdfmod.PdfError, match="disallowed protocol"):
        pdfmod.html_to_pdf(page, tmp_path / "remote.pdf")
    assert attempts == []
    assert not (tmp_path / "remote.pdf").exists()


def test_missing_glyph_fails_loudly(tmp_path: Path) -> None:
    page = tmp_path / "glyph.html"
    # U+0378 is unassigned: no font anywhere has it.
    page.write_text('<html lang="en"><head><title>t</title></head><body>'
                    '<p style="font-family: \'Companion Sans\'">a &#x378; b</p></body></html>',
                    encoding="utf-8")
    with pytest.raises(pdfmod.PdfError, match=r"\.notdef glyph rendered"):
        pdfmod.html_to_pdf(page, tmp_path / "glyph.pdf")


def test_missing_text_file_is_named(tmp_path: Path) -> None:
    inputs = helpers.build(tmp_path, text_experiments=("double_descent_linear",))
    with pytest.raises(TextError, match=r"experiments/gld_gibbs\.yaml"):
        render_html("en", inputs.metrics, inputs.figures_root, inputs.benchmarks, inputs.meta,
                    _out(inputs, "en"), **inputs.kwargs())


def test_missing_inputs_are_reported(tmp_path: Path) -> None:
    inputs = helpers.build(tmp_path)
    args = ("en", inputs.metrics[:1], inputs.figures_root, inputs.benchmarks)
    with pytest.raises(ReportInputError, match="gld_gibbs have no metrics"):
        render_html(*args, inputs.meta, _out(inputs, "en"), **inputs.kwargs())
    (inputs.figures_root / "double_descent_linear" / "en" / "risk_curve.svg").unlink()
    meta = dict(inputs.meta, experiments=["double_descent_linear"])
    with pytest.raises(ReportInputError, match="risk_curve"):
        render_html(*args, meta, _out(inputs, "en"), **inputs.kwargs())


def test_a_configuration_without_experiments_still_renders(tmp_path: Path) -> None:
    inputs = helpers.build(tmp_path, experiments=())
    out = render_html("en", [], inputs.figures_root, [], inputs.meta, _out(inputs, "en"),
                      **inputs.kwargs())
    html = out.read_text(encoding="utf-8")
    assert html.count(str(escape(_main("en")["not_built"]))) == 4
    # Every part lists the catalog claims it has not tested, by catalog id.
    for part in _main("en")["parts"].values():
        for cid in part["pending"]:
            assert f'<span class="catalog-id">{cid}</span>' in html
    assert _main("en")["ledger"]["empty"] in html


def test_report_sources_list_templates_and_text() -> None:
    files = report_sources("ja", ["double_descent_linear"])
    names = {f.name for f in files}
    assert {"base.html.j2", "experiment.html.j2", "style.css", "main.yaml"} <= names
    assert all(f.exists() for f in files if f.suffix in {".j2", ".css"})


# ---------------------------------------------------------------- per-seed robustness

def _row(context: dict[str, Any], claim_id: str) -> dict[str, Any]:
    return next(r for r in context["ledger"]["rows"] if r["id"] == claim_id)


@pytest.mark.parametrize("lang", helpers.LANGS)
def test_ledger_marks_fragile_pooled_only_and_per_seed_counts(tmp_path: Path, lang: str) -> None:
    from companion.report.context import build_context

    inputs = helpers.build(tmp_path)
    context = build_context(lang, inputs.metrics, inputs.figures_root, inputs.benchmarks,
                            inputs.meta, tmp_path, **inputs.kwargs())
    t = _main(lang)
    robust = _row(context, "B1.risk_matches_theory")   # 2 of 3 seeds
    fragile = _row(context, "B1.ridge_removes_peak")   # pooled pass, 1 of 3 seeds
    pooled = _row(context, "D1.kl_decays")             # per_seed null
    failed = _row(context, "D1.floor_grows_with_eta")  # pooled fail, its one seed passes
    assert (robust["status"], robust["mark"]) == ("robust", "✓")
    assert (fragile["status"], fragile["mark"], fragile["word"]) == \
           ("fragile", "△", t["verdict"]["fragile"])
    assert fragile["seeds_short"] == t["ledger"]["seeds"].format(k=1, n=3)
    assert (pooled["status"], pooled["seeds_short"]) == ("pooled_only", t["ledger"]["pooled_only"])
    assert failed["status"] == "failed"
    assert failed["some_seeds"] == t["ledger"]["some_seeds"].format(k=1, n=1)
    # The spread is min...max over the seeds' finite values (a null one is left out).
    assert str(robust["spread"]) == "0.0398…0.152"
    assert str(fragile["spread"]) == "0.512…1.02"
    assert pooled["spread"] is None and failed["spread"] is None  # pooled only; one seed
    assert context["ledger"]["counts"] == {"robust": 1, "fragile": 1, "pooled_only": 1,
                                           "failed": 1}
    summary = context["ledger"]["summary"]
    assert summary.startswith(t["ledger"]["summary"].format(
        passed=3, total=4, robust=2, fragile=1, failed=1))
    assert t["ledger"]["summary_pooled"].format(pooled=1) in summary


@pytest.mark.parametrize(("passed", "seeds", "status"), [
    (True, [True, False], "robust"),             # exactly half: not fewer than half
    (True, [True, False, False], "fragile"),
    (True, [False], "fragile"),                  # pooled pass, its only seed fails
    (True, [True, True, True], "robust"),
    (False, [True, True], "failed"),             # the pooled verdict decides reproduced or not
])
def test_seed_robustness_thresholds(passed: bool, seeds: list[bool], status: str) -> None:
    from companion.report.robustness import seed_robustness

    claim = {"id": "X.c", "passed": passed,
             "per_seed": [{"seed": i, "passed": p, "measured": float(i)}
                          for i, p in enumerate(seeds)]}
    record = seed_robustness(claim)
    assert record["status"] == status
    assert (record["seeds_passed"], record["seeds_total"]) == (sum(seeds), len(seeds))


def test_a_metrics_file_without_per_seed_is_refused(tmp_path: Path) -> None:
    inputs = helpers.build(tmp_path)
    metrics = json.loads(inputs.metrics[0].read_text(encoding="utf-8"))
    del metrics["claims"][0]["per_seed"]
    inputs.metrics[0].write_text(json.dumps(metrics), encoding="utf-8")
    with pytest.raises(ReportInputError, match="per_seed"):
        render_html("en", inputs.metrics, inputs.figures_root, inputs.benchmarks, inputs.meta,
                    _out(inputs, "en"), **inputs.kwargs())


@needs_poppler
@pytest.mark.parametrize("lang", helpers.LANGS)
def test_pdf_shows_seed_counts_spreads_and_fragile(built: dict[str, Any], lang: str) -> None:
    flat = _squash(_pdftext(built["pdf"][lang]))
    t = _main(lang)
    assert "△" in flat and _squash(t["verdict"]["fragile"]) in flat
    assert _squash(t["ledger"]["seeds"].format(k=2, n=3)) in flat
    assert _squash(t["ledger"]["pooled_only"]) in flat
    assert "0.0398…0.152" in flat
    title_page = _squash(subprocess.run(["pdftotext", "-l", "1", str(built["pdf"][lang]), "-"],
                                        check=True, capture_output=True, text=True).stdout)
    # With the synthetic audit, the fragile B1.ridge_removes_peak fails on its fresh seeds.
    assert _squash(t["ledger"]["summary"].format(passed=2, total=4, robust=2, fragile=0,
                                                 failed=2)) in title_page
    assert _squash(t["ledger"]["summary_audit"].format(total=2, decided=2, held=1)) in title_page


# ---------------------------------------------------------------- lecture map, try it

def test_every_experiment_opens_with_its_lecture_and_ends_with_try_it(
        built: dict[str, Any]) -> None:
    from companion.report import lecture

    sections = {}
    for lang in helpers.LANGS:
        html = built["html"][lang].read_text(encoding="utf-8")
        sections[lang] = re.findall(
            r'<section id="exp-([a-z_]+)".*?<h2>.*?</h2>\s*<p class="lecture-ref">(.*?)</p>'
            r'.*?<aside class="try-it">(.*?)</aside>', html, re.S)
        assert [s[0] for s in sections[lang]] == list(helpers.METRICS)
    for (exp_id, ja_ref, ja_try), (_, en_ref, en_try) in zip(sections["ja"], sections["en"],
                                                             strict=True):
        data = lecture.load_lecture(exp_id)
        # The same slides in both languages; the Japanese heading verbatim in both.
        assert ja_ref.count("lecture-slide") == en_ref.count("lecture-slide") == \
               len(data["lecture"])
        for ref in data["lecture"]:
            assert ref["ja"] in ja_ref and ref["ja"] in en_ref
            assert ref["en"] in en_ref
        for entry in data["try_it"]:
            for part in lecture.try_command_parts(exp_id, entry["set"]):
                assert part.replace("'", "&#39;") in ja_try and \
                       part.replace("'", "&#39;") in en_try


# ---------------------------------------------------------------- navigation

def _outline(items: list, depth: int = 0) -> list[tuple[int, str]]:
    out = []
    for item in items:
        if isinstance(item, list):
            out += _outline(item, depth + 1)
        else:
            out.append((depth, item.title))
    return out


@pytest.mark.parametrize("lang", helpers.LANGS)
def test_pdf_outline_is_parts_then_experiments(built: dict[str, Any], lang: str) -> None:
    pypdf = pytest.importorskip("pypdf")
    outline = _outline(pypdf.PdfReader(built["pdf"][lang]).outline)
    t = _main(lang)
    labels = [t["labels"]["part"].format(n=n) for n in (1, 2, 3, 4)]
    starts = [next(i for i, (depth, title) in enumerate(outline)
                   if depth == 0 and title.startswith(label + " ")) for label in labels]
    ends = [*starts[1:], next((i for i, (depth, _) in enumerate(outline)
                               if i > starts[-1] and depth == 0), len(outline))]
    children = [[title for depth, title in outline[a + 1:b] if depth == 1]
                for a, b in zip(starts, ends, strict=True)]
    assert [[c.split()[0] for c in kids] for kids in children] == [[], ["B1"], [], ["D1"]]
    # Nothing finer than an experiment (no idea/setup/verdicts headings).
    assert max(depth for depth, _ in outline) == 1


@pytest.mark.parametrize("lang", helpers.LANGS)
def test_pdf_links_point_inside_the_document(built: dict[str, Any], lang: str) -> None:
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(built["pdf"][lang])
    destinations = set(reader.named_destinations)
    targets = []
    for page in reader.pages:
        for annot in page.get("/Annots") or []:
            annot = annot.get_object()
            if annot.get("/Subtype") != "/Link":
                continue
            assert "/A" not in annot or annot["/A"].get("/S") != "/URI", annot
            targets.append(str(annot["/Dest"]))
    assert targets and set(targets) <= destinations, set(targets) - destinations
    claim_ids = [c["id"] for m in helpers.METRICS.values() for c in m["claims"]]
    for claim_id in claim_ids:  # ledger id -> verdict paragraph
        assert f"claim-{claim_id.replace('.', '-')}" in targets, claim_id
    for exp_id in helpers.METRICS:  # ledger row -> experiment section (and contents)
        assert targets.count(f"exp-{exp_id}") >= 1 + len(helpers.METRICS[exp_id]["claims"])
    # Figure numbers in the prose link to the figures.
    assert "fig-double_descent_linear-bias_variance" in targets
    assert "fig-double_descent_linear-risk_curve" in targets


@pytest.mark.parametrize("lang", helpers.LANGS)
def test_the_audit_table_prints_both_seed_sets_and_the_fresh_verdict(built: dict[str, Any],
                                                                     lang: str) -> None:
    html = built["html"][lang].read_text(encoding="utf-8")
    rows = re.findall(r'data-audit-claim="([^"]+)" data-fresh="([^"]+)"', html)
    assert rows == [("B1.risk_matches_theory", "pass"), ("B1.ridge_removes_peak", "fail")]
    t = _main(lang)
    flat = _squash(_pdftext(built["pdf"][lang]))
    assert _squash(t["audit"]["title"]) in flat
    for value in ("0.0412", "0.0521", "0.731", "1.08", "100,101"):
        assert value in flat, value
    assert _squash(t["verdict"]["failed_fresh"]) in flat

"""The report renders to PDF in both languages from synthetic inputs, with every claim, verdict
and part in the text, no missing glyph, no leftover LaTeX, nothing fetched from the network, and
the same structure in Japanese and English."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest
import yaml

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
    inputs = helpers.build(tmp_path_factory.mktemp("report"))
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
    assert html.count(_main("en")["not_built"]) == 4
    assert _main("en")["ledger"]["empty"] in html


def test_report_sources_list_templates_and_text() -> None:
    files = report_sources("ja", ["double_descent_linear"])
    names = {f.name for f in files}
    assert {"base.html.j2", "experiment.html.j2", "style.css", "main.yaml"} <= names
    assert all(f.exists() for f in files if f.suffix in {".j2", ".css"})

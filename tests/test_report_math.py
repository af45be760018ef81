"""Formulas typeset without a browser: known ones render, unknown macros and glyphs are caught,
and every formula in the report's text files renders."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from companion.report import mathsvg
from companion.report import text as textmod

KNOWN = [
    r"R(\gamma) = \frac{\sigma^2 \gamma}{1 - \gamma}",
    r"r^2 \left(1 - \frac{1}{\gamma}\right) + \frac{\sigma^2}{\gamma - 1}",
    r"X_{k+1} = X_k - \eta \nabla L(X_k) + \sqrt{2\eta/\beta}\,\xi_k",
    r"\mathbb{E}\|x\|_2^2 = \sum_{j=1}^{d} \lambda_j",
    r"\mathrm{KL}(\mu_t \,\|\, \pi) \le e^{-2 t / C_{\mathrm{LSI}}} \mathrm{KL}(\mu_0 \,\|\, \pi)",
    r"\pi(x) \propto \exp(-\beta L(x))",
    r"\langle u_1, \beta^* \rangle^2",
    r"n^{-2s/(2s+d)}",
]


@pytest.mark.parametrize("latex", KNOWN)
def test_known_formulas_render(latex: str) -> None:
    mathsvg.check(latex)
    image = mathsvg.render(latex, display=True)
    assert image.svg.startswith("<svg") and "<path" in image.svg
    assert image.width > 0 and image.height > 0
    assert base64.b64decode(image.data_uri.split(",", 1)[1]).decode() == image.svg


def test_unknown_macro_is_detected() -> None:
    assert mathsvg.unknown_macros(r"\frac{a}{b} + \foo{x} + \barbaz") == [r"\foo", r"\barbaz"]
    assert mathsvg.unknown_macros(r"\frac{a}{b}") == []
    with pytest.raises(mathsvg.MathError, match=r"\\foo"):
        mathsvg.render(r"a + \foo{x}")
    with pytest.raises(mathsvg.MathError, match="unknown"):
        mathsvg.inline_html(r"\notamacro{E}[x]")


def test_missing_glyph_and_bad_syntax_are_detected() -> None:
    with pytest.raises(mathsvg.MathError, match="no glyph"):
        mathsvg.render("x + あ")
    with pytest.raises(mathsvg.MathError, match="unbalanced"):
        mathsvg.render(r"\frac{1}{2")
    with pytest.raises(mathsvg.MathError, match="empty"):
        mathsvg.render("  ")


def test_inline_image_sits_on_the_baseline() -> None:
    flat = mathsvg.render("x", display=False)
    tall = mathsvg.render(r"\frac{a}{b}", display=False)
    low = mathsvg.render("y_k", display=False)
    assert tall.height > flat.height
    assert low.depth > flat.depth > 0  # descender and subscript reach further below
    html = str(mathsvg.inline_html("y_k"))
    assert html.startswith("<img") and f"vertical-align:{-low.depth:.3f}em" in html
    assert 'alt="y_k"' in html and "<svg" not in html  # data URI, never inline SVG
    assert '<div class="math-display">' in str(mathsvg.display_html("y_k"))


def test_render_is_cached() -> None:
    assert mathsvg.render(r"\alpha + 1") is mathsvg.render(r"\alpha + 1")


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


TEXT_FILES = sorted(textmod.TEXT_ROOT.rglob("*.yaml"))


@pytest.mark.parametrize("path", TEXT_FILES, ids=lambda p: str(p.relative_to(textmod.TEXT_ROOT)))
def test_every_formula_in_the_text_files_renders(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if path.parent.name == "formulas":
        formulas = data["formulas"]
        assert formulas, f"{path}: no formulas"
        for latex in formulas:
            mathsvg.check(latex)
        return
    for value in _strings(data):
        for latex in textmod.math_spans(value):
            mathsvg.check(latex)
        textmod.prose_html(value)  # also catches an unmatched '$'


def test_the_text_tree_has_files() -> None:
    assert (textmod.TEXT_ROOT / "en" / "main.yaml") in TEXT_FILES
    assert (textmod.TEXT_ROOT / "ja" / "main.yaml") in TEXT_FILES

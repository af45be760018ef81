"""LaTeX to SVG without a browser or a TeX installation, for the report's formulas.

``ziamath`` converts LaTeX to MathML (through ``latex2mathml``) and typesets it with the STIX Two
Math font as SVG paths, so the PDF needs no font for the formulas. Two of its habits matter here:

- a macro it does not know is not an error: ``\\foo`` comes out as the literal glyphs "\\foo";
- a character the math font lacks (Japanese inside math, say) becomes the font's empty
  ``.notdef`` box.

Both would print nonsense into the report silently, so :func:`check` looks for them - in the MathML
(leftover backslashes) and in the rendered SVG (glyph id 0) - and raises :class:`MathError`.

The SVG is embedded as a data-URI ``<img>`` rather than inline ``<svg>``: every ziamath SVG defines
the same glyph ``<symbol>`` ids, and inline copies would collide (and be duplicated as PDF anchors).
"""

from __future__ import annotations

import base64
import functools
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from markupsafe import Markup

# Pixels per em at which formulas are typeset; the HTML scales them back to ``em`` so that
# formulas follow the surrounding font size.
_SIZE = 20.0
# White space (in SVG units) around the glyphs' bounding box.
_MARGIN = 1.0
_MACRO_RE = re.compile(r"\\(?:[A-Za-z]+|.)")
# ziamath names each glyph symbol ``<Font>_<glyph id>``; glyph 0 is the font's .notdef box.
_NOTDEF_RE = re.compile(r'<symbol id="[^"]*_0"')


class MathError(ValueError):
    """A formula cannot be typeset faithfully (unknown macro, missing glyph, bad syntax)."""


@dataclass(frozen=True)
class MathImage:
    """One typeset formula: the SVG and its box in ``em`` of the surrounding text.

    ``depth`` is how far the box reaches below the text baseline (positive downwards), so an
    inline image is aligned with ``vertical-align: -depth``.
    """

    latex: str
    display: bool
    svg: str
    width: float
    height: float
    depth: float

    @property
    def data_uri(self) -> str:
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg.encode()).decode("ascii")


def _mathml(latex: str, display: bool) -> str:
    from ziamath.tex import tex2mml

    try:
        return tex2mml(latex, inline=not display)
    except Exception as exc:  # latex2mathml raises a zoo of its own exception types
        raise MathError(f"cannot parse LaTeX {latex!r}: {type(exc).__name__}: {exc}") from exc


def unknown_macros(latex: str) -> list[str]:
    """The macros in ``latex`` that the converter passed through as literal text.

    latex2mathml turns every macro it knows into MathML; what is left with a backslash in an
    element's text was not understood (ziamath would draw it letter by letter).
    """
    root = ET.fromstring(_mathml(latex, display=False))
    found: list[str] = []
    for element in root.iter():
        for text in (element.text, element.tail):
            if text and "\\" in text:
                found.extend(m for m in _MACRO_RE.findall(text) if m not in found)
    return found


def _check_braces(latex: str) -> None:
    # latex2mathml quietly closes an unbalanced group; a typo would typeset as something else.
    depth = 0
    for token in re.findall(r"\\.|[{}]", latex):
        depth += {"{": 1, "}": -1}.get(token, 0)
        if depth < 0:
            break
    if depth != 0:
        raise MathError(f"unbalanced braces in {latex!r}")


def _typeset(latex: str, display: bool):
    import ziamath

    try:
        return ziamath.Latex(latex, size=_SIZE, inline=not display, margin=_MARGIN)
    except MathError:
        raise
    except Exception as exc:
        raise MathError(f"cannot typeset LaTeX {latex!r}: {type(exc).__name__}: {exc}") from exc


@functools.cache
def render(latex: str, display: bool = False) -> MathImage:
    """Typeset ``latex`` (no ``$`` delimiters) as an SVG, checking it first (see :func:`check`).

    Renders are cached for the life of the process: the same symbol appears many times in a
    report.
    """
    latex = latex.strip()
    if not latex:
        raise MathError("empty formula")
    _check_braces(latex)
    unknown = unknown_macros(latex)
    if unknown:
        raise MathError(f"unknown LaTeX macro(s) {', '.join(unknown)} in {latex!r}")
    math = _typeset(latex, display)
    svg = math.svg()
    if _NOTDEF_RE.search(svg):
        raise MathError(f"the math font has no glyph for a character in {latex!r} "
                        "(text inside math must be ASCII or a math symbol)")
    bbox = math.node.bbox
    width = (bbox.xmax - bbox.xmin + 2 * _MARGIN) / _SIZE
    height = (bbox.ymax - bbox.ymin + 2 * _MARGIN) / _SIZE
    # ziamath's y axis points up from the baseline: ymin < 0 is the part below it.
    depth = (_MARGIN - bbox.ymin) / _SIZE
    return MathImage(latex, display, svg, width, height, depth)


def check(latex: str) -> None:
    """Raise :class:`MathError` unless ``latex`` renders with every macro and glyph known."""
    render(latex, display=False)
    render(latex, display=True)


def _img(image: MathImage, css_class: str, style: str) -> Markup:
    return Markup('<img class="{}" src="{}" alt="{}" style="{}"/>').format(
        css_class, image.data_uri, image.latex, style)


def inline_html(latex: str) -> Markup:
    """An inline formula: an ``<img>`` sized in ``em`` and sitting on the text baseline."""
    image = render(latex, display=False)
    style = (f"width:{image.width:.3f}em;height:{image.height:.3f}em;"
             f"vertical-align:{-image.depth:.3f}em")
    return _img(image, "math math-inline", style)


def display_html(latex: str) -> Markup:
    """A display formula: a centred block holding the ``<img>``."""
    image = render(latex, display=True)
    style = f"width:{image.width:.3f}em;height:{image.height:.3f}em"
    return Markup('<div class="math-display">{}</div>').format(
        _img(image, "math math-block", style))

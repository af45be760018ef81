"""HTML to PDF with WeasyPrint, offline and with fonts that ship with the Python packages.

- Only ``file:`` and ``data:`` URLs are fetched: a stray ``http(s)`` reference fails the build
  instead of touching the network.
- Fonts come from package data, not from the system: IPAexGothic from ``matplotlib-fontja`` for
  Japanese, and STIX General / DejaVu from matplotlib for Latin text, symbols and code. The
  stylesheet names them ("Companion Serif", ...); :func:`font_css` says where they are.
- Anything WeasyPrint logs as an error (an image or stylesheet it could not load, a URL it
  refused) and every ``.notdef glyph rendered`` warning (a character no font has, printed as an
  empty box) raise :class:`PdfError`; other warnings are returned to the caller.

PDF metadata: the title comes from the HTML ``<title>``, the language from ``<html lang>``.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path
from typing import Any

from companion.io import write_bytes

_FATAL_MESSAGES = (".notdef glyph rendered", "disallowed protocol", "Failed to load")


class PdfError(RuntimeError):
    """WeasyPrint reported a problem that would make the PDF wrong (missing glyph or resource)."""


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise PdfError(f"package {name!r} (which ships the report's fonts) is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def font_files() -> dict[str, list[tuple[Path, str, str]]]:
    """``{family: [(file, weight, style), ...]}`` for the families the stylesheet uses."""
    mpl = _package_dir("matplotlib") / "mpl-data" / "fonts" / "ttf"
    ja = _package_dir("matplotlib_fontja") / "fonts"
    families = {
        "Companion Serif": [(mpl / "STIXGeneral.ttf", "normal", "normal"),
                            (mpl / "STIXGeneralBol.ttf", "bold", "normal"),
                            (mpl / "STIXGeneralItalic.ttf", "normal", "italic"),
                            (mpl / "STIXGeneralBolIta.ttf", "bold", "italic")],
        "Companion Sans": [(mpl / "DejaVuSans.ttf", "normal", "normal"),
                           (mpl / "DejaVuSans-Bold.ttf", "bold", "normal"),
                           (mpl / "DejaVuSans-Oblique.ttf", "normal", "italic"),
                           (mpl / "DejaVuSans-BoldOblique.ttf", "bold", "italic")],
        "Companion Mono": [(mpl / "DejaVuSansMono.ttf", "normal", "normal"),
                           (mpl / "DejaVuSansMono-Bold.ttf", "bold", "normal")],
        # One weight only: Japanese is emphasised by size and colour, never by (fake) bold.
        "Companion Gothic": [(ja / "ipaexg.ttf", "normal", "normal")],
    }
    missing = [str(path) for faces in families.values() for path, _, _ in faces
               if not path.exists()]
    if missing:
        # WeasyPrint only logs a failed @font-face at debug level; say so loudly instead.
        raise PdfError(f"font file(s) not found: {', '.join(missing)}")
    return families


def font_css() -> str:
    """``@font-face`` rules binding the stylesheet's family names to the packaged font files."""
    rules = []
    for family, faces in font_files().items():
        for path, weight, style in faces:
            rules.append(f'@font-face {{ font-family: "{family}"; src: url("{path.as_uri()}"); '
                         f"font-weight: {weight}; font-style: {style}; }}")
    return "\n".join(rules)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _is_fatal(record: logging.LogRecord) -> bool:
    message = record.getMessage()
    return record.levelno >= logging.ERROR or any(m in message for m in _FATAL_MESSAGES)


def render_pdf(html_path: str | os.PathLike[str]) -> tuple[bytes, list[str]]:
    """The PDF bytes of ``html_path`` and WeasyPrint's non-fatal warnings; see module doc."""
    return _render(html_path, write=True)


def layout(html_path: str | os.PathLike[str]) -> tuple[Any, list[str]]:
    """WeasyPrint's laid-out document of ``html_path`` (its pages and boxes, for layout checks)
    and the non-fatal warnings; raises :class:`PdfError` as :func:`html_to_pdf` does."""
    return _render(html_path, write=False)


def _render(html_path: str | os.PathLike[str], write: bool) -> tuple[Any, list[str]]:
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    html_path = Path(html_path).resolve()
    fetcher = weasyprint.URLFetcher(allowed_protocols={"file", "data"})
    logger = logging.getLogger("weasyprint")
    handler = _Collect()
    old_level = logger.level
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.WARNING:
        logger.setLevel(logging.WARNING)
    try:
        fonts = FontConfiguration()
        html = weasyprint.HTML(filename=str(html_path), url_fetcher=fetcher)
        css = weasyprint.CSS(string=font_css(), font_config=fonts, url_fetcher=fetcher)
        document = html.render(stylesheets=[css], font_config=fonts)
        # Glyphs are looked up when the PDF is written, so a missing one is reported only then.
        result = document.write_pdf() if write else document
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    fatal = [r.getMessage() for r in handler.records if _is_fatal(r)]
    if fatal:
        shown = "\n  ".join(fatal[:20])
        more = f"\n  ... and {len(fatal) - 20} more" if len(fatal) > 20 else ""
        raise PdfError(f"{html_path}: WeasyPrint reported {len(fatal)} problem(s):\n  "
                       f"{shown}{more}")
    return result, [r.getMessage() for r in handler.records]


def html_to_pdf(html_path: str | os.PathLike[str], pdf_path: str | os.PathLike[str]) -> list[str]:
    """Render ``html_path`` to ``pdf_path`` (atomically); return WeasyPrint's other warnings.

    Raises :class:`PdfError` (and writes nothing) on a missing glyph, a resource that could not
    be loaded, or a URL outside ``file:``/``data:``.
    """
    data, warnings = render_pdf(html_path)
    write_bytes(pdf_path, data)
    return warnings

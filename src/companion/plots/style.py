"""The one plotting style: fonts for Japanese and English, colours, and atomic saving.

Figures are drawn per language (``lang`` in ``{"ja", "en"}``); labels are either symbols that
read the same in both languages or pairs picked with :func:`tr`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import matplotlib_fontja  # noqa: E402,F401  - registers IPAexGothic and makes it the default font

from companion.io import atomic_path  # noqa: E402

LANGS = ("ja", "en")

# Measured data in solid colours with markers, theory always as a black dashed line on top.
MEASURED_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
THEORY_STYLE = {"color": "black", "linestyle": "--", "linewidth": 1.3, "zorder": 5}

_RC = {
    "figure.figsize": (5.6, 3.6),
    "figure.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 9,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "svg.fonttype": "path",  # glyphs as paths: the SVG needs no font where it is shown
    "svg.hashsalt": "companion",  # stable ids, so an unchanged figure is byte-identical
    "axes.unicode_minus": False,
}


def tr(lang: str, en: str, ja: str) -> str:
    """Pick the label for ``lang``."""
    if lang not in LANGS:
        raise ValueError(f"lang: {lang!r} is not one of {', '.join(LANGS)}")
    return ja if lang == "ja" else en


def colours() -> Iterator[str]:
    """Cycle through the measured-data colours."""
    while True:
        yield from MEASURED_COLOURS


# The report's text width (A4 less 2 x 20 mm margins), in inches: a wider figure is scaled down
# to it when printed.
PRINT_WIDTH_IN = 170 / 25.4


def print_scale(width_in: float) -> float:
    """How much larger than nominal the type of a figure ``width_in`` wide must be so that it
    prints at its nominal size once the report scales the figure down to the text width."""
    return max(1.0, width_in / PRINT_WIDTH_IN)


def new_figure(ncols: int = 1, nrows: int = 1, width: float | None = None,
               height: float | None = None):
    """A figure with the project style applied; returns ``(fig, axes)`` like ``plt.subplots``.

    Multi-panel figures are wider than the page: their type is enlarged by :func:`print_scale`
    so that tick labels, axis labels and legends print at the size a one-panel figure has."""
    plt.rcParams.update(_RC)
    w, h = _RC["figure.figsize"]
    size = (width or w * (1 if ncols == 1 else 0.9 * ncols), height or h * nrows)
    scale = print_scale(size[0])
    plt.rcParams.update({"font.size": _RC["font.size"] * scale,
                         "legend.fontsize": _RC["legend.fontsize"] * scale})
    fig, axes = plt.subplots(nrows, ncols, figsize=size, squeeze=False, constrained_layout=True)
    return fig, axes if axes.size > 1 else axes[0, 0]


def save(fig, path: str | os.PathLike[str]) -> Path:
    """Save ``fig`` as SVG atomically, with no timestamp in the file, and close it."""
    target = Path(path)
    with atomic_path(target, suffix=".svg") as tmp:
        fig.savefig(tmp, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return target


def placeholder_figure(path: str | os.PathLike[str], lang: str, note: str) -> Path:
    """A figure that says the run diverged (and where) in place of curves of non-finite values."""
    import textwrap

    fig, ax = new_figure(height=1.6)
    ax.set_axis_off()
    title = tr(lang, "The run diverged: no figure", "実行が発散したため図はない")
    ax.text(0.5, 0.62, title, ha="center", va="center", fontsize=11, transform=ax.transAxes)
    ax.text(0.5, 0.28, textwrap.fill(note, 90), ha="center", va="center", fontsize=7,
            transform=ax.transAxes)
    return save(fig, path)

"""Rendering the report's HTML from the templates in ``report/templates``.

The HTML is self-contained apart from the figures, which it references by paths relative to its
own directory (``results/report/`` -> ``../figures/<id>/<lang>/<name>.svg``). The stylesheet is
inlined; fonts are declared by the PDF step (:mod:`companion.report.pdf`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from companion import experiments
from companion.config import ROOT
from companion.io import write_text
from companion.report import lecture as lecturemod
from companion.report import text as textmod
from companion.report.context import FigureNames, PostHocClaims, build_context

TEMPLATE_DIR = ROOT / "report" / "templates"
STYLESHEET = ROOT / "report" / "style.css"


def environment(template_dir: str | os.PathLike[str] = TEMPLATE_DIR) -> jinja2.Environment:
    """Jinja2 over ``template_dir``: autoescaping on, undefined names an error."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["prose"] = textmod.prose_html
    env.filters["inline"] = textmod.inline_html
    env.filters["breakable"] = breakable
    return env


def breakable(identifier: str) -> Markup:
    """``identifier`` with line-break opportunities after ``.`` and ``_`` (long claim ids)."""
    return Markup("").join(
        Markup("{}<wbr>").format(part) if part in "._" else Markup("{}").format(part)
        for part in re.split(r"([._])", str(identifier)) if part)


def report_sources(lang: str, exp_ids: Sequence[str] = (), *,
                   text_root: str | os.PathLike[str] = textmod.TEXT_ROOT,
                   template_dir: str | os.PathLike[str] = TEMPLATE_DIR) -> list[Path]:
    """The files a ``lang`` report is rendered from besides the results: templates, stylesheet,
    main text, and each experiment's text, formula and lecture files (for the workflow's
    ``input:``)."""
    files = sorted(Path(template_dir).glob("*.j2")) + [STYLESHEET,
                                                       textmod.main_path(lang, text_root)]
    for exp_id in exp_ids:
        files.append(textmod.experiment_path(lang, exp_id, text_root))
        files.append(textmod.formulas_path(exp_id, text_root))
        files.append(lecturemod.lecture_path(exp_id, text_root))
    return files


def render_html(lang: str, metrics_paths: Sequence[str | os.PathLike[str]],
                figures_root: str | os.PathLike[str],
                benchmark_paths: Sequence[str | os.PathLike[str]],
                meta: Mapping[str, Any], out: str | os.PathLike[str], *,
                text_root: str | os.PathLike[str] = textmod.TEXT_ROOT,
                template_dir: str | os.PathLike[str] = TEMPLATE_DIR,
                stylesheet: str | os.PathLike[str] = STYLESHEET,
                order: Sequence[str] = experiments.EXPERIMENTS,
                figure_names: FigureNames | None = None,
                audit_paths: Sequence[str | os.PathLike[str]] = (),
                post_hoc_claims: PostHocClaims | None = None) -> Path:
    """Write the ``lang`` report as HTML to ``out`` (atomically) and return its path.

    ``meta``: ``preset``, ``config_hash``, ``commit``, ``build_date`` and optionally
    ``languages`` and ``experiments`` (the configured ids; then each needs a metrics file).
    ``audit_paths``: the audit's metrics files on fresh seeds (:mod:`companion.audit`).
    The keyword arguments exist for tests; the workflow uses the defaults.
    """
    out = Path(out)
    context = build_context(lang, metrics_paths, figures_root, benchmark_paths, meta,
                            out.parent.resolve(), text_root=text_root, order=order,
                            figure_names=figure_names, audit_paths=audit_paths,
                            post_hoc_claims=post_hoc_claims)
    # Our own stylesheet, inlined verbatim (escaping would break its quoted font names).
    context["css"] = Markup(Path(stylesheet).read_text(encoding="utf-8"))
    html = environment(template_dir).get_template("base.html.j2").render(context)
    write_text(out, html)
    return out

"""The report's prose: loading the per-language text files and turning prose into safe HTML.

Layout (see the report text contract):

- ``report/text/{lang}/main.yaml``: titles, introductions, labels and verdict words;
- ``report/text/{lang}/experiments/<id>.yaml``: one experiment's title, idea, setup, figure
  captions, claim sentences, each claim's measured quantity (``quantities``), table column
  labels, caveats, and the labels of the claims' context values (``context``, optional; see
  :mod:`companion.report.decision`);
- ``report/text/formulas/<id>.yaml``: the experiment's display formulas (language-neutral).

Prose is plain text: paragraphs separated by blank lines, ``$...$`` for inline math (``\\$`` for a
literal dollar sign), backquotes for code, and a paragraph whose lines all start with ``- `` is a
bulleted list. Everything else is escaped, so the text files cannot inject HTML.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from markupsafe import Markup, escape

from companion.config import ROOT
from companion.report import mathsvg

TEXT_ROOT = ROOT / "report" / "text"
EXPERIMENT_KEYS = ("title", "idea", "setup", "figures", "claims", "quantities", "table",
                   "caveats")

# Inline spans: $math$ (a backslash-escaped \$ is not a delimiter) or `code`.
_SPAN_RE = re.compile(r"(?<!\\)\$(?P<math>.+?)(?<!\\)\$|`(?P<code>[^`]+)`", re.S)
_CJK_RE = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]")


class TextError(ValueError):
    """A text file is missing, malformed, or lacks an entry the report needs."""


def _load(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise TextError(f"{path}: text file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise TextError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise TextError(f"{path}: the top level must be a mapping")
    return data


def main_path(lang: str, root: Path = TEXT_ROOT) -> Path:
    return Path(root) / lang / "main.yaml"


def experiment_path(lang: str, exp_id: str, root: Path = TEXT_ROOT) -> Path:
    return Path(root) / lang / "experiments" / f"{exp_id}.yaml"


def formulas_path(exp_id: str, root: Path = TEXT_ROOT) -> Path:
    return Path(root) / "formulas" / f"{exp_id}.yaml"


def load_main(lang: str, root: Path = TEXT_ROOT) -> dict[str, Any]:
    """The report-wide text of ``lang``."""
    return _load(main_path(lang, root))


def load_experiment(lang: str, exp_id: str, root: Path = TEXT_ROOT) -> dict[str, Any]:
    """The prose of experiment ``exp_id`` in ``lang``; a missing file or key names the file."""
    path = experiment_path(lang, exp_id, root)
    if not path.exists():
        raise TextError(f"{path}: experiment {exp_id!r} is configured but has no {lang} text "
                        "file (see the report text contract)")
    data = _load(path)
    missing = [key for key in EXPERIMENT_KEYS if key not in data]
    if missing:
        raise TextError(f"{path}: missing key(s) {', '.join(missing)}")
    data.setdefault("context", {})
    for key in ("figures", "claims", "quantities", "table", "context"):
        if not isinstance(data[key], Mapping):
            raise TextError(f"{path}: {key!r} must be a mapping")
    data["_path"] = str(path)
    return data


def load_formulas(exp_id: str, root: Path = TEXT_ROOT) -> list[str]:
    """The display formulas of experiment ``exp_id`` (LaTeX strings)."""
    path = formulas_path(exp_id, root)
    data = _load(path)
    formulas = data.get("formulas")
    if not isinstance(formulas, list) or not all(isinstance(f, str) for f in formulas):
        raise TextError(f"{path}: 'formulas' must be a list of LaTeX strings")
    return formulas


def key_paths(obj: Any, prefix: str = "") -> list[str]:
    """Dotted paths of every mapping key in ``obj`` (lists and scalars are leaves), sorted."""
    if not isinstance(obj, Mapping):
        return []
    paths: list[str] = []
    for key, value in obj.items():
        path = f"{prefix}{key}"
        paths.append(path)
        paths.extend(key_paths(value, path + "."))
    return sorted(paths)


def math_spans(text: str) -> list[str]:
    """Every ``$...$`` formula in ``text`` (for checks)."""
    return [m["math"] for m in _SPAN_RE.finditer(text) if m["math"] is not None]


def _join_lines(lines: list[str]) -> str:
    # A line break inside Japanese prose is not a word boundary, so it becomes no space.
    out = ""
    for line in (raw.strip() for raw in lines):
        if out and not (_CJK_RE.match(out[-1]) and _CJK_RE.match(line[:1] or " ")):
            out += " "
        out += line
    return out


def inline_html(text: str) -> Markup:
    """One run of prose (no paragraphs) as HTML: math typeset, code marked, the rest escaped."""
    parts: list[Markup] = []
    pos = 0
    for match in _SPAN_RE.finditer(text):
        parts.append(_plain(text[pos:match.start()]))
        if match["math"] is not None:
            try:
                parts.append(mathsvg.inline_html(match["math"]))
            except mathsvg.MathError as exc:
                raise TextError(f"in {text[:60]!r}...: {exc}") from exc
        else:
            parts.append(Markup("<code>{}</code>").format(match["code"]))
        pos = match.end()
    parts.append(_plain(text[pos:]))
    return Markup("").join(parts)


_HIRAGANA = re.compile(r"[\u3040-\u309f]")
_KATAKANA = re.compile(r"[\u30a0-\u30ff]")
# After these a Japanese label may break when a new word follows (の, を, な as particles).
_BREAK_AFTER = "のをな、・/"


def _header_breaks(text: str) -> list[int]:
    """Where a table header may break: at spaces, before '(', after a particle that a word
    follows, and where hiragana turns into katakana (当てはめ|ステップ数); never inside a word
    (平均場, ギブス分布). Positions inside math and code are never returned."""
    protected = [(m.start(), m.end()) for m in _SPAN_RE.finditer(text)]
    breaks = []
    for i in range(1, len(text)):
        if any(start < i < end for start, end in protected):
            continue
        prev, nxt = text[i - 1], text[i]
        if nxt == " " or prev == " ":
            breaks.append(i)
        elif nxt == "(":
            breaks.append(i)
        elif prev in _BREAK_AFTER and not _HIRAGANA.match(nxt) and nxt not in ")、":
            breaks.append(i)
        elif _HIRAGANA.match(prev) and _KATAKANA.match(nxt):
            breaks.append(i)
    return breaks


def header_html(text: str) -> Markup:
    """A table header as HTML whose words never break inside: each run between break points
    is a ``nobr`` span. WeasyPrint ignores ``word-break: keep-all``, and a Japanese header
    otherwise breaks between any two characters (平/均場)."""
    cuts = [0, *_header_breaks(text), len(text)]
    pieces = [text[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]
    out = []
    for piece in pieces:
        if piece.strip():
            out.append(Markup('<span class="nobr">{}</span>').format(inline_html(piece.strip())))
        if piece != piece.rstrip() or piece != piece.lstrip():
            out.append(Markup(" "))
    # A zero-width space between two spans is the break opportunity.
    joined = Markup("")
    for prev, piece in zip([None, *out], out, strict=False):
        if prev is not None and prev != " " and piece != " ":
            joined += Markup("\u200b")
        joined += piece
    return joined


def _plain(text: str) -> Markup:
    if re.search(r"(?<!\\)\$", text):
        raise TextError(f"unmatched '$' in {text!r}")
    return escape(text.replace("\\$", "$"))


def prose_html(text: str | None) -> Markup:
    """Paragraphs (blank-line separated) as ``<p>``; all-``- `` paragraphs as ``<ul>``."""
    blocks: list[Markup] = []
    for block in re.split(r"\n\s*\n", (text or "").strip()):
        lines = [line for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        if all(line.lstrip().startswith("- ") for line in lines):
            items = Markup("").join(Markup("<li>{}</li>").format(
                inline_html(line.lstrip()[2:].strip())) for line in lines)
            blocks.append(Markup("<ul>{}</ul>").format(items))
        else:
            blocks.append(Markup("<p>{}</p>").format(inline_html(_join_lines(lines))))
    return Markup("\n").join(blocks)


def fill(template: str, **values: Any) -> str:
    """``str.format`` for the text files' placeholders, naming the placeholder that is missing."""
    try:
        return template.format(**values)
    except KeyError as exc:
        raise TextError(f"placeholder {exc} in {template!r} is not one of "
                        f"{', '.join(sorted(values))}") from exc

"""How a claim was decided, in the report's language, from the claim's structured fields.

An experiment's ``summarize`` writes, besides ``measured``, ``expected`` and ``relation``:

- ``tolerance`` (absolute) or ``tolerance_rel`` (a fraction of ``expected``) for a ``~=`` claim,
  so the criterion reads ``≈ −0.50 ± 0.10`` or ``≈ 2.00 ± 15%``; a ``~=`` claim whose accepted
  range is not symmetric about ``expected`` carries ``interval: [lo, hi]`` instead
  (``≈ 1.00 (0.80–1.25)``);
- ``context``: an ordered mapping ``{key: value}`` of the numbers behind the verdict (where the
  worst point lies, the theory's value there, how many points were judged). Values are numbers,
  ``None`` (not available), booleans or lists of numbers.

The words come from the text files, never from the code: the experiment's text file names each
claim's measured quantity (``quantities: {claim id: label}``) and each context key
(``context: {key: label}``); ``main.yaml``'s ``context`` holds the keys every experiment may use.
A label is prose (``$...$`` for math) and may place the value itself with ``{value}``; without
it the line reads ``label = value``. A key without a label in the report's language is an error,
so a report never shows a word of another language. The free-text ``detail`` of the metrics
file stays what the command line prints.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

from companion.report import text as textmod

Formatter = Callable[[Any], Markup]


def criterion(claim: Mapping[str, Any], relation: str, fmt: Formatter) -> Markup:
    """The relation and the value a claim is judged against, with the tolerance of a ``≈``."""
    out = Markup("{}\u2009{}").format(relation, fmt(claim.get("expected")))
    if claim.get("interval") is not None:
        lo, hi = claim["interval"]
        out += Markup("\u2009({}\u2013{})").format(fmt(lo), fmt(hi))
    elif claim.get("tolerance") is not None:
        out += Markup("\u2009±\u2009{}").format(fmt(claim["tolerance"]))
    elif claim.get("tolerance_rel") is not None:
        out += Markup("\u2009±\u2009{}%").format(fmt(100 * float(claim["tolerance_rel"])))
    return out


def _value(value: Any, fmt: Formatter) -> Markup:
    if isinstance(value, (list, tuple)):
        return Markup("[{}]").format(Markup(", ").join(_value(v, fmt) for v in value))
    return fmt(value)


def _label(key: str, own: Mapping[str, Any], shared: Mapping[str, Any], where: str) -> str:
    if key in own:
        return str(own[key])
    if key in shared:
        return str(shared[key])
    raise textmod.TextError(f"{where}: context key {key!r} has no label (add it under "
                            "'context' in the experiment's text file or in main.yaml)")


def context_line(claim: Mapping[str, Any], own: Mapping[str, Any], shared: Mapping[str, Any],
                 separator: str, fmt: Formatter, where: str) -> Markup:
    """The claim's ``context`` as one line of ``label = value`` items (empty if none)."""
    items = []
    for key, value in (claim.get("context") or {}).items():
        label = _label(key, own, shared, f"{where}: claim {claim.get('id')!r}")
        shown = _value(value, fmt)
        if "{value}" in label:
            # The value is HTML (superscripts); the label's prose around it is escaped.
            before, _, after = label.partition("{value}")
            items.append(textmod.inline_html(before) + shown + textmod.inline_html(after))
        else:
            items.append(Markup("{} = {}").format(textmod.inline_html(label), shown))
    return Markup(escape(separator)).join(items)


def quantity(claim_id: str, quantities: Mapping[str, Any], where: str) -> Markup:
    """The measured quantity's name for the ledger and the verdict box."""
    if claim_id not in quantities:
        raise textmod.TextError(f"{where}: 'quantities' has no entry for claim {claim_id!r}")
    return textmod.inline_html(str(quantities[claim_id]))


def divergence_line(records: Sequence[Mapping[str, Any]], words: Mapping[str, Any],
                    separator: str, fmt: Formatter) -> Markup:
    """Where the runs diverged (``divergence.record``'s step, share and what, per seed) in the
    report's language: ``words`` is ``main.yaml``'s ``divergence`` section. A quantity the
    section does not name is an array's name and is shown as code."""
    lines = []
    for rec in records:
        what = words["what"].get(rec.get("what"))
        shown = (escape(what) if what is not None
                 else Markup("<code>{}</code>").format(rec.get("what", "")))
        share = rec.get("share")
        has_share = share is not None and math.isfinite(float(share))
        key = ("with_step" if rec.get("step") is not None else "without_step") + \
              ("_share" if has_share else "")
        template = escape(words[key])
        lines.append(Markup(template.format(
            seed=fmt(rec.get("seed")), what=shown, step=fmt(rec.get("step")),
            share=Markup("{}%").format(fmt(100 * float(share))) if has_share else "")))
    return Markup(escape(separator)).join(lines)

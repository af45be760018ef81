"""Checks on the laid-out pages of a report (WeasyPrint's document object), for tests.

:func:`tables_split_early` finds tables that a page break cuts after fewer than ``min_rows`` body
rows, which leaves a caption and a row or two stranded at a page foot.
"""

from __future__ import annotations

from typing import Any


def _table_fragments(document: Any) -> dict[int, list[tuple[int, int, str]]]:
    """``{id(element): [(page number, body rows on that page, caption text), ...]}``."""
    from weasyprint.formatting_structure import boxes

    found: dict[int, list[tuple[int, int, str]]] = {}
    for number, page in enumerate(document.pages, start=1):
        for box in page._page_box.descendants():
            if not isinstance(box, boxes.TableBox) or box.element is None:
                continue
            rows = sum(1 for group in box.children
                       if isinstance(group, boxes.TableRowGroupBox) and not group.is_header
                       for row in group.children if isinstance(row, boxes.TableRowBox))
            caption = box.element.find("caption")
            label = ("".join(caption.itertext()).strip() if caption is not None
                     else box.element.get("class", "table"))
            found.setdefault(id(box.element), []).append((number, rows, label))
    return found


def tables_split_early(document: Any, min_rows: int = 3) -> list[str]:
    """One line per table continued on a later page after fewer than ``min_rows`` rows on a
    page (a whole table shorter than that on one page is fine)."""
    problems = []
    for fragments in _table_fragments(document).values():
        if len(fragments) < 2:
            continue
        for page, rows, label in fragments[:-1]:
            if rows < min_rows:
                problems.append(f"page {page}: {label!r} breaks after {rows} row(s)")
    return problems

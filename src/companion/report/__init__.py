"""Assembling the bilingual report: context from metrics, Jinja2, math to SVG, WeasyPrint."""

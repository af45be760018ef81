"""What the Japanese report must not contain (the style section of the project glossary):
polite sentence endings, banned terms, and English words in generated lines."""

from __future__ import annotations

import re

# です/ます endings (also でした, ません, ましょう) before a sentence end or a closing bracket.
POLITE = re.compile(r"(です|でした|ます|ました|ません|ましょう)(?=[。、)」\s]|$)")
# 鎖 as a term (マルコフ連鎖 and 鎖線, a dash-dot line, are fine), フィット (当てはめ).
BANNED = re.compile(r"(?<!連)鎖(?!線)|フィット")
# Latin words of two or more letters; identifiers and units the Japanese text keeps.
ASCII_WORD = re.compile(r"[A-Za-z][A-Za-z]+")
ALLOWED_WORDS = {"KL", "NTK", "CK", "GLD", "ReLU", "GD", "lin", "gap", "max", "min", "log", "exp",
                 "Gram", "sd", "VC", "PAC", "Bayes", "MFLD",
                 "Besov"}  # abbreviations, names (GLOSSARY.md)


def polite_endings(text: str) -> list[str]:
    return [text[max(0, m.start() - 12):m.end() + 1] for m in POLITE.finditer(text)]


def banned_terms(text: str) -> list[str]:
    return [text[max(0, m.start() - 8):m.end() + 8] for m in BANNED.finditer(text)]


def english_words(text: str) -> list[str]:
    return [w for w in ASCII_WORD.findall(text) if w not in ALLOWED_WORDS]

"""The Japanese report reads as native technical prose (である調, the glossary's terms, no English
in generated lines), and no table is split after fewer than three rows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from markupsafe import Markup

import report_style as style
from companion.report import decision, layout
from companion.report import text as textmod
from companion.report.text import TEXT_ROOT

ROOT = Path(__file__).resolve().parents[1]


def _strings(obj: object) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in _strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


def _prose_without_math_and_code(text: str) -> str:
    """The label's words: math, code and the ``{value}`` placeholder are not prose."""
    return re.sub(r"(?<!\\)\$.+?(?<!\\)\$|`[^`]+`|\{value\}", " ", text, flags=re.S)


JA_FILES = sorted((TEXT_ROOT / "ja").rglob("*.yaml"))


def test_the_checks_catch_what_they_look_for() -> None:
    assert style.polite_endings("本レポートは結果を示します。") == ["本レポートは結果を示します。"]
    assert style.polite_endings("結果を示す。次のとおりである。") == []
    assert style.banned_terms("各鎖の平均") and style.banned_terms("最小二乗フィット")
    assert not style.banned_terms("マルコフ連鎖の平均")
    assert style.english_words("最大となる γ = 0.5、worst at 3") == ["worst", "at"]


@pytest.mark.parametrize("path", JA_FILES, ids=lambda p: p.name)
def test_japanese_text_files_follow_the_style(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if path.parent.name == "lecture":
        data = [e["observe"]["ja"] for e in data.get("try_it", [])]
    text = "\n".join(_strings(data))
    assert style.polite_endings(text) == []
    assert style.banned_terms(text) == []
    assert "（" not in text and "）" not in text  # half-width parentheses only


def test_lecture_try_it_japanese_follows_the_style() -> None:
    for path in sorted((TEXT_ROOT / "lecture").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        text = "\n".join(e["observe"]["ja"] for e in data.get("try_it", []))
        assert style.polite_endings(text) == [], path.name
        assert style.banned_terms(text) == [], path.name


@pytest.mark.parametrize("path", sorted((TEXT_ROOT / "ja" / "experiments").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_japanese_decision_labels_have_no_english_words(path: Path) -> None:
    data = textmod.load_experiment("ja", path.stem)
    labels = list(data["quantities"].values()) + list(data["context"].values())
    main = textmod.load_main("ja")
    labels += list(main["context"].values())
    words = [w for label in labels for w in style.english_words(
        _prose_without_math_and_code(label))]
    assert words == []


@pytest.mark.parametrize("path", sorted((TEXT_ROOT / "en" / "experiments").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_both_languages_label_the_same_claims_and_context(path: Path) -> None:
    en = textmod.load_experiment("en", path.stem)
    ja = textmod.load_experiment("ja", path.stem)
    assert set(en["quantities"]) == set(en["claims"]) == set(ja["quantities"])
    assert set(en["context"]) == set(ja["context"])


def _fmt(value: object) -> Markup:
    return Markup(str(value))


def test_decision_line_uses_the_labels_of_the_language() -> None:
    claim = {"id": "X.c", "context": {"gamma_worst": 0.5, "n": 100, "slopes": [1, 2]}}
    own = {"gamma_worst": "最大となる $\\gamma$", "slopes": "傾き {value} (シードごと)"}
    line = str(decision.context_line(claim, own, {"n": "$n$"}, "、", _fmt, "here"))
    assert "0.5" in line and "100" in line and "傾き [1, 2] (シードごと)" in line
    assert line.count("、") == 2
    with pytest.raises(textmod.TextError, match="'n' has no label"):
        decision.context_line(claim, own, {}, "、", _fmt, "here")


def test_criterion_shows_the_tolerance_of_an_approximate_claim() -> None:
    assert str(decision.criterion({"expected": -0.5, "tolerance": 0.1}, "≈", _fmt)) == \
        "≈\u2009-0.5\u2009±\u20090.1"
    assert str(decision.criterion({"expected": 2.0, "tolerance_rel": 0.15}, "≈", _fmt)) \
        .endswith("±\u200915.0%")
    assert str(decision.criterion({"expected": 0.1}, "≤", _fmt)) == "≤\u20090.1"
    assert str(decision.criterion({"expected": 1.0, "interval": [0.8, 1.25]}, "≈", _fmt)) == \
        "≈\u20091.0\u2009(0.8\u20131.25)"


# ---------------------------------------------------------------- tables across pages

def _table_page(rows: int, spacer_mm: int, css: str = "") -> str:
    body = "".join(f"<tr><td>{i}</td><td>{i * i}</td></tr>" for i in range(rows))
    return (f"<html><head><style>@page {{ size: A4; margin: 20mm; }} {css}</style></head><body>"
            f"<div style='height: {spacer_mm}mm'></div><table><caption>Table 1</caption>"
            f"<thead><tr><th>a</th><th>b</th></tr></thead><tbody>{body}</tbody></table>"
            "</body></html>")


def _document(html: str) -> object:
    weasyprint = pytest.importorskip("weasyprint")
    return weasyprint.HTML(string=html).render()


def test_a_table_split_after_one_row_is_found() -> None:
    doc = _document(_table_page(rows=20, spacer_mm=234))
    problems = layout.tables_split_early(doc)
    assert len(problems) == 1 and "Table 1" in problems[0]


def test_the_report_style_keeps_three_rows_with_the_caption() -> None:
    css = (ROOT / "report" / "style.css").read_text(encoding="utf-8")
    css = re.sub(r"@page\s*\{(?:[^{}]|\{[^{}]*\})*\}", "", css)  # keep the test's own page
    doc = _document(_table_page(rows=20, spacer_mm=234, css=css))
    assert layout.tables_split_early(doc) == []
    assert len(doc.pages) == 2  # the table moved whole to the next page, not dropped


def test_a_short_table_on_one_page_is_fine() -> None:
    assert layout.tables_split_early(_document(_table_page(rows=2, spacer_mm=10))) == []


def test_table_headers_break_between_words_only() -> None:
    def words(label: str) -> list[str]:
        return re.findall(r'<span class="nobr">(.*?)</span>', str(textmod.header_html(label)))

    assert words("当てはめステップ数 (測定)") == ["当てはめ", "ステップ数", "(測定)"]
    assert words("大域的最小点の谷の割合 (ギブス分布)") == ["大域的最小点の", "谷の", "割合",
                                                      "(ギブス分布)"]
    assert words("平均場") == ["平均場"]
    assert words("KL plateau") == ["KL", "plateau"]
    html = str(textmod.header_html("$\\mu_k$ からの当てはめ"))
    assert html.count('class="nobr"') == 3 and "<img" in html  # math stays one piece


def test_divergence_line_is_in_the_report_language() -> None:
    records = [{"seed": 0, "step": 120, "share": 0.25, "what": "training loss"},
               {"seed": 1, "step": None, "share": float("nan"), "what": "risk_ridge"}]
    ja = str(decision.divergence_line(records, textmod.load_main("ja")["divergence"], "、", _fmt))
    assert "ステップ 120 から訓練損失が非有限" in ja and "25.0%" in ja
    assert "<code>risk_ridge</code>" in ja  # an array's name stays an identifier
    assert style.english_words(re.sub(r"<code>.*?</code>", "", ja)) == []
    en = str(decision.divergence_line(records, textmod.load_main("en")["divergence"], "; ", _fmt))
    assert en.startswith("seed 0: training loss non-finite from step 120 in 25.0%")

"""The report's text files: both languages have the same keys; prose becomes safe HTML;
numbers are formatted to three significant digits."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml
from markupsafe import Markup

from companion import experiments
from companion.report import context
from companion.report import text as textmod
from companion.report.text import TextError

ROOT = textmod.TEXT_ROOT
LANGS = ("ja", "en")


def _keys(path: Path) -> list[str]:
    return textmod.key_paths(yaml.safe_load(path.read_text(encoding="utf-8")))


def test_main_text_has_the_same_keys_in_both_languages() -> None:
    ja, en = (_keys(textmod.main_path(lang)) for lang in LANGS)
    assert ja == en, f"only ja: {sorted(set(ja) - set(en))}; only en: {sorted(set(en) - set(ja))}"
    for part in range(1, 5):
        assert f"parts.part{part}.title" in en and f"parts.part{part}.intro" in en


def _experiment_ids() -> list[str]:
    ids = {p.stem for lang in LANGS for p in (ROOT / lang / "experiments").glob("*.yaml")}
    return sorted(ids)


@pytest.mark.parametrize("exp_id", _experiment_ids())
def test_experiment_text_matches_across_languages(exp_id: str) -> None:
    paths = [textmod.experiment_path(lang, exp_id) for lang in LANGS]
    for path in paths:
        assert path.exists(), f"{path} is missing (the other language has it)"
    ja, en = (_keys(p) for p in paths)
    assert ja == en, f"only ja: {sorted(set(ja) - set(en))}; only en: {sorted(set(en) - set(ja))}"
    loaded = [textmod.load_experiment(lang, exp_id) for lang in LANGS]  # required keys present
    assert textmod.formulas_path(exp_id).exists()
    assert exp_id in experiments.EXPERIMENTS
    if importlib.util.find_spec(f"companion.experiments.{exp_id}") is not None:
        figures = list(experiments.get(exp_id).FIGURES)
        for prose in loaded:
            assert sorted(prose["figures"]) == sorted(figures), prose["_path"]


def test_missing_experiment_text_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(textmod.TextError, match=r"en/experiments/nope\.yaml"):
        textmod.load_experiment("en", "nope", tmp_path)
    path = textmod.experiment_path("en", "partial", tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("title: x\nidea: y\n", encoding="utf-8")
    with pytest.raises(textmod.TextError, match="setup, figures, claims, quantities, table,"):
        textmod.load_experiment("en", "partial", tmp_path)


def test_prose_is_escaped_and_math_typeset() -> None:
    html = str(textmod.prose_html("A <b>bold</b> & $x^2$ claim, \\$5.\n\n- one\n- `two`"))
    assert "&lt;b&gt;bold&lt;/b&gt; &amp;" in html
    assert "$5." in html and html.count("<p>") == 1
    assert '<img class="math math-inline"' in html
    assert "<ul><li>one</li><li><code>two</code></li></ul>" in html
    with pytest.raises(textmod.TextError, match="unmatched"):
        textmod.prose_html("costs $5 only")


def test_japanese_line_breaks_do_not_become_spaces() -> None:
    html = str(textmod.prose_html("日本語の\n文章 and\nEnglish"))
    assert html == "<p>日本語の文章 and English</p>"


@pytest.mark.parametrize(("value", "expected"), [
    (0.0412, "0.0412"),
    (0.1, "0.100"),
    (-1.52, "−1.52"),
    (123.456, "123"),
    (999.6, "1.00×10<sup>3</sup>"),
    (1.234e-5, "1.23×10<sup>−5</sup>"),
    (123456.7, "1.23×10<sup>5</sup>"),
    (0.00999, "9.99×10<sup>−3</sup>"),
    (0.0, "0"),
    (7, "7"),
    (None, "—"),
    (float("nan"), "—"),
])
def test_numbers_have_three_significant_digits(value: object, expected: str) -> None:
    assert str(context.format_number(value)) == expected


def test_config_values_are_compact() -> None:
    assert str(context.format_config_value(list(range(10)))) == "[0, 1, 2, 3, …, 8, 9] (10 values)"
    assert str(context.format_config_value([0.5, 1e-3])) == "[0.5, 0.001]"
    assert context.flatten({"a": 1, "b": {"c": [1, 2], "d": {}}}) == [
        ("a", 1), ("b.c", [1, 2]), ("b.d", {})]
    assert context.format_seeds([0, 1, 2, 3]) == "0–3"
    assert context.format_seeds([0, 2]) == "0, 2"


def test_display_helpers_at_their_boundaries() -> None:
    # Seven values (head 4 + tail 2 + the one an ellipsis would hide) are shown whole; eight not.
    assert str(context.format_config_value(list(range(7)))) == "[0, 1, 2, 3, 4, 5, 6]"
    assert str(context.format_config_value(list(range(8)))) == "[0, 1, 2, 3, …, 6, 7] (8 values)"
    # Two consecutive seeds stay a list; three make a range.
    assert context.format_seeds([0, 1]) == "0, 1"
    assert context.format_seeds([100, 101, 102]) == "100–102"
    assert context.format_seeds([]) == ""
    figures = {"risk": {"anchor": "fig-a-risk", "label": "Figure 1"}}
    linked = str(context.link_figures(Markup("see [[figure:risk]]"), figures, "a.yaml: idea"))
    assert linked == 'see <a class="figure-ref" href="#fig-a-risk">Figure 1</a>'
    with pytest.raises(TextError, match=r"^a\.yaml: idea: \[\[figure:curve\]\] is not one of "
                                        r"this experiment's figures \(risk\)$"):
        context.link_figures(Markup("[[figure:curve]]"), figures, "a.yaml: idea")

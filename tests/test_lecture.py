"""The lecture map and the "try it yourself" commands: every quoted slide heading occurs in the
slides' text, and every try-it command, run as a student would, shows what its text says."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
import yaml

from companion import cli, experiments
from companion.config import ROOT, experiment_section, load_config
from companion.report import lecture
from companion.report.text import TextError

import experiment_helpers

SLIDES = ROOT.parent / "shared" / "seeds" / "000_9813dc953f94178b.txt"
TRY_IT = [(exp_id, i) for exp_id in experiments.EXPERIMENTS
          for i in range(len(lecture.load_lecture(exp_id)["try_it"]))]


@pytest.fixture(scope="module")
def headings() -> list[str]:
    assert SLIDES.exists(), f"the lecture's slide text is expected at {SLIDES}"
    return lecture.slide_headings(SLIDES.read_text(encoding="utf-8"))


@pytest.mark.parametrize("exp_id", experiments.EXPERIMENTS)
def test_every_quoted_heading_is_a_slide_heading(exp_id: str, headings: list[str]) -> None:
    refs = lecture.load_lecture(exp_id)["lecture"]
    missing = [r["ja"] for r in refs if not lecture.heading_in_slides(r["ja"], headings)]
    assert not missing, f"{exp_id}: not a heading of the slides: {missing}"
    # The experiment's own chapter is among the parts it cites.
    assert experiments.get(exp_id).PART in {r["part"] for r in refs}
    assert all(r["en"].strip() and r["en"] != r["ja"] or r["ja"].isascii() for r in refs)


def test_a_heading_not_in_the_slides_is_caught(headings: list[str]) -> None:
    assert lecture.heading_in_slides("Double-descent (二重降下)", headings)
    assert not lecture.heading_in_slides("Double-descent (二重効果)", headings)


def _write(root: Path, data: object) -> Path:
    path = lecture.lecture_path("double_descent_linear", root)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return root


GOOD = {
    "lecture": [{"part": 2, "ja": "見出し", "en": "Heading"}],
    "try_it": [{"set": {"n": 10}, "expect": {"series": "risk", "direction": "up"},
                "observe": {"ja": "上がる。", "en": "It rises."}}],
}


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["lecture"][0].pop("en"), "exactly 'part', 'ja' and 'en'"),
    (lambda d: d["lecture"][0].update(part=5), "part must be 1-4"),
    (lambda d: d["try_it"][0]["expect"].update(direction="sideways"), "'direction' one of"),
    (lambda d: d["try_it"][0].update(expect={"claim": "B1.x"}), "{claim, passed}"),
    (lambda d: d["try_it"][0]["observe"].pop("ja"), "non-empty 'ja' and 'en'"),
    (lambda d: d.update(try_it=[]), "1 to 2 entries"),
    (lambda d: d["try_it"][0].update(set={}), "at least one key"),
])
def test_malformed_lecture_files_are_refused(tmp_path: Path, change, message: str) -> None:
    lecture.load_lecture("double_descent_linear", _write(tmp_path, GOOD))
    bad = json.loads(json.dumps(GOOD))
    change(bad)
    with pytest.raises(TextError, match=message.replace("{", r"\{").replace("(", r"\(")
                       .replace(")", r"\)")):
        lecture.load_lecture("double_descent_linear", _write(tmp_path, bad))


@pytest.mark.parametrize("value", [3, 0.25, True, [4, 8], [0.1, 0.18], "cpu", {"a": [1, 2]}])
def test_set_arguments_parse_back_to_their_values(value: object) -> None:
    key, _, text = lecture.set_argument("k", value).partition("=")
    assert key == "k" and yaml.safe_load(text) == value


def _metrics(passed: bool, risk: list[float]) -> dict:
    return {"experiment": "x", "claims": [{"id": "X.c", "passed": passed}],
            "series": {"risk": risk}}


def test_expectations_are_checked_against_the_baseline() -> None:
    flip = {"claim": "X.c", "passed": False}
    assert lecture.expectation_holds(flip, _metrics(True, [1]), _metrics(False, [1]))[0]
    # A verdict that was already what the text promises did not move: not shown.
    assert not lecture.expectation_holds(flip, _metrics(False, [1]), _metrics(False, [1]))[0]
    assert not lecture.expectation_holds(flip, _metrics(True, [1]), _metrics(True, [1]))[0]
    up = {"series": "risk", "direction": "up"}
    assert lecture.expectation_holds(up, _metrics(True, [1, 2]), _metrics(True, [2, 3]))[0]
    assert not lecture.expectation_holds(up, _metrics(True, [2, 3]), _metrics(True, [1, 2]))[0]
    down = {"series": "risk", "direction": "down"}
    assert lecture.expectation_holds(down, _metrics(True, [[2, None]]), _metrics(True, [[1]]))[0]
    with pytest.raises(KeyError, match="no claim"):
        lecture.expectation_holds({"claim": "X.d", "passed": True}, _metrics(True, [1]),
                                  _metrics(True, [1]))


def _run_command(command: str, out: Path) -> dict:
    """``command`` as the report prints it, through the CLI's own entry point, one thread."""
    argv = shlex.split(command)
    assert argv[:4] == ["python", "-m", "companion", "run"], command
    args = argv[3:]
    args[args.index("--out") + 1] = str(out)
    assert cli.main([*args, "--threads", "1"]) == 0, command
    return json.loads((out / "metrics.json").read_text(encoding="utf-8"))


_BASELINES: dict[str, dict] = {}


def _baseline(exp_id: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The unchanged tiny run: the experiment's own tests' run when this session made one."""
    if exp_id not in _BASELINES:
        section = experiment_section(load_config("tiny"), exp_id)
        cached = experiment_helpers.cached_metrics(exp_id, section)
        if cached is not None:
            _BASELINES[exp_id] = cached
            return cached
        command = f"python -m companion run {exp_id} --preset tiny --out base"
        _BASELINES[exp_id] = _run_command(command, tmp_path_factory.mktemp(f"base-{exp_id}"))
    return _BASELINES[exp_id]


@pytest.mark.parametrize(("exp_id", "index"), TRY_IT)
def test_try_it_shows_what_its_text_says(exp_id: str, index: int, tmp_path: Path,
                                         tmp_path_factory: pytest.TempPathFactory) -> None:
    entry = lecture.load_lecture(exp_id)["try_it"][index]
    command = lecture.try_command(exp_id, entry["set"])
    changed = _run_command(command, tmp_path)
    assert changed["config"] | entry["set"] == changed["config"]  # the overrides took effect
    ok, numbers = lecture.expectation_holds(entry["expect"], _baseline(exp_id, tmp_path_factory),
                                            changed)
    assert ok, f"{command}: {numbers}"

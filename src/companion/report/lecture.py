"""Each experiment's way back to the lecture, and its "try it yourself" commands.

One file per experiment, ``report/text/lecture/<id>.yaml`` (language-neutral, both languages in
it, so the two reports cannot cite different slides)::

    lecture:                      # the slides the experiment reproduces; the first one states
      - part: 2                   # the result and is the one the claims ledger shows
        ja: "Double-descent (二重降下)"   # a slide heading, verbatim from the slides' text
        en: "Double descent"             # our English rendering of it
    try_it:                       # one or two commands that make a claim move at the tiny preset
      - set: {n: 120, reps: 16}   # --set overrides of the experiment's own section
        expect: {claim: "B1.risk_matches_theory", passed: true}
        # or: expect: {series: "risk", direction: "up"}
        observe: {ja: "...", en: "..."}   # what the student should see (prose, $math$ allowed)

``expect`` is what the text promises and a test checks against real runs
(:func:`expectation_holds`): a claim whose verdict on the changed run is ``passed`` and differs
from its verdict at the unchanged tiny preset, or a series whose mean over its finite entries
moves ``up`` or ``down`` from the unchanged run.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from companion.report import text as textmod

LANGS = ("ja", "en")
DIRECTIONS = ("up", "down")
MAX_TRY_IT = 2


def lecture_path(exp_id: str, root: Path = textmod.TEXT_ROOT) -> Path:
    return Path(root) / "lecture" / f"{exp_id}.yaml"


def _fail(path: Path, message: str) -> None:
    raise textmod.TextError(f"{path}: {message}")


def _check_langs(path: Path, where: str, value: Any) -> None:
    if not isinstance(value, Mapping) or set(value) != set(LANGS) or not all(
            isinstance(value[lang], str) and value[lang].strip() for lang in LANGS):
        _fail(path, f"{where} needs non-empty 'ja' and 'en' strings, and nothing else")


def _check_expect(path: Path, where: str, expect: Any) -> None:
    if not isinstance(expect, Mapping):
        _fail(path, f"{where}.expect must be a mapping")
    if set(expect) == {"claim", "passed"}:
        if not isinstance(expect["claim"], str) or not isinstance(expect["passed"], bool):
            _fail(path, f"{where}.expect: 'claim' is a claim id, 'passed' true or false")
    elif set(expect) == {"series", "direction"}:
        if not isinstance(expect["series"], str) or expect["direction"] not in DIRECTIONS:
            _fail(path, f"{where}.expect: 'series' is a series name, 'direction' one of "
                        f"{', '.join(DIRECTIONS)}")
    else:
        _fail(path, f"{where}.expect must be {{claim, passed}} or {{series, direction}}; "
                    f"got keys {sorted(expect)}")


def load_lecture(exp_id: str, root: Path = textmod.TEXT_ROOT) -> dict[str, Any]:
    """The lecture references and try-it entries of ``exp_id``, checked for shape."""
    path = lecture_path(exp_id, root)
    if not path.exists():
        _fail(path, f"experiment {exp_id!r} has no lecture file (slides it reproduces, try it)")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, Mapping) or set(data) != {"lecture", "try_it"}:
        _fail(path, "the top level must have exactly 'lecture' and 'try_it'")
    refs = data["lecture"]
    if not isinstance(refs, list) or not refs:
        _fail(path, "'lecture' must list at least one slide")
    for i, ref in enumerate(refs):
        if not isinstance(ref, Mapping) or set(ref) != {"part", *LANGS}:
            _fail(path, f"lecture[{i}] needs exactly 'part', 'ja' and 'en'")
        if ref["part"] not in (1, 2, 3, 4):
            _fail(path, f"lecture[{i}].part must be 1-4")
        _check_langs(path, f"lecture[{i}]", {lang: ref[lang] for lang in LANGS})
    tries = data["try_it"]
    if not isinstance(tries, list) or not 1 <= len(tries) <= MAX_TRY_IT:
        _fail(path, f"'try_it' must list 1 to {MAX_TRY_IT} entries")
    for i, entry in enumerate(tries):
        where = f"try_it[{i}]"
        if not isinstance(entry, Mapping) or set(entry) != {"set", "expect", "observe"}:
            _fail(path, f"{where} needs exactly 'set', 'expect' and 'observe'")
        if not isinstance(entry["set"], Mapping) or not entry["set"]:
            _fail(path, f"{where}.set must map at least one key of the experiment's section")
        _check_expect(path, where, entry["expect"])
        _check_langs(path, f"{where}.observe", entry["observe"])
    return {"lecture": list(refs), "try_it": list(tries), "_path": str(path)}


def set_argument(key: str, value: Any) -> str:
    """One ``--set`` value as the command line takes it: ``key=<YAML flow value>``."""
    flow = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    flow = flow.removesuffix("...").strip()  # a scalar ends its document with "..."
    return f"{key}={flow}"


def try_command_parts(exp_id: str, overrides: Mapping[str, Any]) -> list[str]:
    """The command of one try-it entry as its option groups (the report breaks lines only
    between them): tiny preset, the entry's ``--set`` options, its own output folder."""
    sets = [f"--set {shlex.quote(set_argument(k, v))}" for k, v in overrides.items()]
    return [f"python -m companion run {exp_id}", "--preset tiny", *sets, f"--out try/{exp_id}"]


def try_command(exp_id: str, overrides: Mapping[str, Any]) -> str:
    """The shell command a student runs for one try-it entry."""
    return " ".join(try_command_parts(exp_id, overrides))


def _series_mean(metrics: Mapping[str, Any], name: str) -> float:
    if name not in metrics.get("series", {}):
        raise KeyError(f"{metrics.get('experiment')}: no series {name!r}")
    values = []
    stack = [metrics["series"][name]]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, (int, float)) and not isinstance(item, bool) and math.isfinite(item):
            values.append(float(item))
    if not values:
        raise ValueError(f"{metrics.get('experiment')}: series {name!r} has no finite value")
    return sum(values) / len(values)


def _verdict(metrics: Mapping[str, Any], claim_id: str) -> bool:
    for claim in metrics.get("claims", []):
        if claim["id"] == claim_id:
            return bool(claim["passed"])
    raise KeyError(f"{metrics.get('experiment')}: no claim {claim_id!r}")


def expectation_holds(expect: Mapping[str, Any], baseline: Mapping[str, Any],
                      changed: Mapping[str, Any]) -> tuple[bool, str]:
    """Whether the changed run shows what ``expect`` says, against the unchanged baseline run;
    with a sentence giving the numbers either way."""
    if "claim" in expect:
        cid, want = expect["claim"], bool(expect["passed"])
        before, after = _verdict(baseline, cid), _verdict(changed, cid)
        ok = after == want and before != want
        return ok, f"{cid}: passed {before} at the tiny preset, {after} changed (want {want})"
    name, direction = expect["series"], expect["direction"]
    before, after = _series_mean(baseline, name), _series_mean(changed, name)
    ok = after > before if direction == "up" else after < before
    return ok, f"series {name}: mean {before:.4g} at the tiny preset, {after:.4g} changed " \
               f"(want {direction})"


def slide_headings(slides_text: str) -> list[str]:
    """The heading lines of the slides' text (Markdown ``#`` lines), markup left in."""
    return [line.lstrip("#").strip() for line in slides_text.splitlines()
            if line.startswith("#")]


def heading_in_slides(heading: str, headings: list[str]) -> bool:
    """A quoted heading occurs verbatim in a slide heading (emphasis markers around it allowed)."""
    return any(heading in h for h in headings)

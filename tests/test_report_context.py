"""The report's whole context (what the templates receive), pinned for each language.

Built from the synthetic inputs of ``tests/report_helpers.py`` (real ``main.yaml`` texts,
synthetic experiment prose) plus the paths the ledger tests leave out: a diverged run, the engine
benchmark and the benchmark files. Every mark, word, number, label, counter and link of the
context must come back as stored in ``tests/fixtures/report_context/<lang>.json``; the row-level
meaning of the ledger is checked in ``tests/test_ledger_rows.py``. After a deliberate change,
rewrite the fixtures with ``COMPANION_UPDATE_FIXTURES=1 python -m pytest
tests/test_report_context.py`` and read their diff.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest
from markupsafe import Markup

from companion.io import write_json
from companion.report.context import build_context

import report_helpers as helpers

FIXTURES = Path(__file__).parent / "fixtures" / "report_context"
ENGINE = {"device": "cpu", "device_name": "x86_64", "threads": 2,
          "workload": {"models": 64, "d": 16, "width": 256, "n": 128, "steps": 50},
          "loop_s": 3.5, "batched_s": 0.25, "ratio": 14.0,
          "targets": {"ratio": 10.0, "peak_fraction": 0.5},
          "largest_kernel_gflops": 20.0, "peak_gflops": 50.0,
          "largest_kernel_peak_fraction": 0.4}


def plain(value: Any, root: Path) -> Any:
    """The context as JSON: markup and paths as text (paths relative to the build folder);
    formulas (math SVG, checked in test_report_math.py) left out."""
    if isinstance(value, dict):
        return {str(k): plain(v, root) for k, v in value.items()
                if k not in ("t", "format_number", "formulas")}
    if isinstance(value, (list, tuple)):
        return [plain(v, root) for v in value]
    if isinstance(value, (Markup, Path)):
        return str(value).replace(str(root), "<root>")
    if isinstance(value, float) and value != value:
        return "nan"
    return value


def context(tmp_path: Path, lang: str) -> Any:
    inputs = helpers.build(tmp_path)
    # The second experiment's run diverged: its claims fail as such, its records are shown.
    gibbs = copy.deepcopy(helpers.METRICS["gld_gibbs"])
    for claim in gibbs["claims"][:1]:
        claim.update(passed=False, reason="diverged", measured=None)
    gibbs["divergence"] = {"reason": "diverged", "runs": ["seed 0: loss at step 40"],
                           "records": [{"seed": 0, "step": 40, "share": 0.25, "what": "loss"}]}
    write_json(inputs.metrics[1], gibbs)
    meta = dict(inputs.meta, engine_benchmark=ENGINE)
    return plain(build_context(lang, inputs.metrics, inputs.figures_root, inputs.benchmarks,
                               meta, tmp_path / "html", **inputs.kwargs()), tmp_path)


@pytest.mark.parametrize("lang", helpers.LANGS)
def test_report_context_is_pinned(tmp_path: Path, lang: str) -> None:
    got = context(tmp_path, lang)
    path = FIXTURES / f"{lang}.json"
    if os.environ.get("COMPANION_UPDATE_FIXTURES"):
        path.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    want = json.loads(path.read_text(encoding="utf-8"))
    assert got == want, "the report context changed: see the module docstring to update it"

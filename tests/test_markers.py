"""The markers that `make test-fast` leaves out are enforced: an unmarked test cannot run
Snakemake or render a PDF (tests/conftest.py stops it and names the marker to add)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from companion.report import pdf
from conftest import _is_snakemake


@pytest.mark.parametrize(("args", "found"), [
    ([sys.executable, "-m", "snakemake", "-n"], True),
    (["snakemake", "--cores", "2"], True),
    (["/opt/venv/bin/snakemake", "-n"], True),
    ("snakemake -n --cores 1", True),
    (["timeout", "-s", "KILL", "420", "python", "-m", "snakemake"], True),
    (["git", "rev-parse", "HEAD"], False),
    (["python", "-m", "companion", "run", "gld_gibbs"], False),
    (["python", "scripts/snakemake_notes.py"], False),
])
def test_snakemake_commands_are_recognised(args: object, found: bool) -> None:
    assert _is_snakemake(args) is found


def test_an_unmarked_test_cannot_run_snakemake() -> None:
    with pytest.raises(pytest.fail.Exception, match="mark it @pytest.mark.workflow"):
        subprocess.run([sys.executable, "-m", "snakemake", "--version"], capture_output=True)
    # Other commands still run.
    assert subprocess.run([sys.executable, "-c", "print(1)"], capture_output=True,
                          text=True).stdout == "1\n"


def test_an_unmarked_test_cannot_render_a_pdf(tmp_path) -> None:
    html = tmp_path / "a.html"
    html.write_text("<p>x</p>", encoding="utf-8")
    with pytest.raises(pytest.fail.Exception, match="mark it @pytest.mark.report"):
        pdf.render_pdf(html)


@pytest.mark.report
def test_a_report_test_may_render_a_pdf(tmp_path) -> None:
    html = tmp_path / "a.html"
    html.write_text("<p>x</p>", encoding="utf-8")
    data, _warnings = pdf.render_pdf(html)
    assert data.startswith(b"%PDF")

"""Settings every test shares."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Before torch or numpy load their thread pools: the tests' kernels are small, one thread is
# fastest for them and stays fast when the machine is busy.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture(autouse=True)
def _one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real Snakemake build of the tiny preset (every experiment, both PDFs) in a temporary
    copy of the workflow, shared by every test that needs a finished build (the workflow's own
    tests and the cluster test's local reference). A test that edits the copy restores it."""
    from workflow_helpers import copy_workflow, snakemake

    workdir = copy_workflow(tmp_path_factory.mktemp("tiny-build"))
    snakemake(workdir, timeout=900)
    return workdir


# What `make test-fast` leaves out, by marker: a test that runs Snakemake must be marked
# `workflow` (or `cluster`), one that lays out or renders a PDF `report` (or `workflow`). An
# unmarked test that tries is stopped here, so the fast suite stays fast by construction.
_RUNS_SNAKEMAKE = {"workflow", "cluster"}
_RENDERS_PDF = {"report", "workflow", "cluster"}


def _is_snakemake(args: object) -> bool:
    argv = [str(a) for a in args] if isinstance(args, (list, tuple)) else str(args).split()
    return any(Path(a).name == "snakemake" for a in argv)


@pytest.fixture(autouse=True)
def _marked_for_what_it_runs(request: pytest.FixtureRequest,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    marks = {m.name for m in request.node.iter_markers()}
    if not marks & _RUNS_SNAKEMAKE:
        import subprocess

        class _Guarded(subprocess.Popen):  # type: ignore[type-arg]
            def __init__(self, args, *rest, **kwargs):
                if _is_snakemake(args):
                    pytest.fail(f"{request.node.nodeid} runs Snakemake: mark it "
                                "@pytest.mark.workflow", pytrace=False)
                super().__init__(args, *rest, **kwargs)

        monkeypatch.setattr(subprocess, "Popen", _Guarded)
    if not marks & _RENDERS_PDF:
        from companion.report import pdf

        def _refuse(*_args, **_kwargs):
            pytest.fail(f"{request.node.nodeid} renders a PDF: mark it @pytest.mark.report",
                        pytrace=False)

        monkeypatch.setattr(pdf, "_render", _refuse)

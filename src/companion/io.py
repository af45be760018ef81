"""Atomic file output and the run metadata every experiment records.

Every file the workflow writes appears atomically: it is written to a temporary file in the
same directory and renamed into place, so an interrupted job never leaves a half-written output
that a later run would mistake for a finished one.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import platform
import signal
import tempfile
import threading
from collections.abc import Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

_UMASK = os.umask(0)
os.umask(_UMASK)

_VERSIONED = ("numpy", "scipy", "torch", "matplotlib", "snakemake", "jinja2", "weasyprint")


# Temporary files being written by this process, removed if it is terminated (SIGTERM is what a
# scheduler sends at a time limit; SIGKILL cannot be caught, so the next writer of the same
# target removes what it left, see remove_stale_temporaries).
_LIVE_TEMPORARIES: set[Path] = set()
_HANDLER_INSTALLED = False


def _on_sigterm(signum: int, frame: Any) -> None:
    for tmp in list(_LIVE_TEMPORARIES):
        with contextlib.suppress(OSError):
            tmp.unlink()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_sigterm_cleanup() -> None:
    global _HANDLER_INSTALLED
    if _HANDLER_INSTALLED or threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _on_sigterm)
    _HANDLER_INSTALLED = True


def _temporary_prefix(target: Path) -> str:
    return f".{target.name}."


def remove_stale_temporaries(target: str | os.PathLike[str]) -> list[Path]:
    """Remove temporary siblings ``.<name>.*`` of ``target`` left by a killed writer."""
    target = Path(target)
    removed = []
    if target.parent.is_dir():
        for stale in target.parent.glob(f"{glob.escape(_temporary_prefix(target))}*"):
            if stale not in _LIVE_TEMPORARIES and stale.is_file():
                with contextlib.suppress(OSError):
                    stale.unlink()
                    removed.append(stale)
    return removed


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds.

    Stale temporaries of ``path`` are removed first, and this one is removed on SIGTERM.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _install_sigterm_cleanup()
    remove_stale_temporaries(target)
    fd, tmp = tempfile.mkstemp(prefix=_temporary_prefix(target), suffix=suffix or target.suffix,
                               dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    _LIVE_TEMPORARIES.add(tmp_path)
    try:
        yield tmp_path
        # mkstemp makes the file private (0600); results are ordinary files, readable by others.
        os.chmod(tmp_path, 0o666 & ~_UMASK)
        os.replace(tmp_path, target)
    finally:
        _LIVE_TEMPORARIES.discard(tmp_path)
        if tmp_path.exists():
            tmp_path.unlink()


class DirectoryLocked(RuntimeError):
    """Another live process holds the output directory."""


@contextlib.contextmanager
def directory_lock(directory: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold ``directory/.lock`` (an exclusive ``flock``) for the block; a second holder fails at
    once with :class:`DirectoryLocked` naming the directory and the other process."""
    import fcntl

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    lock = directory / ".lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666 & ~_UMASK)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            raise DirectoryLocked(f"--out {directory}: another run (pid {holder}) is writing "
                                  "there; wait for it or choose another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield lock
    finally:
        os.close(fd)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if np.isfinite(f) else None
    return value


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: NumPy values become plain numbers, NaN and inf ``None``
    (what :func:`write_json` stores; summaries return it so they are plain JSON in memory too)."""
    return _jsonable(value)


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as pretty JSON, atomically. NumPy values become plain numbers, NaN/inf null."""
    text = json.dumps(_jsonable(obj), indent=2, ensure_ascii=False, sort_keys=False)
    write_text(path, text + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_text(path: str | os.PathLike[str], text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_npz(path: str | os.PathLike[str], arrays: Mapping[str, Any]) -> None:
    """Save arrays to ``.npz`` atomically (compressed)."""
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **{k: np.asarray(v) for k, v in arrays.items()})


def read_npz(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries whose behaviour the numbers depend on."""
    versions = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions

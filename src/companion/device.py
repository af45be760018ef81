"""Resolve the compute device once per process and pin the thread count.

Small kernels on two cores were seen running erratically slowly when torch and the BLAS library
picked their own thread counts, so every entry point sets them explicitly from the job's
``threads``.
"""

from __future__ import annotations

import os

ALLOWED_DEVICES = ("auto", "cpu", "cuda")


def set_threads(threads: int) -> None:
    """Pin torch's and the BLAS libraries' thread pools to ``threads``."""
    threads = max(1, int(threads))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set once in this process
        pass


def check_device(name: str) -> None:
    """Raise :class:`companion.config.ConfigError` when ``name`` cannot be used on this machine:
    unknown, or ``cuda`` where torch sees no CUDA device (saying what it found)."""
    from companion.config import ConfigError

    if name not in ALLOWED_DEVICES:
        raise ConfigError(f"device: {name!r} is not one of {', '.join(ALLOWED_DEVICES)}")
    if name != "cuda":
        return
    import torch

    if not torch.cuda.is_available():
        build = (f"a CUDA {torch.version.cuda} build" if torch.version.cuda
                 else "a CPU-only build")
        raise ConfigError(f"device: 'cuda' was asked for, but torch {torch.__version__} "
                          f"({build}) sees no CUDA device; use device: auto or cpu")


def resolve_device(name: str) -> torch.device:  # noqa: F821 - torch imported lazily
    """Map a configured device name to a ``torch.device``: ``auto`` is CUDA when present, else CPU.

    ``cuda`` on a machine without CUDA is an error rather than a silent fallback.
    """
    import torch

    if name not in ALLOWED_DEVICES:
        raise ValueError(f"device: {name!r} is not one of {', '.join(ALLOWED_DEVICES)}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device: 'cuda' was asked for but torch sees no CUDA device")
    return torch.device(name)

import os
import sys


def _early_thread_settings(argv: list[str]) -> None:
    """Pin OpenMP/BLAS threads from ``--threads`` before numpy or torch is imported: the BLAS
    libraries read these variables once, when they load."""
    threads = None
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            threads = argv[i + 1]
        elif arg.startswith("--threads="):
            threads = arg.split("=", 1)[1]
    if threads and threads.isdigit():
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, threads)
    # Spinning OpenMP threads collapse when cores are shared (seen: a batched Cholesky 5x slower
    # at 2 threads).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


_early_thread_settings(sys.argv[1:])

from companion.cli import main  # noqa: E402

raise SystemExit(main())

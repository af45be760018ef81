import os

# OpenMP threads that spin while waiting collapse when cores are shared (seen: a batched Cholesky
# 5x slower at 2 threads); it must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from companion.cli import main  # noqa: E402

raise SystemExit(main())

#!/usr/bin/env bash
# Set up everything the workflow and the tests need, idempotently:
#   - the Debian packages the report needs (when running as root; otherwise name them),
#   - a virtual environment .venv with the pinned Python packages and this project installed.
# Re-running it is cheap: it does nothing when the requirements did not change.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
DEBIAN_PACKAGES=(poppler-utils libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
fi
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: please install these Debian packages (as root): apt-get install ${missing[*]}" >&2
    echo "setup: pdftotext (poppler-utils) is needed by the tests; the others by WeasyPrint." >&2
  fi
fi

"$PYTHON" - <<'PY'
import sys
if sys.version_info < (3, 11):
    raise SystemExit(f"setup: Python >= 3.11 is needed, this is {sys.version.split()[0]}")
PY

stamp=.venv/.requirements.sha256
want=$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# torch first and pinned, so that nothing resolves an open range to a multi-GB CUDA build: a
# wheel already on this machine (pip's find-links) if there is one, else PyTorch's CPU index.
.venv/bin/python -m pip install -q --upgrade pip
torch_pin=$(grep -E '^torch==' requirements.txt)
wheel_dir=$(mktemp -d)
if .venv/bin/python -m pip download -q --no-deps --no-index -d "$wheel_dir" "$torch_pin" \
    >/dev/null 2>&1; then
  # A local wheel (pip's find-links): its "+cpu" label sorts above PyPI's CUDA build.
  .venv/bin/python -m pip install -q "$torch_pin"
else
  .venv/bin/python -m pip install -q "$torch_pin" \
    --index-url https://download.pytorch.org/whl/cpu --extra-index-url https://pypi.org/simple
fi
rm -rf "$wheel_dir"
.venv/bin/python -m pip install -q -r requirements.txt
.venv/bin/python -m pip install -q --no-deps -e .
echo "$want" > "$stamp"
echo "setup: .venv is ready"

# Sourced by the scripts: run everything inside the project's virtual environment (.venv),
# which scripts/setup creates. The machine's own Python is never installed into.
# shellcheck shell=bash
SPIN_HARNESS_VENV="${SPIN_HARNESS_VENV:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.venv}"
export VIRTUAL_ENV="$SPIN_HARNESS_VENV"
export PATH="$VIRTUAL_ENV/bin:$PATH"
unset PYTHONHOME

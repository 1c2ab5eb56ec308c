#!/usr/bin/env bash
# Creates (or updates) the project-local Python venv with the pinned tools:
# moto's server (local DynamoDB, SQS and Secrets Manager), the SAM CLI and cargo-lambda (with zig).
# Idempotent: does nothing when the venv already matches scripts/requirements.txt.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv"
req="$root/scripts/requirements.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
python="${PYTHON:-python3}"
command -v "$python" >/dev/null || { echo "venv.sh: $python not found; install Python 3.9+" >&2; exit 1; }
echo "venv.sh: installing $(grep -cv '^#' "$req") pinned tools into .venv (first run only)" >&2
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
echo "$want" > "$stamp"

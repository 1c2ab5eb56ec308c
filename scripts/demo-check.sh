#!/usr/bin/env bash
# Runs the local demo (scripts/demo.sh) non-interactively and asserts its outcome; exits
# non-zero, naming every mismatch, when anything differs:
#   - every sample request answered 200 processed, the repeated one 200 duplicate, the badly
#     signed one 401 invalid_signature, the one from a disallowed address 403
#     source_ip_not_allowed; every event type sent, at least one encrypted per family
#   - the loyalty and promotion queues hold exactly one message per request of their family
#   - the contact mirror holds, per contact, the preference and consent values of the samples
#     sent for it, or only a tombstone where contact.deleted came last
#   - the report shows no personal data of the samples (emails, names, phone numbers, ...)
# scripts/test.sh runs it when it is executable.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out="$root/.local/demo"
mkdir -p "$out"
rm -f "$out/result.json"

status=0
scripts/demo.sh </dev/null 2>&1 | tee "$out/report.txt" || status=$?
[ -f "$out/result.json" ] || {
  echo "demo-check: FAILED: the demo ended (exit $status) without a report" >&2
  exit 1
}

# The assertions (scripts/demo.py check); a mismatch ends this script here (set -e).
"$root/.venv/bin/python" "$root/scripts/demo.py" check "$root" "$out/result.json" "$out/report.txt"
if [ "$status" -ne 0 ]; then
  echo "demo-check: FAILED: scripts/demo.sh exited $status" >&2
  exit 1
fi

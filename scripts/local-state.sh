#!/usr/bin/env bash
# Shows what the local AWS of this checkout holds, readable: every message on the loyalty and
# promotion queues and their dead-letter queues (attributes and body, pretty JSON), and every
# item of the contact mirror and the dedup table. No AWS CLI needed (.venv's boto3).
#
#   scripts/demo.sh --keep     # a run that leaves the local AWS running
#   scripts/local-state.sh     # look at what it produced
#   scripts/local-state.sh --json   # the same as one JSON document, for scripts
#   scripts/local-aws.sh stop  # stop the local AWS when done
#
# Messages are looked at, not consumed. Exits 1 when no local AWS is running.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
case "${1:-}" in
  "" | --json) ;;
  -h | --help) sed -n '2,11s/^# \{0,1\}//p' "$0"; exit 0 ;;
  *) echo "usage: $0 [--json]" >&2; exit 2 ;;
esac
if ! "$root/scripts/local-aws.sh" status 2>/dev/null; then
  echo "local-state: no local AWS is running for this checkout; run scripts/demo.sh --keep" \
    "(or scripts/local-aws.sh start) first" >&2
  exit 1
fi
eval "$("$root/scripts/local-aws.sh" env)"
exec "$root/.venv/bin/python" "$root/scripts/local_state.py" "$@"

#!/usr/bin/env bash
# Local AWS on loopback: moto's server speaking the real DynamoDB, SQS and Secrets Manager wire
# protocols. Usage:
#   scripts/local-aws.sh start   # start (or reuse the one this script started), create resources
#   scripts/local-aws.sh env     # print the exports that point the SDK at it
#   scripts/local-aws.sh stop    # stop what `start` started
# State lives in .local/ (port and pid). Resources created by `start`: the tables and queues of
# scripts/resources.py (names in .local/resources.env).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
state="$root/.local"
mkdir -p "$state"
pidfile="$state/moto.pid"
portfile="$state/moto.port"
log="$state/moto.log"

running() {
  [ -f "$pidfile" ] && [ -f "$portfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null &&
    "$root/.venv/bin/python" - "$(cat "$portfile")" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/moto-api/", timeout=2)
PY
}

free_port() { "$root/.venv/bin/python" "$root/scripts/free_port.py"; }

print_env() {
  local port
  port="$(cat "$portfile")"
  echo "export AWS_ENDPOINT_URL=http://127.0.0.1:$port"
  echo "export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=eu-north-1 AWS_DEFAULT_REGION=eu-north-1"
  echo "export AWS_EC2_METADATA_DISABLED=true"
  cat "$state/resources.env" 2>/dev/null || true
}

case "${1:-}" in
  start)
    "$root/scripts/venv.sh"
    if running; then
      echo "local-aws: reusing moto on 127.0.0.1:$(cat "$portfile")" >&2
    else
      port="$(free_port)"
      nohup "$root/.venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
      echo $! >"$pidfile"
      echo "$port" >"$portfile"
      for _ in $(seq 1 100); do
        running && break
        sleep 0.1
      done
      running || { echo "local-aws: moto did not start; see $log" >&2; tail -20 "$log" >&2; exit 1; }
      echo "local-aws: moto started on 127.0.0.1:$port (pid $(cat "$pidfile"))" >&2
    fi
    AWS_ENDPOINT_URL="http://127.0.0.1:$(cat "$portfile")" AWS_ACCESS_KEY_ID=test \
      AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=eu-north-1 \
      "$root/.venv/bin/python" "$root/scripts/resources.py" >"$state/resources.env"
    ;;
  status)
    running
    ;;
  env)
    running || { echo "local-aws: not running; run scripts/local-aws.sh start" >&2; exit 1; }
    print_env
    ;;
  stop)
    if [ -f "$pidfile" ]; then
      kill "$(cat "$pidfile")" 2>/dev/null || true
      rm -f "$pidfile" "$portfile"
      echo "local-aws: stopped" >&2
    fi
    ;;
  *)
    echo "usage: $0 start|status|env|stop" >&2
    exit 2
    ;;
esac

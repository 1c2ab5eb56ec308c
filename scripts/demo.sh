#!/usr/bin/env bash
# The one-command local run: all four functions under `cargo lambda watch`, local DynamoDB and
# SQS (moto), every sample event signed and posted to its function's Function URL, then a
# report of the answers, the queues and the contact mirror.
#
#   scripts/demo.sh          # run, report, stop everything it started
#   scripts/demo.sh --keep   # the same, but leave the local AWS running to look at what the run
#                            # produced: scripts/local-state.sh; stop it: scripts/local-aws.sh stop
#
# Needs Rust (cargo) and Python 3.9+; installs the rest into .venv on first use (scripts/venv.sh).
# The first run compiles the functions (debug build, a few minutes); later runs take seconds.
# Stops everything it started when it ends (but the local AWS with --keep), also on Ctrl-C.
# Exits non-zero when a request was not answered as expected. Settings (environment):
#   DEMO_START_TIMEOUT  seconds to wait for each function to answer (default 300)
# Files: .local/demo/ (watch.log = the functions' logs, result.json = the report as data).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

keep=0
case "${1:-}" in
  "") ;;
  --keep) keep=1 ;;
  -h | --help) sed -n '2,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
  *) echo "usage: $0 [--keep]" >&2; exit 2 ;;
esac

out="$root/.local/demo"
mkdir -p "$out"
python="$root/.venv/bin/python"
start_timeout="${DEMO_START_TIMEOUT:-300}"
t_start=$SECONDS

say() { printf '%s\n' "$*" >&2; }
die() {
  printf '\ndemo: FAILED: %s\n' "$*" >&2
  exit 1
}

# --- Cleanup: only what this run started --------------------------------------------------
watch_pid=""
started_moto=0

descendants() { # every process below $1, deepest last
  local pid=$1 child
  for child in $(ps -e -o pid= -o ppid= | awk -v p="$pid" '$2 == p { print $1 }'); do
    echo "$child"
    descendants "$child"
  done
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$watch_pid" ] && kill -0 "$watch_pid" 2>/dev/null; then
    local procs own_pgid pgid p
    procs="$watch_pid $(descendants "$watch_pid" | tr '\n' ' ')"
    own_pgid="$(ps -o pgid= -p $$ | tr -d ' ')"
    # cargo lambda watch runs each function in a process group of its own; end every group
    # below the watch (never this script's own), then whatever is left.
    for p in $procs; do
      pgid="$(ps -o pgid= -p "$p" 2>/dev/null | tr -d ' ' || true)"
      if [ -n "$pgid" ] && [ "$pgid" != "$own_pgid" ]; then
        kill -TERM -- "-$pgid" 2>/dev/null || true
      fi
      kill -TERM "$p" 2>/dev/null || true
    done
    for _ in $(seq 1 50); do
      alive=0
      for p in $procs; do kill -0 "$p" 2>/dev/null && alive=1; done
      [ "$alive" = 0 ] && break
      sleep 0.1
    done
    for p in $procs; do kill -KILL "$p" 2>/dev/null || true; done
    wait "$watch_pid" 2>/dev/null || true
    say "demo: stopped cargo lambda watch and the functions"
  fi
  if [ "$keep" = 1 ] && scripts/local-aws.sh status 2>/dev/null; then
    say ""
    say "demo: --keep: the local AWS keeps running ($(scripts/local-aws.sh env | sed -n 's/^export AWS_ENDPOINT_URL=//p'))"
    say "  look at the queue messages and table items:  scripts/local-state.sh"
    say "  stop it:                                     scripts/local-aws.sh stop"
  elif [ "$started_moto" = 1 ]; then
    scripts/local-aws.sh stop || true
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- Tools ----------------------------------------------------------------------------------
command -v cargo >/dev/null 2>&1 || {
  [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$PATH:$HOME/.cargo/bin"
}
command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust (https://rustup.rs)"
say "==> tools (.venv: moto, cargo-lambda)"
scripts/venv.sh
export PATH="$root/.venv/bin:$PATH"

# One demo at a time per checkout: they share the local resources. The lock is fd 9, closed
# for the long-lived processes started below so that it ends with this script.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$out/lock"
  flock -n 9 || {
    say "demo: another demo is running in this checkout; waiting for it"
    flock 9
  }
fi

# --- Local AWS -----------------------------------------------------------------------------
say "==> local AWS (moto)"
if scripts/local-aws.sh status 2>/dev/null; then
  scripts/local-aws.sh start 9>&-
else
  started_moto=1
  scripts/local-aws.sh start 9>&-
fi
# Only local settings reach the functions: no profile, no deployed secret.
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_SQS ENGAGE_SECRETS_ARN
eval "$(scripts/local-aws.sh env)"
set -a
# shellcheck source=/dev/null
. "$root/events/local.env"
set +a
for v in AWS_ENDPOINT_URL DEDUP_TABLE CONTACTS_TABLE LOYALTY_QUEUE_URL PROMOTION_QUEUE_URL \
  ENGAGE_SIGNING_SECRETS ENGAGE_PAYLOAD_KEYS ENGAGE_PAYLOAD_CIPHER; do
  [ -n "${!v:-}" ] || die "$v is not set (scripts/local-aws.sh env / events/local.env)"
done

# The Python helpers (boto3 comes with moto): probes, reset, report.
helper() { "$python" "$root/scripts/demo.py" "$@"; }

# --- Build -----------------------------------------------------------------------------------
say "==> build: the four functions and engage-sign (debug; the first build takes minutes)"
t_build=$SECONDS
cargo build --locked --bin contact --bin consent --bin loyalty --bin promotion --bin engage-sign
target_dir="$(cargo metadata --no-deps --format-version 1 --locked |
  "$python" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
sign="$target_dir/debug/engage-sign"
[ -x "$sign" ] || die "$sign was not built"
build_seconds=$((SECONDS - t_build))

# --- Functions -------------------------------------------------------------------------------
say "==> functions: cargo lambda watch"
helper reset
port="$("$python" "$root/scripts/free_port.py")"
base="http://127.0.0.1:$port/lambda-url"
watch_args=(--ignore-changes --invoke-address 127.0.0.1 --invoke-port "$port"
  --env-file "$root/events/local.env")
for v in AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION AWS_DEFAULT_REGION \
  AWS_EC2_METADATA_DISABLED DEDUP_TABLE CONTACTS_TABLE LOYALTY_QUEUE_URL PROMOTION_QUEUE_URL; do
  watch_args+=(--env-var "$v=${!v}")
done
# The IP lock on (ENGAGE_ALLOWED_SOURCE_IPS): cargo lambda watch gives every Function URL request
# the source address 127.0.0.1, so the loopback is the demo's "Svix". One request below comes
# from elsewhere and must be refused (403 source_ip_not_allowed). Space-separated: cargo lambda
# splits --env-var values at commas.
watch_args+=(--env-var "ENGAGE_ALLOWED_SOURCE_IPS=127.0.0.1 ::1")
# RUST_LOG goes to the functions only (cargo lambda watch reads it too, and is chatty at info).
watch_args+=(--env-var "RUST_LOG=${RUST_LOG:-info}")
unset RUST_LOG
# A session (process group) of its own, so that it and its children can be ended together.
if command -v setsid >/dev/null 2>&1; then
  setsid cargo lambda watch "${watch_args[@]}" </dev/null >"$out/watch.log" 2>&1 9>&- &
else
  cargo lambda watch "${watch_args[@]}" </dev/null >"$out/watch.log" 2>&1 9>&- &
fi
watch_pid=$!
t_ready=$SECONDS
for fn in contact consent loyalty promotion; do
  kill -0 "$watch_pid" 2>/dev/null || { tail -30 "$out/watch.log" >&2; die "cargo lambda watch exited"; }
  if ! helper probe "$base/$fn/" "$start_timeout"; then
    tail -30 "$out/watch.log" >&2
    die "the $fn function did not answer within ${start_timeout}s (log: $out/watch.log)"
  fi
  say "    $fn answers at $base/$fn/"
done
ready_seconds=$((SECONDS - t_ready))

# --- Requests --------------------------------------------------------------------------------
contact_a="515c1b2a-7124-4bb9-826b-aedbbe5da8c4" # the samples' contact
contact_b="0b5e2c1d-8a7f-4e3b-9c6d-2f1a0e9d8c7b" # a second contact: created, then deleted
requests="$out/requests.jsonl"
: >"$requests"

# send KIND EXPECT_STATUS EXPECT_REASON EVENT_TYPE CONTACT [engage-sign send options...]
send() {
  local kind=$1 status=$2 reason=$3 type=$4 contact=$5 envelope answer cipher=""
  shift 5
  envelope="$root/events/envelopes/$type.json"
  [ -f "$envelope" ] || die "no sample envelope $envelope"
  grep -q "$contact_a" "$envelope" || die "$envelope does not hold contact $contact_a"
  if [ "$contact" != "$contact_a" ]; then
    # Same bytes, another contact: a plain text substitution, so numbers stay as they are.
    sed "s/$contact_a/$contact/g" "$envelope" >"$out/$type.$contact.json"
    envelope="$out/$type.$contact.json"
  fi
  case " $* " in *" --encrypt "*) cipher="\"$ENGAGE_PAYLOAD_CIPHER\"" ;; *) cipher=null ;; esac
  # engage-sign picks the function from the event type: <base>/<family>.
  answer="$("$sign" send "$envelope" --base-url "$base" --json --timeout 30 "$@")" || true
  [ -n "$answer" ] || answer=null
  printf '{"kind":"%s","expectStatus":%s,"expectReason":"%s","eventType":"%s","contact":"%s","cipher":%s,"answer":%s}\n' \
    "$kind" "$status" "$reason" "$type" "$contact" "$cipher" "$answer" >>"$requests"
}

event_id() { # the sample's event id (eventId, else id)
  "$python" -c 'import json,sys; e=json.load(open(sys.argv[1])); print(e.get("eventId") or e["id"])' \
    "$root/events/envelopes/$1.json"
}
encrypted() { # an encrypted copy of a sample: its own event id, so it is an event of its own
  local type=$1 contact=$2
  send sample 200 processed "$type" "$contact" --encrypt "$ENGAGE_PAYLOAD_CIPHER" \
    --event-id "$(event_id "$type")-encrypted"
}

say "==> requests"
t_send=$SECONDS
# Contact A: profile, then its preferences and consent (each newer than nothing stored).
for type in contact.created contact.updated contact.acceptsEmail.changed \
  contact.acceptsSms.changed contact.acceptsPostal.changed contact.consent.changed; do
  send sample 200 processed "$type" "$contact_a"
done
# Loyalty and promotion: each goes to its queue exactly once.
for type in loyalty.addPoints point.balance.updated reward.voucher.created \
  promotion.multichannel.assigned; do
  send sample 200 processed "$type" "$contact_a"
done
# Encrypted payloads, one family after another. Contact B is created and given a preference
# (encrypted), then deleted: the mirror keeps only its tombstone.
encrypted contact.created "$contact_b"
encrypted contact.acceptsEmail.changed "$contact_b"
encrypted loyalty.addPoints "$contact_a"
encrypted promotion.multichannel.assigned "$contact_a"
send sample 200 processed contact.deleted "$contact_b"
# The same envelope again (a Svix retry of an event already processed): nothing is sent again.
send duplicate 200 duplicate loyalty.addPoints "$contact_a"
# A delivery not signed with our secret.
send bad-signature 401 invalid_signature contact.created "$contact_a" --bad-signature
# A correctly signed delivery from an address outside ENGAGE_ALLOWED_SOURCE_IPS (203.0.113.7,
# with an X-Forwarded-For naming 127.0.0.1): refused before its signature is even checked, and
# nothing is sent (the queue check counts only the samples).
from_elsewhere() {
  local type=$1 answer
  answer="$("$sign" send "$root/events/envelopes/$type.json" --json \
    --event-id "$(event_id "$type")-elsewhere" | helper invoke-from "$port" "$root" 203.0.113.7)" || true
  [ -n "$answer" ] || answer=null
  printf '{"kind":"disallowed-address","expectStatus":403,"expectReason":"source_ip_not_allowed","eventType":"%s","contact":"%s","cipher":null,"answer":%s}\n' \
    "$type" "$contact_a" "$answer" >>"$requests"
}
from_elsewhere promotion.multichannel.assigned
send_seconds=$((SECONDS - t_send))

# --- Report ----------------------------------------------------------------------------------
report_status=0
helper report "$requests" "$out/result.json" || report_status=$?
echo
echo "timings: build ${build_seconds}s, functions up ${ready_seconds}s, requests ${send_seconds}s, total $((SECONDS - t_start))s"
echo "function logs: $out/watch.log; report data: $out/result.json"
# The voucher relay (docs/relay.md): the queued events, relayed to a stand-in voucher service.
"$python" "$root/scripts/relay_demo.py" "$root" || report_status=1
exit "$report_status"

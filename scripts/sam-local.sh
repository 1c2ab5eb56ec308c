#!/usr/bin/env bash
# `sam local invoke` for real: every sample event through the SAM CLI and the built arm64
# binaries, against a local AWS (moto) on loopback, with each answer and effect checked.
# Run as root from anywhere in the repository (it installs/starts Docker pieces when missing).
#
#   scripts/sam-local.sh             # sam build, then invoke and check every events/sam event
#   scripts/sam-local.sh --no-build  # reuse .aws-sam/build
#   scripts/sam-local.sh --image     # only make sure Docker, arm64 emulation and the image exist
#
# No image registry is contacted: the Lambda base image is built here (Debian arm64 root
# filesystem + the SAM CLI's runtime interface emulator) and used with --skip-pull-image.
# Containers use the host network (scripts/sam_local_launcher.py); the local AWS is the
# loopback endpoint of events/env.json, and the run refuses any other endpoint.
# Details, times and troubleshooting: docs/sam-local.md.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
IMAGE=public.ecr.aws/lambda/provided:al2023-rapid-arm64
work="$root/.local/sam-local"
build=1 image_only=0
for arg in "$@"; do
  case $arg in
    --no-build) build=0 ;;
    --image) image_only=1 ;;
    *) echo "usage: scripts/sam-local.sh [--no-build|--image]" >&2; exit 2 ;;
  esac
done
t0=$SECONDS
step() { printf '[sam-local %3ss] %s\n' "$((SECONDS - t0))" "$*"; }
die() { printf 'sam-local: FAILED: %s\n' "$*" >&2; exit 1; }
mkdir -p "$work"

# The endpoint every function gets (events/env.json). Loopback only: a local invoke must never
# reach real AWS, whatever credentials the machine has.
endpoint="$(python3 - <<'PY'
import json, sys
env = json.load(open("events/env.json"))
urls = {fn: v.get("AWS_ENDPOINT_URL", "") for fn, v in env.items()}
if len(set(urls.values())) != 1:
    sys.exit(f"events/env.json: the functions disagree on AWS_ENDPOINT_URL: {urls}")
print(next(iter(urls.values())))
PY
)" || die "cannot read AWS_ENDPOINT_URL from events/env.json"
[[ $endpoint =~ ^http://127\.0\.0\.1:([0-9]+)$ ]] \
  || die "events/env.json's AWS_ENDPOINT_URL '$endpoint' is not http://127.0.0.1:<port>; refusing to invoke"
port=${BASH_REMATCH[1]}

# --- Docker, arm64 emulation, base image -------------------------------------------------
need_apt=()
command -v dockerd >/dev/null || need_apt+=(docker.io)
command -v debootstrap >/dev/null || need_apt+=(debootstrap)
[ -e /usr/bin/qemu-aarch64-static ] || need_apt+=(qemu-user-static)
command -v update-binfmts >/dev/null || need_apt+=(binfmt-support)
if [ ${#need_apt[@]} -gt 0 ]; then
  step "apt-get install ${need_apt[*]}"
  apt-get install -y -q "${need_apt[@]}" >"$work/apt.log" 2>&1 || die "apt-get install failed (see $work/apt.log)"
fi
if ! docker info >/dev/null 2>&1; then
  step "starting dockerd (log: $work/dockerd.log; it keeps running for the next run)"
  nohup dockerd >"$work/dockerd.log" 2>&1 &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || die "dockerd did not start (see $work/dockerd.log)"
fi
# arm64 binaries (the image's and the functions') run under qemu through binfmt_misc.
mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64 \
  || die "cannot register qemu-aarch64 with binfmt_misc"

scripts/venv.sh
export PATH="$root/.venv/bin:$PATH" SAM_CLI_TELEMETRY=0
if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  step "building $IMAGE (debootstrap arm64 + runtime interface emulator; first run only)"
  rie="$(echo "$root"/.venv/lib/python3*/site-packages/samcli/local/rapid/aws-lambda-rie-arm64)"
  [ -f "$rie" ] || die "the SAM CLI package ships no aws-lambda-rie-arm64 at $rie"
  rootfs="$(mktemp -d)"
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap --foreign --arch=arm64 --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian \
    >"$work/debootstrap.log" 2>&1 || die "debootstrap failed (see $work/debootstrap.log)"
  rm -rf "$rootfs/debootstrap" "$rootfs"/var/cache/apt/archives/*.deb
  mkdir -p "$rootfs/var/rapid" "$rootfs/var/task" "$rootfs/var/runtime" "$rootfs/opt"
  install -m 0755 "$rie" "$rootfs/var/rapid/aws-lambda-rie"
  tar -C "$rootfs" --numeric-owner -c . | docker import \
    -c 'ENTRYPOINT ["/var/rapid/aws-lambda-rie"]' -c 'WORKDIR /var/task' \
    -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin LD_LIBRARY_PATH=/var/task:/var/task/lib:/opt/lib LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime' \
    - "$IMAGE" >/dev/null || die "docker import failed"
  rm -rf "$rootfs"; trap - EXIT
fi
step "image $IMAGE ready"
[ "$image_only" = 1 ] && exit 0

# --- build ---------------------------------------------------------------------------------
if [ "$build" = 1 ]; then
  step "sam build"
  sam build >"$work/build.log" 2>&1 || die "sam build failed (see $work/build.log)"
fi
for fn in ContactFunction ConsentFunction LoyaltyFunction PromotionFunction; do
  [ -f ".aws-sam/build/$fn/bootstrap" ] || die ".aws-sam/build/$fn/bootstrap is missing: run without --no-build"
done
# SAM forwards only declared variables: a build from before the template declared
# AWS_ENDPOINT_URL would send every call to real AWS.
grep -q 'AWS_ENDPOINT_URL' .aws-sam/build/template.yaml   || die ".aws-sam/build/template.yaml does not declare AWS_ENDPOINT_URL (stale build): run without --no-build"

# --- local AWS on the loopback port of env.json -------------------------------------------
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=eu-north-1 AWS_DEFAULT_REGION=eu-north-1
export AWS_EC2_METADATA_DISABLED=true AWS_ENDPOINT_URL="$endpoint"
if python3 -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1', $port)) != 0)"; then
  die "127.0.0.1:$port is already in use; the local AWS of events/env.json must be this run's own"
fi
step "moto on 127.0.0.1:$port"
moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "$endpoint/moto-api/" && break; sleep 0.2; done
curl -s -o /dev/null "$endpoint/moto-api/" || die "moto did not start (see $work/moto.log)"
python scripts/resources.py >/dev/null

# --- fresh signatures (Svix accepts 5 minutes), then invoke and check ----------------------
step "engage-sign resign -> .local/events"
if [ -n "${ENGAGE_SIGN:-}" ]; then "$ENGAGE_SIGN" resign >/dev/null; else cargo run -q -p engage-sign -- resign >/dev/null; fi

step "sam local invoke of every .local/events/sam event (container log: $work/invoke.log)"
python scripts/sam_local_check.py --events .local/events/sam --env-vars events/env.json \
  --log "$work/invoke.log" || die "answers or effects differ from the expected (above)"
step "OK"

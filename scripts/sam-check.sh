#!/usr/bin/env bash
# Lint the SAM template, check its contracts and build the four Lambda binaries, from the repository root.
#
#   scripts/sam-check.sh            # sam validate --lint, the template tests, then sam build
#   nice -n 19 scripts/sam-check.sh # the same, without starving other work on the machine
#
# Assumes the project venv at .venv already has aws-sam-cli and cargo-lambda installed
# (cargo-lambda's PyPI package pulls in the ziglang package, which is the zig it links with).
# Needs rustup/cargo; adds the aarch64-unknown-linux-gnu target when it is missing.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv_bin="$repo_root/.venv/bin"
target_triple="aarch64-unknown-linux-gnu"
functions=(ContactFunction ConsentFunction LoyaltyFunction PromotionFunction)

step() { printf '\n==> %s\n' "$*"; }
die() { trap - EXIT; printf '\nsam-check: FAILED: %s\n' "$*" >&2; exit 1; }
trap 'status=$?; [ "$status" -eq 0 ] || printf "\nsam-check: FAILED (exit %s): %s\n" "$status" "$BASH_COMMAND" >&2' EXIT

cd "$repo_root"

step "Tool chain"
[ -x "$venv_bin/sam" ] || die "$venv_bin/sam not found; install aws-sam-cli into .venv"
[ -x "$venv_bin/cargo-lambda" ] || die "$venv_bin/cargo-lambda not found; install cargo-lambda into .venv"
# The venv's bin dir goes first: sam, cargo-lambda (found by the SAM builder via PATH) and the
# venv's python3, through which cargo-lambda finds zig (`python3 -m ziglang`) when no `zig`
# binary is on PATH.
export PATH="$venv_bin:$PATH"
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$PATH:$HOME/.cargo/bin"
fi
command -v cargo >/dev/null 2>&1 || die "cargo not found on PATH (install Rust with rustup)"
export SAM_CLI_TELEMETRY=0
echo "sam:          $(sam --version)"
echo "cargo:        $(cargo --version)"
echo "cargo-lambda: $(cargo lambda --version)"

if command -v rustup >/dev/null 2>&1; then
  installed_targets="$(rustup target list --installed)"
  if grep -qx "$target_triple" <<<"$installed_targets"; then
    echo "rust target:  $target_triple (installed)"
  else
    step "rustup target add $target_triple"
    rustup target add "$target_triple"
  fi
else
  echo "rustup not found; assuming the $target_triple standard library is installed"
fi

# cargo-lambda cross-compiles with zig; make sure it can find one before SAM hides the error.
# `cargo lambda system` lists the zig it would use under `zig:` (`command:` and `version:`), or
# only install hints when it finds none.
system_info="$(cargo lambda system 2>/dev/null || true)"
zig_cmd="$(printf '%s\n' "$system_info" | sed -n '/^zig:/,/^[^ ]/ s/^ *command: *//p' | head -n1)"
zig_version="$(printf '%s\n' "$system_info" | sed -n '/^zig:/,/^[^ ]/ s/^ *version: *//p' | head -n1 | tr -d "'\"")"
[ -n "$zig_cmd" ] || die "cargo-lambda cannot find zig (pip install ziglang into .venv, or put zig on PATH)"
echo "zig:          $zig_cmd ($zig_version)"

# The SAM builder points every function's build at the workspace target directory (from
# `cargo metadata`, which honours CARGO_TARGET_DIR), so dependencies compile once and are
# reused by the other three functions and by later runs.
target_dir="$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
echo "cargo target: $target_dir (shared by all the functions and across runs)"

step "sam validate --lint"
t0=$SECONDS
sam validate --lint || die "sam validate --lint reported problems"
echo "validate took $((SECONDS - t0)) s"

# Caps, retention, exact IAM against the code, alarms and dashboard (tools/template-check).
step "template contracts (cargo test -p template-check)"
cargo test --quiet --locked -p template-check || die "template.yaml breaks a contract tested in tools/template-check"

step "sam build"
t0=$SECONDS
sam build || die "sam build failed"
echo "sam build took $((SECONDS - t0)) s"

step "Built artifacts"
for fn in "${functions[@]}"; do
  bin=".aws-sam/build/$fn/bootstrap"
  [ -f "$bin" ] || die "$bin is missing"
  # ELF e_machine (bytes 18-19, little endian) must be 183 = AArch64.
  machine="$(python3 -c 'import sys; d=open(sys.argv[1],"rb").read(20); print(int.from_bytes(d[18:20],"little") if d[:4]==b"\x7fELF" else -1)' "$bin")"
  [ "$machine" = "183" ] || die "$bin is not an aarch64 ELF binary (e_machine=$machine)"
  printf '%-20s %10s bytes  %s\n' "$fn" "$(stat -c %s "$bin")" "$bin"
done

step "OK: template lints clean and every function built for arm64"

#!/usr/bin/env bash
# The whole test suite, from a fresh clone: formatting, lints, unit and integration tests
# against the local DynamoDB/SQS wire server, then the SAM template and the local end-to-end run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

step() { printf '\n==> %s\n' "$*"; }

step "tools (project-local venv: moto, SAM CLI, cargo-lambda)"
scripts/venv.sh

step "local AWS (moto on loopback)"
if scripts/local-aws.sh status 2>/dev/null; then
  scripts/local-aws.sh start
else
  scripts/local-aws.sh start
  trap 'scripts/local-aws.sh stop' EXIT
fi
eval "$(scripts/local-aws.sh env)"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
mkdir -p .local
cargo test --workspace --locked 2>&1 | tee .local/cargo-test.log
read -r passed failed < <(awk '/^test result:/ {p += $4; f += $6} END {print p + 0, f + 0}' .local/cargo-test.log)

step "contact mirror migration script against the local AWS (scripts/migrate-mirror-test.py)"
.venv/bin/python scripts/migrate-mirror-test.py

step "bulk load harness, a short run: every event exactly one effect (docs/performance.md)"
cargo run -q --locked -p engage-testkit --example bulk_load -- --family loyalty --events 50 --concurrency 1,8
cargo run -q --locked -p engage-testkit --example bulk_load -- --family contact --events 20 --concurrency 1,4 --serialized

step "documented commands (scripts/doc-commands.py)"
.venv/bin/python scripts/doc-commands.py --self-test
.venv/bin/python scripts/doc-commands.py

step "benchmarks build and run once (docs/performance.md)"
cargo bench --locked -p engage-webhooks --bench receive -- --test
cargo bench --locked -p engage-webhooks --bench memory

step "sam validate --lint && sam build (scripts/sam-check.sh)"
scripts/sam-check.sh

step "sam local invoke of every sample event, answers and effects checked (scripts/sam-local.sh)"
scripts/sam-local.sh --no-build

step "local end-to-end run with assertions (scripts/demo-check.sh)"
scripts/demo-check.sh
echo
echo "all checks passed"
echo "tests: $passed passed, $failed failed"

#!/usr/bin/env bash
# Runs every check and test of the project: formatting, lints, then all tests of the
# workspace (unit, router, contract, black-box server and cargo-lambda tests), a minute
# of API fuzzing, the real deployment build of one function (sam build), and the
# browser tests. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "error: '$1' is required: $2" >&2; exit 1; }
}
need cargo "install Rust with rustup (https://rustup.rs)"
# Each step's heading says when it started, in seconds since this script did.
step() { echo "== $* (at ${SECONDS} s)"; }
# Free disk, said first: a cold run writes ~6 GB (target/ 4.7, the venvs 1.4).
echo "== disk: $(df -Ph . | awk 'NR == 2 { print $4 }') free on $(df -P . | awk 'NR == 2 { print $6 }')"
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt clippy >/dev/null 2>&1 || true

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

# moto (AWS emulator), cfn-lint and checkov, pinned, in the project's ignored .venv.
step "Python test tools (.venv)"
# shellcheck source=scripts/venv.sh
. scripts/venv.sh
ensure_venv .venv scripts/requirements-test.txt

step "template.yaml: cfn-lint and checkov"
bash scripts/lint-template.sh

# aws-sam-cli, cargo-lambda and ziglang, pinned, in the ignored .venv-deploy: the
# cargo-lambda test (infra/testkit/tests/cargo_lambda.rs) and the sam build below use them.
step "deployment tools (.venv-deploy)"
. scripts/deploy-tools.sh
sam --version && cargo lambda --version

step "cargo test"
cargo test --workspace --locked

# schemathesis (pinned, in the ignored .venv-fuzz) against the debug server that
# `cargo test` has just built, for a minute: any failed check, and any warning that
# part of the API went unreached, fails the run. Longer runs, and on moto, by hand.
step "API fuzzing: bash scripts/fuzz.sh 60"
bash scripts/fuzz.sh 60

# The deployment build, as `sam build` runs it: sam validate --lint, then one function
# built with the release profile (arm64 where the aarch64 standard library is installed,
# else x86_64) and checked. Every function goes through the same builder, so one proves
# the toolchain; a second would add minutes of release build to CI's 20
# (scripts/package-functions.sh builds all ten the same way).
step "sam validate --lint; sam build SessionsFunction"
bash scripts/package-functions.sh SessionsFunction

# Browser tests: Debian's Chromium driven by playwright-core, against the debug server
# that `cargo test` has just built. Chromium is installed when missing (as root).
step "browser tests (Chromium + Playwright)"
need node "install Node.js 18+ and npm (Debian: apt-get install nodejs npm)"
need npm "install npm (Debian: apt-get install npm)"
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "error: chromium is required for the browser tests: apt-get install chromium" >&2
    exit 1
  fi
fi
browser_tests=infra/server/tests/browser
(cd "$browser_tests" && npm ci --no-audit --no-fund --loglevel=error)
cargo build --locked -p reel-server
(cd "$browser_tests" && REEL_BIN="$PWD/../../../../target/debug/reel" node --test --test-concurrency=1)
step "all passed"

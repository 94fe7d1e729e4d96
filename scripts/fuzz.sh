#!/usr/bin/env bash
# Fuzzes the HTTP API with schemathesis (pinned, in the ignored .venv-fuzz) against a
# running `reel serve` on a fresh data directory, signed in, with the checks
# not_a_server_error, response_schema_conformance, status_code_conformance and
# content_type_conformance. Exits non-zero on any finding.
#
#   bash scripts/fuzz.sh [SECONDS] [--backend aws]    # default 60 s, embedded storage
# --backend aws runs the server on moto (from .venv, scripts/requirements-test.txt).
# Uses the debug server that `cargo build -p reel-local` makes; build it first.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
backend=${2:-}
[ "$backend" = "--backend" ] && backend=${3:?--backend needs local or aws}

# shellcheck source=scripts/venv.sh
. scripts/venv.sh
ensure_venv .venv-fuzz scripts/requirements-fuzz.txt
[ "$backend" = aws ] && ensure_venv .venv scripts/requirements-test.txt
[ -x target/debug/reel ] || cargo build --locked -p reel-local

data=$(mktemp -d)
log=$(mktemp)
args=(serve --addr 127.0.0.1:0 --data-dir "$data")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$data" "$log"; }
trap cleanup EXIT
if [ "$backend" = aws ]; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  .venv/bin/moto_server -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
  export AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
  args+=(--backend aws --provision)
fi
target/debug/reel "${args[@]}" >"$log" 2>/dev/null &
pids+=($!)
for _ in $(seq 100); do grep -q "^listening on " "$log" && break; sleep 0.1; done
base=$(sed -n 's/^listening on //p' "$log")
[ -n "$base" ] || { echo "error: the server did not start" >&2; exit 1; }
sid=$(curl -sf -XPOST "$base/user" -d '{"user_name":"fuzzer","pwd":"correct horse"}' \
  | python3 -c 'import sys, json; print(json.load(sys.stdin)["session_id"])')
echo "fuzzing $base for $seconds s" >&2
# Signing out would end the run's session: that one operation is left to the Rust tests.
.venv-fuzz/bin/schemathesis --config-file scripts/schemathesis.toml run "$base/openapi.json" \
  -H "X-Session-Id: $sid" --exclude-operation-id sign_out \
  --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
  --max-time "$seconds" --workers 2

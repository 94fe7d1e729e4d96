#!/usr/bin/env bash
# Flood and soak, by hand (not in CI): the release `reel serve` on a fresh data directory
# under a bounded mixed workload (src/bin/reel-soak.rs: sign-in floods with random names,
# listings, comments, uploads, ranged streams) at 64 connections for 10 minutes. Prints
# RSS and open descriptors every 10 s, then requests by status, p50/p99 latency and
# growth after the first minute; fails on any 5xx or transport error.
#
#   bash scripts/soak.sh [SECONDS] [CONNECTIONS]      # defaults: 600 64
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
connections=${2:-64}

echo "building release binaries (fat LTO; a few minutes)" >&2
cargo build --release --locked -p reel-server -p reel-testkit --bin reel --bin reel-soak >&2
data=$(mktemp -d)
log=$(mktemp)
# Every client connects from 127.0.0.1, and the workers share one account's uploads:
# lift the per-address cap and the pending-videos quota (both have their own tests).
REEL_MAX_CONNECTIONS_PER_ADDRESS=4096 REEL_MAX_PENDING_VIDEOS=100000 target/release/reel serve --addr 127.0.0.1:0 --data-dir "$data" >"$log" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$data" "$log"' EXIT
for _ in $(seq 100); do grep -q "^listening on " "$log" && break; sleep 0.1; done
base=$(sed -n 's/^listening on //p' "$log")
echo "server $base (pid $server), $connections connections for $seconds s" >&2
target/release/reel-soak --base "$base" --pid "$server" --connections "$connections" --seconds "$seconds"

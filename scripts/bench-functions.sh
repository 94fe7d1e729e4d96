#!/usr/bin/env bash
# Measures every Lambda function binary beside a hello-world lambda_http binary built with
# the same release profile, in one run: stripped size, start-to-ready (process start to
# the first /next poll, median of 20), warm latency and peak RSS after 1,000 warm
# invocations (GET /healthz for HTTP functions, a cheap event of their own for the
# others). Functions start against a moto server, so their SDK clients are built and
# configured exactly as in Lambda. Prints a markdown table (and each binary's start times
# on stderr). BENCH_WRAP='taskset -c 1' runs the measurement on one CPU, closer to a
# Lambda function at 256-512 MB, which gets less than one.
set -euo pipefail
cd "$(dirname "$0")/.."

functions=(users sessions videos uploads comments stream web)
# The event-driven functions answer their own kind of event (cheap ones: a key outside
# videos/, an empty batch, a tick over an empty deletions table).
events=(video-events@infra/testkit/events/s3-not-a-video.json
        deletion-worker@infra/testkit/events/sqs-empty-batch.json
        deletion-dispatcher@events/eventbridge-scheduled.json)
packages=()
for f in "${functions[@]}" "${events[@]%%@*}"; do packages+=(-p "reel-$f"); done
echo "building release binaries (fat LTO; a few minutes)" >&2
# The functions apart from the server, as `sam build` builds them: built together, the
# server's features (an HTTP/2 server) would be unified into the functions' dependencies.
cargo build --release --locked "${packages[@]}" >&2
cargo build --release --locked -p reel-testkit -p reel-server >&2

# shellcheck source=scripts/venv.sh
. scripts/venv.sh
ensure_venv .venv scripts/requirements-test.txt
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
.venv/bin/python scripts/moto_server.py -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto=$!
trap 'kill $moto' EXIT
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done

export AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1 REEL_TABLE_PREFIX=bench REEL_BUCKET=bench-videos REEL_DELETION_QUEUE=bench-deletions
export REEL_CURSOR_KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
target/release/reel provision

args=(hello-world=target/release/hello-lambda)
for f in "${functions[@]}"; do args+=("$f=target/release/reel-$f"); done
for e in "${events[@]}"; do args+=("${e%%@*}=target/release/reel-${e%%@*}@${e#*@}"); done
${BENCH_WRAP:-} target/release/lambda-bench infra/testkit/events/healthz.json "${args[@]}"

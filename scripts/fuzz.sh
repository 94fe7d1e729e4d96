#!/usr/bin/env bash
# Fuzzes the HTTP API with schemathesis (pinned, in the ignored .venv-fuzz) against a
# running `reel serve` on a fresh data directory, signed in, with the checks
# not_a_server_error, response_schema_conformance, status_code_conformance and
# content_type_conformance. Exits non-zero on any finding.
#
#   bash scripts/fuzz.sh [SECONDS] [--backend aws] [-- SCHEMATHESIS-ARGS...]
# Default 60 s on embedded storage. --backend aws runs the server on moto (from .venv,
# scripts/requirements-test.txt). Arguments after `--` go to `schemathesis run` (for
# example `--report har` to see every request). Uses the debug server that
# `cargo build -p reel-server` makes, building it when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60
backend=local
while [ $# -gt 0 ]; do
  case $1 in
    --backend) backend=${2:?--backend needs local or aws}; shift 2 ;;
    --) shift; break ;;
    *) seconds=$1; shift ;;
  esac
done

# shellcheck source=scripts/venv.sh
. scripts/venv.sh
ensure_venv .venv-fuzz scripts/requirements-fuzz.txt
[ "$backend" = aws ] && ensure_venv .venv scripts/requirements-test.txt
[ -x target/debug/reel ] || cargo build --locked -p reel-server

data=$(mktemp -d)
log=$(mktemp)
args=(serve --addr 127.0.0.1:0 --data-dir "$data")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$data" "$log"; }
trap cleanup EXIT
if [ "$backend" = aws ]; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  .venv/bin/python scripts/moto_server.py -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
  export AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
  args+=(--backend aws --provision)
fi
# The sign-in throttle (10 failures per name and address) would soon answer every
# sign-in with 429 and leave the password check behind it unfuzzed; the throttle has
# its own attack tests (infra/server/tests/api.rs), so it is raised out of the way here;
# so are the upload quotas (the fuzzer makes hundreds of pending videos; their own tests
# are in infra/server/tests/attacks.rs).
# Files over 1 MiB go in parts, so that generated sizes reach both kinds of grant.
REEL_SIGN_IN_MAX_FAILURES=1000000 REEL_MAX_PENDING_VIDEOS=1000000 \
  REEL_MAX_PENDING_UPLOAD_BYTES=9223372036854775807 REEL_MULTIPART_THRESHOLD_BYTES=1048576 \
  target/debug/reel "${args[@]}" >"$log" 2>/dev/null &
pids+=($!)
for _ in $(seq 100); do grep -q "^listening on " "$log" && break; sleep 0.1; done
base=$(sed -n 's/^listening on //p' "$log")
[ -n "$base" ] || { echo "error: the server did not start" >&2; exit 1; }

# The run's data (scripts/schemathesis.toml names it per operation): the user `fuzzer`
# and its session; a ready video with two comments, for the operations that read a
# video; a pending video, for upload grants; a video and a comment to delete; two
# multipart uploads (below).
json_field() { python3 -c "import sys, json; print(json.load(sys.stdin)[\"$1\"])"; }
call() { # METHOD PATH [BODY] -> the answer's body; fails on an error status
  curl -sSf -X "$1" "$base$2" -H "X-Session-Id: ${sid:-}" -H 'Content-Type: application/json' \
    ${3:+-d "$3"}
}
export REEL_FUZZ_PWD="correct horse"
sid=$(call POST /user "{\"user_name\":\"fuzzer\",\"pwd\":\"$REEL_FUZZ_PWD\"}" | json_field session_id)
export REEL_FUZZ_USER_ID
REEL_FUZZ_USER_ID=$(call GET /user/fuzzer | json_field id)
new_video() { call POST /user/fuzzer/videos "{\"name\":\"$1\"}" | json_field id; }
new_comment() { call POST "/videos/$1/comments" '{"content":"fixture"}' | json_field id; }
sample=infra/server/tests/fixtures/sample.mp4
export REEL_FUZZ_READY_VID REEL_FUZZ_PENDING_VID REEL_FUZZ_DOOMED_VID REEL_FUZZ_DOOMED_CID
REEL_FUZZ_READY_VID=$(new_video ready)
grant=$(call POST "/upload/$REEL_FUZZ_READY_VID" \
  "{\"size\":$(stat -c %s $sample),\"content_type\":\"video/mp4\"}")
put_args=$(echo "$grant" | python3 -c '
import sys, json, shlex
g = json.load(sys.stdin)
print(shlex.join([g["url"]] + [a for k, v in g["headers"].items() for a in ("-H", f"{k}: {v}")]))')
eval "curl -sSf -X PUT --data-binary @$sample $put_args" >/dev/null
new_comment "$REEL_FUZZ_READY_VID" >/dev/null
REEL_FUZZ_DOOMED_CID=$(new_comment "$REEL_FUZZ_READY_VID")
REEL_FUZZ_PENDING_VID=$(new_video pending)
REEL_FUZZ_DOOMED_VID=$(new_video doomed)
# Multipart uploads in progress: one to sign parts of, list and complete, one to abort.
begin_upload() {
  call POST "/upload/$1" '{"size":20971520,"content_type":"video/mp4"}' | json_field upload_id
}
export REEL_FUZZ_UPLOAD_VID REEL_FUZZ_UPLOAD_ID REEL_FUZZ_ABORTED_VID REEL_FUZZ_ABORTED_UPLOAD
export REEL_FUZZ_UPLOAD_PARTS=3 # 20 MiB in parts of 8
REEL_FUZZ_UPLOAD_VID=$(new_video uploading)
REEL_FUZZ_UPLOAD_ID=$(begin_upload "$REEL_FUZZ_UPLOAD_VID")
REEL_FUZZ_ABORTED_VID=$(new_video aborted)
REEL_FUZZ_ABORTED_UPLOAD=$(begin_upload "$REEL_FUZZ_ABORTED_VID")
# Second pages of the fixture lists: real cursors, for the hooks' positive cases.
export REEL_FUZZ_VIDEOS_CURSOR REEL_FUZZ_COMMENTS_CURSOR
REEL_FUZZ_VIDEOS_CURSOR=$(call GET "/user/fuzzer/videos?limit=1" | json_field next_cursor)
REEL_FUZZ_COMMENTS_CURSOR=$(call GET "/videos/$REEL_FUZZ_READY_VID/comments?limit=1" \
  | json_field next_cursor)
echo "fuzzing $base for $seconds s" >&2
# Signing out would end the run's session: that one operation is left to the Rust tests.
.venv-fuzz/bin/schemathesis --config-file scripts/schemathesis.toml run "$base/openapi.json" \
  -H "X-Session-Id: $sid" --exclude-operation-id sign_out \
  --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
  --max-time "$seconds" --workers 1 "$@"

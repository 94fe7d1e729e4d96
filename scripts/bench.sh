#!/usr/bin/env bash
# The performance benchmark, by hand (not in CI): the release `reel serve` on a fresh
# data directory, seeded like issue 14's table (one user, 20 videos, 50 comments of ~60
# bytes on one video, a 256 MiB video), measured with wrk (-t2, BENCH_SECONDS each,
# default 20) at 16 and 64 connections, and its byte endpoint against Debian's nginx
# (sendfile on) serving the same file on a loopback port. Prints one markdown table: each
# figure and its ratio to the same run's GET /healthz (or to nginx).
#
#   bash scripts/bench.sh                 # about 5 minutes after the build
#   BENCH_SECONDS=5 bash scripts/bench.sh # a quick look
#   BENCH_BINARY=/path/to/reel bash ...   # another build of `reel` (say, before a change)
#   BENCH_PARTS=streaming bash ...        # only some parts: "api", "streaming", "feed"
#       (default "api streaming"). "feed": the feed and a channel read without a
#       session (GET /videos, GET /user/<name>/videos, 24 a page) with 1,000 and then
#       100,000 ready public videos in the store (rows written straight into SQLite),
#       each as a ratio to the same moment's /healthz: flat lists keep the ratio.
#   BENCH_PERF_DIR=dir bash ...            # also perf-record the server during each API
#       scenario at 16 connections: dir/<scenario>.data and .txt (the top of the profile);
#       build with symbols for it: CARGO_PROFILE_RELEASE_STRIP=false
#       CARGO_PROFILE_RELEASE_DEBUG=line-tables-only cargo build --release --target-dir
#       target/prof -p reel-server --bin reel, then BENCH_BINARY=target/prof/release/reel
#
# wrk and nginx are installed with apt-get when missing (root or sudo); without nginx
# the streaming rows say so. Run it on an idle machine: ratios from one run are what
# compare, absolute figures from a shared machine say little.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${BENCH_SECONDS:-20}
parts=${BENCH_PARTS:-api streaming}
stream_mib=${BENCH_STREAM_MIB:-256}

install() {
    command -v "$1" >/dev/null && return
    echo "installing $2 (apt-get)" >&2
    local sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get install -y -qq "$2" >/dev/null 2>&1 ||
        { $sudo apt-get update -qq && $sudo apt-get install -y -qq "$2" >/dev/null; }
}
install wrk wrk
install nginx nginx-light || echo "nginx could not be installed: no streaming baseline" >&2
install curl curl

reel=${BENCH_BINARY:-target/release/reel}
if [ -z "${BENCH_BINARY:-}" ]; then
    echo "building the release server (fat LTO; a few minutes)" >&2
    cargo build --release --locked -p reel-server --bin reel >&2
fi

work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# Every load generator connects from 127.0.0.1: lift the per-address cap.
REEL_MAX_CONNECTIONS_PER_ADDRESS=4096 "$reel" serve --addr 127.0.0.1:0 --data-dir "$work/data" >"$work/reel.log" 2>/dev/null &
server=$!
pids+=($server)
for _ in $(seq 200); do grep -q "^listening on " "$work/reel.log" && break; sleep 0.1; done
base=$(sed -n 's/^listening on //p' "$work/reel.log")
[ -n "$base" ] || { echo "the server did not start" >&2; exit 1; }

# --- seed ---------------------------------------------------------------------------
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
api() { # METHOD PATH [BODY]: prints the reply body, fails on an HTTP error
    curl -sf -X "$1" "$base$2" -H "X-Session-Id: ${sid:-}" \
        -H 'Content-Type: application/json' ${3:+--data "$3"}
}
user=bench
sid=$(api POST /user "{\"user_name\":\"$user\",\"pwd\":\"benchmark-password\"}" | json '["session_id"]')
videos=()
for i in $(seq 20); do
    videos+=("$(api POST "/user/$user/videos" "{\"name\":\"Video number $i\"}" | json '["id"]')")
done
listed=${videos[0]}
text="A comment of about sixty bytes, as people write them here: ok"
for i in $(seq 50); do api POST "/videos/$listed/comments" "{\"content\":\"$text $i\"}" >/dev/null; done
# nginx's workers (another user) read it too: a directory of its own, readable by all.
mkdir -m 755 "$work/www" && chmod 711 "$work"
# A real MP4 (the test sample) padded to the size with a top-level `free` box of random
# bytes: the server reads its header when it lands, as it does every upload's.
sample=infra/server/tests/fixtures/sample.mp4
pad=$(( (stream_mib << 20) - $(stat -c %s "$sample") ))
{
    cat "$sample"
    printf "$(printf '\\%03o' $((pad >> 24 & 255)) $((pad >> 16 & 255)) $((pad >> 8 & 255)) $((pad & 255)))free"
    head -c $((pad - 8)) /dev/urandom
} >"$work/www/video.mp4"
chmod 644 "$work/www/video.mp4"
grant=$(api POST "/upload/${videos[1]}" "{\"size\":$((stream_mib << 20)),\"content_type\":\"video/mp4\"}")
curl -sf -X PUT "$(json '["url"]' <<<"$grant")" -H 'Content-Type: video/mp4' \
    --data-binary @"$work/www/video.mp4" -o /dev/null
# The byte endpoint's signed URL, as the stream route's 307 gives it.
blob=$(curl -s -o /dev/null -w '%{redirect_url}' -H "X-Session-Id: $sid" "$base/videos/${videos[1]}")
case $blob in http*) ;; *) blob=$base$blob ;; esac

# --- nginx beside it --------------------------------------------------------------------
nginx_base=
if command -v nginx >/dev/null; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    mkdir -p "$work/nginx"
    cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
daemon off;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path $work/nginx; proxy_temp_path $work/nginx;
    fastcgi_temp_path $work/nginx; uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
    server {
        listen 127.0.0.1:$port;
        location / { root $work/www; default_type video/mp4; }
    }
}
EOF
    nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" 2>/dev/null &
    pids+=($!)
    for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
    nginx_base=http://127.0.0.1:$port
fi

# --- measure ----------------------------------------------------------------------------
cat >"$work/post.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"content":"$text"}'
EOF
cat >"$work/ranges.lua" <<EOF
-- 1 MiB ranges at random MiB offsets of the file
request = function()
    local at = math.random(0, $((stream_mib - 1))) * 1048576
    return wrk.format(nil, nil, { Range = "bytes=" .. at .. "-" .. (at + 1048575) })
end
EOF
run_wrk() { # CONNECTIONS URL [wrk args...]: prints "req/s p99_ms"
    local c=$1 url=$2; shift 2
    wrk -t2 -c"$c" -d"${seconds}s" --latency "$@" "$url" >"$work/wrk.out"
    if grep -q "Non-2xx" "$work/wrk.out"; then
        echo "non-2xx replies from $url:" >&2; cat "$work/wrk.out" >&2; exit 1
    fi
    awk '/Requests\/sec/ {r=$2} / 99%/ {v=$2; m=1; if (v ~ /us$/) m=0.001; if (v ~ /[^m]s$/ && v !~ /ms$/ && v !~ /us$/) m=1000;
         sub(/[a-z]+$/, "", v); p=v*m} END {printf "%d %.2f\n", r, p}' "$work/wrk.out"
}
best_download() { # URL: the best of 3 whole-file downloads, in MB/s
    local best=0 s
    for _ in 1 2 3; do
        s=$(curl -s -o /dev/null -w '%{speed_download}' "$1")
        best=$(python3 -c "print(max($best, $s/1e6))")
    done
    printf '%.0f\n' "$best"
}

if [[ $parts == *api* ]]; then
echo "| scenario | conns | req/s | p99 ms | ÷ /healthz |"
echo "|---|---|---|---|---|"
auth=(-H "X-Session-Id: $sid")
for c in 16 64; do
    read -r healthz p99 < <(run_wrk "$c" "$base/healthz")
    echo "| GET /healthz | $c | $healthz | $p99 | 1.00 |"
    row() { # NAME URL [wrk args...]
        local name=$1 url=$2 perf=; shift 2
        if [ -n "${BENCH_PERF_DIR:-}" ] && [ "$c" = 16 ]; then
            mkdir -p "$BENCH_PERF_DIR"
            perf=$BENCH_PERF_DIR/$(tr -c 'a-z0-9\n' - <<<"${name,,}")
            perf record -F 997 -g -p "$server" -o "$perf.data" -- sleep "$seconds" \
                >/dev/null 2>&1 &
            perf_pid=$!
        fi
        read -r rps p99 < <(run_wrk "$c" "$url" "${auth[@]}" "$@")
        if [ -n "$perf" ]; then
            wait "$perf_pid" || true
            perf report -i "$perf.data" --no-children --percent-limit 0.7 --stdio -g none \
                2>/dev/null | grep -v '^#' | grep -v '^$' | head -40 >"$perf.txt"
        fi
        echo "| $name | $c | $rps | $p99 | $(python3 -c "print(f'{$rps/$healthz:.2f}')") |"
    }
    row "GET comments (50)" "$base/videos/$listed/comments"
    row "GET videos (20)" "$base/user/$user/videos"
    row "GET user info" "$base/user/$user"
    row "POST comment" "$base/videos/${videos[2]}/comments" -s "$work/post.lua"
done
echo
fi
if [[ $parts == *feed* ]]; then
# Ready public videos of the bench user, written into the database directly (100,000
# uploads through the API would take an hour); the server reads them like any other.
seed_public() { # HOW_MANY: adds that many, newer than every earlier one
    python3 - "$work/data/reel.db" "$1" "$user_id" "$user" <<'PY'
import sqlite3, sys, time, uuid
db, n, author, name = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
conn = sqlite3.connect(db, timeout=30)
start = int(time.time() * 1e6)
rows = [(str(uuid.uuid4()), author, name, f"Public video {i}", start + i) for i in range(n)]
with conn:
    conn.executemany(
        "INSERT INTO videos (id, author_id, author_name, name, created_us, status, size, "
        "content_type, duration_ms, width, height, video_codec, faststart, visibility) "
        "VALUES (?, ?, ?, ?, ?, 'ready', 18000, 'video/mp4', 4000, 160, 120, 'avc1.64000c', 1, 'public')",
        rows)
conn.close()
PY
}
user_id=$(api GET "/user/$user" | json '["id"]')
echo "| public videos | scenario | conns | req/s | p99 ms | ÷ /healthz |"
echo "|---|---|---|---|---|---|"
seeded=0
for total in 1000 100000; do
    seed_public $((total - seeded))
    seeded=$total
    read -r healthz p99 < <(run_wrk 16 "$base/healthz")
    echo "| $total | GET /healthz | 16 | $healthz | $p99 | 1.00 |"
    for path in "/videos?limit=24" "/user/$user/videos?limit=24"; do
        read -r rps p99 < <(run_wrk 16 "$base$path")
        echo "| $total | GET $path (no session) | 16 | $rps | $p99 | $(python3 -c "print(f'{$rps/$healthz:.2f}')") |"
    done
done
echo
fi
[[ $parts == *streaming* ]] || exit 0

echo "| streaming | Reel | nginx (sendfile) | Reel ÷ nginx |"
echo "|---|---|---|---|"
reel_mbs=$(best_download "$blob")
read -r reel_ranges _ < <(run_wrk 2 "$blob" -s "$work/ranges.lua")
if [ -n "$nginx_base" ]; then
    nginx_mbs=$(best_download "$nginx_base/video.mp4")
    read -r nginx_ranges _ < <(run_wrk 2 "$nginx_base/video.mp4" -s "$work/ranges.lua")
    ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
    echo "| one ${stream_mib} MiB download, 1 conn (MB/s, best of 3) | $reel_mbs | $nginx_mbs | $(ratio "$reel_mbs" "$nginx_mbs") |"
    echo "| 1 MiB ranges, 2 conns (req/s) | $reel_ranges | $nginx_ranges | $(ratio "$reel_ranges" "$nginx_ranges") |"
else
    echo "| one ${stream_mib} MiB download, 1 conn (MB/s, best of 3) | $reel_mbs | no nginx | |"
    echo "| 1 MiB ranges, 2 conns (req/s) | $reel_ranges | no nginx | |"
fi

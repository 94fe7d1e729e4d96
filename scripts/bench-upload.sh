#!/usr/bin/env bash
# Upload benchmark, by hand (not in CI): a large file through the release `reel serve`
# on embedded storage, sent as one signed PUT and as a multipart upload with 4 parts in
# flight (curl for every transfer, so both ways use the same client). For each file size
# and way: MB/s from the grant to the video being ready (the completion's assembly
# included), and the server's peak RSS (VmHWM; a fresh server per run). Run at two sizes,
# the RSS shows whether memory grows with the file: it must not (bounded buffers only).
#
#   bash scripts/bench-upload.sh                      # 256 MiB and 2 GiB (~3 minutes after the build)
#   BENCH_UPLOAD_MIB="512 4096" bash scripts/bench-upload.sh
#   BENCH_BINARY=/path/to/reel bash scripts/bench-upload.sh
#
# Needs curl and python3 (JSON); about 4x the largest size free on the disk of $TMPDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${BENCH_UPLOAD_MIB:-256 2048}

reel=${BENCH_BINARY:-target/release/reel}
if [ -z "${BENCH_BINARY:-}" ]; then
    echo "building the release server (fat LTO; a few minutes)" >&2
    cargo build --release --locked -p reel-server --bin reel >&2
fi

work=$(mktemp -d)
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# A fresh server on a fresh data directory, files over $1 bytes sent in parts; sets
# $server and $base.
start_server() {
    rm -rf "$work/data"
    "$reel" serve --addr 127.0.0.1:0 --data-dir "$work/data" --multipart-threshold-bytes "$1" \
        >"$work/reel.out" 2>/dev/null &
    server=$!
    for _ in $(seq 100); do
        grep -q '^listening on ' "$work/reel.out" 2>/dev/null && break
        sleep 0.1
    done
    base=$(sed -n 's/^listening on //p' "$work/reel.out")
}

stop_server() {
    kill "$server"
    wait "$server" 2>/dev/null || true
    server=
}

peak_rss_mib() { awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$server/status"; }

# Signs up, creates a video; sets $sid and $vid.
new_video() {
    sid=$(curl -sf "$base/user" -H 'content-type: application/json' \
        -d '{"user_name":"bench","pwd":"password1"}' | json 'd["session_id"]')
    vid=$(curl -sf "$base/user/bench/videos" -H "x-session-id: $sid" \
        -H 'content-type: application/json' -d '{"name":"big"}' | json 'd["id"]')
}

api() { # METHOD PATH [JSON]
    curl -sf -X "$1" "$base$2" -H "x-session-id: $sid" -H 'content-type: application/json' ${3:+-d "$3"}
}

# The sample MP4 and a `free` box of zeros up to $1 MiB: a video the server makes ready.
make_file() {
    python3 - "$1" "$work/file" <<'EOF'
import struct, sys
mib, path = int(sys.argv[1]), sys.argv[2]
sample = open("infra/server/tests/fixtures/sample.mp4", "rb").read()
size = mib << 20
with open(path, "wb") as f:
    f.write(sample)
    f.write(struct.pack(">I", 1) + b"free" + struct.pack(">Q", size - len(sample)))
    f.truncate(size)
EOF
}

single_put() { # SIZE -> seconds
    local size=$1 grant start end
    start=$(date +%s.%N)
    grant=$(api POST "/upload/$vid" "{\"size\":$size,\"content_type\":\"video/mp4\"}")
    curl -sf -T "$work/file" -H 'content-type: video/mp4' "$(echo "$grant" | json 'd["url"]')" >/dev/null
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}

multipart() { # SIZE -> seconds (the parts are split off the file before the clock starts)
    local size=$1 plan upload count start end numbers
    rm -rf "$work/parts" && mkdir "$work/parts"
    split -b 8M -d -a 5 "$work/file" "$work/parts/p"
    start=$(date +%s.%N)
    plan=$(api POST "/upload/$vid" "{\"size\":$size,\"content_type\":\"video/mp4\"}")
    upload=$(echo "$plan" | json 'd["upload_id"]')
    count=$(echo "$plan" | json 'd["part_count"]')
    : >"$work/urls"
    for first in $(seq 1 100 "$count"); do
        numbers=$(seq -s, "$first" $((first + 99 > count ? count : first + 99)))
        api POST "/upload/$vid/parts" "{\"upload_id\":\"$upload\",\"part_numbers\":[$numbers]}" |
            json '"\n".join(str(p["part_number"]) + " " + p["url"] for p in d["parts"])' >>"$work/urls"
    done
    # Four parts in flight; each answer's ETag kept for the completion.
    export work
    xargs -P 4 -L 1 sh -c 'f=$(printf "%s/parts/p%05d" "$work" $(($0 - 1)));
        curl -sf -T "$f" -D - -o /dev/null "$1" | tr -d "\r" |
            awk -v n="$0" "tolower(\$1) == \"etag:\" { print n, \$2 }" > "$work/parts/etag-$0"' <"$work/urls"
    parts=$(cat "$work"/parts/etag-* | sort -n | python3 -c '
import json, sys
print(json.dumps([{"part_number": int(n), "etag": e} for n, e in (l.split() for l in sys.stdin)]))')
    local completing; completing=$(date +%s.%N)
    api POST "/upload/$vid/complete" "{\"upload_id\":\"$upload\",\"parts\":$parts}" | json 'd["status"]' >"$work/status"
    end=$(date +%s.%N)
    echo "$end - $completing" | bc >"$work/completion"
    [ "$(cat "$work/status")" = ready ] || { echo "the multipart upload did not end ready" >&2; exit 1; }
    echo "$end - $start" | bc
}

command -v bc >/dev/null || { echo "error: bc is required (apt-get install bc)" >&2; exit 1; }
echo "| file | way | seconds | of which completing | MB/s | server peak RSS (MiB) |"
echo "|---|---|---|---|---|---|"
for mib in $sizes; do
    make_file "$mib"
    size=$((mib << 20))
    for way in single_put multipart; do
        # Each way whatever the size: one PUT up to S3's 5 GiB, parts above 1 MiB.
        if [ $way = single_put ]; then start_server 5368709120; else start_server 1048576; fi
        new_video
        echo 0 >"$work/completion"
        secs=$($way "$size")
        rss=$(peak_rss_mib)
        mbs=$(echo "scale=1; $size / 1000000 / $secs" | bc)
        printf '| %s MiB | %s | %.2f | %.2f | %s | %s |\n' "$mib" "${way/_/ }" "$secs" \
            "$(cat "$work/completion")" "$mbs" "$rss"
        stop_server
    done
done

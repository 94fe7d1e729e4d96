#!/usr/bin/env bash
# Makes the media test fixtures of issue 23 (container metadata) with ffmpeg, by hand
# (not in CI: the files are committed, each under 200 KB), and writes what ffprobe says
# of each to expected.json beside them, the table the tests read.
#
#   bash scripts/make-media-fixtures.sh      # needs ffmpeg and ffprobe (Debian: ffmpeg)
#
# Every video is a 2 s test pattern at 320x180, 25 fps, with a 440 Hz tone where it has
# sound; encoders are set for small files, not quality. Re-running re-encodes: encoder
# versions differ, so the bytes (not the facts in the table) may change. The table holds
# ffprobe's codec names, profiles and levels; the RFC 6381 codec strings the metadata
# parser derives (e.g. `avc1.64000c`) are to be checked against them.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in ffmpeg ffprobe python3; do
  command -v "$tool" >/dev/null || { echo "error: $tool is required (Debian: apt-get install ffmpeg python3)" >&2; exit 1; }
done
out=infra/server/tests/fixtures/media
mkdir -p "$out"

picture=(-f lavfi -i testsrc=size=320x180:rate=25)
tone=(-f lavfi -i sine=frequency=440:sample_rate=48000)
make() { ffmpeg -hide_banner -loglevel error -y "$@"; }

# H.264 High + AAC-LC in MP4, moov before mdat (faststart) and after it (ffmpeg's default).
make "${picture[@]}" "${tone[@]}" -t 2 -c:v libx264 -profile:v high -preset veryfast -crf 35 \
  -pix_fmt yuv420p -c:a aac -b:a 32k -movflags +faststart "$out/h264-aac-faststart.mp4"
make "${picture[@]}" "${tone[@]}" -t 2 -c:v libx264 -profile:v high -preset veryfast -crf 35 \
  -pix_fmt yuv420p -c:a aac -b:a 32k "$out/h264-aac-moov-last.mp4"
# HEVC (tagged hvc1, as browsers want it) + AAC in MP4.
make "${picture[@]}" "${tone[@]}" -t 2 -c:v libx265 -x265-params log-level=error -preset ultrafast \
  -crf 35 -pix_fmt yuv420p -tag:v hvc1 -c:a aac -b:a 32k "$out/hevc-aac.mp4"
# H.264 + AAC in QuickTime MOV.
make "${picture[@]}" "${tone[@]}" -t 2 -c:v libx264 -preset veryfast -crf 35 -pix_fmt yuv420p \
  -c:a aac -b:a 32k "$out/h264-aac.mov"
# VP9 + Opus in WebM.
make "${picture[@]}" "${tone[@]}" -t 2 -c:v libvpx-vp9 -b:v 100k -deadline realtime -cpu-used 8 \
  -pix_fmt yuv420p -c:a libopus -b:a 24k "$out/vp9-opus.webm"
# AV1 (video only) in WebM.
make "${picture[@]}" -t 2 -c:v libaom-av1 -cpu-used 8 -crf 50 -b:v 0 -pix_fmt yuv420p \
  "$out/av1.webm"
# AAC only: a container without a video track.
make "${tone[@]}" -t 2 -c:a aac -b:a 32k "$out/audio-only.mp4"
# The moov-last MP4 cut in the middle of its media data: its moov is gone.
full="$out/h264-aac-moov-last.mp4"
head -c "$(( $(stat -c %s "$full") / 2 ))" "$full" >"$out/truncated.mp4"
# Text under a video's name.
printf 'This is not a video.\nIt is a text file named like one.\n' >"$out/text-file.mp4"

# Posters as the page makes them: one 640x360 frame, WebP and JPEG (a directory of their
# own: the table below is of videos).
posters=infra/server/tests/fixtures/posters
mkdir -p "$posters"
make -f lavfi -i testsrc=size=640x360:rate=1 -frames:v 1 -c:v libwebp -quality 70 "$posters/poster.webp"
make -f lavfi -i testsrc=size=640x360:rate=1 -frames:v 1 -q:v 5 "$posters/poster.jpg"

python3 - "$out" <<'EOF'
"""expected.json: per fixture, what ffprobe reads of it (or that it reads nothing), and
where its top-level `moov` box sits relative to `mdat` (ISO-BMFF files only)."""
import json, os, struct, subprocess, sys

out = sys.argv[1]

def top_level_boxes(path):
    """The complete top-level boxes, in order, and the type of one cut off by the end of
    the file (None if none was); ([], None) when the file does not start with `ftyp`."""
    boxes, offset, size = [], 0, os.path.getsize(path)
    with open(path, "rb") as f:
        while offset + 8 <= size:
            f.seek(offset)
            length, kind = struct.unpack(">I4s", f.read(8))
            kind = kind.decode("latin-1")
            if offset == 0 and kind != "ftyp":
                return [], None
            if length == 1:
                length = struct.unpack(">Q", f.read(8))[0]
            elif length == 0:
                length = size - offset
            if length < 8:
                break
            if offset + length > size:
                return boxes, kind
            boxes.append(kind)
            offset += length
    return boxes, None

def probe(path):
    run = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries",
         "stream=codec_type,codec_name,profile,level,width,height:format=duration,format_name",
         "-of", "json", path],
        capture_output=True, text=True)
    if run.returncode != 0:
        return None
    return json.loads(run.stdout)

# What Reel must make of each file: the RFC 6381 strings follow from ffprobe's profile
# and level above (H.264 High = 0x64, level 12 = 0x0c; HEVC Main, level 60 = L60, with
# the constraint byte x265 writes; VP9 profile 0 with WebM's default level 1.0; AV1
# Main, level 0), and the reasons are the ones shown to owners (API.md "Media fields").
REEL = {
    "audio-only.mp4": {"status": "rejected", "reason": "no video track"},
    "av1.webm": {"status": "ready", "video_codec": "av01.0.00M.08", "audio_codec": None},
    "h264-aac-faststart.mp4": {"status": "ready", "video_codec": "avc1.64000c", "audio_codec": "mp4a.40.2"},
    "h264-aac-moov-last.mp4": {"status": "ready", "video_codec": "avc1.64000c", "audio_codec": "mp4a.40.2"},
    "h264-aac.mov": {"status": "ready", "video_codec": "avc1.64000c", "audio_codec": "mp4a.40.2"},
    "hevc-aac.mp4": {"status": "ready", "video_codec": "hvc1.1.6.L60.90", "audio_codec": "mp4a.40.2"},
    "text-file.mp4": {"status": "rejected", "reason": "not a video file"},
    "truncated.mp4": {"status": "rejected", "reason": "truncated file"},
    "vp9-opus.webm": {"status": "ready", "video_codec": "vp09.00.10.08", "audio_codec": "opus"},
}

table = {}
for name in sorted(os.listdir(out)):
    if name == "expected.json":
        continue
    path = os.path.join(out, name)
    entry = {"bytes": os.path.getsize(path)}
    probed = probe(path)
    streams = (probed or {}).get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    duration = (probed or {}).get("format", {}).get("duration")
    if probed is None or duration is None:
        entry["ffprobe"] = "cannot read it"
    else:
        entry["duration_ms"] = round(float(duration) * 1000)
        entry["container"] = probed["format"]["format_name"]
        if video:
            entry["width"], entry["height"] = video["width"], video["height"]
            entry["video"] = {k: video[k] for k in ("codec_name", "profile", "level") if k in video}
        if audio:
            entry["audio"] = {k: audio[k] for k in ("codec_name", "profile") if k in audio}
    if name.endswith((".mp4", ".mov")):
        boxes, cut = top_level_boxes(path)
        entry["top_level_boxes"] = boxes
        if cut:
            entry["cut_off_box"] = cut
        if "moov" in boxes and "mdat" in boxes:
            entry["faststart"] = boxes.index("moov") < boxes.index("mdat")
    entry["reel"] = REEL[name]
    table[name] = entry

with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump(table, f, indent=2, sort_keys=True)
    f.write("\n")
EOF
ls -l "$out"

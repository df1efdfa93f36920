#!/usr/bin/env bash
# Builds the fuzz seed corpus from the recorded wire traces: every binary frame (bytes_b64) of
# Tests/Fixtures/wire-traces/{json,binary}/*.jsonl becomes one file, named by its SHA-1.
#   Fuzz/corpus/json     JSONCodec frames       (FuzzJSONCodec; FuzzSessionFrames)
#   Fuzz/corpus/msgpack  MessagePackCodec frames (FuzzMessagePackCodec; FuzzSessionFrames)
# Usage: scripts/fuzz-corpus.sh [output-dir]   (default Fuzz/corpus; idempotent)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-Fuzz/corpus}"
python3 - "$out" <<'PY'
import base64, hashlib, json, os, pathlib, sys
out = pathlib.Path(sys.argv[1])
traces = pathlib.Path("Tests/Fixtures/wire-traces")
count = {}
for codec, folder in (("json", "json"), ("msgpack", "binary")):
    target = out / codec
    target.mkdir(parents=True, exist_ok=True)
    for trace in sorted((traces / folder).glob("*.jsonl")):
        for line in trace.read_text().splitlines():
            if not line.strip():
                continue
            frame = json.loads(line)
            if frame.get("frame") != "binary":
                continue
            data = base64.b64decode(frame["bytes_b64"])
            if len(data) > 16384:  # keep the fuzzer fast: big payload frames add nothing
                continue
            (target / hashlib.sha1(data).hexdigest()).write_bytes(data)
    count[codec] = len(list(target.iterdir()))
print("fuzz corpus:", ", ".join(f"{n} {c} seeds in {out / c}" for c, n in count.items()))
PY

#!/usr/bin/env bash
# Builds the fuzz seed corpus from the recorded wire traces: every binary frame (bytes_b64) of
# Tests/Fixtures/wire-traces/{json,binary}/*.jsonl becomes one file, named by its SHA-1.
#   Fuzz/corpus/json     JSONCodec frames       (FuzzJSONCodec; FuzzSessionFrames)
#   Fuzz/corpus/msgpack  MessagePackCodec frames (FuzzMessagePackCodec; FuzzSessionFrames)
#   Fuzz/corpus/websocket  upgrade responses/requests and frames, written here (FuzzWebSocketFrames)
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

# FuzzWebSocketFrames: 2 control bytes (limit, side and small-read size; split point), then what
# the peer sends: an upgrade response for RFC 6455's example key and/or frames (the client's
# side), or an upgrade request and/or masked frames (the server's side).
def frame(opcode, payload=b"", fin=True, rsv=0, mask=None):
    head = bytes([(0x80 if fin else 0) | rsv | opcode])
    m = 0x80 if mask else 0
    n = len(payload)
    if n < 126:
        head += bytes([m | n])
    elif n < 65536:
        head += bytes([m | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([m | 127]) + n.to_bytes(8, "big")
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return head + mask + payload
    return head + payload
def close(code, reason=b""):
    return frame(0x8, code.to_bytes(2, "big") + reason)
accept = base64.b64encode(hashlib.sha1(b"dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
upgrade = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
frames = (frame(0x1, b"hello") + frame(0x2, b"ab", fin=False) + frame(0x9, b"ping") + frame(0x0, b"", fin=False)
          + frame(0x0, b"c" * 130) + frame(0xA) + close(4000, b"bye"))
seeds = [
    bytes([0x00, 0x80]) + upgrade + frames,
    bytes([0x03, 0x40]) + frames,
    bytes([0x0F, 0x20]) + frame(0x2, bytes(range(256)) * 2) + b"\x82\x7f" + (20).to_bytes(8, "big") + b"y" * 20 + frame(0x8),
    bytes([0x81, 0x10]) + upgrade + frame(0x2, b"x" * 101),
    bytes([0xC2, 0xF0]) + upgrade + frame(0x2, b"masked", mask=b"\x01\x02\x03\x04") + frame(0x1, b"r", rsv=0x40),
    bytes([0x00, 0x30]) + b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n",
    bytes([0x00, 0x30]) + upgrade.replace(b"\r\n\r\n", b"\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"),
    # UTF-8: a character split across fragments (valid), then a text message that is not UTF-8.
    bytes([0x03, 0x60]) + frame(0x1, b"\xc3", fin=False) + frame(0x0, b"\xa9t\xc3\xa9") + frame(0x1, b"a\xed\xa0\x80"),
    bytes([0x03, 0x60]) + close(1000, b"bad \xff reason"),
]
# The server's side (bit 4 of byte 0): a client's upgrade request, then masked frames.
request = (b"GET /river?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
key = b"\x37\xfa\x21\x3d"
masked = (frame(0x1, b"hello", mask=key) + frame(0x2, b"ab", fin=False, mask=key) + frame(0x9, b"ping", mask=key)
          + frame(0x0, b"c" * 300, mask=key) + frame(0x8, (1000).to_bytes(2, "big"), mask=key))
seeds += [
    bytes([0x10, 0x80]) + request + masked,
    bytes([0x13, 0x40]) + masked,
    bytes([0x50, 0x30]) + request + frame(0x2, b"unmasked"),
    bytes([0x10, 0x30]) + request.replace(b"Version: 13", b"Version: 8"),
    bytes([0x10, 0x30]) + b"POST / HTTP/1.1\r\n\r\n",
]
target = out / "websocket"
target.mkdir(parents=True, exist_ok=True)
for seed in seeds:
    (target / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
count["websocket"] = len(list(target.iterdir()))
print("fuzz corpus:", ", ".join(f"{n} {c} seeds in {out / c}" for c, n in count.items()))
PY

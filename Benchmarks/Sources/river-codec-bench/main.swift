// river-codec-bench: encode + decode cost of typical River messages through both codecs.
//
// Run in release: swift run -c release river-codec-bench
// Prints one `BENCH name=… value=… unit=…` line per measurement: the median of several runs
// of the mean thread CPU time per call.

import Foundation
import River

/// A typical client rpc open message: `test.add {n: 1}` with tracing, flags Open+Closed.
let openMessage = TransportMessage(
    id: "naK8THGDJ3EF", from: "tsclient-Vznq38Ve9fit", to: "SERVER", seq: 1, ack: 0, streamId: "a7Nt9sIpQy9K",
    controlFlags: [.streamOpen, .streamClosed], payload: ["n": 1], serviceName: "test", procedureName: "add",
    tracing: .empty)

/// A typical server result: `{ok: true, payload: {result: 3}}` with flags Closed.
let resultMessage = TransportMessage(
    id: "9ZzSKFsR7phu", from: "SERVER", to: "tsclient-Vznq38Ve9fit", seq: 0, ack: 2, streamId: "a7Nt9sIpQy9K",
    controlFlags: .streamClosed, payload: ResultEnvelope.ok(["result": 3]).value)

struct Input: Codable { var n: Int }
struct Output: Codable { var result: Int }

/// CPU time of this thread in nanoseconds: the other engineers' builds share these two
/// cores, and wall-clock time would mostly measure the scheduler.
func now() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Median over `runs` of the mean time of `iterations` calls, in microseconds.
func measure(runs: Int = 9, iterations: Int = 20_000, _ body: () throws -> Void) rethrows -> Double {
    for _ in 0..<(iterations / 10) { try body() }  // warm up
    var samples: [Double] = []
    for _ in 0..<runs {
        let start = now()
        for _ in 0..<iterations { try body() }
        samples.append(Double(now() - start) / Double(iterations) / 1000)
    }
    samples.sort()
    return samples[samples.count / 2]
}

func report(_ name: String, _ value: Double) {
    print("BENCH name=\(name) value=\(String(format: "%.3f", value)) unit=us")
}


func roundTrip(_ codec: some RiverCodec, _ message: TransportMessage, sink: inout Int) throws -> Double {
    try measure {
        let bytes = try codec.encode(message)
        let decoded = try codec.decode(bytes)
        sink &+= bytes.count &+ decoded.seq
    }
}

do {
    var sink = 0
    // `river-codec-bench profile <json|msgpack>`: loop decode only, for perf.
    if CommandLine.arguments.count == 3, CommandLine.arguments[1] == "profile" {
        let codec: any RiverCodec = CommandLine.arguments[2] == "json" ? JSONCodec() : MessagePackCodec()
        let bytes = try codec.encode(openMessage)
        for _ in 0..<2_000_000 { sink &+= try codec.decode(bytes).seq }
        print(sink)
        exit(0)
    }
    let codecs: [(String, any RiverCodec)] = [("json", JSONCodec()), ("msgpack", MessagePackCodec())]
    for (name, codec) in codecs {
        let open = try roundTrip(codec, openMessage, sink: &sink)
        let result = try roundTrip(codec, resultMessage, sink: &sink)
        report("codec_\(name)_open_roundtrip_us", open)
        report("codec_\(name)_result_roundtrip_us", result)
        report("codec_\(name)_roundtrip_us", (open + result) / 2)
        let bytes = try codec.encode(openMessage)
        report("codec_\(name)_open_encode_us", try measure { sink &+= try codec.encode(openMessage).count })
        report("codec_\(name)_open_decode_us", try measure { sink &+= try codec.decode(bytes).seq })
    }
    let encoder = RiverValueEncoder()
    let decoder = RiverValueDecoder()
    report("codable_bridge_roundtrip_us", try measure {
        let value = try encoder.encode(Input(n: 1))
        sink &+= try decoder.decode(Output.self, from: ["result": value["n"] ?? 0]).result
    })
    if sink == 42 { print("") }  // keep the work observable
} catch {
    print("river-codec-bench: \(error)")
    exit(1)
}

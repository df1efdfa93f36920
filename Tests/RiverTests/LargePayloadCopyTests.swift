import Foundation
import Testing
@testable import River

/// Big payloads cross the codec without needless copies: a decoded `Data` reads the decoded
/// array's storage instead of copying it again, and a big encoded message is exact-sized.
@Suite("Large payload copies")
struct LargePayloadCopyTests {
    struct Blob: Codable, Equatable {
        var data: Data
    }

    static func bytes(_ count: Int) -> [UInt8] {
        var state: UInt32 = 0x1234_5678
        return (0..<count).map { _ in
            state = state &* 1_664_525 &+ 1_013_904_223
            return UInt8(truncatingIfNeeded: state >> 24)
        }
    }

    @Test("a decoded Data of 4 KiB or more shares the decoded array's storage", arguments: [4096, 1 << 20])
    func dataSharesStorage(count: Int) throws {
        let bytes = Self.bytes(count)
        let value: RiverValue = ["data": .bytes(bytes)]
        let blob = try RiverValueDecoder().decode(Blob.self, from: value)
        #expect(blob.data == Data(bytes))
        guard case .object(let fields) = value, case .bytes(let stored)? = fields["data"] else {
            Issue.record("unexpected value shape")
            return
        }
        let arrayBase = stored.withUnsafeBytes { $0.baseAddress }
        let dataBase = blob.data.withUnsafeBytes { $0.baseAddress }
        #expect(arrayBase == dataBase, "the Data should read the array's storage, not a copy")
    }

    @Test("a small decoded Data is an independent copy, and a shared one outlives its value", arguments: [0, 1, 4095])
    func smallDataCopies(count: Int) throws {
        let bytes = Self.bytes(count)
        let blob = try RiverValueDecoder().decode(Blob.self, from: ["data": .bytes(bytes)])
        #expect(blob.data == Data(bytes))
        // A shared Data keeps the storage alive after everything else let go of it.
        var big: Data?
        do {
            let value: RiverValue = ["data": .bytes(Self.bytes(1 << 16))]
            big = try RiverValueDecoder().decode(Blob.self, from: value).data
        }
        #expect(big == Data(Self.bytes(1 << 16)))
    }

    @Test("a big message encodes byte-identically into a send-buffer block of its own size", arguments: [MessagePackCodec() as any RiverCodec, JSONCodec()])
    func bigMessageEncoding(codec: any RiverCodec) throws {
        let encoder = SessionStateMachine.OutboundEncoder(codec: codec, clientID: "client", serverID: "SERVER")
        for payload: RiverValue in [
            ["data": .bytes(Self.bytes(1 << 20))],
            ["msg": .string(String(repeating: "r", count: 300_000))],
            ["a": .bytes(Self.bytes(70_000)), "b": .bytes(Self.bytes(70_000)), "c": "tail"],
        ] {
            let outbound = SessionStateMachine.Outbound(streamId: "s1", controlFlags: [], payload: payload)
            var buffer = SendBuffer()
            let bytes = try encoder.append(encoder.prepare(outbound), seq: 7, ack: 9, to: &buffer, limit: .max).bytes
            let decoded = try codec.decode(bytes)
            let expected = TransportMessage(
                id: decoded.id, from: "client", to: "SERVER", seq: 7, ack: 9, streamId: "s1", controlFlags: [], payload: payload)
            #expect(bytes == (try codec.encode(expected)))
            #expect(decoded.payload == payload)
            #expect(buffer.blockSizes == [bytes.count], "\(codec.name): \(bytes.count) bytes")
        }
    }
}

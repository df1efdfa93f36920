@testable import RiverProtobuf
import River
import RiverProtobufTestService
import SwiftProtobuf
import Testing

/// How the protobuf client reads what a call returns: error results with metadata and typed
/// details, unknown codes, and payloads that are neither a message nor an error.
@Suite struct ProtobufRPCErrorTests {
    @Test func anErrorResultKeepsMetadataAndDecodesDetails() throws {
        let detail = try ProtobufRPCError.Detail(River_Test_EchoResponse.with { $0.text = "why" })
        #expect(detail.typeName == "river.test.EchoResponse")
        let sent = ProtobufRPCError(
            code: .notFound, message: "no such thing", metadata: ["request-id": "r-1"],
            details: [detail, .init(typeName: "other.Type", value: [1, 2])])
        let wire = try MessagePackCodec().decodeValue(MessagePackCodec().encodeValue(sent.errorResult))
        let received = try #require(ProtobufRPCError(errorResult: wire))
        #expect(received.code == .notFound)
        #expect(received.message == "no such thing")
        #expect(received.metadata == ["request-id": "r-1"])
        #expect(received.details.count == 2)
        #expect(try received.details(River_Test_EchoResponse.self).map(\.text) == ["why"])
        #expect(try received.details[1].unpack(River_Test_EchoResponse.self) == nil)
    }

    @Test func anUnknownCodeIsKeptAsSent() throws {
        let wire: RiverValue = ["ok": false, "payload": ["code": "TEAPOT", "message": "short and stout"]]
        let error = try #require(ProtobufRPCError(errorResult: wire))
        #expect(error.code.rawValue == "TEAPOT")
        #expect(!ProtobufRPCError.Code.rpcCodes.contains(error.code))
        #expect(!error.code.isProtocolError)
    }

    @Test(arguments: [
        ["ok": true, "payload": ["code": "X", "message": "m"]],
        ["ok": false, "payload": ["code": 1, "message": "m"]],
        ["ok": false, "payload": ["code": "X", "message": "m", "metadata": ["k": 1]]],
        ["ok": false, "payload": ["code": "X", "message": "m", "details": [["typeName": "t"]]]],
    ] as [RiverValue])
    func malformedErrorResultsAreNotErrors(_ value: RiverValue) {
        #expect(ProtobufRPCError(errorResult: value) == nil)
    }

    @Test func aResponseDecodesAsTheOutputMessage() throws {
        let bytes: [UInt8] = try River_Test_EchoResponse.with { $0.text = "ok" }.serializedBytes()
        let result = try ProtobufPayload.interpret(.payload(.bytes(bytes)), as: River_Test_EchoResponse.self)
        #expect(try result.get().text == "ok")
    }

    @Test func undecodableResponseBytesAreADecodingFailure() {
        #expect {
            _ = try ProtobufPayload.interpret(.payload(.bytes([0x0a, 0x09, 0x61])), as: River_Test_EchoResponse.self)
        } throws: { error in
            (error as? ProtobufRPCError)?.code.rawValue == RiverError.Code.decodingFailure.rawValue
        }
    }

    @Test func aPayloadThatIsNeitherBytesNorAnErrorIsAProtocolViolation() {
        #expect {
            _ = try ProtobufPayload.interpret(.payload(["surprise": true]), as: River_Test_EchoResponse.self)
        } throws: { error in
            (error as? ProtobufRPCError)?.code.rawValue == RiverError.Code.protocolViolation.rawValue
        }
    }

    @Test func aCancelWithoutAnErrorBodyIsStillACancel() {
        #expect {
            _ = try ProtobufPayload.interpret(.cancelled(.null), as: River_Test_EchoResponse.self)
        } throws: { error in
            (error as? ProtobufRPCError)?.code == .cancel
        }
    }

    @Test func riverErrorsKeepTheirCodeAndCause() {
        let error = ProtobufRPCError(RiverError(code: .unexpectedDisconnect, message: "SERVER unexpectedly disconnected"))
        #expect(error.code == .unexpectedDisconnect)
        #expect(error.underlying is RiverError)
        #expect(error.description == "UNEXPECTED_DISCONNECT: SERVER unexpectedly disconnected")
    }
}

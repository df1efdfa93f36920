import Foundation
import River
import RiverReferenceClient
import Testing

private typealias Constructs = CodegenCorpus.Constructs
private typealias Kinds = CodegenCorpus.ErrorsAndKinds

/// The two ways payloads reach generated types: River's own `RiverValue` bridge, and
/// Foundation's JSON coders (a second, independent `Codable` implementation).
enum TestCodec: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case riverValue
    case foundationJSON

    var testDescription: String { rawValue }

    func decode<T: Decodable>(_ type: T.Type, from value: RiverValue) throws -> T {
        switch self {
        case .riverValue: return try RiverValueDecoder().decode(type, from: value)
        case .foundationJSON: return try JSONDecoder().decode(type, from: JSONEncoder().encode(value))
        }
    }

    func roundTrip<T: Codable>(_ value: T) throws -> T {
        switch self {
        case .riverValue: return try RiverValueDecoder().decode(T.self, from: RiverValueEncoder().encode(value))
        case .foundationJSON: return try JSONDecoder().decode(T.self, from: JSONEncoder().encode(value))
        }
    }
}

/// Encodes with River's bridge, to look at the wire shape.
private func wire<T: Encodable>(_ value: T) throws -> RiverValue {
    try RiverValueEncoder().encode(value)
}

/// Decode and round-trip tests of the generated (committed) types.
@Suite struct CodegenDecodeTests {
    @Test(arguments: TestCodec.allCases)
    func discriminatedUnionDecodesEachVariant(_ codec: TestCodec) throws {
        typealias Shape = Constructs.Shapes.Init
        let circle = RiverValue.object(["kind": .string("circle"), "radius": .double(2)])
        let square = RiverValue.object(["kind": .string("square"), "side": .double(3), "label": .string("sq")])
        let triangle = RiverValue.object(["kind": .string("big-triangle"), "points": .array([.object(["x": .double(0), "y": .double(1)])])])
        #expect(try codec.decode(Shape.self, from: circle) == .circle(.init(radius: 2)))
        #expect(try codec.decode(Shape.self, from: square) == .square(.init(side: 3, label: "sq")))
        #expect(try codec.decode(Shape.self, from: triangle) == .bigTriangle(.init(points: [.init(x: 0, y: 1)])))
        #expect(throws: DecodingError.self) {
            try codec.decode(Shape.self, from: .object(["kind": .string("hexagon")]))
        }
        for shape: Shape in [.circle(.init(radius: 2)), .square(.init(side: 3)), .bigTriangle(.init(points: []))] {
            #expect(try codec.roundTrip(shape) == shape)
        }
    }

    @Test func discriminatorIsWrittenByTheVariant() throws {
        let encoded = try wire(Constructs.Shapes.Init.bigTriangle(.init(points: [])))
        #expect(encoded == .object(["kind": .string("big-triangle"), "points": .array([])]))
    }

    @Test(arguments: TestCodec.allCases)
    func taggedUnionTriesVariantsInOrder(_ codec: TestCodec) throws {
        typealias Output = Constructs.Shapes.Output
        #expect(try codec.decode(Output.self, from: .string("a")) == .string("a"))
        #expect(try codec.decode(Output.self, from: .double(1.5)) == .number(1.5))
        #expect(try codec.decode(Output.self, from: .object(["name": .string("n")])) == .object(.init(name: "n")))
        #expect(try codec.decode(Output.self, from: .array([.bool(true)])) == .array([true]))
        #expect(try codec.decode(Output.self, from: .object(["id": .int(7)])) == .object_2(.init(id: 7)))
        #expect(throws: DecodingError.self) { try codec.decode(Output.self, from: .bool(true)) }
    }

    @Test(arguments: TestCodec.allCases)
    func declaredErrorsDecodeAndUnknownCodesStayOpen(_ codec: TestCodec) throws {
        typealias Failure = Kinds.Declared.Failure
        let notFound = try codec.decode(Failure.self, from: .object([
            "code": .string("NOT_FOUND"), "message": .string("gone"), "extras": .object(["id": .string("42")]),
        ]))
        #expect(notFound == .notFound(.init(message: "gone", extras: .init(id: "42"))))
        #expect(notFound.code == "NOT_FOUND")
        #expect(notFound.message == "gone")
        let conflict = try codec.decode(Failure.self, from: .object(["code": .string("CONFLICT"), "message": .string("c")]))
        #expect(conflict == .conflict(.init(message: "c")))
        let unknown = try codec.decode(Failure.self, from: .object(["code": .string("TEAPOT"), "message": .string("short and stout")]))
        #expect(unknown == .unknown(RiverServiceError(code: "TEAPOT", message: "short and stout")))
        #expect(unknown.code == "TEAPOT")
        #expect(try codec.roundTrip(notFound) == notFound)
    }

    @Test(arguments: TestCodec.allCases)
    func procedureDeclaredReservedCodeIsACase(_ codec: TestCodec) throws {
        // uploadable.cancellableAdd declares its own CANCEL (listed twice in the schema).
        typealias Failure = ReferenceServices.Uploadable.CancellableAdd.Failure
        let cancel = try codec.decode(Failure.self, from: .object(["code": .string("CANCEL"), "message": .string("stop")]))
        #expect(cancel == .cancel(.init(message: "stop")))
        // Other reserved codes are not cases: they fall to `.unknown` here (the runtime throws them as RiverError).
        let uncaught = try codec.decode(Failure.self, from: .object(["code": .string("UNCAUGHT_ERROR"), "message": .string("boom")]))
        #expect(uncaught == .unknown(RiverServiceError(code: "UNCAUGHT_ERROR", message: "boom")))
        let divide = try codec.decode(ReferenceServices.Fallible.Divide.Failure.self, from: .object(["code": .string("DIV_BY_ZERO"), "message": .string("/0")]))
        #expect(divide == .divByZero(.init(message: "/0")))
        let reservedOverride = try codec.decode(Kinds.CancelOverride.Failure.self, from: .object(["code": .string("UNKNOWN"), "message": .string("u")]))
        #expect(reservedOverride == .unknown_2(.init(message: "u")))
    }

    @Test func proceduresWithoutDeclaredErrorsUseRiverServiceError() {
        #expect(ReferenceServices.Test.Add.Failure.self == RiverServiceError.self)
        #expect(ReferenceServices.Uploadable.AddMultiple.Failure.self == RiverServiceError.self)
        #expect(HandshakeServices.Test.Echo.Failure.self == RiverServiceError.self)
        #expect(ReferenceServices.Test.Add.procedure == RPCProcedure(service: "test", procedure: "add"))
        #expect(ReferenceServices.Uploadable.CancellableAdd.procedure.procedureName == "cancellableAdd")
        #expect(ReferenceServices.Subscribable.Value.procedure.serviceName == "subscribable")
        #expect(ReferenceServices.Test.EchoWithPrefix.procedure.procedureName == "echoWithPrefix")
    }

    @Test(arguments: TestCodec.allCases)
    func keywordPropertiesMapToWireNames(_ codec: TestCodec) throws {
        let value = Constructs.Keywords.Init(
            from: "f", kind: "k", data3: 1.5, default: true, self_: "s", type: "T", data3_2: 2.5, kind_2: 3, class: .init(init_: "i")
        )
        #expect(try wire(value) == .object([
            "from": .string("f"), "$kind": .string("k"), "data-3": .double(1.5), "default": .bool(true),
            "self": .string("s"), "Type": .string("T"), "data3": .double(2.5), "kind": .int(3),
            "class": .object(["init": .string("i")]),
        ]))
        #expect(try codec.roundTrip(value) == value)
        let minimal = try codec.decode(Constructs.Keywords.Output.self, from: .object([
            "from": .string("f"), "$kind": .string("k"), "data-3": .double(1), "default": .bool(false), "self": .string("s"), "Type": .string("T"),
        ]))
        #expect(minimal.kind == "k" && minimal.data3 == 1 && minimal.data3_2 == nil && minimal.class == nil)
    }

    @Test(arguments: TestCodec.allCases)
    func optionalIsOmittedAndRequiredNullableIsNull(_ codec: TestCodec) throws {
        let value = Constructs.Nullable.Init(required: nil, union: nil, items: ["a", nil])
        #expect(try wire(value) == .object(["required": .null, "union": .null, "items": .array([.string("a"), .null])]))
        #expect(try codec.roundTrip(value) == value)
        let full = Constructs.Nullable.Init(required: "r", optional: 1, union: .integer(2), items: [])
        #expect(try codec.roundTrip(full) == full)
        #expect(try codec.decode(Constructs.Nullable.Output.self, from: .null) == nil)
        #expect(try codec.decode(Constructs.Nullable.Output.self, from: .object(["found": .string("x")])) == .init(found: "x"))
    }

    @Test(arguments: TestCodec.allCases)
    func constAndEnumLiterals(_ codec: TestCodec) throws {
        let value = Constructs.Literals.Init(color: .darkBlue, size: .xl)
        #expect(try wire(value) == .object(["version": .string("v1"), "color": .string("dark-blue"), "size": .string("XL")]))
        #expect(try codec.roundTrip(value) == value)
        #expect(throws: DecodingError.self) {
            try codec.decode(Constructs.Literals.Init.self, from: .object(["version": .string("v2"), "color": .string("red"), "size": .string("S")]))
        }
        #expect(try codec.decode(Constructs.Literals.Output.self, from: .string("ok")) == .ok)
        #expect(Constructs.Literals.Init.Color.allCases.map(\.rawValue) == ["red", "green", "dark-blue", "default"])
    }

    @Test(arguments: TestCodec.allCases)
    func recursiveTypesRoundTrip(_ codec: TestCodec) throws {
        typealias Node = Constructs.TreeNew.Node
        let tree = Node(
            name: "root",
            parent: Node(name: "up"),
            children: [Node(name: "a", children: [Node(name: "a1")])],
            byName: ["b": Node(name: "b")],
            owner: .init(pets: [Node(name: "pet")], best: Node(name: "best"))
        )
        #expect(try codec.roundTrip(tree) == tree)
        #expect(tree.parent?.value.name == "up")
        // Indirect is invisible on the wire.
        #expect(try wire(tree)["parent"] == .object(["name": .string("up")]))

        let old = Constructs.TreeOld.T0(value: "v", next: .init(value: "n"), children: [.init(value: "c")])
        #expect(try codec.roundTrip(old) == old)
        let expression = Constructs.Expression.Expr.object_2(.init(neg: .array([.object(.init(num: 1))])))
        #expect(try codec.roundTrip(expression) == expression)

        let reference = ReferenceServices.Test.EchoRecursive.Init(value: "r", children: [.init(value: "c")])
        #expect(try codec.roundTrip(reference) == reference)
    }

    @Test(arguments: TestCodec.allCases)
    func recordsAndIntersections(_ codec: TestCodec) throws {
        let records = Constructs.Records.Init(counts: ["a": 1, "b": 2], tags: ["t": .init(label: "L")])
        #expect(try codec.roundTrip(records) == records)
        #expect(try codec.decode(Constructs.Records.Output.self, from: .object(["k": .string("v")])) == ["k": "v"])
        let person = Constructs.Intersection.Init(id: "1", name: "n", email: "e")
        #expect(try codec.roundTrip(person) == person)
        #expect(throws: DecodingError.self) {
            try codec.decode(Constructs.Intersection.Init.self, from: .object(["id": .string("1")]))
        }
    }

    @Test(arguments: TestCodec.allCases)
    func emptyObjectsAndNever(_ codec: TestCodec) throws {
        #expect(try wire(Kinds.Client_2.Init()) == .object([:]))
        #expect(try codec.decode(ReferenceServices.Cancel.BlockingRpc.Output.self, from: .object([:])) == .init())
        #expect(throws: (any Error).self) { try codec.decode(Constructs.Nothing.Output.self, from: .object([:])) }
    }

    @Test func bytesDatesAndDynamicValues() throws {
        let value = Constructs.Primitives.Init(
            text: "t", real: 1.5, whole: 2, flag: true, nothing: nil, when: Date(timeIntervalSince1970: 1_700_000_000),
            bytes: Data([1, 2, 3]), anything: .array([.int(1)]), list: [1], matrix: [[1.5]]
        )
        let encoded = try wire(value)
        #expect(encoded["bytes"] == .bytes([1, 2, 3]))
        #expect(encoded["when"] == .date(Date(timeIntervalSince1970: 1_700_000_000)))
        #expect(encoded["nothing"] == .null)
        #expect(encoded["impossible"] == nil)
        #expect(try RiverValueDecoder().decode(Constructs.Primitives.Init.self, from: encoded) == value)
        #expect(try wire(ReferenceServices.Test.EchoBinary.Init(data: Data([9]))) == .object(["data": .bytes([9])]))
    }

    @Test func handshakeMetadataEncodes() throws {
        #expect(try wire(ReferenceServices.HandshakeMetadata(token: "secret")) == .object(["token": .string("secret")]))
        #expect(try wire(HandshakeServices.HandshakeMetadata(token: "t")) == .object(["token": .string("t")]))
        #expect(try wire(CodegenCorpus.HandshakeMetadata(token: "t", tenant: "x")) == .object(["token": .string("t"), "tenant": .string("x")]))
    }
}

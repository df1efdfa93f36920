import Foundation
import River
import RiverReferenceClient
import Testing

/// River's two wire codecs, for round trips of generated types through real frames' bytes.
enum WireCodec: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case json
    case msgpack

    var testDescription: String { rawValue }

    /// Encodes `value` as a payload, through the codec's bytes, and decodes it back.
    func roundTrip<T: Codable>(_ value: T) throws -> T {
        let bytes = try encode(value)
        return try RiverValueDecoder().decode(T.self, from: decodeValue(bytes))
    }

    /// The payload bytes of `value`.
    func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let tree = try RiverValueEncoder().encode(value)
        switch self {
        case .json: return try JSONCodec().encodeValue(tree)
        case .msgpack: return try MessagePackCodec().encodeValue(tree)
        }
    }

    func decodeValue(_ bytes: [UInt8]) throws -> RiverValue {
        switch self {
        case .json: return try JSONCodec().decodeValue(bytes)
        case .msgpack: return try MessagePackCodec().decodeValue(bytes)
        }
    }
}

/// Decodes a payload written by hand as a reference (TypeScript) server sends it in JSON.
func fromJSON<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
    try RiverValueDecoder().decode(type, from: JSONCodec().decodeValue(Array(text.utf8)))
}

/// Decodes a payload written by hand as msgpack bytes.
func fromMsgpack<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws -> T {
    try RiverValueDecoder().decode(type, from: MessagePackCodec().decodeValue(bytes))
}

/// Round trips of every construct of the corpus (`Tests/RiverCodegenTests/Corpus/constructs`)
/// through both codecs, and hand-written wire payloads decoding into the generated types.
@Suite struct CodegenRoundTripTests {
    // MARK: Literals

    typealias Consts = CorpusLiterals.Literals.Consts
    typealias Enums = CorpusLiterals.Literals.Enums

    @Test(arguments: WireCodec.allCases)
    func constsOfEveryJSONType(_ codec: WireCodec) throws {
        let value = Consts.Init(maybe: ._7)
        #expect(try codec.roundTrip(value) == value)
        #expect(try codec.roundTrip(Consts.Init()) == Consts.Init())
        for output in Consts.Output.allCases { #expect(try codec.roundTrip(output) == output) }
    }

    @Test func constsFromTheWire() throws {
        let text = #"{"text":"on","pi":3.14,"answer":42,"negative":-1,"big":1e21,"yes":true,"no":false,"nothing":null,"maybe":7}"#
        #expect(try fromJSON(Consts.Init.self, text) == Consts.Init(maybe: ._7))
        // A different literal is rejected, not coerced.
        #expect(throws: DecodingError.self) { try fromJSON(Consts.Init.self, text.replacingOccurrences(of: "42", with: "43")) }
        #expect(throws: DecodingError.self) { try fromJSON(Consts.Init.self, text.replacingOccurrences(of: "\"yes\":true", with: "\"yes\":1")) }
        // Integral literals are written as integers, as JavaScript writes them.
        #expect(try WireCodec.json.encode(Consts.Output._2) == Array("2".utf8))
        #expect(try fromMsgpack(Consts.Output.self, [0x01]) == ._1)
        #expect(try fromMsgpack(Consts.Init.Pi.self, [0xCB, 0x40, 0x09, 0x1E, 0xB8, 0x51, 0xEB, 0x85, 0x1F]) == ._3_14)
    }

    @Test(arguments: WireCodec.allCases)
    func enumsStringNumberAndMixed(_ codec: WireCodec) throws {
        for strings in Enums.Init.Strings.allCases {
            for numbers in Enums.Init.Numbers.allCases {
                for mixed in Enums.Init.Mixed.allCases {
                    let value = Enums.Init(strings: strings, numbers: numbers, mixed: mixed, legacyEnum: .x, trueAndString: .true_2)
                    #expect(try codec.roundTrip(value) == value)
                }
            }
        }
        for legacy in Enums.Init.LegacyEnum.allCases { #expect(try codec.roundTrip(legacy) == legacy) }
        for both in Enums.Init.TrueAndString.allCases { #expect(try codec.roundTrip(both) == both) }
        for output in Enums.Output.allCases { #expect(try codec.roundTrip(output) == output) }
    }

    @Test func enumsFromTheWire() throws {
        let value = try fromJSON(Enums.Init.self, #"{"strings":"c-d","numbers":-3,"mixed":null,"legacyEnum":false,"trueAndString":"true"}"#)
        #expect(value == Enums.Init(strings: .cd, numbers: .minus3, mixed: .null, legacyEnum: .false, trueAndString: .true_2))
        #expect(try fromJSON(Enums.Init.Mixed.self, "true") == .true)
        #expect(try fromJSON(Enums.Init.Mixed.self, "1") == ._1)
        #expect(try fromJSON(Enums.Init.Numbers.self, "2.5") == ._2_5)
        #expect(try fromJSON(Enums.Init.TrueAndString.self, "true") == .true)
        #expect(throws: DecodingError.self) { try fromJSON(Enums.Init.Mixed.self, "\"y\"") }
        #expect(try fromMsgpack(Enums.Output.self, [0xA4] + Array("zero".utf8)) == .zero)
    }

    // MARK: Primitives

    typealias All = CorpusPrimitives.Primitives.All

    static let allValue = All.Init(
        any: .object(["k": .array([.int(1), .null])]), unknown: .string("u"), null: nil, undefined: nil, void: nil,
        flag: true, number: 2.5, integer: 4, big: RiverBigInt("123456789012345678901234567890")!, text: "abc",
        timestamp: "2024-01-02T03:04:05.000Z", email: "a@b.c", date: Date(timeIntervalSince1970: 1_700_000_000),
        bytes: Data([1, 2, 3]), regex: "a.*", optionalBig: 7
    )

    @Test(arguments: WireCodec.allCases)
    func primitivesRoundTrip(_ codec: WireCodec) throws {
        #expect(try codec.roundTrip(Self.allValue) == Self.allValue)
        var small = Self.allValue
        small.big = -42
        small.optionalBig = nil
        #expect(try codec.roundTrip(small) == small)
        let big: CorpusPrimitives.Primitives.Bigint.Init = RiverBigInt("-9007199254740993")!
        #expect(try codec.roundTrip(big) == big)
    }

    @Test func primitivesWireShape() throws {
        // `null` is written for the required null property; `undefined`/`void` are left out.
        let tree = try RiverValueEncoder().encode(Self.allValue)
        #expect(tree["null"] == .null)
        #expect(tree["undefined"] == nil && tree["void"] == nil && tree["never"] == nil)
        let text = #"""
        {"any":{"k":[1,null]},"unknown":"u","null":null,"flag":true,"number":2.5,"integer":4,
         "big":{"$b":"123456789012345678901234567890"},"text":"abc","timestamp":"2024-01-02T03:04:05.000Z",
         "email":"a@b.c","date":"2023-11-14T22:13:20.000Z","bytes":{"$t":"AQID"},"regex":"a.*","optionalBig":{"$b":"7"}}
        """#
        #expect(try fromJSON(All.Init.self, text) == Self.allValue)
        // msgpack: a big integer is ext 0 holding the number.
        #expect(try fromMsgpack(CorpusPrimitives.Primitives.Bigint.Init.self, [0xD4, 0x00, 0x2A]) == 42)
        #expect(throws: DecodingError.self) { try fromJSON(All.Init.self, text.replacingOccurrences(of: "\"flag\":true,", with: "\"never\":1,\"flag\":true,")) }
    }

    // MARK: Arrays and tuples

    typealias Tuples = CorpusArraysTuples.Arrays.Tuples

    static let tuplesValue = Tuples.Init(
        pair034: .init("a", 1), pair1x: .init("b", 2), itemsFalse: .init(true), empty: .init(),
        optionalTail: .init("c", nil, nil), withRest: .init("d", rest: [1, 2, 3]), nested: [.init("e", 5)]
    )

    @Test(arguments: WireCodec.allCases)
    func arraysAndTuplesRoundTrip(_ codec: WireCodec) throws {
        let arrays = CorpusArraysTuples.Arrays.Arrays_2.Init(tags: ["x", "y"], matrix: [[1, 2], []], anything: [.bool(true), .string("s")])
        #expect(try codec.roundTrip(arrays) == arrays)
        #expect(try codec.roundTrip(Self.tuplesValue) == Self.tuplesValue)
        var full = Self.tuplesValue
        full.optionalTail = .init("c", 1.5, false)
        #expect(try codec.roundTrip(full) == full)
        full.optionalTail = .init("c", nil, false)
        #expect(try codec.roundTrip(full) == full)
    }

    @Test func tuplesFromTheWire() throws {
        let text = #"{"pair034":["a",1],"pair1x":["b",2],"itemsFalse":[true],"empty":[],"optionalTail":["c"],"withRest":["d",1,2,3],"nested":[["e",5]]}"#
        #expect(try fromJSON(Tuples.Init.self, text) == Self.tuplesValue)
        #expect(try fromJSON(Tuples.Init.OptionalTail.self, #"["c",null,true]"#) == .init("c", nil, true))
        // A nil item before a present one keeps its position as null; trailing nils are left out.
        #expect(try RiverValueEncoder().encode(Tuples.Init.OptionalTail("c", nil, true)) == .array([.string("c"), .null, .bool(true)]))
        #expect(try RiverValueEncoder().encode(Tuples.Init.OptionalTail("c", 1, nil)) == .array([.string("c"), .double(1)]))
        #expect(try RiverValueEncoder().encode(Tuples.Init.Pair034("a", 1)) == .array([.string("a"), .double(1)]))
        // msgpack: fixarray of 2, fixstr "a", positive fixint 1.
        #expect(try fromMsgpack(Tuples.Output.self, [0x92, 0xA1, 0x61, 0x01]) == .init("a", 1))
        #expect(throws: DecodingError.self) { try fromJSON(Tuples.Init.Pair034.self, #"["a"]"#) }
    }

    // MARK: Objects and records

    typealias Objects = CorpusObjectsRecords.Objects.Objects_2
    typealias Records = CorpusObjectsRecords.Objects.Records

    static let objectsValue = Objects.Init(
        closed: .init(a: "c"), open: .init(a: "o", additionalProperties: ["extra": .array([.int(1)])]),
        typedExtras: .init(a: "t", b: 1, additionalProperties: ["z": 26]), empty: .init(), readonlyOptional: .init(id: "r")
    )

    static let recordsValue = Records.Init(
        strings034: ["a": "b"], strings1x: ["n": 1], numericKeys: ["0": "zero", "12": "twelve"], integerKeys: ["-1": true],
        templateKeys: ["id_1": 1], twoPatterns: ["a1": .string("s"), "b1": .number(2)],
        withProperties: .init(fixed: "f", additionalProperties: ["x-trace": "t"]), additionalOnly: ["k": .init(v: 1)],
        ofRecords: ["outer": ["inner": false]]
    )

    @Test(arguments: WireCodec.allCases)
    func objectsAndRecordsRoundTrip(_ codec: WireCodec) throws {
        #expect(try codec.roundTrip(Self.objectsValue) == Self.objectsValue)
        #expect(try codec.roundTrip(Self.recordsValue) == Self.recordsValue)
    }

    @Test func objectsFromTheWire() throws {
        let text = #"{"closed":{"a":"c","ignored":1},"open":{"a":"o","extra":[1]},"typedExtras":{"a":"t","b":1,"z":26},"empty":{},"readonlyOptional":{"id":"r"}}"#
        #expect(try fromJSON(Objects.Init.self, text) == Self.objectsValue)
        // Extra properties are written back beside the declared ones.
        let tree = try RiverValueEncoder().encode(Self.objectsValue.typedExtras)
        #expect(tree == .object(["a": .string("t"), "b": .double(1), "z": .double(26)]))
        #expect(throws: DecodingError.self) { try fromJSON(Objects.Init.TypedExtras.self, #"{"a":"t","z":"not a number"}"#) }
        let records = #"{"strings034":{"a":"b"},"strings1x":{"n":1},"numericKeys":{"0":"zero","12":"twelve"},"integerKeys":{"-1":true},"templateKeys":{"id_1":1},"twoPatterns":{"a1":"s","b1":2},"withProperties":{"fixed":"f","x-trace":"t"},"additionalOnly":{"k":{"v":1}},"ofRecords":{"outer":{"inner":false}}}"#
        #expect(try fromJSON(Records.Init.self, records) == Self.recordsValue)
        #expect(try fromMsgpack(Records.Output.self, [0x81, 0xA1, 0x6B, 0x03]) == ["k": 3])
    }

    // MARK: Unions

    typealias Discriminated = CorpusUnions.Unions.Discriminated
    typealias Nested = CorpusUnions.Unions.Nested

    @Test(arguments: WireCodec.allCases)
    func unionsRoundTrip(_ codec: WireCodec) throws {
        for value: Discriminated.Output in [.circle(.init(radius: 1)), .square(.init(side: 2)), .square_2(.init(width: 3, height: 4))] {
            #expect(try codec.roundTrip(value) == value)
        }
        let nested = Nested.Init(
            nested: .bool(true), nullable: nil, undefinable: nil, both: nil, typeList: "t", withNever: "w",
            nullableUnion: .number(1), literalsAndObject: .object(.init(value: 2)), oneOf: .integer(3)
        )
        #expect(try codec.roundTrip(nested) == nested)
        let output: Nested.Output = .init(a: "a")
        #expect(try codec.roundTrip(output) == output)
    }

    @Test func unionsFromTheWire() throws {
        // Variants sharing the discriminator value: the first whose fields match.
        #expect(try fromJSON(Discriminated.Output.self, #"{"kind":"square","side":2}"#) == .square(.init(side: 2)))
        #expect(try fromJSON(Discriminated.Output.self, #"{"kind":"square","width":3,"height":4}"#) == .square_2(.init(width: 3, height: 4)))
        #expect(throws: DecodingError.self) { try fromJSON(Discriminated.Output.self, #"{"kind":"square"}"#) }
        let nested = try fromJSON(Nested.Init.self, #"{"nested":2,"nullable":null,"both":null,"typeList":null,"withNever":"w","nullableUnion":null,"literalsAndObject":"none","oneOf":"s"}"#)
        #expect(nested.nested == .number(2) && nested.nullable == nil && nested.undefinable == nil && nested.literalsAndObject == .none(.none) && nested.oneOf == .string("s"))
        // `T | null` is written as null when nil; `T | undefined` is left out.
        let tree = try RiverValueEncoder().encode(nested)
        #expect(tree["nullable"] == .null && tree["both"] == .null && tree["undefinable"] == nil)
        #expect(try fromJSON(Nested.Output.self, "null") == nil)
    }

    // MARK: Intersections

    typealias Intersections = CorpusIntersections.Intersections

    @Test(arguments: WireCodec.allCases)
    func intersectionsRoundTrip(_ codec: WireCodec) throws {
        let objects = Intersections.Objects.Init(name: "n", id: 1)
        #expect(try codec.roundTrip(objects) == objects)
        let withRecord = Intersections.Objects.Output(name: "n", additionalProperties: ["k": "v"])
        #expect(try codec.roundTrip(withRecord) == withRecord)
        for value: Intersections.WithUnion.Init in [.circle(.init(name: "c", radius: 1)), .square(.init(name: "s", side: 2))] {
            #expect(try codec.roundTrip(value) == value)
        }
        for value: Intersections.WithUnion.Output in [.object(.init(a: "a", c: 1)), .object_2(.init(a: "a", d: 2)), .object_3(.init(b: "b", c: 3)), .object_4(.init(b: "b", d: 4))] {
            #expect(try codec.roundTrip(value) == value)
        }
    }

    @Test func intersectionsFromTheWire() throws {
        #expect(try fromJSON(Intersections.Objects.Init.self, #"{"name":"n","age":3,"id":1}"#) == .init(name: "n", age: 3, id: 1))
        #expect(try fromJSON(Intersections.WithUnion.Init.self, #"{"kind":"square","name":"s","side":2}"#) == .square(.init(name: "s", side: 2)))
        #expect(try fromJSON(Intersections.WithUnion.Output.self, #"{"b":"b","d":4}"#) == .object_4(.init(b: "b", d: 4)))
        #expect(try fromJSON(Intersections.Simple.Init.self, #""x""#) == "x")
    }

    // MARK: Recursion

    typealias Old = CorpusRecursion034.Recursion
    typealias New = CorpusRecursion1x.Recursion

    @Test(arguments: WireCodec.allCases)
    func recursionRoundTripsInBothDialects(_ codec: WireCodec) throws {
        let old = Old.Tree.T0(value: "root", children: [.init(value: "leaf", children: [])])
        #expect(try codec.roundTrip(old) == old)
        let mutualOld = Old.Mutual.T1(name: "cat", owner: .init(pet: .init(name: "dog"), friend: .init()))
        #expect(try codec.roundTrip(mutualOld) == mutualOld)
        let module = Old.Mutual.A(b: .init(a: .init(), n: 1))
        #expect(try codec.roundTrip(module) == module)
        let tree = New.Tree.Tree_2(value: "root", children: [.init(value: "child")], parent: .init(value: "up"))
        #expect(try codec.roundTrip(tree) == tree)
        let expr: New.Mutual.Expr = .sum(.init(left: .number(1), right: .sum(.init(left: .number(2), right: .number(3)))))
        #expect(try codec.roundTrip(expr) == expr)
        let json = New.Mutual.Json(.record(["a": New.Mutual.Json(.array([New.Mutual.Json(.number(1)), New.Mutual.Json(nil)]))]))
        #expect(try codec.roundTrip(json) == json)
        let containers = New.Containers.Init(nested: .init([.init([])]), map: .init(["m": .init([:])]))
        #expect(try codec.roundTrip(containers) == containers)
        typealias Shape = New.RefUnion.Shape
        let shape: Shape = .group(.init(members: [.circle(.init(radius: 1)), .group(.init(members: []))], main: .circle(.init(radius: 2))))
        #expect(try codec.roundTrip(shape) == shape)
        let aliases = New.Aliases.Ping(.init(ping: .init(.init())))
        #expect(try codec.roundTrip(aliases) == aliases)
        #expect(try fromJSON(New.Aliases.Ping.self, #"{"ping":{}}"#) == aliases)
    }

    @Test func unionsOfReferencesAreDiscriminated() throws {
        typealias Shape = New.RefUnion.Shape
        let text = #"{"kind":"group","members":[{"kind":"circle","radius":1}],"main":{"kind":"circle","radius":2}}"#
        #expect(try fromJSON(Shape.self, text) == .group(.init(members: [.circle(.init(radius: 1))], main: .circle(.init(radius: 2)))))
        // The discriminator names the variant: an unknown value is an error naming it, not a guess.
        #expect(throws: DecodingError.self) { try fromJSON(Shape.self, #"{"kind":"square","radius":1}"#) }
    }

    @Test func recursionFromTheWire() throws {
        let tree = try fromJSON(New.Tree.Tree_2.self, #"{"value":"a","children":[{"value":"b","children":[]}],"parent":{"value":"p"}}"#)
        #expect(tree.children?.first?.value == "b" && tree.parent?.value.value == "p")
        #expect(try fromJSON(New.Mutual.Expr.self, #"{"left":1,"right":{"left":2,"right":3}}"#) == .sum(.init(left: .number(1), right: .sum(.init(left: .number(2), right: .number(3))))))
        #expect(try fromJSON(New.Mutual.Json.self, #"{"a":[1,null,"s",true]}"#) == New.Mutual.Json(.record(["a": New.Mutual.Json(.array([New.Mutual.Json(.number(1)), New.Mutual.Json(nil), New.Mutual.Json(.string("s")), New.Mutual.Json(.bool(true))]))])))
        #expect(try fromJSON(Old.Tree.Output.self, #"[{"value":"x"}]"#) == [Old.Tree.T0(value: "x")])
        #expect(try fromJSON(New.Containers.Output.self, #"[{"value":"x"}]"#) == .init(.init(value: "x")))
    }

    // MARK: Unknown types, handshake

    @Test(arguments: WireCodec.allCases)
    func unknownTypesAreDynamicValues(_ codec: WireCodec) throws {
        let value = CorpusUnsafe.Unsafe.Unsafe_2.Init(custom: .int(1), symbol: .string("s"), function: .null, notString: .array([]))
        #expect(try codec.roundTrip(value) == value)
        #expect(try fromJSON(CorpusUnsafe.Unsafe.Unsafe_2.Output.self, #"{"any":"thing"}"#) == .object(["any": .string("thing")]))
    }

    // MARK: The mixed schema

    @Test(arguments: WireCodec.allCases)
    func mixedSchemaRoundTrips(_ codec: WireCodec) throws {
        typealias Events = CorpusMixed.Chat.Events
        let user = Events.Output.Joined.User(
            id: "u", name: "Ada", roles: [.admin, .guest], age: nil, createdAt: Date(timeIntervalSince1970: 1), avatar: Data([0xFF]),
            balance: RiverBigInt("18446744073709551616"), settings: ["dark": .bool(true)], location: .init(51.5, -0.1)
        )
        for event: Events.Output in [.joined(.init(user: user)), .left(.init(userId: "u")), .left(.init(userId: "u", reason: "bye")), .message(.init(text: "hi", mentions: [], at: "2024-01-01T00:00:00Z"))] {
            #expect(try codec.roundTrip(event) == event)
        }
        let metadata = CorpusMixed.HandshakeMetadata(token: "t", client: .init(version: .init(1, 2, 3), platform: .linux), flags: ["beta": true])
        #expect(try codec.roundTrip(metadata) == metadata)
        let say: CorpusMixed.Chat.Converse.Input = .react(.init(emoji: "👍", to: .init("m1", 3)))
        #expect(try codec.roundTrip(say) == say)
        let upload = CorpusMixed.Files.Upload.Output(size: 3, digest: Data(repeating: 1, count: 32))
        #expect(try codec.roundTrip(upload) == upload)
    }

    @Test func mixedSchemaFromTheWire() throws {
        typealias Events = CorpusMixed.Chat.Events
        let joined = try fromJSON(Events.Output.self, #"{"type":"joined","user":{"id":"u","name":"Ada","roles":["member"],"age":null,"createdAt":"1970-01-01T00:00:01.000Z","location":[1,2]}}"#)
        guard case .joined(let event) = joined else { Issue.record("expected joined"); return }
        #expect(event.user.roles == [.member] && event.user.age == nil && event.user.location == .init(1, 2))
        #expect(try fromJSON(Events.Output.self, #"{"type":"left","userId":"u"}"#) == .left(.init(userId: "u")))
        let failure = try fromJSON(CorpusMixed.Users.Update.Failure.self, #"{"code":"CONFLICT","message":"m","extras":{"version":3}}"#)
        #expect(failure == .conflict(.init(message: "m", extras: .init(version: 3))))
        #expect(try fromJSON(CorpusMixed.Files.Upload.Init.self, #"{"name":"n","mime":0}"#).mime == ._0)
    }

    // MARK: Hand-written msgpack

    @Test func msgpackPayloadsFromTheWire() throws {
        typealias Primitives = CorpusPrimitives.Primitives
        // bin 8 of 3 bytes.
        #expect(try fromMsgpack(Primitives.Date_2.Output.self, [0xC4, 0x03, 0x01, 0x02, 0x03]) == Data([1, 2, 3]))
        // timestamp 32 (ext -1): one second after the epoch.
        #expect(try fromMsgpack(Primitives.Date_2.Init.self, [0xD6, 0xFF, 0x00, 0x00, 0x00, 0x01]) == Date(timeIntervalSince1970: 1))
        // ext 0 holding a decimal string: a big integer beyond 2^53.
        let digits = Array("18446744073709551616".utf8)
        #expect(try fromMsgpack(Primitives.Bigint.Init.self, [0xC7, UInt8(digits.count + 1), 0x00, 0xA0 | UInt8(digits.count)] + digits) == RiverBigInt("18446744073709551616"))
        // {kind: "circle", radius: 1}
        let circle: [UInt8] = [0x82, 0xA4] + Array("kind".utf8) + [0xA6] + Array("circle".utf8) + [0xA6] + Array("radius".utf8) + [0x01]
        #expect(try fromMsgpack(Discriminated.Init.self, circle) == .circle(.init(radius: 1)))
        // nil for a nullable payload.
        #expect(try fromMsgpack(Nested.Output.self, [0xC0]) == nil)
        // [1, null, "s"] into the recursive JSON type.
        let json = try fromMsgpack(New.Mutual.Json.self, [0x93, 0x01, 0xC0, 0xA1, 0x73])
        #expect(json == New.Mutual.Json(.array([New.Mutual.Json(.number(1)), New.Mutual.Json(nil), New.Mutual.Json(.string("s"))])))
    }
}

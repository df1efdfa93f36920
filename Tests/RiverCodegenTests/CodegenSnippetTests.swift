import RiverCodegen
import Testing

/// Snippet tests: one schema fragment per construct → the exact Swift the generator emits.
@Suite struct CodegenSnippetTests {
    @Test func objectWithRequiredAndOptionalProperties() throws {
        let schema = #"{"type":"object","required":["id"],"properties":{"id":{"type":"integer"},"note":{"type":"string"}}}"#
        let expected = #"""
        // fragment
        /// The type of `fragment`.
        public struct Value: Sendable, Hashable, Codable {
            /// The `id` field.
            public var id: Int
            /// The `note` field.
            public var note: String?

            /// Creates a value.
            /// - Parameters:
            ///   - id: The `id` field.
            ///   - note: The `note` field.
            public init(id: Int, note: String? = nil) {
                self.id = id
                self.note = note
            }
        }

        """#
        #expect(try renderSnippet(schema) == expected)
    }

    @Test func propertyNamesThatAreNotIdentifiers() throws {
        let schema = #"{"type":"object","required":["from","$kind","data-3","default","self","Type"],"properties":{"from":{"type":"string"},"$kind":{"type":"string"},"data-3":{"type":"number"},"default":{"type":"boolean"},"self":{"type":"string"},"Type":{"type":"string"},"data3":{"type":"number"}}}"#
        let expected = #"""
        // fragment
        /// The type of `fragment`.
        public struct Value: Sendable, Hashable, Codable {
            /// The `from` field.
            public var from: String
            /// The `$kind` field.
            public var kind: String
            /// The `data-3` field.
            public var data3: Double
            /// The `default` field.
            public var `default`: Bool
            /// The `self` field.
            public var self_: String
            /// The `Type` field.
            public var type: String
            /// The `data3` field.
            public var data3_2: Double?

            /// Creates a value.
            /// - Parameters:
            ///   - from: The `from` field.
            ///   - kind: The `$kind` field.
            ///   - data3: The `data-3` field.
            ///   - default: The `default` field.
            ///   - self_: The `self` field.
            ///   - type: The `Type` field.
            ///   - data3_2: The `data3` field.
            public init(
                from: String,
                kind: String,
                data3: Double,
                `default`: Bool,
                self_: String,
                type: String,
                data3_2: Double? = nil
            ) {
                self.from = from
                self.kind = kind
                self.data3 = data3
                self.`default` = `default`
                self.self_ = self_
                self.type = type
                self.data3_2 = data3_2
            }

            private enum CodingKeys: String, CodingKey {
                case from
                case kind = "$kind"
                case data3 = "data-3"
                case `default`
                case self_ = "self"
                case type = "Type"
                case data3_2 = "data3"
            }
        }

        """#
        #expect(try renderSnippet(schema) == expected)
    }

    @Test func bytesDateNullNeverAndAny() throws {
        let schema = #"{"type":"object","required":["b","d","n","z"],"properties":{"b":{"type":"Uint8Array"},"d":{"type":"Date"},"n":{"type":"null"},"z":{"not":{}},"any":{}}}"#
        let expected = #"""
        // fragment
        /// The type of `fragment`.
        public struct Value: Sendable, Hashable, Codable {
            /// The `b` field.
            public var b: Data
            /// The `d` field.
            public var d: Date
            /// The `n` field.
            public var n: Never?
            /// The `z` field.
            public var z: Never?
            /// The `any` field.
            public var any: RiverValue?

            /// Creates a value.
            /// - Parameters:
            ///   - b: The `b` field.
            ///   - d: The `d` field.
            ///   - n: The `n` field.
            ///   - z: The `z` field.
            ///   - any: The `any` field.
            public init(b: Data, d: Date, n: Never?, z: Never? = nil, any: RiverValue? = nil) {
                self.b = b
                self.d = d
                self.n = n
                self.z = z
                self.any = any
            }

            private enum CodingKeys: String, CodingKey {
                case b
                case d
                case n
                case z
                case any
            }

            /// Encodes the value; required nullable fields are written as `null` when `nil`.
            public func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(b, forKey: .b)
                try container.encode(d, forKey: .d)
                try container.encode(n, forKey: .n)
                try container.encodeIfPresent(z, forKey: .z)
                try container.encodeIfPresent(any, forKey: .any)
            }
        }

        """#
        #expect(try renderSnippet(schema) == expected)
    }

    @Test func constLiteral() throws {
        let schema = #"{"type":"string","const":"ok"}"#
        let expected = #"""
        // fragment
        /// The type of `fragment`.
        public enum Value: String, Sendable, Hashable, Codable, CaseIterable {
            /// `ok`.
            case ok
        }

        """#
        #expect(try renderSnippet(schema) == expected)
    }

    @Test func stringEnum() throws {
        let schema = #"{"enum":["red","dark-blue","default"]}"#
        let expected = #"""
        // fragment
        /// The type of `fragment`.
        public enum Value: String, Sendable, Hashable, Codable, CaseIterable {
            /// `red`.
            case red
            /// `dark-blue`.
            case darkBlue = "dark-blue"
            /// `default`.
            case `default`
        }

        """#
        #expect(try renderSnippet(schema) == expected)
    }

    @Test func discriminatedUnion() throws {
        let schema = #"{"anyOf":[{"type":"object","required":["kind","r"],"properties":{"kind":{"type":"string","const":"circle"},"r":{"type":"number"}}},{"type":"object","required":["kind"],"properties":{"kind":{"type":"string","const":"dot"}}}]}"#
        let expected = #"""
        // fragment
        /// The type of `fragment`.
        public enum Value: Sendable, Hashable, Codable {
            /// `circle`.
            case circle(Circle)
            /// `dot`.
            case dot(Dot)

            private enum DiscriminatorKey: String, CodingKey {
                case discriminator = "kind"
            }

            /// Decodes the variant that `kind` names.
            public init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: DiscriminatorKey.self)
                switch try container.decode(String.self, forKey: .discriminator) {
                case "circle": self = .circle(try Circle(from: decoder))
                case "dot": self = .dot(try Dot(from: decoder))
                case let other:
                    throw DecodingError.dataCorruptedError(
                        forKey: .discriminator, in: container, debugDescription: "unknown kind \(other)"
                    )
                }
            }

            /// Encodes the variant, `kind` included.
            public func encode(to encoder: any Encoder) throws {
                switch self {
                case .circle(let value): try value.encode(to: encoder)
                case .dot(let value): try value.encode(to: encoder)
                }
            }

            // fragment.anyOf.0
            /// The `kind` = `circle` variant.
            public struct Circle: Sendable, Hashable, Codable {
                /// The `kind` field.
                public var kind: Kind
                /// The `r` field.
                public var r: Double

                /// Creates a value.
                /// - Parameters:
                ///   - r: The `r` field.
                public init(r: Double) {
                    self.kind = .circle
                    self.r = r
                }

                // fragment.anyOf.0.properties.kind
                /// The only value `kind` takes.
                public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
                    /// `circle`.
                    case circle
                }
            }

            // fragment.anyOf.1
            /// The `kind` = `dot` variant.
            public struct Dot: Sendable, Hashable, Codable {
                /// The `kind` field.
                public var kind: Kind

                /// Creates a value.
                public init() {
                    self.kind = .dot
                }

                // fragment.anyOf.1.properties.kind
                /// The only value `kind` takes.
                public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
                    /// `dot`.
                    case dot
                }
            }
        }

        """#
        #expect(try renderSnippet(schema) == expected)
    }

    @Test func taggedUnion() throws {
        let schema = #"{"anyOf":[{"type":"string"},{"type":"array","items":{"type":"integer"}},{"type":"object","properties":{"x":{"type":"number"}}}]}"#
        let expected = #"""
        // fragment
        /// The type of `fragment`.
        public enum Value: Sendable, Hashable, Codable {
            /// Variant 1: `fragment.anyOf.0`.
            case string(String)
            /// Variant 2: `fragment.anyOf.1`.
            case array([Int])
            /// Variant 3: `fragment.anyOf.2`.
            case object(Object)

            /// Decodes the first variant, in schema order, that accepts the value.
            public init(from decoder: any Decoder) throws {
                if let value = try? String(from: decoder) {
                    self = .string(value)
                    return
                }
                if let value = try? [Int](from: decoder) {
                    self = .array(value)
                    return
                }
                if let value = try? Object(from: decoder) {
                    self = .object(value)
                    return
                }
                throw DecodingError.dataCorrupted(
                    DecodingError.Context(codingPath: decoder.codingPath, debugDescription: "no variant of Value matches")
                )
            }

            /// Encodes the variant's value.
            public func encode(to encoder: any Encoder) throws {
                switch self {
                case .string(let value): try value.encode(to: encoder)
                case .array(let value): try value.encode(to: encoder)
                case .object(let value): try value.encode(to: encoder)
                }
            }

            // fragment.anyOf.2
            /// The type of `fragment.anyOf.2`.
            public struct Object: Sendable, Hashable, Codable {
                /// The `x` field.
                public var x: Double?

                /// Creates a value.
                /// - Parameters:
                ///   - x: The `x` field.
                public init(x: Double? = nil) {
                    self.x = x
                }
            }
        }

        """#
        #expect(try renderSnippet(schema) == expected)
    }

    @Test func nullableProperties() throws {
        let schema = #"{"type":"object","required":["a","c"],"properties":{"a":{"anyOf":[{"type":"string"},{"type":"null"}]},"b":{"anyOf":[{"type":"string"},{"type":"null"}]},"c":{"type":"number"}}}"#
        let expected = #"""
        // fragment
        /// The type of `fragment`.
        public struct Value: Sendable, Hashable, Codable {
            /// The `a` field.
            public var a: String?
            /// The `b` field.
            public var b: String?
            /// The `c` field.
            public var c: Double

            /// Creates a value.
            /// - Parameters:
            ///   - a: The `a` field.
            ///   - b: The `b` field.
            ///   - c: The `c` field.
            public init(a: String?, b: String? = nil, c: Double) {
                self.a = a
                self.b = b
                self.c = c
            }

            private enum CodingKeys: String, CodingKey {
                case a
                case b
                case c
            }

            /// Encodes the value; required nullable fields are written as `null` when `nil`.
            public func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(a, forKey: .a)
                try container.encodeIfPresent(b, forKey: .b)
                try container.encode(c, forKey: .c)
            }
        }

        """#
        #expect(try renderSnippet(schema) == expected)
    }

    @Test func allOfIntersection() throws {
        let schema = #"{"allOf":[{"type":"object","required":["id"],"properties":{"id":{"type":"string"}}},{"type":"object","required":["name"],"properties":{"name":{"type":"string"},"id":{"type":"string"}}}]}"#
        let expected = #"""
        // fragment
        /// The type of `fragment`.
        public struct Value: Sendable, Hashable, Codable {
            /// The `id` field.
            public var id: String
            /// The `name` field.
            public var name: String

            /// Creates a value.
            /// - Parameters:
            ///   - id: The `id` field.
            ///   - name: The `name` field.
            public init(id: String, name: String) {
                self.id = id
                self.name = name
            }
        }

        """#
        #expect(try renderSnippet(schema) == expected)
    }

    @Test func recordsBothPatterns() throws {
        let schema = #"{"type":"object","required":["a","b"],"properties":{"a":{"type":"object","patternProperties":{"^(.*)$":{"type":"number"}}},"b":{"type":"object","patternProperties":{"^.*$":{"type":"object","required":["v"],"properties":{"v":{"type":"boolean"}}}}}}}"#
        let expected = #"""
        // fragment
        /// The type of `fragment`.
        public struct Value: Sendable, Hashable, Codable {
            /// The `a` field.
            public var a: [String: Double]
            /// The `b` field.
            public var b: [String: BValue]

            /// Creates a value.
            /// - Parameters:
            ///   - a: The `a` field.
            ///   - b: The `b` field.
            public init(a: [String: Double], b: [String: BValue]) {
                self.a = a
                self.b = b
            }

            // fragment.properties.b.patternProperties.^.*$
            /// The type of `fragment.properties.b.patternProperties.^.*$`.
            public struct BValue: Sendable, Hashable, Codable {
                /// The `v` field.
                public var v: Bool

                /// Creates a value.
                /// - Parameters:
                ///   - v: The `v` field.
                public init(v: Bool) {
                    self.v = v
                }
            }
        }

        """#
        #expect(try renderSnippet(schema) == expected)
    }

    @Test func recursionWithDefs() throws {
        let schema = #"{"$defs":{"Node":{"type":"object","required":["value"],"properties":{"value":{"type":"string"},"next":{"$ref":"Node"},"children":{"type":"array","items":{"$ref":"Node"}}},"$id":"Node"}},"$ref":"Node"}"#
        let expected = #"""
        // fragment
        /// The type of `fragment`.
        public typealias Value = Node

        // fragment.$defs.Node
        /// `Node`, a named type of the schema (`$id`/`$defs`), which may be recursive.
        public struct Node: Sendable, Hashable, Codable {
            /// The `value` field.
            public var value: String
            /// The `next` field.
            public var next: Indirect<Node>?
            /// The `children` field.
            public var children: [Node]?

            /// Creates a value.
            /// - Parameters:
            ///   - value: The `value` field.
            ///   - next: The `next` field.
            ///   - children: The `children` field.
            public init(value: String, next: Node? = nil, children: [Node]? = nil) {
                self.value = value
                self.next = next.map { Indirect($0) }
                self.children = children
            }
        }

        /// A value stored out of line, so that a struct can contain itself (recursive schemas).
        public indirect enum Indirect<Wrapped: Sendable & Hashable & Codable>: Sendable, Hashable, Codable {
            /// The boxed value.
            case boxed(Wrapped)

            /// Boxes a value.
            /// - Parameter value: The value.
            public init(_ value: Wrapped) {
                self = .boxed(value)
            }

            /// The value.
            public var value: Wrapped {
                switch self { case .boxed(let value): value }
            }

            /// Decodes the value itself (no wrapper on the wire).
            public init(from decoder: any Decoder) throws {
                self = .boxed(try Wrapped(from: decoder))
            }

            /// Encodes the value itself (no wrapper on the wire).
            public func encode(to encoder: any Encoder) throws {
                try value.encode(to: encoder)
            }
        }

        """#
        #expect(try renderSnippet(schema) == expected)
    }

    @Test func recursionWithInlineID() throws {
        let schema = #"{"$id":"T0","type":"object","properties":{"value":{"type":"string"},"children":{"type":"array","items":{"$ref":"T0"}}},"required":["value"]}"#
        let expected = #"""
        // fragment
        /// The type of `fragment`.
        public typealias Value = T0

        // fragment
        /// `T0`, a named type of the schema (`$id`/`$defs`), which may be recursive.
        public struct T0: Sendable, Hashable, Codable {
            /// The `value` field.
            public var value: String
            /// The `children` field.
            public var children: [T0]?

            /// Creates a value.
            /// - Parameters:
            ///   - value: The `value` field.
            ///   - children: The `children` field.
            public init(value: String, children: [T0]? = nil) {
                self.value = value
                self.children = children
            }
        }

        """#
        #expect(try renderSnippet(schema) == expected)
    }

    @Test func descriptionsBecomeDocComments() throws {
        let schema = #"{"description":"A point.\nIn two dimensions.","type":"object","required":["x"],"properties":{"x":{"type":"number","description":"The x coordinate."}}}"#
        let expected = #"""
        // fragment
        /// A point.
        /// In two dimensions.
        public struct Value: Sendable, Hashable, Codable {
            /// The x coordinate.
            public var x: Double

            /// Creates a value.
            /// - Parameters:
            ///   - x: The `x` field.
            public init(x: Double) {
                self.x = x
            }
        }

        """#
        #expect(try renderSnippet(schema) == expected)
    }

    @Test func nullableTopLevelUnion() throws {
        let schema = #"{"anyOf":[{"type":"string"},{"type":"null"}]}"#
        let expected = #"""
        // fragment
        /// The type of `fragment`.
        public typealias Value = String?

        """#
        #expect(try renderSnippet(schema) == expected)
    }

    @Test func unionOfLiteralsIsAStringEnum() throws {
        let schema = #"{"anyOf":[{"type":"string","const":"a"},{"type":"string","const":"b"}]}"#
        let expected = #"""
        // fragment
        /// The type of `fragment`.
        public enum Value: String, Sendable, Hashable, Codable, CaseIterable {
            /// `a`.
            case a
            /// `b`.
            case b
        }

        """#
        #expect(try renderSnippet(schema) == expected)
    }

    @Test func nestedObjectAndFixedConstProperty() throws {
        let schema = #"{"type":"object","required":["inner"],"properties":{"inner":{"type":"object","required":["kind"],"properties":{"kind":{"type":"string","const":"fixed"}}}}}"#
        let expected = #"""
        // fragment
        /// The type of `fragment`.
        public struct Value: Sendable, Hashable, Codable {
            /// The `inner` field.
            public var inner: Inner

            /// Creates a value.
            /// - Parameters:
            ///   - inner: The `inner` field.
            public init(inner: Inner) {
                self.inner = inner
            }

            // fragment.properties.inner
            /// The type of `fragment.properties.inner`.
            public struct Inner: Sendable, Hashable, Codable {
                /// The `kind` field.
                public var kind: Kind

                /// Creates a value.
                public init() {
                    self.kind = .fixed
                }

                // fragment.properties.inner.properties.kind
                /// The only value `kind` takes.
                public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
                    /// `fixed`.
                    case fixed
                }
            }
        }

        """#
        #expect(try renderSnippet(schema) == expected)
    }
}

/// A parsed River serialized schema: the output of the parse stage.
public struct RiverSchema: Sendable, Hashable {
    /// The services, in schema order.
    public var services: [Service]
    /// The handshake metadata schema, when the server declares one.
    public var handshakeSchema: JSONSchema?

    /// Creates a schema.
    public init(services: [Service], handshakeSchema: JSONSchema?) {
        self.services = services
        self.handshakeSchema = handshakeSchema
    }

    /// One River service.
    public struct Service: Sendable, Hashable {
        /// The service name on the wire.
        public var name: String
        /// The procedures, in schema order.
        public var procedures: [Procedure]
        /// The JSON path, `services.<name>`.
        public var path: String
    }

    /// One procedure of a service.
    public struct Procedure: Sendable, Hashable {
        /// The procedure name on the wire.
        public var name: String
        /// rpc, upload, subscription or stream.
        public var kind: Kind
        /// The init payload schema.
        public var initSchema: JSONSchema
        /// The request payload schema (upload and stream only).
        public var input: JSONSchema?
        /// The response payload schema.
        public var output: JSONSchema
        /// The error union schema, when present.
        public var errors: JSONSchema?
        /// The procedure's description.
        public var description: String?
        /// The JSON path, `services.<service>.procedures.<name>`.
        public var path: String
    }

    /// The four procedure kinds.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// One init in, one result out.
        case rpc
        /// Init and requests in, one result out.
        case upload
        /// Init in, results out.
        case subscription
        /// Init and requests in, results out.
        case stream
    }
}

/// A node of a (TypeBox-flavoured) JSON Schema type tree.
public struct JSONSchema: Sendable, Hashable {
    /// The dotted JSON path of this node.
    public var path: String
    /// What the node describes.
    public var kind: Kind
    /// The `description` keyword.
    public var description: String?
    /// The `$id` keyword (TypeBox 0.34 recursion, and 1.x `$defs` entries).
    public var id: String?
    /// The `$defs` entries, in order (TypeBox 1.x recursion).
    public var definitions: [Definition]
    /// The node's JSON, keys sorted: equal for structurally equal nodes.
    public var canonicalText: String
    /// Constraints the Swift type does not express (`format: date-time`, `minItems: 1`, record
    /// key patterns), kept for doc comments.
    public var notes: [String]

    /// Creates a node.
    public init(path: String, kind: Kind, description: String? = nil, id: String? = nil, definitions: [Definition] = [], canonicalText: String = "", notes: [String] = []) {
        self.path = path
        self.kind = kind
        self.description = description
        self.id = id
        self.definitions = definitions
        self.canonicalText = canonicalText
        self.notes = notes
    }

    /// A named entry of `$defs`.
    public struct Definition: Sendable, Hashable {
        /// The key in `$defs`.
        public var name: String
        /// The definition.
        public var schema: JSONSchema

        /// Creates a definition.
        public init(name: String, schema: JSONSchema) {
            self.name = name
            self.schema = schema
        }
    }

    /// A property of an object schema.
    public struct Property: Sendable, Hashable {
        /// The name on the wire.
        public var name: String
        /// The property's schema.
        public var schema: JSONSchema
        /// Whether the property is listed in `required`.
        public var isRequired: Bool

        /// Creates a property.
        public init(name: String, schema: JSONSchema, isRequired: Bool) {
            self.name = name
            self.schema = schema
            self.isRequired = isRequired
        }
    }

    /// What a node describes.
    public indirect enum Kind: Sendable, Hashable {
        /// `{}`, `Type.Any()`, `Type.Unknown()`, or a node with only constraint keywords: any value.
        case any
        /// `{"not": {}}`: no value at all.
        case never
        /// `{"type": "undefined"}` or `{"type": "void"}`: no value (the key is left out).
        case undefined
        /// `{"type": "string"}` (also `RegExp`, whose values are strings).
        case string
        /// `{"type": "number"}`.
        case number
        /// `{"type": "integer"}`.
        case integer
        /// `{"type": "bigint"}`.
        case bigInt
        /// `{"type": "boolean"}`.
        case boolean
        /// `{"type": "null"}`.
        case null
        /// `{"type": "Uint8Array"}`.
        case bytes
        /// `{"type": "Date"}`.
        case date
        /// `{"const": …}`: one literal.
        case constant(JSONLiteral)
        /// `{"enum": […]}`: one of some literals.
        case enumeration([JSONLiteral])
        /// `{"type": "array", "items": …}`.
        case array(JSONSchema)
        /// `{"type": "array", "items": […]}` (TypeBox 0.34) or `"prefixItems": […]` (1.x): a tuple.
        case tuple(Tuple)
        /// `{"type": "object", "properties": …}`, with the schema of properties it does not name
        /// when `additionalProperties` or `patternProperties` allows them (`nil`: ignored).
        case object([Property], additional: JSONSchema?)
        /// `{"type": "object", "patternProperties": {…}}` (or `additionalProperties` only): a map.
        case record(JSONSchema)
        /// `{"anyOf": […]}`.
        case anyOf([JSONSchema])
        /// `{"allOf": […]}`.
        case allOf([JSONSchema])
        /// `{"$ref": "<id>"}`: a reference to the schema whose `$id` is the given name.
        case ref(String)
        /// A `type` no River codec carries as such (TypeBox `Unsafe`, `Function`, `Symbol`, …):
        /// kept as a dynamic value.
        case unknown(String)
    }

    /// The items of a tuple.
    public struct Tuple: Sendable, Hashable {
        /// The positional items, in order.
        public var items: [JSONSchema]
        /// How many leading items are required (`minItems`).
        public var requiredCount: Int
        /// The schema of items after the positional ones, when more are allowed.
        public var rest: JSONSchema?

        /// Creates a tuple shape.
        public init(items: [JSONSchema], requiredCount: Int, rest: JSONSchema?) {
            self.items = items
            self.requiredCount = requiredCount
            self.rest = rest
        }
    }
}

/// A JSON literal of a `const` or `enum`.
public enum JSONLiteral: Sendable, Hashable {
    /// A string.
    case string(String)
    /// A number, as its JSON text (`3`, `-1.5`, `1e3`).
    case number(String)
    /// `true` or `false`.
    case bool(Bool)
    /// `null`.
    case null

    /// The literal as JSON text.
    public var jsonText: String {
        switch self {
        case .string(let text): return JSONValue.string(text).canonicalText
        case .number(let text): return text
        case .bool(let value): return value ? "true" : "false"
        case .null: return "null"
        }
    }

    /// Whether this is a number without a fraction or exponent.
    var isIntegral: Bool {
        guard case .number(let text) = self else { return false }
        return !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" })
    }
}

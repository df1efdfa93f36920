// swift-tools-version:6.1
import PackageDescription

/// Settings every Swift target of the package shares (see docs/STYLE.md in the team notes).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "river-swift",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "River", targets: ["River"]),
        .library(name: "RiverWebSocket", targets: ["RiverWebSocket"]),
        .library(name: "RiverTesting", targets: ["RiverTesting"]),
        .library(name: "RiverTestServer", targets: ["RiverTestServer"]),
        .executable(name: "river", targets: ["river"]),
        .executable(name: "river-codegen", targets: ["river-codegen"]),
        .executable(name: "river-test-server", targets: ["river-test-server"]),
        .executable(name: "river-bench", targets: ["river-bench"]),
        .plugin(name: "RiverCodegenPlugin", targets: ["RiverCodegenPlugin"]),
        .plugin(name: "RiverCodegenBuildPlugin", targets: ["RiverCodegenBuildPlugin"]),
        .library(name: "RiverProtobuf", targets: ["RiverProtobuf"]),
        .executable(name: "protoc-gen-river-swift", targets: ["protoc-gen-river-swift"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        // Protobuf services (RiverProtobuf): the runtime only; generated code is committed. Without
        // its default traits: BinaryDelimitedStreams imports Foundation (see FoundationImportTests).
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0", traits: []),
        // Observability (#15): spans and W3C trace context, metrics. No-ops unless bootstrapped.
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
    ],
    targets: [
        // C libraries from Debian (see README: libwebsockets-dev, libmsgpack-dev).
        .systemLibrary(
            name: "CLibWebSockets",
            pkgConfig: "libwebsockets",
            providers: [.apt(["libwebsockets-dev", "libssl-dev"])]
        ),
        .systemLibrary(
            name: "CMsgPack",
            pkgConfig: "msgpack",
            providers: [.apt(["libmsgpack-dev"])]
        ),

        // The client runtime: wire model, codecs, session, transport, client.
        .target(
            name: "River",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            exclude: ["Performance/README.md"],
            swiftSettings: swiftSettings
        ),
        // Test doubles for River's connection layer (in-memory connections), for tests and
        // in-process servers; not part of the shipped client.
        .target(
            name: "RiverTesting",
            dependencies: ["River"],
            swiftSettings: swiftSettings
        ),
        // River connections over libwebsockets (client, and the listener the test server uses).
        .target(
            name: "RiverWebSocket",
            dependencies: [
                "River",
                "CLibWebSockets",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "river",
            dependencies: [
                "River",
                "RiverWebSocket",
                "RiverTestServer",
                "RiverProtobuf",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),

        // A River v2 server in Swift, for tests, benchmarks and `river demo`.
        .target(
            name: "RiverTestServer",
            dependencies: [
                "River",
                "RiverTesting",
                "RiverWebSocket",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
                "RiverProtobuf", "RiverProtobufTestService",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "TestServer/Sources/RiverTestServer",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "river-test-server",
            dependencies: [
                "RiverTestServer",
                "RiverProtobuf",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "TestServer/Sources/river-test-server",
            swiftSettings: swiftSettings
        ),

        // Code generation: River's serialized schema -> typed Swift.
        .target(
            name: "RiverCodegen",
            path: "codegen/Sources/RiverCodegen",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "river-codegen",
            dependencies: [
                "RiverCodegen",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "codegen/Sources/river-codegen",
            swiftSettings: swiftSettings
        ),
        .plugin(
            name: "RiverCodegenPlugin",
            capability: .command(
                intent: .custom(verb: "river-codegen", description: "Generate typed Swift clients from a River schema"),
                permissions: [.writeToPackageDirectory(reason: "Writes the generated Swift sources into the target")]
            ),
            dependencies: ["river-codegen"],
            path: "codegen/Plugins/RiverCodegenPlugin"
        ),
        // Generates Swift from every `<name>.river.json` in a target, as part of the build.
        .plugin(
            name: "RiverCodegenBuildPlugin",
            capability: .buildTool(),
            dependencies: ["river-codegen"],
            path: "codegen/Plugins/RiverCodegenBuildPlugin"
        ),

        // Benchmarks (run in release; they print numbers, nothing asserts a time).
        .executableTarget(
            name: "river-bench",
            dependencies: [
                "River",
                "RiverWebSocket",
                "RiverTestServer",
                "RiverProtobuf",
                "RiverProtobufTestService",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/Sources/river-bench",
            swiftSettings: swiftSettings
        ),

        // Chaos and soak (see Fuzz/README.md): a fault-injecting TCP proxy and the chaos workload,
        // shared by the chaos tests and the `river-soak` executable.
        .target(
            name: "RiverChaos",
            dependencies: ["River", "RiverTestServer"],
            path: "Tests/RiverChaos",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "river-soak",
            dependencies: [
                "River", "RiverWebSocket", "RiverTestServer", "RiverChaos",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/Sources/river-soak",
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "river-codec-bench",
            dependencies: ["River"],
            path: "Benchmarks/Sources/river-codec-bench",
            swiftSettings: swiftSettings
        ),

        // Generated clients (river-codegen output, committed) that the tests compile and call.
        .target(
            name: "RiverReferenceClient",
            dependencies: ["River"],
            path: "Tests/RiverReferenceClient",
            swiftSettings: swiftSettings
        ),

        // Runs the tests' child processes (river-codegen, swiftc, river-test-server) without
        // blocking a thread of the cooperative pool that every test shares.
        .target(
            name: "RiverTestProcess",
            path: "Tests/RiverTestProcess",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RiverTests",
            // msgpack-c: the reference the Swift msgpack writer and reader are tested against.
            dependencies: ["River", "RiverTesting", "CMsgPack"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "RiverTLSFixtures",
            path: "Tests/RiverTLSFixtures",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RiverWebSocketTests",
            dependencies: ["River", "RiverTesting", "RiverWebSocket", "RiverTLSFixtures", "RiverTestProcess"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RiverIntegrationTests",
            dependencies: [
                "River", "RiverTesting", "RiverWebSocket", "RiverTestServer", "RiverReferenceClient", "RiverChaos",
                "RiverTestProcess",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RiverObservabilityTests",
            dependencies: [
                "River", "RiverTesting", "RiverWebSocket", "RiverTestServer", "RiverReferenceClient", "RiverProtobuf",
                "RiverProtobufTestService",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RiverCLITests",
            dependencies: ["River", "RiverTestServer", "RiverWebSocket", "RiverTLSFixtures", "RiverProtobuf", "RiverTestProcess"],
            swiftSettings: swiftSettings
        ),
        // A target whose client comes from RiverCodegenBuildPlugin (fixture.river.json), built
        // with the package: the plugin's test.
        .target(
            name: "RiverCodegenPluginFixture",
            dependencies: ["River"],
            path: "Tests/RiverCodegenPluginFixture",
            swiftSettings: swiftSettings,
            plugins: ["RiverCodegenBuildPlugin"]
        ),
        .testTarget(
            name: "RiverCodegenTests",
            dependencies: ["RiverCodegen", "River", "RiverTesting", "RiverReferenceClient", "RiverCodegenPluginFixture", "RiverTestProcess"],
            exclude: ["Corpus"],
            swiftSettings: swiftSettings
        ),
    
        // Protobuf services: ProtoCodec, the protobuf client API and the dynamic codec the CLI
        // uses (see Sources/RiverProtobuf and the README's "Protobuf services").
        .target(
            name: "RiverProtobuf",
            dependencies: ["River", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: swiftSettings
        ),
        // protoc-gen-river-swift: a typed River client per proto service. The generator works on
        // SwiftProtobuf's descriptor types (no SwiftProtobufPluginLibrary: minutes of build).
        .target(
            name: "RiverProtobufCodegen",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "protoc-gen-river-swift",
            dependencies: ["RiverProtobufCodegen", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: swiftSettings
        ),
        // Code generated for Protos/river/test/test_service.proto (protoc-gen-swift and
        // protoc-gen-river-swift output, committed), used by the test server and the tests.
        .target(
            name: "RiverProtobufTestService",
            dependencies: ["River", "RiverProtobuf", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Tests/RiverProtobufTestService",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RiverProtobufTests",
            dependencies: [
                "River", "RiverTesting", "RiverWebSocket", "RiverTestServer", "RiverProtobuf", "RiverProtobufCodegen",
                "RiverProtobufTestService",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)

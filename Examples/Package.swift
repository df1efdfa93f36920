// swift-tools-version:6.1
import PackageDescription

// Examples of using River, built apart from the library so that its build stays lean. It
// depends on the repository's root package by path.
let package = Package(
    name: "river-examples",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "river-swift", path: ".."),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
    ],
    targets: [
        // A daemon: a ServiceGroup running a River client and a worker that calls through it,
        // with a console tracer and metrics backend of its own.
        .executableTarget(
            name: "river-daemon",
            dependencies: [
                .product(name: "River", package: "river-swift"),
                .product(name: "RiverWebSocket", package: "river-swift"),
                .product(name: "RiverTestServer", package: "river-swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: [
                .enableUpcomingFeature("ExistentialAny"),
                .enableUpcomingFeature("InternalImportsByDefault"),
                .enableUpcomingFeature("MemberImportVisibility"),
            ]
        )
    ]
)

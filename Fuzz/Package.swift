// swift-tools-version:6.1
// libFuzzer targets for River's codecs and session (see README.md and scripts/fuzz.sh).
// A separate package so that the main package's `swift build` never sees the fuzzer flags:
// build with `swift build --package-path Fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library`.
import Foundation
import PackageDescription

// The main package is the parent directory; a path dependency's identity is its directory name.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let river: Target.Dependency = .product(name: "River", package: root.lastPathComponent)

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "river-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "..")],
    targets: [
        .target(name: "FuzzSupport", dependencies: [river], swiftSettings: swiftSettings),
        .executableTarget(name: "FuzzJSONCodec", dependencies: ["FuzzSupport", river], swiftSettings: swiftSettings),
        .executableTarget(name: "FuzzMessagePackCodec", dependencies: ["FuzzSupport", river], swiftSettings: swiftSettings),
        .executableTarget(name: "FuzzSessionFrames", dependencies: ["FuzzSupport", river], swiftSettings: swiftSettings),
        // Compiles RiverWebSocket's frame reader and client handshake itself (symlinked sources):
        // they are `package` types, invisible from this package.
        .executableTarget(name: "FuzzWebSocketFrames", dependencies: ["FuzzSupport", river], swiftSettings: swiftSettings),
    ]
)

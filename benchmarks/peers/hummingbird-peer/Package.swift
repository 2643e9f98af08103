// swift-tools-version:6.1
// A Hummingbird hello-world for benchmarks/admin-http.sh: the same GET /v1/health answer as the switch's admin API,
// measured side by side with wrk. A comparison only: the product depends on no package (../shared/BRIEF.md).
// Build: swift build -c release --package-path benchmarks/peers/hummingbird-peer --scratch-path .build-peer
import PackageDescription

let package = Package(
    name: "hummingbird-peer",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "hummingbird-peer",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        )
    ]
)

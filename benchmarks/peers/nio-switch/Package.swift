// swift-tools-version:6.1
// A SwiftNIO mini-switch for benchmarks/nio-compare.sh: the same ISO 8583 loyalty answers as the switch (iso87ascii,
// 2-byte binary length framing, a points ledger, idempotent repeats, reversals) on idiomatic SwiftNIO, durable by
// a group-committed write-ahead log, measured side by side with the built-in load generator. A comparison only: the
// product depends on no package (../shared/BRIEF.md).
// Build: swift build -c release --package-path benchmarks/peers/nio-switch --scratch-path /work/.build-nio-peer
import PackageDescription

let package = Package(
    name: "nio-switch",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.2")
    ],
    targets: [
        .executableTarget(
            name: "nio-switch",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        )
    ]
)

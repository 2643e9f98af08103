// swift-tools-version:6.1
// The loyalty switch: no package dependencies, by design (see ../shared/BRIEF.md).
import PackageDescription

/// Kept in release builds too: preconditions guard programmer errors, and we never ship -Ounchecked.
let strictSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    // Release builds drop the run-time exclusivity checks (swift_beginAccess on class properties: ~69 per answer,
    // ~12 % of the switch's instructions by callgrind, benchmarks/RESULTS.md). Debug builds, which every test runs,
    // keep them, so a conflicting access still traps there; the compile-time checks stay in both.
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "loyalty-switch",
    products: [
        .executable(name: "loyalty-switch", targets: ["LoyaltySwitch"]),
        .library(name: "ISO8583", targets: ["ISO8583"]),
    ],
    targets: [
        // Pure ISO 8583 codec: dialect specs, message model, framing. No I/O.
        .target(name: "ISO8583", swiftSettings: strictSettings),
        // CRC32C with the CPU instruction where there is one (SSE4.2), a table otherwise. For WAL records.
        .target(name: "CCRC32C", cSettings: [.unsafeFlags(["-msse4.2"])]),
        // The system calls every other module makes the same way: EINTR retried once for all, the one monotonic
        // clock, POSIX file calls with short reads/writes continued and failures naming call and path.
        .target(name: "SystemCalls", dependencies: ["CLinux"], swiftSettings: strictSettings),
        // Sharded in-memory ledger with a write-ahead log and snapshots. No networking.
        .target(name: "Ledger", dependencies: ["CCRC32C", "Metrics", "SystemCalls"], swiftSettings: strictSettings),
        // Counters and histograms with one writer thread each (a loop, a shard), read by scrapes without locks,
        // and the Prometheus text format. Pure: no I/O.
        .target(name: "Metrics", swiftSettings: strictSettings),
        // Linux calls Glibc does not expose (epoll, eventfd, accept4); built with _GNU_SOURCE.
        .target(name: "CLinux", cSettings: [.define("_GNU_SOURCE")]),
        // The system OpenSSL (libssl-dev, found by pkg-config); its header wraps the macros Swift cannot import.
        .systemLibrary(
            name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        // TCP on epoll: event loops, connections, listeners, TLS on any listener (OpenSSL). Knows nothing of ISO
        // 8583 or loyalty.
        .target(name: "Network", dependencies: ["CLinux", "COpenSSL", "SystemCalls"], swiftSettings: strictSettings),
        // HTTP/1.1 on the network layer's loops: request parsing by offsets, keep-alive, pipelining, bounded
        // everything, a router, bounded JSON in and out, RFC 9457 problems. Knows nothing of loyalty.
        .target(name: "HTTP", dependencies: ["Network", "SystemCalls"], swiftSettings: strictSettings),
        // Member notifications: events of a source delivered to webhooks over an HTTP/1.1 client on the network
        // loops (signed, ordered per member, retried, dead-lettered), with durable progress. Knows nothing of the
        // ledger or the rules: a source hands it events.
        .target(
            name: "Notifications", dependencies: ["Network", "HTTP", "Metrics", "COpenSSL", "CCRC32C", "ISO8583", "SystemCalls"],
            swiftSettings: strictSettings),
        // Admin users, tokens and roles, the hash-chained audit journal (its own thread, group commit) and
        // remembered Idempotency-Key answers. Knows nothing of the ledger or loyalty.
        .target(name: "AdminAccess", dependencies: ["HTTP", "COpenSSL", "CCRC32C", "SystemCalls"], swiftSettings: strictSettings),
        // The authorization switch: wire contract v1 over the network layer, the codec and the ledger.
        .target(
            name: "SwitchCore",
            dependencies: [
                "ISO8583", "Ledger", "Network", "Loyalty", "LoyaltyLedger", "HTTP", "Metrics", "AdminAccess",
                "Notifications", "Reports", "CCRC32C", "COpenSSL", "SystemCalls",
            ],
            swiftSettings: strictSettings),
        // Reports as streamed RFC 4180 CSV, read from a consistent view of the books (a checkpoint and the log
        // after it, read-only), never from the serving shards' tables.
        .target(name: "Reports", dependencies: ["Ledger"], swiftSettings: strictSettings),
        // Where the ledger and the loyalty rules meet: the rules as the ledger's decider (`LoyaltyDecider`), the
        // loyalty types in the ledger's opaque decision bytes. The ledger itself knows no loyalty.
        .target(name: "LoyaltyLedger", dependencies: ["Ledger", "Loyalty"], swiftSettings: strictSettings),
        // Pure loyalty rules: program configuration from JSON and the evaluator (earning, credit, tiers, campaigns,
        // offers, caps, bonuses, redemption, expiry and coalition policy). No I/O.
        .target(name: "Loyalty", swiftSettings: strictSettings),
        // The load tester behind `loadgen`: open/closed loop client on epoll, histogram, mix, report, SVG chart.
        .target(name: "LoadGenerator", dependencies: ["ISO8583", "Network", "CLinux", "SystemCalls"], swiftSettings: strictSettings),
        // The command-line entry point: `serve`, `iso decode|encode`, `ledger verify|breakage|settlement`, `loadgen`,
        // `admin init`, `audit verify`.
        .executableTarget(
            name: "LoyaltySwitch",
            dependencies: [
                "ISO8583", "Ledger", "Loyalty", "LoyaltyLedger", "SwitchCore", "Network", "LoadGenerator",
                "AdminAccess", "HTTP", "Reports", "SystemCalls",
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "LedgerTests",
            dependencies: ["Ledger", "Loyalty", "LoyaltyLedger", "TestSupport"],
            swiftSettings: strictSettings
        ),
        // Child process for the ledger's SIGKILL crash tests (spawned by LedgerTests, not run by hand).
        .executableTarget(
            name: "ledger-crash-child",
            dependencies: ["Ledger"],
            path: "Tests/LedgerCrashChild",
            swiftSettings: strictSettings
        ),
        // Runs the built `loyalty-switch` executable as a user would (depends on it so `swift test` builds it).
        .testTarget(
            name: "CommandLineTests",
            dependencies: ["LoyaltySwitch", "ISO8583", "TestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "LoadGeneratorTests",
            dependencies: ["LoadGenerator", "ISO8583", "Network"],
            swiftSettings: strictSettings
        ),
        // End-to-end tests: the real loyalty-switch executable as a child process, driven over loopback TCP.
        .testTarget(
            name: "SwitchTests",
            dependencies: [
                "ISO8583", "SwitchCore", "Network", "Ledger", "Loyalty", "LoyaltyLedger", "HTTP", "AdminAccess",
                "Notifications", "WebhookTestSupport", "TestSupport",
            ],
            exclude: [
                "contract_client.py", "tls_client.py", "admin_client.py", "admin_burst.py", "giftcard_client.py",
                "dashboard_browser.py",
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ReportsTests",
            dependencies: ["Reports", "Ledger", "Loyalty", "LoyaltyLedger"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "LoyaltyLedgerTests",
            dependencies: ["Ledger", "Loyalty", "LoyaltyLedger"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "LoyaltyTests",
            dependencies: ["Loyalty"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SystemCallsTests",
            dependencies: ["SystemCalls"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "NetworkTests",
            dependencies: ["Network", "TestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "HTTPTests",
            dependencies: ["HTTP", "Network", "TestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "NotificationsTests",
            dependencies: ["Notifications", "Network", "WebhookTestSupport"],
            swiftSettings: strictSettings
        ),
        // A webhook receiver for the notification tests (Python's http.server as a child process), shared by the
        // module's tests and the switch's end-to-end tests.
        // What several test modules share and no product needs: the seeded generator of randomized tests.
        .target(
            name: "TestSupport", dependencies: ["CTestSpawn"], path: "Tests/TestSupport", swiftSettings: strictSettings),
        // posix_spawn with closefrom for the tests' child processes (Foundation's Process.run crashes now and then,
        // and its waitUntilExit can wait forever on the test runner's threads).
        .target(name: "CTestSpawn", path: "Tests/CTestSpawn"),
        .target(
            name: "WebhookTestSupport", dependencies: ["TestSupport"], path: "Tests/WebhookTestSupport",
            exclude: ["webhook_receiver.py"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "AdminAccessTests",
            dependencies: ["AdminAccess", "HTTP", "TestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "MetricsTests",
            dependencies: ["Metrics"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ISO8583Tests",
            dependencies: ["ISO8583", "TestSupport"],
            swiftSettings: strictSettings
        ),
        // Benchmarks: run by hand (`swift run -c release codec-bench`), numbers go to benchmarks/RESULTS.md.
        .target(name: "MallocCounter", path: "benchmarks/MallocCounter"),
        .executableTarget(
            name: "ledger-bench",
            dependencies: ["Ledger", "Metrics"],
            path: "benchmarks/ledger-bench",
            swiftSettings: strictSettings
        ),
        // The member search's index at 1M members: RAM per member, one page per filter (docs/segments.md).
        .executableTarget(
            name: "search-bench",
            dependencies: ["Ledger"],
            path: "benchmarks/search-bench",
            swiftSettings: strictSettings
        ),
        // A trivial ISO 8583 responder (0200 -> 0210 39=00) for measuring loadgen's own ceiling.
        .executableTarget(
            name: "echo-responder",
            dependencies: ["LoadGenerator", "Network"],
            path: "benchmarks/echo-responder",
            swiftSettings: strictSettings
        ),
        // A webhook receiver answering 200 at once, for the notification delivery benchmark.
        .executableTarget(
            name: "webhook-sink",
            dependencies: ["HTTP", "Network"],
            path: "benchmarks/webhook-sink",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "loyalty-bench",
            dependencies: ["Loyalty", "MallocCounter"],
            path: "benchmarks/loyalty-bench",
            swiftSettings: strictSettings
        ),
        // Field 48's basket on the request path (docs/basket.md): ns and allocations per purchase.
        .executableTarget(
            name: "basket-bench",
            dependencies: ["ISO8583", "Ledger", "SwitchCore", "MallocCounter"],
            path: "benchmarks/basket-bench",
            swiftSettings: strictSettings
        ),
        // Heap allocations per request on the switch's paths, with ceilings checked in CI (issue 17 item 3).
        .executableTarget(
            name: "alloc-check",
            dependencies: ["ISO8583", "LoadGenerator", "Network", "SwitchCore", "MallocCounter"],
            path: "benchmarks/alloc-check",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "codec-bench",
            dependencies: ["ISO8583", "MallocCounter"],
            path: "benchmarks/codec-bench",
            swiftSettings: strictSettings
        ),
    ]
)

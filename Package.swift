// swift-tools-version:6.0
// promowatch — watches a checkout service's logs for promotion abuse and payment failures.
//
// Module list = architecture; dependencies point downwards only (docs/architecture.md):
//   promowatch            the CLI: option parsing and wiring only
//   PromowatchRuntime     the run loops: analyze, watch, cron, shared watch, history, rollback
//   PromowatchActions     carries proposed actions out: the Kubernetes API (PromowatchKube), the
//                         checkout's database (PromowatchPostgres)
//   PromowatchDiagnostics reads the systems behind a finding (the checkout's PostgreSQL)
//   PromowatchStore       state: PostgreSQL (PromowatchPostgres) or the embedded store
//   PromowatchPostgres    one libpq connection (CLibPQ), parameterized statements
//   PromowatchMetrics     Prometheus text format and the /metrics endpoint (SwiftNIO)
//   PromowatchNotify      incidents to Alertmanager, Slack and webhooks (a bounded queue)
//   PromowatchReport      findings and summaries as JSON or text
//   PromowatchConfig      YAML configuration
//   PromowatchDecision    findings in, proposed actions out: blast radius, allowlist, guardrails
//   PromowatchEngine      input -> parsing -> detection for one stream of bytes
//   PromowatchDetection   minute buckets and the detectors
//   PromowatchInput       files, stdin, gzip (CInflate: ISA-L when present; CZlib), block reading
//   PromowatchParsing     framing, JSON/logfmt byte scanners, event extraction
//   PromowatchCore        plain value types, no I/O
import PackageDescription

// Hot-path modules skip Swift's dynamic exclusivity bookkeeping in release builds (static
// checks still apply). Measured: about 10% of parse time went to swift_beginAccess.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "promowatch",
    products: [
        .executable(name: "promowatch", targets: ["promowatch"]),
        .executable(name: "loggen", targets: ["loggen"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .target(name: "CByteSearch"),
        // ISA-L's inflate when the machine has it (header at build, library loaded at run time)
        .target(name: "CInflate"),
        .target(name: "PromowatchCore", swiftSettings: hotPath),
        .target(name: "PromowatchParsing", dependencies: ["PromowatchCore", "CByteSearch"], swiftSettings: hotPath),
        .target(
            name: "PromowatchInput", dependencies: ["PromowatchCore", "CZlib", "CInflate", "CByteSearch"],
            swiftSettings: hotPath),
        .target(name: "PromowatchDetection", dependencies: ["PromowatchCore", "CByteSearch"], swiftSettings: hotPath),
        .target(
            name: "PromowatchKube",
            dependencies: [
                "PromowatchCore", .product(name: "Yams", package: "Yams"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        .target(name: "PromowatchDecision", dependencies: ["PromowatchCore"]),
        .target(name: "PromowatchPostgres", dependencies: ["CLibPQ"]),
        .target(
            name: "PromowatchActions",
            dependencies: [
                "PromowatchCore", "PromowatchDecision", "PromowatchKube", "PromowatchPostgres",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        .target(
            name: "PromowatchDiagnostics", dependencies: ["PromowatchCore", "PromowatchPostgres", "PromowatchKube"]),
        .target(name: "PromowatchStore", dependencies: ["PromowatchCore", "PromowatchPostgres"]),
        .target(
            name: "PromowatchNotify",
            dependencies: [
                "PromowatchCore", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        .target(
            name: "PromowatchMetrics",
            dependencies: [
                "PromowatchCore", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        .target(name: "PromowatchReport", dependencies: ["PromowatchCore"]),
        .target(name: "PromowatchConfig", dependencies: ["PromowatchCore", .product(name: "Yams", package: "Yams")]),
        .target(
            name: "PromowatchEngine",
            dependencies: [
                "PromowatchCore", "PromowatchParsing", "PromowatchInput", "PromowatchDetection", "CByteSearch",
            ], swiftSettings: hotPath),
        .target(
            name: "PromowatchRuntime",
            dependencies: [
                "PromowatchCore", "PromowatchEngine", "PromowatchReport", "PromowatchInput", "PromowatchConfig",
                "PromowatchDetection",
                "PromowatchDecision", "PromowatchActions", "PromowatchKube", "PromowatchStore", "PromowatchParsing",
                "PromowatchDiagnostics", "PromowatchPostgres", "PromowatchMetrics", "PromowatchNotify",
            ]
        ),
        .executableTarget(
            name: "promowatch",
            dependencies: [
                "PromowatchCore", "PromowatchRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Deterministic checkout-log generator (benchmarks and scenario tests).
        .target(name: "LogGenerator", dependencies: ["PromowatchCore"], path: "benchmarks/Sources/LogGenerator"),
        .executableTarget(name: "loggen", dependencies: ["LogGenerator"], path: "benchmarks/Sources/loggen"),

        // libFuzzer targets (scripts/fuzz.sh builds them with -sanitize=fuzzer,address); in an
        // ordinary build they are empty programs.
        .target(name: "CFuzzDriver", path: "fuzz/CFuzzDriver"),
        .executableTarget(
            name: "FuzzAnalyze",
            dependencies: [
                "CFuzzDriver", "PromowatchCore", "PromowatchInput", "PromowatchEngine", "PromowatchDetection",
                "PromowatchDecision",
                "PromowatchReport",
            ], path: "fuzz/FuzzAnalyze"),
        .executableTarget(
            name: "FuzzByteSearch",
            dependencies: ["CFuzzDriver", "PromowatchCore", "PromowatchParsing", "CByteSearch"],
            path: "fuzz/FuzzByteSearch"),

        // What end-to-end tests share: the binary runner, the test API server, PostgreSQL, seeds.
        .target(
            name: "PromowatchTestSupport", dependencies: ["PromowatchKube", "LogGenerator"],
            path: "Tests/PromowatchTestSupport"),

        .testTarget(name: "PromowatchCoreTests", dependencies: ["PromowatchCore"]),
        .testTarget(name: "PromowatchKubeTests", dependencies: ["PromowatchKube", "PromowatchTestSupport"]),
        .testTarget(
            name: "PromowatchParsingTests", dependencies: ["PromowatchParsing", "PromowatchCore", "CByteSearch"]),
        .testTarget(
            name: "PromowatchInputTests", dependencies: ["PromowatchInput", "PromowatchCore", "PromowatchTestSupport"]),
        .testTarget(
            name: "PromowatchDetectionTests",
            dependencies: ["PromowatchDetection", "PromowatchDecision", "PromowatchCore", "PromowatchTestSupport"]),
        .testTarget(name: "PromowatchDecisionTests", dependencies: ["PromowatchDecision", "PromowatchCore"]),
        .testTarget(name: "PromowatchConfigTests", dependencies: ["PromowatchConfig", "PromowatchCore"]),
        .testTarget(
            name: "PromowatchActionsTests",
            dependencies: [
                "PromowatchActions", "PromowatchDecision", "PromowatchKube", "PromowatchCore", "PromowatchStore",
                "PromowatchDiagnostics", "PromowatchPostgres",
                "LogGenerator", "promowatch", "PromowatchTestSupport", .product(name: "Yams", package: "Yams"),
            ]),
        .testTarget(
            name: "PromowatchStoreTests", dependencies: ["PromowatchStore", "PromowatchCore", "PromowatchTestSupport"]),
        .testTarget(name: "PromowatchReportTests", dependencies: ["PromowatchReport", "PromowatchCore"]),
        .testTarget(
            name: "PromowatchEngineTests",
            dependencies: [
                "PromowatchEngine", "PromowatchDetection", "PromowatchDecision", "PromowatchCore", "LogGenerator",
                "PromowatchTestSupport",
            ]),
        .testTarget(name: "LogGeneratorTests", dependencies: ["LogGenerator", "PromowatchEngine", "PromowatchCore"]),
        .testTarget(name: "PromowatchCLITests", dependencies: ["promowatch", "PromowatchTestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)

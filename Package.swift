// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "FreeTase2",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "BER", targets: ["BER"]),
        .library(name: "OSI", targets: ["OSI"]),
        .library(name: "MMS", targets: ["MMS"]),
        .library(name: "MMSNIO", targets: ["MMSNIO"]),
        .library(name: "TASE2", targets: ["TASE2"]),
        .library(name: "TASE2TLS", targets: ["TASE2TLS"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // YAML for the configuration file: the one mature Swift YAML parser, with line marks for errors.
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // Pure codecs: bytes in, values out. No I/O, no NIO.
        .target(name: "BER", swiftSettings: strict),
        .target(name: "OSI", dependencies: ["BER"], swiftSettings: strict),
        .target(name: "MMS", dependencies: ["BER", "OSI"], swiftSettings: strict),
        // TASE.2 on MMS: the VCC model, bilateral tables, data sets, transfer sets.
        .target(
            name: "TASE2",
            dependencies: ["MMS", "MMSNIO", "BER", "OSI", .product(name: "Logging", package: "swift-log"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                           .product(name: "Yams", package: "Yams")],
            swiftSettings: strict),
        // TLS (IEC 62351-4), apart so that the rest does not wait for BoringSSL to build.
        .target(
            name: "TASE2TLS",
            dependencies: ["MMSNIO", "TASE2", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOTLS", package: "swift-nio"),
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "NIOSSL", package: "swift-nio-ssl")],
            swiftSettings: strict),
        .executableTarget(
            name: "tase2",
            dependencies: ["TASE2", "TASE2TLS", "MMS", "MMSNIO", "BER", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
            swiftSettings: strict),
        // Sockets: a SwiftNIO server and client around the pure association state machine.
        .target(
            name: "MMSNIO",
            dependencies: [
                "MMS", "OSI", "BER",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict),

        // Test helpers: pcap reading, TCP reassembly, the shared captures.
        .target(name: "TestSupport", dependencies: ["BER"], path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(name: "BERTests", dependencies: ["BER"], swiftSettings: strict),
        .testTarget(name: "OSITests", dependencies: ["OSI", "BER", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "MMSTests", dependencies: ["MMS", "OSI", "BER", "TestSupport"], swiftSettings: strict),
        .target(
            name: "InteropFixture",
            dependencies: ["MMS", "BER", "OSI", "MMSNIO", .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")],
            path: "Tests/InteropFixture", swiftSettings: strict),
        .testTarget(
            name: "MMSNIOTests",
            dependencies: ["MMSNIO", "MMS", "OSI", "BER", "TestSupport", "InteropFixture", .product(name: "NIOEmbedded", package: "swift-nio"),
                           .product(name: "NIOConcurrencyHelpers", package: "swift-nio")],
            swiftSettings: strict),
        .testTarget(name: "TASE2Tests", dependencies: ["TASE2", "MMS", "MMSNIO", "BER", "TestSupport", "InteropFixture"], swiftSettings: strict),
        .testTarget(
            name: "TLSTests",
            dependencies: ["TASE2TLS", "TASE2", "MMSNIO", "MMS", "InteropFixture", "TestSupport", .product(name: "NIOSSL", package: "swift-nio-ssl")],
            resources: [.copy("Fixtures")], swiftSettings: strict),
        // Against stacks we did not write (libiec61850, hat-drivers) and tshark; run by scripts/test-all.sh and in CI.
        .testTarget(
            name: "InteropTests", dependencies: ["MMSNIO", "MMS", "OSI", "BER", "TestSupport", "InteropFixture", "TASE2", "TASE2TLS",
                                                 .product(name: "NIOSSL", package: "swift-nio-ssl")], swiftSettings: strict),
    ]
)

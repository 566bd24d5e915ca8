// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "FreeTase2",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "BER", targets: ["BER"]),
        .library(name: "OSI", targets: ["OSI"]),
        .library(name: "MMS", targets: ["MMS"]),
    ],
    targets: [
        // Pure codecs: bytes in, values out. No I/O, no NIO.
        .target(name: "BER", swiftSettings: strict),
        .target(name: "OSI", dependencies: ["BER"], swiftSettings: strict),
        .target(name: "MMS", dependencies: ["BER", "OSI"], swiftSettings: strict),

        // Test helpers: pcap reading, TCP reassembly, the shared captures.
        .target(name: "TestSupport", dependencies: ["BER"], path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(name: "BERTests", dependencies: ["BER"], swiftSettings: strict),
        .testTarget(name: "OSITests", dependencies: ["OSI", "BER", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "MMSTests", dependencies: ["MMS", "OSI", "BER", "TestSupport"], swiftSettings: strict),
    ]
)

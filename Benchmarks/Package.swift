// swift-tools-version: 6.1
// Benchmarks live in their own package so that `swift build` of the library never compiles them.
import PackageDescription

let package = Package(
    name: "FreeTase2Benchmarks",
    dependencies: [
        // The library, by its package name (not the folder it was cloned into).
        .package(name: "FreeTase2", path: ".."),
        // The peer we measure against: Apple's generic BER/DER codec.
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .target(name: "AllocationCounter"),
        .executableTarget(
            name: "CodecBenchmarks",
            dependencies: [
                "AllocationCounter",
                .product(name: "MMS", package: "FreeTase2"),
                .product(name: "BER", package: "FreeTase2"),
                .product(name: "OSI", package: "FreeTase2"),
                .product(name: "TASE2", package: "FreeTase2"),
                .product(name: "MMSNIO", package: "FreeTase2"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6), .unsafeFlags(["-Ounchecked"], .when(configuration: .debug))]
        ),
        .executableTarget(
            name: "ServerBenchmark",
            dependencies: [
                .product(name: "MMS", package: "FreeTase2"),
                .product(name: "OSI", package: "FreeTase2"),
                .product(name: "MMSNIO", package: "FreeTase2"),
                .product(name: "TASE2", package: "FreeTase2"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "LoadBenchmark",
            dependencies: [
                .product(name: "TASE2", package: "FreeTase2"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)

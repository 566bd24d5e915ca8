// swift-tools-version: 6.1
// Benchmarks live in their own package so that `swift build` of the library never compiles them.
import PackageDescription

let package = Package(
    name: "FreeTase2Benchmarks",
    dependencies: [
        .package(path: ".."),
        // The peer we measure against: Apple's generic BER/DER codec.
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
    ],
    targets: [
        .target(name: "AllocationCounter"),
        .executableTarget(
            name: "CodecBenchmarks",
            dependencies: [
                "AllocationCounter",
                .product(name: "MMS", package: "main"),
                .product(name: "BER", package: "main"),
                .product(name: "OSI", package: "main"),
                .product(name: "TASE2", package: "main"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6), .unsafeFlags(["-Ounchecked"], .when(configuration: .debug))]
        ),
    ]
)

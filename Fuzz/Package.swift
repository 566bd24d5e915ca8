// swift-tools-version: 6.1
// libFuzzer targets for the codecs. Built by scripts/fuzz.sh (SwiftPM builds the static library
// with the fuzzer and address sanitizers; swiftc links it with libFuzzer's driver).
import PackageDescription

let package = Package(
    name: "FreeTase2Fuzz",
    products: [.library(name: "FuzzTargets", type: .static, targets: ["FuzzTargets"])],
    dependencies: [.package(path: "..")],
    targets: [
        .target(
            name: "FuzzTargets",
            dependencies: [
                .product(name: "MMS", package: "main"), .product(name: "OSI", package: "main"), .product(name: "BER", package: "main"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]),
    ]
)

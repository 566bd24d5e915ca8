#!/usr/bin/env bash
# Fuzzes the codecs with libFuzzer (and AddressSanitizer) for SECONDS (default 60), seeded with
# every captured PDU. Crashes land in Fuzz/artifacts/; add a reproducer to Tests/MMSTests.
# The codec modules are compiled with swiftc directly: SwiftPM's release builds here did not
# keep the coverage instrumentation reliably.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN="${1:-60}"
OUT=Fuzz/.build-fuzz
rm -rf "$OUT"
mkdir -p "$OUT" Fuzz/corpus Fuzz/artifacts
FLAGS=(-O -parse-as-library -sanitize=fuzzer,address -swift-version 6 -I "$OUT")
module() {  # module NAME SOURCES...
    local name=$1
    shift
    swiftc "${FLAGS[@]}" -module-name "$name" -emit-module -emit-module-path "$OUT/$name.swiftmodule" \
        -emit-library -static -o "$OUT/lib$name.a" "$@"
}
module BER Sources/BER/*.swift
module OSI Sources/OSI/*.swift
module MMS $(find Sources/MMS -name '*.swift' | sort)
swiftc "${FLAGS[@]}" Fuzz/CodecFuzzer.swift "$OUT/libMMS.a" "$OUT/libOSI.a" "$OUT/libBER.a" -lswiftSynchronization -o "$OUT/codec-fuzzer"
probe=$("$OUT/codec-fuzzer" -runs=1 2>&1 || true)
if ! grep -q "inline 8-bit counters" <<<"$probe"; then
    echo "fuzz.sh: the fuzzer binary has no coverage instrumentation" >&2
    exit 1
fi
for f in Tests/Fixtures/vectors/*.vectors/*.hex; do
    xxd -r -p "$f" | tail -c +8 > "Fuzz/corpus/$(basename "$f" .hex)"
done
"$OUT/codec-fuzzer" Fuzz/corpus -max_total_time="$SECONDS_TO_RUN" -artifact_prefix=Fuzz/artifacts/ -max_len=4096

#!/usr/bin/env bash
# Fuzzes the codecs with libFuzzer for SECONDS (default 60), seeded with every captured PDU.
# Crashes land in Fuzz/artifacts/; add a reproducer to Tests/MMSTests when one is found.
set -euo pipefail
cd "$(dirname "$0")/../Fuzz"
SECONDS_TO_RUN="${1:-60}"
swift build -c release --sanitize fuzzer --sanitize address --product FuzzTargets
BIN=$(swift build -c release --sanitize fuzzer --sanitize address --show-bin-path)
swiftc -sanitize=fuzzer,address -parse-as-library Driver/Driver.swift -o "$BIN/codec-fuzzer" \
    -Xlinker --whole-archive -Xlinker "$BIN/libFuzzTargets.a" -Xlinker --no-whole-archive -lswiftSynchronization
mkdir -p corpus artifacts
for f in ../../shared/vectors/*.vectors/*.hex; do
    xxd -r -p "$f" | tail -c +8 > "corpus/$(basename "$f" .hex)"
done
"$BIN/codec-fuzzer" corpus -max_total_time="$SECONDS_TO_RUN" -artifact_prefix=artifacts/ -max_len=4096

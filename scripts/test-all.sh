#!/usr/bin/env bash
# Runs every test: the Swift unit tests, then (from issue 3 on) the interop tests
# against foreign MMS stacks, whose peers scripts/setup-peers.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
swift test

#!/usr/bin/env bash
# Runs every test: the Swift unit tests and the interop tests against foreign MMS stacks
# (libiec61850 via pyiec61850-ng, hat-drivers) and the tshark wire check. The peers are
# installed by scripts/setup-peers.sh into a git-ignored .venv (and tshark from Debian).
set -euo pipefail
cd "$(dirname "$0")/.."
FREETASE2_PYTHON="$(scripts/setup-peers.sh)"
[ -x "$FREETASE2_PYTHON" ] || { echo "test-all: setup-peers.sh printed no Python path: '$FREETASE2_PYTHON'" >&2; exit 1; }
export FREETASE2_PYTHON
export FREETASE2_INTEROP=1
swift build --build-tests
swift test

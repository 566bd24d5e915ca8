#!/usr/bin/env bash
# The server benchmark: our TASE.2 server and the libiec61850 MMS server (from the
# pyiec61850-ng wheel scripts/setup-peers.sh installs), same model, same clients, one run.
# Prints the figures with ours/theirs ratios and writes them to benchmark-results.json.
# Arguments go to ServerBenchmark: --quick, --seconds S, --points 1000,10000,100000,
# --scenarios single,list,rbe,scale (the default; rbe-client: RBE read by TASE2Client), --repeat K (each read figure the median of K rounds,
# ours and theirs in turn), --json PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="$(scripts/setup-peers.sh)"
[ -x "$PY" ] || { echo "benchmark: setup-peers.sh printed no Python path: '$PY'" >&2; exit 1; }
swift build -c release --package-path Benchmarks --product ServerBenchmark >&2
exec Benchmarks/.build/release/ServerBenchmark --python "$PY" "$@"

#!/usr/bin/env bash
# Installs the foreign MMS peers used by the interop tests (idempotent):
#   - a git-ignored Python venv at .venv (repo root) with pyiec61850-ng
#     (libiec61850 C MMS stack) and hat-drivers (pure-Python MMS)
#   - tshark (Debian package) for the wire check
# Fails (non-zero exit) on any error. Prints the venv's python path last.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT="$(pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

log() { echo "setup-peers: $*" >&2; }

if [ ! -x "$PY" ]; then
    log "creating venv at $VENV"
    python3 -m venv "$VENV"
fi

if ! "$PY" -c 'import pyiec61850.pyiec61850' >/dev/null 2>&1; then
    log "installing pyiec61850-ng"
    "$PY" -m pip install --disable-pip-version-check -q pyiec61850-ng
fi

if ! "$PY" -c 'import hat.drivers.mms' >/dev/null 2>&1; then
    log "installing hat-drivers"
    "$PY" -m pip install --disable-pip-version-check -q hat-drivers
fi

# Verify both peers really import and that the libiec61850 shared library
# (which interop/iec61850_client.py drives through ctypes) is mapped.
"$PY" - <<'PYEOF'
import hat.drivers.mms  # noqa: F401
import pyiec61850.pyiec61850  # noqa: F401  (loads the bundled libiec61850)
with open('/proc/self/maps') as f:
    libs = {line.split()[-1] for line in f if 'libiec61850' in line}
if not libs:
    raise SystemExit('libiec61850 shared library is not loaded')
PYEOF

if ! command -v tshark >/dev/null 2>&1; then
    log "installing tshark"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y tshark; then
        log "apt-get install failed; running apt-get update and retrying"
        apt-get update
        apt-get install -y tshark
    fi
    command -v tshark >/dev/null 2>&1 || { log "tshark still missing after install"; exit 1; }
fi

log "peers ready"
echo "$PY"

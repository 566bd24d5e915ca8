#!/usr/bin/env bash
# Installs the foreign MMS peers used by the interop tests (idempotent):
#   - a git-ignored Python venv at .venv (repo root) with pyiec61850-ng
#     (libiec61850 C MMS stack) and hat-drivers (pure-Python MMS)
#   - tshark (Debian package) for the wire check
#   - openssl (Debian package) for the secure-ICCP tests' certificates and `openssl s_client`
# Fails (non-zero exit) on any error.
#
# Its one line on stdout is the venv's Python path, for `PY="$(scripts/setup-peers.sh)"`:
# everything else (its own progress, pip, apt) goes to stderr, so no installer can pollute it.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT="$(pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

log() { echo "setup-peers: $*" >&2; }

# Runs a command as root: directly when we are root, else through sudo when it needs no password.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"; else
        log "need root to run: $*"
        return 1
    fi
}

install_peers() {
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

    for tool in tshark openssl; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            log "installing $tool"
            export DEBIAN_FRONTEND=noninteractive
            # A machine that never ran `apt-get update` has empty lists: apt has no candidate to
            # install (`apt-cache show` is not enough: a package once removed is still known from
            # dpkg's status). Update first in that case, then install.
            if ! apt-cache policy "$tool" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
                log "$tool unknown to apt: running apt-get update"
                as_root apt-get update
            fi
            as_root apt-get install -y --no-install-recommends "$tool"
            command -v "$tool" >/dev/null 2>&1 || { log "$tool still missing after install"; exit 1; }
        fi
    done

    log "peers ready"
}

# Every byte the installers print goes to stderr; stdout carries only the Python path.
install_peers >&2
echo "$PY"

"""JSON-lines step reporting shared by the interop client scripts.

Every step prints one line {"step": name, "ok": bool, ...details}; events
print {"event": name, ...}. At the end a {"step": "summary", ...} line lists
failed steps; the process exit code is 0 only if every step passed.
"""

import json
import sys
import time


def _jsonable(v):
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, bytes):
        return v.hex()
    return repr(v)


def emit(obj):
    sys.stdout.write(json.dumps(_jsonable(obj)) + '\n')
    sys.stdout.flush()


class Runner:

    def __init__(self, peer):
        self.peer = peer
        self.failed = []
        self.passed = 0
        self.t0 = time.monotonic()

    def step(self, name, ok, **details):
        ok = bool(ok)
        emit({'step': name, 'ok': ok, **details})
        if ok:
            self.passed += 1
        else:
            self.failed.append(name)
        return ok

    def expect(self, name, got, want, **details):
        """step that passes when got == want (prints both)"""
        return self.step(name, got == want, got=got, expected=want, **details)

    def event(self, name, **details):
        emit({'event': name, **details})

    def finish(self):
        ok = not self.failed
        emit({'step': 'summary', 'ok': ok, 'peer': self.peer,
              'passed': self.passed, 'failed': self.failed,
              'seconds': round(time.monotonic() - self.t0, 3)})
        return 0 if ok else 1

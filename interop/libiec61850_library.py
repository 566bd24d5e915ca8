"""Finds the libiec61850 shared library bundled with pyiec61850-ng, for the
scripts that drive it through ctypes (the SWIG wrapper keeps the GIL while it
blocks; ctypes releases it during every C call)."""

import glob
import os


def find_library():
    """path of the library the pyiec61850 SWIG module maps, else found by glob"""
    import pyiec61850.pyiec61850  # noqa: F401  (maps the bundled library)
    with open('/proc/self/maps') as f:
        for line in f:
            path = line.split()[-1]
            if 'libiec61850' in os.path.basename(path):
                return path
    import pyiec61850
    pkg = os.path.dirname(pyiec61850.__file__)
    for pattern in (os.path.join(pkg, 'libiec61850*.so*'),
                    os.path.join(pkg, '..', 'pyiec61850_ng.libs',
                                 'libiec61850*.so*')):
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    raise RuntimeError('libiec61850 shared library not found')

#!/usr/bin/env python3
"""hat.drivers.mms as a secure-ICCP client: Python's ssl under hat's MMS stack.

Usage: hat_tls_client.py HOST PORT --ca CA.pem [--cert C.pem --key K.pem]
                         [--read DOMAIN/ITEM]...

Associates as AP-title 1.1.1.999 / AE-qualifier 12 over TLS (verifying the
server against CA.pem, with the client certificate when given), sends
Identify, reads each --read variable, concludes. Prints one JSON line:
    {"associated": bool, "tls": "TLSv1.3", "cipher": "...",
     "identify": {...}, "reads": {"ICC1/Bilateral_Table_ID": "BLT_ICC1"},
     "error": "..." when something failed}
"""

import argparse
import asyncio
import json
import os
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hat.drivers import mms  # noqa: E402
from hat.drivers import net  # noqa: E402


def context(args):
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=args.ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if args.cert:
        ctx.load_cert_chain(args.cert, args.key)
    return ctx


def value(d):
    for attr in ('value', 'elements'):
        if hasattr(d, attr):
            v = getattr(d, attr)
            return [value(x) for x in v] if attr == 'elements' else v
    return repr(d)


async def amain(args):
    out = {'associated': False, 'reads': {}}
    ctx = context(args)
    try:
        conn = await asyncio.wait_for(mms.connect(
            addr=net.TcpAddress(args.host, args.port),
            local_ap_title=(1, 1, 1, 999), local_ae_qualifier=12,
            remote_ap_title=(1, 1, 1, 999, 1), remote_ae_qualifier=12,
            ssl=ctx, server_hostname=args.server_name), 10)
    except Exception as e:
        out['error'] = repr(e)
        return out
    out['associated'] = True
    try:
        info = conn.info if hasattr(conn, 'info') else None
        out['peer'] = repr(info)
        res = await asyncio.wait_for(conn.send_confirmed(mms.IdentifyRequest()), 10)
        out['identify'] = {'vendor': res.vendor, 'model': res.model,
                           'revision': res.revision}
        for name in args.read:
            dom, item = name.split('/', 1)
            spec = mms.NameVariableSpecification(
                mms.DomainSpecificObjectName(dom, item))
            r = await asyncio.wait_for(
                conn.send_confirmed(mms.ReadRequest([spec])), 10)
            out['reads'][name] = value(list(r.results)[0])
    except Exception as e:
        out['error'] = repr(e)
    finally:
        try:
            await asyncio.wait_for(conn.async_close(), 5)
        except Exception:
            pass
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('host')
    p.add_argument('port', type=int)
    p.add_argument('--ca', required=True)
    p.add_argument('--cert')
    p.add_argument('--key')
    p.add_argument('--server-name', default='localhost')
    p.add_argument('--read', action='append', default=[])
    args = p.parse_args()
    print(json.dumps(asyncio.run(amain(args))))
    sys.stdout.flush()


if __name__ == '__main__':
    main()

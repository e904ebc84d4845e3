#!/usr/bin/python3
"""lmtp-aiosmtpd.py SOCKET DIR: aiosmtpd's LMTP server (Debian's
python3-aiosmtpd) on a UNIX socket, a second real LMTP server beside
Dovecot: it offers 8BITMIME, SMTPUTF8 and SIZE but neither CHUNKING nor
PIPELINING, so smtpd speaks DATA (dot-stuffed) and waits for each reply.
Each message is written to DIR/N as received (its envelope in DIR/N.env).
Runs until killed; at most 120 s.
"""
import asyncio
import os
import sys

from aiosmtpd.lmtp import LMTP

path, out = sys.argv[1], sys.argv[2]


class Store:
    n = 0

    async def handle_DATA(self, server, session, envelope):
        Store.n += 1
        base = os.path.join(out, str(Store.n))
        with open(base + ".env", "w", encoding="utf-8") as f:
            f.write("from %s\n" % envelope.mail_from)
            f.write("options %s\n" % " ".join(envelope.mail_options))
            for r in envelope.rcpt_tos:
                f.write("to %s\n" % r)
        with open(base, "wb") as f:
            f.write(envelope.original_content)
        return "250 2.0.0 stored as %d" % Store.n


async def main():
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    loop = asyncio.get_running_loop()
    server = await loop.create_unix_server(
        lambda: LMTP(Store(), enable_SMTPUTF8=True, decode_data=False),
        path)
    async with server:
        await asyncio.sleep(120)

asyncio.run(main())

"""The SMTP workload of the paper's Section 4.2, run inside the client namespace: C concurrent
clients, each sending N mails of about 1 KB to the LDAP-resolved alias, D seconds apart.
Each client has its own source address. One JSON line a session on standard output.

    python -m agent.lab.workload VIP CLIENTS MAILS DELAY FIRST_SOURCE"""

from __future__ import annotations

import ipaddress
import json
import smtplib
import sys
import threading
import time

from .directory import ALIAS, DOMAIN

BODY = ("Subject: Reflex experiment\r\n\r\n" + ("x" * 70 + "\r\n") * 14)  # about 1 KB
TIMEOUT = 20.0
_out = threading.Lock()


class BannerSMTP(smtplib.SMTP):
    """An SMTP client that remembers the greeting, which names the server that took the
    session ("daemon2 ESMTP ...")."""

    banner = b""

    def connect(self, host="localhost", port=0, source_address=None):
        code, msg = super().connect(host, port, source_address)
        self.banner = msg
        return code, msg


def session(vip: str, source: str, n: int) -> dict:
    start = time.time()
    smtp = BannerSMTP(timeout=TIMEOUT, source_address=(source, 0))
    try:
        smtp.connect(vip, 25)
        smtp.sendmail(f"client{n}@example.org", [f"{ALIAS}@{DOMAIN}"], BODY)
        smtp.quit()
        ok, error = True, ""
    except (OSError, smtplib.SMTPException) as e:
        ok, error = False, f"{type(e).__name__}: {e}"[:200]
    finally:
        smtp.close()
    server = smtp.banner.decode(errors="replace").split()[0] if smtp.banner else ""
    return {"start": start, "end": time.time(), "ok": ok, "server": server, "error": error}


def client(vip: str, source: str, mails: int, delay: float) -> None:
    for n in range(mails):
        result = session(vip, source, n)
        with _out:
            print(json.dumps(result), flush=True)
        if n + 1 < mails:
            time.sleep(delay)


def main(argv: list[str]) -> None:
    vip, clients, mails, delay = argv[0], int(argv[1]), int(argv[2]), float(argv[3])
    first = ipaddress.ip_address(argv[4])
    threads = [threading.Thread(target=client, args=(vip, str(first + i), mails, delay))
               for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main(sys.argv[1:])

"""The demo's server programs, run inside the server namespaces: an SMTP server that looks every
recipient up in LDAP through the LDAP service's public address (the paper's reflected
connection, Fig. 2), and a web site whose login session lives on one server only (Fig. 4).

    python -m agent.lab.servers smtp NAME ADDRESS PORT LDAP_VIP
    python -m agent.lab.servers http NAME ADDRESS PORT"""

from __future__ import annotations

import asyncio
import http.server
import secrets
import sys
import threading
import urllib.parse

from .directory import DOMAIN, SUFFIX


def ldap_lookup(ldap_vip: str, local: str) -> list[str] | None:
    """Mailboxes of local@DOMAIN: an alias expands to its members; None if unknown.
    One new LDAP connection a lookup, so lookups spread over the LDAP pool."""
    import ldap3

    server = ldap3.Server(ldap_vip, port=389, connect_timeout=3)
    with ldap3.Connection(server, auto_bind=True, receive_timeout=3) as c:
        c.search(f"ou=aliases,{SUFFIX}", f"(cn={ldap3.utils.conv.escape_filter_chars(local)})",
                 attributes=["rfc822MailMember"])
        if c.entries:
            return [str(m) for m in c.entries[0].rfc822MailMember.values]
        mail = ldap3.utils.conv.escape_filter_chars(f"{local}@{DOMAIN}")
        c.search(f"ou=people,{SUFFIX}", f"(mail={mail})", attributes=["mail"])
        return [f"{local}@{DOMAIN}"] if c.entries else None


class MailHandler:
    def __init__(self, name: str, ldap_vip: str):
        self.name, self.ldap_vip = name, ldap_vip
        self.delivered = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local, _, domain = address.partition("@")
        if domain.lower() != DOMAIN:
            return "550 5.7.1 relaying denied"
        try:
            boxes = await asyncio.get_running_loop().run_in_executor(
                None, ldap_lookup, self.ldap_vip, local)
        except Exception as e:  # the directory is down or unreachable: try again later
            return f"451 4.4.3 directory lookup failed on {self.name}: {type(e).__name__}"
        if boxes is None:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.extend(boxes)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.delivered += len(envelope.rcpt_tos)
        return f"250 2.0.0 delivered to {len(envelope.rcpt_tos)} mailboxes by {self.name}"


def smtp(name: str, address: str, port: int, ldap_vip: str) -> None:
    from aiosmtpd.controller import Controller

    ctl = Controller(MailHandler(name, ldap_vip), hostname=address, port=port,
                     server_hostname=name, ident=f"{name} ESMTP Reflex demo")
    ctl.start()
    print(f"smtp {name} on {address}:{port}", flush=True)
    threading.Event().wait()


def http_site(name: str, address: str, port: int) -> None:
    sessions: dict[str, str] = {}

    class Site(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def _send(self, code: int, body: str, cookie: str | None = None) -> None:
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            if cookie:
                self.send_header("Set-Cookie", f"session={cookie}; Path=/")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            cookie = self.headers.get("Cookie", "").partition("session=")[2].split(";")[0]
            if url.path == "/login":
                user = urllib.parse.parse_qs(url.query).get("user", ["guest"])[0][:32]
                sid = secrets.token_hex(8)
                sessions[sid] = user
                self._send(200, f"{name}: logged in as {user}\n", sid)
            elif url.path == "/whoami":
                if cookie in sessions:
                    self._send(200, f"{name}: session of {sessions[cookie]}\n")
                else:
                    self._send(401, f"{name}: unknown session, log in again\n")
            else:
                self._send(200, f"{name}: hello\n")

    srv = http.server.ThreadingHTTPServer((address, port), Site)
    print(f"http {name} on {address}:{port}", flush=True)
    srv.serve_forever()


def main(argv: list[str]) -> None:
    kind, name, address, port = argv[0], argv[1], argv[2], int(argv[3])
    if kind == "smtp":
        smtp(name, address, port, argv[4])
    elif kind == "http":
        http_site(name, address, port)
    else:
        raise SystemExit(f"unknown server kind {kind}")


if __name__ == "__main__":
    main(sys.argv[1:])

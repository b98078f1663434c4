"""The http and https checks against a real HTTP server, a TLS one with a
self-signed certificate made here by openssl, and misbehaving servers."""

from __future__ import annotations

import asyncio
import subprocess

import pytest
from servers import misbehaving
from servers.loopback import TcpServer, free_port
from servers.web import WebServer

from agent.checks import Result, Target, run_check


def check(kind: str, target: Target, params: dict | None = None, timeout: float = 2.0) -> Result:
    return asyncio.run(run_check(kind, target, params or {}, timeout))


@pytest.fixture(scope="module")
def cert(tmp_path_factory) -> str:
    """A self-signed certificate for localhost, 127.0.0.1 and ::1, key in the same file."""
    folder = tmp_path_factory.mktemp("tls")
    pem = folder / "server.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
         "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem")],
        check=True, capture_output=True, timeout=30,
    )
    pem.write_text((folder / "cert.pem").read_text() + (folder / "key.pem").read_text())
    return str(pem)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_http_up_sends_path_and_host(host):
    with WebServer(host) as web:
        target = Target(host, web.port)
        assert check("http", target) == Result(True, "ok")
        assert check("http", target, {"path": "/health", "host": "www.example.test"}).ok
    shown = f"[{host}]" if ":" in host else host
    assert web.requests == [
        ("/", f"{shown}:{web.port}"),
        ("/health", f"www.example.test:{web.port}"),
    ]


def test_http_status_and_body():
    with WebServer() as web:
        target = Target("127.0.0.1", web.port)
        assert check("http", target, {"path": "/fail"}) == Result(
            False, "expected 200, got 500 Internal Server Error"
        )
        # Parameters arrive from XML as text.
        assert check("http", target, {"path": "/fail", "expect-code": "500"}).ok
        assert check("http", target, {"expect-body": r"hello from \w+"}).ok
        assert check("http", target, {"expect-body": "^goodbye"}) == Result(
            False, "body does not match /^goodbye/"
        )
        assert check("http", target, {"path": "/chunked", "expect-body": "^alive and well$"}).ok


def test_http_misbehaving_servers():
    with TcpServer(misbehaving.garbage) as server:
        assert check("http", Target("127.0.0.1", server.port)) == Result(
            False, "malformed status line '\\x16\\x03\\xff\\x00garbage \\xde\\xad\\xbe\\xef'"
        )
    with TcpServer(misbehaving.close_at_once) as server:
        assert check("http", Target("127.0.0.1", server.port)) == Result(
            False, "connection closed by peer"
        )
    with TcpServer(misbehaving.silent) as server:
        assert check("http", Target("127.0.0.1", server.port), timeout=0.3) == Result(
            False, "timeout after 0.3 s"
        )
    with TcpServer(misbehaving.slow(b"HTTP/1.0 200 OK\r\n\r\n")) as server:
        assert check("http", Target("127.0.0.1", server.port), timeout=0.4) == Result(
            False, "timeout after 0.4 s"
        )
    truncated = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"
    with TcpServer(misbehaving.scripted(b"", [truncated])) as server:
        target = Target("127.0.0.1", server.port)
        assert check("http", target, {"expect-body": "x"}, timeout=0.5) == Result(
            False, "timeout after 0.5 s"
        )
    port = free_port()
    assert check("http", Target("127.0.0.1", port)) == Result(False, "connection refused")


def test_https_without_verification(cert):
    with WebServer("127.0.0.1", cert) as web:
        target = Target("127.0.0.1", web.port)
        assert check("https", target) == Result(True, "ok")
        assert check("https", target, {"host": "localhost", "expect-body": "hello"}).ok
        assert check("https", target, {"path": "/fail"}) == Result(
            False, "expected 200, got 500 Internal Server Error"
        )
    # No SNI for an address (RFC 6066 3), the host name when one is given.
    assert web.sni == [None, "localhost", None]


def test_https_with_verification(cert, monkeypatch):
    with WebServer("::1", cert) as web:
        target = Target("::1", web.port)
        assert check("https", target, {"verify-tls": "true"}) == Result(
            False, "TLS: certificate verify failed: self-signed certificate"
        )
        monkeypatch.setenv("SSL_CERT_FILE", cert)
        assert check("https", target, {"verify-tls": "true"}) == Result(True, "ok")
        assert check("https", target, {"verify-tls": "true", "host": "localhost"}).ok
        assert check("https", target, {"verify-tls": "true", "host": "www.other.test"}) == Result(
            False,
            "TLS: certificate verify failed: Hostname mismatch, certificate is not valid for "
            "'www.other.test'.",
        )
        assert check("https", target, {"verify-tls": "false", "host": "www.other.test"}).ok
    assert "www.other.test" in web.sni


def test_https_against_plain_and_silent_servers():
    with WebServer() as web:
        assert check("https", Target("127.0.0.1", web.port)) == Result(
            False, "TLS: wrong version number"
        )
    with TcpServer(misbehaving.silent) as server:
        assert check("https", Target("127.0.0.1", server.port), timeout=0.3) == Result(
            False, "timeout after 0.3 s"
        )
    with TcpServer(misbehaving.close_at_once) as server:
        result = check("https", Target("127.0.0.1", server.port))
        assert not result.ok and result.message.startswith(("TLS: ", "connection"))

"""A small real HTTP(S) server (http.server in a thread) for check tests:
/ is 200, /fail is 500, /chunked sends a chunked body; it records requests and SNI."""

from __future__ import annotations

import http.server
import socket
import ssl
import threading


class _Handler(http.server.BaseHTTPRequestHandler):
    server: WebServer.Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.owner.requests.append((self.path, self.headers.get("Host")))
        if self.path == "/fail":
            self.send_error(500)
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"alive ", b"and well"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            body = b"hello from reflex test server\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)


class WebServer:
    """A context manager serving on host, port chosen by the kernel; TLS if cert is given."""

    class Server(http.server.ThreadingHTTPServer):
        owner: WebServer
        daemon_threads = True

    def __init__(self, host: str = "127.0.0.1", cert: str | None = None) -> None:
        self.host = host
        self.cert = cert
        self.requests: list[tuple[str, str | None]] = []
        self.sni: list[str | None] = []

    def __enter__(self) -> WebServer:
        server_class = type("Server", (WebServer.Server,), {})
        if ":" in self.host:
            server_class.address_family = socket.AF_INET6
        self.httpd = server_class((self.host, 0), _Handler)
        self.httpd.owner = self
        if self.cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.cert)
            context.sni_callback = lambda sock, name, ctx: self.sni.append(name)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)

"""The fake library site and its third parties, on 127.0.0.1 (see README.md)."""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).parent
WWW = HERE / "www"
LIBRARY = "www.fakelibrary.test"
TROUBLED = "www.troubled.test"
ELSEWHERE = "elsewhere.test"
MANY_LINKS = 3000
HANG_SECONDS = 20


@dataclass(frozen=True)
class Hit:
    host: str
    path: str
    method: str
    document: bool  # the browser asked for a page (Accept: text/html), not a resource
    cookie: str


PAGES = {"/": "index.html", "/about": "page.html", "/events": "page.html",
         "/hours": "page.html", "/logout": "page.html", "/account/login": "login.html",
         "/item/101": "item.html", "/item/102": "item.html"}
SCRIPTS = {("cdn.cookielaw.org", "/scripttemplates/otSDKStub.js"): "ot.js",
           ("www.google-analytics.com", "/analytics.js"): "ga.js",
           ("connect.facebook.net", "/en_US/fbevents.js"): "fb.js",
           ("embed.tawk.to", "/widget.js"): "chat.js"}


class FakeSite:
    """Serves every host name on two loopback ports (HTTP and HTTPS) and logs each hit."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self.stopping = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                site.serve(self)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(min(length, 1 << 20))
                site.serve(self)

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.https = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(HERE / "cert.pem", HERE / "key.pem")
        self.https.socket = tls.wrap_socket(self.https.socket, server_side=True)
        for server in (self.http, self.https):
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()

    @property
    def http_port(self) -> int:
        return self.http.server_address[1]

    @property
    def resolver_rules(self) -> str:
        """Every host name to this server: port 80 to HTTP, 443 to HTTPS."""
        return (f"MAP *:80 127.0.0.1:{self.http_port}, "
                f"MAP *:443 127.0.0.1:{self.https.server_address[1]}, EXCLUDE localhost")

    def close(self) -> None:
        self.stopping.set()
        for server in (self.http, self.https):
            server.shutdown()
            server.server_close()

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        host = (handler.headers.get("Host") or "").split(":")[0].lower()
        path = urlsplit(handler.path).path
        accept = handler.headers.get("Accept") or ""
        self.hits.append(Hit(host, handler.path, handler.command,
                             accept.startswith("text/html"), handler.headers.get("Cookie") or ""))
        if host == LIBRARY:
            if path == "/search":
                return self.send(handler, 200, (WWW / "results.html").read_bytes())
            if path in PAGES:
                return self.send(handler, 200, (WWW / PAGES[path]).read_bytes())
        elif host == TROUBLED:
            return self.troubled(handler, path)
        elif (host, path) in SCRIPTS:
            return self.send(handler, 200, (WWW / SCRIPTS[(host, path)]).read_bytes(),
                             "application/javascript")
        elif host in ("www.google-analytics.com", "www.facebook.com", "embed.tawk.to"):
            return self.send(handler, 204, b"", "text/plain",
                             cookie="_gid=GA1.1.99887766.1700000000; Path=/; SameSite=None; "
                             "Secure" if host == "www.google-analytics.com" else None)
        return self.send(handler, 404, b"not here", "text/plain")

    def troubled(self, handler: BaseHTTPRequestHandler, path: str) -> None:
        if path == "/":
            links = "".join(f'<a href="/page/{n}">page {n}</a> ' for n in range(MANY_LINKS))
            body = ('<!doctype html><title>Troubled</title><a href="/never">never</a> '
                    f'<a href="/away">away</a> <a href="/slow">slow</a> {links}')
            return self.send(handler, 200, body.encode())
        if path == "/never":
            return self.send(handler, 200, b'<!doctype html><title>Never</title>'
                             b'<img src="/hang" alt="">')
        if path == "/busy":  # its script never returns once the page has loaded
            return self.send(handler, 200, b"<!doctype html><title>Busy</title><script>"
                             b"addEventListener('DOMContentLoaded', () => setTimeout(() => "
                             b"{ for (;;) {} }, 0));</script><p>busy</p>")
        if path in ("/hang", "/slow"):  # an image, or a whole page, that never arrives
            self.stopping.wait(HANG_SECONDS)
            return self.send(handler, 204, b"", "text/plain")
        if path == "/away":
            handler.send_response(302)
            handler.send_header("Location", f"http://{ELSEWHERE}/landing")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return None
        if path.startswith("/page/"):
            return self.send(handler, 200, b"<!doctype html><title>A page</title><p>page</p>")
        return self.send(handler, 404, b"not here", "text/plain")

    @staticmethod
    def send(handler: BaseHTTPRequestHandler, status: int, body: bytes,
             kind: str = "text/html; charset=utf-8", cookie: str | None = None) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", kind)
            handler.send_header("Content-Length", str(len(body)))
            if cookie:
                handler.send_header("Set-Cookie", cookie)
            handler.end_headers()
            handler.wfile.write(body)
        except OSError:  # the browser went away
            pass

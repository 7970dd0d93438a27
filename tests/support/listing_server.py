"""A real HTTP server on 127.0.0.1 that serves recorded listings (and faults) to the source."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]


Responder = Callable[[Request], Reply]


class ListingServer:
    """Answers each GET with ``responder(request)``; every request is kept in ``requests``."""

    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.requests: list[Request] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                request = Request(
                    path=parts.path,
                    query={k: v[-1] for k, v in parse_qs(parts.query).items()},
                    headers=dict(self.headers.items()),
                )
                server.requests.append(request)
                reply = server.responder(request)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def daily_papers(listings: dict[str, bytes]) -> Responder:
    """Serve ``/api/daily_papers?date=D`` from recorded bodies: page 0 is the recording,
    later pages are empty, unknown days are empty (like the real API on a weekend)."""

    def respond(request: Request) -> Reply:
        if request.path != "/api/daily_papers":
            return Reply(404, b"not found", {"Content-Type": "text/plain"})
        if request.query.get("p", "0") != "0":
            return Reply(body=b"[]")
        return Reply(body=listings.get(request.query.get("date", ""), b"[]"))

    return respond


@contextmanager
def serving(responder: Responder) -> Iterator[ListingServer]:
    server = ListingServer(responder)
    server.start()
    try:
        yield server
    finally:
        server.stop()

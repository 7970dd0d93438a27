"""A real HTTP server on 127.0.0.1 that serves recorded listings, and faults, to the source.

A responder turns each request into a Reply. Besides status, body and headers,
a Reply can misbehave the way real servers do: stall past the client's read
timeout, promise more bytes than it sends, or hang up without answering.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

JSON = {"Content-Type": "application/json"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
TEXT = {"Content-Type": "text/plain"}
STALL_BOUND_SECONDS = 10.0  # a stalled answer is released by stop(), or after this at the latest


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))
    stall: bool = False  # answer only when the server stops: past any small read timeout
    missing_bytes: int = 0  # announce this many bytes more than the body, then hang up
    hang_up: bool = False  # close the connection without answering at all


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
        self._released = threading.Event()
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
                if reply.stall:
                    server._released.wait(STALL_BOUND_SECONDS)
                if reply.hang_up:
                    self.close_connection = True
                    return
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body) + reply.missing_bytes))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing left to do
                self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll interval lets stop() return at once instead of after half a second.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def requests_to(self, path: str) -> list[Request]:
        return [request for request in self.requests if request.path == path]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._released.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def not_found(request: Request) -> Reply:
    return Reply(404, b"not found", dict(TEXT))


def daily_papers(listings: Mapping[str, bytes], *, max_limit: int = 100) -> Responder:
    """``/api/daily_papers?date=D&limit=N&p=K`` from recorded bodies, paged like the real API:
    page K holds items K*N to K*N+N-1 (N capped at ``max_limit``), a page past the end is
    ``[]``, and so is an unknown day (like the real API on a weekend)."""

    def respond(request: Request) -> Reply:
        if request.path != "/api/daily_papers":
            return not_found(request)
        recorded = listings.get(request.query.get("date", ""))
        items = json.loads(recorded) if recorded else []
        limit = min(int(request.query.get("limit", "50")), max_limit)
        page = int(request.query.get("p", "0"))
        return Reply(body=json.dumps(items[page * limit : (page + 1) * limit]).encode())

    return respond


def daily_pages(pages: Mapping[str, bytes], latest: bytes) -> Responder:
    """The HTML pages as the real site serves them: ``/papers?date=D`` redirects to
    ``/papers/date/D``, which shows D's page, or the ``latest`` listed day's page for a
    day without papers."""

    def respond(request: Request) -> Reply:
        if request.path == "/papers" and "date" in request.query:
            location = f"/papers/date/{request.query['date']}"
            return Reply(302, b"", {"Location": location})
        if request.path.startswith("/papers/date/"):
            day = request.path.removeprefix("/papers/date/")
            return Reply(body=pages.get(day, latest), headers=dict(HTML))
        return not_found(request)

    return respond


def routes(table: Mapping[str, Responder], default: Responder = not_found) -> Responder:
    """Dispatch on the first path segment: ``{"/api": ..., "/papers": ...}``."""

    def respond(request: Request) -> Reply:
        for prefix, responder in table.items():
            if request.path == prefix or request.path.startswith(prefix + "/"):
                return responder(request)
        return default(request)

    return respond


def in_turn(*replies: Reply, then: Responder | None = None) -> Responder:
    """The given replies, one per request, in order; afterwards ``then`` (or the last reply)."""
    pending = list(replies)
    lock = threading.Lock()

    def respond(request: Request) -> Reply:
        with lock:
            if pending and (len(pending) > 1 or then is not None):
                return pending.pop(0)
        return then(request) if then is not None else replies[-1]

    return respond


@contextmanager
def serving(responder: Responder) -> Iterator[ListingServer]:
    server = ListingServer(responder)
    server.start()
    try:
        yield server
    finally:
        server.stop()

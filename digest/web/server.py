"""Serving the pages with uvicorn, in the caller's event loop (so ``digest serve`` can run
the scheduler beside it)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

from digest.errors import DigestError


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port; DigestError (one line) when that is impossible.

    Bound here rather than by uvicorn, which would log the error and exit the process.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise DigestError(f"cannot listen on {host}:{port}: {exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise DigestError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


class Server(uvicorn.Server):
    """uvicorn's server, stopping on SIGINT or SIGTERM without raising the signal again
    afterwards (uvicorn does, which cancels the caller's clean-up half-way)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        stop_on = (signal.SIGINT, signal.SIGTERM)
        for sig in stop_on:
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in stop_on:
                loop.remove_signal_handler(sig)


def build_server(asgi: ASGIApp, *, trusted_proxies: str) -> Server:
    """A uvicorn server for ``asgi``. Our logging stays as configured; there is no access
    log, because the paths it would write carry the tokens of people's links."""
    config = uvicorn.Config(
        asgi,
        proxy_headers=True,
        forwarded_allow_ips=trusted_proxies,
        log_config=None,
        access_log=False,
        server_header=False,
        lifespan="on",
    )
    return Server(config)


async def serve(asgi: ASGIApp, sock: socket.socket, *, trusted_proxies: str) -> None:
    """Serve ``asgi`` on the bound socket until the process is told to stop."""
    await build_server(asgi, trusted_proxies=trusted_proxies).serve(sockets=[sock])

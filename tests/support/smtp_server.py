"""A real SMTP server (aiosmtpd) on 127.0.0.1 that records every message it accepts."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class RecordingHandler:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.received.append(
                Received(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.content))
            )
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpServer:
    def __init__(self) -> None:
        self.handler = RecordingHandler()
        # aiosmtpd connects to its own port to see that it is up, so it needs a fixed one.
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=free_port())

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return int(self._controller.port)

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def messages_to(self, address: str) -> list[EmailMessage]:
        return [r.message for r in self.received if address in r.rcpt_tos]

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


@contextmanager
def smtp_serving() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()

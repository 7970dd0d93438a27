"""A real SMTP server (aiosmtpd) on 127.0.0.1 that records every message it accepts.

Fault modes, for chosen recipients: a reply of your choice at RCPT or at the
end of DATA (421, 451, 550, ...), a connection dropped at DATA, each for a
number of attempts or for good; a slow server (each DATA takes ``data_delay``
seconds); and a server that is down (``down()``, then ``up()`` on the same port).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Literal

from aiosmtpd.controller import Controller

DROP = "drop"  # a Fault reply that closes the connection without answering


@dataclass
class Fault:
    """What the server does for one recipient instead of accepting.

    ``reply`` is an SMTP reply line ("451 4.7.1 try later") or DROP; ``stage`` is
    where it happens; ``times`` is how many attempts it affects (None: all).
    """

    reply: str
    stage: Literal["rcpt", "data"] = "rcpt"
    times: int | None = None

    def use(self) -> bool:
        if self.times is None:
            return True
        if self.times <= 0:
            return False
        self.times -= 1
        return True


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
        self.faults: dict[str, Fault] = {}
        self.data_delay = 0.0
        self.attempts: dict[str, int] = {}  # RCPT commands seen, by recipient
        self._lock = threading.Lock()

    def _fault(self, address: str, stage: str) -> Fault | None:
        with self._lock:
            fault = self.faults.get(address)
            if fault is None or fault.stage != stage or not fault.use():
                return None
            return fault

    def _reply(self, server: Any, fault: Fault) -> str:
        if fault.reply == DROP or fault.reply.startswith("421"):
            # Close once the reply (if any) is written: a 421 ends the session.
            asyncio.get_running_loop().call_soon(server.transport.close)
        return "" if fault.reply == DROP else fault.reply

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self._lock:
            self.attempts[address] = self.attempts.get(address, 0) + 1
        fault = self._fault(address, "rcpt")
        if fault is not None:
            if fault.reply == DROP:
                server.transport.close()
                return "250 OK"  # never arrives: the connection is gone
            return self._reply(server, fault)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_delay:
            await asyncio.sleep(self.data_delay)  # a slow server, not a test waiting
        for address in envelope.rcpt_tos:
            fault = self._fault(address, "data")
            if fault is not None:
                if fault.reply == DROP:
                    server.transport.close()
                    return "250 OK"  # never arrives: the connection is gone
                return self._reply(server, fault)
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
    def __init__(self, **controller_options: Any) -> None:
        self.handler = RecordingHandler()
        # aiosmtpd connects to its own port to see that it is up, so it needs a fixed one.
        self._port = free_port()
        self._options = controller_options
        self._controller: Controller | None = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return self._port

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def messages_to(self, address: str) -> list[EmailMessage]:
        return [r.message for r in self.received if address in r.rcpt_tos]

    def count_by_recipient(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for received in list(self.received):
            for address in received.rcpt_tos:
                counts[address] = counts.get(address, 0) + 1
        return counts

    def fail(self, address: str, fault: Fault) -> None:
        self.handler.faults[address] = fault

    def slow(self, seconds: float) -> None:
        self.handler.data_delay = seconds

    def start(self) -> None:
        self._controller = Controller(
            self.handler, hostname="127.0.0.1", port=self._port, **self._options
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def down(self) -> None:
        """Stop listening: every connection is refused until ``up()``."""
        self.stop()

    def up(self) -> None:
        self.start()


@contextmanager
def smtp_serving(**controller_options: Any) -> Iterator[SmtpServer]:
    server = SmtpServer(**controller_options)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def tls_options(context: ssl.SSLContext) -> dict[str, Any]:
    """Controller options for a server that offers STARTTLS and requires it."""
    return {"tls_context": context, "require_starttls": True}

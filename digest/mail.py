"""Mailers: where a finished message goes. SMTP (aiosmtplib), .eml files, or memory (tests).

A message is serialised to bytes once (:func:`serialise`, DKIM-signed there when
configured) and those bytes are what every attempt hands over.
"""

from __future__ import annotations

import enum
import io
import os
import ssl
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from email.generator import NLCRE, BytesGenerator  # type: ignore[attr-defined]
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import parseaddr
from pathlib import Path
from typing import Protocol

import aiosmtplib

from digest.config import Settings
from digest.dkim_signing import DkimSigner


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message ready for the wire: the envelope and the bytes, made once."""

    envelope_from: str
    recipient: str
    message_id: str
    data: bytes
    smtputf8: bool = False  # an address is not ASCII: the server must accept SMTPUTF8


class _Generator(BytesGenerator):
    """BytesGenerator writing a body in one piece rather than line by line.

    The stdlib splits a body into its lines and writes each with its own line end:
    some 800 pairs of calls for a digest, most of the cost of serialising one. One
    replacement gives the same bytes (the lines joined by the policy's line end).
    """

    _NL: str  # set by Generator.__init__; typeshed leaves it out

    def _write_lines(self, lines: str) -> None:
        if "\r" in lines:  # CR or CRLF line ends too: the stdlib's own pattern for them
            self.write(NLCRE.sub(self._NL, lines))
        else:  # our bodies end lines with LF only, and str.replace is much faster
            self.write(lines.replace("\n", self._NL))


def serialise(
    message: EmailMessage, *, envelope_from: str, dkim: DkimSigner | None = None
) -> Outgoing:
    """The message as CRLF bytes, DKIM-signed when a signer is given.

    An internationalised address (RFC 6531) cannot be written in ASCII headers, so
    such a message is written with UTF-8 headers and sent with SMTPUTF8.
    """
    recipient = parseaddr(str(message["To"]))[1]
    smtputf8 = not (envelope_from.isascii() and recipient.isascii())
    buffer = io.BytesIO()  # as message.as_bytes(policy=...) does, with the faster generator
    _Generator(buffer, mangle_from_=False, policy=SMTPUTF8 if smtputf8 else SMTP).flatten(message)
    data = buffer.getvalue()
    if dkim is not None:
        data = dkim.sign(data)
    return Outgoing(
        envelope_from=envelope_from,
        recipient=recipient,
        message_id=str(message["Message-ID"]),
        data=data,
        smtputf8=smtputf8,
    )


class Failure(enum.Enum):
    """What a failed hand-over means for the message."""

    TEMPORARY = "temporary"  # 4xx, timeout, dropped connection: try again later
    PERMANENT = "permanent"  # 5xx for this recipient or message: trying again cannot help
    UNREACHABLE = "unreachable"  # no connection (refused, TLS, login): pause, nothing is lost


class MailError(Exception):
    """A message was not accepted; ``failure`` says what that means for it."""

    def __init__(self, message: str, *, failure: Failure) -> None:
        super().__init__(message)
        self.failure = failure

    @property
    def permanent(self) -> bool:
        return self.failure is Failure.PERMANENT


class Mailer(Protocol):
    """Hands over messages, one at a time, over one connection that it keeps open."""

    async def send(self, message: Outgoing) -> None:
        """Hand over one message; raises MailError when it was not accepted."""
        ...

    async def connect(self) -> None:
        """Open the connection unless it is open; MailError (UNREACHABLE) if it cannot be."""
        ...

    async def close(self) -> None:
        """Let go of the connection, if any (the mailer can be used again)."""
        ...


MailerFactory = Callable[[], Mailer]


class MemoryMailer:
    """Keeps messages in a list: for unit tests and dry runs. Share one among senders."""

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    async def send(self, message: Outgoing) -> None:
        self.sent.append(message)

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        return None


class FileMailer:
    """Writes each message as an .eml file: the default when no SMTP server is configured."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, message: Outgoing) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        local_part = message.message_id.strip("<>").split("@", 1)[0]
        # Written under a temporary name and renamed, so a reader never sees half a file.
        fd, temp_name = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        with os.fdopen(fd, "wb") as file:
            file.write(message.data)
        os.replace(temp_name, self.directory / f"{local_part}.eml")

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        return None


class SmtpMailer:
    """One SMTP connection, opened on the first message and reused for the next ones.

    ``starttls`` is required, never opportunistic: a server that does not offer
    it is refused before anything (a password, a message) is sent in clear text.
    """

    def __init__(self, settings: Settings) -> None:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        assert settings.smtp_host is not None
        self._where = f"{settings.smtp_host}:{settings.effective_smtp_port}"
        self._client = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.effective_smtp_port,
            username=settings.smtp_username,
            password=password,
            use_tls=settings.smtp_tls == "ssl",
            start_tls=settings.smtp_tls == "starttls",
            timeout=settings.smtp_timeout,
        )

    async def connect(self) -> None:
        if self._client.is_connected:
            return
        try:
            await self._client.connect()
        except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as exc:
            self._client.close()
            raise MailError(
                f"cannot connect to the SMTP server {self._where}: {_describe(exc)}",
                failure=Failure.UNREACHABLE,
            ) from exc

    async def send(self, message: Outgoing) -> None:
        await self.connect()
        try:
            await self._client.sendmail(
                message.envelope_from,
                [message.recipient],
                message.data,
                mail_options=["SMTPUTF8"] if message.smtputf8 else None,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refusal = exc.recipients[0]
            raise MailError(
                f"recipient refused: {refusal.code} {refusal.message}",
                failure=_by_code(refusal.code),
            ) from exc
        except aiosmtplib.SMTPSenderRefused as exc:
            # Our own From refused: the recipient is not to blame, so never a bounce.
            self._drop_after(exc.code)
            raise MailError(
                f"sender refused: {exc.code} {exc.message}", failure=Failure.TEMPORARY
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            self._drop_after(exc.code)
            raise MailError(f"{exc.code} {exc.message}", failure=_by_code(exc.code)) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            self._client.close()  # timed out or dropped: start afresh with the next message
            raise MailError(_describe(exc), failure=Failure.TEMPORARY) from exc

    def _drop_after(self, code: int) -> None:
        if code == 421:  # "closing transmission channel": the server hangs up
            self._client.close()

    async def close(self) -> None:
        if self._client.is_connected:
            try:
                await self._client.quit()
            except (aiosmtplib.SMTPException, OSError):
                self._client.close()


def _by_code(code: int) -> Failure:
    return Failure.PERMANENT if code >= 500 else Failure.TEMPORARY


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def build_mailer(settings: Settings) -> Mailer:
    """SMTP when DIGEST_SMTP_HOST is set, otherwise .eml files in DIGEST_OUTBOX_DIR."""
    if settings.smtp_host:
        return SmtpMailer(settings)
    return FileMailer(settings.outbox_dir)

"""Mailers: where a finished message goes. SMTP (aiosmtplib), .eml files, or memory (tests)."""

from __future__ import annotations

import os
import tempfile
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

import aiosmtplib

from digest.config import Settings


class MailError(Exception):
    """A message was not accepted. ``permanent`` tells whether trying again can help."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class Mailer(Protocol):
    """Sends finished messages. Used as an async context manager that holds the connection."""

    async def send(self, message: EmailMessage) -> None:
        """Hand over one message; raises MailError when it was not accepted."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


class _NoConnection:
    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None


class MemoryMailer(_NoConnection):
    """Keeps messages in a list: for unit tests and dry runs."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        self.sent.append(message)


class FileMailer(_NoConnection):
    """Writes each message as an .eml file: the default when no SMTP server is configured."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        local_part = str(message["Message-ID"]).strip("<>").split("@", 1)[0]
        # Written under a temporary name and renamed, so a reader never sees half a file.
        fd, temp_name = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        with os.fdopen(fd, "wb") as file:
            file.write(message.as_bytes())
        os.replace(temp_name, self.directory / f"{local_part}.eml")


class SmtpMailer:
    """Sends over one SMTP connection, opened on entry and reused for every message."""

    def __init__(self, settings: Settings) -> None:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        assert settings.smtp_host is not None
        self._client = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.effective_smtp_port,
            username=settings.smtp_username,
            password=password,
            use_tls=settings.smtp_tls == "ssl",
            # "starttls" is required, never opportunistic: no silent fall-back to plain text.
            start_tls=settings.smtp_tls == "starttls",
            timeout=settings.smtp_timeout,
        )

    async def __aenter__(self) -> Self:
        try:
            await self._client.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise MailError(f"cannot connect to the SMTP server: {exc}", permanent=False) from exc
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._client.is_connected:
            try:
                await self._client.quit()
            except aiosmtplib.SMTPException:
                self._client.close()

    async def send(self, message: EmailMessage) -> None:
        try:
            await self._client.send_message(message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refusal = exc.recipients[0]
            raise MailError(
                f"recipient refused: {refusal.code} {refusal.message}",
                permanent=refusal.code >= 500,
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise MailError(f"{exc.code} {exc.message}", permanent=exc.code >= 500) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise MailError(f"{type(exc).__name__}: {exc}", permanent=False) from exc


def build_mailer(settings: Settings) -> Mailer:
    """SMTP when DIGEST_SMTP_HOST is set, otherwise .eml files in DIGEST_OUTBOX_DIR."""
    if settings.smtp_host:
        return SmtpMailer(settings)
    return FileMailer(settings.outbox_dir)

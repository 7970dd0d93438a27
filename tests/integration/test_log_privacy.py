"""A real SMTP conversation logged by a third-party library: its addresses never reach
a log line at INFO (aiosmtpd's ``mail.log`` logs every command, addresses included)."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib
import pytest

from digest import logs
from tests.support.smtp_server import smtp_serving

# logs.configure changes the root logger: every test here gets it back as it was.
pytestmark = pytest.mark.usefixtures("restore_logging")


async def test_an_smtp_conversation_logs_no_address(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("INFO", "text")
    message = EmailMessage()
    message["From"] = "digest@example.org"
    message["To"] = "ada.lovelace@example.org"
    message["Subject"] = "hello"
    message.set_content("hello")
    with smtp_serving() as smtp:
        await aiosmtplib.send(message, hostname=smtp.host, port=smtp.port)
        assert len(smtp.received) == 1
    err = capsys.readouterr().err

    conversation = [line for line in err.splitlines() if " mail.log: " in line]
    assert any("RCPT TO:" in line for line in conversation), err  # it did log the command
    assert "ada.lovelace@example.org" not in err
    assert "digest@example.org" not in err
    assert any("RCPT TO:<[email]>" in line for line in conversation)

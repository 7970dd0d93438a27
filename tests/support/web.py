"""The web pages served for real: uvicorn on 127.0.0.1 in the test's event loop, an
httpx client that keeps cookies like a browser, the real SMTP server, and a clock
the test moves."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx

from digest import db as database
from digest.app import App
from digest.config import Settings
from digest.models import Subscriber
from digest.store import subscribers as store
from digest.web import create_app
from digest.web.server import bind, build_server
from tests.support.cli import SECRET_KEY
from tests.support.smtp_server import SmtpServer

START = dt.datetime(2026, 6, 12, 8, 0, tzinfo=dt.UTC)
WAIT_SECONDS = 10.0
TOKEN = r"[A-Za-z0-9._-]+"


class FakeClock:
    """A clock that stands still until the test moves it."""

    def __init__(self, now: dt.datetime = START) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@dataclass
class Site:
    url: str
    app: App
    smtp: SmtpServer
    clock: FakeClock
    client: httpx.AsyncClient

    async def form_token(self, path: str) -> str:
        """Open ``path`` like a browser (keeping its cookie) and read the form's CSRF token."""
        page = await self.client.get(path)
        assert page.status_code == 200, page.text
        return csrf_token(page.text)

    async def subscribe(self, email: str, queries: str, **headers: str) -> httpx.Response:
        token = await self.form_token("/")
        return await self.client.post(
            "/",
            data={"csrf_token": token, "email": email, "queries": queries, "website": ""},
            headers=headers,
        )

    async def mail_to(self, address: str, count: int = 1) -> list[EmailMessage]:
        """The messages the SMTP server accepted for ``address``, once there are ``count``."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            messages = self.smtp.messages_to(address)
            if len(messages) >= count:
                return messages
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(messages)} of {count} emails to {address} arrived")
            await asyncio.sleep(0.02)

    async def subscriber(self, email: str) -> Subscriber | None:
        async with self.app.db.transaction() as session:
            return await store.get_by_email(session, email)


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def link(message: EmailMessage, purpose: str) -> str:
    """The path of the first ``purpose`` link (confirm, manage, unsubscribe) in the text part."""
    text = text_part(message)
    found = re.search(rf"https?://[^/\s]+(/{purpose}/{TOKEN})", text)
    assert found, f"no {purpose} link in:\n{text}"
    return found.group(1)


def text_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def web_settings(
    database_url: str, smtp: SmtpServer, public_url: str, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "smtp_host": smtp.host,
        "smtp_port": smtp.port,
        "smtp_tls": "none",
        "smtp_timeout": 5.0,
        "secret_key": SECRET_KEY,
        "mail_from": "Paper Digest <digest@example.org>",
        "public_url": public_url,
        "web_signup_rate_limit": "1000/hour",
        "web_form_rate_limit": "1000/minute",
    }
    return Settings(**(values | overrides))


@asynccontextmanager
async def serving(
    database_url: str, smtp: SmtpServer, clock: FakeClock | None = None, **overrides: Any
) -> AsyncIterator[Site]:
    """The pages of a fresh App on a migrated database, served by uvicorn on 127.0.0.1."""
    sock = bind("127.0.0.1", 0)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    clock = clock or FakeClock()
    app = App.from_settings(web_settings(database_url, smtp, url, **overrides), clock=clock)
    await database.upgrade(app.db.engine)
    server = build_server(create_app(app), trusted_proxies="127.0.0.1")
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while not server.started:
            assert not task.done(), "the web server stopped while starting"
            assert time.monotonic() < deadline, "the web server did not start"
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=url, timeout=WAIT_SECONDS) as client:
            yield Site(url, app, smtp, clock, client)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, WAIT_SECONDS)
        sock.close()
        await app.close()

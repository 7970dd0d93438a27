"""What every page handler shares: the App, the renderer, the guards and the postman."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from starlette.datastructures import FormData
from starlette.requests import Request

from digest.app import App
from digest.web.csrf import Csrf
from digest.web.mailing import Postman
from digest.web.pages import Pages, form_expired, too_many
from digest.web.ratelimit import Action, ClientLimits

MAX_FIELDS = 10
MAX_FIELD_BYTES = 64 * 1024
MAX_BODY_BYTES = 256 * 1024  # far above any honest form: ten 10,000-character fields fit


@dataclass(frozen=True, slots=True)
class Web:
    app: App
    pages: Pages
    csrf: Csrf
    limits: ClientLimits
    postman: Postman

    @property
    def link_lifetime(self) -> dt.timedelta:
        return dt.timedelta(days=self.app.settings.confirm_link_days)

    async def read_form(self, request: Request) -> FormData:
        """The submitted form, URL-encoded or multipart, files refused; a malformed body
        becomes a 400 page (Starlette raises HTTPException)."""
        return await request.form(max_files=0, max_fields=MAX_FIELDS, max_part_size=MAX_FIELD_BYTES)

    async def accept(self, request: Request, form: FormData) -> None:
        """Refuse (with a friendly page) a form sent too often from this client, or without
        this browser's CSRF token."""
        await self.count(request, Action.FORM)
        if not self.csrf.verify(request, form):
            raise form_expired()

    async def count(self, request: Request, action: Action) -> None:
        """Count ``action`` for this client; a 429 page when it is over the limit."""
        client = client_address(request)
        if not await self.limits.allow(action, client):
            raise too_many(await self.limits.retry_after(action, client))


def client_address(request: Request) -> str:
    """The client's IP address (uvicorn takes it from X-Forwarded-For when the request
    came through a trusted proxy, DIGEST_WEB_TRUSTED_PROXIES)."""
    return request.client.host if request.client else "unknown"


def text_field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""

"""The Starlette app factory: the subscription pages of one App.

``create_app(app)`` builds everything from the App it is given and starts
nothing: the caller (``digest web``, later ``digest serve``, tests) owns the
App and the server.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from digest import subscriptions
from digest.app import App
from digest.config import signing_key
from digest.resources import resource_dir
from digest.web.context import MAX_BODY_BYTES, Web
from digest.web.csrf import Csrf
from digest.web.health import HealthCheck
from digest.web.links import LinkPages
from digest.web.mailing import Postman
from digest.web.metrics import Metrics
from digest.web.pages import (
    Pages,
    Problem,
    bad_request,
    create_environment,
    not_allowed,
    not_found,
    server_error,
    too_large,
)
from digest.web.ratelimit import ClientLimits
from digest.web.signup import SignupPages

log = logging.getLogger(__name__)

# No script, nothing from elsewhere; the pages' links carry tokens, so no Referer either.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
}


def create_app(app: App) -> Starlette:
    """The web pages of ``app``: subscribe, confirm, manage, unsubscribe; and /healthz and
    /metrics for the people running it."""
    settings = app.settings
    csrf = Csrf(signing_key(settings), secure=settings.public_url.startswith("https://"))
    pages = Pages(create_environment(), csrf, confirm_days=settings.confirm_link_days)
    web = Web(
        app=app,
        pages=pages,
        csrf=csrf,
        limits=ClientLimits(
            signup=settings.web_signup_rate_limit, form=settings.web_form_rate_limit
        ),
        postman=Postman(app),
    )
    signup, links = SignupPages(web), LinkPages(web)
    health, metrics = HealthCheck(app), Metrics(app)
    routes = [
        Route("/healthz", health.endpoint, methods=["GET"]),
        Route("/metrics", metrics.endpoint, methods=["GET"]),
        Route("/", signup.form, methods=["GET"]),
        Route("/", signup.submit, methods=["POST"]),
        Route("/confirm/{token}", links.confirm_page, methods=["GET"]),
        Route("/confirm/{token}", links.confirm, methods=["POST"]),
        Route("/manage/{token}", links.manage_page, methods=["GET"]),
        Route("/manage/{token}", links.manage, methods=["POST"]),
        Route("/unsubscribe/{token}", links.unsubscribe_page, methods=["GET"]),
        Route("/unsubscribe/{token}", links.unsubscribe, methods=["POST"]),
        Mount("/static", StaticFiles(directory=resource_dir("templates") / "web" / "static")),
    ]

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        purged = await subscriptions.purge_expired_signups(
            app.db, web.link_lifetime, clock=app.clock
        )
        if purged:
            log.info("deleted %d unconfirmed sign-ups whose links had expired", purged)
        yield
        await web.postman.drain()

    async def problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return pages.problem(request, exc)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        known = {400: bad_request, 404: not_found, 405: not_allowed, 413: too_large}
        return pages.problem(request, known.get(exc.status_code, bad_request)())

    async def crash(request: Request, exc: Exception) -> Response:
        # Logged with its traceback by Starlette; the person sees a page, never the traceback.
        # (This runs outside the middleware, so it adds the security headers itself.)
        response = pages.problem(request, server_error())
        response.headers.update(SECURITY_HEADERS)
        return response

    return Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={Problem: problem, HTTPException: http_error, Exception: crash},
        middleware=[Middleware(SecurityHeaders)],
        max_body_size=MAX_BODY_BYTES,
    )


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)

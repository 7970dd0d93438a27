"""Rendering the pages (Jinja2, autoescaped, ``templates/web/``) and the friendly error pages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from digest.resources import resource_dir
from digest.web.csrf import FIELD, Csrf

# Pages carry this browser's CSRF token or a subscriber's address: never store them in
# a cache. (Search engines are kept out by a robots meta tag on every page but "/".)
PRIVATE_HEADERS = {"Cache-Control": "no-store"}


class Problem(Exception):
    """A request that gets a friendly page instead of what it asked for (never a traceback)."""

    def __init__(
        self,
        status: int,
        title: str,
        text: str,
        *,
        link: tuple[str, str] | None = ("/", "Go to the subscription page"),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.text = text
        self.link = link
        self.headers = dict(headers or {})


def bad_link(*, expired: bool, confirm_days: int) -> Problem:
    if expired:
        return Problem(
            400,
            "This link has expired",
            f"Confirmation links work for {confirm_days} days. "
            "Subscribe again to get a new one; nothing was changed.",
            link=("/", "Subscribe again"),
        )
    return Problem(
        400,
        "This link does not work",
        "It may have been cut short when it was copied, or it belongs to a subscription "
        "that has ended. Open the link from your most recent email, or subscribe again.",
    )


def form_expired() -> Problem:
    return Problem(
        403,
        "Please send the form again",
        "The form had expired, or your browser did not keep the cookie it needs. "
        "Go back, reload the page and try again. Nothing was changed.",
    )


def too_many(retry_after: int) -> Problem:
    minutes = max(1, round(retry_after / 60))
    return Problem(
        429,
        "Too many requests",
        f"Too many forms were sent from your network. Please try again in about "
        f"{minutes} minute{'s' if minutes != 1 else ''}. Nothing was changed.",
        headers={"Retry-After": str(retry_after)},
    )


def bad_request() -> Problem:
    return Problem(400, "That request was not understood", "Nothing was changed.")


def too_large() -> Problem:
    return Problem(413, "That form is too large", "Please shorten it. Nothing was changed.")


def not_found() -> Problem:
    return Problem(404, "Page not found", "There is no page at this address.")


def not_allowed() -> Problem:
    return Problem(405, "Not allowed", "This page cannot be used that way.")


def server_error() -> Problem:
    return Problem(
        500,
        "Something went wrong",
        "The server could not finish this request. Please try again in a few minutes.",
    )


def create_environment() -> jinja2.Environment:
    """Autoescape everything; an unknown variable is an error, not an empty string."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(resource_dir("templates") / "web"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,  # templates do not change under a running server: no stat per page
        trim_blocks=True,
        lstrip_blocks=True,
    )


class Pages:
    def __init__(self, env: jinja2.Environment, csrf: Csrf, *, confirm_days: int) -> None:
        self._env = env
        self._csrf = csrf
        self.confirm_days = confirm_days

    def render(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any] | None = None,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        form: bool = False,
    ) -> Response:
        """The page; a page with a ``form`` gets this browser's CSRF token (and its cookie)."""
        values: dict[str, Any] = {"confirm_days": self.confirm_days, **(context or {})}
        new_cookie = None
        if form:
            values["csrf_field"] = FIELD
            values["csrf_token"], new_cookie = self._csrf.token(request)
        html = self._env.get_template(template).render(values)
        response = HTMLResponse(
            html, status_code=status, headers={**PRIVATE_HEADERS, **(headers or {})}
        )
        if new_cookie is not None:
            self._csrf.set_cookie(response, new_cookie)
        return response

    def problem(self, request: Request, problem: Problem) -> Response:
        context = {"title": problem.title, "text": problem.text, "link": problem.link}
        return self.render(
            request, "message.html", context, status=problem.status, headers=problem.headers
        )

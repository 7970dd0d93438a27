"""``/``: the subscribe form, and the one answer every sign-up gets ("check your inbox")."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from digest import subscriptions
from digest.subscriptions import InvalidEmail, check_query_lines, normalise_email
from digest.web.context import Web, client_address, text_field
from digest.web.ratelimit import Action

log = logging.getLogger(__name__)

HONEYPOT = "website"  # hidden from people; bots that fill every field fill it


class SignupPages:
    def __init__(self, web: Web) -> None:
        self._web = web

    async def form(self, request: Request) -> Response:
        return self._form(request, email="", queries="", errors={})

    async def submit(self, request: Request) -> Response:
        web = self._web
        form = await web.read_form(request)
        await web.accept(request, form)
        email, queries = text_field(form, "email"), text_field(form, "queries")
        if text_field(form, HONEYPOT):
            log.info("dropped a sign-up with the honeypot filled, from %s", client_address(request))
            return self._check_inbox(request)
        errors: dict[str, list[str]] = {}
        try:
            address = normalise_email(email)
        except InvalidEmail as exc:
            errors["email"] = [_sentence(exc.reason)]
        texts, query_problems = check_query_lines(queries)
        if query_problems:
            errors["queries"] = query_problems
        if errors:
            return self._form(request, email=email, queries=queries, errors=errors, status=400)
        await web.count(request, Action.SIGNUP)
        outcome = await subscriptions.subscribe(
            web.app.db, address, texts, link_lifetime=web.link_lifetime, clock=web.app.clock
        )
        web.postman.send_later(outcome)
        return self._check_inbox(request)

    def _form(
        self,
        request: Request,
        *,
        email: str,
        queries: str,
        errors: dict[str, list[str]],
        status: int = 200,
    ) -> Response:
        context = {"email": email, "queries": queries, "errors": errors, "honeypot": HONEYPOT}
        return self._web.pages.render(request, "subscribe.html", context, status=status, form=True)

    def _check_inbox(self, request: Request) -> Response:
        # The same page, byte for byte, whatever the address was: it reveals nothing.
        return self._web.pages.render(request, "check_inbox.html")


def _sentence(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        return "This is not a valid email address."
    return reason[0].upper() + reason[1:]

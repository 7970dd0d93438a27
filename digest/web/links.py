"""The pages behind the signed links in emails: confirm, manage, unsubscribe.

A GET only shows a page (mail scanners open every link); a change needs a POST
from the page's button, with its CSRF token. The one exception is RFC 8058:
a POST of ``List-Unsubscribe=One-Click`` to the unsubscribe URL unsubscribes at
once, with no cookie and no token, and is answered 200 with no page.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from digest import subscriptions
from digest.models import Cadence, Subscriber, SubscriberStatus
from digest.subscriptions import LinkError, check_query_lines
from digest.tokens import Purpose
from digest.web.context import Web, text_field
from digest.web.pages import PRIVATE_HEADERS, bad_link, bad_request

T = TypeVar("T")

ONE_CLICK_FIELD = "List-Unsubscribe"
ONE_CLICK_VALUE = "One-Click"
NOTICES = {
    "saved": "Your changes are saved.",
    "paused": "Your digest is paused. Nothing will be sent until you resume it.",
    "resumed": "Your digest is running again.",
}


class LinkPages:
    def __init__(self, web: Web) -> None:
        self._web = web

    # --- confirm ------------------------------------------------------------------------

    async def confirm_page(self, request: Request) -> Response:
        subscriber = await self._subscriber(request, Purpose.CONFIRM)
        if subscriber.status not in (SubscriberStatus.PENDING, *subscriptions.LEAVABLE):
            raise bad_link(expired=False, confirm_days=self._web.pages.confirm_days)
        return self._render(request, "confirm.html", subscriber, form=True)

    async def confirm(self, request: Request) -> Response:
        web = self._web
        subscriber = await self._subscriber(request, Purpose.CONFIRM)
        await web.accept(request, await web.read_form(request))
        outcome = await self._do(subscriptions.confirm(web.app.db, subscriber, clock=web.app.clock))
        web.postman.send_later(outcome)
        return self._render(request, "confirmed.html", outcome.subscriber)

    # --- manage -------------------------------------------------------------------------

    async def manage_page(self, request: Request) -> Response:
        subscriber = await self._subscriber(request, Purpose.MANAGE)
        if subscriber.status not in subscriptions.LEAVABLE:
            return self._render(request, "unsubscribed.html", subscriber)
        notice = NOTICES.get(request.query_params.get("done", ""))
        queries = "\n".join(query.text for query in subscriber.queries)
        return self._manage(request, subscriber, queries=queries, notice=notice)

    async def manage(self, request: Request) -> Response:
        web = self._web
        db, clock = web.app.db, web.app.clock
        subscriber = await self._subscriber(request, Purpose.MANAGE)
        form = await web.read_form(request)
        await web.accept(request, form)
        match text_field(form, "action"):
            case "save":
                return await self._save(request, subscriber, form)
            case "pause":
                await self._do(subscriptions.pause(db, subscriber, clock=clock))
                return _see(request, "paused")
            case "resume":
                await self._do(subscriptions.resume(db, subscriber, clock=clock))
                return _see(request, "resumed")
            case "unsubscribe":
                outcome = await self._do(subscriptions.unsubscribe(db, subscriber, clock=clock))
                web.postman.send_later(outcome)
                return self._render(request, "unsubscribed.html", outcome.subscriber)
        raise bad_request()

    async def _save(self, request: Request, subscriber: Subscriber, form: FormData) -> Response:
        queries = text_field(form, "queries")
        texts, problems = check_query_lines(queries)
        cadence_text = text_field(form, "cadence")
        errors: dict[str, list[str]] = {}
        if problems:
            errors["queries"] = problems
        if cadence_text not in {cadence.value for cadence in Cadence}:
            errors["cadence"] = ["Choose daily or weekly."]
        if errors:
            return self._manage(request, subscriber, queries=queries, errors=errors, status=400)
        await self._do(
            subscriptions.update_preferences(
                self._web.app.db,
                subscriber,
                texts,
                Cadence(cadence_text),
                clock=self._web.app.clock,
            )
        )
        return _see(request, "saved")

    def _manage(
        self,
        request: Request,
        subscriber: Subscriber,
        *,
        queries: str,
        notice: str | None = None,
        errors: dict[str, list[str]] | None = None,
        status: int = 200,
    ) -> Response:
        context = {"queries": queries, "notice": notice, "errors": errors or {}}
        return self._render(request, "manage.html", subscriber, context, status=status, form=True)

    # --- unsubscribe --------------------------------------------------------------------

    async def unsubscribe_page(self, request: Request) -> Response:
        subscriber = await self._subscriber(request, Purpose.UNSUBSCRIBE)
        if subscriber.status not in subscriptions.LEAVABLE:
            return self._render(request, "unsubscribed.html", subscriber)
        return self._render(request, "unsubscribe.html", subscriber, form=True)

    async def unsubscribe(self, request: Request) -> Response:
        web = self._web
        subscriber = await self._subscriber(request, Purpose.UNSUBSCRIBE)
        form = await web.read_form(request)
        one_click = text_field(form, ONE_CLICK_FIELD) == ONE_CLICK_VALUE
        if not one_click:
            await web.accept(request, form)
        outcome = await self._do(
            subscriptions.unsubscribe(web.app.db, subscriber, clock=web.app.clock)
        )
        web.postman.send_later(outcome)
        if one_click:
            # RFC 8058: answered at once, no redirect, no page to click through.
            return PlainTextResponse("You are unsubscribed.\n", headers=PRIVATE_HEADERS)
        return self._render(request, "unsubscribed.html", outcome.subscriber)

    # --- shared -------------------------------------------------------------------------

    async def _subscriber(self, request: Request, purpose: Purpose) -> Subscriber:
        token = str(request.path_params["token"])
        max_age = self._web.link_lifetime if purpose is Purpose.CONFIRM else None
        return await self._do(
            subscriptions.subscriber_for_link(
                self._web.app.db, self._web.app.signer, purpose, token, max_age=max_age
            )
        )

    async def _do(self, action: Awaitable[T]) -> T:
        try:
            return await action
        except LinkError as exc:
            raise bad_link(expired=exc.expired, confirm_days=self._web.pages.confirm_days) from None

    def _render(
        self,
        request: Request,
        template: str,
        subscriber: Subscriber,
        context: dict[str, Any] | None = None,
        *,
        status: int = 200,
        form: bool = False,
    ) -> Response:
        values = {
            "email": subscriber.email,
            "status": subscriber.status.value,
            "cadence": subscriber.cadence.value,
            "query_list": [query.text for query in subscriber.queries],
            **(context or {}),
        }
        return self._web.pages.render(request, template, values, status=status, form=form)


def _see(request: Request, done: str) -> Response:
    """Post/redirect/get: a reload shows the page again instead of sending the form twice."""
    return RedirectResponse(f"{request.url.path}?done={done}", status_code=303)

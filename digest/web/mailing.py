"""Subscription emails from the web pages, sent without the page waiting for them.

They go straight to the mailer (``App.mailer()``), not through the outbox: the
outbox is the ledger of digests, and these emails are worth something only
now. Each is sent in a task of its own that the page does not wait for, so a
slow or unreachable SMTP server neither delays nor breaks a page, and the time
a page takes does not tell whether an email was sent. A failure is logged (with
the subscriber's id, not their address) and, for a sign-up, the per-address
slot is handed back so the person can ask again at once. Emails still being
sent when the server stops are awaited for at most DIGEST_SMTP_TIMEOUT.
"""

from __future__ import annotations

import asyncio
import logging
from email.message import EmailMessage

from digest import subscriptions
from digest.app import App
from digest.mail import MailError
from digest.subscriptions import Notice, Outcome

log = logging.getLogger(__name__)


class Postman:
    def __init__(self, app: App) -> None:
        self._app = app
        self._tasks: set[asyncio.Task[None]] = set()

    def send_later(self, outcome: Outcome) -> None:
        """Send the email that ``outcome`` made due (if any), without waiting for it."""
        if outcome.notice is None:
            return
        task = asyncio.create_task(self._send(outcome))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the emails still being sent (when the server stops)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self._app.settings.smtp_timeout)

    def compose(self, outcome: Outcome) -> EmailMessage:
        composer, subscriber = self._app.composer, outcome.subscriber
        match outcome.notice:
            case Notice.CONFIRM:
                return composer.confirmation(subscriber, self._app.settings.confirm_link_days)
            case Notice.WELCOME | Notice.REMINDER:
                # The reminder to an address that is already subscribed is the welcome
                # email: it lists their queries and links to their manage page.
                return composer.welcome(subscriber)
            case Notice.GOODBYE:
                return composer.goodbye(subscriber)
        raise ValueError(f"no email for {outcome.notice!r}")

    async def _send(self, outcome: Outcome) -> None:
        subscriber_id = outcome.subscriber.id
        try:
            message = self.compose(outcome)
            await self._app.send_message(message)
        except Exception as exc:
            if isinstance(exc, MailError | OSError):
                log.warning(
                    "could not send the %s email to subscriber %s: %s",
                    outcome.notice,
                    subscriber_id,
                    exc,
                )
            else:
                log.exception(
                    "failed to send the %s email to subscriber %s", outcome.notice, subscriber_id
                )
            await self._give_back(outcome)
            return
        log.info("sent the %s email to subscriber %s", outcome.notice, subscriber_id)

    async def _give_back(self, outcome: Outcome) -> None:
        try:
            await subscriptions.release_notice(self._app.db, outcome)
        except Exception:
            log.exception(
                "could not release the email slot of subscriber %s", outcome.subscriber.id
            )

"""The composition root: builds every collaborator from the settings, once, at the edges."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage

from digest import db as database
from digest.clock import Clock, utcnow
from digest.config import DEFAULT_SCHEDULE, Settings, signing_key
from digest.db import Database
from digest.dkim_signing import DkimSigner, load_dkim
from digest.emails import EmailComposer
from digest.mail import Mailer, build_mailer, serialise
from digest.rendering import Renderer, create_environment
from digest.sender import Sender, SendPolicy
from digest.sources import Source
from digest.sources.fetching import Fetcher, RetryPolicy, build_client
from digest.sources.hf_daily import HfDailySource
from digest.timetable import Timetable
from digest.tokens import LinkSigner

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    db: Database
    composer: EmailComposer
    signer: LinkSigner
    clock: Clock = field(default=utcnow)
    dkim: DkimSigner | None = None
    timetable: Timetable = field(
        default_factory=lambda: Timetable.from_names(DEFAULT_SCHEDULE, "UTC", "mon")
    )

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock = utcnow) -> App:
        signer = LinkSigner(signing_key(settings), clock=clock)
        composer = EmailComposer(
            Renderer(create_environment()),
            signer,
            public_url=settings.public_url,
            mail_from=settings.mail_from,
            max_papers=settings.max_papers_per_email,
            admin_email=settings.admin_email,
            postal_address=settings.postal_address,
            thumbnails=settings.email_thumbnails,
            clock=clock,
        )
        return cls(
            settings=settings,
            db=Database.from_url(settings.database_url),
            composer=composer,
            signer=signer,
            clock=clock,
            dkim=load_dkim(settings),
            timetable=Timetable.from_names(
                settings.schedule, settings.timezone, settings.weekly_day
            ),
        )

    def mailer(self) -> Mailer:
        """A new mailer (it holds a connection while in use, so each sender gets its own)."""
        return build_mailer(self.settings)

    async def send_message(self, message: EmailMessage) -> None:
        """Send one message now, outside the outbox (a confirmation email, say):
        serialised once, DKIM-signed when configured; MailError if not accepted."""
        mailer = self.mailer()
        try:
            await mailer.send(
                serialise(message, envelope_from=self.settings.sender_address, dkim=self.dkim)
            )
        finally:
            await mailer.close()

    def sender(self) -> Sender:
        """The sender that drains the outbox (``digest run``, ``send`` and ``worker``)."""
        return Sender(
            db=self.db,
            mailers=self.mailer,
            composer=self.composer,
            envelope_from=self.settings.sender_address,
            policy=SendPolicy.from_settings(self.settings),
            dkim=self.dkim,
            clock=self.clock,
        )

    @asynccontextmanager
    async def source(self) -> AsyncIterator[Source]:
        async with build_client(self.settings) as client:
            fetcher = Fetcher(client, RetryPolicy.from_settings(self.settings), clock=self.clock)
            yield HfDailySource(fetcher, self.settings.hf_base_url)

    async def prepare_database(self) -> None:
        """Migrate a SQLite database by itself (first runs need no setup); on other
        databases, refuse to start unless an operator ran ``digest db upgrade``."""
        if self.db.is_sqlite:
            before = await database.current_revision(self.db.engine)
            if before != database.head_revision():
                await database.upgrade(self.db.engine)
                log.info(
                    "migrated the SQLite database from %s to %s",
                    before or "empty",
                    database.head_revision(),
                )
        else:
            await database.ensure_migrated(self.db.engine)

    async def close(self) -> None:
        await self.db.dispose()

"""The sender: claims due deliveries from the outbox, renders, sends, and records the outcome.

``Sender.drain_once()`` sends everything due and returns (``digest send``,
``digest run``); ``Sender.run_forever(stop)`` keeps draining until ``stop`` is
set (``digest worker``, the scheduler). ``sent`` is written only after the SMTP
server accepted a message. A sender that dies leaves its claimed deliveries
``sending``; they go back to the queue when their lease runs out (at once on
SQLite, where one sender runs at a time), so a message in flight at the moment
of a crash may arrive twice, and nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import math
import os
import secrets
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from digest.clock import Clock, utcnow
from digest.config import Settings
from digest.db import Database
from digest.dkim_signing import DkimSigner
from digest.emails import EmailComposer
from digest.errors import DigestError
from digest.lanes import DrainPass, Outcomes
from digest.mail import Failure, Mailer, MailerFactory, MailError, Outgoing, serialise
from digest.models import Delivery
from digest.pacing import Pacer, RealTimer, Timer
from digest.sender_lock import SenderLock
from digest.store import deliveries
from digest.store.deliveries import Retry

log = logging.getLogger(__name__)

MAX_RETRY_DELAY = dt.timedelta(hours=1)
OUTAGE_FIRST_PAUSE = 5.0  # seconds before trying an unreachable SMTP server again
OUTAGE_MAX_PAUSE = 300.0  # the pause doubles up to this
CLAIM_SECONDS_AT_RATE = 2.0  # under a rate cap, claim about this many seconds of sending


@dataclass(frozen=True, slots=True)
class SendPolicy:
    """How a sender paces, retries and gives up; built from the settings."""

    concurrency: int = 4
    rate: float = 0.0  # messages per second across all connections; 0: no cap
    retry_base: dt.timedelta = dt.timedelta(seconds=60)
    retry_window: dt.timedelta = dt.timedelta(hours=48)
    max_bounces: int = 3
    lease: dt.timedelta = dt.timedelta(seconds=900)
    poll_seconds: float = 30.0
    batch_size: int = 100

    @classmethod
    def from_settings(cls, settings: Settings) -> SendPolicy:
        return cls(
            concurrency=settings.smtp_concurrency,
            rate=settings.send_rate,
            retry_base=dt.timedelta(seconds=settings.retry_base_seconds),
            retry_window=dt.timedelta(hours=settings.retry_hours),
            max_bounces=settings.max_bounces,
            lease=dt.timedelta(seconds=settings.send_lease_seconds),
            poll_seconds=settings.worker_poll_seconds,
            batch_size=settings.send_batch_size,
        )

    def retry_delay(self, attempts: int) -> dt.timedelta:
        """Exponential backoff: the base after the first attempt, doubling, at most an hour
        (or the base, if that is longer)."""
        doubled: dt.timedelta = self.retry_base * (2 ** min(max(attempts - 1, 0), 30))
        return min(doubled, max(MAX_RETRY_DELAY, self.retry_base))

    def claim_size(self) -> int:
        """How many deliveries to claim at once: a batch, or about two seconds of
        sending under a rate cap (a small claim keeps what is in flight small)."""
        if not self.rate:
            return self.batch_size
        paced = math.ceil(self.rate * CLAIM_SECONDS_AT_RATE)
        return max(1, min(self.batch_size, max(paced, self.concurrency)))


@dataclass(slots=True)
class SendReport:
    """What a sender did. ``error`` says why it stopped early (the SMTP server is
    unreachable); ``busy`` that another sender holds this SQLite database."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    bounced: int = 0  # subscribers who became 'bounced'
    released: int = 0  # claimed, then handed back unsent (outage or stop)
    recovered: int = 0  # left 'sending' by a sender that died, put back in the queue
    error: str | None = None
    busy: str | None = None

    def add(self, other: SendReport) -> None:
        for name in ("sent", "retried", "failed", "bounced", "released", "recovered"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.error = other.error
        self.busy = other.busy or self.busy

    def summary(self) -> str:
        parts = [f"{self.sent} sent", f"{self.retried} to retry", f"{self.failed} failed"]
        parts += [
            f"{getattr(self, name)} {name}"
            for name in ("bounced", "released", "recovered")
            if getattr(self, name)
        ]
        return ", ".join(parts)


def sender_name() -> str:
    """Who holds a claim: host, process and a random part (process ids get reused)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


class Sender:
    """Drains the outbox over ``policy.concurrency`` SMTP connections, at most
    ``policy.rate`` messages per second in total."""

    def __init__(
        self,
        *,
        db: Database,
        mailers: MailerFactory,
        composer: EmailComposer,
        envelope_from: str,
        policy: SendPolicy | None = None,
        dkim: DkimSigner | None = None,
        clock: Clock = utcnow,
        timer: Timer | None = None,
        name: str | None = None,
    ) -> None:
        self._db = db
        self._mailers = mailers
        self._composer = composer
        self._envelope_from = envelope_from
        self.policy = policy or SendPolicy()
        self._dkim = dkim
        self._clock = clock
        self._timer = timer or RealTimer()
        self._pacer = Pacer(self.policy.rate, self._timer)
        self.name = name or sender_name()
        self._lock = SenderLock.for_database(db)
        # One transaction at a time per sender: claims and records would otherwise
        # queue for SQLite's write lock, and many small commits cost more than few big ones.
        self._db_turn = asyncio.Lock()
        self._recovered_at_start = 0

    async def drain_once(self, stop: asyncio.Event | None = None) -> SendReport:
        """Send every delivery that is due now, then return. Stops early, handing back
        what it claimed, when the SMTP server cannot be reached or ``stop`` is set."""
        stop = stop or asyncio.Event()
        try:
            async with self._exclusive():
                return await self._drain(stop)
        except SenderBusy as exc:
            return SendReport(busy=str(exc))

    async def run_forever(self, stop: asyncio.Event) -> SendReport:
        """Keep draining until ``stop`` is set, then finish the messages in flight, hand
        back the rest unsent and return. Waits ``poll_seconds`` when the outbox is empty;
        pauses (5 s, doubling up to 5 min) while the SMTP server cannot be reached."""
        total = SendReport()
        async with self._exclusive():
            pause = OUTAGE_FIRST_PAUSE
            while not stop.is_set():
                try:
                    report = await self._drain(stop)
                except (SQLAlchemyError, OSError) as exc:
                    log.warning("database failure, trying again shortly: %s", exc)
                    await self._timer.wait(stop, self.policy.poll_seconds)
                    continue
                total.add(report)
                if report.error:
                    if pause == OUTAGE_FIRST_PAUSE:
                        log.warning(
                            "sending paused: %s; trying again in %.0f s, then less and less "
                            "often (at most every %.0f s)",
                            report.error,
                            pause,
                            OUTAGE_MAX_PAUSE,
                        )
                    await self._timer.wait(stop, pause)
                    pause = min(pause * 2, OUTAGE_MAX_PAUSE)
                    continue
                if pause != OUTAGE_FIRST_PAUSE:
                    log.warning("sending resumed: the SMTP server accepts connections again")
                    pause = OUTAGE_FIRST_PAUSE
                await self._timer.wait(stop, await self._idle_seconds())
        total.error = None
        return total

    async def _idle_seconds(self) -> float:
        async with self._db.transaction() as session:
            due = await deliveries.next_due(session)
        if due is None:
            return self.policy.poll_seconds
        until = (due - self._clock()).total_seconds()
        return min(self.policy.poll_seconds, max(1.0, until))

    @contextlib.asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[None]:
        """On SQLite, hold the one-sender lock; whatever a dead sender left ``sending``
        is then known to be abandoned and goes back to the queue at once."""
        if self._lock is None:
            yield
            return
        if not self._lock.acquire():
            raise SenderBusy(
                f"another sender (pid {self._lock.holder() or '?'}) is sending from this "
                "SQLite database; on SQLite one sender runs at a time"
            )
        try:
            async with self._db.transaction() as session:
                recovered = await deliveries.release_stale(
                    session, self._clock() + dt.timedelta(days=3650), self._clock()
                )
            if recovered:
                log.warning(
                    "put %d deliveries left by a stopped sender back in the queue", recovered
                )
            self._recovered_at_start = recovered
            yield
        finally:
            self._lock.release()

    async def _drain(self, stop: asyncio.Event) -> SendReport:
        report = SendReport(recovered=self._recovered_at_start)
        self._recovered_at_start = 0
        now = self._clock()
        async with self._db.transaction() as session:
            stale = await deliveries.release_stale(session, now - self.policy.lease, now)
        if stale:
            log.warning("put %d deliveries whose sender stopped mid-send back in the queue", stale)
        report.recovered += stale
        run = DrainPass(self, stop, report)
        await run.go()
        return report

    # The parts of one pass, used by _Pass.

    async def claim(self) -> list[Delivery]:
        async with self._db_turn, self._db.transaction() as session:
            return await deliveries.claim_due(
                session,
                self._clock(),
                self.policy.claim_size(),
                self.name,
                self._composer.message_id,
            )

    def render(self, delivery: Delivery) -> Outgoing:
        message = self._composer.digest(delivery)
        return serialise(message, envelope_from=self._envelope_from, dkim=self._dkim)

    async def record(self, outcomes: Outcomes, report: SendReport) -> None:
        now = self._clock()
        async with self._db_turn, self._db.transaction() as session:
            recorded = await deliveries.mark_sent(session, outcomes.sent, self.name, now)
            await deliveries.retry_later(session, outcomes.retries, self.name)
            bounced = await deliveries.mark_failed(
                session, outcomes.failures, self.name, now, self.policy.max_bounces
            )
        if recorded != len(outcomes.sent):
            log.warning(
                "%d sent deliveries were no longer held by this sender (lease ran out?)",
                len(outcomes.sent) - recorded,
            )
        for subscriber_id in bounced:
            log.warning(
                "subscriber %d is now bounced after %d permanent failures in a row",
                subscriber_id,
                self.policy.max_bounces,
            )
        report.sent += len(outcomes.sent)
        report.retried += len(outcomes.retries)
        report.failed += len(outcomes.failures)
        report.bounced += len(bounced)

    async def release(self, unsent: list[Delivery]) -> int:
        async with self._db_turn, self._db.transaction() as session:
            return await deliveries.release(session, [d.id for d in unsent], self.name)

    def outcome_of(self, delivery: Delivery, exc: MailError | None, outcomes: Outcomes) -> None:
        if exc is None:
            outcomes.sent.append(delivery.id)
            return
        if exc.failure is Failure.PERMANENT:
            log.warning("delivery %d failed for good: %s", delivery.id, exc)
            outcomes.failures.append(deliveries.Failure(delivery.id, str(exc), bounce=True))
            return
        now = self._clock()
        when = now + self.policy.retry_delay(delivery.attempts)
        started = delivery.first_attempt_at or now
        if when > started + self.policy.retry_window:
            log.warning(
                "delivery %d failed after %d attempts: %s", delivery.id, delivery.attempts, exc
            )
            error = f"gave up after {delivery.attempts} attempts: {exc}"
            outcomes.failures.append(deliveries.Failure(delivery.id, error, bounce=False))
            return
        outcomes.retries.append(Retry(delivery.id, str(exc), when))

    def mailer(self) -> Mailer:
        return self._mailers()

    @property
    def pacer(self) -> Pacer:
        return self._pacer

    @property
    def timer(self) -> Timer:
        return self._timer


class SenderBusy(DigestError):
    """Another sender holds this SQLite database."""

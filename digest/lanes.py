"""One drain of the outbox: a lane per SMTP connection, a shared queue, a recorder.

Lanes take claimed deliveries from a queue that is refilled ahead of need;
each renders, waits for its rate slot and hands its message over. A recorder
writes the outcomes of many messages in one transaction every 50 ms, and
everything done is written before more is claimed, so what is claimed and not
yet recorded never exceeds a batch plus two per lane: the most a crash can
send twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from digest.mail import Failure, Mailer, MailError
from digest.models import Delivery
from digest.store import deliveries
from digest.store.deliveries import Retry

if TYPE_CHECKING:
    from digest.sender import Sender, SendReport

log = logging.getLogger("digest.sender")

RECORD_EVERY = 0.05  # seconds outcomes may wait to be written together (one commit for many)
RECORD_TRIES = 5  # a database that fails this often in a row (1, 2, 4, 8 s apart) ends the pass


@dataclass(slots=True)
class Outcomes:
    """Results not yet written to the database."""

    sent: list[int] = field(default_factory=list)
    retries: list[Retry] = field(default_factory=list)
    failures: list[deliveries.Failure] = field(default_factory=list)

    def __len__(self) -> int:
        return sum(len(getattr(self, f.name)) for f in fields(self))

    def merge(self, other: Outcomes) -> None:
        self.sent += other.sent
        self.retries += other.retries
        self.failures += other.failures


class DrainPass:
    """One drain: lanes (one per connection) take claimed deliveries from a shared
    queue, which is refilled ahead of need; outcomes are written in batches by a
    recorder that runs alongside, so a message's ``sent`` is written within moments."""

    def __init__(self, sender: Sender, stop: asyncio.Event, report: SendReport) -> None:
        self.sender = sender
        self.stop = stop
        self.report = report
        self.queue: deque[Delivery] = deque()
        self.exhausted = False
        self.unreachable: str | None = None
        self.outcomes = Outcomes()
        self.wake_recorder = asyncio.Event()
        self.lanes_done = False
        self.lanes_finished = asyncio.Event()
        self.refill_lock = asyncio.Lock()
        self.refilling: asyncio.Task[None] | None = None
        self.database_failure: Exception | None = None

    def halted(self) -> bool:
        return (
            self.stop.is_set() or self.unreachable is not None or self.database_failure is not None
        )

    async def go(self) -> None:
        policy = self.sender.policy
        mailers = [self.sender.mailer() for _ in range(policy.concurrency)]
        recorder = asyncio.create_task(self._recorder())
        try:
            async with asyncio.TaskGroup() as lanes:  # one lane failing stops the others
                for mailer in mailers:
                    lanes.create_task(self._lane(mailer))
        finally:
            try:
                if self.refilling is not None:
                    await asyncio.gather(self.refilling, return_exceptions=True)
                self.lanes_done = True
                self.lanes_finished.set()
                self.wake_recorder.set()
                await recorder
            finally:
                await asyncio.gather(*(m.close() for m in mailers), return_exceptions=True)
                if self.queue and self.database_failure is None:
                    self.report.released += await self.sender.release(list(self.queue))
                    self.queue.clear()
        if self.database_failure is not None:
            # Raised once the messages in flight are finished: what was claimed and not
            # recorded waits for its lease (on SQLite, for the next sender).
            raise self.database_failure
        self.report.error = self.unreachable

    async def _refill(self) -> None:
        async with self.refill_lock:
            if self.exhausted or self.halted() or len(self.queue) >= self._low_water():
                return
            # Write what is done before claiming more: then what is claimed and not
            # yet recorded never exceeds a batch plus two per lane (the crash bound).
            try:
                if self.outcomes:
                    done, self.outcomes = self.outcomes, Outcomes()
                    try:
                        await self.sender.record(done, self.report)
                    except BaseException:
                        self.outcomes.merge(done)  # the recorder tries them again
                        raise
                batch = await self.sender.claim()
            except (SQLAlchemyError, OSError) as exc:
                log.warning("database failure while claiming; finishing what is in hand: %s", exc)
                self.database_failure = exc
                return
            if not batch:
                self.exhausted = True
            self.queue.extend(batch)

    def _low_water(self) -> int:
        # Claim the next batch while each lane still has a delivery to work on, so
        # lanes seldom wait for the database, and at most a batch plus two per lane
        # is claimed at any moment.
        return self.sender.policy.concurrency

    def _refill_ahead(self) -> None:
        if self.exhausted or (self.refilling is not None and not self.refilling.done()):
            return
        if len(self.queue) < self._low_water():
            self.refilling = asyncio.create_task(self._refill())

    async def _lane(self, mailer: Mailer) -> None:
        while not self.halted():
            if not self.queue:
                await self._refill()
                if not self.queue:
                    if self.exhausted or self.halted():
                        return
                    continue
            self._refill_ahead()
            delivery = self.queue.popleft()
            try:
                outgoing = self.sender.render(delivery)
            except Exception as exc:  # a template bug must not stop the other deliveries
                log.exception("delivery %d could not be rendered", delivery.id)
                error = MailError(f"rendering failed: {exc}", failure=Failure.TEMPORARY)
                self.sender.outcome_of(delivery, error, self.outcomes)
                self.wake_recorder.set()
                continue
            try:
                # Connected before the rate slot is taken: an outage uses up no slots.
                await mailer.connect()
                await self.sender.pacer.acquire()
                if self.halted():
                    self.queue.appendleft(delivery)
                    return
                await mailer.send(outgoing)
            except MailError as exc:
                if exc.failure is Failure.UNREACHABLE:
                    self.unreachable = self.unreachable or str(exc)
                    self.queue.appendleft(delivery)
                    return
                self.sender.outcome_of(delivery, exc, self.outcomes)
            else:
                self.sender.outcome_of(delivery, None, self.outcomes)
            self.wake_recorder.set()

    async def _recorder(self) -> None:
        flush_at = self.sender.policy.claim_size()
        failures = 0
        while True:
            await self.wake_recorder.wait()
            self.wake_recorder.clear()
            if not self.lanes_done and len(self.outcomes) < flush_at:
                await self.sender.timer.wait(self.lanes_finished, RECORD_EVERY)
            if self.outcomes:
                batch, self.outcomes = self.outcomes, Outcomes()
                try:
                    await self.sender.record(batch, self.report)
                except (SQLAlchemyError, OSError) as exc:
                    self.outcomes.merge(batch)
                    failures += 1
                    self.database_failure = self.database_failure or exc
                    if failures >= RECORD_TRIES:
                        log.error("cannot record %d outcomes: %s", len(self.outcomes), exc)
                        return
                    log.warning("database failure while recording, trying again: %s", exc)
                    await self.sender.timer.sleep(2.0 ** (failures - 1))
                    self.wake_recorder.set()
                    continue
                failures = 0
            if self.lanes_done and not self.outcomes:
                return

"""The sender against a real SMTP server that misbehaves: what ends up sent, retried, failed."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging

import pytest

from digest.db import Database
from digest.mail import Outgoing
from digest.models import Delivery, DeliveryStatus, SubscriberStatus
from digest.sender import SendPolicy
from digest.store import bounces
from tests.support.outbox import (
    START,
    FakeClock,
    FakeTimer,
    delivery,
    enqueue_more,
    seed,
    smtp_sender,
    smtp_settings,
    subscriber,
)
from tests.support.smtp_server import DROP, Fault, SmtpServer


async def test_each_fault_ends_as_sent_retried_or_failed(db: Database, smtp: SmtpServer) -> None:
    addresses = [
        "ok@example.org",
        "greylisted@example.org",
        "busy@example.org",
        "gone@example.org",
        "dropped@example.org",
        "rejected@example.org",
    ]
    ids = await seed(db, addresses, START)
    smtp.fail("greylisted@example.org", Fault("451 4.7.1 greylisted, try again", times=1))
    smtp.fail("busy@example.org", Fault("421 4.3.2 too busy, closing", times=1))
    smtp.fail("gone@example.org", Fault("550 5.1.1 no such user"))
    smtp.fail("dropped@example.org", Fault(DROP, stage="data", times=1))
    smtp.fail("rejected@example.org", Fault("554 5.7.1 message refused", stage="data"))
    clock = FakeClock()
    sender = smtp_sender(db, smtp_settings(smtp, smtp_concurrency=2), clock)

    first = await sender.drain_once()

    assert (first.sent, first.retried, first.failed, first.error) == (1, 3, 2, None)
    assert smtp.count_by_recipient() == {"ok@example.org": 1}
    for address in ("greylisted@example.org", "busy@example.org", "dropped@example.org"):
        retried = await delivery(db, ids[address])
        assert retried.status is DeliveryStatus.PENDING
        assert retried.attempts == 1
        assert retried.next_attempt_at == START + dt.timedelta(seconds=60)
        assert retried.last_error
    assert "451 4.7.1 greylisted" in (await delivery(db, ids["greylisted@example.org"])).last_error
    gone = await delivery(db, ids["gone@example.org"])
    assert gone.status is DeliveryStatus.FAILED
    assert gone.last_error == "recipient refused: 550 5.1.1 no such user"
    rejected = await delivery(db, ids["rejected@example.org"])
    assert rejected.status is DeliveryStatus.FAILED
    assert (await subscriber(db, "gone@example.org")).bounce_count == 1

    assert (await sender.drain_once()).sent == 0  # nothing is due before the backoff ends
    clock.advance(seconds=60)
    second = await sender.drain_once()

    assert (second.sent, second.retried, second.failed) == (3, 0, 0)
    assert smtp.count_by_recipient() == {
        "ok@example.org": 1,
        "greylisted@example.org": 1,
        "busy@example.org": 1,
        "dropped@example.org": 1,
    }
    sent = await delivery(db, ids["greylisted@example.org"])
    assert sent.status is DeliveryStatus.SENT
    assert sent.attempts == 2
    assert sent.sent_at == START + dt.timedelta(seconds=60)
    assert sent.last_error is None
    # The same Message-ID on every attempt, so a receiver can tell a repeat.
    [message] = smtp.messages_to("greylisted@example.org")
    assert message["Message-ID"] == sent.message_id


async def test_temporary_failures_back_off_exponentially_then_give_up(
    db: Database, smtp: SmtpServer
) -> None:
    ids = await seed(db, ["later@example.org"], START)
    smtp.fail("later@example.org", Fault("451 4.3.0 mailbox busy"))
    clock = FakeClock()
    # Waits of 60 s, 120 s, then 240 s would pass the 6-minute window.
    settings = smtp_settings(smtp, retry_base_seconds=60, retry_hours=0.1)
    sender = smtp_sender(db, settings, clock)

    due_times = []
    for _ in range(5):
        await sender.drain_once()
        current = await delivery(db, ids["later@example.org"])
        if current.status is not DeliveryStatus.PENDING:
            break
        due_times.append(current.next_attempt_at)
        clock.now = current.next_attempt_at

    assert due_times == [START + dt.timedelta(seconds=s) for s in (60, 180)]
    assert current.status is DeliveryStatus.FAILED
    assert current.attempts == 3
    assert (
        current.last_error == "gave up after 3 attempts: recipient refused: 451 4.3.0 mailbox busy"
    )
    assert smtp.handler.attempts["later@example.org"] == 3
    assert (await subscriber(db, "later@example.org")).bounce_count == 0  # not a bounce


async def test_permanent_failures_in_a_row_make_a_subscriber_bounced(
    db: Database, smtp: SmtpServer
) -> None:
    ids = await seed(db, ["gone@example.org", "flaky@example.org"], START)
    smtp.fail("gone@example.org", Fault("550 5.1.1 no such user"))
    smtp.fail("flaky@example.org", Fault("550 5.2.1 mailbox disabled", times=2))
    clock = FakeClock()
    sender = smtp_sender(db, smtp_settings(smtp, max_bounces=3), clock)

    await sender.drain_once()
    for day in (1, 2):  # two more digests each, two more days
        clock.advance(days=1)
        for address in ("gone@example.org", "flaky@example.org"):
            await enqueue_more(db, address, clock.now, paper_index=10 + day)
        report = await sender.drain_once()

    gone = await subscriber(db, "gone@example.org")
    assert (gone.status, gone.bounce_count) == (SubscriberStatus.BOUNCED, 3)
    assert report.bounced == 1
    # The third digest got through: a success ends the run of bounces.
    flaky = await subscriber(db, "flaky@example.org")
    assert (flaky.status, flaky.bounce_count) == (SubscriberStatus.ACTIVE, 0)
    assert smtp.count_by_recipient() == {"flaky@example.org": 1}

    # A bounced subscriber gets nothing more: their next digest waits, unclaimed.
    clock.advance(days=1)
    waiting = await enqueue_more(db, "gone@example.org", clock.now, paper_index=20)
    smtp.fail("gone@example.org", Fault("550 5.1.1 no such user", times=0))  # fixed now
    assert (await sender.drain_once()).sent == 0
    assert (await delivery(db, waiting)).status is DeliveryStatus.PENDING
    assert (await delivery(db, waiting)).attempts == 0

    async with db.transaction() as session:
        assert await bounces.resume_bounced(session, gone.id)
        assert not await bounces.resume_bounced(session, gone.id)  # not bounced any more
    resumed = await subscriber(db, "gone@example.org")
    assert (resumed.status, resumed.bounce_count) == (SubscriberStatus.ACTIVE, 0)
    assert (await sender.drain_once()).sent == 1
    assert (await delivery(db, waiting)).status is DeliveryStatus.SENT
    assert ids  # the first digests of both stay as they ended
    assert (await delivery(db, ids["gone@example.org"])).status is DeliveryStatus.FAILED


async def test_a_server_that_is_down_pauses_sending_and_loses_nothing(
    db: Database, smtp: SmtpServer
) -> None:
    ids = await seed(db, [f"user{n}@example.org" for n in range(6)], START)
    smtp.down()
    clock = FakeClock()
    sender = smtp_sender(db, smtp_settings(smtp, smtp_concurrency=3), clock)

    report = await sender.drain_once()

    assert report.sent == 0
    assert report.error is not None
    assert "cannot connect to the SMTP server" in report.error
    for delivery_id in ids.values():
        waiting = await delivery(db, delivery_id)
        assert waiting.status is DeliveryStatus.PENDING
        assert waiting.attempts == 0  # an outage burns no attempts
        assert waiting.next_attempt_at == START

    smtp.up()
    assert (await sender.drain_once()).sent == 6
    assert smtp.count_by_recipient() == dict.fromkeys(ids, 1)


async def test_a_worker_pauses_through_an_outage_then_resumes_at_the_capped_rate(
    db: Database, smtp: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    addresses = [f"user{n}@example.org" for n in range(20)]
    ids = await seed(db, addresses, START)
    smtp.down()
    stop = asyncio.Event()

    class OutageTimer(FakeTimer):
        async def wait(self, stop_event: object, seconds: float) -> None:
            await super().wait(stop_event, seconds)
            if len(self.waits) == 4:
                smtp.up()  # back after four pauses
            if len(smtp.received) == len(addresses):
                stop.set()  # all delivered: the test is over

    timer = OutageTimer()
    clock = FakeClock()
    settings = smtp_settings(smtp, smtp_concurrency=4, send_rate=10, worker_poll_seconds=30)
    sender = smtp_sender(db, settings, clock, timer=timer)
    granted: list[float] = []  # when the rate cap let each message go, in the timer's time
    take_slot = sender.pacer.acquire

    async def recorded_slot() -> None:
        await take_slot()
        granted.append(timer.now)

    sender.pacer.acquire = recorded_slot  # type: ignore[method-assign]

    with caplog.at_level(logging.WARNING, logger="digest.sender"):
        total = await asyncio.wait_for(sender.run_forever(stop), timeout=60)

    assert total.sent == 20
    assert smtp.count_by_recipient() == dict.fromkeys(addresses, 1)
    assert timer.waits[:4] == [5.0, 10.0, 20.0, 40.0]  # pauses grow: no retry storm
    paused = [r for r in caplog.records if "sending paused" in r.getMessage()]
    resumed = [r for r in caplog.records if "sending resumed" in r.getMessage()]
    assert len(paused) == 1
    assert "cannot connect to the SMTP server" in paused[0].getMessage()
    assert len(resumed) == 1
    for delivery_id in ids.values():
        assert (await delivery(db, delivery_id)).attempts == 1
    # After the outage as before: 10 per second at most, no burst to catch up.
    assert len(granted) == 20  # an unreachable server used up no slots
    gaps = [later - earlier for earlier, later in itertools.pairwise(granted)]
    assert min(gaps) >= 0.1 - 1e-9


def test_backoff_doubles_up_to_an_hour() -> None:
    policy = SendPolicy(retry_base=dt.timedelta(seconds=60))
    delays = [policy.retry_delay(n).total_seconds() for n in range(1, 10)]
    assert delays == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]


async def test_a_digest_that_cannot_be_rendered_waits_and_the_others_go(
    db: Database, smtp: SmtpServer
) -> None:
    ids = await seed(db, ["ok@example.org", "broken@example.org"], START)
    clock = FakeClock()
    sender = smtp_sender(db, smtp_settings(smtp), clock)
    render = sender.render

    def failing_render(delivery: Delivery) -> Outgoing:
        if delivery.subscriber.email == "broken@example.org":
            raise ValueError("a template bug")
        return render(delivery)

    sender.render = failing_render  # type: ignore[method-assign]

    report = await sender.drain_once()

    assert (report.sent, report.retried) == (1, 1)
    assert smtp.count_by_recipient() == {"ok@example.org": 1}
    waiting = await delivery(db, ids["broken@example.org"])
    assert waiting.status is DeliveryStatus.PENDING
    assert waiting.last_error == "rendering failed: a template bug"

"""Abuse of the sign-up form: repeated sign-ups of one address (across processes), floods
from one client, bots, abandoned sign-ups, and a mail server that is down."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest

from digest.models import SubscriberStatus
from tests.support.smtp_server import SmtpServer, free_port
from tests.support.web import FakeClock, link, serving

ADA = "ada@example.org"


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


async def test_one_confirmation_email_per_address_per_10_minutes_across_processes(
    database_url: str, smtp: SmtpServer
) -> None:
    clock = FakeClock()
    # Two web processes on one database: the limit is kept in the database, not in memory.
    async with serving(database_url, smtp, clock) as one, serving(database_url, smtp, clock) as two:
        for site in (one, two, one, two):
            answer = await site.subscribe(ADA, "LLM")
            assert answer.status_code == 200
            clock.advance(minutes=3)  # 9 minutes after the first at the last one
        await one.mail_to(ADA, 1)

        clock.advance(minutes=1, seconds=1)  # 10 minutes and a second after the first
        await two.subscribe(ADA, "LLM\ndiffusion")
        messages = await one.mail_to(ADA, 2)

        # The sentinel: a sign-up of another address, sent after all of Ada's requests.
        await one.subscribe("zoe@example.org", "LLM")
        await one.mail_to("zoe@example.org")
    assert len(smtp.messages_to(ADA)) == 2
    assert link(messages[0], "confirm") and link(messages[1], "confirm")


async def test_a_pending_sign_up_changes_only_when_its_email_is_sent(
    database_url: str, smtp: SmtpServer
) -> None:
    async with serving(database_url, smtp) as site:
        await site.subscribe(ADA, "LLM")
        await site.subscribe(ADA, "something a prankster typed")  # within 10 minutes
        await site.mail_to(ADA)

        subscriber = await site.subscriber(ADA)
        assert subscriber is not None
        assert [query.text for query in subscriber.queries] == ["LLM"]


async def test_sign_ups_from_one_client_are_limited(database_url: str, smtp: SmtpServer) -> None:
    async with serving(database_url, smtp, web_signup_rate_limit="2/hour") as site:
        crowd = {"X-Forwarded-For": "203.0.113.7"}  # uvicorn trusts it from 127.0.0.1
        for number in range(2):
            answer = await site.subscribe(f"user{number}@example.org", "LLM", **crowd)
            assert answer.status_code == 200
        refused = await site.subscribe("user2@example.org", "LLM", **crowd)
        bad_input = await site.subscribe("not-an-address", "LLM", **crowd)
        elsewhere = await site.subscribe(
            "user3@example.org", "LLM", **{"X-Forwarded-For": "198.51.100.9"}
        )

        assert refused.status_code == 429
        assert "Too many requests" in refused.text
        assert 0 < int(refused.headers["retry-after"]) <= 3600
        assert bad_input.status_code == 400  # only sign-ups that would write or send count
        assert elsewhere.status_code == 200
        assert await site.subscriber("user2@example.org") is None
        assert await site.subscriber("user3@example.org") is not None


async def test_a_filled_honeypot_gets_the_usual_page_and_nothing_else(
    database_url: str, smtp: SmtpServer
) -> None:
    async with serving(database_url, smtp) as site:
        token = await site.form_token("/")
        fields = {"csrf_token": token, "email": ADA, "queries": "LLM"}

        bot = await site.client.post("/", data=fields | {"website": "http://spam.example"})
        person = await site.subscribe("zoe@example.org", "LLM")

        assert bot.status_code == 200
        assert bot.text == person.text
        await site.mail_to("zoe@example.org")
        assert await site.subscriber(ADA) is None
        assert site.smtp.messages_to(ADA) == []


async def test_unconfirmed_sign_ups_are_deleted_when_their_link_has_expired(
    database_url: str, smtp: SmtpServer
) -> None:
    clock = FakeClock()
    async with serving(database_url, smtp, clock) as site:
        await site.subscribe(ADA, "LLM")
        clock.advance(days=6)
        await site.subscribe("bob@example.org", "LLM")
        clock.advance(days=1, seconds=1)  # Ada's link has expired, Bob's has not

        await site.subscribe("zoe@example.org", "LLM")  # each sign-up purges first

        assert await site.subscriber(ADA) is None
        assert await site.subscriber("bob@example.org") is not None
        clock.advance(days=6)

    # Starting the web app purges too.
    async with serving(database_url, smtp, clock) as site:
        assert await site.subscriber("bob@example.org") is None
        assert await site.subscriber("zoe@example.org") is not None


async def test_an_active_subscriber_is_never_purged(database_url: str, smtp: SmtpServer) -> None:
    clock = FakeClock()
    async with serving(database_url, smtp, clock) as site:
        await site.subscribe(ADA, "LLM")
        confirm_path = link((await site.mail_to(ADA))[0], "confirm")
        token = await site.form_token(confirm_path)
        assert (await site.client.post(confirm_path, data={"csrf_token": token})).status_code == 200
        clock.advance(days=30)

        await site.subscribe("zoe@example.org", "LLM")

        subscriber = await site.subscriber(ADA)
        assert subscriber is not None
        assert subscriber.status is SubscriberStatus.ACTIVE


async def test_a_mail_server_that_is_down_neither_breaks_nor_delays_the_page(
    database_url: str, smtp: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="digest.web.mailing")
    async with serving(database_url, smtp) as site:
        normal = await site.subscribe("zoe@example.org", "LLM")
    async with serving(database_url, smtp, smtp_port=free_port()) as site:  # nobody listens
        answer = await site.subscribe(ADA, "LLM")

        assert answer.status_code == 200
        assert answer.text == normal.text
        # The failure is logged (without the address) and the slot handed back, so the
        # person can ask again at once instead of waiting 10 minutes.
        deadline = time.monotonic() + 10
        while True:
            subscriber = await site.subscriber(ADA)
            assert subscriber is not None
            if subscriber.confirmation_sent_at is None:
                break
            assert time.monotonic() < deadline, "the slot was not handed back"
            await asyncio.sleep(0.02)
        failures = [r for r in caplog.records if "could not send the confirm email" in r.message]
        assert failures
        assert ADA not in failures[0].message

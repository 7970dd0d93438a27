"""The pages behind signed links (confirm, manage, unsubscribe, RFC 8058 one-click) over real
HTTP, on both databases, with emails read back from the real SMTP server."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from digest.models import Cadence, Subscriber, SubscriberStatus
from digest.tokens import Purpose
from tests.support.smtp_server import SmtpServer
from tests.support.web import Site, link, serving, text_part

ADA = "ada@example.org"


async def press(site: Site, path: str, **fields: str) -> httpx.Response:
    """Open the page at ``path`` and press its button (a POST with the page's CSRF token)."""
    token = await site.form_token(path)
    return await site.client.post(path, data={"csrf_token": token, **fields})


async def sign_up(site: Site, email: str = ADA, queries: str = "LLM\ndiffusion") -> str:
    """Subscribe ``email``; the path of the confirmation link it was sent."""
    before = len(site.smtp.messages_to(email))
    assert (await site.subscribe(email, queries)).status_code == 200
    return link((await site.mail_to(email, before + 1))[before], "confirm")


async def subscribed(site: Site, email: str = ADA) -> dict[str, str]:
    """A confirmed subscriber: the manage and unsubscribe paths of their welcome email."""
    confirm_path = await sign_up(site, email)
    assert (await press(site, confirm_path)).status_code == 200
    welcome = (await site.mail_to(email, 2))[1]
    return {"manage": link(welcome, "manage"), "unsubscribe": link(welcome, "unsubscribe")}


async def status_of(site: Site, email: str = ADA) -> SubscriberStatus:
    subscriber = await site.subscriber(email)
    assert subscriber is not None
    return subscriber.status


def subjects(site: Site, email: str = ADA) -> list[str]:
    return [str(message["Subject"]) for message in site.smtp.messages_to(email)]


# --- confirm ------------------------------------------------------------------------------


async def test_opening_the_confirm_link_changes_nothing_pressing_its_button_activates(
    site: Site,
) -> None:
    confirm_path = await sign_up(site)

    page = await site.client.get(confirm_path)
    assert page.status_code == 200
    assert "Confirm subscription</button>" in page.text
    assert "<code>diffusion</code>" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert await status_of(site) is SubscriberStatus.PENDING  # GET never changes anything

    done = await press(site, confirm_path)

    assert done.status_code == 200
    assert "You are subscribed" in done.text
    assert await status_of(site) is SubscriberStatus.ACTIVE
    welcome = (await site.mail_to(ADA, 2))[1]
    assert welcome["List-Unsubscribe"].startswith(f"<{site.url}{link(welcome, 'unsubscribe')}>, ")
    assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link(welcome, "manage")


async def test_a_replayed_confirmation_sends_no_second_welcome(site: Site) -> None:
    confirm_path = await sign_up(site)
    token = await site.form_token(confirm_path)
    await site.client.post(confirm_path, data={"csrf_token": token})
    welcome = (await site.mail_to(ADA, 2))[1]

    replay = await site.client.post(confirm_path, data={"csrf_token": token})

    assert replay.status_code == 200
    assert "You are subscribed" in replay.text
    assert "Already confirmed" in (await site.client.get(confirm_path)).text
    # The next email to Ada is the goodbye: had the replay sent a welcome, it would come first.
    await site.client.post(link(welcome, "unsubscribe"), data={"List-Unsubscribe": "One-Click"})
    messages = await site.mail_to(ADA, 3)
    assert "unsubscribed" in text_part(messages[2])
    assert len(site.smtp.messages_to(ADA)) == 3


async def test_confirming_without_the_csrf_token_changes_nothing(site: Site) -> None:
    confirm_path = await sign_up(site)
    await site.client.get(confirm_path)

    answer = await site.client.post(confirm_path, data={})

    assert answer.status_code == 403
    assert await status_of(site) is SubscriberStatus.PENDING


async def test_a_confirm_link_expires_after_the_configured_days(site: Site) -> None:
    confirm_path = await sign_up(site)
    token = await site.form_token(confirm_path)  # the page opens on day 0

    site.clock.advance(days=7, seconds=1)

    for answer in (
        await site.client.get(confirm_path),
        await site.client.post(confirm_path, data={"csrf_token": token}),
    ):
        assert answer.status_code == 400
        assert "This link has expired" in answer.text
        assert "Traceback" not in answer.text
    assert await status_of(site) is SubscriberStatus.PENDING


async def test_a_confirm_link_still_works_on_its_last_day(site: Site) -> None:
    confirm_path = await sign_up(site)
    site.clock.advance(days=6, hours=23)

    assert (await press(site, confirm_path)).status_code == 200
    assert await status_of(site) is SubscriberStatus.ACTIVE


def tampered(path: str) -> str:
    last = path[-1]
    return path[:-1] + ("A" if last != "A" else "B")


async def test_tampered_foreign_and_absurd_tokens_get_a_friendly_400(site: Site) -> None:
    confirm_path = await sign_up(site)
    confirm_token = confirm_path.rsplit("/", 1)[1]
    manage_token = site.app.signer.sign(Purpose.MANAGE, 1, ADA)
    bad_paths = [
        tampered(confirm_path),
        f"/confirm/{manage_token}",  # a manage token cannot confirm
        f"/unsubscribe/{confirm_token}",  # a confirm token cannot unsubscribe
        f"/manage/{confirm_token}",
        "/confirm/" + "x" * 10_000,
        "/manage/%00%0d%0a",
        "/unsubscribe/" + site.app.signer.sign(Purpose.UNSUBSCRIBE, 999, ADA),  # nobody
    ]

    for path in bad_paths:
        for answer in (
            await site.client.get(path),
            await site.client.post(path, data={"List-Unsubscribe": "One-Click"}),
        ):
            assert answer.status_code == 400, path
            assert "This link does not work" in answer.text, path
            assert "Traceback" not in answer.text
    assert await status_of(site) is SubscriberStatus.PENDING


async def test_a_link_stops_working_when_its_subscriber_is_gone_or_readdressed(
    site: Site,
) -> None:
    paths = await subscribed(site)
    async with site.app.db.transaction() as session:  # an admin corrects the address
        await session.execute(
            update(Subscriber).where(Subscriber.email == ADA).values(email="ada@example.net")
        )

    for path in paths.values():
        answer = await site.client.get(path)
        assert answer.status_code == 400, path
        assert "This link does not work" in answer.text


async def test_an_old_confirm_link_cannot_revive_an_ended_subscription(site: Site) -> None:
    confirm_path = await sign_up(site)
    await press(site, confirm_path)
    await press(site, link((await site.mail_to(ADA, 2))[1], "unsubscribe"))
    token = await site.form_token("/")

    page = await site.client.get(confirm_path)
    pressed = await site.client.post(confirm_path, data={"csrf_token": token})

    assert page.status_code == 400
    assert pressed.status_code == 400
    assert await status_of(site) is SubscriberStatus.UNSUBSCRIBED


# --- manage -------------------------------------------------------------------------------


async def test_the_manage_page_edits_queries_and_cadence(site: Site) -> None:
    paths = await subscribed(site)

    page = await site.client.get(paths["manage"])
    assert page.status_code == 200
    assert "LLM\ndiffusion</textarea>" in page.text
    assert 'value="daily" checked' in page.text

    saved = await press(
        site,
        paths["manage"],
        action="save",
        queries='"sparse attention"\n  robot manipulation  \n',
        cadence="weekly",
    )

    assert saved.status_code == 303
    assert saved.headers["location"] == f"{paths['manage']}?done=saved"
    shown = await site.client.get(saved.headers["location"])
    assert "Your changes are saved." in shown.text
    assert '"sparse attention"\nrobot manipulation</textarea>' in shown.text.replace("&#34;", '"')
    subscriber = await site.subscriber(ADA)
    assert subscriber is not None
    assert [query.text for query in subscriber.queries] == [
        '"sparse attention"',
        "robot manipulation",
    ]
    assert subscriber.cadence is Cadence.WEEKLY


async def test_bad_preferences_are_shown_next_to_their_fields_and_nothing_is_saved(
    site: Site,
) -> None:
    paths = await subscribed(site)
    cases = {
        "unbalanced": ('ok\n"open', "daily", "Line 2: "),
        "10k": ("y" * 10_000, "daily", "Line 1: "),
        "empty": ("", "daily", "Enter at least one query."),
        "cadence": ("LLM", "hourly", "Choose daily or weekly."),
        "10k-cadence": ("LLM", "w" * 10_000, "Choose daily or weekly."),
    }

    for case, (queries, cadence, reason) in cases.items():
        answer = await press(site, paths["manage"], action="save", queries=queries, cadence=cadence)
        assert answer.status_code == 400, case
        assert "Nothing was saved." in answer.text, case
        assert reason in answer.text, case
    subscriber = await site.subscriber(ADA)
    assert subscriber is not None
    assert [query.text for query in subscriber.queries] == ["LLM", "diffusion"]
    assert subscriber.cadence is Cadence.DAILY


async def test_pause_and_resume(site: Site) -> None:
    paths = await subscribed(site)

    paused = await press(site, paths["manage"], action="pause")
    assert paused.status_code == 303
    assert await status_of(site) is SubscriberStatus.PAUSED
    page = await site.client.get(paused.headers["location"])
    assert "Resume digests</button>" in page.text
    assert "Nothing will be sent until you resume it." in page.text

    resumed = await press(site, paths["manage"], action="resume")
    assert resumed.status_code == 303
    assert await status_of(site) is SubscriberStatus.ACTIVE


async def test_managing_without_the_csrf_token_or_with_an_unknown_action_changes_nothing(
    site: Site,
) -> None:
    paths = await subscribed(site)
    await site.client.get(paths["manage"])

    missing = await site.client.post(paths["manage"], data={"action": "unsubscribe"})
    unknown = await press(site, paths["manage"], action="delete-everything")

    assert missing.status_code == 403
    assert unknown.status_code == 400
    assert await status_of(site) is SubscriberStatus.ACTIVE


async def test_unsubscribing_from_the_manage_page(site: Site) -> None:
    paths = await subscribed(site)

    answer = await press(site, paths["manage"], action="unsubscribe")

    assert answer.status_code == 200
    assert "You are unsubscribed" in answer.text
    assert await status_of(site) is SubscriberStatus.UNSUBSCRIBED
    goodbye = (await site.mail_to(ADA, 3))[2]
    assert "List-Unsubscribe" not in goodbye
    later = await site.client.get(paths["manage"])
    assert later.status_code == 200
    assert "You are unsubscribed" in later.text


# --- unsubscribe --------------------------------------------------------------------------


async def test_the_unsubscribe_link_opens_a_page_with_one_button(site: Site) -> None:
    paths = await subscribed(site)

    page = await site.client.get(paths["unsubscribe"])
    assert page.status_code == 200
    assert page.text.count("<button") == 1
    assert ADA in page.text
    assert await status_of(site) is SubscriberStatus.ACTIVE  # opening it changes nothing

    done = await press(site, paths["unsubscribe"])

    assert done.status_code == 200
    assert "You are unsubscribed" in done.text
    assert await status_of(site) is SubscriberStatus.UNSUBSCRIBED
    goodbye = (await site.mail_to(ADA, 3))[2]
    assert "no more digests" in text_part(goodbye)


async def test_the_unsubscribe_button_needs_its_csrf_token(site: Site) -> None:
    paths = await subscribed(site)
    await site.client.get(paths["unsubscribe"])

    answer = await site.client.post(paths["unsubscribe"], data={"confirm": "yes"})

    assert answer.status_code == 403
    assert await status_of(site) is SubscriberStatus.ACTIVE


@pytest.mark.parametrize("encoding", ["form-urlencoded", "multipart"])
async def test_one_click_unsubscribes_at_once_without_cookie_or_token_and_is_idempotent(
    site: Site, encoding: str
) -> None:
    paths = await subscribed(site)
    body: dict[str, object] = (
        {"data": {"List-Unsubscribe": "One-Click"}}
        if encoding == "form-urlencoded"
        else {"files": {"List-Unsubscribe": (None, "One-Click")}}
    )
    # A mail provider's server: no cookie, no CSRF token, does not follow redirects.
    async with httpx.AsyncClient(base_url=site.url, follow_redirects=False) as provider:
        first = await provider.post(paths["unsubscribe"], **body)
        second = await provider.post(paths["unsubscribe"], **body)

    for answer in (first, second):
        assert answer.status_code == 200
        assert "location" not in answer.headers
        assert "set-cookie" not in answer.headers
        assert answer.headers["content-type"].startswith("text/plain")
    assert await status_of(site) is SubscriberStatus.UNSUBSCRIBED
    # One goodbye, not two: another action's email arrives after it and nothing between.
    await site.mail_to(ADA, 3)
    site.clock.advance(minutes=11)
    await site.subscribe(ADA, "LLM")
    messages = await site.mail_to(ADA, 4)
    assert "/confirm/" in text_part(messages[3])
    assert subjects(site).count(str(messages[2]["Subject"])) == 1


async def test_one_click_is_not_rate_limited_but_the_forms_are(
    database_url: str, smtp: SmtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async with serving(database_url, smtp, web_form_rate_limit="3/hour") as site:
        paths = await subscribed(site)  # the sign-up and the confirm press: forms 1 and 2
        token = await site.form_token(paths["manage"])
        answer = await site.client.post(
            paths["manage"], data={"csrf_token": token, "action": "pause"}
        )
        assert answer.status_code == 303  # form 3
        refused = await site.client.post(
            paths["manage"], data={"csrf_token": token, "action": "resume"}
        )
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0
        assert "Too many requests" in refused.text
        assert await status_of(site) is SubscriberStatus.PAUSED

        for _ in range(5):
            one_click = await site.client.post(
                paths["unsubscribe"], data={"List-Unsubscribe": "One-Click"}
            )
            assert one_click.status_code == 200
        assert await status_of(site) is SubscriberStatus.UNSUBSCRIBED

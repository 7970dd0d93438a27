"""``/``: the subscribe form over real HTTP, on both databases, with the real SMTP server."""

from __future__ import annotations

import re

from digest.models import SubscriberStatus
from digest.store import subscribers as store
from tests.support.smtp_server import SmtpServer
from tests.support.web import Site, csrf_token, link, text_part

SECURITY_HEADERS = {
    "content-security-policy",
    "referrer-policy",
    "x-content-type-options",
    "x-frame-options",
}


def field_errors(html: str, field: str) -> str:
    found = re.search(rf'<ul class="field-errors" id="{field}-errors">(.*?)</ul>', html, re.S)
    return found.group(1) if found else ""


async def test_the_form_is_labelled_protected_and_explains_queries(site: Site) -> None:
    page = await site.client.get("/")

    assert page.status_code == 200
    assert set(page.headers) >= SECURITY_HEADERS
    assert page.headers["referrer-policy"] == "no-referrer"
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    html = page.text
    assert '<label for="email">Email address</label>' in html
    assert '<label for="queries">Keyword queries</label>' in html
    assert csrf_token(html)
    assert 'name="website"' in html  # the honeypot
    assert '<code>"speculative decoding"</code>' in html  # a query example
    assert "<script" not in html
    css = await site.client.get("/static/site.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")


async def test_a_new_address_gets_a_confirmation_email_and_stays_pending(site: Site) -> None:
    answer = await site.subscribe(" Ada@Example.ORG ", '"speculative decoding"\n\nLLM\nLLM\n')

    assert answer.status_code == 200
    assert "Check your inbox" in answer.text
    [message] = await site.mail_to("ada@example.org")
    assert message["Subject"]
    confirm_path = link(message, "confirm")
    assert "ada" not in confirm_path
    assert "example" not in confirm_path
    assert "List-Unsubscribe" not in message  # not on the list until confirmed
    assert '"speculative decoding"; LLM' in text_part(message)
    subscriber = await site.subscriber("ada@example.org")
    assert subscriber is not None
    assert subscriber.status is SubscriberStatus.PENDING
    assert [query.text for query in subscriber.queries] == ['"speculative decoding"', "LLM"]


async def test_a_subscribed_address_gets_the_same_page_and_its_owner_a_reminder(
    site: Site,
) -> None:
    stranger_page = await site.subscribe("new@example.org", "diffusion")
    confirm_path = link((await site.mail_to("new@example.org"))[0], "confirm")
    await site.client.post(confirm_path, data={"csrf_token": await site.form_token(confirm_path)})
    await site.mail_to("new@example.org", 2)  # the welcome
    site.clock.advance(minutes=11)  # past the one-email-per-10-minutes limit of the address

    again = await site.subscribe("new@example.org", "something else entirely")

    assert again.status_code == 200
    assert again.text == stranger_page.text  # the same page, byte for byte
    messages = await site.mail_to("new@example.org", 3)
    reminder = messages[2]
    assert reminder["To"] == "new@example.org"  # only ever to the owner of the address
    assert link(reminder, "manage")
    assert "/confirm/" not in text_part(reminder)
    subscriber = await site.subscriber("new@example.org")
    assert subscriber is not None
    assert subscriber.status is SubscriberStatus.ACTIVE
    assert [query.text for query in subscriber.queries] == ["diffusion"]  # nothing changed


BAD_ADDRESSES = {
    "no-at": ("not-an-address", "An email address must have an @-sign."),
    "two-ats": ("ada@@example.org", "@-sign"),
    "double-dot": ("ada@example..org", "period"),
    "space": ("ada example@example.org", "invalid characters before the @-sign: SPACE"),
    "header-injection": ("ada@example.org\r\nBcc: eve@example.org", "It contains a line break"),
    "markup": ("<script>alert(1)</script>@example.org", "anything after the email address"),
    "10k": ("a" * 10_000 + "@example.org", "too long"),
    "empty": ("", "An email address must have an @-sign."),
}


async def test_a_bad_address_is_shown_next_to_its_field_and_nothing_is_stored(
    site: Site,
) -> None:
    for case, (email, reason) in BAD_ADDRESSES.items():
        answer = await site.subscribe(email, "LLM")

        assert answer.status_code == 400, case
        assert reason in field_errors(answer.text, "email"), case
        assert "<script>" not in answer.text, case  # what was typed comes back escaped
        assert 'aria-invalid="true"' in answer.text, case
        assert field_errors(answer.text, "queries") == "", case
    async with site.app.db.transaction() as session:
        assert await store.list_all(session) == []


BAD_QUERIES = {
    "empty": ("", "Enter at least one query."),
    "blank-lines": ("   \n\n  ", "Enter at least one query."),
    "unbalanced": ('LLM\n"open quote', "Line 2: "),
    "10k": ("x" * 10_000, "Line 1: "),
    "too-many": ("\n".join(f"query{n}" for n in range(21)), "Enter at most 20 queries"),
    "no-words": ('"" ', "Line 1: "),
}


async def test_a_bad_query_is_shown_next_to_its_field_and_the_address_kept(site: Site) -> None:
    for case, (queries, reason) in BAD_QUERIES.items():
        answer = await site.subscribe("ada@example.org", queries)

        assert answer.status_code == 400, case
        assert reason in field_errors(answer.text, "queries"), case
        assert field_errors(answer.text, "email") == "", case
        assert 'value="ada@example.org"' in answer.text, case  # what was typed is kept
    assert await site.subscriber("ada@example.org") is None


INTERNATIONAL = {
    "Ada@Bücher.example": "ada@bücher.example",
    "ada@xn--bcher-kva.example": "ada@bücher.example",
    "用户@例子.广告": "用户@例子.广告",
    "josé@example.org": "josé@example.org",
}


async def test_internationalised_addresses_are_accepted_and_mailed(site: Site) -> None:
    for typed in INTERNATIONAL:
        answer = await site.subscribe(typed, "LLM")

        assert answer.status_code == 200, typed
        site.clock.advance(minutes=11)  # the punycode spelling is the same address
    for stored in set(INTERNATIONAL.values()):
        messages = await site.mail_to(stored, 2 if stored == "ada@bücher.example" else 1)
        assert all(link(message, "confirm") for message in messages)
        subscriber = await site.subscriber(stored)
        assert subscriber is not None, stored
        assert subscriber.status is SubscriberStatus.PENDING


async def test_a_multipart_form_works_like_a_urlencoded_one(site: Site) -> None:
    token = await site.form_token("/")
    fields = {"csrf_token": token, "email": "ada@example.org", "queries": "LLM", "website": ""}

    answer = await site.client.post(
        "/", files={name: (None, value) for name, value in fields.items()}
    )

    assert answer.status_code == 200, answer.text
    assert "Check your inbox" in answer.text
    await site.mail_to("ada@example.org")


async def test_a_form_without_its_csrf_token_changes_nothing(site: Site) -> None:
    token = await site.form_token("/")  # the browser has its cookie and the token
    fields = {"email": "ada@example.org", "queries": "LLM"}

    missing = await site.client.post("/", data=fields)
    forged = await site.client.post("/", data=fields | {"csrf_token": "forged.value"})
    absurd = await site.client.post("/", data=fields | {"csrf_token": "x" * 10_000})
    site.client.cookies.clear()
    no_cookie = await site.client.post("/", data=fields | {"csrf_token": token})

    for answer in (missing, forged, absurd, no_cookie):
        assert answer.status_code == 403
        assert "Please send the form again" in answer.text
    assert await site.subscriber("ada@example.org") is None


async def test_a_token_from_another_browser_is_refused(site: Site, smtp: SmtpServer) -> None:
    other_token = await site.form_token("/")
    site.client.cookies.clear()
    await site.client.get("/")  # this browser gets a cookie of its own

    answer = await site.client.post(
        "/", data={"csrf_token": other_token, "email": "ada@example.org", "queries": "LLM"}
    )

    assert answer.status_code == 403


async def test_malformed_and_oversized_bodies_get_a_page_not_a_traceback(site: Site) -> None:
    urlencoded = {"Content-Type": "application/x-www-form-urlencoded"}
    broken = await site.client.post(
        "/",
        content=b"--xyz\r\nContent-Disposition: form-data; name=email\r\n\r\nada",
        headers={"Content-Type": "multipart/form-data"},  # no boundary
    )
    huge = await site.client.post(
        "/",
        content=b"email=" + b"a" * 300_000,
        headers=urlencoded,
    )
    too_many_fields = await site.client.post(
        "/", content=b"&".join(b"f%d=x" % number for number in range(11)), headers=urlencoded
    )
    with_file = await site.client.post(
        "/", files={"email": ("evil.txt", b"ada@example.org", "text/plain")}
    )

    assert broken.status_code == 400
    assert "That request was not understood" in broken.text
    assert with_file.status_code == 400
    assert too_many_fields.status_code == 400
    assert huge.status_code == 413  # Starlette's own short answer, before the body is read
    for answer in (broken, huge, with_file, too_many_fields):
        assert "Traceback" not in answer.text
    assert await site.subscriber("ada@example.org") is None


async def test_unknown_pages_and_methods_get_friendly_pages(site: Site) -> None:
    missing = await site.client.get("/nothing-here")
    wrong_method = await site.client.delete("/")

    assert missing.status_code == 404
    assert "Page not found" in missing.text
    assert wrong_method.status_code == 405
    assert set(missing.headers) >= SECURITY_HEADERS

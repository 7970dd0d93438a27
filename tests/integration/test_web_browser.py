"""End to end in headless Chromium: subscribe, confirm from the real email, manage, unsubscribe.

Every page is saved at phone and desktop width under tests/artifacts/web/ for a person
to look at.
"""

from __future__ import annotations

from playwright.async_api import Browser, Page

from digest.models import Cadence, SubscriberStatus
from tests.conftest import ARTIFACTS
from tests.support.web import Site, link

SHOTS = ARTIFACTS / "web"
WIDTHS = {"phone": (390, 844), "desktop": (1280, 900)}
ADA = "ada@example.org"


async def snap(page: Page, name: str) -> None:
    """Save the page at every width; the page is left at phone width."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, (width, height) in reversed(WIDTHS.items()):
        await page.set_viewport_size({"width": width, "height": height})
        await page.screenshot(path=SHOTS / f"{name}-{label}.png", full_page=True)


async def test_subscribe_confirm_manage_and_unsubscribe_in_a_browser(
    browser: Browser, site: Site
) -> None:
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text))

    # Subscribe: a mistake first, shown next to its field.
    await page.goto(f"{site.url}/")
    await snap(page, "01-subscribe")
    await page.get_by_label("Email address").fill("ada@")
    await page.get_by_label("Keyword queries").fill('"speculative decoding"\n"open quote')
    await page.get_by_role("button", name="Subscribe").click()
    assert await page.locator("#email-errors").is_visible()
    assert "Line 2:" in await page.locator("#queries-errors").inner_text()
    await snap(page, "02-subscribe-with-errors")

    await page.get_by_label("Email address").fill(ADA)
    await page.get_by_label("Keyword queries").fill('"speculative decoding"\nLLM agents')
    await page.get_by_role("button", name="Subscribe").click()
    await page.get_by_role("heading", name="Check your inbox").wait_for()
    await snap(page, "03-check-inbox")

    # Confirm from the email the SMTP server received.
    [confirmation] = await site.mail_to(ADA)
    await page.goto(site.url + link(confirmation, "confirm"))
    await snap(page, "04-confirm")
    await page.get_by_role("button", name="Confirm subscription").click()
    await page.get_by_role("heading", name="You are subscribed").wait_for()
    await snap(page, "05-confirmed")
    assert (await site.subscriber(ADA)).status is SubscriberStatus.ACTIVE

    # Manage, from the link in the welcome email: change a query and the cadence.
    welcome = (await site.mail_to(ADA, 2))[1]
    await page.goto(site.url + link(welcome, "manage"))
    await snap(page, "06-manage")
    await page.get_by_label("Keyword queries").fill('"speculative decoding"\ndiffusion transformer')
    await page.get_by_label("Weekly").check()
    await page.get_by_role("button", name="Save changes").click()
    await page.get_by_text("Your changes are saved.").wait_for()
    await snap(page, "07-manage-saved")
    subscriber = await site.subscriber(ADA)
    assert subscriber is not None
    assert [query.text for query in subscriber.queries] == [
        '"speculative decoding"',
        "diffusion transformer",
    ]
    assert subscriber.cadence is Cadence.WEEKLY

    # Unsubscribe, from the footer link of the welcome email.
    await page.goto(site.url + link(welcome, "unsubscribe"))
    await snap(page, "08-unsubscribe")
    await page.get_by_role("button", name="Unsubscribe").click()
    await page.get_by_role("heading", name="You are unsubscribed").wait_for()
    await snap(page, "09-unsubscribed")
    assert (await site.subscriber(ADA)).status is SubscriberStatus.UNSUBSCRIBED
    goodbye = (await site.mail_to(ADA, 3))[2]
    assert "List-Unsubscribe" not in goodbye

    # A link cut short when it was copied.
    await page.goto(site.url + link(welcome, "manage")[:-6])
    await page.get_by_role("heading", name="This link does not work").wait_for()
    await snap(page, "10-broken-link")

    # Nothing blocked by the content security policy, nothing missing: the only console
    # lines are Chromium noting the 400 status of the two pages that answer a mistake.
    assert [error for error in errors if "status of 400" not in error] == []
    await context.close()

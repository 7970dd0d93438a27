"""The browser fixture drives real headless Chromium (the web and email tests build on it)."""

from __future__ import annotations

from playwright.async_api import Browser

from tests.support.listing_server import Reply, serving

PAGE = "<!doctype html><title>t</title><p id=x>café &amp; <b>bold</b></p>".encode()


async def test_chromium_renders_a_page_from_loopback(browser: Browser) -> None:
    reply = Reply(body=PAGE, headers={"Content-Type": "text/html; charset=utf-8"})
    with serving(lambda request: reply) as server:
        page = await browser.new_page()
        await page.goto(server.url)
        assert await page.inner_text("#x") == "café & bold"

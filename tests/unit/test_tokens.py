"""Signed links: scoped to one purpose, bound to the address, tamper-evident."""

from __future__ import annotations

import datetime as dt

import pytest

from digest.tokens import ExpiredToken, InvalidToken, LinkSigner, Purpose

SECRET = "s" * 40


def test_a_token_verifies_for_its_purpose_and_address() -> None:
    signer = LinkSigner(SECRET)
    token = signer.sign(Purpose.UNSUBSCRIBE, 42, "ada@example.org")
    claims = signer.verify(Purpose.UNSUBSCRIBE, token)
    assert claims.subscriber_id == 42
    assert signer.belongs_to(claims, "ada@example.org")
    assert not signer.belongs_to(claims, "eve@example.org")
    assert "ada" not in token
    assert "example" not in token


def test_a_token_cannot_serve_another_purpose() -> None:
    signer = LinkSigner(SECRET)
    token = signer.sign(Purpose.CONFIRM, 42, "ada@example.org")
    with pytest.raises(InvalidToken):
        signer.verify(Purpose.UNSUBSCRIBE, token)


def test_a_tampered_token_or_another_key_is_refused() -> None:
    token = LinkSigner(SECRET).sign(Purpose.MANAGE, 42, "ada@example.org")
    with pytest.raises(InvalidToken):
        LinkSigner(SECRET).verify(
            Purpose.MANAGE, token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
        )
    with pytest.raises(InvalidToken):
        LinkSigner("t" * 40).verify(Purpose.MANAGE, token)


def test_an_expired_token_is_refused() -> None:
    signer = LinkSigner(SECRET)
    token = signer.sign(Purpose.CONFIRM, 1, "ada@example.org")
    with pytest.raises(InvalidToken):
        signer.verify(Purpose.CONFIRM, token, max_age=-1)


def test_expiry_is_measured_on_the_injected_clock() -> None:
    now = [dt.datetime(2026, 6, 12, 8, 0, tzinfo=dt.UTC)]
    signer = LinkSigner(SECRET, clock=lambda: now[0])
    token = signer.sign(Purpose.CONFIRM, 7, "ada@example.org")
    week = 7 * 24 * 3600

    now[0] += dt.timedelta(days=7)
    assert signer.verify(Purpose.CONFIRM, token, max_age=week).subscriber_id == 7
    now[0] += dt.timedelta(seconds=1)
    with pytest.raises(ExpiredToken):
        signer.verify(Purpose.CONFIRM, token, max_age=week)
    assert signer.verify(Purpose.CONFIRM, token).subscriber_id == 7  # no max_age: no expiry


def test_an_expired_tampered_token_is_invalid_not_expired() -> None:
    now = [dt.datetime(2026, 6, 12, 8, 0, tzinfo=dt.UTC)]
    signer = LinkSigner(SECRET, clock=lambda: now[0])
    token = signer.sign(Purpose.CONFIRM, 7, "ada@example.org")
    now[0] += dt.timedelta(days=30)
    with pytest.raises(InvalidToken) as caught:
        signer.verify(Purpose.CONFIRM, "x" + token, max_age=60)
    assert not isinstance(caught.value, ExpiredToken)

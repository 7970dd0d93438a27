"""The headers every digest carries, and its DKIM signature checked by dkimpy's own verifier."""

from __future__ import annotations

import base64
import datetime as dt
import re
from email import message_from_bytes
from email.policy import SMTP, default
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from digest.config import Settings
from digest.dkim_signing import DkimSigner, load_dkim
from digest.emails import EmailComposer
from digest.errors import ConfigError
from digest.mail import serialise
from digest.models import Cadence, Delivery, DeliveryPaper, Paper, Query, Subscriber
from digest.models import SubscriberStatus as Status
from digest.rendering import Renderer, create_environment
from digest.tokens import LinkSigner

NOW = dt.datetime(2026, 6, 13, 7, 0, tzinfo=dt.UTC)


def _delivery(message_id: str | None = None) -> Delivery:
    subscriber = Subscriber(
        id=3, email="ada@example.org", status=Status.ACTIVE, cadence=Cadence.DAILY
    )
    subscriber.queries = [Query(text="diffusion")]
    paper = Paper(
        id="2606.00001",
        title="Diffusion, quickly",
        abstract="Faster diffusion.",
        authors=["A"],
        listed_on=dt.date(2026, 6, 12),
        upvotes=1,
    )
    delivery = Delivery(id=1, subscriber=subscriber, subscriber_id=3, message_id=message_id)
    delivery.papers = [DeliveryPaper(paper=paper, matched_queries=["diffusion"])]
    return delivery


def _composer() -> EmailComposer:
    return EmailComposer(
        Renderer(create_environment()),
        LinkSigner("k" * 40),
        public_url="https://digest.example.org",
        mail_from="Paper Digest <digest@mail.example.org>",
        clock=lambda: NOW,
    )


def test_a_digest_carries_the_list_headers() -> None:
    message = _composer().digest(_delivery("<fixed.1@mail.example.org>"))
    parsed = message_from_bytes(serialise(message, envelope_from="d@x.org").data, policy=default)

    assert parsed["From"] == "Paper Digest <digest@mail.example.org>"
    assert parsed["To"] == "ada@example.org"
    assert parsed["Subject"]
    assert parsed["Date"] == "Sat, 13 Jun 2026 07:00:00 +0000"
    assert parsed["Message-ID"] == "<fixed.1@mail.example.org>"
    assert parsed["List-Id"] == "<paper-digest.mail.example.org>"
    https, mailto = re.findall(r"<([^>]+)>", parsed["List-Unsubscribe"])
    assert re.fullmatch(r"https://digest\.example\.org/unsubscribe/[\w.-]+", https)
    assert mailto == "mailto:digest@mail.example.org?subject=unsubscribe"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["Precedence"] == "bulk"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert "ada@example.org" not in https  # no address in URLs


def test_the_unsubscribe_urls_are_written_as_they_are_for_mail_clients_to_read() -> None:
    # A link longer than a 78-column line must not come out as RFC 2047 encoded words
    # (=?utf-8?q?=3Chttps...): a mail client reads URLs from the raw header, and would
    # then offer no unsubscribe at all.
    message = _composer().digest(_delivery())
    https, mailto = re.findall(r"<([^>]+)>", str(message["List-Unsubscribe"]))
    assert len(https) > 78

    data = serialise(message, envelope_from="d@x.org").data
    raw = re.search(rb"\r\nList-Unsubscribe: (.*?)\r\n(?! )", data, re.DOTALL)
    assert raw is not None
    assert raw[1] == f"<{https}>,\r\n <{mailto}>".encode()
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))


def test_a_new_message_id_is_on_the_senders_domain() -> None:
    message = _composer().digest(_delivery())
    assert re.fullmatch(r"<[^@<>]+@mail\.example\.org>", str(message["Message-ID"]))


def test_serialised_once_with_crlf_line_ends() -> None:
    outgoing = serialise(_composer().digest(_delivery()), envelope_from="bounce@example.org")
    assert outgoing.envelope_from == "bounce@example.org"
    assert outgoing.recipient == "ada@example.org"
    assert b"\r\n" in outgoing.data
    assert re.search(rb"(?<!\r)\n", outgoing.data) is None


def _rsa_key() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def _dns(records: dict[bytes, bytes]):  # type: ignore[no-untyped-def]
    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return records.get(name)

    return lookup


def test_dkim_signature_verifies_and_covers_the_unsubscribe_headers() -> None:
    private, record = _rsa_key()
    signer = DkimSigner(selector="s2026", domain="mail.example.org", private_key=private)
    data = serialise(_composer().digest(_delivery()), envelope_from="d@x.org", dkim=signer).data
    dns = _dns({b"s2026._domainkey.mail.example.org.": record})

    assert dkim.verify(data, dnsfunc=dns)
    signature = message_from_bytes(data, policy=default)["DKIM-Signature"]
    signed = {h.strip().lower() for h in re.search(r"h=([^;]+)", signature)[1].split(":")}
    assert {"list-unsubscribe", "list-unsubscribe-post", "list-id", "from"} <= signed

    # A changed one-click header breaks the signature: it is really covered.
    tampered = data.replace(b"List-Unsubscribe=One-Click", b"List-Unsubscribe=Two-Click")
    assert tampered != data
    assert not dkim.verify(tampered, dnsfunc=dns)


def test_dkim_settings_load_the_key_from_a_file_and_default_the_domain(tmp_path: Path) -> None:
    private, _ = _rsa_key()
    key_file = tmp_path / "dkim.pem"
    key_file.write_bytes(private)
    settings = Settings(
        mail_from="Digest <digest@lists.example.org>",
        dkim_selector="s1",
        dkim_private_key_file=key_file,
    )
    signer = load_dkim(settings)
    assert signer is not None
    assert (signer.selector, signer.domain) == ("s1", "lists.example.org")
    assert load_dkim(Settings()) is None


def test_a_dkim_key_that_cannot_sign_is_a_config_error() -> None:
    settings = Settings(dkim_selector="s1", dkim_private_key="not a key")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="DKIM private key cannot sign"):
        load_dkim(settings)


async def test_the_app_sends_a_single_message_serialised_and_signed(tmp_path: Path) -> None:
    from digest.app import App

    private, record = _rsa_key()
    settings = Settings(
        outbox_dir=tmp_path / "outbox",
        mail_from="Paper Digest <digest@mail.example.org>",
        dkim_selector="s1",
        dkim_private_key=private.decode(),  # type: ignore[arg-type]
        database_url=f"sqlite:///{tmp_path / 'digest.db'}",
    )
    app = App.from_settings(settings)
    try:
        subscriber = _delivery().subscriber
        await app.send_message(app.composer.confirmation(subscriber, 7))
    finally:
        await app.close()

    [written] = (tmp_path / "outbox").glob("*.eml")
    data = written.read_bytes()
    assert dkim.verify(data, dnsfunc=_dns({b"s1._domainkey.mail.example.org.": record}))
    assert message_from_bytes(data, policy=default)["To"] == "ada@example.org"


@pytest.mark.parametrize("body", ["one\ntwo\n", "bare\rcr and\r\ncrlf\n", "no end", ""])
def test_serialise_writes_the_same_bytes_as_the_stdlib(body: str) -> None:
    """serialise's generator writes a body in one piece: the bytes must not change,
    whatever line ends the body has."""
    message = _composer().digest(_delivery())
    message.get_body(("plain",)).set_payload(body)  # type: ignore[union-attr]
    message.set_boundary("fixed-boundary")  # otherwise each flattening picks its own
    assert serialise(message, envelope_from="d@x.org").data == message.as_bytes(policy=SMTP)

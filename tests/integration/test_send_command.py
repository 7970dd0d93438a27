"""``digest run --enqueue-only`` then ``digest send``; STARTTLS and login; DKIM end to end."""

from __future__ import annotations

import base64
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dkim
import pytest
import trustme
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import hf_fixture
from tests.support.cli import Digest, digest_env
from tests.support.listing_server import ListingServer, daily_papers, serving
from tests.support.smtp_server import SmtpServer, smtp_serving, tls_options


@pytest.fixture
def listing() -> Iterator[ListingServer]:
    with serving(
        daily_papers({"2026-06-12": hf_fixture("api-daily_papers-2026-06-12.json")})
    ) as server:
        yield server


def _env(database_url: str, listing: ListingServer, smtp: SmtpServer) -> dict[str, str]:
    return digest_env(database_url, smtp, listing_url=listing.url)


def _queue_two_digests(digest: Digest) -> None:
    assert digest("db", "upgrade").exit_code == 0
    assert digest("subscribers", "add", "bob@example.org", "-k", "transformer").exit_code == 0
    assert digest("subscribers", "add", "ann@example.org", "-k", "diffusion").exit_code == 0
    queued = digest("run", "--date", "2026-06-12", "--enqueue-only")
    assert queued.exit_code == 0, queued.output
    assert "2 subscribers matched, 2 emails queued" in queued.stdout
    assert "outbox:" not in queued.stdout  # nothing was sent


def test_enqueue_only_leaves_sending_to_digest_send(
    database_url: str, listing: ListingServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with smtp_serving() as smtp:
        digest = Digest(_env(database_url, listing, smtp))
        _queue_two_digests(digest)
        assert smtp.received == []

        sent = digest("send")

        assert sent.exit_code == 0, sent.output
        assert sent.stdout.strip() == "2 sent, 0 to retry, 0 failed"
        assert sorted(smtp.count_by_recipient()) == ["ann@example.org", "bob@example.org"]
        again = digest("send")
        assert again.stdout.strip() == "0 sent, 0 to retry, 0 failed"
        assert len(smtp.received) == 2


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


class Logins:
    def __init__(self) -> None:
        self.seen: list[tuple[bytes, bytes]] = []

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.seen.append((data.login, data.password))
        return AuthResult(success=(data.login, data.password) == (b"digest", b"s3cret"))


def test_starttls_and_login_then_send(
    database_url: str,
    listing: ListingServer,
    ca: trustme.CA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    logins = Logins()
    with smtp_serving(**tls_options(_server_tls(ca)), authenticator=logins) as smtp:
        env = _env(database_url, listing, smtp) | {
            "DIGEST_SMTP_TLS": "starttls",
            "DIGEST_SMTP_USERNAME": "digest",
            "DIGEST_SMTP_PASSWORD": "s3cret",
            "SSL_CERT_FILE": str(ca_file),  # trust the test CA (OpenSSL reads this)
        }
        digest = Digest(env)
        _queue_two_digests(digest)

        sent = digest("send")

        assert sent.exit_code == 0, sent.output
        assert len(smtp.received) == 2
        # One login per connection used; no connection is opened without work for it.
        assert logins.seen
        assert set(logins.seen) == {(b"digest", b"s3cret")}
        assert len(logins.seen) <= 2


def test_starttls_is_required_never_a_silent_fall_back_to_plain_text(
    database_url: str, listing: ListingServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    logins = Logins()
    # A server that offers no STARTTLS (and would take a login in clear text).
    with smtp_serving(authenticator=logins, auth_require_tls=False) as smtp:
        plain = Digest(_env(database_url, listing, smtp))
        _queue_two_digests(plain)
        digest = Digest(
            plain.env
            | {
                "DIGEST_SMTP_TLS": "starttls",
                "DIGEST_SMTP_USERNAME": "digest",
                "DIGEST_SMTP_PASSWORD": "s3cret",
            }
        )

        refused = digest("send")

        assert refused.exit_code == 1
        assert "sending stopped: cannot connect to the SMTP server" in refused.stderr
        assert "STARTTLS" in refused.stderr
        assert "Traceback" not in refused.stderr
        assert logins.seen == []  # the password never went out
        assert smtp.received == []
        assert plain("send").stdout.strip() == "2 sent, 0 to retry, 0 failed"  # still queued


def test_dkim_signed_digests_verify_as_received(
    database_url: str, listing: ListingServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "dkim.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    with smtp_serving() as smtp:
        env = _env(database_url, listing, smtp) | {
            "DIGEST_DKIM_SELECTOR": "mail2026",
            "DIGEST_DKIM_PRIVATE_KEY_FILE": str(key_file),
        }
        digest = Digest(env)
        assert digest("db", "upgrade").exit_code == 0
        assert digest("subscribers", "add", "bob@example.org", "-k", "transformer").exit_code == 0
        assert digest("run", "--date", "2026-06-12").exit_code == 0
        [received] = smtp.received

    def dns(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == b"mail2026._domainkey.example.org." else None

    assert received.data.startswith(b"DKIM-Signature:")
    assert dkim.verify(received.data, dnsfunc=dns)


def test_implicit_tls_sends(
    database_url: str,
    listing: ListingServer,
    ca: trustme.CA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with smtp_serving(ssl_context=_server_tls(ca)) as smtp:
        digest = Digest(
            _env(database_url, listing, smtp)
            | {"DIGEST_SMTP_TLS": "ssl", "SSL_CERT_FILE": str(ca_file)}
        )
        _queue_two_digests(digest)
        untrusted = Digest(digest.env | {"SSL_CERT_FILE": str(tmp_path / "none.pem")})
        refused = untrusted("send")
        assert refused.exit_code == 1
        assert "CERTIFICATE_VERIFY_FAILED" in refused.stderr  # certificates are checked
        assert smtp.received == []

        sent = digest("send")

        assert sent.exit_code == 0, sent.output
        assert sorted(smtp.count_by_recipient()) == ["ann@example.org", "bob@example.org"]

"""DKIM signatures (dkimpy) for outgoing messages, when a selector and key are configured."""

from __future__ import annotations

from email.utils import parseaddr

import dkim

from digest.config import Settings
from digest.errors import ConfigError

# Signed explicitly: dkimpy's default list leaves out the list headers, and a
# receiver (Gmail, Yahoo) trusts one-click unsubscribe only when they are signed.
SIGNED_HEADERS: tuple[bytes, ...] = (
    b"From",
    b"To",
    b"Subject",
    b"Date",
    b"Message-ID",
    b"MIME-Version",
    b"Content-Type",
    b"List-Id",
    b"List-Unsubscribe",
    b"List-Unsubscribe-Post",
    b"Auto-Submitted",
    b"Precedence",
)


class DkimSigner:
    """Signs serialised messages with relaxed/relaxed canonicalisation and rsa-sha256."""

    def __init__(self, *, selector: str, domain: str, private_key: bytes) -> None:
        self.selector = selector
        self.domain = domain
        self._key = private_key

    def sign(self, data: bytes) -> bytes:
        """``data`` with a DKIM-Signature header in front."""
        signature: bytes = dkim.sign(
            data,
            self.selector.encode(),
            self.domain.encode(),
            self._key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=list(SIGNED_HEADERS),
        )
        return signature + data


def load_dkim(settings: Settings) -> DkimSigner | None:
    """The signer the settings ask for, or None. A key that cannot sign is a ConfigError
    now, at start-up, rather than a failure on the first message."""
    if settings.dkim_selector is None:
        return None
    if settings.dkim_private_key_file is not None:
        try:
            key = settings.dkim_private_key_file.read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"invalid setting DIGEST_DKIM_PRIVATE_KEY_FILE: cannot read "
                f"{settings.dkim_private_key_file}: {exc.strerror or exc}"
            ) from None
    else:
        assert settings.dkim_private_key is not None
        key = settings.dkim_private_key.get_secret_value().encode()
    domain = settings.dkim_domain or parseaddr(settings.mail_from)[1].rsplit("@", 1)[-1]
    signer = DkimSigner(selector=settings.dkim_selector, domain=domain, private_key=key)
    try:
        signer.sign(b"From: a@example.org\r\nSubject: key check\r\n\r\nok\r\n")
    except (dkim.DKIMException, ValueError, IndexError) as exc:
        raise ConfigError(f"the DKIM private key cannot sign: {exc}") from None
    return signer

"""Signed, purpose-scoped tokens for the links in emails.

A token carries the subscriber's id and a keyed tag of their address (never
the address itself), signed with DIGEST_SECRET_KEY and salted with its purpose,
so a confirm token cannot unsubscribe and a token outlives no change of address.
Each token also carries the time it was made, read from the injected clock, so
confirm links can expire (and tests can move time instead of waiting).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadData, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from digest.clock import Clock, utcnow


class Purpose(enum.StrEnum):
    CONFIRM = "confirm"
    MANAGE = "manage"
    UNSUBSCRIBE = "unsubscribe"


class InvalidToken(Exception):
    """The token is tampered with, expired, or made for another purpose."""


class ExpiredToken(InvalidToken):
    """The token was genuine but is older than its purpose allows."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    subscriber_id: int
    email_tag: str


class _ClockedSigner(TimestampSigner):
    """itsdangerous's timestamp signer, reading the time from our clock instead of the system."""

    def __init__(self, *args: Any, clock: Clock = utcnow, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clock = clock

    def get_timestamp(self) -> int:
        return int(self._clock().timestamp())


class LinkSigner:
    def __init__(self, secret_key: str, *, clock: Clock = utcnow) -> None:
        self._secret = secret_key.encode()
        self._serializers = {
            purpose: URLSafeTimedSerializer(
                secret_key,
                salt=f"digest.{purpose}",
                signer=_ClockedSigner,
                signer_kwargs={"clock": clock},
            )
            for purpose in Purpose
        }

    def email_tag(self, email: str) -> str:
        return hmac.new(self._secret, email.encode(), hashlib.sha256).hexdigest()[:16]

    def sign(self, purpose: Purpose, subscriber_id: int, email: str) -> str:
        return str(self._serializers[purpose].dumps([subscriber_id, self.email_tag(email)]))

    def verify(self, purpose: Purpose, token: str, max_age: int | None = None) -> TokenClaims:
        """The claims of a valid token; ExpiredToken when older than ``max_age`` seconds,
        InvalidToken for anything else that is wrong with it."""
        try:
            payload = self._serializers[purpose].loads(token, max_age=max_age)
        except SignatureExpired as exc:
            raise ExpiredToken(str(exc)) from None
        except BadData as exc:
            raise InvalidToken(str(exc)) from None
        match payload:
            case [int() as subscriber_id, str() as email_tag]:
                return TokenClaims(subscriber_id, email_tag)
        raise InvalidToken("unexpected token payload")

    def belongs_to(self, claims: TokenClaims, email: str) -> bool:
        """Whether the token was made for this address (it may have changed since)."""
        return hmac.compare_digest(claims.email_tag, self.email_tag(email))

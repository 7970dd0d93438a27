"""Signed, purpose-scoped tokens for the links in emails.

A token carries the subscriber's id and a keyed tag of their address (never
the address itself), signed with DIGEST_SECRET_KEY and salted with its purpose,
so a confirm token cannot unsubscribe and a token outlives no change of address.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from dataclasses import dataclass

from itsdangerous import BadData, URLSafeTimedSerializer


class Purpose(enum.StrEnum):
    CONFIRM = "confirm"
    MANAGE = "manage"
    UNSUBSCRIBE = "unsubscribe"


class InvalidToken(Exception):
    """The token is tampered with, expired, or made for another purpose."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    subscriber_id: int
    email_tag: str


class LinkSigner:
    def __init__(self, secret_key: str) -> None:
        self._secret = secret_key.encode()
        self._serializers = {
            purpose: URLSafeTimedSerializer(secret_key, salt=f"digest.{purpose}")
            for purpose in Purpose
        }

    def email_tag(self, email: str) -> str:
        return hmac.new(self._secret, email.encode(), hashlib.sha256).hexdigest()[:16]

    def sign(self, purpose: Purpose, subscriber_id: int, email: str) -> str:
        return str(self._serializers[purpose].dumps([subscriber_id, self.email_tag(email)]))

    def verify(self, purpose: Purpose, token: str, max_age: int | None = None) -> TokenClaims:
        """The claims of a valid token; InvalidToken otherwise."""
        try:
            payload = self._serializers[purpose].loads(token, max_age=max_age)
        except BadData as exc:
            raise InvalidToken(str(exc)) from None
        match payload:
            case [int() as subscriber_id, str() as email_tag]:
                return TokenClaims(subscriber_id, email_tag)
        raise InvalidToken("unexpected token payload")

    def belongs_to(self, claims: TokenClaims, email: str) -> bool:
        """Whether the token was made for this address (it may have changed since)."""
        return hmac.compare_digest(claims.email_tag, self.email_tag(email))

"""CSRF protection for the forms: a signed double-submit token.

The browser holds a random value in a cookie; every form carries that value
signed with DIGEST_SECRET_KEY. A POST is accepted only when the signed field
matches the cookie. A forged cross-site form cannot read the cookie, and
cannot sign a value it planted (cookie tossing) without the key.

Hand-written rather than asgi-csrf: that middleware decides before the body is
read, so it cannot exempt the RFC 8058 one-click POST (recognised by its body,
on the same URL as the unsubscribe button's form), and it waves through any POST
that carries no cookie at all. Here each form handler checks after parsing.
"""

from __future__ import annotations

import hmac
import secrets

from itsdangerous import BadData, URLSafeSerializer
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

FIELD = "csrf_token"
COOKIE_MAX_AGE = 7 * 24 * 3600  # a form left open for a week still works
_NONCE_CHARS = 43  # secrets.token_urlsafe(32)


class Csrf:
    def __init__(self, secret_key: str, *, secure: bool) -> None:
        self._serializer = URLSafeSerializer(secret_key, salt="digest.csrf")
        self._secure = secure
        # On HTTPS the __Host- prefix makes browsers refuse the cookie from a subdomain.
        self.cookie_name = "__Host-digest_csrf" if secure else "digest_csrf"

    def token(self, request: Request) -> tuple[str, str | None]:
        """The form token for this browser, and the new cookie value to set (None when
        the browser already has a good one)."""
        nonce = self._nonce(request)
        fresh = None
        if nonce is None:
            nonce = fresh = secrets.token_urlsafe(32)
        return str(self._serializer.dumps(nonce)), fresh

    def set_cookie(self, response: Response, nonce: str) -> None:
        response.set_cookie(
            self.cookie_name,
            nonce,
            max_age=COOKIE_MAX_AGE,
            path="/",
            secure=self._secure,
            httponly=True,
            samesite="strict",
        )

    def verify(self, request: Request, form: FormData) -> bool:
        """Whether the form's token was made for this browser's cookie."""
        nonce = self._nonce(request)
        submitted = form.get(FIELD)
        if nonce is None or not isinstance(submitted, str):
            return False
        try:
            signed_nonce = self._serializer.loads(submitted)
        except BadData:
            return False
        return isinstance(signed_nonce, str) and hmac.compare_digest(signed_nonce, nonce)

    def _nonce(self, request: Request) -> str | None:
        value = request.cookies.get(self.cookie_name)
        if value and len(value) == _NONCE_CHARS and value.isascii():
            return value
        return None

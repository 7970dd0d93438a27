"""Polite, patient HTTP for the listing: timeouts, bounded retries, and one-line failures.

A GET is tried again on a timeout, a connection error (refused, reset, a body
cut short) and on HTTP 5xx and 429, after an exponential backoff with jitter,
or after the server's ``Retry-After`` when it sends one; every wait is capped.
Other answers are not tried again: a 404 stays a 404. After the last attempt
the failure is one line naming the URL and what happened.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from digest import __version__
from digest.clock import Clock, utcnow
from digest.config import Settings
from digest.errors import SourceError

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

MAX_BODY_BYTES = (
    20 * 1024 * 1024
)  # a day's listing is well under 1 MB; this bounds a runaway answer

# Failures of the connection that another attempt may not meet: timeouts, refused or reset
# connections, and answers cut short (httpx raises RemoteProtocolError for those).
_TRANSIENT_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class FetchError(SourceError):
    """The listing could not be fetched, after every attempt that made sense."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How patient a fetch is. The defaults wait about 1, 2, 4 and 8 seconds (plus jitter)."""

    retries: int = 4  # attempts after the first one
    backoff: float = (
        1.0  # seconds before the first retry; doubles each time, plus up to as much jitter
    )
    max_wait: float = 60.0  # the longest wait between two attempts, Retry-After included

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            retries=settings.http_retries,
            backoff=settings.http_backoff_seconds,
            max_wait=settings.http_max_wait_seconds,
        )


class _RetryableStatus(Exception):
    """An answer worth another attempt (5xx, 429), and how long the server asked us to wait."""

    def __init__(self, status: str, retry_after: float | None) -> None:
        super().__init__(status)
        self.status = status
        self.retry_after = retry_after


def user_agent(contact_url: str) -> str:
    """Names the project, its version and where to reach its people, as polite crawlers do."""
    return f"paper-digest/{__version__} (+{contact_url})"


def build_client(settings: Settings) -> httpx.AsyncClient:
    """The HTTP client for the listing: timeouts from the settings, one connection at a time."""
    timeout = httpx.Timeout(settings.http_read_timeout, connect=settings.http_connect_timeout)
    return httpx.AsyncClient(
        timeout=timeout,
        limits=httpx.Limits(max_connections=1),
        headers={"User-Agent": user_agent(settings.contact_url)},
        follow_redirects=True,
    )


def retry_after_seconds(value: str | None, now: dt.datetime) -> float | None:
    """A ``Retry-After`` header as seconds from ``now``: delay-seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None  # unreadable: fall back to our own backoff
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


def describe_error(exc: BaseException) -> str:
    """An exception as one short line: its class, and its message when it has one."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Fetcher:
    """GETs a URL with the retry policy. ``sleep`` and ``clock`` are injectable for tests;
    ``max_bytes`` bounds the body read from a runaway server."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        policy: RetryPolicy,
        *,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = utcnow,
        max_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self._client = client
        self._policy = policy
        self._sleep = sleep
        self._clock = clock
        self._max_bytes = max_bytes
        self._backoff = wait_exponential_jitter(
            multiplier=policy.backoff, max=policy.max_wait, jitter=policy.backoff
        )

    async def get(self, url: httpx.URL) -> bytes:
        """The body of a 200 answer to ``GET url``; raises FetchError naming the URL."""
        attempts = 0
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._policy.retries + 1),
            wait=self._wait,
            retry=retry_if_exception_type((_RetryableStatus, *_TRANSIENT_ERRORS)),
            sleep=self._sleep,
            before_sleep=functools.partial(self._log_retry, url),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    return await self._get_once(url)
        except _RetryableStatus as exc:
            raise FetchError(f"GET {url}: {exc.status}{_after(attempts)}") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"GET {url}: {self._describe(exc)}{_after(attempts)}") from exc
        raise AssertionError("unreachable: tenacity returns or raises")  # pragma: no cover

    def _describe(self, exc: BaseException) -> str:
        """A failure as one short line; a timeout says how long it waited."""
        timeout = self._client.timeout
        if isinstance(exc, httpx.ConnectTimeout):
            return f"ConnectTimeout: no connection within {timeout.connect} s"
        if isinstance(exc, httpx.ReadTimeout):
            return f"ReadTimeout: no answer within {timeout.read} s"
        return describe_error(exc)

    def _wait(self, state: RetryCallState) -> float:
        """Seconds to wait before the next attempt: the server's Retry-After, else our backoff."""
        failure = state.outcome.exception() if state.outcome else None
        if isinstance(failure, _RetryableStatus) and failure.retry_after is not None:
            return min(failure.retry_after, self._policy.max_wait)
        return self._backoff(state)

    def _log_retry(self, url: httpx.URL, state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome else None
        if isinstance(failure, _RetryableStatus):
            reason = failure.status
        else:
            reason = self._describe(failure) if failure else "failed"
        log.warning(
            "GET %s: %s; trying again in %.1f s (attempt %d of %d)",
            url,
            reason,
            state.next_action.sleep if state.next_action else 0.0,
            state.attempt_number + 1,
            self._policy.retries + 1,
        )

    async def _get_once(self, url: httpx.URL) -> bytes:
        async with self._client.stream("GET", url, follow_redirects=True) as response:
            status = f"HTTP {response.status_code} {response.reason_phrase}".strip()
            if response.status_code == httpx.codes.TOO_MANY_REQUESTS or response.is_server_error:
                retry_after = retry_after_seconds(
                    response.headers.get("Retry-After"), self._clock()
                )
                raise _RetryableStatus(status, retry_after)
            if response.status_code != httpx.codes.OK:
                raise FetchError(f"GET {url}: {status}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > self._max_bytes:
                    raise FetchError(
                        f"GET {url}: the answer is larger than {self._max_bytes} bytes"
                    )
            return bytes(body)


def _after(attempts: int) -> str:
    return f" (after {attempts} attempts)" if attempts > 1 else ""

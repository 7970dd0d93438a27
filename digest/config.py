"""Typed settings read from ``DIGEST_*`` environment variables and an optional ``.env``.

Settings are loaded once, at the edges (the CLI entry point, the web app
factory, the scheduler builder), and passed to everything else.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import secrets
import zoneinfo
from email.utils import parseaddr
from pathlib import Path
from typing import Literal

import limits
from email_validator import EmailNotValidError, validate_email
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from digest.errors import ConfigError
from digest.timetable import cron_trigger

SmtpTls = Literal["none", "starttls", "ssl"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

# 07:00 from Tuesday to Saturday: the mornings after the five weekday listings. The job
# runs yesterday's listing (and any day missed before it), so a Monday-to-Friday schedule
# would hold Friday's papers until Monday. Hugging Face rarely lists papers at weekends;
# when it does, Tuesday's run picks them up with Monday's.
DEFAULT_SCHEDULE = "0 7 * * 2-6"

_DEFAULT_SMTP_PORTS: dict[str, int] = {"none": 25, "starttls": 587, "ssl": 465}
_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


class Settings(BaseSettings):
    """Every setting of the service. The README's table and .env.example mirror this class."""

    model_config = SettingsConfigDict(
        env_prefix="DIGEST_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    database_url: str = Field(
        default="sqlite+aiosqlite:///digest.db",
        description=(
            "SQLAlchemy URL: a SQLite file by default, "
            "postgresql+asyncpg://user@host/db in production."
        ),
    )
    hf_base_url: str = Field(
        default="https://huggingface.co",
        description="Base URL of the Hugging Face Daily Papers site and API.",
    )
    http_connect_timeout: float = Field(
        default=10.0, gt=0, description="Seconds to wait for a connection to the listing."
    )
    http_read_timeout: float = Field(
        default=30.0, gt=0, description="Seconds to wait for the listing to answer."
    )
    http_retries: int = Field(
        default=4,
        ge=0,
        le=10,
        description=(
            "Attempts after the first when the listing times out, drops the connection "
            "or answers 5xx or 429."
        ),
    )
    http_backoff_seconds: float = Field(
        default=1.0,
        ge=0,
        description=(
            "Seconds before the first retry; doubled for each further one, plus random jitter."
        ),
    )
    http_max_wait_seconds: float = Field(
        default=60.0,
        ge=0,
        description="Longest wait between two attempts, a server's Retry-After included.",
    )
    contact_url: str = Field(
        default="https://github.com/paper-digest/paper-digest",
        description="Where the people running this service can be reached; sent in the User-Agent.",
    )
    smtp_host: str | None = Field(
        default=None,
        description="SMTP server. Unset: emails are written as .eml files to DIGEST_OUTBOX_DIR.",
    )
    smtp_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="SMTP port. Default: 25 (none), 587 (starttls) or 465 (ssl).",
    )
    smtp_username: str | None = Field(
        default=None, description="SMTP login, when the server needs one."
    )
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    smtp_tls: SmtpTls = Field(
        default="starttls", description="Transport security: none, starttls or ssl."
    )
    smtp_timeout: float = Field(
        default=30.0, gt=0, description="Seconds to wait for the SMTP server."
    )
    mail_from: str = Field(
        default="Paper Digest <digest@localhost>",
        description="From address of every email, as 'Name <address>' or a bare address.",
    )
    public_url: str = Field(
        default="http://localhost:8000",
        description="Base URL of the web pages; links in emails start with it.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description=(
            "Signs the links in emails (at least 32 characters). Required with DIGEST_SMTP_HOST."
        ),
    )
    smtp_concurrency: int = Field(
        default=4,
        ge=1,
        le=64,
        description="SMTP connections a sender keeps open and sends over in parallel.",
    )
    send_rate: float = Field(
        default=0.0,
        ge=0,
        description=(
            "Most messages per second one sender hands to the SMTP server, across all its "
            "connections (0: no cap)."
        ),
    )
    send_batch_size: int = Field(
        default=100,
        ge=1,
        le=10000,
        description=(
            "Deliveries a sender claims at once; with the connections, it bounds what a "
            "crash can send twice."
        ),
    )
    retry_base_seconds: float = Field(
        default=60.0,
        gt=0,
        description=(
            "First wait after a temporary failure (4xx, timeout, dropped connection); "
            "doubles with each attempt, at most one hour."
        ),
    )
    retry_hours: float = Field(
        default=48.0,
        gt=0,
        description="How long a delivery is retried after its first attempt before it fails.",
    )
    max_bounces: int = Field(
        default=3,
        ge=1,
        description=(
            "Permanent failures (5xx) in a row after which a subscriber becomes 'bounced' "
            "and gets nothing more until resumed."
        ),
    )
    send_lease_seconds: float = Field(
        default=900.0,
        ge=1,
        description=("A delivery left 'sending' this long by a sender that died is sent again."),
    )
    worker_poll_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="How often 'digest worker' looks for due deliveries when the outbox is empty.",
    )
    dkim_selector: str | None = Field(
        default=None,
        description="DKIM selector; with a private key, every email is DKIM-signed.",
    )
    dkim_domain: str | None = Field(
        default=None,
        description="DKIM signing domain (d=). Default: the domain of DIGEST_MAIL_FROM.",
    )
    dkim_private_key: SecretStr | None = Field(
        default=None,
        description="DKIM private key (PEM) itself, as a secret.",
    )
    dkim_private_key_file: Path | None = Field(
        default=None,
        description="File holding the DKIM private key (PEM); instead of DIGEST_DKIM_PRIVATE_KEY.",
    )
    outbox_dir: Path = Field(
        default=Path("outbox"),
        description="Folder for .eml files when DIGEST_SMTP_HOST is unset.",
    )
    max_papers_per_email: int = Field(
        default=25,
        ge=1,
        le=200,
        description="Most papers shown in one digest; the rest are counted, with a link.",
    )
    admin_email: str | None = Field(
        default=None,
        description="Address that gets an alert email when a daily run fails. Unset: no alerts.",
    )
    postal_address: str | None = Field(
        default=None,
        description=(
            "Sender's postal address, shown in the footer of every email "
            "(anti-spam laws ask for one). Unset: no address line."
        ),
    )
    email_thumbnails: bool = Field(
        default=False,
        description=(
            "Show each paper's thumbnail in the digest. The images load from Hugging Face "
            "when the reader opens the email, so off by default."
        ),
    )
    web_host: str = Field(
        default="127.0.0.1", description="Address that `digest web` and `digest serve` listen on."
    )
    web_port: int = Field(
        default=8000,
        ge=1,
        le=65535,
        description="Port that `digest web` and `digest serve` listen on.",
    )
    web_trusted_proxies: str = Field(
        default="127.0.0.1,::1",
        description=(
            "Comma-separated addresses (or *) of reverse proxies trusted to name the client "
            "in X-Forwarded-For; rate limits count that client address."
        ),
    )
    web_signup_rate_limit: str = Field(
        default="10/hour",
        description="Sign-ups accepted from one client address, e.g. 10/hour or 5/10 minutes.",
    )
    web_form_rate_limit: str = Field(
        default="30/minute",
        description=(
            "Other form submissions accepted from one client address "
            "(the RFC 8058 one-click unsubscribe is never limited)."
        ),
    )
    confirm_link_days: int = Field(
        default=7,
        ge=1,
        le=60,
        description=(
            "Days a confirmation link works; unconfirmed sign-ups older than that are deleted."
        ),
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Lowest level of log lines written to stderr."
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="Log lines as text for people, or as one JSON object per line.",
    )
    log_pii: bool = Field(
        default=False,
        description=(
            "Keep email addresses in log lines at INFO and above; by default they are "
            "replaced by [email] (DEBUG lines keep them)."
        ),
    )
    schedule: str = Field(
        default=DEFAULT_SCHEDULE,
        description=(
            "When 'digest serve' runs the daily job: a 5-field cron expression "
            "(minute hour day month weekday) in DIGEST_TIMEZONE."
        ),
    )
    timezone: str = Field(
        default="UTC",
        description="Time zone of DIGEST_SCHEDULE and of the weekly send time (IANA name).",
    )
    weekly_day: Weekday = Field(
        default="mon",
        description=(
            "Day on which weekly subscribers get their digest, at the hour of DIGEST_SCHEDULE."
        ),
    )
    catch_up_days: int = Field(
        default=7,
        ge=1,
        le=366,
        description=("How many days back the daily job runs days that have no successful run yet."),
    )
    health_max_age_hours: float | None = Field(
        default=None,
        gt=0,
        description=(
            "/healthz is unhealthy when no run has succeeded for this long. Default: the "
            "longest gap between two runs of DIGEST_SCHEDULE (at least a day) plus 3 hours."
        ),
    )

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value.strip())
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as UTC or Europe/Berlin"
            ) from None
        return value.strip()

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        try:
            if (
                cron_trigger(value, dt.UTC).get_next_fire_time(None, dt.datetime.now(dt.UTC))
                is None
            ):
                raise ValueError("it never runs (there is no such date)")
        except ValueError as exc:
            reason = " ".join(str(exc).split())
            raise ValueError(
                f"{value!r} is not a usable cron expression (5 fields: minute hour day "
                f"month weekday, e.g. '{DEFAULT_SCHEDULE}'): {reason}"
            ) from None
        return " ".join(value.split())

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        scheme, sep, rest = value.partition("://")
        if not sep or scheme not in _DRIVERS:
            raise ValueError(
                "must start with sqlite:// or postgresql:// (or postgresql+asyncpg://)"
            )
        return f"{_DRIVERS[scheme]}://{rest}"

    @field_validator("hf_base_url", "public_url", "contact_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("contact_url")
    @classmethod
    def _header_safe(cls, value: str) -> str:
        if any(character.isspace() for character in value):
            raise ValueError("must not contain spaces or line breaks (it is sent in a header)")
        return value

    @field_validator("web_trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        if entries == ["*"]:
            return "*"
        for entry in entries:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or network (or use * for any)"
                ) from None
        return ",".join(entries)

    @field_validator("web_signup_rate_limit", "web_form_rate_limit")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        try:
            limits.parse(value)
        except ValueError:
            raise ValueError("must be a rate such as 10/hour, 30/minute or 5/10 minutes") from None
        return value

    @field_validator("mail_from")
    @classmethod
    def _mail_from(cls, value: str) -> str:
        if "\r" in value or "\n" in value:
            raise ValueError("must not contain line breaks")
        _, address = parseaddr(value)
        if "@" not in address:
            raise ValueError(
                "must contain an email address, e.g. 'Paper Digest <digest@example.org>'"
            )
        return value

    @field_validator("admin_email")
    @classmethod
    def _admin_email(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            return validate_email(value.strip(), check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValueError(f"not an email address: {exc}") from None

    @field_validator("postal_address")
    @classmethod
    def _postal_address(cls, value: str | None) -> str | None:
        # One line in the footer, whatever line breaks the .env file carried.
        if value is None:
            return None
        return " ".join(value.split()) or None

    @field_validator("secret_key")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError(
                "must be at least 32 characters "
                "(make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        return value

    @model_validator(mode="after")
    def _secret_for_real_mail(self) -> Settings:
        if self.smtp_host and self.secret_key is None:
            raise ValueError("DIGEST_SECRET_KEY must be set when DIGEST_SMTP_HOST is set")
        return self

    @model_validator(mode="after")
    def _dkim_complete(self) -> Settings:
        has_key = self.dkim_private_key is not None or self.dkim_private_key_file is not None
        if self.dkim_private_key is not None and self.dkim_private_key_file is not None:
            raise ValueError(
                "set DIGEST_DKIM_PRIVATE_KEY or DIGEST_DKIM_PRIVATE_KEY_FILE, not both"
            )
        if has_key != (self.dkim_selector is not None):
            raise ValueError(
                "DKIM needs both DIGEST_DKIM_SELECTOR and a private key "
                "(DIGEST_DKIM_PRIVATE_KEY or DIGEST_DKIM_PRIVATE_KEY_FILE)"
            )
        return self

    @property
    def effective_smtp_port(self) -> int:
        return self.smtp_port or _DEFAULT_SMTP_PORTS[self.smtp_tls]

    @property
    def sender_address(self) -> str:
        """The bare address of DIGEST_MAIL_FROM."""
        return parseaddr(self.mail_from)[1]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@functools.cache
def _ephemeral_secret() -> str:
    return secrets.token_urlsafe(32)


def signing_key(settings: Settings) -> str:
    """The key that signs links. Without DIGEST_SECRET_KEY (trying it out, emails to files)
    a per-process key is used, so such links stop working after the process ends."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    return _ephemeral_secret()


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning a validation error into a one-line ConfigError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    if not field:
        return f"invalid settings: {message}"
    return f"invalid setting DIGEST_{field.upper()}: {message}"

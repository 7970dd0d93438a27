"""Settings: environment first, validated, documented in .env.example and the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from digest.config import Settings, load_settings
from digest.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("DIGEST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no developer's .env


def test_defaults_need_no_configuration() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite+aiosqlite:///digest.db"
    assert settings.hf_base_url == "https://huggingface.co"
    assert settings.smtp_host is None
    assert settings.outbox_dir == Path("outbox")


def test_web_settings_have_working_defaults_and_accept_rates_and_networks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    defaults = load_settings()
    assert (defaults.web_host, defaults.web_port, defaults.confirm_link_days) == (
        "127.0.0.1",
        8000,
        7,
    )
    monkeypatch.setenv("DIGEST_WEB_SIGNUP_RATE_LIMIT", "5/10 minutes")
    monkeypatch.setenv("DIGEST_WEB_TRUSTED_PROXIES", " 10.0.0.0/8 , ::1 ")
    settings = load_settings()
    assert settings.web_signup_rate_limit == "5/10 minutes"
    assert settings.web_trusted_proxies == "10.0.0.0/8,::1"


def test_environment_and_dotenv_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DIGEST_SMTP_PORT=2525\nDIGEST_SMTP_TLS=none\n")
    monkeypatch.setenv("DIGEST_DATABASE_URL", "postgresql://digest@db/digest")
    settings = load_settings()
    assert settings.database_url == "postgresql+asyncpg://digest@db/digest"
    assert settings.effective_smtp_port == 2525
    assert settings.smtp_tls == "none"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DIGEST_SMTP_PORT", "abc", "invalid setting DIGEST_SMTP_PORT: Input should be a valid"),
        ("DIGEST_SMTP_TLS", "maybe", "invalid setting DIGEST_SMTP_TLS: Input should be 'none'"),
        ("DIGEST_DATABASE_URL", "mysql://x", "invalid setting DIGEST_DATABASE_URL: must start"),
        ("DIGEST_PUBLIC_URL", "example.org", "invalid setting DIGEST_PUBLIC_URL: must be an http"),
        ("DIGEST_MAIL_FROM", "nobody", "invalid setting DIGEST_MAIL_FROM: must contain an email"),
        ("DIGEST_SECRET_KEY", "short", "invalid setting DIGEST_SECRET_KEY: must be at least 32"),
        ("DIGEST_SMTP_HOST", "mail.example.org", "DIGEST_SECRET_KEY must be set"),
        ("DIGEST_ADMIN_EMAIL", "nobody", "invalid setting DIGEST_ADMIN_EMAIL: not an email"),
        ("DIGEST_EMAIL_THUMBNAILS", "maybe", "invalid setting DIGEST_EMAIL_THUMBNAILS:"),
        ("DIGEST_WEB_SIGNUP_RATE_LIMIT", "lots", "DIGEST_WEB_SIGNUP_RATE_LIMIT: must be a rate"),
        ("DIGEST_WEB_FORM_RATE_LIMIT", "5 per fortnight", "DIGEST_WEB_FORM_RATE_LIMIT: must be"),
        ("DIGEST_WEB_TRUSTED_PROXIES", "10.0.0.1,proxy", "'proxy' is not an IP address"),
        ("DIGEST_CONFIRM_LINK_DAYS", "0", "DIGEST_CONFIRM_LINK_DAYS: Input should be greater"),
        ("DIGEST_WEB_PORT", "0", "DIGEST_WEB_PORT: Input should be greater"),
        ("DIGEST_SCHEDULE", "0 7 * *", "DIGEST_SCHEDULE: '0 7 * *' is not a usable cron"),
        ("DIGEST_SCHEDULE", "61 7 * * *", "DIGEST_SCHEDULE: '61 7 * * *' is not a usable cron"),
        ("DIGEST_SCHEDULE", "0 7 * * 8", "weekday '8' is not between 0 and 7"),
        ("DIGEST_SCHEDULE", "0 7 1 * 1", "restricts both the day of the month and the weekday"),
        ("DIGEST_SCHEDULE", "0 7 31 2 *", "it never runs (there is no such date)"),
        ("DIGEST_TIMEZONE", "Mars/Olympus", "DIGEST_TIMEZONE: unknown time zone 'Mars/Olympus'"),
        ("DIGEST_WEEKLY_DAY", "monday", "DIGEST_WEEKLY_DAY: Input should be 'mon'"),
        ("DIGEST_CATCH_UP_DAYS", "0", "DIGEST_CATCH_UP_DAYS: Input should be greater"),
        ("DIGEST_LOG_FORMAT", "xml", "DIGEST_LOG_FORMAT: Input should be 'text' or 'json'"),
        ("DIGEST_HEALTH_MAX_AGE_HOURS", "-1", "DIGEST_HEALTH_MAX_AGE_HOURS: Input should be"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_email_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().admin_email is None
    assert load_settings().postal_address is None
    assert load_settings().email_thumbnails is False
    monkeypatch.setenv("DIGEST_ADMIN_EMAIL", " Admin@Example.org ")
    monkeypatch.setenv("DIGEST_POSTAL_ADDRESS", "Lab 4,\n  1 Example Lane ")
    monkeypatch.setenv("DIGEST_EMAIL_THUMBNAILS", "true")
    settings = load_settings()
    assert settings.admin_email == "Admin@example.org"  # the domain is case-insensitive
    assert settings.postal_address == "Lab 4, 1 Example Lane"
    assert settings.email_thumbnails is True


def _env_names() -> set[str]:
    return {f"DIGEST_{name.upper()}" for name in Settings.model_fields}


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    text = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*(DIGEST_[A-Z0-9_]+)=", text, flags=re.MULTILINE))
    assert documented == _env_names()


def test_readme_configuration_table_lists_every_setting() -> None:
    text = (ROOT / "README.md").read_text()
    rows = set(re.findall(r"^\| `(DIGEST_[A-Z0-9_]+)` \|", text, flags=re.MULTILINE))
    assert rows == _env_names()


def test_operating_settings_have_deliberate_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = load_settings()
    assert defaults.schedule == "0 7 * * 2-6"  # Tuesday to Saturday: the mornings after
    assert (defaults.timezone, defaults.weekly_day, defaults.catch_up_days) == ("UTC", "mon", 7)
    assert (defaults.log_format, defaults.log_pii, defaults.health_max_age_hours) == (
        "text",
        False,
        None,
    )
    monkeypatch.setenv("DIGEST_SCHEDULE", "  30  6 * * mon-fri ")
    monkeypatch.setenv("DIGEST_TIMEZONE", "Europe/Berlin")
    settings = load_settings()
    assert settings.schedule == "30 6 * * mon-fri"
    assert settings.timezone == "Europe/Berlin"

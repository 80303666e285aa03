"""Configuration from the environment or `.env` (see README and .env.example)."""
from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from crm.inbox.texts import WEEKDAYS

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      case_sensitive=False)

    database_url: str = "sqlite:///crm.db"
    # SQLCipher key of the SQLite store (crm/encryption.py); a secret, so never shown in a repr
    crm_db_key: SecretStr | None = None
    crm_timezone: str = "UTC"
    digest_time: str = "08:00"
    host: str = "127.0.0.1"
    port: int = 3000

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_inbox_channel: str | None = None

    telegram_bot_token: str | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = None

    # customers writing outside these hours get one out-of-office reply per conversation
    business_hours: str = "09:00-18:00"
    business_days: str = "mon,tue,wed,thu,fri"
    # who the terminal chat acts as (a staff name); the first admin when unset
    console_user: str | None = None
    # LOG_LEVEL is read by bot/cli.py from the process environment (before .env is read), so it is not here
    # the business's currency for amounts typed without one, and optional conversion rates into it
    # ("CNY=0.14,EUR=1.08": units of CRM_CURRENCY per unit); without rates totals stay per currency
    crm_currency: str = "USD"
    crm_currency_rates: str = ""
    # the business's language: replies to staff who have not chosen one (en or zh)
    crm_language: str = "en"

    @field_validator("crm_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        from crm.i18n import currency_code

        code = currency_code(value or "")
        if code is None:
            raise ValueError(f"CRM_CURRENCY={value!r} is not a currency code (try USD, EUR or CNY)")
        return code

    @field_validator("crm_language")
    @classmethod
    def _language(cls, value: str) -> str:
        value = (value or "en").strip().lower()[:2]
        if value not in ("en", "zh"):
            raise ValueError(f"CRM_LANGUAGE={value!r} must be en or zh")
        return value

    @property
    def currency_rates(self) -> dict[str, float]:
        from crm.i18n import parse_rates

        return parse_rates(self.crm_currency_rates)
    # /crm intro: the longest chain of introductions proposed, counting your own first contact
    intro_max_hops: int = Field(default=3, ge=1, le=6)

    @field_validator("crm_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"CRM_TIMEZONE={value!r} is not a known time zone (try Europe/London)") from None
        return value

    @field_validator("digest_time")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.match(value.strip()):
            raise ValueError(f"DIGEST_TIME={value!r} must be HH:MM, e.g. 08:00")
        return value.strip()

    @field_validator("business_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        parts = value.split("-")
        if len(parts) != 2 or not all(_HHMM.match(p.strip()) for p in parts):
            raise ValueError(f"BUSINESS_HOURS={value!r} must look like 09:00-18:00")
        return value

    @property
    def db_key(self) -> str | None:
        return self.crm_db_key.get_secret_value() if self.crm_db_key else None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.crm_timezone)

    @property
    def business_weekdays(self) -> list[str]:
        """BUSINESS_DAYS as three-letter day names (mon … sun), in the order given."""
        return [d.strip().lower()[:3] for d in self.business_days.split(",") if d.strip()]

    def is_business_day(self, day: date) -> bool:
        """Whether ``day`` is one of BUSINESS_DAYS; with none set, every day is."""
        days = self.business_weekdays
        return not days or WEEKDAYS[day.weekday()] in days

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token and (self.slack_signing_secret or self.slack_app_token))

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

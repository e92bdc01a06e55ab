"""Typed, immutable settings, validated at start-up and read only by the entry points."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gridshare.local_time import village_zone

Mechanism = Literal["bulletin", "continuous", "auction"]
DEVELOPMENT_PASSWORD = "gridshare-development-only"  # public: development mode only


class Settings(BaseSettings):
    """Everything the server needs to start; environment variables use the GRIDSHARE_ prefix."""

    model_config = SettingsConfigDict(env_prefix="GRIDSHARE_", frozen=True, extra="forbid")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path(".gridshare/data")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    # chain: None means the embedded chain in data_dir; otherwise any JSON-RPC node URL
    chain_url: str | None = None
    chain_id: int = Field(default=1337, ge=1)
    treasury_coins: int = Field(default=1_000_000, ge=0, description="genesis treasury (embedded)")
    operator_password: SecretStr | None = None
    password_work: Literal["full", "light"] = Field(
        default="full", description="hashing cost of passwords and keys; light is for tests"
    )

    # market
    market_mechanism: Mechanism = "continuous"
    auction_interval_s: int = Field(default=900, ge=10)
    delivery_window_s: int = Field(default=3600, ge=60)
    settle_grace_s: int = Field(default=600, ge=10)
    coin_symbol: str = Field(default="PKR", min_length=1, max_length=8)
    market_engine: bool = Field(default=True, description="run matcher/orchestrator/agents")
    loss_tolerance_percent: int = Field(default=15, ge=0, le=100)
    meter_silence_s: int = Field(default=60, ge=1, description="the meters' --silence-s")
    agent_interval_s: int = Field(default=300, ge=1)

    # embedded chain upkeep: delete old blocks' state (0: never; `gridshare prune-chain` by hand)
    prune_every_blocks: int = Field(default=10_000, ge=0)
    prune_keep_blocks: int = Field(default=128, ge=1)

    # web
    secure_cookies: bool = False
    timezone: str = Field(default="UTC", description="the village's IANA time zone for pages")

    @field_validator("chain_url")
    @classmethod
    def _chain_url_is_http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone_is_known(cls, value: str) -> str:
        village_zone(value)  # raises ValueError naming it
        return value

    @field_validator("operator_password", mode="before")
    @classmethod
    def _empty_password_is_none(cls, value: object) -> object:
        """An empty GRIDSHARE_OPERATOR_PASSWORD= line means no password, not the empty one."""
        return None if value == "" else value

    @model_validator(mode="after")
    def _no_default_secrets_in_production(self) -> Settings:
        if self.environment == "production" and self.operator_password is None:
            raise ValueError(
                "production needs the operator keystore password: set "
                "GRIDSHARE_OPERATOR_PASSWORD"
            )
        if (self.environment == "production" and self.operator_password is not None
                and self.operator_password.get_secret_value() == DEVELOPMENT_PASSWORD):
            raise ValueError(
                "production refuses the public development password: set your own in "
                "GRIDSHARE_OPERATOR_PASSWORD (change the key's with `gridshare "
                "operator-password`)"
            )
        if self.environment == "production" and self.password_work != "full":
            raise ValueError(
                "production hashes passwords and keys at full cost: remove "
                "GRIDSHARE_PASSWORD_WORK (light is for tests only)"
            )
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The village's time zone, which pages show times in."""
        return village_zone(self.timezone)

    @property
    def development_password(self) -> str:
        """The operator keystore password to use: the configured one, or the dev default."""
        if self.operator_password is not None:
            return self.operator_password.get_secret_value()
        if self.environment != "development":
            raise RuntimeError("no operator password outside development")
        return DEVELOPMENT_PASSWORD

"""Settings are validated at start-up: bad values and default secrets are refused by name."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gridshare.config import Settings


def test_production_refuses_to_run_without_an_operator_password() -> None:
    with pytest.raises(ValidationError, match="production needs the operator keystore password"):
        Settings(environment="production")
    with pytest.raises(ValidationError, match="production needs the operator keystore password"):
        Settings(environment="production", operator_password="")  # an empty line in the env file
    production = Settings(environment="production", operator_password="a long passphrase")
    assert production.development_password == "a long passphrase"


def test_development_uses_a_fixed_default_only_when_no_password_is_given() -> None:
    assert Settings().development_password == "gridshare-development-only"
    assert Settings(operator_password="x").development_password == "x"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("chain_url", "ftp://node"), ("port", 0), ("market_mechanism", "lottery"),
        ("chain_id", 0), ("timezone", "Mars/Olympus"), ("timezone", "../../etc/passwd"),
    ],
)
def test_bad_settings_name_the_field(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(**{field: value})  # type: ignore[arg-type]
    assert caught.value.errors()[0]["loc"] == (field,)


def test_settings_are_immutable() -> None:
    settings = Settings()
    with pytest.raises(ValidationError):
        settings.port = 9000  # type: ignore[misc]


def test_the_village_time_zone_is_utc_unless_one_is_named() -> None:
    assert Settings().zone.key == "UTC"
    assert Settings(timezone="Asia/Karachi").zone.key == "Asia/Karachi"
    with pytest.raises(ValidationError, match="unknown time zone 'Asia/Karachl'"):
        Settings(timezone="Asia/Karachl")


def test_production_refuses_the_light_hashing_cost_meant_for_tests() -> None:
    with pytest.raises(ValidationError, match="remove GRIDSHARE_PASSWORD_WORK"):
        Settings(environment="production", operator_password="a long passphrase",
                 password_work="light")  # fmt: skip
    assert Settings(environment="production", operator_password="a long passphrase",
                    ).password_work == "full"  # fmt: skip
    assert Settings(password_work="light").password_work == "light"  # development allows it

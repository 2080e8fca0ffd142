"""Settings: typed, from the environment, and a bad value names its key."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.settings import Settings


def test_defaults_use_the_embedded_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MONGODB_URI", raising=False)
    monkeypatch.delenv("PORT", raising=False)
    settings = Settings()
    assert (settings.embedded, settings.port, settings.base_currency) == (True, 8000, "CNY")


def test_port_and_uri_come_from_the_usual_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9000")
    monkeypatch.setenv("MONGODB_URI", "mongodb://db.example:27017")
    settings = Settings()
    assert (settings.port, settings.mongodb_uri, settings.embedded) == (
        9000, "mongodb://db.example:27017", False)


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("MONGODB_URI", "postgres://x", "mongodb_uri"),
        ("PORT", "70000", "port"),
        ("OMNIGW_BASE_CURRENCY", "yuan", "base_currency"),
    ],
)
def test_a_bad_value_names_the_key_and_the_value(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as raised:
        Settings()
    assert named in str(raised.value) or variable in str(raised.value)
    assert value in str(raised.value)

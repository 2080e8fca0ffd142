"""Settings: typed, from the environment and .env, and a bad value names its key."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.settings import Settings
from tests.support import ROOT


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


def test_dotenv_is_read_below_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a .env in the working directory, and one of its variables also in the environment
    (tmp_path / ".env").write_text("OMNIGW_MAX_DEPTH=7\nOMNIGW_MAX_ALIASES=3\n"
                                   "MONGODB_URI=mongodb://from-dotenv:27017\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OMNIGW_ENV_FILE")
    monkeypatch.setenv("OMNIGW_MAX_DEPTH", "9")
    # then: arguments > environment > .env > defaults
    settings = Settings(max_aliases=4)
    assert (settings.max_aliases, settings.max_depth, settings.mongodb_uri, settings.max_cost) == (
        4, 9, "mongodb://from-dotenv:27017", 1000)
    assert Settings().max_aliases == 3


def test_another_env_file_or_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("OMNIGW_MAX_DEPTH=7\n")
    (tmp_path / "staging.env").write_text("OMNIGW_MAX_DEPTH=8\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OMNIGW_ENV_FILE", "staging.env")
    assert Settings().max_depth == 8
    monkeypatch.setenv("OMNIGW_ENV_FILE", "")
    assert Settings().max_depth == 10


def test_dotenv_is_ignored_by_git() -> None:
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT, check=False)
    assert ignored.returncode == 0


def test_the_suite_runs_without_the_callers_settings() -> None:
    # tests/conftest.py removed them before any test module was imported
    assert [name for name in os.environ if name.startswith(("OMNIGW_", "OTEL_"))] == [
        "OMNIGW_ENV_FILE"]
    assert os.environ["OMNIGW_ENV_FILE"] == ""

"""Every bad setting is one line naming the variable and the values allowed, exit status 2,
no traceback, whichever command reads it. The settings are walked: a new setting is covered
without editing this test (or the test fails until it says how to spoil it)."""

from __future__ import annotations

import types
import typing
from pathlib import Path

import pytest
from annotated_types import Ge, Gt, Le
from pydantic import SecretStr
from pydantic.fields import FieldInfo
from typer.testing import CliRunner

from gateway.cli.failures import variable
from gateway.cli.main import app
from gateway.settings import Settings

# Free-form settings: any value is taken, and what it names is checked where it is used (the
# paths by `serve`, see tests/test_cli.py), or it is a secret of the operator's choosing.
FREE_FORM = {"host", "seeds_dir", "persisted_queries_manifest"}
SPECIAL = {
    "mongodb_uri": "postgres://db.example/omnigw",
    "base_currency": "yuan",
    "tier_thresholds": '{"SILVER": 1',
    "metrics_operations": "Fine,not-a-name",
    "demo_admin_key": "short",
    "demo_partner_key": "short",
}
# Every command that reads the settings, with arguments that are otherwise fine.
COMMANDS = [["serve"], ["seed"], ["export-schema"], ["export-settings"], ["keys", "list"],
            ["import", "orders", "orders.jsonl", "--channel", "ch_villagelink"]]


def bad_value(name: str, info: FieldInfo) -> str:
    """A value the setting must refuse, from its type and bounds."""
    if name in SPECIAL:
        return SPECIAL[name]
    kind = info.annotation
    if isinstance(kind, types.UnionType):
        kind = next(a for a in typing.get_args(kind) if a is not type(None))
    if typing.get_origin(kind) is typing.Literal:
        return "NOT_ONE_OF_THEM"
    if kind is bool:
        return "maybe"
    if kind in (int, float):
        upper = next((r.le for r in info.metadata if isinstance(r, Le)), None)
        lower = next((r.ge for r in info.metadata if isinstance(r, Ge)), None)
        above = next((r.gt for r in info.metadata if isinstance(r, Gt)), None)
        if above is not None:
            return str(above)
        return str(upper + 1) if upper is not None else str(lower - 1)  # type: ignore[operator]
    if kind in (str, SecretStr) and any(getattr(r, "min_length", 0) for r in info.metadata):
        return ""
    raise AssertionError(f"say how to spoil the setting {name!r} ({kind})")


CHECKED = [(name, info) for name, info in Settings.model_fields.items() if name not in FREE_FORM]


def test_every_setting_is_walked() -> None:
    assert len(CHECKED) + len(FREE_FORM) == len(Settings.model_fields)
    assert not [name for name in FREE_FORM if name not in Settings.model_fields]


@pytest.mark.parametrize(("name", "info"), CHECKED, ids=[name for name, _ in CHECKED])
def test_a_bad_setting_is_one_line_and_exit_status_2(
    name: str, info: FieldInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "orders.jsonl").write_text("{}\n")
    given = bad_value(name, info)
    for command in COMMANDS:
        result = CliRunner().invoke(app, command, env={variable(name): given})
        lines = result.output.splitlines()
        assert result.exit_code == 2, (command, result.output)
        assert len(lines) == 1 and "Traceback" not in result.output, (command, result.output)
        assert "README" not in lines[0]  # the values allowed are spelt out
        secret = SecretStr in typing.get_args(info.annotation)
        shown = "(hidden)" if secret else repr(given)
        assert lines[0].startswith(f"{variable(name)}={shown} is not allowed") or (
            lines[0].startswith(f"{variable(name)} cannot be read")), lines[0]
    assert not list(tmp_path.glob("*.graphql")), "export-schema wrote despite a bad setting"


def test_several_bad_settings_are_one_line_each() -> None:
    result = CliRunner().invoke(app, ["seed"], env={"OMNIGW_MAX_DEPTH": "0", "PORT": "x",
                                                    "OMNIGW_LOG_LEVEL": "LOUD"})
    assert result.exit_code == 2
    assert sorted(result.output.splitlines()) == [
        "OMNIGW_LOG_LEVEL='LOUD' is not allowed; allowed: one of DEBUG, INFO, WARNING, ERROR",
        "OMNIGW_MAX_DEPTH='0' is not allowed; allowed: an integer from 1 to 100",
        "PORT='x' is not allowed; allowed: an integer from 1 to 65535"]


def test_a_uri_password_is_not_printed() -> None:
    result = CliRunner().invoke(app, ["seed"], env={
        "MONGODB_URI": "mongodb://ops:hunter2@db.example:notaport/"})
    assert result.exit_code == 2
    assert result.output.startswith("MONGODB_URI='mongodb://ops:***@db.example:notaport/' is "
                                    "not allowed: not a valid MongoDB connection string: Port ")
    assert "hunter2" not in result.output


def test_a_rule_across_settings_is_one_line() -> None:
    result = CliRunner().invoke(app, ["serve"], env={
        "OMNIGW_PRODUCTION": "true", "MONGODB_URI": "mongodb://db.example:27017"})
    assert (result.exit_code, result.output) == (2, (
        "OMNIGW_KEY_PEPPER must be set in production mode with MONGODB_URI (the built-in "
        "development pepper is only for the embedded store)\n"))

"""Bad settings, an unreachable MongoDB or an unwritable path, as one line each for the CLI.

Every ``omnigw`` command loads its settings through :func:`load_or_exit`: each bad setting is
one line on stderr naming the variable, the value refused and the values allowed, and the
command exits with status 2 (no traceback). :func:`fail` does the same for any other
target (a file, a directory, the database), and :func:`load_for_mongodb` for the commands that
need MongoDB.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Any, NoReturn

import typer
from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from pydantic import SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import SettingsError
from pymongo.errors import ConfigurationError, ConnectionFailure, PyMongoError

from gateway.settings import Settings

EXIT_BAD_SETTING = 2
_ALLOWED_TEXT = {
    "base_currency": "a three-letter ISO 4217 code in capitals, such as CNY",
    "tier_thresholds": 'JSON such as {"SILVER":150000,"GOLD":500000,"PLATINUM":1000000}',
    "metrics_operations": "GraphQL operation names, comma-separated or a JSON list",
    "persisted_queries_manifest": "the path of an Apollo persisted-query manifest",
    "seeds_dir": "a directory of Extended JSON files, one per collection",
    "host": "an interface address or host name, such as 0.0.0.0",
}


def variable(name: str) -> str:
    """The environment variable that sets the field ``name``."""
    info = Settings.model_fields.get(name)
    alias = info.validation_alias if info is not None else None
    choices = getattr(alias, "choices", None)
    if choices:
        return str(choices[0])
    return f"OMNIGW_{name.upper()}"


def _field_name(location: str) -> str:
    """A field name from an error location (a field name or one of its variables)."""
    for name in Settings.model_fields:
        if location.lower() in (name, variable(name).lower()):
            return name
    return location


def _bounds(info: FieldInfo) -> str:
    low = high = ""
    for rule in info.metadata:
        if isinstance(rule, Ge):
            low = f"from {rule.ge}"
        elif isinstance(rule, Gt):
            low = f"greater than {rule.gt}"
        elif isinstance(rule, Le):
            high = f"to {rule.le}" if low.startswith("from") else f"at most {rule.le}"
        elif isinstance(rule, Lt):
            high = f"below {rule.lt}"
    if low.startswith("greater") and high:
        return f"{low} and {high}"
    return " ".join(part for part in (low, high) if part)


def allowed(name: str) -> str:
    """The values the field ``name`` accepts, in words."""
    if name in _ALLOWED_TEXT:
        return _ALLOWED_TEXT[name]
    info = Settings.model_fields[name]
    kind = info.annotation
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        kind = next(a for a in typing.get_args(kind) if a is not type(None))
    if typing.get_origin(kind) is typing.Literal:
        return "one of " + ", ".join(str(v) for v in typing.get_args(kind))
    if kind is bool:
        return "true or false"
    if kind in (int, float):
        noun = "an integer" if kind is int else "a number"
        bounds = _bounds(info)
        return f"{noun} {bounds}" if bounds else noun
    if kind is SecretStr:
        if name.startswith("demo_"):
            return "8 to 200 of A-Z a-z 0-9 . _ ~ + / = -"
        shortest = next((r.min_length for r in info.metadata if isinstance(r, MinLen)), None)
        return f"a secret of at least {shortest} characters" if shortest else "any secret string"
    if kind is str:
        shortest = next((r.min_length for r in info.metadata if isinstance(r, MinLen)), None)
        longest = next((r.max_length for r in info.metadata if isinstance(r, MaxLen)), None)
        if shortest is not None and longest is not None:
            return f"{shortest} to {longest} characters"
        if name == "mongodb_uri":
            return "mongodb://host:27017/ or mongodb+srv://cluster.example.net/"
    return "see docs/settings.md"


def shown(name: str, value: Any) -> str:
    """A refused value as it may be printed (secrets hidden, URI passwords masked)."""
    info = Settings.model_fields.get(name)
    if info is not None and SecretStr in (info.annotation, *typing.get_args(info.annotation)):
        return "(hidden)"
    return repr(redact(value) if isinstance(value, str) else value)


def redact(uri: str) -> str:
    """``uri`` with the password of its user part replaced by ``***``."""
    return re.sub(r"(//[^:/@]+:)[^@/]*@", r"\1***@", uri)


def explain(error: ValidationError | SettingsError) -> list[str]:
    """One line per bad setting."""
    if isinstance(error, SettingsError):
        found = re.search(r'field "(\w+)"', str(error))
        name = found.group(1) if found else "?"
        reason = str(error.__cause__ or error).splitlines()[0]
        return [f"{variable(name)} cannot be read ({reason}); allowed: {allowed(name)}"]
    lines = []
    for problem in error.errors():
        if not problem["loc"]:  # a rule across settings names its variables itself
            lines.append(str(problem["msg"]).removeprefix("Value error, "))
            continue
        name = _field_name(str(problem["loc"][0]))
        given = shown(name, problem.get("input"))
        if problem["type"] == "value_error":
            reason = str(problem["msg"]).removeprefix("Value error, ")
            lines.append(f"{variable(name)}={given} is not allowed: {reason}")
        else:
            lines.append(f"{variable(name)}={given} is not allowed; allowed: {allowed(name)}")
    return lines


def database_problem(settings: Settings, exc: PyMongoError) -> str:
    """One line for a MongoDB that cannot be reached or refuses a command."""
    target = f"MONGODB_URI={redact(settings.mongodb_uri or '')}"
    reason = str(exc).split(", Timeout:")[0].splitlines()[0][:300] if str(exc) else ""
    if isinstance(exc, ConnectionFailure):
        return f"cannot reach MongoDB at {target}: {type(exc).__name__}: {reason}"
    if isinstance(exc, ConfigurationError):
        return f"{target} cannot be used: {type(exc).__name__}: {reason}"
    return f"MongoDB at {target} refused the command: {type(exc).__name__}: {reason}"


def fail(line: str) -> NoReturn:
    """Print ``line`` on stderr and exit with status 2."""
    typer.echo(line, err=True)
    raise typer.Exit(EXIT_BAD_SETTING)


def load_or_exit() -> Settings:
    """The settings, or one line per bad setting on stderr and exit status 2."""
    try:
        return Settings()
    except (ValidationError, SettingsError) as exc:
        for line in explain(exc):
            typer.echo(line, err=True)
        raise typer.Exit(EXIT_BAD_SETTING) from None


def load_for_mongodb(why: str) -> Settings:
    """The settings of a command that works on MongoDB only: one line saying ``why`` and exit
    status 2 when ``MONGODB_URI`` is not set (the one guard of every such command)."""
    settings = load_or_exit()
    if settings.mongodb_uri is None:
        fail(f"MONGODB_URI is not set: {why}")
    return settings

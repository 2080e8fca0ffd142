"""The omnigw command line: seed (idempotent, with indexes), export-schema, --version, and
one line with exit status 2 for an unreachable database or a path that cannot be used."""

from __future__ import annotations

import asyncio
import os
import sys
from importlib.metadata import version
from pathlib import Path

import pymongo
import pytest
from typer.testing import CliRunner

from gateway.cli.main import app, schema_sdl
from gateway.database.indexes import INDEXES
from tests.support import SEEDS

DATABASE = "omnigw_cli_seed"


def test_seed_twice_leaves_the_same_data_and_the_indexes(
    mongo_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONGODB_URI", mongo_uri)
    monkeypatch.setenv("OMNIGW_DATABASE", DATABASE)
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(mongo_uri, tz_aware=True)
    client.drop_database(DATABASE)
    db = client[DATABASE]
    try:
        for _ in range(2):
            result = CliRunner().invoke(app, ["seed"])
            assert result.exit_code == 0, result.output
            assert f"orders={len(SEEDS['orders'])}" in result.output
        for name, docs in SEEDS.items():
            assert list(db[name].find({}, sort=[("_id", 1)])) == docs, name
        for name, models in INDEXES.items():
            names = {ix["name"] for ix in db[name].list_indexes()}
            assert {m.document["name"] for m in models} <= names, name
    finally:
        client.drop_database(DATABASE)
        client.close()


def test_seed_without_mongodb_uri_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MONGODB_URI", raising=False)
    result = CliRunner().invoke(app, ["seed"])
    assert result.exit_code == 2
    assert "MONGODB_URI is not set" in result.output


def test_export_schema_writes_the_sdl(tmp_path: Path) -> None:
    target = tmp_path / "schema.graphql"
    result = CliRunner().invoke(app, ["export-schema", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text() == schema_sdl()


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert (result.exit_code, result.output) == (0, f"omnigw {version('omnichannel-gateway')}\n")


def test_export_schema_writes_into_the_working_directory_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["export-schema"])
    assert (result.exit_code, result.output) == (0, "wrote schema.graphql\n")
    assert (tmp_path / "schema.graphql").read_text() == schema_sdl()


def test_an_unwritable_schema_path_is_one_line(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "schema.graphql"
    result = CliRunner().invoke(app, ["export-schema", "--output", str(target)])
    assert (result.exit_code, result.output) == (
        2, f"cannot write the schema to {target}: No such file or directory\n")


UNREACHABLE = {"MONGODB_URI": "mongodb://127.0.0.1:9/", "OMNIGW_SERVER_SELECTION_TIMEOUT_MS": "100",
               "OMNIGW_CONNECT_TIMEOUT_MS": "100"}


@pytest.mark.parametrize("command", [["seed"], ["keys", "list"],
                                     ["keys", "create", "--name", "x", "--role", "admin"],
                                     ["import", "orders", "orders.jsonl", "--channel",
                                      "ch_villagelink", "--location", "loc_vl_anji"]])
async def test_an_unreachable_database_is_one_line(command: list[str], tmp_path: Path) -> None:
    # given a file to import and a MongoDB address where nothing listens
    (tmp_path / "orders.jsonl").write_text(
        '{"externalId": "A-1", "currency": "CNY", "placedAt": "2026-10-30T03:00:00Z", '
        '"lines": [{"sku": "sku_sesame_oil_500ml", "quantity": 1, "unitPrice": 100}]}\n')
    # when the command runs, as an operator runs it
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "omnigw"), *command, cwd=tmp_path,
        env={**os.environ, **UNREACHABLE}, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    # then one line on stderr names the target, and the exit status is 2
    assert process.returncode == 2, stderr
    [line] = stderr.decode().splitlines()
    assert line.startswith("cannot reach MongoDB at MONGODB_URI=mongodb://127.0.0.1:9/: "), line


@pytest.mark.parametrize(
    ("env", "line"),
    [({"OMNIGW_SEEDS_DIR": "/nonexistent/seeds"},
      "OMNIGW_SEEDS_DIR='/nonexistent/seeds' is not a directory (the embedded store loads its "
      "data from there)"),
     ({"OMNIGW_PERSISTED_QUERIES_MANIFEST": "/nonexistent/manifest.json"},
      "OMNIGW_PERSISTED_QUERIES_MANIFEST: cannot read persisted-query manifest "
      "/nonexistent/manifest.json: [Errno 2] No such file or directory: "
      "'/nonexistent/manifest.json'"),
     ({"PROMETHEUS_MULTIPROC_DIR": "/nonexistent/metrics"},
      "PROMETHEUS_MULTIPROC_DIR='/nonexistent/metrics' is not a writable directory")],
)
def test_serve_checks_its_paths_before_it_starts(env: dict[str, str], line: str) -> None:
    result = CliRunner().invoke(app, ["serve"], env=env)
    assert (result.exit_code, result.output) == (2, line + "\n")

"""The omnigw command line: seed (idempotent, with indexes) and export-schema."""

from __future__ import annotations

from pathlib import Path

import pymongo
import pytest
from typer.testing import CliRunner

from gateway.cli import app, schema_sdl
from gateway.database.indexes import INDEXES
from tests.conftest import SEEDS

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

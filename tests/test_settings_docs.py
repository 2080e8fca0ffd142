"""docs/settings.md is generated from the Settings class: it fails here when they drift, and
``omnigw export-settings`` (``make docs``) rewrites only the part between its markers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import Field
from typer.testing import CliRunner

from gateway.cli.main import app
from gateway.cli.settings_docs import BEGIN, END, render, sections, tables
from gateway.settings import Settings
from tests.support import ROOT

PAGE = ROOT / "docs" / "settings.md"


def test_docs_settings_md_is_what_the_code_generates() -> None:
    # Given the committed page, when its tables are generated again from the code
    page = PAGE.read_text(encoding="utf-8")
    # Then nothing changes (run `make docs` after changing gateway/settings.py)
    assert page == render(page)


def test_every_setting_is_one_row_under_its_variable_with_its_default() -> None:
    # Given the rows of the committed page: the variables that set a field, then its default
    generated = PAGE.read_text(encoding="utf-8").split(BEGIN)[1].split(END)[0]
    rows = re.findall(r"^\| (`[^|]+`) \| ([^|]+) \|", generated, re.M)
    documented = {re.findall(r"`([A-Z_]+)`", names)[0]: default.strip()
                  for names, default in rows}
    # Then each field of Settings has one row, aliases (MONGODB_URI, PORT) first, and the
    # defaults are written as they would be set in the environment
    assert len(rows) == len(documented) == len(Settings.model_fields)
    assert {name: documented[name] for name in (
        "MONGODB_URI", "PORT", "OMNIGW_MAX_DEPTH", "OMNIGW_THROTTLE_RESTORE_RATE",
        "OMNIGW_BATCH_REQUESTS", "OMNIGW_METRICS_OPERATIONS", "OMNIGW_TIER_THRESHOLDS")} == {
        "MONGODB_URI": "unset", "PORT": "`8000`", "OMNIGW_MAX_DEPTH": "`10`",
        "OMNIGW_THROTTLE_RESTORE_RATE": "`100`", "OMNIGW_BATCH_REQUESTS": "`false`",
        "OMNIGW_METRICS_OPERATIONS": "none",
        "OMNIGW_TIER_THRESHOLDS": '`{"SILVER":150000,"GOLD":500000,"PLATINUM":1000000}`'}


def test_a_setting_without_a_section_stops_the_generation() -> None:
    # Given a setting added to the class but to no section of the page
    class More(Settings):
        brand_new_limit: int = Field(default=1, description="A limit nobody placed.")

    # When the sections are drawn up, then the generation stops naming it
    with pytest.raises(ValueError, match="brand_new_limit"):
        sections(More)


def test_export_settings_rewrites_only_between_the_markers(tmp_path: Path) -> None:
    # Given a page with prose around stale tables
    page = tmp_path / "settings.md"
    page.write_text(f"# Intro\n\n{BEGIN}\n| stale |\n{END}\n\nAfter.\n", encoding="utf-8")
    # When the command rewrites it
    result = CliRunner().invoke(app, ["export-settings", "--output", str(page)])
    # Then the tables are the generated ones and the prose is untouched
    assert (result.exit_code, result.output) == (0, f"wrote {page}\n")
    assert page.read_text(encoding="utf-8") == (
        f"# Intro\n\n{BEGIN}\n\n{tables()}\n{END}\n\nAfter.\n")


def test_a_page_without_markers_is_one_line_and_left_alone(tmp_path: Path) -> None:
    # Given a page that lost its markers
    page = tmp_path / "settings.md"
    page.write_text("# Settings\n", encoding="utf-8")
    # When the command runs, then it refuses in one line, exit status 2, and writes nothing
    result = CliRunner().invoke(app, ["export-settings", "--output", str(page)])
    assert result.exit_code == 2
    assert result.output.startswith(f"cannot rewrite the settings tables of {page}: the page "
                                    "has no markers")
    assert len(result.output.splitlines()) == 1
    assert page.read_text(encoding="utf-8") == "# Settings\n"

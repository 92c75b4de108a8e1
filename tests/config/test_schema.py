"""The JSON Schema of an environment file is generated from the pydantic models, checked in, current, and named
by every shipped file in ``"$schema"`` (so editors complete and check the settings)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from stacks.config import ENVIRONMENTS_DIR, SCHEMA_FILE, EnvironmentFile, available_environments, environment_schema
from stacks.config.__main__ import main
from stacks.config.loader import schema_text


@pytest.fixture(scope="module")
def schema() -> dict:
    """:func:`environment_schema`, generated once for the tests that only read it."""
    return environment_schema()


def test_checked_in_schema_is_what_the_models_generate() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), "stale: run `python -m stacks.config`"
    assert main(["--check"]) == 0


def test_check_command_fails_on_a_stale_schema(tmp_path, monkeypatch) -> None:
    stale = tmp_path / "environment.schema.json"
    stale.write_text("{}\n", encoding="utf-8")
    monkeypatch.setattr("stacks.config.__main__.SCHEMA_FILE", stale)
    assert main(["--check"]) == 1
    assert main([]) == 0 and stale.read_text(encoding="utf-8") == schema_text()


@pytest.mark.parametrize("name", available_environments())
def test_every_shipped_file_names_the_schema_and_uses_only_its_settings(name: str, schema: dict) -> None:
    raw = json.loads((ENVIRONMENTS_DIR / f"{name}.json").read_text(encoding="utf-8"))
    assert raw["$schema"] == "./schema/" + SCHEMA_FILE.name and (ENVIRONMENTS_DIR / raw["$schema"]).resolve() == SCHEMA_FILE
    assert set(raw) <= set(schema["properties"])
    assert set(schema["required"]) <= set(raw)


def test_schema_lists_every_setting_and_closes_every_object(schema: dict) -> None:
    fields = {"$schema" if f.name == "schema" else f.name for f in dataclasses.fields(EnvironmentFile)}
    assert set(schema["properties"]) == fields
    assert schema["additionalProperties"] is False
    for name, definition in schema["$defs"].items():
        assert definition.get("additionalProperties") is False, name
    assert "us-east-7" not in schema["properties"]["region"]["enum"]
    assert {"eu-central-1", "from-cli"} <= set(schema["properties"]["region"]["enum"])


def _schema_errors(document: dict) -> list[str]:
    """What an editor would flag: the checked-in schema applied by a JSON Schema validator (cfn-lint's)."""
    from cfnlint.jsonschema import StandardValidator

    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return [error.message for error in StandardValidator(schema).iter_errors(document)]


@pytest.mark.parametrize("name", available_environments())
def test_every_shipped_file_is_valid_under_the_schema(name: str) -> None:
    assert _schema_errors(json.loads((ENVIRONMENTS_DIR / f"{name}.json").read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize(
    "change",
    [
        {"desired_cout": 2},
        {"region": "us-east-7"},
        {"availability_zones": 1},
        {"image": {"repository": "ava-olo:latest", "tag": "v1.0.0"}},
        {"image": {"repository": "ava-olo", "tag": "latest"}},
        {"retain_data": "false"},
        {"deployment": {"strategy": "big-bang"}},
        {"database": {"backup_retension_days": 7}},
        {"log_retention_days": 0},
    ],
)
def test_the_schema_lets_an_editor_flag_what_the_loader_refuses(change: dict) -> None:
    base = {"region": "eu-central-1", "availability_zones": 2, "image": {"repository": "ava-olo", "tag": "v1.0.0"}}
    assert _schema_errors(base) == []
    assert _schema_errors({**base, **change}), change


def test_pinned_zones_are_checked_against_cfn_lints_own_az_data() -> None:
    """The model reads cfn-lint's AZ literal from the installed source instead of importing the linter: the
    same data, every region and zone. (Here, beside the schema checks that import cfn-lint anyway: one import
    per test process.)"""
    from cfnlint.helpers import AVAILABILITY_ZONES

    from stacks.config.model import _zone_names

    assert _zone_names() == {region: tuple(zones) for region, zones in AVAILABILITY_ZONES.items()}

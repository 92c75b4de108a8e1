"""Syrupy snapshots of every stack's template, to catch unintended change.

Volatile values are masked so that a snapshot changes only when the infrastructure does: asset hashes (they
change with every aws-cdk-lib release) and the deployed version (it changes with every release). Update with
``./dev.sh test --snapshot-update`` after reviewing the diff.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from tests.conftest import DELIVERIES, ENVIRONMENTS

ASSET_HASH = re.compile(r"[0-9a-f]{64}")


def mask(value: Any, version: str | None) -> Any:
    if isinstance(value, dict):
        return {key: mask(item, version) for key, item in value.items()}
    if isinstance(value, list):
        return [mask(item, version) for item in value]
    if isinstance(value, str):
        value = ASSET_HASH.sub("<asset-hash>", value)
        return value.replace(version, "<version>") if version else value
    return value


def test_mask_hides_asset_hashes_and_versions_only():
    template = {"S3Key": "a" * 64 + ".zip", "Tag": "v1.2.3-x", "Port": 80, "Name": "web"}
    assert mask(template, "v1.2.3-x") == {"S3Key": "<asset-hash>.zip", "Tag": "<version>", "Port": 80, "Name": "web"}


@pytest.fixture
def json_snapshot(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize("purpose", ["network", "data", "service"])
def test_template_matches_snapshot(project, json_snapshot, environment, purpose):
    env = project.environments[environment]
    stack = getattr(env.stacks, purpose)
    assert mask(env.templates[stack.artifact_id], env.config.version) == json_snapshot


@pytest.mark.parametrize("delivery", DELIVERIES)
def test_delivery_template_matches_snapshot(project, json_snapshot, delivery):
    _, template = project.deliveries[delivery]
    assert mask(template, None) == json_snapshot

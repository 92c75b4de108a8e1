"""Releases: ``-c version=`` becomes the image tag, APP_VERSION, the Version tag and part of the stack
description (seed "Version Tagging Strategy"). Synthesized once here, in an App of its own."""

from __future__ import annotations

import pytest

from stacks.composition import build_environment, create_app
from stacks.config import ConfigError, load_environment
from aws_cdk.assertions import Template

from tests.conftest import service_container

RELEASE = "v3.3.1-schema-button-aurora-fix"


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    app = create_app(outdir=str(tmp_path_factory.mktemp("release")), validation=False)
    stacks = build_environment(app, load_environment("production", version=RELEASE, environ={}))
    assembly = app.synth()
    return {s.node.id: assembly.get_stack_artifact(s.artifact_id).template for s in stacks.all}


def test_version_becomes_image_tag_app_version_tag_and_description(released):
    service = released["ProductionService"]
    container = service_container(Template.from_json(service))
    assert container["Image"]["Fn::Join"][1][-1].endswith(f"/ava-olo-monitoring-dashboards:{RELEASE}")
    assert {"Name": "APP_VERSION", "Value": RELEASE} in container["Environment"]
    for name, template in released.items():
        assert f", {RELEASE})" in template["Description"], name
        tagged = [r for r in template["Resources"].values() if isinstance(r.get("Properties", {}).get("Tags"), list)]
        assert tagged and all({"Key": "Version", "Value": RELEASE} in r["Properties"]["Tags"] for r in tagged), name


@pytest.mark.parametrize("version", ["3.2.0", "v3.2", "v3.2.0-Upper", "latest", "v3.2.0_fix"])
def test_malformed_versions_fail_with_one_line(version):
    with pytest.raises(ConfigError) as caught:
        load_environment("production", version=version, environ={})
    assert caught.value.field == "-c version" and "\n" not in str(caught.value)


def test_the_operator_tool_accepts_exactly_the_release_versions_synth_accepts():
    """Two distributions, one release format: ava_olo_ops.versions keeps a copy of the app's pattern."""
    from stacks.config.model import VERSION_PATTERN
    from ava_olo_ops import versions

    assert versions.VERSION_PATTERN.pattern == VERSION_PATTERN.pattern
    assert versions.of_image(f"123456789012.dkr.ecr.eu-central-1.amazonaws.com/app:{RELEASE}") == RELEASE
    assert versions.of_image("123456789012.dkr.ecr.eu-central-1.amazonaws.com/app@sha256:abc") is None

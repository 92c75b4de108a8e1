"""Releases: ``-c version=`` becomes the image tag, APP_VERSION, the Version tag and part of the stack
description (seed "Version Tagging Strategy")."""

from __future__ import annotations

import dataclasses

import pytest

from stacks.config import ConfigError, load_environment

from tests.conftest import service_container

RELEASE = "v3.3.1-schema-button-aurora-fix"


def test_version_becomes_image_tag_app_version_tag_and_description(project):
    """``-c version=`` changes the configuration's ``version`` and image tag and nothing else; the session
    synthesis shows the configured version reaching the image tag and ``APP_VERSION`` of every environment
    (checked here), and its Version tag and stack descriptions (``test_stack_composition``). So no App of its
    own is synthesized."""
    base = load_environment("production", environ={})
    released = load_environment("production", version=RELEASE, environ={})
    assert released.version == RELEASE != base.version
    assert released == dataclasses.replace(base, version=RELEASE, image=dataclasses.replace(base.image, tag=RELEASE))
    for env in project.environments.values():
        container = service_container(env.service)
        assert container["Image"]["Fn::Join"][1][-1].endswith(f"/{env.config.image.repository}:{env.config.version}")
        assert {"Name": "APP_VERSION", "Value": env.config.version} in container["Environment"]


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

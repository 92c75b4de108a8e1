"""Tests are hermetic: the caller's AWS environment never reaches them (tests/conftest.py)."""

from __future__ import annotations

import os

import boto3

from tests.conftest import AWS_ENVIRONMENT


def test_the_callers_aws_profile_credentials_and_region_do_not_reach_the_tests() -> None:
    assert not [name for name in AWS_ENVIRONMENT if name in os.environ]
    assert not os.path.exists(os.environ["AWS_CONFIG_FILE"])
    assert not os.path.exists(os.environ["AWS_SHARED_CREDENTIALS_FILE"])
    session = boto3.session.Session()
    assert session.profile_name == "default" and session.region_name is None
    assert session.get_credentials() is None, "no credentials from anywhere: a test that needs them sets its own"

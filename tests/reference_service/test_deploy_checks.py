"""The platform's deploy-time checks against the live reference service: the pre-traffic hook and ``ava-olo verify``.

The hook's check is loaded from its Lambda source file by path (it is Lambda code, not part of the library's
import tree): ``check(base_url, expected_version, *, timeout=5.0) -> list[str]``, empty = pass.
"""

from __future__ import annotations

import importlib.util

import pytest

from ava_olo_ops.cli import main

from .conftest import APP_VERSION, ROOT

HOOK = ROOT / "constructs" / "ava_olo_constructs" / "lambdas" / "pre_traffic_check" / "index.py"


@pytest.fixture(scope="module")
def pre_traffic_check():
    spec = importlib.util.spec_from_file_location("pre_traffic_check_index", HOOK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.check


def test_pre_traffic_check_passes_on_the_deployed_version(pre_traffic_check, live_service):
    assert pre_traffic_check(live_service.url, APP_VERSION, timeout=5.0) == []


def test_pre_traffic_check_fails_on_another_version(pre_traffic_check, live_service):
    problems = pre_traffic_check(live_service.url, "v3.2.1-hotfix-security", timeout=5.0)
    assert problems and all(isinstance(p, str) and p for p in problems)
    assert any(APP_VERSION in p for p in problems), problems


def test_pre_traffic_check_fails_while_the_database_is_disconnected(pre_traffic_check, live_service, postgres):
    with postgres.stopped():
        problems = pre_traffic_check(live_service.url, APP_VERSION, timeout=8.0)
    assert problems, "a task whose database is unreachable must not take traffic"
    assert pre_traffic_check(live_service.url, APP_VERSION, timeout=5.0) == []  # recovered (pool_pre_ping)


def verify(url: str, version: str, capsys) -> tuple[int, str]:
    code = main(["verify", "--url", url, "--version", version, "--attempts", "1", "--timeout", "8"])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_ava_olo_verify_passes_against_the_live_service(live_service, capsys):
    code, output = verify(live_service.url, APP_VERSION, capsys)
    assert code == 0, output


def test_ava_olo_verify_fails_on_another_version(live_service, capsys):
    code, output = verify(live_service.url, "v3.2.1-hotfix-security", capsys)
    assert code == 1, output


def test_ava_olo_verify_fails_while_the_database_is_disconnected(live_service, postgres, capsys):
    with postgres.stopped():
        code, output = verify(live_service.url, APP_VERSION, capsys)
    assert code == 1, output
    assert "503" in output, output

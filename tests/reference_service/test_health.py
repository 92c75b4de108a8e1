"""Seed "Quick Health Check" / "Version Verification" against the real service process and a real PostgreSQL."""

from __future__ import annotations

import re
import time

from .conftest import APP_VERSION, get

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_health_reports_the_seed_json_when_the_database_is_connected(live_service):
    status, body = get(f"{live_service.url}/health")
    assert status == 200
    assert set(body) == {"status", "version", "database", "timestamp"}
    assert (body["status"], body["version"], body["database"]) == ("healthy", APP_VERSION, "connected")
    assert TIMESTAMP.match(body["timestamp"]), body["timestamp"]


def test_version_reports_the_seed_json(live_service):
    status, body = get(f"{live_service.url}/version")
    assert status == 200
    assert set(body) == {"version", "service", "deployment_time"}
    assert body["version"] == APP_VERSION
    assert body["service"] == "monitoring-dashboards"
    assert TIMESTAMP.match(body["deployment_time"])


def test_health_answers_503_disconnected_while_postgres_is_down_and_recovers_with_pre_ping(live_service, postgres):
    assert get(f"{live_service.url}/health")[0] == 200  # the pool now holds a connection to the running server
    with postgres.stopped():
        started = time.monotonic()
        status, body = get(f"{live_service.url}/health", timeout=10)
        assert time.monotonic() - started < 10, "within the target group's health check timeout (10 s)"
        assert status == 503
        assert (body["status"], body["database"], body["version"]) == ("unhealthy", "disconnected", APP_VERSION)
        assert TIMESTAMP.match(body["timestamp"])
    # The pooled connection died with the old server; pool_pre_ping replaces it on the next checkout.
    status, body = get(f"{live_service.url}/health")
    assert (status, body["database"]) == (200, "connected")

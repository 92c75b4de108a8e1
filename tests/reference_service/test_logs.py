"""JSON log lines, and seed "Performance Monitoring": operations slower than the threshold are logged."""

from __future__ import annotations

import json
import threading
import time

import psycopg

from .conftest import get, running_service, service_environ


def test_slow_operations_are_logged_as_one_json_warning(postgres, migrated_database, tmp_path):
    environ = service_environ(postgres, migrated_database, SLOW_OPERATION_SECONDS="0.3")
    with running_service(environ, tmp_path) as service:
        assert get(f"{service.url}/api/farmers/999999")[0] == 404  # fast: not logged as slow
        with psycopg.connect(postgres.superuser_dsn(migrated_database)) as blocker:
            blocker.execute("LOCK TABLE farmers IN ACCESS EXCLUSIVE MODE")
            release = threading.Timer(0.6, blocker.rollback)
            release.start()
            started = time.monotonic()
            assert get(f"{service.url}/api/farmers/999999", timeout=10)[0] == 404
            assert time.monotonic() - started >= 0.5
            release.join()
        time.sleep(0.2)
        events = [json.loads(line) for line in service.log_lines() if line.startswith("{")]
    slow = [e for e in events if e["message"].startswith("Slow operation:")]
    assert len(slow) == 1, events
    assert slow[0]["level"] == "WARNING"
    assert slow[0]["message"].startswith("Slow operation: GET /api/farmers/999999 took 0.")
    assert slow[0]["status"] == 404 and slow[0]["duration_seconds"] >= 0.5
    access = [e for e in events if e.get("path") == "/api/farmers/999999"]
    assert [e["status"] for e in access] == [404, 404], "gunicorn's access log is JSON too"

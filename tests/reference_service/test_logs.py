"""JSON log lines, and seed "Performance Monitoring": operations slower than the threshold are logged."""

from __future__ import annotations

import json
import threading
import time

from .conftest import get


def test_slow_operations_are_logged_as_one_json_warning(postgres, migrated_database, live_service):
    import psycopg  # here: every pytest-xdist worker imports this module to collect it, one of them runs it

    service = live_service
    assert service.environ["SLOW_OPERATION_SECONDS"] == "0.3"
    start = len(service.log_lines())  # the session's service: only this test's lines count here
    assert get(f"{service.url}/api/farmers/999999")[0] == 404  # fast: not logged as slow
    with psycopg.connect(postgres.superuser_dsn(migrated_database)) as blocker:
        blocker.execute("LOCK TABLE farmers IN ACCESS EXCLUSIVE MODE")
        release = threading.Timer(0.6, blocker.rollback)
        release.start()
        started = time.monotonic()
        assert get(f"{service.url}/api/farmers/999999", timeout=10)[0] == 404
        assert time.monotonic() - started >= 0.5
        release.join()
    service.wait_for_access_lines(start, "GET /api/farmers/999999 404", 2)
    lines = service.log_lines()
    parsed = {index: json.loads(line) for index, line in enumerate(lines) if line.startswith("{")}  # all of them
    events = [event for index, event in parsed.items() if index >= start]
    slow = [e for e in events if e["message"].startswith("Slow operation:")]
    assert len(slow) == 1, events
    assert slow[0]["level"] == "WARNING"
    assert slow[0]["message"].startswith("Slow operation: GET /api/farmers/999999 took 0.")
    assert slow[0]["status"] == 404 and slow[0]["duration_seconds"] >= 0.5
    access = [e for e in events if e.get("path") == "/api/farmers/999999"]
    assert [e["status"] for e in access] == [404, 404], "gunicorn's access log is JSON too"

"""The DB-connection metric filter deployed in production counts exactly the service's database-failure lines.

The pattern is read from the synthesized production Service template as ``tests/stacks/test_snapshots.py`` pins
it (the ``AWS::Logs::MetricFilter`` on the service's log group), and the lines are the real JSON log lines the real service printed while PostgreSQL was
down. Evaluation: moto 5.2.5's ``filter_log_events`` cannot evaluate this pattern - its ``EventMessageFilter``
knows one bare term or one quoted phrase, and treats anything else, including ``?"a" ?"b"`` alternatives, as
"match every event" (``moto/logs/utils.py``, ``UnsupportedFilterPattern``); the canary test below fails the day
moto learns it. Until then the project's evaluator of CloudWatch's term syntax
(``ava_olo_constructs.log_filter_pattern.matches``) counts.
"""

from __future__ import annotations

import json
import time

import boto3
from moto import mock_aws

from ava_olo_constructs.log_filter_pattern import matches

from .conftest import get, resources, service_environ


def deployed_pattern(production_service) -> str:
    filters = resources(production_service, "AWS::Logs::MetricFilter")
    db_filters = [
        resource["Properties"]
        for resource in filters.values()
        if any("Database" in t["MetricName"] for t in resource["Properties"]["MetricTransformations"])
    ]
    assert len(db_filters) == 1, f"expected one database-connection metric filter, found {sorted(filters)}"
    return db_filters[0]["FilterPattern"]


def counted(pattern: str, lines: list[str]) -> list[str]:
    return [line for line in lines if matches(pattern, line)]


def test_every_failed_health_check_logs_exactly_one_line_the_deployed_metric_filter_counts(
    production_service, postgres, live_service
):
    pattern = deployed_pattern(production_service)
    service = live_service
    # The session's service: only this test's lines count here. Each window ends with the access line of its last
    # request: a request's own lines come before its answer, its access line just after.
    start = len(service.log_lines())
    assert get(f"{service.url}/health")[0] == 200
    healthy_end = service.wait_for_access_lines(start, "GET /health 200", 1)
    with postgres.stopped():
        for _ in range(3):
            assert get(f"{service.url}/health", timeout=10)[0] == 503
        outage_end = service.wait_for_access_lines(healthy_end, "GET /health 503", 3)
    assert get(f"{service.url}/health")[0] == 200
    service.wait_for_access_lines(outage_end, "GET /health 200", 1)
    lines = service.log_lines()
    healthy_lines, outage_lines = lines[start:healthy_end], lines[healthy_end:outage_end]
    after_lines = lines[outage_end:]
    assert healthy_lines and after_lines

    assert counted(pattern, healthy_lines) == [] and counted(pattern, after_lines) == []
    failures = counted(pattern, outage_lines)
    assert len(failures) == 3, "one counted event per failed check:\n" + "\n".join(outage_lines)
    for line in failures:
        event = json.loads(line)  # one JSON object per line: one CloudWatch Logs event per failure
        assert event["level"] == "ERROR" and event["message"].startswith("database connection failed:")
        assert "psycopg.OperationalError" in event["message"]


def test_pool_exhaustion_is_counted_by_the_deployed_metric_filter(production_service, postgres, migrated_database, tmp_path):
    import logging

    from reference_service.config import Settings
    from reference_service.db import create_database_engine
    from reference_service.logs import JsonFormatter
    from reference_service.web import create_app

    settings = Settings.from_environ(service_environ(postgres, migrated_database, DB_POOL_SIZE="1", DB_MAX_OVERFLOW="0"))
    engine = create_database_engine(settings.database, pool_timeout=0.2)
    app = create_app(settings, engine)
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(JsonFormatter().format(record))

    handler = Collect()
    logging.getLogger().addHandler(handler)
    try:
        with engine.connect():  # the only connection the pool may hand out
            response = app.test_client().get("/api/farmers/1")
    finally:
        logging.getLogger().removeHandler(handler)
        engine.dispose()
    assert response.status_code == 503
    failures = counted(deployed_pattern(production_service), records)
    assert len(failures) == 1 and "QueuePool limit of size 1 overflow 0 reached" in failures[0]


def test_canary_moto_cannot_evaluate_the_deployed_pattern_yet(production_service, monkeypatch):
    """If this fails, moto evaluates ``?"..."`` alternatives: count with ``filter_log_events`` instead."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    pattern = deployed_pattern(production_service)
    healthy = '{"level": "INFO", "message": "GET /health 200"}'
    with mock_aws():
        client = boto3.client("logs", region_name="eu-central-1")
        client.create_log_group(logGroupName="g")
        client.create_log_stream(logGroupName="g", logStreamName="s")
        client.put_log_events(
            logGroupName="g", logStreamName="s", logEvents=[{"timestamp": int(time.time() * 1000), "message": healthy}]
        )
        events = client.filter_log_events(logGroupName="g", filterPattern=pattern)["events"]
    assert not matches(pattern, healthy)
    assert [e["message"] for e in events] == [healthy], "moto matched correctly: switch counted() to moto"

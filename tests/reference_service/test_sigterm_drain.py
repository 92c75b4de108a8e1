"""ECS stops a task with SIGTERM and kills it ``stopTimeout`` seconds later: in-flight requests must finish first.

The process is the Dockerfile's CMD (gunicorn with ``gunicorn.conf.py``); the stop timeout is read from the
synthesized production Service template as ``tests/stacks/test_snapshots.py`` pins it (the service container's
``StopTimeout``, ECS's default 30 s when the task definition sets none). The slow request is a real one: it waits for a table lock another session holds.
"""

from __future__ import annotations

import runpy
import signal
import threading
import time
import urllib.request
import json

from .conftest import SERVICE_DIR, get, resources


#: ECS's documented default when a container definition sets no StopTimeout (Fargate: at most 120 s).
ECS_DEFAULT_STOP_TIMEOUT = 30


def stop_timeout_seconds(production_service) -> int:
    """The web container's StopTimeout in the synthesized production task definition (ECS's default if unset)."""
    tasks = resources(production_service, "AWS::ECS::TaskDefinition").values()
    (web,) = [c for t in tasks for c in t["Properties"]["ContainerDefinitions"] if c["Name"] == "web"]
    return int(web.get("StopTimeout", ECS_DEFAULT_STOP_TIMEOUT))


def test_the_drain_ends_before_ecs_would_kill_the_task(production_service):
    graceful = runpy.run_path(str(SERVICE_DIR / "gunicorn.conf.py"))["graceful_timeout"]
    assert 0 < graceful < stop_timeout_seconds(production_service)


def test_sigterm_finishes_the_in_flight_request_and_exits_within_the_stop_timeout(
    production_service, postgres, migrated_database, live_service
):
    import psycopg  # here: every pytest-xdist worker imports this module to collect it, one of them runs it

    # The session's service process (the last test to use it: it ends here; a later test would get a new one).
    stop_timeout = stop_timeout_seconds(production_service)
    service = live_service
    request = urllib.request.Request(
        f"{service.url}/api/farmers", method="POST", headers={"Content-Type": "application/json"},
        data=json.dumps({"name": "Ivan", "phone_number": "+359888123456", "country": "Bulgaria"}).encode(),
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        farmer_id = json.loads(response.read())["id"]

    result: dict = {}
    with psycopg.connect(postgres.superuser_dsn(migrated_database)) as blocker:
        blocker.execute("LOCK TABLE farmers IN ACCESS EXCLUSIVE MODE")  # held until rollback

        def slow_request():
            result["answer"] = get(f"{service.url}/api/farmers/{farmer_id}", timeout=stop_timeout)
            result["done"] = time.monotonic()

        client = threading.Thread(target=slow_request)
        client.start()
        try:
            waiting = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'reference-service' AND wait_event_type = 'Lock'"
            deadline = time.monotonic() + 10
            while postgres.execute(waiting)[0][0] == 0:
                assert time.monotonic() < deadline, "the request never reached the database"
                time.sleep(0.01)

            service.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            time.sleep(0.5)  # a server that does not drain is gone within milliseconds of SIGTERM
            assert service.process.poll() is None, "gunicorn must wait for the in-flight request"
            assert "answer" not in result
        finally:
            blocker.rollback()  # the request can go on
            client.join(timeout=stop_timeout)

    assert result["answer"][0] == 200, result
    assert result["answer"][1]["phone_number"] == "+359888123456"
    exit_code = service.process.wait(timeout=stop_timeout)
    exited = time.monotonic() - signalled
    assert exit_code == 0
    assert exited < stop_timeout, f"exited {exited:.1f}s after SIGTERM; ECS kills at {stop_timeout}s"
    assert result["done"] - signalled < stop_timeout

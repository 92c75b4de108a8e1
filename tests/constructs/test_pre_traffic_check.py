"""The pre-traffic check's code, offline: a real HTTP server on 127.0.0.1 answers as a good or a bad revision.

Seed "Quick Health Check" and "Version Verification" as the hook ECS runs at POST_TEST_TRAFFIC_SHIFT: a revision
that is unhealthy, has no database or reports another version must get ``hookStatus: FAILED``.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ava_olo_constructs.lambdas.pre_traffic_check import index

VERSION = "v3.3.0-canary"
HEALTHY = {"status": "healthy", "version": VERSION, "database": "connected", "timestamp": "2026-12-01T00:00:00Z"}


class _App(BaseHTTPRequestHandler):
    answers: dict = {}

    def do_GET(self):  # noqa: N802 (http.server's name)
        status, body = self.answers.get(self.path, (404, {"detail": "Not Found"}))
        payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def app():
    """A server on a free port of 127.0.0.1; set ``answers`` {path: (status, body)} per test."""
    handler = type("App", (_App,), {"answers": {}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield handler
    server.shutdown()
    server.server_close()


def serve(app, health=(200, HEALTHY), version=(200, {"version": VERSION, "service": "monitoring-dashboards"})):
    app.answers.update({"/health": health, "/version": version})


def test_a_healthy_revision_of_the_expected_version_passes(app):
    serve(app)
    assert index.check(app.url, VERSION) == []


def test_the_release_followed_by_its_commit_hash_passes_as_in_the_seed(app):
    serve(app, version=(200, {"version": f"{VERSION}-a1b2c3d4"}))
    assert index.check(app.url + "/", VERSION) == []


@pytest.mark.parametrize(
    "health, version, problem",
    [
        ((200, {**HEALTHY, "status": "degraded"}), None, "/health: status 'degraded', expected 'healthy'"),
        ((200, {**HEALTHY, "database": "disconnected"}), None, "/health: database 'disconnected', expected 'connected'"),
        ((503, {"status": "unhealthy"}), None, "/health: HTTP 503"),
        ((200, "<html>maintenance</html>"), None, "/health: answer is not JSON"),
        (None, (200, {"version": "v3.2.0-schema-button-aurora"}), "/version reports 'v3.2.0-schema-button-aurora', expected v3.3.0-canary"),
        (None, (200, {"version": f"{VERSION}-hotfix"}), "expected v3.3.0-canary"),
        (None, (404, {"detail": "Not Found"}), "/version: HTTP 404"),
        (None, (200, ["v3.3.0-canary"]), "/version: answer is not a JSON object"),
    ],
)
def test_an_unhealthy_or_wrong_version_revision_is_named_with_what_was_seen(app, health, version, problem):
    serve(app, **{k: v for k, v in {"health": health, "version": version}.items() if v is not None})
    problems = index.check(app.url, VERSION)
    assert len(problems) == 1 and problem in problems[0]


def test_no_answer_at_all_is_a_problem_not_a_crash():
    problems = index.check("http://127.0.0.1:9", VERSION, timeout=1)  # discard port: nothing listens
    assert [p.split(":")[0] for p in problems] == ["/health", "/version"]


@pytest.fixture
def hook_env(app, monkeypatch):
    monkeypatch.setenv("TEST_URL", app.url)
    monkeypatch.setenv("EXPECTED_VERSION", VERSION)
    monkeypatch.setattr(index, "PAUSE_SECONDS", 0)
    return app


EVENT = {
    "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/ava-olo-production/monitoring-dashboards",
    "targetServiceRevisionArn": "arn:aws:ecs:us-east-1:123456789012:service-revision/ava-olo-production/monitoring-dashboards/1",
    "testTrafficWeights": {},
    "productionTrafficWeights": {},
}


def test_handler_answers_succeeded_for_a_good_revision(hook_env, capsys):
    serve(hook_env)
    assert index.handler(EVENT, None) == {"hookStatus": "SUCCEEDED"}
    logged = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert logged["revision"] == EVENT["targetServiceRevisionArn"] and logged["problems"] == []


def test_handler_answers_failed_so_that_ecs_rolls_back_before_production_traffic(hook_env, capsys):
    serve(hook_env, version=(200, {"version": "v3.2.0-schema-button-aurora"}))
    assert index.handler(EVENT, None) == {"hookStatus": "FAILED"}
    logged = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert logged["hookStatus"] == "FAILED" and "expected v3.3.0-canary" in logged["problems"][0]


def test_handler_retries_a_revision_that_is_still_warming_up(hook_env, monkeypatch):
    calls = []

    class Warming(_App):
        def do_GET(self):  # noqa: N802
            calls.append(self.path)
            self.answers = {"/health": (200, HEALTHY if len(calls) > 2 else {**HEALTHY, "database": "connecting"}),
                            "/version": (200, {"version": VERSION})}
            super().do_GET()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Warming)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("TEST_URL", f"http://127.0.0.1:{server.server_address[1]}")
        assert index.handler(EVENT, None) == {"hookStatus": "SUCCEEDED"}
        assert len(calls) == 4  # attempt 1 failed (/health, /version), attempt 2 passed
    finally:
        server.shutdown()
        server.server_close()

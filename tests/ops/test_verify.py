"""`ava-olo verify` against a real HTTP server on 127.0.0.1 (``http.server`` in a thread, port 0).

The server answers ``/health`` and ``/version`` from a per-test script; backoffs are milliseconds and every
retry loop is bounded by ``--attempts``, so the whole module runs in well under a second.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator, Optional

import pytest

from ava_olo_ops import verify
from ava_olo_ops.cli import main

from .test_preflight import Aws, install_aws, one_error_line

HEALTHY = {"status": "healthy", "version": "v3.2.0", "database": "connected", "timestamp": "2026-05-14T10:00:00Z"}
PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


@dataclass
class Answer:
    code: int = 200
    body: Any = None
    delay: float = 0.0


@dataclass
class Script:
    """What the server answers: a list per path, the last entry repeating; every request is counted."""

    answers: dict[str, list[Answer]] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, path: str, *answers: Answer) -> None:
        self.answers[path] = list(answers)

    def next(self, path: str) -> Optional[Answer]:
        with self.lock:
            count = self.hits.get(path, 0)
            self.hits[path] = count + 1
        answers = self.answers.get(path)
        return answers[min(count, len(answers) - 1)] if answers else None


class Server:
    def __init__(self, script: Script) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                answer = script.next(self.path)
                if answer is None:
                    answer = Answer(404, {"error": "not found"})
                if answer.delay:
                    script.stop.wait(answer.delay)
                body = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
                try:
                    self.send_response(answer.code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up (timeout)
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=2)


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def server(script: Script, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    for variable in PROXY_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    running = Server(script)
    yield running
    script.stop.set()
    running.close()


def serve(script: Script, version: Any = "v3.2.0", health: Optional[dict[str, Any]] = None) -> None:
    script.set("/health", Answer(200, health or HEALTHY))
    script.set("/version", Answer(200, {"version": version, "service": "monitoring-dashboards",
                                        "deployment_time": "2026-05-14T10:00:00Z"}))


def run(url: str, version: str = "v3.2.0", *extra: str) -> int:
    return main(["verify", "--env", "staging", "--version", version, "--url", url, "--backoff", "0.001",
                 "--timeout", "1", *extra])


def test_right_version_and_healthy_verifies_on_the_first_attempt(server, script, capsys):
    serve(script)
    assert run(server.url) == 0
    out = capsys.readouterr().out
    assert "✓ verified on attempt 1/10: healthy, database connected, version v3.2.0" in out
    assert script.hits == {"/health": 1, "/version": 1}


def test_version_with_a_commit_suffix_verifies(server, script, capsys):
    serve(script, version="v2.5.6-schema-nlq-prompt-fix-a1b2c3d4")
    assert run(server.url, "v2.5.6-schema-nlq-prompt-fix") == 0
    assert "(v2.5.6-schema-nlq-prompt-fix + commit a1b2c3d4)" in capsys.readouterr().out


def test_wrong_version_fails_naming_both_versions(server, script, capsys):
    serve(script, version="v3.1.0")
    assert run(server.url, "v3.2.0", "--attempts", "3") == 1
    out = capsys.readouterr().out
    final = out.strip().splitlines()[-1]
    assert final.startswith("✗ not verified after 3 attempt(s)") and "'v3.1.0'" in final and "expected v3.2.0" in final
    assert script.hits["/version"] == 3


def test_503_on_health_is_retried_then_fails(server, script, capsys):
    serve(script)
    script.set("/health", Answer(503, {"status": "starting"}))
    assert run(server.url, "v3.2.0", "--attempts", "4") == 1
    out = capsys.readouterr().out
    assert out.count("/health: HTTP 503") == 5  # four attempts + the final reason
    assert script.hits["/health"] == 4
    assert "not verified after 4 attempt(s): /health: HTTP 503" in out


def test_health_recovering_after_two_503s_verifies_on_the_third_attempt(server, script, capsys):
    serve(script)
    script.set("/health", Answer(503, {}), Answer(503, {}), Answer(200, HEALTHY))
    assert run(server.url) == 0
    assert "verified on attempt 3/10" in capsys.readouterr().out


def test_slow_endpoint_is_a_failed_attempt(server, script, capsys):
    serve(script)
    script.set("/health", Answer(200, HEALTHY, delay=2.0))
    assert run(server.url, "v3.2.0", "--attempts", "2", "--timeout", "0.05") == 1
    out = capsys.readouterr().out
    assert "not verified after 2 attempt(s): /health: no answer within 0.05s" in out


def test_database_disconnected_fails(server, script, capsys):
    serve(script, health={**HEALTHY, "database": "disconnected"})
    assert run(server.url, "v3.2.0", "--attempts", "2") == 1
    assert "/health: database 'disconnected', expected 'connected'" in capsys.readouterr().out.splitlines()[-1]


@pytest.mark.parametrize(
    ("health", "version", "reason"),
    [
        (Answer(200, b"<html>ok</html>"), "v3.2.0", "/health: answer is not JSON"),
        (Answer(200, {**HEALTHY, "status": "degraded"}), "v3.2.0", "/health: status 'degraded', expected 'healthy'"),
        (Answer(200, HEALTHY), "v3.2.0-hotfix", "/version reports 'v3.2.0-hotfix', expected v3.2.0"),
        (Answer(200, HEALTHY), None, "/version reports None"),
    ],
    ids=["html", "degraded", "other-words-are-another-release", "null-version"],
)
def test_other_bad_answers_fail_with_their_reason(server, script, capsys, health, version, reason):
    serve(script, version=version)
    script.set("/health", health)
    assert run(server.url, "v3.2.0", "--attempts", "1") == 1
    assert reason in capsys.readouterr().out.splitlines()[-1]


def test_backoff_doubles_up_to_the_cap(server, script, monkeypatch, capsys):
    waits: list[float] = []
    monkeypatch.setattr(verify, "sleep", waits.append)
    serve(script, version="v3.1.0")
    assert main(["verify", "--env", "staging", "--version", "v3.2.0", "--url", server.url, "--attempts", "5",
                 "--backoff", "0.5", "--max-backoff", "1.5"]) == 1
    assert waits == [0.5, 1.0, 1.5, 1.5]
    assert verify.delays(10, 5, 60) == [5, 10, 20, 40, 60, 60, 60, 60, 60]


def test_nothing_listening_fails_after_the_attempts(capsys):
    probe = Server(Script())
    url = probe.url
    probe.close()
    assert run(url, "v3.2.0", "--attempts", "2") == 1
    assert "/health: cannot connect" in capsys.readouterr().out.splitlines()[-1]


def test_url_defaults_to_the_service_stack_output(server, script, monkeypatch, capsys, tmp_path):
    aws = install_aws(monkeypatch, Aws())
    aws.stubbers["cloudformation"].add_response(
        "describe_stacks",
        {"Stacks": [{"StackName": "ava-olo-staging-service", "CreationTime": datetime(2026, 1, 1, tzinfo=timezone.utc),
                     "StackStatus": "UPDATE_COMPLETE", "Outputs": [{"OutputKey": "ServiceUrl", "OutputValue": server.url}]}]},
        {"StackName": "ava-olo-staging-service"},
    )
    monkeypatch.chdir(tmp_path)  # no environments/ here: any environment name is accepted
    serve(script)
    assert main(["verify", "--env", "staging", "--version", "v3.2.0", "--region", "us-east-1", "--backoff", "0"]) == 0
    assert f"verify: {server.url} should run v3.2.0" in capsys.readouterr().out
    aws.assert_all_used()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--version", "3.2.0", "--url", "http://127.0.0.1:9"], "'3.2.0' is not allowed"),
        (["--version", "v3.2.0", "--url", "ftp://example.com"], "not an http:// or https:// URL"),
        (["--version", "v3.2.0", "--url", "http://127.0.0.1:9", "--attempts", "0"], "must be from 1 to 1000"),
        (["--version", "v3.2.0", "--url", "http://127.0.0.1:9", "--timeout", "0"], "must be greater than 0"),
        (["--version", "v3.2.0", "--url", "http://127.0.0.1:9", "--backoff", "-1"], "must be at least 0"),
    ],
    ids=["version", "url", "attempts", "timeout", "backoff"],
)
def test_bad_input_is_one_line_and_exit_2(capsys, extra, message):
    assert main(["verify", "--env", "staging", *extra]) == 2
    captured = capsys.readouterr()
    assert message in one_error_line(captured.err)
    assert captured.out == ""


@pytest.mark.parametrize(
    ("reported", "matches"),
    [
        ("v3.2.0", True), ("v3.2.0-a1b2c3d", True), ("v3.2.0-" + "f" * 40, True),
        ("v3.2.0-a1b2c3", False), ("v3.2.0-A1B2C3D4", False), ("v3.2.0-hotfix", False),
        ("v3.2.0-a1b2c3d4-a1b2c3d4", False), ("v3.2.01", False), ("v3.2.0 ", False), (None, False),
    ],
)
def test_commit_suffix_rule(reported, matches):
    from ava_olo_ops.versions import matches_reported

    assert matches_reported("v3.2.0", reported) is matches

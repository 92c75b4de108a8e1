"""``ava-olo verify`` against a real HTTP server on 127.0.0.1: a "fleet" of tasks answering in turn, like a load
balancer spreading new connections. No AWS credentials anywhere: ``--url URL --version V`` needs none."""

from __future__ import annotations

import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ava_olo_ops import verify
from ava_olo_ops.cli import main


class Fleet:
    """Tasks answering in round robin; each task is (version, healthy)."""

    def __init__(self, *tasks: tuple[str, bool]) -> None:
        self.tasks, self.requests, self.lock = list(tasks), 0, threading.Lock()
        self.turn = itertools.cycle(range(len(tasks)))
        self.task = 0
        fleet = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                with fleet.lock:
                    if self.path == "/health":  # one answer = /health then /version of the same task
                        fleet.task, fleet.requests = next(fleet.turn), fleet.requests + 1
                    version, healthy = fleet.tasks[fleet.task]
                body = ({"status": "healthy" if healthy else "unhealthy", "database": "connected"} if self.path == "/health"
                        else {"version": version})
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # Poll every 10 ms: shutdown() waits for the loop's next poll (0.5 s by default, per test).
        threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def no_aws(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION",
                 "AWS_DEFAULT_REGION", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setattr(verify, "sleep", lambda seconds: None)


def run(fleet: Fleet, *extra: str) -> int:
    try:
        return main(["verify", "--url", fleet.url, "--version", "v3.3.0", "--backoff", "0", "--timeout", "5", *extra])
    finally:
        fleet.close()


@pytest.mark.parametrize(("tasks", "answers"), [(1, 3), (2, 10), (4, 25), (6, 38)])
def test_answers_needed_keep_the_chance_of_missing_one_old_task_below_one_in_a_thousand(tasks, answers):
    assert verify.answers_needed(tasks) == answers
    assert (1 - 1 / tasks) ** answers <= verify.MISS_PROBABILITY or tasks == 1


def test_defect_4_verify_fails_a_half_updated_fleet_and_names_what_it_saw(no_aws, capsys):
    fleet = Fleet(("v3.3.0", True), ("v3.2.0", True))
    assert run(fleet, "--tasks", "2", "--attempts", "3") == 1
    out = capsys.readouterr().out
    assert "✗ not verified" in out and "v3.2.0" in out and "healthy v3.3.0" in out


def test_a_whole_fleet_on_the_version_passes_after_n_consecutive_answers_without_aws_credentials(no_aws, capsys):
    fleet = Fleet(("v3.3.0-a1b2c3d", True), ("v3.3.0", True))
    assert run(fleet, "--tasks", "2") == 0
    assert fleet.requests == 10
    assert "✓ verified: 10 consecutive answers" in capsys.readouterr().out


def test_url_and_version_alone_assume_four_tasks(no_aws, capsys):
    fleet = Fleet(("v3.3.0", True))
    assert run(fleet) == 0 and fleet.requests == 25


def test_an_unhealthy_task_fails_even_on_the_right_version(no_aws, capsys):
    fleet = Fleet(("v3.3.0", True), ("v3.3.0", False))
    assert run(fleet, "--tasks", "2", "--attempts", "2") == 1
    assert "status 'unhealthy'" in capsys.readouterr().out


def test_a_fleet_that_finishes_shifting_passes_after_a_bad_answer(no_aws):
    fleet = Fleet(("v3.2.0", True), *[("v3.3.0", True)] * 3)
    fleet.turn = itertools.chain([0], itertools.repeat(1))
    assert run(fleet, "--answers", "5") == 0 and fleet.requests == 6


@pytest.mark.parametrize(("argv", "message"), [
    (["--url", "ftp://x", "--version", "v3.3.0"], "--url: 'ftp://x' is not an http:// or https:// URL"),
    (["--url", "http://127.0.0.1:9", "--version", "3.3"], "--version: '3.3' is not allowed"),
    (["--version", "v3.3.0"], "give --url URL, or --env ENV"),
])
def test_bad_input_is_one_line_and_exit_2(no_aws, capsys, argv, message):
    assert main(["verify", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err

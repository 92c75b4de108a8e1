"""``ava-olo verify``: does the whole fleet serve V, healthy? (seed, "Quick Health Check", "Version Verification").

One *answer* = ``/health`` (200, ``status`` ``"healthy"``, ``database`` ``"connected"``) + ``/version`` (200,
``version`` V or V-<7-40 hex commit>). verify needs **N consecutive** good answers, not the first one.

How N is chosen: every answer is a new connection, which the load balancer sends to one of the n tasks; while one
task still runs the old release each answer hits it with probability >= 1/n, so N consecutive answers all miss it
with probability <= (1 - 1/n)^N. N = ceil(ln(0.001) / ln(1 - 1/n)), at least 3: below 1 in 1,000 (n=2: 10, 4: 25,
6: 38). n is ``--tasks``, else ECS's running count (``--env``), else 4; ``--answers N`` sets N. With ``--url URL
--version V`` verify needs no AWS credentials. A bad answer restarts the count after ``--backoff`` s (doubled, at
most ``--max-backoff``): traffic may still be shifting. After ``--attempts`` bad answers: ✗ and a tally of what it
saw. Exit 0 verified, 1 not, 2 bad input.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Optional

from botocore.exceptions import BotoCoreError, ClientError

from . import target as target_module
from . import versions
from .cli import CliError, number, register
from .console import FAIL, PASS, emit, mark

EXIT_VERIFIED = 0
EXIT_NOT_VERIFIED = 1
VERSION_HELP = "release to deploy in the seed's format, e.g. v3.2.0-schema-button-aurora"

#: Largest response body read from /health or /version.
MAX_BODY = 64 * 1024
MAX_ATTEMPTS = 1000
#: Chance of passing a fleet that still runs one old task, at most.
MISS_PROBABILITY = 0.001
DEFAULT_TASKS = 4

#: Waits between attempts; tests replace it.
sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class Attempt:
    ok: bool
    reason: str
    reported: Any = None


def _get_json(url: str, timeout: float) -> tuple[Optional[Any], Optional[str]]:
    """(parsed JSON, None) for a 200 answer, else (None, why not). Each call is a new connection."""
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "ava-olo-verify"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, body = response.status, response.read(MAX_BODY)
    except urllib.error.HTTPError as error:
        error.close()
        return None, f"HTTP {error.code}"
    except (TimeoutError, urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as error:
        reason = getattr(error, "reason", error)
        if isinstance(reason, TimeoutError):
            return None, f"no answer within {timeout:g}s"
        return None, f"cannot connect: {' '.join(str(reason).split())}"
    if status != 200:
        return None, f"HTTP {status}"
    try:
        return json.loads(body.decode("utf-8")), None
    except (UnicodeDecodeError, ValueError):
        return None, "answer is not JSON"


def probe(base_url: str, expected: str, timeout: float) -> Attempt:
    """One answer: /health healthy with the database connected, and /version reporting ``expected``."""
    base, problems = base_url.rstrip("/"), []
    health, failure = _get_json(f"{base}/health", timeout)
    if failure is not None or not isinstance(health, dict):
        problems.append(f"/health: {failure or 'answer is not a JSON object'}")
    else:
        problems += [f"/health: {key} {health.get(key)!r}, expected {want!r}"
                     for key, want in (("status", "healthy"), ("database", "connected")) if health.get(key) != want]
    answer, failure = _get_json(f"{base}/version", timeout)
    reported = answer.get("version") if isinstance(answer, dict) else None
    if failure is not None or reported is None:
        problems.append(f"/version: {failure or 'answer has no version field'}")
    elif not versions.matches_reported(expected, reported):
        problems.append(f"/version reports {reported!r}, expected {expected} (or {expected}-<commit hash>)")
    if problems:
        return Attempt(False, "; ".join(problems), reported)
    return Attempt(True, f"healthy, database connected, version {reported}", reported)


def answers_needed(tasks: int) -> int:
    """N consecutive good answers for a fleet of ``tasks``: (1 - 1/n)^N <= MISS_PROBABILITY, at least 3."""
    if tasks <= 1:
        return 3
    return max(3, math.ceil(math.log(MISS_PROBABILITY) / math.log(1 - 1 / tasks)))


def verify(
    base_url: str, expected: str, *, answers: int, attempts: int, backoff: float, timeout: float, max_backoff: float,
    out: Any, wait: Optional[Callable[[float], None]] = None,
) -> tuple[bool, str]:
    """(verified, what was seen): ``answers`` consecutive good answers, at most ``attempts`` bad ones."""
    wait = wait or sleep
    seen: Counter[str] = Counter()
    good = bad = 0
    last = Attempt(False, "no answer")
    while good < answers:
        last = probe(base_url, expected, timeout)
        seen["healthy " + str(last.reported) if last.ok else last.reason] += 1
        if last.ok:
            good += 1
            continue
        bad += 1
        if bad >= attempts:
            break
        delay = min(backoff * 2 ** (bad - 1), max_backoff)
        emit(f"  answer {good + 1}/{answers} bad: {last.reason}; counting again in {delay:g}s\n", out)
        good = 0
        wait(delay)
    tally = ", ".join(f"{count} x {what}" for what, count in seen.most_common())
    return good >= answers, f"{sum(seen.values())} answer(s): {tally}"


_count = number(int, minimum=1, maximum=MAX_ATTEMPTS)


def add_verify_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="base URL of the service (default: the service stack's output ServiceUrl)")
    parser.add_argument("--attempts", type=_count, default=10, metavar="N", help="bad answers tolerated (default 10)")
    parser.add_argument("--backoff", type=number(), default=5.0, metavar="S",
                        help="first wait after a bad answer, doubled each time (default 5)")
    parser.add_argument("--max-backoff", type=number(), default=60.0, metavar="S", help="longest single wait (default 60)")
    parser.add_argument("--timeout", type=number(exclusive=True), default=10.0, metavar="S", help="seconds per HTTP request (default 10)")


def _arguments(parser: argparse.ArgumentParser) -> None:
    target_module.add_target_arguments(parser, version_help=VERSION_HELP, env_required=False,
                                       env_help="environment: its ServiceUrl output and running task count (not needed with --url and --tasks)")
    add_verify_options(parser)
    parser.add_argument("--tasks", type=_count, metavar="N", help=f"tasks behind the URL (default: ECS's running count, else {DEFAULT_TASKS})")
    parser.add_argument("--answers", type=_count, metavar="N", help="consecutive good answers needed (default: from the task count)")


def check_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CliError(f"--url: {url!r} is not an http:// or https:// URL")
    return url


def _fleet(args: argparse.Namespace) -> tuple[str, int, str]:
    """(URL, task count, where the count comes from): AWS is read only for what the flags do not give."""
    if args.env is None or (args.url and args.tasks):
        if args.url is None:
            raise CliError("give --url URL, or --env ENV to read the ServiceUrl output")
        return check_url(args.url), args.tasks or DEFAULT_TASKS, "--tasks" if args.tasks else "assumed"
    try:
        target = target_module.from_args(args)
        url = check_url(args.url or target.output("ServiceUrl"))
        service = target.client("ecs").describe_services(
            cluster=target.output("ClusterName"), services=[target.output("ServiceName")])["services"][0]
        return url, args.tasks or max(service.get("runningCount", 0), service.get("desiredCount", 0), 1), "running in ECS"
    except (target_module.TargetError, BotoCoreError, ClientError) as error:
        if args.url is None or isinstance(error, target_module.TargetError):
            raise CliError(target_module.aws_error_line(error, prefix="")) from None
        return check_url(args.url), DEFAULT_TASKS, "assumed (ECS unreadable)"


def cmd_verify(args: argparse.Namespace) -> int:
    try:
        expected = str(versions.parse(args.version, what="--version"))
    except versions.VersionError as error:
        raise CliError(str(error)) from None
    url, tasks, source = _fleet(args)
    answers = args.answers or answers_needed(tasks)
    out = sys.stdout
    emit(f"verify: {url} should serve {expected}: {answers} consecutive good answers ({tasks} task(s), {source})\n", out)
    ok, seen = verify(url, expected, answers=answers, attempts=args.attempts, backoff=args.backoff,
                      timeout=args.timeout, max_backoff=args.max_backoff, out=out)
    if ok:
        mark(PASS, f"verified: {answers} consecutive answers healthy and on {expected} (saw {seen})", out)
        return EXIT_VERIFIED
    mark(FAIL, f"not verified: the fleet does not all serve {expected} healthy; saw {seen}", out)
    return EXIT_NOT_VERIFIED


register(
    "verify",
    "N consecutive /health + /version answers, all healthy and on VERSION (N from the task count)",
    _arguments,
    cmd_verify,
)

"""``ava-olo verify``: is the new version live and healthy? (seed, "Monitoring Commands").

Each attempt GETs ``<url>/health`` and ``<url>/version`` (standard library ``urllib``, ``--timeout`` seconds each):

* ``/health`` must answer 200 with a JSON object whose ``status`` is ``"healthy"`` and ``database`` is
  ``"connected"`` (seed, "Quick Health Check").
* ``/version`` must answer 200 with a JSON object whose ``version`` is the expected release - or the release
  followed by ``-`` and the build's commit hash (7-40 lower-case hex digits): the seed's "Version Verification"
  shows ``v2.5.6-schema-nlq-prompt-fix-a1b2c3d4`` for the release ``v2.5.6-schema-nlq-prompt-fix``. Any other
  suffix (``v3.2.0-hotfix`` for ``v3.2.0``) is a different release and fails.

A failed attempt (HTTP error, timeout, refused connection, non-JSON, wrong values) is retried up to
``--attempts`` times in all, waiting ``--backoff`` seconds, then twice that, and so on, each wait capped at
``--max-backoff`` seconds: traffic shifts gradually (seed, phase 6), so an old task may still answer for a while.
The last failure is printed as the reason. Exit 0 verified, 1 not verified, 2 bad input (malformed version or URL,
unknown environment, no credentials to read the ``ServiceUrl`` stack output).
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
from dataclasses import dataclass
from typing import Any, Callable, Optional

from botocore.exceptions import BotoCoreError, ClientError

from . import target as target_module
from . import versions
from .cli import CliError, register
from .console import emit
from .preflight import FAIL, PASS, VERSION_HELP, parse_version, symbols_for

EXIT_VERIFIED = 0
EXIT_NOT_VERIFIED = 1

#: Largest response body read from /health or /version.
MAX_BODY = 64 * 1024
MAX_ATTEMPTS = 1000

#: Waits between attempts; tests replace it.
sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class Attempt:
    ok: bool
    reason: str


def _get_json(url: str, timeout: float) -> tuple[Optional[Any], Optional[str]]:
    """(parsed JSON, None) for a 200 answer, else (None, why not)."""
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "ava-olo-verify"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
            body = response.read(MAX_BODY)
    except urllib.error.HTTPError as error:
        error.close()
        return None, f"HTTP {error.code}"
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            return None, f"no answer within {timeout:g}s"
        return None, f"cannot connect: {' '.join(str(error.reason).split())}"
    except TimeoutError:
        return None, f"no answer within {timeout:g}s"
    except (OSError, http.client.HTTPException, ValueError) as error:
        return None, f"{type(error).__name__}: {' '.join(str(error).split())}"
    if status != 200:
        return None, f"HTTP {status}"
    try:
        return json.loads(body.decode("utf-8")), None
    except (UnicodeDecodeError, ValueError):
        return None, "answer is not JSON"


def probe(base_url: str, expected: str, timeout: float) -> Attempt:
    """One attempt: /health healthy with the database connected, and /version reporting ``expected``."""
    base = base_url.rstrip("/")
    problems: list[str] = []
    health, why = _get_json(f"{base}/health", timeout)
    if why is not None:
        problems.append(f"/health: {why}")
    elif not isinstance(health, dict):
        problems.append("/health: answer is not a JSON object")
    else:
        if health.get("status") != "healthy":
            problems.append(f"/health: status {health.get('status')!r}, expected 'healthy'")
        if health.get("database") != "connected":
            problems.append(f"/health: database {health.get('database')!r}, expected 'connected'")

    answer, why = _get_json(f"{base}/version", timeout)
    reported: Any = None
    if why is not None:
        problems.append(f"/version: {why}")
    elif not isinstance(answer, dict) or "version" not in answer:
        problems.append("/version: answer has no 'version' field")
    else:
        reported = answer["version"]
        if not versions.matches_reported(expected, reported):
            problems.append(f"/version reports {reported!r}, expected {expected} (or {expected}-<commit hash>)")

    if problems:
        return Attempt(False, "; ".join(problems))
    commit = versions.commit_of(expected, reported)
    running = f"{reported} ({expected} + commit {commit})" if commit else f"{reported}"
    return Attempt(True, f"healthy, database connected, version {running}")


def delays(attempts: int, backoff: float, max_backoff: float) -> list[float]:
    """The waits between ``attempts`` attempts: backoff, 2x, 4x ..., each at most ``max_backoff``."""
    return [min(backoff * (2 ** i), max_backoff) for i in range(max(attempts - 1, 0))]


def verify(
    base_url: str,
    expected: str,
    *,
    attempts: int,
    backoff: float,
    timeout: float,
    max_backoff: float,
    out: Any,
    wait: Optional[Callable[[float], None]] = None,
) -> tuple[bool, str, int]:
    """(verified, last reason, attempts used); progress goes to ``out``."""
    wait = wait or sleep
    waits = delays(attempts, backoff, max_backoff)
    result = Attempt(False, "no attempt made")
    for number in range(1, attempts + 1):
        result = probe(base_url, expected, timeout)
        if result.ok:
            return True, result.reason, number
        if number < attempts:
            emit(f"  attempt {number}/{attempts} failed: {result.reason}; retrying in {waits[number - 1]:g}s\n", out)
            wait(waits[number - 1])
        else:
            emit(f"  attempt {number}/{attempts} failed: {result.reason}\n", out)
    return False, result.reason, attempts


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if not 1 <= number <= MAX_ATTEMPTS:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_ATTEMPTS}, got {number}")
    return number


def _seconds(minimum_exclusive: bool) -> Callable[[str], float]:
    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected seconds, got {value!r}") from None
        if not math.isfinite(number) or number < 0 or (minimum_exclusive and number == 0):
            raise argparse.ArgumentTypeError(f"must be {'greater than' if minimum_exclusive else 'at least'} 0, got {value}")
        return number

    return parse


def add_verify_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="base URL of the service (default: the service stack's output ServiceUrl)")
    parser.add_argument("--attempts", type=_positive_int, default=10, metavar="N", help="attempts in all (default 10)")
    parser.add_argument("--backoff", type=_seconds(False), default=5.0, metavar="S",
                        help="first wait between attempts, doubled each time (default 5)")
    parser.add_argument("--max-backoff", type=_seconds(False), default=60.0, metavar="S", help="longest single wait (default 60)")
    parser.add_argument("--timeout", type=_seconds(True), default=10.0, metavar="S", help="seconds per HTTP request (default 10)")


def _arguments(parser: argparse.ArgumentParser) -> None:
    target_module.add_target_arguments(parser, version_help=VERSION_HELP)
    add_verify_options(parser)


def check_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CliError(f"--url: {url!r} is not an http:// or https:// URL")
    return url


def service_url(args: argparse.Namespace) -> str:
    if args.url is not None:
        return check_url(args.url)
    try:
        target = target_module.resolve_target(args.env, region=args.region, profile=args.profile)
        return check_url(target.output("ServiceUrl"))
    except target_module.TargetError as error:
        raise CliError(str(error)) from None
    except (BotoCoreError, ClientError) as error:
        raise CliError(target_module.aws_error_line(error)) from None


def cmd_verify(args: argparse.Namespace) -> int:
    expected = str(parse_version(args.version))
    url = service_url(args)
    out = sys.stdout
    symbols = symbols_for(out)
    emit(f"verify: {url} should run {expected} ({args.env})\n", out)
    ok, reason, used = verify(
        url, expected, attempts=args.attempts, backoff=args.backoff, timeout=args.timeout,
        max_backoff=args.max_backoff, out=out,
    )
    if ok:
        emit(f"{symbols[PASS]} verified on attempt {used}/{args.attempts}: {reason}\n", out)
        return EXIT_VERIFIED
    emit(f"{symbols[FAIL]} not verified after {used} attempt(s): {reason}\n", out)
    return EXIT_NOT_VERIFIED


register(
    "verify",
    "check /health (healthy, database connected) and /version (the expected release) with bounded retries",
    _arguments,
    cmd_verify,
)

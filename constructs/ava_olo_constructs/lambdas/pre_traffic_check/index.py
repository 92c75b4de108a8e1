"""ECS lifecycle hook at POST_TEST_TRAFFIC_SHIFT: the seed's "Quick Health Check" and "Version Verification".

The new revision serves all test traffic and no production traffic. GET /health and /version through the
test listener (TEST_URL); SUCCEEDED only if /health says healthy with the database connected and /version is
EXPECTED_VERSION (or EXPECTED_VERSION-<commit hash>), else FAILED: ECS rolls back before any farmer request
reaches the new revision. Standard library only.
"""
import json
import os
import re
import time
import urllib.error
import urllib.request

MAX_BODY = 65536
ATTEMPTS = 3
PAUSE_SECONDS = 5.0


def _get(url, timeout):
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "ava-olo-pre-traffic-check"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read(MAX_BODY)
    except urllib.error.HTTPError as error:
        error.close()
        return None, f"HTTP {error.code}"
    except (OSError, ValueError) as error:  # URLError, timeouts, refused or reset connections
        return None, f"no answer ({' '.join(str(getattr(error, 'reason', error)).split())})"
    try:
        answer = json.loads(body.decode("utf-8"))
    except ValueError:
        return None, "answer is not JSON"
    return (answer, None) if isinstance(answer, dict) else (None, "answer is not a JSON object")


def version_matches(expected, reported):
    """The release itself, or the release plus ``-<commit hash>`` (seed "Version Verification")."""
    return isinstance(reported, str) and re.fullmatch(re.escape(expected) + r"(-[0-9a-f]{7,40})?", reported) is not None


def check(base_url: str, expected_version: str, *, timeout: float = 5.0) -> list:
    """Problems found at ``base_url`` (empty list: the revision is healthy and runs ``expected_version``)."""
    base = base_url.rstrip("/")
    problems = []
    health, why = _get(base + "/health", timeout)
    if why:
        problems.append(f"/health: {why}")
    else:
        if health.get("status") != "healthy":
            problems.append(f"/health: status {health.get('status')!r}, expected 'healthy'")
        if health.get("database") != "connected":
            problems.append(f"/health: database {health.get('database')!r}, expected 'connected'")
    answer, why = _get(base + "/version", timeout)
    if why:
        problems.append(f"/version: {why}")
    elif not version_matches(expected_version, answer.get("version")):
        problems.append(f"/version reports {answer.get('version')!r}, expected {expected_version}")
    return problems


def handler(event, context):
    """ECS's hook contract: return {"hookStatus": "SUCCEEDED"} to go on, {"hookStatus": "FAILED"} to roll back."""
    url, expected = os.environ["TEST_URL"], os.environ["EXPECTED_VERSION"]
    problems = []
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(PAUSE_SECONDS)
        problems = check(url, expected)
        if not problems:
            break
    revision = (event or {}).get("targetServiceRevisionArn", "unknown revision")
    verdict = "FAILED" if problems else "SUCCEEDED"
    print(json.dumps({"hookStatus": verdict, "revision": revision, "url": url, "expected": expected, "problems": problems}))
    return {"hookStatus": verdict}

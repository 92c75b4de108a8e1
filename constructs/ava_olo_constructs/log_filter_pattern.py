"""Counting database connection failures from the application's logs, with a filter pattern we can test.

Seed "Monitoring and Alerting" -> "Critical Alerts" -> "2. Database connection failures" puts an alarm on
``DatabaseConnectionErrors`` in the ``AWS/RDS`` namespace. RDS publishes no such metric. (``DatabaseConnections``
counts open connections; it does not count failed ones.) A failed connection is only visible to the client,
so the count has to come from the application's log group, through a CloudWatch Logs metric filter.
:data:`DB_CONNECTION_FAILURE_PATTERN` is that filter's pattern, and :func:`matches` evaluates such patterns
in Python, so the tests run the pattern itself against sample log lines. They do not test a regular
expression that we only hope behaves the same.

Filter-pattern semantics (the subset used here)
-----------------------------------------------
Source: Amazon CloudWatch Logs User Guide, "Filter pattern syntax for metric filters, subscription filters,
and filter log events" (today "... filter log events, and Live Tail"),
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html, section "Using filter
patterns to match terms in unstructured log events". The English text was read from AWS's published source of
that page (github.com/awsdocs/amazon-cloudwatch-logs-user-guide, ``doc_source/FilterAndPatternSyntax.md``;
its last revision calls the section "Using filter patterns to match terms in log events", and an earlier
revision is cited for the substring example). What the page says, and what :func:`matches` does:

* "Filter patterns are case sensitive." A term matches when it occurs in the event's message, compared
  case by case. It matches as a *substring*: the page's example pattern ``ERROR`` matches
  "Exiting with ERRORCODE: -1".
* Several space-separated terms: "all terms must appear in a log event" (``ERROR ARGUMENTS``), in any order.
* ``?term``: OR. ``?ERROR ?ARGUMENTS`` matches events that contain either term. The page only shows patterns
  made entirely of ``?`` terms. It does not say what ``?`` terms mean next to plain or ``-`` terms, so a
  pattern that mixes them raises ``ValueError``.
* "Enclose exact phrases and terms that include non-alphanumeric characters in double quotation marks",
  for example ``"INTERNAL SERVER ERROR"``. The page documents **no escape sequence** for a ``"`` inside a
  phrase. (``\\"`` is what the CDK's ``FilterPattern`` emits, not something the page documents.) So
  backslashes inside quotes are rejected, and phrases must not contain ``"``. An unquoted term must be
  alphanumeric only (``A-Z a-z 0-9``). An earlier revision also allowed ``_`` unquoted; the current
  wording does not, so ``_`` needs quotes here.
* ``-term`` excludes events that contain the term: ``ERROR -ARGUMENTS``. The page shows exclusion only
  together with a term that must be included, so a pattern made only of exclusions raises ``ValueError``.
  (Lightsail's GetContainerLog API reference does describe ``-ERROR`` on its own, but the CloudWatch page
  does not.)
* An empty pattern matches every event. The FilterLogEvents API reference says "If not provided, all the
  events are matched", and an earlier revision of the page says the filter pattern "" matches all log
  events. The page's "Match everything" example, ``" "``, is also accepted, as a whole pattern only.

Anything else raises ``ValueError("unsupported filter pattern syntax: ...")``. That covers JSON patterns
(``{ $.level = "ERROR" }``), space-delimited patterns (``[ip, user, ...]``), regular expressions
(``%...%``), ``%`` inside phrases, a bare ``?`` or ``-``, unterminated quotes, and whitespace-only or
oddly spaced phrases, which the page gives no meaning to. A metric filter's pattern is 0-1024 characters
(CloudWatch Logs API, PutMetricFilter ``filterPattern``). :func:`any_of` enforces that limit.

What gets counted
-----------------
The metric counts matching *log events*, not failures. With the ``awslogs`` driver every line is a
separate event. A traceback therefore typically counts twice: the driver's exception line
(``psycopg2.OperationalError: ...``) and SQLAlchemy's line wrapping it (``sqlalchemy.exc.OperationalError:
(psycopg2.OperationalError) ...``). Bare ``sqlalchemy.exc.OperationalError`` is deliberately *not* a phrase:
psycopg2 and psycopg 3 report deadlocks, serialization failures and cancelled statements as subclasses of
OperationalError (``(psycopg2.errors.DeadlockDetected)``). The *base* class, ``psycopg2.OperationalError`` /
``psycopg.OperationalError``, is what the drivers raise for connection-level errors. The same goes for a bare
``Connection refused`` / ``timeout expired``: HTTP clients print those too. Connection failures include them
after a database-specific prefix that is already a phrase.
"""

from __future__ import annotations

import re
from typing import Iterable

__all__ = ["DB_CONNECTION_FAILURE_PATTERN", "DB_CONNECTION_FAILURE_PHRASES", "any_of", "matches"]

#: Messages printed when the application cannot get (or keeps losing) a database connection. The wording
#: and case are exactly what the libraries print. The libpq and PostgreSQL server messages come from the
#: PostgreSQL 15 message catalogs (libpq5, postgresql-15). They were also reproduced with libpq 15
#: against a local server; "FATAL:" is followed by two spaces.
DB_CONNECTION_FAILURE_PHRASES: tuple[str, ...] = (
    # libpq >= 14 prefixes every connection-attempt failure (refused, timeout expired, FATAL from the server):
    #   connection to server at "HOST" (IP), port 5432 failed: Connection refused
    "connection to server at",
    # libpq < 14 (older psycopg2 wheels): could not connect to server: Connection refused
    "could not connect to server",
    "could not translate host name",  # DNS: could not translate host name "HOST" to address: ...
    "connection timeout expired",  # psycopg 3: psycopg.errors.ConnectionTimeout
    # An established connection is lost (Aurora failover, restart, idle connection dropped by the network):
    "server closed the connection unexpectedly",
    "SSL connection has been closed unexpectedly",
    "SSL SYSCALL error",  # psycopg2: SSL SYSCALL error: EOF detected
    "could not receive data from server",
    "could not send data to server",
    "terminating connection due to",  # FATAL: ... administrator command / idle-session timeout / ...
    # The server refuses the connection:
    "sorry, too many clients already",  # max_connections reached
    "too many connections for",  # ... role "ava_app" / ... database "farmer_crm" (CONNECTION LIMIT)
    "remaining connection slots are reserved",  # ... for non-replication superuser connections (PG < 16)
    "password authentication failed for user",
    "PAM authentication failed for user",  # RDS IAM database authentication (expired or invalid token)
    "no pg_hba.conf entry for host",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "the database system is not yet accepting connections",
    "the database system is not accepting connections",
    # Drivers' base exception classes: what they raise for connection-level errors (see the module doc).
    # Covers the traceback's last line and SQLAlchemy's "(psycopg2.OperationalError) ..." wrapper.
    "psycopg2.OperationalError",
    "psycopg.OperationalError",
    # Pool exhaustion: no connection within the pool timeout.
    "QueuePool limit of size",  # SQLAlchemy: QueuePool limit of size 20 overflow 30 reached, connection timed out
    "couldn't get a connection after",  # psycopg_pool.PoolTimeout: couldn't get a connection after 30.00 sec
)

_UNSUPPORTED = "unsupported filter pattern syntax: "
#: PutMetricFilter filterPattern: length 0-1024 (CloudWatch Logs API reference; botocore's service model).
_MAX_PATTERN_LENGTH = 1024
#: An unquoted term: alphanumeric only ("Enclose ... terms that include non-alphanumeric characters in
#: double quotation marks").
_BARE_TERM = re.compile(r"[A-Za-z0-9]+")
#: Whole patterns besides "" that AWS documents as "match everything": the page's ``" "`` example, and ``""``
#: (the earlier revision's wording, which reads the same whether the quotes are part of the pattern or not).
_MATCH_EVERYTHING = ('""', '" "')


def _phrase_problem(phrase: str) -> str | None:
    """Why ``phrase`` cannot be written as a quoted term, or ``None`` if it can."""
    if phrase == "" or phrase.isspace():
        return "it is empty or only whitespace (such a phrase would match every event)"
    if '"' in phrase:
        return 'it contains a double quote, and AWS documents no escape for " inside a quoted phrase'
    if "\\" in phrase:
        return "it contains a backslash, whose meaning inside quotes AWS does not document"
    if "%" in phrase:
        return "it contains %, which delimits regular-expression patterns"
    if any(not (" " <= char <= "~") for char in phrase):
        return "it contains characters other than printable ASCII (tabs, line breaks, non-ASCII)"
    if phrase != phrase.strip(" ") or "  " in phrase:
        return "it has leading, trailing or repeated spaces, whose handling AWS does not document"
    return None


def _parse(pattern: str) -> list[tuple[str, str]]:
    """Split ``pattern`` into ``(prefix, text)`` terms; prefix is "", "?" or "-". Raises on anything else."""
    terms: list[tuple[str, str]] = []
    position, end = 0, len(pattern)
    while position < end:
        if pattern[position].isspace():
            position += 1
            continue
        start = position
        prefix = pattern[position] if pattern[position] in "?-" else ""
        position += len(prefix)
        if position >= end or pattern[position].isspace():
            raise ValueError(f"{_UNSUPPORTED}{prefix!r} without a term at position {start} in {pattern!r}")
        if pattern[position] == '"':
            closing = pattern.find('"', position + 1)
            if closing < 0:
                raise ValueError(f"{_UNSUPPORTED}unterminated quoted phrase at position {position} in {pattern!r}")
            text = pattern[position + 1 : closing]
            problem = _phrase_problem(text)
            if problem:
                raise ValueError(f"{_UNSUPPORTED}quoted phrase {text!r}: {problem}")
            position = closing + 1
            if position < end and not pattern[position].isspace():
                raise ValueError(f"{_UNSUPPORTED}text right after a closing quote (position {position}) in {pattern!r}")
        else:
            while position < end and not pattern[position].isspace():
                position += 1
            text = pattern[start + len(prefix) : position]
            if not _BARE_TERM.fullmatch(text):
                raise ValueError(f"{_UNSUPPORTED}{_describe_bare(text)} in {pattern!r}")
        terms.append((prefix, text))
    return terms


def _describe_bare(token: str) -> str:
    if token.startswith("{"):
        return "JSON patterns ({ $.field = value }) are not part of the supported subset"
    if token.startswith("["):
        return "space-delimited patterns ([field, ...]) are not part of the supported subset"
    if token.startswith("%"):
        return "regular-expression patterns (%...%) are not part of the supported subset"
    return f"unquoted term {token!r} has non-alphanumeric characters; AWS requires double quotes around it"


def matches(pattern: str, event: str) -> bool:
    """Whether CloudWatch Logs' term-matching ``pattern`` matches the log event message ``event``.

    Implements the subset described in the module doc, following AWS's "Using filter patterns to match terms in
    unstructured log events": case-sensitive substring terms, AND of space-separated terms, ``?`` alternatives,
    ``"quoted phrases"``, ``-`` exclusions next to included terms, and the empty pattern. Anything else raises
    ``ValueError("unsupported filter pattern syntax: ...")``.
    """
    if not isinstance(pattern, str) or not isinstance(event, str):
        raise TypeError("matches(pattern, event) takes two strings")
    stripped = pattern.strip()
    if pattern == "" or (stripped and stripped in _MATCH_EVERYTHING):
        return True
    terms = _parse(pattern)
    if not terms:
        raise ValueError(f"{_UNSUPPORTED}a whitespace-only pattern is not documented; use '' to match everything")
    prefixes = {prefix for prefix, _ in terms}
    if "?" in prefixes:
        if prefixes != {"?"}:
            raise ValueError(
                f"{_UNSUPPORTED}{pattern!r} mixes ?-alternatives with plain or - terms, which AWS does not define"
            )
        return any(text in event for _, text in terms)
    if "" not in prefixes:
        raise ValueError(f"{_UNSUPPORTED}{pattern!r} only excludes terms; AWS documents - next to an included term")
    included = [text for prefix, text in terms if prefix == ""]
    excluded = [text for prefix, text in terms if prefix == "-"]
    return all(text in event for text in included) and not any(text in event for text in excluded)


def any_of(phrases: Iterable[str]) -> str:
    """The pattern ``?"phrase one" ?"phrase two" ...``: matches events that contain any of ``phrases``.

    Every phrase is quoted. Raises ``ValueError`` for no phrases, a duplicate, a phrase that cannot be written
    inside quotes (see the module doc: ``"``, ``\\``, ``%``, non-printable or non-ASCII characters, empty, or
    leading/trailing/repeated spaces), and a result longer than a metric filter's 1024 characters.
    """
    if isinstance(phrases, str):
        raise TypeError("any_of() takes an iterable of phrases, not a single string")
    phrases = list(phrases)
    if not phrases:
        raise ValueError("any_of() needs at least one phrase")
    for phrase in phrases:
        if not isinstance(phrase, str):
            raise TypeError(f"phrases must be strings, got {phrase!r}")
        problem = _phrase_problem(phrase)
        if problem:
            raise ValueError(f"phrase {phrase!r} cannot be used in a filter pattern: {problem}")
    duplicates = sorted({phrase for phrase in phrases if phrases.count(phrase) > 1})
    if duplicates:
        raise ValueError(f"duplicate phrases: {duplicates}")
    pattern = " ".join(f'?"{phrase}"' for phrase in phrases)
    if len(pattern) > _MAX_PATTERN_LENGTH:
        raise ValueError(
            f"the pattern is {len(pattern)} characters; a metric filter pattern is at most {_MAX_PATTERN_LENGTH}"
        )
    return pattern


#: The metric filter's pattern: ``?"connection to server at" ?"could not connect to server" ...``.
DB_CONNECTION_FAILURE_PATTERN: str = any_of(DB_CONNECTION_FAILURE_PHRASES)

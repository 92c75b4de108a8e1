"""The database-connection-failure metric filter, checked by evaluating the CloudWatch Logs pattern itself.

Seed "Monitoring and Alerting" -> "Database connection failures". Semantics: AWS, "Filter pattern syntax for
metric filters, subscription filters, and filter log events" -> "Using filter patterns to match terms in
unstructured log events" (see the module doc of ``ava_olo_constructs.log_filter_pattern``). Pure Python, no
synthesis.
"""

from __future__ import annotations

import pytest

from ava_olo_constructs.log_filter_pattern import (
    DB_CONNECTION_FAILURE_PATTERN,
    DB_CONNECTION_FAILURE_PHRASES,
    any_of,
    matches,
)

UNSUPPORTED = "unsupported filter pattern syntax"
HOST = "farmer-crm.cluster-xyz.us-east-1.rds.amazonaws.com"

# --------------------------------------------------------------------------------------- evaluator semantics
# The example events are AWS's own, from the page's examples.


def test_single_term_is_a_case_sensitive_substring() -> None:
    assert matches("ERROR", "[ERROR 400] BAD REQUEST")
    assert matches("ERROR", "Exiting with ERRORCODE: -1")  # AWS's example: a substring, not a whole word
    assert not matches("ERROR", "[WARN 300] SLOW REQUEST")


def test_space_separated_terms_must_all_appear_in_any_order() -> None:
    assert matches("ERROR ARGUMENTS", "[ERROR 419] MISSING ARGUMENTS")
    assert matches("ARGUMENTS ERROR", "[ERROR 420] INVALID ARGUMENTS")
    assert not matches("ERROR ARGUMENTS", "[ERROR 400] BAD REQUEST")
    assert not matches("ERROR ARGUMENTS", "[WARN] MISSING ARGUMENTS")


def test_question_mark_terms_are_alternatives() -> None:
    pattern = "?ERROR ?WARN"
    assert matches(pattern, "ERROR WARN message")
    assert matches(pattern, "ERROR message")
    assert matches(pattern, "WARN message")
    assert not matches(pattern, "INFO message")
    assert matches('?"INTERNAL SERVER ERROR" ?"BAD REQUEST"', "[ERROR 400] BAD REQUEST")


def test_quoted_phrase_must_appear_exactly_including_spaces_and_punctuation() -> None:
    assert matches('"INTERNAL SERVER ERROR"', "[ERROR 500] INTERNAL SERVER ERROR")
    assert not matches('"INTERNAL SERVER ERROR"', "[ERROR 500] INTERNAL ERROR, SERVER RESTARTING")
    assert matches("INTERNAL SERVER", "[ERROR 500] INTERNAL ERROR, SERVER RESTARTING")  # unquoted: two terms
    assert matches('"port 5432 failed:"', f'connection to server at "{HOST}" (10.0.3.12), port 5432 failed: x')
    assert not matches('"port 5432 failed:"', "port 5432 listening")


def test_matching_is_case_sensitive_as_aws_documents() -> None:
    assert not matches("ERROR", "[error 400] bad request")
    assert not matches('"Connection refused"', "[Errno 111] connection refused")
    assert matches('"connection refused"', "[Errno 111] connection refused")
    assert not matches('"connection refused"', "port 5432 failed: Connection refused")


def test_minus_excludes_events_containing_the_term() -> None:
    assert matches("ERROR -ARGUMENTS", "[ERROR 400] BAD REQUEST")
    assert not matches("ERROR -ARGUMENTS", "[ERROR 419] MISSING ARGUMENTS")
    assert not matches("ERROR -ARGUMENTS", "[WARN 300] SLOW REQUEST")  # the included term is still required
    assert not matches('ERROR -"BAD REQUEST"', "[ERROR 400] BAD REQUEST")
    with pytest.raises(ValueError, match=UNSUPPORTED):  # exclusion alone: AWS shows it only next to a term
        matches("-ARGUMENTS", "[ERROR 400] BAD REQUEST")


def test_empty_pattern_matches_everything() -> None:
    for event in ("", "anything at all", "[ERROR 500] INTERNAL SERVER ERROR"):
        assert matches("", event)
        assert matches('" "', event)  # the page's "Match everything" example


@pytest.mark.parametrize(
    "pattern",
    [
        '{ $.level = "ERROR" }',  # JSON
        "{$.eventType=UpdateTrail}",
        "[ip, user, username, timestamp, request, status_code = 4*, bytes]",  # space-delimited
        "%AUTHORIZED%",  # regular expression
        '"50% done"',
        "ERROR ?WARN",  # mixing ? with plain terms: undefined by AWS
        "?ERROR -WARN",
        "-WARN",  # only exclusions
        "?",
        "ERROR -",
        '"unterminated phrase',
        r'"say \"hi\""',  # no documented escape
        '"a"b',
        '"  padded"',
        "   ",  # whitespace only
        "psycopg2.OperationalError",  # non-alphanumeric terms must be quoted
        "ERROR_CODE",
        "-?ERROR",
    ],
)
def test_unsupported_syntax_raises_value_error(pattern: str) -> None:
    with pytest.raises(ValueError, match=UNSUPPORTED):
        matches(pattern, "ERROR WARN ERROR_CODE psycopg2.OperationalError 50% done")


def test_pattern_and_event_must_be_strings() -> None:
    with pytest.raises(TypeError):
        matches(None, "ERROR")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------- any_of


def test_any_of_quotes_every_phrase_as_an_alternative() -> None:
    pattern = any_of(["could not connect to server", "QueuePool limit of size"])
    assert pattern == '?"could not connect to server" ?"QueuePool limit of size"'
    assert matches(pattern, "psycopg2.OperationalError: could not connect to server: Connection refused")
    assert matches(pattern, "QueuePool limit of size 20 overflow 30 reached, connection timed out, timeout 30.00")
    assert not matches(pattern, "could not connect to redis")
    assert any_of(p for p in ["couldn't get a connection after"]) == '?"couldn\'t get a connection after"'


def test_any_of_round_trips_every_phrase_through_the_evaluator() -> None:
    pattern = any_of(DB_CONNECTION_FAILURE_PHRASES)
    for phrase in DB_CONNECTION_FAILURE_PHRASES:
        assert matches(any_of([phrase]), f"prefix {phrase} suffix")
        assert matches(pattern, phrase)
        assert not matches(any_of([phrase]), phrase.swapcase())


def test_any_of_rejects_empty_input() -> None:
    with pytest.raises(ValueError, match="at least one phrase"):
        any_of([])
    with pytest.raises(ValueError, match="at least one phrase"):
        any_of(iter(()))
    with pytest.raises(TypeError):
        any_of("a single string")  # would otherwise become one phrase per character


@pytest.mark.parametrize(
    "phrase",
    [
        'connection to server at "',  # no documented escape for "
        'role "ava_app" does not exist',
        "C:\\path",
        "100% used",
        "",
        " ",
        " leading space",
        "trailing space ",
        "two  spaces",
        "tab\tinside",
        "line\nbreak",
        "caf\u00e9",
    ],
)
def test_any_of_rejects_phrases_the_syntax_cannot_express(phrase: str) -> None:
    with pytest.raises(ValueError, match="cannot be used in a filter pattern"):
        any_of(["server closed the connection unexpectedly", phrase])


def test_any_of_rejects_duplicates_and_non_strings() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        any_of(["SSL SYSCALL error", "SSL SYSCALL error"])
    with pytest.raises(TypeError):
        any_of(["SSL SYSCALL error", 5])  # type: ignore[list-item]


def test_metric_filter_patterns_are_limited_to_1024_characters() -> None:
    assert len(DB_CONNECTION_FAILURE_PATTERN) <= 1024  # PutMetricFilter filterPattern: 0-1024
    assert DB_CONNECTION_FAILURE_PATTERN == any_of(DB_CONNECTION_FAILURE_PHRASES)
    assert len(any_of(["x" * 1021])) == 1024  # ?"...": 3 characters around the phrase
    with pytest.raises(ValueError, match="1024"):
        any_of(["x" * 1022])
    with pytest.raises(ValueError, match="1024"):
        any_of(["x" * 600, "y" * 600])


# ------------------------------------------------------------------------------- the database failure pattern
# Full lines as the apps print them. With the awslogs driver every line of a traceback is its own event; the
# lines here are the ones that carry the error. "FATAL:" is followed by two spaces, as libpq prints it.

FAILURE_LINES = [
    # SQLAlchemy + psycopg2, libpq >= 14: the traceback's last line
    f'sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) connection to server at "{HOST}" (10.0.3.12), '
    "port 5432 failed: Connection refused",
    f'psycopg2.OperationalError: connection to server at "{HOST}" (10.0.3.12), port 5432 failed: timeout expired',
    # JSON-formatted application log (python-json-logger style), the error in the message, quotes escaped
    '{"timestamp": "2024-05-14T09:12:03.412Z", "level": "ERROR", "logger": "app.db", "message": "health check '
    f'failed: connection to server at \\"{HOST}\\" (10.0.3.12), port 5432 failed: FATAL:  password authentication '
    'failed for user \\"ava_app\\""}',
    # gunicorn's prefix
    "[2024-05-14 09:12:03 +0000] [27] [ERROR] Error handling request /dashboards/database: (psycopg2.OperationalError) "
    f'could not translate host name "{HOST}" to address: Temporary failure in name resolution',
    "[2024-05-14 09:12:05 +0000] [28] [ERROR] psycopg2.OperationalError: server closed the connection unexpectedly",
    # uvicorn's prefix, libpq < 14 wording
    "ERROR:    Database unavailable during startup: could not connect to server: Connection refused",
    "sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) could not connect to server: Connection timed out",
    # established connections lost (Aurora failover, idle connections dropped)
    "sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) SSL connection has been closed unexpectedly",
    "psycopg2.OperationalError: SSL SYSCALL error: EOF detected",
    "sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) could not receive data from server: "
    "Connection timed out",
    "2024-05-14 09:12:07,881 ERROR [app.jobs] sync failed: could not send data to server: Broken pipe",
    "psycopg2.OperationalError: terminating connection due to administrator command",
    # PostgreSQL FATAL at connect time
    "psycopg2.OperationalError: FATAL:  sorry, too many clients already",
    f'psycopg2.OperationalError: connection to server at "{HOST}" (10.0.3.12), port 5432 failed: FATAL:  too many '
    'connections for role "ava_app"',
    "sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) FATAL:  remaining connection slots are reserved "
    "for non-replication superuser connections",
    "2024-05-14 09:12:09,002 ERROR [app.db] FATAL:  remaining connection slots are reserved for roles with the "
    "SUPERUSER attribute",
    "2024-05-14 09:12:09,117 ERROR [app.db] IAM token rejected: FATAL:  PAM authentication failed for user \"ava_app\"",
    'WARNING [app.db] giving up: FATAL:  no pg_hba.conf entry for host "10.0.1.23", user "ava_app", '
    'database "farmer_crm", no encryption',
    "ERROR [app.db] FATAL:  the database system is starting up",
    "ERROR [app.db] FATAL:  the database system is shutting down",
    "ERROR [app.db] FATAL:  the database system is in recovery mode",
    "ERROR [app.db] FATAL:  the database system is not yet accepting connections",
    "ERROR [app.db] FATAL:  the database system is not accepting connections",
    # psycopg 3 and psycopg_pool
    'psycopg.OperationalError: connection failed: connection to server at "10.0.3.12", port 5432 failed: '
    "Connection refused",
    "sqlalchemy.exc.OperationalError: (psycopg.errors.ConnectionTimeout) connection timeout expired",
    "psycopg.OperationalError: consuming input failed: server closed the connection unexpectedly",
    "psycopg_pool.PoolTimeout: couldn't get a connection after 30.00 sec",
    # SQLAlchemy pool exhausted (the seed's pool: 20 + 30)
    "sqlalchemy.exc.TimeoutError: QueuePool limit of size 20 overflow 30 reached, connection timed out, timeout "
    "30.00 (Background on this error at: https://sqlalche.me/e/20/3o7r)",
    '{"level": "error", "logger": "app.api", "message": "request failed", "exc_info": "sqlalchemy.exc.TimeoutError: '
    'QueuePool limit of size 20 overflow 30 reached, connection timed out, timeout 30.00"}',
]

HEALTHY_LINES = [
    'INFO:     10.0.1.23:51234 - "GET /health HTTP/1.1" 200 OK',
    '10.0.1.23 - - [14/May/2024:09:12:03 +0000] "GET /health HTTP/1.1" 200 2 "-" "ELB-HealthChecker/2.0"',
    '{"status": "healthy", "database": "connected"}',
    "DB_POOL_SIZE=20 DB_MAX_OVERFLOW=30 DB_POOL_RECYCLE=300",
    "2024-05-14 09:12:03,123 INFO [app.db] connection pool created (pool_size=20, max_overflow=30, pool_pre_ping=True)",
    f"INFO Connection established to farmer-crm ({HOST}:5432)",
    "INFO sqlalchemy.pool.impl.QueuePool Connection <connection object at 0x7f3a2c1b9d80; dsn: 'host=farmer-crm "
    "port=5432 dbname=farmer_crm user=ava_app', closed: 0> checked out from pool",
    '{"level": "info", "message": "psycopg pool opened", "min_size": 4, "max_size": 20}',
    "WARNING [app.llm] timeout calling https://api.openai.com/v1/chat/completions (timeout=30.0s), retrying 1/3",
    "urllib3.exceptions.ReadTimeoutError: HTTPSConnectionPool(host='api.openai.com', port=443): Read timed out. "
    "(read timeout=30)",
    "WARNING [dashboards] chart refused to render: no data points for farmer 4821",
    "[2024-05-14 09:12:01 +0000] [1] [INFO] Starting gunicorn 22.0.0",
    "[2024-05-14 09:12:02 +0000] [27] [INFO] Booting worker with pid: 27",
    "INFO:     Application startup complete.",
    "INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.",
    "WARNING [app.perf] Slow operation: get_database_schema took 2.41s",
    'INFO:     10.0.2.14:40112 - "POST /api/v1/farmers HTTP/1.1" 201 Created',
]

#: Errors, but not connection failures: they must not inflate the connection-failure count.
OTHER_ERROR_LINES = [
    "sqlalchemy.exc.OperationalError: (psycopg2.errors.DeadlockDetected) deadlock detected",
    "sqlalchemy.exc.OperationalError: (psycopg2.errors.QueryCanceled) canceling statement due to statement timeout",
    "sqlalchemy.exc.IntegrityError: (psycopg2.errors.UniqueViolation) duplicate key value violates unique constraint "
    '"farmers_phone_number_key"',
    'sqlalchemy.exc.ProgrammingError: (psycopg.errors.UndefinedTable) relation "fields" does not exist',
    "requests.exceptions.ConnectionError: HTTPConnectionPool(host='localhost', port=8080): Max retries exceeded with "
    "url: /metrics (Caused by NewConnectionError('<urllib3.connection.HTTPConnection object at 0x7f3a2c1b9d80>: "
    "Failed to establish a new connection: [Errno 111] Connection refused'))",
    "WARNING [app.auth] JWT authentication failed for user 4821: token expired",
]


@pytest.mark.parametrize("line", FAILURE_LINES)
def test_every_connection_failure_line_is_counted(line: str) -> None:
    assert matches(DB_CONNECTION_FAILURE_PATTERN, line)


@pytest.mark.parametrize("line", HEALTHY_LINES)
def test_no_healthy_line_is_counted(line: str) -> None:
    assert not matches(DB_CONNECTION_FAILURE_PATTERN, line)


@pytest.mark.parametrize("line", OTHER_ERROR_LINES)
def test_other_errors_are_not_counted_as_connection_failures(line: str) -> None:
    assert not matches(DB_CONNECTION_FAILURE_PATTERN, line)


def test_sample_sizes_and_every_phrase_is_exercised_by_a_failure_line() -> None:
    assert len(FAILURE_LINES) >= 12 and len(HEALTHY_LINES) >= 10
    unused = [phrase for phrase in DB_CONNECTION_FAILURE_PHRASES if not any(phrase in line for line in FAILURE_LINES)]
    assert unused == []


def test_phrases_contain_no_double_quote_and_keep_the_libraries_casing() -> None:
    assert all('"' not in phrase for phrase in DB_CONNECTION_FAILURE_PHRASES)
    assert "Connection refused" not in DB_CONNECTION_FAILURE_PHRASES  # not database-specific: HTTP clients print it
    expected_casing = {"SSL connection has been closed unexpectedly", "QueuePool limit of size", "SSL SYSCALL error"}
    assert expected_casing <= set(DB_CONNECTION_FAILURE_PHRASES)

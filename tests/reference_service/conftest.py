"""A real PostgreSQL for the reference service's tests, and the service itself as a real gunicorn process.

``./dev.sh test`` makes sure Debian's ``postgresql`` package is installed; here a throwaway cluster is created
with ``initdb`` in a temporary directory (in memory, ``/dev/shm``, when it has room: the cluster is thrown away
at the end, and ``CREATE DATABASE`` on the disk costs a quarter of a second of writeback each) and its
``postgres`` server runs as a child of the test process on a free port of 127.0.0.1 (password authentication
over TCP, like Aurora; the tests' own superuser connections use the cluster's Unix socket). PostgreSQL refuses to
run as root, so as root the server binaries run as the ``postgres`` system user. Everything started here is
stopped in finalizers, also on failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
SERVICE_DIR = ROOT / "reference-service"
if str(SERVICE_DIR) not in sys.path:
    sys.path.insert(0, str(SERVICE_DIR))
BIN = Path(sys.executable).parent

APP_VERSION = "v3.2.0-schema-button-aurora"
DB_NAME = "farmer_crm"
DB_USER = "ava_app"
DB_PASSWORD = "s3cret pass:word"  # a space and a colon: the URL must be built, not formatted


def postgres_bin_dir() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    if not candidates:
        pytest.fail(
            "PostgreSQL server binaries not found in /usr/lib/postgresql/<version>/bin: run the tests with "
            "./dev.sh test, which installs Debian's postgresql package (apt-get install -y postgresql)",
            pytrace=False,
        )
    return candidates[-1].parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


#: Free space ``/dev/shm`` must have to hold the cluster (it grows to about 80 MB): a container's default 64 MB
#: ``/dev/shm`` does not, and then the cluster goes to the usual temporary directory.
SCRATCH_MIN_FREE = 1 << 30


def scratch_parent() -> Optional[str]:
    """Where the throwaway cluster is created: ``/dev/shm`` (memory) when it is there, writable and has room,
    else ``None`` (the temporary directory, ``TMPDIR``)."""
    try:
        stat = os.statvfs("/dev/shm")
    except OSError:
        return None
    roomy = stat.f_bavail * stat.f_frsize >= SCRATCH_MIN_FREE
    return "/dev/shm" if roomy and os.access("/dev/shm", os.W_OK | os.X_OK) else None


#: ``pg_ctl stop -m MODE``'s signals to the postmaster (PostgreSQL's documented shutdown modes).
SHUTDOWN_SIGNALS = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}


@dataclass
class PostgresServer:
    """One cluster. The server is started and stopped the way ``pg_ctl start -w`` / ``pg_ctl stop -m fast -w``
    do it (the same command line, the same "ready" line of ``postmaster.pid``, the same shutdown signal), but
    from here: ``pg_ctl`` looks every 100 ms, so each start and each stop cost a tenth of a second of waiting,
    and the tests stop and start the server for every outage they need."""

    bin_dir: Path
    root: Path
    port: int
    as_user: Optional[str]
    process: Optional[subprocess.Popen] = None

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def major_version(self) -> int:
        return int(self.bin_dir.parent.name)  # /usr/lib/postgresql/<major>/bin

    def _as_server_user(self) -> dict:
        """``subprocess`` arguments that run a server binary as ``as_user`` (what ``runuser -u`` does)."""
        if not self.as_user:
            return {}
        entry = pwd.getpwnam(self.as_user)
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def init(self) -> None:
        (self.root / "pwfile").write_text("postgres\n")
        if self.as_user:
            entry = pwd.getpwnam(self.as_user)
            for path in (self.root, self.root / "pwfile"):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        subprocess.run(
            [
                str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres", "--pwfile", str(self.root / "pwfile"),
                "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "--no-instructions", "-E", "UTF8",
                "--locale=C.UTF-8",
            ],
            check=True, capture_output=True, text=True, timeout=60, cwd=self.root, **self._as_server_user(),
        )  # fmt: skip

    def start(self, timeout: float = 30.0) -> None:
        """Start the server and return once it accepts connections (``postmaster.pid`` says ``ready``)."""
        command = [
            str(self.bin_dir / "postgres"), "-D", str(self.data), "-p", str(self.port), "-k", str(self.root),
            "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
            "-c", "full_page_writes=off",
        ]  # fmt: skip
        with open(self.root / "server.log", "ab") as log:
            # A session of its own, like pg_ctl's: a Ctrl-C meant for pytest does not reach the server.
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=self.root,
                start_new_session=True, **self._as_server_user(),
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop(mode="immediate")
                raise AssertionError(f"PostgreSQL did not start:\n{(self.root / 'server.log').read_text()[-4000:]}")
            time.sleep(0.005)

    def _ready(self) -> bool:
        """What ``pg_ctl -w`` checks: ``postmaster.pid`` names this server and its status line says ``ready``."""
        try:
            lines = (self.data / "postmaster.pid").read_text().splitlines()
        except (FileNotFoundError, UnicodeDecodeError):
            return False
        return len(lines) >= 8 and lines[0] == str(self.process.pid) and lines[7].strip() == "ready"

    def stop(self, mode: str = "fast") -> None:
        """Shut the server down (``fast``: roll back the sessions, disconnect, checkpoint) and wait until the
        postmaster has exited: its port is closed and it no longer answers."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(SHUTDOWN_SIGNALS[mode])
                try:
                    self.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=10)
            self.process = None

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        """PostgreSQL down for the block, up again afterwards (also when the block fails)."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def superuser_dsn(self, dbname: str = "postgres") -> str:
        """The tests' own connection: over the Unix socket (``--auth-local=trust``: no password exchange for each
        of the many inspections). The service and the migrations connect over TCP with a password."""
        return f"host={self.root} port={self.port} user=postgres dbname={dbname}"

    def execute(self, sql: str, dbname: str = "postgres") -> list[tuple]:
        import psycopg

        with psycopg.connect(self.superuser_dsn(dbname), autocommit=True) as connection:
            cursor = connection.execute(sql)
            return cursor.fetchall() if cursor.description else []


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    bin_dir = postgres_bin_dir()
    as_user = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("running as root and there is no 'postgres' system user to run PostgreSQL as", pytrace=False)
        as_user = "postgres"
    root = Path(tempfile.mkdtemp(prefix="ava-olo-pg-", dir=scratch_parent()))
    server = PostgresServer(bin_dir=bin_dir, root=root, port=free_port(), as_user=as_user)
    try:
        server.init()
        server.start()
        server.execute(f"CREATE ROLE {DB_USER} LOGIN PASSWORD '{DB_PASSWORD}'")
        yield server
    finally:
        server.stop(mode="immediate")
        shutil.rmtree(root, ignore_errors=True)


def create_database(postgres: PostgresServer, name: str, template: Optional[str] = None) -> None:
    """A new database owned by the service's user, a copy of ``template`` (default: template1). Copied file by
    file (``STRATEGY FILE_COPY``, what PostgreSQL did before 15): a third of the CPU of 15's default, which
    writes every page of the template to the WAL; the database is the same."""
    postgres.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    copy = (f" TEMPLATE {template}" if template else "") + (" STRATEGY FILE_COPY" if postgres.major_version >= 15 else "")
    postgres.execute(f"CREATE DATABASE {name} OWNER {DB_USER}{copy}")


def service_environ(postgres: PostgresServer, dbname: str, **extra: str) -> dict[str, str]:
    """The variables the service stack injects (ECS secrets + plain environment), pointing at the test server."""
    environ = {
        "APP_VERSION": APP_VERSION,
        "DB_HOST": "127.0.0.1",
        "DB_PORT": str(postgres.port),
        "DB_NAME": dbname,
        "DB_USER": DB_USER,
        "DB_PASSWORD": DB_PASSWORD,
        "DB_POOL_SIZE": "5",
        "DB_MAX_OVERFLOW": "5",
        "DB_POOL_RECYCLE": "300",
        "DB_CONNECT_TIMEOUT": "2",
        "ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }
    environ.update(extra)
    return environ


def run_alembic(environ: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """Exactly the migration task's command (``alembic upgrade head``), from the image's working directory, with
    exactly ``environ`` (plus ``PATH`` and ``LANG``) as its environment.

    The ``alembic`` script is ``alembic.config:main``; starting it as a new interpreter costs about a second of
    imports (Alembic, SQLAlchemy) per run. So the process is a fork of this one with Alembic already imported,
    which then does what the script does: the same ``main`` with the same arguments, working directory and
    environment, its own stdout and stderr, exit status 1 and a traceback on an uncaught exception. Its logging
    configuration (``alembic.ini``) and everything else it changes stay in the child."""
    import alembic.config  # noqa: F401 - imported once here, inherited by every fork

    env = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", **environ}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            code = 1
            try:
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                sys.stdout = open(1, "w", encoding="utf-8", closefd=False, buffering=1)
                sys.stderr = open(2, "w", encoding="utf-8", closefd=False, buffering=1)
                os.chdir(SERVICE_DIR)
                os.environ.clear()
                os.environ.update(env)
                try:
                    alembic.config.main(argv=list(args), prog="alembic")
                    code = 0
                except SystemExit as exit_:
                    code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
                except BaseException:  # noqa: BLE001 - what the interpreter does with an uncaught exception
                    import traceback

                    traceback.print_exc()
                    code = 1
            finally:
                with contextlib.suppress(Exception):
                    sys.stdout.flush()
                    sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    return subprocess.CompletedProcess(["alembic", *args], os.waitstatus_to_exitcode(status), stdout, stderr)


@pytest.fixture(scope="session")
def migrated_template(postgres: PostgresServer) -> str:
    """A database migrated once with ``alembic upgrade head``; tests copy it (CREATE DATABASE ... TEMPLATE)."""
    name = "farmer_crm_migrated"
    create_database(postgres, name)
    result = run_alembic(service_environ(postgres, name), "upgrade", "head")
    assert result.returncode == 0, result.stdout + result.stderr
    return name


@pytest.fixture(scope="session")
def migrated_database(postgres: PostgresServer, migrated_template: str) -> str:
    name = "farmer_crm_app"
    create_database(postgres, name, template=migrated_template)
    return name


def dockerfile_command() -> list[str]:
    """The image's CMD (exec form), so the tests run what the container runs."""
    for line in (SERVICE_DIR / "Dockerfile").read_text().splitlines():
        if line.startswith("CMD "):
            return json.loads(line[4:])
    raise AssertionError("reference-service/Dockerfile has no exec-form CMD")


def get(url: str, timeout: float = 5.0) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read() or b"{}")


@dataclass
class ServiceProcess:
    process: subprocess.Popen
    port: int
    log_path: Path
    environ: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()

    def wait_for_access_lines(self, start: int, request: str, count: int, timeout: float = 10.0) -> int:
        """Wait until gunicorn's access log has ``count`` lines for ``request`` (``"GET /health 503"``) from log
        line ``start`` on; return the index just after the last of them. The process writes its log file itself:
        a request's own lines are written before its answer, its access line just after the client has it."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.log_lines()
            found = [index for index in range(start, len(lines)) if access_request(lines[index]) == request]
            if len(found) >= count:
                return found[count - 1] + 1
            if time.monotonic() > deadline:
                logged = "\n".join(lines[start:])
                raise AssertionError(f"not {count} access lines {request!r} within {timeout}s:\n{logged}")
            time.sleep(0.005)

    def wait_ready(self, deadline_seconds: float = 20.0) -> None:
        deadline = time.monotonic() + deadline_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the service exited with {self.process.returncode}:\n{self.log_path.read_text()}")
            try:
                get(f"{self.url}/version", timeout=1)
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.01)
        raise AssertionError(f"the service did not answer within {deadline_seconds}s:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_service(environ: dict[str, str], log_dir: Path) -> ServiceProcess:
    """Start the Dockerfile's CMD (gunicorn -c gunicorn.conf.py ...) on a free port; the caller stops it."""
    command = dockerfile_command()
    command[0] = str(BIN / command[0])
    port = free_port()
    log_path = log_dir / f"service-{port}.log"
    env = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "PORT": str(port), **environ}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=SERVICE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    return ServiceProcess(process=process, port=port, log_path=log_path, environ=env)


def access_request(line: str) -> Optional[str]:
    """``"GET /health 200"`` for a gunicorn access-log line (``logs.JsonFormatter``), ``None`` for any other."""
    try:
        event = json.loads(line)
    except ValueError:  # not JSON (the tests that read the lines check that they all are), or still being written
        return None
    if not isinstance(event, dict) or event.get("logger") != "gunicorn.access":
        return None
    return f"{event.get('method')} {event.get('path')} {event.get('status')}"


@dataclass
class SessionService:
    """The session's service process, shared by every test that needs a running service with the session's
    settings: one gunicorn start instead of one per test. A test that stops it (the SIGTERM drain) leaves it
    stopped; the next test that asks for it gets a new one."""

    environ: dict[str, str]
    log_dir: Path
    current: Optional[ServiceProcess] = None

    def start(self) -> None:
        """Start the process unless it runs: it boots while other tests run (``running`` waits for it)."""
        if self.current is None or self.current.process.poll() is not None:
            self.stop()
            self.current = start_service(self.environ, self.log_dir)

    def running(self) -> ServiceProcess:
        """The process, once it answers."""
        self.start()
        try:
            self.current.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self.current

    def stop(self) -> None:
        if self.current is not None:
            self.current.stop()
            self.current = None


#: The session service's slow-operation threshold (default 2 s): ``test_logs`` holds a request for 0.6 s. The
#: SIGTERM drain's request, held by a lock, is logged as slow too; no other test reads that line, and it is not
#: one the DB-connection metric filter counts.
SESSION_SLOW_OPERATION_SECONDS = "0.3"


@pytest.fixture(scope="session")
def session_service(postgres, migrated_database, tmp_path_factory) -> Iterator[SessionService]:
    environ = service_environ(postgres, migrated_database, SLOW_OPERATION_SECONDS=SESSION_SLOW_OPERATION_SECONDS)
    shared = SessionService(environ=environ, log_dir=tmp_path_factory.mktemp("service"))
    try:
        yield shared
    finally:
        shared.stop()


def used_in_this_run(request: pytest.FixtureRequest, fixture_name: str) -> bool:
    """Whether a selected test of this run uses the fixture (``-k`` and the like deselect before this)."""
    return any(fixture_name in item.fixturenames for item in request.session.items)


@pytest.fixture(scope="session", autouse=True)
def session_service_boots_early(request: pytest.FixtureRequest) -> None:
    """The session's service starts booting (imports: a second on a busy machine) as soon as its database exists,
    before this directory's first test, instead of when the first test that uses it starts; unless no test of
    this run uses it."""
    if used_in_this_run(request, "live_service"):
        request.getfixturevalue("session_service").start()


@pytest.fixture
def live_service(session_service: SessionService) -> ServiceProcess:
    """The Dockerfile's CMD against the migrated database, answering on its port (the session's process)."""
    return session_service.running()


#: The production Service template as ``tests/stacks/test_snapshots.py`` pins it: that test fails whenever the
#: synthesized template differs from this file, so reading it here is reading the synthesis - without putting
#: these tests in the worker that synthesizes the project (they need the PostgreSQL cluster, not the CDK).
PRODUCTION_SERVICE_SNAPSHOT = (
    Path(__file__).resolve().parents[1]
    / "stacks/__snapshots__/test_snapshots/test_template_matches_snapshot[service-production].json"
)


@pytest.fixture(scope="session")
def production_service() -> dict:
    """The synthesized production Service template (asset hashes and the release version masked)."""
    return json.loads(PRODUCTION_SERVICE_SNAPSHOT.read_text())


def resources(template: dict, resource_type: str) -> dict[str, dict]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == resource_type}

"""A real PostgreSQL for the reference service's tests, and the service itself as a real gunicorn process.

``./dev.sh test`` makes sure Debian's ``postgresql`` package is installed; here a throwaway cluster is created
with ``initdb`` in a temporary directory and started with ``pg_ctl`` on a free port of 127.0.0.1 (password
authentication over TCP, like Aurora). PostgreSQL refuses to run as root, so as root the server binaries run as
the ``postgres`` system user (``runuser``). Everything started here is stopped in finalizers, also on failure.
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


@dataclass
class PostgresServer:
    bin_dir: Path
    root: Path
    port: int
    as_user: Optional[str]
    running: bool = False

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", self.as_user, "--"] if self.as_user else []
        return subprocess.run(
            [*prefix, *command], check=check, capture_output=True, text=True, timeout=60, cwd=self.root
        )

    def init(self) -> None:
        (self.root / "pwfile").write_text("postgres\n")
        if self.as_user:
            entry = pwd.getpwnam(self.as_user)
            for path in (self.root, self.root / "pwfile"):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run(
            str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres", "--pwfile", str(self.root / "pwfile"),
            "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "--no-instructions", "-E", "UTF8",
            "--locale=C.UTF-8",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options,
            "-w", "-t", "30", "start",
        )
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        if self.running or (self.data / "postmaster.pid").exists():
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop", check=False)
        self.running = False

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        """PostgreSQL down for the block, up again afterwards (also when the block fails)."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def superuser_dsn(self, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres password=postgres dbname={dbname}"

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
    root = Path(tempfile.mkdtemp(prefix="ava-olo-pg-"))
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
    postgres.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    postgres.execute(f"CREATE DATABASE {name} OWNER {DB_USER}" + (f" TEMPLATE {template}" if template else ""))


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

    def wait_ready(self, deadline_seconds: float = 20.0) -> None:
        deadline = time.monotonic() + deadline_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the service exited with {self.process.returncode}:\n{self.log_path.read_text()}")
            try:
                get(f"{self.url}/version", timeout=1)
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
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


@contextlib.contextmanager
def running_service(environ: dict[str, str], log_dir: Path) -> Iterator[ServiceProcess]:
    """The Dockerfile's CMD, answering on its port; stopped on exit, even on failure."""
    service = start_service(environ, log_dir)
    try:
        service.wait_ready()
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="session")
def live_service(postgres, migrated_database, tmp_path_factory) -> Iterator[ServiceProcess]:
    with running_service(service_environ(postgres, migrated_database), tmp_path_factory.mktemp("service")) as service:
        yield service


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

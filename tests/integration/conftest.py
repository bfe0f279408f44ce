"""Real services for the pipeline tests: a Celery worker subprocess, a Redis broker, an
SMTP server (aiosmtpd) and PostgreSQL shared between the test and the worker.

The worker is a separate process, so the data must be committed: these tests use
``django_db(transaction=True)`` and need PostgreSQL (pytest-django's SQLite test database
lives in memory, invisible to another process)."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from django.conf import settings as django_settings
from django.db import connection

from statusportal.celery import app as celery_app
from statusportal.mail import use_mail_server
from tests.services import free_port, missing, port_open, redis_server_binary, redis_url
from tests.subscriptions.smtp import Handler, SMTPServer

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))
# DB 5 of the machine's Redis is this suite's broker (DB 4 would be the cache); runs side by
# side on one machine (several checkouts) pick another with TEST_BROKER_DB.
BROKER_DB = int(os.environ.get("TEST_BROKER_DB", "5"))

REDIS_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_timeout": 5,
    "socket_connect_timeout": 3,
    "retry_on_timeout": True,
}


def wait_for(predicate, timeout: float = 30, interval: float = 0.1, message: str = ""):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {message or predicate}")


@pytest.fixture
def postgres(transactional_db):
    if connection.vendor != "postgresql":
        missing("pipeline integration tests need PostgreSQL (set DATABASE_URL)")


def database_url() -> str:
    """The URL of the test database pytest-django created, for the worker."""
    db = django_settings.DATABASES["default"]
    auth = quote(db.get("USER") or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    host = db.get("HOST") or "127.0.0.1"
    netloc = (
        f"{auth}@{host}:{db.get('PORT') or 5432}" if auth else f"{host}:{db.get('PORT') or 5432}"
    )
    return urlunsplit(("postgres", netloc, "/" + db["NAME"], "", ""))


@contextmanager
def using_broker(url: str):
    """Make this (test) process publish to ``url``: the web side of the pipeline."""
    old = (celery_app.conf.broker_url, celery_app.conf.broker_transport_options)

    def reset():
        if celery_app._pool is not None:
            celery_app._pool.force_close_all()
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    # Celery's ``conf.broker_url`` prefers the CELERY_BROKER_URL environment variable
    # (set in CI) over the configuration, so point both at the test's broker.
    old_env = os.environ.get("CELERY_BROKER_URL")
    reset()
    os.environ["CELERY_BROKER_URL"] = url
    celery_app.conf.broker_url = url
    celery_app.conf.broker_transport_options = REDIS_OPTIONS
    try:
        yield url
    finally:
        reset()
        celery_app.conf.broker_url, celery_app.conf.broker_transport_options = old
        if old_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = old_env


@pytest.fixture
def shared_broker():
    """DB 5 of the machine's Redis, emptied first."""
    import redis

    base = urlsplit(redis_url())
    url = urlunsplit((base.scheme, base.netloc, f"/{BROKER_DB}", "", ""))
    redis.Redis.from_url(url).flushdb()
    with using_broker(url):
        yield url


class RedisServer:
    """A redis-server of our own (no persistence), which a test may stop and restart."""

    def __init__(self):
        self.binary = redis_server_binary()
        self.port = free_port()
        self.process = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: port_open("127.0.0.1", self.port), 10, message="redis-server")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        wait_for(lambda: not port_open("127.0.0.1", self.port), 10, message="redis to stop")


@pytest.fixture
def own_redis():
    server = RedisServer()
    server.start()
    try:
        with using_broker(server.url):
            yield server
    finally:
        server.stop()


@pytest.fixture
def smtp():
    with SMTPServer(Handler()) as server:
        yield server


@pytest.fixture
def mail_to_smtp(settings, smtp):
    """The test process (the web side: confirmation emails) sends to the same server."""
    use_mail_server(settings, smtp.settings())
    settings.STATUSPAGE_URL = "https://status.example.com"
    settings.STATUSPAGE_NAME = "Acme"
    return smtp


class Worker:
    """``celery -A statusportal worker --pool prefork -c 2`` against the test database."""

    def __init__(self, broker: str, smtp: SMTPServer, concurrency: int = 2, **env):
        self.concurrency = concurrency
        # Kept after the test (delete=False) so a failing run can be read.
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix="worker-", suffix=".log", delete=False
        )
        self.var_dir = tempfile.mkdtemp(prefix="sp-worker-")
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": broker,
            "CACHE_URL": "locmem://",
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}",
            "STATUSPAGE_URL": "https://status.example.com",
            "STATUSPAGE_NAME": "Acme",
            "STATUSPORTAL_VAR_DIR": self.var_dir,
            "SECRET_KEY": django_settings.SECRET_KEY,
            "SUBSCRIPTIONS_RETRY_BASE_SECONDS": "1",
            **{k: str(v) for k, v in env.items()},
        }
        self.env.pop("REDIS_URL", None)
        self.process = None

    def start(self) -> "Worker":
        self.process = subprocess.Popen(
            [
                CELERY,
                "-A",
                "statusportal",
                "worker",
                "--pool",
                "prefork",
                "-c",
                str(self.concurrency),
                "--queues",
                # Every queue of the Procfile's workers (email, sweeper, HTTP channels).
                "celery,outbox-sweep,outbox-http",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                "INFO",
                "-n",
                f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so kill() reaches the children
        )
        wait_for(
            lambda: b"ready." in Path(self.log.name).read_bytes() or self._died(),
            60,
            0.2,
            "the worker to be ready",
        )
        if self.process.poll() is not None:
            pytest.fail("worker exited:\n" + self.output())
        return self

    def _died(self) -> bool:
        return self.process.poll() is not None

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def pids(self) -> list[int]:
        import psutil

        main = psutil.Process(self.process.pid)
        return [main.pid] + [c.pid for c in main.children(recursive=True)]

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once: a crash, an OOM kill."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


@pytest.fixture
def start_worker():
    """Factory: ``start_worker(broker_url, smtp, **env)``; every worker is stopped at the
    end of the test and its log printed on failure."""
    workers: list[Worker] = []

    def start(broker: str, smtp: SMTPServer, **env) -> Worker:
        worker = Worker(broker, smtp, **env).start()  # concurrency=1 for one pool process
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()
        print(f"--- worker log {worker.log.name} ---\n{worker.output()[-4000:]}")


class Beat:
    """``celery -A statusportal beat`` against the test database and broker (the sweeper's
    schedule; SUBSCRIPTIONS_SWEEP_INTERVAL and the rest from ``env``)."""

    def __init__(self, broker: str, **env):
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix="beat-", suffix=".log", delete=False
        )
        self.var_dir = tempfile.mkdtemp(prefix="sp-beat-")
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": broker,
            "CACHE_URL": "locmem://",
            "STATUSPORTAL_VAR_DIR": self.var_dir,
            "SECRET_KEY": django_settings.SECRET_KEY,
            **{k: str(v) for k, v in env.items()},
        }
        self.env.pop("REDIS_URL", None)
        self.process = None

    def start(self) -> "Beat":
        self.process = subprocess.Popen(
            [CELERY, "-A", "statusportal", "beat", "--loglevel", "INFO"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(
            lambda: (
                b"beat: Starting" in Path(self.log.name).read_bytes()
                or self.process.poll() is not None
            ),
            60,
            0.2,
            "beat to start",
        )
        if self.process.poll() is not None:
            pytest.fail("beat exited:\n" + self.output())
        return self

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


@pytest.fixture
def start_beat():
    """Factory: ``start_beat(broker_url, **env)``; stopped at the end of the test."""
    beats: list[Beat] = []

    def start(broker: str, **env) -> Beat:
        beat = Beat(broker, **env).start()
        beats.append(beat)
        return beat

    yield start
    for beat in beats:
        beat.stop()
        print(f"--- beat log {beat.log.name} ---\n{beat.output()[-3000:]}")

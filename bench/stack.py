"""The services of the benchmark stack, each started here and stopped at the end:
a private redis-server (cache and broker), a fresh PostgreSQL database, gunicorn (2 workers),
a Celery worker (2 pool processes) and the SMTP sink; for the webhook rows, the HTTP
channels' worker (the Procfile's ``worker-http``) and an HTTP sink."""

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check, what: str, timeout: float = 60.0, process=None) -> None:
    """Poll ``check()`` until true; fail early if ``process`` exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode}")
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} not ready after {timeout:.0f} s")


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.status == 200


def ensure_wrk() -> str:
    """The path of ``wrk``, installing the Debian package when it is missing."""
    path = shutil.which("wrk")
    if path:
        return path
    print("wrk is missing; installing the Debian package…", flush=True)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "apt-get", "install", "-y", "-q", "wrk"], check=False)
    if not shutil.which("wrk"):
        subprocess.run([*sudo, "apt-get", "update", "-q"], check=False)
        subprocess.run([*sudo, "apt-get", "install", "-y", "-q", "wrk"], check=True)
    return shutil.which("wrk")


class Stack:
    """Everything the benchmarks run against. Use as a context manager."""

    def __init__(self, *, pg_url: str, keep_db: bool = False, verbose: bool = False):
        self.pg_url = pg_url
        self.keep_db = keep_db
        self.verbose = verbose
        self.var_dir = Path(tempfile.mkdtemp(prefix="statusportal-bench-"))
        self.db_name = f"sp_bench_{os.getpid()}"
        self.sample_path = self.var_dir / "sample.eml"
        self.http_sample_path = self.var_dir / "sample-request.json"
        self.http_port = free_port()
        self.http_sink = None
        self.redis_port = free_port()
        self.web_port = free_port()
        self.smtp_port = free_port()
        self.processes: dict[str, subprocess.Popen] = {}
        self.sink = None
        self._db_created = False
        parts = urlsplit(pg_url)
        self.database_url = urlunsplit(parts._replace(path=f"/{self.db_name}"))
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DATABASE_URL": self.database_url,
            "DATABASE_CONN_MAX_AGE": "600",
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "CACHE_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/1",
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "EMAIL_URL": f"smtp://127.0.0.1:{self.smtp_port}",
            "STATUSPORTAL_VAR_DIR": str(self.var_dir),
            "STATUSPAGE_URL": f"http://127.0.0.1:{self.web_port}",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            # The webhook sink listens on loopback.
            "SUBSCRIPTIONS_WEBHOOK_ALLOW_PRIVATE": "true",
        }
        self.env.pop("CI", None)

    # --- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> "Stack":
        try:
            self.start_redis()
            self.create_database()
            from bench.smtpsink import SmtpSink

            self.sink = SmtpSink.start(self.smtp_port, str(self.sample_path))
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop(name)
        if self.sink is not None:
            self.sink.stop()
        if self.http_sink is not None:
            self.http_sink.stop()
        if self._db_created and not self.keep_db:
            with contextlib.suppress(Exception):
                from django.db import connections

                connections.close_all()
            self.drop_database()
        shutil.rmtree(self.var_dir, ignore_errors=True)

    def log(self, name: str) -> Path:
        return self.var_dir / f"{name}.log"

    def spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.log(name), "ab")  # noqa: SIM115 (kept open for the child's life)
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = process
        return process

    def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def tail(self, name: str, lines: int = 30) -> str:
        try:
            return "\n".join(self.log(name).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # --- services ------------------------------------------------------------------------

    def start_redis(self) -> None:
        binary = shutil.which("redis-server")
        if not binary:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        process = self.spawn(
            "redis",
            [
                binary,
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.var_dir),
                "--databases",
                "4",
            ],
        )

        def ping():
            with socket.create_connection(("127.0.0.1", self.redis_port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")

        wait_for(ping, "redis-server", 20, process)

    def _admin_connection(self):
        import psycopg

        return psycopg.connect(self.pg_url, autocommit=True)

    def create_database(self) -> None:
        with self._admin_connection() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}"')
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        self._db_created = True

    def drop_database(self) -> None:
        with self._admin_connection() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        self._db_created = False

    def start_web(self) -> None:
        process = self.spawn(
            "gunicorn",
            [
                str(BIN / "gunicorn"),
                "statusportal.wsgi",
                "--bind",
                f"127.0.0.1:{self.web_port}",
                "--workers",
                "2",
                "--log-level",
                "warning",
                "--timeout",
                "120",
            ],
        )
        wait_for(lambda: http_ok(self.url("/healthz")), "gunicorn", 60, process)

    def _start_celery(self, name: str, what: str, *options: str) -> None:
        """A Celery worker of the Procfile's kind (2 pool processes), logged as ``name``."""
        process = self.spawn(
            name,
            [
                str(BIN / "celery"),
                "--app",
                "statusportal",
                "worker",
                *options,
                "--concurrency",
                "2",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                "INFO",
            ],
        )
        wait_for(lambda: b"ready." in self.log(name).read_bytes(), what, 60, process)

    def start_worker(self) -> None:
        self._start_celery("celery", "celery worker")

    def start_http_worker(self) -> None:
        """The Procfile's ``worker-http``: the HTTP channels' queue, and the HTTP sink."""
        from bench.httpsink import HttpSink

        self.http_sink = HttpSink.start(self.http_port, str(self.http_sample_path))
        self._start_celery("celery-http", "HTTP worker", "--queues", "outbox-http", "-n", "http@%h")

    def http_worker_pid(self) -> int | None:
        process = self.processes.get("celery-http")
        return process.pid if process else None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.web_port}{path}"

    def worker_pid(self) -> int | None:
        process = self.processes.get("celery")
        return process.pid if process else None

"""A PostgreSQL server killed with SIGKILL mid-send and restarted (crash recovery): no
email lost, duplicates within the README's bound (see "Delivery guarantees").

The cluster is the test's own (``initdb`` / ``pg_ctl`` on a free port), so killing it
harms nobody else; the worker, beat and the data set-up (``manage.py``) all use it."""

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import psutil
import psycopg
import pytest

from tests.integration.conftest import ROOT, Beat, Worker, wait_for
from tests.services import free_port, missing
from tests.subscriptions.smtp import Handler, SMTPServer

pytestmark = [pytest.mark.integration]

SUBSCRIBERS = 80
SET_UP = f"""
from components.models import Component
from incidents import services
from subscriptions.models import Subscriber
Subscriber.objects.bulk_create(
    [Subscriber(email=f"c{{i}}@example.com", state="active") for i in range({SUBSCRIBERS})]
)
rest = Component.objects.create(name="REST API", position=1)
services.open_incident(
    name="API errors", status="investigating", body="Crash.",
    components={{rest.code: Component.Status.MAJOR_OUTAGE}},
)
"""


class Cluster:
    """A throw-away PostgreSQL cluster (run as the ``postgres`` user when we are root)."""

    def __init__(self) -> None:
        # On PATH, or where Debian's postgresql packages put them (not on PATH there).
        self.tools = {}
        for tool in ("initdb", "pg_ctl"):
            found = shutil.which(tool) or next(
                iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"), reverse=True)), None
            )
            if found is None:
                missing(f"{tool} not found")
            self.tools[tool] = found
        self.user = None
        if os.geteuid() == 0:
            try:
                self.user = pwd.getpwnam("postgres")
            except KeyError:
                missing("running as root and no postgres user to run initdb as")
        self.dir = Path(tempfile.mkdtemp(prefix="sp-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        if self.user:
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/crash"

    def run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [self.tools[tool], *args],
            check=True,
            capture_output=True,
            user=self.user.pw_uid if self.user else None,
        )

    def init(self) -> None:
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        self.run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"),
                 "-w", "start")  # fmt: skip

    def crash(self) -> None:
        """SIGKILL the postmaster and every backend, as a power cut would."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        backends = psutil.Process(pid).children()
        os.kill(pid, signal.SIGKILL)
        for backend in backends:
            with contextlib.suppress(psutil.NoSuchProcess):
                backend.kill()
        wait_for(lambda: not any(map(_alive, [pid, *(b.pid for b in backends)])), 10,
                 message="postgres to die")  # fmt: skip

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                [self.tools["pg_ctl"], "-D", str(self.data), "-m", "immediate", "stop"],
                capture_output=True,
                user=self.user.pw_uid if self.user else None,
                check=False,
            )
        shutil.rmtree(self.dir, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def manage(url: str, broker: str, *args: str) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))},
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": broker,
        "CACHE_URL": "locmem://",
        "STATUSPORTAL_VAR_DIR": tempfile.mkdtemp(prefix="sp-manage-"),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_postgres_killed_mid_send_and_restarted_nothing_lost(own_redis):
    cluster = Cluster()
    processes = []
    try:
        cluster.init()
        cluster.start()
        with psycopg.connect(cluster.url.replace("/crash", "/postgres"), autocommit=True) as db:
            db.execute("CREATE DATABASE crash")
        manage(cluster.url, own_redis.url, "migrate", "--noinput", "-v", "0")
        with SMTPServer(Handler(count_only=True, delay=0.03)) as smtp:
            env = {"DATABASE_URL": cluster.url, "SUBSCRIPTIONS_BATCH_SIZE": 20}
            processes.append(Worker(own_redis.url, smtp, **env).start())
            beat = Beat(own_redis.url, DATABASE_URL=cluster.url)
            processes.append(beat.start())
            manage(cluster.url, own_redis.url, "shell", "-c", SET_UP)

            wait_for(lambda: smtp.handler.count >= 15, 30, message="the first mails")
            cluster.crash()
            assert smtp.handler.count < SUBSCRIBERS, "every mail went out before the crash"
            time.sleep(2)
            cluster.start()  # crash recovery

            def served() -> bool:
                with psycopg.connect(cluster.url) as db:
                    (left,) = db.execute(
                        "SELECT count(*) FROM subscriptions_delivery "
                        "WHERE state IN ('pending', 'sending')"
                    ).fetchone()
                    (rows,) = db.execute("SELECT count(*) FROM subscriptions_delivery").fetchone()
                return rows == SUBSCRIBERS and left == 0

            wait_for(served, 120, 1, "every delivery settled after the crash")
            time.sleep(1.5)
            with smtp.handler.lock:
                got = Counter(smtp.handler.recipients)
    finally:
        for process in processes:
            process.stop()
            print(f"--- {process.log.name} ---\n{process.output()[-3000:]}")
        cluster.stop()
    assert set(got) == {f"c{i}@example.com" for i in range(SUBSCRIBERS)}
    # The README's bound: one duplicate per send batch in flight (two pool processes).
    assert sum(n - 1 for n in got.values()) <= 2, {a: n for a, n in got.items() if n > 1}

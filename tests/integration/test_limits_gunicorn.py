"""Rate limits hold in production shape: gunicorn with two workers, where a counter in a
worker's own memory would allow twice the limit, and a made-up X-Forwarded-For would give
every request a fresh allowance. Counters in Redis, and in the database without Redis."""

import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest

from tests.integration.conftest import RedisServer, database_url, wait_for
from tests.services import free_port, port_open

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
LIMIT = 6


@pytest.fixture
def gunicorn(postgres, tmp_path):
    """Start ``gunicorn -w 2`` on the test database with ``env``; its base URL."""
    processes = []

    def start(**env) -> str:
        port = free_port()
        clean = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DJANGO_", "PYTEST_")) and k not in ("REDIS_URL", "CACHE_URL")
        }
        # The access log names the worker (pid) that answered each request.
        process = subprocess.Popen(
            [
                GUNICORN,
                "statusportal.wsgi",
                "-w",
                "2",
                "-b",
                f"127.0.0.1:{port}",
                "-t",
                "60",
                "--access-logfile",
                str(tmp_path / "access.log"),
                "--access-logformat",
                "%(p)s %(s)s %(U)s",
            ],
            cwd=ROOT,
            env={
                **clean,
                "DATABASE_URL": database_url(),
                "STATUSPORTAL_VAR_DIR": str(tmp_path),
                "API_ANON_THROTTLE_RATE": f"{LIMIT}/minute",
                "CELERY_BROKER_URL": "memory://",
                **env,
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes.append(process)
        wait_for(lambda: port_open("127.0.0.1", port), 60, message="gunicorn")
        return f"http://127.0.0.1:{port}"

    yield start
    for process in processes:
        process.terminate()
        process.wait(20)


def status_of(base: str) -> int:
    request = Request(
        f"{base}/api/v1/components/", headers={"X-Forwarded-For": str(uuid.uuid4())[:8]}
    )
    try:
        with urlopen(request, timeout=30) as response:
            return response.status
    except HTTPError as error:
        return error.code


def statuses(base: str, count: int) -> list[int]:
    """``count`` requests sent two at a time, so that both workers answer (a sync worker
    serves one request at a time: the second of a pair goes to the other)."""
    codes: list[int] = []
    with ThreadPoolExecutor(2) as pool:
        for _ in range(count // 2):
            codes.extend(pool.map(status_of, [base, base]))
    return codes


def workers_that_answered(tmp_path: Path, path: str) -> set[str]:
    """The pids of the workers that answered requests for ``path`` (the access log)."""
    log = tmp_path / "access.log"
    if not log.exists():
        return set()
    lines = [line.split() for line in log.read_text().splitlines()]
    return {fields[0] for fields in lines if len(fields) == 3 and fields[2] == path}


def both_workers_up(base: str, tmp_path: Path) -> None:
    """Wait until both workers answer (a worker still importing Django answers nothing, and
    the other would take every request): pairs of /healthz, which no limit counts."""

    def both() -> bool:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda _: urlopen(f"{base}/healthz", timeout=30).read(), range(2)))
        return len(workers_that_answered(tmp_path, "/healthz")) == 2

    wait_for(both, 60, message="both gunicorn workers")


def assert_held_across_workers(base: str, tmp_path: Path) -> None:
    both_workers_up(base, tmp_path)
    codes = statuses(base, 2 * LIMIT)
    # Counted once for both workers: with counters in each worker's memory, each would
    # allow LIMIT and far more than LIMIT requests would pass.
    assert sorted(codes) == [200] * LIMIT + [429] * LIMIT, codes
    assert len(workers_that_answered(tmp_path, "/api/v1/components/")) == 2


def test_the_api_throttle_holds_across_workers_with_redis(gunicorn, tmp_path):
    redis = RedisServer()
    redis.start()
    try:
        assert_held_across_workers(gunicorn(REDIS_URL=redis.url), tmp_path)
    finally:
        redis.stop()


def test_the_api_throttle_holds_across_workers_in_the_database(gunicorn, tmp_path):
    assert_held_across_workers(gunicorn(CACHE_URL="locmem://"), tmp_path)

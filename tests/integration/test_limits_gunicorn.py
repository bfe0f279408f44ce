"""Rate limits hold in production shape: gunicorn with two workers, where a counter in a
worker's own memory would allow twice the limit, and a made-up X-Forwarded-For would give
every request a fresh allowance. Counters in Redis, and in the database without Redis."""

import os
import subprocess
import sys
import uuid
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
        process = subprocess.Popen(
            [GUNICORN, "statusportal.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}", "-t", "60"],
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


def statuses(base: str, count: int) -> list[int]:
    codes = []
    for _ in range(count):
        request = Request(
            f"{base}/api/v1/components/", headers={"X-Forwarded-For": str(uuid.uuid4())[:8]}
        )
        try:
            with urlopen(request, timeout=30) as response:
                codes.append(response.status)
        except HTTPError as error:
            codes.append(error.code)
    return codes


def test_the_api_throttle_holds_across_workers_with_redis(gunicorn):
    redis = RedisServer()
    redis.start()
    try:
        base = gunicorn(REDIS_URL=redis.url)
        assert statuses(base, 2 * LIMIT) == [200] * LIMIT + [429] * LIMIT
    finally:
        redis.stop()


def test_the_api_throttle_holds_across_workers_in_the_database(gunicorn):
    base = gunicorn(CACHE_URL="locmem://")
    assert statuses(base, 2 * LIMIT) == [200] * LIMIT + [429] * LIMIT

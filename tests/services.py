"""Access to real services (PostgreSQL, Redis, SMTP, Chromium) for tests.

Locally a test whose service is missing is skipped; in CI (``CI=true``) it fails, so a
green CI run always means the service was really exercised.
"""

import os
import shutil
import socket
from urllib.parse import urlsplit

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def missing(reason: str):
    """Skip locally, fail in CI."""
    if IN_CI:
        pytest.fail(f"required service missing in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def redis_url() -> str:
    """The Redis server to use (REDIS_URL, or the machine's default), or skip/fail."""
    url = (
        os.environ.get("REDIS_URL")
        or os.environ.get("TEST_REDIS_URL")
        or "redis://127.0.0.1:6379/0"
    )
    parts = urlsplit(url)
    if not port_open(parts.hostname or "127.0.0.1", parts.port or 6379):
        missing(f"no Redis at {url}")
    return url


def redis_server_binary() -> str:
    path = shutil.which("redis-server")
    if not path:
        missing("redis-server binary not installed")
    return path


def chromium_binary() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not path:
        missing("Debian's chromium is not installed")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# axe-core, the accessibility engine, from npm into a git-ignored folder (.ci/run does this;
# locally run the same command).
AXE_INSTALL = "npm install --prefix var/node axe-core@4"
AXE_PATH = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "var/node/node_modules/axe-core/axe.min.js",
)


def axe_source() -> str:
    """The source of axe.min.js (``AXE_CORE_PATH`` or the project-local npm install)."""
    path = os.environ.get("AXE_CORE_PATH") or AXE_PATH
    if not os.path.isfile(path):
        missing(f"axe-core is not installed: run `{AXE_INSTALL}`")
    with open(path, encoding="utf-8") as source:
        return source.read()

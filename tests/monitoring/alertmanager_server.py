"""A real Prometheus Alertmanager (Debian's ``prometheus-alertmanager``) for the tests:
started with a temporary configuration whose webhook receiver posts to our live server,
with short group intervals, no clustering and its storage in a temporary folder."""

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.services import free_port, missing

BINARY_NAMES = ("prometheus-alertmanager", "alertmanager")

CONFIG = """\
route:
  receiver: statusportal
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 2s
receivers:
  - name: statusportal
    webhook_configs:
      - url: {url}
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {key}
"""


def binary() -> str:
    for name in BINARY_NAMES:
        path = shutil.which(name) or shutil.which(name, path="/usr/bin")
        if path:
            return path
    missing("Debian's prometheus-alertmanager is not installed")
    raise AssertionError  # (missing() skips or fails)


class Alertmanager:
    """One Alertmanager process; ``post_alert`` speaks its API (``POST /api/v2/alerts``)."""

    def __init__(self, folder: Path, webhook_url: str, key: str) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (folder / "alertmanager.yml").write_text(CONFIG.format(url=webhook_url, key=key))
        (folder / "data").mkdir()
        self.log = (folder / "alertmanager.log").open("w")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> "Alertmanager":
        self.process = subprocess.Popen(
            [
                binary(),
                f"--config.file={self.folder / 'alertmanager.yml'}",
                f"--storage.path={self.folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
                "--log.level=debug",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"alertmanager exited:\n{self.output()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as answer:
                    if answer.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.1)
        pytest.fail(f"alertmanager did not become ready:\n{self.output()}")

    def output(self) -> str:
        self.log.flush()
        return (self.folder / "alertmanager.log").read_text()[-6000:]

    def post_alert(
        self,
        labels: dict[str, str],
        annotations: dict[str, str] | None = None,
        *,
        ended: bool = False,
    ) -> None:
        """Send one alert to Alertmanager; ``ended`` sends it with ``endsAt`` in the past
        (how Prometheus says an alert stopped firing)."""
        now = datetime.now(UTC)
        alert: dict[str, Any] = {
            "labels": labels,
            "annotations": annotations or {},
            "generatorURL": "http://prometheus.example/graph",
        }
        if ended:
            alert["endsAt"] = (now - timedelta(seconds=1)).isoformat()
        request = urllib.request.Request(
            f"{self.url}/api/v2/alerts",
            data=json.dumps([alert]).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.status == 200, answer.read()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

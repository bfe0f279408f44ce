"""Ctrl-C during an import: a clear message, nothing half-imported, and the next run
completes. The import runs as a real process, so that it can be sent SIGINT."""

import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings

from importer.models import ImportedObject
from incidents.models import Incident
from tests.importer.conftest import database_url, run_import
from tests.importer.fakeapi import API_KEY, PAGE_ID

pytestmark = pytest.mark.django_db(transaction=True)


def test_ctrl_c_stops_with_a_message_and_the_next_run_completes(fake):
    env = {**os.environ, "DATABASE_URL": database_url()}
    fake.delay = 0.3  # a slow source: time to press Ctrl-C after the first incidents
    command = [sys.executable, "manage.py", "import_statuspage", "--url", fake.url]
    command += ["--page-id", PAGE_ID, "--api-key", API_KEY]
    importing = subprocess.Popen(
        command,
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not ImportedObject.objects.filter(kind="incident").exists():
        assert importing.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    importing.send_signal(signal.SIGINT)
    out, err = importing.communicate(timeout=60)

    assert importing.returncode == 1
    assert "Interrupted. Stopped; what was imported so far is complete." in err
    assert "Traceback" not in err
    assert "Import summary" in out
    assert 0 < Incident.objects.count() < 4
    for incident in Incident.objects.all():
        assert incident.updates.count() == len(
            fake.data.incidents_by_id(incident.code)["incident_updates"]
        )

    fake.delay = 0
    run_import(fake)

    assert Incident.objects.count() == 4

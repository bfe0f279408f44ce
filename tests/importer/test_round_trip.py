"""A round trip: the demo page on server A, imported through A's manage API (``/v1``)
into an empty server B, reads the same on B.

A is this test's database behind ``live_server``; B is a second PostgreSQL database,
migrated, written and read by subprocesses (``manage.py import_statuspage``, and a small
script that renders B's pages with Django's test client), since one pytest process
holds one database connection setting.
"""

import difflib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from demo import builder
from incidents.api.statuspage import page_id
from incidents.models import Incident
from statusportal.api.tokens import create_token
from tests.importer.conftest import database_url
from tests.importer.pages import read_pages

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(settings.BASE_DIR)
DEMO_INCIDENTS = 120


@pytest.fixture
def server_b():
    """An empty, migrated database for server B; dropped afterwards."""
    name = f"{connection.settings_dict['NAME']}_b"
    admin = psycopg.connect(database_url("postgres"), autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{name}"')
    # B's own cache: a page cached by A under the same revision number must not be read.
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["DATABASE_URL"] = database_url(name)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    try:
        yield env
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def server_a(live_server):
    """The demo page on A, and a key of an administrator of A."""
    builder.load(lambda message: None, incidents=DEMO_INCIDENTS, subscribers=20)
    admin = User.objects.create_superuser("ada", "ada@example.com", "x" * 20)
    _token, key = create_token(admin, "export")
    return {"url": f"{live_server.url}/v1", "page_id": page_id(), "key": key}


def import_command(a):
    return [
        sys.executable,
        "manage.py",
        "import_statuspage",
        "--url",
        a["url"],
        "--page-id",
        a["page_id"],
        "--api-key",
        a["key"],
    ]


def pages_of_b(env, codes):
    script = (
        "import django, json, sys; django.setup(); "
        "from django.test.utils import setup_test_environment; setup_test_environment(); "
        "from tests.importer.pages import read_pages; "
        "print(json.dumps(read_pages(json.loads(sys.argv[1]))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(codes)],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "statusportal.settings"},
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout)


def count_imported(env):
    with psycopg.connect(env["DATABASE_URL"]) as db:
        return db.execute("SELECT count(*) FROM importer_importedobject").fetchone()[0]


def differences(on_a, on_b):
    """The pages that differ, each with the first lines of a diff (for the message)."""
    found = []
    for path in on_a:
        if on_b.get(path) != on_a[path]:
            a, b = (
                json.dumps(side.get(path), indent=1, sort_keys=True).splitlines()
                if not isinstance(side.get(path), str)
                else side[path].splitlines()
                for side in (on_a, on_b)
            )
            diff = difflib.unified_diff(a, b, "A", "B", lineterm="", n=1)
            found.append(f"{path}\n" + "\n".join(list(diff)[:30]))
    return found


def test_a_page_imported_through_the_manage_api_reads_the_same(server_a, server_b):
    codes = list(Incident.objects.values_list("code", flat=True))
    on_a = read_pages(codes, client=Client())

    # Interrupted half way (Ctrl-C once the first page of incidents is in)...
    importing = subprocess.Popen(
        import_command(server_a), cwd=ROOT, env=server_b, stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 300
    while count_imported(server_b) < 60 and importing.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    importing.send_signal(signal.SIGINT)
    importing.wait(timeout=120)
    assert importing.returncode != 0, "the import ended before it could be interrupted"
    interrupted_at = count_imported(server_b)

    # ... and run again: it completes, and B reads as A does.
    done = subprocess.run(
        import_command(server_a), cwd=ROOT, env=server_b, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert count_imported(server_b) > interrupted_at
    on_b = pages_of_b(server_b, codes)
    assert on_b.keys() == on_a.keys()
    assert differences(on_a, on_b) == []

    # A second import changes nothing.
    again = subprocess.run(
        import_command(server_a), cwd=ROOT, env=server_b, capture_output=True, text=True
    )
    assert again.returncode == 0, again.stdout + again.stderr
    for line in again.stdout.splitlines():
        cells = [cell.strip() for cell in line.split("│")]
        if len(cells) > 3 and cells[2].isdigit():
            assert (cells[2], cells[3]) == ("0", "0"), line  # created, updated
    assert differences(on_b, pages_of_b(server_b, codes)) == []

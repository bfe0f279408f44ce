"""The importer's fixtures: a Statuspage-shaped manage API on loopback whose every
answer is checked against the OpenAPI description in ../shared."""

import re
from io import StringIO
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from tests.importer.fakeapi import API_KEY, PAGE_ID, FakeStatuspage, example_page

SPEC = Path(__file__).resolve().parents[3] / "shared/fixtures/statuspage/manage-v1-openapi.yaml"
SPEC_SERVER = "https://api.statuspage.io"


@pytest.fixture(scope="session")
def manage_api_spec():
    # The official description is not itself a valid OpenAPI document (an example per
    # response, `type: Object`): load it without validating the description, then check
    # the answers against its schemas.
    if not SPEC.exists():
        pytest.fail(f"The manage API description is missing: {SPEC}")
    return OpenAPI.from_file_path(str(SPEC), config=Config(spec_validator_cls=None))


_CHECKED = set()


def check_against_spec(spec, fake):
    """Every answer the fake gave (but the faults a test injected) has the shape the
    OpenAPI description gives for that path and status."""
    checked = 0
    for exchange in fake.exchanges:
        if exchange.injected:
            continue
        key = (exchange.path, tuple(sorted(exchange.query.items())), exchange.status)
        digest = (key, hash(exchange.body))
        if digest in _CHECKED:
            continue  # the same answer to the same request (another test): checked
        _CHECKED.add(digest)
        request = MockRequest(SPEC_SERVER, "get", exchange.path, args=exchange.query)
        response = MockResponse(
            exchange.body, status_code=exchange.status, content_type="application/json"
        )
        spec.validate_response(request, response)
        checked += 1
    return checked


@pytest.fixture
def fake(manage_api_spec):
    # The example page, two rows per page of every list, checked against the spec after
    # the test.
    with FakeStatuspage(example_page(), max_page_size=2) as server:
        yield server
    check_against_spec(manage_api_spec, server)


def run_import(fake, *args, api_key=API_KEY, page_id=PAGE_ID):
    """Run ``manage.py import_statuspage`` against ``fake``; returns (stdout, stderr)."""
    out, err = StringIO(), StringIO()
    try:
        _call(fake, args, api_key, page_id, out, err)
    except CommandError as exc:
        exc.stdout, exc.stderr = out.getvalue(), err.getvalue()
        raise
    return out.getvalue(), err.getvalue()


def _call(fake, args, api_key, page_id, out, err):
    call_command(
        "import_statuspage",
        "--url",
        fake.url if hasattr(fake, "url") else fake,
        "--page-id",
        page_id,
        "--api-key",
        api_key,
        "--retries",
        "2",
        *args,
        stdout=out,
        stderr=err,
    )


def counts(out, label):
    """The numbers of one row of the summary table: created, updated, unchanged, skipped,
    failed."""
    line = next(line for line in out.splitlines() if label in line)
    return [int(n) for n in re.findall(r"\d+", line)]


def database_url(name=None):
    """A ``DATABASE_URL`` for a process of ours: this test's database, or ``name`` on the
    same server."""
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{quote(db['USER'], safe='')}{password}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{name or db['NAME']}"
    )

"""Static files work with DEBUG off before collectstatic has run (the runserver habit)."""

import pytest
from django.test import Client


@pytest.fixture
def no_collectstatic(settings, tmp_path):
    # What production configures, with an empty STATIC_ROOT: collectstatic never ran.
    # (Changing these settings resets the static files storage.)
    settings.STATIC_ROOT = tmp_path
    settings.DEBUG = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "statusportal.staticstorage.ManifestOrPlainStorage"},
    }


def test_pages_link_plain_static_names_that_are_served(db, no_collectstatic):
    client = Client()
    page = client.get("/")
    assert page.status_code == 200
    assert 'href="/static/statusportal/status.css"' in page.content.decode()
    css = client.get("/static/statusportal/status.css")
    assert css.status_code == 200
    assert b"".join(css.streaming_content).startswith(b"/* statusportal")

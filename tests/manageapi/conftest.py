"""Actors of the manage API tests, and the check every ``/v1`` response passes: it must
validate against Statuspage's own OpenAPI description (``../shared`` next to the repo).

Every response a test gets — through the ``manage`` clients here, or through ``requests``
against a live server (the real PyPI client) — is validated by :func:`check_response`.
"""

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import yaml
from django.conf import settings
from django.test import Client
from openapi_core import OpenAPI
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.testing import MockRequest, MockResponse
from openapi_schema_validator import OAS30Validator

from incidents.api.statuspage import page_id
from statusportal.api.tokens import create_token

ROOT = Path(settings.BASE_DIR)
SPEC_PATH = ROOT.parent / "shared" / "fixtures" / "statuspage" / "manage-v1-openapi.yaml"

# Where the description contradicts itself and the service it describes, corrected before
# use, each for a stated reason (nothing else is changed):
# - Incident.metadata is typed "Object", not an OpenAPI type: the description does not
#   load at all without "object";
# - a component group's ``components`` and a subscriber's ``components`` are typed as one
#   string, where the request bodies of the same description send (and Statuspage and
#   its clients read) an array of component ids;
# - a group's ``position`` is typed as a string where a component's is an integer; both
#   are the same page order.
ERRATA = [
    (("Incident", "metadata"), {"type": "object"}),
    (("GroupComponent", "components"), {"type": "array", "items": {"type": "string"}}),
    (("GroupComponent", "position"), {"type": "integer", "format": "int32"}),
    (("Subscriber", "components"), {"type": "array", "items": {"type": "string"}}),
]


class _NoTimestamps(yaml.SafeLoader):
    """YAML as JSON would read it: dates stay strings (the description's examples)."""


_NoTimestamps.yaml_implicit_resolvers = {
    key: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_spec() -> dict[str, Any]:
    if not SPEC_PATH.exists():
        pytest.fail(f"The manage API's OpenAPI description is missing: {SPEC_PATH}")
    spec = yaml.load(SPEC_PATH.read_text(), Loader=_NoTimestamps)  # a SafeLoader
    schemas = spec["components"]["schemas"]
    for (schema, field), replacement in ERRATA:
        schemas[schema]["properties"][field] = replacement
    spec["servers"] = [{"url": "/v1"}]
    return spec


_loaded: dict[str, Any] = {}


def openapi() -> tuple[OpenAPI, OAS30Validator]:
    """The description, loaded once per process (it takes seconds)."""
    if not _loaded:
        spec = load_spec()
        _loaded["api"] = OpenAPI.from_dict(spec)
        _loaded["error"] = OAS30Validator(spec["components"]["schemas"]["ErrorEntity"])
    return _loaded["api"], _loaded["error"]


def check_response(
    method: str, path: str, status: int, body: bytes, content_type: str | None
) -> None:
    """Fail unless the response validates against the description.

    1. Every ``/v1`` response is JSON, or empty (204).
    2. Paths are matched without the optional ``.json`` suffix (Statuspage's own
       paths are described without it).
    3. A status the description lists for the operation validates against its schema;
       an error status it does not list (a 409, a 422 or 429 it forgot, a path we
       answer as not supported) must still be an ``ErrorEntity``.
    """
    if status == 204:
        assert not body, body
        return
    assert (content_type or "").startswith("application/json"), (status, content_type, body)
    document = json.loads(body)
    api, error_validator = openapi()
    spec_path = path.removesuffix("/")
    spec_path = spec_path.removesuffix(".json")
    request = MockRequest("http://testserver", method.lower(), spec_path)
    try:
        api.validate_response(request, MockResponse(body, status_code=status))
    except (PathNotFound, OperationNotFound, ResponseNotFound):
        assert status >= 400, f"{method} {path} answered {status}, undocumented: {document}"
        error_validator.validate(document)
        assert isinstance(document.get("message"), str), document


class ManageClient(Client):
    """Django's test client holding a key, validating every response it gets."""

    def __init__(self, key: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.key = key

    def request(self, **request: Any) -> Any:
        if self.key is not None and "HTTP_AUTHORIZATION" not in request:
            request["HTTP_AUTHORIZATION"] = f"OAuth {self.key}"
        response = super().request(**request)
        check_response(
            request["REQUEST_METHOD"],
            request["PATH_INFO"],
            response.status_code,
            response.content,
            response.get("Content-Type"),
        )
        return response

    def send(self, method: str, path: str, data: Any = None, **extra: Any) -> Any:
        """A JSON body (``data``), as most scripts send."""
        call = getattr(self, method.lower())
        if data is None:
            return call(path, **extra)
        return call(path, json.dumps(data), content_type="application/json", **extra)


def url(path: str = "") -> str:
    """``/v1/pages/<our page id>`` followed by ``path``."""
    return f"/v1/pages/{page_id()}{path}"


@pytest.fixture
def admin_user(django_user_model):
    # Ada is a superuser: every permission, as the owner of a Statuspage account.
    return django_user_model.objects.create_superuser(
        "ada", "ada@example.com", "correct horse battery staple"
    )


@pytest.fixture
def admin_key(admin_user):
    # Ada's key for her deploy scripts.
    _, key = create_token(admin_user, "deploy scripts")
    return key


@pytest.fixture
def manage(admin_key):
    # Ada's scripts speaking the manage API to us.
    return ManageClient(admin_key)


@pytest.fixture
def support_manage(support_user):
    # Sam's alerting bridge: Support staff, runs incidents, may not edit the catalogue.
    _, key = create_token(support_user, "alertmanager bridge")
    return ManageClient(key)


@pytest.fixture
def anonymous_manage(db):
    # Someone without a key.
    return ManageClient()


@pytest.fixture
def validated_requests(monkeypatch):
    """Every response ``requests`` gets from a ``/v1`` path (the real PyPI client uses
    ``requests``) is validated too; the fixture is the list of what was checked."""
    original = requests.Session.send
    checked: list[str] = []

    def send(self: requests.Session, prepared: requests.PreparedRequest, **kwargs: Any) -> Any:
        response = original(self, prepared, **kwargs)
        path = urlsplit(prepared.url or "").path
        if path.startswith("/v1/"):
            check_response(
                prepared.method or "GET",
                path,
                response.status_code,
                response.content,
                response.headers.get("Content-Type"),
            )
            checked.append(f"{prepared.method} {path} {response.status_code}")
        return response

    monkeypatch.setattr(requests.Session, "send", send)
    return checked

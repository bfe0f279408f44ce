"""The manage API client: key, retries, paging and the messages of its failures."""

import email.utils
from datetime import UTC, datetime, timedelta

import pytest

from importer.client import ApiError, ManageClient, NotFound
from tests.importer.conftest import check_against_spec
from tests.importer.fakeapi import API_KEY, PAGE_ID


def client_for(fake, sleeps, **kwargs):
    return ManageClient(fake.url, PAGE_ID, API_KEY, sleep=sleeps.append, **kwargs)


def test_the_key_goes_in_an_oauth_header(fake):
    assert ManageClient(fake.url, PAGE_ID, API_KEY).get("")["id"] == PAGE_ID


def test_retry_after_is_honoured(fake):
    sleeps = []
    fake.rate_limit_once = {f"/v1/pages/{PAGE_ID}/components"}

    pages = list(client_for(fake, sleeps).pages("/components"))

    assert sleeps == [1.0]
    assert sum(len(p) for p in pages) == len(fake.data.components)


def test_retry_after_may_be_a_date(fake):
    sleeps = []
    fake.rate_limit_once = {f"/v1/pages/{PAGE_ID}"}
    fake.retry_after = email.utils.format_datetime(
        datetime.now(UTC) + timedelta(seconds=30), usegmt=True
    )

    client_for(fake, sleeps).get("")

    assert len(sleeps) == 1 and 25 <= sleeps[0] <= 30


def test_server_errors_are_retried_with_backoff_then_reported(fake):
    sleeps = []
    fake.fail_after = 0

    with pytest.raises(ApiError, match=r"/v1/pages/gytm4qzbx9t6 answered 500") as failed:
        client_for(fake, sleeps, retries=3).get("")

    assert sleeps == [0.5, 1.0, 2.0]
    assert failed.value.status == 500


def test_every_page_of_a_list_is_read(fake):
    pages = list(client_for(fake, []).pages("/components"))

    assert [len(p) for p in pages] == [2, 2, 1]  # the fake sends two rows a page


def test_a_server_that_ignores_paging_ends_the_walk(fake):
    fake.ignore_paging = True

    pages = list(client_for(fake, []).pages("/components"))

    assert [len(p) for p in pages] == [2]


def test_subscribers_are_read_from_page_1_where_page_0_is_refused(fake):
    fake.pages_from_one = True

    pages = list(client_for(fake, []).pages("/subscribers", size_param="limit", first=0))

    assert [row["id"] for page in pages for row in page] == [s["id"] for s in fake.data.subscribers]


def test_an_answer_that_is_not_json_is_named(fake):
    fake.answer_with = {f"/v1/pages/{PAGE_ID}": (200, "<html>Maintenance</html>")}

    with pytest.raises(ApiError, match=r"did not answer JSON: <html>Maintenance</html>"):
        client_for(fake, []).get("")


def test_a_list_that_is_not_a_list_is_named(fake):
    fake.answer_with = {f"/v1/pages/{PAGE_ID}/components": (200, '{"components": []}')}

    with pytest.raises(ApiError, match=r"/components did not answer a list"):
        list(client_for(fake, []).pages("/components"))


def test_a_forbidden_key_is_named(fake):
    fake.answer_with = {f"/v1/pages/{PAGE_ID}": (403, '{"message": "Forbidden"}')}

    with pytest.raises(ApiError, match=r"may not read .* \(403\)"):
        client_for(fake, []).get("")


def test_a_missing_object_is_not_found(fake):
    with pytest.raises(NotFound):
        client_for(fake, []).get("/incidents/inc0open0001/postmortem")


def test_the_spec_check_catches_a_fake_that_strays_from_the_description(fake, manage_api_spec):
    fake.data.components[0]["status"] = "fine"  # not a status of the description
    client_for(fake, []).get("/components")

    with pytest.raises(Exception, match="fine"):
        check_against_spec(manage_api_spec, fake)
    fake.data.components[0]["status"] = "operational"
    fake.exchanges.clear()

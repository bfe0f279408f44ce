"""Safe by default: admin brute-force protection."""

import pytest

PASSWORD = "correct horse battery staple"


@pytest.mark.django_db
def test_admin_login_locks_out_after_repeated_failures(client, support_user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post("/admin/login/", {"username": "sam", "password": "wrong"})
        assert response.status_code == 200  # the login form again, with an error
    response = client.post("/admin/login/", {"username": "sam", "password": "wrong"})
    assert response.status_code == 429  # locked out
    response = client.post("/admin/login/", {"username": "sam", "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_admin_login_works_with_the_right_password(client, support_user):
    response = client.post("/admin/login/?next=/admin/", {"username": "sam", "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(support_user.pk)


@pytest.mark.django_db
def test_the_admin_lockout_counts_the_client_behind_a_trusted_proxy(client, support_user, settings):
    # Behind the proxy every request comes from 127.0.0.1: one visitor's failures must not
    # lock out the others.
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    settings.ADMIN_LOGIN_FAILURES_PER_IP = 5
    for number in range(8):
        client.post(
            "/admin/login/",
            {"username": f"user{number}", "password": "Summer2026!"},
            HTTP_X_FORWARDED_FOR="203.0.113.5",
        )
    client.post(
        "/admin/login/",
        {"username": "sam", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="203.0.113.5",
    )
    assert "_auth_user_id" not in client.session
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "sam", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="198.51.100.20",
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(support_user.pk)


def test_one_password_across_a_64_of_ipv6_addresses_locks_the_network(
    client, support_user, settings
):
    # One customer (or attacker) holds a whole /64: every address in it counts as one.
    settings.TRUSTED_PROXIES = []
    settings.ADMIN_LOGIN_FAILURES_PER_IP = 15
    for number in range(1, 21):
        client.post(
            "/admin/login/",
            {"username": f"user{number}", "password": "Summer2026!"},
            REMOTE_ADDR=f"2001:db8:1:2::{number:x}",
        )
    client.post(
        "/admin/login/", {"username": "sam", "password": PASSWORD}, REMOTE_ADDR="2001:db8:1:2::ffff"
    )
    assert "_auth_user_id" not in client.session
    # The next /64 is another customer.
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "sam", "password": PASSWORD},
        REMOTE_ADDR="2001:db8:1:3::1",
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(support_user.pk)


def test_one_password_across_many_usernames_locks_the_address(client, support_user, settings):
    settings.TRUSTED_PROXIES = []
    settings.ADMIN_LOGIN_FAILURES_PER_IP = 15
    attacker = {"REMOTE_ADDR": "203.0.113.5", "HTTP_USER_AGENT": "spray"}
    for number in range(20):
        client.post(
            "/admin/login/",
            {"username": f"user{number}", "password": "Summer2026!"},
            HTTP_USER_AGENT=f"spray/{number}",  # a new user agent each time, too
            HTTP_X_FORWARDED_FOR=f"192.0.2.{number}",  # made up: ignored
            REMOTE_ADDR="203.0.113.5",
        )
    # Even the right password for a real account is refused from that address now.
    client.post("/admin/login/", {"username": "sam", "password": PASSWORD}, **attacker)
    assert "_auth_user_id" not in client.session
    # Sam, from another address, is not affected.
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "sam", "password": PASSWORD},
        REMOTE_ADDR="198.51.100.20",
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(support_user.pk)

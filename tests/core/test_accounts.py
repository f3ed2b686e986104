"""Accounts end to end: e-mails go through the task queue to a real SMTP server on loopback."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.test import Client

from yulan.core.models import User

from ..smtp import SMTPServer

PASSWORD = "a-long-passphrase-77"


@pytest.fixture
def smtp(settings):
    with SMTPServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = server.port
        yield server.inbox


def code_in(message) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(r"^\s*([A-Z0-9]{4}-?[A-Z0-9]{4})\s*$", text, re.MULTILINE)
    assert match, text
    return match.group(1)


def test_sign_up_verifies_the_address_by_a_mailed_code(transactional_db, smtp):
    client = Client()
    response = client.post(
        "/en/accounts/signup/",
        {"email": "Newcomer@Example.org", "password1": "a-long-passphrase-77", "password2": "a-long-passphrase-77"},
    )
    assert response.status_code == 302
    user = User.objects.get(email="newcomer@example.org")
    assert user.password.startswith("md5$") or user.password.startswith("argon2")
    (message,) = smtp.to("newcomer@example.org")
    assert message["Subject"]
    assert "Yulan" in message.get_body(preferencelist=("plain",)).get_content()
    assert not EmailAddress.objects.get(user=user).verified
    response = client.post(response["Location"], {"code": code_in(message)})
    assert response.status_code == 302
    assert EmailAddress.objects.get(user=user).verified


def test_sign_in_by_a_mailed_code(transactional_db, smtp):
    user = User.objects.create_user("resident@example.org", "irrelevant-pass-123")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    client = Client()
    response = client.post("/en/accounts/login/code/", {"email": "resident@example.org"})
    assert response.status_code == 302
    (message,) = smtp.to("resident@example.org")
    response = client.post(response["Location"], {"code": code_in(message)})
    assert response.status_code == 302
    assert client.get("/en/").context["user"] == user


def test_a_wrong_code_is_refused_with_a_message(transactional_db, smtp):
    user = User.objects.create_user("resident@example.org", "irrelevant-pass-123")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    client = Client()
    response = client.post("/en/accounts/login/code/", {"email": "resident@example.org"})
    response = client.post(response["Location"], {"code": "WRONG1"})
    assert response.status_code == 200
    assert "Incorrect code" in response.content.decode()
    assert not client.get("/en/").context["user"].is_authenticated


def test_password_reset_mails_a_link_that_sets_a_new_password(transactional_db, smtp):
    user = User.objects.create_user("resident@example.org", "old-password-123")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    client = Client()
    assert client.post("/en/accounts/password/reset/", {"email": "resident@example.org"}).status_code == 302
    (message,) = smtp.to("resident@example.org")
    text = message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"https?://[^/\s]+(/\S+)", text).group(1)
    response = client.get(link)
    assert response.status_code == 302  # to the same form without the key in the URL
    response = client.post(response["Location"], {"password1": "new-password-456!", "password2": "new-password-456!"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("new-password-456!")


def test_account_mail_is_rendered_in_the_language_of_the_page(transactional_db, smtp):
    Client().post(
        "/de/accounts/signup/",
        {"email": "neu@example.org", "password1": "a-long-passphrase-77", "password2": "a-long-passphrase-77"},
    )
    (message,) = smtp.to("neu@example.org")
    assert "E-Mail" in message["Subject"] or "Bestätig" in message.get_body(preferencelist=("plain",)).get_content()


def test_repeated_failed_sign_ins_are_refused_even_with_the_right_password(db):
    User.objects.create_user("resident@example.org", "right-password-123")
    client = Client()
    for _ in range(6):
        client.post("/en/accounts/login/", {"login": "resident@example.org", "password": "wrong"})
    response = client.post("/en/accounts/login/", {"login": "resident@example.org", "password": "right-password-123"})
    assert "Too many failed login attempts" in response.content.decode()
    assert not client.get("/en/").context["user"].is_authenticated


def test_sign_ups_from_one_address_are_rate_limited(db):
    client = Client()
    statuses = [
        client.post(
            "/en/accounts/signup/",
            {"email": f"person{i}@example.org", "password1": PASSWORD, "password2": PASSWORD},
        ).status_code
        for i in range(22)
    ]
    assert statuses[0] == 302
    assert statuses[-1] == 429


def test_a_bad_email_at_sign_up_is_named_and_kept(db):
    response = Client().post(
        "/en/accounts/signup/", {"email": "not-an-address", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "valid email" in page.lower()
    assert 'value="not-an-address"' in page
    assert not User.objects.exists()

import datetime
import hashlib
import io

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.utils import timezone

from yulan.core.errors import ApplicationError, NotAllowed
from yulan.core.models import AuditEntry
from yulan.voice import apikeys
from yulan.voice.models import ApiClient

from .conftest import submit


def test_create_keeps_only_a_digest(db):
    client, raw = apikeys.create("  Mobile app ")
    client.refresh_from_db()
    assert client.name == "Mobile app"
    assert len(raw) >= 40
    assert client.key_digest == hashlib.sha256(raw.encode()).hexdigest()
    assert client.key_prefix == raw[:8]
    stored = " ".join(str(v) for v in ApiClient.objects.values_list().get(pk=client.pk))
    assert raw not in stored
    entry = AuditEntry.objects.get(action="open311.key.create")
    assert raw not in str(entry.after) and client.key_digest not in str(entry.after)


def test_create_refuses_an_empty_name_and_checks_rights(db, resident, admin_user):
    with pytest.raises(ApplicationError):
        apikeys.create("  ")
    with pytest.raises(NotAllowed):
        apikeys.create("App", actor=resident)
    client, _raw = apikeys.create("App", actor=admin_user)
    assert client.pk


def test_verify(open311_client):
    client, raw = open311_client
    assert apikeys.verify(raw) == client
    assert apikeys.verify(f" {raw} ") == client
    assert apikeys.verify("") is None
    assert apikeys.verify(None) is None
    assert apikeys.verify(raw + "x") is None
    assert apikeys.verify(raw[:-1]) is None
    assert apikeys.verify("x" * 10_000) is None


def test_last_used_is_written_at_most_once_a_minute(open311_client, django_assert_num_queries):
    client, raw = open311_client
    assert client.last_used_at is None
    with django_assert_num_queries(2):  # read, then write last_used_at
        apikeys.verify(raw)
    first = ApiClient.objects.get(pk=client.pk).last_used_at
    assert first is not None
    with django_assert_num_queries(0):  # remembered for a minute
        apikeys.verify(raw)
    assert ApiClient.objects.get(pk=client.pk).last_used_at == first
    # A minute later the key is read again, and its use written again.
    ApiClient.objects.filter(pk=client.pk).update(last_used_at=timezone.now() - datetime.timedelta(seconds=61))
    cache.clear()
    apikeys.forget()
    with django_assert_num_queries(2):
        apikeys.verify(raw)
    assert ApiClient.objects.get(pk=client.pk).last_used_at > first


def test_revoke(open311_client):
    client, raw = open311_client
    with pytest.raises(ApplicationError):
        apikeys.revoke("ab")  # too short to name one key
    with pytest.raises(ApplicationError) as missing:
        apikeys.revoke("zzzzzzzz" if not raw.startswith("zzzz") else "yyyyyyyy")
    assert missing.value.status == 404
    revoked = apikeys.revoke(raw[:6])
    assert revoked == client and not revoked.active
    assert apikeys.verify(raw) is None
    assert AuditEntry.objects.filter(action="open311.key.revoke", target_id=str(client.pk)).exists()
    # Revoking again changes nothing and is not an error.
    assert apikeys.revoke(raw[:8]) == client


def test_revoke_compares_case(open311_client):
    client, raw = open311_client
    other_case = raw[:8].swapcase()
    if other_case == raw[:8]:
        pytest.skip("the key's first characters have no letters")
    with pytest.raises(ApplicationError):
        apikeys.revoke(other_case)
    assert ApiClient.objects.get(pk=client.pk).active


def test_command_create_list_revoke(db):
    out = io.StringIO()
    call_command("open311_key", "create", "Bike app", stdout=out)
    lines = out.getvalue().strip().splitlines()
    raw = lines[-1].strip()
    client = apikeys.verify(raw)
    assert client is not None and client.name == "Bike app"

    out = io.StringIO()
    call_command("open311_key", "list", stdout=out)
    listed = out.getvalue()
    assert client.key_prefix in listed and "Bike app" in listed and "active" in listed
    assert raw not in listed and client.key_digest not in listed

    out = io.StringIO()
    call_command("open311_key", "revoke", client.key_prefix, stdout=out)
    assert "Revoked" in out.getvalue()
    assert apikeys.verify(raw) is None
    out = io.StringIO()
    call_command("open311_key", "list", stdout=out)
    assert "revoked" in out.getvalue()

    with pytest.raises(CommandError):
        call_command("open311_key", "revoke", "nothing-like-this", stdout=io.StringIO())


def test_command_list_when_empty(db):
    out = io.StringIO()
    call_command("open311_key", "list", stdout=out)
    assert "No Open311 clients" in out.getvalue()


def test_admin_shows_no_key_and_no_contact_details(client, admin_user, open311_client, routing):
    api_client, raw = open311_client
    item = submit(contact_phone="+86 138 0000 0000").item
    client.force_login(admin_user)

    page = client.get(f"/admin/voice/apiclient/{api_client.pk}/change/")
    assert page.status_code == 200
    assert raw not in page.content.decode()
    assert client.get("/admin/voice/apiclient/add/").status_code == 403

    listing = client.get("/admin/voice/item/")
    assert listing.status_code == 200
    detail = client.get(f"/admin/voice/item/{item.pk}/change/")
    assert detail.status_code == 200
    for page in (listing, detail):
        text = page.content.decode()
        assert "ana@example.org" not in text
        assert "138 0000" not in text
        assert item.secret not in text
    assert client.post(f"/admin/voice/item/{item.pk}/delete/", {"post": "yes"}).status_code == 403

    for name in ("category", "routingrule", "tag"):
        assert client.get(f"/admin/voice/{name}/").status_code == 200

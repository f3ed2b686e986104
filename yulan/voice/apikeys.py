"""API keys of Open311 clients. A key is shown once, when it is made; only its SHA-256 digest
and its first characters (to tell keys apart in lists) are kept."""

import datetime
import hashlib
import secrets
import time

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yulan.core.errors import ApplicationError
from yulan.core.models import User
from yulan.core.permissions import Perm, require
from yulan.core.services import audit_record, snapshot
from yulan.voice.models import ApiClient

PREFIX_CHARS = 8
# Keys are 43 characters; anything much longer is not one of ours and is not even hashed.
MAX_KEY_CHARS = 200
# last_used_at is written at most this often per client, not on every request.
LAST_USED_EVERY = datetime.timedelta(minutes=1)


# Keys verified lately in this process: digest → (when, client).
_recent: dict[str, tuple[float, ApiClient]] = {}
LOCAL_SECONDS = 10


def forget() -> None:
    """Drop this process's remembered keys."""
    _recent.clear()


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _snapshot(client: ApiClient) -> dict[str, object]:
    data = snapshot(client)
    data.pop("key_digest", None)
    return data


def create(name: str, *, actor: User | None = None) -> tuple[ApiClient, str]:
    """A new client and its key. The key is returned here and never again."""
    if actor is not None:
        require(actor, Perm.FEEDBACK_SETUP)
    name = (name or "").strip()
    if not name:
        raise ApplicationError(_("Give the client a name."), field="name")
    if len(name) > 150:
        raise ApplicationError(_("The name is too long (at most 150 characters)."), field="name")
    with transaction.atomic():
        while True:
            raw = secrets.token_urlsafe(32)
            prefix = raw[:PREFIX_CHARS]
            # The prefix names the key in lists and on revocation: keep it unambiguous.
            if not ApiClient.objects.filter(key_prefix=prefix).exists():
                break
        client = ApiClient.objects.create(name=name, key_digest=digest(raw), key_prefix=prefix)
        audit_record(actor=actor, action="open311.key.create", target=client, after=_snapshot(client))
    return client, raw


def verify(raw: str | None) -> ApiClient | None:
    """The active client this key belongs to, or None."""
    raw = (raw or "").strip()
    if not raw or len(raw) > MAX_KEY_CHARS:
        return None
    key_digest = digest(raw)
    cache_key = f"open311-key:{key_digest}"
    # Known keys are remembered (an Open311 client posts many requests): for a few seconds in
    # this process, for a minute in the shared cache. Revoking a key forgets it in the shared
    # cache at once; other processes' copies lapse within LOCAL_SECONDS.
    now_mono = time.monotonic()
    local = _recent.get(key_digest)
    client: ApiClient | None = local[1] if local is not None and now_mono - local[0] < LOCAL_SECONDS else None
    if client is None:
        client = cache.get(cache_key)
    if client is None:
        client = ApiClient.objects.filter(key_digest=key_digest, active=True).first()
        if client is None:
            return None
        cache.set(cache_key, client, timeout=60)
    now = timezone.now()
    if client.last_used_at is None or now - client.last_used_at >= LAST_USED_EVERY:
        ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
        client.last_used_at = now
        cache.set(cache_key, client, timeout=60)
    if len(_recent) > 1000:
        _recent.clear()
    _recent[key_digest] = (now_mono, client)
    return client


def revoke(prefix: str, *, actor: User | None = None) -> ApiClient:
    """Stop the key that starts with `prefix` from working; the client's record stays."""
    if actor is not None:
        require(actor, Perm.FEEDBACK_SETUP)
    prefix = (prefix or "").strip()[:PREFIX_CHARS]
    if len(prefix) < 4:
        raise ApplicationError(_("Give at least the first 4 characters of the key."), field="prefix")
    with transaction.atomic():
        # Compared again here: some databases match prefixes without regard to case.
        found = [
            client
            for client in ApiClient.objects.select_for_update().filter(key_prefix__startswith=prefix)
            if client.key_prefix.startswith(prefix)
        ]
        if not found:
            raise ApplicationError(_("No key starts with “%(prefix)s”.") % {"prefix": prefix}, status=404)
        if len(found) > 1:
            raise ApplicationError(_("Several keys start with “%(prefix)s”.") % {"prefix": prefix})
        client = found[0]
        if client.active:
            before = _snapshot(client)
            client.active = False
            client.save(update_fields=["active"])
            cache.delete(f"open311-key:{client.key_digest}")
            _recent.pop(client.key_digest, None)
            audit_record(
                actor=actor, action="open311.key.revoke", target=client, before=before, after=_snapshot(client)
            )
    return client

import datetime
import zoneinfo

import pytest
from django.core import mail
from django.utils import timezone

from tests.guide.factories import PlaceFactory
from yulan.core.i18n import translations_of
from yulan.core.mail import outbox_deliver
from yulan.core.models import Role, User
from yulan.core.services import role_grant
from yulan.events import services
from yulan.events.models import Event


@pytest.fixture
def other_coordinator(admin_user, other_community):
    """The coordinator of community B (the `coordinator` fixture runs community A)."""
    user = User.objects.create_user("coordinator-b@example.org", "pw-coord-b-1234")
    role_grant(actor=admin_user, user=user, role=Role.COORDINATOR, community=other_community)
    return user


@pytest.fixture
def venue(db):
    return PlaceFactory(slug="hongqiao-centre", name={"en": "Hongqiao Community Centre", "zh-hans": "虹桥社区中心"})


SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def in_days(days: float, hour: int = 14) -> datetime.datetime:
    """`hour` o'clock in Shanghai, `days` from now: events start well in the future."""
    moment = (timezone.now() + datetime.timedelta(days=days)).astimezone(SHANGHAI)
    return moment.replace(hour=hour, minute=0, second=0, microsecond=0)


def event_input(slug="tea-afternoon", **overrides) -> services.EventInput:
    starts_at = overrides.pop("starts_at", None) or in_days(10)
    data = {
        "slug": slug,
        "title": {"en": "International tea afternoon", "zh-hans": "国际茶话会"},
        "starts_at": starts_at,
        "ends_at": starts_at + datetime.timedelta(hours=2),
        "time_zone": "Asia/Shanghai",
        "kind": Event.Kind.CELEBRATION,
        "description": {"en": "<p>Tea from around the world.</p>"},
        "online_url": "https://meet.example.org/tea",
        "languages": ["en", "zh-hans"],
        "capacity": 10,
    }
    data.update(overrides)
    return services.EventInput(**data)


def make_event(actor, slug="tea-afternoon", *, community=None, publish=True, **overrides) -> Event:
    if community is not None:
        overrides["community_id"] = community.pk
    event = services.event_create(actor=actor, data=event_input(slug, **overrides))
    if publish:
        event = services.event_publish(actor=actor, event_id=event.pk)
    return event


def edit_input(event: Event, **changes) -> services.EventInput:
    """The event's current values as input, with `changes`: what an edit form sends back."""
    data = {
        "slug": event.slug,
        "title": translations_of(event.title),
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "time_zone": event.time_zone,
        "kind": event.kind,
        "description": translations_of(event.description),
        "community_id": event.community_id,
        "place_id": event.place_id,
        "online_url": event.online_url,
        "languages": event.language_list,
        "capacity": event.capacity,
        "max_party_size": event.max_party_size,
        "waitlist_enabled": event.waitlist_enabled,
        "registration_opens_at": event.registration_opens_at,
        "registration_closes_at": event.registration_closes_at,
        "source_language": event.source_language,
    }
    data.update(changes)
    return services.EventInput(**data)


_accounts = iter(range(1, 1_000_000))


def account(name: str = "", *, language: str = "en") -> User:
    """A resident with an account (its address counts as verified)."""
    n = next(_accounts)
    return User.objects.create_user(
        f"resident{n}@example.org",
        "pw-resident-1234",
        display_name=name or f"Resident {n}",
        preferred_language=language,
    )


def register(event: Event, user: User | None = None, *, email: str = "", party: int = 1, language: str = "en", **extra):
    """Register for `event` with an account (`user`) or an e-mail address alone; the
    registration, fresh from the database."""
    result = services.registration_create(
        event_id=event.pk,
        data=services.RegistrationInput(
            name=extra.pop("name", "" if user else "Guest"), email=email, party_size=party, language=language, **extra
        ),
        user=user,
    )
    result.registration.refresh_from_db()
    return result.registration


def deliver() -> list[mail.EmailMessage]:
    """Send what the outbox holds (to Django's in-memory mailbox) and return what was sent."""
    before = len(mail.outbox)
    outbox_deliver()
    return mail.outbox[before:]


def text_of(message) -> str:
    return message.body


def html_of(message) -> str:
    (alternative,) = message.alternatives
    return alternative[0]

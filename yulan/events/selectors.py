"""Reads of the events capability."""

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from yulan.core.models import Community, User
from yulan.core.permissions import Perm, community_scope
from yulan.events.models import Event, Registration

Status = Registration.Status
# Feeds carry what is coming and what ended in the last month, at most this many events.
FEED_PAST_DAYS = 30
FEED_LIMIT = 1000


def events_public(
    *,
    community: Community | None = None,
    kind: str | None = None,
    language: str | None = None,
    date_from: datetime.datetime | None = None,
    date_to: datetime.datetime | None = None,
    free_only: bool = False,
    now: datetime.datetime | None = None,
) -> QuerySet[Event]:
    """Published (and cancelled, marked so) events that have not ended, soonest first."""
    events = Event.objects.public().filter(ends_at__gte=now or timezone.now())
    if community is not None:
        events = events.filter(community=community)
    if kind:
        events = events.filter(kind=kind)
    if language:
        events = events.filter(languages__contains=f",{language},")
    if date_from is not None:
        events = events.filter(ends_at__gte=date_from)
    if date_to is not None:
        events = events.filter(starts_at__lt=date_to)
    if free_only:
        events = events.filter(status=Event.Status.PUBLISHED).filter(
            Q(capacity__isnull=True) | Q(places_taken__lt=F("capacity"))
        )
    # Lists show neither descriptions nor a place's details: leave their texts unread.
    return (
        events.select_related("community", "place")
        .defer("description", "audience", "place__description", "place__accessibility")
        .order_by("starts_at", "id")
    )


def event_public(slug: str, *, with_questions: bool = False) -> Event | None:
    events = Event.objects.public().select_related("community", "place").filter(slug=slug)
    if with_questions:
        events = events.prefetch_related("questions")
    return events.first()


def events_for_feed(*, community: Community | None = None, events: QuerySet[Event] | None = None) -> list[Event]:
    since = timezone.now() - datetime.timedelta(days=FEED_PAST_DAYS)
    qs = events if events is not None else Event.objects.public()
    qs = qs.filter(ends_at__gte=since)
    if community is not None:
        qs = qs.filter(community=community)
    return list(qs.select_related("community", "place").order_by("starts_at", "id")[:FEED_LIMIT])


def events_of_user(user: User) -> QuerySet[Event]:
    """The events an account holds a place for or waits for."""
    return (
        Event.objects.public()
        .filter(
            registrations__user=user,
            registrations__status__in=[Status.CONFIRMED, Status.OFFERED, Status.WAITLISTED],
        )
        .distinct()
    )


def registrations_of_user(user: User) -> QuerySet[Registration]:
    return (
        Registration.objects.filter(user=user)
        .exclude(status=Status.EXPIRED)
        .select_related("event", "event__place")
        .order_by("-event__starts_at")
    )


def events_for_staff(*, user: Any, past: bool = False) -> QuerySet[Event]:
    scope = community_scope(user, Perm.EVENTS_WRITE)
    events = Event.objects.select_related("community", "place")
    if scope is not None:
        events = events.filter(community_id__in=scope)
    now = timezone.now()
    if past:
        return events.filter(ends_at__lt=now).order_by("-starts_at", "-id")
    return events.filter(ends_at__gte=now).order_by("starts_at", "id")


def registrations_for_staff(event: Event, *, status: str | None = None) -> QuerySet[Registration]:
    regs = event.registrations.select_related("user").order_by("status", "position", "created_at", "id")
    if status:
        regs = regs.filter(status=status)
    return regs


@dataclass(frozen=True)
class Counts:
    confirmed: int = 0
    confirmed_places: int = 0
    offered: int = 0
    waitlisted: int = 0
    pending: int = 0
    cancelled: int = 0
    checked_in: int = 0
    checked_in_places: int = 0


def registration_counts(event: Event) -> Counts:
    row = event.registrations.aggregate(
        confirmed=Count("id", filter=Q(status=Status.CONFIRMED)),
        confirmed_places=Sum("party_size", filter=Q(status=Status.CONFIRMED), default=0),
        offered=Count("id", filter=Q(status=Status.OFFERED)),
        waitlisted=Count("id", filter=Q(status=Status.WAITLISTED)),
        pending=Count("id", filter=Q(status=Status.PENDING)),
        cancelled=Count("id", filter=Q(status=Status.CANCELLED)),
        checked_in=Count("id", filter=Q(checked_in_at__isnull=False)),
        checked_in_places=Sum("party_size", filter=Q(checked_in_at__isnull=False), default=0),
    )
    return Counts(**row)


def attendance_by_event(*, user: Any, date_from: datetime.datetime, date_to: datetime.datetime) -> QuerySet[Event]:
    """Events in the period (in the user's scope) with registered and attended places."""
    scope = community_scope(user, Perm.EVENTS_ATTENDEES)
    events = Event.objects.filter(starts_at__gte=date_from, starts_at__lt=date_to).exclude(status=Event.Status.DRAFT)
    if scope is not None:
        events = events.filter(community_id__in=scope)
    return (
        events.select_related("community")
        .annotate(
            registered_places=Sum(
                "registrations__party_size", filter=Q(registrations__status=Status.CONFIRMED), default=0
            ),
            attended_places=Sum(
                "registrations__party_size", filter=Q(registrations__checked_in_at__isnull=False), default=0
            ),
            attended=Count("registrations", filter=Q(registrations__checked_in_at__isnull=False)),
        )
        .order_by("starts_at", "id")
    )


def attendance_by_community(
    *, user: Any, date_from: datetime.datetime, date_to: datetime.datetime
) -> list[dict[str, Any]]:
    """Per community (None: city-wide events): events held, places registered, places attended."""
    scope = community_scope(user, Perm.EVENTS_ATTENDEES)
    regs = Registration.objects.filter(
        event__starts_at__gte=date_from, event__starts_at__lt=date_to, event__status=Event.Status.PUBLISHED
    )
    if scope is not None:
        regs = regs.filter(event__community_id__in=scope)
    rows = (
        regs.values("event__community_id")
        .annotate(
            events=Count("event", distinct=True),
            registered_places=Sum("party_size", filter=Q(status=Status.CONFIRMED), default=0),
            attended_places=Sum("party_size", filter=Q(checked_in_at__isnull=False), default=0),
        )
        .order_by("event__community_id")
    )
    communities = Community.objects.in_bulk([r["event__community_id"] for r in rows if r["event__community_id"]])
    return [{**row, "community": communities.get(row["event__community_id"])} for row in rows]


def waitlist_line_number(reg: Registration) -> int | None:
    """A waiting registration's place in line: those still waiting ahead of it, plus one."""
    if reg.status != Status.WAITLISTED or reg.position is None:
        return None
    ahead = Registration.objects.filter(event_id=reg.event_id, status=Status.WAITLISTED, position__lt=reg.position)
    return ahead.count() + 1

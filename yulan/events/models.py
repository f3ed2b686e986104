"""Community and city events, the people who register for them, and what was raised at them."""

import datetime
import secrets
import zoneinfo
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from i18nfield.fields import I18nCharField, I18nTextField

from yulan.core.i18n import localize
from yulan.core.models import Community, User
from yulan.guide.models import Place

# Registration codes: no 0/O, 1/I/L or U, so a code read out or typed by hand is unambiguous.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
CODE_LENGTH = 10


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def new_secret() -> str:
    return secrets.token_urlsafe(16)


def default_timezone() -> str:
    return str(settings.TIME_ZONE)


class EventQuerySet(models.QuerySet["Event"]):
    def public(self) -> "EventQuerySet":
        """What visitors see: published and cancelled events (a cancelled one says so)."""
        return self.filter(status__in=[Event.Status.PUBLISHED, Event.Status.CANCELLED])


class Event(models.Model):
    class Kind(models.TextChoices):
        CELEBRATION = "celebration", _("Cultural celebration")
        FAMILY = "family", _("Family activity")
        FORUM = "forum", _("Business forum")
        SEMINAR = "seminar", _("Seminar")
        ROUNDTABLE = "roundtable", _("Roundtable")
        DIALOGUE = "dialogue", _("Alliance dialogue")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        CANCELLED = "cancelled", _("Cancelled")

    slug = models.SlugField(unique=True, max_length=120)
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices, default=Kind.OTHER)
    title = I18nCharField(_("title"), max_length=300)
    description = I18nTextField(_("description"), blank=True, default="")
    audience = I18nTextField(_("audience notes"), blank=True, default="")
    # None: a city-wide event, run by the city's editors.
    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, null=True, blank=True, related_name="events", verbose_name=_("community")
    )
    place = models.ForeignKey(
        Place, on_delete=models.PROTECT, null=True, blank=True, related_name="events", verbose_name=_("venue")
    )
    venue_note = I18nCharField(_("room or directions"), max_length=300, blank=True, default="")
    online_url = models.URLField(_("online link"), blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default=default_timezone)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    # Spoken languages, stored as ",en,zh-hans," so that one LIKE finds an event by language.
    languages = models.CharField(_("languages"), max_length=200, default=",")
    # None: no limit. Counted in places (a registration may bring a party).
    capacity = models.PositiveIntegerField(_("capacity"), null=True, blank=True)
    max_party_size = models.PositiveSmallIntegerField(_("places per registration"), default=4)
    waitlist_enabled = models.BooleanField(_("waiting list when full"), default=True)
    registration_opens_at = models.DateTimeField(_("registration opens"), null=True, blank=True)
    # None: registration closes when the event starts.
    registration_closes_at = models.DateTimeField(_("registration closes"), null=True, blank=True)
    contact_name = models.CharField(_("organiser contact"), max_length=150, blank=True)
    contact_email = models.EmailField(_("organiser e-mail"), blank=True)
    contact_phone = models.CharField(_("organiser phone"), max_length=50, blank=True)
    source_language = models.CharField(_("original language"), max_length=10, default="en")
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    # Places held by confirmed registrations and open offers, kept in step under the event's
    # row lock; the database refuses a value above the capacity.
    places_taken = models.PositiveIntegerField(default=0)
    # The last waiting-list position handed out: arrival order on the waiting list.
    waitlist_issued = models.PositiveIntegerField(default=0)
    # iCalendar SEQUENCE: goes up each time the time or place changes.
    sequence = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[EventQuerySet] = EventQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [
            # The public list walks events in start order and stops after a page; counting
            # what has not ended reads the second index alone.
            models.Index(fields=["starts_at", "id"], name="event_start"),
            models.Index(fields=["ends_at", "status"], name="event_end"),
            models.Index(fields=["community", "status", "starts_at"], name="event_community"),
        ]
        constraints = [
            models.CheckConstraint(name="event_ends_after_start", condition=Q(ends_at__gt=F("starts_at"))),
            models.CheckConstraint(
                name="event_within_capacity", condition=Q(capacity__isnull=True) | Q(places_taken__lte=F("capacity"))
            ),
            models.CheckConstraint(name="event_party_size_positive", condition=Q(max_party_size__gte=1)),
        ]
        verbose_name = _("event")
        verbose_name_plural = _("events")

    def __str__(self) -> str:
        return localize(self.title).text

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def local_start(self) -> datetime.datetime:
        return self.starts_at.astimezone(self.tz)

    @property
    def local_end(self) -> datetime.datetime:
        return self.ends_at.astimezone(self.tz)

    @property
    def language_list(self) -> list[str]:
        return [code for code in self.languages.split(",") if code]

    @property
    def places_left(self) -> int | None:
        return None if self.capacity is None else max(0, self.capacity - self.places_taken)

    @property
    def is_full(self) -> bool:
        return self.capacity is not None and self.places_taken >= self.capacity

    @property
    def closes_at(self) -> datetime.datetime:
        return self.registration_closes_at or self.starts_at

    def registration_open(self, now: datetime.datetime | None = None) -> bool:
        now = now or timezone.now()
        if self.status != self.Status.PUBLISHED:
            return False
        if self.registration_opens_at and now < self.registration_opens_at:
            return False
        return now < self.closes_at

    @property
    def is_past(self) -> bool:
        return self.ends_at <= timezone.now()


class Question(models.Model):
    """An organiser's extra question on the registration form."""

    class Kind(models.TextChoices):
        TEXT = "text", _("Short answer")
        YESNO = "yesno", _("Yes or no")
        CHOICE = "choice", _("One of a list")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(default=0)
    label = I18nCharField(_("question"), max_length=300)
    kind = models.CharField(_("kind of answer"), max_length=10, choices=Kind.choices, default=Kind.TEXT)
    # For a list: one choice a line, per language; answers store the choice's line number.
    choices = I18nTextField(_("choices"), blank=True, default="")
    required = models.BooleanField(_("required"), default=False)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")

    def __str__(self) -> str:
        return localize(self.label).text

    def choice_list(self, language: str | None = None) -> list[str]:
        text = localize(self.choices, language).text
        return [line.strip() for line in text.splitlines() if line.strip()]


class Registration(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for e-mail confirmation")
        CONFIRMED = "confirmed", _("Confirmed")
        WAITLISTED = "waitlisted", _("On the waiting list")
        OFFERED = "offered", _("Place offered")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")

    ACTIVE: ClassVar[list[str]] = [Status.PENDING, Status.CONFIRMED, Status.WAITLISTED, Status.OFFERED]
    HOLDING: ClassVar[list[str]] = [Status.CONFIRMED, Status.OFFERED]

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="registrations")
    user = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="registrations")
    email = models.EmailField(_("e-mail"))
    name = models.CharField(_("name"), max_length=150)
    language = models.CharField(_("language"), max_length=10, default="en")
    party_size = models.PositiveSmallIntegerField(pgettext_lazy("seats", "places"), default=1)
    answers = models.JSONField(default=dict, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    code = models.CharField(max_length=CODE_LENGTH, unique=True, default=new_code)
    secret = models.CharField(max_length=32, default=new_secret)
    # Place on the waiting list (arrival order); set when the registration is waitlisted.
    position = models.PositiveIntegerField(null=True, blank=True)
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # When the registration got its answer (confirmed or waitlisted): its arrival.
    decided_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by_staff = models.BooleanField(default=False)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_in_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # The start time the last reminder was about: one reminder per registration and start.
    reminded_for = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["event", "status", "position"], name="registration_queue"),
            models.Index(fields=["status", "offer_expires_at"], name="registration_offers"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "email"],
                condition=Q(status__in=["pending", "confirmed", "waitlisted", "offered"]),
                name="registration_once_per_address",
            ),
            models.UniqueConstraint(
                fields=["event", "position"], condition=Q(position__isnull=False), name="registration_position_once"
            ),
            models.CheckConstraint(name="registration_party_positive", condition=Q(party_size__gte=1)),
        ]
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")

    def __str__(self) -> str:
        return f"{self.name} · {self.event_id} · {self.status}"

    @property
    def display_code(self) -> str:
        return f"{self.code[:5]}-{self.code[5:]}"

    @property
    def holds_place(self) -> bool:
        return self.status in self.HOLDING


class Point(models.Model):
    """A point raised at a roundtable or dialogue, recorded by the organiser as feedback."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="points")
    text = models.TextField(_("point raised"))
    language = models.CharField(_("language"), max_length=10, default="en")
    raised_by = models.CharField(_("raised by"), max_length=150, blank=True)
    # The feedback item the point became (None if no feedback category was set up).
    item = models.ForeignKey(
        "voice.Item",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="points",
        verbose_name=_("feedback item"),
    )
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("point raised")
        verbose_name_plural = _("points raised")

    def __str__(self) -> str:
        return self.text[:80]

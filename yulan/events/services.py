"""Writes of the events capability.

Places are decided under the event's row lock (`SELECT … FOR UPDATE` on PostgreSQL; on SQLite
every write transaction here holds the database's write lock from its start): each
registration reads the places taken, decides confirmed or waiting list, and writes both the
registration and the event's counters before the next one may look. The database also refuses
a count above the capacity, so a mistake here fails loudly instead of overbooking.

E-mail goes through the outbox as rows that name a notice; `yulan.events.emails` writes them
when they are sent, in the registrant's language, and drops those that no longer apply.
"""

import datetime
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from yulan.core.cleaning import clean_language, clean_slug
from yulan.core.errors import ApplicationError, NotAllowed
from yulan.core.html import clean_html, strip_html
from yulan.core.i18n import clean_translations, language_codes, localize
from yulan.core.mail import mail_queue_later
from yulan.core.models import Community, User
from yulan.core.pagecache import public_pages_changed
from yulan.core.permissions import Perm, community_scope, require, require_for_community
from yulan.core.services import audit_record, snapshot
from yulan.events.models import Event, Point, Question, Registration, default_timezone
from yulan.guide.models import Place
from yulan.news.addresses import clean_address

MAIL_KIND = "event"
Status = Registration.Status


def _now() -> datetime.datetime:
    return timezone.now()


def _registration(registration_id: int) -> Registration:
    reg = Registration.objects.filter(pk=registration_id).first()
    if reg is None:
        raise ApplicationError(_("There is no such registration."), status=404)
    return reg


def _lock_event(event_id: int) -> Event:
    """The event, locked for this transaction; a 404 error if there is none."""
    event = Event.objects.select_for_update().filter(pk=event_id).first()
    if event is None:
        raise ApplicationError(_("There is no such event."), status=404)
    return event


def _format_local(value: datetime.datetime, event: Event) -> str:
    return value.astimezone(event.tz).strftime("%Y-%m-%d %H:%M")


# --- events -----------------------------------------------------------------------------------


@dataclass
class EventInput:
    slug: str
    title: Any
    starts_at: datetime.datetime | None
    ends_at: datetime.datetime | None
    time_zone: str = field(default_factory=default_timezone)
    kind: str = Event.Kind.OTHER
    description: Any = None
    audience: Any = None
    community_id: int | None = None
    place_id: int | None = None
    venue_note: Any = None
    online_url: str = ""
    languages: list[str] = field(default_factory=list)
    capacity: int | None = None
    max_party_size: int = 4
    waitlist_enabled: bool = True
    registration_opens_at: datetime.datetime | None = None
    registration_closes_at: datetime.datetime | None = None
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    source_language: str = "en"


def clean_timezone(name: str, *, field: str = "time_zone") -> str:
    name = (name or "").strip()
    try:
        if not name or "/" not in name and name != "UTC":
            raise ValueError(name)
        zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise ApplicationError(
            _("Unknown time zone “%(name)s”. Use a name like “Asia/Shanghai”.") % {"name": name}, field=field
        ) from None
    return name


def _clean_languages(codes: Iterable[str]) -> str:
    known = set(language_codes())
    cleaned = []
    for code in codes:
        if code not in known:
            raise ApplicationError(_("Unknown language code “%(code)s”.") % {"code": code}, field="languages")
        if code not in cleaned:
            cleaned.append(code)
    return "," + ",".join(cleaned) + ","


def _event_values(data: EventInput) -> dict[str, Any]:
    if data.kind not in Event.Kind.values:
        raise ApplicationError(_("Choose a type of event from the list."), field="kind")
    tz_name = clean_timezone(data.time_zone)
    # Times typed as read on a clock are in the event's zone.
    zone = zoneinfo.ZoneInfo(tz_name)
    for name in ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at"):
        value = getattr(data, name)
        if value is not None and timezone.is_naive(value):
            setattr(data, name, timezone.make_aware(value, zone))
    if data.starts_at is None:
        raise ApplicationError(_("Enter when the event starts."), field="starts_at")
    if data.ends_at is None:
        raise ApplicationError(_("Enter when the event ends."), field="ends_at")
    if data.ends_at <= data.starts_at:
        raise ApplicationError(_("The event must end after it starts."), field="ends_at")
    if data.capacity is not None and data.capacity < 1:
        raise ApplicationError(_("Enter a capacity of at least 1, or leave it empty for no limit."), field="capacity")
    if not 1 <= data.max_party_size <= 50:
        raise ApplicationError(_("Places per registration must be between 1 and 50."), field="max_party_size")
    opens, closes = data.registration_opens_at, data.registration_closes_at
    if closes is not None and closes > data.ends_at:
        raise ApplicationError(_("Registration must close before the event ends."), field="registration_closes_at")
    if opens is not None and opens >= (closes or data.starts_at):
        raise ApplicationError(
            _("Registration must open before it closes and before the event starts."), field="registration_opens_at"
        )
    if data.place_id is not None and not Place.objects.filter(pk=data.place_id).exists():
        raise ApplicationError(_("Choose a venue from the directory."), field="place")
    if data.community_id is not None and not Community.objects.filter(pk=data.community_id).exists():
        raise ApplicationError(_("Choose a community from the list."), field="community")
    if data.online_url:
        try:
            URLValidator(schemes=["http", "https"])(data.online_url)
        except ValidationError:
            raise ApplicationError(
                _("Enter a full web address for the online link, starting with https://."), field="online_url"
            ) from None
    if data.place_id is None and not data.online_url:
        raise ApplicationError(_("Choose a venue from the directory or give an online link."), field="place")
    if data.contact_email:
        data.contact_email = clean_address(data.contact_email, field="contact_email")
    return {
        "slug": clean_slug(data.slug),
        "kind": data.kind,
        "title": {
            code: " ".join(strip_html(text).split())  # one line: titles go into e-mail subjects
            for code, text in clean_translations(data.title, field="title", max_chars=300).items()
        },
        "description": {
            code: clean_html(text)
            for code, text in clean_translations(data.description, field="description", required=False).items()
        },
        "audience": {
            code: strip_html(text)
            for code, text in clean_translations(data.audience, field="audience", required=False).items()
        },
        "venue_note": {
            code: strip_html(text)
            for code, text in clean_translations(
                data.venue_note, field="venue_note", required=False, max_chars=300
            ).items()
        },
        "community_id": data.community_id,
        "place_id": data.place_id,
        "online_url": data.online_url,
        "time_zone": tz_name,
        "starts_at": data.starts_at,
        "ends_at": data.ends_at,
        "languages": _clean_languages(data.languages),
        "capacity": data.capacity,
        "max_party_size": data.max_party_size,
        "waitlist_enabled": data.waitlist_enabled,
        "registration_opens_at": opens,
        "registration_closes_at": closes,
        "contact_name": strip_html(data.contact_name)[:150],
        "contact_email": data.contact_email,
        "contact_phone": strip_html(data.contact_phone)[:50],
        "source_language": clean_language(data.source_language),
    }


def _require_event_scope(actor: User, community_id: int | None) -> None:
    """Editors run events anywhere (and city-wide ones); a coordinator only its community's."""
    require(actor, Perm.EVENTS_WRITE)
    scope = community_scope(actor, Perm.EVENTS_WRITE)
    if scope is None:
        return
    if community_id is None:
        raise NotAllowed(_("Only editors may run city-wide events. Choose your community."))
    if community_id not in scope:
        raise NotAllowed(_("You may run events only for your own community."))


def event_for_staff(*, actor: User, event_id: int, perm: Perm = Perm.EVENTS_WRITE) -> Event:
    """An event the actor may manage (`access_*`): its community must be in the actor's scope."""
    event = Event.objects.select_related("community", "place").filter(pk=event_id).first()
    if event is None:
        raise ApplicationError(_("There is no such event."), status=404)
    require(actor, perm)
    require_for_community(actor, perm, event.community_id)
    return event


def event_create(*, actor: User, data: EventInput) -> Event:
    values = _event_values(data)
    _require_event_scope(actor, values["community_id"])
    try:
        with transaction.atomic(durable=True):
            event = Event.objects.create(**values, created_by=actor)
            audit_record(actor=actor, action="event.create", target=event, after=snapshot(event))
    except IntegrityError:
        raise ApplicationError(_("An event with this address already exists."), field="slug") from None
    return event


MOVE_FIELDS = ("starts_at", "ends_at", "place_id", "online_url", "time_zone")


def event_update(*, actor: User, event_id: int, data: EventInput) -> Event:
    """Change an event. If a published event moves (time or place), registrants are told and
    reminders already queued for the old time are not sent. Raising the capacity offers the
    new places to the waiting list; it cannot go below the places already taken."""
    values = _event_values(data)
    _require_event_scope(actor, values["community_id"])
    try:
        with transaction.atomic(durable=True):
            event = _lock_event(event_id)
            _require_event_scope(actor, event.community_id)
            if event.status == Event.Status.CANCELLED:
                raise ApplicationError(_("This event was cancelled and can no longer be changed."))
            if values["capacity"] is not None and values["capacity"] < event.places_taken:
                raise ApplicationError(
                    _("%(n)d places are already taken: the capacity cannot be lower.") % {"n": event.places_taken},
                    field="capacity",
                )
            before = snapshot(event)
            moved = any(getattr(event, name) != values[name] for name in MOVE_FIELDS)
            for key, value in values.items():
                setattr(event, key, value)
            now = _now()
            event.updated_at = now
            if moved:
                event.sequence += 1
            event.save()
            if moved and event.status == Event.Status.PUBLISHED:
                _notify_all(event, "moved", key_suffix=str(event.sequence))
            _promote(event, now)
            event.save(update_fields=["places_taken"])
            audit_record(actor=actor, action="event.update", target=event, before=before, after=snapshot(event))
            public_pages_changed()
    except IntegrityError:
        raise ApplicationError(_("An event with this address already exists."), field="slug") from None
    return event


def event_publish(*, actor: User, event_id: int) -> Event:
    with transaction.atomic(durable=True):
        event = _lock_event(event_id)
        _require_event_scope(actor, event.community_id)
        if event.status != Event.Status.DRAFT:
            raise ApplicationError(_("Only a draft can be published."))
        before = snapshot(event)
        event.status = Event.Status.PUBLISHED
        event.updated_at = _now()
        event.save(update_fields=["status", "updated_at"])
        audit_record(actor=actor, action="event.publish", target=event, before=before, after=snapshot(event))
        public_pages_changed()
    return event


def event_cancel(*, actor: User, event_id: int) -> Event:
    """Cancel an event: it stays visible as cancelled, registration closes, everyone registered
    or waiting is told, and no reminder goes out."""
    with transaction.atomic(durable=True):
        event = _lock_event(event_id)
        _require_event_scope(actor, event.community_id)
        if event.status == Event.Status.CANCELLED:
            raise ApplicationError(_("This event is already cancelled."))
        if event.status == Event.Status.DRAFT:
            # Cancelled events are public (marked so): a draft must not become visible this way.
            raise ApplicationError(_("A draft is not public: there is nothing to cancel."))
        before = snapshot(event)
        was_published = True
        event.status = Event.Status.CANCELLED
        event.cancelled_at = event.updated_at = _now()
        event.sequence += 1
        event.save(update_fields=["status", "cancelled_at", "updated_at", "sequence"])
        if was_published:
            _notify_all(event, "event_cancelled")
        audit_record(actor=actor, action="event.cancel", target=event, before=before, after=snapshot(event))
        public_pages_changed()
    return event


def _notify_all(event: Event, notice: str, key_suffix: str = "") -> None:
    regs = event.registrations.filter(status__in=[Status.CONFIRMED, Status.OFFERED, Status.WAITLISTED])
    for reg in regs.only("pk", "email", "language"):
        _queue_notice(reg, notice, key=f"event:{notice}:{reg.pk}:{key_suffix}", sequence=event.sequence)


# --- questions --------------------------------------------------------------------------------


def question_add(*, actor: User, event_id: int, label: Any, kind: str, required: bool, choices: Any = None) -> Question:
    event = event_for_staff(actor=actor, event_id=event_id)
    label_values = {
        code: strip_html(text) for code, text in clean_translations(label, field="label", max_chars=300).items()
    }
    if kind not in Question.Kind.values:
        raise ApplicationError(_("Choose a kind of answer from the list."), field="kind")
    choice_values = {
        code: strip_html(text)
        for code, text in clean_translations(choices, field="choices", required=False, max_chars=2000).items()
    }
    if kind == Question.Kind.CHOICE:
        counts = {len([line for line in text.splitlines() if line.strip()]) for text in choice_values.values()}
        if not choice_values or min(counts) < 2:
            raise ApplicationError(_("List at least two choices, one a line."), field="choices")
        if len(counts) > 1:
            raise ApplicationError(_("Give the same number of choices in every language."), field="choices")
    with transaction.atomic(durable=True):
        position = event.questions.count()
        question = Question.objects.create(
            event=event,
            position=position,
            label=label_values,
            kind=kind,
            required=required,
            choices=choice_values if kind == Question.Kind.CHOICE else {},
        )
        audit_record(actor=actor, action="event.question.add", target=question, after=snapshot(question))
    return question


def question_delete(*, actor: User, question_id: int) -> None:
    question = Question.objects.filter(pk=question_id).first()
    if question is None:
        raise ApplicationError(_("There is no such question."), status=404)
    event_for_staff(actor=actor, event_id=question.event_id)
    with transaction.atomic(durable=True):
        audit_record(actor=actor, action="event.question.delete", target=question, before=snapshot(question))
        question.delete()


def _clean_answers(event: Event, answers: dict[str, Any]) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for question in event.questions.all():
        key = str(question.pk)
        value = answers.get(key)
        value = "" if value is None else str(value).strip()
        if question.kind == Question.Kind.YESNO and value not in ("", "yes", "no"):
            raise ApplicationError(_("Answer yes or no."), field=f"q{key}")
        choices = question.choice_list(event.source_language) if question.kind == Question.Kind.CHOICE else []
        if choices and value and (not value.isdigit() or int(value) >= len(choices)):
            raise ApplicationError(_("Choose an answer from the list."), field=f"q{key}")
        if len(value) > 1000:
            raise ApplicationError(_("Keep the answer under 1,000 characters."), field=f"q{key}")
        if question.required and not value:
            raise ApplicationError(_("Please answer this question."), field=f"q{key}")
        if value:
            cleaned[key] = strip_html(value)
    return cleaned


# --- registrations ----------------------------------------------------------------------------


@dataclass
class RegistrationInput:
    name: str
    email: str = ""
    party_size: int = 1
    language: str = "en"
    answers: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RegistrationResult:
    registration: Registration
    # False when the address already had a registration for this event (e-mail sign-ups are
    # not told so on the page: the address's owner gets an e-mail instead).
    created: bool = True


def _check_open(event: Event, now: datetime.datetime) -> None:
    if event.status == Event.Status.CANCELLED:
        raise ApplicationError(_("This event was cancelled."), status=409)
    if event.status != Event.Status.PUBLISHED:
        raise ApplicationError(_("There is no such event."), status=404)
    if event.registration_opens_at and now < event.registration_opens_at:
        raise ApplicationError(
            _("Registration opens on %(when)s.") % {"when": _format_local(event.registration_opens_at, event)},
            status=409,
        )
    if now >= event.closes_at:
        raise ApplicationError(
            _("Registration closed on %(when)s.") % {"when": _format_local(event.closes_at, event)}, status=409
        )


def _clean_registration(event: Event, data: RegistrationInput) -> tuple[str, str, int, dict[str, str], str]:
    name = strip_html(data.name or "").strip()
    if not name:
        raise ApplicationError(_("Enter your name."), field="name")
    if len(name) > 150:
        raise ApplicationError(_("Keep the name under 150 characters."), field="name")
    email = clean_address(data.email, field="email")
    try:
        party = int(data.party_size)
    except (TypeError, ValueError):
        raise ApplicationError(_("Enter a number of places."), field="party_size") from None
    if party < 1:
        raise ApplicationError(_("Register at least one place."), field="party_size")
    if party > event.max_party_size:
        raise ApplicationError(
            _("You can register at most %(n)d places at once.") % {"n": event.max_party_size}, field="party_size"
        )
    language = data.language if data.language in language_codes() else settings.LANGUAGE_CODE
    return name, email, party, _clean_answers(event, data.answers), language


def _allocate(event: Event, reg: Registration, now: datetime.datetime) -> None:
    """Decide a registration under the event's lock: a place if enough are free, else the end
    of the waiting list (or a refusal when the event keeps none)."""
    reg.decided_at = now
    if event.capacity is None or event.places_taken + reg.party_size <= event.capacity:
        reg.status = Status.CONFIRMED
        reg.confirmed_at = now
        event.places_taken += reg.party_size
    elif event.waitlist_enabled:
        event.waitlist_issued += 1
        reg.status = Status.WAITLISTED
        reg.position = event.waitlist_issued
    else:
        left = event.places_left or 0
        if left:
            raise ApplicationError(
                _("Only %(n)d places are left. Register fewer places.") % {"n": left}, field="party_size", status=409
            )
        raise ApplicationError(_("This event is full."), status=409)


def _active_registration(
    event: Event, email: str, now: datetime.datetime, user: User | None = None
) -> Registration | None:
    """The address's (or account's) registration that still counts; a sign-up whose link ran
    out expires here."""
    who = Q(email=email) | Q(user=user) if user is not None else Q(email=email)
    existing = Registration.objects.filter(who, event=event, status__in=Registration.ACTIVE).first()
    limit = now - datetime.timedelta(hours=settings.YULAN_EVENT_CONFIRM_HOURS)
    if existing is not None and existing.status == Status.PENDING and existing.created_at < limit:
        existing.status = Status.EXPIRED
        existing.save(update_fields=["status"])
        return None
    return existing


def registration_create(
    *, event_id: int, data: RegistrationInput, user: User | None = None, event: Event | None = None
) -> RegistrationResult:
    """Register for an event. With an account (its address is verified) the place is decided
    at once; with an e-mail address alone the registration waits for the link in the e-mail
    to be opened, and is decided then. A caller that has just read the event (with its
    questions) may pass it to spare a query; places are decided on a fresh, locked read."""
    if event is None or event.pk != event_id:
        event = Event.objects.filter(pk=event_id).first()
    if event is None:
        raise ApplicationError(_("There is no such event."), status=404)
    if user is not None:
        data.email = user.email
        data.name = data.name or user.display_name or user.email.split("@")[0]
    name, email, party, answers, language = _clean_registration(event, data)
    with transaction.atomic(durable=True):
        event = _lock_event(event_id)
        # Taken under the lock: the order of these times is the order of arrival.
        now = _now()
        _check_open(event, now)
        existing = _active_registration(event, email, now, user)
        if existing is not None and not (user is not None and existing.status == Status.PENDING):
            if user is not None:
                raise ApplicationError(
                    _("You are already registered for this event (%(status)s).")
                    % {"status": existing.get_status_display()},
                    status=409,
                )
            # Say nothing on the page about whether this address registered; tell its owner,
            # at most once an hour (a fresh link restarts the wait for confirmation).
            if existing.status == Status.PENDING:
                existing.created_at = now
                existing.save(update_fields=["created_at"])
            notice = "pending" if existing.status == Status.PENDING else "already"
            _queue_notice(existing, notice, key=f"event:{notice}:{existing.pk}:{now:%Y%m%d%H}")
            return RegistrationResult(existing, created=False)
        # An account proves its address: it takes over a sign-up still waiting for the link.
        reg = existing or Registration(event=event, email=email)
        reg.user, reg.name, reg.language, reg.party_size, reg.answers, reg.created_at = (
            user,
            name,
            language,
            party,
            answers,
            now,
        )
        if user is not None:
            _allocate(event, reg, now)
            event.save(update_fields=["places_taken", "waitlist_issued"])
        reg.save()
        _queue_notice(reg, _decision_notice(reg))
    return RegistrationResult(reg)


def _decision_notice(reg: Registration) -> str:
    return {Status.PENDING: "pending", Status.CONFIRMED: "confirmed", Status.WAITLISTED: "waitlisted"}[
        Status(reg.status)
    ]


def registration_confirm_address(*, registration_id: int) -> Registration:
    """The registrant opened the link in the e-mail: decide the registration now (a place or
    the waiting list). Opening it again changes nothing."""
    with transaction.atomic(durable=True):
        reg = _registration(registration_id)
        event = _lock_event(reg.event_id)
        reg = Registration.objects.select_for_update().get(pk=registration_id)
        now = _now()
        if reg.status != Status.PENDING:
            if reg.status == Status.EXPIRED:
                raise ApplicationError(_("This link has expired. Please register again."), status=410)
            return reg
        _check_open(event, now)
        _allocate(event, reg, now)
        event.save(update_fields=["places_taken", "waitlist_issued"])
        reg.save()
        _queue_notice(reg, _decision_notice(reg))
    return reg


def _free_place(event: Event, reg: Registration) -> None:
    if reg.status in Registration.HOLDING:
        event.places_taken -= reg.party_size


def _offer_deadline(event: Event, now: datetime.datetime) -> datetime.datetime | None:
    """Until when an offered place is held; None when it is too late to offer one."""
    deadline = min(now + datetime.timedelta(hours=settings.YULAN_EVENT_OFFER_HOURS), event.starts_at)
    if event.status != Event.Status.PUBLISHED or deadline - now < datetime.timedelta(minutes=10):
        return None
    return deadline


def _promote(event: Event, now: datetime.datetime) -> list[Registration]:
    """Offer free places to the waiting list in arrival order: each goes to the first waiting
    registration whose party fits. The caller holds the event's lock and saves the event."""
    offered: list[Registration] = []
    deadline = _offer_deadline(event, now)
    if deadline is None:
        return offered
    waiting = event.registrations.filter(status=Status.WAITLISTED).order_by("position")
    while True:
        free = None if event.capacity is None else event.capacity - event.places_taken
        if free is not None and free <= 0:
            break
        candidate = (waiting if free is None else waiting.filter(party_size__lte=free)).first()
        if candidate is None:
            break
        candidate.status = Status.OFFERED
        candidate.offer_expires_at = deadline
        candidate.save(update_fields=["status", "offer_expires_at"])
        event.places_taken += candidate.party_size
        _queue_notice(candidate, "offer", key=f"event:offer:{candidate.pk}")
        offered.append(candidate)
    return offered


def registration_cancel(*, registration_id: int, actor: User | None = None) -> Registration:
    """Cancel a registration: by the registrant (signed link or own account) or by staff of the
    event. A freed place is offered to the waiting list at once."""
    now = _now()
    with transaction.atomic(durable=True):
        reg = _registration(registration_id)
        event = _lock_event(reg.event_id)
        if actor is not None:
            require_for_community(actor, Perm.EVENTS_ATTENDEES, event.community_id)
            require(actor, Perm.EVENTS_ATTENDEES)
        reg = Registration.objects.select_for_update().get(pk=registration_id)
        if reg.status not in Registration.ACTIVE:
            raise ApplicationError(_("This registration is already cancelled."), status=409)
        if reg.checked_in_at is not None:
            raise ApplicationError(_("This registration was already checked in."), status=409)
        before = snapshot(reg)
        _free_place(event, reg)
        reg.status = Status.CANCELLED
        reg.cancelled_at = now
        reg.cancelled_by_staff = actor is not None
        reg.position = None
        reg.save()
        _promote(event, now)
        event.save(update_fields=["places_taken"])
        if actor is not None:
            audit_record(actor=actor, action="registration.cancel", target=reg, before=before, after=snapshot(reg))
        _queue_notice(reg, "cancelled")
    return reg


def offer_accept(*, registration_id: int) -> Registration:
    now = _now()
    with transaction.atomic(durable=True):
        _registration(registration_id)
        reg = Registration.objects.select_for_update().get(pk=registration_id)
        if reg.status == Status.CONFIRMED:
            return reg
        if reg.status != Status.OFFERED:
            raise ApplicationError(_("There is no place on offer for this registration."), status=409)
        if reg.event.status == Event.Status.CANCELLED:
            raise ApplicationError(_("This event was cancelled."), status=409)
        if reg.offer_expires_at is not None and reg.offer_expires_at <= now:
            raise ApplicationError(_("This offer has expired and the place has passed on."), status=410)
        reg.status = Status.CONFIRMED
        reg.confirmed_at = now
        reg.position = None
        reg.save(update_fields=["status", "confirmed_at", "position"])
        _queue_notice(reg, "confirmed")
    return reg


def offers_expire(now: datetime.datetime | None = None) -> int:
    """Periodic job: offers not taken in time pass to the next in line; registrations whose
    e-mail was never confirmed expire. Safe to run twice and in several workers."""
    now = now or _now()
    limit = now - datetime.timedelta(hours=settings.YULAN_EVENT_CONFIRM_HOURS)
    Registration.objects.filter(status=Status.PENDING, created_at__lt=limit).update(status=Status.EXPIRED)
    expired = 0
    event_ids = set(
        Registration.objects.filter(status=Status.OFFERED, offer_expires_at__lte=now).values_list("event_id", flat=True)
    )
    for event_id in sorted(event_ids):
        with transaction.atomic(durable=True):
            event = _lock_event(event_id)
            lapsed = list(
                Registration.objects.select_for_update().filter(
                    event=event, status=Status.OFFERED, offer_expires_at__lte=now
                )
            )
            for reg in lapsed:
                _free_place(event, reg)
                reg.status = Status.EXPIRED
                reg.position = None
                reg.save(update_fields=["status", "position"])
                _queue_notice(reg, "offer_expired")
            _promote(event, now)
            event.save(update_fields=["places_taken"])
            expired += len(lapsed)
    return expired


def reminders_queue(now: datetime.datetime | None = None) -> int:
    """Periodic job: queue one reminder per confirmed registration and start time, a set time
    before the event. Keyed rows and `reminded_for` make running it twice harmless; the
    renderer drops a reminder whose event has moved or been cancelled since."""
    now = now or _now()
    lead = datetime.timedelta(hours=settings.YULAN_EVENT_REMINDER_HOURS)
    queued = 0
    events = Event.objects.filter(status=Event.Status.PUBLISHED, starts_at__gt=now, starts_at__lte=now + lead)
    for event in events:
        with transaction.atomic(durable=True):
            due = event.registrations.filter(status=Status.CONFIRMED).exclude(reminded_for=event.starts_at)
            regs = list(due.only("pk", "email", "language"))
            stamp = int(event.starts_at.timestamp())
            for reg in regs:
                _queue_notice(
                    reg,
                    "reminder",
                    key=f"event:reminder:{reg.pk}:{stamp}",
                    starts_at=event.starts_at.isoformat(),
                    stream=f"event:{event.pk}:reminders",
                )
            Registration.objects.filter(pk__in=[r.pk for r in regs]).update(reminded_for=event.starts_at)
            queued += len(regs)
    return queued


def _queue_notice(reg: Registration, notice: str, *, key: str | None = None, stream: str = "", **extra: Any) -> None:
    context = {"notice": notice, "registration": reg.pk, **extra}
    mail_queue_later(kind=MAIL_KIND, to=reg.email, language=reg.language, context=context, key=key, stream=stream)


# --- check-in ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckIn:
    # "checked_in", "already", "unknown", "other_event", "not_confirmed", "cancelled", "event_cancelled"
    outcome: str
    registration: Registration | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "checked_in"


def normalise_code(raw: str) -> str:
    """A typed code ("k7m2q-9xhab"), a scanned code or a scanned check-in link, as stored."""
    text = (raw or "").strip()
    if "/" in text:
        text = text.rstrip("/").rsplit("/", 1)[-1]
    return "".join(ch for ch in text.upper() if ch.isalnum())[:40]


def checkin(*, actor: User, event_id: int, code: str) -> CheckIn:
    """Mark a registration as attended, once. A second scan answers "already checked in"."""
    event = event_for_staff(actor=actor, event_id=event_id, perm=Perm.EVENTS_ATTENDEES)
    code = normalise_code(code)
    reg = Registration.objects.filter(code=code).first() if code else None
    if reg is None:
        return CheckIn("unknown")
    if reg.event_id != event.pk:
        return CheckIn("other_event", reg)
    if event.status == Event.Status.CANCELLED:
        return CheckIn("event_cancelled", reg)
    if reg.status in (Status.CANCELLED, Status.EXPIRED):
        return CheckIn("cancelled", reg)
    now = _now()
    lapsed = reg.status == Status.OFFERED and reg.offer_expires_at is not None and reg.offer_expires_at <= now
    if reg.status not in Registration.HOLDING or lapsed:
        return CheckIn("not_confirmed", reg)
    with transaction.atomic(durable=True):
        # One UPDATE decides: of two scans at once, only one finds the row not checked in.
        marked = Registration.objects.filter(
            pk=reg.pk, checked_in_at__isnull=True, status__in=Registration.HOLDING
        ).update(checked_in_at=now, checked_in_by=actor, status=Status.CONFIRMED, confirmed_at=reg.confirmed_at or now)
        if marked:
            audit_record(
                actor=actor, action="registration.checkin", target=reg, after={"checked_in_at": now.isoformat()}
            )
    reg.refresh_from_db()
    return CheckIn("checked_in" if marked else "already", reg)


# --- points raised ----------------------------------------------------------------------------


def point_add(
    *, actor: User, event_id: int, text: str, language: str, raised_by: str = "", category: str = ""
) -> Point:
    """Record a point raised at the event. It enters the feedback loop as an item of the event's
    community in `category` (the default roundtable category, or the first one, if not given),
    routed like any other; without any feedback category set up it is kept on the event only."""
    from yulan.voice.services import item_from_point

    event = event_for_staff(actor=actor, event_id=event_id)
    text = strip_html(text or "").strip()
    limit = settings.YULAN_FEEDBACK_MAX_CHARS
    if not text:
        raise ApplicationError(_("Write the point that was raised."), field="text")
    if len(text) > limit:
        raise ApplicationError(_("Keep each point under %(limit)d characters.") % {"limit": limit}, field="text")
    language = clean_language(language, field="language")
    with transaction.atomic(durable=True):
        item = item_from_point(event=event, text=text, language=language, category=category)
        point = Point.objects.create(
            event=event,
            text=text,
            language=language,
            raised_by=strip_html(raised_by or "")[:150],
            created_by=actor,
            item=item,
        )
        audit_record(actor=actor, action="event.point.add", target=point, after=snapshot(point))
    return point


def point_delete(*, actor: User, point_id: int) -> None:
    point = Point.objects.filter(pk=point_id).first()
    if point is None:
        raise ApplicationError(_("There is no such point."), status=404)
    event_for_staff(actor=actor, event_id=point.event_id)
    with transaction.atomic(durable=True):
        audit_record(actor=actor, action="event.point.delete", target=point, before=snapshot(point))
        point.delete()


def event_title(event: Event, language: str | None = None) -> str:
    return localize(event.title, language, event.source_language).text

"""Writes of the feedback loop: submission, routing, triage, replies, merging, support,
following, and a submitter's rights over their data.

Every staff write checks `core.permissions` (a coordinator acts on its community's items, a
responder on its office's) and is audited."""

import datetime
import hashlib
import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import URLValidator, validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from yulan.core.cleaning import clean_language
from yulan.core.errors import ApplicationError, NotAllowed
from yulan.core.html import strip_html
from yulan.core.i18n import clean_translations
from yulan.core.mail import delivery_start, mail_queue_later, mail_queue_many
from yulan.core.models import Community, Office, OutgoingMail, User
from yulan.core.pagecache import public_pages_changed
from yulan.core.permissions import Perm, has_perm_everywhere, may_handle, require
from yulan.core.services import audit_record, snapshot
from yulan.voice import language, photos, reference
from yulan.voice.models import (
    Category,
    Follower,
    Item,
    Reply,
    RoutingRule,
    StatusSpan,
    Support,
    Tag,
)

Status = Item.Status

# Who may move an item from one status to another by hand. Merging has its own service.
TRANSITIONS: dict[str, set[str]] = {
    Status.RECEIVED: {Status.ASSIGNED, Status.IN_PROGRESS, Status.ANSWERED, Status.CLOSED, Status.DECLINED},
    Status.ASSIGNED: {Status.RECEIVED, Status.IN_PROGRESS, Status.ANSWERED, Status.CLOSED, Status.DECLINED},
    Status.IN_PROGRESS: {Status.ASSIGNED, Status.ANSWERED, Status.CLOSED, Status.DECLINED},
    Status.ANSWERED: {Status.IN_PROGRESS, Status.CLOSED},
    Status.CLOSED: {Status.IN_PROGRESS},
    Status.DECLINED: {Status.RECEIVED},
    Status.MERGED: set(),
}
# Statuses that count as the office's response to the submitter.
RESPONDED = {Status.ANSWERED, Status.CLOSED, Status.DECLINED, Status.MERGED}


def _now() -> datetime.datetime:
    return timezone.now()


# --- submission -------------------------------------------------------------------------------


@dataclass
class ItemInput:
    category: str  # slug (the Open311 service code)
    text: str
    kind: str = Item.Kind.PROBLEM
    community: str = ""  # slug; empty: not said
    latitude: float | str | None = None
    longitude: float | str | None = None
    address: str = ""
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    anonymous: bool = False
    public_consent: bool = False
    # The language of the page or client it was sent from: kept when the text cannot tell.
    language: str = "en"
    photo: UploadedFile | None = None
    media_url: str = ""
    source: str = Item.Source.WEB
    api_client_id: int | None = None
    event_id: int | None = None


@dataclass
class SubmitResult:
    item: Item
    # False: the same submission had already arrived; nothing new was stored.
    created: bool
    errors: dict[str, str] = field(default_factory=dict)


_SPACES = re.compile(r"\s+")


def clean_text(value: str, *, field_name: str = "text", max_chars: int | None = None) -> str:
    """Plain text without markup; line breaks kept, runs of blank lines folded."""
    limit = max_chars or settings.YULAN_FEEDBACK_MAX_CHARS
    text = strip_html(value or "").replace("\r\n", "\n").strip()
    text = re.sub(r"\n{3,}", "\n\n", text)
    if not text:
        raise ApplicationError(_("Please write what you would like to tell us."), field=field_name)
    if len(text) > limit:
        raise ApplicationError(
            _("Please keep it under %(limit)d characters (this is %(length)d).")
            % {"limit": limit, "length": len(text)},
            field=field_name,
        )
    return text


def clean_coordinates(latitude: Any, longitude: Any) -> tuple[float | None, float | None]:
    empty = (None, "")
    if latitude in empty and longitude in empty:
        return None, None
    if latitude in empty or longitude in empty:
        raise ApplicationError(_("Give both latitude and longitude, or neither."), field="latitude")
    try:
        lat = float(latitude)
    except (TypeError, ValueError):
        raise ApplicationError(_("Latitude and longitude must be numbers."), field="latitude") from None
    try:
        lng = float(longitude)
    except (TypeError, ValueError):
        raise ApplicationError(_("Latitude and longitude must be numbers."), field="longitude") from None
    if not (math.isfinite(lat) and -90 <= lat <= 90):
        raise ApplicationError(_("Latitude must be between -90 and 90."), field="latitude")
    if not (math.isfinite(lng) and -180 <= lng <= 180):
        raise ApplicationError(_("Longitude must be between -180 and 180."), field="longitude")
    return round(lat, 6), round(lng, 6)


def _clean_email(value: str, *, field_name: str = "contact_email") -> str:
    value = (value or "").strip().lower()
    if not value:
        return ""
    if len(value) > 254:
        raise ApplicationError(_("Enter a valid e-mail address."), field=field_name)
    try:
        validate_email(value)
    except ValidationError:
        raise ApplicationError(_("Enter a valid e-mail address."), field=field_name) from None
    return value


def _clean_media_url(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    try:
        URLValidator(schemes=["http", "https"])(value)
    except ValidationError:
        raise ApplicationError(_("The media link must be an http or https address."), field="media_url") from None
    if len(value) > 500:
        raise ApplicationError(_("The media link is too long."), field="media_url")
    return value


def category_active(slug: str) -> Category:
    found = reference.current().categories.get((slug or "").strip())
    if found is None:
        raise ApplicationError(_("Choose one of the listed categories."), field="category", status=404)
    return found


def _community(slug: str) -> Community | None:
    slug = (slug or "").strip()
    if not slug:
        return None
    found = reference.current().communities.get(slug)
    if found is None:
        raise ApplicationError(_("Choose one of the listed communities."), field="community", status=404)
    return found


def nearest_community(latitude: float, longitude: float) -> Community | None:
    """The member community whose centre is nearest, if one is within reach."""
    best: tuple[float, Community] | None = None
    for community in reference.current().centres:
        c_lat, c_lng = community.latitude, community.longitude
        if c_lat is None or c_lng is None:
            continue
        # Equirectangular distance: plenty within a city.
        x = math.radians(longitude - c_lng) * math.cos(math.radians((latitude + c_lat) / 2))
        y = math.radians(latitude - c_lat)
        km = 6371 * math.hypot(x, y)
        if km <= settings.YULAN_FEEDBACK_COMMUNITY_KM and (best is None or km < best[0]):
            best = (km, community)
    return best[1] if best else None


def route(category_id: int, community_id: int | None) -> int | None:
    """The office that acts on this category in this community: the most specific rule wins
    (category and community, then category, then community, then the default)."""
    rules = reference.current().rules
    for key in ((category_id, community_id), (category_id, None), (None, community_id), (None, None)):
        if key in rules:
            return rules[key]
    return None


def _fingerprint(text: str, category: Category, community: Community | None, sender: str, where: str) -> str:
    words = _SPACES.sub(" ", text.lower()).strip()
    raw = "\x1f".join([words, category.slug, community.slug if community else "", sender, where])
    return hashlib.sha256(raw.encode()).hexdigest()


def _earlier(fingerprint: str, since: datetime.datetime) -> Item | None:
    """The first copy of a repeated submission, if one arrived since `since`."""
    found = (
        Item.objects.filter(fingerprint=fingerprint, created_at__gte=since)
        .order_by("id")
        .values_list("pk", flat=True)
        .first()
    )
    return Item.objects.select_related("category").get(pk=found) if found is not None else None


def item_submit(data: ItemInput, *, user: User | None = None) -> SubmitResult:
    """Store one piece of feedback, route it and queue its confirmation. The same submission
    sent again within `YULAN_FEEDBACK_DUPLICATE_HOURS` returns the first one, unchanged."""
    text = clean_text(data.text)
    if data.kind not in Item.Kind.values:
        raise ApplicationError(_("Choose suggestion, problem or idea."), field="kind")
    category = category_active(data.category)
    community = _community(data.community)
    latitude, longitude = clean_coordinates(data.latitude, data.longitude)
    address = strip_html(data.address or "").strip()[:300]
    codes = {code for code, _name in settings.LANGUAGES}
    page_language = data.language if data.language in codes else settings.LANGUAGE_CODE
    if data.anonymous:
        user, name, email, phone = None, "", "", ""
    else:
        name = strip_html(data.contact_name or "").strip()[:150]
        email = _clean_email(data.contact_email) or (user.email if user is not None else "")
        phone = re.sub(r"[^0-9+()\- ]", "", data.contact_phone or "").strip()[:50]
    media_url = _clean_media_url(data.media_url)
    photo = photos.clean(data.photo) if data.photo is not None else None
    if community is None and latitude is not None and longitude is not None:
        community = nearest_community(latitude, longitude)

    sender = f"user:{user.pk}" if user is not None else email or phone
    where = f"{latitude},{longitude}|{address.lower()}"
    fingerprint = _fingerprint(text, category, community, sender, where)
    now = _now()
    # An account (or an Open311 client's key) proves who repeats itself; an address typed or
    # no sender at all does not, and the submit page answers a repeat with the earlier item's
    # tracking link: without proof, only a double click's time counts as a repeat.
    window = (
        datetime.timedelta(hours=settings.YULAN_FEEDBACK_DUPLICATE_HOURS)
        if user is not None or data.api_client_id is not None
        else datetime.timedelta(minutes=2)
    )
    since = now - window
    lock = f"feedback-submit:{fingerprint}"
    while True:
        locked = cache.add(lock, 1, timeout=30)
        earlier = _earlier(fingerprint, since)
        if earlier is not None or locked:
            break
        # The same submission is being stored right now (a double click, a client retrying):
        # wait for it, however long that takes, rather than store it twice.
        time.sleep(0.1)
    if earlier is not None:
        if locked:
            cache.delete(lock)
        return SubmitResult(earlier, created=False)

    stored_photo = photos.store(photo) if photo is not None else ""
    try:
        with transaction.atomic():
            item = Item.objects.create(
                kind=data.kind,
                category=category,
                community=community,
                office_id=route(category.pk, community.pk if community else None),
                text=text,
                language=language.detect(text, page_language),
                latitude=latitude,
                longitude=longitude,
                address=address,
                photo=stored_photo,
                media_url=media_url,
                user=user,
                contact_name=name,
                contact_email=email,
                contact_phone=phone,
                contact_language=page_language,
                public_consent=bool(data.public_consent),
                source=data.source,
                api_client_id=data.api_client_id,
                event_id=data.event_id,
                fingerprint=fingerprint,
                created_at=now,
                updated_at=now,
                status_changed_at=now,
                due_at=now + datetime.timedelta(hours=category.response_hours),
            )
            StatusSpan.objects.create(item=item, status=Status.RECEIVED, started_at=now)
            if item.is_public:
                # The public list shows it from now on, also to visitors served from the cache.
                public_pages_changed()
            if email:
                _notify(item, "received", to=[(email, page_language)])
    except BaseException:
        photos.delete(stored_photo)
        # Storing failed: a repeat waiting on the lock may store it instead. (After success the
        # lock simply lapses: a repeat finds the stored item first.)
        cache.delete(lock)
        raise
    return SubmitResult(item, created=True)


def item_from_point(*, event: Any, text: str, language: str, category: str = "") -> Item | None:
    """A point raised at a roundtable or dialogue, as a feedback item of the event's community.
    None when no feedback category is set up yet."""
    slug = category or settings.YULAN_FEEDBACK_ROUNDTABLE_CATEGORY
    found = Category.objects.filter(active=True, slug=slug).first() if slug else None
    if found is None and category:
        raise ApplicationError(_("Choose one of the listed categories."), field="category")
    found = found or Category.objects.filter(active=True).first()
    if found is None:
        return None
    data = ItemInput(
        category=found.slug,
        text=text,
        kind=Item.Kind.SUGGESTION,
        community=event.community.slug if event.community_id else "",
        language=language,
        source=Item.Source.ROUNDTABLE,
        event_id=event.pk,
    )
    return item_submit(data).item


# --- notices --------------------------------------------------------------------------------


def _notify(item: Item, notice: str, *, to: Iterable[tuple[str, str]], **context: Any) -> None:
    for address, lang in to:
        mail_queue_later(
            kind="feedback",
            to=address,
            language=lang,
            context={"notice": notice, "item": item.pk, **context},
        )


def _notify_submitter(item: Item, notice: str, **context: Any) -> None:
    if item.contact_email and item.anonymised_at is None:
        _notify(item, notice, to=[(item.contact_email, _mail_language(item))], **context)


def _notify_followers(item: Item, notice: str, **context: Any) -> None:
    followers = Follower.objects.filter(item=item, confirmed=True).exclude(email=item.contact_email or None)
    rows = [
        OutgoingMail(
            kind="feedback",
            to_email=email,
            language=lang,
            context={"notice": notice, "item": item.pk, "follower": pk, **context},
        )
        for pk, email, lang in followers.values_list("pk", "email", "language")
    ]
    if rows:
        mail_queue_many(rows)
        delivery_start()


def _mail_language(item: Item) -> str:
    """The submitter's language: the site language they wrote from."""
    return item.contact_language or settings.LANGUAGE_CODE


# --- staff: reading and checking ----------------------------------------------------------------


def _locked(item_id: int) -> Item:
    item = Item.objects.select_for_update().filter(pk=item_id).first()
    if item is None:
        raise ApplicationError(_("This feedback item does not exist."), status=404)
    return item


def _require_handle(actor: User, item: Item) -> None:
    if not may_handle(actor, community_id=item.community_id, office_id=item.office_id):
        raise NotAllowed(_("You do not handle this feedback item."))


def item_for_staff(*, actor: User, item_id: int) -> Item:
    item = (
        Item.objects.select_related("category", "community", "office", "assignee", "merged_into")
        .filter(pk=item_id)
        .first()
    )
    if item is None:
        raise ApplicationError(_("This feedback item does not exist."), status=404)
    _require_handle(actor, item)
    return item


def _start_status(item: Item, status: str, actor: User | None, now: datetime.datetime) -> None:
    """Close the current span, open the next: the time in each status is kept."""
    StatusSpan.objects.filter(item=item, ended_at__isnull=True).update(ended_at=now)
    StatusSpan.objects.create(item=item, status=status, started_at=now, actor=actor)
    item.status = status
    item.status_changed_at = now
    item.updated_at = now
    if status in RESPONDED and item.first_response_at is None:
        item.first_response_at = now
    if status in (Status.CLOSED, Status.DECLINED, Status.MERGED):
        item.closed_at = now
    elif status in Item.OPEN:
        item.closed_at = None


def _audited(actor: User, action: str, item: Item, before: dict[str, Any]) -> None:
    audit_record(actor=actor, action=action, target=item, before=before, after=_staff_snapshot(item))


def _staff_snapshot(item: Item) -> dict[str, Any]:
    data = snapshot(item)
    for name in ("secret", "fingerprint", "contact_name", "contact_email", "contact_phone", "user_id"):
        data.pop(name, None)
    return data


# --- staff: triage ------------------------------------------------------------------------------


def item_set_status(*, actor: User, item_id: int, status: str, reason: str = "") -> Item:
    if status not in Status.values:
        raise ApplicationError(_("Unknown status."), field="status")
    if status == Status.MERGED:
        raise ApplicationError(_("To merge, choose the item to merge into."), field="status")
    reason = strip_html(reason or "").strip()[:2000]
    if status == Status.DECLINED and not reason:
        raise ApplicationError(_("Say why this is not for us: the resident will read it."), field="reason")
    with transaction.atomic():
        item = _locked(item_id)
        _require_handle(actor, item)
        if status == item.status:
            return item
        if status not in TRANSITIONS[item.status]:
            raise ApplicationError(
                _("An item that is “%(old)s” cannot become “%(new)s”.")
                % {"old": item.get_status_display(), "new": Status(status).label},
                field="status",
                status=409,
            )
        if status == Status.ASSIGNED and item.assignee_id is None:
            raise ApplicationError(
                _("Assign the item to a colleague: it then becomes “assigned”."), field="status", status=409
            )
        before = _staff_snapshot(item)
        leaving_declined = item.status == Status.DECLINED
        _start_status(item, status, actor, _now())
        if leaving_declined:
            item.status_reason = ""  # the reason no longer stands
        if status == Status.DECLINED or reason:
            item.status_reason = reason
        if status == Status.RECEIVED:
            item.assignee = None
        item.save()
        _audited(actor, "feedback.status", item, before)
        if item.is_public:
            public_pages_changed()
        _notify_submitter(item, "status", status=status)
        if item.is_public:
            _notify_followers(item, "status", status=status)
    return item


def _staff_for(item: Item, assignee_id: int) -> User:
    person = User.objects.filter(pk=assignee_id, is_active=True).first()
    if person is None or not may_handle(person, community_id=item.community_id, office_id=item.office_id):
        raise ApplicationError(_("Choose a colleague who handles this item."), field="assignee")
    return person


def item_assign(*, actor: User, item_id: int, assignee_id: int | None) -> Item:
    with transaction.atomic():
        item = _locked(item_id)
        _require_handle(actor, item)
        if item.status == Status.MERGED:
            raise ApplicationError(_("This item is merged: assign the item it was merged into."), status=409)
        before = _staff_snapshot(item)
        now = _now()
        if assignee_id is None:
            item.assignee = None
            if item.status == Status.ASSIGNED:
                _start_status(item, Status.RECEIVED, actor, now)
        else:
            item.assignee = _staff_for(item, assignee_id)
            if item.status == Status.RECEIVED:
                _start_status(item, Status.ASSIGNED, actor, now)
        item.updated_at = now
        item.save()
        _audited(actor, "feedback.assign", item, before)
    return item


def item_reroute(*, actor: User, item_id: int, office_id: int | None, community_id: int | None = None) -> Item:
    """Send an item to another office (and, if given, another community). The one who routes
    it must handle it now; it then leaves their queue if it leaves their scope."""
    with transaction.atomic():
        item = _locked(item_id)
        _require_handle(actor, item)
        if office_id is not None and not Office.objects.filter(pk=office_id).exists():
            raise ApplicationError(_("Choose one of the listed offices."), field="office")
        if community_id is not None and not Community.objects.filter(pk=community_id).exists():
            raise ApplicationError(_("Choose one of the listed communities."), field="community")
        before = _staff_snapshot(item)
        item.office_id = office_id
        if community_id is not None:
            item.community_id = community_id
        if item.assignee_id and not may_handle(item.assignee, community_id=item.community_id, office_id=office_id):
            item.assignee = None
            if item.status == Status.ASSIGNED:
                _start_status(item, Status.RECEIVED, actor, _now())
        item.updated_at = _now()
        item.save()
        _audited(actor, "feedback.reroute", item, before)
    return item


def item_set_hidden(*, actor: User, item_id: int, hidden: bool) -> Item:
    with transaction.atomic():
        item = _locked(item_id)
        _require_handle(actor, item)
        before = _staff_snapshot(item)
        item.hidden = hidden
        item.updated_at = _now()
        item.save(update_fields=["hidden", "updated_at"])
        _audited(actor, "feedback.hide" if hidden else "feedback.show", item, before)
        if item.public_consent:
            public_pages_changed()
    return item


def tag_named(name: str) -> Tag:
    name = strip_html(name or "").strip()[:80]
    slug = slugify(name, allow_unicode=True)[:80]
    if not slug:
        raise ApplicationError(_("Give the theme a name."), field="tag")
    try:
        with transaction.atomic():
            tag, _created = Tag.objects.get_or_create(slug=slug, defaults={"name": name})
    except IntegrityError:  # created by a colleague at the same moment
        tag = Tag.objects.get(slug=slug)
    return tag


def item_tag(*, actor: User, item_id: int, names: Iterable[str], remove: Iterable[str] = ()) -> Item:
    with transaction.atomic():
        item = _locked(item_id)
        _require_handle(actor, item)
        before = {"tags": sorted(item.tags.values_list("slug", flat=True))}
        for name in names:
            if name.strip():
                item.tags.add(tag_named(name))
        gone = [slugify(n, allow_unicode=True) for n in remove]
        if gone:
            item.tags.remove(*Tag.objects.filter(slug__in=gone))
        audit_record(
            actor=actor,
            action="feedback.tag",
            target=item,
            before=before,
            after={"tags": sorted(item.tags.values_list("slug", flat=True))},
        )
    return item


BULK_ACTIONS = ("assign", "status", "reroute", "tag")


def items_bulk(*, actor: User, item_ids: Iterable[int], action: str, value: str, reason: str = "") -> int:
    """One action on many items, all or nothing: if any item cannot take it, none does."""
    try:
        ids = sorted({int(i) for i in item_ids})
    except (TypeError, ValueError):
        raise ApplicationError(_("Select items from the list."), field="items") from None
    if not ids:
        raise ApplicationError(_("Select at least one item."), field="items")
    if len(ids) > settings.YULAN_FEEDBACK_BULK_MAX:
        raise ApplicationError(
            _("Select at most %(n)d items at a time.") % {"n": settings.YULAN_FEEDBACK_BULK_MAX}, field="items"
        )
    if action not in BULK_ACTIONS:
        raise ApplicationError(_("Choose an action."), field="action")
    with transaction.atomic():
        for item_id in ids:
            try:
                _bulk_one(actor, item_id, action, value, reason)
            except NotAllowed:
                raise NotAllowed(_("You do not handle #%(n)d.") % {"n": item_id}) from None
            except ApplicationError as exc:
                raise ApplicationError(
                    _("#%(n)d: %(message)s") % {"n": item_id, "message": exc.message},
                    field=exc.field,
                    status=exc.status,
                ) from None
    return len(ids)


def _bulk_one(actor: User, item_id: int, action: str, value: str, reason: str) -> None:
    if action == "status":
        item_set_status(actor=actor, item_id=item_id, status=value, reason=reason)
    elif action == "tag":
        item_tag(actor=actor, item_id=item_id, names=[value])
    else:
        if value and not (value.isascii() and value.isdigit()):
            raise ApplicationError(_("Choose from the list."), field="value")
        target = int(value) if value else None
        if action == "assign":
            item_assign(actor=actor, item_id=item_id, assignee_id=target)
        else:
            item_reroute(actor=actor, item_id=item_id, office_id=target)


# --- staff: replies -------------------------------------------------------------------------------


def reply_add(*, actor: User, item_id: int, kind: str, text: Any) -> Reply:
    """A note (staff only), a private reply (to the submitter) or a public reply (on the page,
    to the submitter and followers). `text` is `{language: text}`: the reply as written and,
    if the author adds one, its translation into the submitter's language."""
    if kind not in Reply.Kind.values:
        raise ApplicationError(_("Choose note, private reply or public reply."), field="kind")
    translations = clean_translations(text, field="text", max_chars=settings.YULAN_FEEDBACK_MAX_CHARS)
    translations = {code: strip_html(value).strip() for code, value in translations.items()}
    translations = {code: value for code, value in translations.items() if value}
    if not translations:
        raise ApplicationError(_("Write the reply."), field="text")
    with transaction.atomic():
        item = _locked(item_id)
        _require_handle(actor, item)
        if kind == Reply.Kind.PUBLIC and not item.is_public:
            raise ApplicationError(
                _("This item is not public: write a private reply to its author instead."), field="kind", status=409
            )
        if kind == Reply.Kind.PRIVATE and not item.contact_email:
            raise ApplicationError(
                _("The author left no e-mail address: a private reply would reach no one."), field="kind", status=409
            )
        now = _now()
        reply = Reply.objects.create(
            item=item, kind=kind, text=translations, author=actor, office=item.office, created_at=now
        )
        fields = ["updated_at"]
        item.updated_at = now
        if kind != Reply.Kind.NOTE and item.first_response_at is None:
            item.first_response_at = now
            fields.append("first_response_at")
        item.save(update_fields=fields)
        audit_record(actor=actor, action=f"feedback.reply.{kind}", target=item, after={"reply": reply.pk})
        if kind != Reply.Kind.NOTE:
            _notify_submitter(item, "reply", reply=reply.pk)
        if kind == Reply.Kind.PUBLIC:
            _notify_followers(item, "reply", reply=reply.pk)
    return reply


# --- staff: merging duplicates ----------------------------------------------------------------


def item_merge(*, actor: User, item_id: int, into_id: int) -> Item:
    """Merge a duplicate into another item: its supporters and followers carry over (once
    each) and it points to the item that goes on."""
    if item_id == into_id:
        raise ApplicationError(_("An item cannot be merged into itself."), field="into")
    with transaction.atomic():
        # Lock both in id order so two merges cannot deadlock.
        locked = {i.pk: i for i in Item.objects.select_for_update().filter(pk__in=[item_id, into_id]).order_by("pk")}
        item, target = locked.get(item_id), locked.get(into_id)
        if item is None:
            raise ApplicationError(_("This feedback item does not exist."), status=404)
        if target is None:
            raise ApplicationError(_("There is no item #%(n)d.") % {"n": into_id}, field="into", status=404)
        _require_handle(actor, item)
        _require_handle(actor, target)
        if item.status == Status.MERGED:
            raise ApplicationError(_("This item is already merged."), status=409)
        if target.status == Status.MERGED:
            raise ApplicationError(
                _("Item #%(n)d is itself merged into #%(m)d: merge into that one.")
                % {"n": target.pk, "m": target.merged_into_id},
                field="into",
                status=409,
            )
        before = _staff_snapshot(item)
        have_users = set(Support.objects.filter(item=target).values_list("user_id", flat=True))
        if target.user_id:
            have_users.add(target.user_id)  # an author's own voice already counts
        Support.objects.filter(item=item).exclude(user_id__in=have_users).update(item=target)
        Support.objects.filter(item=item).delete()
        have_emails = set(Follower.objects.filter(item=target).values_list("email", flat=True))
        Follower.objects.filter(item=item).exclude(email__in=have_emails).update(item=target)
        Follower.objects.filter(item=item).delete()
        # The duplicate's author is told about the item that goes on (it follows it from now).
        if item.contact_email and item.contact_email != target.contact_email:
            Follower.objects.update_or_create(
                item=target,
                email=item.contact_email,
                defaults={"confirmed": True},
                create_defaults={"user": item.user, "language": _mail_language(item), "confirmed": True},
            )
        # Its author's voice counts once on the item that goes on.
        if item.user_id and item.user_id != target.user_id and item.user_id not in have_users:
            Support.objects.get_or_create(item=target, user_id=item.user_id)
        _recount(target)
        item.merged_into = target
        _start_status(item, Status.MERGED, actor, _now())
        item.supporters_count = 0
        item.followers_count = 0
        item.save()
        _audited(actor, "feedback.merge", item, before)
        if item.is_public:
            public_pages_changed()
        _notify_submitter(item, "merged", into=target.pk)
    return item


def _recount(item: Item) -> None:
    Item.objects.filter(pk=item.pk).update(
        supporters_count=Support.objects.filter(item=item).count(),
        followers_count=Follower.objects.filter(item=item, confirmed=True).count(),
    )
    item.refresh_from_db(fields=["supporters_count", "followers_count"])


# --- residents: support and following ---------------------------------------------------------------


def _public_item(item_id: int) -> Item:
    item = Item.objects.public().filter(pk=item_id).first()
    if item is None:
        raise ApplicationError(_("This feedback item is not public."), status=404)
    return item


def support_add(*, user: User, item_id: int) -> Item:
    """A resident's "me too", once per account; supporting twice changes nothing."""
    item = _public_item(item_id)
    if item.status == Status.MERGED:
        raise ApplicationError(_("This item was merged: support the one it was merged into."), status=409)
    if item.user_id == user.pk:
        raise ApplicationError(_("This is your own feedback: it already counts."), status=409)
    try:
        with transaction.atomic():
            Support.objects.create(item=item, user=user)
            Item.objects.filter(pk=item.pk).update(supporters_count=F("supporters_count") + 1)
    except IntegrityError:
        pass  # already supported: one per person
    item.refresh_from_db(fields=["supporters_count"])
    return item


def support_remove(*, user: User, item_id: int) -> Item:
    item = _public_item(item_id)
    with transaction.atomic():
        gone, _rows = Support.objects.filter(item=item, user=user).delete()
        if gone:
            Item.objects.filter(pk=item.pk).update(supporters_count=F("supporters_count") - 1)
    item.refresh_from_db(fields=["supporters_count"])
    return item


def follow_request(*, item_id: int, email: str, language: str, user: User | None = None) -> Follower:
    """Follow a public item by e-mail. An account's own address follows at once; any other
    address gets a link to confirm first, so nobody can sign up someone else."""
    item = _public_item(item_id)
    address = _clean_email(email, field_name="email")
    if not address:
        raise ApplicationError(_("Enter your e-mail address."), field="email")
    language = clean_language(language, field="language")
    trusted = user is not None and user.email.lower() == address
    with transaction.atomic():
        follower, created = Follower.objects.get_or_create(
            item=item, email=address, defaults={"user": user if trusted else None, "language": language}
        )
        if follower.confirmed:
            return follower
        if trusted:
            # Conditional: of two requests confirming the same pending row, one counts it.
            if Follower.objects.filter(pk=follower.pk, confirmed=False).update(confirmed=True, user=user):
                Item.objects.filter(pk=item.pk).update(followers_count=F("followers_count") + 1)
            follower.confirmed, follower.user = True, user
        else:
            mail_queue_later(
                kind="feedback",
                to=address,
                language=language,
                context={"notice": "follow_confirm", "item": item.pk, "follower": follower.pk},
                # One confirmation an hour per address and item, however often it is asked.
                key=f"feedback-follow:{follower.pk}:{_now():%Y%m%d%H}",
            )
    return follower


def follow_confirm(*, follower_id: int) -> Follower:
    with transaction.atomic():
        follower = Follower.objects.select_for_update().get(pk=follower_id)
        if not follower.confirmed:
            follower.confirmed = True
            follower.save(update_fields=["confirmed"])
            Item.objects.filter(pk=follower.item_id).update(followers_count=F("followers_count") + 1)
    return follower


def unfollow(*, follower_id: int) -> None:
    with transaction.atomic():
        follower = Follower.objects.select_for_update().filter(pk=follower_id).first()
        if follower is None:
            return
        if follower.confirmed:
            Item.objects.filter(pk=follower.item_id).update(followers_count=F("followers_count") - 1)
        follower.delete()


# --- a submitter's data ---------------------------------------------------------------------------


def _own_items(*, email: str = "", user: User | None = None) -> Any:
    q = Q(pk__in=[])
    if email:
        q |= Q(contact_email=email.lower())
    if user is not None:
        q |= Q(user=user)
    return Item.objects.filter(q, anonymised_at__isnull=True)


def my_data_request(*, email: str, language: str) -> None:
    """E-mail a link to everything sent from this address. The same answer is given whether or
    not anything was sent from it, so the page tells nobody who wrote to the city."""
    address = _clean_email(email, field_name="email")
    if not address:
        raise ApplicationError(_("Enter your e-mail address."), field="email")
    if _own_items(email=address).exists():
        mail_queue_later(
            kind="feedback",
            to=address,
            language=clean_language(language, field="language"),
            context={"notice": "my_data", "email": address},
            key=f"feedback-my-data:{hashlib.sha256(address.encode()).hexdigest()[:32]}:{_now():%Y%m%d%H}",
        )


def my_data_export(*, email: str = "", user: User | None = None) -> dict[str, Any]:
    """Everything stored about one submitter's feedback, as they sent it."""
    items = _own_items(email=email, user=user).select_related("category", "community").prefetch_related("replies")
    out = []
    for item in items:
        out.append(
            {
                "reference": item.reference,
                "created_at": item.created_at.isoformat(),
                "category": item.category.slug,
                "community": item.community.slug if item.community else None,
                "kind": item.kind,
                "text": item.text,
                "language": item.language,
                "latitude": item.latitude,
                "longitude": item.longitude,
                "address": item.address,
                "has_photo": bool(item.photo),
                "contact_name": item.contact_name,
                "contact_email": item.contact_email,
                "contact_phone": item.contact_phone,
                "public_consent": item.public_consent,
                "status": item.status,
                "replies": [
                    {"at": r.created_at.isoformat(), "kind": r.kind, "text": r.text.data}
                    for r in item.replies.all()
                    if r.kind != Reply.Kind.NOTE
                ],
            }
        )
    followed = Follower.objects.filter(email=email.lower()) if email else Follower.objects.none()
    return {"items": out, "following": [f.item_id for f in followed]}


def my_data_erase(*, email: str = "", user: User | None = None) -> int:
    """Remove a submitter's personal data: contact details and the link to their account are
    cleared and their photo deleted; the items stay, anonymised, so the record of what the city
    was told and answered is kept. Follow subscriptions of the address end."""
    now = _now()
    photo_names: list[str] = []
    with transaction.atomic():
        items = list(_own_items(email=email, user=user).select_for_update())
        for item in items:
            if item.photo:
                photo_names.append(item.photo)
            item.user = None
            item.contact_name = item.contact_email = item.contact_phone = ""
            item.photo = ""
            item.fingerprint = ""
            item.anonymised_at = now
            item.updated_at = now
        Item.objects.bulk_update(
            items,
            [
                "user",
                "contact_name",
                "contact_email",
                "contact_phone",
                "photo",
                "fingerprint",
                "anonymised_at",
                "updated_at",
            ],
        )
        for item in items:
            audit_record(actor=None, action="feedback.anonymise", target=item)
        if email:
            for follower in Follower.objects.filter(email=email.lower()):
                unfollow(follower_id=follower.pk)

        def delete_photos() -> None:
            for name in photo_names:
                photos.delete(name)

        transaction.on_commit(delete_photos)
    return len(items)


# --- setup: categories and routing ---------------------------------------------------------------


def rule_set(*, actor: User, category_id: int | None, community_id: int | None, office_id: int) -> RoutingRule:
    """Add or change the rule for one category × community (either may be None: any)."""
    require(actor, Perm.FEEDBACK_SETUP)
    if not Office.objects.filter(pk=office_id).exists():
        raise ApplicationError(_("Choose one of the listed offices."), field="office")
    with transaction.atomic():
        rule = RoutingRule.objects.filter(category_id=category_id, community_id=community_id).first()  # type: ignore[misc]
        before = snapshot(rule) if rule else None
        if rule is None:
            rule = RoutingRule.objects.create(category_id=category_id, community_id=community_id, office_id=office_id)
        else:
            rule.office_id = office_id
            rule.save(update_fields=["office"])
        audit_record(actor=actor, action="feedback.rule", target=rule, before=before, after=snapshot(rule))
    return rule


def rule_delete(*, actor: User, rule_id: int) -> None:
    require(actor, Perm.FEEDBACK_SETUP)
    with transaction.atomic():
        rule = RoutingRule.objects.filter(pk=rule_id).first()
        if rule is None:
            return
        audit_record(actor=actor, action="feedback.rule.delete", target=rule, before=snapshot(rule))
        rule.delete()


def category_save(
    *,
    actor: User,
    slug: str,
    name: Any,
    description: Any = None,
    group: str = "",
    keywords: str = "",
    response_hours: int = 120,
    active: bool = True,
) -> Category:
    require(actor, Perm.FEEDBACK_SETUP)
    from yulan.core.cleaning import clean_slug

    slug = clean_slug(slug)
    if len(slug) > 60:
        raise ApplicationError(_("Keep the code under 60 characters."), field="slug")
    names = clean_translations(name, field="name", max_chars=200)
    descriptions = clean_translations(description or {}, field="description", required=False)
    if response_hours < 1 or response_hours > 24 * 365:
        raise ApplicationError(_("The response target must be between 1 hour and a year."), field="response_hours")
    with transaction.atomic():
        category = Category.objects.filter(slug=slug).first()
        before = snapshot(category) if category else None
        if category is None:
            category = Category(slug=slug)
        category.name = names
        category.description = descriptions
        category.group = slugify(group)[:60]
        category.keywords = strip_html(keywords)[:300]
        category.response_hours = response_hours
        category.active = active
        category.save()
        audit_record(actor=actor, action="feedback.category", target=category, before=before, after=snapshot(category))
    return category


def may_see_everything(user: User) -> bool:
    return has_perm_everywhere(user, Perm.FEEDBACK_HANDLE)

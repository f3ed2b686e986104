"""Events services: who may run which events, places and the waiting list, e-mail sign-ups and
their links, offers, reminders and the notices that go out, check-in, points raised."""

import datetime
import re

import pytest
from django.core import signing
from django.utils import dates, formats, timezone, translation
from django.utils.translation import gettext

from yulan.core.errors import ApplicationError, NotAllowed
from yulan.core.models import AuditEntry, OutgoingMail
from yulan.events import services, tokens
from yulan.events.models import Event, Point, Question, Registration

from .conftest import account, deliver, edit_input, event_input, html_of, in_days, make_event, register, text_of

Status = Registration.Status
TITLE = "International tea afternoon"
TITLE_ZH = "国际茶话会"


def notices(reg: Registration) -> list[str]:
    """The notices queued for a registration, oldest first."""
    rows = OutgoingMail.objects.filter(kind="event", context__registration=reg.pk).order_by("pk")
    return [row.context["notice"] for row in rows]


def statuses(*regs: Registration) -> list[str]:
    for reg in regs:
        reg.refresh_from_db()
    return [reg.status for reg in regs]


def places_taken(event: Event) -> int:
    event.refresh_from_db()
    return event.places_taken


def sent_to(messages, address: str):
    return [m for m in messages if m.to == [address]]


def tokens_in(text: str) -> list[str]:
    """Every path segment of every link in a message: one of them is the signed token."""
    return [segment for url in re.findall(r"https?://\S+", text) for segment in url.split("/") if segment]


def reads_as(text: str, purpose: str) -> Registration:
    found = []
    for segment in tokens_in(text):
        try:
            found.append(tokens.read(segment, purpose))
        except ApplicationError:
            continue
    assert len(found) == 1, f"expected one {purpose} link in:\n{text}"
    return found[0]


# --- creating and editing events --------------------------------------------------------------


def test_an_editor_creates_a_city_wide_event_and_it_is_audited(editor, venue):
    event = services.event_create(actor=editor, data=event_input(place_id=venue.pk, online_url=""))
    assert event.community_id is None and event.status == Event.Status.DRAFT
    assert event.place == venue and event.time_zone == "Asia/Shanghai"
    assert event.language_list == ["en", "zh-hans"]
    event.refresh_from_db()
    assert event.description.data["en"] == "<p>Tea from around the world.</p>"
    assert AuditEntry.objects.filter(action="event.create", target_id=str(event.pk), actor=editor).exists()
    published = services.event_publish(actor=editor, event_id=event.pk)
    assert published.status == Event.Status.PUBLISHED
    with pytest.raises(ApplicationError):
        services.event_publish(actor=editor, event_id=event.pk)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda start: {"ends_at": start - datetime.timedelta(hours=1)}, "ends_at"),
        (lambda start: {"ends_at": start}, "ends_at"),
        (lambda start: {"time_zone": "Mars/Olympus"}, "time_zone"),
        (lambda start: {"time_zone": ""}, "time_zone"),
        (lambda start: {"time_zone": "Shanghai"}, "time_zone"),
        (lambda start: {"languages": ["en", "xx"]}, "languages"),
        (lambda start: {"capacity": 0}, "capacity"),
        (lambda start: {"max_party_size": 0}, "max_party_size"),
        (lambda start: {"max_party_size": 51}, "max_party_size"),
        (lambda start: {"online_url": "", "place_id": None}, "place"),
        (lambda start: {"place_id": 999999}, "place"),
        (lambda start: {"community_id": 999999}, "community"),
        (lambda start: {"kind": "party"}, "kind"),
        (lambda start: {"slug": "Not A Slug"}, "slug"),
        (lambda start: {"title": {}}, "title"),
        (lambda start: {"title": {"xx": "Unknown language"}}, "title"),
        (lambda start: {"source_language": "xx"}, "source_language"),
        (lambda start: {"registration_closes_at": start + datetime.timedelta(hours=3)}, "registration_closes_at"),
        (lambda start: {"registration_opens_at": start}, "registration_opens_at"),
    ],
)
def test_bad_event_input_names_the_field_and_stores_nothing(editor, change, field):
    start = in_days(10)
    with pytest.raises(ApplicationError) as exc:
        services.event_create(actor=editor, data=event_input(starts_at=start, **change(start)))
    assert exc.value.field == field
    assert not Event.objects.exists()
    assert not AuditEntry.objects.filter(action="event.create").exists()


def test_the_same_bad_input_is_refused_on_edit_and_changes_nothing(editor):
    event = make_event(editor)
    for change, field in [
        ({"ends_at": event.starts_at}, "ends_at"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"capacity": 0}, "capacity"),
        ({"online_url": ""}, "place"),
    ]:
        with pytest.raises(ApplicationError) as exc:
            services.event_update(actor=editor, event_id=event.pk, data=edit_input(event, **change))
        assert exc.value.field == field
    fresh = Event.objects.get(pk=event.pk)
    assert (fresh.ends_at, fresh.time_zone, fresh.capacity, fresh.online_url) == (
        event.ends_at,
        "Asia/Shanghai",
        10,
        "https://meet.example.org/tea",
    )
    assert fresh.sequence == 0


def test_places_per_registration_may_be_one_to_fifty_and_utc_is_a_time_zone(editor):
    one = services.event_create(actor=editor, data=event_input("one", max_party_size=1, time_zone="UTC"))
    fifty = services.event_create(actor=editor, data=event_input("fifty", max_party_size=50, capacity=None))
    assert (one.max_party_size, one.time_zone, fifty.max_party_size) == (1, "UTC", 50)


def test_an_event_address_is_used_once(editor):
    make_event(editor, "tea")
    with pytest.raises(ApplicationError) as exc:
        services.event_create(actor=editor, data=event_input("tea", title={"en": "Another tea"}))
    assert exc.value.field == "slug"
    assert Event.objects.count() == 1
    other = make_event(editor, "coffee")
    with pytest.raises(ApplicationError) as exc:
        services.event_update(actor=editor, event_id=other.pk, data=edit_input(other, slug="tea"))
    assert exc.value.field == "slug"
    assert Event.objects.get(pk=other.pk).slug == "coffee"


def test_a_cancelled_event_can_no_longer_be_changed(editor):
    event = make_event(editor)
    services.event_cancel(actor=editor, event_id=event.pk)
    with pytest.raises(ApplicationError):
        services.event_update(actor=editor, event_id=event.pk, data=edit_input(event, capacity=20))
    with pytest.raises(ApplicationError):
        services.event_cancel(actor=editor, event_id=event.pk)
    assert Event.objects.get(pk=event.pk).capacity == 10


@pytest.mark.parametrize("action", ["update", "publish", "cancel"])
def test_an_unknown_event_is_not_found(editor, action):
    calls = {
        "update": lambda: services.event_update(actor=editor, event_id=999999, data=event_input()),
        "publish": lambda: services.event_publish(actor=editor, event_id=999999),
        "cancel": lambda: services.event_cancel(actor=editor, event_id=999999),
    }
    with pytest.raises(ApplicationError) as exc:
        calls[action]()
    assert exc.value.status == 404


@pytest.mark.parametrize("url", ["javascript:alert(1)", "not a link"])
def test_an_online_link_must_be_a_web_address(editor, url):
    with pytest.raises(ApplicationError) as exc:
        services.event_create(actor=editor, data=event_input(online_url=url))
    assert exc.value.field == "online_url"
    assert not Event.objects.exists()


# --- who runs which events --------------------------------------------------------------------


def test_a_coordinator_runs_events_for_its_own_community_only(coordinator, community, other_community):
    event = make_event(coordinator, "local", community=community)
    assert event.community == community and event.status == Event.Status.PUBLISHED
    with pytest.raises(NotAllowed):
        make_event(coordinator, "elsewhere", community=other_community)
    with pytest.raises(NotAllowed):
        make_event(coordinator, "whole-city")
    assert list(Event.objects.values_list("slug", flat=True)) == ["local"]
    updated = services.event_update(actor=coordinator, event_id=event.pk, data=edit_input(event, capacity=30))
    assert updated.capacity == 30
    # Nor may it move its own event to another community, or make it city-wide.
    for community_id in (other_community.pk, None):
        with pytest.raises(NotAllowed):
            services.event_update(
                actor=coordinator, event_id=event.pk, data=edit_input(event, community_id=community_id)
            )
    assert Event.objects.get(pk=event.pk).community == community


def test_a_coordinator_cannot_touch_another_communitys_event_or_a_city_wide_one(
    editor, coordinator, other_coordinator, community, other_community
):
    theirs = make_event(other_coordinator, "theirs", community=other_community, publish=False)
    city = make_event(editor, "city", publish=False)
    for event in (theirs, city):
        with pytest.raises(NotAllowed):
            services.event_update(actor=coordinator, event_id=event.pk, data=edit_input(event, capacity=99))
        # Not even by claiming it for its own community in the same edit.
        with pytest.raises(NotAllowed):
            services.event_update(
                actor=coordinator, event_id=event.pk, data=edit_input(event, community_id=community.pk, capacity=99)
            )
        with pytest.raises(NotAllowed):
            services.event_publish(actor=coordinator, event_id=event.pk)
        with pytest.raises(NotAllowed):
            services.event_cancel(actor=coordinator, event_id=event.pk)
        fresh = Event.objects.get(pk=event.pk)
        assert (fresh.capacity, fresh.status, fresh.community_id) == (10, "draft", event.community_id)


def test_an_editor_runs_events_anywhere(editor, coordinator, community, other_community):
    make_event(editor, "city")
    make_event(editor, "there", community=other_community)
    local = make_event(coordinator, "local", community=community)
    services.event_update(actor=editor, event_id=local.pk, data=edit_input(local, capacity=40))
    services.event_cancel(actor=editor, event_id=local.pk)
    assert Event.objects.get(pk=local.pk).status == Event.Status.CANCELLED
    assert Event.objects.count() == 3


def test_a_resident_cannot_run_events(editor, resident):
    with pytest.raises(NotAllowed):
        make_event(resident, "mine")
    event = make_event(editor)
    with pytest.raises(NotAllowed):
        services.event_update(actor=resident, event_id=event.pk, data=edit_input(event, capacity=1))
    assert Event.objects.count() == 1


# --- registering with an account --------------------------------------------------------------


def test_it_confirms_at_once_while_places_last(editor):
    event = make_event(editor, capacity=3)
    regs = [register(event, account()) for _ in range(3)]
    assert [r.status for r in regs] == [Status.CONFIRMED] * 3
    assert all(r.position is None and r.confirmed_at and r.decided_at for r in regs)
    assert places_taken(event) == 3
    assert notices(regs[0]) == ["confirmed"]
    assert regs[0].name.startswith("Resident") and regs[0].email.endswith("@example.org")


def test_it_waitlists_when_full_in_arrival_order(editor):
    event = make_event(editor, capacity=2)
    confirmed = [register(event, account()) for _ in range(2)]
    waiting = [register(event, account()) for _ in range(3)]
    assert {r.status for r in confirmed} == {Status.CONFIRMED}
    assert [(r.status, r.position) for r in waiting] == [(Status.WAITLISTED, n) for n in (1, 2, 3)]
    assert all(r.confirmed_at is None and r.decided_at for r in waiting)
    assert notices(waiting[2]) == ["waitlisted"]
    event.refresh_from_db()
    assert (event.places_taken, event.waitlist_issued) == (2, 3)


def test_a_party_counts_its_places(editor):
    event = make_event(editor, capacity=5, max_party_size=4)
    first = register(event, account(), party=3)
    second = register(event, account(), party=3)
    assert (first.status, second.status, second.position) == (Status.CONFIRMED, Status.WAITLISTED, 1)
    assert places_taken(event) == 3
    # Two places are still free: a party that fits takes them.
    third = register(event, account(), party=2)
    assert third.status == Status.CONFIRMED
    assert places_taken(event) == 5


@pytest.mark.parametrize("party", [5, 0, -1, "many"])
def test_a_party_outside_the_limits_is_refused(editor, party):
    event = make_event(editor, max_party_size=4)
    with pytest.raises(ApplicationError) as exc:
        register(event, account(), party=party)
    assert exc.value.field == "party_size"
    assert not Registration.objects.exists()
    assert places_taken(event) == 0


def test_registering_twice_with_an_account_is_refused(editor):
    event = make_event(editor)
    user = account()
    register(event, user)
    queued = OutgoingMail.objects.count()
    with pytest.raises(ApplicationError) as exc:
        register(event, user, party=2)
    assert exc.value.status == 409
    assert Registration.objects.count() == 1 and OutgoingMail.objects.count() == queued
    assert places_taken(event) == 1


def test_a_full_event_without_a_waiting_list_says_so(editor):
    event = make_event(editor, capacity=3, waitlist_enabled=False)
    register(event, account(), party=2)
    with pytest.raises(ApplicationError) as exc:
        register(event, account(), party=2)
    assert exc.value.field == "party_size" and exc.value.status == 409 and "1" in str(exc.value.message)
    register(event, account(), party=1)
    with pytest.raises(ApplicationError) as exc:
        register(event, account())
    assert exc.value.status == 409 and "full" in str(exc.value.message)
    assert Registration.objects.filter(status=Status.WAITLISTED).count() == 0
    assert places_taken(event) == 3


def test_registration_is_refused_before_it_opens_and_after_it_closes(editor):
    later = make_event(editor, "later", registration_opens_at=in_days(5))
    with pytest.raises(ApplicationError) as exc:
        register(later, account())
    assert exc.value.status == 409 and "opens" in str(exc.value.message)
    closed = make_event(editor, "closed", registration_closes_at=timezone.now() - datetime.timedelta(hours=1))
    with pytest.raises(ApplicationError) as exc:
        register(closed, account())
    assert exc.value.status == 409 and "closed" in str(exc.value.message)
    # E-mail sign-ups are refused the same way.
    with pytest.raises(ApplicationError) as exc:
        register(closed, email="guest@example.org")
    assert "closed" in str(exc.value.message)
    assert not Registration.objects.exists()


def test_registration_is_refused_for_a_cancelled_event_and_for_a_draft(editor):
    cancelled = make_event(editor, "cancelled")
    services.event_cancel(actor=editor, event_id=cancelled.pk)
    with pytest.raises(ApplicationError) as exc:
        register(cancelled, account())
    assert exc.value.status == 409 and "cancelled" in str(exc.value.message)
    draft = make_event(editor, "draft", publish=False)
    with pytest.raises(ApplicationError) as exc:
        register(draft, email="guest@example.org")
    assert exc.value.status == 404 and str(exc.value.message)
    with pytest.raises(ApplicationError) as exc:
        services.registration_create(event_id=999999, data=services.RegistrationInput(name="X"), user=account())
    assert exc.value.status == 404
    assert not Registration.objects.exists()


def add_questions(actor, event) -> tuple[Question, Question, Question]:
    diet = services.question_add(
        actor=actor,
        event_id=event.pk,
        label={"en": "Food", "zh-hans": "饮食"},
        kind=Question.Kind.CHOICE,
        required=True,
        choices={"en": "Anything\nVegetarian\nHalal", "zh-hans": "都可以\n素食\n清真"},
    )
    photos = services.question_add(
        actor=actor, event_id=event.pk, label={"en": "May we take photos?"}, kind="yesno", required=True
    )
    needs = services.question_add(
        actor=actor, event_id=event.pk, label={"en": "Anything we should know?"}, kind="text", required=False
    )
    return diet, photos, needs


def test_required_questions_are_answered_and_answers_are_kept(editor):
    event = make_event(editor)
    diet, photos, needs = add_questions(editor, event)
    assert [q.position for q in (diet, photos, needs)] == [0, 1, 2]
    good = {str(diet.pk): "1", str(photos.pk): "yes"}
    for answers, field in [
        ({}, f"q{diet.pk}"),
        ({str(photos.pk): "yes"}, f"q{diet.pk}"),
        ({**good, str(diet.pk): "3"}, f"q{diet.pk}"),
        ({**good, str(diet.pk): "vegetarian"}, f"q{diet.pk}"),
        ({**good, str(photos.pk): "maybe"}, f"q{photos.pk}"),
        ({**good, str(photos.pk): ""}, f"q{photos.pk}"),
        ({**good, str(needs.pk): "x" * 1001}, f"q{needs.pk}"),
    ]:
        with pytest.raises(ApplicationError) as exc:
            register(event, account(), answers=answers)
        assert exc.value.field == field, answers
    assert not Registration.objects.exists()
    reg = register(event, account(), answers={**good, str(needs.pk): " <b>Wheelchair</b> access ", "999": "ignored"})
    assert reg.answers == {str(diet.pk): "1", str(photos.pk): "yes", str(needs.pk): "Wheelchair access"}
    # The optional question may be left out.
    assert register(event, account(), answers=good).answers == good


def test_questions_are_checked_and_belong_to_the_events_staff(editor, coordinator, other_coordinator, community):
    event = make_event(coordinator, community=community)
    with pytest.raises(NotAllowed):
        services.question_add(
            actor=other_coordinator, event_id=event.pk, label={"en": "Q"}, kind="text", required=False
        )
    with pytest.raises(ApplicationError) as exc:
        services.question_add(
            actor=coordinator, event_id=event.pk, label={"en": "Q"}, kind="choice", required=True, choices={"en": "One"}
        )
    assert exc.value.field == "choices"
    with pytest.raises(ApplicationError) as exc:
        services.question_add(
            actor=coordinator,
            event_id=event.pk,
            label={"en": "Q"},
            kind="choice",
            required=True,
            choices={"en": "One\nTwo", "zh-hans": "一\n二\n三"},
        )
    assert exc.value.field == "choices"
    with pytest.raises(ApplicationError) as exc:
        services.question_add(actor=coordinator, event_id=event.pk, label={"en": "Q"}, kind="essay", required=False)
    assert exc.value.field == "kind"
    assert not Question.objects.exists()
    question = services.question_add(
        actor=coordinator, event_id=event.pk, label={"en": "Q"}, kind="text", required=True
    )
    with pytest.raises(NotAllowed):
        services.question_delete(actor=other_coordinator, question_id=question.pk)
    services.question_delete(actor=editor, question_id=question.pk)
    assert not Question.objects.exists()


# --- registering with an e-mail address alone -------------------------------------------------


def test_an_email_registration_waits_for_its_link_and_holds_no_place(editor):
    event = make_event(editor, capacity=1)
    guest = register(event, email=" Guest@Example.org ", name="Guest <b>One</b>")
    assert (guest.status, guest.email, guest.name) == (Status.PENDING, "guest@example.org", "Guest One")
    assert guest.position is None and guest.decided_at is None
    assert places_taken(event) == 0
    assert notices(guest) == ["pending"]
    # Someone with an account takes the only place meanwhile.
    assert register(event, account()).status == Status.CONFIRMED
    decided = services.registration_confirm_address(registration_id=guest.pk)
    assert (decided.status, decided.position) == (Status.WAITLISTED, 1)
    assert places_taken(event) == 1
    assert notices(guest) == ["pending", "waitlisted"]


def test_confirming_the_address_gives_a_place_and_confirming_again_changes_nothing(editor):
    event = make_event(editor, capacity=2)
    guest = register(event, email="guest@example.org", party=2)
    confirmed = services.registration_confirm_address(registration_id=guest.pk)
    assert confirmed.status == Status.CONFIRMED and confirmed.confirmed_at is not None
    assert places_taken(event) == 2
    again = services.registration_confirm_address(registration_id=guest.pk)
    assert again.status == Status.CONFIRMED and again.confirmed_at == confirmed.confirmed_at
    assert places_taken(event) == 2
    assert notices(guest) == ["pending", "confirmed"]


def test_signing_up_again_with_the_same_address_sends_a_notice_instead_of_a_second_registration(editor):
    event = make_event(editor)
    first = services.registration_create(
        event_id=event.pk, data=services.RegistrationInput(name="Guest", email="guest@example.org")
    )
    assert first.created is True
    again = services.registration_create(
        event_id=event.pk, data=services.RegistrationInput(name="Someone else", email="GUEST@example.org", party_size=3)
    )
    assert again.created is False and again.registration.pk == first.registration.pk
    assert Registration.objects.count() == 1
    reg = Registration.objects.get()
    assert (reg.name, reg.party_size) == ("Guest", 1)
    assert notices(reg) == ["pending", "pending"]
    services.registration_confirm_address(registration_id=reg.pk)
    third = services.registration_create(
        event_id=event.pk, data=services.RegistrationInput(name="Guest", email="guest@example.org")
    )
    assert third.created is False and Registration.objects.count() == 1
    assert notices(reg) == ["pending", "pending", "confirmed", "already"]
    assert places_taken(event) == 1


def test_a_pending_registration_expires_and_the_address_may_register_again(editor):
    event = make_event(editor)
    old = register(event, email="guest@example.org")
    Registration.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(hours=49))
    new = services.registration_create(
        event_id=event.pk, data=services.RegistrationInput(name="Guest", email="guest@example.org")
    )
    assert new.created is True and new.registration.pk != old.pk
    assert statuses(old) == [Status.EXPIRED]
    with pytest.raises(ApplicationError) as exc:
        services.registration_confirm_address(registration_id=old.pk)
    assert exc.value.status == 410
    assert services.registration_confirm_address(registration_id=new.registration.pk).status == Status.CONFIRMED


def test_the_periodic_job_expires_pending_registrations_never_confirmed(editor):
    event = make_event(editor)
    stale = register(event, email="stale@example.org")
    fresh = register(event, email="fresh@example.org")
    Registration.objects.filter(pk=stale.pk).update(created_at=timezone.now() - datetime.timedelta(hours=49))
    services.offers_expire()
    assert statuses(stale, fresh) == [Status.EXPIRED, Status.PENDING]


class _SignedAt(signing.TimestampSigner):
    """Signs as `signing.dumps` does, with the clock set to `at`."""

    def __init__(self, at: datetime.datetime, **kwargs) -> None:
        super().__init__(**kwargs)
        self.at = at

    def timestamp(self) -> str:
        return signing.b62_encode(int(self.at.timestamp()))


def link_made(reg: Registration, purpose: str, hours_ago: float) -> str:
    at = timezone.now() - datetime.timedelta(hours=hours_ago)
    return _SignedAt(at, salt=purpose).sign_object([reg.pk, reg.secret])


def test_confirmation_links_must_be_genuine_fresh_and_made_for_confirming(editor, settings):
    settings.YULAN_EVENT_CONFIRM_HOURS = 48
    event = make_event(editor)
    reg = register(event, email="guest@example.org")
    good = tokens.make(reg, tokens.CONFIRM)
    assert tokens.read(good, tokens.CONFIRM) == reg
    forged = [
        "nonsense",
        good[:-3] + ("xyz" if not good.endswith("xyz") else "abc"),
        signing.dumps([reg.pk, "wrong-secret"], salt=tokens.CONFIRM),
        signing.dumps([reg.pk, reg.secret], salt="yulan.news.confirm"),
        signing.dumps({"pk": reg.pk}, salt=tokens.CONFIRM),
        tokens.make(reg, tokens.MANAGE),  # a registration's own page link is not a confirmation link
    ]
    for token in forged:
        with pytest.raises(ApplicationError):
            tokens.read(token, tokens.CONFIRM)
    with pytest.raises(ApplicationError):
        tokens.read(good, tokens.MANAGE)
    assert tokens.read(link_made(reg, tokens.CONFIRM, hours_ago=47), tokens.CONFIRM) == reg
    with pytest.raises(ApplicationError) as exc:
        tokens.read(link_made(reg, tokens.CONFIRM, hours_ago=49), tokens.CONFIRM)
    assert "expired" in str(exc.value.message)
    # The page link does not expire.
    assert tokens.read(link_made(reg, tokens.MANAGE, hours_ago=24 * 400), tokens.MANAGE) == reg
    assert statuses(reg) == [Status.PENDING]


def test_changing_the_secret_retires_old_links(editor):
    reg = register(make_event(editor), account())
    link = tokens.make(reg, tokens.MANAGE)
    Registration.objects.filter(pk=reg.pk).update(secret="retired")
    with pytest.raises(ApplicationError) as exc:
        tokens.read(link, tokens.MANAGE)
    assert exc.value.status == 404


# --- cancellations, offers and the waiting list -----------------------------------------------


def test_a_cancellation_offers_the_place_to_the_first_in_line(editor):
    event = make_event(editor, capacity=1)
    first = register(event, account())
    next_in_line, after = register(event, account()), register(event, account())
    before = timezone.now()
    services.registration_cancel(registration_id=first.pk)
    assert statuses(first, next_in_line, after) == [Status.CANCELLED, Status.OFFERED, Status.WAITLISTED]
    assert first.cancelled_at is not None and first.cancelled_by_staff is False
    assert before + datetime.timedelta(hours=23) < next_in_line.offer_expires_at <= event.starts_at
    assert places_taken(event) == 1  # the offer holds the freed place
    assert notices(first)[-1] == "cancelled" and notices(next_in_line)[-1] == "offer"
    assert OutgoingMail.objects.filter(key=f"event:offer:{next_in_line.pk}").count() == 1


def test_a_freed_place_goes_to_the_first_waiting_party_that_fits(editor):
    event = make_event(editor, capacity=4, max_party_size=4)
    two = register(event, account(), party=2)
    register(event, account(), party=2)
    three, one, other_two = (register(event, account(), party=n) for n in (3, 1, 2))
    assert [r.position for r in (three, one, other_two)] == [1, 2, 3]
    services.registration_cancel(registration_id=two.pk)
    # Two places free: the party of three does not fit; the party of one does, and then the
    # one place left is too few for the party of two.
    assert statuses(three, one, other_two) == [Status.WAITLISTED, Status.OFFERED, Status.WAITLISTED]
    assert places_taken(event) == 3


def test_accepting_an_offer_confirms_the_place(editor):
    event = make_event(editor, capacity=1)
    first, second = register(event, account()), register(event, account())
    services.registration_cancel(registration_id=first.pk)
    accepted = services.offer_accept(registration_id=second.pk)
    assert (accepted.status, accepted.position) == (Status.CONFIRMED, None)
    assert accepted.confirmed_at is not None
    assert places_taken(event) == 1
    assert notices(second) == ["waitlisted", "offer", "confirmed"]
    # Accepting twice is harmless; a registration with no offer has nothing to accept.
    assert services.offer_accept(registration_id=second.pk).status == Status.CONFIRMED
    third = register(event, account())
    with pytest.raises(ApplicationError) as exc:
        services.offer_accept(registration_id=third.pk)
    assert exc.value.status == 409


def test_an_offer_past_its_time_cannot_be_accepted(editor):
    event = make_event(editor, capacity=1)
    first, second = register(event, account()), register(event, account())
    services.registration_cancel(registration_id=first.pk)
    Registration.objects.filter(pk=second.pk).update(offer_expires_at=timezone.now() - datetime.timedelta(minutes=1))
    with pytest.raises(ApplicationError) as exc:
        services.offer_accept(registration_id=second.pk)
    assert exc.value.status == 410
    assert statuses(second) == [Status.OFFERED]


def test_lapsed_offers_expire_and_the_place_passes_to_the_next_in_line(editor):
    event = make_event(editor, capacity=1)
    first, second, third = (register(event, account()) for _ in range(3))
    services.registration_cancel(registration_id=first.pk)
    second.refresh_from_db()
    deadline = second.offer_expires_at
    assert services.offers_expire(now=deadline - datetime.timedelta(minutes=1)) == 0
    assert statuses(second, third) == [Status.OFFERED, Status.WAITLISTED]
    later = deadline + datetime.timedelta(minutes=1)
    assert services.offers_expire(now=later) == 1
    assert statuses(second, third) == [Status.EXPIRED, Status.OFFERED]
    assert second.position is None
    assert third.offer_expires_at == min(later + datetime.timedelta(hours=24), event.starts_at)
    assert places_taken(event) == 1
    assert notices(second)[-1] == "offer_expired" and notices(third)[-1] == "offer"
    assert services.offers_expire(now=later) == 0
    with pytest.raises(ApplicationError):
        services.offer_accept(registration_id=second.pk)


def test_an_offer_never_outlasts_the_start_and_none_is_made_just_before_it(editor):
    soon = make_event(editor, "soon", starts_at=timezone.now() + datetime.timedelta(hours=5), capacity=1)
    first, second = register(soon, account()), register(soon, account())
    services.registration_cancel(registration_id=first.pk)
    second.refresh_from_db()
    assert (second.status, second.offer_expires_at) == (Status.OFFERED, soon.starts_at)
    now = timezone.now()
    imminent = make_event(editor, "imminent", starts_at=now + datetime.timedelta(minutes=30), capacity=1)
    first, second = register(imminent, account()), register(imminent, account())
    Event.objects.filter(pk=imminent.pk).update(
        starts_at=now + datetime.timedelta(minutes=5), ends_at=now + datetime.timedelta(hours=1)
    )
    services.registration_cancel(registration_id=first.pk)
    assert statuses(second) == [Status.WAITLISTED]
    assert places_taken(imminent) == 0


def test_cancelling_a_waiting_registration_promotes_nobody(editor):
    event = make_event(editor, capacity=1)
    confirmed, leaving, staying = (register(event, account()) for _ in range(3))
    services.registration_cancel(registration_id=leaving.pk)
    assert statuses(confirmed, leaving, staying) == [Status.CONFIRMED, Status.CANCELLED, Status.WAITLISTED]
    assert (leaving.position, staying.position) == (None, 2)
    assert places_taken(event) == 1
    assert not OutgoingMail.objects.filter(context__notice="offer").exists()
    with pytest.raises(ApplicationError) as exc:
        services.registration_cancel(registration_id=leaving.pk)
    assert exc.value.status == 409


def test_a_cancelled_pending_registration_frees_the_address(editor):
    event = make_event(editor)
    reg = register(event, email="guest@example.org")
    services.registration_cancel(registration_id=reg.pk)
    assert places_taken(event) == 0
    again = register(event, email="guest@example.org")
    assert again.pk != reg.pk and again.status == Status.PENDING


def test_staff_cancel_registrations_of_their_own_communitys_events_only(
    coordinator, other_coordinator, resident, community
):
    event = make_event(coordinator, community=community, capacity=1)
    reg, waiting = register(event, account()), register(event, account())
    for actor in (other_coordinator, resident):
        with pytest.raises(NotAllowed):
            services.registration_cancel(registration_id=reg.pk, actor=actor)
    assert statuses(reg) == [Status.CONFIRMED]
    assert not AuditEntry.objects.filter(action="registration.cancel").exists()
    services.registration_cancel(registration_id=reg.pk, actor=coordinator)
    assert statuses(reg, waiting) == [Status.CANCELLED, Status.OFFERED]
    assert reg.cancelled_by_staff is True
    entry = AuditEntry.objects.get(action="registration.cancel")
    assert (entry.actor, entry.target_id) == (coordinator, str(reg.pk))
    assert entry.before["status"] == "confirmed" and entry.after["status"] == "cancelled"


def test_a_checked_in_registration_cannot_be_cancelled(editor):
    event = make_event(editor)
    reg = register(event, account())
    services.checkin(actor=editor, event_id=event.pk, code=reg.code)
    with pytest.raises(ApplicationError) as exc:
        services.registration_cancel(registration_id=reg.pk)
    assert exc.value.status == 409
    assert statuses(reg) == [Status.CONFIRMED]


# --- changing the capacity --------------------------------------------------------------------


def test_raising_the_capacity_offers_the_new_places_to_the_waiting_list(editor):
    event = make_event(editor, capacity=2)
    for _ in range(2):
        register(event, account())
    waiting = [register(event, account()) for _ in range(3)]
    services.event_update(actor=editor, event_id=event.pk, data=edit_input(event, capacity=4))
    assert statuses(*waiting) == [Status.OFFERED, Status.OFFERED, Status.WAITLISTED]
    assert all(r.offer_expires_at for r in waiting[:2])
    assert places_taken(event) == 4
    assert AuditEntry.objects.filter(action="event.update", target_id=str(event.pk)).exists()


def test_removing_the_limit_offers_a_place_to_everyone_waiting(editor):
    event = make_event(editor, capacity=1)
    register(event, account())
    waiting = [register(event, account(), party=2) for _ in range(3)]
    services.event_update(actor=editor, event_id=event.pk, data=edit_input(event, capacity=None))
    assert statuses(*waiting) == [Status.OFFERED] * 3
    assert places_taken(event) == 7


def test_the_capacity_cannot_go_below_the_places_taken(editor):
    event = make_event(editor, capacity=5)
    for _ in range(3):
        register(event, account())
    with pytest.raises(ApplicationError) as exc:
        services.event_update(actor=editor, event_id=event.pk, data=edit_input(event, capacity=2))
    assert exc.value.field == "capacity" and "3" in str(exc.value.message)
    event.refresh_from_db()
    assert (event.capacity, event.places_taken) == (5, 3)
    services.event_update(actor=editor, event_id=event.pk, data=edit_input(event, capacity=3))
    assert Event.objects.get(pk=event.pk).capacity == 3


def test_editing_only_the_description_does_not_tell_registrants_the_event_moved(editor):
    event = make_event(editor)
    reg = register(event, account())
    services.event_update(
        actor=editor, event_id=event.pk, data=edit_input(event, description={"en": "<p>Now with cake.</p>"})
    )
    event.refresh_from_db()
    assert event.description.data["en"] == "<p>Now with cake.</p>"
    assert event.sequence == 0
    assert "moved" not in notices(reg)


# --- the e-mails ------------------------------------------------------------------------------


def test_a_confirmed_registrant_gets_the_code_and_a_link_to_the_registration(editor, venue):
    event = make_event(editor, place_id=venue.pk, online_url="", venue_note={"en": "Room 201"})
    reg = register(event, account("Ada"))
    (message,) = deliver()
    assert message.to == [reg.email]
    assert message.subject == f"Your place: {TITLE}"
    text, html = text_of(message), html_of(message)
    for body in (text, html):
        assert "Ada" in body and TITLE in body and reg.display_code in body
        assert "Hongqiao Community Centre" in body and "Room 201" in body
        assert "Asia/Shanghai" in body
    assert reads_as(text, tokens.MANAGE) == reg
    assert f"/en/events/{event.slug}/" in text
    assert OutgoingMail.objects.get().status == OutgoingMail.Status.SENT


def test_registrants_get_their_mail_in_their_own_language(editor):
    event = make_event(editor, starts_at=in_days(10))
    zh = register(event, account(), language="zh-hans")
    fr = register(event, account(), language="fr")
    messages = deliver()
    (zh_message,) = sent_to(messages, zh.email)
    (fr_message,) = sent_to(messages, fr.email)
    # The title is the event's own Chinese title; the subject is not the English one.
    assert TITLE_ZH in zh_message.subject and TITLE not in zh_message.subject
    assert zh_message.subject != f"Your place: {TITLE}"
    with translation.override("zh-hans"):
        assert zh_message.subject == gettext("Your place: %(title)s") % {"title": TITLE_ZH}
    assert TITLE_ZH in text_of(zh_message) and zh.display_code in text_of(zh_message)
    assert 'lang="zh-hans"' in html_of(zh_message)
    # No French title: the English one, in a French message (subject from the French catalogue
    # when it has the string; the date is French either way).
    with translation.override("fr"):
        assert fr_message.subject == gettext("Your place: %(title)s") % {"title": TITLE}
        month = str(dates.MONTHS[event.local_start.month])
    with translation.override("en"):
        english_month = str(dates.MONTHS[event.local_start.month])
    assert month != english_month
    assert month in text_of(fr_message) and english_month not in text_of(fr_message)
    assert fr.display_code in text_of(fr_message) and 'lang="fr"' in html_of(fr_message)
    assert "/fr/" in text_of(fr_message) and reads_as(text_of(fr_message), tokens.MANAGE) == fr


def test_a_waitlisted_registrant_learns_their_number_in_line_and_gets_no_code(editor):
    event = make_event(editor, capacity=1)
    register(event, account())
    register(event, account())
    second = register(event, account())
    messages = deliver()
    (message,) = sent_to(messages, second.email)
    assert message.subject == f"Waiting list: {TITLE}"
    assert "number 2 in line" in text_of(message)
    assert second.display_code not in text_of(message) and second.display_code not in html_of(message)


def test_an_email_registrant_confirms_with_the_link_in_the_message(editor):
    event = make_event(editor)
    reg = register(event, email="guest@example.org", name="Guest")
    (message,) = deliver()
    assert message.subject == f"Confirm your registration: {TITLE}"
    assert reg.display_code not in text_of(message)  # no place yet, so no code
    assert reads_as(text_of(message), tokens.CONFIRM) == reg
    services.registration_confirm_address(registration_id=reg.pk)
    (confirmed,) = deliver()
    assert confirmed.subject == f"Your place: {TITLE}" and reg.display_code in text_of(confirmed)


def test_a_second_sign_up_tells_the_address_owner_and_not_the_page(editor):
    event = make_event(editor)
    reg = register(event, email="guest@example.org")
    services.registration_confirm_address(registration_id=reg.pk)
    deliver()
    register(event, email="guest@example.org")
    (message,) = deliver()
    assert message.to == ["guest@example.org"] and message.subject == f"Your registration: {TITLE}"
    assert "already registered" in text_of(message) and reg.display_code in text_of(message)


def test_a_confirmation_request_for_a_registration_decided_since_is_not_sent(editor):
    event = make_event(editor)
    reg = register(event, email="guest@example.org")
    services.registration_confirm_address(registration_id=reg.pk)
    messages = deliver()
    assert [m.subject for m in messages] == [f"Your place: {TITLE}"]
    assert OutgoingMail.objects.filter(status=OutgoingMail.Status.CANCELLED).count() == 1


def test_a_registrant_cancelled_by_staff_is_told_so(coordinator, community):
    event = make_event(coordinator, community=community)
    reg = register(event, account())
    deliver()
    services.registration_cancel(registration_id=reg.pk, actor=coordinator)
    (message,) = deliver()
    assert message.subject == f"Registration cancelled: {TITLE}"
    assert "organiser cancelled" in text_of(message)


def test_an_offer_taken_or_lapsed_before_it_is_sent_is_not_sent(editor):
    event = make_event(editor, capacity=1)
    first, second = register(event, account()), register(event, account())
    deliver()
    services.registration_cancel(registration_id=first.pk)
    services.offer_accept(registration_id=second.pk)
    messages = deliver()
    assert sorted(m.subject for m in messages) == [f"Registration cancelled: {TITLE}", f"Your place: {TITLE}"]
    assert OutgoingMail.objects.get(key=f"event:offer:{second.pk}").status == OutgoingMail.Status.CANCELLED


def test_an_offer_made_before_the_event_was_cancelled_is_not_sent(editor):
    event = make_event(editor, capacity=1)
    first, second = register(event, account()), register(event, account())
    deliver()
    services.registration_cancel(registration_id=first.pk)
    services.event_cancel(actor=editor, event_id=event.pk)
    assert [m.subject for m in sent_to(deliver(), second.email)] == [f"Cancelled: {TITLE}"]


def test_an_offer_cannot_be_accepted_once_the_event_is_cancelled(editor):
    event = make_event(editor, capacity=1)
    first, second = register(event, account()), register(event, account())
    services.registration_cancel(registration_id=first.pk)
    services.event_cancel(actor=editor, event_id=event.pk)
    with pytest.raises(ApplicationError):
        services.offer_accept(registration_id=second.pk)
    assert statuses(second) == [Status.OFFERED]


# --- reminders --------------------------------------------------------------------------------


def test_reminders_go_once_to_each_confirmed_registration(editor):
    event = make_event(editor, capacity=3)
    a, b, leaving = (register(event, account()) for _ in range(3))
    offered, waiting = register(event, account()), register(event, account())
    services.registration_cancel(registration_id=leaving.pk)
    assert statuses(offered, waiting) == [Status.OFFERED, Status.WAITLISTED]
    start = event.starts_at
    assert services.reminders_queue(now=start - datetime.timedelta(hours=30)) == 0
    assert services.reminders_queue(now=start - datetime.timedelta(hours=2)) == 2
    rows = OutgoingMail.objects.filter(context__notice="reminder")
    assert sorted(rows.values_list("to_email", flat=True)) == sorted([a.email, b.email])
    assert set(rows.values_list("stream", flat=True)) == {f"event:{event.pk}:reminders"}
    assert services.reminders_queue(now=start - datetime.timedelta(hours=1)) == 0
    assert rows.count() == 2
    reminders = [m for m in deliver() if m.subject == f"Reminder: {TITLE}"]
    assert sorted(m.to[0] for m in reminders) == sorted([a.email, b.email])
    for message in reminders:
        reg = a if message.to == [a.email] else b
        assert reg.display_code in text_of(message) and reg.display_code in html_of(message)


def test_a_reminder_queued_before_the_event_moved_is_not_sent_but_the_change_is(editor):
    event = make_event(editor, capacity=1)
    confirmed, waiting = register(event, account()), register(event, account())
    deliver()
    assert services.reminders_queue(now=event.starts_at - datetime.timedelta(hours=2)) == 1
    new_start = event.starts_at + datetime.timedelta(days=1, hours=2)
    moved = services.event_update(
        actor=editor,
        event_id=event.pk,
        data=edit_input(event, starts_at=new_start, ends_at=new_start + datetime.timedelta(hours=2)),
    )
    assert moved.sequence == 1
    messages = deliver()
    assert sorted(m.to[0] for m in messages) == sorted([confirmed.email, waiting.email])
    assert {m.subject for m in messages} == {f"Changed: {TITLE}"}
    assert OutgoingMail.objects.get(context__notice="reminder").status == OutgoingMail.Status.CANCELLED
    (for_confirmed,) = sent_to(messages, confirmed.email)
    (for_waiting,) = sent_to(messages, waiting.email)
    with translation.override("en"):
        new_time = formats.date_format(new_start.astimezone(event.tz), "DATETIME_FORMAT")
        old_time = formats.date_format(event.local_start, "DATETIME_FORMAT")
    assert new_time in text_of(for_confirmed) and old_time not in text_of(for_confirmed)
    assert confirmed.display_code in text_of(for_confirmed)
    assert waiting.display_code not in text_of(for_waiting)
    # A reminder for the new time goes out in its turn.
    assert services.reminders_queue(now=new_start - datetime.timedelta(hours=2)) == 1
    (reminder,) = deliver()
    assert reminder.subject == f"Reminder: {TITLE}" and reminder.to == [confirmed.email]


def test_cancelling_an_event_tells_everyone_registered_and_sends_no_reminder(editor):
    event = make_event(editor, capacity=2)
    a, b, waiting = (register(event, account()) for _ in range(3))
    pending = register(event, email="guest@example.org")
    deliver()
    assert services.reminders_queue(now=event.starts_at - datetime.timedelta(hours=2)) == 2
    services.event_cancel(actor=editor, event_id=event.pk)
    assert AuditEntry.objects.filter(action="event.cancel", target_id=str(event.pk)).exists()
    messages = deliver()
    assert sorted(m.to[0] for m in messages) == sorted([a.email, b.email, waiting.email])
    assert {m.subject for m in messages} == {f"Cancelled: {TITLE}"}
    assert all("cancelled this event" in text_of(m) for m in messages)
    assert OutgoingMail.objects.filter(context__notice="event_cancelled").count() == 3
    reminders = OutgoingMail.objects.filter(context__notice="reminder")
    assert set(reminders.values_list("status", flat=True)) == {OutgoingMail.Status.CANCELLED}
    assert pending.email not in [m.to[0] for m in messages]
    # Nothing is reminded of a cancelled event later either.
    assert services.reminders_queue(now=event.starts_at - datetime.timedelta(hours=1)) == 0


# --- check-in ---------------------------------------------------------------------------------


def test_check_in_marks_a_registration_once(coordinator, community):
    event = make_event(coordinator, community=community)
    reg = register(event, account())
    first = services.checkin(actor=coordinator, event_id=event.pk, code=reg.display_code)
    assert first.outcome == "checked_in" and first.ok and first.registration.pk == reg.pk
    assert first.registration.checked_in_at is not None and first.registration.checked_in_by == coordinator
    assert AuditEntry.objects.filter(action="registration.checkin", target_id=str(reg.pk)).count() == 1
    second = services.checkin(actor=coordinator, event_id=event.pk, code=reg.code)
    assert second.outcome == "already" and not second.ok
    assert second.registration.checked_in_at == first.registration.checked_in_at
    assert AuditEntry.objects.filter(action="registration.checkin").count() == 1


def test_check_in_accepts_a_typed_code_and_a_scanned_link(editor):
    event = make_event(editor)
    typed, scanned = register(event, account()), register(event, account())
    assert services.checkin(actor=editor, event_id=event.pk, code=f"  {typed.display_code.lower()} ").ok
    link = f"http://127.0.0.1:8000/en/staff/events/checkin/{scanned.code}/"
    assert services.checkin(actor=editor, event_id=event.pk, code=link).ok
    assert statuses(typed, scanned) == [Status.CONFIRMED, Status.CONFIRMED]
    assert typed.checked_in_at is not None and scanned.checked_in_at is not None


def test_check_in_says_what_is_wrong_with_a_code(editor):
    event = make_event(editor, capacity=1)
    other = make_event(editor, "other-event")
    confirmed = register(event, account())
    waiting, cancelled = register(event, account()), register(event, account())
    pending = register(event, email="guest@example.org")
    elsewhere = register(other, account())
    services.registration_cancel(registration_id=cancelled.pk)
    outcomes = {
        "unknown": services.checkin(actor=editor, event_id=event.pk, code="ZZZZZ-ZZZZZ"),
        "empty": services.checkin(actor=editor, event_id=event.pk, code="  "),
        "forged": services.checkin(actor=editor, event_id=event.pk, code=confirmed.code[:-1] + "!"),
        "elsewhere": services.checkin(actor=editor, event_id=event.pk, code=elsewhere.code),
        "waiting": services.checkin(actor=editor, event_id=event.pk, code=waiting.code),
        "pending": services.checkin(actor=editor, event_id=event.pk, code=pending.code),
        "cancelled": services.checkin(actor=editor, event_id=event.pk, code=cancelled.code),
    }
    assert {name: result.outcome for name, result in outcomes.items()} == {
        "unknown": "unknown",
        "empty": "unknown",
        "forged": "unknown",
        "elsewhere": "other_event",
        "waiting": "not_confirmed",
        "pending": "not_confirmed",
        "cancelled": "cancelled",
    }
    assert outcomes["unknown"].registration is None
    assert not any(result.ok for result in outcomes.values())
    assert not Registration.objects.filter(checked_in_at__isnull=False).exists()


def test_only_staff_of_the_events_community_check_people_in(
    editor, coordinator, other_coordinator, resident, community
):
    event = make_event(coordinator, community=community)
    reg = register(event, account())
    for actor in (other_coordinator, resident):
        with pytest.raises(NotAllowed):
            services.checkin(actor=actor, event_id=event.pk, code=reg.code)
    assert Registration.objects.get(pk=reg.pk).checked_in_at is None
    assert services.checkin(actor=editor, event_id=event.pk, code=reg.code).ok
    with pytest.raises(ApplicationError) as exc:
        services.checkin(actor=editor, event_id=999999, code=reg.code)
    assert exc.value.status == 404


# --- points raised ----------------------------------------------------------------------------


def test_the_events_staff_record_points_raised(coordinator, other_coordinator, community):
    event = make_event(coordinator, community=community, kind=Event.Kind.ROUNDTABLE)
    point = services.point_add(
        actor=coordinator,
        event_id=event.pk,
        text=" More <b>English</b> signs at the clinic<script>x()</script> ",
        language="en",
        raised_by="A parent",
    )
    assert (point.text, point.language, point.raised_by, point.created_by) == (
        "More English signs at the clinic",
        "en",
        "A parent",
        coordinator,
    )
    assert AuditEntry.objects.filter(action="event.point.add", target_id=str(point.pk)).exists()
    with pytest.raises(NotAllowed):
        services.point_add(actor=other_coordinator, event_id=event.pk, text="Not mine", language="en")
    for text in ("", "   ", "<b></b>", None):
        with pytest.raises(ApplicationError) as exc:
            services.point_add(actor=coordinator, event_id=event.pk, text=text, language="en")
        assert exc.value.field == "text"
    with pytest.raises(ApplicationError) as exc:
        services.point_add(actor=coordinator, event_id=event.pk, text="x" * 5001, language="en")
    assert exc.value.field == "text"
    with pytest.raises(ApplicationError) as exc:
        services.point_add(actor=coordinator, event_id=event.pk, text="Fine", language="xx")
    assert exc.value.field == "language"
    assert Point.objects.count() == 1


def test_points_are_deleted_by_the_events_staff_only(editor, coordinator, other_coordinator, resident, community):
    event = make_event(coordinator, community=community)
    point = services.point_add(actor=coordinator, event_id=event.pk, text="Bus stop too far", language="en")
    for actor in (other_coordinator, resident):
        with pytest.raises(NotAllowed):
            services.point_delete(actor=actor, point_id=point.pk)
    assert Point.objects.filter(pk=point.pk).exists()
    services.point_delete(actor=coordinator, point_id=point.pk)
    assert not Point.objects.exists()
    assert AuditEntry.objects.filter(action="event.point.delete", target_id=str(point.pk)).exists()
    with pytest.raises(ApplicationError) as exc:
        services.point_delete(actor=editor, point_id=point.pk)
    assert exc.value.status == 404
    city = make_event(editor, "city-forum")
    with pytest.raises(NotAllowed):
        services.point_add(actor=coordinator, event_id=city.pk, text="City-wide", language="en")


def test_points_raised_enter_the_feedback_loop(coordinator, community, office):
    from yulan.voice.models import Category, Item, RoutingRule

    event = make_event(coordinator, community=community, kind=Event.Kind.ROUNDTABLE)
    # Without any feedback category the point is kept on the event only.
    lone = services.point_add(actor=coordinator, event_id=event.pk, text="More benches", language="en")
    assert lone.item is None
    roundtable = Category.objects.create(slug="roundtable", name={"en": "Raised at roundtables"})
    signs = Category.objects.create(slug="signs", name={"en": "Signs"})
    RoutingRule.objects.create(category=None, community=None, office=office)
    point = services.point_add(
        actor=coordinator, event_id=event.pk, text="Bilingual signs at the metro exit, please", language="en"
    )
    item = Item.objects.get(pk=point.item_id)
    assert (item.category, item.community, item.office, item.source, item.event_id) == (
        roundtable,
        community,
        office,
        Item.Source.ROUNDTABLE,
        event.pk,
    )
    assert not item.public_consent and not item.contact_email
    chosen = services.point_add(
        actor=coordinator, event_id=event.pk, text="Signs in Korean too", language="en", category="signs"
    )
    assert chosen.item.category == signs
    with pytest.raises(ApplicationError) as exc:
        services.point_add(actor=coordinator, event_id=event.pk, text="Other", language="en", category="nope")
    assert exc.value.field == "category"
    # Deleting the point leaves the feedback item in the loop.
    services.point_delete(actor=coordinator, point_id=point.pk)
    assert Item.objects.filter(pk=item.pk).exists()


# --- sign-ups that meet an earlier one, and check-ins at the edges ----------------------------


def test_signing_up_again_and_again_sends_one_notice_an_hour(editor):
    event = make_event(editor)
    for _ in range(5):
        services.registration_create(
            event_id=event.pk, data=services.RegistrationInput(name="Guest", email="guest@example.org")
        )
    assert notices(Registration.objects.get()) == ["pending", "pending"]


def test_an_account_takes_over_a_sign_up_still_waiting_for_its_link(editor):
    event = make_event(editor, capacity=5)
    user = account("Ada")
    pending = register(event, email=user.email)
    assert pending.status == Registration.Status.PENDING
    taken = register(event, user, party=2)
    assert taken.pk == pending.pk
    assert (taken.status, taken.user_id, taken.party_size) == (Registration.Status.CONFIRMED, user.pk, 2)
    assert Registration.objects.count() == 1 and places_taken(event) == 2


def test_unknown_registrations_are_not_found(db):
    for call in (services.registration_cancel, services.offer_accept, services.registration_confirm_address):
        with pytest.raises(ApplicationError) as exc:
            call(registration_id=999999)
        assert exc.value.status == 404


def test_check_in_refuses_a_cancelled_event_and_a_lapsed_offer(editor):
    event = make_event(editor, capacity=1)
    first, second = register(event, account()), register(event, account())
    services.registration_cancel(registration_id=first.pk)
    second.refresh_from_db()
    assert second.status == Registration.Status.OFFERED
    Registration.objects.filter(pk=second.pk).update(offer_expires_at=timezone.now() - datetime.timedelta(minutes=1))
    assert services.checkin(actor=editor, event_id=event.pk, code=second.code).outcome == "not_confirmed"
    Registration.objects.filter(pk=second.pk).update(offer_expires_at=timezone.now() + datetime.timedelta(hours=1))
    services.event_cancel(actor=editor, event_id=event.pk)
    assert services.checkin(actor=editor, event_id=event.pk, code=second.code).outcome == "event_cancelled"
    second.refresh_from_db()
    assert second.checked_in_at is None


def test_a_draft_cannot_be_cancelled_into_public_view(editor):
    event = make_event(editor, publish=False)
    with pytest.raises(ApplicationError):
        services.event_cancel(actor=editor, event_id=event.pk)
    event.refresh_from_db()
    assert event.status == Event.Status.DRAFT
    assert not Event.objects.public().filter(pk=event.pk).exists()


def test_an_account_that_changed_its_address_still_holds_one_place(editor):
    event = make_event(editor, capacity=5)
    user = account("Ada")
    first = register(event, user)
    user.email = "ada-new@example.org"
    user.save()
    with pytest.raises(ApplicationError) as exc:
        services.registration_create(event_id=event.pk, data=services.RegistrationInput(name="Ada"), user=user)
    assert exc.value.status == 409
    assert list(Registration.objects.values_list("pk", flat=True)) == [first.pk]
    assert places_taken(event) == 1


def test_a_title_is_kept_on_one_line(editor):
    event = make_event(editor, title={"en": "Tea\r\nBcc: someone@example.org"})
    assert str(event.title.data["en"]) == "Tea Bcc: someone@example.org"

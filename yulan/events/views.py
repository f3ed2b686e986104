"""Pages of the events capability: parse, check, call a selector or service, render."""

import csv
import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yulan.core import ratelimit
from yulan.core.errors import ApplicationError
from yulan.core.i18n import localize, translations_of
from yulan.core.models import Community
from yulan.core.pagecache import public_page
from yulan.core.permissions import Perm, community_scope, has_perm, require
from yulan.core.spreadsheet import Echo, safe_cell
from yulan.core.views import acting_user, paginate, staff_view
from yulan.events import calendar, display, jsonld, qr, selectors, services, tokens
from yulan.events.forms import (
    COMMON_TIME_ZONES,
    AttendanceForm,
    CheckInForm,
    EventFilterForm,
    EventForm,
    PointForm,
    QuestionForm,
    RegistrationForm,
)
from yulan.events.models import Event, Question, Registration

Status = Registration.Status

# --- public -----------------------------------------------------------------------------------


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


@public_page(seconds=settings.YULAN_EVENT_PAGE_CACHE_SECONDS)
def event_list(request: HttpRequest) -> HttpResponse:
    form = EventFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    community = None
    if form.is_valid():
        cd = form.cleaned_data
        if cd["community"]:
            community = Community.objects.filter(slug=cd["community"]).first()
            filters["community"] = community
        filters["kind"] = cd["kind"] or None
        filters["language"] = cd["language"] or None
        filters["free_only"] = cd["free"]
        if cd["date_from"]:
            filters["date_from"] = _day_start(cd["date_from"])
        if cd["date_to"]:
            filters["date_to"] = _day_start(cd["date_to"] + datetime.timedelta(days=1))
    page = paginate(request, selectors.events_public(**filters))
    context = {
        "form": form,
        "page": page,
        "lines": display.event_lines(page),
        "communities": Community.objects.all(),
        "community": community,
    }
    return render(request, "events/list.html", context, status=200 if not form.errors else 400)


def _event_or_404(slug: str, *, with_questions: bool = False) -> Event:
    event = selectors.event_public(slug, with_questions=with_questions)
    if event is None:
        raise Http404
    return event


@public_page(seconds=settings.YULAN_EVENT_PAGE_CACHE_SECONDS)
def event_detail(request: HttpRequest, slug: str) -> HttpResponse:
    event = _event_or_404(slug)
    language = get_language()
    context = {
        "event": event,
        "jsonld": jsonld.jsonld_script(jsonld.event_jsonld(event, language=language)),
        "registration_open": event.registration_open(),
        "mine": _my_registration(request, event),
        "badge": display.badge(event),
    }
    return render(request, "events/detail.html", context)


def _my_registration(request: HttpRequest, event: Event) -> Registration | None:
    if not request.user.is_authenticated:
        return None
    return event.registrations.filter(user=request.user, status__in=Registration.ACTIVE).first()


def _registration_input(form: RegistrationForm) -> services.RegistrationInput:
    cd = form.cleaned_data
    return services.RegistrationInput(
        name=cd.get("name") or "",
        email=cd.get("email") or "",
        party_size=cd.get("party_size") or 1,
        language=get_language(),
        answers=form.answers(),
    )


def _add_error(form: Any, exc: ApplicationError) -> None:
    if hasattr(form, "add_application_error"):
        form.add_application_error(exc)
    else:
        form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))


def register(request: HttpRequest, slug: str) -> HttpResponse:
    event = _event_or_404(slug, with_questions=True)
    user = acting_user(request) if request.user.is_authenticated else None
    # On a POST the service finds an earlier registration itself (answered below).
    if user is not None and request.method != "POST" and (mine := _my_registration(request, event)) is not None:
        messages.info(request, _("You are already registered for this event."))
        return redirect("events:registration", token=tokens.make(mine, tokens.MANAGE))
    status = 200
    if request.method == "POST":
        form = RegistrationForm(request.POST, event=event, with_email=user is None)
        if not ratelimit.allow(
            "event-register",
            ratelimit.client_address(request),
            limit=settings.YULAN_EVENT_REGISTER_PER_HOUR,
            period_seconds=3600,
        ):
            form.is_valid()
            form.add_error(None, _("Too many registrations from your connection. Please try again in an hour."))
            status = 429
        elif form.is_valid():
            try:
                result = services.registration_create(
                    event_id=event.pk, data=_registration_input(form), user=user, event=event
                )
            except ApplicationError as exc:
                if user is not None and exc.status == 409 and (mine := _my_registration(request, event)):
                    messages.info(request, _("You are already registered for this event."))
                    return redirect("events:registration", token=tokens.make(mine, tokens.MANAGE))
                _add_error(form, exc)
                status = exc.status if exc.status != 404 else 400
            else:
                reg = result.registration
                if user is None:
                    return redirect("events:register_sent", slug=event.slug)
                return redirect("events:registration", token=tokens.make(reg, tokens.MANAGE))
        else:
            status = 400
    else:
        form = RegistrationForm(event=event, with_email=user is None, initial={"party_size": 1})
    context = {
        "event": event,
        "form": form,
        "registration_open": event.registration_open(),
        "badge": display.badge(event),
    }
    return render(request, "events/register.html", context, status=status)


def register_sent(request: HttpRequest, slug: str) -> HttpResponse:
    event = _event_or_404(slug)
    return render(request, "events/register_sent.html", {"event": event, "hours": settings.YULAN_EVENT_CONFIRM_HOURS})


def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the confirmation e-mail opens a page with a button, so that mail scanners
    opening every link confirm nothing."""
    reg = tokens.read(token, tokens.CONFIRM)
    if request.method == "POST":
        reg = services.registration_confirm_address(registration_id=reg.pk)
        return redirect("events:registration", token=tokens.make(reg, tokens.MANAGE))
    if reg.status != Status.PENDING:
        return redirect("events:registration", token=tokens.make(reg, tokens.MANAGE))
    return render(request, "events/confirm.html", {"registration": reg, "event": reg.event})


def registration(request: HttpRequest, token: str) -> HttpResponse:
    """A registrant's own page: status, code and QR code, calendar file, accept or decline an
    offered place, cancel."""
    reg = tokens.read(token, tokens.MANAGE)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "accept":
                services.offer_accept(registration_id=reg.pk)
                messages.success(request, _("The place is yours. See you there!"))
            elif action in ("cancel", "decline"):
                services.registration_cancel(registration_id=reg.pk)
                messages.success(request, _("Your registration is cancelled."))
            else:
                raise ApplicationError(_("Choose what to do."))
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
        return redirect("events:registration", token=token)
    reg.refresh_from_db()
    event = reg.event
    context = {
        "registration": reg,
        "event": event,
        "token": token,
        "qr": qr.svg(checkin_url(reg), title=_("QR code for %(code)s") % {"code": reg.display_code})
        if reg.holds_place
        else "",
        "line_number": selectors.waitlist_line_number(reg),
    }
    return render(request, "events/registration.html", context)


def checkin_url(reg: Registration) -> str:
    """What the QR code holds: a short link that a door phone's camera can open."""
    return settings.SITE_URL.rstrip("/") + reverse("checkin_link", args=[reg.code])


def checkin_link(request: HttpRequest, code: str) -> HttpResponse:
    """A scanned QR code, opened by any camera app: on to the staff check-in page in the
    scanner's language (staff sign in on the way if needed)."""
    code = services.normalise_code(code)
    if not code:
        raise Http404
    return redirect("events:staff_checkin_code", code=code)


@login_required
def my_events(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    regs = selectors.registrations_of_user(user)
    links = {reg.pk: tokens.make(reg, tokens.MANAGE) for reg in regs}
    feed = settings.SITE_URL.rstrip("/") + reverse("events:my_calendar", args=[tokens.calendar_token(user)])
    return render(request, "events/my_events.html", {"registrations": regs, "links": links, "feed_url": feed})


# --- calendars --------------------------------------------------------------------------------


def _ics(body: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def event_ics(request: HttpRequest, slug: str) -> HttpResponse:
    event = _event_or_404(slug)
    return _ics(calendar.event_bytes(event, language=get_language()), f"{event.slug}.ics")


def calendar_all(request: HttpRequest) -> HttpResponse:
    events = selectors.events_for_feed()
    name = _("%(site)s events") % {"site": settings.YULAN_SITE_NAME}
    return _ics(calendar.calendar_bytes(events, name=name, language=get_language()), "events.ics")


def calendar_community(request: HttpRequest, slug: str) -> HttpResponse:
    community = Community.objects.filter(slug=slug).first()
    if community is None:
        raise Http404
    events = selectors.events_for_feed(community=community)
    name = _("%(site)s events: %(community)s") % {
        "site": settings.YULAN_SITE_NAME,
        "community": localize(community.name).text,
    }
    return _ics(calendar.calendar_bytes(events, name=name, language=get_language()), f"events-{slug}.ics")


def calendar_mine(request: HttpRequest, token: str) -> HttpResponse:
    """An account's own events, for a calendar app: the signed link stands in for signing in."""
    user = tokens.calendar_user(token)
    events = selectors.events_for_feed(events=selectors.events_of_user(user))
    name = _("My events at %(site)s") % {"site": settings.YULAN_SITE_NAME}
    language = user.preferred_language or get_language()
    return _ics(calendar.calendar_bytes(events, name=name, language=language), "my-events.ics")


# --- staff: events ----------------------------------------------------------------------------


def _scoped_communities(request: HttpRequest) -> Any:
    scope = community_scope(request.user, Perm.EVENTS_WRITE)
    return Community.objects.all() if scope is None else Community.objects.filter(pk__in=scope)


@staff_view
def staff_events(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.EVENTS_WRITE)
    past = request.GET.get("when") == "past"
    events = selectors.events_for_staff(user=request.user, past=past)
    return render(request, "events/staff/event_list.html", {"page": paginate(request, events, 50), "past": past})


def _event_input(form: EventForm) -> services.EventInput:
    cd = form.cleaned_data
    return services.EventInput(
        slug=cd["slug"],
        kind=cd["kind"],
        title=form.translations("title"),
        description=form.translations("description"),
        audience=form.translations("audience"),
        venue_note=form.translations("venue_note"),
        community_id=cd["community"].pk if cd.get("community") else None,
        place_id=cd["place"].pk if cd.get("place") else None,
        online_url=cd.get("online_url") or "",
        time_zone=cd["time_zone"],
        starts_at=cd["starts_at"],
        ends_at=cd["ends_at"],
        languages=cd.get("languages") or [],
        capacity=cd.get("capacity"),
        max_party_size=cd.get("max_party_size") or 1,
        waitlist_enabled=cd.get("waitlist_enabled", False),
        registration_opens_at=cd.get("registration_opens_at"),
        registration_closes_at=cd.get("registration_closes_at"),
        contact_name=cd.get("contact_name") or "",
        contact_email=cd.get("contact_email") or "",
        contact_phone=cd.get("contact_phone") or "",
        source_language=cd["source_language"],
    )


def _event_initial(event: Event) -> tuple[dict[str, Any], dict[str, Any]]:
    def local(value: datetime.datetime | None) -> datetime.datetime | None:
        return value.astimezone(event.tz).replace(tzinfo=None) if value else None

    initial = {
        "slug": event.slug,
        "kind": event.kind,
        "community": event.community_id,
        "place": event.place_id,
        "online_url": event.online_url,
        "time_zone": event.time_zone,
        "starts_at": local(event.starts_at),
        "ends_at": local(event.ends_at),
        "languages": event.language_list,
        "capacity": event.capacity,
        "max_party_size": event.max_party_size,
        "waitlist_enabled": event.waitlist_enabled,
        "registration_opens_at": local(event.registration_opens_at),
        "registration_closes_at": local(event.registration_closes_at),
        "contact_name": event.contact_name,
        "contact_email": event.contact_email,
        "contact_phone": event.contact_phone,
        "source_language": event.source_language,
    }
    translations = {
        name: translations_of(getattr(event, name)) for name in ("title", "description", "audience", "venue_note")
    }
    return initial, translations


@staff_view
def staff_event_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    require(request.user, Perm.EVENTS_WRITE)
    actor = acting_user(request)
    event = services.event_for_staff(actor=actor, event_id=pk) if pk else None
    communities = _scoped_communities(request)
    status = 200
    if request.method == "POST":
        form = EventForm(request.POST, communities=communities)
        if form.is_valid():
            try:
                if event is None:
                    event = services.event_create(actor=actor, data=_event_input(form))
                    messages.success(request, _("The event is saved as a draft."))
                else:
                    event = services.event_update(actor=actor, event_id=event.pk, data=_event_input(form))
                    messages.success(request, _("The event is saved."))
            except ApplicationError as exc:
                form.add_application_error(exc)
            else:
                return redirect("events:staff_event", pk=event.pk)
        status = 400
    elif event is not None:
        initial, translations = _event_initial(event)
        form = EventForm(initial=initial, initial_translations=translations, communities=communities)
    else:
        form = EventForm(
            initial={"source_language": get_language(), "time_zone": settings.TIME_ZONE, "max_party_size": 4},
            communities=communities,
        )
    context = {"form": form, "event": event, "time_zones": COMMON_TIME_ZONES}
    return render(request, "events/staff/event_form.html", context, status=status)


@staff_view
@require_POST
def staff_event_state(request: HttpRequest, pk: int) -> HttpResponse:
    actor = acting_user(request)
    services.event_for_staff(actor=actor, event_id=pk)
    action = request.POST.get("action")
    try:
        if action == "publish":
            services.event_publish(actor=actor, event_id=pk)
            messages.success(request, _("The event is published."))
        elif action == "cancel":
            services.event_cancel(actor=actor, event_id=pk)
            messages.success(request, _("The event is cancelled; registrants are being told."))
        else:
            raise ApplicationError(_("Choose what to do."))
    except ApplicationError as exc:
        if exc.status == 403:
            raise
        messages.error(request, str(exc.message))
    return redirect("events:staff_event", pk=pk)


@staff_view
def staff_event(request: HttpRequest, pk: int) -> HttpResponse:
    """An event's organiser page: registrations, questions, points raised."""
    actor = acting_user(request)
    event = services.event_for_staff(actor=actor, event_id=pk)
    status = request.GET.get("status") or None
    if status not in Status.values:
        status = None
    question_form = QuestionForm(prefix="question")
    point_form = PointForm(prefix="point", initial={"language": get_language()})
    code = 200
    if request.method == "POST":
        kind = request.POST.get("form")
        try:
            if kind == "question":
                question_form = QuestionForm(request.POST, prefix="question")
                if not question_form.is_valid():
                    raise ApplicationError(_("Please correct the question below."))
                services.question_add(
                    actor=actor,
                    event_id=event.pk,
                    label=question_form.translations("label"),
                    choices=question_form.translations("choices"),
                    kind=question_form.cleaned_data["kind"],
                    required=question_form.cleaned_data["required"],
                )
                messages.success(request, _("The question is added."))
            elif kind == "question-delete":
                services.question_delete(actor=actor, question_id=int(request.POST.get("question") or 0))
                messages.success(request, _("The question is removed."))
            elif kind == "point":
                point_form = PointForm(request.POST, prefix="point")
                if not point_form.is_valid():
                    raise ApplicationError(_("Please correct the point below."))
                services.point_add(actor=actor, event_id=event.pk, **point_form.cleaned_data)
                messages.success(request, _("The point is recorded."))
            elif kind == "point-delete":
                services.point_delete(actor=actor, point_id=int(request.POST.get("point") or 0))
                messages.success(request, _("The point is removed."))
            else:
                raise ApplicationError(_("Choose what to do."))
        except ApplicationError as exc:
            if exc.status == 403:
                raise
            target = question_form if kind == "question" else point_form
            if exc.field:
                _add_error(target, exc)
            else:
                messages.error(request, str(exc.message))
            code = 400
        except ValueError:
            messages.error(request, _("Choose from the list."))
            code = 400
        else:
            return redirect("events:staff_event", pk=event.pk)
    regs = selectors.registrations_for_staff(event, status=status)
    context = {
        "event": event,
        "page": paginate(request, regs, 100),
        "status": status,
        "statuses": Status.choices,
        "counts": selectors.registration_counts(event),
        "questions": list(event.questions.all()),
        "points": list(event.points.select_related("created_by")),
        "question_form": question_form,
        "point_form": point_form,
        "can_see_attendees": has_perm(actor, Perm.EVENTS_ATTENDEES, community_id=event.community_id),
    }
    return render(request, "events/staff/event.html", context, status=code)


@staff_view
@require_POST
def staff_registration_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    reg = Registration.objects.filter(pk=pk).first()
    if reg is None:
        raise Http404
    try:
        services.registration_cancel(registration_id=reg.pk, actor=acting_user(request))
        messages.success(request, _("The registration is cancelled; the registrant is told by e-mail."))
    except ApplicationError as exc:
        if exc.status == 403:
            raise
        messages.error(request, str(exc.message))
    return redirect("events:staff_event", pk=reg.event_id)


@staff_view
def staff_export(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The event's registrations as CSV (UTF-8 with a byte-order mark, for spreadsheets)."""
    event = services.event_for_staff(actor=acting_user(request), event_id=pk, perm=Perm.EVENTS_ATTENDEES)
    questions: list[Question] = list(event.questions.all())
    writer = csv.writer(Echo())
    tz = event.tz

    def when(value: datetime.datetime | None) -> str:
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else ""

    def answer(question: Question, value: str) -> str:
        if question.kind == Question.Kind.CHOICE and value.isdigit():
            choices = question.choice_list(event.source_language)
            return choices[int(value)] if int(value) < len(choices) else value
        return value

    def rows() -> Any:
        yield "\ufeff"
        header = [
            _("Code"),
            pgettext("registration", "Status"),
            pgettext("person", "Name"),
            _("E-mail"),
            _("Language"),
            pgettext("seats", "Places"),
            _("Waiting list position"),
            _("Registered"),
            _("Checked in"),
        ]
        labels = [localize(q.label, fallback=event.source_language).text for q in questions]
        yield writer.writerow([safe_cell(v) for v in header + labels])
        for reg in event.registrations.order_by("created_at", "id").iterator(chunk_size=500):
            line = [
                reg.display_code,
                reg.get_status_display(),
                reg.name,
                reg.email,
                reg.language,
                reg.party_size,
                reg.position or "",
                when(reg.created_at),
                when(reg.checked_in_at),
            ]
            line += [answer(q, str(reg.answers.get(str(q.pk), ""))) for q in questions]
            yield writer.writerow([safe_cell(v) for v in line])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="registrations-{event.slug}.csv"'
    return response


# --- staff: check-in and attendance -------------------------------------------------------------


@staff_view
def staff_checkin(request: HttpRequest, pk: int) -> HttpResponse:
    """The door: type or scan a code; each is checked in once."""
    actor = acting_user(request)
    event = services.event_for_staff(actor=actor, event_id=pk, perm=Perm.EVENTS_ATTENDEES)
    result = None
    status = 200
    if request.method == "POST":
        form = CheckInForm(request.POST)
        if form.is_valid():
            result = services.checkin(actor=actor, event_id=event.pk, code=form.cleaned_data["code"])
            status = 200 if result.outcome in ("checked_in", "already") else 422
            form = CheckInForm()
        else:
            status = 400
    else:
        form = CheckInForm()
    context = {"event": event, "form": form, "result": result, "counts": selectors.registration_counts(event)}
    return render(request, "events/staff/checkin.html", context, status=status)


@staff_view
def staff_checkin_code(request: HttpRequest, code: str) -> HttpResponse:
    """Where a scanned QR link lands: the registration it names, and a button to check it in."""
    reg = Registration.objects.select_related("event").filter(code=services.normalise_code(code)).first()
    if reg is None:
        return render(request, "events/staff/checkin_code.html", {"registration": None}, status=404)
    services.event_for_staff(actor=acting_user(request), event_id=reg.event_id, perm=Perm.EVENTS_ATTENDEES)
    return render(request, "events/staff/checkin_code.html", {"registration": reg, "event": reg.event})


@staff_view
def staff_attendance(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.EVENTS_ATTENDEES)
    today = timezone.localdate()
    form = AttendanceForm(request.GET or {"date_from": today.replace(day=1).isoformat(), "date_to": today.isoformat()})
    context: dict[str, Any] = {"form": form}
    status = 200
    if form.is_valid():
        start = _day_start(form.cleaned_data["date_from"])
        end = _day_start(form.cleaned_data["date_to"] + datetime.timedelta(days=1))
        context["events"] = selectors.attendance_by_event(user=request.user, date_from=start, date_to=end)[:500]
        context["communities"] = selectors.attendance_by_community(user=request.user, date_from=start, date_to=end)
    else:
        status = 400
    return render(request, "events/staff/attendance.html", context, status=status)

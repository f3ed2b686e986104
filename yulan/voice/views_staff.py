"""Staff pages of the feedback loop: the triage queue with its bulk actions, an item's page
with its forms, and the routing rules and categories.

Views parse, call a selector or service, and render; who may act on which item is decided in
the services (through `core.permissions`)."""

import datetime
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.timesince import timesince
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yulan.core.errors import ApplicationError, NotAllowed
from yulan.core.i18n import spoken_language_name, translations_of
from yulan.core.models import User
from yulan.core.permissions import Perm, require
from yulan.core.views import acting_user, staff_view
from yulan.voice import selectors, services, staff_selectors
from yulan.voice.forms_staff import (
    MAX_ID,
    AssignForm,
    BulkForm,
    CategoryForm,
    MergeForm,
    QueueFilterForm,
    ReplyForm,
    RerouteForm,
    RuleForm,
    StatusForm,
    ThemeForm,
)
from yulan.voice.models import Category, Item, Reply

Status = Item.Status

# What the queue's "next page" link carries: the last row's time stamp and id.
_CURSOR = re.compile(r"^-?\d{1,11}(?:\.\d{1,6})?_\d{1,10}$")


def _ids(values: list[str]) -> list[int] | None:
    """The selected item ids; None if one of them is not an id."""
    ids = []
    for value in values:
        value = value.strip()
        if not (value.isascii() and value.isdigit()) or not 0 < int(value) <= MAX_ID:
            return None
        ids.append(int(value))
    return ids


def _without(request: HttpRequest, name: str) -> str:
    params = request.GET.copy()
    params.pop(name, None)
    return params.urlencode()


def _duration(span: datetime.timedelta) -> str:
    minutes = max(int(span.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(ngettext("%(n)d day", "%(n)d days", days) % {"n": days})
    if hours:
        parts.append(ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours})
    if not days and (mins or not hours):
        parts.append(ngettext("%(n)d minute", "%(n)d minutes", mins) % {"n": mins})
    return ", ".join(parts)


# --- the queue ----------------------------------------------------------------------------------


# The characters of an item's text shown in the queue.
QUEUE_SNIPPET = 120


def _snippet(text: str) -> str:
    """The start of an item's text as the `truncatechars` filter cuts it (short ones whole)."""
    if len(text) <= QUEUE_SNIPPET:
        return unicodedata.normalize("NFC", text)
    return Truncator(text).chars(QUEUE_SNIPPET)


@dataclass(frozen=True)
class QueueRow:
    """One row of the queue as shown, every value worked out here so that the template only
    writes them out (it escapes them)."""

    pk: int
    reference: str
    url: str
    select_label: str
    text: str
    language: str
    status: str
    overdue: bool
    category: str
    community: str  # "" when the item names none
    office: str  # "" when it is not routed
    assignee: str  # "" when nobody is assigned
    created: str  # ISO 8601, local time
    created_title: str
    age: str
    supporters: int
    selected: bool


def _queue_rows(
    items: list[Item], *, names: staff_selectors.Names, people: list[User], selected: set[int]
) -> list[QueueRow]:
    if any(
        i.category_id not in names.categories
        or (i.community_id is not None and i.community_id not in names.communities)
        or (i.office_id is not None and i.office_id not in names.offices)
        for i in items
    ):
        names = staff_selectors.names(fresh=True)
    now = timezone.now()
    statuses = {value: str(label) for value, label in Status.choices}
    select_label = _("Select %(ref)s")
    assignees = {p.pk: str(p) for p in people}
    missing = {i.assignee_id for i in items if i.assignee_id is not None and i.assignee_id not in assignees}
    if missing:
        assignees.update(
            (p.pk, str(p)) for p in User.objects.filter(pk__in=missing).only("id", "display_name", "email")
        )
    rows = []
    for item in items:
        created = timezone.localtime(item.created_at)
        reference = f"#{item.pk}"
        rows.append(
            QueueRow(
                pk=item.pk,
                reference=reference,
                url=reverse("voice:staff_item", args=[item.pk]),
                select_label=select_label % {"ref": reference},
                text=_snippet(item.text),
                language=item.language,
                status=statuses.get(item.status, item.status),
                overdue=item.status in Item.OPEN and item.due_at < now,
                category=names.categories.get(item.category_id, ""),
                community=names.communities.get(item.community_id, "") if item.community_id is not None else "",
                office=names.offices.get(item.office_id, "") if item.office_id is not None else "",
                assignee=assignees.get(item.assignee_id, "") if item.assignee_id is not None else "",
                created=created.isoformat(),
                created_title=created.strftime("%Y-%m-%d %H:%M"),
                age=timesince(item.created_at, now),
                supporters=item.supporters_count,
                selected=item.pk in selected,
            )
        )
    return rows


@staff_view
def queue(request: HttpRequest) -> HttpResponse:
    """The items the user handles, newest first, a page at a time, with bulk actions."""
    actor = acting_user(request)
    require(actor, Perm.FEEDBACK_HANDLE)
    status = 200
    selected: set[int] = set()
    people = staff_selectors.colleagues_in_scope(actor)
    names = staff_selectors.names()
    bulk = BulkForm(people=people, names=names, prefix="bulk")
    if request.method == "POST":
        bulk = BulkForm(request.POST, people=people, names=names, prefix="bulk")
        ids = _ids(request.POST.getlist("items"))
        status = 400
        if ids is None:
            bulk.add_error(None, _("The selection was not understood: select the items again."))
        else:
            selected = set(ids)
            if bulk.is_valid():
                try:
                    changed = services.items_bulk(
                        actor=actor,
                        item_ids=ids,
                        action=bulk.cleaned_data["action"],
                        value=bulk.value(),
                        reason=bulk.cleaned_data.get("reason") or "",
                    )
                except ApplicationError as exc:
                    status = exc.status
                    bulk.add_error(None, _("Nothing was changed."))
                    if isinstance(exc, NotAllowed):
                        handled = set(selectors.handled_by(actor).filter(pk__in=ids).values_list("pk", flat=True))
                        outside = ", ".join(f"#{i}" for i in sorted(selected - handled))
                        if outside:
                            exc = NotAllowed(_("You do not handle %(items)s.") % {"items": outside})
                    bulk.add_application_error(exc)
                else:
                    messages.success(
                        request,
                        ngettext("%(n)d item was changed.", "%(n)d items were changed.", changed) % {"n": changed},
                    )
                    return redirect(request.get_full_path())

    themes = staff_selectors.theme_names()
    form = QueueFilterForm(request.GET, user=actor, people=people, names=names, themes=themes)
    filters, ignored = form.filters()
    cursor = request.GET.get("cursor", "")
    if cursor and not _CURSOR.match(cursor):
        ignored.append(_("Page"))
        cursor = ""
    page = selectors.queue(actor, filters, cursor=cursor, related=False)
    if ignored and status == 200:
        status = 400
    context = {
        "form": form,
        "ignored": ignored,
        "page": page,
        "rows": _queue_rows(page.items, names=names, people=people, selected=selected),
        "cursor": cursor,
        "first_page_query": _without(request, "cursor"),
        "counts": staff_selectors.open_count_labels(actor),
        "bulk": bulk,
        "theme_names": [name for _slug, name in themes],
    }
    return render(request, "voice/staff/queue.html", context, status=status)


# --- an item ------------------------------------------------------------------------------------


def _item_forms(item: Item) -> dict[str, Form]:
    writer_language = get_language() or "en"
    return {
        "status": StatusForm(item=item, prefix="status"),
        "assign": AssignForm(item=item, prefix="assign", initial={"assignee": item.assignee_id}),
        "route": RerouteForm(prefix="route", initial={"office": item.office_id}),
        "reply": ReplyForm(item=item, writer_language=writer_language, prefix="reply"),
        "merge": MergeForm(prefix="merge"),
        "theme": ThemeForm(prefix="theme"),
    }


def _item_page(
    request: HttpRequest, item: Item, *, bound: dict[str, Form] | None = None, status: int = 200
) -> HttpResponse:
    forms = _item_forms(item)
    forms.update(bound or {})
    totals = selectors.time_in_status(item)
    context = {
        "item": item,
        "forms": forms,
        "time_in_status": [(label, _duration(totals[value])) for value, label in Status.choices if value in totals],
        "history": staff_selectors.status_history(item),
        "replies": [
            (reply, [(code, spoken_language_name(code), text) for code, text in translations_of(reply.text).items()])
            for reply in staff_selectors.conversation(item)
        ],
        "item_themes": staff_selectors.item_themes(item),
        "themes": staff_selectors.themes(),
        "merged_here": staff_selectors.merged_here(item),
        "language_name": spoken_language_name(item.language),
        "contact_language_name": spoken_language_name(item.contact_language),
        "open_after": _duration(item.due_at - item.created_at),
        "failed": next(iter(bound or {}), ""),
    }
    return render(request, "voice/staff/item.html", context, status=status)


@staff_view
def staff_item(request: HttpRequest, pk: int) -> HttpResponse:
    item = services.item_for_staff(actor=acting_user(request), item_id=pk)
    return _item_page(request, item)


def _back(request: HttpRequest, actor: User, pk: int) -> HttpResponse:
    """Back to the item, or to the queue if the item has left the user's hands."""
    if selectors.handled_by(actor).filter(pk=pk).exists():
        return redirect("voice:staff_item", pk=pk)
    messages.info(request, _("Item #%(n)d is no longer in your queue.") % {"n": pk})
    return redirect("voice:queue")


def _item_action(
    request: HttpRequest,
    pk: int,
    key: str,
    make_form: Callable[[Item], Any],
    act: Callable[[User, Item, Any], str],
) -> HttpResponse:
    """Check the form on an item's page, act, and go back with a message; on an error show the
    page again with the form as typed and the error beside it."""
    actor = acting_user(request)
    item = services.item_for_staff(actor=actor, item_id=pk)
    form = make_form(item)
    status = 400
    if form.is_valid():
        try:
            done = act(actor, item, form)
        except ApplicationError as exc:
            status = exc.status
            form.add_application_error(exc)
        else:
            messages.success(request, done)
            return _back(request, actor, pk)
    item = services.item_for_staff(actor=actor, item_id=pk)
    return _item_page(request, item, bound={key: form}, status=status)


@staff_view
@require_POST
def staff_status(request: HttpRequest, pk: int) -> HttpResponse:
    def act(actor: User, item: Item, form: StatusForm) -> str:
        cd = form.cleaned_data
        item = services.item_set_status(actor=actor, item_id=item.pk, status=cd["status"], reason=cd["reason"])
        return _("The status is now “%(status)s”.") % {"status": item.get_status_display()}

    return _item_action(request, pk, "status", lambda item: StatusForm(request.POST, item=item, prefix="status"), act)


@staff_view
@require_POST
def staff_assign(request: HttpRequest, pk: int) -> HttpResponse:
    def act(actor: User, item: Item, form: AssignForm) -> str:
        item = services.item_assign(actor=actor, item_id=item.pk, assignee_id=form.cleaned_data["assignee"])
        if item.assignee is None:
            return _("Nobody is assigned now.")
        return _("Assigned to %(person)s.") % {"person": item.assignee}

    return _item_action(request, pk, "assign", lambda item: AssignForm(request.POST, item=item, prefix="assign"), act)


@staff_view
@require_POST
def staff_reroute(request: HttpRequest, pk: int) -> HttpResponse:
    def act(actor: User, item: Item, form: RerouteForm) -> str:
        cd = form.cleaned_data
        community = cd.get("community")
        item = services.item_reroute(
            actor=actor,
            item_id=item.pk,
            office_id=cd["office"].pk,
            community_id=community.pk if community else None,
        )
        return _("Routed to %(office)s.") % {"office": cd["office"]}

    return _item_action(request, pk, "route", lambda item: RerouteForm(request.POST, prefix="route"), act)


@staff_view
@require_POST
def staff_reply(request: HttpRequest, pk: int) -> HttpResponse:
    done = {
        Reply.Kind.NOTE: _("The note is saved."),
        Reply.Kind.PRIVATE: _("The private reply is saved and e-mailed to the author."),
        Reply.Kind.PUBLIC: _("The public reply is published; the author and followers are told."),
    }

    def act(actor: User, item: Item, form: ReplyForm) -> str:
        kind = form.cleaned_data["kind"]
        services.reply_add(actor=actor, item_id=item.pk, kind=kind, text=form.translations())
        return done[kind]

    def make(item: Item) -> ReplyForm:
        return ReplyForm(request.POST, item=item, writer_language=get_language() or "en", prefix="reply")

    return _item_action(request, pk, "reply", make, act)


@staff_view
@require_POST
def staff_merge(request: HttpRequest, pk: int) -> HttpResponse:
    def act(actor: User, item: Item, form: MergeForm) -> str:
        into = form.cleaned_data["into"]
        try:
            services.item_merge(actor=actor, item_id=item.pk, into_id=into)
        except NotAllowed:
            # The item itself was checked on the way in: it is the target that is not theirs.
            raise ApplicationError(
                _("You do not handle item #%(n)d: you cannot merge into it.") % {"n": into}, field="into", status=403
            ) from None
        return _("Merged into #%(n)d.") % {"n": into}

    return _item_action(request, pk, "merge", lambda item: MergeForm(request.POST, prefix="merge"), act)


@staff_view
@require_POST
def staff_hide(request: HttpRequest, pk: int) -> HttpResponse:
    actor = acting_user(request)
    item = services.item_for_staff(actor=actor, item_id=pk)
    wanted = request.POST.get("hidden")
    if wanted not in ("0", "1"):
        messages.error(request, _("Choose whether to hide the item or show it."))
        return _item_page(request, item, status=400)
    services.item_set_hidden(actor=actor, item_id=pk, hidden=wanted == "1")
    if wanted == "1":
        messages.success(request, _("The item is hidden from the public pages."))
    else:
        messages.success(request, _("The item is shown on the public pages again."))
    return redirect("voice:staff_item", pk=pk)


@staff_view
@require_POST
def staff_tags(request: HttpRequest, pk: int) -> HttpResponse:
    remove = request.POST.get("remove", "").strip()
    if remove:
        actor = acting_user(request)
        services.item_for_staff(actor=actor, item_id=pk)
        services.item_tag(actor=actor, item_id=pk, names=[], remove=[remove])
        messages.success(request, _("The theme is removed."))
        return redirect("voice:staff_item", pk=pk)

    def act(actor: User, item: Item, form: ThemeForm) -> str:
        services.item_tag(actor=actor, item_id=item.pk, names=[form.cleaned_data["tag"]])
        return _("The theme is added.")

    return _item_action(request, pk, "theme", lambda item: ThemeForm(request.POST, prefix="theme"), act)


# --- setup: routing and categories --------------------------------------------------------------


@staff_view
def routing(request: HttpRequest) -> HttpResponse:
    actor = acting_user(request)
    require(actor, Perm.FEEDBACK_SETUP)
    form = RuleForm(prefix="rule")
    status = 200
    if request.method == "POST":
        what = request.POST.get("form")
        if what == "delete":
            rule_ids = _ids([request.POST.get("rule", "")])
            if rule_ids:
                services.rule_delete(actor=actor, rule_id=rule_ids[0])
                messages.success(request, _("The rule is deleted."))
                return redirect("voice:routing")
            messages.error(request, _("Choose the rule to delete."))
            status = 400
        elif what == "rule":
            form = RuleForm(request.POST, prefix="rule")
            status = 400
            if form.is_valid():
                cd = form.cleaned_data
                try:
                    services.rule_set(
                        actor=actor,
                        category_id=cd["category"].pk if cd["category"] else None,
                        community_id=cd["community"].pk if cd["community"] else None,
                        office_id=cd["office"].pk,
                    )
                except ApplicationError as exc:
                    if isinstance(exc, NotAllowed):
                        raise
                    status = exc.status
                    form.add_application_error(exc)
                else:
                    messages.success(request, _("The rule is saved. New feedback is routed by it from now on."))
                    return redirect("voice:routing")
        else:
            messages.error(request, _("Choose what to do."))
            status = 400
    rules = staff_selectors.routing_rules()
    context = {
        "rules": rules,
        "has_default": any(r.category_id is None and r.community_id is None for r in rules),
        "form": form,
        "categories": staff_selectors.categories(),
    }
    return render(request, "voice/staff/routing.html", context, status=status)


def _category_initial(category: Category) -> tuple[dict[str, Any], dict[str, Any]]:
    initial = {
        "group": category.group,
        "keywords": category.keywords,
        "response_hours": category.response_hours,
        "active": category.active,
    }
    return initial, {"name": translations_of(category.name), "description": translations_of(category.description)}


@staff_view
def category_edit(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    actor = acting_user(request)
    require(actor, Perm.FEEDBACK_SETUP)
    category = None
    if slug is not None:
        category = Category.objects.filter(slug=slug).first()
        if category is None:
            raise Http404
    status = 200
    if request.method == "POST":
        form = CategoryForm(request.POST, category=category)
        status = 400
        if form.is_valid():
            cd = form.cleaned_data
            try:
                saved = services.category_save(
                    actor=actor,
                    slug=category.slug if category else cd["slug"],
                    name=form.translations("name"),
                    description=form.translations("description"),
                    group=cd.get("group") or "",
                    keywords=cd.get("keywords") or "",
                    response_hours=cd["response_hours"],
                    active=cd["active"],
                )
            except ApplicationError as exc:
                if isinstance(exc, NotAllowed):
                    raise
                status = exc.status
                form.add_application_error(exc)
            else:
                messages.success(request, _("The category “%(name)s” is saved.") % {"name": saved})
                return redirect("voice:routing")
    elif category is not None:
        initial, translations = _category_initial(category)
        form = CategoryForm(initial=initial, initial_translations=translations, category=category)
    else:
        form = CategoryForm()
    return render(request, "voice/staff/category_form.html", {"form": form, "category": category}, status=status)


urlpatterns: list[URLPattern] = [
    path("staff/feedback/", queue, name="queue"),
    path("staff/feedback/routing/", routing, name="routing"),
    path("staff/feedback/categories/new/", category_edit, name="category_new"),
    path("staff/feedback/categories/<slug:slug>/", category_edit, name="category_edit"),
    path("staff/feedback/<int:pk>/", staff_item, name="staff_item"),
    path("staff/feedback/<int:pk>/status/", staff_status, name="staff_status"),
    path("staff/feedback/<int:pk>/assign/", staff_assign, name="staff_assign"),
    path("staff/feedback/<int:pk>/route/", staff_reroute, name="staff_reroute"),
    path("staff/feedback/<int:pk>/reply/", staff_reply, name="staff_reply"),
    path("staff/feedback/<int:pk>/merge/", staff_merge, name="staff_merge"),
    path("staff/feedback/<int:pk>/hide/", staff_hide, name="staff_hide"),
    path("staff/feedback/<int:pk>/themes/", staff_tags, name="staff_tags"),
]

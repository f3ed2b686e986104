"""Pages of the news capability: parse, check, call a selector or service, render."""

import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from yulan.core import ratelimit
from yulan.core.errors import ApplicationError, NotAllowed
from yulan.core.i18n import language_codes, translations_of
from yulan.core.models import Community
from yulan.core.pagecache import public_page
from yulan.core.permissions import Perm, community_scope, has_perm, require
from yulan.core.views import acting_user, paginate, staff_view
from yulan.news import selectors, services, tokens
from yulan.news.forms import BulletinScheduleForm, PostForm, PreferencesForm, SubscriptionForm, SuppressForm
from yulan.news.models import Bulletin, Post, Subscriber, Topic

# --- public -----------------------------------------------------------------------------------


@public_page
def news_list(request: HttpRequest) -> HttpResponse:
    topic = Topic.objects.filter(slug=request.GET.get("topic") or "").first()
    community = Community.objects.filter(slug=request.GET.get("community") or "").first()
    kind = request.GET.get("kind") or None
    if kind not in Post.Kind.values:
        kind = None
    posts = selectors.posts_public(topic=topic, community=community, kind=kind)
    context = {
        "page": paginate(request, posts),
        "topics": selectors.topics(),
        "communities": Community.objects.all(),
        "kinds": Post.Kind.choices,
        "topic": topic,
        "community": community,
        "kind": kind,
    }
    return render(request, "news/list.html", context)


@public_page
def post_detail(request: HttpRequest, slug: str) -> HttpResponse:
    post = selectors.post_public(slug)
    if post is None:
        raise Http404
    return render(request, "news/post.html", {"post": post})


def _subscription_input(form: SubscriptionForm | PreferencesForm, email: str = "") -> services.SubscriptionInput:
    cd = form.cleaned_data
    return services.SubscriptionInput(
        email=email or cd.get("email", ""),
        language=cd["language"],
        weekly=cd["weekly"],
        urgent=cd["urgent"],
        topic_ids=[t.pk for t in cd["topics"]],
        community_ids=[c.pk for c in cd["communities"]],
    )


def subscribe(request: HttpRequest) -> HttpResponse:
    status = 200
    if request.method == "POST":
        form = SubscriptionForm(request.POST)
        if not ratelimit.allow(
            "subscribe", ratelimit.client_address(request), limit=settings.YULAN_SUBSCRIBE_PER_HOUR, period_seconds=3600
        ):
            form.is_valid()
            form.add_error(None, _("Too many sign-ups from your connection. Please try again in an hour."))
            status = 429
        elif form.is_valid():
            try:
                services.subscription_request(data=_subscription_input(form))
            except ApplicationError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
            else:
                return redirect("news:subscribe_sent")
            status = 400
        else:
            status = 400
    else:
        form = SubscriptionForm(initial={"language": get_language()})
    return render(request, "news/subscribe.html", {"form": form}, status=status)


def subscribe_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "news/subscribe_sent.html", {"days": settings.YULAN_SUBSCRIBE_CONFIRM_DAYS})


def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the confirmation e-mail. Opening it shows a button: link checkers that open
    every link in a mail do not confirm anyone."""
    subscriber = tokens.read(token, tokens.CONFIRM)
    if request.method == "POST":
        subscriber = services.subscription_confirm(token=token)
        return render(
            request,
            "news/confirmed.html",
            {"subscriber": subscriber, "manage_token": tokens.make(subscriber, tokens.MANAGE)},
        )
    return render(request, "news/confirm.html", {"subscriber": subscriber})


def _preferences_initial(subscriber: Subscriber) -> dict[str, Any]:
    return {
        "language": subscriber.language,
        "weekly": subscriber.weekly,
        "urgent": subscriber.urgent,
        "topics": list(subscriber.topics.all()),
        "communities": list(subscriber.communities.all()),
    }


def manage(request: HttpRequest, token: str) -> HttpResponse:
    """Preferences, reached by the signed link in every message."""
    subscriber = tokens.read(token, tokens.MANAGE)
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "save")
        if action == "unsubscribe":
            services.subscription_unsubscribe(token=token)
            return redirect("news:unsubscribe", token=token)
        if action == "delete":
            services.subscription_delete(token=token)
            return render(request, "news/deleted.html")
        form = PreferencesForm(request.POST)
        if form.is_valid():
            try:
                services.subscription_update(token=token, data=_subscription_input(form, subscriber.email))
            except ApplicationError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
            else:
                messages.success(request, _("Your preferences are saved."))
                return redirect("news:manage", token=token)
        status = 400
    else:
        form = PreferencesForm(initial=_preferences_initial(subscriber))
    return render(request, "news/manage.html", {"form": form, "subscriber": subscriber, "token": token}, status=status)


@csrf_exempt  # RFC 8058: mail clients POST here without a form; the signed token is the proof.
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    subscriber = tokens.read(token, tokens.MANAGE)
    if request.method == "POST":
        subscriber = services.subscription_unsubscribe(token=token)
        if request.POST.get("List-Unsubscribe") == "One-Click":
            return HttpResponse(_("You are unsubscribed."), content_type="text/plain; charset=utf-8")
    return render(request, "news/unsubscribe.html", {"subscriber": subscriber, "token": token})


# --- staff: posts -----------------------------------------------------------------------------


@staff_view
def staff_posts(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.NEWS_WRITE)
    state = request.GET.get("state") or None
    if state not in Post.State.values:
        state = None
    posts = selectors.posts_for_staff(user=request.user, state=state)  # type: ignore[arg-type]
    return render(
        request,
        "news/staff/post_list.html",
        {"page": paginate(request, posts, 50), "states": Post.State.choices, "state": state},
    )


def _post_input(form: PostForm) -> services.PostInput:
    cd = form.cleaned_data
    return services.PostInput(
        slug=cd["slug"],
        kind=cd["kind"],
        urgency=cd["urgency"],
        topic_ids=[t.pk for t in cd["topics"]],
        community_ids=[c.pk for c in cd["communities"]],
        title=form.translations("title"),
        summary=form.translations("summary"),
        body=form.translations("body"),
        source_language=cd["source_language"],
        publish_at=cd.get("publish_at"),
    )


def _scoped_communities(request: HttpRequest) -> Any:
    scope = community_scope(request.user, Perm.NEWS_WRITE)
    return Community.objects.all() if scope is None else Community.objects.filter(pk__in=scope)


@staff_view
def staff_post_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    require(request.user, Perm.NEWS_WRITE)
    # A coordinator sees only its own community's posts; others are not found.
    post = get_object_or_404(selectors.posts_for_staff(user=request.user), pk=pk) if pk else None  # type: ignore[arg-type]
    communities = _scoped_communities(request)
    status = 200
    if request.method == "POST":
        form = PostForm(request.POST, communities=communities)
        if form.is_valid():
            try:
                if post is None:
                    saved = services.post_create(actor=acting_user(request), data=_post_input(form))
                else:
                    saved = services.post_update(actor=acting_user(request), post_id=post.pk, data=_post_input(form))
            except NotAllowed:
                raise
            except ApplicationError as exc:
                form.add_application_error(exc)
            else:
                messages.success(request, _("Saved."))
                return redirect("news:staff_post_edit", pk=saved.pk)
        status = 400
    elif post is not None:
        form = PostForm(
            communities=communities,
            initial={
                "slug": post.slug,
                "kind": post.kind,
                "urgency": post.urgency,
                "topics": list(post.topics.all()),
                "communities": list(post.communities.all()),
                "publish_at": timezone.localtime(post.publish_at) if post.publish_at else None,
                "source_language": post.source_language,
            },
            initial_translations={
                "title": translations_of(post.title),
                "summary": translations_of(post.summary),
                "body": translations_of(post.body),
            },
        )
    else:
        form = PostForm(communities=communities, initial={"source_language": get_language(), "kind": Post.Kind.NEWS})
    context = {
        "form": form,
        "post": post,
        "can_publish": has_perm(request.user, Perm.NEWS_PUBLISH),
        "languages": language_codes(),
    }
    return render(request, "news/staff/post_form.html", context, status=status)


@staff_view
@require_POST
def staff_post_state(request: HttpRequest, pk: int) -> HttpResponse:
    post = get_object_or_404(selectors.posts_for_staff(user=request.user), pk=pk)  # type: ignore[arg-type]
    try:
        services.post_set_state(actor=acting_user(request), post_id=post.pk, state=request.POST.get("action", ""))
        messages.success(request, _("State changed."))
    except NotAllowed:
        raise
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    return redirect("news:staff_post_edit", pk=post.pk)


# --- staff: bulletins -------------------------------------------------------------------------


@staff_view
def staff_bulletins(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.BULLETIN_SEND)
    if request.method == "POST":
        which = request.POST.get("week", "last")
        today = timezone.localdate()
        day = today if which == "this" else today - datetime.timedelta(days=7)
        bulletin = services.bulletin_compile(week_start=day, actor=acting_user(request))
        return redirect("news:staff_bulletin", pk=bulletin.pk)
    bulletins = Bulletin.objects.all()
    return render(request, "news/staff/bulletin_list.html", {"page": paginate(request, bulletins, 30)})


def _item_edits(request: HttpRequest, bulletin: Bulletin) -> list[services.ItemEdit]:
    edits = []
    for item in bulletin.items.all():
        raw = request.POST.get(f"position-{item.pk}", str(item.position))
        try:
            position = int(raw)
        except ValueError:
            raise ApplicationError(
                _("The position “%(value)s” is not a whole number.") % {"value": raw[:20]}, field=f"position-{item.pk}"
            ) from None
        note = {code: request.POST.get(f"note-{item.pk}__{code}", "") for code in language_codes()}
        edits.append(
            services.ItemEdit(item.pk, position, note=note, remove=request.POST.get(f"remove-{item.pk}") == "1")
        )
    return edits


@staff_view
def staff_bulletin(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.BULLETIN_SEND)
    bulletin = get_object_or_404(Bulletin, pk=pk)
    actor = acting_user(request)
    schedule_form = BulletinScheduleForm(request.POST if request.POST.get("action") == "schedule" else None)
    error = None
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "save":
                intro = {code: request.POST.get(f"intro__{code}", "") for code in language_codes()}
                services.bulletin_update(actor=actor, bulletin_id=pk, intro=intro, items=_item_edits(request, bulletin))
                messages.success(request, _("Saved."))
            elif action == "add":
                services.bulletin_add_post(actor=actor, bulletin_id=pk, post_id=int(request.POST.get("post") or 0))
                messages.success(request, _("Post added."))
            elif action == "schedule":
                if not schedule_form.is_valid():
                    raise ApplicationError(
                        _("Enter a date and time, or leave the field empty to send now."), field="send_at"
                    )
                send_at = schedule_form.cleaned_data.get("send_at")
                services.bulletin_schedule(actor=actor, bulletin_id=pk, send_at=send_at)
                messages.success(
                    request,
                    _("The bulletin is scheduled.")
                    if send_at and send_at > timezone.now()
                    else _("Sending has started."),
                )
            elif action == "unschedule":
                services.bulletin_unschedule(actor=actor, bulletin_id=pk)
                messages.success(request, _("The bulletin is back to draft."))
            else:
                raise ApplicationError(_("Unknown action."))
        except NotAllowed:
            raise
        except ApplicationError as exc:
            error = exc
        else:
            return redirect("news:staff_bulletin", pk=pk)
        bulletin.refresh_from_db()
    items = selectors.bulletin_items(bulletin)
    # After an error the form shows what was typed, otherwise what is saved.
    typed = request.POST if error and request.POST.get("action") == "save" else None
    rows = []
    for item in items:
        item.remove_key = f"remove-{item.pk}"  # type: ignore[attr-defined]
        if typed is not None:
            position: Any = typed.get(f"position-{item.pk}", item.position)
            notes = {code: typed.get(f"note-{item.pk}__{code}", "") for code in language_codes()}
        else:
            position, notes = item.position, translations_of(item.note)
        rows.append((item, position, notes))
    intro = (
        {code: typed.get(f"intro__{code}", "") for code in language_codes()}
        if typed is not None
        else translations_of(bulletin.intro)
    )
    context = {
        "bulletin": bulletin,
        "items": items,
        "rows": rows,
        "candidates": selectors.bulletin_candidates(bulletin) if bulletin.editable else [],
        "progress": selectors.bulletin_progress(bulletin),
        "audience": selectors.bulletin_audience(bulletin),
        "schedule_form": schedule_form,
        "intro": intro,
        "languages": settings.LANGUAGES,
        "error": error,
        "posted": typed or {},
    }
    return render(request, "news/staff/bulletin_detail.html", context, status=error.status if error else 200)


# --- staff: subscribers -----------------------------------------------------------------------


@staff_view
def staff_subscribers(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.SUBSCRIBERS_MANAGE)
    status = 200
    form = SuppressForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            found = missing = 0
            for line in form.cleaned_data["addresses"].splitlines():
                if line.strip():
                    if services.subscriber_suppress(
                        email=line,
                        reason=form.cleaned_data["reason"],
                        detail=_("Recorded by staff"),
                        actor=acting_user(request),
                    ):
                        found += 1
                    else:
                        missing += 1
            messages.success(
                request,
                _("%(found)d addresses suppressed; %(missing)d not found.") % {"found": found, "missing": missing},
            )
            return redirect("news:staff_subscribers")
        status = 400
    query = request.GET.get("q", "")
    context = {
        "counts": selectors.subscriber_counts(),
        "statuses": Subscriber.Status.choices,
        "form": form,
        "query": query,
        "page": paginate(request, selectors.subscribers_search(query), 50) if query else None,
    }
    return render(request, "news/staff/subscribers.html", context, status=status)

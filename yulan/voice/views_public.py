"""The public side of the feedback loop: the list and pages of public items, the form, the
submitter's tracking page, support and following, and a submitter's own data.

Contact details never reach these pages: public pages read items through the selectors (which
leave them out), and the submitter's own pages say only that an address was given."""

import datetime
import json
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.cache import patch_cache_control
from django.utils.text import Truncator
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from yulan.core import ratelimit
from yulan.core.errors import ApplicationError
from yulan.core.i18n import localize
from yulan.core.models import Community, User
from yulan.core.pagecache import public_page
from yulan.core.permissions import may_handle
from yulan.core.views import acting_user, paginate
from yulan.voice import emails, selectors, services, tokens
from yulan.voice.forms_public import FeedbackForm, FollowForm, ListFilterForm, MyDataForm
from yulan.voice.models import Category, Item, Reply, Support

# The list shows supporter counts and statuses, which change without an edit of public content:
# visitors without a session may see it this many seconds old.
LIST_CACHE_SECONDS = 60
PER_PAGE = 20
SUMMARY_CHARS = 220


def _user(request: HttpRequest) -> User | None:
    return acting_user(request) if request.user.is_authenticated else None


def _private(response: HttpResponseBase) -> HttpResponseBase:
    """A page or file for one person (it is reached through a secret link): never stored by a
    browser cache or a proxy."""
    patch_cache_control(response, private=True, no_store=True)
    return response


def _too_many(request: HttpRequest, scope: str) -> bool:
    return not ratelimit.allow(
        scope,
        ratelimit.client_address(request),
        limit=settings.YULAN_FEEDBACK_PER_HOUR,
        period_seconds=3600,
    )


def _map_settings() -> dict[str, str]:
    return {"tile_url": settings.YULAN_MAP_TILE_URL, "tile_attribution": settings.YULAN_MAP_ATTRIBUTION}


def _reply_lines(replies: list[Reply], fallback: str) -> list[dict[str, Any]]:
    """Each reply in the reader's language when it was translated into it, else as written,
    with the language it is shown in (for the lang attribute)."""
    language = get_language() or settings.LANGUAGE_CODE
    lines = []
    for reply in replies:
        data = reply.text.data if hasattr(reply.text, "data") else reply.text
        shown = language
        if isinstance(data, dict) and not data.get(language):
            shown = fallback if data.get(fallback) else next(iter(data), fallback)
        lines.append({"reply": reply, "text": emails.reply_text(reply, language, fallback), "language": shown})
    return lines


def _public_target(item: Item) -> bool:
    """Whether the item this one was merged into may be linked to."""
    target = item.merged_into_id
    return target is not None and Item.objects.public().filter(pk=target).exists()


# --- the public list and item pages ------------------------------------------------------------


@public_page(seconds=LIST_CACHE_SECONDS)
@require_safe
def item_list(request: HttpRequest) -> HttpResponse:
    form = ListFilterForm(request.GET or None)
    community = category = None
    status = ""
    if form.is_valid():
        cd = form.cleaned_data
        if cd["community"]:
            community = Community.objects.filter(slug=cd["community"]).first()
            if community is None:
                form.add_error("community", _("Choose one of the listed communities."))
        if cd.get("category"):
            category = Category.objects.filter(slug=cd["category"]).first()
            if category is None:
                form.add_error("category", _("Choose one of the listed categories."))
        status = cd.get("status") or ""
    items: QuerySet[Item]
    if form.errors:
        items = Item.objects.none()
    else:
        items = selectors.items_public(
            community_id=community.pk if community else None,
            category_id=category.pk if category else None,
            status=status,
        )
    page = paginate(request, items, per_page=PER_PAGE)
    points = [
        {
            "lat": item.latitude,
            "lng": item.longitude,
            "ref": item.reference,
            "url": reverse("voice:detail", args=[item.pk]),
            "label": f"{item.reference} {localize(item.category.name).text}",
            "summary": Truncator(item.text).chars(80),
        }
        for item in page
        if item.latitude is not None and item.longitude is not None
    ]
    context = {
        "form": form,
        "page": page,
        "points": points,
        "communities": Community.objects.all(),
        "categories": selectors.categories_active(),
        "community": community,
        "category": category,
        "status": status,
        "summary_chars": SUMMARY_CHARS,
        **_map_settings(),
    }
    return render(request, "voice/list.html", context, status=400 if form.errors else 200)


def _public_or_404(pk: int) -> Item:
    item = selectors.item_public(pk)
    if item is None:
        raise Http404
    return item


def _detail(
    request: HttpRequest, item: Item, *, follow_form: FollowForm | None = None, status: int = 200
) -> HttpResponse:
    user = _user(request)
    supported = own = False
    if user is not None:
        supported = Support.objects.filter(item_id=item.pk, user=user).exists()
        own = Item.objects.filter(pk=item.pk, user=user).exists()
    if follow_form is None:
        follow_form = FollowForm(initial={"email": user.email} if user is not None else None)
    login = reverse("account_login") + "?" + urlencode({"next": reverse("voice:detail", args=[item.pk])})
    context = {
        "item": item,
        "replies": _reply_lines(item.public_replies, item.language),  # type: ignore[attr-defined]
        "history": item.history,  # type: ignore[attr-defined]
        "supported": supported,
        "own": own,
        "merged_public": _public_target(item),
        "follow_form": follow_form,
        "login_url": login,
        **_map_settings(),
    }
    return render(request, "voice/detail.html", context, status=status)


@require_safe
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    # Not marked as a public page: its forms carry a CSRF token, which is the visitor's own.
    return _detail(request, _public_or_404(pk))


@require_POST
def support(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Me too", once per account; `remove` takes it back."""
    detail = reverse("voice:detail", args=[pk])
    user = _user(request)
    if user is None:
        return redirect(reverse("account_login") + "?" + urlencode({"next": detail}))
    try:
        if request.POST.get("remove"):
            services.support_remove(user=user, item_id=pk)
            messages.success(request, _("Your support is taken back."))
        elif Support.objects.filter(item_id=pk, user=user).exists():
            messages.info(request, _("You already support this. Each person counts once."))
        else:
            services.support_add(user=user, item_id=pk)
            messages.success(request, _("Thank you: your support is counted."))
    except ApplicationError as exc:
        if exc.status == 404:
            raise
        messages.error(request, str(exc.message))
    return redirect(detail)


@require_POST
def follow(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow a public item by e-mail. The answer is the same whether or not the address
    already follows it; only an account's own address follows at once."""
    item = _public_or_404(pk)
    user = _user(request)
    form = FollowForm(request.POST)
    if _too_many(request, "feedback-follow"):
        form.is_valid()
        form.add_error(None, _("Too many requests came from your connection. Please try again in an hour."))
        return _detail(request, item, follow_form=form, status=429)
    if not form.is_valid():
        return _detail(request, item, follow_form=form, status=400)
    address = form.cleaned_data["email"]
    try:
        follower = services.follow_request(item_id=pk, email=address, language=get_language(), user=user)
    except ApplicationError as exc:
        if exc.field is None:
            raise
        form.add_application_error(exc)
        return _detail(request, item, follow_form=form, status=400)
    if user is not None and follower.confirmed and follower.email == user.email.lower():
        messages.success(request, _("You follow this item: we write to you when its status changes or it is answered."))
    else:
        messages.success(
            request,
            _("Please check your e-mail. If this address can follow the item, we sent it a link: open it to confirm."),
        )
    return redirect("voice:detail", pk=pk)


@require_http_methods(["GET", "HEAD", "POST"])
def follow_confirm(request: HttpRequest, token: str) -> HttpResponseBase:
    """The link in the e-mail opens a page with a button, so that mail scanners opening every
    link confirm nothing."""
    follower = tokens.read_follow(token)
    item = follower.item
    if request.method == "POST":
        follower = services.follow_confirm(follower_id=follower.pk)
        if item.is_public:
            messages.success(request, _("Thank you: you follow this item now."))
            return redirect("voice:detail", pk=item.pk)
    return _private(render(request, "voice/follow_confirm.html", {"follower": follower, "item": item}))


@require_http_methods(["GET", "HEAD", "POST"])
def unfollow(request: HttpRequest, token: str) -> HttpResponseBase:
    follower = tokens.read_follow(token)
    item = follower.item
    done = False
    if request.method == "POST":
        services.unfollow(follower_id=follower.pk)
        done = True
    context = {"item": item, "done": done, "item_public": item.is_public}
    return _private(render(request, "voice/unfollow.html", context))


# --- sending feedback, and following it -------------------------------------------------------------


def _item_input(form: FeedbackForm) -> services.ItemInput:
    cd = form.cleaned_data
    return services.ItemInput(
        category=cd["category"],
        text=cd.get("text") or "",
        kind=cd["kind"],
        community=cd.get("community") or "",
        latitude=cd.get("latitude") or None,
        longitude=cd.get("longitude") or None,
        address=cd.get("address") or "",
        contact_name=cd.get("contact_name") or "",
        contact_email=cd.get("contact_email") or "",
        contact_phone=cd.get("contact_phone") or "",
        anonymous=bool(cd.get("anonymous")),
        public_consent=bool(cd.get("public_consent")),
        language=get_language() or settings.LANGUAGE_CODE,
        photo=cd.get("photo"),
        source=Item.Source.WEB,
    )


SENT_KEY = "feedback_sent"


def _remember_sent(request: HttpRequest, item_id: int) -> None:
    """The items sent from this browser (the latest few), so a repeat finds its tracking page."""
    sent = [pk for pk in request.session.get(SENT_KEY, []) if pk != item_id][-19:]
    request.session[SENT_KEY] = [*sent, item_id]


@require_http_methods(["GET", "HEAD", "POST"])
def submit(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    status = 200
    keep_location = True
    if request.method == "POST":
        form = FeedbackForm(request.POST, request.FILES)
        if _too_many(request, "feedback-submit"):
            form.is_valid()
            form.add_error(
                None, _("Too much feedback came from your connection in the last hour. Please try again later.")
            )
            status = 429
        elif form.is_valid():
            try:
                result = services.item_submit(_item_input(form), user=user)
            except ApplicationError as exc:
                form.add_application_error(exc)
                status = 400 if exc.status == 404 else exc.status
                # Coordinates are set by the location button, not typed: drop bad ones, so
                # that sending again works.
                keep_location = exc.field not in ("latitude", "longitude")
            else:
                item = result.item
                if result.created:
                    _remember_sent(request, item.pk)
                    messages.success(request, _("Thank you. We received your feedback."))
                    return redirect("voice:track", token=tokens.track(item))
                # A repeat gets its tracking link only where it was sent from (this browser or
                # this account): typing in what a public page shows must not hand it over.
                if item.pk in request.session.get(SENT_KEY, []) or (user is not None and item.user_id == user.pk):
                    messages.info(request, _("We had already received this feedback: here it is."))
                    return redirect("voice:track", token=tokens.track(item))
                messages.info(request, _("We had already received this feedback."))
                if item.is_public:
                    return redirect("voice:detail", pk=item.pk)
                return redirect("voice:submit")
        else:
            status = 400
            keep_location = not (form.has_error("latitude") or form.has_error("longitude"))
    else:
        initial: dict[str, Any] = {
            "category": request.GET.get("category", ""),
            "community": request.GET.get("community", ""),
        }
        if user is not None:
            initial.update({"contact_name": user.display_name, "contact_email": user.email})
        form = FeedbackForm(initial=initial)
    context = {
        "form": form,
        "keep_location": keep_location,
        # A file cannot be shown again in a form: say so when one was sent with other mistakes.
        "photo_again": bool(request.FILES.get("photo")) and not form.has_error("photo") and status != 200,
    }
    return render(request, "voice/submit.html", context, status=status)


@require_safe
def track(request: HttpRequest, token: str) -> HttpResponseBase:
    """The submitter's own page, reached through the link they were given."""
    found = tokens.read_track(token)
    item = Item.objects.select_related("category", "community", "office").get(pk=found.pk)
    context = {
        "item": item,
        "token": token,
        "track_url": settings.SITE_URL.rstrip("/") + reverse("voice:track", args=[token]),
        "history": selectors.history(item),
        "replies": _reply_lines(selectors.replies_for_submitter(item), item.language),
        "merged_public": _public_target(item),
        "has_email": bool(item.contact_email),
        "anonymised": item.anonymised_at is not None,
    }
    return _private(render(request, "voice/track.html", context))


def _may_see_photo(request: HttpRequest, item: Item) -> bool:
    token = request.GET.get("t")
    if token:
        try:
            if tokens.read_track(token).pk == item.pk:
                return True
        except ApplicationError:
            pass
    return request.user.is_authenticated and may_handle(
        request.user, community_id=item.community_id, office_id=item.office_id
    )


@require_safe
def photo(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The stored photo: to anyone if the item is public, else to its submitter (through the
    tracking link) and the staff who handle it. Anyone else is told it does not exist."""
    item = (
        Item.objects.filter(pk=pk)
        .only("id", "photo", "public_consent", "hidden", "community_id", "office_id", "secret")
        .first()
    )
    if item is None or not item.photo:
        raise Http404
    public = item.is_public
    if not public and not _may_see_photo(request, item):
        raise Http404
    try:
        handle = default_storage.open(item.photo, "rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type="image/jpeg")
    if public:
        patch_cache_control(response, public=True, max_age=600)
    else:
        patch_cache_control(response, private=True)
    return response


# --- a submitter's own feedback and data ----------------------------------------------------------


def _json_download(data: dict[str, Any], filename: str) -> HttpResponseBase:
    body = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return _private(response)


def _erased_message(request: HttpRequest, count: int) -> None:
    messages.success(
        request,
        ngettext(
            "Your contact details were removed from %(n)d feedback item.",
            "Your contact details were removed from %(n)d feedback items.",
            count,
        )
        % {"n": count},
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def mine(request: HttpRequest) -> HttpResponseBase:
    """The account's own feedback, a download of it, and removing the contact details from it."""
    user = acting_user(request)
    if request.GET.get("download"):
        return _json_download(services.my_data_export(user=user, email=user.email), "my-feedback.json")
    confirming = bool(request.GET.get("erase"))
    if request.method == "POST":
        if request.POST.get("confirm") == "yes":
            _erased_message(request, services.my_data_erase(user=user, email=user.email))
            return redirect("voice:mine")
        confirming = True
    items = list(selectors.items_of_user(user).only(*selectors.LIST_FIELDS, "secret"))
    lines = [{"item": item, "token": tokens.track(item)} for item in items]
    return _private(render(request, "voice/mine.html", {"lines": lines, "confirming": confirming}))


@require_http_methods(["GET", "HEAD", "POST"])
def my_data(request: HttpRequest) -> HttpResponse:
    """Ask for a link to everything sent from an address. The answer does not tell whether
    anything was."""
    user = _user(request)
    status = 200
    if request.method == "POST":
        form = MyDataForm(request.POST)
        if _too_many(request, "feedback-my-data"):
            form.is_valid()
            form.add_error(None, _("Too many requests came from your connection. Please try again in an hour."))
            status = 429
        elif form.is_valid():
            try:
                services.my_data_request(email=form.cleaned_data["email"], language=get_language())
            except ApplicationError as exc:
                form.add_application_error(exc)
                status = 400
            else:
                return render(request, "voice/my_data_sent.html", {"hours": settings.YULAN_FEEDBACK_DATA_LINK_HOURS})
        else:
            status = 400
    else:
        form = MyDataForm(initial={"email": user.email} if user is not None else None)
    return render(request, "voice/my_data.html", {"form": form}, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
def my_data_link(request: HttpRequest, token: str) -> HttpResponseBase:
    """What was sent from one address (the link names it and expires): see it, download it,
    remove the contact details from it."""
    email = tokens.read_my_data(token)
    if request.GET.get("download"):
        return _json_download(services.my_data_export(email=email), "my-feedback.json")
    confirming = bool(request.GET.get("erase"))
    if request.method == "POST":
        if request.POST.get("confirm") == "yes":
            _erased_message(request, services.my_data_erase(email=email))
            return _private(redirect("voice:my_data_link", token=token))
        confirming = True
    data = services.my_data_export(email=email)
    # The tracking link of each item, for whoever lost theirs.
    tracked = Item.objects.filter(contact_email=email.lower(), anonymised_at__isnull=True).only("id", "secret")
    links = {item.reference: tokens.track(item) for item in tracked}
    statuses = dict(Item.Status.choices)
    lines = [
        {
            "data": entry,
            "token": links.get(entry["reference"], ""),
            "sent": datetime.datetime.fromisoformat(entry["created_at"]),
            "status": statuses.get(entry["status"], entry["status"]),
        }
        for entry in data["items"]
    ]
    context = {"lines": lines, "following": data["following"], "token": token, "confirming": confirming}
    return _private(render(request, "voice/my_data_link.html", context))


urlpatterns: list[URLPattern] = [
    path("feedback/", item_list, name="list"),
    path("feedback/new/", submit, name="submit"),
    path("feedback/mine/", mine, name="mine"),
    path("feedback/my-data/", my_data, name="my_data"),
    path("feedback/my-data/<str:token>/", my_data_link, name="my_data_link"),
    path("feedback/track/<str:token>/", track, name="track"),
    path("feedback/follow/<str:token>/", follow_confirm, name="follow_confirm"),
    path("feedback/unfollow/<str:token>/", unfollow, name="unfollow"),
    path("feedback/<int:pk>/", item_detail, name="detail"),
    path("feedback/<int:pk>/photo.jpg", photo, name="photo"),
    path("feedback/<int:pk>/support/", support, name="support"),
    path("feedback/<int:pk>/follow/", follow, name="follow"),
]

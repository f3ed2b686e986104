"""Pages of the guide and directory: parse, check, call a selector or service, render."""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yulan.core.errors import ApplicationError, NotAllowed
from yulan.core.forms import TranslatedFieldsMixin
from yulan.core.i18n import language_codes, translations_of
from yulan.core.models import Community
from yulan.core.pagecache import public_page
from yulan.core.permissions import Perm, community_scope, has_perm, require
from yulan.core.views import acting_user, paginate, staff_view
from yulan.guide import geo, hours, selectors, services
from yulan.guide.forms import ArticleForm, PlaceForm
from yulan.guide.models import Article, Category, Place

# --- public -----------------------------------------------------------------------------------


@public_page
def guide_index(request: HttpRequest) -> HttpResponse:
    return render(request, "guide/index.html", {"categories": selectors.categories_with_counts()})


@public_page
def category_detail(request: HttpRequest, slug: str) -> HttpResponse:
    category = get_object_or_404(Category, slug=slug)
    articles = selectors.articles_published(category=category)
    return render(request, "guide/category.html", {"category": category, "articles": articles})


@public_page
def article_detail(request: HttpRequest, slug: str) -> HttpResponse:
    article = selectors.article_published_get(slug=slug)
    if article is None:
        raise Http404
    return render(request, "guide/article.html", {"article": article})


def place_list(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind") or None
    if kind and kind not in Place.Kind.values:
        kind = None
    language = request.GET.get("language") or None
    community = Community.objects.filter(slug=request.GET.get("community") or "").first()
    places = selectors.places_list(kind=kind, community=community, language=language)
    return render(
        request,
        "guide/place_list.html",
        {
            "page": paginate(request, places),
            "kinds": Place.Kind.choices,
            "communities": Community.objects.all(),
            "spoken_languages": selectors.spoken_languages(),
            "selected": {"kind": kind, "language": language, "community": community.slug if community else ""},
        },
    )


def place_detail(request: HttpRequest, slug: str) -> HttpResponse:
    place = selectors.place_get(slug=slug)
    if place is None:
        raise Http404
    weekly, exceptions = selectors.place_schedule(place)
    context = {
        "place": place,
        "open_now": selectors.place_is_open(place),
        "hours_by_day": _hours_by_day(weekly),
        "upcoming_exceptions": [e for e in place.exceptions.all() if e.date >= selectors.local_now().date()],
        "tile_url": settings.YULAN_MAP_TILE_URL,
        "tile_attribution": settings.YULAN_MAP_ATTRIBUTION,
    }
    return render(request, "guide/place_detail.html", context)


def _hours_by_day(weekly: list[tuple[int, hours.Interval]]) -> list[tuple[int, list[hours.Interval]]]:
    return [(day, [iv for d, iv in weekly if d == day]) for day in range(7)]


WALK_CHOICES = [5, 10, 15, 30]
DISTANCE_CHOICES = [500, 1000, 2000, 5000]


def places_near(request: HttpRequest) -> HttpResponse:
    """Near me: a point (from the browser or typed), or an address the city's data knows."""
    form = {
        k: request.GET.get(k, "")
        for k in ("lat", "lng", "address", "minutes", "distance", "language", "kind", "open_now")
    }
    errors: dict[str, str] = {}
    results = None
    origin_label: Any = None
    status = 200
    searched = any(form[k] for k in ("lat", "lng", "address"))
    if searched:
        try:
            if form["lat"] or form["lng"]:
                lat, lng = geo.parse_point(form["lat"], form["lng"])
            else:
                found = selectors.geocode(address=form["address"][:300])
                if found is None:
                    raise ApplicationError(
                        _("We could not find “%(address)s”. Try a community or a place name.")
                        % {"address": form["address"][:300]},
                        field="address",
                    )
                lat, lng, origin_label = found.lat, found.lng, found.label
            if form["distance"]:
                radius = geo.parse_coordinate(form["distance"], field="distance", low=50, high=geo.MAX_RADIUS_M)
            else:
                minutes = geo.parse_coordinate(form["minutes"] or 15, field="minutes", low=1, high=geo.MAX_WALK_MINUTES)
                radius = geo.walking_radius_m(int(minutes))
            kind = form["kind"] if form["kind"] in Place.Kind.values else None
            results = selectors.places_near(
                lat=lat,
                lng=lng,
                radius_m=radius,
                language=form["language"] or None,
                kind=kind,
                open_now=form["open_now"] == "1",
            )
        except ApplicationError as exc:
            errors[exc.field or "general"] = str(exc.message)
            status = 400
    return render(
        request,
        "guide/near.html",
        {
            "form": form,
            "errors": errors,
            "results": results,
            "origin_label": origin_label,
            "walk_choices": WALK_CHOICES,
            "distance_choices": DISTANCE_CHOICES,
            "kinds": Place.Kind.choices,
            "spoken_languages": selectors.spoken_languages(),
        },
        status=status,
    )


def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    error = None
    results = None
    if len(query) > 200:
        error = _("The search is too long: at most 200 characters.")
    elif query.strip():
        results = selectors.search_guide_and_directory(query=query)
    return render(
        request,
        "guide/search.html",
        {"query": query, "results": results, "error": error},
        status=400 if error else 200,
    )


# --- staff ------------------------------------------------------------------------------------


def _save_form(
    request: HttpRequest, form: TranslatedFieldsMixin, save: Callable[[], Model], url_name: str
) -> HttpResponse | None:
    """Validate a staff form and call the service; on success redirect to the saved object,
    otherwise leave the service's error on the form (shown with what was typed) and return None."""
    if not form.is_valid():
        return None
    try:
        obj = save()
    except ApplicationError as exc:
        form.add_application_error(exc)
        return None
    messages.success(request, _("Saved."))
    return redirect(url_name, pk=obj.pk)


@staff_view
def staff_articles(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.GUIDE_WRITE)
    state = request.GET.get("state") or None
    if state and state not in Article.State.values:
        state = None
    due_only = request.GET.get("due") == "1"
    articles = selectors.articles_for_staff(state=state, due_only=due_only)
    return render(
        request,
        "guide/staff/article_list.html",
        {
            "page": paginate(request, articles, 50),
            "states": Article.State.choices,
            "state": state,
            "due_only": due_only,
        },
    )


def _article_input(form: ArticleForm) -> services.ArticleInput:
    cd = form.cleaned_data
    return services.ArticleInput(
        slug=cd["slug"],
        category_id=cd["category"].pk,
        community_id=cd["community"].pk if cd.get("community") else None,
        title=form.translations("title"),
        summary=form.translations("summary"),
        body=form.translations("body"),
        source_language=cd["source_language"],
    )


@staff_view
def staff_article_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    require(request.user, Perm.GUIDE_WRITE)
    article = get_object_or_404(Article, pk=pk) if pk else None
    status = 200
    if request.method == "POST":
        form = ArticleForm(request.POST)
        current = article

        def save() -> Article:
            if current is None:
                return services.article_create(actor=acting_user(request), data=_article_input(form))
            return services.article_update(actor=acting_user(request), article_id=current.pk, data=_article_input(form))

        if saved := _save_form(request, form, save, "guide:staff_article_edit"):
            return saved
        status = 400
    elif article is not None:
        form = ArticleForm(
            initial={
                "slug": article.slug,
                "category": article.category_id,
                "community": article.community_id,
                "source_language": article.source_language,
            },
            initial_translations={
                "title": translations_of(article.title),
                "summary": translations_of(article.summary),
                "body": translations_of(article.body),
            },
        )
    else:
        form = ArticleForm(initial={"source_language": "en"})
    context = {
        "form": form,
        "article": article,
        "can_publish": has_perm(request.user, Perm.GUIDE_PUBLISH),
        "languages": language_codes(),
    }
    return render(request, "guide/staff/article_form.html", context, status=status)


@staff_view
@require_POST
def staff_article_state(request: HttpRequest, pk: int) -> HttpResponse:
    article = get_object_or_404(Article, pk=pk)
    action = request.POST.get("action", "")
    try:
        if action == "reviewed":
            services.article_mark_reviewed(actor=acting_user(request), article_id=article.pk)
            messages.success(request, _("Marked as reviewed today."))
        else:
            services.article_set_state(actor=acting_user(request), article_id=article.pk, state=action)
            messages.success(request, _("State changed."))
    except NotAllowed:
        raise
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    return redirect("guide:staff_article_edit", pk=article.pk)


@staff_view
def staff_places(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.DIRECTORY_WRITE)
    places = selectors.places_for_staff(user=request.user)
    return render(request, "guide/staff/place_list.html", {"page": paginate(request, places, 50)})


def _place_input(form: PlaceForm) -> services.PlaceInput:
    cd = form.cleaned_data
    source = cd["source_language"]
    return services.PlaceInput(
        slug=cd["slug"],
        kind=cd["kind"],
        name=form.translations("name"),
        address=form.translations("address"),
        description=form.translations("description"),
        accessibility=form.translations("accessibility"),
        latitude=cd["latitude"],
        longitude=cd["longitude"],
        wheelchair_accessible=cd["wheelchair_accessible"],
        community_id=cd["community"].pk if cd.get("community") else None,
        organization_id=cd["organization"].pk if cd.get("organization") else None,
        phone=cd["phone"],
        email=cd["email"],
        website=cd["website"],
        hours=cd["hours"],
        languages=[c for c in (cd["languages"] or "").split(",")],
        services=[{source: line} for line in (cd["services"] or "").splitlines() if line.strip()],
        source_language=source,
    )


def _original_text(value: Any, language: str) -> str:
    """The text in its original language, or in the first language that has it."""
    texts = translations_of(value)
    return texts.get(language) or next(iter(texts.values()), "")


def _place_initial(place: Place) -> tuple[dict[str, Any], dict[str, Any]]:
    weekly, exceptions = selectors.place_schedule(place)
    initial = {
        "slug": place.slug,
        "kind": place.kind,
        "community": place.community_id,
        "organization": place.organization_id,
        "latitude": place.latitude,
        "longitude": place.longitude,
        "wheelchair_accessible": place.wheelchair_accessible,
        "phone": place.phone,
        "email": place.email,
        "website": place.website,
        "hours": hours.format_hours(weekly, exceptions),
        "languages": ", ".join(lang.code for lang in place.languages.all()),
        "services": "\n".join(_original_text(s.name, place.source_language) for s in place.services.all()),
        "source_language": place.source_language,
    }
    translations = {
        "name": translations_of(place.name),
        "address": translations_of(place.address),
        "description": translations_of(place.description),
        "accessibility": translations_of(place.accessibility),
    }
    return initial, translations


@staff_view
def staff_place_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    require(request.user, Perm.DIRECTORY_WRITE)
    scope = community_scope(request.user, Perm.DIRECTORY_WRITE)
    communities = Community.objects.filter(pk__in=scope) if scope is not None else None
    place = get_object_or_404(selectors.places_for_staff(user=request.user), pk=pk) if pk else None
    status = 200
    if request.method == "POST":
        form = PlaceForm(request.POST, communities=communities)
        current = place

        def save() -> Place:
            if current is None:
                return services.place_create(actor=acting_user(request), data=_place_input(form))
            return services.place_update(actor=acting_user(request), place_id=current.pk, data=_place_input(form))

        if saved := _save_form(request, form, save, "guide:staff_place_edit"):
            return saved
        status = 400
    elif place is not None:
        initial, translations = _place_initial(place)
        form = PlaceForm(initial=initial, initial_translations=translations, communities=communities)
    else:
        form = PlaceForm(initial={"source_language": "en"}, communities=communities)
    return render(request, "guide/staff/place_form.html", {"form": form, "place": place}, status=status)

"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2), for existing 311 applications.

The feedback categories are the services (a category's slug is its service code), feedback
items are the service requests. Reading is open to anyone but shows public items only, and
never a contact detail; posting needs an API key (see `apikeys`) and goes through
`services.item_submit` like the site's own form. Every answer comes as XML or JSON, chosen by
the address's suffix; errors too, in the specification's shape."""

import datetime
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt

from yulan.core import ratelimit
from yulan.core.errors import ApplicationError
from yulan.core.i18n import localize
from yulan.core.models import Community
from yulan.voice import apikeys, reference, services, tokens
from yulan.voice.emails import reply_text
from yulan.voice.models import Category, Item, Reply
from yulan.voice.selectors import categories_active

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When what this endpoint offers last changed (the discovery document's changeset).
CHANGESET = "2026-11-23T00:00:00Z"
CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
# Lists are answered for at most this span of time and this many requests.
MAX_SPAN = datetime.timedelta(days=90)
MAX_RESULTS = 1000
# In XML, a list's members are elements of these names (the JSON form has plain arrays).
MEMBER_TAGS = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}
# The HTTP statuses an error keeps; any other becomes 400, as the specification asks.
KEPT_STATUSES = {403, 404, 405, 429}
# Characters XML 1.0 cannot carry at all.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_BODY_ERRORS = (MultiPartParserError, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent, UnreadablePostError)
# A "+" offset that reached us as a space (a client that did not encode the query).
_SPACED_OFFSET = re.compile(r"(.*T[0-9:.]+) ([0-9]{2}:?[0-9]{2})")
# Ids beyond this fit no database integer.
_MAX_ID = 2**63 - 1

View = Callable[..., HttpResponse]


# --- rendering ---------------------------------------------------------------------------------


def _xml_element(tag: str, value: Any) -> ET.Element:
    element = ET.Element(tag)
    if isinstance(value, dict):
        for key, child in value.items():
            element.append(_xml_element(key, child))
    elif isinstance(value, list):
        member = MEMBER_TAGS[tag]
        for child in value:
            element.append(_xml_element(member, child))
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = _NOT_XML.sub("", str(value))
    return element


def xml_document(root: str, data: Any) -> str:
    body = ET.tostring(_xml_element(root, data), encoding="unicode")
    return f'<?xml version="1.0" encoding="utf-8"?>\n{body}\n'


def render(fmt: str, root: str, data: Any, *, status: int = 200) -> HttpResponse:
    """`data` as the XML document `root` or as JSON. Lazy translations become text here."""
    body = json.dumps(data, ensure_ascii=False, default=str) if fmt == "json" else xml_document(root, data)
    return HttpResponse(body.encode(), status=status, content_type=CONTENT_TYPES[fmt])


def error_response(fmt: str, status: int, message: Any) -> HttpResponse:
    http_status = status if status in KEPT_STATUSES else 400
    return render(fmt, "errors", [{"code": http_status, "description": str(message)}], status=http_status)


def w3(moment: datetime.datetime | None) -> str | None:
    """A moment in the w3 profile of ISO 8601, in UTC: 2026-01-02T03:04:05+00:00."""
    if moment is None:
        return None
    return moment.astimezone(datetime.UTC).isoformat(timespec="seconds")


# --- reading a request -------------------------------------------------------------------------


def _params(request: HttpRequest) -> dict[str, str]:
    """The query's parameters, and for a POST the body's on top (each name's last value)."""
    try:
        params = {key: request.GET.get(key, "") for key in request.GET}
        if request.method == "POST":
            params.update({key: request.POST.get(key, "") for key in request.POST})
    except _BODY_ERRORS:
        raise ApplicationError(_("The request could not be read: it is malformed or too large.")) from None
    return params


def _language(code: str, default: str) -> str:
    """A site language from a `locale` parameter ("zh-hans", "zh_CN", "ja"), else `default`
    (what LocaleMiddleware made of the Accept-Language header)."""
    code = (code or "").strip()[:20]
    if code:
        try:
            return translation.get_supported_language_variant(translation.to_language(code))
        except LookupError:
            pass
    return default


def _check_jurisdiction(params: dict[str, str]) -> None:
    """One jurisdiction is served: a different one, when ours is named, is not found."""
    ours = settings.YULAN_OPEN311_JURISDICTION.strip().lower()
    given = params.get("jurisdiction_id", "").strip().lower()
    if ours and given and given != ours:
        raise ApplicationError(_("jurisdiction_id not found"), field="jurisdiction_id", status=404)


def endpoint(*methods: str) -> Callable[[View], View]:
    """An Open311 resource: the format from the suffix, the language from the request, the
    jurisdiction checked, and any ApplicationError answered in the specification's error
    format."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, fmt: str, **kwargs: Any) -> HttpResponse:
            fmt = fmt.lower()
            if fmt not in CONTENT_TYPES:
                return error_response("xml", 404, _("Unknown format: end the address with .xml or .json."))
            language = translation.get_language() or settings.LANGUAGE_CODE
            try:
                language = _language(request.GET.get("locale", ""), language)
                if request.method not in methods:
                    raise ApplicationError(
                        _("Use %(methods)s for this address.") % {"methods": " or ".join(methods)}, status=405
                    )
                params = _params(request)
                language = _language(params.get("locale", ""), language)
                with translation.override(language):
                    _check_jurisdiction(params)
                    response = view(request, fmt, params, **kwargs)
            except (ApplicationError, *_BODY_ERRORS) as exc:
                status = exc.status if isinstance(exc, ApplicationError) else 400
                message = (
                    exc.message
                    if isinstance(exc, ApplicationError)
                    else _("The request could not be read: it is malformed or too large.")
                )
                with translation.override(language):
                    response = error_response(fmt, status, message)
                if status == 405:
                    response["Allow"] = ", ".join(methods)
            response["Content-Language"] = language
            return response

        return csrf_exempt(wrapper)

    return decorate


@csrf_exempt
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Anything else under /open311/: a 404 in the specification's format (XML, the required
    one, unless the address asked for JSON)."""
    fmt = "json" if rest.endswith(".json") else "xml"
    return error_response(
        fmt,
        404,
        _("There is no such Open311 resource. The API is described at %(url)s.")
        % {"url": request.build_absolute_uri(reverse("open311:discovery", kwargs={"fmt": "xml"}))},
    )


# --- discovery and services --------------------------------------------------------------------


def _base_url(request: HttpRequest) -> str:
    services_url = reverse("open311:services", kwargs={"fmt": "xml"})
    return request.build_absolute_uri(services_url.rsplit("/", 1)[0])


@endpoint("GET", "HEAD")
def discovery(request: HttpRequest, fmt: str, params: dict[str, str]) -> HttpResponse:
    site = {"site": settings.YULAN_SITE_NAME, "url": settings.SITE_URL}
    data = {
        "changeset": CHANGESET,
        "contact": _("Questions about this API: write to the operators of %(site)s through %(url)s.") % site,
        "key_service": _(
            "Reading needs no key. To post requests, ask the operators of %(site)s for an API key through %(url)s."
        )
        % site,
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": _base_url(request),
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return render(fmt, "discovery", data)


@endpoint("GET", "HEAD")
def service_list(request: HttpRequest, fmt: str, params: dict[str, str]) -> HttpResponse:
    rows = categories_active().only("slug", "name", "description", "group", "keywords")
    data = [
        {
            "service_code": category.slug,
            "service_name": localize(category.name).text,
            "description": localize(category.description).text,
            "metadata": True,
            "type": "realtime",
            "keywords": category.keywords,
            "group": category.group,
        }
        for category in rows
    ]
    return render(fmt, "services", data)


def _active_category(code: str) -> Category:
    code = (code or "").strip()
    if not code:
        raise ApplicationError(_("service_code was not provided."), field="service_code")
    found = reference.current().categories.get(code[:60])
    if found is None:
        raise ApplicationError(
            _("service_code “%(code)s” not found.") % {"code": code[:60]}, field="service_code", status=404
        )
    return found


def _list_attribute(code: str, order: int, description: Any, values: Iterable[tuple[str, Any]], note: Any) -> dict:
    return {
        "variable": True,
        "code": code,
        "datatype": "singlevaluelist",
        "required": False,
        "datatype_description": str(note),
        "order": order,
        "description": str(description),
        "values": [{"key": key, "name": str(name)} for key, name in values],
    }


@endpoint("GET", "HEAD")
def service_definition(request: HttpRequest, fmt: str, params: dict[str, str], code: str) -> HttpResponse:
    category = _active_category(code)
    communities = Community.objects.only("slug", "name").order_by("slug")
    data = {
        "service_code": category.slug,
        "attributes": [
            _list_attribute(
                "community",
                1,
                _("Which member community is it about?"),
                [(c.slug, localize(c.name).text) for c in communities],
                _("Optional: when a location is given, the nearest community is chosen."),
            ),
            _list_attribute(
                "kind",
                2,
                _("Is it a suggestion, a problem or an idea?"),
                [(str(value), label) for value, label in Item.Kind.choices],
                _("Optional: a problem unless said otherwise."),
            ),
            _list_attribute(
                "public",
                3,
                _(
                    "May this request be shown publicly (without any name or contact details)? "
                    "If not, only the staff who handle it see it."
                ),
                [("no", _("No, keep it private")), ("yes", _("Yes, it may be shown publicly"))],
                _("Optional: no unless said otherwise."),
            ),
        ],
    }
    return render(fmt, "service_definition", data)


# --- posting a request -------------------------------------------------------------------------

_YES = {"yes", "true", "1", "on"}
_NO = {"no", "false", "0", "off", ""}


def _consent(value: str) -> bool:
    value = (value or "").strip().lower()
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise ApplicationError(_("attribute[public] must be yes or no."), field="attribute[public]")


def submission(params: dict[str, str], *, photo: Any, client_id: int, language: str) -> services.ItemInput:
    """The ItemInput a POST asks for; what only the services can judge is left to them."""
    category = _active_category(params.get("service_code", ""))
    lat, lng = params.get("lat", "").strip(), params.get("long", "").strip()
    address = params.get("address_string", "").strip()
    address_id = params.get("address_id", "").strip()
    if not (lat and lng) and not address and not address_id:
        raise ApplicationError(
            _("A location is required: lat and long, address_string or address_id."), field="location"
        )
    if address_id:
        address = "; ".join(part for part in (address, f"address id: {address_id}") if part)
    name = " ".join(
        part for part in (params.get("first_name", "").strip(), params.get("last_name", "").strip()) if part
    )
    return services.ItemInput(
        category=category.slug,
        text=params.get("description", ""),
        kind=params.get("attribute[kind]", "").strip() or Item.Kind.PROBLEM,
        community=params.get("attribute[community]", "").strip(),
        latitude=lat or None,
        longitude=lng or None,
        address=address,
        contact_name=name,
        contact_email=params.get("email", ""),
        contact_phone=params.get("phone", ""),
        public_consent=_consent(params.get("attribute[public]", "")),
        language=language,
        photo=photo,
        media_url=params.get("media_url", ""),
        source=Item.Source.OPEN311,
        api_client_id=client_id,
    )


def service_notice(item: Item) -> str:
    """Where the request went and how soon an answer is due, in words."""
    hours = item.category.response_hours
    if hours % 24 == 0:
        days = hours // 24
        target = ngettext("We aim to respond within %(n)d day.", "We aim to respond within %(n)d days.", days) % {
            "n": days
        }
    else:
        target = ngettext("We aim to respond within %(n)d hour.", "We aim to respond within %(n)d hours.", hours) % {
            "n": hours
        }
    office = reference.current().offices.get(item.office_id) if item.office_id else None
    if office is not None:
        routed = _("Routed to %(office)s.") % {"office": localize(office.name).text}
    else:
        routed = str(_("It goes to the office that can act on it."))
    return f"{routed} {target}"


def _post_request(request: HttpRequest, fmt: str, params: dict[str, str]) -> HttpResponse:
    raw_key = params.get("api_key", "").strip()
    if not raw_key:
        raise ApplicationError(_("api_key is missing -- can't proceed with create_request."), status=403)
    client = apikeys.verify(raw_key)
    if client is None:
        raise ApplicationError(_("Invalid api_key received -- can't proceed with create_request."), status=403)
    if not ratelimit.allow(
        "open311-post", str(client.pk), limit=settings.YULAN_OPEN311_POSTS_PER_HOUR, period_seconds=3600
    ):
        raise ApplicationError(
            _("Too many requests with this api_key in the last hour. Please try again later."), status=429
        )
    try:
        photo = request.FILES.get("media")
    except _BODY_ERRORS:
        raise ApplicationError(_("The request could not be read: it is malformed or too large.")) from None
    data = submission(
        params, photo=photo, client_id=client.pk, language=translation.get_language() or settings.LANGUAGE_CODE
    )
    result = services.item_submit(data)
    item = result.item
    return render(
        fmt,
        "service_requests",
        [{"service_request_id": str(item.pk), "service_notice": service_notice(item), "account_id": None}],
    )


# --- reading requests --------------------------------------------------------------------------

# What a record is made of: never a contact detail.
RECORD_FIELDS = (
    "id",
    "category",
    "office",
    "status",
    "status_reason",
    "merged_into",
    "text",
    "language",
    "latitude",
    "longitude",
    "address",
    "photo",
    "media_url",
    "public_consent",
    "hidden",
    "created_at",
    "updated_at",
    "closed_at",
    "due_at",
    "category__slug",
    "category__name",
    "category__response_hours",
    "office__name",
)
MINIMAL_FIELDS = (
    "id",
    "category",
    "status",
    "created_at",
    "updated_at",
    "closed_at",
    "category__slug",
    "category__name",
)


def _records() -> Any:
    return Item.objects.public().select_related("category", "office").only(*RECORD_FIELDS)


def _latest_public_replies(item_ids: list[int]) -> dict[int, Reply]:
    """Each item's latest public reply, for all the items in one query."""
    if not item_ids:
        return {}
    latest = (
        Reply.objects.filter(item_id=OuterRef("item_id"), kind=Reply.Kind.PUBLIC)
        .order_by("-created_at", "-id")
        .values("pk")[:1]
    )
    rows = Reply.objects.filter(item_id__in=item_ids, kind=Reply.Kind.PUBLIC, pk=Subquery(latest)).only(
        "id", "item_id", "text"
    )
    return {reply.item_id: reply for reply in rows}


def _open_status(item: Item) -> str:
    return "open" if item.status in Item.OPEN else "closed"


def _updated(item: Item) -> datetime.datetime:
    # A closed request's update time is when it was closed.
    if item.status not in Item.OPEN and item.closed_at is not None:
        return item.closed_at
    return item.updated_at


def _status_notes(item: Item, reply: Reply | None, language: str) -> str | None:
    if item.status == Item.Status.MERGED and item.merged_into_id:
        return str(_("Merged into #%(n)d") % {"n": item.merged_into_id})
    if item.status == Item.Status.DECLINED and item.status_reason:
        return item.status_reason
    if reply is not None:
        return reply_text(reply, language, item.language) or None
    return None


def _media_url(request: HttpRequest, item: Item) -> str:
    if item.photo:
        try:
            return request.build_absolute_uri(reverse("voice:photo", args=[item.pk]))
        except NoReverseMatch:
            pass
    return item.media_url or ""


def record(request: HttpRequest, item: Item, reply: Reply | None, language: str) -> dict[str, Any]:
    """A public item as a service request."""
    is_open = item.status in Item.OPEN
    return {
        "service_request_id": str(item.pk),
        "status": _open_status(item),
        "status_notes": _status_notes(item, reply, language),
        "service_name": localize(item.category.name).text,
        "service_code": item.category.slug,
        "description": item.text,
        "agency_responsible": localize(item.office.name).text if item.office is not None else None,
        "service_notice": service_notice(item) if is_open else None,
        "requested_datetime": w3(item.created_at),
        "updated_datetime": w3(_updated(item)),
        "expected_datetime": w3(item.due_at) if is_open else None,
        "address": item.address,
        "address_id": "",
        "zipcode": "",
        "lat": item.latitude,
        "long": item.longitude,
        "media_url": _media_url(request, item),
    }


def minimal_record(item: Item) -> dict[str, Any]:
    """An item that is not public: its status only, for the client that posted it."""
    return {
        "service_request_id": str(item.pk),
        "status": _open_status(item),
        "service_code": item.category.slug,
        "service_name": localize(item.category.name).text,
        "requested_datetime": w3(item.created_at),
        "updated_datetime": w3(_updated(item)),
    }


def _records_of(request: HttpRequest, items: list[Item]) -> list[dict[str, Any]]:
    language = translation.get_language() or settings.LANGUAGE_CODE
    replies = _latest_public_replies([item.pk for item in items])
    return [record(request, item, replies.get(item.pk), language) for item in items]


def _comma_list(value: str) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _ids(value: str) -> list[int]:
    parts = _comma_list(value)
    if len(parts) > MAX_RESULTS or not all(p.isascii() and p.isdigit() and int(p) <= _MAX_ID for p in parts):
        raise ApplicationError(
            _("service_request_id must be request ids separated by commas (at most %(n)d).") % {"n": MAX_RESULTS},
            field="service_request_id",
        )
    return [int(p) for p in parts]


def parse_w3(value: str, name: str) -> datetime.datetime:
    """A date and time in w3 format (2010-01-01T00:00:00Z); a plain date means its midnight,
    and a time without an offset is taken as UTC."""
    value = (value or "").strip()
    if spaced := _SPACED_OFFSET.fullmatch(value):
        value = f"{spaced[1]}+{spaced[2]}"
    parsed: datetime.datetime | None = None
    if len(value) <= 40:
        try:
            parsed = parse_datetime(value)
            if parsed is None and (day := parse_date(value)) is not None:
                parsed = datetime.datetime.combine(day, datetime.time.min)
        except ValueError:
            parsed = None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=datetime.UTC)
    if parsed is None or not 1970 <= parsed.year <= 9998:
        raise ApplicationError(
            _("%(name)s is not a date and time in w3 format, like 2010-01-01T00:00:00Z.") % {"name": name}, field=name
        )
    return parsed.astimezone(datetime.UTC)


def period(params: dict[str, str]) -> tuple[datetime.datetime, datetime.datetime]:
    """The span asked for: the most recent 90 days by default, never more than 90 days."""
    start_value, end_value = params.get("start_date", "").strip(), params.get("end_date", "").strip()
    start = parse_w3(start_value, "start_date") if start_value else None
    end = parse_w3(end_value, "end_date") if end_value else None
    if start is None and end is None:
        end = timezone.now()
    if start is None:
        assert end is not None
        start = end - MAX_SPAN
    if end is None:
        end = start + MAX_SPAN
    if end < start:
        raise ApplicationError(_("end_date is before start_date."), field="end_date")
    if end - start > MAX_SPAN:
        raise ApplicationError(
            _("start_date and end_date may not span more than %(days)d days.") % {"days": MAX_SPAN.days},
            field="end_date",
        )
    return start, end


def _statuses(value: str) -> set[str]:
    asked = {part.lower() for part in _comma_list(value)}
    if asked - {"open", "closed"}:
        raise ApplicationError(_("status must be open, closed or both, separated by commas."), field="status")
    return asked


def _get_requests(request: HttpRequest, fmt: str, params: dict[str, str]) -> HttpResponse:
    qs = _records()
    ids = _ids(params.get("service_request_id", ""))
    if ids:
        # The ids override every other argument.
        qs = qs.filter(pk__in=ids)
    else:
        start, end = period(params)
        qs = qs.filter(created_at__gte=start, created_at__lte=end)
        codes = _comma_list(params.get("service_code", ""))
        if codes:
            qs = qs.filter(category__slug__in=codes)
        statuses = _statuses(params.get("status", ""))
        if statuses == {"open"}:
            qs = qs.filter(status__in=Item.OPEN)
        elif statuses == {"closed"}:
            qs = qs.exclude(status__in=Item.OPEN)
    items = list(qs.order_by("-created_at", "-id")[:MAX_RESULTS])
    return render(fmt, "service_requests", _records_of(request, items))


@endpoint("GET", "HEAD", "POST")
def requests_collection(request: HttpRequest, fmt: str, params: dict[str, str]) -> HttpResponse:
    if request.method == "POST":
        return _post_request(request, fmt, params)
    return _get_requests(request, fmt, params)


@endpoint("GET", "HEAD")
def request_detail(request: HttpRequest, fmt: str, params: dict[str, str], request_id: str) -> HttpResponse:
    missing = ApplicationError(
        _("service_request_id “%(id)s” not found.") % {"id": request_id[:40]}, field="service_request_id", status=404
    )
    if not (request_id.isascii() and request_id.isdigit() and int(request_id) <= _MAX_ID):
        raise missing
    pk = int(request_id)
    item = _records().filter(pk=pk).first()
    if item is not None:
        return render(fmt, "service_requests", _records_of(request, [item]))
    hidden = Item.objects.select_related("category").only(*MINIMAL_FIELDS).filter(pk=pk).first()
    if hidden is None:
        raise missing
    return render(fmt, "service_requests", [minimal_record(hidden)])


@endpoint("GET", "HEAD")
def token_detail(request: HttpRequest, fmt: str, params: dict[str, str], token: str) -> HttpResponse:
    try:
        item = tokens.read_track(token[:500])
    except ApplicationError:
        raise ApplicationError(_("token not found."), field="token", status=404) from None
    return render(fmt, "service_requests", [{"service_request_id": str(item.pk), "token": token}])

"""The REST API, /api/v1/. Errors come back in one shape: {"detail": message, "field": name}."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from yulan.core.errors import ApplicationError


def error_field(loc: list[Any]) -> str | None:
    """The field a validation error is about: ("body", "payload", "title", "en") → "title.en"."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "form"):
        parts = parts[1:]
    if parts and parts[0] in ("payload", "q"):
        parts = parts[1:]
    return ".".join(parts) or None


api = NinjaAPI(
    title="Yulan API",
    version="1",
    description="Guide, directory, search, news and events of the city's international community services.",
    urls_namespace="api",
)


@api.exception_handler(ApplicationError)
def _application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc.message), "field": exc.field}, status=exc.status)


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors: list[dict[str, Any]] = exc.errors
    first = errors[0] if errors else {}
    field = error_field(first.get("loc", []))
    message = _("Invalid value for “%(field)s”: %(reason)s") % {"field": field or "?", "reason": first.get("msg", "")}
    return api.create_response(request, {"detail": message, "field": field, "errors": errors}, status=422)


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(request, {"detail": _("Sign in first."), "field": None}, status=401)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc), "field": None}, status=exc.status_code)


api.add_router("/", "yulan.guide.api.router")
api.add_router("/", "yulan.news.api.router")
api.add_router("/", "yulan.events.api.router")

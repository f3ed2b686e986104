"""Open311 GeoReport v2 under /open311/: the discovery document, and the API under v2/. Every
address ends in its format (.xml or .json); anything else here is answered with a 404 in the
specification's error format."""

from django.urls import URLPattern, re_path

from yulan.voice import open311

app_name = "open311"

# The format is what follows the last dot; a name before it may itself hold dots (a token).
_FMT = r"\.(?P<fmt>[^/.]*)$"

urlpatterns: list[URLPattern] = [
    re_path(r"^discovery" + _FMT, open311.discovery, name="discovery"),
    re_path(r"^v2/discovery" + _FMT, open311.discovery, name="discovery_v2"),
    re_path(r"^v2/services" + _FMT, open311.service_list, name="services"),
    re_path(r"^v2/services/(?P<code>[^/]+)" + _FMT, open311.service_definition, name="service"),
    re_path(r"^v2/requests" + _FMT, open311.requests_collection, name="requests"),
    re_path(r"^v2/requests/(?P<request_id>[^/]+)" + _FMT, open311.request_detail, name="request"),
    re_path(r"^v2/tokens/(?P<token>[^/]+)" + _FMT, open311.token_detail, name="token"),
    re_path(r"^(?P<rest>.*)$", open311.not_found, name="not_found"),
]

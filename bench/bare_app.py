"""The baseline for the benchmark: bare Django with one view that returns a small fixed HTML
page, and one that answers a form POST with a small JSON echo of it (`POST /echo`), no
middleware, no database. Served the same way as the site:

    gunicorn --chdir bench bare_app:application
"""

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

PAGE = (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Hello</title></head>'
    "<body><h1>Hello</h1><p>A fixed page.</p></body></html>\n"
)

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-bare-app-not-secret",  # noqa: S106
        ALLOWED_HOSTS=["127.0.0.1"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
        DATABASES={},
        USE_I18N=False,
        USE_TZ=True,
        LOGGING_CONFIG=None,
    )


def index(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE)


def echo(request: HttpRequest) -> JsonResponse:
    """The form is parsed and echoed as a small JSON list: what a POST API does at the least."""
    fields = request.POST
    return JsonResponse([{"fields": sorted(fields), "chars": sum(len(v) for v in fields.values())}], safe=False)


urlpatterns = [path("", index), path("echo", echo)]

application = get_wsgi_application()
